"""Events to frames: boundary rules plus one Numba histogram kernel.

Pure functional core, no file I/O. Events are a mapping with ``t`` (int64, microseconds,
non-decreasing), ``x``, ``y`` (pixels, ``0 <= x < W``, ``0 <= y < H``) and ``p`` (0 or 1), see
:mod:`evframes.events`. Frames are ``[T, 2, H, W]`` arrays: ``frames[k, c, y, x]`` counts the
events of frame ``k`` with polarity ``c`` at pixel ``(x, y)``.

How it works
------------
Every split rule only computes *segment boundaries*: two int64 arrays ``starts``, ``ends`` of
length ``T``; frame ``k`` integrates the events with indices ``starts[k] <= i < ends[k]``.
Boundaries are cheap (arithmetic on ``N`` or binary searches on ``t``). One small Numba
kernel (:func:`_hist_segments`) then fills a preallocated ``[T, 2*H*W]`` integer array in one
pass over each segment's events; contiguous non-overlapping segments (every rule without
``overlap``) are therefore a single pass over the events. Segments may overlap or be empty.

Rules (``N`` events, ``T`` frames, ``t0 = t[0]``, ``t1 = t[-1]``; all windows are half-open)
----------------------------------------------------------------------------------------------
``number`` (SpikingJelly ``split_by='number'``)
    ``di = N // T``; frame ``j`` takes indices ``[j*di, (j+1)*di)``, the last frame ends at ``N``.
    With ``overlap=o`` (events), frame ``j < T-1`` ends at ``min(N, (j+1)*di + o)``.
``time`` (SpikingJelly ``split_by='time'``)
    ``dt = (t1 - t0) // T`` (microseconds); frame ``j`` takes ``t0 + j*dt <= t < t0 + (j+1)*dt``,
    the last frame runs to the end. Empty windows give empty frames (SpikingJelly raises an
    IndexError there). With ``overlap=o`` (microseconds), frame ``j < T-1`` takes
    ``t0 + j*dt <= t < t0 + (j+1)*dt + o``.
``duration`` (SpikingJelly ``integrate_events_by_fixed_duration``), ``D`` microseconds
    ``T = ceil((t1 - t0) / D)``; frame ``k`` takes ``t0 + k*D <= t < t0 + (k+1)*D``, the last frame
    takes the rest (so an event at exactly ``t0 + T*D`` lands in frame ``T-1``). When all events
    share one timestamp SpikingJelly computes ``T = 0`` and crashes; evframes returns one frame.
    ``N = 0`` gives zero frames. ``T`` varies between samples.
``count`` (fixed events per frame, like Tonic's ``event_count``), ``C`` events, ``overlap=o``
    ``stride = C - o`` (``0 <= o < C``); frame ``j`` takes indices ``[j*stride, j*stride + C)``.
    Complete frames are those with ``j*stride + C <= N``. With ``include_incomplete=True``
    (default) frames continue until one reaches ``N`` (the last one may hold fewer than ``C``
    events), so every event lands in a frame; with ``False`` only complete frames are kept
    (``N < C`` then gives zero frames). ``N = 0`` gives zero frames.
custom function ``f(events, H, W) -> frames``
    called with int64 copies of ``t, x, y, p`` (SpikingJelly's dtype: flat-index arithmetic such
    as ``p * H * W + y * W + x`` cannot overflow); :func:`integrate_with_function` checks the
    result is ``[T, 2, H, W]``. Frames stores keep its values exactly (:mod:`evframes.frames`).

Differences from Tonic's ``ToFrame`` (``n_event_bins``, ``n_time_bins``, ``event_count``,
``time_window``): Tonic's ``n_event_bins`` gives every bin ``N // T`` events and drops the
remaining ``N % T``; our ``number`` puts them in the last frame (SpikingJelly's rule). Tonic's
``n_time_bins`` ends its last window at ``t0 + T*((t1-t0)//T) <= t1``, so it always loses the last
event (and any others at or after that time); our ``time`` rule's last frame runs to the end.
Tonic's ``overlap`` for the bin modes is a fraction of a bin (the window grows by that fraction
and the stride shrinks); ours is an absolute amount (events for ``number``/``count``,
microseconds for ``time``) by which each frame but the last extends into the next, with an
unchanged stride, so ``T`` stays fixed and ``overlap=0`` is exactly SpikingJelly. Tonic's
``event_count`` with fewer than ``C`` events returns one frame of all events even without
``include_incomplete`` and one empty frame for no events; ours returns zero frames in both
cases. Tonic's ``time_window=D`` with ``include_incomplete=True`` has our ``duration`` windows,
except that Tonic drops an event at exactly ``t0 + T*D`` which we put in the last frame; with its
default ``include_incomplete=False`` Tonic makes ``floor((t1 - t0) / D)`` frames and drops the
events after the last full window (no counterpart here). Tonic counts in int16 and can wrap;
evframes never wraps (see *dtype* below).

dtype
-----
Rule-based frames default to ``uint16`` when no frame can hold more than 65535 events
(``max(ends - starts) <= 65535``), else ``int32`` (else ``int64``): compact, exact, never wrapped.
An explicit ``dtype`` is honoured; if the largest segment could overflow it, counts are
accumulated in ``int64`` and a ``ValueError`` is raised when a pixel really exceeds the dtype's
range (float dtypes are then rounded, never wrapped). The SpikingJelly-named functions return
``float64`` like SpikingJelly unless told otherwise.

Representations
---------------
A :class:`FrameSetting` with ``representation`` other than ``'count'`` (voxel grid, time
surface, averaged time surface, stacked histogram, ON-OFF, event image, binary, latest
timestamp) turns each window of its rule into that representation instead of count frames;
formulas, shapes and dtypes in :mod:`evframes.integrate.representations`.

Validation
----------
Every entry point checks its input and raises ``ValueError`` naming the first offending
index: ``x`` outside ``[0, W)``, ``y`` outside ``[0, H)``, ``p`` outside ``{0, 1}``, or ``t``
decreasing. (SpikingJelly silently maps any non-zero ``p`` to channel 1; evframes refuses.)
"""
from __future__ import annotations

