"""Numba kernels of :mod:`evframes.integrate.representations` (one sample each).

Small, ``cache=True``, ``nogil=True``, typed by their inputs, no Python objects. Inputs are
already validated by the caller: ``t`` int64 microseconds (sorted), ``x``, ``y`` pixels inside
``H x W``, ``p`` 0/1, ``starts``/``ends`` int64 event-index windows (``starts <= ends``, inside
the arrays). ``out`` is preallocated ``[n_windows, ...]`` and fully written here. The formulas
are documented in :mod:`evframes.integrate.representations`.
"""
from __future__ import annotations

import math

import numpy as np

from .._jit import njit
from ._decay import EXP_BIAS as _EXP_BIAS
from ._decay import LN2_HI as _LN2_HI
from ._decay import LN2_LO as _LN2_LO
from ._decay import LOG2E as _LOG2E
from ._decay import TAYLOR as _TAYLOR
from ._decay import ZMAX as _ZMAX
from ._decay import ZMIN as _ZMIN
from ._kernels import _any_bad

_CHUNK = 1024  # events per buffered chunk (voxel, stacked histogram, time surface)
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11 = _TAYLOR


@njit(cache=True, nogil=True)
def _chunk_bad(t, x, y, p, i, m, s, H, W):
    """True if an event in ``[i, i+m)`` is off the ``H x W`` sensor, has ``p`` not 0/1, or has
    ``t`` below the previous event's (the pair ``(i-1, i)`` only if ``i > s``): the kernels
    that validate their windows' events (``check``) call it before scattering a chunk. The
    count kernels' :func:`~evframes.integrate._kernels._any_bad`, started one event early so
    that the pair across the chunk border is checked too."""
    return _any_bad(t, x, y, p, i - 1 if i > s else i, i + m, H, W, True)


@njit(cache=True, nogil=True)
def _window(x, y, p, s, e):
    """``x[s:e], y[s:e], p[s:e]``: the kernels loop over such slices from 0, as an index
    known to be non-negative spares Numba's negative-index test on every load (a loop over
    ``range(s, e)`` runs about 2x slower)."""
    return x[s:e], y[s:e], p[s:e]


@njit(cache=True, nogil=True)
def _voxel(t, x, y, p, starts, ends, H, W, bins, check, out):
    """out: float32 [n, bins*H*W]. Bilinear in time per window (float64 sums).

    Per chunk of events, the time positions (one float64 division each), weights and flat
    indices are computed in vectorised loops into small buffers, then scattered in event
    order (each cell receives the same additions in the same order as a fused loop, so the
    sums are bit-identical). The accumulator is pixel-major, ``[H*W, bins + 2]``: an event's
    two additions (bins ``b`` and ``b + 1``) land in one cache line; the two spare bins take
    the events at ``t_last`` (bin ``B``) and bin ``B - 1``'s ``d`` share instead of a branch;
    it is transposed into ``out`` per window. With ``check``, each chunk is validated first
    (:func:`_chunk_bad`, t sorted within the window): returns True, ``out`` partly written, at
    the first bad chunk; else False."""
    HW = H * W
    S = bins + 2
    acc = np.zeros(HW * S, np.float64)
    idx = np.empty(_CHUNK, np.int64)
    w0 = np.empty(_CHUNK, np.float64)
    w1 = np.empty(_CHUNK, np.float64)
    for k in range(starts.shape[0]):
        s = starts[k]
        e = ends[k]
        if k > 0:
            acc[:] = 0.0
        if e > s:
            t0 = t[s]
            span = t[e - 1] - t0
            fspan = np.float64(span)
            i = s
            while i < e:
                m = min(_CHUNK, e - i)
                ts_ = t[i:i + m]
                xs = x[i:i + m]
                ys = y[i:i + m]
                ps = p[i:i + m]
                if check and _chunk_bad(t, x, y, p, i, m, s, H, W):
                    return True
                if span > 0:
                    for j in range(m):
                        tn = np.float64(bins * (ts_[j] - t0)) / fspan
                        ti = np.int64(tn)
                        d = tn - ti
                        pol = 1.0 if ps[j] != 0 else -1.0
                        w0[j] = pol * (1.0 - d)
                        w1[j] = pol * d
                        idx[j] = (np.int64(ys[j]) * W + np.int64(xs[j])) * S + ti
                else:
                    for j in range(m):
                        pol = 1.0 if ps[j] != 0 else -1.0
                        w0[j] = pol
                        w1[j] = pol * 0.0
                        idx[j] = (np.int64(ys[j]) * W + np.int64(xs[j])) * S
                for j in range(m):
                    q = idx[j]
                    acc[q] += w0[j]
                    acc[q + 1] += w1[j]
                i += m
        row = out[k]
        for b in range(bins):
            for q in range(HW):
                row[b * HW + q] = np.float32(acc[q * S + b])
    return False


