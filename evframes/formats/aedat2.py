"""AEDAT 2.0 (jAER) files, e.g. the original CIFAR10-DVS release and DVS128 jAER recordings.

Layout
------
* Header: ASCII lines starting with ``#``, the first being ``#!AER-DAT2.0``, normally CRLF
  terminated. jAER may store long blocks (e.g. XML preferences) as further ``#`` lines. The header
  ends at the first line that does **not** start with ``#`` (the jAER rule); that byte is the
  first byte of the event data. (A first event whose address starts with byte 0x23 would be taken
  for a header line by every reader of this format; DVS128 addresses are below 0x8000, so their
  first byte is 0x00.)
* Data: 8-byte records, big-endian ``u32 address, u32 timestamp`` (timestamp in microseconds).

DVS128 address layout (``layout="dvs128"``)::

    x = (a >> 1) & 0x7F      y = (a >> 8) & 0x7F      p = a & 1

The decoder returns these **raw sensor coordinates**, with no flip or transpose. (For reference:
jAER's own DVS128 extractor displays ``x' = 127 - x`` and treats raw ``p = 0`` as ON;
SpikingJelly's CIFAR10-DVS loader returns ``x' = 127 - y, y' = 127 - x, p' = 1 - p``. Any such
orientation belongs to the dataset code, not here.)

Conventions (decided here, documented in the README)
----------------------------------------------------
* **Special events.** jAER's DVS128 extractor marks a record as special (not a pixel event) when
  address bit 15 (``0x8000``, the DVS128 sync / external-input event) or bit 31
  (``0x80000000``, jAER's generic special-event bit) is set. Those records are dropped by
  default; ``keep_special=True`` keeps them, decoded with the same bit masks (which is what
  SpikingJelly's and Tonic's CIFAR10-DVS loaders do, as they do not filter them).
* **Timestamp wrap-around.** Timestamps are 32-bit and wrap after ``2**32`` us (71.6 min). When a
  timestamp is more than ``2**31`` smaller than the previous event's, ``2**32`` is added from there
  on (monotone unwrapping); ``t`` is returned as int64 microseconds, not shifted to start at 0.
  ``unwrap=False`` disables it.
* **Truncated file.** A data length that is not a multiple of 8 raises :class:`FormatError`
  by default (a misparsed header also produces this, and must not silently yield shifted
  garbage); ``on_truncated="warn"`` keeps the complete records with a
  :class:`TruncatedFileWarning`.

The real jAER recording ``MovingDarkBox.aedat`` (5 header lines, 216 bytes) decodes to 489834
events over 39.8 s; it holds no special events and no wrap, so only the header rule matters.
"""
from __future__ import annotations

import os
from typing import Iterable, Optional

import numpy as np

from .._jit import njit
from ..errors import FormatError
from ..events import Events, as_events, empty_events
from ._common import (
    FileBuffer,
    alloc_events,
    as_uint8,
    check_on_truncated,
    complete_records,
    display_name,
    finish_events,
    hash_header_end,
    header_first_line,
    run_chunked,
    u32_words,
)
from ._sniff import SNIFF_BYTES, bad_magic

__all__ = ["read_aedat2", "decode_aedat2_bytes", "write_aedat2", "MAGIC", "DVS128_SPECIAL_MASK"]

MAGIC = b"#!AER-DAT2."
RECORD_BYTES = 8
#: Address bits that make a DVS128 record a special (non-pixel) event in jAER.
DVS128_SPECIAL_MASK = 0x80008000
_HALF = np.int64(1 << 31)
_WRAP = np.int64(1 << 32)

# layout name -> (x shift, x mask, y shift, y mask, p shift, p mask, special mask)
LAYOUTS = {
    "dvs128": (1, 0x7F, 8, 0x7F, 0, 1, DVS128_SPECIAL_MASK),
}


