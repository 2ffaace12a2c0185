"""Integration on one spatial axis: the audio spike datasets SHD and SSC (700 channels).

Their events have one coordinate, the channel ``x`` (0..699); evframes stores them with
``y = 0`` and ``p = 0`` on a ``(W, H) = (700, 1)`` sensor, so every rule of
:mod:`evframes.integrate` applies unchanged with ``H = 1`` and gives ``[T, 2, 1, 700]``
frames (channel 1 empty). :func:`to_one_axis` turns them into ``[T, 700]`` (SpikingJelly's
shape for its SHD frames) or ``[T, 1, 700]`` (``channel_axis=True``: one channel, one axis),
counting both polarity channels, so events with Tonic's artificial ``p = 1`` count too.

Times: the files hold float seconds (float16). :func:`seconds_to_us` makes int64
microseconds ``floor(t * 10**6)``: the product of a float16 or float32 value and 10**6 is
exact in float64 (11 or 24 significant bits times 20), so the result is the exact floor, equal
to Tonic's ``(t.astype(float64) * 1e6).astype(int)``; float64 input is floored after the
float64 product (within 1 us of the exact floor).

Rules, with SpikingJelly's semantics for its SHD frames (``spikingjelly.datasets.shd``), all on
the microsecond times:

``number`` (``split_by='number'``, T)
    As everywhere: frame j takes event indices ``[N//T*j, N//T*(j+1))``, the last ends at N.
    SpikingJelly computes it on indices only, so its SHD frames equal ours.
``time`` for SHD (``split_by='time'``, T): :func:`bounds_shd_time`
    SpikingJelly's SHD rule differs from its general one: ``dt = (t[-1] - t[0]) / T`` is a real
    number, not a floor. Frame j takes ``t0 + j*dt <= t < t0 + (j+1)*dt``, the last runs to the
    end; evaluated exactly as ``j*(t1 - t0) <= T*(t - t0)`` in int64. SpikingJelly evaluates it
    in the file's float16: ``dt``, ``t_l = dt*j + t0`` and ``t_r = t_l + dt`` are each rounded
    to float16 (steps of 2**-11 s = 0.49 ms for t in [0.5, 1) s, 2**-10 s = 0.98 ms in
    [1, 2) s), and ``t_r`` of frame j is rounded apart from ``t_l`` of frame j+1, so events near
    a boundary land in the wrong frame, in two frames (``t_r(j) > t_l(j+1)``) or in none
    (``t_r(j) < t_l(j+1)``: between its index ranges); a window holding no event raises an
    IndexError there (``idx_masked[0]``), here it is an empty frame.
``duration`` (SpikingJelly's SHD ``duration`` is in milliseconds): D us
    As everywhere: ``T = ceil((t1 - t0) / D)``, frame k holds ``t0 + k*D <= t < t0 + (k+1)*D``,
    the last takes the rest. SpikingJelly computes ``1000 * t`` (milliseconds) and ``t - t[0]``
    in float16 (steps of 0.5 ms in [512, 1024) ms, 1 ms in [1024, 2048) ms) before
    ``t // duration``: events within a step of a frame edge move to the neighbouring frame, and
    ``T`` can change by one. All events at one time give ``T = 0`` and an IndexError there, one
    frame here.
``count`` C (evframes' rule; SpikingJelly has none for SHD)
    C events per frame, ``overlap`` and ``include_incomplete`` as in :mod:`evframes.integrate`.

Counts are exact integers (uint16 unless a frame can hold more than 65535 events); the
SpikingJelly-shaped helpers :func:`shd_frames_by_fixed_frames_number` and
:func:`shd_frames_by_fixed_duration` return float64 ``[T, W]`` like SpikingJelly.
"""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

from ..events import Events, make_events
from ._inputs import _check_sorted, _pos_int, _t_array
from .core import integrate_segments, to_frames

SHD_W = 700  # channels of SHD and SSC


