"""The boundary rules of :mod:`evframes.integrate` on torch tensors, on any device.

A batch of samples travels as flat event tensors ``t, x, y, p`` (all samples' events back to
back, ``t`` int64 microseconds sorted within each sample, ``x``, ``y`` pixels, ``p`` 0/1) plus
``offsets`` int64 ``[B + 1]`` (sample ``s`` is ``offsets[s]:offsets[s+1]``), the layout of
:func:`evframes.integrate.integrate_batch`. :func:`collate_events` builds it from
``(events, label)`` samples (``data_type='event'`` Dataset items), so a training loop can move
raw events to the GPU and integrate there::

    loader = DataLoader(ds, batch_size=16, collate_fn=collate_events)
    for t, x, y, p, offsets, labels in loader:
        frames, frame_offsets = frames_by_setting(t.cuda(), x.cuda(), y.cuda(), p.cuda(),
                                                  offsets.cuda(), setting, H, W, stacked=True)
        frames = frames.float()  # [B, T, 2, H, W]

Same numbers as the Numba kernels
---------------------------------
The rules (``number``, ``time``, ``duration``, ``count``, with ``overlap`` and
``include_incomplete``) are those of the :mod:`evframes.integrate` docstring, computed with the
same integer arithmetic: the boundaries are int64 tensor expressions of ``N``, ``t[lo]``,
``t[hi-1]`` and binary searches (one :func:`torch.searchsorted` over a key that keeps every
sample's events apart), the counts one integer :func:`torch.bincount` (int64 accumulation,
atomics on CUDA, exact and order-independent). On the CPU and on a GPU the frames and
``frame_offsets`` equal :func:`~evframes.integrate.integrate_batch`'s bit for bit
(``tests/test_integrate_torch.py``, ``benchmarks/gpu_check.py``).

Representations
---------------
A setting with a ``representation`` (voxel, time_surface, stacked_histogram, onoff, binary,
latest_timestamp, averaged_time_surface; event_image is count frames) gives that
representation over the same windows (:mod:`evframes.integrate.torch_repr`: integer bincount
/ scatter ``amax``, float64 voxel sums in event order, HATS as pairwise float64 decays per
window, polarity and cell), equal to ``integrate_batch`` bit for bit on the CPU, except
``averaged_time_surface``: within 1 float32 ulp (``torch_repr.HATS_ULP``; the kernel's
rescaled running sums round differently).

dtype
-----
As the Numba path: ``dtype=None`` gives ``torch.uint16`` when no frame can hold more than 65535
events (the longest segment), else ``torch.int32`` (else ``torch.int64``). ``torch.uint16`` is
one of torch's limited unsigned dtypes (conversion, comparison and copies work; arithmetic
mostly does not): call ``.float()`` or pass ``dtype=torch.float32`` for training. An explicit
``dtype`` is honoured; when the longest segment could exceed what it holds exactly, counts are
kept in int64 and a ``ValueError`` is raised when a pixel really exceeds an integer dtype's
range (floats are rounded, never wrapped).

Validation
----------
As :func:`~evframes.integrate.integrate_batch`, with the same messages: ``x`` outside
``[0, W)``, ``y`` outside ``[0, H)``, ``p`` outside ``{0, 1}`` or ``t`` decreasing within a
sample raise ``ValueError`` naming the sample and the first offending (global) index; bad
``offsets`` and non-integer inputs are refused too. Custom-function settings have no torch
path. ``setting.downsample`` K > 1 pools coordinates first (``x // K``, ``y // K``, as the
frames pipeline does); ``H``, ``W`` are then the pooled frame size
(:func:`evframes.integrate.core.downsampled_size`) and the pooled coordinates are checked.

Layers: this module is the one part of :mod:`evframes.integrate` that imports torch; nothing
in the package imports it (``import evframes.integrate`` stays torch-free), users import
``evframes.integrate.torch`` on demand (``.importlinter`` names it as the one exception).
"""
from __future__ import annotations

from typing import Iterable, Sequence, Tuple

import numpy as np
import torch

from ._inputs import _check_hw, _raise_bad
from ._kernels import _BAD_P, _BAD_T, _BAD_X, _BAD_Y, _COUNT, _DURATION, _NUMBER, _TIME
from .core import _auto_dtype
from .setting import FrameSetting
from .torch_repr import check_torch_repr, represent_torch