@njit(cache=True, nogil=True)
def _bswap(v):
    return ((v & 0xFF) << 24) | ((v & 0xFF00) << 8) | ((v >> 8) & 0xFF00) | (v >> 24)


@njit(cache=True, nogil=True)
def _decode_fast(lo, hi, w, t, x, y, p, xs, xm, ys, ym, ps, pm, smask):
    """Decode records [lo, hi) in place; return how many need the slow path (special or wrap).

    ``w`` is the event data as native uint32 words (address, timestamp, address, ...), still in
    file (big-endian) byte order.
    """
    special = 0
    if lo >= hi:
        return special
    prev = np.int64(_bswap(w[2 * (lo - 1) + 1] if lo > 0 else w[1]))
    # 0-based views of the chunk: this simple indexing lets LLVM vectorise the loop (2x faster)
    ww = w[2 * lo:2 * hi]
    tt = t[lo:hi]
    xx = x[lo:hi]
    yy = y[lo:hi]
    pp = p[lo:hi]
    for i in range(hi - lo):
        a = _bswap(ww[2 * i])
        ts = np.int64(_bswap(ww[2 * i + 1]))
        xx[i] = (a >> xs) & xm
        yy[i] = (a >> ys) & ym
        pp[i] = (a >> ps) & pm
        tt[i] = ts
        special += ((a & smask) != 0) | (ts < prev - _HALF)
        prev = ts
    return special


@njit(cache=True, nogil=True)
def _decode_slow(w, n, t, x, y, p, xs, xm, ys, ym, ps, pm, smask, unwrap):
    """Serial decode dropping special records and unwrapping; returns events written."""
    k = 0
    off = np.int64(0)
    prev = np.int64(-1)
    for i in range(n):
        a = _bswap(w[2 * i])
        if (a & smask) != 0:
            continue
        ts = np.int64(_bswap(w[2 * i + 1]))
        if unwrap and prev >= 0 and ts < prev - _HALF:
            off += _WRAP
        prev = ts
        t[k] = ts + off
        x[k] = (a >> xs) & xm
        y[k] = (a >> ys) & ym
        p[k] = (a >> ps) & pm
        k += 1
    return k


def _parse_header(buf: np.ndarray, name: str) -> int:
    if buf.shape[0] == 0:
        raise FormatError(name, 0, "empty file, expected an '#!AER-DAT2.0' header line")
    if not header_first_line(buf).startswith(MAGIC):
        raise FormatError(name, 0, bad_magic("AEDAT 2.0", "#!AER-DAT2.",
                                             bytes(buf[:SNIFF_BYTES])))
    return hash_header_end(buf, name)


def decode_aedat2_bytes(data, name="<buffer>", *, layout: str = "dvs128",
                        keep_special: bool = False, unwrap: bool = True,
                        on_truncated: str = "error") -> Events:
    """Decode an AEDAT 2.0 file held in memory.

    Parameters
    ----------
    data : bytes, bytearray, memoryview or np.ndarray
        The whole file content, header included.
    name : str
        Shown in errors and warnings.
    layout : {"dvs128"}
        Address bit layout. ``"dvs128"``: x = bits 1..7, y = bits 8..14, p = bit 0.
    keep_special : bool
        Keep records flagged special by jAER (address bit 15 or 31) instead of dropping them.
    unwrap : bool
        Undo 32-bit timestamp wrap-arounds (see module docstring).
    on_truncated : {"error", "warn"}
        What to do when the data length is not a multiple of 8 bytes.

    Returns
    -------
    Events
        ``t`` int64 us (as recorded, not shifted), ``x``/``y`` int16 raw sensor pixels, ``p`` int8
        raw polarity bit; shape ``(N,)`` each, in file order.
    """
    check_on_truncated(on_truncated)
    if layout not in LAYOUTS:
        raise ValueError(f"unknown AEDAT 2.0 address layout {layout!r}; known: {sorted(LAYOUTS)}")
    xs, xm, ys, ym, ps, pm, smask = LAYOUTS[layout]
    if keep_special:
        smask = 0
    name = display_name(name)
    buf = as_uint8(data)
    base = _parse_header(buf, name)
    body = int(buf.shape[0]) - base
    n = complete_records(name, base, body, RECORD_BYTES, on_truncated,
                         f"event data ({body} bytes from byte {base})")
    if n == 0:
        return empty_events()
    w = u32_words(buf, base, 2 * n)
    t, x, y, p = alloc_events(n)
    special = sum(run_chunked(_decode_fast, n, (w, t, x, y, p, xs, xm, ys, ym, ps, pm, smask)))
    if special and (smask or unwrap):
        k = _decode_slow(w, n, t, x, y, p, xs, xm, ys, ym, ps, pm, smask, bool(unwrap))
        return finish_events(t, x, y, p, k)
    return finish_events(t, x, y, p)


