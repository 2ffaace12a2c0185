"""The representations of :mod:`evframes.integrate.representations` on torch tensors.

Called by :func:`evframes.integrate.torch.frames_by_setting` for a setting whose
``representation`` is not ``'count'`` (nor ``'event_image'``, which is count frames): the events
are validated and the windows (``starts``, ``ends``, ``frame_offsets``, global event indices of
the flat batch) computed there by the same boundary rules; this module turns them into
``[F, C, H, W]`` frames with the formulas of the representations module docstring, on the
events' device.

Same numbers as the Numba kernels (on the CPU)
-----------------------------------------------
- ``onoff``, ``binary``, ``stacked_histogram``: one integer :func:`torch.bincount` over
  (frame, channel, pixel) (int64, exact and order-independent on any device), then the
  kind's saturation (onoff to int16, stacked histogram clipped at ``clip``) and dtype. The
  stacked histogram's bin ``min(B - 1, B * (t - t0) // max(t_last - t0, 1))`` is the kernel's
  int64 expression.
- ``latest_timestamp``: :meth:`torch.Tensor.scatter_reduce_` ``'amax'`` of ``t - t_start``
  over (frame, polarity, pixel) on ``-1`` (the kernel writes events in index order, so its
  last write is the latest time: the same value). Exact on any device.
- ``time_surface``: the memory before window ``k``'s end is the latest event time per
  (polarity, pixel) over the sample's events ``[0, ends[k])``; the rules' ends never decrease
  within a sample, so it is an ``amax`` over each window's new events ``[ends[k-1], ends[k])``
  followed by a running maximum (:func:`torch.cummax`) over the sample's windows. Then
  ``exp((mem - te) * (1 / tau))`` in float64 (``te``, ``mem`` converted to float64 before
  the subtraction, as the kernel does) by the kernel's own exp (:mod:`._decay`: range
  reduction and a polynomial, the same tensor operations in the same order), stored float32:
  bit-equal on the CPU (and expected so on CUDA: every product and sum is its own kernel, so
  nothing is fused into a multiply-add; ``benchmarks/gpu_check.py`` checks it).
- ``voxel``: the kernel sums, per cell, the contributions ``pol * (1 - d)`` (bin ``b``) and
  ``pol * d`` (bin ``b + 1``) of the window's events in event order in float64, then rounds
  to float32. Here the contributions are laid out interleaved in event order (event ``i``'s
  two contributions at ``2i``, ``2i + 1``; those whose bin is ``>= B`` go to a discarded
  cell) and summed by one weighted :func:`torch.bincount` in float64; on the CPU that is a
  sequential loop in index order, so every cell sees the same additions in the same order:
  bit-equal float64 sums, bit-equal float32 results. On CUDA the weighted bincount adds with
  atomics (order not fixed): the sums may differ by float64 rounding (far below float32's
  resolution, so in practice the float32 values agree or differ by 1 ulp).
- ``averaged_time_surface`` (HATS): the events of each window are grouped by (window,
  polarity, cell) (a stable sort keeps them in index order within a group); every pair
  (event ``i``, earlier event ``j`` of its group, ``j < i``) within ``radius`` pixels in x and
  y adds ``exp(-(t_i - t_j) / tau)`` (the int64 difference converted to float64, divided by
  ``tau``) at offset ``(y_j - y_i, x_j - x_i)`` of the group's histogram, one weighted
  float64 :meth:`torch.Tensor.index_add_`; each event adds 1 at the centre; the sums divided by
  ``max(1, count)`` in float64, stored float32. The pairs are enumerated in chunks of about
  ``_HATS_PAIRS`` (a group's pairs are ``n (n - 1) / 2``: memory is bounded by the chunk,
  the work grows with the square of the events per window, polarity and cell). Not bit-equal
  to the kernel, which keeps a running sum ``A = sum_j exp((t_j - t_ref) / tau)`` per pixel
  and multiplies it by ``exp(-(t_i - t_ref) / tau)`` (rescaling ``t_ref`` forward): the same
  value in exact arithmetic, but a different float64 rounding (products of ``exp(+d)`` and
  ``exp(-d)`` instead of one ``exp`` per pair, sums in another order). All terms are
  positive, so both float64 results are within a few float64 ulp of the true value, far below
  float32's resolution: the float32 results agree or differ by 1 float32 ulp where the
  float64 value lies next to a float32 rounding boundary (tolerance ``HATS_ULP`` = 1,
  asserted in ``tests/test_integrate_torch.py`` on the CPU and ``benchmarks/gpu_check.py``).
  Values the kernel floors at ``1e-300`` (far below float32) are 0 in float32 on both paths.

Window times (``time_surface``'s ``te``, ``latest_timestamp``'s ``ts``) are
:func:`~evframes.integrate.representations.window_times` per sample, as int64 tensor
expressions.

Layers: like :mod:`evframes.integrate.torch` (its only importer) this module imports torch and
nothing in ``import evframes.integrate`` loads it (``.importlinter`` names both).
"""
from __future__ import annotations

