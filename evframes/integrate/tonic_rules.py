"""Tonic 1.7's slicing rules and its int16 count frames, on event fields of any stride.

Facts from Tonic 1.7's ``slicers.py`` and ``functional/to_frame.py`` (the formulas, with the
quirks a Tonic user's values depend on; :mod:`evframes.tonic` names them to its users):

- every rule gives event-index windows ``[s, e)`` applied as Python slices ``data[s:e]``
  (clipped to ``[0, N]``, empty when ``e <= s``);
- ``time_window`` (microseconds or the recording's unit): ``stride = time_window - overlap``
  (``> 0``); ``n = floor`` (``ceil`` with ``include_incomplete``) of
  ``(duration - time_window) / stride``, plus 1, at least 1, ``duration = end - start``
  (``start_time`` / ``end_time`` default ``t[0]`` / ``t[-1]``); window ``k`` covers
  ``start + k*stride <= t < start + k*stride + time_window`` (left ``searchsorted``);
- ``event_count``: ``c = min(event_count, N)``, ``stride = event_count - overlap`` (``> 0``),
  ``n = floor`` / ``ceil`` of ``(N - c) / stride`` plus 1, window ``k`` = events
  ``[int(k*stride), int(k*stride) + c)``; fewer than ``event_count`` events give one window
  of all of them;
- ``n_time_bins`` B: ``width = (t[-1] - t[0]) // B * (1 + overlap)``, ``stride = width *
  (1 - overlap)`` (``overlap < 1``), window ``k`` covers ``t[0] + k*stride <= t < t[0] +
  k*stride + width``: the last event (``t = t[-1]``) always falls outside, and a span
  shorter than B gives empty windows;
- ``n_event_bins`` B: ``c = int(N // B * (1 + overlap))``, ``stride = int(c * (1 -
  overlap))``, window ``k`` = events ``[k*stride, k*stride + c)``: the ``N % B`` last
  events are dropped.

The arithmetic is NumPy's on the same scalar types as Tonic's (so float windows and
``overlap`` round as Tonic's do); only unsigned timestamps are first taken as signed, where
Tonic's ``duration - time_window`` wraps below zero. ``t`` must not decrease for the two time
rules (``searchsorted`` assumes it; checked while counting, see :func:`count_frames`).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .._jit import njit
from ._t_pass import _t_decreases
from ._tonic_kernels import _BAD_P, _BAD_T, _BAD_X, _BAD_Y, _OK, _frames, packed_xy

__all__ = ["TonicIndexError", "time_window_bounds", "event_count_bounds", "time_bins_bounds",
           "event_bins_bounds", "python_slices", "searchsorted_left", "count_frames",
           "check_sorted_outside"]

_I64 = np.int64


class TonicIndexError(IndexError, ValueError):
    """An event indexes outside the frame (where Tonic's ``np.add.at`` raises IndexError)."""


# ---------------------------------------------------------------------------------------------
# Window rules (NumPy scalar arithmetic as Tonic's; O(windows))
# ---------------------------------------------------------------------------------------------

def _signed(v):
    """An unsigned NumPy integer scalar as int64 (Tonic's unsigned differences wrap)."""
    if isinstance(v, np.unsignedinteger):
        return np.int64(v)
    return v


def time_window_bounds(t, time_window, overlap=0, include_incomplete=False,
                       start_time=None, end_time=None) -> Tuple[np.ndarray, np.ndarray]:
    """Tonic's ``SliceByTime`` windows on ``t`` (not empty): ``(starts, ends)`` int64."""
    stride = time_window - overlap
    if not stride > 0:
        raise ValueError(f"time_window - overlap must be > 0, got {time_window} - {overlap}")
    start = _signed(t[0]) if start_time is None else start_time
    end = _signed(t[-1]) if end_time is None else end_time
    q = ((end - start) - time_window) / stride
    n = int((np.ceil(q) if include_incomplete else np.floor(q)) + 1)
    n = max(n, 1)
    lo = np.arange(n) * stride + start
    return python_slices(searchsorted_left(t, lo), searchsorted_left(t, lo + time_window),
                         t.shape[0])


def event_count_bounds(n_events: int, event_count, overlap=0,
                       include_incomplete=False) -> Tuple[np.ndarray, np.ndarray]:
    """Tonic's ``SliceByEventCount`` windows on ``n_events`` events (Python-slice bounds)."""
    c = min(event_count, n_events)
    stride = event_count - overlap
    if stride <= 0:
        raise ValueError(f"event_count - overlap must be > 0, got {event_count} - {overlap}")
    q = (n_events - c) / stride
    n = int((np.ceil(q) if include_incomplete else np.floor(q)) + 1)
    starts = (np.arange(n) * stride).astype(int)
    return python_slices(starts, starts + c, n_events)


def time_bins_bounds(t, n_bins: int, overlap=0.0) -> Tuple[np.ndarray, np.ndarray]:
    """Tonic's ``SliceByTimeBins`` windows on ``t`` (not empty)."""
    if not overlap < 1:
        raise ValueError(f"overlap must be < 1 for n_time_bins, got {overlap}")
    t0, t1 = _signed(t[0]), _signed(t[-1])
    width = (t1 - t0) // n_bins * (1 + overlap)
    stride = width * (1 - overlap)
    lo = np.arange(n_bins) * stride + t0
    return python_slices(searchsorted_left(t, lo), searchsorted_left(t, lo + width), t.shape[0])


def event_bins_bounds(n_events: int, n_bins: int, overlap=0.0
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """Tonic's ``SliceByEventBins`` windows on ``n_events`` events (Python-slice bounds)."""
    c = int(n_events // n_bins * (1 + overlap))
    stride = int(c * (1 - overlap))
    starts = np.arange(n_bins) * stride
    return python_slices(starts, starts + c, n_events)


def python_slices(starts, ends, n: int) -> Tuple[np.ndarray, np.ndarray]:
    """Bounds ``[s, e)`` as ``data[s:e]`` applies them to ``n`` items: negatives count from
    the end, then clipped to ``[0, n]``; ``e < s`` becomes ``e = s`` (empty)."""
    s = np.array(starts, dtype=_I64).reshape(-1)
    e = np.array(ends, dtype=_I64).reshape(-1)
    _slices_into(s, e, n)
    return s, e


@njit(cache=True, nogil=True)
def _slices_into(s, e, n):
    """:func:`python_slices` in place (one call: the NumPy masks and clips took 7 of a small
    sample's 50 us)."""
    for k in range(s.shape[0]):
        a = s[k] + n if s[k] < 0 else s[k]
        b = e[k] + n if e[k] < 0 else e[k]
        a = min(max(a, 0), n)
        s[k] = a
        e[k] = max(min(max(b, 0), n), a)


@njit(cache=True, nogil=True)
def _ss_left(t, vals, as_float, out):
    n = t.shape[0]
    for k in range(vals.shape[0]):
        v = vals[k]
        lo = 0
        hi = n
        while lo < hi:
            mid = (lo + hi) >> 1
            if as_float:
                less = np.float64(t[mid]) < v
            else:
                less = t[mid] < v
            if less:
                lo = mid + 1
            else:
                hi = mid
        out[k] = lo


def searchsorted_left(t, values) -> np.ndarray:
    """``np.searchsorted(t, values)`` (left) for sorted ``t`` of any stride, without the
    contiguous copy NumPy makes; compared in NumPy's common dtype of the two."""
    v = np.asarray(values).reshape(-1)
    common = np.result_type(t.dtype, v.dtype)
    out = np.empty(v.shape[0], _I64)
    if common.kind == "f":
        _ss_left(t, v.astype(np.float64), True, out)
    else:
        _ss_left(t, v.astype(common), False, out)
    return out


# ---------------------------------------------------------------------------------------------
# int16 count frames
# ---------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def _scan(t, p, lo, hi, check_t):
    """Over events [lo, hi): the first i >= 1 with t[i] < t[i-1] (-1: none) when
    ``check_t``, and the extreme raw p."""
    pmn = p[lo]
    pmx = p[lo]
    bad = -1
    for i in range(lo, hi):
        pv = p[i]
        pmn = min(pmn, pv)
        pmx = max(pmx, pv)
        if check_t and bad < 0 and i > 0 and t[i] < t[i - 1]:
            bad = i
    return bad, pmn, pmx


def _uncovered(starts, ends, n):
    """Event-index ranges ``[a, b)`` inside ``[0, n)`` no non-empty window covers."""
    out = np.empty((starts.shape[0] + 1, 2), _I64)
    k = _uncovered_into(np.asarray(starts, _I64), np.asarray(ends, _I64), n, out)
    return [(int(a), int(b)) for a, b in out[:k]]


@njit(cache=True, nogil=True)
def _uncovered_into(starts, ends, n, out):
    """:func:`_uncovered`'s ranges into ``out [len(starts) + 1, 2]``; returns their count
    (one call instead of a dozen NumPy ones: 14 us of a small sample's ToFrame)."""
    keep = np.flatnonzero(ends > starts)
    if keep.shape[0] == 0:
        if n == 0:
            return 0
        out[0, 0] = 0
        out[0, 1] = n
        return 1
    s = starts[keep]
    e = ends[keep]
    o = np.argsort(s, kind="mergesort")
    k = 0
    covered = 0  # end of the windows seen so far (sorted by start)
    for q in range(o.shape[0]):
        a = s[o[q]]
        if a > covered:
            out[k, 0] = covered
            out[k, 1] = a
            k += 1
        covered = max(covered, e[o[q]])
    if covered < n:
        out[k, 0] = covered
        out[k, 1] = n
        k += 1
    return k


def check_sorted_outside(t, starts, ends) -> Optional[int]:
    """The first index ``i`` outside every window with ``t[i] < t[i-1]``, or None."""
    for a, b in _uncovered(starts, ends, t.shape[0]):
        if _t_decreases(t, max(a, 1) - 1, b):  # pairs (i - 1, i) for a <= i < b, i >= 1
            bad, _, _ = _scan(t, t, a, b, True)
            return int(bad)
    return None


def _raw(a):
    """A field as the kernels take it: bool viewed as uint8 (any stride)."""
    a = np.asarray(a)
    return a.view(np.uint8) if a.dtype == np.bool_ else a


def count_frames(x, y, p, t, starts, ends, P: int, H: int, W: int, *, merge_p=False,
                 check_t=False) -> np.ndarray:
    """Tonic's int16 count frames ``[n, P, H, W]`` (``[n, P, W]`` when ``y`` is None) of the
    windows ``starts[k] <= i < ends[k]`` (inside ``[0, N]``).

    ``x``, ``y``, ``p``, ``t``: 1-D integer fields of equal length, any stride (fields of a
    structured array are read in place); ``p`` None means polarity 0 (``merge_p`` then
    required), ``t`` None skips the sortedness check. Counts wrap modulo 2**16 as Tonic's
    ``np.add.at`` on int16 does; indices as NumPy takes them (negatives from the end);
    ``merge_p`` puts every event in channel 0 and raises ``ValueError`` when the raw ``p``
    values are not all equal (Tonic's one-polarity check, over all N events). With
    ``check_t``, ``t`` must not decrease anywhere (``ValueError``). An index outside the frame
    raises :class:`TonicIndexError` naming the event."""
    n_ev = x.shape[0]
    x = _raw(x)
    has_y = y is not None
    yv = _raw(y) if has_y else x
    has_p = p is not None
    if not has_p and not merge_p:
        raise ValueError("events without 'p' need a one-polarity sensor (P = 1)")
    pv = _raw(p) if has_p else x
    check_t = bool(check_t and t is not None and n_ev > 1)
    tv = _raw(t) if t is not None else x
    for name, a in (("x", x), ("y", yv), ("p", pv), ("t", tv)):
        if a.dtype.kind not in "iu" and not (name == "p" and a.dtype.kind == "f"):
            raise TypeError(f"events['{name}'] must hold integers, got dtype {a.dtype}")
    starts = np.ascontiguousarray(starts, dtype=_I64)
    ends = np.ascontiguousarray(ends, dtype=_I64)
    Hk = int(H) if has_y else 1
    out = np.zeros((starts.shape[0], int(P) * Hk * int(W)), np.int16)
    if n_ev == 0:
        return out.reshape(_shape(starts.shape[0], P, H, W, has_y))
    xy = packed_xy(x, yv) if has_y and pv.dtype.kind in "iu" else None
    code, i, pmn, pmx = _frames(x, yv, pv, tv, starts, ends, int(P), Hk, int(W), has_y,
                                bool(merge_p), check_t, out, x if xy is None else xy,
                                xy is not None)
    if merge_p and has_p:
        if code != _OK:  # Tonic checks the polarities first, over all events
            pmn, pmx = pv.min(), pv.max()
        else:  # the events outside the windows count too
            for a, b in _uncovered(starts, ends, n_ev):
                _, lo, hi = _scan(tv, pv, a, b, False)
                pmn, pmx = min(pmn, lo), max(pmx, hi)
    if merge_p and has_p and pmn != pmx:
        raise ValueError("Single polarity sensor, but events contain both polarities.")
    if code != _OK:
        _raise_bad(code, i, x, yv, pv, tv, P, Hk, W)
    if check_t:
        bad = check_sorted_outside(tv, starts, ends)
        if bad is not None:
            _raise_bad(_BAD_T, bad, x, yv, pv, tv, P, Hk, W)
    return out.reshape(_shape(starts.shape[0], P, H, W, has_y))


def _shape(n, P, H, W, has_y):
    return (n, int(P), int(H), int(W)) if has_y else (n, int(P), int(W))


def _raise_bad(code, i, x, y, p, t, P, H, W):
    i = int(i)
    if code == _BAD_T:
        raise ValueError(f"events['t'] is not sorted: it decreases at index {i} "
                         f"({t[i - 1]} -> {t[i]}); Tonic's time slicing assumes sorted t")
    name, v, d = {_BAD_X: ("x", x, W), _BAD_Y: ("y", y, H), _BAD_P: ("p", p, P)}[code]
    raise TonicIndexError(f"event {i}: {name}={v[i]} is outside the frame's {d} "
                          f"{'channels' if name == 'p' else 'pixels'} (sensor_size)")
