"""Plumbing of the Tonic event transforms: input checks, numpy's typing rules, kernel calls.

Events are Tonic's: a 1-D numpy structured array with fields among ``x, y, t, p`` (any order and
dtypes; audio events have no ``y``). Every transform returns a new array of the input's dtype
(never a view of the input, unless Tonic also returns the input object itself), C-contiguous.

Arithmetic follows the numpy expression Tonic evaluates: :func:`affine` and :func:`bound` type
their scalars with ``np.result_type`` (Python scalars weak, numpy scalars strong, NEP 50) and
the kernels cast results into the field as numpy's assignment does (floats truncated toward zero
into integer fields). Integer arithmetic runs in int64, which gives the same result modulo the
field width.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from . import event_ops_fused as F
from . import event_ops_kernels as K


def structured(events, name: str, need: Sequence[str] = ()) -> np.ndarray:
    """``events`` as a C-contiguous 1-D structured array holding the fields ``need``; a
    ``TypeError`` / ``ValueError`` naming the transform otherwise."""
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise TypeError(f"{name} expects Tonic events: a numpy structured array with fields "
                        f"such as x, y, t, p; got {type(events).__name__}"
                        + (f" of dtype {events.dtype}" if isinstance(events, np.ndarray) else ""))
    if events.ndim != 1:
        raise ValueError(f"{name} expects a 1-D array of events, got shape {events.shape}")
    missing = [f for f in need if f not in events.dtype.names]
    if missing:
        raise ValueError(f"{name} needs the event field(s) {', '.join(missing)}; the events "
                         f"have {', '.join(events.dtype.names)}")
    for f in events.dtype.names:
        fd = events.dtype.fields[f][0]
        if fd.kind not in "biuf" or not fd.isnative or fd.shape:
            raise TypeError(f"{name}: event field {f!r} has dtype {fd}; native-order bool, "
                            f"integer or float fields are supported")
    return np.ascontiguousarray(events)


def copy(events: np.ndarray) -> np.ndarray:
    """A copy by one memcpy (``ndarray.copy`` of a structured array copies field by field)."""
    out = np.empty_like(events)
    if events.size:
        out.view(np.uint8)[...] = events.view(np.uint8)
    return out


def _widen(dt: np.dtype):
    return np.int64 if dt.kind in "biu" else dt.type


def affine(events, field: str, a, b) -> tuple:
    """The op ``field = field * a + b`` for :func:`mapped`, ``a`` and ``b`` typed as numpy
    types that expression on the field (then widened: integers compute in int64)."""
    r1 = np.result_type(events.dtype[field], a)
    r2 = np.result_type(r1, b)
    return ("affine", field, _widen(r1)(a), _widen(r2)(b))


def scale(events, field: str, a) -> tuple:
    """The op ``field = field * a`` for :func:`mapped` (``a`` typed as numpy types that
    product, then widened: integers compute in int64)."""
    return ("scale", field, _widen(np.result_type(events.dtype[field], a))(a))


def bound(dtype: np.dtype, v):
    """A comparison bound typed as numpy compares a ``dtype`` array with ``v``: the field's
    float type for float fields (a Python float is weak), else float64 (exact for integer
    fields up to 2**53, i.e. 285 years of microseconds; one kernel type for every bound)."""
    r = np.result_type(dtype, v)
    return r.type(v) if r.kind == "f" and dtype.kind == "f" else np.float64(v)


def interval(events, field: str, lo, hi) -> tuple:
    """``(view, lo, hi)`` for the kernels' ``lo <= v < hi`` (or ``<= hi``) checks, the bounds
    typed as numpy compares them with the field."""
    v = events[field]
    return (v, bound(v.dtype, lo), bound(v.dtype, hi))


def shrink(out: np.ndarray, n: int) -> np.ndarray:
    """``out[:n]`` as an array of its own (the buffer is shrunk in place, no copy)."""
    if n == out.shape[0]:
        return out
    out.resize((n,), refcheck=False)
    return out


def _exact_int(dt: np.dtype) -> bool:
    """Integer fields whose values int64 holds exactly (the one-compare kernels' condition)."""
    return dt.kind == "i" or (dt.kind == "u" and dt.itemsize <= 4)


def int_span(dtype: np.dtype, lo, hi, closed: bool = True):
    """``(lo', w)`` such that, for the integers ``v`` of an integer field, ``lo <= v <= hi``
    (``< hi`` unless ``closed``) iff ``0 <= v - lo' <= w``: int64 and uint64 for the kernels;
    ``w`` None when no integer is in the span; None when the field is not an exact-int field or
    a bound is NaN (callers then use the float kernels)."""
    if not _exact_int(dtype):
        return None
    ends = []
    for v, up in ((lo, True), (hi, not closed)):
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            e = int(v)
        elif v != v:
            return None
        elif abs(v) == math.inf:
            e = int(math.copysign(2**63, v))
        else:
            e = math.ceil(v) if up else math.floor(v)
        ends.append(e)
    a, b = max(ends[0], -2**63), min(ends[1] - (not closed), 2**63 - 1)
    return (np.int64(a), None) if a > b else (np.int64(a), np.uint64(b - a))


def select(events, a: tuple, b: tuple = None, closed: bool = False,
           invert: bool = False) -> np.ndarray:
    """The events inside the interval check ``a`` (and ``b``), the others with ``invert``; in
    order. ``closed`` includes the upper bounds."""
    b = a if b is None else b
    spans = [int_span(c[0].dtype, c[1], c[2], closed) for c in (a, b)]
    if invert and None not in spans:
        if spans[0][1] is None or spans[1][1] is None:     # an empty box
            return copy(events)
        out = np.empty_like(events)
        n = F.drop_ibox(events, out, a[0], b[0], *spans[0], *spans[1])
    else:
        out = np.empty_like(events)
        n = K.select_intervals(events, out, invert, *a, *b, closed)
    del a, b
    return shrink(out, n)


def mapped(events, ops, reverse: bool = False) -> np.ndarray:
    """A copy of ``events`` (reversed with ``reverse``) with up to three field ops, fused into
    the copy: ``("affine", field, a, b)`` (:func:`affine`), ``("scale", field, a)``
    (:func:`scale`), ``("invert", field)`` (nonzero -> 0, 0 -> 1), ``("zero", field)``. One
    pass (:mod:`.event_ops_fused`) for one op, up to three affine or scale ops, and the
    reversal with an affine op and optionally an inversion (other combinations: the generic
    kernel, where a scale becomes an affine op adding 0)."""
    out = np.empty_like(events)
    if not len(events):
        return out
    if not ops:
        if reverse:
            K.reverse_records(events, out)
        else:
            out.view(np.uint8)[...] = events.view(np.uint8)
        return out
    if len(ops) > 3:
        raise ValueError("at most three field ops")
    kinds = [op[0] for op in ops]
    fd = [(events[op[1]], out[op[1]]) for op in ops]
    if reverse and kinds[0] == "affine" and kinds[1:] in ([], ["invert"]):
        ps, pd = fd[-1]
        F.reverse_affine(events, out, *fd[0], *ops[0][2:], len(ops) == 2, ps, pd)
    elif not reverse and len(ops) == 1 and kinds[0] == "affine":
        F.map_affine_only(events, out, *fd[0], *ops[0][2:])
    elif not reverse and len(ops) == 1 and kinds[0] == "scale":
        F.map_scale3(events, out, *fd[0], *ops[0][2:], *fd[0], *ops[0][2:], *fd[0],
                     *ops[0][2:])
    elif not reverse and len(ops) == 1 and kinds[0] == "invert":
        F.map_invert(events, out, *fd[0])
    elif not reverse and len(ops) == 1 and kinds[0] == "zero":
        F.map_zero(events, out, fd[0][1])
    elif not reverse and len(set(kinds)) == 1 and kinds[0] in ("affine", "scale"):
        args = [(*fd[k], *ops[k][2:]) for k in range(len(ops))]
        args += [args[0]] * (3 - len(args))      # 2 or 3: the first repeated to fill 3
        (F.map_affine3 if kinds[0] == "affine" else F.map_scale3)(events, out, *args[0],
                                                                  *args[1], *args[2])
    else:                                 # other combinations: the generic pass
        zero = np.int64(0)
        ops = [("affine", op[1], op[2], zero) if op[0] == "scale" else op for op in ops]
        tuples = [(*fd[k], _KINDS[op[0]], *(op[2:] if op[0] == "affine" else (zero, zero)))
                  for k, op in enumerate(ops)]
        tuples += [tuples[0][:2] + (3, zero, zero)] * (3 - len(tuples))
        K.map_records(events, out, reverse, *tuples)
    return out


_KINDS = {"affine": 0, "invert": 1, "zero": 2}


def select_time(events, lo, hi, invert: bool = False) -> np.ndarray:
    """The events with ``lo <= t <= hi`` (the others with ``invert``), in order: one pass,
    any order of timestamps."""
    return select_time_max(events, lo, hi, invert)[0]


def select_time_max(events, lo, hi, invert: bool = False):
    """:func:`select_time` and the max of ``t`` (read in the same pass; None: no events)."""
    t = events["t"]
    if not len(events):
        return copy(events), None
    out = np.empty_like(events)
    span = int_span(t.dtype, lo, hi)
    if span is not None and span[1] is not None:  # integer t: one unsigned compare
        n, top = F.select_range(events, out, t, span[0], span[1], invert)
    else:
        n, top = F.select_range(events, out, t, bound(t.dtype, lo), bound(t.dtype, hi), invert)
    return shrink(out, n), top


def delete_mask(events, drop: np.ndarray) -> np.ndarray:
    """``np.delete(events, drop_mask)``: the events where ``drop`` is False, in order."""
    out = np.empty_like(events)
    return shrink(out, F.select_mask(events, out, drop))


def drop_table(events, table: np.ndarray, x0=0, y0=0) -> np.ndarray:
    """The events whose pixel ``(x - x0, y - y0)`` is not set in ``table [W, H]``."""
    out = np.empty_like(events)
    x, y = events["x"], events["y"]
    if _exact_int(x.dtype) and _exact_int(y.dtype):
        guarded = np.zeros((table.shape[0] + 1, table.shape[1] + 1), np.bool_)
        guarded[:-1, :-1] = table
        n = F.select_itable(events, out, x, y, guarded, np.int64(x0), np.int64(y0))
    else:
        n = K.select_table(events, out, x, y, table, np.int64(x0), np.int64(y0))
    return shrink(out, n)


def pixel_fields(events, name: str):
    """x and y views for pixel-memory kernels (audio events: y is a zero-stride 0) and the
    memory size ``(W, H) = (max + 1)`` Tonic infers; negative coordinates refused."""
    x = events["x"]
    y = events["y"] if "y" in events.dtype.names else np.broadcast_to(np.int64(0), x.shape)
    x0, x1, y0, y1 = K.coord_range(x, y)
    if x0 < 0 or y0 < 0:
        raise ValueError(f"{name}: negative pixel coordinates (min x {x0}, min y {y0}); "
                         f"Tonic would index its pixel memory from the far end")
    return x, y, int(x1) + 1, int(y1) + 1


def as_range(v):
    """Tonic samples a parameter from a range given as a tuple; a list means the same here."""
    return tuple(v) if isinstance(v, list) else v


def sample(v, to_int: bool = False):
    """Tonic's ``get_params`` draw: ``(hi - lo) * np.random.random_sample() + lo`` for a range
    tuple (one draw of numpy's global generator), else ``v`` itself."""
    v = as_range(v)
    if isinstance(v, tuple):
        v = (v[1] - v[0]) * np.random.random_sample() + v[0]
        return int(v) if to_int else v
    return v