import numpy as np
import torch

from . import _decay as D
from ._repr_spec import repr_dtype
from .setting import FrameSetting

# representation -> its torch dtype (event_image / count frames are handled by torch.py)
_DTYPES = {"voxel": torch.float32, "time_surface": torch.float32,
           "stacked_histogram": torch.uint8, "onoff": torch.int16, "binary": torch.uint8,
           "latest_timestamp": torch.int64, "averaged_time_surface": torch.float32}
TORCH_REPRESENTATIONS = tuple(_DTYPES)
_I64_MIN = torch.iinfo(torch.int64).min
HATS_ULP = 1  # float32 ulp between this HATS and the Numba kernel's (module docstring)
_HATS_PAIRS = 1 << 22  # (event, earlier event) pairs per chunk of the HATS enumeration


def check_torch_repr(setting: FrameSetting, dtype) -> None:
    """Refuse a representation without a torch path, and a ``dtype`` other than its own."""
    rep = setting.representation
    if rep not in _DTYPES:
        raise ValueError(f"representation {rep!r} has no torch path; integrate it with "
                         f"evframes.integrate.integrate_batch")
    if dtype is None:
        return
    own = _DTYPES[rep]
    given = dtype if isinstance(dtype, torch.dtype) else \
        torch.from_numpy(np.zeros(0, np.dtype(dtype))).dtype
    if given != own:
        raise ValueError(f"representation {rep!r} is "
                         f"{repr_dtype(rep, **setting.repr_kwargs)}; dtype={dtype} cannot be "
                         f"honoured (convert the result instead)")


def _frame_ids(offsets, fo, F):
    """Per frame: its sample, its index within the sample, the sample's event range."""
    dev = offsets.device
    B = offsets.shape[0] - 1
    counts = fo[1:] - fo[:-1]
    sid = torch.repeat_interleave(torch.arange(B, device=dev), counts, output_size=F)
    j = torch.arange(F, device=dev) - fo[:-1][sid]
    return sid, j, offsets[:-1][sid], offsets[1:][sid], counts[sid]


def _window_times(t, starts, ends, setting, j, lo, hi, n_frames):
    """``(ts, te)`` int64 ``[F]``: :func:`representations.window_times` of every frame."""
    N = t.shape[0]
    F = starts.shape[0]
    zero = torch.zeros(F, dtype=torch.int64, device=t.device)
    if N == 0 or F == 0:
        return zero, zero
    kind = setting.kind
    nonempty = hi > lo
    if kind in ("duration", "time"):
        t0 = t[lo.clamp(max=N - 1)]
        if kind == "duration":
            D = int(setting.duration)
            ts, te = t0 + j * D, t0 + (j + 1) * D
        else:
            tl = t[(hi - 1).clamp(0, N - 1)]
            dt = torch.div(tl - t0, int(setting.frames_number), rounding_mode="floor")
            ts = t0 + j * dt
            te = torch.where(j == n_frames - 1, tl, t0 + (j + 1) * dt + int(setting.overlap))
        return torch.where(nonempty, ts, zero), torch.where(nonempty, te, zero)
    ts = torch.where(starts < hi, t[starts.clamp(0, N - 1)], zero)
    te = torch.where(ends > lo, t[(ends - 1).clamp(0, N - 1)], zero)
    return ts, te


def _expand(starts, ends):
    """``(f_idx, ev)``: every (window, event index) pair of the segments, window-major."""
    dev = starts.device
    F = starts.shape[0]
    seg = (ends - starts).clamp(min=0)
    M = int(seg.sum()) if F else 0
    cum = torch.zeros(F, dtype=torch.int64, device=dev)
    if F > 1:
        torch.cumsum(seg[:-1], 0, out=cum[1:])
    f_idx = torch.repeat_interleave(torch.arange(F, device=dev), seg, output_size=M)
    ev = starts[f_idx] + (torch.arange(M, device=dev) - cum[f_idx])
    return f_idx, ev


def _first_span(t, starts, ends, f_idx):
    """Per event (window-major pairs): its window's ``t0 = t[start]`` and ``t_last - t0``."""
    if f_idx.numel() == 0:
        return f_idx, f_idx
    N = t.shape[0]
    t0 = t[starts.clamp(max=N - 1)]
    return t0[f_idx], (t[(ends - 1).clamp(0, N - 1)] - t0)[f_idx]


