"""Prophesee DAT files (``.dat``: N-CARS, the Gen1 automotive set, Metavision's DAT export).

Layout (docs.prophesee.ai "DAT File Format", OpenEB ``Event2d`` / ``EventExtTrigger``; checked on
the real N-CARS file in ``shared/data/real/prophesee``)
------------------------------------------------------------------------------------------
* A ``%`` header (see :mod:`._prophesee_header`): ``% Data file containing ...``, ``% Version 2``,
  optionally ``% Width`` / ``% Height``; then two bytes: the event type (0x00 Event2d, 0x0C CD,
  0x0E external trigger) and the event size (8).
* Then 8-byte little-endian records ``u32 t`` (us), ``u32 w``::

      Version 2:  x = w & 0x3FFF   y = (w >> 14) & 0x3FFF   p = (w >> 28) & 0xF
      Version 1:  x = w & 0x1FF    y = (w >> 9) & 0xFF      p = (w >> 17) & 1
      trigger:    value = w & 0xF  id = (w >> 26) & 0x3F

Conventions
-----------
* **32-bit time.** ``t`` wraps every 2**32 us (71.6 min): a record more than 2**31 us below the
  previous one starts a new period (as faery's reader does; OpenEB and expelliarmus do not).
* **Validation** (``validate=True``): a polarity above 1, or time going backwards by less than a
  wrap, raises :class:`FormatError` at that record (``validate=False`` keeps the records as they
  are, ``p & 1``).
* **Sensor size** from ``% Width`` / ``% Height`` (or ``% geometry``); with ``validate`` a
  record outside it raises :class:`FormatError` (``validate=False`` keeps it).
* A trigger file (type 0x0E) has no CD events: its records come back as triggers
  (``with_triggers=True``).
* **Truncation:** a partial last record raises (``on_truncated="error"``, default) or is left out
  with a :class:`TruncatedFileWarning` (``"warn"``).
"""
from __future__ import annotations

import os

import numpy as np

from .._jit import njit
from ..errors import FormatError
from ..events import as_events
from ._common import FileBuffer
from ._prophesee_direct import Direct
from ._prophesee_header import header_bytes
from ._prophesee_raw import (
    Codec,
    Plan,
    check_writable,
    decode_all,
    iterate,
    off_sensor,
    open_body,
    probe_body,
)

__all__ = ["read_prophesee_dat", "decode_prophesee_dat_bytes", "iter_prophesee_dat",
           "probe_prophesee_dat", "write_prophesee_dat", "write_prophesee_dat_triggers"]

RECORD = 8
TYPE_2D, TYPE_CD, TYPE_TRIGGER = 0x00, 0x0C, 0x0E
_HALF = 1 << 31


@njit(cache=True, nogil=True)
def _count(w, lo, hi, v1, trig, width, height):
    """Chunk summary: [first t, last t, wraps, first backwards record, first record off the
    sensor, first bad p, records] (times raw u32, -1 when the chunk is empty)."""
    wraps = 0
    outside = -1
    back = badp = -1
    first = -1
    prev = np.int64(-1) if lo >= hi else np.int64(w[2 * lo])
    if lo < hi:
        first = prev
    xs, ys, xm, ym, ps, pm = (0, 9, 0x1FF, 0xFF, 17, 1) if v1 else (0, 14, 0x3FFF, 0x3FFF, 28,
                                                                     0xF)
    for i in range(lo, hi):
        t = np.int64(w[2 * i])
        if t < prev:
            if prev - t > _HALF:
                wraps += 1
            elif back < 0:
                back = i
        prev = t
        if trig:
            continue
        d = np.int64(w[2 * i + 1])
        out = ((d & xm) >= width) | (((d >> ys) & ym) >= height)
        if out and outside < 0:
            outside = i
        if ((d >> ps) & pm) > 1 and badp < 0 and not out:
            badp = i
    s = np.empty(7, np.int64)
    s[0], s[1], s[2], s[3], s[4], s[5], s[6] = first, prev, wraps, back, outside, badp, hi - lo
    return s


