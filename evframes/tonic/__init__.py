"""Tonic-compatible facade: ``import evframes.tonic as tonic`` in place of ``import tonic``.

Tonic's names, parameters and values (Tonic 1.7) over evframes' kernels and stores; see
``docs/switching.md`` for the deliberate differences.

- :mod:`.datasets`: ``NMNIST``, ``DVSGesture``, ``CIFAR10DVS`` in Tonic's folder layouts.
- :mod:`.transforms`: Tonic's transforms (``Compose``, ``ToFrame``, ``Denoise``, ...).
- :mod:`.functional`: Tonic's functional representations (``to_frame_numpy``, ...).
- :mod:`.collation`: ``PadTensors``.
- :class:`DiskCachedDataset`, :class:`MemoryCachedDataset` (:mod:`.cached`): Tonic's caches;
  the disk cache is one HDF5 store per ``cache_path``, invalidated when the wrapped dataset or
  its transform changes.
- :mod:`.utils`: ``plot_event_grid``, ``plot_animation``.
- :mod:`.slicers` (``SliceByTime``, ``SliceByEventCount``, ...) and :class:`SlicedDataset`
  (:mod:`.sliced`): Tonic's slicing, the metadata file fingerprinted.

Not provided (Tonic's top level has them): ``io`` (its file readers: use
``evframes.read_events``), ``Dataset`` (the download base class), ``Aug_DiskCachedDataset``
and the deprecated ``CachedDataset``; Tonic's audio transforms and its other datasets.

Submodules load on first use (``tonic.datasets``, ``tonic.transforms``, ...), so importing the
package is cheap and torch is imported only by what needs it.
"""
import importlib

_MODULES = ("collation", "datasets", "functional", "slicers", "transforms", "utils")
_NAMES = {"DiskCachedDataset": "cached", "MemoryCachedDataset": "cached",
          "SlicedDataset": "sliced"}

__all__ = [*_MODULES, *_NAMES]


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
