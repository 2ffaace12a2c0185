"""Single-sample and batch entry points of :mod:`evframes.integrate`, and the count dtype.

Frames are ``[T, 2, H, W]`` arrays (``H``, ``W`` in pixels); ``frames[k, c, y, x]`` counts the
events of frame ``k`` with polarity ``c`` at pixel ``(x, y)``. Rule-based frames are counted in
a dtype that never wraps (see *dtype* in :mod:`evframes.integrate`); a custom function's frames
keep their dtype (a batch of them: one exact dtype, :mod:`evframes.integrate.dtypes`).
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Callable, Mapping, Optional, Tuple

import numba
import numpy as np

from ..events import KEYS, Events
from ._inputs import (
    _EMPTY_T,
    _FLOAT_T_MAX,
    _arrays,
    _check_hw,
    _kernel_arrays,
    _pos_int,
    _raise_bad,
    _t_array,
    _t_integral,
    _validate,
)
from ._kernels import (
    _batch_bounds,
    _batch_n_frames,
    _batch_validate_hist,
    _first_bad,
    _hist_rows,
)
from .representations import represent_batch, represent_setting
from .rules import _bounds_t_checked
from .setting import FrameSetting

# ---------------------------------------------------------------------------------------------
# dtype choice (never wrap silently)
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _exact_limit(dt: np.dtype) -> int:
    """Largest count the dtype holds exactly (cached: np.finfo costs ~25 us a call)."""
    if dt.kind in "iu":
        return int(np.iinfo(dt).max)
    if dt.kind == "f":
        return 2 ** (np.finfo(dt).nmant + 1)
    raise ValueError(f"frames dtype must be an integer or float dtype, got {dt}")


def _auto_dtype(max_len: int) -> np.dtype:
    if max_len <= 65535:
        return np.dtype(np.uint16)
    if max_len <= 2 ** 31 - 1:
        return np.dtype(np.int32)
    return np.dtype(np.int64)


def _plan_dtype(max_len: int, dtype) -> Tuple[np.dtype, Optional[np.dtype]]:
    """(dtype to accumulate in, dtype to cast to afterwards or None)."""
    if dtype is None:
        return _auto_dtype(max_len), None
    dt = np.dtype(dtype)
    if max_len <= _exact_limit(dt):
        return dt, None
    return np.dtype(np.int64), dt


def _finish_dtype(frames: np.ndarray, final: Optional[np.dtype]) -> np.ndarray:
    if final is None:
        return frames
    if final.kind in "iu" and frames.size:
        m = int(frames.max())
        if m > np.iinfo(final).max:
            raise ValueError(
                f"a pixel counts {m} events, more than dtype {final} holds "
                f"({np.iinfo(final).max}); use a wider dtype or dtype=None (automatic)")
    return frames.astype(final)



# ---------------------------------------------------------------------------------------------
# Single-sample entry points
# ---------------------------------------------------------------------------------------------

def _integrate_arrays(t, x, y, p, starts, ends, H: int, W: int, dtype,
                      n_check: Optional[int] = None) -> np.ndarray:
    """Histogram the segments in one pass that validates the segments' events and those after
    the last one up to ``n_check`` (default: all); ``t`` is not read (the callers check it
    first when their rule needs it). x, y, p: any integer dtype; frames are written in their
    final dtype (float64 for SJ's API)."""
    n = x.shape[0] if n_check is None else n_check
    T = starts.shape[0]
    max_len = int((ends - starts).max()) if T else 0
    acc, final = _plan_dtype(max(max_len, 0), dtype)
    out = np.empty((T, 2 * H * W), acc)
    cnt = _scratch(acc, max_len, H, W)
    if _hist_rows(x, y, p, starts, ends, H, W, n, out if cnt is None else cnt, cnt is not None,
                  out):
        lo = min(int(starts.min()), int(ends.max())) if T else 0
        _report_bad(t, x, y, p, lo, n, H, W, False)
    return _finish_dtype(out.reshape(T, 2, H, W), final)


def _scratch(acc: np.dtype, max_len: int, H: int, W: int) -> Optional[np.ndarray]:
    """Float frames are counted in an unsigned scratch ``[1, 2*H*W]`` holding ``max_len``;
    integer frames in place (None)."""
    if acc.kind != "f":
        return None
    dt = np.uint16 if max_len <= 65535 else (np.uint32 if max_len <= 2 ** 32 - 1 else np.uint64)
    return np.empty((1, 2 * H * W), dt)


def _report_bad(t, x, y, p, lo: int, hi: int, H: int, W: int, check_t: bool) -> None:
    if check_t:
        _t_integral(t)  # float t with a fraction: that error first, as at coercion
    code, i = _first_bad(t if check_t else _EMPTY_T, x, y, p, lo, hi, H, W, check_t)
    _raise_bad(int(code), int(i), t, x, y, p, H, W, "events")
    raise AssertionError("invalid events not located")  # pragma: no cover


def integrate_segments(events: Mapping, starts, ends, H: int, W: int,
                       dtype=None) -> np.ndarray:
    """Frames ``[T, 2, H, W]`` from arbitrary event-index segments.

    Frame ``k`` counts events ``starts[k] <= i < ends[k]`` (segments may overlap or be empty).
    This is the building block every rule uses; it is public for custom boundaries (e.g. label
    intervals). ``H``, ``W`` in pixels; ``dtype`` as in the module docstring. ``t`` is not used
    and not checked here.
    """
    H, W = _check_hw(H, W)
    t, x, y, p = _arrays(events)
    n = x.shape[0]
    starts = np.ascontiguousarray(starts, dtype=np.int64).reshape(-1)
    ends = np.ascontiguousarray(ends, dtype=np.int64).reshape(-1)
    if starts.shape != ends.shape:
        raise ValueError(f"starts and ends differ in length ({starts.size} vs {ends.size})")
    if starts.size:
        if int(starts.min()) < 0 or int(ends.max()) > n:
            raise ValueError(f"segments must lie within [0, {n}] event indices")
        ends = np.maximum(ends, starts)  # an inverted segment is empty
        lo, hi = int(starts.min()), int(ends.max())
        _validate(t, x, y, p, H, W, lo, hi, check_t=False)
        return _integrate_arrays(t, x[:hi], y[:hi], p[:hi], starts, ends, H, W, dtype)
    return np.zeros((0, 2, H, W), _plan_dtype(0, dtype)[0])


def integrate(events: Mapping, setting: FrameSetting, H: int, W: int,
              dtype=None) -> np.ndarray:
    """Frames ``[T, 2, H, W]`` of one sample for a :class:`FrameSetting`.

    ``H``, ``W``: frame height and width in pixels. Raises ``ValueError`` on invalid events.
    ``dtype`` applies to rule-based count frames; a custom function's frames keep their dtype.
    A setting with another ``representation`` returns that representation per window
    (``[T, C, H', W']`` in its own dtype, :mod:`evframes.integrate.representations`).
    """
    if setting.function is not None:
        return integrate_with_function(events, setting.function, H, W)
    if setting.representation not in ("count", "event_image"):
        _repr_dtype_ok(setting, dtype)
        return represent_setting(events["t"], events["x"], events["y"], events["p"],
                                 setting, H, W)
    H, W = _check_hw(H, W)
    t, x, y, p = _kernel_arrays(events)  # no copies: the kernels take these dtypes
    rule, T, D, C, o, incl = setting._params()
    if t.dtype.kind == "f" and max(o, D) > _FLOAT_T_MAX:  # float arithmetic not exact then
        t = _t_array(t)
    # One pass over t checks it and finds the boundaries; x, y, p are checked while counting.
    starts, ends, t_bad = _bounds_t_checked(rule, t, T=T, D=D, C=C, overlap=o, incl=incl)
    if t_bad:
        _report_bad(t, x, y, p, 0, t.shape[0], H, W, True)
    return _integrate_arrays(t, x, y, p, starts, ends, H, W, dtype)


def to_frames(events: Mapping, H: int, W: int, *, split_by: Optional[str] = None,
              frames_number: Optional[int] = None, duration: Optional[int] = None,
              count: Optional[int] = None, overlap: int = 0, include_incomplete: bool = True,
              function: Optional[Callable] = None, dtype=None) -> np.ndarray:
    """Frames ``[T, 2, H, W]`` of one sample; exactly one mode must be given.

    - ``split_by='number'|'time'`` plus ``frames_number`` T (fixed ``T``, SpikingJelly's rules)
    - ``duration`` (microseconds per frame, variable ``T``, SpikingJelly's rule)
    - ``count`` (events per frame, variable ``T``; ``include_incomplete`` keeps the short last one)
    - ``function`` ``f(events, H, W) -> [T, 2, H, W]`` (called as is, result checked)

    ``overlap`` (number/count: events; time: microseconds) extends each frame into the next.
    ``H``, ``W`` in pixels. ``dtype=None`` picks uint16 (int32 when a frame could exceed 65535
    events). Exact rules: module docstring.
    """
    setting = FrameSetting(split_by=split_by, frames_number=frames_number, duration=duration,
                           count=count, overlap=overlap, include_incomplete=include_incomplete,
                           function=function, function_name=_function_name(function))
    return integrate(events, setting, H, W, dtype=dtype)


def _function_name(function) -> Optional[str]:
    if function is None:
        return None
    name = getattr(function, "__name__", None)
    return name if name and name != "<lambda>" else "custom"


def check_frames(frames, H: int, W: int, where: str = "frames") -> np.ndarray:
    """Return ``frames`` as a numpy array after checking it is ``[T, 2, H, W]``."""
    if hasattr(frames, "detach") and hasattr(frames, "cpu"):  # torch.Tensor
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[1] != 2 or frames.shape[2:] != (H, W):
        raise ValueError(f"{where}: expected shape [T, 2, {H}, {W}], got {list(frames.shape)}")
    return frames


def integrate_with_function(events: Mapping, f: Callable, H: int, W: int) -> np.ndarray:
    """Call ``f(events, H, W)`` (SpikingJelly's custom integration) and check the result.

    ``f`` gets an :class:`~evframes.events.Events` dict of int64 arrays ``t, x, y, p`` (as
    SpikingJelly hands them, so ``p * H * W + y * W + x`` is safe), copies it may modify; the
    returned array must be ``[T, 2, H, W]`` (numpy or torch; returned as numpy, dtype
    unchanged).
    """
    H, W = _check_hw(H, W)
    t, x, y, p = _arrays(events)
    name = getattr(f, "__name__", repr(f))
    return check_frames(f(_callback_events(t, x, y, p), H, W), H, W,
                        where=f"custom function {name}")


def _callback_events(t, x, y, p) -> Events:
    """What a callback is handed: int64 arrays like SpikingJelly's (``p * H * W + y * W + x``
    cannot overflow), its own copies (in-place edits cannot reach the caller's arrays)."""
    return Events({k: np.array(a, dtype=np.int64) for k, a in zip(KEYS, (t, x, y, p))})


# ---------------------------------------------------------------------------------------------
# Batch entry point
# ---------------------------------------------------------------------------------------------

@contextmanager
def _numba_threads(n: Optional[int]):
    """Run parallel kernels on n threads with dynamic scheduling (one sample per chunk)."""
    old_chunk = numba.set_parallel_chunksize(1)
    old = numba.get_num_threads()
    if n is not None:
        numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(old)
        numba.set_parallel_chunksize(old_chunk)


def integrate_batch(t, x, y, p, offsets, setting: FrameSetting, H: int, W: int,
                    n_threads: Optional[int] = None,
                    dtype=None) -> Tuple[np.ndarray, np.ndarray]:
    """Frames of many samples stored as flat concatenated arrays.

    ``t, x, y, p``: 1-D arrays of all samples' events back to back (``t`` in microseconds, sorted
    within each sample); ``offsets``: int ``[n_samples + 1]``, sample ``s`` is
    ``offsets[s]:offsets[s+1]``. Boundaries, validation and histograms run in Numba, samples
    spread over ``n_threads`` threads (default: Numba's setting). A custom-function setting falls
    back to a per-sample Python loop.

    Returns ``(frames, frame_offsets)``: ``frames`` ``[sum T_s, 2, H, W]`` and
    ``frame_offsets`` int64 ``[n_samples + 1]``; sample ``s``'s frames are
    ``frames[frame_offsets[s]:frame_offsets[s+1]]``, identical to ``integrate`` on that sample.
    One dtype serves the whole batch (chosen from the longest segment over all samples;
    ``dtype`` as in :func:`integrate`). All frames are returned in memory: call it on chunks of
    samples when the frames of a whole split would not fit. A setting with another
    ``representation`` gives ``[sum T_s, C, H', W']`` in the representation's dtype (samples
    on ``n_threads`` threads; :mod:`evframes.integrate.representations`); ``event_image`` is
    count frames.
    """
    H, W = _check_hw(H, W)
    t, x, y, p = _arrays({"t": t, "x": x, "y": y, "p": p})
    offsets = np.ascontiguousarray(offsets, dtype=np.int64).reshape(-1)
    n_ev = t.shape[0]
    if offsets.size == 0:
        raise ValueError("offsets needs at least one entry (n_samples + 1)")
    if offsets[0] != 0 or offsets[-1] != n_ev or (offsets.size > 1 and
                                                  int(np.diff(offsets).min()) < 0):
        raise ValueError(f"offsets must be non-decreasing from 0 to the number of events "
                         f"({n_ev}), got {offsets[0]}..{offsets[-1]}")
    n_samples = offsets.size - 1

    if setting.function is not None:
        return _batch_function(t, x, y, p, offsets, setting, H, W)
    if setting.representation not in ("count", "event_image"):
        _repr_dtype_ok(setting, dtype)
        return represent_batch(t, x, y, p, offsets, setting, H, W, n_threads=n_threads)

    rule, T, D, C, o, incl = setting._params()
    with _numba_threads(n_threads):
        # Frame counts and boundaries only look at t[lo], t[hi-1] and binary searches, so they
        # are safe (indices stay within each sample) even before the events are validated.
        counts = _batch_n_frames(rule, t, offsets, T, D, C, o, incl)
        frame_offsets = np.zeros(n_samples + 1, np.int64)
        np.cumsum(counts, out=frame_offsets[1:])
        total = int(frame_offsets[-1])
        starts = np.empty(total, np.int64)
        ends = np.empty(total, np.int64)
        if n_samples:
            _batch_bounds(rule, t, offsets, frame_offsets, T, D, C, o, incl, starts, ends)
        max_len = int((ends - starts).max()) if total else 0
        acc, final = _plan_dtype(max_len, dtype)
        out = np.empty((total, 2 * H * W), acc)
        if n_samples:
            flags = _batch_validate_hist(t, x, y, p, offsets, starts, ends, frame_offsets,
                                         H, W, out)
            if flags.any():
                s = int(np.argmax(flags))
                lo, hi = int(offsets[s]), int(offsets[s + 1])
                code, i = _first_bad(t, x, y, p, lo, hi, H, W, True)
                _raise_bad(int(code), int(i), t, x, y, p, H, W,
                           f"sample {s} (events {lo}..{hi})")
    return _finish_dtype(out.reshape(total, 2, H, W), final), frame_offsets


def _repr_dtype_ok(setting: FrameSetting, dtype) -> None:
    """A representation has its own dtype: ``dtype`` may only be None or that dtype."""
    if dtype is None:
        return
    from ._repr_spec import repr_dtype
    own = repr_dtype(setting.representation, **setting.repr_kwargs)
    if np.dtype(dtype) != own:
        raise ValueError(f"representation {setting.representation!r} is {own}; dtype={dtype} "
                         f"cannot be honoured (convert the result instead)")


def _batch_function(t, x, y, p, offsets, setting, H, W):
    parts = []
    counts = np.zeros(offsets.size - 1, np.int64)
    for s in range(offsets.size - 1):
        lo, hi = int(offsets[s]), int(offsets[s + 1])
        ev = _callback_events(t[lo:hi], x[lo:hi], y[lo:hi], p[lo:hi])
        try:
            res = setting.function(ev, H, W)
        except Exception as e:  # the caller adds the store and the batch's first sample
            from ..errors import CustomFunctionError
            raise CustomFunctionError(setting.name, s, e) from e
        fr = check_frames(res, H, W, where=f"custom function {setting.name}, sample {s}")
        parts.append(fr)
        counts[s] = fr.shape[0]
    frame_offsets = np.zeros(offsets.size, np.int64)
    np.cumsum(counts, out=frame_offsets[1:])
    from .dtypes import concat_exact  # samples of other dtypes: one exact dtype
    return concat_exact(parts, f"custom function {setting.name}", (0, 2, H, W)), frame_offsets


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def downsample_events(events: Mapping, factor: int,
                      sensor_size: Tuple[int, int]) -> Tuple[Events, Tuple[int, int]]:
    """Spatially downsample events by an integer ``factor``: ``x // factor``, ``y // factor``.

    ``sensor_size`` is ``(W, H)`` in pixels. Returns ``(events, (W', H'))`` with
    ``W' = ceil(W / factor)``, ``H' = ceil(H / factor)``; ``t`` and ``p`` are shared, not copied.
    Integrating the result counts, in each output pixel, the events of the ``factor x factor``
    input block (sum pooling of the full-resolution frames). Pure function; no events dropped.
    """
    k = _pos_int(factor, "factor")
    W, H = (int(v) for v in sensor_size)
    H, W = _check_hw(H, W)
    t, x, y, p = _arrays(events)
    _validate(t, x, y, p, H, W, check_t=False)
    x, y = downsample_coords(x, y, k)
    return Events(t=t, x=x, y=y, p=p), downsampled_size((W, H), k)


def downsample_coords(x: np.ndarray, y: np.ndarray,
                      factor: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(x // factor, y // factor)`` in the arrays' own dtypes (the one coordinate rule of
    :func:`downsample_events` and of the frames pipeline, which reads already validated
    events); ``factor`` 1 returns the arrays themselves.

    Parameters
    ----------
    x, y : numpy.ndarray
        Integer pixel coordinates.
    factor : int
        Positive pooling factor.

    Returns
    -------
    tuple of numpy.ndarray
        The pooled ``x`` and ``y``.
    """
    k = _pos_int(factor, "factor")
    if k == 1:
        return x, y
    return (x // k).astype(x.dtype, copy=False), (y // k).astype(y.dtype, copy=False)


def downsampled_size(sensor_size, factor: int) -> Tuple[int, int]:
    """``(ceil(W / factor), ceil(H / factor))`` for a sensor of ``(W, H)`` pixels."""
    k = _pos_int(factor, "factor")
    W, H = (int(v) for v in sensor_size)
    return (-(-W // k), -(-H // k))