@njit(cache=True, nogil=True)
def _decode(w, lo, hi, v1, trig, width, height, prev, wraps, t0, o, t, x, y, p,
            o_tr, tt, tid, tval, want_tr, info):
    """Decode records [lo, hi): events (or triggers) from output index ``o`` / ``o_tr``.
    info: [events, triggers, -1, lo, first bad polarity, first backwards record, wraps, first
    record off the sensor]."""
    ww = w[2 * lo:2 * hi]
    t, x, y, p = t[o:], x[o:], y[o:], p[o:]
    if want_tr:
        tt, tid, tval = tt[o_tr:], tid[o_tr:], tval[o_tr:]
    k = np.uint64(0)
    kt = np.uint64(0)
    one = np.uint64(1)
    back = -1
    badp = -1
    out = -1
    nwraps = 0
    for j in range(hi - lo):
        ts = np.int64(ww[2 * j])
        d = np.int64(ww[2 * j + 1])
        if prev >= 0 and ts < prev:
            if prev - ts > _HALF:
                wraps += 1
                nwraps += 1
            elif back < 0:
                back = lo + j
        prev = ts
        tv = t0 + (wraps << 32) + ts
        if trig:
            if want_tr:
                tt[kt] = tv
                tid[kt] = (d >> 26) & 0x3F
                tval[kt] = d & 0xF
            kt += one
            continue
        if v1:
            xx, yy, pp = d & 0x1FF, (d >> 9) & 0xFF, (d >> 17) & 1
        else:
            xx, yy, pp = d & 0x3FFF, (d >> 14) & 0x3FFF, (d >> 28) & 0xF
        if xx >= width or yy >= height:
            if out < 0:
                out = lo + j
            continue
        if pp > 1 and badp < 0:
            badp = lo + j
        t[k] = tv
        x[k] = xx
        y[k] = yy
        p[k] = pp & 1
        k += one
    info[0] = k
    info[1] = kt
    info[2] = -1
    info[3] = lo
    info[4] = badp
    info[5] = back
    info[6] = nwraps
    info[7] = out
    return 0


@njit(cache=True, nogil=True)
def _decode_fast(w, lo, hi, width, height, t0, o, t, x, y, p):
    """The common case of a version 2 CD file, branch-free (vectorised): every record
    decoded; returns the records that need :func:`_decode` instead (time going down, a
    polarity above 1, off the sensor), 0 when this result is exact."""
    n = hi - lo
    ww = w[2 * lo:2 * hi]
    tt, xx, yy, pp = t[o:o + n], x[o:o + n], y[o:o + n], p[o:o + n]
    special = 0
    for j in range(n):
        d = np.int64(ww[2 * j + 1])
        a = d & 0x3FFF
        b = (d >> 14) & 0x3FFF
        c = (d >> 28) & 0xF
        tt[j] = t0 + np.int64(ww[2 * j])
        xx[j] = a
        yy[j] = b
        pp[j] = c
        special += (c > 1) | (a >= width) | (b >= height)
    for j in range(1, n):
        special += ww[2 * j] < ww[2 * j - 2]
    if lo > 0:
        special += w[2 * lo] < w[2 * lo - 2]
    return special


def _context(body, validate):
    buf = body.buf
    if body.start > buf.shape[0]:
        raise FormatError(body.name, body.header.end, "file ends after its header, before the "
                                                      "DAT event type and size bytes")
    etype, esize = int(buf[body.start - 2]), int(buf[body.start - 1])
    if etype not in (TYPE_2D, TYPE_CD, TYPE_TRIGGER):
        raise FormatError(body.name, body.start - 2, f"DAT event type 0x{etype:02x} is not "
                                                     "Event2d (0x00), CD (0x0C) or trigger (0x0E)")
    if esize != RECORD:
        raise FormatError(body.name, body.start - 1, f"DAT event size {esize}, expected 8")
    h = body.header
    big = 1 << 30
    return {"w": np.frombuffer(buf, np.uint32, count=2 * body.units, offset=body.start),
            "v1": h.dat_version == 1, "trig": etype == TYPE_TRIGGER,
            "width": (h.width or big) if validate else big,
            "height": (h.height or big) if validate else big, "t0": h.t0}


def _count_hook(body, ctx, lo, hi, carry=None):
    return _count(ctx["w"], lo, hi, ctx["v1"], ctx["trig"], ctx["width"], ctx["height"])


def _fold(body, ctx, s, carry, lo, validate):
    """Wraps before the chunk, its time range and sizes; the first invalid record raises."""
    prev, wraps = carry
    if s[6] <= 0:
        return Plan(0, 0, None, None, carry), carry
    bad = [int(v) for v in (s[3], s[4], s[5]) if v >= 0]
    wraps_in = 0
    if prev >= 0 and s[0] < prev:
        if prev - s[0] > _HALF:
            wraps_in = 1
        else:
            bad.append(lo)
    if validate and bad:
        i = min(bad)
        raise _error(body, ctx, 0 if i == s[5] else (2 if i == s[4] else 1), i)
    t0 = ctx["t0"]
    end_wraps = wraps + wraps_in + int(s[2])
    n = int(s[6])
    plan = Plan(0 if ctx["trig"] else n, n if ctx["trig"] else 0,
                t0 + ((wraps + wraps_in) << 32) + int(s[0]), t0 + (end_wraps << 32) + int(s[1]),
                (prev, wraps))
    return plan, (int(s[1]), end_wraps)


