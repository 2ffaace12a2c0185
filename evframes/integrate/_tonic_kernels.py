"""Numba kernels of Tonic's int16 count frames; :mod:`evframes.integrate.tonic_rules` holds
the slicing rules and the checks around them.

:func:`_frames` counts the events of each window, chunk by chunk, and redoes a chunk holding a
refused or wrapping index one event at a time (:func:`_one_by_one`, NumPy's index rules).
Where ``x`` and ``y`` are adjacent little-endian int16 fields of the same records (Tonic's
DVSGesture dtype: ``x``, ``y`` int16, ``p`` bool, ``t`` int64, 13-byte records), the pair is
read as one int32 per event (:func:`packed_xy`: an unaligned view of the same memory,
nothing copied) and split in registers: on 1 M such records 13-15% faster than two int16
loads per event (Zen 3). Fields of 64 bits (Tonic's N-MNIST dtype: four int64 fields) are
range-checked as whole uint64 lanes (:func:`_lane`), one max per field: ToFrame on 1 M such
records 3.03-3.31 -> 2.83-3.10 ms (Zen 5) against a 32-bit lane plus the high half ORed apart.
"""
from __future__ import annotations

import sys
from typing import Optional

import numpy as np
from numba.extending import overload

from .._jit import njit, types

# _CHUNK: events per index-buffer chunk, as the count kernel's (its docstring says why 64)
from ._kernels import _AHEAD, _CHUNK, _high32, _low32
from ._prefetch import prefetch_ahead

_OK, _BAD_X, _BAD_Y, _BAD_P, _BAD_T = 0, 1, 2, 3, 4


def _lane(v, arr):  # pragma: no cover - replaced by the overload in compiled code
    """``v`` (of ``arr``'s dtype) as the unsigned lane its range check uses: uint32 for
    fields of up to 32 bits (negatives wrap to huge values), uint64 for 64-bit integers and
    floats (truncated toward zero first, as ``np.int64(v)``)."""
    return np.uint64(int(v) & 0xFFFFFFFFFFFFFFFF)


def _lane_zero(arr):  # pragma: no cover - replaced by the overload in compiled code
    """A zero of :func:`_lane`'s type for ``arr``."""
    return np.uint64(0)


def _narrow(dt) -> bool:
    return isinstance(dt, types.Integer) and dt.bitwidth <= 32


@overload(_lane)
def _lane_nb(v, arr):
    if _narrow(arr.dtype):  # 32-bit lanes: twice as many per vector where a loop vectorises
        return lambda v, arr: _low32(v, arr)
    if isinstance(arr.dtype, types.Float):
        return lambda v, arr: np.uint64(np.int64(v))
    # 64-bit: one unsigned max per field, instead of the low half's max and the high half
    # ORed apart (strided record fields are read one by one, so wider lanes cost nothing)
    return lambda v, arr: np.uint64(v)


@overload(_lane_zero)
def _lane_zero_nb(arr):
    if _narrow(arr.dtype):
        return lambda arr: np.uint32(0)
    return lambda arr: np.uint64(0)


@njit(cache=True, nogil=True)
def _axis(v, d):
    """``v`` as NumPy indexing takes it on an axis of ``d``: (index, outside?)."""
    i = np.int64(v)
    if i < 0:
        i += d
    return i, i < 0 or i >= d


@njit(cache=True, nogil=True)
def _one_by_one(x, y, p, t, lo, hi, P, H, W, has_y, merge_p, check_t, row):
    """Count events [lo, hi) into ``row`` with NumPy's negative indices; (code, index) of
    the first event it refuses, or (_OK, -1)."""
    HW = H * W
    for i in range(lo, hi):
        if check_t and i > 0 and t[i] < t[i - 1]:
            return _BAD_T, i
        xi, bad = _axis(x[i], W)
        if bad:
            return _BAD_X, i
        yi = 0
        if has_y:
            yi, bad = _axis(y[i], H)
            if bad:
                return _BAD_Y, i
        pi = 0
        if not merge_p:
            pi, bad = _axis(p[i], P)
            if bad:
                return _BAD_P, i
        q = pi * HW + yi * W + xi
        row[q] = row[q] + np.int16(1)
    return _OK, -1


