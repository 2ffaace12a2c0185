"""One-pass Numba kernels of the Tonic event transforms: each reads every input record once and
writes the output records directly, with the field edit or the keep test fused into the copy.

Records move as 16-byte unaligned vector copies (:func:`move16`; records of 16 bytes or more
as several, the last one overlapping), not field by field: a 13-byte DVSGesture record is one
load and one store instead of three of each. A record shorter than 16 bytes is copied with the
bytes after it, which the next record's copy (or nothing, past the kept count) overwrites; the
last ``15 // itemsize + 1`` records are copied as records so that no move reads or writes past
either buffer (:func:`_safe_from`). The reversal copies records as records (reversed vector
moves measured slower). Kernels are written as a main loop and a tail loop, not through an
inlined helper that takes the records: Numba then counts references per event (20x slower).

Selections write every input record at the output index and advance the index only for kept
ones (branch free). Integer boxes test ``lo <= v <= hi`` as one unsigned compare ``uint64(v -
lo) <= hi - lo`` (exact for every int64 value; the callers pass only signed or <= 32-bit
unsigned fields and ``lo <= hi``). ``ev`` and ``out`` are C-contiguous record arrays of the
same dtype (``ev`` may be ``out`` for the maps), ``out`` at least as long as the records
written; field arguments are strided views of them.

Measured on 1 M 13-byte events, one thread (benchmarks/results_tonic_transforms.md): a memcpy of
the events ~1.0 ms, a Numba loop moving records one by one ~1.9 ms in the benchmark's harness;
these kernels 1.4-2.3 ms for one or two field edits or one keep test.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba.core.extending import intrinsic, overload

from ..._jit import njit, types

__all__ = ["map_affine", "map_affine_only", "map_affine3", "map_scale3", "map_invert", "map_zero",
           "reverse_affine", "select_range", "drop_ibox", "crop_ibox", "select_itable",
           "select_mask"]


@intrinsic
def move16(typingctx, dst, doff, src, soff):
    """Copy 16 bytes from ``src``'s data + ``soff`` bytes to ``dst``'s data + ``doff`` bytes
    (any arrays; one unaligned vector load and store)."""
    if not (isinstance(dst, types.Array) and isinstance(src, types.Array)
            and isinstance(doff, types.Integer) and isinstance(soff, types.Integer)):
        return None
    sig = types.void(dst, doff, src, soff)

    def codegen(context, builder, sig, args):
        d, do, s, so = args
        byte = ir.IntType(8).as_pointer()
        vec = ir.VectorType(ir.IntType(8), 16).as_pointer()
        dp = context.make_array(sig.args[0])(context, builder, d).data
        sp = context.make_array(sig.args[2])(context, builder, s).data
        dp = builder.bitcast(builder.gep(builder.bitcast(dp, byte), [do]), vec)
        sp = builder.bitcast(builder.gep(builder.bitcast(sp, byte), [so]), vec)
        builder.store(builder.load(sp, align=1), dp, align=1)
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def _move(out, j, ev, i, isz):
    """``out[j] = ev[i]`` by 16-byte moves (short records: with the next bytes too)."""
    if isz < 16:
        move16(out, j * isz, ev, i * isz)
    else:
        k = 0
        while k < isz - 16:
            move16(out, j * isz + k, ev, i * isz + k)
            k += 16
        move16(out, j * isz + isz - 16, ev, i * isz + isz - 16)


@njit(inline="always")
def _safe_from(n, isz):
    """The first record index from which 16-byte moves of short records would run past the
    end of an ``n``-record buffer (those are copied as records)."""
    if isz >= 16:
        return n
    return max(n - (15 // isz + 1), 0)


@njit(cache=True, nogil=True)
def map_affine(ev, out, src, dst, a, b):
    """``out = ev`` with ``dst = src * a + b``; returns ``(min, max)`` of ``src`` (``ev`` not
    empty)."""
    return _affine_rows(ev, out, src, dst, a, b, True)


@njit(cache=True, nogil=True)
def map_affine_only(ev, out, src, dst, a, b):
    """:func:`map_affine` without the min and max (0.15-0.2 ms of 0.75 on 1 M 13-byte
    records, Zen 5: the flips need none)."""
    _affine_rows(ev, out, src, dst, a, b, False)


@njit(cache=True, nogil=True)
def _affine_rows(ev, out, src, dst, a, b, track):
    """:func:`map_affine`'s pass; ``track`` (a constant of each caller) keeps the min and max
    of ``src``."""
    n, isz = ev.shape[0], ev.itemsize
    m = _safe_from(n, isz)
    lo = hi = src[0]
    for i in range(m):
        _move(out, i, ev, i, isz)
        v = src[i]
        dst[i] = v * a + b
        if track:
            lo = min(lo, v)
            hi = max(hi, v)
    for i in range(m, n):               # the same, the records copied as records
        out[i] = ev[i]
        v = src[i]
        dst[i] = v * a + b
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@njit(cache=True, nogil=True)
def map_affine3(ev, out, s1, d1, a1, b1, s2, d2, a2, b2, s3, d3, a3, b3):
    """``out = ev`` with three affine field edits ``d = s * a + b`` (repeat one to use two)."""
    n, isz = ev.shape[0], ev.itemsize
    m = _safe_from(n, isz)
    for i in range(m):
        _move(out, i, ev, i, isz)
        d1[i] = s1[i] * a1 + b1
        d2[i] = s2[i] * a2 + b2
        d3[i] = s3[i] * a3 + b3
    for i in range(m, n):
        out[i] = ev[i]
        d1[i] = s1[i] * a1 + b1
        d2[i] = s2[i] * a2 + b2
        d3[i] = s3[i] * a3 + b3


@njit(cache=True, nogil=True)
def map_scale3(ev, out, s1, d1, a1, s2, d2, a2, s3, d3, a3):
    """``out = ev`` with three field edits ``d = s * a`` (repeat one to use two)."""
    n, isz = ev.shape[0], ev.itemsize
    m = _safe_from(n, isz)
    for i in range(m):
        _move(out, i, ev, i, isz)
        d1[i] = s1[i] * a1
        d2[i] = s2[i] * a2
        d3[i] = s3[i] * a3
    for i in range(m, n):
        out[i] = ev[i]
        d1[i] = s1[i] * a1
        d2[i] = s2[i] * a2
        d3[i] = s3[i] * a3


@njit(cache=True, nogil=True)
def map_invert(ev, out, src, dst):
    """``out = ev`` with ``dst = (src == 0)`` (Tonic's ``invert(p.astype(bool))``)."""
    n, isz = ev.shape[0], ev.itemsize
    m = _safe_from(n, isz)
    for i in range(m):
        _move(out, i, ev, i, isz)
        dst[i] = src[i] == 0
    for i in range(m, n):
        out[i] = ev[i]
        dst[i] = src[i] == 0


@njit(cache=True, nogil=True)
def map_zero(ev, out, dst):
    """``out = ev`` with ``dst = 0``."""
    n, isz = ev.shape[0], ev.itemsize
    m = _safe_from(n, isz)
    for i in range(m):
        _move(out, i, ev, i, isz)
        dst[i] = 0
    for i in range(m, n):
        out[i] = ev[i]
        dst[i] = 0


@njit(cache=True, nogil=True)
def reverse_affine(ev, out, src, dst, a, b, flip, ps, pd):
    """``out[j] = ev[n - 1 - j]`` with ``dst = src * a + b`` and, with ``flip``, ``pd = (ps ==
    0)``; returns the max of ``src`` (``ev`` not empty). Records are copied as records here
    (16-byte moves of reversed short records are slower)."""
    n = ev.shape[0]
    hi = src[0]
    for j in range(n):
        i = n - 1 - j
        out[j] = ev[i]
        v = src[i]
        dst[j] = v * a + b
        if flip:
            pd[j] = ps[i] == 0
        if v > hi:
            hi = v
    return hi


def _in_span(x, lo, hi):  # pragma: no cover - replaced by the overload in compiled code
    """``lo <= x <= hi``; with ``hi`` unsigned, ``(lo, hi)`` is ``int_span``'s ``(lo', w)``."""
    return lo <= x <= hi


@overload(_in_span)
def _in_span_nb(x, lo, hi):
    if isinstance(hi, types.Integer) and not hi.signed:  # one unsigned compare, exact
        return lambda x, lo, hi: np.uint64(np.int64(x) - lo) <= hi
    return lambda x, lo, hi: (lo <= x) & (x <= hi)


@njit(cache=True, nogil=True)
def select_range(ev, out, v, lo, hi, invert):
    """Keep the events with ``lo <= v <= hi`` (the others with ``invert``); returns the count
    and the max of ``v``. Bounds: of any type, compared as numpy would after
    :func:`.event_ops_base.bound`, or, for integer fields, ``int_span``'s ``(lo' int64, w
    uint64)``, compared as one unsigned difference (1.5x faster than two float64 compares on
    int64 t, Zen 5). ``ev`` not empty."""
    n, isz = ev.shape[0], ev.itemsize
    m = _safe_from(n, isz)
    j = 0
    top = v[0]
    for i in range(m):
        x = v[i]
        _move(out, j, ev, i, isz)
        j += _in_span(x, lo, hi) != invert
        top = max(top, x)
    for i in range(m, n):
        x = v[i]
        out[j] = ev[i]
        j += _in_span(x, lo, hi) != invert
        top = max(top, x)
    return j, top


@njit(cache=True, nogil=True)
def drop_ibox(ev, out, x, y, x0, wx, y0, wy):
    """Drop the events with ``x0 <= x <= x0 + wx`` and ``y0 <= y <= y0 + wy`` (integer fields
    and bounds, ``wx, wy`` uint64 >= 0); returns the count kept."""
    n, isz = ev.shape[0], ev.itemsize
    m = _safe_from(n, isz)
    j = 0
    for i in range(m):
        ux = np.uint64(np.int64(x[i]) - x0)
        uy = np.uint64(np.int64(y[i]) - y0)
        _move(out, j, ev, i, isz)
        j += (ux > wx) | (uy > wy)
    for i in range(m, n):
        ux = np.uint64(np.int64(x[i]) - x0)
        uy = np.uint64(np.int64(y[i]) - y0)
        out[j] = ev[i]
        j += (ux > wx) | (uy > wy)
    return j


@njit(cache=True, nogil=True)
def crop_ibox(ev, out, x, y, xo, yo, x0, wx, y0, wy, bx, by):
    """Keep the events in the integer box ``x0 <= x <= x0 + wx``, ``y0 <= y <= y0 + wy``
    (``wx, wy`` uint64 >= 0), written with ``xo = x + bx`` and ``yo = y + by`` (``xo``, ``yo``:
    the output's field views); returns the count."""
    n, isz = ev.shape[0], ev.itemsize
    m = _safe_from(n, isz)
    j = 0
    for i in range(m):
        xv, yv = x[i], y[i]
        ux = np.uint64(np.int64(xv) - x0)
        uy = np.uint64(np.int64(yv) - y0)
        _move(out, j, ev, i, isz)
        xo[j] = xv + bx
        yo[j] = yv + by
        j += (ux <= wx) & (uy <= wy)
    for i in range(m, n):
        xv, yv = x[i], y[i]
        ux = np.uint64(np.int64(xv) - x0)
        uy = np.uint64(np.int64(yv) - y0)
        out[j] = ev[i]
        xo[j] = xv + bx
        yo[j] = yv + by
        j += (ux <= wx) & (uy <= wy)
    return j


@njit(cache=True, nogil=True)
def select_itable(ev, out, x, y, table, x0, y0):
    """Drop the events whose pixel ``(x - x0, y - y0)`` is set in ``table [W + 1, H + 1]``
    (integer fields; the last row and column must be False: pixels off the table land there).
    Returns the count."""
    n, isz = ev.shape[0], ev.itemsize
    m = _safe_from(n, isz)
    W = np.uint64(table.shape[0] - 1)
    H = np.uint64(table.shape[1] - 1)
    j = 0
    for i in range(m):
        ux = min(np.uint64(np.int64(x[i]) - x0), W)
        uy = min(np.uint64(np.int64(y[i]) - y0), H)
        _move(out, j, ev, i, isz)
        j += not table[ux, uy]
    for i in range(m, n):
        ux = min(np.uint64(np.int64(x[i]) - x0), W)
        uy = min(np.uint64(np.int64(y[i]) - y0), H)
        out[j] = ev[i]
        j += not table[ux, uy]
    return j


@njit(cache=True, nogil=True)
def select_mask(ev, out, drop):
    """Keep the events where ``drop`` is False; returns their count."""
    n, isz = ev.shape[0], ev.itemsize
    m = _safe_from(n, isz)
    j = 0
    for i in range(m):
        _move(out, j, ev, i, isz)
        j += not drop[i]
    for i in range(m, n):
        out[j] = ev[i]
        j += not drop[i]
    return j
