"""Prophesee RAW EVT 2.0 files (``.raw`` from Gen3 cameras and Metavision set to EVT 2.0).

Layout: a ``%`` header (:mod:`._prophesee_header`: ``% evt 2.0`` or ``% format EVT2;...``, the
sensor size from the format line, ``% geometry`` or the camera's ``system_ID``), then u32
little-endian words (fields in :mod:`._evt2_kernels`). Times are ``TIME_HIGH << 6 | ts`` (us, the
34-bit loops counted), absolute as in the file (OpenEB's decoder with time shifting off).

Conventions
-----------
* Words before the first TIME_HIGH are dropped (no time base); OTHERS / CONTINUED / IMU words
  are skipped.
* ``validate=True`` (default): reserved word types, a TIME_HIGH going backwards that is not a
  34-bit loop, event times going backwards and pixels off the header's sensor raise
  :class:`FormatError` at that word (``validate=False`` keeps them: any 11-bit x / y).
* External triggers are never mixed into the events: ``with_triggers=True`` returns them as a
  separate structured array (``t`` us, ``id``, ``value``).
* A partial last word raises (``on_truncated="error"``) or is left out with a
  :class:`TruncatedFileWarning` (``"warn"``).

Speed: a whole file is decoded in one Numba pass (GIL released) split over threads at chunk
boundaries (:mod:`._prophesee_direct`): each chunk finds the last TIME_HIGH before it, the 34-bit
loops are added afterwards. Windows and iterators count first, then decode only what they
need (:mod:`._prophesee_raw`).
"""
from __future__ import annotations

import os

import numpy as np

from .._jit import njit
from ..events import as_events
from ._common import FileBuffer
from ._evt2_kernels import TH_MASK, make_codec
from ._prophesee_header import header_bytes
from ._prophesee_raw import (
    TRIGGER_DTYPE,
    check_writable,
    decode_all,
    iterate,
    open_body,
    probe_body,
)

__all__ = ["read_evt2", "decode_evt2_bytes", "iter_evt2", "probe_evt2", "write_evt2",
           "TRIGGER_DTYPE"]

CODEC = make_codec("evt2")
#: largest TIME_HIGH step the writers emit in a gap (units of 64 us: about 18 minutes)
TH_STEP = 1 << 24


def decode_evt2_bytes(data, name="<buffer>", *, t_start=None, t_end=None,
                      with_triggers: bool = False, on_truncated: str = "error",
                      validate: bool = True):
    """Decode an EVT 2.0 RAW file held in memory.

    Parameters
    ----------
    data : bytes, bytearray, memoryview or np.ndarray
        The whole file, header included.
    name : str
        Shown in errors and warnings.
    t_start, t_end : int, optional
        Keep events (and triggers) with ``t_start <= t < t_end`` (microseconds); parts of the
        file outside the window are not decoded.
    with_triggers : bool
        Return ``(events, triggers)``, triggers a structured array (:data:`TRIGGER_DTYPE`).
    on_truncated : {"error", "warn"}
        A partial last word raises, or is left out with a warning.
    validate : bool
        Refuse reserved words and time going backwards (see the module docstring).

    Returns
    -------
    Events, or (Events, triggers)
        ``t`` int64 us, ``x``/``y`` int16 pixels, ``p`` int8 0/1; shape ``(N,)``, file order.
    """
    body = open_body(data, name, "evt2", 4, on_truncated)
    return decode_all(CODEC, body, t_start, t_end, with_triggers, validate)


def read_evt2(path, *, t_start=None, t_end=None, with_triggers: bool = False,
              on_truncated: str = "error", validate: bool = True):
    """Read an EVT 2.0 ``.raw`` file (memory-mapped when large). See :func:`decode_evt2_bytes`."""
    with FileBuffer(path) as buf:
        return decode_evt2_bytes(buf, name=path, t_start=t_start, t_end=t_end,
                                 with_triggers=with_triggers, on_truncated=on_truncated,
                                 validate=validate)


def iter_evt2(path, chunk_events: int = 1_000_000, *, t_start=None, t_end=None,
              with_triggers: bool = False, on_truncated: str = "error", validate: bool = True):
    """Yield Events chunks of at most ``chunk_events`` (memory bounded by the chunk);
    ``(Events, triggers)`` with ``with_triggers``. Concatenated they equal :func:`read_evt2`."""
    with FileBuffer(path) as buf:
        body = open_body(buf, path, "evt2", 4, on_truncated)
        yield from iterate(CODEC, body, chunk_events, t_start, t_end, with_triggers, validate)


def probe_evt2(path, *, validate: bool = True) -> dict:
    """Format, sensor size and its source, exact event / trigger counts, first / last event
    time (us), header fields (one counting pass, plus the first and last chunks decoded)."""
    with FileBuffer(path) as buf:
        return probe_body(CODEC, open_body(buf, path, "evt2", 4, "warn"), validate)


@njit(cache=True, nogil=True)
def _emit_th(out, n, write, cur, u):
    """TIME_HIGH words from unit ``cur`` up to ``u`` (steps of at most TH_STEP; a 34-bit loop
    is crossed as 2**28 - 1 -> 0 so every reader sees it); returns the word count."""
    if cur < 0:
        cur = 0 if (u >> 28) > 0 else u
        if write:
            out[n] = (8 << 28) | (cur & TH_MASK)
        n += 1
    while cur < u:
        edge = ((cur >> 28) + 1) << 28
        if u >= edge:
            cur = min(edge - 1, cur + TH_STEP) if cur < edge - 1 else edge
        else:
            cur = min(u, cur + TH_STEP)
        if write:
            out[n] = (8 << 28) | (cur & TH_MASK)
        n += 1
    return n


