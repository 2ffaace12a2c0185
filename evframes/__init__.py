"""evframes: raw neuromorphic (event-camera) datasets to training-ready PyTorch tensors, fast.

Public entry points (imported lazily so ``import evframes`` stays cheap):

- :func:`read_events` picks a decoder by header / extension; :mod:`evframes.formats` holds them;
  :func:`iter_events` (chunks), :func:`probe_events` and :func:`write_events` go with it.
- :class:`EventsDataset` reads one sample's events and label from an events store.
- :mod:`evframes.integrate` turns events into frames ``[T, 2, H, W]``.
- :mod:`evframes.datasets` knows DVS128 Gesture, N-MNIST and CIFAR10-DVS.
"""
__version__ = "0.1.0"

from .errors import DatasetError, FormatError, StoreError  # noqa: E402
from .events import Events, make_events  # noqa: E402

_LAZY = {
    "read_events": ("evframes.formats", "read_events"),
    **{n: ("evframes.formats", n) for n in ("iter_events", "probe_events", "write_events")},
    "EventsDataset": ("evframes.store", "EventsDataset"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'evframes' has no attribute {name!r}")


__all__ = ["__version__", "FormatError", "DatasetError", "StoreError", "Events", "make_events",
           "read_events", "iter_events", "probe_events", "write_events", "EventsDataset"]
