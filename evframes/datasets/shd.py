"""SHD and SSC as torch Datasets, named as SpikingJelly's ``spikingjelly.datasets.shd``
(``SpikingHeidelbergDigits``, ``SpikingSpeechCommands``, ``SHD_N_CLASSES``,
``SSC_N_CLASSES``), with its constructors. Raw layout, event conversion and classes:
:mod:`evframes.raw.shd`; the one-axis rules: :mod:`evframes.integrate.one_axis`.

>>> from evframes.datasets import SpikingHeidelbergDigits, SpikingSpeechCommands
>>> train = SpikingHeidelbergDigits("data/shd", train=True, data_type="frame",
...                                 frames_number=20, split_by="number")
>>> x, y = train[0]          # float32 tensor [20, 700], int label 0..19
>>> valid = SpikingSpeechCommands("data/ssc", "valid", data_type="frame", duration=10)
>>> x, y = valid[0]          # [T, 700]: 10 ms frames (SpikingJelly's SHD unit), T varies

As SpikingJelly:

- frames are ``[T, 700]`` (``channel_axis=True``: ``[T, 1, 700]``), one value per channel;
  ``split_by='number'`` and ``'time'`` follow its SHD rules (its ``'time'`` divides the span
  by ``T`` exactly, unlike its other datasets' floor); ``duration`` is in **milliseconds** as in
  its SHD loader (``duration_unit='us'`` for evframes' microseconds); ``get_H_W()`` is
  ``(None, 700)``; ``SpikingSpeechCommands(root, split='train'|'valid'|'test', ...)``;
  ``train=None`` is refused for SHD.

Differences, deliberate:

- the values are exact where SpikingJelly computes its ``'time'`` and ``duration`` frames in
  the file's float16 (events in the wrong frame, in two or in none, and ``T`` off by one near
  frame edges; an IndexError for an empty window or a sample at one time):
  :mod:`evframes.integrate.one_axis` says where;
- ``data_type='event'`` gives evframes' events ``{t, x, y, p}`` (t int64 microseconds,
  ``x`` the channel, ``y = p = 0``), not SpikingJelly's ``{'t': float16 seconds, 'x'}``;
- labels are the file's for both data types (``label_order='spikingjelly'`` gives the labels of
  SpikingJelly's frame folders ``'0'``..``'19'`` sorted as strings, which scramble them there);
  samples keep the file's order (SpikingJelly's frames come class folder by class folder);
- ``custom_integrate_function`` is evframes' ``f(events, H=1, W=700) -> [T, 2, 1, 700]``
  (its frames are handed over as returned), not SpikingJelly's
  ``f(h5_file, index, folder, W)`` that writes files itself;
- ``SpikingSpeechCommands.resource_url_md5()`` lists the SSC files (SpikingJelly's lists SHD's).

Extras beyond SpikingJelly as in :class:`~evframes.datasets.base.NeuromorphicDataset`
(``count``, ``overlap`` for ``'number'`` / ``count``, ``on_the_fly``, ``in_memory``,
``frame_dtype``, ...). Stored frames are ``[T, 2, 1, 700]`` (one store per setting; the
SHD ``'time'`` rule's store is named ``frames_number_<T>_split_by_time_shd``), so the
``evframes integrate`` command works on these roots as on any other (with its own rules).
"""
from __future__ import annotations

import functools
from typing import Callable, Optional, Tuple

from ..integrate.one_axis import ms_to_us, shd_time_frames, to_one_axis
from ..integrate.setting import FrameSetting
from .base import NeuromorphicDataset

SHD_N_CLASSES = 20
SSC_N_CLASSES = 35
DURATION_UNITS = ("ms", "us")


class OneAxisFrames:
    """Transform turning stored ``[T, 2, 1, W]`` frames into ``[T, W]`` (``[T, 1, W]`` with
    ``channel_axis``), then applying ``then`` (the user's transform)."""

    def __init__(self, channel_axis: bool = False, then: Optional[Callable] = None):
        self.channel_axis = bool(channel_axis)
        self.then = then

    def __call__(self, x):
        x = to_one_axis(x, self.channel_axis).contiguous()
        return x if self.then is None else self.then(x)

    def __repr__(self):
        return f"OneAxisFrames(channel_axis={self.channel_axis}, then={self.then!r})"