@njit(cache=True, nogil=True)
def encode_stream(t, x, y, p, tt, tid, tval, out, write, vector):
    """EVT 2.0 (``vector=False``, u32 words) or EVT 2.1 little (``vector=True``, u32 pairs
    mask, info) words for CD events and triggers merged by time (CD first at equal t).
    Returns the number of u32 written (or counted when ``write`` is False)."""
    n = 0
    cur = np.int64(-1)
    i = 0
    j = 0
    ne = t.shape[0]
    nt = tt.shape[0]
    while i < ne or j < nt:
        cd = j >= nt or (i < ne and t[i] <= tt[j])
        ts = t[i] if cd else tt[j]
        u = ts >> 6
        if u != cur:
            n = _emit_th(out, n, write, cur, u) if not vector else _emit_th2(out, n, write, cur, u)
            cur = u
        low = (ts & 63) << 22
        if not cd:
            word = (10 << 28) | low | ((np.int64(tid[j]) & 0x1F) << 8) | (np.int64(tval[j]) & 1)
            j += 1
            if vector:
                if write:
                    out[n] = 0
                    out[n + 1] = word
                n += 2
            else:
                if write:
                    out[n] = word
                n += 1
            continue
        info = (np.int64(p[i]) << 28) | low | (np.int64(x[i]) << 11) | np.int64(y[i])
        if not vector:
            if write:
                out[n] = info
            n += 1
            i += 1
            continue
        # EVT 2.1: the following events at the same t, y, p and x inside [x, x + 32), each
        # right of the previous one, share the word
        mask = np.int64(1)
        last = np.int64(x[i])
        k = i + 1
        while (k < ne and t[k] == ts and y[k] == y[i] and p[k] == p[i] and x[k] > last
               and x[k] < x[i] + 32 and (j >= nt or t[k] <= tt[j])):
            mask |= np.int64(1) << (np.int64(x[k]) - x[i])
            last = x[k]
            k += 1
        if write:
            out[n] = mask
            out[n + 1] = info
        n += 2
        i = k
    return n


@njit(cache=True, nogil=True)
def _emit_th2(out, n, write, cur, u):
    """:func:`_emit_th` for 64-bit words (mask half zero)."""
    m = _emit_th(out[n:n], 0, False, cur, u)      # how many TIME_HIGH words
    if write:
        tmp = np.empty(m, out.dtype)
        _emit_th(tmp, 0, True, cur, u)
        for q in range(m):
            out[n + 2 * q] = 0
            out[n + 2 * q + 1] = tmp[q]
    return n + 2 * m


def prepare(events, sensor_size, triggers, id_max: int = 31):
    """Checked int64 columns of events and triggers for the EVT writers."""
    ev = as_events(events)
    t, x, y, p = (np.asarray(ev[k]) for k in "txyp")
    if sensor_size is None:
        raise ValueError("sensor_size=(width, height) is required (it goes in the header)")
    check_writable(t, x, y, p, sensor_size, (2048, 2048), None)
    tr = np.zeros(0, TRIGGER_DTYPE) if triggers is None else np.asarray(triggers)
    tt = np.ascontiguousarray(tr["t"], np.int64)
    if tt.shape[0] and (int(tt.min()) < 0 or np.any(np.diff(tt) < 0)):
        raise ValueError("trigger times must be >= 0 and non-decreasing")
    if tt.shape[0] and not (0 <= int(tr["id"].min()) and int(tr["id"].max()) <= id_max
                            and 0 <= int(tr["value"].min()) and int(tr["value"].max()) <= 1):
        raise ValueError(f"trigger ids must be 0..{id_max} and values 0 or 1")
    cols = [np.ascontiguousarray(a, np.int64) for a in (t, x, y, p)]
    return cols, (tt, np.ascontiguousarray(tr["id"], np.int64),
                  np.ascontiguousarray(tr["value"], np.int64))


def write_evt2(path, events, *, sensor_size, triggers=None, header_lines=()) -> None:
    """Write events (and optional triggers: fields ``t``, ``id`` 0..31, ``value`` 0/1) as an
    EVT 2.0 RAW file with OpenEB's header (``% evt 2.0``, ``% format EVT2;height=H;width=W``,
    ``% geometry WxH``, ``% end``).

    ``sensor_size=(W, H)`` pixels (at most 2048 each); ``t`` >= 0 us, non-decreasing. A
    TIME_HIGH word precedes every change of ``t >> 6``; gaps get intermediate TIME_HIGH words,
    so any reader sees the 34-bit loops. Raises ValueError for events the format cannot hold.
    """
    cols, trig = prepare(events, sensor_size, triggers)
    w, h = int(sensor_size[0]), int(sensor_size[1])
    head = header_bytes(["evt 2.0", f"format EVT2;height={h};width={w}", f"geometry {w}x{h}",
                         *header_lines])
    out = np.empty(0, np.uint32)
    n = encode_stream(*cols, *trig, out, False, False)
    out = np.empty(n, np.uint32)
    encode_stream(*cols, *trig, out, True, False)
    with open(os.fspath(path), "wb") as fh:
        fh.write(head)
        out.astype("<u4", copy=False).tofile(fh)
