"""Tonic's per-pixel filters and noise: Denoise, Decimation, RefractoryPeriod, UniformNoise
(Tonic 1.7 values).

The per-pixel filters keep Tonic's pixel memory: it spans ``max(x) + 1`` by ``max(y) + 1``
pixels of each sample (not ``sensor_size``), holds float64 timestamps and is updated in event
order; negative coordinates are refused (Tonic would index its memory from the far end). Empty
input returns empty events (Tonic fails on ``max`` of nothing).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .event_ops_base import copy, pixel_fields, sample, shrink, structured
from .event_ops_kernels import (
    decimate_records,
    denoise_records,
    gather_records,
    merge_records,
    min_max_sorted,
    refractory_records,
)

__all__ = ["Denoise", "Decimation", "RefractoryPeriod", "UniformNoise"]


def _run(kernel, ev, *args):
    out = np.empty_like(ev)
    return shrink(out, kernel(ev, out, *args))


def _widen(v, dtype):
    r = np.result_type(dtype, v)
    return (np.int64 if r.kind in "biu" else r.type)(v)


@dataclass(frozen=True)
class Denoise:
    """Tonic's background-activity filter: keep an event when one of its 4 direct neighbours
    (left, right, up, down; not the diagonals, not its own pixel) fired less than
    ``filter_time`` before it.

    The exact rule of Tonic 1.7: a float64 memory per pixel starts at ``filter_time``; for each
    event in input order its own pixel is set to ``t + filter_time``, then the event is kept when
    a neighbour inside the ``(max(x) + 1) x (max(y) + 1)`` memory holds a value ``> t``
    (strict). So earlier events count (also earlier-listed ones with the same ``t``), later ones
    do not, and every event with ``t < filter_time`` is kept when it has a neighbour inside the
    memory at all (the memory's start value, a quirk kept). evframes' own
    :class:`evframes.transforms.Denoise` instead treats pixels that never fired as silent.

    Parameters
    ----------
    filter_time : float
        Microseconds (the events' time unit).
    """

    filter_time: float

    def __call__(self, events):
        ev = structured(events, "Denoise", ("x", "y", "t"))
        if not len(ev):
            return copy(ev)
        x, y, W, H = pixel_fields(ev, "Denoise")
        t = ev["t"]
        return _run(denoise_records, ev, x, y, t, _widen(self.filter_time, t.dtype),
                    np.float64(self.filter_time), W, H)


@dataclass
class Decimation:
    """Keep every ``n``-th event of each pixel (the ``n``-th, ``2n``-th, ...), Tonic 1.7.

    Works on audio events (no ``y``) too. Tonic returns a float64 empty array when nothing is
    kept; evframes an empty array of the events' dtype.

    Parameters
    ----------
    n : int
        Positive.
    """

    n: int

    def __post_init__(self):
        if not self.n > 0:
            raise ValueError(f"Decimation: n has to be greater than zero, got {self.n}")

    def __call__(self, events):
        ev = structured(events, "Decimation", ("x",))
        if not len(ev):
            return copy(ev)
        x, y, W, H = pixel_fields(ev, "Decimation")
        return _run(decimate_records, ev, x, y, self.n, W, H)


@dataclass(frozen=True)
class RefractoryPeriod:
    """Drop an event when its pixel's previous event (kept or not) is at most ``delta``
    before it: keep when ``t - t_prev > delta``.

    Tonic 1.7's memory starts at ``-delta``, so a pixel's first event is kept only when
    ``t > 0`` (events at ``t = 0`` are dropped, a quirk kept).

    Parameters
    ----------
    delta : int or (lo, hi)
        Microseconds; a range is sampled per call as ``int(U(lo, hi))``
        (``np.random.random_sample()``), a list means a range here too (Tonic fails on one).
    """

    delta: int | tuple[int, int]

    @staticmethod
    def get_params(delta):
        """The refractory period for one call (one draw for a range)."""
        return sample(delta, to_int=True)

    def __call__(self, events):
        delta = self.get_params(self.delta)
        ev = structured(events, "RefractoryPeriod", ("x", "t"))
        if not len(ev):
            return copy(ev)
        x, y, W, H = pixel_fields(ev, "RefractoryPeriod")
        init = np.float64(0.0) - delta
        return _run(refractory_records, ev, x, y, ev["t"], np.float64(delta), np.float64(init),
                    W, H)


@dataclass(frozen=True)
class UniformNoise:
    """Add ``n`` events drawn uniformly over the sensor and the sample's time span, then order
    all events by time.

    Draws as Tonic 1.7, field by field in the dtype's order: ``np.random.uniform(0, W, n)`` for
    x, ``(0, H)`` for y, ``(0, P)`` for p, ``(min t, max t)`` for t, each written into the
    field's dtype (truncated; a bool p is True for any nonzero draw, as numpy casts). Tonic's
    ``np.argsort`` is unstable, so its order among equal timestamps is arbitrary; evframes sorts
    stably (input events before noise events at the same ``t``, each in their own order): the
    same events with the same timestamp sequence, ties possibly in another order. Empty input
    is returned as is, without draws.

    Parameters
    ----------
    sensor_size : (W, H, P)
    n : int or (lo, hi)
        A range is sampled per call as ``int(U(lo, hi))``.
    """

    sensor_size: tuple[int, int, int]
    n: int | tuple[int, int]

    @staticmethod
    def get_params(n):
        """The number of noise events for one call (one draw for a range)."""
        return sample(n, to_int=True)

    def __call__(self, events):
        if len(events) == 0:
            return events
        ev = structured(events, "UniformNoise", ("t",))
        n = self.get_params(self.n)
        t_min, t_max, in_order = min_max_sorted(ev["t"])
        noise = np.zeros(n, ev.dtype)
        span = None
        for name in ev.dtype.names:
            if name == "x":
                span = (0, self.sensor_size[0])
            elif name == "y":
                span = (0, self.sensor_size[1])
            elif name == "p":
                span = (0, self.sensor_size[2])
            elif name == "t":
                span = (t_min, t_max)
            if span is not None:   # other fields reuse the previous field's span (Tonic)
                noise[name] = np.random.uniform(low=span[0], high=span[1], size=n)
        noise_sorted = np.empty_like(noise)
        gather_records(noise, np.argsort(noise["t"], kind="stable"), noise_sorted)
        out = np.empty(len(ev) + n, ev.dtype)
        if in_order:
            merge_records(ev, ev["t"], noise_sorted, noise_sorted["t"], out)
        else:
            both = np.concatenate((ev, noise))
            gather_records(both, np.argsort(both["t"], kind="stable"), out)
        return out
