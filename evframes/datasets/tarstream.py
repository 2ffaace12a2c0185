"""Streaming .tar.gz reading with one copy per member.

Inflating gzip is the slowest part of reading a large archive such as DVS128 Gesture's, so
:func:`open_gzip` uses rapidgzip (parallel inflate over all cores) when installed, else
python-isal (about 2x zlib), else the standard library. :func:`iter_tar` then walks the tar
stream itself, reading each member straight into its own buffer (``tarfile``'s stream mode
copies every block twice more). Headers are parsed by ``tarfile.TarInfo.frombuf`` (checksums
verified); GNU long names and pax ``path`` records are honoured.
"""
from __future__ import annotations

import gzip
import os
import tarfile
from typing import BinaryIO, Iterator, Optional, Tuple

BLOCK = 512


def open_gzip(path) -> BinaryIO:
    """A readable binary stream of the decompressed content of a gzip file."""
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            raise tarfile.ReadError("not a gzip file")
    try:
        import rapidgzip
        return rapidgzip.open(str(path), parallelization=os.cpu_count() or 1)
    except ImportError:
        pass
    try:
        from isal import igzip
        return igzip.open(str(path), "rb")
    except ImportError:
        return gzip.open(path, "rb")


def _read_exact(f: BinaryIO, n: int, what: str) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = f.readinto(view[got:]) if hasattr(f, "readinto") else None
        if k is None:
            chunk = f.read(n - got)
            k = len(chunk)
            view[got:got + k] = chunk
        if not k:
            raise EOFError(f"unexpected end of archive in {what} ({got} of {n} bytes)")
        got += k
    return buf


def _skip(f: BinaryIO, n: int, what: str) -> None:
    while n > 0:
        k = min(n, 1 << 22)
        _read_exact(f, k, what)
        n -= k


def iter_tar(f: BinaryIO, want=lambda name: True) -> Iterator[Tuple[str, Optional[bytearray]]]:
    """Yield ``(name, data)`` for every regular file of a tar stream; ``data`` is None when
    ``want(name)`` is false (the member is skipped without keeping it)."""
    long_name: Optional[str] = None
    pax_path: Optional[str] = None
    zero_blocks = 0
    while True:
        hdr = f.read(BLOCK)
        if not hdr:
            return  # tolerate archives without the two closing zero blocks
        if len(hdr) < BLOCK:
            raise EOFError("unexpected end of archive in a member header")
        if hdr == b"\0" * BLOCK:
            zero_blocks += 1
            if zero_blocks == 2:
                return
            continue
        zero_blocks = 0
        info = tarfile.TarInfo.frombuf(hdr, "utf-8", "surrogateescape")
        size = info.size
        padded = -(-size // BLOCK) * BLOCK
        if info.type in (tarfile.GNUTYPE_LONGNAME, tarfile.XHDTYPE, tarfile.XGLTYPE):
            data = bytes(_read_exact(f, size, "a long-name header"))
            _skip(f, padded - size, "padding")
            if info.type == tarfile.GNUTYPE_LONGNAME:
                long_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            elif info.type == tarfile.XHDTYPE:
                for rec in _pax_records(data):
                    if rec[0] == "path":
                        pax_path = rec[1]
            continue
        name = pax_path or long_name or info.name
        long_name = pax_path = None
        if info.type in tarfile.REGULAR_TYPES:
            if want(name):
                data = _read_exact(f, size, name)
                _skip(f, padded - size, "padding")
                yield name, data
            else:
                _skip(f, padded, name)
                yield name, None
        else:
            _skip(f, padded, name)


def _pax_records(data: bytes):
    i = 0
    while i < len(data):
        sp = data.index(b" ", i)
        n = int(data[i:sp])
        key, _, value = data[sp + 1:i + n - 1].partition(b"=")
        yield key.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape")
        i += n
