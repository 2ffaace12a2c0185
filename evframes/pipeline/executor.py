"""One bounded-window scheduler for every executor the pipeline uses.

Extraction (process pool or Dask) and frames building (Dask) all do the same thing: submit work
items one at a time, keep at most ``window`` of them in flight, and hand each result to the
caller as soon as it may be used: in completion order where the caller has its own reorder
buffer (extraction), in submission order where it writes as it goes (frames). :func:`windowed`
does that for any executor whose ``submit`` returns a future with ``result()`` and
``cancel()`` (``concurrent.futures`` and ``distributed`` both do).

Inside one process, :func:`prefetched` runs a source (an archive being inflated) on a thread
ahead of its consumer and :class:`OrderedWorker` runs writes behind it, in order; inflation
(zlib, rapidgzip), the Numba decoders (``nogil``) and HDF5 writes release the GIL, so the
three overlap.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, Optional


class _FirstCompleted:
    """Futures as they complete (``concurrent.futures``): ``add(fut)``, ``next(self)``."""

    def __init__(self):
        self.pending = set()
        self.ready = deque()

    def add(self, fut) -> None:
        self.pending.add(fut)

    def __next__(self):
        if not self.ready:
            done, self.pending = wait(self.pending, return_when=FIRST_COMPLETED)
            self.ready.extend(done)
        return self.ready.popleft()


def windowed(items: Iterable, submit: Callable, window: int, ordered: bool = False,
             completed=None) -> Iterator:
    """Run ``submit(item)`` for each item with at most ``window`` futures in flight.

    Parameters
    ----------
    items : iterable
        Work items, consumed lazily (an item is taken only when there is room for it).
    submit : callable
        ``submit(item) -> future``.
    window : int
        Most futures in flight at once (at least 1).
    ordered : bool
        Yield ``(item, result)`` in the items' order (the next item is submitted before the
        result is handed over). Default: yield results as they complete, any order.
    completed : object, optional
        For ``ordered=False``: where finished futures come from, an object with ``add(fut)``
        and ``__next__`` (e.g. ``distributed.as_completed()``); default waits on
        ``concurrent.futures`` futures.

    Yields
    ------
    result, or (item, result) when ``ordered``

    Futures still in flight are cancelled when the consumer stops early or an error is raised
    (close the generator, or let it be collected, before shutting the executor down).
    """
    window = max(1, int(window))
    it = iter(items)
    inflight = deque() if ordered else set()
    try:
        if ordered:
            def fill() -> bool:
                for item in it:
                    inflight.append((item, submit(item)))
                    return True
                return False

            while len(inflight) < window and fill():
                pass
            while inflight:
                item, fut = inflight.popleft()
                box = [(item, fut.result())]
                del fut
                fill()
                yield box.pop()  # no reference kept here while the consumer works
            return
        completed = _FirstCompleted() if completed is None else completed

        def take():
            fut = next(completed)
            inflight.discard(fut)
            return fut.result()

        for item in it:
            fut = submit(item)
            inflight.add(fut)
            completed.add(fut)
            del fut
            while len(inflight) >= window:
                yield take()
        while inflight:
            yield take()
    except BaseException:
        futs = [f for _, f in inflight] if ordered else list(inflight)
        for fut in futs:
            fut.cancel()
        raise


def run_windowed(items: Iterable, submit: Callable, window: int, done: Callable,
                 completed: Optional[object] = None) -> None:
    """``done(result)`` for each result of :func:`windowed` (any order); in-flight futures are
    cancelled when ``done`` raises."""
    results = windowed(items, submit, window, completed=completed)
    try:
        for res in results:
            done(res)
    finally:
        results.close()


# -- pipelining inside one process: a reader ahead of the consumer, writes behind it ----------
_DONE = object()


def prefetched(items: Iterable, depth: int = 2, name: str = "evframes-prefetch") -> Iterator:
    """Iterate ``items`` on a background thread, at most ``depth`` items ahead of the consumer.

    For sources whose ``next()`` waits on work that releases the GIL (inflating an archive,
    reading files), so it overlaps the consumer's own work (decoding, writing). Items come in
    their order; an exception raised by ``items`` is raised here after the items before it.
    The thread starts at the first ``next()``. Closing the generator (or an error in the
    consumer) stops the reader after the item it is producing and closes ``items`` on the
    reader's thread (a generator cannot be closed while another thread runs it).
    """
    import queue
    import threading

    q: "queue.Queue" = queue.Queue(max(1, int(depth)))
    stop = threading.Event()

    def produce():
        it = iter(items)
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put((item, None), timeout=0.05)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            else:
                q.put((_DONE, None))
        except BaseException as e:  # handed to the consumer, raised there
            q.put((_DONE, e))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    pass

    th = threading.Thread(target=produce, name=name, daemon=True)
    th.start()
    try:
        while True:
            item, err = q.get()
            if item is _DONE:
                if err is not None:
                    raise err
                return
            yield item
            del item
    finally:
        stop.set()
        while th.is_alive():  # unblock a reader waiting on a full queue
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        th.join()


class OrderedWorker:
    """Run calls on one background thread in the order they were submitted (write-behind).

    ``submit(fn, *args, nbytes=k)`` returns at once unless more than ``max_bytes`` of submitted
    work (as counted by ``nbytes``) is still pending: then it waits for the oldest, so the
    memory held by queued arguments stays bounded. The first call that raises stops the ones
    after it (they are skipped) and its exception is raised in the submitting thread, at the
    next ``submit`` or at ``drain()``. ``close()`` cancels what has not started and waits for
    the call in progress (so a file can be closed safely afterwards).
    """

    def __init__(self, max_bytes: int = 256 << 20, name: str = "evframes-write"):
        from concurrent.futures import ThreadPoolExecutor
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._pending: deque = deque()  # (future, nbytes)
        self._held = 0
        self.max_bytes = int(max_bytes)
        self._failed: Optional[BaseException] = None

    def _call(self, fn, args, kwargs):
        if self._failed is not None:
            return None
        try:
            return fn(*args, **kwargs)
        except BaseException as e:
            self._failed = e
            raise

    def _pop(self) -> None:
        fut, n = self._pending.popleft()
        self._held -= n
        fut.result()  # raises the call's exception

    def submit(self, fn: Callable, *args, nbytes: int = 0, **kwargs) -> None:
        while self._pending and self._pending[0][0].done():
            self._pop()
        while self._pending and self._held + nbytes > self.max_bytes:
            self._pop()
        if self._failed is not None:
            raise self._failed
        self._pending.append((self._pool.submit(self._call, fn, args, kwargs), int(nbytes)))
        self._held += int(nbytes)

    def drain(self) -> None:
        """Wait for every submitted call; raise the first failure."""
        while self._pending:
            self._pop()
        if self._failed is not None:
            raise self._failed

    def close(self) -> None:
        for fut, _ in self._pending:
            fut.cancel()
        self._pending.clear()
        self._held = 0
        self._pool.shutdown(wait=True)


@contextmanager
def large_buffers_reused():
    """While the block runs, glibc keeps freed large blocks (an archive member, a recording's
    events: tens of MB each) in the heap for the next allocation instead of unmapping them, so
    they are not mapped, faulted and zeroed page by page again (a fifth of the CPU time of
    extracting DVS128 Gesture's archive: 2.1 -> 0.7 s of system time). Afterwards the mmap
    threshold stays at glibc's own dynamic maximum (32 MiB, static from then on), the trim
    threshold at twice that, and the free memory goes back to the system (``malloc_trim``).
    Anything but glibc: nothing changes."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        yield
        return
    m_trim, m_mmap = -1, -3  # M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
    changed = mallopt(m_mmap, 1 << 30) and mallopt(m_trim, 1 << 30)
    try:
        yield
    finally:
        if changed:
            mallopt(m_mmap, 32 << 20)
            mallopt(m_trim, 64 << 20)
            trim(0)
