"""Tonic's ``DVSLip`` (Tonic 1.7), ``NCARS`` and ``NavGesture`` (Tonic 1.0.x: both were removed
in Tonic 1.0.10 with their ``loris`` reader) over evframes' events stores: names, constructors,
class attributes and sample values; exported by :mod:`evframes.tonic.datasets` (the shared
behaviour is described there).

- ``DVSLip(save_to, train=True, ...)``: ``save_to/DVSLip/DVS-Lip/<split>/<word>/*.npy`` or the
  download ``DVS-Lip.zip`` read in place. Events ``(x, y, p, t)``: int16, int16, bool, int64
  (the files' values); the target is the word's index in ``classes``; ``ambiguous_classes`` as
  Tonic's.
- ``NCARS(save_to, train=True, ...)``: ``save_to/NCARS/train/{background,cars}/*.dat`` (or
  ``n-cars_train.zip``, or ``Prophesee_Dataset_n_cars.zip`` holding it). Events ``(t, x, y, p)``
  (uint64, uint16, uint16, bool) as the DAT files store them; ``sensor_size`` None, as Tonic
  1.0.x. Tonic 1.0.x then moved y (``y -= 140``, ``y = y.max() - y``, in uint16): not done
  here (see :mod:`evframes.raw.ncars`).
- ``NavGesture(save_to, walk_subset=False, ...)``: ``save_to/NavGesture/navgesture-sit/``
  holding the subject folders ``userNN/`` (or the subject zips ``userNN.zip``, or the download
  ``navgesture-sit.zip``, read in place; Tonic leaves the download one folder up: move it in).
  Events ``(t, x, y, p)`` (uint64, uint16, uint16, bool) as the files store them (no time shift,
  no flip: SpikingJelly's conventions are :class:`evframes.datasets.NAVGestureSit`'s); targets
  in Tonic's ``class_codes`` order (``do, up, le, ri, se, ho``).

Differences: samples come in a sorted order (class, then file name; Tonic's follows the file
system's listing, NavGesture's the subject folders); events off the sensor are dropped with a
warning; Tonic's file-count checks are not applied.
"""
from __future__ import annotations

import os
from typing import Callable, Optional

import numpy as np

from ..raw import dvs_lip as _lip
from ..raw import nav_gesture as _nav
from ..raw import ncars as _ncars
from .datasets import _StoreDataset
from .datasets_wave1 import _need_folder

__all__ = ["DVSLip", "NCARS", "NavGesture"]


class DVSLip(_StoreDataset):
    """DVS-Lip (Tan et al. 2022); see the module docstring."""

    base_url = _lip.TONIC_URL
    filename = _lip.ZIP
    base_folder = _lip.TOP
    file_md5 = _lip.RESOURCES[0][2]
    sensor_size = (128, 128, 2)
    dtype = np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])
    ordering = dtype.names
    classes = list(_lip.CLASSES)
    #: the 25 pairs of similar words (Tonic's list)
    ambiguous_classes = [
        "action", "allow", "allowed", "america", "american", "around", "being", "benefit",
        "benefits", "billion", "called", "challenge", "change", "court", "difference",
        "different", "election", "evening", "giving", "ground", "happen", "happened", "having",
        "heavy", "legal", "little", "meeting", "million", "missing", "needs", "number",
        "numbers", "paying", "press", "price", "russia", "russian", "spend", "spent", "syria",
        "syrian", "taken", "taking", "terms", "these", "thing", "think", "times", "words",
        "worst"]

    def __init__(self, save_to: str, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 transforms: Optional[Callable] = None):
        super().__init__(save_to, transform=transform, target_transform=target_transform,
                         transforms=transforms)
        self.train = train
        self.url = self.base_url
        split = "train" if train else "test"
        self.folder_name = os.path.join(self.base_folder, split)
        _need_folder(self.location_on_system, "DVS-Lip",
                     f"get {self.filename} from {self.url} (md5 {self.file_md5})")
        self._open(split, _lip.DVSLipRaw)

    def _relative(self, source: str, target) -> str:
        return source.split("/", 1)[1]  # <split>/<word>/<file> below DVS-Lip/<split>


class NCARS(_StoreDataset):
    """N-CARS (Sironi et al. 2018); see the module docstring."""

    url = _ncars.RESOURCES[0][1]
    filename = _ncars.OUTER
    train_filename = _ncars.SPLIT_ZIPS["train"]
    test_filename = _ncars.SPLIT_ZIPS["test"]
    file_md5 = _ncars.RESOURCES[0][2]
    classes = list(_ncars.TONIC_CLASSES)
    class_dict = {c: i for i, c in enumerate(_ncars.CLASSES)}
    sensor_size = None  # different for every recording (Tonic 1.0.x)
    minimum_y_value = 140
    dtype = np.dtype([("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "?")])
    ordering = dtype.names

    def __init__(self, save_to: str, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 transforms: Optional[Callable] = None):
        super().__init__(save_to, transform=transform, target_transform=target_transform,
                         transforms=transforms)
        self.train = train
        split = "train" if train else "test"
        self.folder_name = split
        _need_folder(self.location_on_system, "N-CARS",
                     f"get {self.filename} from {self.url} (md5 {self.file_md5})")
        self._open(split, _ncars.NCARSRaw)

    def _relative(self, source: str, target) -> str:
        return source.split("/", 1)[1]


class NavGesture(_StoreDataset):
    """NavGesture (Maro et al. 2020), one variant, the whole set; see the module docstring."""

    base_url = _nav._BASE
    sit_filename, walk_filename = (_nav.RESOURCES[v][0] for v in ("sit", "walk"))
    sit_url, walk_url = (_nav.RESOURCES[v][1] for v in ("sit", "walk"))
    sit_md5, walk_md5 = (_nav.RESOURCES[v][2] for v in ("sit", "walk"))
    classes = list(_nav.TONIC_CLASSES)
    class_codes = list(_nav.TONIC_CODES)
    int_classes = dict(zip(class_codes, range(len(class_codes))))
    sensor_size = (304, 240, 2)
    dtype = np.dtype([("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "?")])
    ordering = dtype.names

    def __init__(self, save_to: str, walk_subset: bool = False,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 transforms: Optional[Callable] = None):
        super().__init__(save_to, transform=transform, target_transform=target_transform,
                         transforms=transforms)
        self.walk_subset = walk_subset
        v = "walk" if walk_subset else "sit"
        self.filename, self.url, self.file_md5 = _nav.RESOURCES[v]
        self.folder_name = f"navgesture-{v}"
        top = self.location_on_system
        self.location_on_system = os.path.join(top, self.folder_name)  # one store per variant
        _need_folder(self.location_on_system, f"NavGesture-{v}",
                     f"get {self.filename} from {self.url} (md5 {self.file_md5}; Tonic leaves "
                     f"it in {top}: move it into {self.folder_name}/)")
        raw = _nav.NAVGestureSitRaw if v == "sit" else _nav.NAVGestureWalkRaw
        self._open("all", lambda root: raw(root, orientation="raw", whole=True))
        self.targets = [_nav.TONIC_TARGETS[v] for v in self._store.labels]

    @property
    def data(self) -> list:
        return [os.path.join(self.location_on_system, str(s)) for s in self._meta_source]

    def __getitem__(self, index):
        """``(events, target)``: the records as stored, Tonic's target."""
        return self._finish(self._events(index), self.targets[self._store._index(index)])
