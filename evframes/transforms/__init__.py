"""Data augmentation and filtering for frames and events.

A functional core of pure, vectorised functions (:mod:`evframes.transforms.functional`), plus
thin callable classes (Tonic style dataclasses, defined here) that hold their parameters and a
random generator, for ``Dataset(transform=...)``. Every name is importable from
``evframes.transforms``.

Frames
------
Frames are numpy arrays or torch tensors ``[T, 2, H, W]`` (any leading dimensions work for the
spatial functions: ``[2, H, W]`` too). Every frame function returns the same type (and device /
dtype) it was given, never modifies its input, and returns a contiguous result (numpy results
never carry negative strides, so ``torch.as_tensor`` and the default collate accept them). A
random function that decides to do nothing may return its input object unchanged.

Coordinates: ``x`` is the last axis (width ``W``), ``y`` the one before (height ``H``), the
polarity channel is axis ``-3``. Sizes are ``(h, w)`` (torchvision order); shifts are
``(dx, dy)``; ``sensor_size`` (events) is ``(W, H)`` like everywhere else in evframes.

Events
------
Event functions take an :class:`~evframes.events.Events` (or any mapping with ``t, x, y, p``)
and return a new :class:`Events` with the canonical dtypes; the input is never modified.
Times are in microseconds. The event-level augmentations (``RandomFlip`` and
``RandomTranslate`` with ``sensor_size``, ``DropEvents``, ``TimeJitter``) keep events on the
same sensor, so they serve as ``event_transform`` of a Dataset with ``on_the_fly=True`` (events
augmented, then integrated in the DataLoader worker, new frames every epoch); a spatial crop
changes the sensor size, so crop the integrated frames there (``transform=RandomCrop(...)``).

Randomness
----------
Functions take ``rng``: ``None`` (fresh OS entropy), an int seed, or a ``np.random.Generator``
(used as is). The classes take ``seed`` (``None``, int or Generator) and create their generator
lazily in each process, so ``DataLoader`` workers never share one (a generator created before
the workers fork would otherwise give every worker the same augmentations). Inside a torch
``DataLoader`` worker the generator is seeded from the worker's torch seed (plus ``seed`` when
given), so runs are reproducible after ``torch.manual_seed`` and still differ between workers and
epochs; outside workers an int ``seed`` gives a reproducible sequence and ``None`` OS entropy. A
Generator passed as ``seed`` is used as is, in every process (your responsibility).

The denoise rule (and how it differs from Tonic's) is described in
:mod:`evframes.transforms.functional`.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np

from .functional import (
    RngLike,
    _axis,
    _filter_time,
    _is_events,
    _pair,
    center_crop,
    crop,
    crop_events,
    denoise,
    drop_events,
    flip,
    flip_events,
    random_crop,
    random_flip,
    random_translate,
    random_translate_events,
    temporal_crop,
    time_jitter,
    to_float_tensor,
    translate,
    translate_events,
)

__all__ = [
    # frames
    "flip", "random_flip", "translate", "random_translate", "crop", "random_crop", "center_crop",
    "temporal_crop", "to_float_tensor",
    # events
    "flip_events", "translate_events", "random_translate_events", "drop_events", "denoise",
    "time_jitter", "crop_events",
    # classes
    "Compose", "RandomFlip", "RandomTranslate", "RandomCrop", "CenterCrop", "TemporalCrop",
    "DropEvents", "Denoise", "TimeJitter", "ToFloatTensor",
]

# The classes are dataclasses with eq=False: equality and hashing stay by identity, so
# transforms can be dict keys / set members. The generated repr lists the init fields in order.


class _Transform:
    """Base of the transform classes."""


@dataclass(eq=False)
class _Random(_Transform):
    """Holds ``seed`` (declared last by each subclass) and makes one generator per process.

    See the module docstring for how the generator is seeded.
    """

    _gen: Optional[np.random.Generator] = field(default=None, init=False, repr=False)
    _pid: Optional[int] = field(default=None, init=False, repr=False)

    @property
    def rng(self) -> np.random.Generator:
        """This process's generator (created on first use, again after a fork)."""
        if isinstance(self.seed, np.random.Generator):
            return self.seed
        pid = os.getpid()
        if self._gen is None or self._pid != pid:
            entropy = [] if self.seed is None else [int(self.seed)]
            info = None
            if "torch" in sys.modules:
                from torch.utils.data import get_worker_info
                info = get_worker_info()
            if info is not None:
                entropy.append(int(info.seed))
            self._gen = np.random.default_rng(entropy if entropy else None)
            self._pid = pid
        return self._gen

    def __getstate__(self):  # a generator made in one process is not reused in another
        d = self.__dict__.copy()
        d["_gen"] = None
        d["_pid"] = None
        return d


