"""A seekable, read-only file over one deflate stream (a ``.gz`` file or a deflated zip
member), decompressed on demand in bounded memory: h5py opens the HDF5 file inside an archive
without it being unpacked to disk or held in memory whole.

HDF5 reads at random offsets, and a deflate stream can only be decoded forwards. So
:class:`DeflateIndex` makes one pass over the stream when the archive is first opened: it
checks the stream (CRC-32 and length: a cut or corrupt archive fails here, naming the file)
and keeps a *checkpoint* every :data:`SPACING` bytes of output (16 MiB): a copy of zlib's
decompressor state (``zlib.Decompress.copy()``: its 32 KiB window), the compressed offset
and the input not consumed yet. :class:`SeekableDeflate` then serves a read at offset ``o``
from a cache of decompressed blocks (:data:`BLOCK` = 1 MiB, at most :data:`CACHE_BLOCKS` of
them, least recently used out); a missing block is decompressed from the decoder's current
position when that is at most one spacing behind, else from the last checkpoint at or before
it (at most 16 MiB of decoding).

A deflated stream of at most :data:`WHOLE_MAX` bytes (32 MiB, the block cache's size) is
instead inflated whole at its first read, in one ISA-L call (2x zlib's speed; no block-wise
second decode), checked like the index pass, and served from memory; one that does not check
out goes the block path, which names its damage.

Memory, whatever the archive's size: the block cache (32 MiB) plus one checkpoint per 16 MiB
of uncompressed data (about 100 KB each: 0.6 % of the uncompressed size, e.g. 15 MB for a
2.5 GB file) plus one 256 KiB input chunk. Time: the index pass decodes the stream once and
the reads about once more when they go forwards (HDF5's ragged data is read in file order).
An index is kept per ``(path, member, size, mtime)`` for the last :data:`INDEX_CACHE` archives
opened in this process, so the extraction jobs of one file share it.

Formats: gzip (RFC 1952, one member; the FEXTRA, FNAME, FCOMMENT and FHCRC header fields
are skipped) and zip members stored (method 0, plain reads) or deflated (method 8); zip64
offsets as :mod:`zipfile` reads them.
"""
from __future__ import annotations

import io
import os
import struct
import threading
import zipfile
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from ..errors import DatasetError
from ..formats.inflate import crc32, inflate_at_most

BLOCK = 1 << 20          # bytes of output per cached block
SPACING = 16 * BLOCK     # bytes of output between checkpoints (a multiple of BLOCK)
CACHE_BLOCKS = 32        # decompressed blocks kept (32 MiB)
INPUT_CHUNK = 1 << 18    # compressed bytes read at a time
INDEX_CACHE = 4          # archives whose index this process keeps
#: a deflated stream of at most this many uncompressed bytes (the block cache's memory) is
#: inflated whole, once, by ISA-L, instead of block by block by zlib
WHOLE_MAX = CACHE_BLOCKS * BLOCK


@dataclass
class _Checkpoint:
    out: int             # output offset (a multiple of SPACING)
    cpos: int            # file offset of the next compressed byte to read
    tail: bytes          # compressed input read but not consumed yet
    state: object        # zlib.Decompress copy (never used itself: copied again)


@dataclass
class DeflateIndex:
    """Where a deflate stream lies in ``path`` and its checkpoints; built by
    :func:`deflate_index` (one pass, checking the stream)."""

    path: str
    where: str           # for messages: "file" or "archive:member"
    start: int           # file offset of the first compressed byte
    end: int             # file offset after the last compressed byte
    size: int            # uncompressed bytes
    method: int          # 0 stored, 8 deflate
    points: List[_Checkpoint] = field(default_factory=list)
    checked: bool = False  # the whole stream was decoded and its CRC-32 and size checked
    crc: Optional[int] = None  # a zip member's CRC-32 (from the directory)
    inflater: Optional["_Inflater"] = field(default=None, repr=False)


