"""Tonic 1.7's ``EventDownsampling`` (Ghosh et al. 2023, "Insect-inspired spatio-temporal
downsampling of event-based input"): integrator and differentiator methods, Tonic's values.

Integrator: coordinates are scaled by ``target_size / sensor_size[:2]`` (truncated into the
coordinate dtype), binned by Tonic's ``ToFrame(time_window=dt)`` into int16 frames ``[T, 2, H',
W']`` (windows from the first event, the incomplete tail dropped), and per
pixel an integrate-and-fire state accumulates ``ON - OFF`` counts frame by frame; where it
reaches ``+noise_threshold`` an ON event (p 1) is emitted, where it reaches ``-noise_threshold``
an OFF event (p 0), and those pixels reset to 0. Output events are int32 ``(x, y, p, t)`` with
``t = frame index * dt`` (from 0, not from the first event's time), per frame the ON events in
row-major order, then the OFF events. ``dt`` is in milliseconds for integer timestamps (then
taken as microseconds x 1000, as Tonic; float timestamps are used as they are, and the
differentiator, which fails on them in Tonic, then leaves ``dt`` unscaled too).

Differentiator: the integrator with ``dt / differentiator_time_bins``; each firing step adds its
ON / OFF maps to frame ``int(step time // dt)``; the positive frame-to-frame differences become
the events (``t = difference index * dt``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .event_ops_base import structured

__all__ = ["EventDownsampling"]

OUT_DTYPE = np.dtype({"names": ["x", "y", "p", "t"], "formats": ["i4"] * 4})


@njit(cache=True, nogil=True)
def _integrate(diffs, thr, step_frame, hist, count_only, xs, ys, ps, ts):
    """The integrate-and-fire pass over ``diffs [T, H, W]`` (int16 ON - OFF). Emits into
    ``xs, ys, ps, ts`` (frame index in ``ts``) unless ``count_only``; with ``hist`` of shape
    ``[F, H, W, 2]`` adds each frame's ON / OFF maps to ``hist[step_frame[t]]`` (only firing
    frames add anything). Returns the number of emitted events and the last firing frame (-1:
    none). A pixel's state resets as soon as its own maps are known (they depend on it only)."""
    T, H, W = diffs.shape
    state = np.zeros((H, W))
    pos = np.zeros((H, W), np.bool_)
    neg = np.zeros((H, W), np.bool_)
    k = 0
    last = -1
    F = hist.shape[0]
    for t in range(T):
        f = step_frame[t]
        fired = 0
        for y in range(H):
            for x in range(W):
                s = state[y, x] + diffs[t, y, x]
                up = s >= thr
                down = -s >= thr
                pos[y, x] = up
                neg[y, x] = down
                if up or down:
                    state[y, x] = 0.0
                    fired += up + down
                    if f < F:
                        hist[f, y, x, 1] += up
                        hist[f, y, x, 0] += down
                else:
                    state[y, x] = s
        if fired == 0:
            continue
        last = t
        if count_only:
            k += fired
            continue
        for p, mask in ((1, pos), (0, neg)):
            for y in range(H):
                for x in range(W):
                    if mask[y, x]:
                        xs[k], ys[k], ps[k], ts[k] = x, y, p, t
                        k += 1
    return k, last


@njit(cache=True, nogil=True)
def _rising(hist, count_only, xs, ys, ps, ts):
    """``np.nonzero(np.diff(hist, axis=0).clip(min=0))`` of ``hist [F, H, W, 2]`` as events
    (C order: difference index, y, x, p), without the difference array. Returns the count."""
    F, H, W, C = hist.shape
    k = 0
    for f in range(F - 1):
        for y in range(H):
            for x in range(W):
                for p in range(C):
                    if hist[f + 1, y, x, p] - hist[f, y, x, p] > 0:
                        if not count_only:
                            xs[k], ys[k], ps[k], ts[k] = x, y, p, f
                        k += 1
    return k


@njit(cache=True, nogil=True)
def _bin_diffs(x, y, p, fx, fy, starts, ends, frames):
    """Tonic's ``to_frame_numpy`` of the scaled events into ``frames [T, 2, H', W']`` int16:
    window ``w`` counts events ``starts[w] <= i < ends[w]`` at ``(p, trunc(y * fy),
    trunc(x * fx))`` (Tonic writes the products into the coordinate fields: the same for every
    coordinate on the target; negative indices count from the end, as numpy's). Returns the
    first event off the target, or -1."""
    C, H, W = frames.shape[1], frames.shape[2], frames.shape[3]
    for w in range(starts.shape[0]):
        for i in range(starts[w], ends[w]):
            xi = np.int64(x[i] * fx)
            yi = np.int64(y[i] * fy)
            pi = np.int64(p[i])
            if not (-W <= xi < W and -H <= yi < H and -C <= pi < C):
                return i
            frames[w, pi + C if pi < 0 else pi, yi + H if yi < 0 else yi,
                   xi + W if xi < 0 else xi] += 1
    return -1


