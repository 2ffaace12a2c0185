"""Generic Numba kernels of the Tonic event transforms, on numpy structured arrays of any field
layout: the fallbacks of the one-pass kernels of :mod:`.event_ops_fused` (float or 64-bit
unsigned fields, field-op combinations those do not cover) and the per-pixel filters.

Record kernels take the record arrays (``ev`` in, ``out`` preallocated, same dtype; specialised
on the record type) plus strided views of the fields they read or write, and write whole records
(``out[j] = ev[i]``) with the field edits fused into the same pass. No kernel names a field;
none uses ``literal_unroll`` or tuple iteration (slow to compile, and a tuple of arrays indexed
in a loop costs a reference count per access). Numba's element assignment casts as numpy's
does (integers wrap into narrower fields, floats are truncated toward zero into integer fields,
nonzero -> True into bool fields), which is the cast Tonic's field assignments make.

The selections write every record and advance the output index only for kept ones (branch
free: a random keep pattern would otherwise mispredict on every other event).
"""
from __future__ import annotations

import numpy as np

from ..._jit import njit


@njit(cache=True, nogil=True)
def map_records(ev, out, reverse, op1, op2, op3):
    """``out`` = ``ev`` (reversed when ``reverse``) with three field operations fused into the
    copy. An op is ``(src, dst, kind, a, b)``: kind 0 ``dst = src * a + b``, 1 ``dst = (src ==
    0)`` (Tonic's polarity inversion ``invert(p.astype(bool))``), 2 ``dst = 0``, 3 nothing (to
    use fewer ops); ``src`` is a field of ``ev``, ``dst`` the same field of ``out``."""
    s1, d1, k1, a1, b1 = op1
    s2, d2, k2, a2, b2 = op2
    s3, d3, k3, a3, b3 = op3
    n = ev.shape[0]
    for j in range(n):               # output order (forward writes), reversed reads
        i = n - 1 - j if reverse else j
        out[j] = ev[i]
        if k1 == 0:
            d1[j] = s1[i] * a1 + b1
        elif k1 == 1:
            d1[j] = s1[i] == 0
        elif k1 == 2:
            d1[j] = 0
        if k2 == 0:
            d2[j] = s2[i] * a2 + b2
        elif k2 == 1:
            d2[j] = s2[i] == 0
        elif k2 == 2:
            d2[j] = 0
        if k3 == 0:
            d3[j] = s3[i] * a3 + b3
        elif k3 == 1:
            d3[j] = s3[i] == 0
        elif k3 == 2:
            d3[j] = 0


@njit(cache=True, nogil=True)
def reverse_records(ev, out):
    """``out[n - 1 - i] = ev[i]``."""
    n = ev.shape[0]
    for i in range(n):
        out[n - 1 - i] = ev[i]


@njit(cache=True, nogil=True)
def select_intervals(ev, out, invert, a, alo, ahi, b, blo, bhi, closed):
    """Keep the events with ``alo <= a < ahi`` and ``blo <= b < bhi`` (``<=`` at the top
    too when ``closed``); with ``invert`` the others. Returns the count written to ``out``."""
    j = 0
    for i in range(ev.shape[0]):
        av, bv = a[i], b[i]
        ina = (alo <= av) & ((av < ahi) | (closed & (av == ahi)))
        inb = (blo <= bv) & ((bv < bhi) | (closed & (bv == bhi)))
        out[j] = ev[i]
        j += (ina & inb) != invert
    return j


@njit(cache=True, nogil=True)
def select_table(ev, out, x, y, table, x0, y0):
    """Drop the events whose pixel ``(x - x0, y - y0)`` is set in ``table [W, H]`` (pixels
    outside the table and float coordinates off the pixel grid are kept)."""
    W, H = table.shape
    j = 0
    for i in range(ev.shape[0]):
        xv, yv = x[i], y[i]
        xi = np.int64(xv) - x0
        yi = np.int64(yv) - y0
        hit = False
        if 0 <= xi < W and 0 <= yi < H and xi + x0 == xv and yi + y0 == yv:
            hit = table[xi, yi]
        out[j] = ev[i]
        j += not hit
    return j


@njit(cache=True, nogil=True)
def crop_records(ev, out, x, y, x0, x1, y0, y1, xo, yo, ax, bx, ay, by):
    """Keep the events in the box ``[x0, x1) x [y0, y1)`` with ``xo = x * ax + bx``,
    ``yo = y * ay + by`` (``xo``/``yo``: the output's field views). Returns the count."""
    j = 0
    for i in range(ev.shape[0]):
        xv, yv = x[i], y[i]
        out[j] = ev[i]
        xo[j] = xv * ax + bx
        yo[j] = yv * ay + by
        j += (x0 <= xv) & (xv < x1) & (y0 <= yv) & (yv < y1)
    return j


@njit(cache=True, nogil=True)
def jitter1_records(ev, out, src, dst, shift, clip, lo, hi):
    """``dst = src + shift`` (cast into the field); with ``clip`` keep only records whose
    written value is in ``[lo, hi)``. Returns the count."""
    j = 0
    for i in range(ev.shape[0]):
        out[j] = ev[i]
        dst[j] = src[i] + shift[i]
        v = dst[j]
        j += (not clip) | ((lo <= v) & (v < hi))
    return j


