"""Zip members read straight from the archive's bytes, from several threads at once.

``zipfile`` reads a member through one shared file object (a lock around every read, the
compressed bytes copied in pieces, the output grown as it inflates). :class:`ZipMembers` lists a
zip once (``zipfile``'s central directory) and then reads each member by itself: the compressed
bytes are one ``os.pread`` (a zip file) or a view (a zip held in memory, such as a subject zip
inflated out of a download), inflated in one call (ISA-L, 2x zlib:
:func:`evframes.formats.inflate.inflate`) into a buffer of the member's size, and checked
against the size and CRC-32 in the directory (ISA-L's CRC-32, 4x zlib's). Nothing is shared
between reads but the read-only source, and the inflate releases the GIL, so a thread pool
inflates members in parallel (:func:`read_ahead`). Members compressed otherwise (bzip2, lzma)
are read through ``zipfile`` under a lock.
"""
from __future__ import annotations

import io
import os
import struct
import threading
import zipfile
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from .._filecache import FileKeyedCache
from ..formats.inflate import crc32, inflate

__all__ = ["ZipMembers", "FileWindow", "read_ahead", "inflate_threads", "zip_directory",
           "clear_directory_cache"]

_DIRECTORIES: "FileKeyedCache[Dict[str, zipfile.ZipInfo]]" = FileKeyedCache(8)


def zip_directory(path) -> Dict[str, zipfile.ZipInfo]:
    """``{name: ZipInfo}`` of the zip file ``path`` (``zipfile``'s central directory), parsed
    once per process while the file keeps its inode, size and times: a dataset's listing and
    each of its jobs open the same archive (6 ms per parse of 600 members). Raises
    ``zipfile.BadZipFile`` / ``OSError``."""
    def listing():
        with zipfile.ZipFile(path) as zf:
            return {i.filename: i for i in zf.infolist()}
    return _DIRECTORIES.get(path, listing)


def clear_directory_cache() -> None:
    """Forget the zip directories :func:`zip_directory` keeps (benchmarks time a first open)."""
    _DIRECTORIES.clear()


def inflate_threads() -> int:
    """Threads that inflate members at once: the cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


class FileWindow(io.RawIOBase):
    """Bytes ``[offset, offset + size)`` of a file as a seekable read-only stream."""

    def __init__(self, path, offset: int, size: int):
        self._fh = open(path, "rb")
        self._off, self._size, self._pos = int(offset), int(size), 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, pos, whence=0):
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + int(pos))
        return self._pos

    def readinto(self, b):
        n = max(0, min(len(b), self._size - self._pos))
        if n == 0:
            return 0
        self._fh.seek(self._off + self._pos)
        got = self._fh.readinto(memoryview(b)[:n]) or 0
        self._pos += got
        return got

    def close(self):
        self._fh.close()
        super().close()


class ZipMembers:
    """The members of one zip archive: ``names()``, ``read(name) -> bytes`` (thread-safe).

    Parameters
    ----------
    data : bytes, optional
        The whole archive in memory; or
    path, offset, size :
        the archive as bytes ``[offset, offset + size)`` of the file ``path`` (``offset`` 0 and
        ``size`` -1: the whole file).

    Raises ``zipfile.BadZipFile`` / ``OSError`` for an unreadable archive or member.
    """

    def __init__(self, data: Optional[bytes] = None, path=None, offset: int = 0,
                 size: int = -1):
        self._data = None if data is None else memoryview(data)
        self._fd = -1
        self._base = int(offset)
        self._lock = threading.Lock()
        self._zf: Optional[zipfile.ZipFile] = None
        if self._data is not None:
            self._zf = zipfile.ZipFile(io.BytesIO(data))
        else:
            self._fd = os.open(path, os.O_RDONLY)
            try:
                if size < 0:  # members compressed otherwise open the file in read()
                    self._path = path
                    self.infos: Dict[str, zipfile.ZipInfo] = dict(zip_directory(path))
                    return
                self._zf = zipfile.ZipFile(io.BufferedReader(
                    FileWindow(path, offset, size), 1 << 16))
            except BaseException:
                os.close(self._fd)
                raise
        self.infos = {i.filename: i for i in self._zf.infolist()}

    def names(self) -> List[str]:
        return [n for n, i in self.infos.items() if not i.is_dir()]

    def _bytes(self, pos: int, n: int):
        if self._data is not None:
            out = self._data[pos:pos + n]
        else:
            out = os.pread(self._fd, n, self._base + pos)
        if len(out) != n:
            raise zipfile.BadZipFile(f"archive ends inside a member ({len(out)} of {n} bytes at "
                                     f"byte {pos})")
        return out

    def read(self, name: str) -> bytes:
        """The bytes of member ``name`` (KeyError if absent), size and CRC-32 checked."""
        info = self.infos[name]
        if info.flag_bits & 1:
            raise zipfile.BadZipFile(f"member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            with self._lock:
                if self._zf is None:
                    self._zf = zipfile.ZipFile(self._path)
                return self._zf.read(info)
        head = self._bytes(info.header_offset, 30)
        if head[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header of member {name!r}")
        n, e = struct.unpack("<HH", head[26:30])
        raw = self._bytes(info.header_offset + 30 + n + e, info.compress_size)
        if info.compress_type == zipfile.ZIP_STORED:
            data = bytes(raw)
        else:
            try:
                data = inflate(raw, -15, info.file_size)
            except zlib.error as err:
                raise zipfile.BadZipFile(f"member {name!r}: {err}") from None
        if len(data) != info.file_size or crc32(data) != info.CRC:
            raise zipfile.BadZipFile(f"bad CRC-32 or size for member {name!r}")
        return data

    def close(self) -> None:
        if self._zf is not None:
            self._zf.close()
        self._data = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def read_ahead(groups: Iterable[Tuple[object, List[Callable[[], bytes]]]], window: int,
               threads: Optional[int] = None) -> Iterator[Tuple[object, List[bytes]]]:
    """``(key, [read() for read in reads])`` for each ``(key, reads)`` of ``groups``, in order;
    the reads run on a thread pool, at most ``window`` of them submitted ahead of the group
    being handed over (at least one group's). An exception of a read is raised here, in its
    group's turn; pending reads are cancelled when the consumer stops."""
    pool = ThreadPoolExecutor(threads or inflate_threads(), thread_name_prefix="evframes-unzip")
    pending: deque = deque()  # (key, [futures])
    held = 0
    it = iter(groups)
    try:
        more = True
        while more or pending:
            while more and (not pending or held < window):
                try:
                    key, reads = next(it)
                except StopIteration:
                    more = False
                    break
                pending.append((key, [pool.submit(r) for r in reads]))
                held += len(reads)
            if not pending:
                break
            key, futs = pending.popleft()
            held -= len(futs)
            box = [(key, [f.result() for f in futs])]
            del futs
            yield box.pop()
    finally:
        for _, futs in pending:
            for f in futs:
                f.cancel()
        pool.shutdown(wait=True)
