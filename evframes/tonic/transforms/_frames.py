"""Tonic 1.7's count frames (``tonic.functional.to_frame_numpy``) on its structured events.

The slicing rules and the int16 kernel are in :mod:`evframes.integrate.tonic_rules`; here
the choice of rule, the sensor size and Tonic's handling of polarities and empty input.
"""
from __future__ import annotations

import numpy as np

from ...integrate import tonic_rules as R
from ._events import fields, infer_sensor, integer_field, sensor_of

_MODES = ("time_window", "event_count", "n_time_bins", "n_event_bins")


def _mode(time_window, event_count, n_time_bins, n_event_bins):
    given = {k: v for k, v in zip(_MODES, (time_window, event_count, n_time_bins,
                                           n_event_bins)) if v is not None}
    if len(given) != 1:
        raise ValueError("Please assign a value to exactly one of the parameters time_window,"
                         " event_count, n_time_bins or n_event_bins.")
    (name, value), = given.items()
    if not value:  # Tonic picks the rule by truthiness: a 0 reaches none of them
        raise ValueError(f"{name} must be non-zero, got {value!r}")
    return name, value


def window_bounds(name, value, t, n, overlap, include_incomplete, start_time, end_time):
    """Event-index windows ``(starts, ends)`` of Tonic's rule ``name`` (``n`` events)."""
    if name == "time_window":
        return R.time_window_bounds(t, value, overlap, include_incomplete, start_time,
                                    end_time)
    if name == "event_count":
        return R.event_count_bounds(n, value, overlap, include_incomplete)
    if name == "n_time_bins":
        return R.time_bins_bounds(t, value, overlap)
    return R.event_bins_bounds(n, value, overlap)


def empty_frames(name, value, W, H, P, has_y, dtype=np.int16):
    """Frames of no events: one frame for the window rules, ``value`` for the bin rules."""
    T = 1 if name in ("time_window", "event_count") else int(value)
    return np.zeros((T, P, H, W) if has_y else (T, P, W), dtype)


def to_frame(events, sensor_size, time_window=None, event_count=None, n_time_bins=None,
             n_event_bins=None, overlap=0.0, include_incomplete=False, start_time=None,
             end_time=None, what="to_frame_numpy"):
    """int16 ``[T, P, H, W]`` (``[T, P, W]`` for events without ``y``); see
    :func:`evframes.tonic.functional.to_frame_numpy` for the rules and quirks."""
    name, value = _mode(time_window, event_count, n_time_bins, n_event_bins)
    need = "xt" if name in ("time_window", "n_time_bins") else "x"
    f = fields(events, need, what)
    integer_field(f.x, "x", what)
    integer_field(f.y, "y", what)
    if not sensor_size:
        W, H, P = infer_sensor(f)
    else:
        W, H, P = sensor_of(sensor_size, what)
    if f.p is None and P != 1:
        raise ValueError(f"{what}: the events have no 'p' field but sensor_size has P={P} "
                         "polarities (Tonic needs p; give P = 1 for one channel)")
    if f.n == 0:
        return empty_frames(name, value, W, H, P, f.y is not None)
    starts, ends = window_bounds(name, value, f.t, f.n, overlap, include_incomplete,
                                 start_time, end_time)
    return R.count_frames(f.x, f.y, f.p, f.t, starts, ends, P, H, W, merge_p=P == 1,
                          check_t=need == "xt")
