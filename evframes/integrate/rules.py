"""Boundary rules: pure functions returning event-index segments ``(starts, ends)``.

Each rule computes two int64 arrays of length ``T``; frame ``k`` integrates the events with
indices ``starts[k] <= i < ends[k]``. Timestamps ``t`` are int64 microseconds, sorted. The exact
rules (``number``, ``time``, ``duration``, ``count``) are described in :mod:`evframes.integrate`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Tuple

import numpy as np

from ._inputs import _EMPTY_T, _check_sorted, _nonneg_int, _pos_int, _t_array
from ._kernels import _COUNT, _DURATION, _NUMBER, _TIME, _fill_bounds, _n_frames, _t_bad_bounds

if TYPE_CHECKING:  # pragma: no cover
    from .setting import FrameSetting

def _bounds(rule: int, t: np.ndarray, n: int, T: int = 0, D: int = 1, C: int = 1,
            overlap: int = 0, incl: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    tt = t if t is not None else _EMPTY_T
    nf = int(_n_frames(rule, tt, 0, n, T, D, C, overlap, incl))
    starts = np.empty(nf, np.int64)
    ends = np.empty(nf, np.int64)
    _fill_bounds(rule, tt, 0, n, T, D, C, overlap, incl, nf, starts, ends)
    return starts, ends


def _bounds_t_checked(rule: int, t: np.ndarray, T: int = 0, D: int = 1, C: int = 1,
                      overlap: int = 0,
                      incl: bool = True) -> Tuple[np.ndarray, np.ndarray, bool]:
    """:func:`_bounds` over all of ``t`` plus the check that t is sorted (and integral), in
    one pass over t (:func:`~._kernels._t_bad_bounds`): ``(starts, ends, t_bad)``; the
    boundaries are meaningless when ``t_bad``."""
    n = t.shape[0]
    nf = int(_n_frames(rule, t, 0, n, T, D, C, overlap, incl))
    starts = np.empty(nf, np.int64)
    ends = np.empty(nf, np.int64)
    bad = _t_bad_bounds(rule, t, n, T, D, C, overlap, incl, nf, starts, ends)
    return starts, ends, bool(bad)


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


def frame_bounds(t, setting: "FrameSetting") -> Tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` int64 ``[T]`` for a rule-based setting on sorted ``t`` (us)."""
    if setting.function is not None:
        raise ValueError("a custom function setting has no boundaries")
    t = _t_array(t)
    _check_sorted(t)
    rule, T, D, C, o, incl = setting._params()
    return _bounds(rule, t, t.shape[0], T=T, D=D, C=C, overlap=o, incl=incl)