@dataclass(eq=False, repr=False)
class Compose(_Transform):
    """Apply transforms in order: ``Compose([Denoise((128, 128)), ...])(x)``.

    Parameters
    ----------
    transforms : sequence of callables
        Applied first to last, each to the previous one's output.
    """

    transforms: Sequence[Callable]

    def __post_init__(self):
        self.transforms = list(self.transforms)

    def __call__(self, x):
        for tr in self.transforms:
            x = tr(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {tr!r}," for tr in self.transforms)
        return f"Compose([{inner}\n])" if inner else "Compose([])"


@dataclass(eq=False)
class RandomFlip(_Random):
    """:func:`random_flip` for frames; for events (a mapping) :func:`flip_events`.

    Parameters
    ----------
    p : float
        Probability of flipping one sample.
    axis : {'x', 'y', 'p'}
        Mirror columns, rows or swap polarities.
    sensor_size : (W, H), optional
        Needed for events flipped in ``x`` or ``y``.
    seed : None, int or numpy.random.Generator
    """

    p: float = 0.5
    axis: str = "x"
    sensor_size: Optional[Tuple[int, int]] = None
    seed: RngLike = None

    def __post_init__(self):
        _axis(self.axis)
        self.p = float(self.p)

    def __call__(self, x):
        if _is_events(x):
            if self.sensor_size is None and self.axis != "p":
                raise ValueError("RandomFlip on events needs sensor_size=(W, H)")
            if self.rng.random() < self.p:
                return flip_events(x, self.sensor_size or (1, 1), self.axis)
            return x
        return random_flip(x, self.p, self.axis, self.rng)


@dataclass(eq=False)
class RandomTranslate(_Random):
    """:func:`random_translate` for frames; for events (a mapping)
    :func:`random_translate_events`, which needs ``sensor_size = (W, H)`` (events shifted off
    the sensor are dropped). ``max_shift = (max_dx, max_dy)`` pixels, or one int.
    ``sensor_size`` comes after ``seed`` so that older positional calls keep their meaning."""

    max_shift: Union[int, Tuple[int, int]] = (5, 5)
    seed: RngLike = None
    sensor_size: Optional[Tuple[int, int]] = None

    def __post_init__(self):
        self.max_shift = _pair(self.max_shift, "max_shift")
        if self.sensor_size is not None:
            self.sensor_size = tuple(int(v) for v in self.sensor_size)

    def __call__(self, x):
        if _is_events(x):
            if self.sensor_size is None:
                raise ValueError("RandomTranslate on events needs sensor_size=(W, H)")
            return random_translate_events(x, self.max_shift, self.sensor_size, self.rng)
        return random_translate(x, self.max_shift, self.rng)


@dataclass(eq=False)
class RandomCrop(_Random):
    """:func:`random_crop` (frames); ``size = (h, w)``, ``padding = (pad_x, pad_y)`` pixels."""

    size: Union[int, Tuple[int, int]]
    padding: Union[int, Tuple[int, int]] = 0
    seed: RngLike = None

    def __post_init__(self):
        self.size = _pair(self.size, "size")
        self.padding = _pair(self.padding, "padding")

    def __call__(self, frames):
        return random_crop(frames, self.size, self.padding, self.rng)


@dataclass(eq=False)
class CenterCrop(_Transform):
    """:func:`center_crop` (frames); ``size = (h, w)`` pixels, or one int."""

    size: Union[int, Tuple[int, int]]

    def __post_init__(self):
        self.size = _pair(self.size, "size")

    def __call__(self, frames):
        return center_crop(frames, self.size)


@dataclass(eq=False)
class TemporalCrop(_Random):
    """:func:`temporal_crop` (frames): ``T`` consecutive frames, a random or the first window."""

    T: int
    random: bool = True
    pad: bool = False
    seed: RngLike = None

    def __post_init__(self):
        if int(self.T) <= 0:
            raise ValueError(f"T must be positive, got {self.T}")
        self.T, self.random, self.pad = int(self.T), bool(self.random), bool(self.pad)

    def __call__(self, frames):
        return temporal_crop(frames, self.T, self.random, self.rng if self.random else None,
                             self.pad)


@dataclass(eq=False)
class DropEvents(_Random):
    """:func:`drop_events` (events): drop each event with probability ``p``."""

    p: float
    seed: RngLike = None

    def __post_init__(self):
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {self.p}")
        self.p = float(self.p)

    def __call__(self, ev):
        return drop_events(ev, self.p, self.rng)


@dataclass(eq=False)
class TimeJitter(_Random):
    """:func:`time_jitter` (events): Gaussian timestamp noise of ``std_us`` microseconds."""

    std_us: float
    clip_negative: bool = True
    seed: RngLike = None

    def __post_init__(self):
        self.std_us, self.clip_negative = float(self.std_us), bool(self.clip_negative)

    def __call__(self, ev):
        return time_jitter(ev, self.std_us, self.rng, self.clip_negative)


@dataclass(eq=False)
class Denoise(_Transform):
    """:func:`denoise` (events): background-activity filter, ``filter_time_us`` microseconds.

    ``sensor_size = (W, H)``; ``None`` infers it from each sample's largest coordinates.
    ``filter_time`` is Tonic's name for ``filter_time_us`` (``Denoise(filter_time=10000)``
    works; giving both with different values is an error). ``connectivity=4`` is Tonic's
    neighbourhood (left, right, up, down); the default stays 8, the usual background-activity
    filter (jAER's), so existing results do not change. For Tonic's exact rule, start quirk
    included, use :class:`evframes.tonic.transforms.Denoise`.
    """

    sensor_size: Optional[Tuple[int, int]] = None
    filter_time_us: int = 10000
    connectivity: int = 8
    bidirectional: bool = False
    filter_time: Optional[int] = None

    def __post_init__(self):
        if self.connectivity not in (4, 8):
            raise ValueError(f"connectivity must be 4 or 8, got {self.connectivity}")
        if self.sensor_size is not None:
            self.sensor_size = tuple(int(v) for v in self.sensor_size)
        self.filter_time_us = _filter_time(self.filter_time_us, self.filter_time)
        self.filter_time = self.filter_time_us
        self.connectivity, self.bidirectional = int(self.connectivity), bool(self.bidirectional)

    def __call__(self, ev):
        return denoise(ev, self.sensor_size, self.filter_time_us, self.connectivity,
                       self.bidirectional)


@dataclass(eq=False)
class ToFloatTensor(_Transform):
    """:func:`to_float_tensor`: a torch ``float32`` tensor of the frames."""

    def __call__(self, frames):
        return to_float_tensor(frames)
