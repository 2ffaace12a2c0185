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

from ..._jit import njit
from .event_ops_base import shrink, structured
from .event_ops_kernels import first_at_least

__all__ = ["EventDownsampling"]

OUT_DTYPE = np.dtype({"names": ["x", "y", "p", "t"], "formats": ["i4"] * 4})


@njit(cache=True, nogil=True)
def _integrate(diffs, thr, step_frame, hist, count_only, xs, ys, ps, ts):
    """The integrate-and-fire pass over ``diffs [T, H, W]`` (int16 ON - OFF). Emits into
    ``xs, ys, ps, ts`` (frame index in ``ts``) unless ``count_only``: per frame the ON events
    in row-major order, then the OFF events; with ``hist`` of shape ``[F, H, W, 2]`` adds
    each frame's ON / OFF maps to ``hist[step_frame[t]]`` (from the frame's fired pixels).
    Returns the number of emitted events and the last firing frame (-1: none). A pixel's
    state resets as soon as its own maps are known (they depend on it only). Branch free per
    pixel: every pixel is written as the next ON and OFF candidate of the frame (small
    buffers), the counts advance only where it fires."""
    T, H, W = diffs.shape
    state = np.zeros((H, W))
    cand = np.empty((4, H * W), np.int64)      # ON x, ON y, OFF x, OFF y
    k = 0
    last = -1
    F = hist.shape[0]
    for t in range(T):
        f = step_frame[t]
        n_on = n_off = 0
        for y in range(H):
            for x in range(W):
                s = state[y, x] + diffs[t, y, x]
                up = s >= thr
                down = -s >= thr
                state[y, x] = 0.0 if up | down else s
                cand[0, n_on] = x
                cand[1, n_on] = y
                cand[2, n_off] = x
                cand[3, n_off] = y
                n_on += up
                n_off += down
        if n_on + n_off == 0:
            continue
        last = t
        if f < F:
            for q in range(n_on):
                hist[f, cand[1, q], cand[0, q], 1] += 1
            for q in range(n_off):
                hist[f, cand[3, q], cand[2, q], 0] += 1
        if not count_only:
            for q in range(n_on):
                xs[k + q], ys[k + q], ps[k + q], ts[k + q] = cand[0, q], cand[1, q], 1, t
            for q in range(n_off):
                j = k + n_on + q
                xs[j], ys[j], ps[j], ts[j] = cand[2, q], cand[3, q], 0, t
        k += n_on + n_off
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
def _bin_diffs(x, y, p, t, fx, fy, starts, dt, n, diffs):
    """Tonic's ``to_frame_numpy`` of the scaled events, ON - OFF, into ``diffs [T, H', W']``
    int16 (Tonic subtracts its two int16 frames: the same value modulo 2**16): window ``w``
    counts the events with ``starts[w] <= t < starts[w] + dt`` (``searchsorted`` bounds in the
    sorted ``t``) at ``(trunc(y * fy), trunc(x * fx))``, +1 on channel 1, -1 on channel 0 (a
    channel ``p`` in ``[-2, 2)``, negative from the end; Tonic writes the products into the
    coordinate fields, the same for every coordinate on the target; negative indices count
    from the end, as numpy's). Returns the first event off the target, or -1."""
    H, W = diffs.shape[1], diffs.shape[2]
    for w in range(diffs.shape[0]):
        i0 = first_at_least(t, starts[w], False)
        i1 = first_at_least(t, starts[w] + dt, False)
        for i in range(i0, min(i1, n)):
            xi = np.int64(x[i] * fx)
            yi = np.int64(y[i] * fy)
            pi = np.int64(p[i])
            if not (-W <= xi < W and -H <= yi < H and -2 <= pi < 2):
                return i
            diffs[w, yi + H if yi < 0 else yi, xi + W if xi < 0 else xi] += \
                np.int16(2 * (pi & 1) - 1)          # channel pi & 1 (-2 -> 0, -1 -> 1)
    return -1


def _frames(ev, sensor_size, target_size, dt):
    """Tonic's scaled, binned ON - OFF frames ``[T, H', W']`` int16: ``ToFrame(time_window=dt)``
    windows (``SliceByTime``: from the first event, stride ``dt``, incomplete tail dropped)."""
    factor = np.asarray(target_size) / sensor_size[:-1]
    t = ev["t"]
    duration = t[-1] - t[0]
    n = max(int(np.floor((duration - dt) / dt) + 1), 1)
    starts = np.arange(n) * dt + t[0]
    diffs = np.zeros((n, target_size[1], target_size[0]), np.int16)
    bad = _bin_diffs(ev["x"], ev["y"], ev["p"], t, factor[0], factor[1], starts, dt, len(t),
                     diffs)
    if bad >= 0:
        raise ValueError(f"EventDownsampling: event {bad} (x={ev['x'][bad]}, y={ev['y'][bad]}, "
                         f"p={ev['p'][bad]}) falls off the {tuple(target_size)} target")
    return diffs


def _empty():
    return np.zeros(0, OUT_DTYPE)


def integrator(ev, sensor_size, target_size, dt, noise_threshold):
    """Tonic's ``integrator_downsample`` (``dt`` in ms for integer timestamps)."""
    if np.issubdtype(ev["t"].dtype, np.integer):
        dt = dt * 1000
    diffs = _frames(ev, sensor_size, target_size, dt)
    none = np.zeros((0, 1, 1, 2))
    idx = np.zeros(len(diffs), np.int64)
    out = _emit(lambda count, o: _integrate(diffs, noise_threshold, idx, none, count,
                                            o["x"], o["y"], o["p"], o["t"])[0],
                2 * diffs.size, len(ev))     # per step and pixel: ON, OFF (threshold 0), both
    out["t"] = out["t"].astype(np.int64) * dt   # float or int products truncated, as Tonic
    return out


def _emit(run, bound: int, n_events: int):
    """The events a kernel ``run(count_only, out) -> n`` emits, as an ``OUT_DTYPE`` array:
    one emitting pass into a buffer of ``bound`` records (the most the kernel can emit; it
    writes unchecked) shrunk in place when the bound is small (a few times the input), else a
    counting pass and an emitting pass."""
    if bound <= max(4 * n_events, 1 << 20):
        out = np.empty(bound, OUT_DTYPE)
        return shrink(out, run(False, out))
    out = np.empty(run(True, np.empty(0, OUT_DTYPE)), OUT_DTYPE)
    run(False, out)
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
    buf = np.zeros(0, np.int32)
    # one pass filling the frames of every step; Tonic's histogram stops at the frame of the
    # last firing step (events_integrated[-1]), and the frames after it stay zero: cut there
    per_frame = int(np.bincount(frame_of).max()) if len(frame_of) else 0
    hist = np.zeros((int(frame_of[-1]) + 1 if len(frame_of) else 0, *diffs.shape[1:], 2),
                    np.int16 if per_frame < 2**15 else np.int64)   # counts <= steps per frame
    _, last = _integrate(diffs, noise_threshold, frame_of, hist, True, buf, buf, buf, buf)
    if last < 0:
        return _empty()
    hist = hist[:int(frame_of[last]) + 1]
    out = _emit(lambda count, o: _rising(hist, count, o["x"], o["y"], o["p"], o["t"]),
                hist.size, len(ev))
    out["t"] = out["t"].astype(np.int64) * dt
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
