"""AEDAT 4.0 files (iniVation DV, dv-processing; e.g. DAVIS346 / DVXplorer recordings ``.aedat4``).

Layout (facts checked on a real DAVIS346 recording and against dv-processing, aedat, faery)
------------------------------------------------------------------------------------------
* ``#!AER-DAT4.0\\r\\n`` (14 bytes), then ``u32 n`` and an ``n``-byte flatbuffer *IOHeader*
  (identifier ``IOHE``): ``compression`` (0 none, 1 LZ4, 2 LZ4 high, 3 Zstd, 4 Zstd high),
  ``dataTablePosition`` (byte offset of the file's packet index, -1 when there is none) and
  ``infoNode``, an XML description of the streams: ``<dv><node name="outInfo"><node name="ID">``
  with ``typeIdentifier`` (``EVTS`` events, ``FRME`` frames, ``IMUS`` IMU, ``TRIG`` triggers)
  and, for events, an ``info`` node holding ``sizeX``/``sizeY`` (pixels).
* Packets until the data table (or the end): ``i32 stream id, i32 size`` then ``size`` bytes, one
  LZ4 or Zstd frame (or raw bytes) holding a size-prefixed flatbuffer. An *EventPacket*
  (``EVTS``) is a vector of 16-byte structs ``i64 t (us), i16 x, i16 y, bool on`` + 3 padding
  bytes; a *TriggerPacket* (``TRIG``) a vector of tables ``t: i64, source: i8``.
* The data table (``FTAB``, compressed like the packets, to the end of the file): one entry per
  packet, ``byte offset of its payload, (stream id, size), elements, first t, last t``.

Conventions
-----------
* Events come from one events stream, the lowest id (``stream=`` picks another); ``t`` is
  returned as stored: absolute microseconds (DV writes Unix time), int64; ``p = 1`` for ON. The
  IMU and frame streams are skipped; ``with_triggers=True`` also returns the trigger stream as a
  structured array ``t`` (int64 us) / ``kind`` (int8, dv-processing's TriggerType, see
  :data:`TRIGGER_KINDS`), never mixed into the events.
* ``t_start <= t < t_end`` (us, either None): with a data table, packets outside the window are
  not decompressed at all.
* Coordinates outside ``sizeX`` x ``sizeY``, a packet that does not decompress or is not an
  EventPacket, a data table that disagrees with the packets: :class:`FormatError` with the file
  and the byte offset of the packet (or table). Every size (frame blocks, vector lengths, table
  counts) is checked against the bytes that hold it before anything is allocated.
* A file cut inside its last packet, or before the data table its header announces, raises by
  default (``on_truncated="error"``); ``"warn"`` keeps the complete packets' events and emits a
  :class:`TruncatedFileWarning`.

Speed: the payload of each event packet is decompressed once (``lz4``/``zstandard``, which
release the GIL) and decoded by a Numba kernel straight from that buffer into the final arrays
(int64 word views, no intermediate copy); with a data table the output is allocated up front and
each thread decompresses and decodes its share of packets, otherwise packets are decompressed
(in parallel) first and decoded once their counts are known. :func:`iter_aedat4` walks the file
in packet-aligned chunks with the same machinery, so memory stays bounded by one chunk.
"""
from __future__ import annotations

import sys
import threading
import xml.etree.ElementTree as ET
from typing import Dict, Iterator, List, Optional

import numpy as np

from ..errors import FormatError
from ..events import Events, empty_events
from . import aedat4_layout as L
from ._common import (
    FileBuffer,
    _num_threads,
    alloc_events,
    as_uint8,
    check_on_truncated,
    display_name,
    finish_events,
    run_chunked,
    warn_truncated,
)
from ._sniff import SNIFF_BYTES, bad_magic
from .aedat4_write import write_aedat4

__all__ = ["read_aedat4", "decode_aedat4_bytes", "iter_aedat4", "probe_aedat4", "write_aedat4",
           "TRIGGER_DTYPE", "TRIGGER_KINDS"]

