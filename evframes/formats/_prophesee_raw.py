"""The decode driver shared by the Prophesee readers (DAT, EVT 2.0, EVT 2.1, EVT 3.0).

Each format is a *codec*: a file body of fixed-size units (DAT records, EVT words) and three
hooks. The driver runs them over chunks of units:

1. ``count(lo, hi)``: one Numba pass over a chunk (chunks in parallel, the kernels release the
   GIL) returning a summary: events and triggers it holds, its time words, the first bad word.
2. ``fold(summary, carry)``: plain Python, in file order: the state at each chunk's start (time
   high bits, wrap/loop counts), the chunk's output offsets and time range, and the first error
   (:class:`FormatError`, byte offset of the word). Nothing is allocated before this succeeds.
3. ``decode(lo, hi, plan, out)``: the second pass, writing events (and triggers) straight into
   their final arrays, chunks in parallel again.

A time window (``t_start <= t < t_end``, microseconds) skips the chunks outside it (their time
ranges come from the fold) and slices the rest, so a window of a large file costs only its own
events. :func:`iterate` runs the same hooks serially over blocks, carrying the state, so a file of
any size is read in bounded memory.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Optional, Tuple

import numpy as np

from ..errors import FormatError
from ..events import Events, empty_events, make_events
from . import _common
from ._common import (
    _num_threads,
    as_uint8,
    check_on_truncated,
    display_name,
    run_chunked,
    warn_truncated,
)
from ._prophesee_direct import TRIGGER_DTYPE, decode_direct
from ._prophesee_header import PropheseeHeader, parse_header
from ._sniff import SNIFF_BYTES, SUPPORTED, foreign_format

__all__ = ["TRIGGER_DTYPE", "Plan", "Codec", "Body", "open_body", "decode_all", "iterate",
           "probe_body", "KIND_LABELS", "empty_triggers", "check_window", "check_writable",
           "off_sensor"]

KIND_LABELS = {"evt2": "Prophesee EVT 2.0 RAW", "evt21": "Prophesee EVT 2.1 RAW",
               "evt3": "Prophesee EVT 3.0 RAW", "dat": "Prophesee DAT"}
#: with a time window, chunks are at most this many units, so whole chunks can be skipped
WINDOW_CHUNK_UNITS = 1 << 22


def empty_triggers() -> np.ndarray:
    return np.zeros(0, TRIGGER_DTYPE)


@dataclass
class Plan:
    """One chunk after the fold: its output size, time range (us, inclusive) and start state."""

    n_ev: int
    n_tr: int
    t_lo: Optional[int]
    t_hi: Optional[int]
    state: Any
    ev_off: int = 0
    tr_off: int = 0


@dataclass
class Body:
    """A file ready to decode: its buffer, header and units."""

    name: str
    buf: np.ndarray
    header: PropheseeHeader
    start: int             # byte offset of unit 0
    units: int
    unit_bytes: int
    kind: str
    trunc: Optional[Tuple[int, str]] = None   # (byte offset, reason) of a partial last unit

    def warn_truncated(self, kept: int) -> None:
        if self.trunc is not None:
            warn_truncated(self.name, self.trunc[0], self.trunc[1], kept)


@dataclass
class Codec:
    kind: str
    unit_bytes: int
    count: Callable        # (body, ctx, lo, hi, carry=None) -> summary
    fold: Callable         # (body, ctx, summary, carry, lo, validate) -> (Plan, carry)
    decode: Callable       # (body, ctx, lo, hi, plan, out, validate) -> (n_ev, n_tr, back, first)
    carry0: Callable       # (body, ctx) -> initial carry
    context: Callable      # (body, validate) -> per-call context (views, constants)
    max_per_unit: int      # most events one unit can hold (iteration block sizing)
    direct: Any = None     # _prophesee_direct.Direct: the one-pass whole-file decode


def check_window(t_start, t_end) -> Tuple[Optional[int], Optional[int]]:
    a = None if t_start is None else int(t_start)
    b = None if t_end is None else int(t_end)
    if a is not None and b is not None and b < a:
        raise ValueError(f"t_end ({b} us) is before t_start ({a} us)")
    return a, b


def open_body(data, name, kind: str, unit_bytes: int, on_truncated: str,
              extra: int = 0) -> Body:
    """Parse the header of ``data`` for ``kind``; ``extra`` bytes after it precede the units
    (DAT's type/size bytes). Refuses other formats and warns/raises on a partial last unit."""
    check_on_truncated(on_truncated)
    name = display_name(name)
    buf = as_uint8(data)
    label = KIND_LABELS[kind]
    if buf.shape[0] == 0:
        raise FormatError(name, 0, f"empty file, expected a {label} file with a '%' header")
    head = bytes(buf[:SNIFF_BYTES])
    if not head.startswith(b"%"):
        what = foreign_format(head)
        msg = f"not a {label} file: no '%' header line"
        first = head.split(b"\n", 1)[0].rstrip(b"\r")[:40]
        if what is not None:
            msg += f"; this is {what} ({SUPPORTED})"
        elif first.startswith(b"#!AER-DAT"):
            msg += f"; this is an AEDAT file ({first.decode('latin-1')!r}: read_events reads it)"
        raise FormatError(name, 0, msg)
    header = parse_header(buf, name, expect=kind)
    if header.kind and header.kind != kind:
        key = "format" if "format" in header.fields else "evt"
        off = header.offsets.get(key, header.offsets.get("Version", 0))
        raise FormatError(name, off, f"the header says this is a {KIND_LABELS[header.kind]} "
                                     f"file, not {label} (read_events picks the reader)")
    start = header.end + extra
    size = int(buf.shape[0])
    body = max(0, size - start)
    units = body // unit_bytes
    trunc = None
    if units * unit_bytes != body:
        cut = start + units * unit_bytes
        msg = (f"file ends inside a {unit_bytes}-byte {'record' if kind == 'dat' else 'word'} "
               f"({body - units * unit_bytes} bytes of it remain)")
        if on_truncated == "error":
            raise FormatError(name, cut, msg + " (pass on_truncated='warn' to keep the events "
                                               "before it)")
        trunc = (cut, msg)
    return Body(name, buf, header, start, units, unit_bytes, kind, trunc)


def _bounds(units: int, windowed: bool) -> List[int]:
    k = _num_threads()
    n = 1 if (units < _common.parallel_threshold or k == 1) else 2 * k
    if windowed:
        n = max(n, -(-units // WINDOW_CHUNK_UNITS))
    n = max(1, min(n, units))
    return [units * c // n for c in range(n + 1)]


def _run(fn: Callable, bounds: List[int]) -> list:
    if len(bounds) <= 2 or _num_threads() == 1:
        return [fn(bounds[c], bounds[c + 1]) for c in range(len(bounds) - 1)]
    return run_chunked(lambda lo, hi: fn(lo, hi), bounds[-1], (), bounds=bounds)


def _fold_all(codec: Codec, body: Body, ctx, sums, bounds, validate) -> List[Plan]:
    carry = codec.carry0(body, ctx)
    plans = []
    for c, s in enumerate(sums):
        plan, carry = codec.fold(body, ctx, s, carry, bounds[c], validate)
        plans.append(plan)
    return plans


def _alloc(n_ev: int, n_tr: int, want_tr: bool):
    """Event columns and (with triggers) contiguous trigger columns t, id, value (one kernel
    specialisation: never the strided fields of the structured array)."""
    ev = (np.empty(n_ev, np.int64), np.empty(n_ev, np.int16), np.empty(n_ev, np.int16),
          np.empty(n_ev, np.int8))
    tr = (np.empty(n_tr, np.int64), np.empty(n_tr, np.int16), np.empty(n_tr, np.int8)) \
        if want_tr else None
    return ev, tr


def triggers_array(cols) -> np.ndarray:
    """The structured TRIGGER_DTYPE array of trigger columns (t, id, value), or an empty one."""
    if cols is None:
        return empty_triggers()
    tr = np.empty(cols[0].shape[0], TRIGGER_DTYPE)
    tr["t"], tr["id"], tr["value"] = cols
    return tr


def off_sensor(body: Body, offset: int, where: str) -> FormatError:
    """The error for an event whose pixel lies off the header's sensor (with validation)."""
    h = body.header
    return FormatError(body.name, offset, f"event at {where} is off the {h.width}x{h.height} "
                                          f"sensor given by the header ({h.size_source}); "
                                          "pass validate=False to keep such events")


def _backwards(body: Body, word: int) -> FormatError:
    return FormatError(body.name, body.start + word * body.unit_bytes,
                       "event time goes backwards at this word (not a time-ordered recording, "
                       "or a corrupt one; pass validate=False to decode it anyway)")


def _decode_plans(codec, body, ctx, plans, bounds, keep, want_tr, validate):
    """Decode chunks ``keep`` (contiguous indices) into fresh arrays; returns (ev, tr)."""
    n_ev = n_tr = 0
    for c in keep:
        plans[c].ev_off, plans[c].tr_off = n_ev, n_tr
        n_ev += plans[c].n_ev
        n_tr += plans[c].n_tr
    ev, trc = _alloc(n_ev, n_tr, want_tr)
    out = (ev, trc)
    by_lo = {bounds[c]: c for c in keep}
    sub = [bounds[c] for c in keep] + [bounds[keep[-1] + 1]] if keep else [0, 0]

    def one(lo, hi):
        return codec.decode(body, ctx, lo, hi, plans[by_lo[lo]], out, validate)

    infos = _run(one, sub) if keep else []
    if validate:
        first_bad, prev_t = -1, None
        for c, (ne, nt, back, first) in zip(keep, infos):
            if ne != plans[c].n_ev or nt != plans[c].n_tr:   # pragma: no cover - a bug guard
                raise RuntimeError(f"{body.name}: chunk decode disagrees with its count")
            if ne == 0:
                continue
            o = plans[c].ev_off
            if prev_t is not None and ev[0][o] < prev_t and first_bad < 0:
                first_bad = first
            if back >= 0 and first_bad < 0:
                first_bad = back
            prev_t = ev[0][o + ne - 1]
        if first_bad >= 0:
            raise _backwards(body, first_bad)
    return ev, triggers_array(trc)


def _window_slice(ev, tr, t_start, t_end, validate):
    t = ev[0]
    if t_start is None and t_end is None:
        return ev, tr
    if validate:   # sorted: slice
        a = 0 if t_start is None else int(np.searchsorted(t, t_start, "left"))
        b = t.shape[0] if t_end is None else int(np.searchsorted(t, t_end, "left"))
        if a > 0 or b < t.shape[0]:
            ev = tuple(arr[a:b].copy() for arr in ev)
    else:
        m = np.ones(t.shape[0], bool)
        if t_start is not None:
            m &= t >= t_start
        if t_end is not None:
            m &= t < t_end
        if not m.all():
            ev = tuple(arr[m] for arr in ev)
    if tr.shape[0]:
        m = np.ones(tr.shape[0], bool)
        if t_start is not None:
            m &= tr["t"] >= t_start
        if t_end is not None:
            m &= tr["t"] < t_end
        tr = tr[m]
    return ev, tr


def _overlaps(plan: Plan, t_start, t_end) -> bool:
    if plan.n_ev == 0 and plan.n_tr == 0:
        return False
    if t_start is not None and plan.t_hi is not None and plan.t_hi < t_start:
        return False
    if t_end is not None and plan.t_lo is not None and plan.t_lo >= t_end:
        return False
    return True


def _events(ev) -> Events:
    if ev[0].shape[0] == 0:
        return empty_events()
    return make_events(*ev)


def decode_all(codec: Codec, body: Body, t_start=None, t_end=None, with_triggers=False,
               validate=True):
    """The whole body (or its window) as Events, and the triggers when ``with_triggers``."""
    t_start, t_end = check_window(t_start, t_end)
    windowed = t_start is not None or t_end is not None
    if codec.direct is not None and not windowed and body.units:
        ev, tr = decode_direct(codec, body, with_triggers, validate, _backwards)
        events = _events(ev)
        body.warn_truncated(len(events))
        return (events, tr) if with_triggers else events
    ctx = codec.context(body, validate)
    bounds = _bounds(body.units, windowed) if body.units else [0, 0]
    sums = _run(lambda lo, hi: codec.count(body, ctx, lo, hi), bounds) if body.units else []
    plans = _fold_all(codec, body, ctx, sums, bounds, validate)
    prune = validate and windowed
    keep = [c for c, p in enumerate(plans)
            if (_overlaps(p, t_start, t_end) if prune else (p.n_ev or p.n_tr))]
    keep = list(range(keep[0], keep[-1] + 1)) if keep else []
    ev, tr = _decode_plans(codec, body, ctx, plans, bounds, keep, with_triggers, validate)
    ev, tr = _window_slice(ev, tr, t_start, t_end, validate)
    events = _events(ev)
    body.warn_truncated(len(events))
    return (events, tr) if with_triggers else events


def iterate(codec: Codec, body: Body, chunk_events: int, t_start=None, t_end=None,
            with_triggers=False, validate=True) -> Iterator:
    """Events in chunks of exactly ``chunk_events`` (the last one shorter), decoded block by
    block with the state carried; with triggers, each chunk comes with the triggers decoded
    since the previous one. Memory: one block's output plus one chunk."""
    chunk_events = int(chunk_events)
    if chunk_events < 1:
        raise ValueError(f"chunk_events must be >= 1, got {chunk_events}")
    t_start, t_end = check_window(t_start, t_end)
    ctx = codec.context(body, validate)
    block = max(1024, chunk_events * 4 // codec.max_per_unit)
    carry = codec.carry0(body, ctx)
    prev_t = None
    pend, pend_n, pend_tr = [], 0, []
    kept = 0
    ended = True
    for lo in range(0, body.units, block):
        hi = min(body.units, lo + block)
        plan, carry = codec.fold(body, ctx, codec.count(body, ctx, lo, hi, carry), carry, lo,
                                 validate)
        if validate and t_end is not None and plan.t_lo is not None and plan.t_lo >= t_end:
            ended = False
            break
        if not (_overlaps(plan, t_start, t_end) if validate else (plan.n_ev or plan.n_tr)):
            continue
        ev, trc = _alloc(plan.n_ev, plan.n_tr, with_triggers)
        ne, nt, back, first = codec.decode(body, ctx, lo, hi, plan, (ev, trc), validate)
        tr = triggers_array(trc)
        if validate and ne:
            if back >= 0 or (prev_t is not None and ev[0][0] < prev_t):
                raise _backwards(body, back if back >= 0 else first)
            prev_t = ev[0][ne - 1]
        ev, tr = _window_slice(ev, tr, t_start, t_end, validate)
        kept += ev[0].shape[0]
        pend.append(ev)
        pend_n += ev[0].shape[0]
        if tr.shape[0]:
            pend_tr.append(tr)
        while pend_n >= chunk_events:
            cols = tuple(np.concatenate([e[k] for e in pend]) for k in range(4))
            piece = tuple(c[:chunk_events] for c in cols)
            pend = [tuple(c[chunk_events:] for c in cols)]
            pend_n -= chunk_events
            yield _piece(piece, pend_tr, with_triggers)
            pend_tr = []
    if pend_n or pend_tr:
        cols = tuple(np.concatenate([e[k] for e in pend]) for k in range(4))
        yield _piece(cols, pend_tr, with_triggers)
    if ended:
        body.warn_truncated(kept)


def _piece(cols, trs, with_triggers):
    ev = _events(cols)
    if not with_triggers:
        return ev
    return ev, (np.concatenate(trs) if trs else empty_triggers())


def probe_body(codec: Codec, body: Body, validate=True) -> dict:
    """Format, sensor size, exact event / trigger counts and first / last event times."""
    ctx = codec.context(body, validate)
    bounds = _bounds(body.units, False) if body.units else [0, 0]
    sums = _run(lambda lo, hi: codec.count(body, ctx, lo, hi), bounds) if body.units else []
    plans = _fold_all(codec, body, ctx, sums, bounds, validate)
    n_ev = sum(p.n_ev for p in plans)
    nonempty = [c for c, p in enumerate(plans) if p.n_ev]
    t_first = t_last = None
    if nonempty:
        for c in sorted({nonempty[0], nonempty[-1]}):
            ev, _ = _decode_plans(codec, body, ctx, plans, bounds, [c], False, validate)
            if c == nonempty[0]:
                t_first = int(ev[0][0])
            if c == nonempty[-1]:
                t_last = int(ev[0][-1])
    h = body.header
    return {"format": body.kind, "label": KIND_LABELS[body.kind], "width": h.width,
            "height": h.height, "size_source": h.size_source or None, "events": n_ev,
            "events_exact": True, "triggers": sum(p.n_tr for p in plans),
            "t_first": t_first, "t_last": t_last,
            "duration_us": None if t_first is None else t_last - t_first,
            "header": dict(h.fields), "data_offset": body.start, "bytes": int(body.buf.shape[0])}


def check_writable(t, x, y, p, sensor_size, lim, max_gap) -> None:
    """ValueError unless the events fit the format (shared by the Prophesee writers)."""
    if sensor_size is not None:
        w, h = int(sensor_size[0]), int(sensor_size[1])
        if not (0 < w <= lim[0] and 0 < h <= lim[1]):
            raise ValueError(f"sensor_size {w}x{h} is outside 1..{lim[0]} x 1..{lim[1]}")
        lim = (w, h)
    if t.shape[0] == 0:
        return
    if int(x.min()) < 0 or int(x.max()) >= lim[0] or int(y.min()) < 0 or int(y.max()) >= lim[1]:
        raise ValueError(f"events outside the sensor: x must be in 0..{lim[0] - 1}, y in "
                         f"0..{lim[1] - 1}")
    if int(p.min()) < 0 or int(p.max()) > 1:
        raise ValueError("polarity must be 0 or 1")
    if int(t.min()) < 0:
        raise ValueError("timestamps must be >= 0")
    d = np.diff(t)
    if d.shape[0] and int(d.min()) < 0:
        raise ValueError("timestamps must be non-decreasing (the format encodes time "
                         "incrementally)")
    if max_gap is not None and d.shape[0] and int(d.max()) >= max_gap:
        raise ValueError(f"a gap of {int(d.max())} us between events is too long for the format "
                         f"(at most {max_gap - 1} us)")
