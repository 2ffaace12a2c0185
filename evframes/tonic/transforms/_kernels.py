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

@njit(cache=True, nogil=True)
def _vox_event(t, x, y, p, i, ft0, nf, fspan, bool_p):
    """(bin, base index x + y*W, left weight, right weight) of event i."""
    if fspan == 0.0:
        tn = 0.0
    else:
        tn = (nf * (np.float64(t[i]) - ft0)) / fspan
    b = np.int64(tn)
    d = tn - b
    if bool_p:
        pol = 1.0
    else:
        pol = np.float64(p[i])
        if pol == 0.0:
            pol = -1.0
    return b, d, pol * (1.0 - d), pol * d


@njit(cache=True, nogil=True)
def _vox_add(out, size, idx, v):
    """Add v at flat idx as np.add.at does (negatives from the end); False if outside."""
    if idx < 0:
        idx += size
    if idx < 0 or idx >= size:
        return False
    out[idx] += v
    return True


@njit(cache=True, nogil=True)
def _vox_rights(t, x, y, p, lo, hi, ft0, nf, fspan, bool_p, n_bins, W, HW, out):
    """Add the right (next-bin) shares of events [lo, hi) in event order; -1 or bad index."""
    size = n_bins * HW
    for i in range(lo, hi):
        b, d, wl, wr = _vox_event(t, x, y, p, i, ft0, nf, fspan, bool_p)
        if b + 1 < n_bins:
            q = np.int64(x[i]) + np.int64(y[i]) * W + (b + 1) * HW
            if not _vox_add(out, size, q, wr):
                return i
    return -1


@njit(cache=True, nogil=True)
def voxel(t, x, y, p, n_bins, H, W, ft0, fspan, bool_p, out):
    """out: float64 [n_bins*H*W], zeroed. Tonic's sums: every cell gets its left shares in
    event order, then its right shares in event order. With ``t`` sorted the bins are runs of
    events, so the right shares of the run of bin ``b`` are added once bin ``b + 1``'s run is
    done (recomputed, not stored). Returns (status, event index)."""
    HW = H * W
    size = n_bins * HW
    nf = np.float64(n_bins)
    n = t.shape[0]
    cur = -1           # bin of the current run
    run0 = 0           # first event of the current run
    pend0 = 0          # pending right shares: events [pend0, pend1) of bin cur - 1
    pend1 = 0
    for i in range(n):
        if i > 0 and t[i] < t[i - 1]:
            return BAD_T, i
        b, d, wl, wr = _vox_event(t, x, y, p, i, ft0, nf, fspan, bool_p)
        if b != cur:
            # the current run's bin has all its left shares: its pending rights go in
            bad = _vox_rights(t, x, y, p, pend0, pend1, ft0, nf, fspan, bool_p, n_bins, W, HW,
                              out)
            if bad >= 0:
                return BAD_INDEX, bad
            pend0, pend1 = run0, i
            if b > cur + 1:  # bin cur + 1 has no events of its own: nothing to wait for
                bad = _vox_rights(t, x, y, p, pend0, pend1, ft0, nf, fspan, bool_p, n_bins, W,
                                  HW, out)
                if bad >= 0:
                    return BAD_INDEX, bad
                pend0 = pend1 = i
            cur = b
            run0 = i
        if b < n_bins:
            q = np.int64(x[i]) + np.int64(y[i]) * W + b * HW
            if not _vox_add(out, size, q, wl):
                return BAD_INDEX, i
    for lo, hi in ((pend0, pend1), (run0, n)):
        bad = _vox_rights(t, x, y, p, lo, hi, ft0, nf, fspan, bool_p, n_bins, W, HW, out)
        if bad >= 0:
            return BAD_INDEX, bad
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
