"""Numba kernels of the Tonic event transforms, on numpy structured arrays of any field layout.

The kernels take the whole record arrays (``ev`` in, ``out`` preallocated, same dtype) and
strided views of the fields they read or write, so one compiled kernel serves every dtype
(Numba compiles one specialisation per record type; fields are never named in the kernels).

Field operations (``ops``, a tuple applied to every written record) are small tuples told apart
by their shape:

- ``(src, dst, a, b)``: ``dst = src * a + b`` (scalars typed by the caller as numpy would
  compute; the result is cast to the destination field's dtype, floats truncated toward zero
  into integer fields, nonzero -> True into bool fields);
- ``(src, dst, mode)`` with an integer ``mode``: 1 sets ``dst = (src == 0)`` (Tonic's polarity
  inversion ``invert(p.astype(bool))``), 2 sets ``dst = 0``;
- ``(src, dst, shift)`` with a float array ``shift``: ``dst = src + shift[i]``.

Checks (``checks``, a tuple; an event passes when every check does):

- ``(view, lo, hi)``: ``lo <= v < hi``; ``(view, lo, hi, 1)``: ``lo <= v <= hi``;
- ``(mask,)``: ``mask[i]``;
- ``(xview, yview, table, x0, y0)``: the pixel ``(x - x0, y - y0)`` is not set in the boolean
  ``table [W, H]`` (pixels outside the table pass).
"""
from __future__ import annotations

import numpy as np
from numba import literal_unroll, njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

_BLOCK = 4096   # records per block: copied with one memcpy, then edited while in cache


@intrinsic
def _copy_records(typingctx, dst, src, d0, s0, count):
    """memcpy ``count`` records of ``src`` from index ``s0`` into ``dst`` from ``d0``."""
    sig = types.void(dst, src, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        darr = context.make_array(signature.args[0])(context, builder, args[0])
        sarr = context.make_array(signature.args[1])(context, builder, args[1])
        size = context.get_abi_sizeof(context.get_data_type(signature.args[1].dtype))
        dptr = cgutils.gep(builder, darr.data, args[2])
        sptr = cgutils.gep(builder, sarr.data, args[3])
        cgutils.raw_memcpy(builder, dptr, sptr, args[4], size)
        return context.get_dummy_value()
    return sig, codegen


def _store(dst, j, v):  # dst[j] = v with numpy's assignment cast
    pass


@overload(_store, jit_options={"cache": True})
def _store_ov(dst, j, v):
    if isinstance(dst.dtype, types.Boolean):
        def impl(dst, j, v):
            dst[j] = v != 0
        return impl
    if isinstance(dst.dtype, types.Integer) and isinstance(v, types.Float):
        kind = dst.dtype

        def impl(dst, j, v):   # C cast: truncation toward zero
            dst[j] = kind(np.int64(v))
        return impl

    def impl(dst, j, v):
        dst[j] = v
    return impl


def _apply(op, i, j):  # one field operation: source record i, destination record j
    pass


@overload(_apply, jit_options={"cache": True})
def _apply_ov(op, i, j):
    if len(op.types) == 4:
        def impl(op, i, j):
            _store(op[1], j, op[0][i] * op[2] + op[3])
        return impl
    if len(op.types) == 3 and isinstance(op.types[2], types.Array):
        def impl(op, i, j):
            _store(op[1], j, op[0][i] + op[2][i])
        return impl

    def impl(op, i, j):
        if op[2] == 1:
            _store(op[1], j, op[0][i] == 0)
        else:
            _store(op[1], j, 0)
    return impl


def _passes(c, i):  # one check on event i
    pass


@overload(_passes, jit_options={"cache": True})
def _passes_ov(c, i):
    n = len(c.types)
    if n == 1:
        return lambda c, i: c[0][i]
    if n == 3:
        return lambda c, i: c[1] <= c[0][i] and c[0][i] < c[2]
    if n == 4:
        return lambda c, i: c[1] <= c[0][i] and c[0][i] <= c[2]

    def impl(c, i):
        xv, yv = c[0][i], c[1][i]
        xi = np.int64(xv)
        yi = np.int64(yv)
        if xi != xv or yi != yv:      # a float coordinate off the pixel grid
            return True
        xi -= c[3]
        yi -= c[4]
        tab = c[2]
        if 0 <= xi < tab.shape[0] and 0 <= yi < tab.shape[1]:
            return not tab[xi, yi]
        return True
    return impl


@njit(cache=True, nogil=True)
def map_records(ev, out, reverse, ops):
    """``out`` = ``ev`` (reversed when ``reverse``) with ``ops`` applied to every record."""
    n = ev.shape[0]
    for b0 in range(0, n, _BLOCK):
        b1 = min(n, b0 + _BLOCK)
        if reverse:
            for i in range(b0, b1):
                out[n - 1 - i] = ev[i]
        else:
            _copy_records(out, ev, b0, b0, b1 - b0)
        for op in literal_unroll(ops):
            for i in range(b0, b1):
                _apply(op, i, n - 1 - i if reverse else i)


@njit(cache=True, nogil=True)
def select_records(ev, out, invert, checks, ops):
    """Copy the events that pass every check (fail one, with ``invert``) to the front of
    ``out``, applying ``ops`` to each; returns their count."""
    j = 0
    for i in range(ev.shape[0]):
        ok = True
        for c in literal_unroll(checks):
            ok = ok and _passes(c, i)
        if ok != invert:
            out[j] = ev[i]
            for op in literal_unroll(ops):
                _apply(op, i, j)
            j += 1
    return j


@njit(cache=True, nogil=True)
def select_plain(ev, out, invert, checks):
    """:func:`select_records` without field operations."""
    j = 0
    for i in range(ev.shape[0]):
        ok = True
        for c in literal_unroll(checks):
            ok = ok and _passes(c, i)
        if ok != invert:
            out[j] = ev[i]
            j += 1
    return j


@njit(cache=True, nogil=True)
def shift_records(ev, out, ops, clip, checks):
    """Apply ``ops`` to every record; with ``clip`` keep only records whose *written* values
    pass ``checks`` (checks on the output views at the output index). Returns the count."""
    j = 0
    for i in range(ev.shape[0]):
        out[j] = ev[i]
        for op in literal_unroll(ops):
            _apply(op, i, j)
        ok = True
        if clip:
            for c in literal_unroll(checks):
                ok = ok and _passes(c, j)
        if ok:
            j += 1
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
def is_sorted(t):
    """True when ``t`` never decreases."""
    for i in range(1, t.shape[0]):
        if t[i] < t[i - 1]:
            return False
    return True


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
def fields_to_columns(fields, out):
    """``out[i, k] = fields[k][i]`` cast as numpy's ``astype`` (``out`` is ``[N, n_fields]``)."""
    for i in range(out.shape[0]):
        row = out[i]
        k = 0
        for f in literal_unroll(fields):
            _store(row, k, f[i])
            k += 1
