"""The narrowest dtype that holds every value of some arrays exactly (no I/O).

Frames stores keep what custom integration functions return without loss: booleans and
integers go to the narrowest unsigned (no negative value) or signed integer dtype holding their
range; floats that hold integers only (SpikingJelly's float64 counts) go to an integer dtype
too; other floats to the narrowest of float16 / float32 / float64 into which every value
converts and back unchanged. NaN and +-inf are values like any other (kept as they are in the
float dtype); -0.0 keeps its sign (so it stays a float). Complex, object, string and other
dtypes are refused with a ``ValueError``.

A :class:`ValueSummary` describes what one array needs; :func:`join` combines summaries
(associative, only ever widening), :func:`dtype_of` names the dtype. Integer ranges that
meet fractional values need a float whose mantissa holds those integers (|v| <= 2048 for
float16, 2**24 for float32, 2**53 for float64).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

_UINTS = [np.dtype(d) for d in (np.uint8, np.uint16, np.uint32, np.uint64)]
_INTS = [np.dtype(d) for d in (np.int8, np.int16, np.int32, np.int64)]
_FLOATS = {16: np.dtype(np.float16), 32: np.dtype(np.float32), 64: np.dtype(np.float64)}
_FLOAT_INT_LIMIT = {16: 2 ** 11, 32: 2 ** 24, 64: 2 ** 53}


@dataclass(frozen=True)
class ValueSummary:
    """``kind='i'``: integer values in ``[lo, hi]``; ``kind='f'``: non-integer values that
    need a float of ``fbits`` bits (16, 32 or 64)."""

    kind: str
    lo: int = 0
    hi: int = 0
    fbits: int = 0

    def to_dict(self) -> dict:
        return {"kind": self.kind, "lo": self.lo, "hi": self.hi, "fbits": self.fbits}


def summarize(a: np.ndarray, where: str = "frames",
              nonnegative: bool = False) -> Optional[ValueSummary]:
    """What ``a`` needs (None for an empty array). ``nonnegative``: the caller knows there is
    no negative value (counts), so only the maximum is computed."""
    a = np.asarray(a)
    k = a.dtype.kind
    if k in "biuf" and a.size == 0:
        return None
    if k == "b":
        return ValueSummary("i", int(a.min()), int(a.max()))
    if k in "iu":
        lo = 0 if nonnegative else int(a.min())
        return ValueSummary("i", lo, int(a.max()))
    if k == "f":
        return _summarize_float(a, where)
    if k == "c":
        raise ValueError(f"{where}: complex values (dtype {a.dtype}) cannot be stored as "
                         f"frames; return the real part, the magnitude, or two channels")
    raise ValueError(f"{where}: values of dtype {a.dtype} cannot be stored as frames; return "
                     f"numbers (bool, integer or float)")


def _summarize_float(a: np.ndarray, where: str) -> ValueSummary:
    if np.isfinite(a).all() and np.array_equal(a, np.trunc(a)) and \
            not (np.signbit(a) & (a == 0)).any():
        lo, hi = a.min(), a.max()
        if -2.0 ** 63 <= lo and hi < 2.0 ** 63:
            return ValueSummary("i", int(lo), int(hi))
    bits = a.dtype.itemsize * 8
    for fb in (16, 32, 64):
        if fb >= bits:
            return ValueSummary("f", fbits=fb)
        with np.errstate(over="ignore", invalid="ignore"):  # too large: inf, not equal
            back = a.astype(_FLOATS[fb]).astype(a.dtype)
        if np.array_equal(back, a, equal_nan=True):
            return ValueSummary("f", fbits=fb)
    raise ValueError(f"{where}: dtype {a.dtype} holds values that float64 cannot hold "
                     f"exactly; frames are stored in float64 at most")


def _int_fbits(lo: int, hi: int) -> int:
    m = max(abs(lo), abs(hi))
    for fb in (16, 32, 64):
        if m <= _FLOAT_INT_LIMIT[fb]:
            return fb
    raise ValueError(f"integers up to {m} and non-integer values cannot share one exact "
                     f"dtype (float64 holds integers exactly up to 2**53)")


def join(a: Optional[ValueSummary], b: Optional[ValueSummary],
         where: str = "frames") -> Optional[ValueSummary]:
    """The summary of the values of both."""
    if a is None:
        return b
    if b is None:
        return a
    if a.kind == "i" and b.kind == "i":
        return ValueSummary("i", min(a.lo, b.lo), max(a.hi, b.hi))
    try:
        fb = max(s.fbits if s.kind == "f" else _int_fbits(s.lo, s.hi) for s in (a, b))
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    return ValueSummary("f", fbits=fb)


def dtype_of(s: Optional[ValueSummary], where: str = "frames") -> np.dtype:
    """The narrowest dtype holding every value ``s`` describes (uint8 for nothing)."""
    if s is None:
        return _UINTS[0]
    if s.kind == "f":
        return _FLOATS[s.fbits]
    for d in (_UINTS if s.lo >= 0 else _INTS):
        info = np.iinfo(d)
        if info.min <= s.lo and s.hi <= info.max:
            return d
    raise ValueError(f"{where}: values from {s.lo} to {s.hi} fit no integer dtype")


def concat_exact(parts: Sequence[np.ndarray], where: str = "frames",
                 empty_shape=(0,)) -> np.ndarray:
    """Concatenate along axis 0 in the narrowest dtype holding every part's values exactly
    when their dtypes differ (``np.concatenate`` would promote int64 + uint64 to float64
    and round); parts of one dtype keep it."""
    dts = {np.asarray(p).dtype for p in parts}
    if len(dts) == 1:
        return np.concatenate(parts, axis=0)
    s = None
    for p in parts:
        s = join(s, summarize(p, where), where)
    dt = dtype_of(s, where)
    if not parts:
        return np.zeros(empty_shape, dt)
    return np.concatenate([np.asarray(p).astype(dt, copy=False) for p in parts], axis=0)
