"""Tonic's event dropping transforms: DropEvent, DropEventByTime, DropEventByArea, EventDrop,
DropPixel, RandomDropPixel (Tonic 1.7 values).

Random draws use numpy's global generator with Tonic's calls in Tonic's order (``DropEvent``:
``np.random.choice(N, k, replace=False)``, which permutes all N indices; replayed here by
:func:`choice_mask`), so seeded runs drop exactly the events Tonic drops. Events keep their order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .event_ops_base import (
    as_range,
    copy,
    delete_mask,
    drop_table,
    interval,
    sample,
    select,
    select_time_max,
    structured,
)
from .event_ops_draws import global_state, legacy_choice_drop, store_state
from .event_ops_kernels import coord_range, pixel_counts

__all__ = ["DropEvent", "DropEventByTime", "DropEventByArea", "EventDrop", "DropPixel",
           "RandomDropPixel"]


def _check_ratio(r, name: str, what: str, hi_open: bool = True):
    r = as_range(r)
    vals = r if isinstance(r, tuple) else (r,)
    ok = len(vals) in (1, 2) and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        and 0 <= v and (v < 1 if hi_open else v <= 1) for v in vals)
    if not ok:
        bound = "[0, 1)" if hi_open else "[0, 1]"
        raise ValueError(f"{name}: {what} must be a number in {bound} or a (min, max) pair of "
                         f"them, got {r!r}")


def choice_mask(n: int, k: int) -> np.ndarray:
    """The mask of ``np.random.choice(n, k, replace=False)``: the same draws from numpy's
    global generator, which is left in the same state, by a Numba replay of its MT19937 and
    legacy shuffle (:func:`.event_ops_draws.legacy_choice_drop`)."""
    drop = np.zeros(n, np.bool_)
    state = global_state() if n < 2**32 and 0 <= k <= n else None
    if state is None:
        drop[np.random.choice(n, k, replace=False)] = True
        return drop
    legacy_choice_drop(state[0], state[1], state[2], k, drop,
                       np.arange(n, dtype=np.int32 if n < 2**31 else np.int64))
    store_state(state)
    return drop


def drop_event(ev, p):
    """Tonic's ``drop_event_numpy``: drop ``int(p * N + 0.5)`` events chosen by
    ``np.random.choice(N, k, replace=False)``."""
    n = len(ev)
    return delete_mask(ev, choice_mask(n, int(p * n + 0.5)))


def drop_by_time(ev, ratio):
    """Tonic's ``drop_by_time_numpy``: drop ``[s, s + d]`` (both ends), ``d = max(t) * ratio``,
    ``s ~ U(0, max(t) - d)``; a range ratio is drawn first (``np.random.uniform``)."""
    if not len(ev):
        return copy(ev)
    t = ev["t"]
    if t.dtype.kind not in "iu":
        return _drop_interval(ev, t.max(), ratio)[0]
    state = np.random.get_state()     # max(t) guessed as t[-1] (sorted input), checked in
    out, top = _drop_interval(ev, t[-1], ratio)     # the pass; else drawn again from here
    if top != t[-1]:
        np.random.set_state(state)
        out = _drop_interval(ev, t.max(), ratio)[0]
    return out


def _drop_interval(ev, t_end, ratio):
    ratio = as_range(ratio)
    if isinstance(ratio, tuple):
        ratio = np.random.uniform(ratio[0], ratio[1])
    duration = (t_end - 0.0) * ratio
    start = np.random.uniform(0.0, t_end - duration)
    return select_time_max(ev, start, start + duration, invert=True)


def drop_by_area(ev, sensor_size, ratio):
    """Tonic's ``drop_by_area_numpy``: drop the box of ``int(W * r) x int(H * r)`` pixels at a
    random corner (``np.random.randint`` for x, then y); a range ratio ``(a, b)`` is drawn as
    Tonic does, ``np.random.uniform(a and b)`` = U(b, 1) (U(0, 1) when ``a`` is 0)."""
    if not sensor_size:
        if not len(ev):
            return copy(ev)
        sensor_size = (int(ev["x"].max() + 1), int(ev["y"].max() + 1))
    ratio = as_range(ratio)
    if isinstance(ratio, tuple):
        ratio = np.random.uniform(ratio[0] and ratio[1])
    cut_w = int(sensor_size[0] * ratio)
    cut_h = int(sensor_size[1] * ratio)
    x1 = np.random.randint(0, sensor_size[0] - cut_w)
    y1 = np.random.randint(0, sensor_size[1] - cut_h)
    return select(ev, interval(ev, "x", x1, x1 + cut_w - 1),
                  interval(ev, "y", y1, y1 + cut_h - 1), closed=True, invert=True)


@dataclass(frozen=True)
class DropEvent:
    """Drop ``round(p * N)`` events chosen at random (exactly that many, Tonic 1.7).

    Parameters
    ----------
    p : float or (p_min, p_max)
        Fraction dropped, in [0, 1]; a range is sampled per call
        (``np.random.random_sample()``), a list means a range here too.
    """

    p: float | tuple[float, float]

    def __post_init__(self):
        _check_ratio(self.p, "DropEvent", "p", hi_open=False)

    @staticmethod
    def get_params(p):
        """The drop probability for one call (one draw for a range)."""
        return sample(p)

    def __call__(self, events):
        ev = structured(events, "DropEvent")
        return drop_event(ev, self.get_params(self.p))


@dataclass(frozen=True)
class DropEventByTime:
    """Drop the events of one random time interval of ``duration_ratio`` times the sample's
    last timestamp (measured from t = 0, as Tonic; both interval ends dropped).

    Parameters
    ----------
    duration_ratio : float or (min, max)
        In [0, 1); a range is sampled per call (``np.random.uniform(min, max)``).
    """

    duration_ratio: float | tuple[float, float] = 0.2

    def __post_init__(self):
        _check_ratio(self.duration_ratio, "DropEventByTime", "duration_ratio")

    def __call__(self, events):
        return drop_by_time(structured(events, "DropEventByTime", ("t",)), self.duration_ratio)


@dataclass(frozen=True)
class DropEventByArea:
    """Drop the events of a random box of ``area_ratio`` times the sensor's width and height.

    Quirk kept from Tonic 1.7: a range ``(a, b)`` is sampled as ``np.random.uniform(a and b)``,
    i.e. uniformly in ``[b, 1)`` (``[0, 1)`` when ``a`` is 0), not in ``[a, b)``.

    Parameters
    ----------
    sensor_size : (W, H, P)
        Falsy (None): ``max + 1`` of the sample's coordinates.
    area_ratio : float or (min, max)
        In [0, 1).
    """

    sensor_size: tuple[int, int, int]
    area_ratio: float | tuple[float, float] = 0.2

    def __post_init__(self):
        _check_ratio(self.area_ratio, "DropEventByArea", "area_ratio")

    def __call__(self, events):
        ev = structured(events, "DropEventByArea", ("x", "y"))
        return drop_by_area(ev, self.sensor_size, self.area_ratio)


@dataclass(frozen=True)
class EventDrop:
    """EventDrop (Gu et al. 2021): one of identity, drop by time, drop by area, random drop,
    chosen by ``np.random.randint(0, 4)``, with Tonic 1.7's ratios (``randint(1, 10) / 10``,
    area ``randint(1, 6) / 20``). Identity returns the input object itself, as Tonic.

    Parameters
    ----------
    sensor_size : (W, H, P)
    """

    sensor_size: tuple[int, int, int]

    def __call__(self, events):
        choice = np.random.randint(0, 4)
        if choice == 0:
            return events
        if choice == 1:
            ratio = np.random.randint(1, 10) / 10.0
            return drop_by_time(structured(events, "EventDrop", ("t",)), ratio)
        if choice == 2:
            ratio = np.random.randint(1, 6) / 20.0
            return drop_by_area(structured(events, "EventDrop", ("x", "y")), self.sensor_size,
                                ratio)
        ratio = np.random.randint(1, 10) / 10.0
        return drop_event(structured(events, "EventDrop"), ratio)


def _coordinate_table(ev, coordinates):
    """The listed ``(x, y)`` pixels as a table over their own bounding box (no pass over the
    events) when that box is small and the coordinate fields are integers, else over the
    events' coordinate range; pixels off the table are kept."""
    c = np.asarray(list(coordinates) if not isinstance(coordinates, np.ndarray)
                   else coordinates, np.float64).reshape(-1, 2)
    c = c[(c == np.floor(c)).all(axis=1)]                   # integer-valued pixels only
    if not len(c):
        return np.zeros((1, 1), np.bool_), 0, 0
    lo, hi = c.min(axis=0), c.max(axis=0)
    if (hi - lo + 1).prod() <= 1 << 22 and (np.abs(c) < 2.0**62).all() \
            and all(ev.dtype[f].kind in "iu" for f in ("x", "y")):
        table = np.zeros((int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1), np.bool_)
        table[(c[:, 0] - lo[0]).astype(np.int64), (c[:, 1] - lo[1]).astype(np.int64)] = True
        return table, int(lo[0]), int(lo[1])
    x0, x1, y0, y1 = coord_range(ev["x"], ev["y"])
    table = np.zeros((int(x1 - x0) + 1, int(y1 - y0) + 1), np.bool_)
    c = np.asarray(list(coordinates) if not isinstance(coordinates, np.ndarray)
                   else coordinates, np.float64).reshape(-1, 2)
    cx, cy = c[:, 0], c[:, 1]
    ok = (cx == np.floor(cx)) & (cy == np.floor(cy)) & (cx >= x0) & (cx <= x1) \
        & (cy >= y0) & (cy <= y1)
    table[(cx[ok] - x0).astype(np.int64), (cy[ok] - y0).astype(np.int64)] = True
    return table, x0, y0


