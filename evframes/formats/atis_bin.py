"""N-MNIST / N-Caltech101 40-bit ATIS ``.bin`` files (also slayerPytorch's ``.bs2``).

Layout
------
No header. Each event is 5 bytes (40 bits), fields big-endian::

    byte 0        x, pixels (0..255)
    byte 1        y, pixels (0..255)
    byte 2 bit 7  polarity p (1 = ON, 0 = OFF)
    bytes 2..4    timestamp, 23 bits, microseconds: ((b2 & 0x7F) << 16) | (b3 << 8) | b4

Conventions (decided here, documented in the README)
----------------------------------------------------
* **Overflow events.** Some files of the original N-MNIST / N-Caltech101 tools carry special
  "timestamp overflow" records marked by ``y == 240`` (the ATIS sensor has 240 rows, 0..239, so no
  pixel event has that y). Following the reference readers (G. Orchard's ``eventvision.py``, and
  Tonic's ``read_mnist_file`` which adapts it), such a record is removed from the output and adds
  ``2**13`` us to the timestamp of every later event. SpikingJelly's ``load_ATIS_bin`` does not do
  this (it returns them as events at y = 240, off any N-MNIST frame). ``overflow_events=False``
  reproduces that.
* **23-bit wrap-around.** The field wraps every ``2**23`` us (8.39 s). When a timestamp is more
  than ``2**22`` us (4.19 s) *smaller* than the previous event's, the counter is taken to have
  wrapped and ``2**23`` is added from there on (monotone unwrapping). A real decrease that large
  cannot occur in a time-ordered recording, so files without a wrap (all N-MNIST and N-Caltech101
  samples, which last ~0.3 s) decode exactly as the plain formula. ``unwrap=False`` turns it off.
* **Truncated file.** A length that is not a multiple of 5 raises :class:`FormatError` by default:
  with no framing, a stray byte count more often means a wrong file or format than a cut-off
  download. ``on_truncated="warn"`` keeps the complete records and emits
  :class:`TruncatedFileWarning` instead.
* **Plausibility (the format has no header to check).** A file is refused with
  :class:`FormatError` (listing the supported formats) when its first bytes are another
  format's header (Prophesee ``%`` lines, ``#!AER-DAT``, HDF5, ...), or when time goes
  backwards: a record whose timestamp, after the overflow markers and 23-bit wraps above, is
  below the previous event's (byte offset of that record). Recordings are time-ordered (every
  real N-MNIST / N-Caltech101 file is), while other bytes read as 5-byte records give random
  timestamps, which fail this within a few records (the real Prophesee EVT 3.0 sample, its
  header cut off, fails at record 5). ``validate=False`` decodes anything, as SpikingJelly does.

Speed: one pass of a numba kernel that releases the GIL; files above ~1 M events are split over
a few threads. Overflow records and wraps are detected in that pass; only files that contain one
take a second, serial pass.
"""
from __future__ import annotations

import os

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
    run_chunked,
)
from ._sniff import SNIFF_BYTES, SUPPORTED, foreign_format, refusal

__all__ = ["read_atis_bin", "decode_atis_bytes", "write_atis_bin", "OVERFLOW_Y",
           "OVERFLOW_INCREMENT_US", "TIMESTAMP_BITS"]

RECORD_BYTES = 5
TIMESTAMP_BITS = 23
OVERFLOW_Y = 240
OVERFLOW_INCREMENT_US = 1 << 13
_HALF = 1 << (TIMESTAMP_BITS - 1)


