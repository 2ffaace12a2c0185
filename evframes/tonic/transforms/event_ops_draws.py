"""numpy's legacy global generator (``np.random.seed`` / ``RandomState``: MT19937) replayed in
Numba, so that seeded Tonic transforms draw exactly what Tonic's numpy calls draw and leave the
generator in the same state.

State travels as numpy's ``np.random.get_state()`` has it: ``key`` (uint32[624], advanced in
place), ``st`` int64[2] = ``(pos, has_gauss)`` and ``g`` float64[1] = the cached Gaussian. The
kernels also keep ``tb``, the 624 tempered words of the current ``key`` (one vectorisable
tempering pass per refill instead of tempering word by word).

Replayed calls (numpy's C sources, ``numpy/random/src``):

- 32-bit word: MT19937 (the reference recurrence and tempering).
- ``legacy_double``: ``((w1 >> 5) * 2**26 + (w2 >> 6)) / 2**53`` from two words.
- ``standard_normal`` / ``normal(loc, scale)`` (``legacy_gauss``): Marsaglia's polar method,
  ``x1 = 2 * d1 - 1``, ``x2 = 2 * d2 - 1``, ``r2 = x1**2 + x2**2``, redrawn while ``r2 >= 1``
  or ``r2 == 0``; ``f = sqrt(-2 log(r2) / r2)``, returns ``f * x2`` and caches ``f * x1`` for
  the next call (``has_gauss``); ``normal`` is ``loc + scale * gauss``.
- ``choice(n, k, replace=False)`` = ``permutation(n)[:k]``: see :func:`legacy_choice_drop`.

``log`` and ``sqrt`` are the C library's (Numba calls libm's ``log``, as numpy's C code does;
no fast-math, no SVML), so the values are bit-identical.
"""
from __future__ import annotations

import math

import numpy as np

from ..._jit import njit

_TWO_M52 = 2.0 ** -52
CHUNK = 2048          # Gaussian pairs drawn per block (the block's arrays stay in L1/L2)


def global_state():
    """numpy's global generator as ``(key, tb, st, g)`` kernel state (copies), or None when it
    is not the legacy MT19937 (then callers use numpy's own calls)."""
    s = np.random.get_state()
    if not isinstance(s, tuple) or s[0] != "MT19937" or len(s) != 5:
        return None
    key = np.array(s[1], np.uint32)
    tb = np.empty(624, np.uint32)
    temper_all(key, tb)
    return key, tb, np.array([s[2], s[3]], np.int64), np.array([s[4]], np.float64)


def store_state(state) -> None:
    """Write kernel state back as numpy's global generator state."""
    key, _, st, g = state
    np.random.set_state(("MT19937", key, int(st[0]), int(st[1]), float(g[0])))


@njit(cache=True, nogil=True)
def mt_twist(key):
    """Refill MT19937's 624-word state (the reference generator's recurrence, in three index
    ranges so that no index is tested in the loops)."""
    upper, lower, matrix = np.uint32(0x80000000), np.uint32(0x7fffffff), np.uint32(0x9908b0df)
    one, zero = np.uint32(1), np.uint32(0)
    for i in range(227):
        y = (key[i] & upper) | (key[i + 1] & lower)
        key[i] = key[i + 397] ^ (y >> one) ^ ((zero - (y & one)) & matrix)
    for i in range(227, 623):
        y = (key[i] & upper) | (key[i + 1] & lower)
        key[i] = key[i - 227] ^ (y >> one) ^ ((zero - (y & one)) & matrix)
    y = (key[623] & upper) | (key[0] & lower)
    key[623] = key[396] ^ (y >> one) ^ ((zero - (y & one)) & matrix)


@njit(cache=True, nogil=True)
def temper_all(key, tb):
    """``tb[i]`` = MT19937's output word for state word ``key[i]``."""
    for i in range(624):
        y = key[i]
        y ^= y >> np.uint32(11)
        y ^= (y << np.uint32(7)) & np.uint32(0x9d2c5680)
        y ^= (y << np.uint32(15)) & np.uint32(0xefc60000)
        y ^= y >> np.uint32(18)
        tb[i] = y


@njit(cache=True, nogil=True)
def refill(key, tb):
    """The next 624 words: twist ``key``, temper into ``tb``."""
    mt_twist(key)
    temper_all(key, tb)