@njit(cache=True, nogil=True)
def jitter2_records(ev, out, xs, xd, sx, ys, yd, sy, clip, W, H):
    """:func:`jitter1_records` on two fields, the written values checked in ``[0, W)`` and
    ``[0, H)``."""
    j = 0
    for i in range(ev.shape[0]):
        out[j] = ev[i]
        xd[j] = xs[i] + sx[i]
        yd[j] = ys[i] + sy[i]
        u, v = xd[j], yd[j]
        j += (not clip) | ((0 <= u) & (u < W) & (0 <= v) & (v < H))
    return j


@njit(cache=True, nogil=True)
def denoise_records(ev, out, x, y, t, ft, init, W, H):
    """Tonic's 4-neighbour denoise: memory ``[W+2, H+2]`` float64 (border never fires), every
    pixel starting at ``init``; per event in order: own pixel := ``t + ft``, then keep when a
    direct neighbour's memory ``> t``. Returns the count written to ``out``."""
    mem = np.full((W + 2, H + 2), -np.inf)
    mem[1:W + 1, 1:H + 1] = init
    j = 0
    for i in range(ev.shape[0]):
        xi = np.int64(x[i]) + 1
        yi = np.int64(y[i]) + 1
        ti = t[i]
        mem[xi, yi] = np.float64(ti + ft)
        if (mem[xi - 1, yi] > ti or mem[xi + 1, yi] > ti
                or mem[xi, yi - 1] > ti or mem[xi, yi + 1] > ti):
            out[j] = ev[i]
            j += 1
    return j


@njit(cache=True, nogil=True)
def refractory_records(ev, out, x, y, t, delta, init, W, H):
    """Tonic's refractory period: per pixel the last event time (float64, starting at
    ``init``); keep an event when ``t - last > delta``; every event updates ``last``."""
    mem = np.full((W, H), init)
    j = 0
    for i in range(ev.shape[0]):
        xi = np.int64(x[i])
        yi = np.int64(y[i])
        ti = t[i]
        if ti - mem[xi, yi] > delta:
            out[j] = ev[i]
            j += 1
        mem[xi, yi] = ti
    return j


@njit(cache=True, nogil=True)
def decimate_records(ev, out, x, y, n, W, H):
    """Tonic's decimation: per pixel counter; every event adds one, and when the counter
    reaches ``n`` it is reset and the event kept."""
    mem = np.zeros((W, H), np.int64)
    j = 0
    for i in range(ev.shape[0]):
        xi = np.int64(x[i])
        yi = np.int64(y[i])
        mem[xi, yi] += 1
        if mem[xi, yi] >= n:
            mem[xi, yi] = 0
            out[j] = ev[i]
            j += 1
    return j


@njit(cache=True, nogil=True)
def pixel_counts(x, y, W, H):
    """Events per pixel ``[W, H]`` int64 (pixels outside ``[0, W) x [0, H)`` ignored)."""
    c = np.zeros((W, H), np.int64)
    for i in range(x.shape[0]):
        xi = np.int64(x[i])
        yi = np.int64(y[i])
        if 0 <= xi < W and 0 <= yi < H and xi == x[i] and yi == y[i]:
            c[xi, yi] += 1
    return c


@njit(cache=True, nogil=True)
def coord_range(x, y):
    """``(min x, max x, min y, max y)`` as int64, truncating float coordinates."""
    x0 = x1 = np.int64(x[0])
    y0 = y1 = np.int64(y[0])
    for i in range(x.shape[0]):
        xi = np.int64(x[i])
        yi = np.int64(y[i])
        x0 = min(x0, xi)
        x1 = max(x1, xi)
        y0 = min(y0, yi)
        y1 = max(y1, yi)
    return x0, x1, y0, y1


@njit(cache=True, nogil=True)
def min_max_sorted(t):
    """``(min t, max t, t never decreases)`` in one pass (``t`` not empty)."""
    lo = hi = t[0]
    ok = True
    for i in range(1, t.shape[0]):
        v = t[i]
        ok &= v >= t[i - 1]
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi, ok


@njit(cache=True, nogil=True)
def first_at_least(t, v, strict):
    """In sorted ``t``: the first index with ``t >= v`` (``t > v`` when ``strict``)."""
    lo, hi = 0, t.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if t[mid] < v or (strict and t[mid] == v):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def merge_records(a, ta, b, tb, out):
    """Stable merge of two record arrays sorted by ``ta`` / ``tb`` (``a`` first on ties)."""
    i = k = 0
    na, nb = a.shape[0], b.shape[0]
    for j in range(na + nb):
        if k >= nb or (i < na and ta[i] <= tb[k]):
            out[j] = a[i]
            i += 1
        else:
            out[j] = b[k]
            k += 1


@njit(cache=True, nogil=True)
def gather_records(ev, order, out):
    """``out[j] = ev[order[j]]``."""
    for j in range(order.shape[0]):
        out[j] = ev[order[j]]


@njit(cache=True, nogil=True)
def columns3(a, b, c, out):
    """``out[i] = (a[i], b[i], c[i])`` cast into ``out``'s dtype (``out``: ``[N, 3]``)."""
    for i in range(out.shape[0]):
        out[i, 0] = a[i]
        out[i, 1] = b[i]
        out[i, 2] = c[i]


@njit(cache=True, nogil=True)
def columns4(a, b, c, d, out):
    """``out[i] = (a[i], b[i], c[i], d[i])`` cast into ``out``'s dtype (``[N, 4]``)."""
    for i in range(out.shape[0]):
        out[i, 0] = a[i]
        out[i, 1] = b[i]
        out[i, 2] = c[i]
        out[i, 3] = d[i]
