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
from typing import Iterator, List, Optional

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
from .aedat4_file import Aedat4File as _File
from .aedat4_file import _zstd
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
