"""Tonic 1.7's voxel grid, time surface, HATS and Bina-Rep on its structured events.

Orchestration of :mod:`._kernels`; formulas and quirks in :mod:`.functional`. The scalar
arithmetic Tonic does on NumPy scalars (window times, ``t[0]``, the span) is done here on the
same scalars, so its types and rounding carry over.
"""
from __future__ import annotations

from math import ceil

import numpy as np

from ...integrate import tonic_rules as R
from . import _kernels as K
from ._events import TonicIndexError, fields, integer_field, sensor_of

_PAIR_BUDGET = 1 << 22  # HATS neighbour pairs held at once (float32 + int64 each)


def _view(a):
    return a.view(np.uint8) if a.dtype == np.bool_ else a


def _status(code, i, what, f, extra=""):
    if code == K.BAD_T:
        raise ValueError(f"{what}: events['t'] is not sorted: it decreases at index {i} "
                         f"({f.t[i - 1]} -> {f.t[i]}); sort the events by t")
    if code == K.BAD_INDEX:
        y = f"y={f.y[i]}, " if f.y is not None else ""
        p = f", p={f.p[i]}" if f.p is not None else ""
        raise TonicIndexError(f"{what}: event {i} (x={f.x[i]}, {y}t={f.t[i]}{p}) is outside "
                              f"the frame{extra} (sensor_size)")


def _zeros_like_field(f):
    return np.zeros(f.n, np.int8)


def voxel_grid(events, sensor_size, n_time_bins=10, what="to_voxel_grid_numpy"):
    """float64 ``[n_time_bins, 1, H, W]`` (see :func:`.functional.to_voxel_grid_numpy`)."""
    f = fields(events, "xtp", what)
    W, H, P = sensor_of(sensor_size, what)
    if P != 2:
        raise ValueError(f"{what}: sensor_size[2] must be 2 polarities, got {sensor_size!r} "
                         "(Tonic asserts it)")
    n = int(n_time_bins)
    if n < 0:
        raise ValueError(f"{what}: n_time_bins must be >= 0, got {n_time_bins!r}")
    out = np.zeros(n * H * W, np.float64)
    if f.n and n:
        t = f.t
        with np.errstate(over="ignore"):  # unsigned t that decreases: refused below
            span = t[-1] - t[0]
        y = f.y if f.y is not None else _zeros_like_field(f)
        code, i = K.voxel(_view(t), _view(f.x), _view(y), _view(f.p), n, H, W,
                          np.float64(t[0]), np.float64(span), f.p.dtype == np.bool_, out)
        _status(code, i, what, f)
    return out.reshape(n, 1, H, W)


def time_surface(events, sensor_size, dt, tau, overlap=0, include_incomplete=False,
                 what="to_timesurface_numpy"):
    """float64 ``[n_slices, P, H, W]`` (see :func:`.functional.to_timesurface_numpy`)."""
    f = fields(events, "xtp", what)
    W, H, P = sensor_of(sensor_size, what)
    if not dt >= 0:
        raise ValueError(f"{what}: dt cannot be negative, got {dt!r}")
    if f.n == 0:
        return np.zeros((1, P, H, W))
    integer_field(f.x, "x", what)
    integer_field(f.y, "y", what)
    t = f.t
    starts, ends = R.time_window_bounds(t, dt, overlap, include_incomplete)
    t0 = t[0]
    te = np.array([np.float64((i + 1) * dt + t0) for i in range(starts.shape[0])],
                  np.float64)
    out = np.empty((starts.shape[0], P * H * W), np.float64)
    has_y = f.y is not None
    code, i = K.time_surface(_view(t), _view(f.x), _view(f.y if has_y else f.x),
                             _view(f.p), starts, ends, te, np.float64(tau), P, H, W, has_y,
                             out)
    _status(code, i, what, f)
    bad = R.check_sorted_outside(_view(t), starts, ends)
    if bad is not None:
        _status(K.BAD_T, bad, what, f)
    np.exp(out, out=out)
    return out.reshape(-1, P, H, W)


