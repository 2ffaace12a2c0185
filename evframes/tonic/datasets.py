"""Tonic's datasets (``tonic.datasets``, Tonic 1.7): names, constructors, class attributes and
sample values, over evframes' events stores.

``NMNIST(save_to, train=True, first_saccade_only=False, stabilize=False, transform=None,
target_transform=None, transforms=None)``, ``DVSGesture(save_to, train=True, ...)`` and
``CIFAR10DVS(save_to, transform=None, ...)`` read Tonic's layout under
``save_to/<ClassName>/`` (see :mod:`evframes.raw.tonic_layout`), extract it once into one events
store per split (``save_to/<ClassName>/events/<split>.h5``, reused while the raw files are
unchanged; Tonic itself still reads the folder, it never looks into ``events/``), and return
``(events, target)``: a numpy structured array with the class's ``dtype`` (fields in
``ordering``) and an int, after ``transform`` (events), then
``target_transform`` (target), then ``transforms(events, target)``, as Tonic applies them.
``sensor_size`` is ``(W, H, P)``; ``classes``, ``targets``, ``data`` (the sample files) as in
Tonic. Where Tonic would download, a one-line :class:`~evframes.DatasetError` says what to get
from where and where to put it.

Deliberate differences (docs/switching.md): archives are read in place (no extraction to disk);
Tonic's "enough files present" thresholds are not applied (any complete folder is read); events
off the sensor are dropped with a warning; DVSGesture and CIFAR10DVS samples come in a sorted
order (Tonic's follows the file system's listing); CIFAR10DVS's ``p`` field has no title
(Tonic's keeps the AEDAT 4 reader's ``'on'`` title); CIFAR10DVS also reads the original
release's AEDAT 2.0 recordings.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import DatasetError
from ..raw import tonic_layout as _layout

#: Tonic datasets defined in :mod:`.datasets_wave1` (which builds on this module)
_MORE = dict.fromkeys(("NCALTECH101", "ASLDVS", "POKERDVS"), "datasets_wave1")
_MORE.update(dict.fromkeys(("DVSLip", "NCARS", "NavGesture"), "datasets_wave1b"))
_MORE.update(dict.fromkeys(("SHD", "SSC"), "datasets_shd"))
__all__ = ["NMNIST", "DVSGesture", "CIFAR10DVS", "stabilize", *_MORE]


class _StoreDataset:
    """Base of the Tonic datasets: Tonic's ``Dataset`` attributes over an events store."""

    sensor_size: tuple = ()
    dtype: np.dtype = np.dtype([])
    ordering: tuple = ()
    classes = []
    _layout_name = ""

    def __init__(self, save_to: str, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 transforms: Optional[Callable] = None):
        self.location_on_system = os.path.join(os.path.expanduser(save_to),
                                               self.__class__.__name__)
        self.transform = transform
        self.target_transform = target_transform
        self.transforms = transforms
        self.folder_name = ""

    def _open(self, split: str, raw_factory) -> None:
        """Extract (or reuse) the events store of ``split`` from ``raw_factory(root)``."""
        from ..pipeline.extract import extract
        from ..store import EventsDataset, Manifests, events_store_path
        root = Path(self.location_on_system)
        if root.exists() and not root.is_dir():
            raise DatasetError(f"{root}: is a file; Tonic's layout needs a folder there")
        if not root.is_dir():
            raise _layout.missing_error(self._layout_name, root, split)
        import sys
        manifests = Manifests()
        raw = raw_factory(root)
        extract(raw, progress=sys.stderr.isatty(), manifests=manifests)
        path = events_store_path(root, split)
        self._store = EventsDataset(path, split=split, manifest=manifests.read(path))
        self.targets = [int(v) for v in self._store.labels]
        self._meta_source = self._store.meta.get("source")

    @property
    def data(self) -> list:
        """The sample files as Tonic lists them (paths under ``location_on_system``)."""
        base = os.path.join(self.location_on_system, self.folder_name)
        return [os.path.join(base, self._relative(str(s), t))
                for s, t in zip(self._meta_source, self.targets)]

    def _relative(self, source: str, target: int) -> str:
        return source

    def _events(self, index: int) -> np.ndarray:
        ev = self._store.events(index)
        out = np.empty(len(ev), dtype=self.dtype)
        for name in self.dtype.names:
            out[name] = ev[name]
        return out

    def _finish(self, events, target):
        if self.transform is not None:
            events = self.transform(events)
        if self.target_transform is not None:
            target = self.target_transform(target)
        if self.transforms is not None:
            events, target = self.transforms(events, target)
        return events, target

    def __getitem__(self, index):
        """``(events, target)``: a structured array with ``dtype`` and the class index."""
        events = self._events(index)
        return self._finish(events, int(self._store.labels[self._store._index(index)]))

    def __len__(self) -> int:
        return len(self._store)

    def __repr__(self):
        return self.__class__.__name__


