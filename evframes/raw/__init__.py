"""Raw dataset layouts (``*Raw`` classes used by ``evframes extract``) and THE dataset registry.

Each dataset module knows its raw layout, classes, sensor size ``(W, H)`` and split; this
package imports neither torch nor h5py. :data:`REGISTRY` is the one list of datasets: the CLI's
``--dataset`` choices, the training loop and the torch classes of :mod:`evframes.datasets` all
read it, so a new dataset is one raw module, one line here and one small torch class.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Type

from . import tonic_layout  # noqa: F401  (registers Tonic's names in the root layouts)
from .asl_dvs import ASLDVSRaw
from .base import RawDataset
from .cifar10dvs import CIFAR10DVSRaw
from .dvs128 import DVS128GestureRaw
from .dvs_lip import DVSLipRaw
from .nav_gesture import NAVGestureSitRaw, NAVGestureWalkRaw
from .ncaltech101 import NCaltech101Raw
from .ncars import NCARSRaw
from .nmnist import NMNISTRaw
from .poker_dvs import POKERDVSRaw
from .recordings import RecordingsRaw
from .shd import SHDRaw, SSCRaw


@dataclass(frozen=True)
class DatasetEntry:
    """One registered dataset.

    Attributes
    ----------
    name : str
        Registry key, CLI ``--dataset`` value and name stored in manifests (``"dvs128"``).
    raw : type
        The :class:`~evframes.raw.base.RawDataset` subclass reading the raw layout.
    torch_class : str
        Name of the torch Dataset class in :mod:`evframes.datasets` (``"DVS128Gesture"``).
    torch_module : str
        Module of :mod:`evframes.datasets` defining it, named as SpikingJelly's
        (``"dvs128_gesture"``), so ``evframes.datasets.<module>.<class>`` mirrors
        ``spikingjelly.datasets.<module>.<class>``.
    title : str
        Human-readable name.
    """

    name: str
    raw: Type[RawDataset]
    torch_class: str
    torch_module: str
    title: str


REGISTRY: Dict[str, DatasetEntry] = {e.name: e for e in (
    DatasetEntry("dvs128", DVS128GestureRaw, "DVS128Gesture", "dvs128_gesture",
                 "DVS128 Gesture"),
    DatasetEntry("nmnist", NMNISTRaw, "NMNIST", "n_mnist", "N-MNIST"),
    DatasetEntry("cifar10dvs", CIFAR10DVSRaw, "CIFAR10DVS", "cifar10_dvs", "CIFAR10-DVS"),
    DatasetEntry("ncaltech101", NCaltech101Raw, "NCaltech101", "n_caltech101", "N-Caltech101"),
    DatasetEntry("asldvs", ASLDVSRaw, "ASLDVS", "asl_dvs", "ASL-DVS"),
    DatasetEntry("pokerdvs", POKERDVSRaw, "POKERDVS", "poker_dvs", "POKER-DVS"),
    DatasetEntry("ncars", NCARSRaw, "NCARS", "n_cars", "N-CARS"),
    DatasetEntry("dvslip", DVSLipRaw, "DVSLip", "dvs_lip", "DVS-Lip"),
    DatasetEntry("navgesture-walk", NAVGestureWalkRaw, "NAVGestureWalk", "nav_gesture",
                 "NavGesture-walk"),
    DatasetEntry("navgesture-sit", NAVGestureSitRaw, "NAVGestureSit", "nav_gesture",
                 "NavGesture-sit"),
    DatasetEntry("shd", SHDRaw, "SpikingHeidelbergDigits", "shd", "SHD"),
    DatasetEntry("ssc", SSCRaw, "SpikingSpeechCommands", "shd", "SSC"),
    DatasetEntry("recordings", RecordingsRaw, "Recordings", "recordings",
                 "Your own recordings"),
)}
RAW_DATASETS: Dict[str, Type[RawDataset]] = {n: e.raw for n, e in REGISTRY.items()}
DATASET_NAMES = tuple(REGISTRY)


def entry(name: str) -> DatasetEntry:
    """The :class:`DatasetEntry` of dataset ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not registered (the message lists the registered names).
    """
    if name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    return REGISTRY[name]


def default_root(name: str) -> Path:
    """``./data/<dataset>``: where the CLI looks when ``--root`` is not given."""
    return Path("data") / name


def open_raw(name: str, root=None, **options) -> RawDataset:
    """The raw dataset ``name`` (``dvs128``, ``nmnist``, ``cifar10dvs``) under ``root``.

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`.
    root : path, optional
        Dataset root; :func:`default_root` when None.
    **options
        Passed to the raw class (for example ``train_ratio`` of CIFAR10-DVS).

    Raises
    ------
    ValueError
        Unknown ``name``.
    DatasetError
        The raw layout is missing or incomplete.
    """
    cls = entry(name).raw
    return cls(default_root(name) if root is None else root, **options)


__all__ = ["REGISTRY", "DatasetEntry", "RAW_DATASETS", "DATASET_NAMES", "entry",
           "RecordingsRaw",
           "default_root", "open_raw", "RawDataset", "DVS128GestureRaw", "NMNISTRaw",
           "CIFAR10DVSRaw", "NCaltech101Raw", "ASLDVSRaw", "POKERDVSRaw", "NCARSRaw",
           "DVSLipRaw", "NAVGestureWalkRaw", "NAVGestureSitRaw",
           "SHDRaw", "SSCRaw"]