class _HeidelbergDataset(NeuromorphicDataset):
    """Shared construction of SHD and SSC (see the module docstring)."""

    def _heidelberg_init(self, root, train, split, data_type, frames_number, split_by,
                         duration, custom_integrate_function, custom_integrated_frames_dir_name,
                         transform, target_transform, duration_unit, channel_axis, extras):
        if duration_unit not in DURATION_UNITS:
            raise ValueError(f"duration_unit must be one of {DURATION_UNITS}, got "
                             f"{duration_unit!r}")
        if duration is not None and duration_unit == "ms":
            duration = ms_to_us(duration)
        function, fname = custom_integrate_function, custom_integrated_frames_dir_name
        if (data_type == "frame" and function is None and split_by == "time"
                and frames_number is not None):
            FrameSetting.from_options(split_by, frames_number)  # the usual checks of T
            if extras.get("overlap"):
                raise ValueError("overlap is not defined for SpikingJelly's SHD time rule "
                                 "(split_by='time'); use split_by='number' or count=")
            if extras.get("representation") not in (None, "count"):
                raise ValueError("representations take split_by='number', duration or count "
                                 "on SHD / SSC (its split_by='time' rule gives count frames)")
            function = functools.partial(shd_time_frames, frames_number=int(frames_number))
            fname = f"frames_number_{int(frames_number)}_split_by_time_shd"
            frames_number = split_by = None
        one_axis = (data_type == "frame" and custom_integrate_function is None
                    and extras.get("representation") in (None, "count"))
        if one_axis:
            transform = OneAxisFrames(channel_axis, transform)
        NeuromorphicDataset.__init__(self, root, train, data_type, frames_number, split_by,
                                     duration, function, fname, transform, target_transform,
                                     split=split, **extras)
        self.channel_axis = bool(channel_axis)

    @classmethod
    def get_H_W(cls) -> Tuple[None, int]:
        """``(None, 700)``: 700 channels, no height (SpikingJelly's value)."""
        return None, 700


class SpikingHeidelbergDigits(_HeidelbergDataset):
    """Spiking Heidelberg Digits (20 classes, 700 channels; train / test). SpikingJelly's
    positional arguments; extras ``duration_unit`` ('ms', SpikingJelly's, or 'us'),
    ``channel_axis`` (frames ``[T, 1, 700]``) and those of NeuromorphicDataset."""

    raw_name = "shd"
    splits = ("train", "test")

    def __init__(self, root, train: Optional[bool] = True, data_type: str = "event",
                 frames_number: Optional[int] = None, split_by: Optional[str] = None,
                 duration=None, custom_integrate_function: Optional[Callable] = None,
                 custom_integrated_frames_dir_name: Optional[str] = None,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, *, split: Optional[str] = None,
                 duration_unit: str = "ms", channel_axis: bool = False, **extras):
        if train is None and split is None:
            raise ValueError("SpikingHeidelbergDigits: train must be True or False (or give "
                             "split=...)")
        self._heidelberg_init(root, train, split, data_type, frames_number, split_by,
                              duration, custom_integrate_function,
                              custom_integrated_frames_dir_name, transform, target_transform,
                              duration_unit, channel_axis, extras)


class SpikingSpeechCommands(_HeidelbergDataset):
    """Spiking Speech Commands (35 classes, 700 channels; train / valid / test):
    ``SpikingSpeechCommands(root, split='train', data_type='event', ...)`` as SpikingJelly's;
    extras as :class:`SpikingHeidelbergDigits`."""

    raw_name = "ssc"
    splits = ("train", "valid", "test")

    def __init__(self, root, split: str = "train", data_type: str = "event",
                 frames_number: Optional[int] = None, split_by: Optional[str] = None,
                 duration=None, custom_integrate_function: Optional[Callable] = None,
                 custom_integrated_frames_dir_name: Optional[str] = None,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, *, duration_unit: str = "ms",
                 channel_axis: bool = False, **extras):
        if split not in self.splits:
            raise ValueError(f"Invalid split: {split!r}; valid splits are {self.splits}")
        self._heidelberg_init(root, True, split, data_type, frames_number, split_by,
                              duration, custom_integrate_function,
                              custom_integrated_frames_dir_name, transform, target_transform,
                              duration_unit, channel_axis, extras)


__all__ = ["SHD_N_CLASSES", "SSC_N_CLASSES", "SpikingHeidelbergDigits",
           "SpikingSpeechCommands", "OneAxisFrames"]
