"""Numba kernels of Tonic's voxel grid, time surface and HATS (one recording each).

Small, ``cache=True``, ``nogil=True``, typed by their inputs (fields of a structured array,
any stride). Each reproduces Tonic 1.7's arithmetic operation by operation (same float type,
same order of additions) so that values are equal bit for bit; the formulas are in
:mod:`evframes.tonic.transforms.functional`. Kernels return a status (0: done) instead of
raising; the Python side names the bad event.
"""
from __future__ import annotations

import numpy as np
from numba import njit

OK, BAD_INDEX, BAD_T = 0, 1, 2


# ---------------------------------------------------------------------------------------------
# Voxel grid
# ---------------------------------------------------------------------------------------------

_CH = 512  # events per chunk


@njit(cache=True, nogil=True)
def _vox_flush(out, size, HW, qb, w, cnt, row, n_bins):
    """Add the pending right shares ``w[:cnt]`` at ``qb + row*HW`` (as np.add.at: negatives
    from the end); -1 or the position of the first index outside the grid."""
    if row >= n_bins:
        return -1
    off = row * HW
    for j in range(cnt):
        q = qb[j] + off
        if q < 0:
            q += size
        if q < 0 or q >= size:
            return j
        out[q] += w[j]
    return -1


@njit(cache=True, nogil=True)
def voxel(t, x, y, p, n_bins, H, W, ft0, fspan, bool_p, out):
    """out: float64 [n_bins*H*W], zeroed. Tonic's sums: every cell gets its left shares in
    event order, then its right shares in event order. With ``t`` sorted the bins are runs of
    events: the left shares of a run go in at once, its right shares wait in a buffer until
    the next bin's run is done. Per chunk of events the positions ``tn`` are computed in a
    vectorised loop; a chunk whose first and last event share a bin is one run. Returns
    (status, event index)."""
    HW = H * W
    size = n_bins * HW
    n = t.shape[0]
    nf = np.float64(n_bins)
    tn = np.empty(_CH, np.float64)
    ql = np.empty(_CH, np.int64)
    wl = np.empty(_CH, np.float64)
    qs = np.empty((2, n), np.int64)     # right shares: row ia the current run's,
    ws = np.empty((2, n), np.float64)   # row 1 - ia the previous run's (pending)
    ia = 0
    cur = -1
    na = 0              # right shares of the current run (events a0, a0 + 1, ...)
    a0 = 0
    prev = -2
    npend = 0           # pending right shares (events p0, p0 + 1, ...)
    p0 = 0
    i = 0
    while i < n:
        m = min(_CH, n - i)
        ts = t[i:i + m]
        dec = False
        if fspan == 0.0:
            for j in range(m):
                tn[j] = 0.0
        else:
            for j in range(m):
                tn[j] = (nf * (np.float64(ts[j]) - ft0)) / fspan
        for j in range(1, m):
            dec |= ts[j] < ts[j - 1]
        if dec or (i > 0 and t[i] < t[i - 1]):
            for j in range(i, i + m):
                if j > 0 and t[j] < t[j - 1]:
                    return BAD_T, j
        b0 = np.int64(tn[0])
        split = m  # events [i, i + split) one by one, the rest of the chunk at once
        if b0 == np.int64(tn[m - 1]):
            split = 0 if b0 == cur else 1
        for j in range(split):
            e = i + j
            b = np.int64(tn[j])
            if b != cur:  # a new run: row cur has all its left shares
                bad = _vox_flush(out, size, HW, qs[1 - ia], ws[1 - ia], npend, prev + 1,
                                 n_bins)
                if bad >= 0:
                    return BAD_INDEX, p0 + bad
                ia = 1 - ia
                prev, npend, p0 = cur, na, a0
                na = 0
                a0 = e
                if b > cur + 1:  # row cur + 1 has no left shares: nothing to wait for
                    bad = _vox_flush(out, size, HW, qs[1 - ia], ws[1 - ia], npend, prev + 1,
                                     n_bins)
                    if bad >= 0:
                        return BAD_INDEX, p0 + bad
                    npend = 0
                cur = b
            d = tn[j] - b
            if bool_p:
                pol = 1.0
            else:
                pol = np.float64(p[e])
                if pol == 0.0:
                    pol = -1.0
            qb = np.int64(x[e]) + np.int64(y[e]) * W
            if b < n_bins:
                q = qb + b * HW
                if q < 0:
                    q += size
                if q < 0 or q >= size:
                    return BAD_INDEX, e
                out[q] += pol * (1.0 - d)
            qs[ia, na] = qb
            ws[ia, na] = pol * d
            na += 1
        if split < m:  # the rest of the chunk lies in bin cur (t sorted)
            b = cur
            bad = False
            for j in range(split, m):
                e = i + j
                d = tn[j] - b
                pol = 1.0
                if not bool_p:
                    pv = np.float64(p[e])
                    pol = -1.0 if pv == 0.0 else pv
                qb = np.int64(x[e]) + np.int64(y[e]) * W
                ql[j] = qb + b * HW
                wl[j] = pol * (1.0 - d)
                bad |= np.uint64(ql[j]) >= np.uint64(size)
                qs[ia, na + j - split] = qb
                ws[ia, na + j - split] = pol * d
            if b < n_bins:
                if bad:  # an index NumPy wraps or refuses: one by one
                    for j in range(split, m):
                        q = ql[j]
                        if q < 0:
                            q += size
                        if q < 0 or q >= size:
                            return BAD_INDEX, i + j
                        out[q] += wl[j]
                else:
                    for j in range(split, m):
                        out[np.uint64(ql[j])] += wl[j]
            na += m - split
        i += m
    bad = _vox_flush(out, size, HW, qs[1 - ia], ws[1 - ia], npend, prev + 1, n_bins)
    if bad >= 0:
        return BAD_INDEX, p0 + bad
    bad = _vox_flush(out, size, HW, qs[ia], ws[ia], na, cur + 1, n_bins)
    if bad >= 0:
        return BAD_INDEX, a0 + bad
    return OK, -1


