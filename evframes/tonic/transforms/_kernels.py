"""Numba kernels of Tonic's voxel grid, time surface and HATS (one recording each).

Small, ``cache=True``, ``nogil=True``, typed by their inputs (fields of a structured array,
any stride). Each reproduces Tonic 1.7's arithmetic operation by operation (same float type,
same order of additions) so that values are equal bit for bit; the formulas are in
:mod:`evframes.tonic.transforms.functional`. Kernels return a status (0: done) instead of
raising; the Python side names the bad event.
"""
from __future__ import annotations

import numpy as np

from ..._jit import njit
from ...integrate._tonic_kernels import _axis  # NumPy's index rule on one axis

OK, BAD_INDEX, BAD_T = 0, 1, 2


# ---------------------------------------------------------------------------------------------
# Voxel grid
# ---------------------------------------------------------------------------------------------



@njit(cache=True, nogil=True)
def _tn(tv, ft0, nf, fspan):
    """Tonic's time position ``(B * (float(t) - float(t0))) / float(span)`` (0: no span)."""
    if fspan == 0.0:
        return 0.0
    return (nf * (np.float64(tv) - ft0)) / fspan


@njit(cache=True, nogil=True)
def _run_starts(t, ft0, nf, fspan, n_bins):
    """First event of each bin's run, ``[n_bins + 2]``: ``int(tn) >= b`` from event
    ``starts[b]`` on (binary search; ``tn`` grows with ``t``), the last entry ``N``; made
    non-decreasing so that the runs always partition the events."""
    n = t.shape[0]
    starts = np.empty(n_bins + 2, np.int64)
    starts[0] = 0
    for b in range(1, n_bins + 1):
        lo = starts[b - 1]
        hi = n
        while lo < hi:
            mid = (lo + hi) >> 1
            if np.int64(_tn(t[mid], ft0, nf, fspan)) < b:
                lo = mid + 1
            else:
                hi = mid
        starts[b] = lo
    starts[n_bins + 1] = n
    return starts


@njit(cache=True, nogil=True)
def _vox_add(out, size, q, v):
    """``out[q] += v`` as np.add.at takes ``q`` (negatives from the end); False if outside."""
    if q < 0:
        q += size
    if q < 0 or q >= size:
        return False
    out[q] += v
    return True


@njit(cache=True, nogil=True)
def _first_decrease(t, lo, hi):
    for i in range(max(lo, 1), hi):
        if t[i] < t[i - 1]:
            return i
    return -1