def read_aedat2(path, *, layout: str = "dvs128", keep_special: bool = False,
                unwrap: bool = True, on_truncated: str = "error") -> Events:
    """Read an AEDAT 2.0 ``.aedat`` file. See :func:`decode_aedat2_bytes` for the parameters.

    Returns raw sensor coordinates (no flip). Raises :class:`FormatError` naming the file and byte
    offset when it is malformed.
    """
    with FileBuffer(path) as buf:
        return decode_aedat2_bytes(buf, name=path, layout=layout, keep_special=keep_special,
                                   unwrap=unwrap, on_truncated=on_truncated)


DEFAULT_HEADER = (
    "# This is a raw AE data file created by evframes",
    "# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event",
    "# Timestamps tick is 1 us",
)


def _header_bytes(header_lines: Optional[Iterable[str]]) -> bytes:
    lines = ["#!AER-DAT2.0"]
    for item in (DEFAULT_HEADER if header_lines is None else header_lines):
        for line in str(item).splitlines() or [""]:
            lines.append(line if line.startswith("#") else "# " + line)
    return "".join(line + "\r\n" for line in lines).encode("utf-8")


def write_aedat2(path, events, header_lines: Optional[Iterable[str]] = None) -> None:
    """Write events as an AEDAT 2.0 file with DVS128 addresses.

    Parameters
    ----------
    path : path-like
    events : Events or mapping with t, x, y, p
        ``0 <= x, y <= 127``, ``p`` in {0, 1}, ``t >= 0`` us.
    header_lines : iterable of str, optional
        Lines written after ``#!AER-DAT2.0``; a ``#`` is prefixed where missing and multi-line
        strings (e.g. an XML block, as jAER writes) become several ``#`` lines. Default: three
        jAER-style description lines.

    Timestamps are stored modulo ``2**32``; the reader's unwrapping restores them when ``t`` is
    non-decreasing with steps below ``2**31`` us.
    """
    ev = as_events(events)
    t = np.asarray(ev["t"], np.int64)
    x = np.asarray(ev["x"]).astype(np.uint32)
    y = np.asarray(ev["y"]).astype(np.uint32)
    p = np.asarray(ev["p"]).astype(np.uint32)
    n = t.shape[0]
    if n:
        xx, yy, pp = ev["x"], ev["y"], ev["p"]
        if int(xx.min()) < 0 or int(xx.max()) > 127 or int(yy.min()) < 0 or int(yy.max()) > 127:
            raise ValueError("DVS128 AEDAT 2.0 addresses hold x and y in 0..127")
        if int(pp.min()) < 0 or int(pp.max()) > 1:
            raise ValueError("polarity must be 0 or 1")
        if int(t.min()) < 0:
            raise ValueError("timestamps must be >= 0")
    rec = np.empty((n, 2), ">u4")
    rec[:, 0] = (y << 8) | (x << 1) | p
    rec[:, 1] = (t & 0xFFFFFFFF).astype(np.uint32)
    with open(os.fspath(path), "wb") as fh:
        fh.write(_header_bytes(header_lines))
        rec.tofile(fh)
