"""Tonic transforms from events to events (Tonic 1.7 names, parameters and values).

Events are Tonic's numpy structured arrays (fields ``x, y, t, p`` in any order and dtypes; audio
events have no ``y``); ``sensor_size`` is ``(W, H, P)``. Each transform is a dataclass with
Tonic's fields, defaults and frozenness, returns a new C-contiguous array of the input's dtype
and gives Tonic 1.7's values on the same events, quirks included and named in its docstring.
Where Tonic fails (empty input, a list where it wants a tuple, ``sensor_size=None`` where it
unpacks it) the transform returns what Tonic evidently meant; each case is documented.

Randomness: every random transform draws from numpy's global generator with the same calls in
the same order as Tonic (``np.random.rand``, ``random_sample``, ``randint``, ``uniform``,
``normal``, ``multivariate_normal``, ``choice``), so after ``np.random.seed(s)`` a sequence of
calls gives Tonic's results and leaves the generator where Tonic leaves it. (torch's
``DataLoader`` reseeds numpy's global generator in each worker, so workers differ.) The one
deliberate difference is the order of *equal timestamps* after :class:`UniformNoise` (stable
here, arbitrary in Tonic).

Transforms: :class:`Compose`, :class:`CenterCrop`, :class:`CropTime`, :class:`Decimation`,
:class:`Denoise`, :class:`DropEvent`, :class:`DropEventByArea`, :class:`DropEventByTime`,
:class:`DropPixel`, :class:`Downsample`, :class:`EventDrop`, :class:`EventDownsampling`,
:class:`MergePolarities`, :class:`NumpyAsType`, :class:`RandomCrop`, :class:`RandomDropPixel`,
:class:`RandomFlipLR`, :class:`RandomFlipPolarity`, :class:`RandomFlipUD`,
:class:`RandomTimeReversal`, :class:`RefractoryPeriod`, :class:`SpatialJitter`,
:class:`TimeAlignment`, :class:`TimeJitter`, :class:`TimeSkew`, :class:`UniformNoise`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from . import (
    event_ops_downsampling,
    event_ops_drop,
    event_ops_filter,
    event_ops_spatial,
    event_ops_time,
)
from .event_ops_base import mapped, structured
from .event_ops_downsampling import EventDownsampling
from .event_ops_drop import (
    DropEvent,
    DropEventByArea,
    DropEventByTime,
    DropPixel,
    EventDrop,
    RandomDropPixel,
)
from .event_ops_filter import Decimation, Denoise, RefractoryPeriod, UniformNoise
from .event_ops_kernels import columns3, columns4
from .event_ops_spatial import (
    CenterCrop,
    Downsample,
    RandomCrop,
    RandomFlipLR,
    RandomFlipUD,
    SpatialJitter,
)
from .event_ops_time import CropTime, RandomTimeReversal, TimeAlignment, TimeJitter, TimeSkew

__all__ = ["Compose", "MergePolarities", "RandomFlipPolarity", "NumpyAsType",
           *event_ops_drop.__all__, *event_ops_filter.__all__, *event_ops_spatial.__all__,
           *event_ops_time.__all__, *event_ops_downsampling.__all__]

_ = (DropEvent, DropEventByArea, DropEventByTime, DropPixel, EventDrop, RandomDropPixel,
     Decimation, Denoise, RefractoryPeriod, UniformNoise, CenterCrop, Downsample, RandomCrop,
     RandomFlipLR, RandomFlipUD, SpatialJitter, CropTime, RandomTimeReversal, TimeAlignment,
     TimeJitter, TimeSkew, EventDownsampling)


class Compose:
    """Apply transforms in order (Tonic 1.7's ``Compose``, torchvision's with one rule more).

    As in Tonic, once the data are empty (``len(x) == 0``) the remaining transforms are
    skipped: ``Compose([DropEvent(1.0), ToFrame(...)])`` returns the empty events, not frames.
    The transforms are kept as given (the same list object).

    Parameters
    ----------
    transforms : iterable of callables
    """

    def __init__(self, transforms: Iterable[Callable]):
        self.transforms = transforms

    def __call__(self, events):
        for t in self.transforms:
            if len(events) == 0:
                break
            events = t(events)
        return events

    def __repr__(self):
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


@dataclass(frozen=True)
class MergePolarities:
    """Set every polarity to 0 (one channel)."""

    def __call__(self, events):
        ev = structured(events, "MergePolarities", ("p",))
        return mapped(ev, [("zero", "p")])


@dataclass(frozen=True)
class RandomFlipPolarity:
    """With probability ``p`` invert every polarity of the sample: nonzero -> 0, 0 -> 1
    (Tonic 1.7's ``invert(p.astype(bool))``; ``-1`` becomes 0).

    One draw ``np.random.rand() <= p`` per call: the whole sample flips or none of it (Tonic's
    docstring says "individual events"; its code flips the sample).

    Parameters
    ----------
    p : float
    """

    p: float = 0.5

    def __post_init__(self):
        if not 0 <= self.p <= 1:
            raise ValueError(f"RandomFlipPolarity: p must be in [0, 1], got {self.p}")

    def __call__(self, events):
        ev = structured(events, "RandomFlipPolarity", ("p",))
        flip = np.random.rand() <= self.p
        return mapped(ev, [("invert", "p")] if flip else [])


def _uniform_layout(dtype: np.dtype, target: np.dtype) -> bool:
    fields = [dtype.fields[n] for n in dtype.names]
    return all(f[0] == target for f in fields)


@dataclass(frozen=True)
class NumpyAsType:
    """Change the array's dtype: structured events -> a plain ``[N, n_fields]`` array (fields
    in dtype order, numpy's ``structured_to_unstructured``), plain -> structured
    (``unstructured_to_structured``), plain -> plain (``astype``).

    Structured -> structured raises ``NotImplementedError`` (Tonic 1.7 *returns* the exception
    class instead of an array). As in numpy, a structured array whose fields all have the target
    dtype converts to a view of the input (no copy).

    Parameters
    ----------
    dtype : numpy dtype
        ``int``, ``np.float32``, or a structured dtype.
    """

    dtype: np.dtype

    def __call__(self, events):
        from numpy.lib import recfunctions as rf
        src = getattr(events.dtype, "names", None) is not None
        target = np.dtype(self.dtype)
        dst = target.names is not None
        if src and dst:
            raise NotImplementedError("NumpyAsType: structured -> structured is not "
                                      "implemented (Tonic 1.7 neither)")
        if src:
            if _uniform_layout(events.dtype, target) or target.kind not in "iuf" \
                    or len(events) == 0 or len(events.dtype.names) not in (3, 4):
                return rf.structured_to_unstructured(events, target)
            ev = structured(events, "NumpyAsType")
            out = np.empty((len(ev), len(ev.dtype.names)), target)
            (columns3 if len(ev.dtype.names) == 3 else columns4)(
                *(ev[n] for n in ev.dtype.names), out)
            return out
        if dst:
            return rf.unstructured_to_structured(events, target)
        return events.astype(target)
