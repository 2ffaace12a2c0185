"""Events to frames: boundary rules plus one Numba histogram kernel.

Pure functional core, no file I/O. Events are a mapping with ``t`` (int64, microseconds,
non-decreasing), ``x``, ``y`` (pixels, ``0 <= x < W``, ``0 <= y < H``) and ``p`` (0 or 1), see
:mod:`evframes.events`. Frames are ``[T, 2, H, W]`` arrays: ``frames[k, c, y, x]`` counts the
events of frame ``k`` with polarity ``c`` at pixel ``(x, y)``.

How it works
------------
Every split rule only computes *segment boundaries*: two int64 arrays ``starts``, ``ends`` of
length ``T``; frame ``k`` integrates the events with indices ``starts[k] <= i < ends[k]``.
Boundaries are cheap (arithmetic on ``N`` or binary searches on ``t``). One small Numba
kernel (:func:`_hist_segments`) then fills a preallocated ``[T, 2*H*W]`` integer array in one
pass over each segment's events; contiguous non-overlapping segments (every rule without
``overlap``) are therefore a single pass over the events. Segments may overlap or be empty.

Rules (``N`` events, ``T`` frames, ``t0 = t[0]``, ``t1 = t[-1]``; all windows are half-open)
----------------------------------------------------------------------------------------------
``number`` (SpikingJelly ``split_by='number'``)
    ``di = N // T``; frame ``j`` takes indices ``[j*di, (j+1)*di)``, the last frame ends at ``N``.
    With ``overlap=o`` (events), frame ``j < T-1`` ends at ``min(N, (j+1)*di + o)``.
``time`` (SpikingJelly ``split_by='time'``)
    ``dt = (t1 - t0) // T`` (microseconds); frame ``j`` takes ``t0 + j*dt <= t < t0 + (j+1)*dt``,
    the last frame runs to the end. Empty windows give empty frames (SpikingJelly raises an
    IndexError there). With ``overlap=o`` (microseconds), frame ``j < T-1`` takes
    ``t0 + j*dt <= t < t0 + (j+1)*dt + o``.
``duration`` (SpikingJelly ``integrate_events_by_fixed_duration``), ``D`` microseconds
    ``T = ceil((t1 - t0) / D)``; frame ``k`` takes ``t0 + k*D <= t < t0 + (k+1)*D``, the last frame
    takes the rest (so an event at exactly ``t0 + T*D`` lands in frame ``T-1``). When all events
    share one timestamp SpikingJelly computes ``T = 0`` and crashes; evframes returns one frame.
    ``N = 0`` gives zero frames. ``T`` varies between samples.
``count`` (fixed events per frame, like Tonic's ``event_count``), ``C`` events, ``overlap=o``
    ``stride = C - o`` (``0 <= o < C``); frame ``j`` takes indices ``[j*stride, j*stride + C)``.
    Complete frames are those with ``j*stride + C <= N``. With ``include_incomplete=True``
    (default) frames continue until one reaches ``N`` (the last one may hold fewer than ``C``
    events), so every event lands in a frame; with ``False`` only complete frames are kept
    (``N < C`` then gives zero frames). ``N = 0`` gives zero frames.
custom function ``f(events, H, W) -> frames``
    called with int64 copies of ``t, x, y, p`` (SpikingJelly's dtype: flat-index arithmetic such
    as ``p * H * W + y * W + x`` cannot overflow); :func:`integrate_with_function` checks the
    result is ``[T, 2, H, W]``. Frames stores keep its values exactly (:mod:`evframes.frames`).

Differences from Tonic's ``ToFrame`` (``n_event_bins``, ``n_time_bins``, ``event_count``,
``time_window``): Tonic's ``n_event_bins`` gives every bin ``N // T`` events and drops the
remaining ``N % T``; our ``number`` puts them in the last frame (SpikingJelly's rule). Tonic's
``n_time_bins`` ends its last window at ``t0 + T*((t1-t0)//T) <= t1``, so it always loses the last
event (and any others at or after that time); our ``time`` rule's last frame runs to the end.
Tonic's ``overlap`` for the bin modes is a fraction of a bin (the window grows by that fraction
and the stride shrinks); ours is an absolute amount (events for ``number``/``count``,
microseconds for ``time``) by which each frame but the last extends into the next, with an
unchanged stride, so ``T`` stays fixed and ``overlap=0`` is exactly SpikingJelly. Tonic's
``event_count`` with fewer than ``C`` events returns one frame of all events even without
``include_incomplete`` and one empty frame for no events; ours returns zero frames in both
cases. Tonic's ``time_window=D`` with ``include_incomplete=True`` has our ``duration`` windows,
except that Tonic drops an event at exactly ``t0 + T*D`` which we put in the last frame; with its
default ``include_incomplete=False`` Tonic makes ``floor((t1 - t0) / D)`` frames and drops the
events after the last full window (no counterpart here). Tonic counts in int16 and can wrap;
evframes never wraps (see *dtype* below).

dtype
-----
Rule-based frames default to ``uint16`` when no frame can hold more than 65535 events
(``max(ends - starts) <= 65535``), else ``int32`` (else ``int64``): compact, exact, never wrapped.
An explicit ``dtype`` is honoured; if the largest segment could overflow it, counts are
accumulated in ``int64`` and a ``ValueError`` is raised when a pixel really exceeds the dtype's
range (float dtypes are then rounded, never wrapped). The SpikingJelly-named functions return
``float64`` like SpikingJelly unless told otherwise.

Validation
----------
Every entry point checks its input and raises ``ValueError`` naming the first offending
index: ``x`` outside ``[0, W)``, ``y`` outside ``[0, H)``, ``p`` outside ``{0, 1}``, or ``t``
decreasing. (SpikingJelly silently maps any non-zero ``p`` to channel 1; evframes refuses.)
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Tuple

import numba
import numpy as np
from numba import njit, prange

from .events import Events, KEYS

__all__ = [
    "FrameSetting",
    "to_frames",
    "integrate",
    "integrate_batch",
    "integrate_segments",
    "integrate_with_function",
    "frame_bounds",
    "bounds_by_number",
    "bounds_by_time",
    "bounds_by_duration",
    "bounds_by_count",
    "downsample_events",
    "check_frames",
    "integrate_events_segment_to_frame",
    "cal_fixed_frames_number_segment_index",
    "integrate_events_by_fixed_frames_number",
    "integrate_events_by_fixed_duration",
]

# Rule codes shared by the Python wrappers and the Numba batch kernels.
_NUMBER, _TIME, _DURATION, _COUNT = 0, 1, 2, 3
_RULE_CODES = {"number": _NUMBER, "time": _TIME, "duration": _DURATION, "count": _COUNT}

# Validation failure codes returned by the checking kernels.
_OK, _BAD_X, _BAD_Y, _BAD_P, _BAD_T = 0, 1, 2, 3, 4


# ---------------------------------------------------------------------------------------------
# Numba kernels (small, typed by their inputs, no Python objects)
# ---------------------------------------------------------------------------------------------

_CHUNK = 512  # events per index-buffer chunk in the histogram kernel


@njit(cache=True, nogil=True)
def _hist_segments(x, y, p, starts, ends, H, W, out):
    """Zero ``out`` ([T, 2*H*W]) and count events ``starts[k] <= i < ends[k]`` into row k.

    Per chunk of events, the chunk's x, y, p are range-checked and their flat indices
    ``p*H*W + y*W + x`` computed into a small uint32 buffer (vectorised loops), then scattered.
    Splitting the phases roughly doubles throughput over a fused loop; checking while the chunk
    is in cache saves a separate pass over x, y, p. Returns True, leaving ``out`` partly filled,
    as soon as a chunk holds an event off the ``H x W`` sensor or with ``p`` not in {0, 1}
    (the caller then finds and reports it). ``t`` is not looked at.
    """
    HW = np.int32(H * W)
    W32 = np.int32(W)
    Wu = np.uint64(W)
    Hu = np.uint64(H)
    one = np.uint64(1)
    buf = np.empty(_CHUNK, np.uint32)
    for k in range(starts.shape[0]):
        row = out[k]
        row[:] = 0
        i = starts[k]
        e = ends[k]
        while i < e:
            m = min(_CHUNK, e - i)
            xs = x[i:i + m]
            ys = y[i:i + m]
            ps = p[i:i + m]
            bad = False
            for j in range(m):  # negative values wrap to huge unsigned ones
                bad |= ((np.uint64(xs[j]) >= Wu) | (np.uint64(ys[j]) >= Hu)
                        | (np.uint64(ps[j]) > one))
            if bad:
                return True
            for j in range(m):
                buf[j] = np.uint32(np.int32(ps[j]) * HW + np.int32(ys[j]) * W32 + np.int32(xs[j]))
            for j in range(m):
                row[buf[j]] += 1
            i += m
    return False


@njit(cache=True, nogil=True)
def _t_decreases(t, lo, hi):
    """True if t[lo:hi] is not non-decreasing (vectorised)."""
    ts = t[lo:hi]
    dec = False
    for i in range(1, ts.shape[0]):
        dec |= ts[i] < ts[i - 1]
    return dec


@njit(cache=True, nogil=True)
def _any_bad(t, x, y, p, lo, hi, H, W, check_t):
    """True if any event in [lo, hi) breaks an invariant (min/max reductions, vectorised)."""
    if hi <= lo:
        return False
    xs = x[lo:hi]
    ys = y[lo:hi]
    ps = p[lo:hi]
    xm = xs[0]
    xM = xs[0]
    for i in range(xs.shape[0]):
        v = xs[i]
        xm = min(xm, v)
        xM = max(xM, v)
    ym = ys[0]
    yM = ys[0]
    for i in range(ys.shape[0]):
        v = ys[i]
        ym = min(ym, v)
        yM = max(yM, v)
    pm = ps[0]
    pM = ps[0]
    for i in range(ps.shape[0]):
        v = ps[i]
        pm = min(pm, v)
        pM = max(pM, v)
    bad = (xm < 0) | (xM >= W) | (ym < 0) | (yM >= H) | (pm < 0) | (pM > 1)
    if check_t:
        ts = t[lo:hi]
        dec = False
        for i in range(1, ts.shape[0]):
            dec |= ts[i] < ts[i - 1]
        bad |= dec
    return bad


@njit(cache=True, nogil=True)
def _first_bad(t, x, y, p, lo, hi, H, W, check_t):
    """(code, index) of the first event in [lo, hi) breaking an invariant, or (0, -1)."""
    for i in range(lo, hi):
        if x[i] < 0 or x[i] >= W:
            return _BAD_X, i
        if y[i] < 0 or y[i] >= H:
            return _BAD_Y, i
        if p[i] < 0 or p[i] > 1:
            return _BAD_P, i
        if check_t and i > lo and t[i] < t[i - 1]:
            return _BAD_T, i
    return _OK, -1


@njit(cache=True, nogil=True, parallel=True)
def _batch_validate_hist(t, x, y, p, offsets, starts, ends, frame_offsets, H, W, out):
    """Per sample (spread over threads): check t, then histogram its frames (which checks x,
    y, p), then check any events after its last frame (``count`` without incomplete frames).

    One sample's events are checked and integrated back to back while in cache, so the batch
    reads them from memory once. A sample that fails is flagged (the caller raises).
    """
    n = offsets.shape[0] - 1
    flags = np.zeros(n, np.bool_)
    for s in prange(n):
        lo = offsets[s]
        hi = offsets[s + 1]
        a = frame_offsets[s]
        b = frame_offsets[s + 1]
        bad = _t_decreases(t, lo, hi)
        if not bad:
            bad = _hist_segments(x, y, p, starts[a:b], ends[a:b], H, W, out[a:b])
        if not bad:
            tail = ends[b - 1] if b > a else lo
            bad = _any_bad(t, x, y, p, tail, hi, H, W, False)
        flags[s] = bad
    return flags


@njit(cache=True, nogil=True)
def _n_frames(rule, t, lo, hi, T, D, C, overlap, incl):
    """Number of frames the rule gives for the sample t[lo:hi] (sorted)."""
    n = hi - lo
    if rule == _NUMBER or rule == _TIME:
        return T
    if rule == _DURATION:
        if n == 0:
            return 0
        span = t[hi - 1] - t[lo]
        k = (span + D - 1) // D
        return k if k > 0 else 1
    # _COUNT
    if n == 0:
        return 0
    stride = C - overlap
    if incl:
        if n <= C:
            return 1
        return (n - C + stride - 1) // stride + 1
    if n < C:
        return 0
    return (n - C) // stride + 1


@njit(cache=True, nogil=True)
def _fill_bounds(rule, t, lo, hi, T, D, C, overlap, incl, nf, starts, ends):
    """Write the rule's nf boundaries for the sample t[lo:hi] (global indices) into
    starts[:nf], ends[:nf]."""
    n = hi - lo
    if nf == 0:
        return
    if rule == _NUMBER:
        di = n // T
        for j in range(nf):
            starts[j] = lo + j * di
            e = (j + 1) * di + overlap
            ends[j] = lo + (e if e < n else n)
        ends[nf - 1] = hi
    elif rule == _TIME:
        if n == 0:
            for j in range(nf):
                starts[j] = lo
                ends[j] = lo
            return
        tv = t[lo:hi]
        t0 = tv[0]
        dt = (tv[n - 1] - t0) // T
        for j in range(nf):
            starts[j] = lo + np.searchsorted(tv, t0 + j * dt)
            ends[j] = lo + np.searchsorted(tv, t0 + (j + 1) * dt + overlap)
        ends[nf - 1] = hi
    elif rule == _DURATION:
        tv = t[lo:hi]
        t0 = tv[0]
        starts[0] = lo
        for k in range(1, nf):
            b = lo + np.searchsorted(tv, t0 + k * D)
            starts[k] = b
            ends[k - 1] = b
        ends[nf - 1] = hi
    else:  # _COUNT
        stride = C - overlap
        for j in range(nf):
            s = j * stride
            e = s + C
            starts[j] = lo + s
            ends[j] = lo + (e if e < n else n)


# Frame counts and boundaries cost O(T log N) per sample: serial loops, so that the only
# parallel region (one barrier) is the histogram pass.
@njit(cache=True, nogil=True)
def _batch_n_frames(rule, t, offsets, T, D, C, overlap, incl):
    n = offsets.shape[0] - 1
    out = np.empty(n, np.int64)
    for s in range(n):
        out[s] = _n_frames(rule, t, offsets[s], offsets[s + 1], T, D, C, overlap, incl)
    return out


@njit(cache=True, nogil=True)
def _batch_bounds(rule, t, offsets, frame_offsets, T, D, C, overlap, incl, starts, ends):
    n = offsets.shape[0] - 1
    for s in range(n):
        a = frame_offsets[s]
        b = frame_offsets[s + 1]
        _fill_bounds(rule, t, offsets[s], offsets[s + 1], T, D, C, overlap, incl, b - a,
                     starts[a:b], ends[a:b])


# ---------------------------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------------------------

_EMPTY_T = np.zeros(0, np.int64)


def _int_array(a, name: str) -> np.ndarray:
    a = np.ascontiguousarray(a).reshape(-1)  # e.g. a field of a structured array: copied
    if a.dtype == np.bool_:
        return a.view(np.uint8)
    if a.dtype.kind not in "iu":
        if a.size and not np.all(np.mod(a, 1) == 0):
            raise ValueError(f"events['{name}'] must hold integers, got dtype {a.dtype}")
        return a.astype(np.int64)
    if a.dtype == np.uint64:  # uint64 mixed with int64 would become float64 in the kernel
        return a.astype(np.int64)
    return a


def _t_array(t) -> np.ndarray:
    t = _int_array(t, "t")
    if t.dtype != np.int64:
        t = t.astype(np.int64)
    return t


def _arrays(events: Mapping):
    missing = [k for k in KEYS if k not in events]
    if missing:
        raise KeyError(f"events need keys t, x, y, p; missing {missing}")
    t = _t_array(events["t"])
    x = _int_array(events["x"], "x")
    y = _int_array(events["y"], "y")
    p = _int_array(events["p"], "p")
    n = t.shape[0]
    for k, a in (("x", x), ("y", y), ("p", p)):
        if a.shape[0] != n:
            raise ValueError(f"events arrays differ in length: t has {n}, {k} has {a.shape[0]}")
    return t, x, y, p


def _check_hw(H, W) -> Tuple[int, int]:
    H, W = int(H), int(W)
    if H <= 0 or W <= 0:
        raise ValueError(f"frame size must be positive, got H={H}, W={W} pixels")
    if 2 * H * W > 2 ** 31 - 1:
        raise ValueError(f"frames of 2 x {H} x {W} pixels are too large (max 2**31 - 1 bins)")
    return H, W


def _raise_bad(code: int, i: int, t, x, y, p, H: int, W: int, where: str) -> None:
    if code == _BAD_X:
        raise ValueError(f"{where}: x={int(x[i])} at index {i} is outside [0, W={W}) pixels")
    if code == _BAD_Y:
        raise ValueError(f"{where}: y={int(y[i])} at index {i} is outside [0, H={H}) pixels")
    if code == _BAD_P:
        raise ValueError(f"{where}: p={int(p[i])} at index {i}; polarity must be 0 or 1")
    if code == _BAD_T:
        raise ValueError(
            f"{where}: t is not sorted: it decreases at index {i} ({int(t[i - 1])} -> "
            f"{int(t[i])} us); sort the events by t first")


def _validate(t, x, y, p, H: int, W: int, lo: int = 0, hi: Optional[int] = None,
              check_t: bool = True, where: str = "events") -> None:
    hi = x.shape[0] if hi is None else hi
    if hi <= lo:
        return
    tt = t if check_t else _EMPTY_T
    if _any_bad(tt, x, y, p, lo, hi, H, W, check_t):
        code, i = _first_bad(tt, x, y, p, lo, hi, H, W, check_t)
        _raise_bad(int(code), int(i), t, x, y, p, H, W, where)


def _pos_int(v, name: str) -> int:
    if isinstance(v, (bool, np.bool_)) or int(v) != v or int(v) <= 0:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def _nonneg_int(v, name: str) -> int:
    if isinstance(v, (bool, np.bool_)) or int(v) != v or int(v) < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    return int(v)


# ---------------------------------------------------------------------------------------------
# dtype choice (never wrap silently)
# ---------------------------------------------------------------------------------------------

def _exact_limit(dt: np.dtype) -> int:
    """Largest count the dtype holds exactly."""
    if dt.kind in "iu":
        return int(np.iinfo(dt).max)
    if dt.kind == "f":
        return 2 ** (np.finfo(dt).nmant + 1)
    raise ValueError(f"frames dtype must be an integer or float dtype, got {dt}")


def _auto_dtype(max_len: int) -> np.dtype:
    if max_len <= 65535:
        return np.dtype(np.uint16)
    if max_len <= 2 ** 31 - 1:
        return np.dtype(np.int32)
    return np.dtype(np.int64)


def _plan_dtype(max_len: int, dtype) -> Tuple[np.dtype, Optional[np.dtype]]:
    """(dtype to accumulate in, dtype to cast to afterwards or None)."""
    if dtype is None:
        return _auto_dtype(max_len), None
    dt = np.dtype(dtype)
    if max_len <= _exact_limit(dt):
        return dt, None
    return np.dtype(np.int64), dt


def _finish_dtype(frames: np.ndarray, final: Optional[np.dtype]) -> np.ndarray:
    if final is None:
        return frames
    if final.kind in "iu" and frames.size:
        m = int(frames.max())
        if m > np.iinfo(final).max:
            raise ValueError(
                f"a pixel counts {m} events, more than dtype {final} holds "
                f"({np.iinfo(final).max}); use a wider dtype or dtype=None (automatic)")
    return frames.astype(final)


# ---------------------------------------------------------------------------------------------
# Boundary rules (pure functions returning (starts, ends) int64 arrays)
# ---------------------------------------------------------------------------------------------

def _bounds(rule: int, t: np.ndarray, n: int, T: int = 0, D: int = 1, C: int = 1,
            overlap: int = 0, incl: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    tt = t if t is not None else _EMPTY_T
    nf = int(_n_frames(rule, tt, 0, n, T, D, C, overlap, incl))
    starts = np.empty(nf, np.int64)
    ends = np.empty(nf, np.int64)
    _fill_bounds(rule, tt, 0, n, T, D, C, overlap, incl, nf, starts, ends)
    return starts, ends


def bounds_by_number(n_events: int, frames_number: int,
                     overlap: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Event-index segments of SpikingJelly's ``split_by='number'`` rule.

    Frame ``j`` covers indices ``[floor(N/T)*j, floor(N/T)*(j+1))``; the last frame ends at
    ``N``. ``overlap`` (events, >= 0) extends every frame but the last by that many events into
    the next (clipped at ``N``); ``T`` and the starts do not change. ``T > N`` gives empty frames
    with all events in the last; ``N = 0`` gives ``T`` empty segments.

    Returns ``(starts, ends)``, int64 arrays of shape ``[T]``.
    """
    n = _nonneg_int(n_events, "n_events")
    T = _pos_int(frames_number, "frames_number")
    return _bounds(_NUMBER, None, n, T=T, overlap=_nonneg_int(overlap, "overlap"))