def seconds_to_us(t) -> np.ndarray:
    """int64 microseconds ``floor(t * 10**6)`` of float seconds (exact for float16 and float32
    input; module docstring). Raises ValueError on NaN, infinite or negative times."""
    t = np.asarray(t).reshape(-1)
    if t.dtype.kind in "iu":
        return (t.astype(np.int64) * 1_000_000)
    if t.dtype.kind != "f":
        raise ValueError(f"spike times must be numbers, got dtype {t.dtype}")
    if t.dtype == np.float16:  # one gather from the table of all 65536 values
        us = _f16_table()[t.view(np.uint16)]
        if us.size and us.min() < 0:
            i = int(np.argmax(us < 0))
            raise ValueError(f"spike time {i} is {float(t[i])} s (times must be finite and "
                             f">= 0)")
        return us
    t64 = t.astype(np.float64)
    if t64.size:
        if not np.all(np.isfinite(t64)):
            i = int(np.flatnonzero(~np.isfinite(t64))[0])
            raise ValueError(f"spike time {i} is {t64[i]} (not finite)")
        if t64.min() < 0:
            i = int(np.argmax(t64 < 0))
            raise ValueError(f"spike time {i} is negative ({t64[i]} s)")
    return np.floor(t64 * 1e6).astype(np.int64)


_F16 = []


def _f16_table() -> np.ndarray:
    """int64 ``floor(v * 10**6)`` of every float16 bit pattern ``v`` (-1 for NaN, infinite
    and negative values; -0.0 gives 0): 512 KiB, built once."""
    if not _F16:
        v = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
        v64 = v.astype(np.float64)
        ok = np.isfinite(v64) & (v64 >= 0)
        table = np.full(v.size, -1, np.int64)
        table[ok] = np.floor(v64[ok] * 1e6).astype(np.int64)
        _F16.append(table)
    return _F16[0]


def events_1d(events: Mapping) -> Events:
    """:class:`~evframes.events.Events` of one-axis events: evframes' ``{t, x, y, p}`` (t in
    microseconds) as they are, or SpikingJelly's SHD ``{'t': float seconds, 'x': channel}``
    (``y = p = 0``; t by :func:`seconds_to_us`)."""
    t = np.asarray(events["t"]).reshape(-1)
    if t.dtype.kind == "f":
        t = seconds_to_us(t)
    x = np.asarray(events["x"]).reshape(-1)
    n = t.shape[0]
    y = events["y"] if "y" in events else np.zeros(n, np.int16)
    p = events["p"] if "p" in events else np.zeros(n, np.int8)
    return make_events(t, x, y, p)


def bounds_shd_time(t, frames_number: int):
    """``(starts, ends)`` int64 ``[T]`` of SpikingJelly's SHD ``split_by='time'`` rule, exact:
    frame j takes the events with ``j*(t1 - t0) <= T*(t - t0) < (j+1)*(t1 - t0)``, the last
    frame runs to the end (``t`` sorted, microseconds). ``N = 0`` gives ``T`` empty segments."""
    t = _t_array(t)
    _check_sorted(t)
    T = _pos_int(frames_number, "frames_number")
    n = t.shape[0]
    if n == 0:
        z = np.zeros(T, np.int64)
        return z, z.copy()
    span = int(t[-1] - t[0])
    if span * T >= 1 << 62:
        raise ValueError(f"time span {span} us times {T} frames overflows int64")
    scaled = (t - t[0]) * np.int64(T)
    edges = np.arange(T, dtype=np.int64) * np.int64(span)
    starts = np.searchsorted(scaled, edges, side="left").astype(np.int64)
    ends = np.empty(T, np.int64)
    ends[:-1] = starts[1:]
    ends[-1] = n
    return starts, ends