def _frames(ev, sensor_size, target_size, dt):
    """Tonic's scaled, binned ON - OFF frames ``[T, H', W']`` int16: ``ToFrame(time_window=dt)``
    windows (``SliceByTime``: from the first event, stride ``dt``, incomplete tail dropped)."""
    factor = np.asarray(target_size) / sensor_size[:-1]
    t = ev["t"]
    duration = t[-1] - t[0]
    n = max(int(np.floor((duration - dt) / dt) + 1), 1)
    starts = np.arange(n) * dt + t[0]
    i0 = np.searchsorted(t, starts)[:n]
    i1 = np.searchsorted(t, starts + dt)[:n]
    frames = np.zeros((n, 2, target_size[1], target_size[0]), np.int16)
    bad = _bin_diffs(ev["x"], ev["y"], ev["p"], factor[0], factor[1], i0, i1, frames)
    if bad >= 0:
        raise ValueError(f"EventDownsampling: event {bad} (x={ev['x'][bad]}, y={ev['y'][bad]}, "
                         f"p={ev['p'][bad]}) falls off the {tuple(target_size)} target")
    return frames[:, 1] - frames[:, 0]


def _empty():
    return np.zeros(0, OUT_DTYPE)


def integrator(ev, sensor_size, target_size, dt, noise_threshold):
    """Tonic's ``integrator_downsample`` (``dt`` in ms for integer timestamps)."""
    if np.issubdtype(ev["t"].dtype, np.integer):
        dt = dt * 1000
    diffs = _frames(ev, sensor_size, target_size, dt)
    none = np.zeros((0, 1, 1, 2))
    idx = np.zeros(len(diffs), np.int64)
    buf = np.zeros(0, np.int64)
    n, _ = _integrate(diffs, noise_threshold, idx, none, True, buf, buf, buf, buf)
    xs, ys, ps, ts = (np.empty(n, np.int64) for _ in range(4))
    _integrate(diffs, noise_threshold, idx, none, False, xs, ys, ps, ts)
    out = np.empty(n, OUT_DTYPE)
    out["x"], out["y"], out["p"] = xs, ys, ps
    out["t"] = ts * dt            # float (or int) products truncated into int32, as Tonic
    return out


def differentiator(ev, sensor_size, target_size, dt, bins, noise_threshold):
    """Tonic's ``differentiator_downsample``."""
    scaled = np.issubdtype(ev["t"].dtype, np.integer)
    step = dt / bins
    if scaled:
        step = step * 1000
        dt = dt * 1000
    if step // ev["t"][-1] != 0:
        raise ValueError(f"EventDownsampling: dt / differentiator_time_bins ({step}) must be "
                         f"shorter than the last timestamp ({ev['t'][-1]})")
    diffs = _frames(ev, sensor_size, target_size, step)
    frame_of = (np.arange(len(diffs)) * step // dt).astype(np.int64)
    none = np.zeros((0, 1, 1, 2))
    buf = np.zeros(0, np.int64)
    _, last = _integrate(diffs, noise_threshold, frame_of, none, True, buf, buf, buf, buf)
    if last < 0:
        return _empty()
    # frames up to the one of the last firing step (Tonic: events_integrated[-1])
    hist = np.zeros((int(frame_of[last]) + 1, *diffs.shape[1:], 2))
    _integrate(diffs, noise_threshold, frame_of, hist, True, buf, buf, buf, buf)
    n = _rising(hist, True, buf, buf, buf, buf)
    xs, ys, ps, ts = (np.empty(n, np.int64) for _ in range(4))
    _rising(hist, False, xs, ys, ps, ts)
    out = np.empty(n, OUT_DTYPE)
    out["x"], out["y"], out["p"] = xs, ys, ps
    out["t"] = ts * dt
    return out


@dataclass(frozen=True)
class EventDownsampling:
    """Spatio-temporal event downsampling (Tonic 1.7): ``downsampling_method`` "integrator"
    or "differentiator" (see the module docstring for the rules and output).

    Where Tonic's defaults fail (``noise_threshold=None`` trips its ``isinstance(int)``
    assertion, ``differentiator_time_bins=None`` its arithmetic), evframes uses its functions'
    documented defaults, 0 and 2. Empty input, or no pixel ever firing, gives empty events
    (Tonic fails concatenating nothing). Output: int32 fields ``x, y, p, t``.

    Parameters
    ----------
    sensor_size : (W, H, P)
    target_size : (W', H')
    downsampling_method : {"integrator", "differentiator"}
    dt : float
        Milliseconds for integer (microsecond) timestamps.
    noise_threshold : int, optional
    differentiator_time_bins : int, optional
    """

    sensor_size: tuple[int, int, int]
    target_size: tuple[int, int]
    downsampling_method: str
    dt: float | None = None
    noise_threshold: int | None = None
    differentiator_time_bins: int | None = None

    def __post_init__(self):
        if self.downsampling_method not in ("integrator", "differentiator"):
            raise ValueError("EventDownsampling: downsampling_method must be 'integrator' or "
                             f"'differentiator', got {self.downsampling_method!r}")
        if self.dt is None:
            raise ValueError("EventDownsampling needs dt (milliseconds)")
        bins = self.differentiator_time_bins
        if bins is not None and not (bins >= 1 and float(bins).is_integer()):
            raise ValueError(f"EventDownsampling: differentiator_time_bins must be a whole "
                             f"number >= 1, got {bins}")

    def __call__(self, events):
        ev = structured(events, "EventDownsampling", ("x", "y", "t", "p"))
        if not len(ev):
            return _empty()
        thr = 0 if self.noise_threshold is None else self.noise_threshold
        if self.downsampling_method == "integrator":
            return integrator(ev, self.sensor_size, self.target_size, self.dt, thr)
        bins = 2 if self.differentiator_time_bins is None else self.differentiator_time_bins
        return differentiator(ev, self.sensor_size, self.target_size, self.dt, bins, thr)