# ---------------------------------------------------------------------------------------------
# Time surface
# ---------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def _axis(v, d):
    i = np.int64(v)
    if i < 0:
        i += d
    return i, i < 0 or i >= d


@njit(cache=True, nogil=True, error_model="numpy")
def time_surface(t, x, y, p, starts, ends, te, tau, P, H, W, has_y, out):
    """out: float64 [n, P*H*W]: ``-(te[k] - mem) / tau`` (the caller takes ``exp``), mem the
    latest ``int(t)`` assigned per (p, y, x) by slices 0..k in order (-inf: never). Returns
    (status, event index)."""
    HW = H * W
    mem = np.full(P * HW, -np.inf, np.float64)
    for k in range(starts.shape[0]):
        for i in range(starts[k], ends[k]):
            if i > 0 and t[i] < t[i - 1]:
                return BAD_T, i
            xi, bx = _axis(x[i], W)
            yi, by = (0, False)
            if has_y:
                yi, by = _axis(y[i], H)
            pi, bp = _axis(p[i], P)
            if bx or by or bp:
                return BAD_INDEX, i
            mem[pi * HW + yi * W + xi] = np.float64(np.int64(t[i]))
        row = out[k]
        e = te[k]
        for q in range(P * HW):
            row[q] = -(e - mem[q]) / tau
    return OK, -1


# ---------------------------------------------------------------------------------------------
# HATS (averaged time surfaces)
# ---------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def _near(xj, xi, rho, unsigned):
    """Tonic's ``abs(x_j - x_i) <= rho`` in the field's dtype (unsigned: wraps, so only
    ``0 <= x_j - x_i <= rho`` passes); the offset index ``x_j - x_i + rho``."""
    d = np.int64(xj) - np.int64(xi)
    ok = (d >= 0 and d <= rho) if unsigned else (d >= -rho and d <= rho)
    return ok, d + rho


@njit(cache=True, nogil=True)
def hats_pairs(order, gstart, t32, tstart, x, y, rho, S, ux, uy, r0, r1, counts, fill,
               dts, offs, base, b0):
    """For the events at positions [r0, r1) of ``order`` (events sorted by group, event
    order kept; ``gstart[r]``: first position of r's group): each earlier event j of the
    group with ``t32[j] >= tstart[i]`` within ``rho`` pixels (Tonic's mask), in event order.
    ``fill`` False: counts[r] = number of such j. True: their ``t32[i] - t32[j]`` (float32)
    and offset ``a*S + b`` written from ``base[r] - b0``."""
    for r in range(r0, r1):
        i = order[r]
        ts = tstart[i]
        g0 = gstart[r]
        lo = r
        while lo > g0 and np.float64(t32[order[lo - 1]]) >= ts:
            lo -= 1
        c = 0
        w = base[r] - b0 if fill else 0
        for s in range(lo, r):
            j = order[s]
            okx, bx = _near(x[j], x[i], rho, ux)
            oky, by = _near(y[j], y[i], rho, uy)
            if okx and oky:
                if fill:
                    dts[w] = t32[i] - t32[j]
                    offs[w] = by * S + bx
                    w += 1
                c += 1
        if not fill:
            counts[r] = c


@njit(cache=True, nogil=True)
def hats_accumulate(order, group, r0, r1, base, b0, counts, vals, offs, S, surf, hist):
    """Tonic's sums in float32: each event's surface (its pairs' values added in event
    order, then 1 at the centre) added to its group's histogram, events in order."""
    c = (S // 2) * S + S // 2
    for r in range(r0, r1):
        g = group[order[r]]
        b = base[r] - b0
        m = counts[r]
        for k in range(b, b + m):
            surf[offs[k]] += vals[k]
        surf[c] += np.float32(1.0)
        h = hist[g]
        for k in range(b, b + m):  # each touched cell once, then cleared
            o = offs[k]
            if surf[o] != 0.0:
                h[o] += surf[o]
                surf[o] = 0.0
        if surf[c] != 0.0:
            h[c] += surf[c]
            surf[c] = 0.0


@njit(cache=True, nogil=True)
def hats_groups(x, y, p, t, cell, wgrid, ncells, npols, group):
    """Group ``cell*npols + pol`` of each event (Tonic's ``(y // cell) * wgrid + x // cell``,
    negatives from the end as a list index; pol ``max(0, int(p))``). Returns
    (status, event index)."""
    for i in range(x.shape[0]):
        if i > 0 and t[i] < t[i - 1]:
            return BAD_T, i
        ci = (np.int64(y[i]) // cell) * wgrid + np.int64(x[i]) // cell
        if ci < 0:
            ci += ncells
        pi = max(0, np.int64(p[i]))
        if ci < 0 or ci >= ncells or pi >= npols:
            return BAD_INDEX, i
        group[i] = ci * npols + pi
    return OK, -1
