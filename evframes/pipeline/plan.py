"""Planning a frames store build: batches bounded by a memory budget, impossible settings refused
before anything is written.

Integration needs the frames of a batch in memory at once, so batches are cut by *output*
bytes, not by event counts. Before a split is built, :func:`plan_split` computes every
sample's number of frames (the boundary rules' own ``_batch_n_frames`` kernel; only ``t`` is
read, and only for the time and duration rules) and its longest frame (which fixes the
accumulation dtype: uint16 up to 65535 events, then int32, int64), then cuts the samples into
consecutive batches whose

    events x 13 bytes (t, x, y, p; 17 with downsampling) + frames x 16 bytes (boundaries)
    + frames x 2 x H x W x accumulation itemsize

stays within :data:`BATCH_TARGET` (256 MiB: larger batches only run slower) and always within
the budget less a reserve for the conversion to the store's dtype, which is written in
chunk-aligned blocks of at most that reserve (1/8 of the budget, at most 32 MiB), and a small
allowance for index arrays. A sample larger than the target gets a batch of its own. A
sample that does not fit the budget alone, or a split whose output cannot fit the free disk
space even if every HDF5 chunk compressed to its measured minimum (:data:`MIN_CHUNK_BYTES`;
real frames take more, so this refuses only what certainly fails), raises before any folder
or file is created.

Custom functions return arrays of unknown size: their samples are integrated one at a time and
written whenever what has been returned reaches the budget's batch share; one sample's result
(what the function allocated itself) is never split.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from .._jit import njit
from ..errors import StoreError
from ..integrate import FrameSetting
from ..integrate._kernels import _batch_n_frames, _fill_bounds
from ..integrate.core import _auto_dtype
from ..integrate.representations import frame_layout
from ..store.frames import CHUNK_BYTES, chunk_frames, write_blocks  # noqa: F401 (old names)

DEFAULT_MEMORY_BUDGET = 1 << 30  # bytes
MIN_CHUNK_BYTES = 128  # all-zero Blosc LZ4 chunks plus index entry (measured): 146 B for
#                        [20, 2, 16, 16], 178 B for [8, 2, 34, 34], 2.7 kB for [20, 2, 128, 128]
BATCH_TARGET = 256 << 20  # batches aim at this size (faster than larger ones: cache, paging)
_EMPTY_T = np.zeros(0, np.int64)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(v) -> int:
    """Bytes from ``1073741824``, ``"512M"``, ``"1G"``, ``"1.5GiB"`` (binary units)."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        n = int(v)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b)?\s*", str(v), re.I)
        if not m:
            raise ValueError(f"memory budget {v!r}: expected bytes or a size like 512M, 2G")
        n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if n <= 0:
        raise ValueError(f"memory budget must be positive, got {v!r}")
    return n


def free_bytes(folder) -> Optional[int]:
    """Free bytes on the filesystem of ``folder`` (or its nearest existing parent)."""
    p = Path(folder).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def fmt_bytes(n: float) -> str:
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            return f"{n / k:.1f} {unit}"
    return f"{int(n)} B"


@njit(cache=True, nogil=True)
def _batch_max_segment(rule, t, offsets, counts, T, D, C, overlap, incl):
    """Longest frame (events) of each sample, from the rule's own boundaries."""
    n = offsets.shape[0] - 1
    out = np.zeros(n, np.int64)
    m = 0
    for s in range(n):
        m = max(m, counts[s])
    starts = np.empty(m, np.int64)
    ends = np.empty(m, np.int64)
    for s in range(n):
        nf = counts[s]
        if nf == 0:
            continue
        _fill_bounds(rule, t, offsets[s], offsets[s + 1], T, D, C, overlap, incl, nf,
                     starts, ends)
        best = 0
        for k in range(nf):
            best = max(best, ends[k] - starts[k])
        out[s] = best
    return out


@dataclass
class Plan:
    budget: int
    reserve: int                      # bytes for store-dtype conversion blocks
    batches: List[Tuple[int, int]] = field(default_factory=list)
    batch_bytes: List[int] = field(default_factory=list)
    n_frames: int = 0
    H: int = 0
    W: int = 0

    @property
    def largest_batch(self) -> int:
        return max(self.batch_bytes, default=0)


def _event_bytes(downsample: int) -> int:
    return 13 + (4 if downsample > 1 else 0)


