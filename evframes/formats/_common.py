"""Shared plumbing for the raw-format decoders: buffers, header scanning, errors, threading.

Nothing here knows a particular format. The decoders work on one flat ``np.uint8`` buffer holding
the whole file (memory-mapped for large files, read with ``np.fromfile`` for small ones, or the
caller's ``bytes`` when a member is read straight out of an archive), so every file is read once.
"""
from __future__ import annotations

import mmap
import os
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from .._jit import njit
from ..errors import FormatError
from ..events import Events, empty_events, make_events

__all__ = ["TruncatedFileWarning", "FormatError", "display_name", "as_uint8", "FileBuffer",
           "hash_header_end", "end_header_end", "header_first_line", "warn_truncated",
           "run_chunked", "parallel_threshold", "finish_events", "check_on_truncated",
           "u32_words", "alloc_events"]


class TruncatedFileWarning(UserWarning):
    """A file ends in the middle of a record or packet.

    The complete events before that point are returned; the message names the file and the byte
    offset where the incomplete record starts. The same facts are attributes, for callers that
    act on them (extraction does): ``path``, ``offset``, ``reason``, ``kept`` (events returned).
    """

    def __init__(self, message: str = "", path: Optional[str] = None,
                 offset: Optional[int] = None, reason: str = "", kept: int = 0):
        super().__init__(message)
        self.path, self.offset, self.reason, self.kept = path, offset, reason, kept


def display_name(path) -> str:
    """The name used in error messages for ``path`` (a path, a string, or None)."""
    if path is None:
        return "<buffer>"
    try:
        return os.fspath(path)
    except TypeError:
        return str(path)


def as_uint8(data) -> np.ndarray:
    """View ``data`` (bytes, bytearray, memoryview, mmap or a numpy array) as 1-D ``np.uint8``.

    No copy is made when ``data`` is already contiguous; a non-contiguous array is copied once.
    """
    if isinstance(data, np.ndarray):
        arr = data.reshape(-1) if data.ndim != 1 else data
        if arr.dtype != np.uint8:
            if not arr.flags.c_contiguous:
                arr = np.ascontiguousarray(arr)
            arr = arr.view(np.uint8)
        return np.ascontiguousarray(arr)
    return np.frombuffer(data, dtype=np.uint8)


#: Files at least this large are memory-mapped instead of copied into a new array.
MMAP_MIN_BYTES = 1 << 20


