"""AEDAT 3.1 files (cAER / DV), e.g. the DVS128 Gesture recordings ``userNN_<lighting>.aedat``.

Layout
------
* Header: ASCII lines starting with ``#``, the first ``#!AER-DAT3.1``, the last
  ``#!END-HEADER\\r\\n``. Any other line before the end marker is an error.
* Then packets, each a 28-byte little-endian header::

      u16 eventType   u16 eventSource   u32 eventSize   u32 eventTSOffset
      u32 eventTSOverflow   u32 eventCapacity   u32 eventNumber   u32 eventValid

  followed by ``eventCapacity * eventSize`` bytes of events. eventType 1 is polarity; packets of
  other types (special events, frames, IMU, ...) are skipped.
* A polarity event is 8 bytes, ``u32 data, u32 timestamp`` (little-endian)::

      valid = data & 1            p = (data >> 1) & 1
      y = (data >> 2) & 0x1FFF    x = (data >> 17) & 0x1FFF
      t = timestamp | (eventTSOverflow << 31)          (microseconds, int64)

Conventions (decided here, documented in the README)
----------------------------------------------------
* **Valid bit and eventNumber.** By default this reader matches SpikingJelly's
  ``load_aedat_v3`` (``spikingjelly.datasets.utils`` in current releases; the loader behind its
  ``DVS128Gesture`` dataset): it decodes **all eventCapacity slots** of every polarity packet
  and **ignores the valid bit** (invalidated events are kept). ``valid_only=True`` follows
  the libcaer semantics instead: only the first ``eventNumber`` events of a packet, and only those
  with the valid bit set. For files written with ``eventCapacity == eventNumber`` and no
  invalidated events (the usual case) both give the same result.
* **Timestamps** are not shifted; packets are concatenated in file order.
* **Coordinate masks.** x and y are 13-bit (``0x1FFF``) as in the project's format notes;
  SpikingJelly masks 15 bits (``0x7FFF``). Both agree whenever the bits above 12 are zero, i.e.
  for every sensor narrower than 8192 pixels (DVS128: 128).
* **Truncated final packet.** If the file ends inside the last packet (its header or its events),
  the complete events are kept and :class:`TruncatedFileWarning` is emitted naming the file and the
  byte offset of that packet (``on_truncated="error"`` raises instead). A packet header whose
  claim cannot be a cut-off packet (more than ``MAX_PACKET_BYTES`` of events, or
  ``eventNumber > eventCapacity``) raises :class:`FormatError` before anything is allocated.
  ``eventSize != 8`` in a polarity packet raises :class:`FormatError`.

Speed: one numba pass walks the packet headers (validating them and computing where each
packet's events land in the output; for a large buffer a pool thread meanwhile pages in the
second half of the file, since the serial scan is the first to touch a memory-mapped file), then
a second kernel decodes the events straight into the uninitialised (``np.empty``) output arrays
in their final dtypes, split over a few threads for large files, so each output page is first
touched (and faulted in) by the thread that fills it. Both kernels release the GIL.
"""
from __future__ import annotations

import os
from typing import Iterable, Optional

import numpy as np

from .._jit import njit
from ..errors import FormatError
from ..events import Events, as_events, empty_events
from . import _common
from ._common import (
    FileBuffer,
    _num_threads,
    alloc_events,
    as_uint8,
    check_on_truncated,
    display_name,
    end_header_end,
    finish_events,
    header_first_line,
    run_chunked,
    u32_words,
    warn_truncated,
)
from ._sniff import SNIFF_BYTES, bad_magic

__all__ = ["read_aedat3", "decode_aedat3_bytes", "write_aedat3", "MAGIC", "MAX_PACKET_BYTES",
           "POLARITY_EVENT"]

