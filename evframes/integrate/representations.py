"""Event representations beyond count frames: arrays in, arrays out (Numba, no I/O).

Events as in :mod:`evframes.integrate`: ``t`` int64 microseconds (sorted), ``x``, ``y`` pixels
(``0 <= x < W``, ``0 <= y < H``), ``p`` 0 (OFF) or 1 (ON); every entry point validates them
(``ValueError`` naming the first bad index: off-sensor ``x``/``y``, ``p`` not 0/1, ``t``
decreasing), all ``N`` events of the sample, not only those inside windows. Windows are
event-index segments ``starts[k] <= i < ends[k]`` (int64 ``[n]``) from the boundary rules
(:func:`~evframes.integrate.frame_bounds` and ``bounds_*``); ``None`` means one window of all
events. Every representation returns ``[n, C, H', W']`` (``H' = H``, ``W' = W`` except the
averaged time surface); an empty window gives the kind's empty value below. Within a window
``k``: ``t0 = t[starts[k]]`` (its first event) and ``t_last = t[ends[k] - 1]`` (its last).

``voxel`` (``bins`` B) -> float32 ``[n, B, H, W]``
    E2VID's bilinear voxel grid in time, Tonic's ``ToVoxelGrid`` per window: polarity
    ``+1`` (ON) / ``-1`` (OFF); ``tn = B * (t - t0) / (t_last - t0)`` (float64; the product
    ``B * (t - t0)`` is formed in integers), ``b = floor(tn)``, ``d = tn - b``; the event adds
    ``pol * (1 - d)`` to bin ``b`` and ``pol * d`` to bin ``b + 1``, each only when that bin is
    ``< B``. As in Tonic, events at ``t_last`` (``tn = B``) therefore add nothing, and the bin
    ``B - 1`` events lose their ``d`` share. A window whose events share one timestamp (one
    event included) has ``tn = 0`` for all of them: each adds ``pol`` to bin 0 (E2VID's
    ``deltaT = 1`` convention; Tonic divides 0 by 0 there). Sums in float64, stored float32.
``time_surface`` (``tau`` in microseconds) -> float32 ``[n, 2, H, W]``
    Tonic's global ``ToTimesurface``: a memory of the latest timestamp per (polarity, pixel)
    over every event of the sample before the window's end (events ``[0, ends[k])``, so
    earlier windows' events count, as Tonic's memory carries over slices), sampled at the
    window's end time ``te``: ``exp(-(te - t_mem) / tau)``, 0 where the pixel never fired.
    ``te`` (:func:`window_times`): ``t0 + (k+1)*D`` for ``duration`` D windows (Tonic's slice
    end ``start + (i+1)*dt``, so values equal Tonic's ``ToTimesurface(dt=D)`` on its slices),
    ``t0 + (j+1)*dt + overlap`` for ``time`` windows (the last: ``t_last`` of the sample),
    otherwise the time of the window's last event, ``t[ends[k] - 1]`` (0 values for a window
    ending before any event). ``te >= t_mem`` always. float64 (the product
    ``(t_mem - te) * (1 / tau)``, then the vectorised exp of :mod:`._decay`, within a few
    float64 ulp of libm's), stored float32.
``averaged_time_surface`` (``cell`` K, ``radius`` r, ``tau`` us) -> float32
    ``[n, 2, ceil(H/K)*S, ceil(W/K)*S]``, ``S = 2r + 1``: HATS (Sironi et al. 2018) as Tonic's
    ``ToAveragedTimesurface`` with ``decay='exp'`` on each window's events: the sensor is cut
    into ``K x K`` cells (row-major, the last row/column of cells may be partial); each event
    ``i`` of polarity ``c`` in cell ``g`` has a local surface ``S x S`` centred on it: ``1`` at
    the centre plus ``sum_j exp(-(t_i - t_j) / tau)`` at offset ``(y_j - y_i, x_j - x_i)`` over
    the window's earlier events ``j`` (index ``< i``, same ``t`` included) of polarity ``c`` in
    the same cell ``g`` within ``r`` pixels in x and y. Cell ``g``'s histogram is the mean of
    its events' surfaces (divided by ``max(1, count)``); tile ``(gy, gx)`` of the output holds
    it (``out[k, c, gy*S + a, gx*S + b] = hist[g, c, a, b]``; Tonic's ``[cells, 2, S, S]`` is
    ``out.reshape(2, Hc, S, Wc, S).transpose(1, 3, 0, 2, 4).reshape(-1, 2, S, S)``).
    Simplifications: no ``time_window`` (Tonic looks back ``time_window`` us; here every
    earlier event of the window counts, which ``tau`` already weighs down), ``exp`` decay only,
    the memory restarts with each window, and time differences are exact int64 (Tonic rounds
    timestamps to float32, exact only below 2**24 us). Empty window: zeros.
``stacked_histogram`` (``bins`` B, ``clip`` <= 255, default 255) -> uint8 ``[n, 2*B, H, W]``
    RVT's ``StackedHistogram``: ``b = min(B - 1, floor(B * (t - t0) / max(t_last - t0, 1)))``
    in exact integers (RVT divides in float32), channel ``p * B + b`` (polarity-major: OFF
    bins first), counts clipped to ``clip`` (never wrapped). Empty window: zeros.
``onoff`` -> int16 ``[n, 1, H, W]``
    ON count minus OFF count per pixel, saturated to ``[-32768, 32767]`` (never wrapped).
``event_image`` -> ``[2, H, W]`` of all events (:func:`event_image` without windows) or
    ``[n, 2, H, W]`` per window: count frames (Tonic's ``ToImage``), in the count frames'
    dtype (uint16, int32 when a window could exceed 65535 events, see
    :mod:`evframes.integrate`).
``binary`` -> uint8 ``[n, 2, H, W]``
    1 where the window has at least one event of that polarity at that pixel, else 0 (the
    binary frames Tonic's ``ToBinaRep`` starts from: ``frames > 0``).
``latest_timestamp`` -> int64 ``[n, 2, H, W]``
    Microseconds from the window's start ``ts`` to the window's latest event per (polarity,
    pixel), ``-1`` where it has none (always ``>= 0`` otherwise). ``ts`` (:func:`window_times`):
    ``t0 + k*D`` for ``duration``, ``t0 + j*dt`` for ``time`` windows, otherwise ``t0`` of the
    window (its first event).

A :class:`~evframes.integrate.FrameSetting` with ``representation`` other than ``'count'``
makes :func:`~evframes.integrate.integrate` / ``integrate_batch`` return these (its rule gives
the windows).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Tuple

import numba
import numpy as np

from . import _repr_kernels as K
from ._inputs import _arrays, _check_hw, _validate
from ._kernels import _batch_bounds, _batch_n_frames, _hist_segments
from ._repr_spec import (
    REPR_VERSION,
    REPRESENTATIONS,
    check_repr,
    repr_channels,
    repr_dtype,
    repr_shape,
)
from ._repr_windows import SELF_VALIDATING, _kernel_checks, _windows
from .rules import _bounds
from .setting import FrameSetting

__all__ = ["REPRESENTATIONS", "REPR_VERSION", "represent", "repr_channels", "repr_dtype",
           "repr_shape", "frame_layout", "window_times", "voxel_grid", "time_surface",
           "averaged_time_surface", "stacked_histogram", "onoff_frames", "event_image",
           "binary_frames", "latest_timestamp"]

_I64 = np.int64


def _prep(t, x, y, p, H, W, starts, ends, kind=None):
    """Arrays and windows (``None``: one window of all events), and whether the kernel of
    ``kind`` is left to validate the events (:func:`._repr_windows._kernel_checks`); otherwise
    validated here."""
    H, W = _check_hw(H, W)
    t, x, y, p = _arrays({"t": t, "x": x, "y": y, "p": p})
    n = t.shape[0]
    if starts is None and ends is None:
        starts, ends = np.zeros(1, _I64), np.full(1, n, _I64)
    else:
        try:
            starts, ends = _windows(starts, ends, n)
        except ValueError:
            _validate(t, x, y, p, H, W)  # bad events are reported first
            raise
    check = _kernel_checks(kind, t, starts, ends)
    if not check:
        _validate(t, x, y, p, H, W)
    return t, x, y, p, H, W, starts, ends, check


def _times(t, starts, ends, t_start, t_end):
    """:func:`window_times` without a setting, replaced by the caller's times where given."""
    n = starts.shape[0]
    out = list(window_times(t, starts, ends))
    for i, (given, name) in enumerate(((t_start, "t_start"), (t_end, "t_end"))):
        if given is not None:
            g = np.ascontiguousarray(given, dtype=_I64).reshape(-1)
            if g.shape[0] != n:
                raise ValueError(f"{name} needs one time per window ({n}), got {g.shape[0]}")
            out[i] = g
    return out


