"""Datasets: the torch face (Datasets with SpikingJelly's constructor), over the raw layouts of
:mod:`evframes.raw`.

- :class:`DVS128Gesture`, :class:`NMNIST`, :class:`CIFAR10DVS` (loaded on first access, as they
  import torch), each in a module named as SpikingJelly's (``dvs128_gesture``, ``n_mnist``,
  ``cifar10_dvs``); their base :class:`~evframes.datasets.base.NeuromorphicDataset`.
- :func:`dataset_class` maps a registry name (``"dvs128"``) to its torch class.
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
           *_TORCH_CLASSES]


def __getattr__(name):
    # torch Dataset classes import torch: load them only when asked for
    if name in _TORCH_CLASSES:
        return getattr(importlib.import_module(f"{__name__}.{_TORCH_CLASSES[name]}"), name)
    raise AttributeError(f"module 'evframes.datasets' has no attribute {name!r}")
