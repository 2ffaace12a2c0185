"""The parsed structure of an AEDAT 4.0 buffer: IOHeader, stream description, packets, data
table, and the decompression of one payload (helpers of :mod:`evframes.formats.aedat4`).

All checks raise :class:`FormatError` with the file and byte offset; no size read from the file
is allocated before it is checked against the bytes that hold it (see
:mod:`evframes.formats.aedat4_layout`).
"""
from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from typing import Dict, Optional

import numpy as np

from ..errors import FormatError
from . import aedat4_layout as L
from ._sniff import SNIFF_BYTES, bad_magic

__all__ = ["Aedat4File"]

_TLS = threading.local()


def _zstd():
    dctx = getattr(_TLS, "zstd", None)
    if dctx is None:
        import zstandard
        dctx = _TLS.zstd = zstandard.ZstdDecompressor()
    return dctx


class Aedat4File:
    """The parsed structure of one AEDAT 4 buffer: header, streams, packets, data table."""

    def __init__(self, buf: np.ndarray, name: str, stream: Optional[int]):
        buf = buf.view()
        buf.flags.writeable = False    # every kernel sees read-only buffers: one compiled variant
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
        out = np.frombuffer(data, np.uint8)
        out.flags.writeable = False
        return out

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
