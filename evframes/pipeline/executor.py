"""One bounded-window scheduler for every executor the pipeline uses.

Extraction (process pool or Dask) and frames building (Dask) all do the same thing: submit work
items one at a time, keep at most ``window`` of them in flight, and hand each result to the
caller as soon as it may be used: in completion order where the caller has its own reorder
buffer (extraction), in submission order where it writes as it goes (frames). :func:`windowed`
does that for any executor whose ``submit`` returns a future with ``result()`` and
``cancel()`` (``concurrent.futures`` and ``distributed`` both do).
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, wait
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
