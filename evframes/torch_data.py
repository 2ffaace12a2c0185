"""torch Datasets over the HDF5 stores, and SpikingJelly's pad/mask collation.

- :class:`NeuromorphicDataset` (base of ``evframes.datasets.DVS128Gesture``, ``NMNIST``,
  ``CIFAR10DVS``): SpikingJelly's constructor; extracts and integrates on first use, then reads
  the stores. ``ds[i] -> (float32 tensor [T, 2, H, W], int label)`` for frames and
  ``(Events, int label)`` for events.
- :func:`pad_sequence_collate`: ``batch -> (x [N, T_max, ...], y [N], lengths [N])``.
- :func:`padded_sequence_mask`: ``lengths [N] -> bool [T, N]``, True where ``t < length``.

HDF5 handles open lazily in each process, so DataLoader workers (fork or spawn) each get their
own handle; nothing opened in the parent is used in a child.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from .errors import DatasetError, StoreError, one_line

_SCAN_BYTES = 64 << 20  # frames read per step when checking a frame_dtype conversion


def _digits(dt: torch.dtype) -> int:
    """Significand bits of a torch float dtype (integers up to 2**digits are exact)."""
    return int(round(1 - np.log2(torch.finfo(dt).eps)))


def _dtype_holds(src: np.dtype, dt: torch.dtype) -> bool:
    """True when every value of numpy dtype ``src`` converts to torch ``dt`` exactly."""
    if dt == torch.bool:
        return src.kind == "b"
    if src.kind == "b":
        return True
    if dt.is_floating_point:
        if src.kind in "iu":
            info = np.iinfo(src)
            return max(-int(info.min), int(info.max)) <= 2 ** _digits(dt)
        if src.kind == "f":
            fi, ft = np.finfo(src), torch.finfo(dt)
            return _digits(dt) >= int(fi.nmant) + 1 and ft.max >= float(fi.max) and \
                ft.tiny <= float(fi.smallest_normal)
        return False
    if dt.is_complex or src.kind not in "iu":
        return False
    si, ti = np.iinfo(src), torch.iinfo(dt)
    return ti.min <= int(si.min) and int(si.max) <= ti.max


def _fitting_dtype(lo, hi) -> str:
    for dt in (torch.uint8, torch.int8, torch.int16, torch.int32):
        info = torch.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return str(dt)
    return "torch.int64"


def check_exact_conversion(frames, frame_offsets, dt: torch.dtype, where) -> None:
    """Raise ValueError unless every value of ``frames`` (an h5py dataset or array
    ``[sum T, 2, H, W]``) converts to torch dtype ``dt`` exactly.

    Free when the stored dtype alone guarantees it (a uint8 store for any dtype but bool and
    int8); otherwise the frames are read once, in steps of about 64 MB. The error names the
    largest (or smallest) count, its sample, and a dtype that holds the values."""
    src = np.dtype(frames.dtype)
    if _dtype_holds(src, dt):
        return
    n = int(frames.shape[0])
    per = max(1, _SCAN_BYTES // max(1, src.itemsize * int(np.prod(frames.shape[1:]))))
    lo_v = hi_v = None
    lo_i = hi_i = 0
    bad = None  # (frame index, value) of the first value that does not round-trip
    for a in range(0, n, per):
        block = np.asarray(frames[a:a + per])
        if block.size == 0:
            continue
        flat = block.reshape(block.shape[0], -1)
        if src.kind in "biu" and not dt.is_floating_point:
            mn, mx = flat.min(axis=1), flat.max(axis=1)
            j, k = int(np.argmin(mn)), int(np.argmax(mx))
            if lo_v is None or mn[j] < lo_v:
                lo_v, lo_i = mn[j].item(), a + j
            if hi_v is None or mx[k] > hi_v:
                hi_v, hi_i = mx[k].item(), a + k
            continue
        ref = block.astype(np.float64)  # exact for counts (integers up to 2**53) and floats
        back = torch.from_numpy(ref).to(dt).to(torch.float64).numpy()
        same = (back == ref) | (np.isnan(back) & np.isnan(ref) if dt.is_floating_point
                                else False)
        if not same.all():
            idx = int(np.flatnonzero(~same.reshape(-1))[0])
            bad = (a + idx // flat.shape[1], block.reshape(-1)[idx].item())
            break
    if lo_v is not None:
        info = torch.iinfo(dt) if dt != torch.bool else None
        tmin, tmax = (info.min, info.max) if info else (0, 1)
        if tmin <= lo_v and hi_v <= tmax:
            return
        if hi_v > tmax:
            v, f, side = hi_v, hi_i, f"above {tmax}"
            what = "largest count"
        else:
            v, f, side = lo_v, lo_i, f"below {tmin}"
            what = "smallest value"
        s = int(np.searchsorted(frame_offsets, f, side="right")) - 1
        raise ValueError(f"{where}: frame_dtype={dt} would not hold the stored frames exactly: "
                         f"the {what} is {v} (sample {s}), {side}; use frame_dtype="
                         f"{_fitting_dtype(lo_v, hi_v)} or the default torch.float32")
    if bad is not None:
        s = int(np.searchsorted(frame_offsets, bad[0], side="right")) - 1
        raise ValueError(f"{where}: frame_dtype={dt} would not hold the stored {src} frames "
                         f"exactly: {bad[1]!r} (sample {s}) changes in the conversion; use a "
                         f"wider frame_dtype (torch.float64 holds every stored value)")



def pad_sequence_collate(batch, time_first: bool = False):
    """Collate ``[(x [T_i, ...], y), ...]`` of varying ``T_i`` (SpikingJelly's semantics).

    Returns ``(x, y, lengths)``: ``x`` ``[N, T_max, ...]`` zero-padded at the end
    (``[T_max, N, ...]`` when ``time_first``), ``y`` a tensor of the targets, ``lengths``
    int64 ``[N]`` holding each ``T_i``.
    """
    xs, ys, lens = [], [], []
    for x, y in batch:
        x = torch.as_tensor(x)
        xs.append(x)
        lens.append(x.shape[0])
        ys.append(y)
    x = torch.nn.utils.rnn.pad_sequence(xs, batch_first=not time_first)
    return x, torch.as_tensor(ys), torch.as_tensor(lens, dtype=torch.long)


def pad_sequence_collate_time_first(batch):
    """:func:`pad_sequence_collate` with ``x`` as ``[T_max, N, ...]``."""
    return pad_sequence_collate(batch, time_first=True)


def padded_sequence_mask(sequence_len, T: Optional[int] = None) -> torch.Tensor:
    """Bool mask ``[T, N]``, True where ``t < sequence_len[n]`` (SpikingJelly's semantics).

    ``T`` defaults to ``max(sequence_len)``."""
    lens = torch.as_tensor(sequence_len)
    if T is None:
        T = int(lens.max()) if lens.numel() else 0
    t = torch.arange(T, device=lens.device).unsqueeze(1)
    return t < lens.unsqueeze(0)


class NeuromorphicDataset(torch.utils.data.Dataset):
    """A dataset split read from evframes' HDF5 stores, built on first use.

    Parameters (SpikingJelly's names)
    ----------
    root : dataset root (raw archives/folders, ``events/``, frame folders live there)
    train : True for the train split, False for test (or give ``split``)
    data_type : 'event' -> ``(Events, label)``; 'frame' -> ``(tensor [T, 2, H, W], label)``
    frames_number, split_by : fixed T frames, split by 'number' or 'time'
    duration : fixed frame duration in microseconds (variable T; use pad_sequence_collate)
    custom_integrate_function : ``f(events, H, W) -> frames``
    custom_integrated_frames_dir_name : folder name for it (default ``f.__name__``)
    transform, target_transform : applied to the sample and the label
    Extras: ``count`` / ``overlap`` / ``include_incomplete`` (see ``evframes.integrate``),
    ``downsample`` K (coordinates pooled by K), ``in_memory`` (frames or events loaded once into
    shared memory; DataLoader workers then read the same pages instead of copies),
    ``frame_dtype`` (default float32; ``torch.uint8`` hands the stored counts over without
    conversion, 1.5x the DataLoader throughput, convert on the GPU; a dtype that would not hold
    every stored value exactly, e.g. uint8 for a count of 266, is refused at construction with
    a ValueError naming the largest count and its sample), ``progress`` (tqdm bars
    while building), ``workers`` (extraction processes), ``force`` (rebuild the frames store
    even when current), ``memory_budget`` (bytes or ``"2G"`` the frames build may hold at once,
    default 1 GiB; see ``evframes.frames.build_frames``). A custom function's store records the
    function's fingerprint and is rebuilt when the function changes; its values are stored
    exactly (signed, fractional, NaN), so choose ``frame_dtype`` to hold them (float64 for
    values float32 cannot hold).
    """

    raw_name: str = ""
    splits = ("train", "test")

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
                 **raw_options):
        from .store import EventsDataset, events_store_path
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise DatasetError(f"{self.root}: is a file; root must be a dataset folder")
        if split is None:
            if train is None:
                raise ValueError("give train=True/False or split=...")
            split = "train" if train else "test"
        if split not in self.splits:
            raise ValueError(f"split must be one of {self.splits}, got {split!r}")
        if data_type not in ("event", "frame"):
            raise ValueError(f"data_type must be 'event' or 'frame', got {data_type!r}")
        self.split, self.data_type = split, data_type
        self.frame_dtype = frame_dtype
        self.transform, self.target_transform = transform, target_transform
        self._ensure_events(raw_options, progress, workers)
        self.events_store = EventsDataset(events_store_path(self.root, split))
        self.classes = self.events_store.classes
        self.sensor_size = self.events_store.sensor_size
        self.setting = None
        self._frames = None
        self._mem = None
        if data_type == "frame":
            from .frames import (FramesStore, build_frames, frames_store_path,
                                 setting_from_options)
            if custom_integrate_function is None and frames_number is None and \
                    duration is None and count is None:
                raise ValueError("data_type='frame' needs frames_number (+ split_by), duration, "
                                 "count or custom_integrate_function")
            if frames_number is not None and split_by is None:
                raise ValueError("frames_number needs split_by='number' or 'time' (as in "
                                 "SpikingJelly; the CLI's -T needs --split-by too)")
            self.setting = setting_from_options(split_by, frames_number, duration, count,
                                                overlap, include_incomplete,
                                                custom_integrate_function,
                                                custom_integrated_frames_dir_name)
            build_frames(self.root, self.setting, splits=[split], downsample=downsample,
                         progress=progress, force=force, memory_budget=memory_budget)
            self._frames = FramesStore(frames_store_path(self.root, self.setting, split,
                                                         downsample))
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
        elif in_memory:
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
    def _ensure_events(self, raw_options, progress, workers):
        from .datasets import open_raw
        from .errors import DatasetError
        from .extract import extract
        from .store import events_store_path
        have = all(events_store_path(self.root, s).exists() for s in self.splits)
        try:
            raw = open_raw(self.raw_name, self.root, **raw_options)
        except DatasetError:
            if have:
                return  # raw data gone, stores present: use them as they are
            raise
        extract(raw, workers=workers, progress=progress)

    # -- access ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.events_store)

    def sample_meta(self, i: int) -> dict:
        return self.events_store.sample_meta(i)

    def __getitem__(self, i: int):
        if self.data_type == "frame":
            if self._mem is not None:
                a, b = int(self._frames.frame_offsets[i]), int(self._frames.frame_offsets[i + 1])
                x = self._mem[a:b].to(self.frame_dtype)
            else:
                x = torch.from_numpy(self._frames.frames(i)).to(self.frame_dtype)
        else:
            if self._mem is not None:
                from .events import Events
                offs = self.events_store.offsets
                a, b = int(offs[i]), int(offs[i + 1])
                x = Events({k: v[a:b].numpy() for k, v in self._mem.items()})
            else:
                x = self.events_store.events(i)
        y = int(self.labels[i])
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def __repr__(self):
        s = f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, " \
            f"data_type={self.data_type!r}, samples={len(self)}"
        if self.setting is not None:
            s += f", setting={self.setting.name!r}"
        return s + ")"
