"""Prophesee RAW EVT 3.0 files (``.raw`` from Gen4 / IMX636 / GenX320 cameras, EVK3 / EVK4).

Layout: a ``%`` header (``% evt 3.0`` or ``% format EVT3;height=H;width=W``; sensor size from
the format line, ``% geometry`` or the camera's ``system_ID``), then u16 little-endian words whose
meaning depends on the decoder state (:mod:`._evt3_kernels`). Times are absolute
(``(loops << 24) | (TIME_HIGH << 12) | TIME_LOW`` us, the 24-bit loops counted).

Conventions
-----------
* As OpenEB: words before the first TIME_HIGH are ignored (no time base yet); events on a y row
  at or beyond the sensor height (or with ADDR_Y's system bit set), or vectors before any
  vector base, are dropped.
* ``validate=True`` (default): reserved word types, a TIME_HIGH going backwards by less than a
  loop, event times going backwards and an x beyond the sensor width raise
  :class:`FormatError` at that word (``validate=False`` keeps x up to 2047).
* Triggers come separately with ``with_triggers=True`` (``t``, ``id`` 0..15, ``value``).
* A file ending inside a word raises (``on_truncated="error"``) or warns (``"warn"``).

Speed: chunks decode in parallel, each from the state found by scanning back from its first word
(see :mod:`._evt3_kernels`), so the stateful stream needs no serial pass; the 24-bit loops of
earlier chunks are added afterwards.
"""
from __future__ import annotations

import os

import numpy as np

from .._jit import njit
from ._common import FileBuffer
from ._evt3_kernels import CODEC
from ._prophesee_header import header_bytes
from ._prophesee_raw import TRIGGER_DTYPE, decode_all, iterate, open_body, probe_body
from .evt2 import prepare

__all__ = ["read_evt3", "decode_evt3_bytes", "iter_evt3", "probe_evt3", "write_evt3",
           "TRIGGER_DTYPE"]

#: largest TIME_HIGH step the writer emits in a gap (4096-us units): every reader then sees the
#: 24-bit loops (a decrease of at least 2048 units), as faery's writer does
TH_STEP = 1024


def decode_evt3_bytes(data, name="<buffer>", *, t_start=None, t_end=None,
                      with_triggers: bool = False, on_truncated: str = "error",
                      validate: bool = True):
    """Decode an EVT 3.0 RAW file held in memory; parameters and result as
    :func:`evframes.formats.evt2.decode_evt2_bytes`."""
    body = open_body(data, name, "evt3", 2, on_truncated)
    return decode_all(CODEC, body, t_start, t_end, with_triggers, validate)


def read_evt3(path, *, t_start=None, t_end=None, with_triggers: bool = False,
              on_truncated: str = "error", validate: bool = True):
    """Read an EVT 3.0 ``.raw`` file (memory-mapped when large). See :func:`decode_evt3_bytes`."""
    with FileBuffer(path) as buf:
        return decode_evt3_bytes(buf, name=path, t_start=t_start, t_end=t_end,
                                 with_triggers=with_triggers, on_truncated=on_truncated,
                                 validate=validate)


def iter_evt3(path, chunk_events: int = 1_000_000, *, t_start=None, t_end=None,
              with_triggers: bool = False, on_truncated: str = "error", validate: bool = True):
    """Yield Events chunks of at most ``chunk_events``, the decoder state carried from block to
    block; see :func:`evframes.formats.evt2.iter_evt2`."""
    with FileBuffer(path) as buf:
        body = open_body(buf, path, "evt3", 2, on_truncated)
        yield from iterate(CODEC, body, chunk_events, t_start, t_end, with_triggers, validate)


def probe_evt3(path, *, validate: bool = True) -> dict:
    """Format, sensor size, exact counts, first / last event time; see ``probe_evt2``."""
    with FileBuffer(path) as buf:
        return probe_body(CODEC, open_body(buf, path, "evt3", 2, "warn"), validate)


@njit(cache=True, nogil=True)
def _put(out, n, write, word):
    if write:
        out[n] = word
    return n + 1