@njit(cache=True, nogil=True)
def voxel(t, x, y, p, n_bins, H, W, ft0, fspan, bool_p, out):
    """out: float64 [n_bins*H*W], zeroed. Tonic's sums (np.add.at): every cell gets its
    left shares in event order, then its right shares in event order. With ``t`` sorted
    the bins are runs of events, and the cells of bin ``b`` get their left shares from run
    ``b`` and their right shares from run ``b - 1``; the runs are therefore done last to
    first, each in event order, adding both shares of an event at once: bin ``b + 1`` has
    all its left shares (run ``b + 1``, done before) when run ``b``'s right shares come.
    One pass per run (the previous ``t`` carried, one unsigned bound test covering both
    cells); an index NumPy would wrap (or refuse) sends the rest of its run one event at a
    time. Returns (status, event index)."""
    HW = H * W
    size = n_bins * HW
    usize = np.uint64(size)
    uHW = np.uint64(HW)
    nf = np.float64(n_bins)
    no_span = fspan == 0.0
    starts = _run_starts(t, ft0, nf, fspan, n_bins)
    for b in range(n_bins, -1, -1):
        lo = starts[b]
        hi = starts[b + 1]
        if b == n_bins:  # events at the last timestamp: no share inside the grid
            if _first_decrease(t, lo, hi) >= 0:
                return BAD_T, _first_decrease(t, 0, t.shape[0])
            continue
        right = b + 1 < n_bins
        offl = b * HW
        fb = np.float64(b)
        lim = usize - uHW if right else usize  # ul < lim: both cells inside
        dec = lo > 0 and lo < hi and t[lo] < t[lo - 1]
        i = lo
        if hi > lo:  # the run's events, both shares at once
            ts = t[lo:hi]
            xs = x[lo:hi]
            ys = y[lo:hi]
            ps = p[lo:hi]
            tprev = ts[0]
            j = 0
            while j < hi - lo:
                tv = ts[j]
                dec |= tv < tprev
                tprev = tv
                ul = np.uint64(np.int64(xs[j]) + np.int64(ys[j]) * W + offl)
                if ul >= lim:
                    break
                d = 0.0 - fb if no_span else (nf * (np.float64(tv) - ft0)) / fspan - fb
                if bool_p:
                    out[ul] += 1.0 - d
                    if right:
                        out[ul + uHW] += d
                else:
                    pv = np.float64(ps[j])
                    pol = -1.0 if pv == 0.0 else pv
                    out[ul] += pol * (1.0 - d)
                    if right:
                        out[ul + uHW] += pol * d
                j += 1
            i = lo + j
        if dec:  # (runs go last to first: name the first decrease of all)
            return BAD_T, _first_decrease(t, 0, t.shape[0])
        for j in range(i, hi):  # from an index NumPy wraps or refuses on: one by one
            if j > 0 and t[j] < t[j - 1]:
                return BAD_T, _first_decrease(t, 0, t.shape[0])
            d = _tn(t[j], ft0, nf, fspan) - b
            pol = 1.0
            if not bool_p:
                pv = np.float64(p[j])
                pol = -1.0 if pv == 0.0 else pv
            q = np.int64(x[j]) + np.int64(y[j]) * W
            if not _vox_add(out, size, q + offl, pol * (1.0 - d)):
                return BAD_INDEX, j
            if right and not _vox_add(out, size, q + offl + HW, pol * d):
                return BAD_INDEX, j
    return OK, -1


# ---------------------------------------------------------------------------------------------
# Time surface
# ---------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def time_surface(t, x, y, p, starts, ends, te, tau, P, H, W, has_y, out):
    """out: float64 [n, P*H*W]: ``-(te[k] - mem) / tau`` (the caller takes ``exp``), mem the
    latest ``int(t)`` assigned per (p, y, x) by slices 0..k in order (-inf: never). One pass
    per slice (the previous ``t`` carried); an index NumPy would wrap (or refuse) sends the
    rest of its slice one event at a time. Returns (status, event index)."""
    HW = H * W
    Wu = np.uint64(W)
    Hu = np.uint64(H)
    Pu = np.uint64(P)
    mem = np.full(P * HW, -np.inf, np.float64)
    for k in range(starts.shape[0]):
        s = starts[k]
        e = ends[k]
        dec = s > 0 and s < e and t[s] < t[s - 1]
        i = s
        if e > s:
            ts = t[s:e]
            xs = x[s:e]
            ys = y[s:e]
            ps = p[s:e]
            tprev = ts[0]
            j = 0
            while j < e - s:
                tv = ts[j]
                dec |= tv < tprev
                tprev = tv
                xi = np.int64(xs[j])
                yi = np.int64(ys[j]) if has_y else 0
                pi = np.int64(ps[j])
                if (np.uint64(xi) >= Wu) | (np.uint64(yi) >= Hu) | (np.uint64(pi) >= Pu):
                    break
                mem[pi * HW + yi * W + xi] = np.float64(np.int64(tv))
                j += 1
            i = s + j
        if dec:
            d = _first_decrease(t, s, i)
            if d >= 0:
                return BAD_T, d
        for j in range(i, e):
            if j > 0 and t[j] < t[j - 1]:
                return BAD_T, j
            xi, bx = _axis(x[j], W)
            yi, by = (0, False)
            if has_y:
                yi, by = _axis(y[j], H)
            pi, bp = _axis(p[j], P)
            if bx or by or bp:
                return BAD_INDEX, j
            mem[pi * HW + yi * W + xi] = np.float64(np.int64(t[j]))
        row = out[k]
        ek = te[k]
        for q in range(P * HW):
            row[q] = -(ek - mem[q]) / tau
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
def hats_pairs(gstart, t32, tstart, x, y, rho, S, ux, uy, r0, r1, counts, fill, dts, offs,
               base, b0):
    """Events sorted by group (event order kept within a group; ``gstart[r]``: the first
    position of r's group), fields gathered in that order. For the events at positions
    [r0, r1): each earlier event j of the group with ``t32[j] >= tstart[r]`` within ``rho``
    pixels (Tonic's mask), in event order. ``fill`` False: counts[r] = number of such j.
    True: their ``t32[r] - t32[j]`` (float32) and offset ``a*S + b`` written from
    ``base[r] - b0``."""
    for r in range(r0, r1):
        ts = tstart[r]
        g0 = gstart[r]
        lo = r
        while lo > g0 and np.float64(t32[lo - 1]) >= ts:
            lo -= 1
        c = 0
        w = base[r] - b0 if fill else 0
        for j in range(lo, r):
            okx, bx = _near(x[j], x[r], rho, ux)
            oky, by = _near(y[j], y[r], rho, uy)
            if okx and oky:
                if fill:
                    dts[w] = t32[r] - t32[j]
                    offs[w] = by * S + bx
                    w += 1
                c += 1
        if not fill:
            counts[r] = c


