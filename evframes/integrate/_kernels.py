"""Numba kernels of :mod:`evframes.integrate` (small, typed by their inputs, no Python objects).

Every kernel is compiled with ``cache=True`` (the cache lives beside this file, or under
``NUMBA_CACHE_DIR``; ``python -m evframes.warmup`` fills it at set-up). Arrays: ``t`` int64
microseconds (the count kernel :func:`_hist_checked` also takes integral float64), ``x``,
``y`` pixels, ``p`` 0/1 (the count kernel takes any integer dtype as is), all 1-D of the same
length; ``starts``, ``ends`` int64 event-index boundaries (frame ``k`` counts
events ``starts[k] <= i < ends[k]``); ``offsets`` int64 ``[n_samples + 1]`` for flat batches.
The rule codes (``_NUMBER`` ...) and validation codes (``_OK`` ...) are shared with the Python
wrappers in :mod:`evframes.integrate.rules`, :mod:`evframes.integrate.setting` and
:mod:`evframes.integrate._inputs`.
"""
from __future__ import annotations

import numpy as np
from numba.extending import overload

from .._jit import njit, prange, types
from ._prefetch import prefetch_ahead
from ._t_pass import _t_bad, _t_bad_search, _t_decreases  # noqa: F401

# Rule codes shared by the Python wrappers and the Numba batch kernels.
_NUMBER, _TIME, _DURATION, _COUNT = 0, 1, 2, 3
# Rule names of FrameSetting.kind -> those codes (here, below both setting and rules).
_RULE_CODES = {"number": _NUMBER, "time": _TIME, "duration": _DURATION, "count": _COUNT}

# Validation failure codes returned by the checking kernels.
_OK, _BAD_X, _BAD_Y, _BAD_P, _BAD_T = 0, 1, 2, 3, 4

# Events per index-buffer chunk in the histogram kernels. Short chunks let the out-of-order
# core run one chunk's input loads under the previous chunk's scatter: on 1 M events 64 is
# 1.3x faster than 512 (int16 in) and 1.25x (int64 in, float64 out); 16-32 is slower again.
_CHUNK = 64

# Events ahead of the chunk being counted whose x, y, p lines are prefetched (see _prefetch).
_AHEAD = 512


def _low32(v, arr):  # pragma: no cover - replaced by the overload in compiled code
    """The low 32 bits of integer ``v`` (of ``arr``'s dtype; negatives wrap), as uint32."""
    return np.uint32(int(v) & 0xFFFFFFFF)


def _high32(v, arr):  # pragma: no cover - replaced by the overload in compiled code
    """The bits of integer ``v`` above the low 32 (two's complement), as uint64."""
    return np.uint64((int(v) >> 32) & 0xFFFFFFFF)


@overload(_low32)
def _low32_nb(v, arr):
    dt = arr.dtype
    if isinstance(dt, types.Float):  # truncated toward zero first, as np.int64(v)
        return lambda v, arr: np.uint32(np.int64(v))
    if isinstance(dt, types.Integer) and dt.bitwidth <= 32 and dt.signed:
        return lambda v, arr: np.uint32(np.int32(v))
    return lambda v, arr: np.uint32(v)


@overload(_high32)
def _high32_nb(v, arr):
    dt = arr.dtype
    if isinstance(dt, types.Float):
        return lambda v, arr: np.uint64(np.int64(v)) >> np.uint64(32)
    if isinstance(dt, types.Integer) and dt.bitwidth <= 32:
        return lambda v, arr: np.uint64(0)  # nothing above: the test compiles away
    return lambda v, arr: np.uint64(v) >> np.uint64(32)


@njit(cache=True, nogil=True, inline="always")
def _chunk_index(x, y, p, i, m, H, W, buf):
    """Flat indices ``p*H*W + y*W + x`` of events ``[i, i+m)`` into ``buf`` (uint32), in one
    vectorised loop that also range-checks x, y, p in their own dtypes (any integer dtype:
    negative values wrap to huge unsigned ones); True if one is off the sensor or ``p`` is
    not 0/1."""
    HW = np.uint32(H * W)
    W32 = np.uint32(W)
    xs = x[i:i + m]
    ys = y[i:i + m]
    ps = p[i:i + m]
    H32 = np.uint32(H)
    one = np.uint32(1)
    high = np.uint64(0)
    ma = np.uint32(0)  # the chunk's largest x, y, p (unsigned: negatives are huge): a max
    mb = np.uint32(0)  # reduction vectorises, an OR of per-event comparisons did not (1.6x
    mc = np.uint32(0)  # slower on Zen 3)
    for j in range(m):  # range checks on 32-bit lanes (twice as many per vector as 64-bit)
        a = _low32(xs[j], x)
        b = _low32(ys[j], y)
        c = _low32(ps[j], p)
        high |= _high32(xs[j], x) | _high32(ys[j], y) | _high32(ps[j], p)
        ma = max(ma, a)
        mb = max(mb, b)
        mc = max(mc, c)
        buf[j] = c * HW + b * W32 + a
    bad = (ma >= W32) | (mb >= H32) | (mc > one)
    return bad | (high != 0)  # a 64-bit value outside 0 .. 2**32 - 1 (never narrowed)


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
    return _hist_rows(x, y, p, starts, ends, H, W, 0, out, False, out)


