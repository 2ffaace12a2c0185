"""Tonic's spatial event transforms: flips, crops, Downsample, SpatialJitter (Tonic 1.7 values).

Events are Tonic's structured arrays (fields ``x, y, t, p``, any dtypes; see
:mod:`.event_ops_base`); ``sensor_size`` is ``(W, H, P)`` in pixels. Random decisions are drawn
from numpy's global generator (``np.random``) with the same calls, in the same order, as Tonic
1.7, so after ``np.random.seed(s)`` the results equal Tonic's and leave the generator in the
same state.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .event_ops_base import (
    affine,
    as_range,
    bound,
    int_span,
    mapped,
    sample,
    scale,
    shrink,
    structured,
)
from .event_ops_draws import global_state, normal_fill, spatial_jitter_records, store_state
from .event_ops_fused import crop_ibox
from .event_ops_kernels import crop_records, jitter2_records

__all__ = ["CenterCrop", "RandomCrop", "RandomFlipLR", "RandomFlipUD", "Downsample",
           "SpatialJitter"]


def _check_p(p, name):
    if not 0 <= p <= 1:
        raise ValueError(f"{name}: p must be in [0, 1], got {p}")


def _flip(events, p, field: str, size: int, name: str):
    ev = structured(events, name, (field,))
    flip = np.random.rand() <= p
    return mapped(ev, [affine(ev, field, -1, size - 1)] if flip else [])


@dataclass(frozen=True)
class RandomFlipLR:
    """Mirror the events in x with probability ``p``: ``x' = W - 1 - x``.

    Parameters
    ----------
    sensor_size : (W, H, P)
        Sensor size in pixels; only ``W`` is used.
    p : float
        Probability of the flip (one draw ``np.random.rand() <= p`` per call, as Tonic; the
        whole sample flips or none of it). Audio events (no ``y``) work too.
    """

    sensor_size: tuple[int, int, int]
    p: float = 0.5

    def __post_init__(self):
        _check_p(self.p, "RandomFlipLR")

    def __call__(self, events):
        return _flip(events, self.p, "x", self.sensor_size[0], "RandomFlipLR")


@dataclass(frozen=True)
class RandomFlipUD:
    """Mirror the events in y with probability ``p``: ``y' = H - 1 - y``.

    Parameters
    ----------
    sensor_size : (W, H, P)
        Sensor size in pixels; only ``H`` is used.
    p : float
        Probability of the flip (one draw ``np.random.rand() <= p`` per call, as Tonic).
    """

    sensor_size: tuple[int, int, int]
    p: float = 0.5

    def __post_init__(self):
        _check_p(self.p, "RandomFlipUD")

    def __call__(self, events):
        return _flip(events, self.p, "y", self.sensor_size[1], "RandomFlipUD")


def _crop(ev, x0, y0, w, h, dx, dy):
    """Events with ``x0 <= x < x0 + w`` and ``y0 <= y < y0 + h``, moved by ``-dx, -dy``."""
    out = np.empty_like(ev)
    x, y = ev["x"], ev["y"]
    _, _, ax, bx = affine(ev, "x", 1, -dx)
    _, _, ay, by = affine(ev, "y", 1, -dy)
    sx = int_span(x.dtype, bound(x.dtype, x0), bound(x.dtype, x0 + w), closed=False)
    sy = int_span(y.dtype, bound(y.dtype, y0), bound(y.dtype, y0 + h), closed=False)
    if sx is not None and sy is not None:
        if sx[1] is None or sy[1] is None:
            return shrink(out, 0)
        return shrink(out, crop_ibox(ev, out, x, y, out["x"], out["y"], *sx, *sy, bx, by))
    n = crop_records(ev, out, x, y, bound(x.dtype, x0), bound(x.dtype, x0 + w),
                     bound(y.dtype, y0), bound(y.dtype, y0 + h), out["x"], out["y"],
                     ax, bx, ay, by)
    return shrink(out, n)


@dataclass
class CenterCrop:
    """The centred ``size`` window of the sensor, events moved to its origin (Tonic 1.7).

    ``size = (w, h)`` pixels in Tonic's code order (x first, whatever its docstring says), or
    one int for a square. Offsets are ``((W - w) // 2, (H - h) // 2)``; events are kept in the
    window clipped at 0 and shifted by the unclipped offset, so a ``size`` larger than the
    sensor pads (moves events right / down) instead of cropping. Use the new size in later
    transforms.

    Parameters
    ----------
    sensor_size : (W, H, P)
    size : int or (w, h)
    """

    sensor_size: tuple[int, int, int]
    size: int | tuple[int, int]

    def __call__(self, events):
        ev = structured(events, "CenterCrop", ("x", "y"))
        size = (self.size, self.size) if np.ndim(self.size) == 0 else self.size
        ox = (self.sensor_size[0] - size[0]) // 2
        oy = (self.sensor_size[1] - size[1]) // 2
        return _crop(ev, max(ox, 0), max(oy, 0), size[0], size[1], ox, oy)


@dataclass(frozen=True)
class RandomCrop:
    """A random ``target_size = (w, h)`` window of the sensor, events moved to its origin.

    The window's corner is ``int(np.random.rand() * (W - w))``, then the same for y (two draws,
    as Tonic; the corner never reaches ``W - w`` itself, a Tonic quirk kept).

    Parameters
    ----------
    sensor_size : (W, H, P)
    target_size : (w, h)
        Must fit the sensor (``ValueError`` here; Tonic asserts at the first call).
    """

    sensor_size: tuple[int, int, int]
    target_size: tuple[int, int]

    def __post_init__(self):
        if (self.target_size[0] > self.sensor_size[0]
                or self.target_size[1] > self.sensor_size[1]):
            raise ValueError(f"RandomCrop: target_size {tuple(self.target_size)} exceeds "
                             f"sensor_size {tuple(self.sensor_size[:2])}")

    def __call__(self, events):
        ev = structured(events, "RandomCrop", ("x", "y"))
        (W, H), (w, h) = self.sensor_size[:2], self.target_size
        x0 = int(np.random.rand() * (W - w))
        y0 = int(np.random.rand() * (H - h))
        return _crop(ev, x0, y0, w, h, x0, y0)


@dataclass(frozen=True)
class Downsample:
    """Multiply timestamps by ``time_factor`` and coordinates by ``spatial_factor``; no event
    is dropped (Tonic 1.7).

    Results are written back into the input's field dtypes, so integer fields are truncated
    toward zero (``x = 5, factor 0.25 -> 1``), exactly as Tonic's assignment does; with
    ``target_size`` the factors are ``target_size / sensor_size[:-1]`` (float64).

    Parameters
    ----------
    time_factor : float or (lo, hi)
        A range is sampled uniformly per call (one ``np.random.random_sample()``, as Tonic's
        time skew); a list means the same here (Tonic fails on a list).
    spatial_factor : float or (fx, fy)
    sensor_size : (W, H, P), optional
        Needed with ``target_size``.
    target_size : (W', H'), optional
        Overrides ``spatial_factor``.
    """

    time_factor: float = 1
    spatial_factor: float | tuple[float, float] = 1
    sensor_size: tuple[int, int, int] | None = None
    target_size: tuple[int, int] | None = None

    def __post_init__(self):
        if self.target_size is not None and self.sensor_size is None:
            raise ValueError("Downsample: target_size needs sensor_size")

    @staticmethod
    def get_params(spatial_factor):
        """``(f, f)`` for one factor, the pair itself otherwise."""
        spatial_factor = as_range(spatial_factor)
        if not isinstance(spatial_factor, tuple):
            spatial_factor = (spatial_factor, spatial_factor)
        return spatial_factor

    def __call__(self, events):
        ev = structured(events, "Downsample")
        if self.target_size is not None:
            factor = np.asarray(self.target_size) / self.sensor_size[:-1]
        else:
            factor = self.get_params(self.spatial_factor)
        coef = sample(self.time_factor)     # Tonic's time skew draw
        names = ev.dtype.names
        xy = [scale(ev, f, factor[k]) for k, f in enumerate("xy") if f in names]
        if "t" not in names:
            return mapped(ev, xy)
        if ev.dtype["t"].kind in "biu":     # t * coef + 0 cast into t is t * coef cast
            return mapped(ev, [scale(ev, "t", coef)] + xy)
        out = mapped(ev, [affine(ev, "t", coef, 0)])    # float t: Tonic's + 0 (-0.0 -> 0.0)
        return mapped(out, xy) if xy else out


@dataclass(frozen=True)
class SpatialJitter:
    """Add 2-D Gaussian noise to each event's ``(x, y)`` (Tonic 1.7).

    One ``np.random.multivariate_normal([0, 0], [[var_x, sigma_xy], [sigma_xy, var_y]], N)``
    draw (Tonic's call, replayed bit for bit by :mod:`.event_ops_draws`, fused with the pass
    when every shift is one rounded product, i.e. ``sigma_xy = 0``; so seeded runs agree);
    the shifted coordinates are written
    back into the coordinate dtype (integers truncated toward zero, so ``-0.7 -> 0`` stays on
    the sensor), then with ``clip_outliers`` events off ``[0, W) x [0, H)`` are dropped.

    Parameters
    ----------
    sensor_size : (W, H, P)
    var_x, var_y : float
        Variances in pixels squared.
    sigma_xy : float
        Covariance.
    clip_outliers : bool
    """

    sensor_size: tuple[int, int, int]
    var_x: float = 1
    var_y: float = 1
    sigma_xy: float = 0
    clip_outliers: bool = False

    def __call__(self, events):
        ev = structured(events, "SpatialJitter", ("x", "y"))
        cov = [[self.var_x, self.sigma_xy], [self.sigma_xy, self.var_y]]
        n = len(ev)
        state = global_state() if n else None
        if state is not None:
            np.random.multivariate_normal([0, 0], cov, 0)   # numpy's checks and warning only
            _, s, v = np.linalg.svd(np.array(cov).astype(np.double))
            M = np.sqrt(s)[:, None] * v                     # numpy's factor of cov
            exact = M.shape == (2, 2) and bool(np.all((M == 0).any(axis=0)))
        out = np.empty_like(ev)
        if state is not None and exact:   # every shift is one rounded product: fused replay
            k = spatial_jitter_records(ev, out, ev["x"], out["x"], ev["y"], out["y"], *state,
                                       np.ascontiguousarray(M), np.zeros(2),
                                       bool(self.clip_outliers), self.sensor_size[0],
                                       self.sensor_size[1])
            store_state(state)
            return shrink(out, k)
        if state is not None:      # replayed normals, numpy's own product (BLAS rounding)
            z = np.empty((n, 2))
            normal_fill(*state, 0.0, 1.0, z.reshape(-1))
            store_state(state)
            shifts = np.dot(z, M)
            shifts += np.array([0, 0])
        else:
            shifts = np.random.multivariate_normal([0, 0], cov, n)
        if not n:
            return out
        k = jitter2_records(ev, out, ev["x"], out["x"], shifts[:, 0], ev["y"], out["y"],
                            shifts[:, 1], bool(self.clip_outliers), self.sensor_size[0],
                            self.sensor_size[1])
        return shrink(out, k)
