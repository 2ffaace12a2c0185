"""Tonic's events: a NumPy structured array with fields ``x``, ``y``, ``t``, ``p`` (any order,
any integer dtypes; ``t`` in microseconds or the recording's unit). Audio-like recordings
have no ``y`` (sensor ``(W, 1, P)``); some have no ``t`` or ``p`` for the transforms that do
not need them. Fields are read in place (strided views, no copies)."""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ...integrate.tonic_rules import TonicIndexError

__all__ = ["Fields", "fields", "sensor_of", "TonicIndexError"]


class Fields(NamedTuple):
    """Views of one recording's fields (None where the dtype has no such field)."""

    x: Optional[np.ndarray]
    y: Optional[np.ndarray]
    t: Optional[np.ndarray]
    p: Optional[np.ndarray]
    n: int


def fields(events, need: str = "x", what: str = "this transform") -> Fields:
    """The fields of a Tonic structured array; ``need``: the letters that must be there."""
    names = getattr(getattr(events, "dtype", None), "names", None)
    if not isinstance(events, np.ndarray) or names is None:
        raise TypeError(f"{what} takes Tonic's events: a NumPy structured array with fields "
                        f"x, y, t, p; got {type(events).__name__}"
                        + (f" of dtype {events.dtype}" if hasattr(events, "dtype") else ""))
    if events.ndim != 1:
        events = events.reshape(-1)
    missing = [c for c in need if c not in names]
    if missing:
        raise ValueError(f"{what} needs the event fields {', '.join(need)}; the events "
                         f"({events.dtype}) have no {', '.join(missing)}")
    get = {c: (events[c] if c in names else None) for c in "xytp"}
    return Fields(get["x"], get["y"], get["t"], get["p"], int(events.shape[0]))


def sensor_of(sensor_size, what: str):
    """``(W, H, P)`` as ints from Tonic's ``sensor_size`` (any 3-sequence)."""
    try:
        W, H, P = (int(v) for v in sensor_size)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: sensor_size must be (W, H, P), got {sensor_size!r}") from None
    if W <= 0 or H <= 0 or P <= 0:
        raise ValueError(f"{what}: sensor_size must be positive (W, H, P), got {sensor_size!r}")
    return W, H, P


def infer_sensor(f: Fields):
    """Tonic's sensor size of one sample when ``sensor_size`` is omitted: ``x.max() + 1``,
    ``y.max() + 1`` (1 without ``y``) and the number of distinct ``p`` values."""
    if f.n == 0:
        raise ValueError("sensor_size cannot be inferred from no events; give sensor_size")
    W = int(f.x.max() + 1)
    H = int(f.y.max() + 1) if f.y is not None else 1
    P = len(np.unique(f.p)) if f.p is not None else 1
    return W, H, P


def integer_field(a, name: str, what: str):
    """Refuse a non-integer coordinate field (Tonic: ``IndexError`` from NumPy indexing)."""
    if a is not None and a.dtype.kind not in "iub":
        raise TypeError(f"{what}: events['{name}'] must hold integers (it indexes the "
                        f"frame), got dtype {a.dtype}")