_NO_TR = (np.empty(0, np.int64), np.empty(0, np.int16), np.empty(0, np.int8))


def _decode_hook(body, ctx, lo, hi, plan, out, validate):
    (t, x, y, p), tr = out
    prev, wraps = plan.state
    info = np.zeros(8, np.int64)
    _decode(ctx["w"], lo, hi, ctx["v1"], ctx["trig"], ctx["width"], ctx["height"], prev, wraps,
            ctx["t0"], plan.ev_off, t, x, y, p, plan.tr_off,
            *(tr if tr is not None else _NO_TR), tr is not None, info)
    return int(info[0]), int(info[1]), -1, lo     # backwards times were refused by the fold


def _direct_decode(body, ctx, lo, hi, ev_off, tr_off, out):
    (t, x, y, p), tr = out
    w = ctx["w"]
    info = np.zeros(8, np.int64)
    if not (ctx["v1"] or ctx["trig"]) and _decode_fast(w, lo, hi, ctx["width"], ctx["height"],
                                                        ctx["t0"], ev_off, t, x, y, p) == 0:
        info[0], info[2], info[3], info[4], info[5], info[7] = hi - lo, -1, lo, -1, -1, -1
        return info
    _decode(w, lo, hi, ctx["v1"], ctx["trig"], ctx["width"], ctx["height"],
            int(w[2 * lo - 2]) if lo > 0 else -1, 0, ctx["t0"], ev_off, t, x, y, p, tr_off,
            *(tr if tr is not None else _NO_TR), tr is not None, info)
    return info


def _error(body, ctx, code, i):
    if code == 2:
        d = int(ctx["w"][2 * i + 1])
        xy = (d & 0x1FF, (d >> 9) & 0xFF) if ctx["v1"] else (d & 0x3FFF, (d >> 14) & 0x3FFF)
        return off_sensor(body, body.start + RECORD * i, f"x={xy[0]}, y={xy[1]}")
    what = "polarity above 1" if code == 0 else "time goes backwards (by less than a wrap)"
    return FormatError(body.name, body.start + RECORD * i,
                       f"DAT record {i}: {what}; not a time-ordered recording, or a corrupt "
                       "one (pass validate=False to decode it anyway)")


def _bound(body, ctx, lo, hi):
    return (0, hi - lo) if ctx["trig"] else (hi - lo, 0)


CODEC = Codec("dat", RECORD, _count_hook, _fold, _decode_hook, lambda body, ctx: (-1, 0),
              _context, 1, Direct(_bound, lambda body, ctx, wt: _bound(body, ctx, 0, body.units),
                                  _direct_decode, 32, _error))


def _body(data, name, on_truncated):
    return open_body(data, name, "dat", RECORD, on_truncated, extra=2)


def decode_prophesee_dat_bytes(data, name="<buffer>", *, t_start=None, t_end=None,
                               with_triggers: bool = False, on_truncated: str = "error",
                               validate: bool = True):
    """Decode a Prophesee DAT file held in memory.

    Parameters
    ----------
    data : bytes, bytearray, memoryview or np.ndarray
        The whole file, header included.
    name : str
        Shown in errors and warnings.
    t_start, t_end : int, optional
        Keep events with ``t_start <= t < t_end`` (microseconds).
    with_triggers : bool
        Also return the external triggers (a trigger file's records) as a structured array
        (:data:`TRIGGER_DTYPE`: ``t``, ``id``, ``value``).
    on_truncated : {"error", "warn"}
        A partial last record raises, or is left out with a warning.
    validate : bool
        Refuse polarities above 1 and time going backwards (see the module docstring).

    Returns
    -------
    Events, or (Events, triggers) with ``with_triggers``
        ``t`` int64 us, ``x``/``y`` int16 pixels, ``p`` int8 0/1; shape ``(N,)``, file order.
    """
    body = _body(data, name, on_truncated)
    return decode_all(CODEC, body, t_start, t_end, with_triggers, validate)


def read_prophesee_dat(path, *, t_start=None, t_end=None, with_triggers: bool = False,
                       on_truncated: str = "error", validate: bool = True):
    """Read a Prophesee ``.dat`` file (memory-mapped when large). See
    :func:`decode_prophesee_dat_bytes`."""
    with FileBuffer(path) as buf:
        return decode_prophesee_dat_bytes(buf, name=path, t_start=t_start, t_end=t_end,
                                          with_triggers=with_triggers,
                                          on_truncated=on_truncated, validate=validate)


