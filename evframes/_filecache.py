"""A small cache of values computed from files, each kept while its file is unchanged."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Callable, Generic, TypeVar

V = TypeVar("V")


class FileKeyedCache(Generic[V]):
    """Values computed from a file for the last ``size`` files asked for (least recently
    used out), keyed by the file's real path, inode, size and modification and change times
    (nanoseconds): a file rewritten or replaced is computed again, never answered from what
    was kept of the old one. Thread-safe; two threads missing at once both compute."""

    def __init__(self, size: int):
        self.size = size
        self._items: "OrderedDict[tuple, V]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path, make: Callable[[], V]) -> V:
        """The value kept for ``path`` as it is now, else ``make()`` (kept). ``os.stat``'s
        ``OSError`` (a missing file) is raised."""
        st = os.stat(path)
        key = (os.path.realpath(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
