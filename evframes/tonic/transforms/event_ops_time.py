"""Tonic's temporal event transforms: CropTime, RandomTimeReversal, TimeAlignment, TimeJitter,
TimeSkew (Tonic 1.7 values).

Timestamps keep the input's ``t`` dtype (Tonic's datasets: int64 microseconds); arithmetic
results are written back as numpy assigns them (floats truncated toward zero into integer
fields). Random draws use numpy's global generator with Tonic's calls, in Tonic's order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .event_ops_base import (
    affine,
    bound,
    copy,
    mapped,
    sample,
    select_time,
    shrink,
    structured,
)
from .event_ops_draws import global_state, store_state, time_jitter_records
from .event_ops_fused import map_affine, reverse_affine
from .event_ops_kernels import gather_records, jitter1_records

__all__ = ["CropTime", "RandomTimeReversal", "TimeAlignment", "TimeJitter", "TimeSkew"]


@dataclass
class CropTime:
    """Keep the events with ``min <= t <= max`` (both ends included).

    ``max=None`` keeps everything from ``min`` on. Tonic 1.7 instead stores the first sample's
    largest timestamp into ``self.max`` and reuses it for every later sample (a bug: later,
    longer samples lose their tail); evframes leaves the instance unchanged, so every sample
    keeps its whole tail. Empty input returns empty events (Tonic fails on ``np.max``).

    Parameters
    ----------
    min : int
        Microseconds (the events' time unit).
    max : int, optional
    """

    min: int = 0
    max: int = None

    def __call__(self, events):
        ev = structured(events, "CropTime", ("t",))
        hi = np.inf if self.max is None else self.max
        return select_time(ev, self.min, hi)


def _reversed(ev, flip: bool):
    """``t' = max(t) - t``, the order reversed, ``p`` inverted with ``flip``: one pass; for
    integer ``t`` the max is guessed as ``t[-1]`` (sorted input) and checked in that pass."""
    t, out = ev["t"], np.empty_like(ev)
    guess = t.dtype.kind in "iu"
    top = t[-1] if guess else t.max()
    p = ev["p"] if flip else t
    _, _, a, b = affine(ev, "t", -1, top)
    hi = reverse_affine(ev, out, t, out["t"], a, b, flip, p, out["p"] if flip else out["t"])
    if guess and hi != top:
        _, _, a, b = affine(ev, "t", -1, t.max())
        reverse_affine(ev, out, t, out["t"], a, b, flip, p, out["p"] if flip else out["t"])
    return out


@dataclass(frozen=True)
class RandomTimeReversal:
    """With probability ``p`` reverse time: ``t' = max(t) - t``, the event order reversed and,
    with ``flip_polarities``, polarities inverted (nonzero -> 0, 0 -> 1).

    One draw ``np.random.rand() < p`` per call (strict, unlike the flips' ``<=``). Rasters
    (3-D or 4-D numpy arrays ``[T, P, ...]``) have their first two axes reversed. Tonic returns
    a reversed view of its copy; evframes a C-contiguous array with the same values. Empty
    events come back empty (Tonic fails on ``np.max``).

    Parameters
    ----------
    p : float
    flip_polarities : bool
    """

    p: float = 0.5
    flip_polarities: bool = True

    def __post_init__(self):
        if not 0 <= self.p <= 1:
            raise ValueError(f"RandomTimeReversal: p must be in [0, 1], got {self.p}")

    def __call__(self, events):
        if isinstance(events, np.ndarray) and events.dtype.names is None \
                and events.ndim in (3, 4):
            if np.random.rand() < self.p:
                return np.ascontiguousarray(events[::-1, ::-1, ...])
            return events.copy()
        ev = structured(events, "RandomTimeReversal",
                        ("t", "p") if self.flip_polarities else ("t",))
        if np.random.rand() < self.p and len(ev):
            return _reversed(ev, self.flip_polarities)
        return copy(ev)


@dataclass
class TimeAlignment:
    """Shift timestamps so that the first event is at 0: ``t' = t - min(t)``.

    Empty input returns empty events (Tonic fails on ``min``).
    """

    def __call__(self, events):
        ev = structured(events, "TimeAlignment", ("t",))
        if not len(ev):
            return copy(ev)
        t = ev["t"]
        with np.errstate(over="ignore"):           # -t0 of unsigned t wraps, as intended
            if t.dtype.kind in "iu":   # guess min = t[0] (sorted input), checked in the pass
                out = np.empty_like(ev)
                _, _, a, b = affine(ev, "t", 1, -t[0])
                if map_affine(ev, out, t, out["t"], a, b)[0] == t[0]:
                    return out
            return mapped(ev, [affine(ev, "t", 1, -t.min())])


@dataclass(frozen=True)
class TimeJitter:
    """Add Gaussian noise of standard deviation ``std`` (microseconds) to every timestamp.

    One ``np.random.normal(0, std, N)`` draw (Tonic's call, replayed bit for bit in the same
    pass as the sums by :mod:`.event_ops_draws`, so seeded runs agree); the sums are
    written back into ``t``'s dtype (integers truncated toward zero, so a shift to -0.4 gives
    0). ``clip_negative`` then drops the events with ``t < 0``; ``sort_timestamps`` reorders by
    ``np.argsort(t)`` with numpy's default (unstable) sort, as Tonic, so equal timestamps come
    out in the same order as Tonic's. Unsorted output is Tonic's default.

    Parameters
    ----------
    std : float
    clip_negative : bool
    sort_timestamps : bool
    """

    std: float
    clip_negative: bool = True
    sort_timestamps: bool = False

    def __call__(self, events):
        ev = structured(events, "TimeJitter", ("t",))
        n = len(ev)
        out = np.empty_like(ev)
        t = out["t"]
        lo, hi = bound(t.dtype, 0), bound(t.dtype, np.inf)
        clip = bool(self.clip_negative)
        state = global_state() if n and np.ndim(self.std) == 0 else None
        if state is None:           # numpy's own draw (empty input, array std, other generator)
            shifts = np.random.normal(0, self.std, n)
            if not n:
                return out
            k = jitter1_records(ev, out, ev["t"], t, shifts, clip, lo, hi)
        else:                       # the same draws, replayed and fused with the pass
            np.random.normal(0, self.std, 0)      # numpy's checks of std (draws nothing)
            k = time_jitter_records(ev, out, ev["t"], t, *state, 0.0, float(self.std), clip,
                                    lo, hi)
            store_state(state)
        del t
        out = shrink(out, k)
        if self.sort_timestamps:
            order = np.argsort(out["t"])
            res = np.empty_like(out)
            gather_records(out, order, res)
            return res
        return out


@dataclass(frozen=True)
class TimeSkew:
    """Linear time transform ``t' = t * coefficient + offset`` (written back into ``t``'s
    dtype, integers truncated toward zero).

    Parameters
    ----------
    coefficient : float or (lo, hi)
        A range is sampled per call (``np.random.random_sample()``, coefficient first, then
        offset, as Tonic); a list means a range here too (Tonic fails on a list).
    offset : float or (lo, hi)
        Microseconds.
    """

    coefficient: float | tuple[float, float]
    offset: float | tuple[float, float] = 0

    def __call__(self, events):
        ev = structured(events, "TimeSkew", ("t",))
        coef = sample(self.coefficient)     # coefficient first, then offset (Tonic's order)
        off = sample(self.offset)
        return mapped(ev, [affine(ev, "t", coef, off)])
