"""evframes._filecache.FileKeyedCache: a value is kept while its file is unchanged, computed
again for a rewritten or replaced file, and the least recently used goes first."""
from __future__ import annotations

import os

import pytest

from evframes._filecache import FileKeyedCache


def test_kept_while_unchanged_recomputed_when_rewritten(tmp_path):
    p = tmp_path / "a"
    p.write_bytes(b"one")
    c = FileKeyedCache(2)
    calls = []

    def make(tag):
        calls.append(tag)
        return tag

    assert c.get(p, lambda: make(1)) == 1
    assert c.get(p, lambda: make(2)) == 1 and calls == [1]
    p.write_bytes(b"two")  # same size: the times and inode key it
    st = os.stat(p)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert c.get(p, lambda: make(3)) == 3
    q = tmp_path / "b"
    q.write_bytes(b"x")
    os.replace(q, p)  # another inode at the same path
    assert c.get(p, lambda: make(4)) == 4 and calls == [1, 3, 4]


def test_least_recently_used_goes_first(tmp_path):
    paths = [tmp_path / n for n in "abc"]
    for p in paths:
        p.write_bytes(b"x")
    c = FileKeyedCache(2)
    for i, p in enumerate(paths[:2]):
        c.get(p, lambda i=i: i)
    c.get(paths[0], lambda: "again")  # a is used: b is now the oldest
    c.get(paths[2], lambda: 2)
    assert c.get(paths[0], lambda: "new") == 0
    assert c.get(paths[1], lambda: "new") == "new"
    c.clear()
    assert c.get(paths[0], lambda: "cleared") == "cleared"


def test_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        FileKeyedCache(1).get(tmp_path / "nope", lambda: 1)