@njit(cache=True, nogil=True)
def _decode_fast(lo, hi, buf, t, x, y, p):
    """Decode records [lo, hi) in place; return how many need a second look.

    A record needs it when it is an overflow marker (y == 240), its timestamp is more than
    2**22 below the previous record's (a wrap), or it is below the previous one by less (time
    going backwards: impossible in a recording unless an overflow marker came before).
    """
    special = 0
    if lo >= hi:
        return special
    j = RECORD_BYTES * (lo - 1 if lo > 0 else lo)
    prev = (((np.int64(buf[j + 2]) & 0x7F) << 16) | (np.int64(buf[j + 3]) << 8)
            | np.int64(buf[j + 4]))
    # 0-based views of the chunk: this simple indexing lets LLVM vectorise the loop (2x faster)
    bb = buf[RECORD_BYTES * lo:RECORD_BYTES * hi]
    tt = t[lo:hi]
    xx = x[lo:hi]
    yy = y[lo:hi]
    pp = p[lo:hi]
    for i in range(hi - lo):
        j = RECORD_BYTES * i
        b2 = np.int64(bb[j + 2])
        ts = ((b2 & 0x7F) << 16) | (np.int64(bb[j + 3]) << 8) | np.int64(bb[j + 4])
        v = bb[j + 1]
        xx[i] = bb[j]
        yy[i] = v
        pp[i] = b2 >> 7
        tt[i] = ts
        special += (v == OVERFLOW_Y) | (ts < prev)
        prev = ts
    return special


@njit(cache=True, nogil=True)
def _first_backwards(buf, n):
    """(index, previous t, t) of the first record whose time, with overflow markers and 23-bit
    wraps applied as the decoder applies them, is below the previous event's; (-1, 0, 0)."""
    wraps = 0
    n_overflow = 0
    prev = np.int64(-1)
    prev_t = np.int64(-1)
    for i in range(n):
        j = RECORD_BYTES * i
        ts = (((np.int64(buf[j + 2]) & 0x7F) << 16) | (np.int64(buf[j + 3]) << 8)
              | np.int64(buf[j + 4]))
        if buf[j + 1] == OVERFLOW_Y:
            n_overflow += 1
            continue
        if prev >= 0 and ts < prev - _HALF:
            wraps += 1
        prev = ts
        tt = ts + (np.int64(wraps) << TIMESTAMP_BITS) + n_overflow * OVERFLOW_INCREMENT_US
        if tt < prev_t:
            return i, prev_t, tt
        prev_t = tt
    return -1, np.int64(0), np.int64(0)


@njit(cache=True, nogil=True)
def _decode_slow(buf, n, t, x, y, p, unwrap, overflow):
    """Serial decode applying overflow markers and 23-bit unwrapping; returns events written."""
    k = 0
    wraps = 0
    n_overflow = 0
    prev = np.int64(-1)
    for i in range(n):
        j = RECORD_BYTES * i
        b2 = np.int64(buf[j + 2])
        ts = ((b2 & 0x7F) << 16) | (np.int64(buf[j + 3]) << 8) | np.int64(buf[j + 4])
        yy = buf[j + 1]
        if overflow and yy == OVERFLOW_Y:
            n_overflow += 1
            continue
        if unwrap and prev >= 0 and ts < prev - _HALF:
            wraps += 1
        prev = ts
        t[k] = ts + (np.int64(wraps) << TIMESTAMP_BITS) + n_overflow * OVERFLOW_INCREMENT_US
        x[k] = buf[j]
        y[k] = yy
        p[k] = b2 >> 7
        k += 1
    return k


def decode_atis_bytes(data, name="<buffer>", *, on_truncated: str = "error",
                      overflow_events: bool = True, unwrap: bool = True,
                      validate: bool = True) -> Events:
    """Decode a 40-bit ATIS event file held in memory.

    Parameters
    ----------
    data : bytes, bytearray, memoryview or np.ndarray
        The whole file content (for example ``zipfile.ZipFile.read(member)``).
    name : str
        Shown in errors and warnings (for example ``"Train.zip:Train/5/00001.bin"``).
    on_truncated : {"error", "warn"}
        What to do when the length is not a multiple of 5 bytes (see module docstring).
    overflow_events : bool
        Treat ``y == 240`` records as timestamp-overflow markers (Tonic convention).
    unwrap : bool
        Undo wrap-arounds of the 23-bit timestamp.
    validate : bool
        Refuse a file whose time goes backwards (see module docstring). ``False`` decodes
        any bytes as records, as SpikingJelly does.

    Returns
    -------
    Events
        ``t`` int64 us, ``x``/``y`` int16 pixels, ``p`` int8 in {0, 1}; shape ``(N,)`` each,
        in file order.
    """
    check_on_truncated(on_truncated)
    name = display_name(name)
    buf = as_uint8(data)
    what = foreign_format(bytes(buf[:SNIFF_BYTES]))
    if what is not None:
        raise FormatError(name, 0, refusal("an ATIS 40-bit .bin recording", what))
    size = int(buf.shape[0])
    n = size // RECORD_BYTES
    ev = _decode(buf, n, name, bool(overflow_events), bool(unwrap), bool(validate))
    if n * RECORD_BYTES != size:   # checked after the records: a wrong format is named first
        complete_records(name, 0, size, RECORD_BYTES, on_truncated, f"file length {size}")
    return ev