def _is_raster(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.names is None and a.ndim in (3, 4)


def _zero_pixels(raster: np.ndarray, mask_hw: np.ndarray) -> np.ndarray:
    out = raster.copy()
    out[..., mask_hw] = 0
    return out


@dataclass
class DropPixel:
    """Drop every event of the listed pixels, or of the *hot* pixels firing above
    ``hot_pixel_frequency`` Hz over the sample (``count > f * (t[-1] - t[0]) * 1e-6``).

    Rasters (``[P, H, W]`` or ``[T, P, H, W]`` numpy arrays) get those pixels zeroed; there the
    hot-pixel threshold is a count over the whole raster (Tonic 1.7's rule). Tonic zeroes the
    raster in place and returns it; evframes returns a zeroed copy. Neither option given: the
    events are returned unchanged (Tonic fails iterating ``None``). Coordinates are integers.

    Parameters
    ----------
    coordinates : list of (x, y), optional
    hot_pixel_frequency : float, optional
        Hz (events per second per pixel, timestamps in microseconds).
    """

    coordinates: list[tuple[int, int]] | None = None
    hot_pixel_frequency: int | None = None

    def __call__(self, events):
        if len(events) == 0:
            return events
        if _is_raster(events):
            H, W = events.shape[-2:]
            if self.hot_pixel_frequency:
                merged = events.sum(axis=tuple(range(events.ndim - 2)))
                return _zero_pixels(events, merged > self.hot_pixel_frequency)
            if self.coordinates is None:
                return events.copy()
            mask = np.zeros((H, W), np.bool_)
            for x, y in self.coordinates:
                mask[y, x] = True
            return _zero_pixels(events, mask)
        ev = structured(events, "DropPixel", ("x", "y"))
        if self.hot_pixel_frequency:
            t = ev["t"]
            limit = self.hot_pixel_frequency * (t[-1] - t[0]) * 1e-6
            x0, x1, y0, y1 = coord_range(ev["x"], ev["y"])
            counts = pixel_counts(ev["x"], ev["y"], max(int(x1) + 1, 0), max(int(y1) + 1, 0))
            return drop_table(ev, counts > limit)
        if self.coordinates is None:
            return copy(ev)
        return drop_table(ev, *_coordinate_table(ev, self.coordinates))


@dataclass
class RandomDropPixel:
    """Drop every event of each pixel with probability ``p`` (one ``np.random.rand(W, H) < p``
    draw per call, as Tonic). Rasters: ``np.random.rand(W, H)`` from their last two axes, the
    drawn pixels zeroed in a copy (Tonic zeroes in place).

    Parameters
    ----------
    p : float
    sensor_size : (W, H, P), optional
        None: ``max + 1`` of the sample's coordinates (Tonic 1.7 fails there); empty events
        then come back without a draw.
    """

    p: float
    sensor_size: tuple[int, int, int] | None = None

    def __call__(self, events):
        if _is_raster(events):
            H, W = events.shape[-2:]
            return _zero_pixels(events, (np.random.rand(W, H) < self.p).T)
        ev = structured(events, "RandomDropPixel", ("x", "y"))
        if self.sensor_size is None:
            if not len(ev):
                return copy(ev)
            W, H = int(ev["x"].max() + 1), int(ev["y"].max() + 1)
        else:
            W, H = self.sensor_size[0], self.sensor_size[1]
        return drop_table(ev, np.random.rand(W, H) < self.p)