def _pix(x, y, ev, W):
    return y[ev].to(torch.int64) * W + x[ev].to(torch.int64)


def represent_torch(t, x, y, p, offsets, starts, ends, fo, setting: FrameSetting,
                    H: int, W: int) -> torch.Tensor:
    """``[F, C, H, W]`` frames of ``setting.representation`` (validated inputs, the rule's
    global windows ``starts``/``ends`` and ``frame_offsets`` ``fo``)."""
    kind, d = setting.representation, setting.repr_kwargs
    dev = t.device
    F = starts.shape[0]
    HW = H * W
    ends = torch.maximum(ends, starts)
    f_idx, ev = _expand(starts, ends)
    if kind in ("onoff", "binary"):
        pol = p[ev].to(torch.int64)
        cnt = torch.bincount((f_idx * 2 + pol) * HW + _pix(x, y, ev, W),
                             minlength=F * 2 * HW).view(F, 2, H, W)
        if kind == "binary":
            return (cnt > 0).to(torch.uint8)
        return (cnt[:, 1:2] - cnt[:, 0:1]).clamp(-32768, 32767).to(torch.int16)
    if kind == "stacked_histogram":
        B, clip = int(d["bins"]), int(d["clip"])
        t0, span = _first_span(t, starts, ends, f_idx)
        b = torch.clamp(torch.div(B * (t[ev] - t0), span.clamp(min=1), rounding_mode="floor"),
                        max=B - 1)
        ch = p[ev].to(torch.int64) * B + b
        cnt = torch.bincount((f_idx * (2 * B) + ch) * HW + _pix(x, y, ev, W),
                             minlength=F * 2 * B * HW)
        return cnt.clamp(max=clip).to(torch.uint8).view(F, 2 * B, H, W)
    if kind == "voxel":
        return _voxel(t, x, y, p, starts, ends, f_idx, ev, F, int(d["bins"]), H, W)
    if kind == "averaged_time_surface":
        return _hats(t, x, y, p, f_idx, ev, F, H, W, int(d["cell"]), int(d["radius"]),
                     float(d["tau"]))

    sid, j, lo, hi, n_frames = _frame_ids(offsets, fo, F)
    ts, te = _window_times(t, starts, ends, setting, j, lo, hi, n_frames)
    if kind == "latest_timestamp":
        out = torch.full((F * 2 * HW,), -1, dtype=torch.int64, device=dev)
        q = (f_idx * 2 + p[ev].to(torch.int64)) * HW + _pix(x, y, ev, W)
        out.scatter_reduce_(0, q, t[ev] - ts[f_idx], reduce="amax", include_self=True)
        return out.view(F, 2, H, W)
    # time_surface: latest time over each window's new events [ends[k-1], ends[k]), then a
    # running maximum over the sample's windows (ends never decrease within a sample)
    prev = torch.where(j > 0, ends[(torch.arange(F, device=dev) - 1).clamp(min=0)], lo)
    g_idx, gev = _expand(prev, ends)
    mem = torch.full((F, 2 * HW), _I64_MIN, dtype=torch.int64, device=dev)
    q = g_idx * (2 * HW) + p[gev].to(torch.int64) * HW + _pix(x, y, gev, W)
    mem.view(-1).scatter_reduce_(0, q, t[gev], reduce="amax", include_self=True)
    if F:
        Bn = offsets.shape[0] - 1
        Tmax = int(n_frames.max())
        pad = torch.full((Bn, Tmax, 2 * HW), _I64_MIN, dtype=torch.int64, device=dev)
        pad[sid, j] = mem
        mem = torch.cummax(pad, dim=1).values[sid, j]
    memf = torch.where(mem == _I64_MIN, torch.tensor(float("-inf"), dtype=torch.float64,
                                                     device=dev), mem.to(torch.float64))
    val = _decay((memf - te.to(torch.float64)[:, None]) * (1.0 / float(d["tau"])))
    return val.view(F, 2, H, W)


def _decay(z: torch.Tensor) -> torch.Tensor:
    """float32 ``exp(z)`` of float64 ``z`` by the operations of the Numba kernel's
    ``_decay_row`` (:mod:`evframes.integrate._decay`), in the same order: bit-equal on the
    CPU (no fused multiply-adds: every product and sum is its own rounded tensor op)."""
    z = z.clamp(D.ZMIN, D.ZMAX)
    n = torch.floor(z * D.LOG2E + 0.5)
    r = (z - n * D.LN2_HI) - n * D.LN2_LO
    s = torch.full_like(r, D.TAYLOR[-1])
    for c in D.TAYLOR[-2::-1]:
        s = s * r + c
    scale = ((n.to(torch.int64) + D.EXP_BIAS) << 52).view(torch.float64)
    return (s * scale).to(torch.float32)