def averaged_time_surface(events, sensor_size, cell_size, surface_size, time_window, tau,
                          decay, what="to_averaged_timesurface_numpy"):
    """float32 ``[cells, P, S, S]`` (see :func:`.functional.to_averaged_timesurface_numpy`)."""
    if not surface_size <= cell_size:
        raise ValueError(f"{what}: surface_size ({surface_size}) must be <= cell_size "
                         f"({cell_size})")
    if surface_size % 2 == 0:
        raise ValueError(f"{what}: surface_size must be odd, got {surface_size}")
    if decay not in ("lin", "exp"):
        raise ValueError(f"{what}: decay must be 'lin' or 'exp', got {decay!r}")
    f = fields(events, "xytp", what)
    W, H, P = sensor_of(sensor_size, what)
    integer_field(f.x, "x", what)
    integer_field(f.y, "y", what)
    cell, S = int(cell_size), int(surface_size)
    wgrid = ceil(W / cell)
    ncells = int(wgrid * ceil(H / cell))
    hist = np.zeros((ncells * P, S * S), np.float32)
    if f.n == 0:
        return hist.reshape(ncells, P, S, S)
    x, y, t, p = _view(f.x), _view(f.y), _view(f.t), _view(f.p)
    group = np.empty(f.n, np.int64)
    per_group = np.zeros(ncells * P, np.int64)
    code, i = K.hats_groups(x, y, p, t, cell, wgrid, ncells, P, group, per_group)
    _status(code, i, what, f, extra=" cells")
    first = np.zeros(ncells * P + 1, np.int64)
    np.cumsum(per_group, out=first[1:])
    t32 = f.t.astype(np.float32)                       # Tonic: t as float32
    tstart = np.maximum(t32 - time_window, 0).astype(np.float64)  # max(0, t_i - window)
    n = f.n  # the events sorted by group (a stable counting sort), fields gathered
    gx, gy, gg, gstart = (np.empty(n, np.int64) for _ in range(4))
    gt, gts = np.empty(n, np.float32), np.empty(n, np.float64)
    K.hats_gather(group, first, x, y, t32, tstart, gx, gy, gt, gts, gg, gstart)
    rho = S // 2
    ux, uy = f.x.dtype.kind == "u", f.y.dtype.kind == "u"
    counts = np.zeros(n, np.int64)
    none_f, none_i = np.empty(0, np.float32), np.empty(0, np.int64)
    K.hats_pairs(gstart, gt, gts, gx, gy, rho, S, ux, uy, 0, n, counts, False, none_f,
                 none_i, none_i, 0)
    base = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=base[1:])
    surf = np.zeros(S * S, np.float32)
    r0 = 0
    while r0 < n:  # blocks of events holding at most _PAIR_BUDGET pairs (one at least)
        r1 = int(np.searchsorted(base, base[r0] + _PAIR_BUDGET, side="right")) - 1
        r1 = min(max(r1, r0 + 1), n)
        m = int(base[r1] - base[r0])
        dts = np.empty(m, np.float32)
        offs = np.empty(m, np.int64)
        K.hats_pairs(gstart, gt, gts, gx, gy, rho, S, ux, uy, r0, r1, counts, True, dts,
                     offs, base, base[r0])
        if decay == "exp":  # Tonic's expressions on the same float32 differences
            vals = np.exp(-dts / tau)
        else:
            vals = -dts / (3 * tau) + 1
        vals = vals.astype(np.float32, copy=False)
        K.hats_accumulate(gg, r0, r1, base, base[r0], counts, vals, offs, S, surf, hist)
        r0 = r1
    hist /= np.maximum(1, per_group).astype(np.float32)[:, None]
    return hist.reshape(ncells, P, S, S)


def bina_rep(event_frames, n_frames=1, n_bits=8, what="to_bina_rep_numpy"):
    """float32 ``[n_frames, P, H, W]`` (see :func:`.functional.to_bina_rep_numpy`)."""
    if not isinstance(event_frames, np.ndarray) or event_frames.ndim != 4:
        raise ValueError(f"{what}: event_frames must be a 4-D numpy array [T*B, P, H, W], "
                         f"got {type(event_frames).__name__}"
                         + (f" of shape {event_frames.shape}"
                            if hasattr(event_frames, "shape") else ""))
    if not n_frames >= 1 or not n_bits >= 2:
        raise ValueError(f"{what}: need n_frames >= 1 and n_bits >= 2, got {n_frames}, "
                         f"{n_bits}")
    if event_frames.shape[0] != n_bits * n_frames:
        raise ValueError(
            "the input event_frames must have the right number of frames to the targeted"
            f"sequence of {n_frames} bina-rep event frames of {n_bits}-bit representation."
            f"Got: {event_frames.shape[0]} frames. Expected: {n_frames}x{n_bits}="
            f"{n_bits * n_frames} frames.")
    bits = (event_frames > 0).reshape(n_frames, n_bits, -1)
    out = np.zeros((n_frames, bits.shape[2]), np.float32)
    for k in range(n_bits):  # the highest bit first, float32 sums in Tonic's order
        w = np.float32(2.0) ** np.float32(n_bits - 1 - k)
        out += w * bits[:, k]
    out /= np.float32(2 ** n_bits - 1)
    return out.reshape(n_frames, *event_frames.shape[1:])