@njit(cache=True, nogil=True)
def _decay_row(mem, te, itau, row, bits, poly):
    """``row[q] = float32(exp((mem[q] - te) * itau))`` by :mod:`evframes.integrate._decay`'s
    vectorisable steps (``bits`` int64 and ``poly`` float64 scratch of ``mem``'s length)."""
    for q in range(mem.shape[0]):
        z = (mem[q] - te) * itau
        z = z if z > _ZMIN else _ZMIN
        z = z if z < _ZMAX else _ZMAX
        n = np.floor(z * _LOG2E + 0.5)
        r = (z - n * _LN2_HI) - n * _LN2_LO
        s = _C11
        s = s * r + _C10
        s = s * r + _C9
        s = s * r + _C8
        s = s * r + _C7
        s = s * r + _C6
        s = s * r + _C5
        s = s * r + _C4
        s = s * r + _C3
        s = s * r + _C2
        s = s * r + _C1
        s = s * r + _C0
        poly[q] = s
        bits[q] = (np.int64(n) + _EXP_BIAS) << 52
    scale = bits.view(np.float64)
    for q in range(mem.shape[0]):
        row[q] = np.float32(poly[q] * scale[q])


@njit(cache=True, nogil=True)
def _time_surface(t, x, y, p, ends, t_end, H, W, tau, check, out):
    """out: float32 [n, 2*H*W]. Memory of the latest event per (polarity, pixel) over events
    ``[0, ends[k])``, sampled at ``t_end[k]``: ``exp(-(t_end - t_last) / tau)``, 0 if none
    (the memory starts at -inf, as Tonic's; float64 differences of int64 microseconds, exact
    below 2**53; the exp by :func:`_decay_row`). Events are scattered in chunks; with
    ``check`` (the windows' ends reach every event), each chunk is validated first
    (:func:`_chunk_bad`): returns True, ``out`` partly written, at the first bad chunk; else
    False."""
    HW = H * W
    mem = np.full(2 * HW, -np.inf, np.float64)
    bits = np.empty(2 * HW, np.int64)
    poly = np.empty(2 * HW, np.float64)
    itau = 1.0 / tau
    pos = 0
    for k in range(ends.shape[0]):
        e = ends[k]
        if e < pos:  # windows not ordered by their ends: rebuild the memory
            mem[:] = -np.inf
            pos = 0
        i = pos
        while i < e:
            m = min(_CHUNK, e - i)
            if check and _chunk_bad(t, x, y, p, i, m, 0, H, W):
                return True
            xs, ys, ps = _window(x, y, p, i, i + m)
            ts_ = t[i:i + m]
            for j in range(m):
                mem[np.int64(ps[j]) * HW + np.int64(ys[j]) * W + np.int64(xs[j])] = (
                    np.float64(ts_[j]))
            i += m
        pos = max(pos, e)
        _decay_row(mem, np.float64(t_end[k]), itau, out[k], bits, poly)
    return False