def window_times(t, starts, ends, setting: Optional[FrameSetting] = None
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """``(t_start, t_end)`` int64 ``[n]`` (microseconds) of windows on one sample's sorted
    ``t``: the rule's own times for ``duration`` (``t0 + k*D``, ``t0 + (k+1)*D``) and ``time``
    settings (``t0 + j*dt``, ``t0 + (j+1)*dt + overlap``, the last ending at ``t[-1]``), else
    the window's first and last event times (``t[starts]``, ``t[ends - 1]``; 0 where there is
    no such event). ``t0 = t[0]``. Used by ``time_surface`` (sampled at ``t_end``) and
    ``latest_timestamp`` (relative to ``t_start``)."""
    t = np.asarray(t, dtype=_I64).reshape(-1)
    starts = np.asarray(starts, dtype=_I64).reshape(-1)
    ends = np.asarray(ends, dtype=_I64).reshape(-1)
    N, n = t.shape[0], starts.shape[0]
    kind = setting.kind if setting is not None else None
    if N and kind == "duration":
        k = np.arange(n, dtype=_I64)
        D = int(setting.duration)
        return t[0] + k * D, t[0] + (k + 1) * D
    if N and kind == "time" and n:
        T = int(setting.frames_number)
        dt = (int(t[-1]) - int(t[0])) // T
        j = np.arange(n, dtype=_I64)
        te = t[0] + (j + 1) * dt + int(setting.overlap)
        te[-1] = t[-1]
        return t[0] + j * dt, te
    ts = np.zeros(n, _I64)
    te = np.zeros(n, _I64)
    has = starts < N
    ts[has] = t[starts[has]]
    has = ends > 0
    te[has] = t[ends[has] - 1]
    return ts, te


def _compute(kind, params, t, x, y, p, H, W, starts, ends, ts, te, out, check=False,
             on_bad=None):
    """Fill ``out`` (``[n, *repr_shape]``, the kind's dtype) for validated inputs, or, with
    ``check`` (:func:`_kernel_checks`), inputs its kernel validates: on a bad event
    ``on_bad()`` (default: :func:`_validate` of these arrays) raises, naming it."""
    n = starts.shape[0]
    if n == 0:
        return out
    flat = out.reshape(n, -1)
    bad = False
    if kind == "voxel":
        bad = K._voxel(t, x, y, p, starts, ends, H, W, params["bins"], check, flat)
    elif kind == "time_surface":
        bad = K._time_surface(t, x, y, p, ends, te, H, W, float(params["tau"]), check, flat)
    elif kind == "averaged_time_surface":
        K._hats(t, x, y, p, starts, ends, H, W, params["cell"], params["radius"],
                float(params["tau"]), out)
    elif kind == "stacked_histogram":
        bad = K._stacked(t, x, y, p, starts, ends, H, W, params["bins"], params["clip"], check,
                         flat)
    elif kind == "onoff":
        K._onoff(x, y, p, starts, ends, H, W, flat)
    elif kind == "binary":
        K._binary(x, y, p, starts, ends, H, W, flat)
    elif kind == "latest_timestamp":
        K._latest(t, x, y, p, starts, ends, ts, H, W, flat)
    elif kind == "event_image":
        _hist_segments(x, y, p, starts, ends, H, W, flat)
    else:  # pragma: no cover - check_repr refuses it first
        raise ValueError(f"unknown representation {kind!r}")
    if bad:
        if on_bad is not None:
            on_bad()
        _validate(t, x, y, p, H, W)  # raises, naming the first bad event
        raise RuntimeError("a kernel flagged valid events")  # pragma: no cover
    return out


def _count_dtype(starts, ends) -> np.dtype:
    m = int((ends - starts).max()) if starts.size else 0
    return np.dtype(np.uint16 if m <= 65535 else np.int32 if m <= 2 ** 31 - 1 else np.int64)


def _alloc(kind, params, H, W, n, starts, ends):
    shape = (n,) + repr_shape(kind, H, W, **params)
    dt = repr_dtype(kind, **params) or _count_dtype(starts, ends)
    return np.empty(shape, dt)


def represent(kind: str, t, x, y, p, starts, ends, H: int, W: int, *,
              t_start=None, t_end=None, **params) -> np.ndarray:
    """One sample's representation ``kind`` (:data:`REPRESENTATIONS`) over windows.

    Parameters
    ----------
    kind : str
        The representation; formulas in the module docstring.
    t, x, y, p : array_like
        One sample's events (``t`` microseconds, sorted).
    starts, ends : array_like of int or None
        Event-index windows ``[n]`` (both None: one window of all events).
    H, W : int
        Sensor height and width in pixels.
    t_start, t_end : array_like of int, optional
        Window times in microseconds (``latest_timestamp``: ``t_start``; ``time_surface``:
        ``t_end``); default :func:`window_times` without a setting (first/last event).
    **params
        The kind's parameters (``bins``, ``tau``, ``cell``, ``radius``, ``clip``).

    Returns
    -------
    numpy.ndarray
        ``[n, C, H', W']`` in the kind's dtype (:func:`repr_shape`, :func:`repr_dtype`).
    """
    kind, ps = check_repr(kind, params)
    if kind == "count":
        raise ValueError("count frames come from evframes.integrate.integrate_segments")
    if t_start is not None and kind != "latest_timestamp":
        raise ValueError(f"t_start applies to latest_timestamp, not {kind}")
    if t_end is not None and kind != "time_surface":
        raise ValueError(f"t_end applies to time_surface, not {kind}")
    d = dict(ps)
    t, x, y, p, H, W, starts, ends, check = _prep(t, x, y, p, H, W, starts, ends, kind)
    ts, te = _times(t, starts, ends, t_start, t_end)
    out = _alloc(kind, d, H, W, starts.shape[0], starts, ends)
    return _compute(kind, d, t, x, y, p, H, W, starts, ends, ts, te, out, check)


def frame_layout(setting: FrameSetting, H: int, W: int) -> Tuple[Tuple[int, int, int],
                                                               Optional[np.dtype]]:
    """``((C, H', W'), dtype)`` of one frame of ``setting`` on an ``H x W`` sensor (after
    its downsampling): ``((2, H, W), None)`` for count frames (dtype chosen per batch)."""
    kind = setting.representation
    if kind == "count":
        return (2, int(H), int(W)), None
    ps = setting.repr_kwargs
    return repr_shape(kind, H, W, **ps), repr_dtype(kind, **ps)


def represent_setting(t, x, y, p, setting: FrameSetting, H: int, W: int) -> np.ndarray:
    """One sample's frames for a rule-based ``setting`` with a representation."""
    H, W = _check_hw(H, W)
    t, x, y, p = _arrays({"t": t, "x": x, "y": y, "p": p})
    kind, d = setting.representation, setting.repr_kwargs
    rule, T, D, C, o, incl = setting._params()
    n = t.shape[0]
    # a kernel that validates every event itself (_kernel_checks) saves the separate pass; the
    # rules' windows on unvalidated events are still index windows inside [0, N], but the
    # number of duration windows comes from t: validate first when it is out of proportion
    late = kind in SELF_VALIDATING and not (
        setting.kind == "duration" and n and int(t[-1]) - int(t[0]) > D * (4 * n + 1024))
    if not late:
        _validate(t, x, y, p, H, W)
    starts, ends = _bounds(rule, t, t.shape[0], T=T, D=D, C=C, overlap=o, incl=incl)
    check = late and _kernel_checks(kind, t, starts, ends)
    if late and not check:
        _validate(t, x, y, p, H, W)
    ts, te = window_times(t, starts, ends, setting)
    out = _alloc(kind, d, H, W, starts.shape[0], starts, ends)
    return _compute(kind, d, t, x, y, p, H, W, starts, ends, ts, te, out, check)


def represent_batch(t, x, y, p, offsets, setting: FrameSetting, H: int, W: int,
                    n_threads: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`~evframes.integrate.integrate_batch` for a setting with a representation
    (arrays coerced and ``offsets`` checked by the caller): ``(frames, frame_offsets)``,
    samples spread over ``n_threads`` threads (default Numba's), each exactly
    :func:`represent_setting` of that sample."""
    kind, d = setting.representation, setting.repr_kwargs
    rule, T, D, C, o, incl = setting._params()
    counts = _batch_n_frames(rule, t, offsets, T, D, C, o, incl)
    fo = np.zeros(offsets.size, _I64)
    np.cumsum(counts, out=fo[1:])
    total = int(fo[-1])
    starts = np.empty(total, _I64)
    ends = np.empty(total, _I64)
    if offsets.size > 1:
        _batch_bounds(rule, t, offsets, fo, T, D, C, o, incl, starts, ends)
    out = _alloc(kind, d, H, W, total, starts, ends)

    def one(s):
        lo, hi = int(offsets[s]), int(offsets[s + 1])
        a, b = int(fo[s]), int(fo[s + 1])
        ts_, xs, ys, ps = t[lo:hi], x[lo:hi], y[lo:hi], p[lo:hi]
        st, en = starts[a:b] - lo, ends[a:b] - lo

        def validate():  # names the bad event by its index in the batch, as integrate_batch
            _validate(t, x, y, p, H, W, lo, hi, where=f"sample {s} (events {lo}..{hi})")
        check = _kernel_checks(kind, ts_, st, en)
        if not check:
            validate()
        w0, w1 = window_times(ts_, st, en, setting)
        _compute(kind, d, ts_, xs, ys, ps, H, W, st, en, w0, w1, out[a:b], check, validate)

    n_samples = offsets.size - 1
    workers = max(1, min(int(n_threads or numba.get_num_threads()), n_samples))
    if workers == 1:
        for s in range(n_samples):
            one(s)
    else:
        with ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(one, range(n_samples)):  # the first failing sample raises
                pass
    return out, fo


# ---------------------------------------------------------------------------------------------
# Named functional forms (module docstring: formulas)
# ---------------------------------------------------------------------------------------------

def voxel_grid(t, x, y, p, H: int, W: int, bins: int, starts=None, ends=None) -> np.ndarray:
    """E2VID/Tonic voxel grid per window: float32 ``[n, bins, H, W]``."""
    return represent("voxel", t, x, y, p, starts, ends, H, W, bins=bins)


def time_surface(t, x, y, p, H: int, W: int, tau, starts=None, ends=None,
                 t_end=None) -> np.ndarray:
    """Tonic's global time surface sampled at each window's end (``t_end``, default the
    window's last event; ``tau`` in microseconds): float32 ``[n, 2, H, W]``."""
    return represent("time_surface", t, x, y, p, starts, ends, H, W, t_end=t_end, tau=tau)


def averaged_time_surface(t, x, y, p, H: int, W: int, tau, cell: int = 10, radius: int = 2,
                          starts=None, ends=None) -> np.ndarray:
    """HATS per window: float32 ``[n, 2, ceil(H/cell)*(2r+1), ceil(W/cell)*(2r+1)]``."""
    return represent("averaged_time_surface", t, x, y, p, starts, ends, H, W, tau=tau,
                     cell=cell, radius=radius)


def stacked_histogram(t, x, y, p, H: int, W: int, bins: int, clip: int = 255, starts=None,
                      ends=None) -> np.ndarray:
    """RVT stacked histogram per window: uint8 ``[n, 2*bins, H, W]``, counts <= ``clip``."""
    return represent("stacked_histogram", t, x, y, p, starts, ends, H, W, bins=bins,
                     clip=clip)


def onoff_frames(t, x, y, p, H: int, W: int, starts=None, ends=None) -> np.ndarray:
    """ON minus OFF counts per window: int16 ``[n, 1, H, W]`` (saturated)."""
    return represent("onoff", t, x, y, p, starts, ends, H, W)


def event_image(t, x, y, p, H: int, W: int, starts=None, ends=None) -> np.ndarray:
    """Counts of all events ``[2, H, W]`` (no windows), or ``[n, 2, H, W]`` per window."""
    out = represent("event_image", t, x, y, p, starts, ends, H, W)
    return out[0] if starts is None and ends is None else out


def binary_frames(t, x, y, p, H: int, W: int, starts=None, ends=None) -> np.ndarray:
    """1 where a window has an event (per polarity): uint8 ``[n, 2, H, W]``."""
    return represent("binary", t, x, y, p, starts, ends, H, W)


def latest_timestamp(t, x, y, p, H: int, W: int, starts=None, ends=None,
                     t_start=None) -> np.ndarray:
    """Latest event per (polarity, pixel), microseconds after the window's start
    (``t_start``, default its first event), -1 for none: int64 ``[n, 2, H, W]``."""
    return represent("latest_timestamp", t, x, y, p, starts, ends, H, W, t_start=t_start)
