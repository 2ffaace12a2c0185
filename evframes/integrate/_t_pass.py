"""The t pass of the count kernels: ``t`` (int64 microseconds, or integral float64) checked
non-decreasing, block by block, and, in the same pass, binary searches for window boundaries.

Why the searches live here: a boundary search over all of a cold ``t`` (1 M events, 8 MB)
misses the caches and the TLB on every step, about 0.1 ms for 20 windows on Zen 5, 7% of the
whole by-duration call. Searching only inside the 4096-event block the check has just read
(in L1) costs almost nothing.
"""
from __future__ import annotations

import numpy as np
from numba.extending import overload

from .._jit import njit, types

# Events per block of the t pass: a bad t stops the pass early; a block stays in L1.
_T_BLOCK = 4096


def _not_integral(ts):  # pragma: no cover - replaced by the overload in compiled code
    """True if a float array holds a value with a fraction (or NaN); never for integers."""
    return bool(np.any(ts != np.floor(ts)))


@overload(_not_integral)
def _not_integral_nb(ts):
    if isinstance(ts.dtype, types.Float):
        def impl(ts):
            bad = False
            for j in range(ts.shape[0]):
                bad |= ts[j] != np.floor(ts[j])
            return bad
    else:
        def impl(ts):
            return False
    return impl


@njit(cache=True, nogil=True)
def _t_decreases(t, lo, hi):
    """True if t[lo:hi] is not non-decreasing (vectorised)."""
    ts = t[lo:hi]
    dec = False
    for i in range(1, ts.shape[0]):
        dec |= ts[i] < ts[i - 1]
    return dec


@njit(cache=True, nogil=True, inline="always")
def _block_bad(t, i, m):
    """True if ``t[i:i+m]`` decreases (from ``t[i-1]`` on) or holds a fraction or NaN."""
    return _t_decreases(t, max(i - 1, 0), i + m) or _not_integral(t[i:i + m])


@njit(cache=True, nogil=True)
def _t_bad(t, n):
    """True if ``t[0:n]`` decreases somewhere or (float t) holds a fraction or NaN; checked
    in blocks of :data:`_T_BLOCK` events, so a bad t stops the pass early."""
    i = 0
    while i < n:
        m = min(_T_BLOCK, n - i)
        if _block_bad(t, i, m):
            return True
        i += m
    return False


@njit(cache=True, nogil=True, inline="always")
def _search_block(t, i, m, first, step, out, j):
    """Fill ``out[j], out[j+1], ...`` while threshold ``first + j*step`` is at most
    ``t[i+m-1]``, each with ``np.searchsorted(t, threshold)`` (left), found inside block
    ``[i, i+m)``: the earlier blocks hold only smaller values (sorted t). Returns the next j."""
    last = t[i + m - 1]
    while j < out.shape[0] and first + j * step <= last:
        out[j] = i + np.searchsorted(t[i:i + m], first + j * step)
        j += 1
    return j


@njit(cache=True, nogil=True)
def _t_bad_search(t, n, a_first, a_step, a_out, b_first, b_step, b_out):
    """:func:`_t_bad` over ``t[0:n]`` and, in the same pass, ``a_out[j] =
    np.searchsorted(t[:n], a_first + j*a_step)`` for every j (likewise ``b_out``: a second
    series of thresholds; steps >= 0). Returns True, outputs partly written, if t is bad
    (the searches are only meaningful on a sorted t)."""
    i = 0
    ja = 0
    jb = 0
    while i < n:
        m = min(_T_BLOCK, n - i)
        if _block_bad(t, i, m):
            return True
        ja = _search_block(t, i, m, a_first, a_step, a_out, ja)
        jb = _search_block(t, i, m, b_first, b_step, b_out, jb)
        i += m
    a_out[ja:] = n  # thresholds above every t
    b_out[jb:] = n
    return False