def _decode(buf, n, name, overflow_events, unwrap, validate) -> Events:
    if n == 0:
        return empty_events()
    t, x, y, p = alloc_events(n)
    special = sum(run_chunked(_decode_fast, n, (buf, t, x, y, p)))
    if special and validate:
        i, t0, t1 = (int(v) for v in _first_backwards(buf, n))
        if i >= 0:
            raise FormatError(name, RECORD_BYTES * i, (
                f"time goes backwards at record {i} ({t0} us -> {t1} us, after applying "
                "overflow markers and 23-bit wraps): not an ATIS 40-bit .bin recording, or a "
                f"corrupt one ({SUPPORTED}; pass validate=False to decode it anyway)"))
    if special and (overflow_events or unwrap):
        k = _decode_slow(buf, n, t, x, y, p, unwrap, overflow_events)
        return finish_events(t, x, y, p, k)
    return finish_events(t, x, y, p)


def read_atis_bin(path, *, on_truncated: str = "error", overflow_events: bool = True,
                  unwrap: bool = True, validate: bool = True) -> Events:
    """Read an N-MNIST / N-Caltech101 ``.bin`` (or ``.bs2``) file. See :func:`decode_atis_bytes`.

    The file is read once (memory-mapped when large). Raises :class:`FormatError` naming the file
    and byte offset when it is malformed.
    """
    with FileBuffer(path) as buf:
        return decode_atis_bytes(buf, name=path, on_truncated=on_truncated,
                                 overflow_events=overflow_events, unwrap=unwrap,
                                 validate=validate)


def write_atis_bin(path, events) -> None:
    """Write events as a 40-bit ATIS file (5 bytes per event, no header).

    Requires ``0 <= x, y <= 255`` with ``y != 240`` (reserved for overflow markers),
    ``p`` in {0, 1} and ``t >= 0`` us. Timestamps are stored modulo ``2**23``; the reader's
    unwrapping restores them as long as consecutive events are less than ``2**22`` us apart and
    ``t`` is non-decreasing. Raises ValueError for events the format cannot hold.
    """
    ev = as_events(events)
    t = np.asarray(ev["t"], np.int64)
    x = np.asarray(ev["x"])
    y = np.asarray(ev["y"])
    p = np.asarray(ev["p"])
    n = t.shape[0]
    if n:
        if int(x.min()) < 0 or int(x.max()) > 255 or int(y.min()) < 0 or int(y.max()) > 255:
            raise ValueError("ATIS .bin stores x and y in one byte each (0..255)")
        if np.any(y == OVERFLOW_Y):
            raise ValueError(f"y == {OVERFLOW_Y} is reserved for timestamp-overflow markers in "
                             "the ATIS .bin format")
        if int(p.min()) < 0 or int(p.max()) > 1:
            raise ValueError("polarity must be 0 or 1")
        if int(t.min()) < 0:
            raise ValueError("timestamps must be >= 0")
    rec = np.empty((n, RECORD_BYTES), np.uint8)
    tm = t & ((1 << TIMESTAMP_BITS) - 1)
    rec[:, 0] = x
    rec[:, 1] = y
    rec[:, 2] = ((p.astype(np.int64) << 7) | (tm >> 16)).astype(np.uint8)
    rec[:, 3] = ((tm >> 8) & 0xFF).astype(np.uint8)
    rec[:, 4] = (tm & 0xFF).astype(np.uint8)
    with open(os.fspath(path), "wb") as fh:
        rec.tofile(fh)