_NP_TO_TORCH = {np.dtype(np.uint16): torch.uint16, np.dtype(np.int32): torch.int32,
                np.dtype(np.int64): torch.int64}
_NARROW_OK = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)
# Sum of the per-sample key ranges above which the one-searchsorted key could overflow int64:
# the boundaries then fall back to one searchsorted per sample.
_KEY_LIMIT = 2 ** 62


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------

def _int_tensor(a, name: str, device) -> torch.Tensor:
    a = torch.as_tensor(a, device=device).reshape(-1)
    if a.dtype == torch.bool:
        return a.to(torch.uint8)
    if a.is_floating_point() or a.is_complex():
        if a.numel() and not bool((torch.remainder(a, 1) == 0).all()):
            raise ValueError(f"events['{name}'] must hold integers, got dtype {a.dtype}")
        return a.to(torch.int64)
    if a.dtype not in _NARROW_OK:  # uint16/32/64: torch's limited unsigned dtypes
        return a.to(torch.int64)
    return a


def _inputs(t, x, y, p, offsets):
    device = t.device if isinstance(t, torch.Tensor) else None
    t = _int_tensor(t, "t", device).to(torch.int64)
    device = t.device
    x, y, p = (_int_tensor(a, k, device) for a, k in ((x, "x"), (y, "y"), (p, "p")))
    n = t.shape[0]
    for k, a in (("x", x), ("y", y), ("p", p)):
        if a.shape[0] != n:
            raise ValueError(f"events arrays differ in length: t has {n}, {k} has {a.shape[0]}")
    offsets = torch.as_tensor(offsets, device=device).reshape(-1).to(torch.int64)
    if offsets.numel() == 0:
        raise ValueError("offsets needs at least one entry (n_samples + 1)")
    first, last = int(offsets[0]), int(offsets[-1])
    if first != 0 or last != n or (offsets.numel() > 1 and
                                   bool((offsets[1:] < offsets[:-1]).any())):
        raise ValueError(f"offsets must be non-decreasing from 0 to the number of events "
                         f"({n}), got {first}..{last}")
    return t, x, y, p, offsets


def _validate(t, x, y, p, offsets, H: int, W: int) -> None:
    """Raise like ``integrate_batch`` on the first event (global index order, so in the first
    bad sample) with ``x``, ``y`` off the sensor, ``p`` not 0/1 or ``t`` decreasing."""
    n = t.shape[0]
    if n == 0:
        return
    bx = (x < 0) | (x >= W)
    by = (y < 0) | (y >= H)
    bp = (p < 0) | (p > 1)
    bt = torch.zeros(n, dtype=torch.bool, device=t.device)
    bt[1:] = t[1:] < t[:-1]
    lo = offsets[:-1]
    bt[lo[lo < n]] = False  # a sample's first event follows no event of its own
    bad = bx | by | bp | bt
    if not bool(bad.any()):
        return
    i = int(torch.argmax(bad.to(torch.uint8)))
    code = (_BAD_X if bool(bx[i]) else _BAD_Y if bool(by[i]) else
            _BAD_P if bool(bp[i]) else _BAD_T)
    s = int(torch.searchsorted(offsets, torch.tensor(i, device=offsets.device), right=True)) - 1
    lo_s, hi_s = int(offsets[s]), int(offsets[s + 1])
    _raise_bad(code, i, t, x, y, p, H, W, f"sample {s} (events {lo_s}..{hi_s})")


# ---------------------------------------------------------------------------------------------
# Boundaries
# ---------------------------------------------------------------------------------------------

