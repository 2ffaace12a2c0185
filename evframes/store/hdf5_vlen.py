"""Rows of a one-dimensional variable-length (vlen) HDF5 dataset read straight from the file's
bytes: the Heidelberg spike files' ``spikes/times`` and ``spikes/units``.

Why by hand: h5py turns every row into its own NumPy array (one HDF5 heap lookup and one
Python object per row) and holds its global lock while it does, so reading the 800 rows of
the SHD replica's train file took 0.04 s from a plain file and 0.11 s from its zip member,
and the extraction's store writer, which needs the same lock, waited meanwhile. Here the
rows come back as one flat array and offsets (what the extraction wants), with NumPy reads
and one Numba pass; h5py only opens the file and reports where the data lie.

The on-disk facts used (HDF5 File Format Specification 3.0, "Global Heap" and the variable-
length datatype): each element of a contiguous vlen dataset is stored as a 4-byte sequence
length (in base elements), the address of a global heap collection and a 4-byte object index.
A collection is ``"GCOL"``, version 1, 3 reserved bytes and its size in bytes, then objects,
each a 2-byte index (0: the free space, which ends the list), a 2-byte reference count,
4 reserved bytes, the object's size in bytes and its data, padded to a multiple of 8 bytes.

Only the common case is taken: a contiguous, unfiltered, allocated 1-D dataset of a
little-endian numeric base type in a file with 8-byte addresses and lengths and no user
block. Anything else, or any byte that does not check out, returns None, and the caller
reads the rows through h5py, which reports a damaged file in its own words.
"""
from __future__ import annotations

import os
import threading
from typing import Callable, Optional, Tuple

import numpy as np

from .._jit import njit

_HEAD = 16  # bytes of a collection's header, and of an object's header before its data
_DESC = np.dtype([("n", "<u4"), ("addr", "<u8"), ("idx", "<u4")])  # one element on disk
#: the most bytes of heap read at once for one call: beyond this (collections spread far
#: apart, or a malformed address), h5py reads the rows instead
MAX_SPAN = 256 << 20


@njit(cache=True, nogil=True, inline="always")
def _copy(src, dst):
    """``dst[:] = src`` (Numba's slice assignment is 4x slower than this loop)."""
    for b in range(src.shape[0]):
        dst[b] = src[b]


@njit(cache=True, nogil=True, inline="always")
def _u64(span, i):
    """The little-endian 8-byte integer at ``span[i:i + 8]`` (a size in the heap), as int64."""
    v = np.int64(0)
    for b in range(8):
        v |= np.int64(span[i + b]) << (8 * b)
    return v


