"""AEDAT 4 byte layout: hand-parsed flatbuffers, the IOHeader, packet and compressed-frame walks.

Everything here is bounds-checked and allocates nothing sized by the file before a check; the
kernels return status codes that :mod:`evframes.formats.aedat4` turns into FormatErrors.

Why no ``flatbuffers`` dependency: the reader needs five tables (IOHeader, EventPacket,
TriggerPacket/Trigger, FileDataTable/FileDataDefinition) and a handful of their fields. The
flatbuffers wire format for those is small (below), and parsing it by hand inside Numba kernels
lets the event vector be decoded straight from the decompressed buffer without a Python object
per packet; the official Python runtime is pure Python per field and would be the bottleneck.

Flatbuffers facts used (little-endian): a *size-prefixed* buffer starts with ``u32 size`` (bytes
that follow), then ``u32 root`` (offset of the root table from byte 4) and the 4-byte file
identifier. A table starts with ``i32 soffset``: its vtable is at ``table - soffset``; a vtable is
``u16 vtable bytes, u16 table bytes, u16 field offset[...]`` (0 = field absent, i.e. default). A
string or vector field holds a ``u32`` offset from the field itself to ``u32 length`` followed by
the elements; a vector of tables holds ``u32`` offsets (each from its own position).
"""
from __future__ import annotations

import numpy as np

from .._jit import njit

MAGIC = b"#!AER-DAT4.0\r\n"
#: IOHeader compression codes -> names (dv-processing's CompressionType)
COMPRESSIONS = {0: "none", 1: "lz4", 2: "lz4_high", 3: "zstd", 4: "zstd_high"}
#: A decompressed packet can hold at most this (a flatbuffer is addressed by 31-bit offsets).
MAX_PACKET_BYTES = (1 << 31) - 1
EVENT_BYTES = 16  # struct Event {i64 t; i16 x; i16 y; bool on; 3 bytes padding}
IDENT_EVENTS = np.frombuffer(b"EVTS", np.uint8).copy()
IDENT_TRIGGERS = np.frombuffer(b"TRIG", np.uint8).copy()
IDENT_TABLE = np.frombuffer(b"FTAB", np.uint8).copy()

# status codes shared by the kernels
OK, TRUNC, BAD = 0, 1, 2


@njit(cache=True, nogil=True)
def _u16(d, i):
    return np.int64(d[i]) | (np.int64(d[i + 1]) << 8)


@njit(cache=True, nogil=True)
def _u32(d, i):
    return (np.int64(d[i]) | (np.int64(d[i + 1]) << 8) | (np.int64(d[i + 2]) << 16)
            | (np.int64(d[i + 3]) << 24))


@njit(cache=True, nogil=True)
def _i32(d, i):
    v = _u32(d, i)
    return v - (np.int64(1) << 32) if v >= (np.int64(1) << 31) else v


@njit(cache=True, nogil=True)
def _i64(d, i):
    v = np.uint64(0)
    for k in range(8):
        v |= np.uint64(d[i + k]) << np.uint64(8 * k)
    return np.int64(v)


@njit(cache=True, nogil=True)
def fb_table(d, end, tpos):
    """Locate the vtable of the table at ``tpos``: (ok, vtable pos, vtable bytes, table bytes)."""
    if tpos < 0 or tpos + 4 > end:
        return False, 0, 0, 0
    vt = tpos - _i32(d, tpos)
    if vt < 0 or vt + 4 > end:
        return False, 0, 0, 0
    vsz = _u16(d, vt)
    tsz = _u16(d, vt + 2)
    if vsz < 4 or (vsz & 1) or vt + vsz > end or tsz < 4 or tpos + tsz > end:
        return False, 0, 0, 0
    return True, vt, vsz, tsz


@njit(cache=True, nogil=True)
def fb_field(d, tpos, vt, vsz, tsz, idx, width):
    """Position of field ``idx`` (``width`` bytes) of a table; -1 absent, -2 outside the table."""
    o = 4 + 2 * idx
    if o + 2 > vsz:
        return -1
    f = _u16(d, vt + o)
    if f == 0:
        return -1
    if f + width > tsz:
        return -2
    return tpos + f


@njit(cache=True, nogil=True)
def fb_vector(d, end, fpos, elem_bytes):
    """The vector whose offset is at ``fpos``: (ok, position of element 0, length)."""
    v = fpos + _u32(d, fpos)
    if v + 4 > end:
        return False, 0, 0
    n = _u32(d, v)
    if n > (end - v - 4) // elem_bytes:
        return False, 0, 0
    return True, v + 4, n


