"""``FrameSetting``: one way of turning events into frames, with its folder name.

Rule-based settings (``number``, ``time``, ``duration``, ``count``) and custom functions
``f(events, H, W) -> [T, 2, H, W]``; durations in microseconds, overlaps in events
(``number``/``count``) or microseconds (``time``). See :mod:`evframes.integrate` for the rules.

This is the one frames setting of evframes: every entry point (the torch Datasets, the CLI, the
pipeline) builds it with :meth:`FrameSetting.from_options` (the one set of defaults) and hands
it down; :meth:`FrameSetting.__post_init__` holds every check, so a setting that exists is
valid. It carries ``downsample`` (coordinates pooled by K before integration), its
``representation`` (``'count'`` frames by default, else one of
:data:`~evframes.integrate.representations.REPRESENTATIONS` with its ``repr_params``) and its
stores' folder name (:attr:`FrameSetting.dir_name`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Tuple

import numpy as np

from ._inputs import _nonneg_int, _pos_int
from ._kernels import _RULE_CODES
from ._repr_spec import REPR_VERSION, check_repr


class MissingSplitBy(ValueError):
    """``frames_number`` was given without ``split_by``: as in SpikingJelly the split rule is
    never guessed (the CLI reports this as a usage error naming ``--split-by``)."""


@dataclass(frozen=True)
class FrameSetting:
    """One way of turning events into frames; exactly one of the modes is set.

    - ``split_by='number'|'time'`` with ``frames_number`` T: fixed ``T`` (SpikingJelly).
    - ``duration`` D (microseconds): variable ``T`` (SpikingJelly's fixed duration).
    - ``count`` C (events per frame): variable ``T``; ``include_incomplete`` keeps the short
      last frame.
    - ``function`` ``f(events, H, W) -> [T, 2, H, W]``: named ``function_name`` or
      ``f.__name__``.

    ``overlap`` (events for number/count, microseconds for time) applies to number, time and
    count only. See the module docstring for the exact rules. ``downsample`` K >= 1 pools
    coordinates (``x // K``, ``y // K``) before integration.

    ``representation`` (default ``'count'``: count frames ``[T, 2, H, W]``) names what each
    window becomes (:mod:`evframes.integrate.representations`: ``'voxel'``,
    ``'time_surface'``, ...) with its parameters ``repr_params`` (a mapping or ``(name,
    value)`` pairs, e.g. ``{'bins': 10}``; stored as pairs in the kind's order with defaults
    filled in). Rule-based settings only.

    ``.name`` is a SpikingJelly-style name (``frames_number_20_split_by_number``,
    ``duration_1000000``, the function's name) with suffixes for evframes' extras
    (``_overlap_5``, ``count_5000``, ``_drop_incomplete``), prefixed with the representation
    and its parameters when it is not ``'count'`` (``voxel_bins_10_duration_50000``);
    ``.dir_name`` is the stores' folder name, ``.name`` plus ``_downsample_K`` when K > 1;
    ``.fixed_T`` is ``T`` or ``None`` when ``T`` varies between samples.
    """

    split_by: Optional[str] = None
    frames_number: Optional[int] = None
    duration: Optional[int] = None
    count: Optional[int] = None
    overlap: int = 0
    include_incomplete: bool = True
    function: Optional[Callable] = None
    function_name: Optional[str] = None
    downsample: int = 1
    representation: str = "count"
    repr_params: Tuple[Tuple[str, object], ...] = ()

    def __post_init__(self):
        """Every check of a frames setting (the only place they live)."""
        modes = {"frames_number": self.frames_number, "duration": self.duration,
                 "count": self.count, "function": self.function}
        given = [k for k, v in modes.items() if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of frames_number (-T, with split_by), duration, "
                             "count or a custom function; got "
                             f"{' and '.join(given) if given else 'none'}")
        if self.frames_number is not None:
            _pos_int(self.frames_number, "frames_number")
            if self.split_by is None:
                raise MissingSplitBy("frames_number needs split_by='number' or 'time' (as in "
                                     "SpikingJelly; the CLI's -T needs --split-by too)")
            if self.split_by not in ("number", "time"):
                raise ValueError(f"split_by must be 'number' or 'time' with frames_number, "
                                 f"got {self.split_by!r}")
        elif self.split_by is not None:
            raise ValueError("split_by only goes with frames_number")
        if self.duration is not None:
            _pos_int(self.duration, "duration")
        if self.count is not None:
            _pos_int(self.count, "count")
        _nonneg_int(self.overlap, "overlap")
        if self.overlap and self.kind not in ("number", "time", "count"):
            raise ValueError(f"overlap applies to number, time and count, not {self.kind}")
        if self.kind == "count" and self.overlap >= self.count:
            raise ValueError(f"overlap ({self.overlap} events) must be smaller than count "
                             f"({self.count} events)")
        if not self.include_incomplete and self.kind != "count":
            raise ValueError("include_incomplete=False applies to count only")
        if self.function is not None:
            if not callable(self.function):
                raise ValueError("function must be callable f(events, H, W) -> frames")
            name = self.function_name or getattr(self.function, "__name__", None)
            if not name or name == "<lambda>":
                raise ValueError("give function_name for a function without a usable __name__")
            _check_folder_name(name)
        elif self.function_name is not None:
            raise ValueError("function_name only goes with function")
        k = self.downsample
        integral = isinstance(k, (int, np.integer)) or \
            isinstance(k, (float, np.floating)) and float(k).is_integer()
        if isinstance(k, (bool, np.bool_)) or not integral:
            raise ValueError(f"downsample must be an integer >= 1, got {k!r}")
        if int(k) < 1:
            raise ValueError(f"downsample must be >= 1, got {k}")
        object.__setattr__(self, "downsample", int(k))
        rep, params = check_repr(self.representation, self.repr_params)
        if rep != "count" and self.function is not None:
            raise ValueError(f"representation {rep!r} applies to rule-based settings, not to a "
                             f"custom function (which returns its own frames)")
        object.__setattr__(self, "representation", rep)
        object.__setattr__(self, "repr_params", params)

    @classmethod
    def from_options(cls, split_by: Optional[str] = None, frames_number: Optional[int] = None,
                     duration: Optional[int] = None, count: Optional[int] = None,
                     overlap: int = 0, include_incomplete: bool = True,
                     function: Optional[Callable] = None, function_name: Optional[str] = None,
                     downsample: int = 1, representation: Optional[str] = None,
                     repr_params: Optional[Mapping] = None) -> "FrameSetting":
        """The frames setting of user-facing options: the one set of defaults every entry
        point (Dataset constructor, CLI, pipeline) uses.

        Parameters
        ----------
        split_by : {'number', 'time'}, optional
            Needed with ``frames_number`` (never guessed: :class:`MissingSplitBy`); ignored
            with the other modes, as SpikingJelly's ``split_by``.
        frames_number, duration, count, function
            Exactly one of them: fixed ``T``; frame duration (microseconds); events per frame;
            ``f(events, H, W) -> [T, 2, H, W]``.
        overlap : int, default 0
            Events (number, count) or microseconds (time).
        include_incomplete : bool, default True
            ``count``: keep the short last frame.
        function_name : str, optional
            Folder name of ``function`` (default its ``__name__``).
        downsample : int, default 1
            Pool coordinates by this factor before integration.
        representation : str, optional
            ``'count'`` (default, also for None) or a representation of
            :mod:`evframes.integrate.representations`.
        repr_params : mapping, optional
            Its parameters (``bins``, ``tau``, ``cell``, ``radius``, ``clip``); None values are
            left out (defaults apply).

        Returns
        -------
        FrameSetting
            The validated setting.

        Raises
        ------
        ValueError
            Options that make no valid setting (:class:`MissingSplitBy` for ``frames_number``
            without ``split_by``; an unknown representation, or its unknown, missing or
            invalid parameters).
        """
        params = {k: v for k, v in (repr_params or {}).items() if v is not None}
        return cls(split_by=split_by if frames_number is not None else None,
                   frames_number=frames_number, duration=duration, count=count,
                   overlap=overlap, include_incomplete=include_incomplete,
                   function=function, function_name=function_name, downsample=downsample,
                   representation=representation or "count", repr_params=params)

    @property
    def kind(self) -> str:
        """'number', 'time', 'duration', 'count' or 'function'."""
        if self.frames_number is not None:
            return self.split_by
        if self.duration is not None:
            return "duration"
        if self.count is not None:
            return "count"
        return "function"

    @property
    def repr_kwargs(self) -> dict:
        """The representation's parameters as a dict (empty for count frames)."""
        return dict(self.repr_params)

    @property
    def name(self) -> str:
        """The rule's name, prefixed with ``<representation>_<param>_<value>..._`` when the
        representation is not ``'count'``."""
        if self.representation == "count":
            return self._rule_name
        parts = [self.representation]
        for key, v in self.repr_params:
            parts += [key, str(v)]
        return "_".join(parts) + "_" + self._rule_name

    @property
    def _rule_name(self) -> str:
        k = self.kind
        if k in ("number", "time"):
            s = f"frames_number_{int(self.frames_number)}_split_by_{k}"
        elif k == "duration":
            s = f"duration_{int(self.duration)}"
        elif k == "count":
            s = f"count_{int(self.count)}"
        else:
            return self.function_name or self.function.__name__
        if self.overlap:
            s += f"_overlap_{int(self.overlap)}"
        if not self.include_incomplete:
            s += "_drop_incomplete"
        return s

    @property
    def dir_name(self) -> str:
        """Folder name of this setting's frames stores: :attr:`name`, plus
        ``_downsample_K`` when ``downsample`` K > 1."""
        k = self.downsample
        return self.name if k == 1 else f"{self.name}_downsample_{k}"

    @property
    def fixed_T(self) -> Optional[int]:
        """Frames per sample when it is the same for every sample, else None."""
        return int(self.frames_number) if self.frames_number is not None else None

    def to_dict(self) -> dict:
        """JSON-friendly description (the function itself is represented by its name).

        ``downsample`` is not part of it: frames manifests record it under their own
        ``downsample`` key, so the description (and the stores it marks current) is the same
        as before ``downsample`` travelled inside the setting. Likewise ``representation``,
        ``repr_params`` and ``repr_version`` (the formulas' version) appear only when the
        representation is not ``'count'``."""
        d = {"name": self.name, "kind": self.kind}
        for k in ("split_by", "frames_number", "duration", "count"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v if isinstance(v, str) else int(v)
        d["overlap"] = int(self.overlap)
        d["include_incomplete"] = bool(self.include_incomplete)
        if self.representation != "count":
            d["representation"] = self.representation
            d["repr_params"] = dict(self.repr_params)
            d["repr_version"] = REPR_VERSION
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "FrameSetting":
        """Inverse of :meth:`to_dict` for rule-based settings (a function cannot be restored);
        a ``downsample`` key, where ``d`` has one, is taken too."""
        if d.get("kind") == "function":
            raise ValueError("a custom-function setting cannot be rebuilt from its description")
        keys = ("split_by", "frames_number", "duration", "count", "overlap",
                "include_incomplete", "downsample", "representation", "repr_params")
        return cls(**{k: d[k] for k in keys if k in d})

    def _params(self):
        return (_RULE_CODES[self.kind], int(self.frames_number or 0), int(self.duration or 1),
                int(self.count or 1), int(self.overlap), bool(self.include_incomplete))


def with_downsample(setting: FrameSetting, downsample: Optional[int] = None, *,
                    override: bool = False) -> FrameSetting:
    """``setting`` with an explicit ``downsample`` of an older call style
    (``f(root, setting, ..., downsample=K)``) folded in.

    Parameters
    ----------
    setting : FrameSetting
        The setting, which carries its own ``downsample``.
    downsample : int, optional
        None (or the setting's own value) keeps ``setting``.
    override : bool, default False
        Let ``downsample`` replace a different one the setting already has; otherwise that
        conflict is refused.

    Returns
    -------
    FrameSetting
        ``setting`` itself or a validated copy with ``downsample``.
    """
    if downsample is None or downsample == setting.downsample:
        return setting
    if setting.downsample != 1 and not override:
        raise ValueError(f"downsample={downsample} conflicts with the setting's own "
                         f"downsample={setting.downsample} ({setting.dir_name})")
    return dataclasses.replace(setting, downsample=downsample)


def _check_folder_name(name: str) -> None:
    if name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ValueError(f"function_name {name!r} cannot be a folder name")