#: dtype of the triggers returned with ``with_triggers=True``
TRIGGER_DTYPE = np.dtype([("t", "<i8"), ("kind", "i1")])
#: Trigger ``kind`` codes (dv-processing TriggerType / the TriggerPacket schema's source)
TRIGGER_KINDS = {0: "timestamp_reset", 1: "external_signal_rising_edge",
                 2: "external_signal_falling_edge", 3: "external_signal_pulse",
                 4: "external_generator_rising_edge", 5: "external_generator_falling_edge",
                 6: "aps_frame_start", 7: "aps_frame_end", 8: "aps_exposure_start",
                 9: "aps_exposure_end"}
#: Below this many compressed bytes of event packets a file is decoded on the calling thread.
PARALLEL_MIN_BYTES = 1 << 20
_TLS = threading.local()


def _zstd():
    dctx = getattr(_TLS, "zstd", None)
    if dctx is None:
        import zstandard
        dctx = _TLS.zstd = zstandard.ZstdDecompressor()
    return dctx


class _File:
    """The parsed structure of one AEDAT 4 buffer: header, streams, packets, data table."""

    def __init__(self, buf: np.ndarray, name: str, stream: Optional[int]):
        self.buf, self.name = buf, name
        self._header()
        n = int(buf.shape[0])
        tp = self.table_pos
        end, self.cut = n, None
        if tp >= 0 and tp < self.data_start:
            raise FormatError(name, self.data_start, f"the header's data table position {tp} "
                                                     "points inside the header (corrupt header)")
        if tp >= n:
            self.cut = (n, f"file ends before the data table its header places at byte {tp}")
        elif tp >= 0:
            end = tp
        npk, status, where, pk = L.scan_packets(buf, self.data_start, end)
        self.pk = pk[:, :npk]
        if status == L.BAD:
            raise FormatError(name, int(where), "packet header with a negative stream id or size")
        if status == L.TRUNC:
            size = int(np.frombuffer(bytes(buf[where + 4:where + 8]).ljust(4, b"\0"), "<i4")[0])
            if end != n:
                raise FormatError(name, int(where), f"packet claims {size} bytes but the data "
                                  f"table starts at byte {tp} (corrupt packet header)")
            self.cut = (int(where), "file ends inside the packet starting here "
                                    f"({n - int(where)} of its {8 + size} bytes)"
                        if n - int(where) >= 8 else "file ends inside a packet header")
        sids = self.pk[2]
        unknown = ~np.isin(sids, np.array(sorted(self.streams), np.int64))
        if unknown.any():
            k = int(np.argmax(unknown))
            raise FormatError(name, int(self.pk[0, k]) - 8, f"packet of stream {int(sids[k])}, "
                              f"which the file's description does not list ({self._listing()})")
        self.rows = self._table() if tp >= 0 and self.cut is None else None
        self.events_id = self._pick(stream, "EVTS")
        self.trigger_id = next((i for i, s in sorted(self.streams.items())
                                if s["type"] == "TRIG"), None)

    # -- header ------------------------------------------------------------------------------
    def _header(self) -> None:
        buf, name = self.buf, self.name
        n = int(buf.shape[0])
        if n == 0:
            raise FormatError(name, 0, "empty file, expected an '#!AER-DAT4.0' header line")
        head = bytes(buf[:len(L.MAGIC)])
        if head != L.MAGIC:
            raise FormatError(name, 0, bad_magic("AEDAT 4.0", "#!AER-DAT4.0",
                                                 bytes(buf[:SNIFF_BYTES])))
        if n < 18:
            raise FormatError(name, 14, "file ends inside the IOHeader size")
        hsize = int(np.frombuffer(bytes(buf[14:18]), "<u4")[0])
        if hsize > n - 18:
            raise FormatError(name, 14, f"IOHeader claims {hsize} bytes but only {n - 18} "
                                        "remain (file truncated or corrupt)")
        d = buf[14:18 + hsize]
        st, root, end = L.fb_root(d, np.frombuffer(b"IOHE", np.uint8))
        ok, vt, vsz, tsz = L.fb_table(d, end, root) if st == 0 else (False, 0, 0, 0)
        fields = [L.fb_field(d, root, vt, vsz, tsz, k, w) for k, w in ((0, 4), (1, 8), (2, 4))]
        if st == 2:
            raise FormatError(name, 22, "IOHeader without its 'IOHE' identifier")
        if not ok or -2 in fields:
            raise FormatError(name, 14, "malformed IOHeader flatbuffer")
        fc, ft, fd = fields
        self.compression = 0 if fc < 0 else int(L._i32(d, fc))
        if self.compression not in L.COMPRESSIONS:
            raise FormatError(name, 14 + fc, f"unknown compression code {self.compression} "
                                             f"(known: {L.COMPRESSIONS})")
        self.table_pos = -1 if ft < 0 else int(L._i64(d, ft))
        if fd < 0:
            raise FormatError(name, 14, "IOHeader has no stream description (infoNode)")
        ok, e0, ln = L.fb_vector(d, end, fd, 1)
        if not ok:
            raise FormatError(name, 14 + fd, "IOHeader description string out of bounds")
        self.desc_offset = 14 + int(e0)
        self.description = bytes(d[e0:e0 + ln]).decode("utf-8", "replace")
        self.data_start = 18 + hsize
        self.streams = self._streams()

    def _streams(self) -> Dict[int, dict]:
        fail = lambda msg: FormatError(self.name, self.desc_offset, "stream description: " + msg)
        try:
            root = ET.fromstring(self.description.rstrip("\0"))
        except ET.ParseError as exc:
            raise fail(f"not valid XML ({exc})") from None
        out = next((c for c in root if c.tag == "node" and c.get("name") == "outInfo"), None)
        if root.tag != "dv" or out is None:
            raise fail("no <dv><node name='outInfo'> element")
        streams: Dict[int, dict] = {}
        for node in out:
            if node.tag != "node":
                continue
            try:
                sid = int(node.get("name", ""))
            except ValueError:
                raise fail(f"stream node name {node.get('name')!r} is not an id") from None
            attrs = {a.get("key"): (a.text or "") for a in node if a.tag == "attr"}
            info = next((c for c in node if c.tag == "node" and c.get("name") == "info"), None)
            iattrs = {} if info is None else {a.get("key"): (a.text or "") for a in info
                                              if a.tag == "attr"}
            streams[sid] = {"type": attrs.get("typeIdentifier", ""),
                            "name": attrs.get("originalOutputName", ""),
                            "sizeX": iattrs.get("sizeX"), "sizeY": iattrs.get("sizeY")}
        if not streams:
            raise fail("no streams")
        return streams

    def _listing(self) -> str:
        return ", ".join(f"{i}: {s['type'] or '?'}" for i, s in sorted(self.streams.items()))

    def _pick(self, stream: Optional[int], kind: str) -> int:
        fail = lambda msg: FormatError(self.name, self.desc_offset, msg)
        if stream is None:
            ids = [i for i, s in sorted(self.streams.items()) if s["type"] == kind]
            if not ids:
                raise fail(f"the file has no events stream ({kind}); its streams are "
                           f"{self._listing()}")
            stream = ids[0]
        elif self.streams.get(stream, {}).get("type") != kind:
            raise fail(f"stream {stream} is not an events stream ({self._listing()})")
        s = self.streams[stream]
        try:
            self.width, self.height = int(s["sizeX"]), int(s["sizeY"])
        except (TypeError, ValueError):
            raise fail(f"events stream {stream} has no integer sizeX/sizeY "
                       f"(got {s['sizeX']!r}, {s['sizeY']!r})") from None
        if not (0 < self.width <= 32767 and 0 < self.height <= 32767):
            raise fail(f"events stream {stream} has sensor size {self.width}x{self.height}")
        return stream

    # -- data table ----------------------------------------------------------------------------
    def _table(self) -> Optional[np.ndarray]:
        tp, n = self.table_pos, int(self.buf.shape[0])
        pos = np.array([tp], np.int64)
        d = self.inflate(pos, np.array([n - tp], np.int64), 0, what="the data table")
        st, bad, rows = L.parse_table(d)
        if st != 0:
            raise FormatError(self.name, tp, "malformed data table" + (
                f" (entry {int(bad)})" if bad >= 0 else "") + (
                ": no 'FTAB' identifier" if st == 2 else ""))
        if rows.shape[1] == 0:
            return None
        pk = self.pk
        if (rows.shape[1] != pk.shape[1] or not np.array_equal(rows[0], pk[0])
                or not np.array_equal(rows[1], pk[2]) or not np.array_equal(rows[2], pk[1])):
            raise FormatError(self.name, tp, f"the data table ({rows.shape[1]} entries) does "
                              f"not match the file's {pk.shape[1]} packets")
        return rows

    # -- payloads ----------------------------------------------------------------------------
    def select(self, sid: int, t_start=None, t_end=None) -> np.ndarray:
        """Indices of the packets of stream ``sid`` (dropping, with a data table, those that lie
        wholly outside ``[t_start, t_end)``)."""
        keep = self.pk[2] == sid
        if self.rows is not None:
            if t_start is not None:
                keep &= self.rows[5] >= t_start
            if t_end is not None:
                keep &= self.rows[4] < t_end
        return np.flatnonzero(keep)

    def bounds(self, idx: np.ndarray) -> np.ndarray:
        """Largest decompressed size of each packet in ``idx``; raises on a malformed frame."""
        pos, size = self.pk[0, idx], self.pk[1, idx]
        if self.compression == 0:
            return size.copy()
        bad, st, where, out = L.frame_bounds(self.buf, pos, size, self.compression >= 3)
        if bad >= 0:
            codec = "Zstandard" if self.compression >= 3 else "LZ4"
            what = "is cut short" if st == L.TRUNC else "is not a valid frame"
            raise FormatError(self.name, int(pos[bad]) - 8, f"{codec} data of this packet {what} "
                              f"(problem at byte {int(where)})")
        return out

    def inflate(self, pos, size, k: int, bound: Optional[int] = None, what="this packet"):
        """Decompressed payload ``k`` of the (pos, size) arrays, as a uint8 array."""
        lo, hi = int(pos[k]), int(pos[k]) + int(size[k])
        raw = self.buf[lo:hi]
        if self.compression == 0:
            return raw
        where = lo - 8 if what == "this packet" else lo
        if bound is None:
            bound = int(self.bounds_of(pos[k:k + 1], size[k:k + 1], where)[0])
        if bound > L.MAX_PACKET_BYTES:
            raise FormatError(self.name, where, f"{what} would decompress to {bound} bytes, "
                                                "more than a flatbuffer can hold")
        try:
            if self.compression <= 2:
                import lz4.frame
                data = lz4.frame.decompress(raw, return_bytearray=True)   # no final copy
            else:
                data = _zstd().decompress(raw, max_output_size=max(bound, 1))
        except Exception as exc:  # lz4: RuntimeError, zstandard: ZstdError
            raise FormatError(self.name, where, f"{what} does not decompress "
                                                f"({type(exc).__name__}: {exc})") from None
        return np.frombuffer(data, np.uint8)

    def bounds_of(self, pos, size, where):
        bad, st, at, out = L.frame_bounds(self.buf, pos, size, self.compression >= 3)
        if bad >= 0:
            raise FormatError(self.name, where, "compressed data "
                              + ("cut short" if st == L.TRUNC else "is not a valid frame")
                              + f" (problem at byte {int(at)})")
        return out

    def vector(self, d, k: int, ident, elem_bytes: int):
        st, e0, n, end = L.packet_vector(d, ident, elem_bytes)
        if st != 0:
            kind = bytes(ident).decode()
            raise FormatError(self.name, int(self.pk[0, k]) - 8, (
                f"packet of stream {int(self.pk[2, k])} is not a {kind} flatbuffer"
                if st == 2 else f"malformed {kind} flatbuffer in this packet"))
        return int(e0), int(n), int(end)