@njit(cache=True, nogil=True)
def fb_root(d, ident):
    """Root table of a size-prefixed buffer: (status, table pos, end); status 0 ok, 1 buffer or
    offsets out of range, 2 identifier differs from ``ident`` (4 bytes; empty = not checked)."""
    n = d.shape[0]
    if n < 12:
        return 1, 0, 0
    end = 4 + _u32(d, 0)
    if end > n or end < 12:
        return 1, 0, 0
    for k in range(ident.shape[0]):
        if d[8 + k] != ident[k]:
            return 2, 0, 0
    return 0, 4 + _u32(d, 4), end


@njit(cache=True, nogil=True)
def packet_vector(d, ident, elem_bytes):
    """Field 0 vector of a size-prefixed packet (EventPacket / TriggerPacket ``elements``).

    Returns (status, element 0 pos, length, end): status 0 ok (length 0 when the field is
    absent), 1 malformed flatbuffer, 2 wrong identifier."""
    st, root, end = fb_root(d, ident)
    if st != 0:
        return st, 0, 0, 0
    ok, vt, vsz, tsz = fb_table(d, end, root)
    if not ok:
        return 1, 0, 0, 0
    f = fb_field(d, root, vt, vsz, tsz, 0, 4)
    if f == -1:
        return 0, 0, 0, end
    if f == -2:
        return 1, 0, 0, 0
    ok, e0, n = fb_vector(d, end, f, elem_bytes)
    return (0 if ok else 1), e0, n, end


@njit(cache=True, nogil=True)
def head_vector(d, ident):
    """Like :func:`packet_vector` from only the first bytes ``d`` of a decompressed packet.

    Returns (status, element 0 pos, length, declared end): the offsets leading to the vector
    must lie in ``d``; the length is not checked (the caller checks it against the declared
    size)."""
    n = d.shape[0]
    if n < 12:
        return 1, 0, 0, 0
    for k in range(ident.shape[0]):
        if d[8 + k] != ident[k]:
            return 2, 0, 0, 0
    declared = 4 + _u32(d, 0)
    root = 4 + _u32(d, 4)
    ok, vt, vsz, tsz = fb_table(d, n, root)
    if not ok:
        return 1, 0, 0, 0
    f = fb_field(d, root, vt, vsz, tsz, 0, 4)
    if f == -1:
        return 0, 0, 0, declared
    if f == -2 or f + 4 > n:
        return 1, 0, 0, 0
    v = f + _u32(d, f)
    if v + 4 > n:
        return 1, 0, 0, 0
    return 0, v + 4, _u32(d, v), declared


@njit(cache=True, nogil=True)
def decode_events(w, cnt, width, height, t, x, y, p, o):
    """Decode ``cnt`` events from ``w`` (int64 words, 2 per event) into ``t/x/y/p[o:o+cnt]``.

    Returns the index of the first event outside the ``width`` x ``height`` sensor, or -1."""
    tt = t[o:o + cnt]
    xx = x[o:o + cnt]
    yy = y[o:o + cnt]
    pp = p[o:o + cnt]
    bad = 0
    for i in range(cnt):
        tt[i] = w[2 * i]
        v = w[2 * i + 1]
        xi = np.int16(v & 0xFFFF)
        yi = np.int16((v >> 16) & 0xFFFF)
        xx[i] = xi
        yy[i] = yi
        pp[i] = 1 if (v >> 32) & 0xFF else 0
        bad |= (xi < 0) | (xi >= width) | (yi < 0) | (yi >= height)
    if bad:
        for i in range(cnt):
            if xx[i] < 0 or xx[i] >= width or yy[i] < 0 or yy[i] >= height:
                return i
    return -1


@njit(cache=True, nogil=True)
def decode_packet(d, w, expect, width, height, t, x, y, p, o):
    """Parse the EventPacket ``d`` and decode its events into ``t/x/y/p[o:]`` in one call.

    ``w`` views ``d`` as int64 words from byte 0; ``expect`` is the element count the caller
    allocated for. Returns (status, count, first off-sensor event or -1): status 0 ok, 1
    malformed, 2 wrong identifier, 3 elements not 8-byte aligned in ``d`` (nothing decoded),
    4 count differs from ``expect`` (nothing decoded)."""
    st, e0, n, end = packet_vector(d, IDENT_EVENTS, EVENT_BYTES)
    if st != 0:
        return st, 0, -1
    if n != expect:
        return 4, n, -1
    if n == 0:
        return 0, 0, -1
    if e0 & 7:
        return 3, n, -1
    q = e0 >> 3
    return 0, n, decode_events(w[q:q + 2 * n], n, width, height, t, x, y, p, o)


