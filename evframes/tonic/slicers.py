"""Tonic's slicers (``tonic.slicers``): cut one recording's events into slices.

Each slicer is a small frozen dataclass with Tonic's name, fields and defaults and Tonic's three
methods: ``get_slice_metadata(data, targets)`` -> one ``(start, stop)`` event-index pair per
slice (Tonic 1.7's values), ``slice_with_metadata(data, targets, metadata)`` -> ``(slices,
targets)`` with ``slices`` views ``data[start:stop]``, and ``slice(data, targets)`` (both at
once). ``data`` is a structured event array with a ``t`` field (sorted, in its own units, e.g.
microseconds); targets are passed through. The ``slice_events_*`` functions return the slices
alone. A user's own slicer needs only the two metadata methods (Tonic's ``Slicer`` protocol) to
work with :class:`evframes.tonic.SlicedDataset`.

Differences from Tonic 1.7 (where Tonic crashes or is wrong):

- Empty ``data``: ``SliceByTime`` gives one empty slice, ``(0, 0)`` (without both
  ``start_time`` and ``end_time``; Tonic raises IndexError reading ``t[0]``), and
  ``SliceByTimeBins`` ``bin_count`` empty slices (Tonic: IndexError); the other slicers agree
  with Tonic already (``SliceByEventCount``: one empty slice).
- ``SliceByTime(reset_time=True).slice``: each slice's ``t`` minus ``i * time_window`` on a copy
  of that slice. Tonic writes the subtraction into the caller's array through the slice views,
  so the input changes and, with ``overlap``, events in two slices are shifted twice; without
  overlap the returned values are Tonic's. As in Tonic, ``reset_time`` acts in ``slice`` only
  (``SlicedDataset`` never resets times).
- A stride that is not positive raises ``ValueError`` naming the fields (Tonic: a bare
  ``assert`` / ``Exception``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["SliceByTime", "SliceByTimeBins", "SliceByEventCount", "SliceByEventBins",
           "SliceAtIndices", "SliceAtTimePoints", "slice_events_by_time",
           "slice_events_by_time_bins", "slice_events_by_count", "slice_events_by_event_bins",
           "slice_events_at_indices", "slice_events_at_timepoints"]

Metadata = List[Tuple[Any, Any]]


def _pairs(starts, stops) -> Metadata:
    return list(zip(np.asarray(starts).reshape(-1), np.asarray(stops).reshape(-1)))


def _views(data, metadata) -> list:
    return [data[start:stop] for start, stop in metadata]


def _t(data) -> np.ndarray:
    names = getattr(getattr(data, "dtype", None), "names", None) or ()
    if "t" not in names:
        raise ValueError("slicing by time needs a structured event array with a 't' field")
    return data["t"]


class _IndexSlicer:
    """``slice`` and ``slice_with_metadata`` for slicers whose metadata are index pairs."""

    def slice(self, data, targets):
        return self.slice_with_metadata(data, targets, self.get_slice_metadata(data, targets))

    @staticmethod
    def slice_with_metadata(data, targets, metadata):
        return _views(data, metadata), targets


@dataclass(frozen=True)
class SliceByTime(_IndexSlicer):
    """Windows of ``time_window`` (``t`` units) every ``time_window - overlap``, from
    ``start_time`` (default the first ``t``) while they fit before ``end_time`` (default the
    last ``t``); ``include_incomplete`` adds the last window that runs past it. At least one
    window. ``reset_time``: see the module docstring."""

    time_window: float
    overlap: float = 0.0
    include_incomplete: bool = False
    start_time: Optional[float] = None
    end_time: Optional[float] = None
    reset_time: bool = False

    def get_slice_metadata(self, data, targets) -> Metadata:
        t = _t(data)
        stride = self.time_window - self.overlap
        if not stride > 0:
            raise ValueError(f"time_window ({self.time_window}) must exceed overlap "
                             f"({self.overlap})")
        if t.shape[0] == 0 and (self.start_time is None or self.end_time is None):
            return [(0, 0)]  # Tonic: IndexError on t[0]
        t0 = t[0] if self.start_time is None else self.start_time
        t1 = t[-1] if self.end_time is None else self.end_time
        span = (t1 - t0 - self.time_window) / stride
        n = int(np.ceil(span) + 1) if self.include_incomplete else int(np.floor(span) + 1)
        n = max(n, 1)
        first = np.arange(n) * stride + t0
        return _pairs(np.searchsorted(t, first), np.searchsorted(t, first + self.time_window))

    def slice(self, data, targets):
        slices, targets = super().slice(data, targets)
        if self.reset_time:
            out = []
            for i, s in enumerate(slices):
                s = s.copy()
                s["t"] = s["t"] - i * self.time_window
                out.append(s)
            slices = out
        return slices, targets


@dataclass(frozen=True)
class SliceByTimeBins(_IndexSlicer):
    """``bin_count`` windows of ``(t[-1] - t[0]) // bin_count * (1 + overlap)`` each, every
    ``window * (1 - overlap)`` from the first ``t`` (``0 <= overlap < 1``, a fraction)."""

    bin_count: int
    overlap: float = 0

    def get_slice_metadata(self, data, targets) -> Metadata:
        t = _t(data)
        if not self.overlap < 1:
            raise ValueError(f"overlap must be below 1 (a fraction of a bin), got {self.overlap}")
        if t.shape[0] == 0:
            return [(0, 0)] * int(self.bin_count)  # Tonic: IndexError on t[-1]
        window = (t[-1] - t[0]) // self.bin_count * (1 + self.overlap)
        first = np.arange(self.bin_count) * (window * (1 - self.overlap)) + t[0]
        return _pairs(np.searchsorted(t, first), np.searchsorted(t, first + window))


@dataclass(frozen=True)
class SliceByEventCount(_IndexSlicer):
    """Slices of ``event_count`` events (all of them when fewer) every ``event_count -
    overlap`` events; ``include_incomplete`` keeps the last shorter one (its stop may lie past
    the end: the view stops at the last event, as in Tonic)."""

    event_count: int
    overlap: int = 0
    include_incomplete: bool = False

    def get_slice_metadata(self, data, targets) -> Metadata:
        n = len(data)
        count = min(self.event_count, n)
        stride = self.event_count - self.overlap
        if stride <= 0:
            raise ValueError(f"event_count ({self.event_count}) must exceed overlap "
                             f"({self.overlap})")
        span = (n - count) / stride
        k = int(np.ceil(span) + 1) if self.include_incomplete else int(np.floor(span) + 1)
        first = (np.arange(k) * stride).astype(int)
        return _pairs(first, first + count)


@dataclass(frozen=True)
class SliceByEventBins(_IndexSlicer):
    """``bin_count`` slices of ``int(N // bin_count * (1 + overlap))`` events each, every
    ``int(that * (1 - overlap))`` events (``overlap`` a fraction of a bin)."""

    bin_count: int
    overlap: float = 0

    def get_slice_metadata(self, data, targets) -> Metadata:
        count = int(len(data) // self.bin_count * (1 + self.overlap))
        first = np.arange(self.bin_count) * int(count * (1 - self.overlap))
        return _pairs(first, first + count)


@dataclass
class SliceAtIndices(_IndexSlicer):
    """Slices ``data[start_indices[k]:end_indices[k]]`` (end exclusive)."""

    start_indices: Sequence[int]
    end_indices: Sequence[int]

    def get_slice_metadata(self, data, targets) -> Metadata:
        return list(zip(self.start_indices, self.end_indices))


@dataclass
class SliceAtTimePoints(_IndexSlicer):
    """Slices of the events with ``start_tw[k] <= t < end_tw[k]`` (``t`` units)."""

    start_tw: Sequence[float]
    end_tw: Sequence[float]

    def get_slice_metadata(self, data, targets) -> Metadata:
        t = _t(data)
        return _pairs(np.searchsorted(t, self.start_tw), np.searchsorted(t, self.end_tw))


def slice_events_by_time(events, time_window, overlap=0, include_incomplete=False,
                         start_time=None, end_time=None) -> list:
    """The slices of :class:`SliceByTime` (views of ``events``)."""
    return SliceByTime(time_window, overlap, include_incomplete, start_time,
                       end_time).slice(events, None)[0]


def slice_events_by_time_bins(events, bin_count, overlap=0.0) -> list:
    """The slices of :class:`SliceByTimeBins`."""
    return SliceByTimeBins(bin_count, overlap).slice(events, None)[0]


def slice_events_by_count(events, event_count, overlap=0, include_incomplete=False) -> list:
    """The slices of :class:`SliceByEventCount`."""
    return SliceByEventCount(event_count, overlap, include_incomplete).slice(events, None)[0]


def slice_events_by_event_bins(events, bin_count, overlap=0.0) -> list:
    """The slices of :class:`SliceByEventBins`."""
    return SliceByEventBins(bin_count, overlap).slice(events, None)[0]


def slice_events_at_indices(events, start_indices, end_indices) -> list:
    """The slices of :class:`SliceAtIndices`."""
    return SliceAtIndices(start_indices, end_indices).slice(events, None)[0]


def slice_events_at_timepoints(events, start_tw, end_tw) -> list:
    """The slices of :class:`SliceAtTimePoints`."""
    return SliceAtTimePoints(start_tw, end_tw).slice(events, None)[0]