@njit(cache=True, nogil=True)
def _take4(key, tb, pos):
    """Four words across a refill (the rare slow path of :func:`_polar_pairs`)."""
    w = [np.uint32(0)] * 4
    for k in range(4):
        if pos >= 624:
            refill(key, tb)
            pos = 0
        w[k] = tb[pos]
        pos += 1
    return w[0], w[1], w[2], w[3], pos


@njit(cache=True, nogil=True)
def words(key, tb, st, out):
    """``out[:]`` = the next 32-bit words (``np.random.randint(0, 2**32, dtype=uint32)``'s
    stream; the generator floor of every replayed draw)."""
    pos = st[0]
    n = out.shape[0]
    i = 0
    while i < n:
        if pos >= 624:
            refill(key, tb)
            pos = 0
        m = min(624 - pos, n - i)
        for k in range(m):
            out[i + k] = tb[pos + k]
        i += m
        pos += m
    st[0] = pos


@njit(cache=True, nogil=True)
def _polar_pairs(key, tb, st, npairs, x1s, x2s, r2s):
    """The next ``npairs`` accepted polar-method candidates (redraws consume words and
    overwrite the slot: no unpredictable branch)."""
    pos = st[0]
    c = 0
    while c < npairs:
        if pos <= 620:
            w0, w1, w2, w3 = tb[pos], tb[pos + 1], tb[pos + 2], tb[pos + 3]
            pos += 4
        else:
            w0, w1, w2, w3, pos = _take4(key, tb, pos)
        # legacy_double: (a * 2**26 + b) / 2**53, here formed as one exact 53-bit integer;
        # 2 * d - 1 = i * 2**-52 - 1 (scalings by powers of two are exact)
        i1 = (np.int64(w0 >> np.uint32(5)) << 26) | np.int64(w1 >> np.uint32(6))
        i2 = (np.int64(w2 >> np.uint32(5)) << 26) | np.int64(w3 >> np.uint32(6))
        x1 = np.float64(i1) * _TWO_M52 - 1.0
        x2 = np.float64(i2) * _TWO_M52 - 1.0
        r2 = x1 * x1 + x2 * x2
        x1s[c] = x1
        x2s[c] = x2
        r2s[c] = r2
        c += (r2 < 1.0) & (r2 != 0.0)
    st[0] = pos