def iter_prophesee_dat(path, chunk_events: int = 1_000_000, *, t_start=None, t_end=None,
                       with_triggers: bool = False, on_truncated: str = "error",
                       validate: bool = True):
    """Yield the events of a DAT file in Events chunks of at most ``chunk_events`` (memory
    bounded by the chunk, whatever the file size); ``(Events, triggers)`` pairs with
    ``with_triggers``. Concatenated, the chunks equal :func:`read_prophesee_dat`."""
    with FileBuffer(path) as buf:
        body = _body(buf, path, on_truncated)
        yield from iterate(CODEC, body, chunk_events, t_start, t_end, with_triggers, validate)


def probe_prophesee_dat(path, *, validate: bool = True) -> dict:
    """Format, sensor size (None when the header has none), exact event count, first / last
    event time (us) and the header fields."""
    with FileBuffer(path) as buf:
        body = _body(buf, path, "warn")
        info = probe_body(CODEC, body, validate)
        info["records"] = body.units
        info["dat_version"] = body.header.dat_version
        return info


def _header(lines, version, etype):
    return header_bytes(lines)[:-len(b"% end\n")] + bytes([etype, RECORD])


def write_prophesee_dat(path, events, *, sensor_size=None, version: int = 2,
                        event_type: str = "cd", header_lines=()) -> None:
    """Write events as a Prophesee DAT file (header, type/size bytes, 8-byte records).

    ``sensor_size=(W, H)`` (pixels) is written as ``% Width`` / ``% Height``; events must lie
    inside it. ``version`` 2 (14-bit x/y) or 1 (x < 512, y < 256); ``event_type`` ``"cd"``
    (0x0C) or ``"2d"`` (0x00). ``t`` must be >= 0 us and non-decreasing, with gaps below 2**31
    us (stored modulo 2**32, unwrapped by the reader). Raises ValueError for events the format
    cannot hold.
    """
    ev = as_events(events)
    t, x, y, p = (np.asarray(ev[k]) for k in "txyp")
    lim = (1 << 14, 1 << 14) if version == 2 else (1 << 9, 1 << 8)
    if version not in (1, 2):
        raise ValueError("version must be 1 or 2")
    etype = {"cd": TYPE_CD, "2d": TYPE_2D}.get(event_type)
    if etype is None:
        raise ValueError("event_type must be 'cd' or '2d'")
    check_writable(t, x, y, p, sensor_size, lim, 1 << 31)
    lines = ["Data file containing " + ("CD" if etype == TYPE_CD else "Event2D") + " events",
             f"Version {version}"]
    if sensor_size is not None:
        lines += [f"Width {int(sensor_size[0])}", f"Height {int(sensor_size[1])}"]
    lines += list(header_lines)
    rec = np.empty((t.shape[0], 2), "<u4")
    rec[:, 0] = (t & 0xFFFFFFFF).astype(np.uint32)
    if version == 2:
        rec[:, 1] = (x.astype(np.uint32) | (y.astype(np.uint32) << 14)
                     | (p.astype(np.uint32) << 28))
    else:
        rec[:, 1] = x.astype(np.uint32) | (y.astype(np.uint32) << 9) | (p.astype(np.uint32) << 17)
    with open(os.fspath(path), "wb") as fh:
        fh.write(_header(lines, version, etype))
        rec.tofile(fh)


def write_prophesee_dat_triggers(path, triggers) -> None:
    """Write external triggers (fields ``t``, ``id`` (0..63), ``value`` (0..15)) as a DAT
    trigger file (type 0x0E), the form Metavision exports next to a CD file."""
    tr = np.asarray(triggers)
    t = tr["t"].astype(np.int64)
    if t.shape[0] and (int(t.min()) < 0 or np.any(np.diff(t) < 0)):
        raise ValueError("trigger times must be >= 0 and non-decreasing")
    rec = np.empty((t.shape[0], 2), "<u4")
    rec[:, 0] = (t & 0xFFFFFFFF).astype(np.uint32)
    rec[:, 1] = ((tr["value"].astype(np.uint32) & 0xF)
                 | ((tr["id"].astype(np.uint32) & 0x3F) << 26))
    with open(os.fspath(path), "wb") as fh:
        fh.write(_header(["Data file containing Trigger events", "Version 2"], 2, TYPE_TRIGGER))
        rec.tofile(fh)