MAGIC = b"#!AER-DAT3."
PACKET_HEADER_BYTES = 28
POLARITY_EVENT = 1
POLARITY_EVENT_BYTES = 8
#: Largest packet payload (bytes) accepted as a cut-off final packet; a header claiming more than
#: the file holds *and* more than this is corrupt (cAER packets are a few thousand events).
MAX_PACKET_BYTES = 1 << 28

# scan status codes
_OK, _TRUNC_HEADER, _TRUNC_PAYLOAD, _BAD_SIZE, _IMPLAUSIBLE, _NUMBER_GT_CAPACITY = range(6)


@njit(cache=True, nogil=True)
def _le32(buf, j):
    return (np.uint32(buf[j]) | (np.uint32(buf[j + 1]) << 8) | (np.uint32(buf[j + 2]) << 16)
            | (np.uint32(buf[j + 3]) << 24))


@njit(cache=True, nogil=True)
def _scan(buf, start, use_number, max_bytes):
    """Walk the packet headers from byte ``start`` (one pass).

    Returns ``(polarity packets, polarity events, status, offset, value, pk)`` where ``pk`` is a
    ``(4, >= packets)`` int64 array whose rows hold, per polarity packet: byte offset of its
    events, events to decode, eventTSOverflow, and the index of its first event in the output.
    ``pk`` grows by doubling (at most 32 bytes per 28-byte packet header of the file); nothing
    else is allocated, so a corrupt header is reported before any event array exists.
    """
    n = buf.shape[0]
    pos = start
    npk = 0
    nev = 0
    pk = np.empty((4, 64), np.int64)
    while pos < n:
        if n - pos < PACKET_HEADER_BYTES:
            return npk, nev, _TRUNC_HEADER, pos, n - pos, pk
        etype = np.int64(buf[pos]) | (np.int64(buf[pos + 1]) << 8)
        esize = np.int64(_le32(buf, pos + 4))
        ovf = np.int64(_le32(buf, pos + 12))
        cap = np.int64(_le32(buf, pos + 16))
        num = np.int64(_le32(buf, pos + 20))
        data = pos + PACKET_HEADER_BYTES
        remaining = n - data
        if etype == POLARITY_EVENT and esize != POLARITY_EVENT_BYTES:
            return npk, nev, _BAD_SIZE, pos + 4, esize, pk
        # cap * esize can reach 2**64: compare by division so nothing overflows
        over = esize != 0 and cap > remaining // esize
        if over:
            if cap > max_bytes // esize:
                return npk, nev, _IMPLAUSIBLE, pos, cap, pk
            if num > cap:
                return npk, nev, _NUMBER_GT_CAPACITY, pos + 20, num, pk
        elif use_number and etype == POLARITY_EVENT and num > cap:
            return npk, nev, _NUMBER_GT_CAPACITY, pos + 20, num, pk
        payload = cap * esize
        if etype == POLARITY_EVENT:
            count = num if use_number else cap
            if over:
                count = min(count, remaining // POLARITY_EVENT_BYTES)
            if npk == pk.shape[1]:
                grown = np.empty((4, 2 * npk), np.int64)
                grown[:, :npk] = pk
                pk = grown
            pk[0, npk] = data
            pk[1, npk] = count
            pk[2, npk] = ovf
            pk[3, npk] = nev
            npk += 1
            nev += count
        if over:
            return npk, nev, _TRUNC_PAYLOAD, pos, payload, pk
        pos = data + payload
    return npk, nev, _OK, pos, 0, pk


@njit(cache=True, nogil=True)
def _touch_pages(buf, lo, hi):
    """Read one byte per 4 KiB page of ``buf[lo:hi]`` (maps a memory-mapped file's pages)."""
    s = np.uint64(0)
    for i in range(lo, hi, 4096):
        s += buf[i]
    return s


#: Buffers at least this large get their second half paged in by a pool thread while the
#: packet scan (serial, and the first to touch a memory-mapped file) walks the first half.
PREFAULT_MIN_BYTES = 8 << 20


@njit(cache=True, nogil=True)
def _decode_packets(lo, hi, w, align, pk_src, pk_n, pk_ovf, pk_out, t, x, y, p):
    """Decode every slot of polarity packets [lo, hi) to their output positions.

    ``w`` views the file as uint32 words starting at byte ``align``. Used when every payload
    starts at a byte offset congruent to ``align`` modulo 4 (true unless a non-polarity packet
    has a payload size that is not a multiple of 4; the caller checks).
    """
    for k in range(lo, hi):
        src = (pk_src[k] - align) >> 2
        o = pk_out[k]
        cnt = pk_n[k]
        high = pk_ovf[k] << 31
        # 0-based views of the packet: this simple indexing lets LLVM vectorise the loop
        ww = w[src:src + 2 * cnt]
        tt = t[o:o + cnt]
        xx = x[o:o + cnt]
        yy = y[o:o + cnt]
        pp = p[o:o + cnt]
        for i in range(cnt):
            d = ww[2 * i]
            tt[i] = np.int64(ww[2 * i + 1]) | high
            xx[i] = (d >> 17) & 0x1FFF
            yy[i] = (d >> 2) & 0x1FFF
            pp[i] = (d >> 1) & 1
    return 0


@njit(cache=True, nogil=True)
def _decode_packets_bytes(lo, hi, buf, pk_src, pk_n, pk_ovf, pk_out, t, x, y, p):
    """Like :func:`_decode_packets` but reading bytes: for payloads at any alignment."""
    for k in range(lo, hi):
        src = pk_src[k]
        o = pk_out[k]
        high = pk_ovf[k] << 31
        for i in range(pk_n[k]):
            j = src + POLARITY_EVENT_BYTES * i
            d = _le32(buf, j)
            t[o + i] = np.int64(_le32(buf, j + 4)) | high
            x[o + i] = (d >> 17) & 0x1FFF
            y[o + i] = (d >> 2) & 0x1FFF
            p[o + i] = (d >> 1) & 1
    return 0


@njit(cache=True, nogil=True)
def _decode_valid(buf, npk, pk_src, pk_n, pk_ovf, t, x, y, p):
    """Decode only events with the valid bit set (serial, compacting); returns events written."""
    o = 0
    for k in range(npk):
        src = pk_src[k]
        high = pk_ovf[k] << 31
        for i in range(pk_n[k]):
            j = src + POLARITY_EVENT_BYTES * i
            d = _le32(buf, j)
            if (d & 1) == 0:
                continue
            t[o] = np.int64(_le32(buf, j + 4)) | high
            x[o] = (d >> 17) & 0x1FFF
            y[o] = (d >> 2) & 0x1FFF
            p[o] = (d >> 1) & 1
            o += 1
    return o


def _parse_header(buf: np.ndarray, name: str) -> int:
    if buf.shape[0] == 0:
        raise FormatError(name, 0, "empty file, expected an '#!AER-DAT3.1' header line")
    if not header_first_line(buf).startswith(MAGIC):
        raise FormatError(name, 0, bad_magic("AEDAT 3.x", "#!AER-DAT3.",
                                             bytes(buf[:SNIFF_BYTES])))
    return end_header_end(buf, name)


def decode_aedat3_bytes(data, name="<buffer>", *, valid_only: bool = False,
                        on_truncated: str = "warn") -> Events:
    """Decode an AEDAT 3.1 file held in memory (polarity packets only).

    Parameters
    ----------
    data : bytes, bytearray, memoryview or np.ndarray
        The whole file content, header included (e.g. read from ``DvsGesture.tar.gz``).
    name : str
        Shown in errors and warnings.
    valid_only : bool
        False (default, SpikingJelly-compatible): decode all eventCapacity slots and keep events
        whose valid bit is 0. True: decode eventNumber events and drop invalid ones.
    on_truncated : {"warn", "error"}
        What to do when the file ends inside its last packet.

    Returns
    -------
    Events
        ``t`` int64 us, ``x``/``y`` int16 pixels, ``p`` int8; shape ``(N,)`` each, file order.
    """
    check_on_truncated(on_truncated)
    name = display_name(name)
    buf = as_uint8(data)
    start = _parse_header(buf, name)
    size = int(buf.shape[0])
    touch = None
    if size >= PREFAULT_MIN_BYTES and _num_threads() > 1:
        touch = _common._pool().submit(_touch_pages, buf, size // 2, size)
    try:
        npk, nev, status, where, value, pk = _scan(buf, start, bool(valid_only),
                                                   MAX_PACKET_BYTES)
    finally:
        # never return (the caller may unmap ``buf``) while a worker still reads it
        if touch is not None and not touch.cancel():
            touch.result()
    remaining = int(buf.shape[0]) - int(where) - PACKET_HEADER_BYTES
    if status == _BAD_SIZE:
        raise FormatError(name, int(where), f"polarity packet with eventSize {int(value)}, "
                                            f"expected {POLARITY_EVENT_BYTES}")
    if status == _IMPLAUSIBLE:
        esize = int(np.frombuffer(buf, "<u4", count=1, offset=int(where) + 4)[0])
        raise FormatError(name, int(where), f"packet header claims {int(value) * esize} bytes of "
                                            f"events ({int(value)} x {esize})"
                                            f" but only {max(remaining, 0)} bytes remain in the "
                                            "file (corrupt packet header)")
    if status == _NUMBER_GT_CAPACITY:
        raise FormatError(name, int(where), f"packet eventNumber {int(value)} exceeds its "
                                            "eventCapacity (corrupt packet header)")
    if status in (_TRUNC_HEADER, _TRUNC_PAYLOAD):
        if status == _TRUNC_HEADER:
            msg = (f"file ends inside a packet header ({int(value)} of "
                   f"{PACKET_HEADER_BYTES} bytes)")
        else:
            msg = (f"file ends inside the packet starting here (it claims {int(value)} bytes of "
                   f"events, {remaining} remain)")
        if on_truncated == "error":
            raise FormatError(name, int(where), msg + " (pass on_truncated='warn' to keep the "
                                                      f"{int(nev)} complete events)")
        warn_truncated(name, int(where), msg, int(nev))
    if nev == 0:
        return empty_events()
    npk = int(npk)
    pk_src, pk_n, pk_ovf, pk_out = pk[0, :npk], pk[1, :npk], pk[2, :npk], pk[3, :npk]
    t, x, y, p = alloc_events(int(nev))
    if valid_only:
        k = _decode_valid(buf, npk, pk_src, pk_n, pk_ovf, t, x, y, p)
        return finish_events(t, x, y, p, int(k))
    nthreads = _num_threads()
    if nev >= _common.parallel_threshold and nthreads > 1 and npk > 1:
        chunks = 2 * nthreads
        targets = [int(nev) * c // chunks for c in range(1, chunks)]
        inner = np.searchsorted(pk_out, targets).tolist()
        bounds = sorted(set([0] + inner + [int(npk)]))
    else:
        bounds = [0, int(npk)]
    align = start % 4
    if np.any((pk_src - align) & 3):
        # a non-polarity packet of odd size shifted the payloads: read bytewise
        run_chunked(_decode_packets_bytes, int(npk), (buf, pk_src, pk_n, pk_ovf, pk_out,
                                                      t, x, y, p), bounds=bounds)
    else:
        w = u32_words(buf, align, (int(buf.shape[0]) - align) // 4)
        run_chunked(_decode_packets, int(npk), (w, align, pk_src, pk_n, pk_ovf, pk_out,
                                                t, x, y, p), bounds=bounds)
    return finish_events(t, x, y, p)


def read_aedat3(path, *, valid_only: bool = False, on_truncated: str = "warn") -> Events:
    """Read an AEDAT 3.1 ``.aedat`` file. See :func:`decode_aedat3_bytes` for the parameters.

    The file is read once (memory-mapped when large). Raises :class:`FormatError` naming the file
    and byte offset when it is malformed.
    """
    with FileBuffer(path) as buf:
        return decode_aedat3_bytes(buf, name=path, valid_only=valid_only,
                                   on_truncated=on_truncated)


def _header_bytes(header_lines: Optional[Iterable[str]], source_id: int) -> bytes:
    lines = ["#!AER-DAT3.1", "#Format: RAW", f"#Source {source_id}: DVS128"]
    for item in (header_lines or ()):
        for line in str(item).splitlines() or [""]:
            lines.append(line if line.startswith("#") else "#" + line)
    lines.append("#!END-HEADER")
    return "".join(line + "\r\n" for line in lines).encode("utf-8")


def encode_polarity_packet(events, source_id: int = 1) -> bytes:
    """One AEDAT 3.1 polarity packet (header + events) for events sharing ``t >> 31``.

    Used by :func:`write_aedat3` and handy for building test files by hand.
    """
    ev = as_events(events)
    t = np.asarray(ev["t"], np.int64)
    n = int(t.shape[0])
    ovf = int(t[0]) >> 31 if n else 0
    if n and (int(t.min()) >> 31 != ovf or int(t.max()) >> 31 != ovf):
        raise ValueError("all events of one packet must share t >> 31")
    rec = np.empty((n, 2), "<u4")
    rec[:, 0] = ((ev["x"].astype(np.uint32) << 17) | (ev["y"].astype(np.uint32) << 2)
                 | (ev["p"].astype(np.uint32) << 1) | 1)
    rec[:, 1] = (t & 0x7FFFFFFF).astype(np.uint32)
    head = np.array([POLARITY_EVENT | (source_id << 16), POLARITY_EVENT_BYTES, 4, ovf, n, n, n],
                    "<u4")
    return head.tobytes() + rec.tobytes()


def write_aedat3(path, events, packet_size: int = 4096,
                 header_lines: Optional[Iterable[str]] = None, source_id: int = 1) -> None:
    """Write events as an AEDAT 3.1 file of polarity packets.

    Parameters
    ----------
    path : path-like
    events : Events or mapping with t, x, y, p
        ``0 <= x, y < 8192`` pixels, ``p`` in {0, 1}, ``t >= 0`` us (any int64; values of
        ``2**31`` and more are carried by the packets' eventTSOverflow field).
    packet_size : int
        Events per packet (a new packet also starts wherever ``t >> 31`` changes).
    header_lines : iterable of str, optional
        Extra ``#`` header lines (a ``#`` is prefixed where missing).
    source_id : int
        eventSource written in every packet header.

    Every event is written with its valid bit set; eventCapacity = eventNumber = eventValid.
    """
    if packet_size < 1:
        raise ValueError("packet_size must be >= 1")
    ev = as_events(events)
    t = np.asarray(ev["t"], np.int64)
    n = int(t.shape[0])
    if n:
        for k in ("x", "y"):
            if int(ev[k].min()) < 0 or int(ev[k].max()) >= 8192:
                raise ValueError(f"AEDAT 3.1 polarity events hold {k} in 0..8191")
        if int(ev["p"].min()) < 0 or int(ev["p"].max()) > 1:
            raise ValueError("polarity must be 0 or 1")
        if int(t.min()) < 0:
            raise ValueError("timestamps must be >= 0")
    ovf = t >> 31
    edges = [0]
    if n:
        changes = (np.flatnonzero(ovf[1:] != ovf[:-1]) + 1).tolist() + [n]
        lo = 0
        for hi in changes:
            edges.extend(range(lo + packet_size, hi, packet_size))
            edges.append(hi)
            lo = hi
    with open(os.fspath(path), "wb") as fh:
        fh.write(_header_bytes(header_lines, source_id))
        for a, b in zip(edges[:-1], edges[1:]):
            fh.write(encode_polarity_packet(ev.slice(a, b), source_id))