@njit(cache=True, nogil=True)
def gauss_fill(key, tb, st, g, out, x1s, x2s, r2s):
    """``out[:]`` = the next ``standard_normal`` values (cached value first; an odd last one
    caches its partner). ``x1s, x2s, r2s``: float64 scratch of at least ``CHUNK``."""
    m = out.shape[0]
    k = 0
    if m == 0:
        return
    if st[1]:
        out[0] = g[0]
        st[1] = 0
        g[0] = 0.0
        k = 1
    while k < m:
        npairs = min((m - k + 1) // 2, x1s.shape[0])
        _polar_pairs(key, tb, st, npairs, x1s, x2s, r2s)
        full = min(npairs, (m - k) // 2)
        for p in range(full):
            r2 = r2s[p]
            f = math.sqrt(-2.0 * math.log(r2) / r2)
            out[k + 2 * p] = f * x2s[p]
            out[k + 2 * p + 1] = f * x1s[p]
        k += 2 * full
        if full < npairs:          # odd tail: one value out, its partner cached
            r2 = r2s[full]
            f = math.sqrt(-2.0 * math.log(r2) / r2)
            out[k] = f * x2s[full]
            g[0] = f * x1s[full]
            st[1] = 1
            k += 1


@njit(cache=True, nogil=True)
def scratch():
    """Scratch blocks for :func:`gauss_fill`: ``(buf [2 * CHUNK], x1s, x2s, r2s [CHUNK])``."""
    return (np.empty(2 * CHUNK), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK))


@njit(cache=True, nogil=True)
def normal_fill(key, tb, st, g, loc, scale, out):
    """``out[:] = np.random.normal(loc, scale, len(out))`` (``loc + scale * gauss``)."""
    buf, x1s, x2s, r2s = scratch()
    n = out.shape[0]
    for c0 in range(0, n, buf.shape[0]):
        m = min(buf.shape[0], n - c0)
        gauss_fill(key, tb, st, g, buf[:m], x1s, x2s, r2s)
        for k in range(m):
            out[c0 + k] = loc + scale * buf[k]


@njit(cache=True, nogil=True)
def time_jitter_records(ev, out, src, dst, key, tb, st, g, loc, scale, clip, lo, hi):
    """Tonic's time jitter fused with its ``np.random.normal(loc, scale, N)`` draw:
    ``dst = src + (loc + scale * gauss)`` cast into the field; with ``clip`` keep only the
    records whose written value is in ``[lo, hi)``. Returns the count written to ``out``."""
    buf, x1s, x2s, r2s = scratch()
    n = ev.shape[0]
    j = 0
    for c0 in range(0, n, buf.shape[0]):
        m = min(buf.shape[0], n - c0)
        gauss_fill(key, tb, st, g, buf[:m], x1s, x2s, r2s)
        for k in range(m):
            i = c0 + k
            out[j] = ev[i]
            dst[j] = src[i] + (loc + scale * buf[k])
            v = dst[j]
            j += (not clip) | ((lo <= v) & (v < hi))
    return j


@njit(cache=True, nogil=True)
def spatial_jitter_records(ev, out, xs, xd, ys, yd, key, tb, st, g, M, mean, clip, W, H):
    """Tonic's spatial jitter fused with ``np.random.multivariate_normal(mean, cov, N)``:
    per event two standard normals ``(z0, z1)``, shifts ``s_j = (z0 * M[0, j] + z1 * M[1, j])
    + mean[j]`` (numpy's ``x @ (sqrt(s)[:, None] * v) + mean``; exact only where each column
    of ``M`` has a zero, else BLAS's rounding may differ: the caller checks), added to x and y
    and cast into the fields; with ``clip`` only records inside ``[0, W) x [0, H)`` kept."""
    buf, x1s, x2s, r2s = scratch()
    n = ev.shape[0]
    m00, m01, m10, m11 = M[0, 0], M[0, 1], M[1, 0], M[1, 1]
    mu0, mu1 = mean[0], mean[1]
    half = buf.shape[0] // 2
    j = 0
    for c0 in range(0, n, half):
        m = min(half, n - c0)
        gauss_fill(key, tb, st, g, buf[:2 * m], x1s, x2s, r2s)
        for k in range(m):
            i = c0 + k
            z0, z1 = buf[2 * k], buf[2 * k + 1]
            out[j] = ev[i]
            xd[j] = xs[i] + ((z0 * m00 + z1 * m10) + mu0)
            yd[j] = ys[i] + ((z0 * m01 + z1 * m11) + mu1)
            u, v = xd[j], yd[j]
            j += (not clip) | ((0 <= u) & (u < W) & (0 <= v) & (v < H))
    return j


@njit(cache=True, nogil=True)
def _smear(i):
    """The smallest all-ones mask covering ``i`` (numpy's ``random_interval`` mask)."""
    m = np.uint32(i)
    m |= m >> np.uint32(1)
    m |= m >> np.uint32(2)
    m |= m >> np.uint32(4)
    m |= m >> np.uint32(8)
    m |= m >> np.uint32(16)
    return m


@njit(cache=True, nogil=True)
def legacy_choice_drop(key, tb, st, k, drop, a):
    """``np.random.choice(n, k, replace=False)`` of numpy's legacy generator, as a mask.

    Legacy ``choice`` without replacement is ``permutation(n)[:k]``: a Fisher-Yates shuffle of
    ``arange(n)`` from the top, position ``i`` swapped with ``random_interval(i)`` (a 32-bit
    word masked to ``i``'s bit width, redrawn while above ``i``). Positions below ``k`` only
    permute among themselves once ``i < k``, so those steps draw without swapping. Branch
    free: a redrawn word keeps ``i`` and swaps ``a[i]`` with itself; the mask is constant
    within each power-of-two band of ``i``, which keeps the loop's dependency chain to the
    compare and decrement. Sets ``drop[v]`` for the chosen values. ``a``: ``arange(n)``
    (int32 below 2**31 events halves its cache footprint); n below 2**32."""
    n = a.shape[0]
    pos = st[0]
    i = n - 1
    while i > 0:
        m = _smear(i)
        lo = max(np.int64(m >> np.uint32(1)), k - 1 if i >= k else 0)
        if i >= k:                      # shuffle steps that decide the kept set
            while i > lo:
                if pos >= 624:
                    refill(key, tb)
                    pos = 0
                v = np.int64(tb[pos] & m)
                pos += 1
                ok = v <= i
                u = v if ok else i
                a[i], a[u] = a[u], a[i]
                i -= ok
        else:                           # draws only (the order below k is not needed)
            while i > lo:
                if pos >= 624:
                    refill(key, tb)
                    pos = 0
                v = np.int64(tb[pos] & m)
                pos += 1
                i -= v <= i
    st[0] = pos
    for p in range(min(k, n)):
        drop[a[p]] = True
