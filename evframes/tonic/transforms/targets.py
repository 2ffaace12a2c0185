"""Tonic's target transforms (``target_transform=...``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Repeat"]


@dataclass(frozen=True)
class Repeat:
    """The target repeated ``n_repeat`` times along a new first axis, Tonic 1.7's ``Repeat``
    (labels as sequences, e.g. one per time step): ``np.tile(target[None], [n_repeat, 1])``.
    Tonic's quirk kept: a scalar target gives ``[n_repeat, 1]``, a ``[k]`` target
    ``[n_repeat, k]``."""

    n_repeat: int

    def __call__(self, target):
        return np.tile(np.expand_dims(target, 0), [self.n_repeat, 1])