@njit(cache=True, nogil=True)
def _hist_checked(t, x, y, p, starts, ends, H, W, check_t, n_check, cnt, flush, out):
    """Count events ``starts[k] <= i < ends[k]`` into row k of ``out`` ([T, 2*H*W], any
    integer or float dtype), validating x, y, p in the same pass (t, when
    checked, in a pass of its own just before).

    ``cnt``: ``out`` itself (``flush`` False: rows are zeroed and counted in place), or a
    ``[1, 2*H*W]`` unsigned integer scratch wide enough for any segment's count (``flush``
    True: each frame is counted there, with integer increments in a small cache-resident
    array, and written once into its ``out`` row, converted; for float64 frames this is
    exact and cheaper than float increments into the wider row).

    Inputs are taken in their own dtypes (x, y, p any integer dtype, t int64 or integral
    float64; one compiled version per combination), so callers copy nothing. With
    ``check_t``, t is first checked non-decreasing (and integral, when float) over ``[0,
    n_check)`` in its own pass (:func:`_t_bad`). Then per chunk of events (:data:`_CHUNK`)
    one loop range-checks x, y, p and computes the flat indices into a small uint32 buffer,
    and the buffer is scattered. Events after the last segment, up to ``n_check``, are
    range-checked too (``count`` without incomplete frames). Returns True, ``out`` partly
    filled, at the first bad chunk (the caller finds and reports the event); ``t`` is not
    read without ``check_t``.

    The t pass is separate because on Zen 3 reading t inside the chunk loop made the whole
    pass 1.2x slower than the two passes (611 against 727 M ev/s, int16 x, y, int8 p); with
    t prefetched as well, the loop with t inside came back to parity (+4% on int16 inputs,
    -8% on SpikingJelly's int64 ones), so the simpler two passes stay.
    """
    if check_t and _t_bad(t, n_check):
        return True
    return _hist_rows(x, y, p, starts, ends, H, W, n_check, cnt, flush, out)


@njit(cache=True, nogil=True)
def _hist_rows(x, y, p, starts, ends, H, W, n_check, cnt, flush, out):
    """:func:`_hist_checked`'s counting pass (x, y, p range-checked chunk by chunk)."""
    buf = np.empty(_CHUNK, np.uint32)
    top = 0
    for k in range(starts.shape[0]):
        row = cnt[0] if flush else cnt[k]
        row[:] = 0
        i = starts[k]
        e = ends[k]
        if e > top:
            top = e
        while i < e:
            m = min(_CHUNK, e - i)
            prefetch_ahead(x, i, _AHEAD, _CHUNK)
            prefetch_ahead(y, i, _AHEAD, _CHUNK)
            prefetch_ahead(p, i, _AHEAD, _CHUNK)
            if _chunk_index(x, y, p, i, m, H, W, buf):
                return True
            for j in range(m):
                row[buf[j]] += 1
            i += m
        if flush:
            dst = out[k]
            for j in range(dst.shape[0]):
                dst[j] = row[j]
    i = top
    while i < n_check:  # events after the last frame (count without incomplete frames)
        m = min(_CHUNK, n_check - i)
        if _chunk_index(x, y, p, i, m, H, W, buf):
            return True
        i += m
    return False


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
    """Per sample (spread over threads): :func:`_hist_checked` on its events, which checks
    t, x, y, p while histogramming its frames, and the events after its last frame
    (``count`` without incomplete frames).

    One sample's events are checked and integrated in one pass, so the batch reads them from
    memory once. A sample that fails is flagged (the caller raises).
    """
    n = offsets.shape[0] - 1
    flags = np.zeros(n, np.bool_)
    for s in prange(n):
        lo = offsets[s]
        hi = offsets[s + 1]
        a = frame_offsets[s]
        b = frame_offsets[s + 1]
        rows = out[a:b]
        flags[s] = _hist_checked(t[lo:hi], x[lo:hi], y[lo:hi], p[lo:hi], starts[a:b] - lo,
                                 ends[a:b] - lo, H, W, True, hi - lo, rows, False, rows)
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


@njit(cache=True, nogil=True)
def _t_bad_bounds(rule, t, n, T, D, C, overlap, incl, nf, starts, ends):
    """The t pass over ``t[0:n]`` (:func:`_t_bad`; True if t is bad) with the rule's
    ``nf`` boundaries written into ``starts``, ``ends`` as :func:`_fill_bounds` writes them
    for one sample. The time rules' binary searches run inside the t pass, each in the block
    just checked (:func:`_t_bad_search`), instead of over the whole cold t."""
    empty = starts[:0]
    if nf == 0 or n == 0 or rule == _NUMBER or rule == _COUNT:
        _fill_bounds(rule, t, 0, n, T, D, C, overlap, incl, nf, starts, ends)
        return _t_bad(t, n)
    t0 = t[0]
    if rule == _TIME:  # starts[j]: t0 + j*dt; ends[j]: t0 + (j+1)*dt + overlap
        dt = (t[n - 1] - t0) // T
        bad = _t_bad_search(t, n, t0, dt, starts, t0 + dt + overlap, dt, ends[:nf - 1])
    else:  # _DURATION: starts[k] = ends[k-1]: t0 + k*D
        starts[0] = 0
        bad = _t_bad_search(t, n, t0 + D, D, starts[1:], t0, D, empty)
        ends[:nf - 1] = starts[1:]
    ends[nf - 1] = n
    return bad


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