@njit(cache=True, nogil=True)
def decode_triggers(d, end, e0, n, t, kind, o):
    """Decode a vector of ``n`` Trigger tables (``t: i64`` field 0, ``source: i8`` field 1).

    Returns the index of the first malformed element, or -1."""
    for i in range(n):
        q = e0 + 4 * i
        tp = q + _u32(d, q)
        ok, vt, vsz, tsz = fb_table(d, end, tp)
        if not ok:
            return i
        ft = fb_field(d, tp, vt, vsz, tsz, 0, 8)
        fk = fb_field(d, tp, vt, vsz, tsz, 1, 1)
        if ft == -2 or fk == -2:
            return i
        t[o + i] = _i64(d, ft) if ft >= 0 else 0
        k = np.int64(d[fk]) if fk >= 0 else 0
        kind[o + i] = k - 256 if k >= 128 else k
    return -1


@njit(cache=True, nogil=True)
def parse_table(d):
    """FileDataTable: (status, index of a bad entry, rows) with rows ``(6, n)`` int64: byte
    offset of the packet's payload, stream id, payload size, elements, first t, last t.
    status 0 ok, 1 malformed, 2 wrong identifier."""
    rows = np.empty((6, 0), np.int64)
    st, root, end = fb_root(d, IDENT_TABLE)
    if st != 0:
        return st, -1, rows
    ok, vt, vsz, tsz = fb_table(d, end, root)
    if not ok:
        return 1, -1, rows
    f = fb_field(d, root, vt, vsz, tsz, 0, 4)
    if f < 0:
        return (0 if f == -1 else 1), -1, rows
    ok, e0, n = fb_vector(d, end, f, 4)
    if not ok:
        return 1, -1, rows
    rows = np.zeros((6, n), np.int64)
    widths = (8, 8, 8, 8, 8)
    for i in range(n):
        q = e0 + 4 * i
        tp = q + _u32(d, q)
        ok, vt, vsz, tsz = fb_table(d, end, tp)
        if not ok:
            return 1, i, rows
        for k in range(5):
            fk = fb_field(d, tp, vt, vsz, tsz, k, widths[k])
            if fk == -2 or (k == 1 and fk == -1):  # the PacketHeader struct has no default
                return 1, i, rows
            if fk == -1:
                continue
            if k == 1:
                rows[1, i] = _i32(d, fk)
                rows[2, i] = _i32(d, fk + 4)
            else:
                rows[0 if k == 0 else k + 1, i] = _i64(d, fk)
    return 0, -1, rows


@njit(cache=True, nogil=True)
def scan_packets(buf, start, end):
    """Walk ``i32 stream id, i32 size, payload`` packet headers from ``start`` to ``end``.

    Returns (packets, status, offset, pk): pk ``(3, >= packets)`` int64 rows: payload position,
    payload size, stream id. status 0 ok; 1 the last packet is cut at ``end`` (offset = its
    header); 2 a negative id or size (offset = that header)."""
    pos = start
    k = 0
    pk = np.empty((3, 64), np.int64)
    while pos < end:
        if end - pos < 8:
            return k, TRUNC, pos, pk
        sid = _i32(buf, pos)
        size = _i32(buf, pos + 4)
        if sid < 0 or size < 0:
            return k, BAD, pos, pk
        if size > end - pos - 8:
            return k, TRUNC, pos, pk
        if k == pk.shape[1]:
            grown = np.empty((3, 2 * k), np.int64)
            grown[:, :k] = pk
            pk = grown
        pk[0, k] = pos + 8
        pk[1, k] = size
        pk[2, k] = sid
        k += 1
        pos += 8 + size
    return k, OK, pos, pk


@njit(cache=True, nogil=True)
def frame_bounds(b, pos, size, zstd):
    """:func:`lz4_bound` (or :func:`zstd_bound`) of each payload ``b[pos[k]:pos[k]+size[k]]``.

    Returns (index of the first bad payload or -1, its status, offset, bounds)."""
    n = pos.shape[0]
    out = np.empty(n, np.int64)
    for k in range(n):
        if zstd:
            st, bound, where = zstd_bound(b, pos[k], pos[k] + size[k])
        else:
            st, bound, where = lz4_bound(b, pos[k], pos[k] + size[k])
        if st != OK:
            return k, st, where, out
        out[k] = bound
    return -1, OK, 0, out


