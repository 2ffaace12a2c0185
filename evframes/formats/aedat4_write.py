"""Writing AEDAT 4.0 files (read back by evframes, dv-processing, aedat and faery).

The flatbuffers are laid out by hand (see :mod:`evframes.formats.aedat4_layout` for the wire
format and why there is no flatbuffers dependency), with every field at its natural alignment
counted from the start of the size-prefixed buffer, as the Rust verifier used by aedat/faery
requires: an EventPacket is ``size | root | "EVTS" | vtable | table | u32 n | n x 16-byte
events``; triggers and the data table use one shared vtable for all their element tables.
A file is: ``#!AER-DAT4.0\\r\\n``, the IOHeader (compression, data table position, XML
description of the events stream and, when given, a trigger stream), the packets (events and
triggers interleaved by time), then the data table (one entry per packet), whose position is
patched into the IOHeader at the end, as dv-processing does.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple

import numpy as np

from ..events import as_events
from .aedat4_layout import MAGIC

__all__ = ["write_aedat4", "COMPRESSION_CODES"]

#: compression name -> IOHeader code (dv-processing CompressionType)
COMPRESSION_CODES = {"none": 0, "lz4": 1, "lz4_high": 2, "zstd": 3, "zstd_high": 4}
_EVENT = np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("on", "u1"), ("pad", "V3")])
_TRIGGER = np.dtype([("soffset", "<i4"), ("source", "i1"), ("pad", "V3"), ("t", "<i8")])
_ENTRY = np.dtype([("soffset", "<i4"), ("offset", "<i8"), ("n", "<i8"), ("t0", "<i8"),
                   ("t1", "<i8"), ("sid", "<i4"), ("size", "<i4"), ("pad", "V4")])


def _u32(*values) -> bytes:
    return np.array(values, "<u4").tobytes()


def _u16(*values) -> bytes:
    return np.array(values, "<u2").tobytes()


def _root_vector(ident: bytes, count: int) -> bytes:
    """The first 32 bytes shared by the packet buffers (size field left 0): size, root offset,
    identifier, 2 bytes padding, root vtable ``(6, 8, field 0 at 4)``, the root table (its
    soffset and the offset of the vector) and the vector length."""
    return (_u32(0, 16) + ident + b"\0\0" + _u16(6, 8, 4) + np.array([6], "<i4").tobytes()
            + _u32(4, count))


def _finish(buf: bytearray) -> bytes:
    buf[0:4] = _u32(len(buf) - 4)
    return bytes(buf)


def event_packet(t, x, y, p) -> bytes:
    """A size-prefixed EventPacket flatbuffer of the given events (uncompressed)."""
    n = int(len(t))
    rec = np.zeros(n, _EVENT)
    rec["t"], rec["x"], rec["y"], rec["on"] = t, x, y, p
    return _finish(bytearray(_root_vector(b"EVTS", n) + rec.tobytes()))


def trigger_packet(t, kind) -> bytes:
    """A size-prefixed TriggerPacket flatbuffer (``t`` int64 us, ``kind`` int8)."""
    n = int(len(t))
    head = _root_vector(b"TRIG", n)
    first = 32 + 4 * n
    first += (-first) % 8                       # element tables 8-aligned (their t is i64)
    tables = np.zeros(n, _TRIGGER)
    starts = first + 16 * np.arange(n, dtype=np.int64)
    vtable_at = first + 16 * n
    tables["soffset"] = starts - vtable_at      # negative: the shared vtable follows
    tables["source"], tables["t"] = kind, t
    offsets = (starts - (32 + 4 * np.arange(n, dtype=np.int64))).astype("<u4")
    body = head + offsets.tobytes() + b"\0" * (first - 32 - 4 * n) + tables.tobytes()
    return _finish(bytearray(body + _u16(8, 16, 8, 4)))


def data_table(rows) -> bytes:
    """A size-prefixed FileDataTable: rows of (payload offset, stream id, size, elements, first
    t, last t)."""
    n = len(rows)
    head = _root_vector(b"FTAB", n)
    first = 32 + 4 * n
    first += (4 - first) % 8                    # tables at 4 mod 8: their i64 fields 8-aligned
    starts = first + 48 * np.arange(n, dtype=np.int64)
    vtable_at = first + 48 * n
    ent = np.zeros(n, _ENTRY)
    ent["soffset"] = starts - vtable_at
    if n:
        r = np.asarray(rows, np.int64)
        ent["offset"], ent["sid"], ent["size"] = r[:, 0], r[:, 1], r[:, 2]
        ent["n"], ent["t0"], ent["t1"] = r[:, 3], r[:, 4], r[:, 5]
    offsets = (starts - (32 + 4 * np.arange(n, dtype=np.int64))).astype("<u4")
    body = head + offsets.tobytes() + b"\0" * (first - 32 - 4 * n) + ent.tobytes()
    return _finish(bytearray(body + _u16(14, 44, 4, 36, 12, 20, 28) + b"\0" * 2))


def ioheader(code: int, description: str, table_pos: int = -1) -> Tuple[bytes, int]:
    """The size-prefixed IOHeader and the offset (within it) of its dataTablePosition field."""
    text = description.encode("utf-8")
    body = (_u32(0, 20) + b"IOHE" + _u16(10, 20, 4, 8, 16) + b"\0\0"
            + np.array([12, code], "<i4").tobytes() + np.array([table_pos], "<i8").tobytes()
            + _u32(4, len(text)) + text + b"\0")
    body += b"\0" * ((-len(body)) % 8)
    return _finish(bytearray(body)), 32


def description(width: int, height: int, compression: str, triggers: bool) -> str:
    """The XML stream description (an events stream 0, a trigger stream 1 when asked)."""
    comp = compression.split("_")[0].upper()
    base = "/mainloop/Recorder/outInfo/"

    def stream(sid, output, what, ident, info):
        attrs = [("compression", "string", comp), ("originalModuleName", "string", "evframes"),
                 ("originalOutputName", "string", output), ("typeDescription", "string", what),
                 ("typeIdentifier", "string", ident)]
        lines = [f'        <node name="{sid}" path="{base}{sid}/">']
        lines += [f'            <attr key="{k}" type="{t}">{v}</attr>' for k, t, v in attrs]
        lines.append(f'            <node name="info" path="{base}{sid}/info/">')
        lines += [f'                <attr key="{k}" type="{t}">{v}</attr>' for k, t, v in info]
        lines += ["            </node>", "        </node>"]
        return lines
    src = [("source", "string", "evframes"), ("tsOffset", "long", "0")]
    lines = ['<dv version="2.0">', f'    <node name="outInfo" path="{base}">']
    lines += stream(0, "events", "Array of events (polarity ON/OFF).", "EVTS",
                    [("sizeX", "int", str(width)), ("sizeY", "int", str(height))] + src)
    if triggers:
        lines += stream(1, "triggers", "External triggers and special signals.", "TRIG", src)
    lines += ["    </node>", "</dv>", ""]
    return "\n".join(lines)


def compressor(compression: str):
    """bytes -> bytes for a compression name (frames as DV writes them)."""
    if compression == "none":
        return lambda data: data
    if compression.startswith("lz4"):
        import lz4.frame
        level = 9 if compression == "lz4_high" else 0
        return lambda data: lz4.frame.compress(data, compression_level=level)
    import zstandard
    cctx = zstandard.ZstdCompressor(level=19 if compression == "zstd_high" else 3)
    return cctx.compress


def write_aedat4(path, events, *, sensor_size: Tuple[int, int], compression: str = "lz4",
                 packet_events: int = 10_000, triggers: Optional[np.ndarray] = None) -> None:
    """Write events (and optionally triggers) as an AEDAT 4.0 file with a data table.

    Parameters
    ----------
    path : path-like
    events : Events or mapping with t, x, y, p
        ``t`` int64 microseconds (stored as is; peers such as faery expect it non-decreasing),
        ``0 <= x < W``, ``0 <= y < H`` pixels, ``p`` in {0, 1}.
    sensor_size : (W, H)
        Pixels, each 1..32767 (the description's sizeX/sizeY).
    compression : {"lz4", "zstd", "none", "lz4_high", "zstd_high"}
    packet_events : int
        Events per packet (DV writes a packet every few milliseconds).
    triggers : structured array with ``t`` and ``kind``, optional
        Written as a trigger stream (id 1), e.g. the ``triggers`` of ``read_aedat4(...,
        with_triggers=True)``.
    """
    if compression not in COMPRESSION_CODES:
        raise ValueError(f"compression must be one of {sorted(COMPRESSION_CODES)}, "
                         f"got {compression!r}")
    if packet_events < 1:
        raise ValueError("packet_events must be >= 1")
    width, height = (int(v) for v in sensor_size)
    if not (0 < width <= 32767 and 0 < height <= 32767):
        raise ValueError(f"sensor_size must be (W, H) with 1 <= W, H <= 32767, got "
                         f"{sensor_size!r}")
    ev = as_events(events)
    n = len(ev)
    if n:
        for k, hi in (("x", width), ("y", height)):
            if int(ev[k].min()) < 0 or int(ev[k].max()) >= hi:
                raise ValueError(f"{k} must lie in 0..{hi - 1} for sensor_size {sensor_size}")
        if int(ev["p"].min()) < 0 or int(ev["p"].max()) > 1:
            raise ValueError("polarity must be 0 or 1")
    packets = [(int(ev["t"][a]), 0, a, min(a + packet_events, n))
               for a in range(0, n, packet_events)]
    if triggers is not None:
        tt = np.asarray(triggers["t"], np.int64)
        tk = np.asarray(triggers["kind"], np.int8)
        packets += [(int(tt[a]), 1, a, min(a + packet_events, len(tt)))
                    for a in range(0, len(tt), packet_events)]
        packets.sort(key=lambda q: (q[0], q[1]))
    pack = compressor(compression)
    code = COMPRESSION_CODES[compression]
    head, field = ioheader(code, description(width, height, compression, triggers is not None))
    rows = []
    with open(os.fspath(path), "wb") as fh:
        fh.write(MAGIC + head)
        pos = len(MAGIC) + len(head)
        for _, sid, a, b in packets:
            if sid == 0:
                data = pack(event_packet(ev["t"][a:b], ev["x"][a:b], ev["y"][a:b],
                                         ev["p"][a:b]))
                t0, t1 = int(ev["t"][a]), int(ev["t"][b - 1])
            else:
                data = pack(trigger_packet(tt[a:b], tk[a:b]))
                t0, t1 = int(tt[a]), int(tt[b - 1])
            fh.write(_u32(sid, len(data)) + data)
            rows.append((pos + 8, sid, len(data), b - a, t0, t1))
            pos += 8 + len(data)
        fh.write(pack(data_table(rows)))
        fh.seek(len(MAGIC) + field)
        fh.write(np.array([pos], "<i8").tobytes())
