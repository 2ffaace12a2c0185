"""MATLAB Level 5 MAT-files (MATLAB 5 / v6 / v7 ``.mat``): numeric vectors, without scipy.

:func:`read_vectors` reads exactly what small event files such as ASL-DVS's hold: numeric
variables (``double``, ``single``, ``int8`` ... ``uint64``, logical) that are row or column
vectors (or empty), uncompressed (v6) or each in its own zlib-compressed element (v7,
``miCOMPRESSED``). It returns ``{name: 1-D array}`` with the values and the dtype
``scipy.io.loadmat`` (default options) returns: the type the data are *stored* in, which MATLAB
may choose smaller than the class (a ``double`` vector of small whole numbers stored as
``miUINT16`` comes back ``uint16``; logical comes back ``uint8``), so
``read_vectors(d)[k]`` equals ``loadmat(d)[k].reshape(-1)`` in value and dtype.

Layout (MathWorks, "MAT-File Format"): a 128-byte header (116 bytes text, 8 bytes subsystem
offset, version ``0x0100``, endian indicator ``'IM'`` little-endian / ``'MI'`` big-endian),
then data elements, each an 8-byte tag (``uint32`` type, ``uint32`` byte count) followed by its
data padded to 8 bytes, or a 4-byte small-element tag (``uint16`` byte count <= 4 in the high
half, ``uint16`` type in the low half) followed by its data in the same 8 bytes. A variable is an
``miMATRIX`` (14) element holding the sub-elements array flags (``miUINT32`` x 2: class in the
low byte, complex 0x800 / global 0x400 / logical 0x200), dimensions (``miINT32`` x ndim), name
(``miINT8``) and the real part (any numeric type); an ``miCOMPRESSED`` (15) element holds a zlib
stream of one ``miMATRIX`` element.

Not handled, reported by raising :class:`Unsupported` so that the caller falls back to
``scipy.io.loadmat``: MATLAB 4 files, MATLAB 7.3 (HDF5) files, big-endian (``'MI'``) files,
non-numeric classes (char, cell, struct, object, sparse, function handles), complex or global
variables, arrays that are not vectors (two or more dimensions above 1), an empty or duplicate
variable name, data stored as text types. A broken file (shorter than its header, a header
that names no MAT-file version, a bad tag, an element running past the end, a corrupt zlib
stream, a data size that does not match the dimensions) raises
:class:`~evframes.FormatError` naming the file and the byte offset.
"""
from __future__ import annotations

import struct
import zlib
from typing import Dict, Optional

import numpy as np

from ..errors import FormatError
from .inflate import inflate_partial

__all__ = ["read_vectors", "Unsupported", "HEADER_BYTES", "MI_DTYPES", "NUMERIC_CLASSES"]

HEADER_BYTES = 128
MI_MATRIX, MI_COMPRESSED = 14, 15
MI_INT8, MI_UINT8, MI_INT32, MI_UINT32 = 1, 2, 5, 6
#: numeric data types (miTYPE) -> little-endian numpy dtype
MI_DTYPES = {1: np.dtype("i1"), 2: np.dtype("u1"), 3: np.dtype("<i2"), 4: np.dtype("<u2"),
             5: np.dtype("<i4"), 6: np.dtype("<u4"), 7: np.dtype("<f4"), 9: np.dtype("<f8"),
             12: np.dtype("<i8"), 13: np.dtype("<u8")}
#: array classes (mxCLASS) read here: double, single, int8 ... uint64
NUMERIC_CLASSES = {6: "double", 7: "single", 8: "int8", 9: "uint8", 10: "int16", 11: "uint16",
                   12: "int32", 13: "uint32", 14: "int64", 15: "uint64"}
_CLASS_NAMES = {1: "cell", 2: "struct", 3: "object", 4: "char", 5: "sparse", 16: "function",
                17: "opaque"}
_COMPLEX, _GLOBAL = 0x0800, 0x0400
_U32, _U32X2 = struct.Struct("<I"), struct.Struct("<II")