def frame_bounds(t, offsets, setting: FrameSetting
                 ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Event-index segments of a rule-based setting for a flat batch (on ``t``'s device).

    ``t``: int64 microseconds, sorted within each sample (not checked here: see
    :func:`frames_by_setting`); ``offsets``: ``[B + 1]``. Returns ``(starts, ends,
    frame_offsets)``: int64 ``[F]``, ``[F]`` (global event indices; frame ``f`` holds events
    ``starts[f] <= i < ends[f]``) and ``[B + 1]`` (sample ``s``'s frames are
    ``frame_offsets[s]:frame_offsets[s+1]``), equal to the Numba batch kernels' boundaries.
    """
    if setting.function is not None:
        raise ValueError("a custom function setting has no boundaries (and no torch path)")
    t = torch.as_tensor(t).reshape(-1).to(torch.int64)
    offsets = torch.as_tensor(offsets, device=t.device).reshape(-1).to(torch.int64)
    return _bounds(t, offsets, *setting._params())


def _bounds(t, offsets, rule, T, D, C, o, incl):
    dev = t.device
    N = t.shape[0]
    lo, hi = offsets[:-1], offsets[1:]
    n = hi - lo
    B = n.shape[0]
    if N:
        span = torch.where(n > 0, t[(hi - 1).clamp(0, N - 1)] - t[lo.clamp(0, N - 1)], 0)
    else:
        span = torch.zeros(B, dtype=torch.int64, device=dev)

    if rule in (_NUMBER, _TIME):
        counts = torch.full((B,), T, dtype=torch.int64, device=dev)
    elif rule == _DURATION:
        counts = torch.where(n > 0, torch.div(span + D - 1, D, rounding_mode="floor")
                             .clamp(min=1), 0)
    else:
        stride = C - o
        if incl:
            counts = torch.where(n <= C, 1, torch.div(n - C + stride - 1, stride,
                                                      rounding_mode="floor") + 1)
            counts = torch.where(n == 0, 0, counts)
        else:
            counts = torch.where(n < C, 0, torch.div(n - C, stride, rounding_mode="floor") + 1)
    frame_offsets = torch.zeros(B + 1, dtype=torch.int64, device=dev)
    torch.cumsum(counts, 0, out=frame_offsets[1:])
    F = int(frame_offsets[-1]) if B else 0
    sid = torch.repeat_interleave(torch.arange(B, device=dev), counts, output_size=F)
    j = torch.arange(F, device=dev) - frame_offsets[:-1][sid]
    lo_f, n_f, hi_f = lo[sid], n[sid], hi[sid]
    last = j == counts[sid] - 1

    if rule == _NUMBER:
        di = torch.div(n_f, T, rounding_mode="floor")
        starts = lo_f + j * di
        ends = torch.where(last, hi_f, lo_f + torch.minimum((j + 1) * di + o, n_f))
    elif rule == _COUNT:
        stride = C - o
        starts = lo_f + j * stride
        ends = lo_f + torch.minimum(j * stride + C, n_f)
    else:
        if rule == _TIME:
            dt = torch.div(span[sid], T, rounding_mode="floor")
            q0, q1 = j * dt, (j + 1) * dt + o
        else:
            q0, q1 = j * D, (j + 1) * D
        ss = _searcher(t, offsets, lo, n, span)
        starts = ss(sid, q0)
        ends = torch.where(last, hi_f, ss(sid, q1))
        empty = n_f == 0  # time with no events: T empty segments at lo
        starts = torch.where(empty, lo_f, starts)
        ends = torch.where(empty, lo_f, ends)
    return starts, ends, frame_offsets


def _searcher(t, offsets, lo, n, span):
    """``ss(sid, q)``: global index ``lo + #{events of sample sid with t - t0 < q}`` (the
    kernels' ``lo + searchsorted(t[lo:hi], t0 + q)``), for ``q >= 0``.

    One searchsorted over ``key = base[s] + (t - t0[s])``: ``base`` is the exclusive cumsum of
    ``span + 2``, so every sample's keys lie in ``[base[s], base[s] + span[s]]`` and a query
    clipped to ``span[s] + 1`` stays between its own sample's keys and the next sample's.
    """
    dev = t.device
    N = t.shape[0]
    B = n.shape[0]
    width = span + 2
    total = int(width.sum()) if B else 0
    if N and (total >= _KEY_LIMIT or bool((span < 0).any())):
        return _searcher_loop(t, offsets, lo)
    base = torch.zeros(B, dtype=torch.int64, device=dev)
    if B > 1:
        torch.cumsum(width[:-1], 0, out=base[1:])
    ev_s = torch.repeat_interleave(torch.arange(B, device=dev), n, output_size=N)
    t0 = t[lo.clamp(0, max(N - 1, 0))] if N else torch.zeros(B, dtype=torch.int64, device=dev)
    key = base[ev_s] + (t - t0[ev_s])

    def ss(sid, q):
        qq = base[sid] + torch.minimum(q, span[sid] + 1)
        return torch.searchsorted(key, qq, side="left")
    return ss


def _searcher_loop(t, offsets, lo):
    """Per-sample searchsorted on absolute times (keys too wide for one int64 search)."""
    offs = [int(v) for v in offsets.tolist()]

    def ss(sid, q):
        out = torch.empty_like(q)
        for s in torch.unique(sid).tolist():
            m = sid == s
            a, b = offs[s], offs[s + 1]
            if b > a:
                tv = t[a:b]
                out[m] = a + torch.searchsorted(tv, tv[0] + q[m], side="left")
            else:
                out[m] = a
        return out
    return ss


# ---------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------

def _exact_limit(dt: torch.dtype) -> int:
    if dt.is_floating_point:
        return 2 ** (round(-np.log2(torch.finfo(dt).eps)) + 1)
    if dt == torch.bool or dt.is_complex:
        raise ValueError(f"frames dtype must be an integer or float dtype, got {dt}")
    return int(torch.iinfo(dt).max)


def _as_torch_dtype(dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    dt = np.dtype(dtype)
    probe = torch.from_numpy(np.zeros(0, dt))
    return probe.dtype


def _histogram(x, y, p, starts, ends, H: int, W: int, dtype) -> torch.Tensor:
    """Frames ``[F, 2, H, W]``: frame ``f`` counts events ``starts[f] <= i < ends[f]``."""
    dev = x.device
    F = starts.shape[0]
    seg = (ends - starts).clamp(min=0)
    max_len = int(seg.max()) if F else 0
    if dtype is None:
        acc_final = _NP_TO_TORCH[_auto_dtype(max_len)], None
    else:
        dt = _as_torch_dtype(dtype)
        acc_final = (dt, None) if max_len <= _exact_limit(dt) else (torch.int64, dt)
    acc, final = acc_final
    HW2 = 2 * H * W
    M = int(seg.sum()) if F else 0
    if M == 0:
        counts = torch.zeros(F * HW2, dtype=torch.int64, device=dev)
    else:
        cum = torch.zeros(F, dtype=torch.int64, device=dev)
        if F > 1:
            torch.cumsum(seg[:-1], 0, out=cum[1:])
        f_idx = torch.repeat_interleave(torch.arange(F, device=dev), seg, output_size=M)
        ev = starts[f_idx] + (torch.arange(M, device=dev) - cum[f_idx])
        if M == x.shape[0] and F and bool((starts[1:] == ends[:-1]).all()) and \
                int(starts[0]) == 0:
            ev = None  # contiguous segments over every event (no overlap): ev == arange(N)
        xs, ys, ps = (a if ev is None else a[ev] for a in (x, y, p))
        flat = (f_idx * HW2 + ps.to(torch.int64) * (H * W) + ys.to(torch.int64) * W
                + xs.to(torch.int64))
        counts = torch.bincount(flat, minlength=F * HW2)
    frames = counts.view(F, 2, H, W)
    if final is None:
        return frames.to(acc)
    if not final.is_floating_point and frames.numel():
        m = int(frames.max())
        lim = int(torch.iinfo(final).max)
        if m > lim:
            raise ValueError(
                f"a pixel counts {m} events, more than dtype {final} holds ({lim}); use a "
                f"wider dtype or dtype=None (automatic)")
    return frames.to(final)


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------

def frames_by_setting(t, x, y, p, offsets, setting: FrameSetting, H: int, W: int,
                      dtype=None, stacked: bool = False
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Frames of a flat batch of samples on the events' device (torch counterpart of
    :func:`evframes.integrate.integrate_batch`, equal to it bit for bit).

    Parameters
    ----------
    t, x, y, p : torch.Tensor or array-like
        Flat events of all samples (``t`` int64 microseconds sorted within each sample,
        ``x``, ``y`` pixels, ``p`` 0/1; any integer dtype). Everything runs on ``t``'s device
        (other inputs are moved there).
    offsets : torch.Tensor or array-like
        int ``[B + 1]``, non-decreasing from 0 to the number of events.
    setting : FrameSetting
        A rule-based setting (number, time, duration, count; overlap, include_incomplete,
        downsample as in the module docstring), count frames or a representation
        (:mod:`evframes.integrate.torch_repr`).
    H, W : int
        Frame height and width in pixels (the pooled size when ``setting.downsample`` > 1).
    dtype : torch.dtype or numpy dtype, optional
        None: ``uint16`` / ``int32`` / ``int64`` as the Numba path (module docstring). A
        representation has its own dtype: only None or that dtype.
    stacked : bool, default False
        Return ``frames`` as ``[B, T, 2, H, W]`` (fixed-T settings only: number, time).

    Returns
    -------
    frames : torch.Tensor
        ``[sum T_s, 2, H, W]`` (or ``[B, T, 2, H, W]`` when ``stacked``); ``frames[f, c, y, x]``
        counts the events of frame ``f`` with polarity ``c`` at pixel ``(x, y)``. A
        representation gives ``[sum T_s, C, H, W]`` in its dtype, equal to
        ``integrate_batch``'s (bit for bit on the CPU, ``averaged_time_surface`` within 1
        float32 ulp; :mod:`evframes.integrate.torch_repr`).
    frame_offsets : torch.Tensor
        int64 ``[B + 1]``: sample ``s``'s frames are ``frames[frame_offsets[s]:
        frame_offsets[s+1]]``.

    Raises
    ------
    ValueError
        Invalid events or offsets (messages as ``integrate_batch``), a custom-function
        setting, a representation's dtype other than its own, ``stacked`` with a
        variable-T setting, a pixel count the dtype cannot hold.
    """
    if setting.function is not None:
        raise ValueError("a custom function setting has no torch path; integrate it with "
                         "evframes.integrate.integrate_batch")
    rep = setting.representation
    if rep not in ("count", "event_image"):  # event_image windows are count frames
        check_torch_repr(setting, dtype)
    if stacked and setting.fixed_T is None:
        raise ValueError(f"stacked=True needs a fixed-T setting (number or time), not "
                         f"{setting.kind}: use frame_offsets")
    H, W = _check_hw(H, W)
    t, x, y, p, offsets = _inputs(t, x, y, p, offsets)
    k = setting.downsample
    if k > 1:
        x = torch.div(x, k, rounding_mode="floor")
        y = torch.div(y, k, rounding_mode="floor")
    _validate(t, x, y, p, offsets, H, W)
    starts, ends, frame_offsets = _bounds(t, offsets, *setting._params())
    if rep in ("count", "event_image"):
        frames = _histogram(x, y, p, starts, ends, H, W, dtype)
    else:
        frames = represent_torch(t, x, y, p, offsets, starts, ends, frame_offsets, setting, H, W)
    if stacked:
        frames = frames.view(offsets.shape[0] - 1, setting.fixed_T, *frames.shape[1:])
    return frames, frame_offsets


def collate_events(batch: Iterable[Sequence]) -> Tuple[torch.Tensor, ...]:
    """Collate ``[(events, label), ...]`` (``data_type='event'`` Dataset items) into a flat
    batch for :func:`frames_by_setting` (use as a DataLoader ``collate_fn``).

    Returns ``(t, x, y, p, offsets, labels)``: CPU tensors of every sample's events back to
    back (``t`` int64 microseconds; ``x``, ``y``, ``p`` keep their dtype, int16/int16/int8 for
    :class:`~evframes.events.Events`, so the copy to the GPU stays small), ``offsets`` int64
    ``[B + 1]``, and ``labels`` ``torch.as_tensor`` of the labels (a list when they are not
    numbers). ``events`` may be any mapping of 1-D arrays or CPU tensors with keys t, x, y, p.
    """
    items = list(batch)
    cols = {k: [] for k in ("t", "x", "y", "p")}
    lens, labels = [], []
    for item in items:
        ev, label = item[0], item[1]
        n = None
        for k in cols:
            a = np.asarray(ev[k]).reshape(-1)
            if n is not None and a.shape[0] != n:
                raise ValueError(f"sample {len(lens)}: events arrays differ in length")
            n = a.shape[0]
            cols[k].append(a)
        lens.append(n)
        labels.append(label)
    defaults = {"t": np.int64, "x": np.int16, "y": np.int16, "p": np.int8}
    out = []
    for k, parts in cols.items():
        a = np.concatenate(parts) if parts else np.zeros(0, defaults[k])
        if k == "t":
            a = a.astype(np.int64, copy=False)
        out.append(torch.from_numpy(np.ascontiguousarray(a)))
    offsets = torch.zeros(len(lens) + 1, dtype=torch.int64)
    if lens:
        torch.cumsum(torch.as_tensor(lens, dtype=torch.int64), 0, out=offsets[1:])
    try:
        lab = torch.as_tensor(labels)
    except (TypeError, ValueError, RuntimeError):
        lab = labels
    return (*out, offsets, lab)


__all__ = ["frames_by_setting", "frame_bounds", "collate_events"]