def plan_split(t_dataset, offsets: np.ndarray, setting: FrameSetting, H: int, W: int,
               budget: int, max_events: int, where: str) -> Plan:
    """Batches of samples ``(i, j)`` for one split (see the module docstring). ``t_dataset``:
    the events store's ``t`` (a store column or an array); ``setting`` carries ``downsample``
    (``H``, ``W``: the downsampled frame size); ``where`` names the split in errors.
    Raises ``ValueError`` for a sample that alone exceeds ``budget``, before anything is
    written."""
    n = offsets.shape[0] - 1
    reserve = int(min(32 << 20, budget // 8))
    plan = Plan(budget=budget, reserve=reserve)
    ev_b = _event_bytes(setting.downsample)
    ev_n = np.diff(offsets)
    avail = budget - reserve - 64 * n - (1 << 20)  # index arrays and small temporaries
    if avail <= 0:
        raise ValueError(f"{where}: a memory budget of {fmt_bytes(budget)} is too small for "
                         f"{n:,} samples; raise it (memory_budget= / --memory-budget)")
    big = np.flatnonzero(ev_n * ev_b > avail)
    if big.size:
        s = int(big[0])
        raise ValueError(f"{where}: sample {s} alone holds {int(ev_n[s]):,} events "
                         f"({fmt_bytes(ev_n[s] * ev_b)} in memory), more than the memory "
                         f"budget of {fmt_bytes(budget)} allows; raise the budget "
                         f"(memory_budget= / --memory-budget)")
    max_events = int(max(1, min(max_events, avail // ev_b)))
    if setting.function is not None:
        plan.batches = list(_event_batches(offsets, max_events))
        plan.batch_bytes = [int(offsets[j] - offsets[i]) * ev_b for i, j in plan.batches]
        return plan
    rule, T, D, C, o, incl = setting._params()
    needs_t = setting.kind in ("time", "duration")
    (Cf, Hf, Wf), own = frame_layout(setting, H, W)  # a representation: its shape and dtype
    bins = Cf * Hf * Wf
    least_item = 2 if own is None else own.itemsize
    counts = np.zeros(n, np.int64)
    longest = np.zeros(n, np.int64)
    for i, j in _event_batches(offsets, max(1, min(max_events, avail // 8))):
        a, b = int(offsets[i]), int(offsets[j])
        t = np.asarray(t_dataset[a:b], dtype=np.int64) if needs_t else _EMPTY_T
        off = np.ascontiguousarray(offsets[i:j + 1] - a, dtype=np.int64)
        c = _batch_n_frames(rule, t, off, T, D, C, o, incl)
        # counts: uint16 accumulation at the least; a representation: its own dtype
        least = c * (bins * least_item + 16) + ev_n[i:j] * ev_b
        over = np.flatnonzero(least > avail)
        if over.size:
            _refuse(where, setting, i + int(over[0]), int(c[over[0]]), Hf, Wf, least_item,
                    budget, Cf)
        counts[i:j] = c
        longest[i:j] = _batch_max_segment(rule, t, off, c, T, D, C, o, incl)
    if own is not None:
        items = np.full(n, own.itemsize, np.int64)
    else:
        items = np.array([_auto_dtype(int(v)).itemsize for v in longest], np.int64) if n \
            else np.zeros(0, np.int64)
    plan.n_frames = int(counts.sum())
    target = min(avail, BATCH_TARGET)
    i = 0
    while i < n:
        j, acc, fr, ev = i, 0, 0, 0
        while j < n:
            acc2 = max(acc, int(items[j]))
            fr2, ev2 = fr + int(counts[j]), ev + int(ev_n[j])
            cost = fr2 * (bins * acc2 + 16) + ev2 * ev_b
            if j > i and (cost > target or ev2 > max_events):
                break
            if j == i and cost > avail:
                _refuse(where, setting, j, int(counts[j]), Hf, Wf, acc2, budget, Cf)
            j, acc, fr, ev = j + 1, acc2, fr2, ev2
        plan.batches.append((i, j))
        plan.batch_bytes.append(fr * (bins * acc + 16) + ev * ev_b)
        i = j
    return plan


def _refuse(where, setting, s, frames, H, W, itemsize, budget, C=2):
    need = frames * (C * H * W * itemsize + 16)
    raise ValueError(
        f"{where}: sample {s} alone needs {fmt_bytes(need)} of frames in memory ({frames:,} "
        f"frames of {C} x {H} x {W} at {itemsize} bytes per pixel), more than the memory budget "
        f"of {fmt_bytes(budget)}; use fewer frames (a smaller -T, a longer --duration, a larger "
        f"--count), --downsample, or raise the budget (memory_budget= / --memory-budget)")


def _event_batches(offsets, max_events: int):
    """Runs of samples of about ``max_events`` events (at least one sample each)."""
    n = offsets.shape[0] - 1
    i = 0
    while i < n:
        j = int(np.searchsorted(offsets, offsets[i] + max_events, side="right")) - 1
        j = min(max(j, i + 1), n)
        yield i, j
        i = j


def check_disk(root, plans, setting: FrameSetting, H: int, W: int) -> None:
    """Refuse (StoreError) when the smallest possible output of the splits about to be built
    (every chunk at :data:`MIN_CHUNK_BYTES`) exceeds the free space under ``root``."""
    free = free_bytes(root)
    if free is None:
        return
    (C, H, W), own = frame_layout(setting, H, W)
    item = 1 if own is None else own.itemsize
    ct = chunk_frames(setting.fixed_T, H, W, item, C)
    frames = sum(p.n_frames for p in plans)
    chunks = sum(-(-p.n_frames // ct) for p in plans)
    least = chunks * MIN_CHUNK_BYTES
    if least > free:
        raise StoreError(
            f"{root}: {setting.name} would write {frames:,} frames of {C} x {H} x {W} "
            f"({fmt_bytes(frames * C * H * W * item)} uncompressed): even at the smallest "
            f"compressed size ({chunks:,} chunks of at least {MIN_CHUNK_BYTES} B) that is "
            f"{fmt_bytes(least)}, more than the {fmt_bytes(free)} free on its disk; use fewer "
            f"frames or free space (nothing was written)")