@njit(cache=True, nogil=True)
def encode_evt3(t, x, y, p, tt, tid, tval, width, vectorize, out, write):
    """EVT 3.0 words for CD events and triggers merged by time (CD first at equal t); returns
    the word count. Runs of at least 3 events at one t, y and p whose x increase inside a
    32-pixel span become VECT_BASE_X + VECT_12 + VECT_12 + VECT_8 (OpenEB's triplet)."""
    n = 0
    cur = np.int64(-1)          # absolute t >> 12
    low = np.int64(-1)
    cy = np.int64(-1)
    vb = np.int64(-1)           # the reader's vector base after our last triplet (x | p << 11)
    i = 0
    j = 0
    ne = t.shape[0]
    nt = tt.shape[0]
    while i < ne or j < nt:
        cd = j >= nt or (i < ne and t[i] <= tt[j])
        ts = t[i] if cd else tt[j]
        u = ts >> 12
        if u != cur:
            if cur < 0:
                cur = 0 if u >= 4096 else u
                n = _put(out, n, write, (8 << 12) | (cur & 0xFFF))
            while cur < u:
                cur = min(u, cur + TH_STEP)
                n = _put(out, n, write, (8 << 12) | (cur & 0xFFF))
            low = -1      # a TIME_LOW always follows: evlib keeps the old low bits otherwise
        if (ts & 0xFFF) != low:
            low = ts & 0xFFF
            n = _put(out, n, write, (6 << 12) | low)
        if not cd:
            n = _put(out, n, write, (10 << 12) | ((np.int64(tid[j]) & 0xF) << 8)
                     | (np.int64(tval[j]) & 1))
            j += 1
            continue
        if y[i] != cy:
            cy = y[i]
            n = _put(out, n, write, cy)
        k = i + 1
        if vectorize and width >= 32:
            b = min(np.int64(x[i]), width - 32)
            last = np.int64(x[i])
            while (k < ne and t[k] == ts and y[k] == cy and p[k] == p[i] and x[k] > last
                   and x[k] < b + 32 and (j >= nt or t[k] <= tt[j])):
                last = x[k]
                k += 1
        if k - i >= 3:
            mask = np.int64(0)
            for q in range(i, k):
                mask |= np.int64(1) << (np.int64(x[q]) - b)
            key = b | (np.int64(p[i]) << 11)
            if key != vb:
                n = _put(out, n, write, (3 << 12) | key)
            n = _put(out, n, write, (4 << 12) | (mask & 0xFFF))
            n = _put(out, n, write, (4 << 12) | ((mask >> 12) & 0xFFF))
            n = _put(out, n, write, (5 << 12) | ((mask >> 24) & 0xFF))
            vb = key + 32 if b + 32 < 2048 else -1
            i = k
        else:
            n = _put(out, n, write, (2 << 12) | (np.int64(p[i]) << 11) | np.int64(x[i]))
            i += 1
    return n


def write_evt3(path, events, *, sensor_size, triggers=None, vectorize: bool = True,
               header_lines=()) -> None:
    """Write events (and optional triggers: ``t``, ``id`` 0..15, ``value`` 0/1) as an EVT 3.0
    RAW file with OpenEB's header (``% evt 3.0``, ``% format EVT3;height=H;width=W``,
    ``% geometry WxH``, ``% end``).

    ``sensor_size=(W, H)`` pixels (at most 2048); ``t`` >= 0 us, non-decreasing. TIME_HIGH
    words follow every change of ``t >> 12`` (with steps of at most 1024 in gaps, so the 24-bit
    loops are seen), TIME_LOW every change of the low bits and after every TIME_HIGH (as
    sensors do; evlib's reader needs it), ADDR_Y every change of row.
    ``vectorize`` writes runs of events as vector triplets (event order kept), else one ADDR_X
    word per event. Raises ValueError for events the format cannot hold.
    """
    cols, trig = prepare(events, sensor_size, triggers, id_max=15)
    w, h = int(sensor_size[0]), int(sensor_size[1])
    head = header_bytes(["evt 3.0", f"format EVT3;height={h};width={w}", f"geometry {w}x{h}",
                         *header_lines])
    args = (*cols, *trig, w, bool(vectorize))
    n = encode_evt3(*args, np.empty(0, np.uint16), False)
    out = np.empty(n, np.uint16)
    encode_evt3(*args, out, True)
    with open(os.fspath(path), "wb") as fh:
        fh.write(head)
        out.astype("<u2", copy=False).tofile(fh)
