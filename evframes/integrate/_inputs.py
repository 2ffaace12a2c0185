"""Input coercion and validation shared by every entry point of :mod:`evframes.integrate`.

Event arrays become contiguous 1-D integer arrays (``t`` int64 microseconds; ``x``, ``y``
pixels and ``p`` keep a narrow integer dtype; bool becomes uint8; integral floats and uint64
become int64). The count paths take them with :func:`_kernel_arrays` instead: no copies for
the dtypes the count kernel is compiled for (``x``, ``y``, ``p`` any integer dtype, bool ``p``
as a uint8 view, ``t`` int64 or integral float64). Invalid events raise ``ValueError`` naming
the first offending index.
"""
from __future__ import annotations

from typing import Mapping, Optional, Tuple

import numpy as np

from ..events import KEYS
from ._kernels import _BAD_P, _BAD_T, _BAD_X, _BAD_Y, _any_bad, _first_bad

_EMPTY_T = np.zeros(0, np.int64)


def _int_array(a, name: str) -> np.ndarray:
    a = np.ascontiguousarray(a).reshape(-1)  # e.g. a field of a structured array: copied
    if a.dtype == np.bool_:
        return a.view(np.uint8)
    if a.dtype.kind not in "iu":
        if a.size and not np.all(np.mod(a, 1) == 0):
            raise ValueError(f"events['{name}'] must hold integers, got dtype {a.dtype}")
        return a.astype(np.int64)
    if a.dtype == np.uint64:  # uint64 mixed with int64 would become float64 in the kernel
        return a.astype(np.int64)
    return a


def _kernel_int(a, name: str) -> np.ndarray:
    """``x``, ``y`` or ``p`` for the count kernel (:func:`._kernels._hist_checked`), which
    takes every integer dtype as it is (uint64 included): a 1-D contiguous integer array is
    returned itself, bool as a uint8 view; other input as :func:`_int_array` makes it."""
    if isinstance(a, np.ndarray) and a.ndim == 1 and a.flags.c_contiguous and \
            a.dtype.kind in "iu":
        return a
    return _int_array(a, name)


def _kernel_t(t) -> np.ndarray:
    """``t`` for the count kernel: int64, or float64 holding integers (checked by the kernel,
    not copied) when its first and last values are finite and within 2**52 (then every rule's
    arithmetic on it is exact, and the kernel's sortedness check bounds every other value);
    anything else as :func:`_t_array` makes it."""
    if isinstance(t, np.ndarray) and t.ndim == 1 and t.flags.c_contiguous:
        if t.dtype == np.int64:
            return t
        if t.dtype == np.float64 and t.shape[0] and \
                abs(float(t[0])) <= _FLOAT_T_MAX and abs(float(t[-1])) <= _FLOAT_T_MAX:
            return t  # abs(nan) <= x is False: NaN and inf ends take the checked path
    return _t_array(t)


_FLOAT_T_MAX = 2.0 ** 52


def _kernel_arrays(events: Mapping):
    """``t, x, y, p`` as the count kernel takes them (no copies for the dtypes it is
    compiled for: t int64 / integral float64, x, y, p any integer dtype, p bool)."""
    missing = [k for k in KEYS if k not in events]
    if missing:
        raise KeyError(f"events need keys t, x, y, p; missing {missing}")
    t = _kernel_t(events["t"])
    x = _kernel_int(events["x"], "x")
    y = _kernel_int(events["y"], "y")
    p = _kernel_int(events["p"], "p")
    _same_length(t, x, y, p)
    return t, x, y, p


def _same_length(t, x, y, p) -> None:
    n = t.shape[0]
    for k, a in (("x", x), ("y", y), ("p", p)):
        if a.shape[0] != n:
            raise ValueError(f"events arrays differ in length: t has {n}, {k} has {a.shape[0]}")


def _t_integral(t: np.ndarray) -> None:
    """Raise (as :func:`_t_array` does) when float ``t`` holds a non-integer value."""
    if t.dtype.kind == "f":
        _t_array(t)


def _t_array(t) -> np.ndarray:
    t = _int_array(t, "t")
    if t.dtype != np.int64:
        t = t.astype(np.int64)
    return t


def _arrays(events: Mapping):
    missing = [k for k in KEYS if k not in events]
    if missing:
        raise KeyError(f"events need keys t, x, y, p; missing {missing}")
    t = _t_array(events["t"])
    x = _int_array(events["x"], "x")
    y = _int_array(events["y"], "y")
    p = _int_array(events["p"], "p")
    _same_length(t, x, y, p)
    return t, x, y, p


def _check_hw(H, W) -> Tuple[int, int]:
    H, W = int(H), int(W)
    if H <= 0 or W <= 0:
        raise ValueError(f"frame size must be positive, got H={H}, W={W} pixels")
    if 2 * H * W > 2 ** 31 - 1:
        raise ValueError(f"frames of 2 x {H} x {W} pixels are too large (max 2**31 - 1 bins)")
    return H, W


def _raise_bad(code: int, i: int, t, x, y, p, H: int, W: int, where: str) -> None:
    if code == _BAD_X:
        raise ValueError(f"{where}: x={int(x[i])} at index {i} is outside [0, W={W}) pixels")
    if code == _BAD_Y:
        raise ValueError(f"{where}: y={int(y[i])} at index {i} is outside [0, H={H}) pixels")
    if code == _BAD_P:
        raise ValueError(f"{where}: p={int(p[i])} at index {i}; polarity must be 0 or 1")
    if code == _BAD_T:
        raise ValueError(
            f"{where}: t is not sorted: it decreases at index {i} ({int(t[i - 1])} -> "
            f"{int(t[i])} us); sort the events by t first")


def _validate(t, x, y, p, H: int, W: int, lo: int = 0, hi: Optional[int] = None,
              check_t: bool = True, where: str = "events") -> None:
    hi = x.shape[0] if hi is None else hi
    if hi <= lo:
        return
    tt = t if check_t else _EMPTY_T
    if _any_bad(tt, x, y, p, lo, hi, H, W, check_t):
        code, i = _first_bad(tt, x, y, p, lo, hi, H, W, check_t)
        _raise_bad(int(code), int(i), t, x, y, p, H, W, where)


def _pos_int(v, name: str) -> int:
    if isinstance(v, (bool, np.bool_)) or int(v) != v or int(v) <= 0:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def _nonneg_int(v, name: str) -> int:
    if isinstance(v, (bool, np.bool_)) or int(v) != v or int(v) < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    return int(v)


def _check_sorted(t: np.ndarray) -> None:
    n = t.shape[0]
    if n > 1:
        d = np.diff(t)
        if int(d.min()) < 0:
            i = int(np.argmax(d < 0)) + 1
            _raise_bad(_BAD_T, i, t, None, None, None, 0, 0, "events")