class Unsupported(Exception):
    """A (possibly valid) MAT-file this reader leaves to ``scipy.io.loadmat``; ``str(e)`` says
    what it holds (e.g. ``"variable 'c' is a cell"``)."""


class _Where:
    """Builds the :class:`FormatError` of one file: offsets are file offsets, or, inside a
    compressed element, the inflated offset beside the file offset of that element."""

    def __init__(self, path, element: Optional[int] = None):
        self.path, self.element = path, element

    def error(self, pos: int, message: str) -> FormatError:
        if self.element is None:
            return FormatError(self.path, pos, f"not a readable MATLAB .mat file ({message})")
        return FormatError(self.path, self.element, f"not a readable MATLAB .mat file "
                                                    f"(compressed variable, inflated byte {pos}: "
                                                    f"{message})")


def _element(buf, pos: int, end: int, where: _Where, what: str):
    """The sub-element at ``pos`` of a matrix ending at ``end``: ``(type, data start, byte
    count, next position)``; small (4-byte tag) and full (8-byte tag) forms."""
    if end - pos < 8:
        raise where.error(pos, f"truncated: the {what} tag needs 8 bytes, {max(end - pos, 0)} "
                               f"left in the variable")
    word = _U32.unpack_from(buf, pos)[0]
    if word >> 16:
        n = word >> 16
        if n > 4:
            raise where.error(pos, f"bad {what} tag: small element of {n} bytes (at most 4)")
        return word & 0xFFFF, pos + 4, n, pos + 8
    n = _U32.unpack_from(buf, pos + 4)[0]
    if n > end - pos - 8:
        raise where.error(pos, f"truncated: the {what} element holds {n} bytes, "
                               f"{end - pos - 8} left in the variable")
    return word, pos + 8, n, pos + 8 + ((n + 7) & ~7)


def _matrix(buf, pos: int, end: int, where: _Where):
    """``(name, 1-D array)`` of the ``miMATRIX`` data ``buf[pos:end]``."""
    t, d, n, pos = _element(buf, pos, end, where, "array flags")
    if t != MI_UINT32 or n != 8:
        raise where.error(d - 8, f"bad array flags: type {t}, {n} bytes (expected miUINT32, "
                                 f"8 bytes)")
    flags = _U32.unpack_from(buf, d)[0]
    cls = flags & 0xFF
    t, d, n, pos = _element(buf, pos, end, where, "dimensions")
    if t != MI_INT32 or n % 4 or n == 0:
        raise where.error(d - 8, f"bad dimensions: type {t}, {n} bytes (expected miINT32, "
                                 f"4 bytes per dimension)")
    dims = struct.unpack_from(f"<{n // 4}i", buf, d)
    if min(dims) < 0:
        raise where.error(d, f"negative dimension in {list(dims)}")
    t, d, n, pos = _element(buf, pos, end, where, "name")
    if t not in (MI_INT8, MI_UINT8):
        raise Unsupported(f"variable name stored as type {t}")
    name = bytes(buf[d:d + n]).decode("latin1")
    if cls not in NUMERIC_CLASSES:
        kind = _CLASS_NAMES.get(cls, f"class {cls}")
        raise Unsupported(f"variable {name!r} is a {kind}")
    if flags & (_COMPLEX | _GLOBAL):
        raise Unsupported(f"variable {name!r} is "
                          f"{'complex' if flags & _COMPLEX else 'global'}")
    if not name:
        raise Unsupported("a variable without name (a function workspace)")
    count = 1
    for k in dims:
        count *= k
    if count > max(dims):
        raise Unsupported(f"variable {name!r} is a {'x'.join(map(str, dims))} array, not a "
                          f"vector")
    tag = pos
    t, d, n, pos = _element(buf, pos, end, where, f"data of {name!r}")
    dtype = MI_DTYPES.get(t)
    if dtype is None:
        raise Unsupported(f"variable {name!r} stored as type {t}")
    if n != count * dtype.itemsize:
        raise where.error(tag, f"variable {name!r}: {n} bytes of {dtype.name} for "
                               f"{'x'.join(map(str, dims))} values")
    return name, np.frombuffer(buf, dtype, count, d).copy()