def _gzip_start(f, path: str) -> int:
    """Offset of the deflate data after a gzip header (RFC 1952)."""
    head = f.read(10)
    if len(head) < 10 or head[:2] != b"\x1f\x8b":
        raise DatasetError(f"{path}: not a gzip file (no gzip magic bytes)")
    if head[2] != 8:
        raise DatasetError(f"{path}: gzip compression method {head[2]} is not deflate")
    flags = head[3]
    if flags & 4:  # FEXTRA
        (n,) = struct.unpack("<H", f.read(2))
        f.seek(n, 1)
    for bit in (8, 16):  # FNAME, FCOMMENT: zero-terminated
        if flags & bit:
            while True:
                c = f.read(1)
                if not c:
                    raise DatasetError(f"{path}: gzip header is truncated")
                if c == b"\0":
                    break
    if flags & 2:  # FHCRC
        f.seek(2, 1)
    return f.tell()


def _zip_member(path: str, member: str) -> Tuple[int, int, int, int, int]:
    """``(data offset, compressed size, size, method, crc)`` of a zip member."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(member)
    except KeyError:
        raise DatasetError(f"{path}: no member {member!r} in the zip archive") from None
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError(f"{path}: not a readable zip archive ({e})") from None
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DatasetError(f"{path}:{member}: zip compression method {info.compress_type} "
                           f"is not supported (stored or deflated only)")
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise DatasetError(f"{path}:{member}: bad local file header")
        n_name, n_extra = struct.unpack("<HH", local[26:30])
    start = info.header_offset + 30 + n_name + n_extra
    return start, info.compress_size, info.file_size, info.compress_type, info.CRC


def deflate_index(path, member: Optional[str] = None, full: bool = False) -> DeflateIndex:
    """The index of ``path`` (a gzip file) or of its zip ``member``.

    ``full=False``: found lazily (checkpoints are added as reads first pass them; a gzip
    file's size is its trailer's ISIZE, exact below 4 GiB). ``full=True``: one pass now that
    decodes the whole stream, checks its CRC-32 and length and finds every checkpoint and the
    true size (what a failed lazy open falls back to, for its precise message).

    Raises
    ------
    DatasetError
        Not gzip / zip, an unsupported method, (``full``) a truncated or corrupt stream,
        naming the file (and member).
    """
    path = str(path)
    where = path if member is None else f"{path}:{member}"
    try:
        if member is None:
            with open(path, "rb") as f:
                start = _gzip_start(f, path)
                end = os.fstat(f.fileno()).st_size
                f.seek(max(start, end - 4))
                tail = f.read(4)
            size = struct.unpack("<I", tail)[0] if len(tail) == 4 else 0
            method, crc = 8, None
            end = max(start, end - 8)
        else:
            start, csize, size, method, crc = _zip_member(path, member)
            end = start + csize
        idx = DeflateIndex(path, where, start, end, size, method, crc=crc)
        if method == 0:
            if os.path.getsize(path) < end:
                raise DatasetError(f"{where}: zip member is truncated")
            idx.checked = True
            return idx
        idx.points.append(_Checkpoint(0, start, b"", zlib.decompressobj(-15)))
        if full:
            with open(path, "rb") as f:
                _index_pass(f, idx, crc)
    except OSError as e:
        raise DatasetError(f"{where}: cannot read the archive ({e})") from None
    return idx


def _index_pass(f, idx: DeflateIndex, zip_crc: Optional[int]) -> None:
    d = zlib.decompressobj(-15)
    cpos, tail, out, crc = idx.start, b"", 0, 0
    end = idx.end if zip_crc is not None else os.fstat(f.fileno()).st_size
    next_point = SPACING
    try:
        while not d.eof:
            if not tail:
                f.seek(cpos)
                tail = f.read(min(INPUT_CHUNK, end - cpos))
                cpos += len(tail)
                if not tail:
                    raise DatasetError(f"{idx.where}: compressed data is cut short after "
                                       f"{out} bytes of output (a cut download?)")
            chunk = d.decompress(tail, next_point - out)
            tail = d.unconsumed_tail
            crc = crc32(chunk, crc)
            out += len(chunk)
            if out == next_point and not d.eof:
                idx.points.append(_Checkpoint(out, cpos, bytes(tail), d.copy()))
                next_point += SPACING
    except zlib.error as e:
        raise DatasetError(f"{idx.where}: corrupt compressed data near output byte {out} "
                           f"({e})") from None
    if zip_crc is not None:
        if out != idx.size or (crc & 0xFFFFFFFF) != zip_crc:
            raise DatasetError(f"{idx.where}: CRC-32 or size does not match the zip directory "
                               f"(a damaged archive)")
        idx.checked = True
        return
    trailer = d.unused_data
    if len(trailer) < 8:
        f.seek(cpos)
        trailer += f.read(8 - len(trailer))
    if len(trailer) < 8:
        raise DatasetError(f"{idx.where}: gzip trailer is missing (a cut download)")
    want_crc, want_size = struct.unpack("<II", trailer[:8])
    if want_crc != (crc & 0xFFFFFFFF) or want_size != (out & 0xFFFFFFFF):
        raise DatasetError(f"{idx.where}: CRC-32 or size does not match the gzip trailer "
                           f"(a damaged archive)")
    rest = len(trailer) - 8 + (end - cpos)
    if rest > 0:
        raise DatasetError(f"{idx.where}: {rest} bytes after the gzip member (concatenated "
                           f"gzip members are not supported)")
    idx.size, idx.end, idx.checked = out, end - 8, True


_INDEXES: "OrderedDict[tuple, DeflateIndex]" = OrderedDict()
_LOCK = threading.Lock()


def _key(path, member):
    st = os.stat(path)
    return (str(Path(path).resolve()), member, st.st_size, st.st_mtime_ns)


def cached_index(path, member: Optional[str] = None, full: bool = False) -> DeflateIndex:
    """:func:`deflate_index`, kept for the last :data:`INDEX_CACHE` archives (keyed by path,
    member, size and modification time); ``full`` replaces a lazy index by a checked one."""
    key = _key(path, member)
    with _LOCK:
        idx = _INDEXES.get(key)
        if idx is not None and (idx.checked or not full):
            _INDEXES.move_to_end(key)
            return idx
    idx = deflate_index(path, member, full=full)
    with _LOCK:
        _INDEXES[key] = idx
        _INDEXES.move_to_end(key)
        while len(_INDEXES) > INDEX_CACHE:
            _INDEXES.popitem(last=False)
    return idx


def clear_index_cache() -> None:
    """Forget the indexes (and the streams inflated whole) this process keeps: the next open
    of an archive reads it again (benchmarks time a first open this way)."""
    with _LOCK:
        _INDEXES.clear()


class _Inflater:
    """The decoder, block cache and lazily found checkpoints of one index, shared by the
    :class:`SeekableDeflate` files opened on it (reads by ``os.pread``: no shared offset)."""

    def __init__(self, index: DeflateIndex):
        self.index = index
        self.fd = os.open(index.path, os.O_RDONLY)
        self.blocks: "OrderedDict[int, bytes]" = OrderedDict()
        self.lock = threading.Lock()
        self.d = None      # decoder at output offset self.out (a block boundary)
        self.out = 0
        self.cpos = 0
        self.tail = b""
        self.whole = None  # the whole stream (memoryview) when small; False: block by block

    def __del__(self):
        try:
            os.close(self.fd)
        except (OSError, AttributeError, TypeError):
            pass

    def block(self, k: int) -> bytes:
        with self.lock:
            blk = self.blocks.get(k)
            if blk is not None:
                self.blocks.move_to_end(k)
                return blk
            idx = self.index
            start = k * BLOCK
            need = min(BLOCK, idx.size - start)
            if self.whole is None:
                self.whole = self._whole_stream() or False
            if self.whole:
                return self.whole[start:start + need]
            if idx.method == 0:
                blk = os.pread(self.fd, need, idx.start + start)
            else:
                if self.d is None or start < self.out or start - self.out > SPACING:
                    self._restore(start)
                while self.out < start:  # skip forward (caching what passes by)
                    k0 = self.out // BLOCK
                    passed = self._inflate(BLOCK)
                    if len(passed) < BLOCK:
                        blk = b""
                        break
                    self._keep(k0, passed)
                else:
                    blk = self._inflate(need)
            if len(blk) != need:
                raise DatasetError(f"{idx.where}: compressed data ended after "
                                   f"{start + len(blk)} of {idx.size} bytes (a cut or "
                                   f"damaged archive)")
            self._keep(k, blk)
            return blk

    def _whole_stream(self) -> Optional[memoryview]:
        """The whole uncompressed stream, inflated in one ISA-L call (2x zlib's speed, no
        second decode of what the index pass decoded) and checked (CRC-32 and size), when
        it is deflated and at most :data:`WHOLE_MAX` bytes; None otherwise, and when anything
        does not check out (the block path then reports it in its words)."""
        idx = self.index
        if idx.method != 8 or idx.size > WHOLE_MAX:
            return None
        gz = idx.crc is None  # a gzip file: the trailer follows the stream
        n = idx.end - idx.start + (8 if gz else 0)
        if n > WHOLE_MAX + (WHOLE_MAX >> 3) + 1024:  # more input than such a stream needs
            return None
        raw = os.pread(self.fd, n, idx.start)
        try:
            out, rest, ended = inflate_at_most(raw, WHOLE_MAX + 1)
        except zlib.error:
            return None
        crc = crc32(out)
        if not ended or (gz and rest != struct.pack("<II", crc, len(out) & 0xFFFFFFFF)) \
                or (not gz and (len(out) != idx.size or crc != idx.crc)):
            return None
        idx.size, idx.checked = len(out), True
        return memoryview(out)

    def _keep(self, k: int, blk: bytes) -> None:
        self.blocks[k] = blk
        self.blocks.move_to_end(k)
        while len(self.blocks) > CACHE_BLOCKS:
            self.blocks.popitem(last=False)

    def _restore(self, start: int) -> None:
        pts = self.index.points
        p = pts[min(start // SPACING, len(pts) - 1)]
        if self.d is not None and p.out <= self.out <= start:
            return  # the decoder is nearer than any checkpoint
        self.d, self.out, self.cpos, self.tail = p.state.copy(), p.out, p.cpos, p.tail

    def _inflate(self, n: int) -> bytes:
        """``n`` bytes of output from the decoder's position; a checkpoint is added at each
        multiple of :data:`SPACING` passed for the first time."""
        out = bytearray()
        d, idx = self.d, self.index
        try:
            while len(out) < n and not d.eof:
                if not self.tail:
                    self.tail = os.pread(self.fd, min(INPUT_CHUNK, idx.end - self.cpos),
                                         self.cpos)
                    self.cpos += len(self.tail)
                    if not self.tail:
                        break
                out += d.decompress(self.tail, n - len(out))
                self.tail = d.unconsumed_tail
        except zlib.error as e:
            raise DatasetError(f"{idx.where}: corrupt compressed data near output byte "
                               f"{self.out + len(out)} ({e})") from None
        self.out += len(out)
        pts = idx.points
        if self.out == pts[-1].out + SPACING and not d.eof:
            pts.append(_Checkpoint(self.out, self.cpos, bytes(self.tail), d.copy()))
        return bytes(out)


class SeekableDeflate(io.RawIOBase):
    """A read-only, seekable binary file of the uncompressed bytes of ``index``'s stream."""

    def __init__(self, index: DeflateIndex):
        super().__init__()
        self.index = index
        if index.inflater is None:
            index.inflater = _Inflater(index)
        self._inf = index.inflater
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self.index.size}[whence]
        pos = base + offset
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def whole(self) -> Optional[memoryview]:
        """The whole uncompressed stream, read-only, when it is held in memory (a small
        deflated stream after its first read, see :data:`WHOLE_MAX`), else None."""
        w = self._inf.whole
        return w.toreadonly() if w else None

    def readinto(self, b) -> int:
        view = memoryview(b).cast("B")
        n = max(0, min(len(view), self.index.size - self._pos))
        done = 0
        while done < n:
            k, off = divmod(self._pos + done, BLOCK)
            blk = self._inf.block(k)
            m = min(n - done, len(blk) - off)
            view[done:done + m] = blk[off:off + m]
            done += m
        self._pos += done
        return done


def open_seekable(path, member: Optional[str] = None, full: bool = False) -> SeekableDeflate:
    """A seekable file of the uncompressed ``path`` (gzip) or zip ``member`` (index cached;
    ``full``: a checked index, see :func:`deflate_index`)."""
    return SeekableDeflate(cached_index(path, member, full))


__all__ = ["DeflateIndex", "SeekableDeflate", "deflate_index", "cached_index", "open_seekable",
           "clear_index_cache",
           "BLOCK", "SPACING", "CACHE_BLOCKS"]