class _Alias:
    """An object exposing existing memory as an array (``np.asarray`` of it), keeping the
    array it belongs to alive."""

    def __init__(self, owner: np.ndarray, interface: dict):
        self.owner = owner
        self.__array_interface__ = interface


def packed_xy(x: np.ndarray, y: np.ndarray) -> Optional[np.ndarray]:
    """An int32 view ``[n]`` whose low half is ``x`` and high half ``y`` when they are
    little-endian int16 fields of the same records with ``y`` right after ``x`` (same
    stride); None otherwise."""
    if sys.byteorder != "little" or x.dtype != np.dtype("<i2") or y.dtype != np.dtype("<i2"):
        return None
    if x.ndim != 1 or x.shape != y.shape or x.strides != y.strides or x.shape[0] == 0:
        return None
    ax = x.__array_interface__["data"][0]
    if y.__array_interface__["data"][0] != ax + 2:
        return None
    return np.asarray(_Alias(x, {"data": (ax, True), "shape": x.shape, "strides": x.strides,
                                 "typestr": "<i4", "version": 3}))


@njit(cache=True, nogil=True)
def _frames(x, y, p, t, starts, ends, P, H, W, has_y, merge_p, check_t, out, xy, packed):
    """out: int16 [n, P*H*W] (zeroed by the caller). Adds 1 (wrapping) per event of each
    window at ``(p, y, x)``, each index taken as NumPy indexing takes it (``-d <= v < d``,
    negatives from the end; ``p`` truncated to an integer; 0 with ``merge_p``; ``y`` 0
    without ``has_y``). ``packed``: ``xy`` is :func:`packed_xy`'s view of ``x`` and ``y``
    (``has_y`` then), read instead of them; else ``xy`` is unused (pass ``x``). Returns
    ``(code, index, pmin, pmax)``: the first bad event (code ``_BAD_X`` ...; ``_BAD_T`` where
    ``check_t`` and ``t`` decreases into a visited event) or ``(_OK, -1, ...)``, and (with
    ``merge_p``) the extreme raw ``p`` of the visited events.

    Per chunk of events: one loop computes the flat indices into a small buffer and ORs
    their range checks (an index NumPy would wrap counts as outside there), then the counts
    are scattered; a chunk with such an index is redone one event at a time."""
    # The flags become compile-time constants of _frames_rows (its loops vectorise then);
    # spelled out: passing the other arguments as *args loses the constants (6% slower).
    if packed:
        if merge_p:
            if check_t:
                return _frames_rows(x, y, p, t, starts, ends, P, H, W, True, True, True, out,
                                    xy, True)
            return _frames_rows(x, y, p, t, starts, ends, P, H, W, True, True, False, out,
                                xy, True)
        if check_t:
            return _frames_rows(x, y, p, t, starts, ends, P, H, W, True, False, True, out,
                                xy, True)
        return _frames_rows(x, y, p, t, starts, ends, P, H, W, True, False, False, out, xy, True)
    if has_y:
        if merge_p:
            if check_t:
                return _frames_rows(x, y, p, t, starts, ends, P, H, W, True, True, True, out,
                                    xy, False)
            return _frames_rows(x, y, p, t, starts, ends, P, H, W, True, True, False, out,
                                xy, False)
        if check_t:
            return _frames_rows(x, y, p, t, starts, ends, P, H, W, True, False, True, out,
                                xy, False)
        return _frames_rows(x, y, p, t, starts, ends, P, H, W, True, False, False, out, xy, False)
    if merge_p:
        if check_t:
            return _frames_rows(x, y, p, t, starts, ends, P, H, W, False, True, True, out,
                                xy, False)
        return _frames_rows(x, y, p, t, starts, ends, P, H, W, False, True, False, out, xy, False)
    if check_t:
        return _frames_rows(x, y, p, t, starts, ends, P, H, W, False, False, True, out, xy, False)
    return _frames_rows(x, y, p, t, starts, ends, P, H, W, False, False, False, out, xy, False)