def to_one_axis(frames, channel_axis: bool = False):
    """``[T, 2, 1, W]`` frames (numpy or torch) -> ``[T, W]`` (or ``[T, 1, W]`` with
    ``channel_axis``), the two polarity channels summed (in the frames' dtype)."""
    if frames.ndim != 4 or frames.shape[1] != 2 or frames.shape[2] != 1:
        raise ValueError(f"expected one-axis frames [T, 2, 1, W], got {list(frames.shape)}")
    out = frames[:, 0, 0, :] + frames[:, 1, 0, :]
    return out[:, None, :] if channel_axis else out


def integrate_1d(events: Mapping, W: int = SHD_W, *, split_by: Optional[str] = None,
                 frames_number: Optional[int] = None, duration: Optional[int] = None,
                 count: Optional[int] = None, overlap: int = 0,
                 include_incomplete: bool = True, channel_axis: bool = False,
                 dtype=None) -> np.ndarray:
    """Count frames ``[T, W]`` (``[T, 1, W]`` with ``channel_axis``) of one-axis events.

    ``events``: as :func:`events_1d` takes them. One mode: ``split_by='number'`` or
    ``'time'`` (SpikingJelly's SHD time rule, :func:`bounds_shd_time`; no ``overlap``) with
    ``frames_number``; ``duration`` (microseconds); ``count`` (events per frame, with
    ``overlap`` and ``include_incomplete``). ``W`` channels (700).
    """
    ev = events_1d(events)
    if split_by == "time" and frames_number is not None:
        if overlap:
            raise ValueError("overlap is not defined for SpikingJelly's SHD time rule")
        starts, ends = bounds_shd_time(ev["t"], frames_number)
        frames = integrate_segments(ev, starts, ends, 1, W, dtype=dtype)
    else:
        frames = to_frames(ev, 1, W, split_by=split_by, frames_number=frames_number,
                           duration=duration, count=count, overlap=overlap,
                           include_incomplete=include_incomplete, dtype=dtype)
    return to_one_axis(frames, channel_axis)


def shd_time_frames(events: Mapping, H: int, W: int, frames_number: int) -> np.ndarray:
    """Custom-function form (``f(events, H, W) -> [T, 2, H, W]``, bind ``frames_number`` with
    :func:`functools.partial`) of SpikingJelly's SHD time rule, for the frames stores."""
    starts, ends = bounds_shd_time(events["t"], frames_number)
    return integrate_segments(events, starts, ends, H, W)


def shd_frames_by_fixed_frames_number(events: Mapping, split_by: str, frames_num: int,
                                      W: int = SHD_W) -> np.ndarray:
    """SpikingJelly's SHD frames of fixed number ``[frames_num, W]`` float64, exact (its
    float16 time rule's errors and crashes aside: module docstring)."""
    if split_by not in ("number", "time"):
        raise ValueError(f"split_by must be 'number' or 'time', got {split_by!r}")
    return integrate_1d(events, W, split_by=split_by, frames_number=frames_num,
                        dtype=np.float64)


def shd_frames_by_fixed_duration(events: Mapping, duration: float, W: int = SHD_W
                                 ) -> np.ndarray:
    """SpikingJelly's SHD frames of fixed ``duration`` (milliseconds, its unit for SHD)
    ``[T, W]`` float64, exact (module docstring)."""
    return integrate_1d(events, W, duration=ms_to_us(duration), dtype=np.float64)


def ms_to_us(duration) -> int:
    """A duration in milliseconds as whole microseconds (ValueError unless it is one)."""
    us = float(duration) * 1000.0
    if isinstance(duration, bool) or not np.isfinite(us) or us <= 0 or not us.is_integer():
        raise ValueError(f"duration must be a positive number of milliseconds with whole "
                         f"microseconds, got {duration!r}")
    return int(us)


__all__ = ["SHD_W", "seconds_to_us", "events_1d", "bounds_shd_time", "to_one_axis",
           "integrate_1d", "shd_time_frames", "shd_frames_by_fixed_frames_number",
           "shd_frames_by_fixed_duration", "ms_to_us"]
