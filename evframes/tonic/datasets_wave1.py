"""Tonic's ``NCALTECH101``, ``ASLDVS`` and ``POKERDVS`` (Tonic 1.7 names, constructors, class
attributes and sample values) over evframes' events stores; exported by
:mod:`evframes.tonic.datasets` (see there for the shared behaviour: Tonic's
``save_to/<ClassName>/`` layout, one extraction into ``events/<split>.h5``, transforms applied as
Tonic applies them).

- ``NCALTECH101(save_to, ...)``: ``save_to/NCALTECH101/Caltech101/<class>/*.bin`` or the download
  ``N-Caltech101-archive.zip`` (= ``Caltech101.zip``) read in place. Events ``(x, y, t, p)``
  int64, shifted so each sample starts at ``x = 0``, ``y = 0`` (Tonic's ``x -= x.min()``);
  ``sensor_size`` None; the target is the class folder's name (a string), as in Tonic.
- ``ASLDVS(save_to, ...)``: ``save_to/ASLDVS/`` with the letter folders, the letter zips or
  ``ASLDVS.zip`` (read in place). Events ``(t, x, y, p)`` int64 with Tonic's orientation
  (``y' = 179 - y``); ``classes`` the 26 letters and the target a letter's alphabet index, as
  Tonic (``j`` and ``z`` never occur).
- ``POKERDVS(save_to, train=True, ...)``: ``save_to/POKERDVS/pips_train/`` (or
  ``pips_train.tar.gz``), ``pips_test``. Events ``(t, x, y, p)`` int64; ``data`` holds the
  samples' ``[N, 4]`` arrays, as Tonic's.

Differences: samples come in a sorted order (class, then file name; Tonic lists files or
folders in the file system's order for N-Caltech101 and POKER-DVS); ASL-DVS events are a 1-D
array (Tonic keeps the ``.mat`` column vectors' ``(N, 1)`` shape); events off the sensor are
dropped with a warning; Tonic's file-count checks are not applied.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import DatasetError
from ..raw import asl_dvs as _asl
from ..raw import ncaltech101 as _nc
from ..raw import poker_dvs as _poker
from .datasets import _StoreDataset

__all__ = ["NCALTECH101", "ASLDVS", "POKERDVS"]


def _need_folder(location: str, what: str, get: str) -> None:
    root = Path(location)
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root}: is a file; Tonic's layout needs a folder there")
    if not root.is_dir():
        raise DatasetError(f"{root}: {what} not found (no such folder); evframes never "
                           f"downloads: {get} and put it in {root}/, extracted or not")


class NCALTECH101(_StoreDataset):
    """N-CALTECH101 (Orchard et al. 2015), the whole set; see the module docstring."""

    url = ("https://data.mendeley.com/public-files/datasets/cy6cvx3ryv/files/"
           "36b5c52a-b49d-4853-addb-a836a8883e49/file_downloaded")
    filename = _nc.TONIC_ARCHIVE
    file_md5 = "66201824eabb0239c7ab992480b50ba3"
    data_filename = "Caltech101.zip"
    folder_name = "Caltech101"
    sensor_size = None
    dtype = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])
    ordering = dtype.names

    def __init__(self, save_to: str, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 transforms: Optional[Callable] = None):
        super().__init__(save_to, transform=transform, target_transform=target_transform,
                         transforms=transforms)
        self.folder_name = "Caltech101"
        _need_folder(self.location_on_system, "N-Caltech101",
                     f"get {self.filename} from {self.url} (md5 {self.file_md5})")
        self._open("all", lambda root: _nc.NCaltech101Raw(root, whole=True))
        self.targets = [_nc.CLASSES[v] for v in self._store.labels]

    def _relative(self, source: str, target) -> str:
        top = self.folder_name + "/"
        return source[len(top):] if source.startswith(top) else source

    @property
    def data(self) -> list:
        base = os.path.join(self.location_on_system, self.folder_name)
        return [os.path.join(base, self._relative(str(s), None)) for s in self._meta_source]

    def __getitem__(self, index):
        """``(events, target)``: events shifted to start at 0, the class name."""
        events = self._events(index)
        if len(events):
            events["x"] -= events["x"].min()
            events["y"] -= events["y"].min()
        return self._finish(events, self.targets[self._store._index(index)])


class ASLDVS(_StoreDataset):
    """ASL-DVS (Bi et al. 2019), the whole set; see the module docstring."""

    url = _asl.TONIC_RESOURCE[1]
    filename = _asl.TONIC_RESOURCE[0]
    file_md5 = _asl.TONIC_RESOURCE[2]
    folder_name = ""
    classes = [chr(c) for c in range(97, 123)]
    int_classes = dict(zip(classes, range(len(classes))))
    sensor_size = (240, 180, 2)
    dtype = np.dtype([("t", int), ("x", int), ("y", int), ("p", int)])
    ordering = dtype.names

    def __init__(self, save_to: str, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 transforms: Optional[Callable] = None):
        super().__init__(save_to, transform=transform, target_transform=target_transform,
                         transforms=transforms)
        _need_folder(self.location_on_system, "ASL-DVS",
                     f"get {self.filename} from {self.url} (md5 {self.file_md5}; or the OpenI "
                     f"mirror, `openi dataset download OpenI/ASLDVS`)")
        self._open("all", lambda root: _asl.ASLDVSRaw(root, orientation="tonic", whole=True))
        self.targets = [_asl.TONIC_TARGETS[v] for v in self._store.labels]

    def __getitem__(self, index):
        """``(events, target)``: the target is the letter's index in the alphabet."""
        return self._finish(self._events(index), self.targets[self._store._index(index)])


class POKERDVS(_StoreDataset):
    """POKER-DVS (Serrano-Gotarredona and Linares-Barranco 2015); see the module docstring."""

    train_filename = "pips_train.tar.gz"
    test_filename = "pips_test.tar.gz"
    train_md5 = _poker.RESOURCES[0][2]
    test_md5 = _poker.RESOURCES[1][2]
    classes = list(_poker.CLASSES)
    int_classes = dict(zip(classes, range(4)))
    sensor_size = (35, 35, 2)
    dtype = np.dtype([("t", int), ("x", int), ("y", int), ("p", int)])
    ordering = dtype.names

    def __init__(self, save_to: str, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 transforms: Optional[Callable] = None):
        super().__init__(save_to, transform=transform, target_transform=target_transform,
                         transforms=transforms)
        self.train = train
        split = "train" if train else "test"
        self.file_md5 = self.train_md5 if train else self.test_md5
        self.filename = self.train_filename if train else self.test_filename
        self.folder_name = _poker.SPLIT_ITEMS[split]
        _need_folder(self.location_on_system, "POKER-DVS",
                     f"get {self.filename} (Tonic 1.7 ships it in its source tree, "
                     f"tonic/datasets/{self.filename}; md5 {self.file_md5})")
        self._open(split, _poker.POKERDVSRaw)

    @property
    def data(self) -> list:
        """Each sample's ``[N, 4]`` int64 array (columns t, x, y, p), as Tonic's ``data``."""
        out = []
        for i in range(len(self)):
            ev = self._store.events(i)
            out.append(np.stack([np.asarray(ev[k], np.int64) for k in "txyp"], axis=1))
        return out