@njit(cache=True, nogil=True)
def _hats(t, x, y, p, starts, ends, H, W, cell, radius, tau, out):
    """out: float32 [n, 2, Hc*S, Wc*S] (S = 2*radius+1, Hc = ceil(H/cell), Wc = ceil(W/cell)).

    Per window, per (polarity, pixel) the sum ``A = sum_j exp((t_j - t_ref) / tau)`` of the
    window's earlier events there, so that an event at ``t_i`` sees that pixel's surface value
    ``A * exp(-(t_i - t_ref) / tau)`` with two ``exp`` per event (not one per neighbour);
    ``t_ref`` moves forward (the sums rescaled) before ``exp`` could overflow. An event adds to
    its cell's histogram ``1`` at the centre plus those values over its ``S x S`` neighbourhood
    inside the same cell; histograms are divided by the cell's number of events of that
    polarity."""
    HW = H * W
    S = 2 * radius + 1
    Hc = (H + cell - 1) // cell
    Wc = (W + cell - 1) // cell
    ncell = Hc * Wc
    acc = np.zeros(2 * HW, np.float64)  # 0 where no event yet in this window
    touched = np.empty(2 * HW, np.int64)  # pixels to clear after the window
    hist = np.zeros((2, ncell, S, S), np.float64)
    cnt = np.zeros((2, ncell), np.int64)
    for k in range(starts.shape[0]):
        hist[:] = 0.0
        cnt[:] = 0
        if ends[k] <= starts[k]:
            out[k] = 0.0
            continue
        t_ref = t[starts[k]]
        n_touched = 0
        for i in range(starts[k], ends[k]):
            ti = t[i]
            d = np.float64(ti - t_ref) / tau
            if d > 300.0:  # rescale the sums to t_ref = ti; what falls below 1e-300 (far
                f = math.exp(-d)  # below float32) stays 1e-300, so the pixel stays touched
                for j in range(n_touched):
                    q = touched[j]
                    acc[q] = max(acc[q] * f, 1e-300)
                t_ref = ti
                d = 0.0
            decay = math.exp(-d)
            c = np.int64(p[i])
            xi = np.int64(x[i])
            yi = np.int64(y[i])
            cy = yi // cell
            cx = xi // cell
            ci = cy * Wc + cx
            base = c * HW
            h = hist[c, ci]
            y0 = max(yi - radius, cy * cell)  # the neighbourhood inside the cell (and sensor)
            y1 = min(yi + radius, cy * cell + cell - 1, H - 1)
            x0 = max(xi - radius, cx * cell)
            x1 = min(xi + radius, cx * cell + cell - 1, W - 1)
            for yy in range(y0, y1 + 1):
                a = yy - yi + radius
                row = base + yy * W
                for xx in range(x0, x1 + 1):
                    h[a, xx - xi + radius] += acc[row + xx] * decay
            h[radius, radius] += 1.0
            q = base + yi * W + xi
            if acc[q] == 0.0:
                touched[n_touched] = q
                n_touched += 1
            acc[q] += math.exp(d)
            cnt[c, ci] += 1
        for j in range(n_touched):
            acc[touched[j]] = 0.0
        fr = out[k]
        for c in range(2):
            for cy in range(Hc):
                for cx in range(Wc):
                    ci = cy * Wc + cx
                    dv = np.float64(max(1, cnt[c, ci]))
                    for a in range(S):
                        for b in range(S):
                            fr[c, cy * S + a, cx * S + b] = np.float32(hist[c, ci, a, b] / dv)


