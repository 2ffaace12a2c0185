"""Datasets: the torch face (Datasets with SpikingJelly's constructor), over the raw layouts of
:mod:`evframes.raw`.

- :class:`DVS128Gesture`, :class:`NMNIST`, :class:`CIFAR10DVS`, :class:`NCaltech101`,
  :class:`ASLDVS`, :class:`POKERDVS` (loaded on first access, as they import torch), each in a
  module named as SpikingJelly's (``dvs128_gesture``, ``n_mnist``, ``cifar10_dvs``,
  ``n_caltech101``, ``asl_dvs``; ``poker_dvs``, which SpikingJelly lacks); their base
  :class:`~evframes.datasets.base.NeuromorphicDataset`. Also :class:`DVSLip` (``dvs_lip``),
  :class:`NAVGestureWalk` / :class:`NAVGestureSit` (``nav_gesture``) and :class:`NCARS`
  (``n_cars``, which SpikingJelly lacks).
- :func:`dataset_class` maps a registry name (``"dvs128"``) to its torch class.
- SpikingJelly's functions, importable from here as from ``spikingjelly.datasets`` (loaded on
  first access): ``pad_sequence_collate``, ``padded_sequence_mask`` (:mod:`evframes.collate`),
  ``integrate_events_segment_to_frame``, ``cal_fixed_frames_number_segment_index``,
  ``integrate_events_by_fixed_frames_number``, ``integrate_events_by_fixed_duration``
  (:mod:`evframes.integrate.spikingjelly`), ``play_frame`` (:mod:`evframes.viz` through
  :mod:`.utils`), ``split_to_train_test_set``, ``load_npz_frames``,
  ``load_aedat_v3``, ``load_ATIS_bin``, ``save_as_pic`` (:mod:`.utils`, SpikingJelly's module
  name), ``random_temporal_delete``, ``RandomTemporalDelete`` (:mod:`.transform`),
  ``CIFAR10DVS_CLASS_NAMES`` and ``CIFAR10DVSTEBNSplit`` (:mod:`.cifar10_dvs`).
  SpikingJelly's datasets that evframes lacks (``HARDVS``, ``ESImageNet``, ... and their
  modules ``hardvs``, ``es_imagenet``, ...) raise an ImportError saying so
  (:mod:`._missing`).
- :func:`fast_loader` (:mod:`.loader`): batches of stored frames read a batch at a time in
  the DataLoader workers, sent as the stored uint8 counts, converted to float32 after.
- Re-exported from :mod:`evframes.raw`, where the one dataset registry lives: ``REGISTRY``,
  ``RAW_DATASETS``, ``DATASET_NAMES``, :func:`open_raw`, :func:`default_root` and the ``*Raw``
  classes. The old module names ``evframes.datasets.dvs128`` (``nmnist``, ``cifar10dvs``,
  ``truncation``, ``tarstream``) are the modules of :mod:`evframes.raw`.
"""
from __future__ import annotations

import importlib

from ..raw import (
    DATASET_NAMES,
    RAW_DATASETS,
    REGISTRY,
    CIFAR10DVSRaw,
    DatasetEntry,
    DVS128GestureRaw,
    NMNISTRaw,
    default_root,
    entry,
    open_raw,
)

_TORCH_CLASSES = {e.torch_class: e.torch_module for e in REGISTRY.values()}

#: SpikingJelly's ``spikingjelly.datasets`` functions -> the module that holds them here
_SJ_NAMES = {
    **{n: "evframes.collate" for n in ("pad_sequence_collate", "padded_sequence_mask")},
    **{n: "evframes.integrate.spikingjelly" for n in (
        "integrate_events_segment_to_frame", "cal_fixed_frames_number_segment_index",
        "integrate_events_by_fixed_frames_number", "integrate_events_by_fixed_duration")},
    **{n: f"{__name__}.utils" for n in ("play_frame", "split_to_train_test_set", "load_npz_frames",
                                        "load_aedat_v3", "load_ATIS_bin", "save_as_pic")},
    **{n: f"{__name__}.transform" for n in ("random_temporal_delete", "RandomTemporalDelete")},
    **{n: f"{__name__}.cifar10_dvs" for n in ("CIFAR10DVS_CLASS_NAMES", "CIFAR10DVSTEBNSplit")},
    **{n: f"{__name__}.shd" for n in ("SHD_N_CLASSES", "SSC_N_CLASSES")},
    # not SpikingJelly's: evframes' batch loader (evframes.datasets.loader)
    **{n: f"{__name__}.loader" for n in ("fast_loader", "FastLoader")},
}


def dataset_class(name: str):
    """The torch Dataset class of registered dataset ``name`` (``"dvs128"`` ->
    :class:`DVS128Gesture`).

    Raises
    ------
    ValueError
        If ``name`` is not registered.
    """
    e = entry(name)
    return getattr(importlib.import_module(f"{__name__}.{e.torch_module}"), e.torch_class)


__all__ = ["REGISTRY", "DatasetEntry", "RAW_DATASETS", "DATASET_NAMES", "entry", "default_root",
           "open_raw", "dataset_class", "DVS128GestureRaw", "NMNISTRaw", "CIFAR10DVSRaw",
           *_TORCH_CLASSES, *_SJ_NAMES]


def __getattr__(name):
    # torch Dataset classes and SpikingJelly's functions import torch / Numba: load them only
    # when asked for
    if name in _TORCH_CLASSES:
        return getattr(importlib.import_module(f"{__name__}.{_TORCH_CLASSES[name]}"), name)
    if name in _SJ_NAMES:
        return getattr(importlib.import_module(_SJ_NAMES[name]), name)
    from ._missing import MISSING_NAMES, refuse_name
    if name in MISSING_NAMES:
        refuse_name(name)
    raise AttributeError(f"module 'evframes.datasets' has no attribute {name!r}")
