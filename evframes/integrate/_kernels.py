"""Numba kernels of :mod:`evframes.integrate` (small, typed by their inputs, no Python objects).

Every kernel is compiled with ``cache=True`` (the cache lives beside this file, or under
``NUMBA_CACHE_DIR``). Arrays: ``t`` int64 microseconds, ``x``, ``y`` pixels, ``p`` 0/1, all
1-D of the same length; ``starts``, ``ends`` int64 event-index boundaries (frame ``k`` counts
events ``starts[k] <= i < ends[k]``); ``offsets`` int64 ``[n_samples + 1]`` for flat batches.
The rule codes (``_NUMBER`` ...) and validation codes (``_OK`` ...) are shared with the Python
wrappers in :mod:`evframes.integrate.rules`, :mod:`evframes.integrate.setting` and
:mod:`evframes.integrate._inputs`.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

# Rule codes shared by the Python wrappers and the Numba batch kernels.
_NUMBER, _TIME, _DURATION, _COUNT = 0, 1, 2, 3
# Rule names of FrameSetting.kind -> those codes (here, below both setting and rules).
_RULE_CODES = {"number": _NUMBER, "time": _TIME, "duration": _DURATION, "count": _COUNT}

# Validation failure codes returned by the checking kernels.
_OK, _BAD_X, _BAD_Y, _BAD_P, _BAD_T = 0, 1, 2, 3, 4

_CHUNK = 512  # events per index-buffer chunk in the histogram kernel


@njit(cache=True, nogil=True)
def _hist_segments(x, y, p, starts, ends, H, W, out):
    """Zero ``out`` ([T, 2*H*W]) and count events ``starts[k] <= i < ends[k]`` into row k.

    Per chunk of events, the chunk's x, y, p are range-checked and their flat indices
    ``p*H*W + y*W + x`` computed into a small uint32 buffer (vectorised loops), then scattered.
    Splitting the phases roughly doubles throughput over a fused loop; checking while the chunk
    is in cache saves a separate pass over x, y, p. Returns True, leaving ``out`` partly filled,
    as soon as a chunk holds an event off the ``H x W`` sensor or with ``p`` not in {0, 1}
    (the caller then finds and reports it). ``t`` is not looked at.
    """
    HW = np.int32(H * W)
    W32 = np.int32(W)
    Wu = np.uint64(W)
    Hu = np.uint64(H)
    one = np.uint64(1)
    buf = np.empty(_CHUNK, np.uint32)
    for k in range(starts.shape[0]):
        row = out[k]
        row[:] = 0
        i = starts[k]
        e = ends[k]
        while i < e:
            m = min(_CHUNK, e - i)
            xs = x[i:i + m]
            ys = y[i:i + m]
            ps = p[i:i + m]
            bad = False
            for j in range(m):  # negative values wrap to huge unsigned ones
                bad |= ((np.uint64(xs[j]) >= Wu) | (np.uint64(ys[j]) >= Hu)
                        | (np.uint64(ps[j]) > one))
            if bad:
                return True
            for j in range(m):
                buf[j] = np.uint32(np.int32(ps[j]) * HW + np.int32(ys[j]) * W32 + np.int32(xs[j]))
            for j in range(m):
                row[buf[j]] += 1
            i += m
    return False


@njit(cache=True, nogil=True)
def _t_decreases(t, lo, hi):
    """True if t[lo:hi] is not non-decreasing (vectorised)."""
    ts = t[lo:hi]
    dec = False
    for i in range(1, ts.shape[0]):
        dec |= ts[i] < ts[i - 1]
    return dec


@njit(cache=True, nogil=True)
def _any_bad(t, x, y, p, lo, hi, H, W, check_t):
    """True if any event in [lo, hi) breaks an invariant (min/max reductions, vectorised)."""
    if hi <= lo:
        return False
    xs = x[lo:hi]
    ys = y[lo:hi]
    ps = p[lo:hi]
    xm = xs[0]
    xM = xs[0]
    for i in range(xs.shape[0]):
        v = xs[i]
        xm = min(xm, v)
        xM = max(xM, v)
    ym = ys[0]
    yM = ys[0]
    for i in range(ys.shape[0]):
        v = ys[i]
        ym = min(ym, v)
        yM = max(yM, v)
    pm = ps[0]
    pM = ps[0]
    for i in range(ps.shape[0]):
        v = ps[i]
        pm = min(pm, v)
        pM = max(pM, v)
    bad = (xm < 0) | (xM >= W) | (ym < 0) | (yM >= H) | (pm < 0) | (pM > 1)
    if check_t:
        ts = t[lo:hi]
        dec = False
        for i in range(1, ts.shape[0]):
            dec |= ts[i] < ts[i - 1]
        bad |= dec
    return bad


@njit(cache=True, nogil=True)
def _first_bad(t, x, y, p, lo, hi, H, W, check_t):
    """(code, index) of the first event in [lo, hi) breaking an invariant, or (0, -1)."""
    for i in range(lo, hi):
        if x[i] < 0 or x[i] >= W:
            return _BAD_X, i
        if y[i] < 0 or y[i] >= H:
            return _BAD_Y, i
        if p[i] < 0 or p[i] > 1:
            return _BAD_P, i
        if check_t and i > lo and t[i] < t[i - 1]:
            return _BAD_T, i
    return _OK, -1


@njit(cache=True, nogil=True, parallel=True)
def _batch_validate_hist(t, x, y, p, offsets, starts, ends, frame_offsets, H, W, out):
    """Per sample (spread over threads): check t, then histogram its frames (which checks x,
    y, p), then check any events after its last frame (``count`` without incomplete frames).

    One sample's events are checked and integrated back to back while in cache, so the batch
    reads them from memory once. A sample that fails is flagged (the caller raises).
    """
    n = offsets.shape[0] - 1
    flags = np.zeros(n, np.bool_)
    for s in prange(n):
        lo = offsets[s]
        hi = offsets[s + 1]
        a = frame_offsets[s]
        b = frame_offsets[s + 1]
        bad = _t_decreases(t, lo, hi)
        if not bad:
            bad = _hist_segments(x, y, p, starts[a:b], ends[a:b], H, W, out[a:b])
        if not bad:
            tail = ends[b - 1] if b > a else lo
            bad = _any_bad(t, x, y, p, tail, hi, H, W, False)
        flags[s] = bad
    return flags


@njit(cache=True, nogil=True)
def _n_frames(rule, t, lo, hi, T, D, C, overlap, incl):
    """Number of frames the rule gives for the sample t[lo:hi] (sorted)."""
    n = hi - lo
    if rule == _NUMBER or rule == _TIME:
        return T
    if rule == _DURATION:
        if n == 0:
            return 0
        span = t[hi - 1] - t[lo]
        k = (span + D - 1) // D
        return k if k > 0 else 1
    # _COUNT
    if n == 0:
        return 0
    stride = C - overlap
    if incl:
        if n <= C:
            return 1
        return (n - C + stride - 1) // stride + 1
    if n < C:
        return 0
    return (n - C) // stride + 1


@njit(cache=True, nogil=True)
def _fill_bounds(rule, t, lo, hi, T, D, C, overlap, incl, nf, starts, ends):
    """Write the rule's nf boundaries for the sample t[lo:hi] (global indices) into
    starts[:nf], ends[:nf]."""
    n = hi - lo
    if nf == 0:
        return
    if rule == _NUMBER:
        di = n // T
        for j in range(nf):
            starts[j] = lo + j * di
            e = (j + 1) * di + overlap
            ends[j] = lo + (e if e < n else n)
        ends[nf - 1] = hi
    elif rule == _TIME:
        if n == 0:
            for j in range(nf):
                starts[j] = lo
                ends[j] = lo
            return
        tv = t[lo:hi]
        t0 = tv[0]
        dt = (tv[n - 1] - t0) // T
        for j in range(nf):
            starts[j] = lo + np.searchsorted(tv, t0 + j * dt)
            ends[j] = lo + np.searchsorted(tv, t0 + (j + 1) * dt + overlap)
        ends[nf - 1] = hi
    elif rule == _DURATION:
        tv = t[lo:hi]
        t0 = tv[0]
        starts[0] = lo
        for k in range(1, nf):
            b = lo + np.searchsorted(tv, t0 + k * D)
            starts[k] = b
            ends[k - 1] = b
        ends[nf - 1] = hi
    else:  # _COUNT
        stride = C - overlap
        for j in range(nf):
            s = j * stride
            e = s + C
            starts[j] = lo + s
            ends[j] = lo + (e if e < n else n)


# Frame counts and boundaries cost O(T log N) per sample: serial loops, so that the only
# parallel region (one barrier) is the histogram pass.
@njit(cache=True, nogil=True)
def _batch_n_frames(rule, t, offsets, T, D, C, overlap, incl):
    n = offsets.shape[0] - 1
    out = np.empty(n, np.int64)
    for s in range(n):
        out[s] = _n_frames(rule, t, offsets[s], offsets[s + 1], T, D, C, overlap, incl)
    return out


@njit(cache=True, nogil=True)
def _batch_bounds(rule, t, offsets, frame_offsets, T, D, C, overlap, incl, starts, ends):
    n = offsets.shape[0] - 1
    for s in range(n):
        a = frame_offsets[s]
        b = frame_offsets[s + 1]
        _fill_bounds(rule, t, offsets[s], offsets[s + 1], T, D, C, overlap, incl, b - a,
                     starts[a:b], ends[a:b])