@njit(cache=True, nogil=True)
def lz4_bound(b, lo, hi):
    """Walk one LZ4 frame filling ``b[lo:hi]`` without decompressing it.

    Returns (status, largest possible decompressed size, offset of a problem): status 0 ok,
    1 the frame is cut short, 2 not a valid LZ4 frame (bad magic, flags, block size, or bytes
    after its end)."""
    if hi - lo < 7:
        return TRUNC, 0, lo
    if _u32(b, lo) != 0x184D2204:
        return BAD, 0, lo
    flg = np.int64(b[lo + 4])
    bd = np.int64(b[lo + 5])
    bsid = (bd >> 4) & 7
    if (flg >> 6) != 1 or (flg & 0x02) or (bd & 0x8F) or bsid < 4:
        return BAD, 0, lo + 4
    bmax = np.int64(1) << (8 + 2 * bsid)
    j = lo + 6
    csize = np.int64(-1)
    if flg & 0x08:
        if j + 8 > hi:
            return TRUNC, 0, lo
        csize = _i64(b, j)
        j += 8
    if flg & 0x01:
        j += 4
    j += 1
    bound = np.int64(0)
    while True:
        if j + 4 > hi:
            return TRUNC, 0, j
        bs = _u32(b, j)
        if bs == 0:
            j += 4
            break
        n = bs & 0x7FFFFFFF
        if n > bmax:
            return BAD, 0, j
        if j + 4 + n > hi:
            return TRUNC, 0, j
        bound += n if bs >> 31 else bmax
        j += 4 + n + (4 if flg & 0x10 else 0)
    if flg & 0x04:
        j += 4
    if j > hi:
        return TRUNC, 0, hi
    if j != hi or csize < -1 or csize > bound:
        return BAD, 0, j
    return OK, (bound if csize < 0 else csize), 0


@njit(cache=True, nogil=True)
def zstd_bound(b, lo, hi):
    """Walk one Zstandard frame filling ``b[lo:hi]`` (RFC 8878) without decompressing it.

    Same return values as :func:`lz4_bound`."""
    if hi - lo < 6:
        return TRUNC, 0, lo
    if _u32(b, lo) != 0xFD2FB528:
        return BAD, 0, lo
    fhd = np.int64(b[lo + 4])
    fcs_flag = fhd >> 6
    single = (fhd >> 5) & 1
    if fhd & 0x08:
        return BAD, 0, lo + 4
    j = lo + 5
    window = np.int64(0)
    if not single:
        wd = np.int64(b[j])
        base = np.int64(1) << (10 + (wd >> 3))
        window = base + (base >> 3) * (wd & 7)
        j += 1
    j += (0, 1, 2, 4)[fhd & 3]
    nfcs = (single, 2, 4, 8)[fcs_flag]
    if j + nfcs > hi:
        return TRUNC, 0, lo
    fcs = np.int64(-1)
    if nfcs == 1:
        fcs = np.int64(b[j])
    elif nfcs == 2:
        fcs = _u16(b, j) + 256
    elif nfcs == 4:
        fcs = _u32(b, j)
    elif nfcs == 8:
        fcs = _i64(b, j)
    j += nfcs
    if single:
        window = fcs
    bmax = min(window, np.int64(128 * 1024))
    bound = np.int64(0)
    while True:
        if j + 3 > hi:
            return TRUNC, 0, j
        h = np.int64(b[j]) | (np.int64(b[j + 1]) << 8) | (np.int64(b[j + 2]) << 16)
        btype = (h >> 1) & 3
        bsize = h >> 3
        if btype == 3 or bsize > bmax:
            return BAD, 0, j
        content = 1 if btype == 1 else bsize
        if j + 3 + content > hi:
            return TRUNC, 0, j
        bound += bmax if btype == 2 else bsize
        j += 3 + content
        if h & 1:
            break
    if fhd & 0x04:
        j += 4
    if j > hi:
        return TRUNC, 0, hi
    if j != hi or fcs < -1 or fcs > bound:
        return BAD, 0, j
    return OK, (bound if fcs < 0 else fcs), 0