def _words(d: np.ndarray, e0: int, n: int) -> np.ndarray:
    w = np.frombuffer(d, np.int64, count=2 * n, offset=e0)
    return w.byteswap() if sys.byteorder != "little" else w


def _event_bounds(f: _File, idx: np.ndarray):
    """(bounds, counts or None): frame bounds of packets ``idx`` and, with a data table, their
    element counts (checked against what the bounds can hold)."""
    bounds = f.bounds(idx)
    if f.rows is None:
        return bounds, None
    counts = f.rows[3, idx]
    over = (counts < 0) | (counts > (bounds - 32) // L.EVENT_BYTES)
    if over.any():
        k = int(idx[int(np.argmax(over))])
        raise FormatError(f.name, f.table_pos, f"the data table claims {int(f.rows[3, k])} "
                          f"events for the packet at byte {int(f.pk[0, k]) - 8}, more than its "
                          f"{int(f.pk[1, k])} bytes can hold")
    return bounds, counts


def _check_bad(f: _File, k: int, bad: int, out, o: int) -> None:
    if bad >= 0:
        raise FormatError(f.name, int(f.pk[0, k]) - 8, f"event {bad} of this packet is at "
                          f"x={int(out[1][o + bad])}, y={int(out[2][o + bad])}, outside the "
                          f"{f.width}x{f.height} sensor of its stream")


def _decode_known(lo, hi, f, idx, bounds, counts, offs, out):
    t, x, y, p = out
    pos, size = f.pk[0], f.pk[1]
    little = sys.byteorder == "little"
    for j in range(lo, hi):
        k, o, want = int(idx[j]), int(offs[j]), int(counts[j])
        d = f.inflate(pos, size, k, int(bounds[j]))
        st = 3
        if little:    # one kernel call parses the packet and decodes it from int64 words
            w = np.frombuffer(d, np.int64, count=d.shape[0] // 8)
            st, n, bad = L.decode_packet(d, w, want, f.width, f.height, t, x, y, p, o)
        if st != 0:   # errors are reported, odd layouts decoded, by the two-step path
            e0, n, _ = f.vector(d, k, L.IDENT_EVENTS, L.EVENT_BYTES)
            if n != want:
                raise FormatError(f.name, int(pos[k]) - 8, f"packet holds {n} events, the "
                                  f"data table says {want}")
            bad = L.decode_events(_words(d, e0, n), n, f.width, f.height, t, x, y, p, o) \
                if n else -1
        _check_bad(f, k, bad, out, o)
    return 0


def _inflate_range(lo, hi, f, idx, bounds):
    held = []
    for j in range(lo, hi):
        k = int(idx[j])
        d = f.inflate(f.pk[0], f.pk[1], k, int(bounds[j]))
        e0, n, _ = f.vector(d, k, L.IDENT_EVENTS, L.EVENT_BYTES)
        held.append((d, e0, n))
    return held


def _decode_held(lo, hi, f, idx, held, offs, out):
    t, x, y, p = out
    for j in range(lo, hi):
        d, e0, n = held[j]
        if n:
            bad = L.decode_events(_words(d, e0, n), n, f.width, f.height, t, x, y, p,
                                  int(offs[j]))
            _check_bad(f, int(idx[j]), bad, out, int(offs[j]))
    return 0


def _split(weights: np.ndarray) -> List[int]:
    """Chunk edges over ``len(weights)`` packets balancing ``weights`` across the threads."""
    n = int(weights.shape[0])
    k = _num_threads()
    if k == 1 or n < 2 or int(weights.sum()) < PARALLEL_MIN_BYTES:
        return [0, n]
    cum = np.cumsum(weights)
    targets = [int(cum[-1]) * c // (2 * k) for c in range(1, 2 * k)]
    return sorted(set([0] + np.searchsorted(cum, targets).tolist() + [n]))


def _caught(lo, hi, fn, *args):
    """``fn(lo, hi, *args)``, returning a FormatError instead of raising it."""
    try:
        return fn(lo, hi, *args)
    except FormatError as exc:
        return exc


def _chunked(fn, n: int, args, edges) -> list:
    """run_chunked, raising the FormatError of the earliest failing chunk (so the error named
    does not depend on which thread finished first)."""
    parts = run_chunked(_caught, n, (fn,) + tuple(args), bounds=edges)
    for part in parts:
        if isinstance(part, FormatError):
            raise part
    return parts


def _decode(f: _File, idx: np.ndarray, held=None) -> Events:
    """Events of packets ``idx`` (``held``: their already decompressed (d, e0, n) triples)."""
    if idx.shape[0] == 0:
        return empty_events()
    counts = None
    if held is None:
        bounds, counts = _event_bounds(f, idx)
        edges = _split(f.pk[1, idx])
        if counts is None:
            held = [h for part in _chunked(_inflate_range, int(idx.shape[0]),
                                           (f, idx, bounds), edges) for h in part]
    if held is not None:
        counts = np.array([h[2] for h in held], np.int64)
    offs = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    total = int(offs[-1])
    if total == 0:
        return empty_events()
    out = alloc_events(total)
    edges = _split(f.pk[1, idx])
    if held is None:
        _chunked(_decode_known, int(idx.shape[0]), (f, idx, bounds, counts, offs, out), edges)
    else:
        _chunked(_decode_held, int(idx.shape[0]), (f, idx, held, offs, out), edges)
    return finish_events(*out)


def _window(ev: Events, t_start, t_end) -> Events:
    if (t_start is None and t_end is None) or len(ev) == 0:
        return ev
    t = ev["t"]
    keep = np.ones(t.shape[0], bool)
    if t_start is not None:
        keep &= t >= t_start
    if t_end is not None:
        keep &= t < t_end
    if keep.all():
        return ev
    return Events({k: ev[k][keep] for k in ev})


def _triggers(f: _File, t_start, t_end, idx=None) -> np.ndarray:
    """The trigger stream's triggers (in packets ``idx`` when given) in ``[t_start, t_end)``."""
    if f.trigger_id is None:
        return np.empty(0, TRIGGER_DTYPE)
    if idx is None:
        idx = f.select(f.trigger_id, t_start, t_end)
    bounds = f.bounds(idx)
    parts = []
    for j, k in enumerate(idx.tolist()):
        d = f.inflate(f.pk[0], f.pk[1], k, int(bounds[j]))
        e0, n, end = f.vector(d, k, L.IDENT_TRIGGERS, 4)
        t, kind = np.empty(n, np.int64), np.empty(n, np.int8)
        bad = L.decode_triggers(d, end, e0, n, t, kind, 0)
        if bad >= 0:
            raise FormatError(f.name, int(f.pk[0, k]) - 8, f"malformed trigger {bad} in this "
                                                           "packet")
        part = np.empty(n, TRIGGER_DTYPE)
        part["t"], part["kind"] = t, kind
        parts.append(part)
    trig = np.concatenate(parts) if parts else np.empty(0, TRIGGER_DTYPE)
    keep = np.ones(trig.shape[0], bool)
    if t_start is not None:
        keep &= trig["t"] >= t_start
    if t_end is not None:
        keep &= trig["t"] < t_end
    return trig[keep]


def _truncated(f: _File, on_truncated: str, kept: int) -> None:
    if f.cut is None:
        return
    where, msg = f.cut
    if on_truncated == "error":
        raise FormatError(f.name, where, msg + " (pass on_truncated='warn' to keep the "
                                               "events of the complete packets)")
    warn_truncated(f.name, where, msg, kept)


def decode_aedat4_bytes(data, name="<buffer>", *, t_start: Optional[int] = None,
                        t_end: Optional[int] = None, with_triggers: bool = False,
                        on_truncated: str = "error", stream: Optional[int] = None):
    """Decode an AEDAT 4.0 file held in memory (see the module docstring).

    Parameters
    ----------
    data : bytes, bytearray, memoryview or np.ndarray
        The whole file, header included.
    name : str
        Shown in errors and warnings.
    t_start, t_end : int, optional
        Keep events with ``t_start <= t < t_end`` (microseconds, as stored in the file).
    with_triggers : bool
        Also return the trigger stream (``TRIGGER_DTYPE``; empty when the file has none).
    on_truncated : {"error", "warn"}
        A file cut inside its last packet or before its data table: raise, or keep the
        complete packets with a :class:`TruncatedFileWarning`.
    stream : int, optional
        Id of the events stream to read (default: the lowest events stream id).

    Returns
    -------
    Events, or (Events, triggers) with ``with_triggers=True``
        ``t`` int64 us, ``x``/``y`` int16 pixels, ``p`` int8 0/1; shape ``(N,)``, file order.
    """
    check_on_truncated(on_truncated)
    name = display_name(name)
    f = _File(as_uint8(data), name, stream)
    ev = _window(_decode(f, f.select(f.events_id, t_start, t_end)), t_start, t_end)
    _truncated(f, on_truncated, len(ev))
    if with_triggers:
        return ev, _triggers(f, t_start, t_end)
    return ev


def read_aedat4(path, *, t_start: Optional[int] = None, t_end: Optional[int] = None,
                with_triggers: bool = False, on_truncated: str = "error",
                stream: Optional[int] = None):
    """Read an AEDAT 4.0 ``.aedat4`` file; see :func:`decode_aedat4_bytes` for the parameters.

    The file is read once (memory-mapped when large)."""
    with FileBuffer(path) as buf:
        return decode_aedat4_bytes(buf, name=path, t_start=t_start, t_end=t_end,
                                   with_triggers=with_triggers, on_truncated=on_truncated,
                                   stream=stream)


def iter_aedat4(path, chunk_events: int = 1_000_000, *, t_start: Optional[int] = None,
                t_end: Optional[int] = None, with_triggers: bool = False,
                on_truncated: str = "error", stream: Optional[int] = None) -> Iterator:
    """Yield the events of an AEDAT 4.0 file in chunks of whole packets, in file order.

    A chunk ends at the first packet boundary where it holds at least ``chunk_events`` events
    (before the ``t_start``/``t_end`` filter; empty chunks are not yielded), so memory stays
    bounded by about one chunk (the decompressed packets of one chunk plus its arrays).
    Concatenated, the chunks equal :func:`read_aedat4` with the same arguments. With
    ``with_triggers=True`` each item is ``(events, triggers)``, the triggers being those of the
    trigger packets stored before the chunk's last event packet (the rest with the last chunk).
    A truncated file raises before the first chunk (``on_truncated="error"``) or warns after
    the last one.
    """
    check_on_truncated(on_truncated)
    if chunk_events < 1:
        raise ValueError("chunk_events must be >= 1")
    name = display_name(path)
    with FileBuffer(path) as buf:
        f = _File(buf, name, stream)
        if on_truncated == "error":
            _truncated(f, on_truncated, 0)
        idx = f.select(f.events_id, t_start, t_end)
        trig = f.select(f.trigger_id, t_start, t_end) if (
            with_triggers and f.trigger_id is not None) else np.empty(0, np.int64)
        kept, tdone = 0, 0
        for ev, last in _chunks(f, idx, chunk_events):
            ev = _window(ev, t_start, t_end)
            if with_triggers:
                tnext = len(trig) if last is None else int(np.searchsorted(trig, last))
                tr = _triggers(f, t_start, t_end, trig[tdone:tnext])
                tdone = tnext
                if len(ev) or len(tr):
                    yield ev, tr
            elif len(ev):
                yield ev
            kept += len(ev)
        _truncated(f, on_truncated, kept)


def _chunks(f: _File, idx: np.ndarray, chunk_events: int):
    """(Events, index of the chunk's last packet or None for the last chunk) per chunk."""
    if f.rows is not None:
        counts = f.rows[3, idx]
        start = 0
        cum = np.cumsum(counts)
        while start < idx.shape[0]:
            base = int(cum[start - 1]) if start else 0
            stop = int(np.searchsorted(cum, base + chunk_events)) + 1
            stop = min(stop, int(idx.shape[0]))
            yield _decode(f, idx[start:stop]), (int(idx[stop - 1]) if stop < idx.shape[0]
                                                else None)
            start = stop
        return
    step = max(2 * _num_threads(), 1)
    pending: list = []
    pidx: list = []
    have = 0
    for a in range(0, int(idx.shape[0]), step):
        sub = idx[a:a + step]
        held = _inflate_range(0, int(sub.shape[0]), f, sub, f.bounds(sub))
        for k, h in zip(sub.tolist(), held):
            pending.append(h)
            pidx.append(k)
            have += h[2]
            if have >= chunk_events:
                yield (_decode(f, np.array(pidx, np.int64), pending),
                       None if k == int(idx[-1]) else k)
                pending, pidx, have = [], [], 0
    if pidx:
        yield _decode(f, np.array(pidx, np.int64), pending), None


def probe_aedat4(path) -> dict:
    """Facts about an AEDAT 4.0 file without decoding its events.

    Returns a dict: ``format`` ("aedat4"), ``width``/``height`` (pixels, from the description),
    ``events`` (from the data table, else the packets' vector lengths, read from the first
    bytes of each decompressed payload), ``t_first``/``t_last`` (us; first event of the first
    and last event of the last non-empty event packet), ``compression``, ``packets`` (event
    packets), ``data_table`` (bool), ``streams`` (id -> type) and ``truncated`` (bool).
    """
    name = display_name(path)
    with FileBuffer(path) as buf:
        f = _File(buf, name, None)
        idx = f.select(f.events_id)
        if f.rows is not None:
            counts = f.rows[3, idx]
        else:
            counts = np.array([_head_count(f, k) for k in idx.tolist()], np.int64)
        full = idx[counts > 0]
        t_first = t_last = None
        if f.rows is not None and full.shape[0]:
            t_first, t_last = int(f.rows[4, full[0]]), int(f.rows[5, full[-1]])
        elif full.shape[0]:
            t_first = int(_decode(f, full[:1])["t"][0])
            t_last = int(_decode(f, full[-1:])["t"][-1])
        return {"format": "aedat4", "width": f.width, "height": f.height,
                "events": int(counts.sum()), "t_first": t_first, "t_last": t_last,
                "compression": L.COMPRESSIONS[f.compression], "packets": int(idx.shape[0]),
                "data_table": f.rows is not None, "truncated": f.cut is not None,
                "streams": {i: s["type"] for i, s in sorted(f.streams.items())}}


def _head_count(f: _File, k: int, head: int = 256) -> int:
    """Events in packet ``k`` from the first ``head`` decompressed bytes of its payload (the
    flatbuffer builder puts the vector length before the elements), else the whole payload."""
    pos, size = int(f.pk[0, k]), int(f.pk[1, k])
    raw = f.buf[pos:pos + size]
    if f.compression == 0:
        return f.vector(raw, k, L.IDENT_EVENTS, L.EVENT_BYTES)[1]
    bound = int(f.bounds(np.array([k]))[0])
    try:
        if f.compression <= 2:
            import lz4.frame
            d = lz4.frame.LZ4FrameDecompressor().decompress(raw, max_length=head)
        else:
            d = _zstd().stream_reader(raw).read(head)
        st, e0, n, end = L.head_vector(np.frombuffer(d, np.uint8), L.IDENT_EVENTS)
        if st == 0 and end <= bound and e0 + n * L.EVENT_BYTES <= end:
            return int(n)
    except Exception:  # any doubt: the whole payload decides (and reports errors)
        pass
    d = f.inflate(f.pk[0], f.pk[1], k, bound)
    return f.vector(d, k, L.IDENT_EVENTS, L.EVENT_BYTES)[1]