def bounds_by_time(t, frames_number: int, overlap: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Event-index segments of SpikingJelly's ``split_by='time'`` rule.

    ``t``: sorted timestamps (microseconds). ``dt = (t[-1] - t[0]) // T``; frame ``j`` takes
    ``t[0] + j*dt <= t < t[0] + (j+1)*dt``, the last frame runs to the end. Empty windows give
    empty segments (SpikingJelly raises there). ``overlap`` (microseconds, >= 0) extends every
    frame but the last to ``t < t[0] + (j+1)*dt + overlap``. ``N = 0`` gives ``T`` empty
    segments.

    Returns ``(starts, ends)``, int64 arrays of shape ``[T]``.
    """
    t = _t_array(t)
    _check_sorted(t)
    T = _pos_int(frames_number, "frames_number")
    return _bounds(_TIME, t, t.shape[0], T=T, overlap=_nonneg_int(overlap, "overlap"))


def bounds_by_duration(t, duration: int) -> Tuple[np.ndarray, np.ndarray]:
    """Event-index segments of SpikingJelly's fixed-duration rule.

    ``t``: sorted timestamps (microseconds); ``duration`` D in microseconds.
    ``T = ceil((t[-1] - t[0]) / D)`` frames; frame ``k`` takes ``t[0] + k*D <= t < t[0] + (k+1)*D``
    and the last frame takes the rest. All events at one timestamp give one frame (SpikingJelly
    computes ``T = 0`` and crashes); ``N = 0`` gives zero frames.

    Returns ``(starts, ends)``, int64 arrays of shape ``[T]``.
    """
    t = _t_array(t)
    _check_sorted(t)
    return _bounds(_DURATION, t, t.shape[0], D=_pos_int(duration, "duration"))


def bounds_by_count(n_events: int, count: int, overlap: int = 0,
                    include_incomplete: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Event-index segments of ``count`` events per frame (Tonic's ``event_count``).

    ``stride = count - overlap`` (``0 <= overlap < count``, in events); frame ``j`` covers
    ``[j*stride, j*stride + count)``. With ``include_incomplete`` frames continue until one
    reaches ``N`` (the last may be shorter), so every event is used; without it only complete
    frames are kept. ``N = 0`` gives zero frames; so does ``N < count`` without
    ``include_incomplete``.

    Returns ``(starts, ends)``, int64 arrays of shape ``[T]``.
    """
    n = _nonneg_int(n_events, "n_events")
    C = _pos_int(count, "count")
    o = _nonneg_int(overlap, "overlap")
    if o >= C:
        raise ValueError(f"overlap ({o} events) must be smaller than count ({C} events)")
    return _bounds(_COUNT, None, n, C=C, overlap=o, incl=bool(include_incomplete))


def _check_sorted(t: np.ndarray) -> None:
    n = t.shape[0]
    if n > 1:
        d = np.diff(t)
        if int(d.min()) < 0:
            i = int(np.argmax(d < 0)) + 1
            _raise_bad(_BAD_T, i, t, None, None, None, 0, 0, "events")


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FrameSetting:
    """One way of turning events into frames; exactly one of the modes is set.

    - ``split_by='number'|'time'`` with ``frames_number`` T: fixed ``T`` (SpikingJelly).
    - ``duration`` D (microseconds): variable ``T`` (SpikingJelly's fixed duration).
    - ``count`` C (events per frame): variable ``T``; ``include_incomplete`` keeps the short
      last frame.
    - ``function`` ``f(events, H, W) -> [T, 2, H, W]``: named ``function_name`` or
      ``f.__name__``.

    ``overlap`` (events for number/count, microseconds for time) applies to number, time and
    count only. See the module docstring for the exact rules.

    ``.name`` is a SpikingJelly-style folder name (``frames_number_20_split_by_number``,
    ``duration_1000000``, the function's name) with suffixes for evframes' extras
    (``_overlap_5``, ``count_5000``, ``_drop_incomplete``); ``.fixed_T`` is ``T`` or ``None``
    when ``T`` varies between samples.
    """

    split_by: Optional[str] = None
    frames_number: Optional[int] = None
    duration: Optional[int] = None
    count: Optional[int] = None
    overlap: int = 0
    include_incomplete: bool = True
    function: Optional[Callable] = None
    function_name: Optional[str] = None

    def __post_init__(self):
        modes = [self.frames_number is not None, self.duration is not None,
                 self.count is not None, self.function is not None]
        if sum(modes) != 1:
            raise ValueError("set exactly one of frames_number (with split_by), duration, "
                             "count or function")
        if self.frames_number is not None:
            _pos_int(self.frames_number, "frames_number")
            if self.split_by not in ("number", "time"):
                raise ValueError(f"split_by must be 'number' or 'time' with frames_number, "
                                 f"got {self.split_by!r}")
        elif self.split_by is not None:
            raise ValueError("split_by only goes with frames_number")
        if self.duration is not None:
            _pos_int(self.duration, "duration")
        if self.count is not None:
            _pos_int(self.count, "count")
        _nonneg_int(self.overlap, "overlap")
        if self.overlap and self.kind not in ("number", "time", "count"):
            raise ValueError(f"overlap applies to number, time and count, not {self.kind}")
        if self.kind == "count" and self.overlap >= self.count:
            raise ValueError(f"overlap ({self.overlap} events) must be smaller than count "
                             f"({self.count} events)")
        if not self.include_incomplete and self.kind != "count":
            raise ValueError("include_incomplete=False applies to count only")
        if self.function is not None:
            if not callable(self.function):
                raise ValueError("function must be callable f(events, H, W) -> frames")
            name = self.function_name or getattr(self.function, "__name__", None)
            if not name or name == "<lambda>":
                raise ValueError("give function_name for a function without a usable __name__")
            _check_folder_name(name)
        elif self.function_name is not None:
            raise ValueError("function_name only goes with function")

    @property
    def kind(self) -> str:
        """'number', 'time', 'duration', 'count' or 'function'."""
        if self.frames_number is not None:
            return self.split_by
        if self.duration is not None:
            return "duration"
        if self.count is not None:
            return "count"
        return "function"

    @property
    def name(self) -> str:
        k = self.kind
        if k in ("number", "time"):
            s = f"frames_number_{int(self.frames_number)}_split_by_{k}"
        elif k == "duration":
            s = f"duration_{int(self.duration)}"
        elif k == "count":
            s = f"count_{int(self.count)}"
        else:
            return self.function_name or self.function.__name__
        if self.overlap:
            s += f"_overlap_{int(self.overlap)}"
        if not self.include_incomplete:
            s += "_drop_incomplete"
        return s

    @property
    def fixed_T(self) -> Optional[int]:
        """Frames per sample when it is the same for every sample, else None."""
        return int(self.frames_number) if self.frames_number is not None else None

    def to_dict(self) -> dict:
        """JSON-friendly description (the function itself is represented by its name)."""
        d = {"name": self.name, "kind": self.kind}
        for k in ("split_by", "frames_number", "duration", "count"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v if isinstance(v, str) else int(v)
        d["overlap"] = int(self.overlap)
        d["include_incomplete"] = bool(self.include_incomplete)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "FrameSetting":
        """Inverse of :meth:`to_dict` for rule-based settings (a function cannot be restored)."""
        if d.get("kind") == "function":
            raise ValueError("a custom-function setting cannot be rebuilt from its description")
        keys = ("split_by", "frames_number", "duration", "count", "overlap",
                "include_incomplete")
        return cls(**{k: d[k] for k in keys if k in d})

    def _params(self):
        return (_RULE_CODES[self.kind], int(self.frames_number or 0), int(self.duration or 1),
                int(self.count or 1), int(self.overlap), bool(self.include_incomplete))


def _check_folder_name(name: str) -> None:
    if name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ValueError(f"function_name {name!r} cannot be a folder name")


def frame_bounds(t, setting: FrameSetting) -> Tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` int64 ``[T]`` for a rule-based setting on sorted ``t`` (us)."""
    if setting.function is not None:
        raise ValueError("a custom function setting has no boundaries")
    t = _t_array(t)
    _check_sorted(t)
    rule, T, D, C, o, incl = setting._params()
    return _bounds(rule, t, t.shape[0], T=T, D=D, C=C, overlap=o, incl=incl)


# ---------------------------------------------------------------------------------------------
# Single-sample entry points
# ---------------------------------------------------------------------------------------------

def _integrate_arrays(t, x, y, p, starts, ends, H: int, W: int, dtype,
                      check_t: bool) -> np.ndarray:
    """Histogram the segments; every event in ``[starts[0], ends[-1])`` (the rules' segments
    cover that range without gaps) and after it is checked, t too when ``check_t``."""
    n = x.shape[0]
    T = starts.shape[0]
    if check_t and n and _t_decreases(t, 0, n):
        _report_bad(t, x, y, p, 0, n, H, W, check_t)
    max_len = int((ends - starts).max()) if T else 0
    acc, final = _plan_dtype(max(max_len, 0), dtype)
    out = np.empty((T, 2 * H * W), acc)
    bad = bool(_hist_segments(x, y, p, starts, ends, H, W, out)) if T else False
    lo = int(starts[0]) if T else 0
    tail = int(ends[-1]) if T else 0  # events after the last frame: count, no incomplete frame
    if bad or (tail < n and _any_bad(t, x, y, p, tail, n, H, W, False)):
        _report_bad(t, x, y, p, min(lo, tail), n, H, W, check_t)
    return _finish_dtype(out.reshape(T, 2, H, W), final)


def _report_bad(t, x, y, p, lo: int, hi: int, H: int, W: int, check_t: bool) -> None:
    code, i = _first_bad(t if check_t else _EMPTY_T, x, y, p, lo, hi, H, W, check_t)
    _raise_bad(int(code), int(i), t, x, y, p, H, W, "events")
    raise AssertionError("invalid events not located")  # pragma: no cover


def integrate_segments(events: Mapping, starts, ends, H: int, W: int,
                       dtype=None) -> np.ndarray:
    """Frames ``[T, 2, H, W]`` from arbitrary event-index segments.

    Frame ``k`` counts events ``starts[k] <= i < ends[k]`` (segments may overlap or be empty).
    This is the building block every rule uses; it is public for custom boundaries (e.g. label
    intervals). ``H``, ``W`` in pixels; ``dtype`` as in the module docstring. ``t`` is not used
    and not checked here.
    """
    H, W = _check_hw(H, W)
    t, x, y, p = _arrays(events)
    n = x.shape[0]
    starts = np.ascontiguousarray(starts, dtype=np.int64).reshape(-1)
    ends = np.ascontiguousarray(ends, dtype=np.int64).reshape(-1)
    if starts.shape != ends.shape:
        raise ValueError(f"starts and ends differ in length ({starts.size} vs {ends.size})")
    if starts.size:
        if int(starts.min()) < 0 or int(ends.max()) > n:
            raise ValueError(f"segments must lie within [0, {n}] event indices")
        ends = np.maximum(ends, starts)  # an inverted segment is empty
        lo, hi = int(starts.min()), int(ends.max())
        _validate(t, x, y, p, H, W, lo, hi, check_t=False)
        return _integrate_arrays(t, x[:hi], y[:hi], p[:hi], starts, ends, H, W, dtype,
                                 check_t=False)
    return np.zeros((0, 2, H, W), _plan_dtype(0, dtype)[0])


def integrate(events: Mapping, setting: FrameSetting, H: int, W: int,
              dtype=None) -> np.ndarray:
    """Frames ``[T, 2, H, W]`` of one sample for a :class:`FrameSetting`.

    ``H``, ``W``: frame height and width in pixels. Raises ``ValueError`` on invalid events.
    ``dtype`` applies to rule-based settings; a custom function's frames keep their dtype.
    """
    if setting.function is not None:
        return integrate_with_function(events, setting.function, H, W)
    H, W = _check_hw(H, W)
    t, x, y, p = _arrays(events)
    rule, T, D, C, o, incl = setting._params()
    # Boundaries only read t[0], t[-1] and binary searches: safe before validation, which
    # happens inside _integrate_arrays (t first, then x, y, p while histogramming).
    starts, ends = _bounds(rule, t, t.shape[0], T=T, D=D, C=C, overlap=o, incl=incl)
    return _integrate_arrays(t, x, y, p, starts, ends, H, W, dtype, check_t=True)


def to_frames(events: Mapping, H: int, W: int, *, split_by: Optional[str] = None,
              frames_number: Optional[int] = None, duration: Optional[int] = None,
              count: Optional[int] = None, overlap: int = 0, include_incomplete: bool = True,
              function: Optional[Callable] = None, dtype=None) -> np.ndarray:
    """Frames ``[T, 2, H, W]`` of one sample; exactly one mode must be given.

    - ``split_by='number'|'time'`` plus ``frames_number`` T (fixed ``T``, SpikingJelly's rules)
    - ``duration`` (microseconds per frame, variable ``T``, SpikingJelly's rule)
    - ``count`` (events per frame, variable ``T``; ``include_incomplete`` keeps the short last one)
    - ``function`` ``f(events, H, W) -> [T, 2, H, W]`` (called as is, result checked)

    ``overlap`` (number/count: events; time: microseconds) extends each frame into the next.
    ``H``, ``W`` in pixels. ``dtype=None`` picks uint16 (int32 when a frame could exceed 65535
    events). Exact rules: module docstring.
    """
    setting = FrameSetting(split_by=split_by, frames_number=frames_number, duration=duration,
                           count=count, overlap=overlap, include_incomplete=include_incomplete,
                           function=function, function_name=_function_name(function))
    return integrate(events, setting, H, W, dtype=dtype)


def _function_name(function) -> Optional[str]:
    if function is None:
        return None
    name = getattr(function, "__name__", None)
    return name if name and name != "<lambda>" else "custom"


def check_frames(frames, H: int, W: int, where: str = "frames") -> np.ndarray:
    """Return ``frames`` as a numpy array after checking it is ``[T, 2, H, W]``."""
    if hasattr(frames, "detach") and hasattr(frames, "cpu"):  # torch.Tensor
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[1] != 2 or frames.shape[2:] != (H, W):
        raise ValueError(f"{where}: expected shape [T, 2, {H}, {W}], got {list(frames.shape)}")
    return frames


def integrate_with_function(events: Mapping, f: Callable, H: int, W: int) -> np.ndarray:
    """Call ``f(events, H, W)`` (SpikingJelly's custom integration) and check the result.

    ``f`` gets an :class:`~evframes.events.Events` dict of int64 arrays ``t, x, y, p`` (as
    SpikingJelly hands them, so ``p * H * W + y * W + x`` is safe), copies it may modify; the
    returned array must be ``[T, 2, H, W]`` (numpy or torch; returned as numpy, dtype
    unchanged).
    """
    H, W = _check_hw(H, W)
    t, x, y, p = _arrays(events)
    name = getattr(f, "__name__", repr(f))
    return check_frames(f(_callback_events(t, x, y, p), H, W), H, W,
                        where=f"custom function {name}")


def _callback_events(t, x, y, p) -> Events:
    """What a callback is handed: int64 arrays like SpikingJelly's (``p * H * W + y * W + x``
    cannot overflow), its own copies (in-place edits cannot reach the caller's arrays)."""
    return Events({k: np.array(a, dtype=np.int64) for k, a in zip(KEYS, (t, x, y, p))})


# ---------------------------------------------------------------------------------------------
# Batch entry point
# ---------------------------------------------------------------------------------------------

@contextmanager
def _numba_threads(n: Optional[int]):
    """Run parallel kernels on n threads with dynamic scheduling (one sample per chunk)."""
    old_chunk = numba.set_parallel_chunksize(1)
    old = numba.get_num_threads()
    if n is not None:
        numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(old)
        numba.set_parallel_chunksize(old_chunk)


def integrate_batch(t, x, y, p, offsets, setting: FrameSetting, H: int, W: int,
                    n_threads: Optional[int] = None,
                    dtype=None) -> Tuple[np.ndarray, np.ndarray]:
    """Frames of many samples stored as flat concatenated arrays.

    ``t, x, y, p``: 1-D arrays of all samples' events back to back (``t`` in microseconds, sorted
    within each sample); ``offsets``: int ``[n_samples + 1]``, sample ``s`` is
    ``offsets[s]:offsets[s+1]``. Boundaries, validation and histograms run in Numba, samples
    spread over ``n_threads`` threads (default: Numba's setting). A custom-function setting falls
    back to a per-sample Python loop.

    Returns ``(frames, frame_offsets)``: ``frames`` ``[sum T_s, 2, H, W]`` and
    ``frame_offsets`` int64 ``[n_samples + 1]``; sample ``s``'s frames are
    ``frames[frame_offsets[s]:frame_offsets[s+1]]``, identical to ``integrate`` on that sample.
    One dtype serves the whole batch (chosen from the longest segment over all samples;
    ``dtype`` as in :func:`integrate`). All frames are returned in memory: call it on chunks of
    samples when the frames of a whole split would not fit.
    """
    H, W = _check_hw(H, W)
    t, x, y, p = _arrays({"t": t, "x": x, "y": y, "p": p})
    offsets = np.ascontiguousarray(offsets, dtype=np.int64).reshape(-1)
    n_ev = t.shape[0]
    if offsets.size == 0:
        raise ValueError("offsets needs at least one entry (n_samples + 1)")
    if offsets[0] != 0 or offsets[-1] != n_ev or (offsets.size > 1 and
                                                  int(np.diff(offsets).min()) < 0):
        raise ValueError(f"offsets must be non-decreasing from 0 to the number of events "
                         f"({n_ev}), got {offsets[0]}..{offsets[-1]}")
    n_samples = offsets.size - 1

    if setting.function is not None:
        return _batch_function(t, x, y, p, offsets, setting, H, W)

    rule, T, D, C, o, incl = setting._params()
    with _numba_threads(n_threads):
        # Frame counts and boundaries only look at t[lo], t[hi-1] and binary searches, so they
        # are safe (indices stay within each sample) even before the events are validated.
        counts = _batch_n_frames(rule, t, offsets, T, D, C, o, incl)
        frame_offsets = np.zeros(n_samples + 1, np.int64)
        np.cumsum(counts, out=frame_offsets[1:])
        total = int(frame_offsets[-1])
        starts = np.empty(total, np.int64)
        ends = np.empty(total, np.int64)
        if n_samples:
            _batch_bounds(rule, t, offsets, frame_offsets, T, D, C, o, incl, starts, ends)
        max_len = int((ends - starts).max()) if total else 0
        acc, final = _plan_dtype(max_len, dtype)
        out = np.empty((total, 2 * H * W), acc)
        if n_samples:
            flags = _batch_validate_hist(t, x, y, p, offsets, starts, ends, frame_offsets,
                                         H, W, out)
            if flags.any():
                s = int(np.argmax(flags))
                lo, hi = int(offsets[s]), int(offsets[s + 1])
                code, i = _first_bad(t, x, y, p, lo, hi, H, W, True)
                _raise_bad(int(code), int(i), t, x, y, p, H, W,
                           f"sample {s} (events {lo}..{hi})")
    return _finish_dtype(out.reshape(total, 2, H, W), final), frame_offsets


def _batch_function(t, x, y, p, offsets, setting, H, W):
    parts = []
    counts = np.zeros(offsets.size - 1, np.int64)
    for s in range(offsets.size - 1):
        lo, hi = int(offsets[s]), int(offsets[s + 1])
        ev = _callback_events(t[lo:hi], x[lo:hi], y[lo:hi], p[lo:hi])
        try:
            res = setting.function(ev, H, W)
        except Exception as e:  # the caller adds the store and the batch's first sample
            from .errors import CustomFunctionError
            raise CustomFunctionError(setting.name, s, e) from e
        fr = check_frames(res, H, W, where=f"custom function {setting.name}, sample {s}")
        parts.append(fr)
        counts[s] = fr.shape[0]
    frame_offsets = np.zeros(offsets.size, np.int64)
    np.cumsum(counts, out=frame_offsets[1:])
    from .exact_dtype import concat_exact  # samples of other dtypes: one exact dtype
    return concat_exact(parts, f"custom function {setting.name}", (0, 2, H, W)), frame_offsets


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def downsample_events(events: Mapping, factor: int,
                      sensor_size: Tuple[int, int]) -> Tuple[Events, Tuple[int, int]]:
    """Spatially downsample events by an integer ``factor``: ``x // factor``, ``y // factor``.

    ``sensor_size`` is ``(W, H)`` in pixels. Returns ``(events, (W', H'))`` with
    ``W' = ceil(W / factor)``, ``H' = ceil(H / factor)``; ``t`` and ``p`` are shared, not copied.
    Integrating the result counts, in each output pixel, the events of the ``factor x factor``
    input block (sum pooling of the full-resolution frames). Pure function; no events dropped.
    """
    k = _pos_int(factor, "factor")
    W, H = (int(v) for v in sensor_size)
    H, W = _check_hw(H, W)
    t, x, y, p = _arrays(events)
    _validate(t, x, y, p, H, W, check_t=False)
    out = Events(t=t, x=(x // k).astype(x.dtype, copy=False),
                 y=(y // k).astype(y.dtype, copy=False), p=p)
    return out, (-(-W // k), -(-H // k))


# ---------------------------------------------------------------------------------------------
# SpikingJelly-named functions (same names and signatures; values equal SpikingJelly's)
# ---------------------------------------------------------------------------------------------

def integrate_events_segment_to_frame(x, y, p, H: int, W: int, j_l: int = 0,
                                      j_r: Optional[int] = None, *,
                                      dtype=np.float64) -> np.ndarray:
    """One two-channel frame ``[2, H, W]`` counting events ``j_l <= i < j_r``.

    Same as SpikingJelly's function: ``frame[p, y, x]`` = number of events with that polarity at
    pixel ``(x, y)``; ``j_l``, ``j_r`` follow Python slice rules (``None`` = to the end; negative
    counts from the end, so an explicit ``j_r=-1``, the default of older SpikingJelly releases,
    drops the last event there and here alike). ``H``, ``W`` in pixels; returns float64 like
    SpikingJelly unless ``dtype`` says otherwise. ``p`` must be 0 or 1 (SpikingJelly maps any
    non-zero p to 1).
    """
    H, W = _check_hw(H, W)
    x = _int_array(x, "x")
    y = _int_array(y, "y")
    p = _int_array(p, "p")
    n = x.shape[0]
    if y.shape[0] != n or p.shape[0] != n:
        raise ValueError(f"x, y, p differ in length ({n}, {y.shape[0]}, {p.shape[0]})")
    lo, hi, _ = slice(j_l, j_r).indices(n)
    hi = max(hi, lo)
    starts = np.array([lo], np.int64)
    ends = np.array([hi], np.int64)
    # only the segment is checked (SpikingJelly only reads the segment)
    frame = _integrate_arrays(_EMPTY_T, x[:hi], y[:hi], p[:hi], starts, ends, H, W, dtype,
                              check_t=False)
    return frame[0]


def cal_fixed_frames_number_segment_index(events_t, split_by: str,
                                          frames_num: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(j_l, j_r)`` int64 ``[frames_num]``: SpikingJelly's segment indices.

    ``split_by='number'``: ``j_l = floor(N/T)*j``, ``j_r = j_l + floor(N/T)``, last ``j_r = N``.
    ``split_by='time'``: ``dt = (t[-1]-t[0]) // T``; frame j holds ``t[0]+j*dt <= t <
    t[0]+(j+1)*dt``, last ``j_r = N``. Equal to SpikingJelly's output wherever SpikingJelly does
    not raise; an empty time window (where SpikingJelly raises IndexError) gives ``j_l == j_r``.
    ``events_t`` must be sorted (microseconds).
    """
    if split_by == "number":
        t = _t_array(events_t)
        _check_sorted(t)
        return bounds_by_number(t.shape[0], frames_num)
    if split_by == "time":
        return bounds_by_time(events_t, frames_num)
    raise ValueError(f"split_by must be 'number' or 'time', got {split_by!r}")


def integrate_events_by_fixed_frames_number(events: Mapping, split_by: str, frames_num: int,
                                            H: int, W: int, *,
                                            dtype=np.float64) -> np.ndarray:
    """Frames ``[frames_num, 2, H, W]`` by SpikingJelly's ``split_by`` rule ('number'/'time').

    Values equal SpikingJelly's; float64 like SpikingJelly unless ``dtype`` says otherwise
    (``dtype=None``: compact uint16/int32). Empty time windows give empty frames.
    """
    if split_by not in ("number", "time"):
        raise ValueError(f"split_by must be 'number' or 'time', got {split_by!r}")
    return integrate(events, FrameSetting(split_by=split_by, frames_number=frames_num),
                     H, W, dtype=dtype)


def integrate_events_by_fixed_duration(events: Mapping, duration: int, H: int, W: int, *,
                                       dtype=np.float64) -> np.ndarray:
    """Frames ``[T, 2, H, W]``, ``duration`` microseconds each (SpikingJelly's rule).

    ``T = ceil((t[-1] - t[0]) / duration)``, the last frame takes the rest. Values equal
    SpikingJelly's; one frame when all events share a timestamp (SpikingJelly crashes); zero
    frames for no events. float64 unless ``dtype`` says otherwise.
    """
    return integrate(events, FrameSetting(duration=duration), H, W, dtype=dtype)