@njit(cache=True, nogil=True)
def _frames_rows(x, y, p, t, starts, ends, P, H, W, has_y, merge_p, check_t, out, xy,
                 packed):
    """:func:`_frames`' pass with its four flags constant."""
    HW = np.uint32(H * W)
    W32 = np.uint32(W)
    H32 = np.uint32(H)
    P32 = np.uint32(P)
    zero = np.uint32(0)
    pmn = p[0]
    pmx = p[0]
    buf = np.empty(_CHUNK, np.uint32)
    for k in range(starts.shape[0]):
        row = out[k]
        i = starts[k]
        e = ends[k]
        while i < e:
            m = min(_CHUNK, e - i)
            prefetch_ahead(x, i, _AHEAD, _CHUNK)  # the record lines (or x's) chunks ahead
            ps = p[i:i + m]
            high = np.uint64(0)
            ma = zero  # the chunk's largest x, y, p (unsigned: negatives are huge): a max
            mb = zero  # reduction vectorises, an OR of comparisons did not (1.6x slower)
            mc = zero
            if packed:  # x and y from one int32 load
                vs = xy[i:i + m]
                for j in range(m):
                    v = np.int32(vs[j])
                    a = np.uint32(np.int32(np.int16(v & 0xFFFF)))  # x, sign-extended
                    b = np.uint32(v >> 16)  # y: the arithmetic shift sign-extends it
                    c = zero if merge_p else _low32(ps[j], p)
                    if not merge_p:
                        high |= _high32(ps[j], p)
                    ma = max(ma, a)
                    mb = max(mb, b)
                    mc = max(mc, c)
                    buf[j] = c * HW + b * W32 + a
            else:
                xs = x[i:i + m]
                ys = y[i:i + m]
                xa = _lane_zero(x)  # the chunk's largest lanes (see _lane)
                ya = _lane_zero(y)
                pa = _lane_zero(p)
                for j in range(m):
                    a = _lane(xs[j], x)
                    b = _lane(ys[j], y) if has_y else _lane_zero(y)
                    c = _lane_zero(p) if merge_p else _lane(ps[j], p)
                    xa = max(xa, a)
                    ya = max(ya, b)
                    pa = max(pa, c)
                    buf[j] = np.uint32(c * HW + b * W32 + a)  # exact when the checks pass
                ma = np.uint32(min(xa, W32))  # saturated: still >= W32 when off the sensor
                mb = np.uint32(min(ya, H32))
                mc = np.uint32(min(pa, P32))
            bad = (ma >= W32) | (mb >= H32) | (mc >= P32) | (high != 0)
            if merge_p:
                for j in range(m):
                    pmn = min(pmn, ps[j])
                    pmx = max(pmx, ps[j])
            if check_t:
                ts = t[i:i + m]
                for j in range(1, m):
                    bad |= ts[j] < ts[j - 1]
                if i > 0:
                    bad |= t[i] < t[i - 1]
            if bad:
                code, at = _one_by_one(x, y, p, t, i, i + m, P, H, W, has_y, merge_p,
                                       check_t, row)
                if code != _OK:
                    return code, at, pmn, pmx
            else:
                for j in range(m):
                    q = buf[j]  # unsigned: no negative-index wraparound code
                    row[q] = row[q] + np.int16(1)
            i += m
    return _OK, -1, pmn, pmx


__all__ = ["packed_xy"]  # and, for tonic_rules, the codes, _axis, _one_by_one, _frames
