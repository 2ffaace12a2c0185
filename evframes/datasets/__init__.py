"""Datasets: raw layouts (``*Raw`` classes used by ``evframes extract``) and, later, torch
Datasets with SpikingJelly's constructor.

Each dataset module knows its raw layout, classes, sensor size ``(W, H)`` and split.
"""
from __future__ import annotations

from pathlib import Path

from .cifar10dvs import CIFAR10DVSRaw
from .dvs128 import DVS128GestureRaw
from .nmnist import NMNISTRaw

RAW_DATASETS = {"dvs128": DVS128GestureRaw, "nmnist": NMNISTRaw, "cifar10dvs": CIFAR10DVSRaw}
DATASET_NAMES = tuple(RAW_DATASETS)


def default_root(name: str) -> Path:
    """``./data/<dataset>``: where the CLI looks when ``--root`` is not given."""
    return Path("data") / name


def open_raw(name: str, root=None, **options):
    """The raw dataset ``name`` (``dvs128``, ``nmnist``, ``cifar10dvs``) under ``root``."""
    if name not in RAW_DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    return RAW_DATASETS[name](default_root(name) if root is None else root, **options)


__all__ = ["RAW_DATASETS", "DATASET_NAMES", "default_root", "open_raw", "DVS128GestureRaw",
           "NMNISTRaw", "CIFAR10DVSRaw"]


def __getattr__(name):
    # torch Dataset classes import torch: load them only when asked for
    if name in ("DVS128Gesture", "NMNIST", "CIFAR10DVS"):
        from . import torch_datasets
        return getattr(torch_datasets, name)
    raise AttributeError(f"module 'evframes.datasets' has no attribute {name!r}")