def _header(data, path) -> None:
    size = len(data)
    if size >= 4 and 0 in bytes(data[:4]):
        raise Unsupported("a MATLAB 4 file (zero byte in its first 4)")
    if size < HEADER_BYTES:
        raise FormatError(path, 0, f"not a readable MATLAB .mat file ({size} bytes, shorter "
                                   f"than the 128-byte MAT-file header)")
    endian = bytes(data[126:128])
    if endian == b"MI":
        raise Unsupported("a big-endian MAT-file")
    if endian != b"IM":
        raise FormatError(path, 126, f"not a readable MATLAB .mat file (endian indicator "
                                     f"{endian!r}, expected 'IM' or 'MI')")
    version = _U32.unpack_from(data, 124)[0] & 0xFFFF
    if version == 0x0200:
        raise Unsupported("a MATLAB 7.3 (HDF5) file")
    if version != 0x0100:
        raise FormatError(path, 124, f"not a readable MATLAB .mat file (version 0x{version:04x}, "
                                     f"expected 0x0100)")


def read_vectors(data, path=None) -> Dict[str, np.ndarray]:
    """The variables of a MAT-file held in memory, as ``{name: 1-D array}`` (file order).

    Parameters
    ----------
    data : bytes-like
        The whole file.
    path : str, optional
        Named in error messages (a file path or ``archive:member``).

    Returns
    -------
    dict of str to np.ndarray
        Each variable's values, ``[n]``, in its stored dtype (as ``scipy.io.loadmat`` gives
        them; see the module docstring), writable copies.

    Raises
    ------
    Unsupported
        Content this reader does not handle (read it with ``scipy.io.loadmat``).
    FormatError
        A broken file, naming ``path`` and the byte offset.
    """
    buf = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    _header(buf, path)
    out: Dict[str, np.ndarray] = {}
    size, pos = len(buf), HEADER_BYTES
    top = _Where(path)
    while pos < size:
        if size - pos < 8:
            raise top.error(pos, f"truncated: {size - pos} bytes after the last variable, "
                                 f"less than a tag")
        mtype, n = _U32X2.unpack_from(buf, pos)
        if mtype >> 16 or mtype not in (MI_MATRIX, MI_COMPRESSED) or n == 0:
            small = " (small element)" if mtype >> 16 else ""
            raise top.error(pos, f"bad tag: type {mtype & 0xFFFF}{small}, {n} bytes (expected "
                                 f"a variable: miMATRIX 14 or miCOMPRESSED 15)")
        if n > size - pos - 8:
            raise top.error(pos, f"truncated: the variable element holds {n} bytes, "
                                 f"{size - pos - 8} left in the file")
        if mtype == MI_COMPRESSED:
            try:
                inner = inflate_partial(memoryview(buf)[pos + 8:pos + 8 + n])
            except zlib.error as e:
                raise top.error(pos, f"corrupt compressed variable ({e})") from None
            where = _Where(path, pos)
            if len(inner) < 8:
                raise where.error(0, f"truncated: {len(inner)} bytes inflated, less than a tag")
            itype, inner_n = _U32X2.unpack_from(inner, 0)
            if itype != MI_MATRIX:
                raise where.error(0, f"bad tag: type {itype} (expected miMATRIX 14)")
            if inner_n > len(inner) - 8:
                raise where.error(0, f"truncated: the variable holds {inner_n} bytes, "
                                     f"{len(inner) - 8} inflated")
            name, arr = _matrix(inner, 8, 8 + inner_n, where)
        else:
            name, arr = _matrix(buf, pos + 8, pos + 8 + n, top)
        if name in out:
            raise Unsupported(f"duplicate variable name {name!r}")
        out[name] = arr
        pos += 8 + n
    return out