@njit(cache=True, nogil=True)
def _gather(span, base, coll, idx, nbytes, order, starts, out):
    """Copy each row's object data out of its collection into ``out`` (uint8).

    ``span``: the file's bytes from ``base`` on; row r's object is index ``idx[r]`` of the
    collection at file address ``coll[r]`` and holds ``nbytes[r]`` bytes, copied to
    ``out[starts[r]:]``; ``order``: the rows sorted by collection (each collection's object
    list is walked once). Returns False, ``out`` partly written, on any malformed byte."""
    where = np.full(65536, -1, np.int64)  # object index -> data offset in span, this collection
    seen = np.zeros(65536, np.int64)      # collection number that wrote where[] (stamp)
    k = 0
    m = order.shape[0]
    stamp = 0
    while k < m:
        a = coll[order[k]]
        stamp += 1
        c = np.int64(a - base)
        if c < 0 or c + _HEAD > span.shape[0]:
            return False
        if span[c] != 71 or span[c + 1] != 67 or span[c + 2] != 79 or span[c + 3] != 76 \
                or span[c + 4] != 1:  # "GCOL", version 1
            return False
        size = _u64(span, c + 8)
        end = c + size
        if size < _HEAD or end > span.shape[0]:
            return False
        q = c + _HEAD
        while q + _HEAD <= end:
            oi = np.int64(span[q]) | (np.int64(span[q + 1]) << 8)
            if oi == 0:  # the free space: no objects after it
                break
            osz = _u64(span, q + 8)
            if osz < 0 or q + _HEAD + osz > end:
                return False
            where[oi] = q + _HEAD
            seen[oi] = stamp
            q += _HEAD + ((osz + 7) // 8) * 8
        while k < m and coll[order[k]] == a:  # this collection's rows
            r = order[k]
            j = idx[r]
            if j >= 65536 or seen[j] != stamp:
                return False
            src = where[j]
            n = nbytes[r]
            if _u64(span, src - 8) != n:  # the object must hold exactly the row's elements
                return False
            _copy(span[src:src + n], out[starts[r]:starts[r] + n])
            k += 1
    return True


def vlen_layout(f, dset) -> Optional[Tuple[int, np.dtype]]:
    """``(file offset of the element table, base dtype)`` of the 1-D vlen dataset ``dset``
    of the open h5py file ``f`` if :func:`read_rows` can read it (module docstring), else
    None."""
    import h5py
    base = h5py.check_vlen_dtype(dset.dtype)
    if base is None or dset.ndim != 1 or np.dtype(base).kind not in "iuf":
        return None
    tid = dset.id.get_type()
    if not isinstance(tid, h5py.h5t.TypeVlenID):
        return None
    sup = tid.get_super()
    base = np.dtype(base)
    if sup.get_size() != base.itemsize or (base.itemsize > 1 and
                                           sup.get_order() != h5py.h5t.ORDER_LE):
        return None
    fcpl = f.id.get_create_plist()
    if fcpl.get_sizes() != (8, 8) or fcpl.get_userblock() != 0:
        return None
    dcpl = dset.id.get_create_plist()
    if dcpl.get_layout() != h5py.h5d.CONTIGUOUS or dcpl.get_nfilters() != 0:
        return None
    off = dset.id.get_offset()
    if off is None or dset.id.get_storage_size() != dset.shape[0] * _DESC.itemsize:
        return None
    return int(off), base.newbyteorder("<")


def read_rows(table: int, base: np.dtype, start: int, stop: int,
              pread: Callable[[int, int], bytes]) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """Rows ``start..stop-1`` (within the dataset) of a vlen dataset whose
    :func:`vlen_layout` is ``(table, base)``, as ``(flat, offsets)``: the rows' elements
    concatenated (``base``) and int64 ``[k + 1]`` offsets; ``pread(offset, n)`` returns ``n``
    bytes of the file from ``offset`` (fewer at its end). None if the bytes do not check out
    (read the rows through h5py then). No h5py call: jobs on other threads never wait on its
    lock."""
    k = stop - start
    raw = pread(table + start * _DESC.itemsize, k * _DESC.itemsize)
    if len(raw) != k * _DESC.itemsize:
        return None
    desc = np.frombuffer(raw, _DESC)
    n = desc["n"].astype(np.int64)
    offsets = np.zeros(k + 1, np.int64)
    np.cumsum(n, out=offsets[1:])
    flat = np.empty(int(offsets[-1]) * base.itemsize, np.uint8)
    full = np.flatnonzero(n > 0)
    if full.size:
        coll = desc["addr"][full]
        lo = int(coll.min())
        hi_head = pread(int(coll.max()), _HEAD)  # the last collection's size ends the span
        if len(hi_head) != _HEAD or hi_head[:4] != b"GCOL":
            return None
        hi = int(coll.max()) + int.from_bytes(hi_head[8:16], "little")
        if hi - lo > MAX_SPAN or hi <= lo:
            return None
        span = np.frombuffer(pread(lo, hi - lo), np.uint8)
        order = np.argsort(coll, kind="stable")
        ok = _gather(span, np.uint64(lo), coll, desc["idx"][full].astype(np.int64),
                     n[full] * base.itemsize, order.astype(np.int64),
                     offsets[full] * base.itemsize, flat)
        if not ok:
            return None
    return flat.view(base), offsets


def read_vlen_rows(f, dset, start: int, stop: int, pread: Callable[[int, int], bytes]
                   ) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """:func:`read_rows` of ``dset`` in the open h5py file ``f``; None where the fast path
    does not apply or the bytes do not check out."""
    where = vlen_layout(f, dset)
    return None if where is None else read_rows(where[0], where[1], start, stop, pread)


class _Fd:
    """An ``os.open`` descriptor closed when the last reader lets go of it."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY)

    def __del__(self):
        try:
            os.close(self.fd)
        except (OSError, AttributeError, TypeError):
            pass


def file_reader(source) -> Callable[[int, int], bytes]:
    """``pread(offset, n)`` over a path (``os.pread``) or a seekable binary file object (its
    stream held in memory, :meth:`~.seekable_deflate.SeekableDeflate.whole`, is served
    without a copy; other reads hold a lock: one file position). The file closes when the
    reader is dropped."""
    whole = source.whole() if hasattr(source, "whole") else None
    if whole is not None:
        return lambda offset, n: whole[offset:offset + n]
    if hasattr(source, "readinto"):
        lock = threading.Lock()

        def pread(offset: int, n: int) -> bytes:
            buf = bytearray(n)
            with lock:
                source.seek(offset)
                got = source.readinto(buf)
            return buf if got == n else memoryview(buf)[:got]
        return pread
    fd = _Fd(source)
    return lambda offset, n: os.pread(fd.fd, n, offset)


__all__ = ["vlen_layout", "read_rows", "read_vlen_rows", "file_reader", "MAX_SPAN"]
