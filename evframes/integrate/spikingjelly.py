"""SpikingJelly-named functions: same names and signatures, values equal SpikingJelly's.

``H``, ``W`` in pixels, ``t`` in microseconds (sorted); frames are ``[T, 2, H, W]`` (one frame
``[2, H, W]`` for :func:`integrate_events_segment_to_frame`), float64 like SpikingJelly unless
``dtype`` says otherwise. Differences (refused ``p`` outside {0, 1}, empty windows, one frame
where SpikingJelly crashes) are listed in :mod:`evframes.integrate`.
"""
from __future__ import annotations

from typing import Mapping, Optional, Tuple

import numpy as np

from ._inputs import _EMPTY_T, _check_hw, _check_sorted, _kernel_int, _t_array
from .core import _integrate_arrays, integrate
from .rules import bounds_by_number, bounds_by_time
from .setting import FrameSetting


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
    x = _kernel_int(x, "x")  # the kernel takes every integer dtype: no copies
    y = _kernel_int(y, "y")
    p = _kernel_int(p, "p")
    n = x.shape[0]
    if y.shape[0] != n or p.shape[0] != n:
        raise ValueError(f"x, y, p differ in length ({n}, {y.shape[0]}, {p.shape[0]})")
    lo, hi, _ = slice(j_l, j_r).indices(n)
    hi = max(hi, lo)
    starts = np.array([lo], np.int64)
    ends = np.array([hi], np.int64)
    # only the segment is checked (SpikingJelly only reads the segment)
    frame = _integrate_arrays(_EMPTY_T, x, y, p, starts, ends, H, W, dtype, n_check=hi)
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
