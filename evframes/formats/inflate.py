"""Deflate streams inflated with ISA-L (python-isal) when it is installed, else zlib.

ISA-L's inflate gives zlib's bytes at about 2x its speed on one core (12 MB raw-deflate members:
0.18 s against 0.36 s here). Its errors are raised as ``zlib.error``, so callers catch one
exception type whichever library ran. Its CRC-32 (:func:`crc32`, the zip members' check) gives
zlib's value at 4x its speed (9.1 GB/s against 2.1 here) and releases the GIL.
"""
from __future__ import annotations

import zlib

try:
    from isal import isal_zlib as _z
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    _z = zlib

__all__ = ["inflate", "inflate_partial", "inflate_at_most", "crc32", "ISAL_ERRORS"]

#: ISA-L's own error for a corrupt or truncated stream (none without ISA-L), raised by
#: :func:`inflate` here and by readers that use ISA-L directly (``isal.igzip``,
#: :func:`evframes.raw.tarstream.open_gzip`); callers turn it into ``zlib.error``
ISAL_ERRORS = () if _z is zlib else (_z.error,)


def inflate(data, wbits: int = -15, size_hint: int = 16384) -> bytes:
    """The whole inflated content of the complete stream ``data``.

    ``wbits``: -15 raw deflate (zip members), 15 zlib header (MAT-file v7 variables), 31 gzip.
    ``size_hint``: the expected output size in bytes (one buffer of that size, no regrowth).
    Raises ``zlib.error`` for a corrupt or truncated stream.
    """
    try:
        return _z.decompress(data, wbits, max(1, int(size_hint)))
    except ISAL_ERRORS as e:
        raise zlib.error(str(e)) from None


def inflate_partial(data, wbits: int = 15) -> bytes:
    """What ``data`` inflates to, up to where it ends (a truncated stream gives its intact
    part, byte for byte what ``zlib.decompressobj().decompress`` gives); ``zlib.error`` for
    corrupt data.

    A complete stream is inflated by ISA-L. A truncated one is inflated again by zlib: ISA-L
    holds back up to one decodable byte at the cut (seen on about one cut in seven), and this
    path is the rare one (a cut-off file being reported), so exactness costs nothing in use.
    """
    d = _z.decompressobj(wbits)
    try:
        out = d.decompress(data)
    except ISAL_ERRORS as e:
        raise zlib.error(str(e)) from None
    if d.eof or _z is zlib:
        return out
    return zlib.decompressobj(wbits).decompress(data)


def inflate_at_most(data, limit: int, wbits: int = -15):
    """``(out, rest, ended)``: at most ``limit`` bytes inflated from ``data`` (one call: memory
    bounded whatever the stream claims), the input after the end of the stream (a gzip
    trailer, say) and whether the stream ended within those bytes; ``zlib.error`` for corrupt
    data."""
    d = _z.decompressobj(wbits)
    try:
        out = d.decompress(data, max(1, int(limit)))
    except ISAL_ERRORS as e:
        raise zlib.error(str(e)) from None
    return out, d.unused_data, d.eof


def crc32(data, value: int = 0) -> int:
    """CRC-32 of ``data`` continuing from ``value`` (``zlib.crc32``'s value and signature;
    ISA-L's when installed)."""
    return _z.crc32(data, value)
