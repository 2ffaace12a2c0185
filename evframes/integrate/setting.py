"""``FrameSetting``: one way of turning events into frames, with its folder name.

Rule-based settings (``number``, ``time``, ``duration``, ``count``) and custom functions
``f(events, H, W) -> [T, 2, H, W]``; durations in microseconds, overlaps in events
(``number``/``count``) or microseconds (``time``). See :mod:`evframes.integrate` for the rules.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from ._inputs import _nonneg_int, _pos_int
from .rules import _RULE_CODES


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
    count only. See the module docstring for the exact rules.

    ``.name`` is a SpikingJelly-style folder name (``frames_number_20_split_by_number``,
    ``duration_1000000``, the function's name) with suffixes for evframes' extras
    (``_overlap_5``, ``count_5000``, ``_drop_incomplete``); ``.fixed_T`` is ``T`` or ``None``
    when ``T`` varies between samples.
    """

    split_by: Optional[str] = None
    frames_number: Optional[int] = None
    duration: Optional[int] = None
    count: Optional[int] = None
    overlap: int = 0
    include_incomplete: bool = True
    function: Optional[Callable] = None
    function_name: Optional[str] = None

    def __post_init__(self):
        modes = [self.frames_number is not None, self.duration is not None,
                 self.count is not None, self.function is not None]
        if sum(modes) != 1:
            raise ValueError("set exactly one of frames_number (with split_by), duration, "
                             "count or function")
        if self.frames_number is not None:
            _pos_int(self.frames_number, "frames_number")
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
    def name(self) -> str:
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
    def fixed_T(self) -> Optional[int]:
        """Frames per sample when it is the same for every sample, else None."""
        return int(self.frames_number) if self.frames_number is not None else None

    def to_dict(self) -> dict:
        """JSON-friendly description (the function itself is represented by its name)."""
        d = {"name": self.name, "kind": self.kind}
        for k in ("split_by", "frames_number", "duration", "count"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v if isinstance(v, str) else int(v)
        d["overlap"] = int(self.overlap)
        d["include_incomplete"] = bool(self.include_incomplete)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "FrameSetting":
        """Inverse of :meth:`to_dict` for rule-based settings (a function cannot be restored)."""
        if d.get("kind") == "function":
            raise ValueError("a custom-function setting cannot be rebuilt from its description")
        keys = ("split_by", "frames_number", "duration", "count", "overlap",
                "include_incomplete")
        return cls(**{k: d[k] for k in keys if k in d})

    def _params(self):
        return (_RULE_CODES[self.kind], int(self.frames_number or 0), int(self.duration or 1),
                int(self.count or 1), int(self.overlap), bool(self.include_incomplete))


def _check_folder_name(name: str) -> None:
    if name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ValueError(f"function_name {name!r} cannot be a folder name")