class NMNIST(_StoreDataset):
    """N-MNIST (Orchard et al. 2015) in Tonic's layout: ``save_to/NMNIST/Train/<digit>/*.bin``
    (or ``train.zip``), ``Test/`` (``test.zip``). Events ``(x, y, t, p)`` int64, t in
    microseconds, 34 x 34 pixels.

    ``first_saccade_only``: only events with ``t < 100000`` us. ``stabilize``: the saccade
    motion removed (Tonic's formula: coordinates shifted by the saccade's linear path, rounded
    half to even; events shifted off 0..33 dropped).
    """

    base_url = "https://data.mendeley.com/public-files/datasets/468j46mzdv/files/"
    train_url = _layout.TONIC_LAYOUTS["nmnist"].sources["train"].url
    train_filename = "train.zip"
    train_md5 = _layout.TONIC_LAYOUTS["nmnist"].sources["train"].md5
    train_folder = "Train"
    test_url = _layout.TONIC_LAYOUTS["nmnist"].sources["test"].url
    test_filename = "test.zip"
    test_md5 = _layout.TONIC_LAYOUTS["nmnist"].sources["test"].md5
    test_folder = "Test"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]
    sensor_size = (34, 34, 2)
    dtype = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])
    ordering = dtype.names
    _layout_name = "nmnist"

    def __init__(self, save_to: str, train: bool = True, first_saccade_only: bool = False,
                 stabilize: bool = False, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 transforms: Optional[Callable] = None):
        super().__init__(save_to, transform=transform, target_transform=target_transform,
                         transforms=transforms)
        self.train = train
        self.first_saccade_only = first_saccade_only
        self.stabilize = stabilize
        split = "train" if train else "test"
        self.filename = self.train_filename if train else self.test_filename
        self.url = self.train_url if train else self.test_url
        self.file_md5 = self.train_md5 if train else self.test_md5
        self.folder_name = self.train_folder if train else self.test_folder
        self._open(split, lambda root: _layout.TonicNMNISTRaw(root, need=split))

    def _relative(self, source: str, target: int) -> str:
        top = self.folder_name + "/"
        return source[len(top):] if source.startswith(top) else source

    def __getitem__(self, index):
        events = self._events(index)
        if self.first_saccade_only:
            events = events[events["t"] < 1e5]
        if self.stabilize:
            events = stabilize(events)
        return self._finish(events, int(self._store.labels[self._store._index(index)]))


def stabilize(events: np.ndarray) -> np.ndarray:
    """N-MNIST events with the saccades' egomotion removed (Tonic's ``nmnist.stabilize``).

    The three saccades last 105 ms each; during each, the digit moves along a straight line
    (3.5 px right and 7 px down, then 3.5 px right and 7 px up, then 7 px left); x and y are
    shifted back along that path (plus Tonic's fixed offset of 4 px in x and 2 px in y),
    rounded half to even, and events whose shifted position leaves 0..33 are dropped. The
    arithmetic follows Tonic's order of operations, so the rounding is the same.
    """
    t = events["t"]
    x = np.asarray(events["x"], dtype=np.float64)
    y = np.asarray(events["y"], dtype=np.float64)
    sx, sy = x.copy(), y.copy()
    s1 = t <= 105e3
    s2 = (t > 105e3) * (t <= 210e3)
    s3 = t > 210e3
    sx[s1] = 4 + x[s1] - 3.5 * t[s1] / 105e3
    sy[s1] = 2 + y[s1] - 7 * t[s1] / 105e3
    sx[s2] = 4 + x[s2] - 3.5 - 3.5 * (t[s2] - 105e3) / 105e3
    sy[s2] = 2 + y[s2] - 7 + 7 * (t[s2] - 105e3) / 105e3
    sx[s3] = 4 + x[s3] - 7 + 7 * (t[s3] - 210e3) / 105e3
    sy[s3] = 2 + y[s3]
    events["x"] = np.round(sx).astype(np.int64)
    events["y"] = np.round(sy).astype(np.int64)
    off = (sx < 0) | (sy < 0) | (sx > 33) | (sy > 33)
    return events[~off]