def _voxel(t, x, y, p, starts, ends, f_idx, ev, F, B, H, W) -> torch.Tensor:
    """Bilinear voxel grid; contributions interleaved in event order, float64 sums."""
    dev = t.device
    HW = H * W
    trash = F * B * HW
    if ev.numel() == 0:
        return torch.zeros((F, B, H, W), dtype=torch.float32, device=dev)
    t0, span = _first_span(t, starts, ends, f_idx)
    tn = torch.where(span > 0, (B * (t[ev] - t0)).to(torch.float64)
                     / span.clamp(min=1).to(torch.float64),
                     torch.zeros((), dtype=torch.float64, device=dev))
    b = tn.to(torch.int64)  # tn >= 0: truncation is floor
    dts = tn - b.to(torch.float64)
    pol = torch.where(p[ev] != 0, 1.0, -1.0).to(torch.float64)
    pix = _pix(x, y, ev, W)
    base = f_idx * (B * HW) + pix
    i0 = torch.where(b < B, base + b * HW, trash)
    i1 = torch.where(b + 1 < B, base + (b + 1) * HW, trash)
    idx = torch.stack((i0, i1), 1).reshape(-1)
    w = torch.stack((pol * (1.0 - dts), pol * dts), 1).reshape(-1)
    acc = torch.bincount(idx, weights=w, minlength=trash + 1)[:trash]
    return acc.to(torch.float32).view(F, B, H, W)


def _hats(t, x, y, p, f_idx, ev, F, H, W, cell, r, tau) -> torch.Tensor:
    """HATS: pairwise (event, earlier event) decays per (window, polarity, cell) group."""
    dev = t.device
    S = 2 * r + 1
    SS = S * S
    Hc, Wc = -(-H // cell), -(-W // cell)
    ncell = Hc * Wc
    xs, ys = x[ev].to(torch.int64), y[ev].to(torch.int64)
    key = (f_idx * 2 + p[ev].to(torch.int64)) * ncell + (ys // cell) * Wc + xs // cell
    key, order = torch.sort(key, stable=True)  # index order kept within a group
    ev, xs, ys = ev[order], xs[order], ys[order]
    ts = t[ev]
    M = key.shape[0]
    cnt = torch.bincount(key, minlength=F * 2 * ncell)
    hist = torch.zeros(F * 2 * ncell * SS, dtype=torch.float64, device=dev)
    if M:
        pos = torch.arange(M, device=dev)
        new = torch.ones(M, dtype=torch.bool, device=dev)
        new[1:] = key[1:] != key[:-1]
        gstart = torch.cummax(torch.where(new, pos, 0), 0).values  # first position of group
        rank = pos - gstart  # earlier events of the group
        cum = torch.cumsum(rank, 0)
        total = int(cum[-1])
        a = 0
        while a < M and total:
            done = int(cum[a - 1]) if a else 0
            b = int(torch.searchsorted(cum, done + _HATS_PAIRS, right=True))
            b = min(M, max(b, a + 1))
            rk = rank[a:b]
            P = int(cum[b - 1]) - done
            if P:
                loc = torch.repeat_interleave(torch.arange(b - a, device=dev), rk,
                                              output_size=P)
                first = torch.cumsum(rk, 0) - rk
                ii = loc + a
                jj = gstart[ii] + (torch.arange(P, device=dev) - first[loc])
                dx, dy = xs[jj] - xs[ii], ys[jj] - ys[ii]
                ok = (dx.abs() <= r) & (dy.abs() <= r)
                ii, jj = ii[ok], jj[ok]
                w = torch.exp(-(ts[ii] - ts[jj]).to(torch.float64) / tau)
                idx = key[ii] * SS + (dy[ok] + r) * S + (dx[ok] + r)
                hist.index_add_(0, idx, w)
            a = b
    hist = hist.view(-1, SS)
    hist[:, r * S + r] += cnt.to(torch.float64)
    hist = hist / cnt.clamp(min=1).to(torch.float64)[:, None]
    out = hist.view(F, 2, Hc, Wc, S, S).permute(0, 1, 2, 4, 3, 5).reshape(F, 2, Hc * S, Wc * S)
    return out.to(torch.float32).contiguous()


__all__ = ["represent_torch", "check_torch_repr", "TORCH_REPRESENTATIONS", "HATS_ULP"]