# Public API (below: __all__) and, for the pipeline, tests and benchmarks, every private name
# the single-module evframes.integrate had; each is defined in one submodule.
from ._inputs import (  # noqa: F401
    _EMPTY_T,
    _arrays,
    _check_hw,
    _check_sorted,
    _int_array,
    _nonneg_int,
    _pos_int,
    _raise_bad,
    _t_array,
    _validate,
)
from ._kernels import (  # noqa: F401
    _BAD_P,
    _BAD_T,
    _BAD_X,
    _BAD_Y,
    _CHUNK,
    _COUNT,
    _DURATION,
    _NUMBER,
    _OK,
    _RULE_CODES,
    _TIME,
    _any_bad,
    _batch_bounds,
    _batch_n_frames,
    _batch_validate_hist,
    _fill_bounds,
    _first_bad,
    _hist_segments,
    _n_frames,
    _t_decreases,
)
from .core import (  # noqa: F401
    _auto_dtype,
    _batch_function,
    _callback_events,
    _exact_limit,
    _finish_dtype,
    _function_name,
    _integrate_arrays,
    _numba_threads,
    _plan_dtype,
    _report_bad,
    check_frames,
    downsample_events,
    integrate,
    integrate_batch,
    integrate_segments,
    integrate_with_function,
    to_frames,
)
from .representations import (  # noqa: F401
    REPRESENTATIONS,
    averaged_time_surface,
    binary_frames,
    event_image,
    frame_layout,
    latest_timestamp,
    onoff_frames,
    repr_channels,
    repr_dtype,
    repr_shape,
    represent,
    stacked_histogram,
    time_surface,
    voxel_grid,
    window_times,
)
from .rules import (  # noqa: F401
    _bounds,
    bounds_by_count,
    bounds_by_duration,
    bounds_by_number,
    bounds_by_time,
    frame_bounds,
)
from .setting import FrameSetting, _check_folder_name  # noqa: F401
from .spikingjelly import (  # noqa: F401
    cal_fixed_frames_number_segment_index,
    integrate_events_by_fixed_duration,
    integrate_events_by_fixed_frames_number,
    integrate_events_segment_to_frame,
)

__all__ = [
    "FrameSetting",
    "to_frames",
    "integrate",
    "integrate_batch",
    "integrate_segments",
    "integrate_with_function",
    "frame_bounds",
    "bounds_by_number",
    "bounds_by_time",
    "bounds_by_duration",
    "bounds_by_count",
    "downsample_events",
    "check_frames",
    "integrate_events_segment_to_frame",
    "cal_fixed_frames_number_segment_index",
    "integrate_events_by_fixed_frames_number",
    "integrate_events_by_fixed_duration",
    "REPRESENTATIONS",
    "represent",
    "repr_channels",
    "repr_dtype",
    "repr_shape",
    "frame_layout",
    "window_times",
    "voxel_grid",
    "time_surface",
    "averaged_time_surface",
    "stacked_histogram",
    "onoff_frames",
    "event_image",
    "binary_frames",
    "latest_timestamp",
]
