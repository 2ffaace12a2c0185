"""The torch Dataset over the HDF5 stores that every dataset class of :mod:`evframes.datasets`
derives from.

:class:`NeuromorphicDataset` (base of ``evframes.datasets.DVS128Gesture``, ``NMNIST``,
``CIFAR10DVS``): SpikingJelly's constructor; extracts and integrates on first use, then reads the
stores. ``ds[i] -> (float32 tensor [T, 2, H, W], int label)`` for frames and
``(Events, int label)`` for events. Collation of variable-length samples:
:mod:`evframes.collate`.

HDF5 handles open lazily in each process, so DataLoader workers (fork or spawn) each get their
own handle; nothing opened in the parent is used in a child.

This module's old contents (the raw layouts' base: ``Job``, ``JobResult``, ``RawDataset``,
``pack_samples``, ...) moved to :mod:`evframes.raw.base`; those names stay importable from here.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import DatasetError, StoreError, one_line
from ..raw import base as _raw_base
from .frame_dtype import check_exact_conversion

#: ``label_order=``: evframes' labels (default), or SpikingJelly's (its class folders sorted
#: as strings: DVS128 Gesture's '0','1','10','2',... scramble them)
LABEL_ORDERS = ("evframes", "spikingjelly")


class NeuromorphicDataset(torch.utils.data.Dataset):
    """A dataset split read from evframes' HDF5 stores, built on first use.

    Parameters (SpikingJelly's names)
    ----------
    root : dataset root (raw archives/folders, ``events/``, frame folders live there; raw
        files in evframes' layout or SpikingJelly's ``download/`` / ``extract/``, see
        :mod:`evframes.raw.roots`)
    train : True for the train split, False for test (or give ``split``); None: the whole
        dataset where SpikingJelly allows it (CIFAR10-DVS: both splits in SpikingJelly's
        sample order, for ``split_to_train_test_set``), else a ValueError
    data_type : 'event' -> ``(Events, label)``; 'frame' -> ``(tensor [T, 2, H, W], label)``
    frames_number, split_by : fixed T frames, split by 'number' or 'time'
    duration : fixed frame duration in microseconds (variable T; use pad_sequence_collate)
    custom_integrate_function : ``f(events, H, W) -> frames``
    custom_integrated_frames_dir_name : folder name for it (default ``f.__name__``)
    transform, target_transform : applied to the sample and the label
    label_order : 'evframes' (default: labels as documented per dataset) or 'spikingjelly'
        (SpikingJelly's integer labels, its class folders sorted as strings; they differ for
        DVS128 Gesture only, so its checkpoints can be evaluated); ``classes`` follows.
    Class methods as SpikingJelly's: ``downloadable()``, ``resource_url_md5()`` (the official
    files; evframes never downloads them), ``get_H_W()``; ``targets`` lists the labels.
    Extras: ``count`` / ``overlap`` / ``include_incomplete`` (see ``evframes.integrate``),
    ``downsample`` K (coordinates pooled by K), ``in_memory`` (frames or events loaded once into
    shared memory; DataLoader workers then read the same pages instead of copies),
    ``frame_dtype`` (default float32; ``torch.uint8`` hands the stored counts over without
    conversion, 1.5x the DataLoader throughput, convert on the GPU; a dtype that would not hold
    every stored value exactly, e.g. uint8 for a count of 266, is refused at construction with
    a ValueError naming the largest count and its sample), ``progress`` (tqdm bars
    while building), ``workers`` (extraction processes), ``force`` (rebuild the frames store
    even when current), ``memory_budget`` (bytes or ``"2G"`` the frames build may hold at once,
    default 1 GiB; see ``evframes.pipeline.frames.build_frames``). A custom function's store
    records the function's fingerprint and is rebuilt when the function changes; its values are
    stored exactly (signed, fractional, NaN), so choose ``frame_dtype`` to hold them (float64 for
    values float32 cannot hold).

    Representations: ``representation='voxel', repr_params={'bins': 10}`` (with
    ``data_type='frame'`` and a rule: ``frames_number`` + ``split_by``, ``duration`` or
    ``count``) turns each window into a representation of
    :mod:`evframes.integrate.representations` instead of count frames: ``'voxel'`` (bins),
    ``'time_surface'`` (tau, us), ``'averaged_time_surface'`` (tau; cell, radius),
    ``'stacked_histogram'`` (bins; clip), ``'onoff'``, ``'event_image'``, ``'binary'``,
    ``'latest_timestamp'``; ``ds[i]`` is then ``[T, C, H', W']`` (C = bins for the voxel grid,
    2 * bins for the stacked histogram, 1 for onoff; HATS' grid of cell histograms is
    ``H' x W'``), cached in its own frames store in the representation's dtype (float32,
    int16, uint8; int64 microseconds, -1 = never, for the latest timestamp). The default
    ``frame_dtype=torch.float32`` holds every value of every representation exactly except
    latest timestamps past 2**24 us (16.8 s) in one window, which the exactness check refuses:
    use ``frame_dtype=torch.int64`` (or float64) there.

    On the fly: ``on_the_fly=True`` (with ``data_type='frame'``) writes no frames store; each
    sample is read from the events store and integrated in the DataLoader worker with the same
    setting, after ``event_transform`` (events -> events, e.g. ``transforms.Compose`` of
    ``RandomFlip(sensor_size=...)``, ``RandomTranslate(sensor_size=...)``, ``DropEvents``,
    ``TimeJitter``), so every epoch sees new frames; ``transform`` then gets the frames. Without
    ``event_transform`` the frames equal the stored ones bit for bit. See
    :mod:`evframes.datasets.on_the_fly`.
    """

    raw_name: str = ""
    splits = ("train", "test")
    #: ``train=None`` (and no ``split``) means the whole dataset (SpikingJelly's CIFAR10-DVS);
    #: False: refused, as SpikingJelly refuses it for datasets with an official split
    whole_when_train_none: bool = False
    #: SpikingJelly's class folder of each label (None: ``str(label)``); its labels are the
    #: positions of these names sorted as strings (torchvision's DatasetFolder)
    spikingjelly_folders: Optional[Sequence[str]] = None

    def __init__(self, root, train: Optional[bool] = True, data_type: str = "event",
                 frames_number: Optional[int] = None, split_by: Optional[str] = None,
                 duration: Optional[int] = None,
                 custom_integrate_function: Optional[Callable] = None,
                 custom_integrated_frames_dir_name: Optional[str] = None,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, *, split: Optional[str] = None,
                 count: Optional[int] = None, overlap: int = 0,
                 include_incomplete: bool = True, downsample: int = 1,
                 in_memory: bool = False, frame_dtype=torch.float32, progress: bool = True,
                 workers: Optional[int] = None, force: bool = False, memory_budget=None,
                 on_the_fly: bool = False, event_transform: Optional[Callable] = None,
                 representation: Optional[str] = None, repr_params: Optional[dict] = None,
                 label_order: str = "evframes", **raw_options):
        opts = {k: v for k, v in locals().items()  # the arguments, for the whole dataset
                if k not in ("self", "root", "train", "split", "raw_options", "__class__")}
        from ..store import EventsDataset, Manifests, events_store_path
        manifests = Manifests()  # each store's manifest is read once by this constructor
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise DatasetError(f"{self.root}: is a file; root must be a dataset folder")
        if label_order not in LABEL_ORDERS:
            raise ValueError(f"label_order must be one of {LABEL_ORDERS}, got {label_order!r}")
        self.label_order = label_order
        self._parts = None
        if split is None:
            if train is None:
                if self.whole_when_train_none:
                    return self._init_whole(opts, raw_options)
                raise ValueError(f"{type(self).__name__}: give train=True/False (or split=...); "
                                 f"it has an official train/test split")
            split = "train" if train else "test"
        if split not in self.splits:
            raise ValueError(f"split must be one of {self.splits}, got {split!r}")
        if data_type not in ("event", "frame"):
            raise ValueError(f"data_type must be 'event' or 'frame', got {data_type!r}")
        if on_the_fly and data_type != "frame":
            raise ValueError("on_the_fly=True integrates frames: it needs data_type='frame'")
        if event_transform is not None and not on_the_fly:
            raise ValueError("event_transform needs on_the_fly=True (stored frames cannot see "
                             "event-level augmentation; for events use transform=...)")
        self.split, self.data_type = split, data_type
        self.frame_dtype = frame_dtype
        self.transform, self.target_transform = transform, target_transform
        self.setting = None
        if data_type == "frame":  # the one setting (defaults, checks), before any work
            from ..integrate.setting import FrameSetting
            self.setting = FrameSetting.from_options(
                split_by, frames_number, duration, count, overlap, include_incomplete,
                custom_integrate_function, custom_integrated_frames_dir_name, downsample,
                representation=representation, repr_params=repr_params)
        elif representation is not None or repr_params:
            raise ValueError("representation= / repr_params= choose what frames become: they "
                             "need data_type='frame'")
        self._ensure_events(raw_options, progress, workers, manifests)
        ev_path = events_store_path(self.root, split)
        self.events_store = EventsDataset(ev_path, manifest=manifests.read(ev_path))
        self.classes = self.events_store.classes
        self.sensor_size = self.events_store.sensor_size
        self._frames = None
        self._mem = None
        self._on_the_fly = None
        if on_the_fly:
            from .on_the_fly import OnTheFlyFrames
            self._on_the_fly = OnTheFlyFrames(self.setting, self.sensor_size, event_transform,
                                              frame_dtype, str(self.events_store.path))
            self.sensor_size = self._on_the_fly.sensor_size
        if data_type == "frame" and not on_the_fly:
            from ..pipeline.frames import build_frames
            from ..store.frames import FramesStore
            from ..store.layout import frames_store_path
            fr_path = frames_store_path(self.root, self.setting, split)
            build_frames(self.root, self.setting, splits=[split], progress=progress,
                         force=force, memory_budget=memory_budget, manifests=manifests)
            self._frames = FramesStore(fr_path, manifest=manifests.read(fr_path))
            self.sensor_size = tuple(self._frames.manifest["sensor_size"])
            where = f"{self._frames.path}"
            if in_memory:
                arr = self._read_all_frames()
                check_exact_conversion(arr, self._frames.frame_offsets, frame_dtype, where)
                self._mem = torch.from_numpy(arr)
                self._mem.share_memory_()
                self._frames._h5.close()
            else:
                try:
                    check_exact_conversion(self._frames._h5.get()["frames"],
                                           self._frames.frame_offsets, frame_dtype, where)
                finally:
                    self._frames._h5.close()  # workers open their own handles
        elif in_memory:  # events (also what on-the-fly frames are integrated from)
            try:
                ev = self.events_store.read_all()
            except OSError as e:
                for i in range(len(self.events_store)):
                    self.events_store.events(i)  # StoreError naming the store and the sample
                raise StoreError(f"{self.events_store.path}: cannot read the events: "
                                 f"{one_line(e)}") from None
            self._mem = {k: torch.from_numpy(np.ascontiguousarray(v)).share_memory_()
                         for k, v in ev.items()}
            self.events_store.close()
        self.labels = self.events_store.labels
        if label_order == "spikingjelly":
            self.classes, self.labels = self._spikingjelly_labels(self.classes, self.labels)

    # -- SpikingJelly's labels and whole-dataset view ----------------------------------------
    @classmethod
    def _spikingjelly_map(cls, n: int) -> np.ndarray:
        """``sj[label]``: SpikingJelly's label of each of ours (its class folders sorted as
        strings)."""
        folders = list(cls.spikingjelly_folders or [str(i) for i in range(n)])
        order = sorted(range(n), key=folders.__getitem__)
        sj = np.empty(n, np.int64)
        sj[order] = np.arange(n)
        return sj

    def _spikingjelly_labels(self, classes, labels):
        sj = self._spikingjelly_map(len(classes))
        new_classes = [None] * len(classes)
        for ours, theirs in enumerate(sj):
            new_classes[theirs] = classes[ours]
        return new_classes, sj[np.asarray(labels, np.int64)]

    def _init_whole(self, opts, raw_options):
        """Both splits as one Dataset, in SpikingJelly's sample order: by its label, then by
        its sample file name as a string (``cifar10_airplane_0``, ``_1``, ``_10``, ``_100``,
        ...: what its DatasetFolder lists)."""
        cls = type(self)
        parts = []
        for s in self.splits:
            part = cls.__new__(cls)
            NeuromorphicDataset.__init__(part, self.root, None, split=s, **opts, **raw_options)
            parts.append(part)
        p0 = parts[0]
        self._parts = parts
        self.split, self.data_type, self.frame_dtype = None, p0.data_type, p0.frame_dtype
        self.transform = self.target_transform = None  # the parts apply them
        self.setting, self.classes, self.sensor_size = p0.setting, p0.classes, p0.sensor_size
        self.events_store = self._frames = self._mem = self._on_the_fly = None
        sj = self._spikingjelly_map(len(p0.classes))
        keys = []
        for k, part in enumerate(parts):
            ours = part.events_store.labels
            names = part.events_store.meta.get("source")
            for j in range(len(part)):
                name = PurePosixPath(str(names[j])).stem if names is not None else f"{j:012d}"
                keys.append((int(sj[int(ours[j])]), name + ".npz", k, j))
        keys.sort()
        self._index = np.array([(k, j) for _, _, k, j in keys], np.int64).reshape(-1, 2)
        self.labels = np.array([parts[k].labels[j] for k, j in self._index], np.int64)

    @property
    def targets(self):
        """The labels as a list (torchvision's ``DatasetFolder.targets``)."""
        return [int(v) for v in self.labels]

    @classmethod
    def _raw_class(cls):
        from ..raw import entry
        return entry(cls.raw_name).raw

    @classmethod
    def resource_url_md5(cls) -> list:
        """``[(file name, url, md5), ...]`` of the official downloads (SpikingJelly's values).
        evframes never downloads them: put them in ``root/`` or ``root/download/``."""
        return list(cls._raw_class().resources)

    @classmethod
    def downloadable(cls) -> bool:
        """SpikingJelly's answer to whether code can fetch the files (CIFAR10-DVS: True;
        DVS128 Gesture, N-MNIST: False). evframes itself never downloads."""
        return bool(cls._raw_class().resources_downloadable)

    @classmethod
    def get_H_W(cls) -> Tuple[int, int]:
        """``(H, W)`` of the sensor in pixels (SpikingJelly's ``get_H_W()``)."""
        W, H = cls._raw_class().sensor_size
        return H, W

    def _read_all_frames(self) -> np.ndarray:
        """All frames of the store; a failed read names the first sample that cannot be read."""
        try:
            return self._frames._h5.get()["frames"][...]
        except OSError as e:
            for i in range(len(self._frames)):
                self._frames.frames(i)  # raises StoreError naming the store and the sample
            raise StoreError(f"{self._frames.path}: cannot read the frames: {one_line(e)}") \
                from None

    # -- building --------------------------------------------------------------------------
    def _ensure_events(self, raw_options, progress, workers, manifests=None):
        from ..pipeline.extract import extract
        from ..raw import open_raw
        from ..store import events_store_path
        have = all(events_store_path(self.root, s).exists() for s in self.splits)
        try:
            raw = open_raw(self.raw_name, self.root, **raw_options)
        except DatasetError:
            if have:
                return  # raw data gone, stores present: use them as they are
            raise
        extract(raw, workers=workers, progress=progress, manifests=manifests)

    # -- access ----------------------------------------------------------------------------
    def __len__(self) -> int:
        if self._parts is not None:
            return len(self._index)
        return len(self.events_store)

    def sample_meta(self, i: int) -> dict:
        if self._parts is not None:
            k, j = self._index[i]
            return self._parts[k].sample_meta(int(j))
        return self.events_store.sample_meta(i)

    def _events(self, i: int):
        if self._mem is not None:
            from ..events import Events
            offs = self.events_store.offsets
            a, b = int(offs[i]), int(offs[i + 1])
            return Events({k: v[a:b].numpy() for k, v in self._mem.items()})
        return self.events_store.events(i)

    def __getitem__(self, i: int):
        if self._parts is not None:
            k, j = self._index[i]
            return self._parts[k][int(j)]
        if self._on_the_fly is not None:
            x = self._on_the_fly(self._events(i), i)
        elif self.data_type == "frame":
            if self._mem is not None:
                a, b = int(self._frames.frame_offsets[i]), int(self._frames.frame_offsets[i + 1])
                x = self._mem[a:b].to(self.frame_dtype)
            else:
                x = torch.from_numpy(self._frames.frames(i)).to(self.frame_dtype)
        else:
            x = self._events(i)
        y = int(self.labels[i])
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    # -- batch reads (DataLoader's __getitems__, evframes.datasets.loader) ----------------------
    def _batch_readable(self) -> bool:
        """Whether the frames of several samples can be read at once (stored frames)."""
        return (self._parts is None and self._on_the_fly is None and self.data_type == "frame"
                and self._frames is not None)

    def _read_batch(self, indices, out: Optional[np.ndarray] = None):
        """``(frames, lengths)``: :func:`evframes.datasets.batch_read.read_batch`."""
        from .batch_read import read_batch
        return read_batch(self, indices, out)

    def __getitems__(self, indices):
        """``[self[i] for i in indices]`` (what a DataLoader asks for each batch), with the
        stored frames of the batch read together and converted to ``frame_dtype`` at once;
        every other dataset reads sample by sample. Same values, order and transforms."""
        if not self._batch_readable():
            return [self[i] for i in indices]
        from .batch_read import getitems
        return getitems(self, indices)

    def __repr__(self):
        s = f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, " \
            f"data_type={self.data_type!r}, samples={len(self)}"
        if self.setting is not None:
            s += f", setting={self.setting.name!r}"
        if self._on_the_fly is not None:
            s += ", on_the_fly=True"
        if self._parts is not None and self.split is None:
            s += f", whole dataset of {'+'.join(self.splits)}"
        return s + ")"


def __getattr__(name):
    # the names of the raw layouts' base that lived here before (evframes.raw.base)
    try:
        return getattr(_raw_base, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