class DVSGesture(_StoreDataset):
    """IBM DVS128 Gesture, Tonic's preprocessed release: ``save_to/DVSGesture/ibmGestureTrain/
    userNN_<lighting>/<label>.npy`` (or ``ibmGestureTrain.tar.gz``), ``ibmGestureTest``. Events
    ``(x, y, p, t)``: int16, int16, bool, int64 microseconds (the files hold milliseconds);
    128 x 128 pixels. ``users`` and ``lighting`` per sample, as in Tonic.

    Samples are sorted by user folder (natural order), then label; Tonic lists them in the
    file system's order, which differs between machines. From the archive (not extracted) they
    come in the archive's member order.
    """

    test_url = _layout.TONIC_LAYOUTS["dvs128"].sources["test"].url
    train_url = _layout.TONIC_LAYOUTS["dvs128"].sources["train"].url
    test_md5 = _layout.TONIC_LAYOUTS["dvs128"].sources["test"].md5
    train_md5 = _layout.TONIC_LAYOUTS["dvs128"].sources["train"].md5
    test_filename = "ibmGestureTest.tar.gz"
    train_filename = "ibmGestureTrain.tar.gz"
    classes = ["Hand clapping", "Right hand wave", "Left hand wave", "Right arm cw",
               "Right arm ccw", "Left arm cw", "Left arm ccw", "Arm roll", "Air drums",
               "Air guitar", "Other gestures"]
    sensor_size = (128, 128, 2)
    dtype = np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])
    ordering = dtype.names
    _layout_name = "dvs128"

    def __init__(self, save_to: str, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 transforms: Optional[Callable] = None):
        super().__init__(save_to, transform=transform, target_transform=target_transform,
                         transforms=transforms)
        self.train = train
        split = "train" if train else "test"
        self.url = self.train_url if train else self.test_url
        self.file_md5 = self.train_md5 if train else self.test_md5
        self.filename = self.train_filename if train else self.test_filename
        self.folder_name = "ibmGestureTrain" if train else "ibmGestureTest"
        self._open(split, lambda root: _layout.TonicDVSGestureRaw(root, need=split))
        self.users = [int(v) for v in self._store.meta["user"]]
        self.lighting = [str(v) for v in self._store.meta["lighting"]]


class CIFAR10DVS(_StoreDataset):
    """CIFAR10-DVS (Li et al. 2017), the whole set (Tonic has no split): ``save_to/CIFAR10DVS/
    airplane/`` ... ``truck/`` of AEDAT 4 recordings, Tonic's release (or the class archives
    ``airplane.zip`` ..., read in place). Events ``(t, x, y, p)`` as stored: uint64
    microseconds (DV's absolute time), uint16, uint16, bool; 128 x 128 pixels. Classes in
    Tonic's order, recordings within a class in natural file-name order (Tonic: the file
    system's order).

    Class folders holding the original release's AEDAT 2.0 recordings instead are read too,
    upright (x, y and p as evframes' CIFAR10-DVS, SpikingJelly's convention).
    """

    url = _layout.TONIC_LAYOUTS["cifar10dvs"].sources["all"].url
    filename = "CIFAR10DVS.zip"
    file_md5 = _layout.TONIC_LAYOUTS["cifar10dvs"].sources["all"].md5
    data_filename = [f"{c}.zip" for c in ("airplane", "automobile", "bird", "cat", "deer", "dog",
                                          "frog", "horse", "ship", "truck")]
    folder_name = ""
    dtype = np.dtype([("t", np.uint64), ("x", np.uint16), ("y", np.uint16), ("p", bool)])
    ordering = dtype.names
    sensor_size = (128, 128, 2)
    classes = {c[:-4]: i for i, c in enumerate(data_filename)}
    _layout_name = "cifar10dvs"

    def __init__(self, save_to: str, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 transforms: Optional[Callable] = None):
        super().__init__(save_to, transform=transform, target_transform=target_transform,
                         transforms=transforms)
        self._open("all", _layout.TonicCIFAR10DVSRaw)

    def _relative(self, source: str, target: int) -> str:
        return os.path.join(self.data_filename[target][:-4], source.rsplit("/", 1)[-1])


def __getattr__(name):
    if name in _MORE:
        import importlib
        return getattr(importlib.import_module(f"{__package__}.{_MORE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