@njit(cache=True, nogil=True)
def hats_accumulate(group, r0, r1, base, b0, counts, vals, offs, S, surf, hist):
    """Tonic's sums in float32: each event's surface (its pairs' values added in event
    order, then 1 at the centre) added to its group's histogram, events in order."""
    c = (S // 2) * S + S // 2
    for r in range(r0, r1):
        b = base[r] - b0
        m = counts[r]
        for k in range(b, b + m):
            surf[offs[k]] += vals[k]
        surf[c] += np.float32(1.0)
        h = hist[group[r]]
        for k in range(b, b + m):  # each touched cell once, then cleared
            o = offs[k]
            if surf[o] != 0.0:
                h[o] += surf[o]
                surf[o] = 0.0
        if surf[c] != 0.0:
            h[c] += surf[c]
            surf[c] = 0.0


@njit(cache=True, nogil=True)
def hats_groups(x, y, p, t, cell, wgrid, ncells, npols, group, per_group):
    """Group ``cell*npols + pol`` of each event (Tonic's ``(y // cell) * wgrid + x // cell``,
    negatives from the end as a list index; pol ``max(0, int(p))``) and the events per
    group. Returns (status, event index)."""
    for i in range(x.shape[0]):
        if i > 0 and t[i] < t[i - 1]:
            return BAD_T, i
        ci = (np.int64(y[i]) // cell) * wgrid + np.int64(x[i]) // cell
        if ci < 0:
            ci += ncells
        pi = max(0, np.int64(p[i]))
        if ci < 0 or ci >= ncells or pi >= npols:
            return BAD_INDEX, i
        g = ci * npols + pi
        group[i] = g
        per_group[g] += 1
    return OK, -1


@njit(cache=True, nogil=True)
def hats_gather(group, first, x, y, t32, tstart, gx, gy, gt, gts, gg, gstart):
    """Counting sort by group (stable): each event's fields at its group's next position."""
    nxt = first[:-1].copy()
    for i in range(group.shape[0]):
        g = group[i]
        r = nxt[g]
        nxt[g] = r + 1
        gx[r] = np.int64(x[i])
        gy[r] = np.int64(y[i])
        gt[r] = t32[i]
        gts[r] = tstart[i]
        gg[r] = g
        gstart[r] = first[g]