@njit(cache=True, nogil=True)
def _first_at_least(t, lo, hi, v):
    """First index i in [lo, hi) with t[i] >= v (t sorted), hi if none."""
    while lo < hi:
        mid = (lo + hi) // 2
        if t[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _stacked(t, x, y, p, starts, ends, H, W, bins, clip, check, out):
    """out: uint8 [n, 2*bins*H*W]; channel ``p*bins + b``, ``b = min(bins-1,
    bins*(t - t0) // max(t_last - t0, 1))``; counts saturate at ``clip``.

    t is sorted, so bin ``b >= 1`` starts at the first event with ``bins*(t - t0) >= b*span``,
    i.e. ``t - t0 >= ceil(b*span / bins)`` (integers; a binary search per bin): the same ``b``
    as the floor division without a division per event. Within a bin, per chunk of events
    the flat indices are computed in a vectorised loop, then the counts incremented
    (saturating, without a branch). ``check``: as :func:`_voxel` (the bins of a window with
    unsorted t are wrong but in range until its chunk is checked)."""
    HW = H * W
    PB = bins * HW
    cap = np.uint8(clip)
    idx = np.empty(_CHUNK, np.int64)
    for k in range(starts.shape[0]):
        row = out[k]
        row[:] = 0
        s = starts[k]
        e = ends[k]
        if e <= s:
            continue
        t0 = t[s]
        span = max(t[e - 1] - t0, 1)
        lo = s
        for b in range(bins):
            if b == bins - 1:
                hi = e
            else:
                c = (b + 1) * span
                hi = _first_at_least(t, lo, e, t0 + (c + bins - 1) // bins)
            off = b * HW
            i = lo
            while i < hi:
                m = min(_CHUNK, hi - i)
                xs = x[i:i + m]
                ys = y[i:i + m]
                ps = p[i:i + m]
                if check and _chunk_bad(t, x, y, p, i, m, s, H, W):
                    return True
                for j in range(m):
                    idx[j] = (np.int64(ps[j]) * PB + off + np.int64(ys[j]) * W
                              + np.int64(xs[j]))
                for j in range(m):
                    q = idx[j]
                    v = row[q]
                    row[q] = v + np.uint8(v < cap)
                i += m
            lo = hi
    return False


@njit(cache=True, nogil=True)
def _onoff(x, y, p, starts, ends, H, W, out):
    """out: int16 [n, H*W]; ON count minus OFF count, saturated to [-32768, 32767]."""
    HW = H * W
    acc = np.zeros(HW, np.int64)
    for k in range(starts.shape[0]):
        acc[:] = 0
        xs, ys, ps = _window(x, y, p, starts[k], ends[k])
        for i in range(xs.shape[0]):
            acc[np.int64(ys[i]) * W + np.int64(xs[i])] += 1 if ps[i] != 0 else -1
        row = out[k]
        for j in range(HW):
            row[j] = np.int16(min(32767, max(-32768, acc[j])))


@njit(cache=True, nogil=True)
def _binary(x, y, p, starts, ends, H, W, out):
    """out: uint8 [n, 2*H*W]; 1 where a window has an event of that polarity, else 0."""
    HW = H * W
    for k in range(starts.shape[0]):
        row = out[k]
        row[:] = 0
        xs, ys, ps = _window(x, y, p, starts[k], ends[k])
        for i in range(xs.shape[0]):
            row[np.int64(ps[i]) * HW + np.int64(ys[i]) * W + np.int64(xs[i])] = 1


@njit(cache=True, nogil=True)
def _latest(t, x, y, p, starts, ends, t_start, H, W, out):
    """out: int64 [n, 2*H*W]; ``t_last - t_start[k]`` of the window's latest event per
    (polarity, pixel), -1 where it has none."""
    HW = H * W
    for k in range(starts.shape[0]):
        row = out[k]
        row[:] = -1
        t0 = t_start[k]
        xs, ys, ps = _window(x, y, p, starts[k], ends[k])
        ts_ = t[starts[k]:ends[k]]
        for i in range(xs.shape[0]):
            row[np.int64(ps[i]) * HW + np.int64(ys[i]) * W + np.int64(xs[i])] = ts_[i] - t0
