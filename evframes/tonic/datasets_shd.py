"""Tonic's ``SHD`` and ``SSC`` (``tonic.datasets.hsd``, Tonic 1.7: names, constructors, class
attributes and sample values) over evframes' events stores; exported by
:mod:`evframes.tonic.datasets` (shared behaviour there: ``save_to/<ClassName>/``, one
extraction into ``events/<split>.h5``, transforms applied as Tonic applies them).

- ``SHD(save_to, train=True, transform=None, target_transform=None)``: ``save_to/SHD/`` holding
  ``shd_train.h5`` (what Tonic extracts from ``shd_train.h5.zip``), or the ``.zip`` or the
  original ``.h5.gz``, read in place (:mod:`evframes.raw.shd`).
- ``SSC(save_to, split='train'|'valid'|'test', ...)``: ``save_to/SSC/ssc_<split>.h5`` likewise.

Events: a structured array ``(t, x, p)`` int64: ``t`` microseconds ``floor(seconds * 1e6)``
(Tonic's values: its ``astype(float64) * 1e6`` cast to int), ``x`` the channel, ``p = 1``
(Tonic's artificial polarity); ``sensor_size = (700, 1, 1)``; the target the file's label.
``classes`` is the file's ``extra/keys`` (read on first access, not at construction as Tonic
does) and ``speaker`` the samples' ``extra/speaker`` (from the store). Tonic's transforms for
``sensor_size (700, 1, 1)`` apply as they are (ToFrame gives ``[T, 1, 700]``, as Tonic's for
events without ``y``).

Differences: where Tonic would download, a one-line error says what to get and where; a
``SSC(split=...)`` other than the three names is refused (Tonic then fails later on a missing
attribute).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import DatasetError
from ..raw import shd as _shd
from .datasets import _StoreDataset

__all__ = ["SHD", "SSC"]

_BASE = "https://zenkelab.org/datasets/"


class _HSD(_StoreDataset):
    base_url = _BASE
    sensor_size = (700, 1, 1)
    dtype = np.dtype([("t", int), ("x", int), ("p", int)])
    ordering = dtype.names
    _raw = _shd.SHDRaw

    def _open_split(self, split: str, zip_name: str, md5: str) -> None:
        root = Path(self.location_on_system)
        if root.exists() and not root.is_dir():
            raise DatasetError(f"{root}: is a file; Tonic's layout needs a folder there")
        if not root.is_dir() or _shd.find_split_file(root, zip_name[:-7]) is None:
            raise DatasetError(f"{root}: {zip_name[:-4]} not found (nor {zip_name}); evframes "
                               f"never downloads: get {zip_name} from {self.base_url}{zip_name} "
                               f"(md5 {md5}) and put it in {root}/, extracted or not")
        self._open(split, lambda r: self._raw(r, need=split))
        self._split = split
        self._keys = None

    @property
    def classes(self):
        """The file's ``extra/keys`` (bytes, as h5py reads them: Tonic's ``classes``)."""
        if self._keys is None:
            raw = self._raw(self.location_on_system, need=self._split)
            self._keys = np.array([k.encode() for k in
                                   _shd.class_keys(raw.split_file(self._split))], dtype=object)
        return self._keys

    @property
    def speaker(self) -> np.ndarray:
        """Each sample's speaker (``extra/speaker``)."""
        return np.asarray(self._store.meta["speaker"])

    def _events(self, index: int) -> np.ndarray:
        ev = self._store.events(index)
        out = np.empty(len(ev), dtype=self.dtype)
        out["t"] = ev["t"]
        out["x"] = ev["x"]
        out["p"] = 1
        return out


class SHD(_HSD):
    """Spiking Heidelberg Digits (Cramer et al. 2020); see the module docstring."""

    test_zip = "shd_test.h5.zip"
    train_zip = "shd_train.h5.zip"
    test_md5 = _shd.SHD_RESOURCES[1][2]
    train_md5 = _shd.SHD_RESOURCES[0][2]
    folder_name = ""

    def __init__(self, save_to: str, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None):
        super().__init__(save_to, transform=transform, target_transform=target_transform)
        self.filename = self.train_zip if train else self.test_zip
        self.url = self.base_url + self.filename
        self.file_md5 = self.train_md5 if train else self.test_md5
        self.data_filename = self.filename[:-4]
        self._open_split("train" if train else "test", self.filename, self.file_md5)


class SSC(_HSD):
    """Spiking Speech Commands (Cramer et al. 2020); see the module docstring."""

    test_zip = "ssc_test.h5.zip"
    train_zip = "ssc_train.h5.zip"
    valid_zip = "ssc_valid.h5.zip"
    test_md5 = _shd.SSC_RESOURCES[2][2]
    train_md5 = _shd.SSC_RESOURCES[0][2]
    valid_md5 = _shd.SSC_RESOURCES[1][2]
    folder_name = ""
    _raw = _shd.SSCRaw

    def __init__(self, save_to: str, split: str = "train",
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None):
        super().__init__(save_to, transform=transform, target_transform=target_transform)
        if split not in ("train", "valid", "test"):
            raise ValueError(f"split must be 'train', 'valid' or 'test', got {split!r}")
        self.filename = getattr(self, f"{split}_zip")
        self.url = self.base_url + self.filename
        self.file_md5 = getattr(self, f"{split}_md5")
        self.data_filename = self.filename[:-4]
        self._open_split(split, self.filename, self.file_md5)
