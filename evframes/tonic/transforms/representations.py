"""Tonic 1.7's representation transforms (``tonic.transforms.To*``): same class names,
dataclass fields, defaults and values, on Tonic's structured events (fields ``x``, ``y``,
``t``, ``p``; ``t`` in microseconds; ``sensor_size`` ``(W, H, P)``).

Each class calls the function of :mod:`evframes.tonic.transforms.functional` that Tonic's
calls, so the formulas and Tonic's quirks (named there, kept so that values are equal:
int16 frames that wrap, dropped tails, the last event outside ``n_time_bins``, bool
polarities all +1 in the voxel grid, ...) are those of the functions. What the classes add
is named in each docstring. Frozen dataclasses, as Tonic's (hashable, comparable).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from . import functional
from ._frames import empty_frames
from ._sparse import dense_to_sparse

__all__ = ["ToFrame", "ToImage", "ToSparseTensor", "ToVoxelGrid", "ToTimesurface",
           "ToAveragedTimesurface", "ToBinaRep", "ToOneHotEncoding"]


@dataclass(frozen=True)
class ToFrame:
    """Events -> int16 count frames ``[T, P, H, W]`` (``[T, P, W]`` for events without
    ``y``), Tonic's ``ToFrame``: set exactly one of ``time_window`` (``t`` units, e.g.
    microseconds), ``event_count``, ``n_time_bins``, ``n_event_bins``; ``overlap`` in ``t``
    units / events / a fraction of a bin; ``include_incomplete`` keeps the partial last
    window (``time_window``, ``event_count``); ``start_time`` / ``end_time`` bound the
    ``time_window`` windows. Rules and quirks: :func:`.functional.to_frame_numpy`.

    Empty events (Tonic's own shortcut, kept): float64 zeros, one frame for ``time_window``
    / ``event_count``, ``n_time_bins`` / ``n_event_bins`` frames otherwise. Difference: the
    zeros are ``[T, P, H, W]`` (``[T, P, W]`` without ``y``) where Tonic returns ``[T, P,
    W, H]``, which differs from its non-empty frames on a non-square sensor; empty events
    with no ``sensor_size`` raise ``ValueError`` (Tonic: TypeError).
    """

    sensor_size: Optional[Tuple[int, int, int]]
    time_window: Optional[float] = None
    event_count: Optional[int] = None
    n_time_bins: Optional[int] = None
    n_event_bins: Optional[int] = None
    overlap: float = 0
    include_incomplete: bool = False
    start_time: Optional[float] = None
    end_time: Optional[float] = None

    def __call__(self, events):
        if len(events) == 0:
            if self.time_window is not None or self.event_count is not None:
                name, value = "time_window", 1
            elif self.n_event_bins is not None:
                name, value = "n_event_bins", self.n_event_bins
            elif self.n_time_bins is not None:
                name, value = "n_time_bins", self.n_time_bins
            else:
                raise ValueError("No slicing method specified.")
            if not self.sensor_size:
                raise ValueError("ToFrame: sensor_size cannot be inferred from no events; "
                                 "give sensor_size")
            W, H, P = (int(v) for v in self.sensor_size)
            names = getattr(events.dtype, "names", None) or ()
            return empty_frames(name, value, W, H, P, "y" in names, np.float64)
        return functional.to_frame_numpy(
            events, self.sensor_size, time_window=self.time_window,
            event_count=self.event_count, n_time_bins=self.n_time_bins,
            n_event_bins=self.n_event_bins, overlap=self.overlap,
            include_incomplete=self.include_incomplete, start_time=self.start_time,
            end_time=self.end_time)


@dataclass(frozen=True)
class ToSparseTensor:
    """Events -> ``torch.sparse_coo_tensor`` of the int16 frames ``[T, P, H, W]``, Tonic's
    ``ToSparseTensor`` (``ToFrame``'s slicing without ``start_time`` / ``end_time``; Tonic's
    ``torch.from_numpy(frames).to_sparse()``: coalesced, int64 indices in row-major order,
    int16 values). Built from the nonzero cells directly, the same tensor. Empty events: as
    :func:`.functional.to_frame_numpy` (int16 zeros; Tonic crashes for ``time_window`` /
    ``n_time_bins``). Needs torch."""

    sensor_size: Tuple[int, int, int]
    time_window: Optional[float] = None
    event_count: Optional[int] = None
    n_time_bins: Optional[int] = None
    n_event_bins: Optional[int] = None
    overlap: float = 0
    include_incomplete: bool = False

    def __call__(self, events):
        dense = functional.to_frame_numpy(
            events, self.sensor_size, time_window=self.time_window,
            event_count=self.event_count, n_time_bins=self.n_time_bins,
            n_event_bins=self.n_event_bins, overlap=self.overlap,
            include_incomplete=self.include_incomplete)
        return dense_to_sparse(dense)


@dataclass(frozen=True)
class ToImage:
    """Events -> one int16 count image ``[P, H, W]`` of all events (``[P, W]`` without
    ``y``), Tonic's ``ToImage`` (``to_frame_numpy(event_count=len(events))``, squeezed).
    Difference: empty events give int16 zeros (Tonic: UnboundLocalError)."""

    sensor_size: Tuple[int, int, int]

    def __call__(self, events):
        if len(events) == 0:
            frames = functional.to_frame_numpy(events, self.sensor_size, event_count=1)
        else:
            frames = functional.to_frame_numpy(events, self.sensor_size,
                                               event_count=len(events))
        return frames.squeeze(0)


@dataclass(frozen=True)
class ToTimesurface:
    """Events -> float64 global time surfaces ``[n_slices, P, H, W]`` every ``dt`` (``t``
    units), decaying with ``tau``; Tonic's ``ToTimesurface`` (no overlap, complete slices
    only). Formula and quirks: :func:`.functional.to_timesurface_numpy`."""

    sensor_size: Tuple[int, int, int]
    dt: float
    tau: float

    def __call__(self, events):
        return functional.to_timesurface_numpy(events, self.sensor_size, self.dt, self.tau)


@dataclass(frozen=True)
class ToVoxelGrid:
    """Events -> float64 voxel grid ``[n_time_bins, 1, H, W]`` (bilinear in time), Tonic's
    ``ToVoxelGrid``. Formula and quirks (bool ``p`` all +1, the last event adds nothing):
    :func:`.functional.to_voxel_grid_numpy`."""

    sensor_size: Tuple[int, int, int]
    n_time_bins: int

    def __call__(self, events):
        return functional.to_voxel_grid_numpy(events, self.sensor_size, self.n_time_bins)


@dataclass(frozen=True)
class ToAveragedTimesurface:
    """Events -> float32 HATS histograms ``[cells, P, surface_size, surface_size]``,
    Tonic's ``ToAveragedTimesurface``: ``cell_size`` pixels per cell, ``time_window`` and
    ``tau`` in ``t`` units, ``decay`` ``'exp'`` or ``'lin'``. Formula and quirks:
    :func:`.functional.to_averaged_timesurface_numpy`."""

    sensor_size: Tuple[int, int, int]
    surface_size: int = 5
    cell_size: int = 10
    time_window: float = 1e3
    tau: float = 100
    decay: str = "exp"

    def __call__(self, events):
        return functional.to_averaged_timesurface_numpy(
            events, sensor_size=self.sensor_size, cell_size=self.cell_size,
            surface_size=self.surface_size, time_window=self.time_window, tau=self.tau,
            decay=self.decay)


@dataclass(frozen=True)
class ToBinaRep:
    """``n_frames * n_bits`` frames ``[T*B, P, H, W]`` (e.g. from ``ToFrame(n_time_bins=
    n_frames * n_bits)``) -> float32 Bina-Rep frames ``[n_frames, P, H, W]``, Tonic's
    ``ToBinaRep``; see :func:`.functional.to_bina_rep_numpy`."""

    n_frames: Optional[int] = 1
    n_bits: Optional[int] = 8

    def __call__(self, event_frames):
        return functional.to_bina_rep_numpy(event_frames, self.n_frames, self.n_bits)


@dataclass(frozen=True)
class ToOneHotEncoding:
    """Target(s) -> float64 one-hot rows ``[..., n_classes]`` (``np.eye(n_classes)[target]``),
    Tonic's ``ToOneHotEncoding`` (a target transform)."""

    n_classes: int

    def __call__(self, target):
        return np.eye(self.n_classes)[target]