class FileBuffer:
    """Context manager giving a whole file as a read-only 1-D ``np.uint8`` array.

    Large files are memory-mapped (no copy: the decoder reads the page cache directly, which is
    measurably faster than ``np.fromfile`` for tens of MB); small or unmappable files are read
    with one ``read()``. The array must not outlive the ``with`` block.
    """

    def __init__(self, path):
        self.path = path
        self._mm: Optional[mmap.mmap] = None

    def __enter__(self) -> np.ndarray:
        with open(self.path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size >= MMAP_MIN_BYTES:
                try:
                    self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                except (OSError, ValueError):
                    self._mm = None
                if self._mm is not None:
                    return np.frombuffer(self._mm, dtype=np.uint8)
            return np.frombuffer(fh.read(), dtype=np.uint8)

    def __exit__(self, *exc) -> None:
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:
                # A view is still alive (e.g. held by an exception traceback); the map is
                # released when that view is garbage collected.
                pass
            self._mm = None


# --------------------------------------------------------------------------------------------
# '#' text headers
# --------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def _hash_header_end(buf):
    """End of a block of ``#`` lines: (offset of the first byte not in a ``#`` line, status).

    status 0: ok; 1: the last ``#`` line has no newline (offset = start of that line).
    """
    n = buf.shape[0]
    pos = 0
    while pos < n and buf[pos] == 35:  # '#'
        j = pos
        while j < n and buf[j] != 10:  # '\n'
            j += 1
        if j >= n:
            return pos, 1
        pos = j + 1
    return pos, 0


_END_HEADER = np.frombuffer(b"#!END-HEADER", dtype=np.uint8).copy()


@njit(cache=True, nogil=True)
def _end_header_end(buf, marker):
    """Scan ``#`` lines up to and including the line ``#!END-HEADER`` (CRLF or LF).

    Returns (offset just after that line, status, offset of the problem):
    status 0: ok; 1: a line does not start with '#'; 2: the file ends before the marker line.
    """
    n = buf.shape[0]
    m = marker.shape[0]
    pos = 0
    while True:
        if pos >= n:
            return -1, 2, pos
        if buf[pos] != 35:
            return -1, 1, pos
        j = pos
        while j < n and buf[j] != 10:
            j += 1
        if j >= n:
            return -1, 2, pos
        end = j
        if end > pos and buf[end - 1] == 13:  # '\r'
            end -= 1
        if end - pos == m:
            same = True
            for k in range(m):
                if buf[pos + k] != marker[k]:
                    same = False
                    break
            if same:
                return j + 1, 0, pos
        pos = j + 1


def hash_header_end(buf: np.ndarray, name: str) -> int:
    """Offset of the first byte after the leading ``#`` lines (AEDAT 2.0 rule).

    Raises FormatError if the last ``#`` line is not terminated by a newline.
    """
    if buf.shape[0] == 0:
        return 0
    pos, status = _hash_header_end(buf)
    if status:
        raise FormatError(name, int(pos), "header line starting here is not terminated by a "
                                          "newline (file truncated inside its header?)")
    return int(pos)


def end_header_end(buf: np.ndarray, name: str) -> int:
    """Offset of the first byte after the ``#!END-HEADER`` line (AEDAT 3.x rule)."""
    pos, status, where = _end_header_end(buf, _END_HEADER)
    if status == 1:
        raise FormatError(name, int(where), "expected a '#' header line or '#!END-HEADER', found "
                                            f"byte 0x{int(buf[where]):02x}")
    if status == 2:
        raise FormatError(name, int(where), "file ends before the '#!END-HEADER' line")
    return int(pos)


def header_first_line(buf: np.ndarray, limit: int = 256) -> bytes:
    """The first line of ``buf`` (without line terminator), at most ``limit`` bytes."""
    head = bytes(buf[:limit])
    return head.split(b"\n", 1)[0].rstrip(b"\r")


def u32_words(buf: np.ndarray, offset: int, count: int) -> np.ndarray:
    """``count`` uint32 words of ``buf`` from byte ``offset`` (no copy; may be unaligned).

    Words read as on a little-endian host: on a big-endian host the view is byte-swapped into a
    copy, so kernels can assume little-endian loads everywhere.
    """
    w = np.frombuffer(buf, dtype=np.uint32, count=count, offset=offset)
    if sys.byteorder != "little":
        w = w.byteswap()
    return w


def warn_truncated(name: str, offset: int, what: str, kept: int) -> None:
    msg = f"{name} at byte {offset}: {what}; kept the {kept} complete events before it"
    warnings.warn(TruncatedFileWarning(msg, name, int(offset), what, int(kept)), stacklevel=4)


def complete_records(name: str, base: int, body: int, record_bytes: int, on_truncated: str,
                     what: str) -> int:
    """Number of whole ``record_bytes`` records in ``body`` bytes starting at byte ``base``.

    A partial last record raises FormatError (``on_truncated='error'``) or warns and is left
    out (``'warn'``); ``what`` describes the region for the message."""
    n = body // record_bytes
    if n * record_bytes != body:
        cut = base + n * record_bytes
        msg = (f"{what} is not a multiple of {record_bytes} bytes; the last record starting "
               f"here has only {body - n * record_bytes} bytes")
        if on_truncated == "error":
            raise FormatError(name, cut, msg + " (pass on_truncated='warn' to keep the "
                                               f"{n} complete events)")
        warn_truncated(name, cut, msg, n)
    return n


def check_on_truncated(value: str) -> str:
    if value not in ("warn", "error"):
        raise ValueError(f"on_truncated must be 'warn' or 'error', got {value!r}")
    return value


# --------------------------------------------------------------------------------------------
# Threads: the kernels release the GIL (nogil=True), so large buffers are decoded in chunks on a
# small private thread pool. Plain Python threads avoid numba's threading layers (the default
# 'workqueue' layer aborts when two threads enter a parallel region at once).
# --------------------------------------------------------------------------------------------

_POOL: Optional[ThreadPoolExecutor] = None
_POOL_PID: Optional[int] = None
_POOL_LOCK = threading.Lock()


_CPU_COUNT: Optional[int] = None


def _cpu_count() -> int:
    global _CPU_COUNT
    if _CPU_COUNT is None:
        try:
            _CPU_COUNT = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            _CPU_COUNT = os.cpu_count() or 1
    return max(1, _CPU_COUNT)


def _num_threads() -> int:
    """Decode threads per call: ``$EVFRAMES_NUM_THREADS`` if set, else the usable CPUs (max 8)."""
    env = os.environ.get("EVFRAMES_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return min(_cpu_count(), 8)


def _pool() -> ThreadPoolExecutor:
    global _POOL, _POOL_PID
    pid = os.getpid()
    with _POOL_LOCK:
        # A pool inherited through fork() has no live threads: make a new one in the child.
        if _POOL is None or _POOL_PID != pid:
            _POOL = ThreadPoolExecutor(max_workers=max(1, min(_cpu_count(), 8) - 1),
                                       thread_name_prefix="evframes-decode")
            _POOL_PID = pid
        return _POOL


def _after_fork_in_child() -> None:
    # threads do not survive fork(): forget the parent's pool (and a lock it may have held)
    global _POOL, _POOL_PID, _POOL_LOCK
    _POOL, _POOL_PID, _POOL_LOCK = None, None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

#: Buffers with fewer items than this are decoded on the calling thread only.
parallel_threshold = 1 << 20


def run_chunked(fn: Callable, n: int, args: Sequence, bounds: Optional[Sequence[int]] = None
                ) -> List:
    """Call ``fn(lo, hi, *args)`` over ``[0, n)`` split in chunks; return the results in order.

    ``bounds`` (optional) gives the chunk edges explicitly (``bounds[0] == 0``,
    ``bounds[-1] == n``). The calling thread decodes the first chunk itself, so this never waits
    on a pool that is busy with its own work.
    """
    if bounds is None:
        if n < parallel_threshold:
            return [fn(0, n, *args)]
        k = _num_threads()
        if k == 1:
            return [fn(0, n, *args)]
        chunks = 2 * k  # a few more chunks than threads balances a busy core
        bounds = [n * c // chunks for c in range(chunks + 1)]
    if len(bounds) <= 2:
        return [fn(bounds[0], bounds[-1], *args)]
    pool = _pool()
    nchunks = len(bounds) - 1
    futures = [None] + [pool.submit(fn, bounds[c], bounds[c + 1], *args)
                        for c in range(1, nchunks)]
    results: List = [None] * nchunks
    done = [False] * nchunks
    try:
        results[0] = fn(bounds[0], bounds[1], *args)
        done[0] = True
        # The pool takes chunks from the front, so this thread steals the ones no worker has
        # started from the back. (Stealing from the front would make it wait on the chunk a
        # worker is busy with while that worker goes on to decode every remaining chunk alone.)
        # The pool's queue is FIFO: once chunk c has started, every chunk before it has too.
        for c in range(nchunks - 1, 0, -1):
            if not futures[c].cancel():
                break
            results[c] = fn(bounds[c], bounds[c + 1], *args)
            done[c] = True
        for c in range(1, nchunks):
            if not done[c]:
                results[c] = futures[c].result()
                done[c] = True
    except BaseException:
        # no worker may still be reading the caller's buffers (maybe an mmap about to close)
        for fut in futures[1:]:
            if not fut.cancel():
                try:
                    fut.result()
                except BaseException:
                    pass
        raise
    return results


def alloc_events(n: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Uninitialised output arrays (t int64, x int16, y int16, p int8) for ``n`` events."""
    return (np.empty(n, np.int64), np.empty(n, np.int16), np.empty(n, np.int16),
            np.empty(n, np.int8))


def finish_events(t, x, y, p, k: Optional[int] = None) -> Events:
    """Wrap decoded arrays as Events, keeping the first ``k`` when given (copying if shorter)."""
    if k is not None and k != t.shape[0]:
        if k == 0:
            return empty_events()
        t, x, y, p = t[:k].copy(), x[:k].copy(), y[:k].copy(), p[:k].copy()
    return make_events(t, x, y, p)
