"""Extraction pipelining: the reader thread ahead (``prefetched``), the writes behind
(``OrderedWorker``), the events writer's chunk writes without joining its buffer, and the
stores staying the same bytes as a serial run."""
import json
import shutil
import threading
import time

import h5py
import numpy as np
import pytest

import evframes.pipeline.extract as ex
import evframes.store.events as se
from evframes.datasets import open_raw
from evframes.errors import StoreError
from evframes.pipeline.executor import OrderedWorker, prefetched

from helpers import real_file


def _chunks(path):
    """{dataset: [(chunk offset, stored (compressed) bytes), ...]} and the manifest without
    its per-build fields: what must not change when only the way of writing changes."""
    out = {}
    with h5py.File(path, "r") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        for n in names:
            d = f[n]
            if d.chunks is None:
                v = d[...]
                out[n] = v.tolist() if v.dtype.kind == "O" else v.tobytes()
            else:
                out[n] = [(d.id.get_chunk_info(i).chunk_offset,
                           d.id.read_direct_chunk(d.id.get_chunk_info(i).chunk_offset)[1])
                          for i in range(d.id.get_num_chunks())]
        man = json.loads(f.attrs["manifest"])
    for k in ("created", "build_id"):
        man.pop(k)
    return out, man


# -- the events writer ---------------------------------------------------------------------
@pytest.fixture
def real_events():
    from evframes import read_events
    ev = read_events(real_file("nmnist_bin/ncaltech101_faces_easy_0001.bin"))
    assert len(ev["t"]) > 50_000
    return ev


def _write(path, ev, cuts):
    with se.EventsStoreWriter(path) as w:
        a = 0
        for b in list(cuts) + [len(ev["t"])]:
            w.append({k: ev[k][a:b] for k in "txyp"}, 0)
            a = b
        w.commit({"kind": "events"})


def test_writer_chunks_equal_one_big_write(tmp_path, monkeypatch, real_events):
    """Appends of any sizes (smaller than a chunk, spanning several, ending on a boundary)
    give the same stored chunks as one append of everything, so only whole chunks are
    written and none is joined differently."""
    monkeypatch.setattr(se, "_EVENT_CHUNK", 4096)
    n = len(real_events["t"])
    _write(tmp_path / "one.h5", real_events, [])
    rng = np.random.default_rng(0)
    cuts = np.unique(np.concatenate([rng.integers(1, n, 40), [4096, 8192, 8193, 3 * 4096]]))
    _write(tmp_path / "many.h5", real_events, cuts)
    one, man_one = _chunks(tmp_path / "one.h5")
    many, man_many = _chunks(tmp_path / "many.h5")
    assert len(one["t"]) == -(-n // 4096)
    for k in "txyp":
        assert many[k] == one[k], k
    with h5py.File(tmp_path / "many.h5") as f:
        np.testing.assert_array_equal(f["t"][...], real_events["t"])
        assert f["offsets"].shape[0] == len(cuts) + 2
    assert man_one["checksums"]["t"] == man_many["checksums"]["t"]


def test_write_chunks_leaves_the_remainder(monkeypatch):
    monkeypatch.setattr(se, "_EVENT_CHUNK", 4)
    d = np.zeros(8, np.int64)
    parts = [np.arange(3), np.arange(3, 10), np.arange(10, 11)]  # 11 values, 8 written
    rest = se._write_chunks(d, parts, 0, 8)
    np.testing.assert_array_equal(d, np.arange(8))
    np.testing.assert_array_equal(np.concatenate(rest), [8, 9, 10])


# -- the reader thread and the writer thread --------------------------------------------
def test_prefetched_keeps_order_and_raises_after_the_items_before():
    def gen():
        yield from range(5)
        raise ValueError("archive truncated")
    got = []
    with pytest.raises(ValueError, match="archive truncated"):
        for v in prefetched(gen(), depth=2):
            got.append(v)
    assert got == list(range(5))


def test_prefetched_reads_ahead_boundedly_and_closes_the_source_on_its_thread():
    produced, closed = [], []

    def gen():
        try:
            for i in range(100):
                produced.append(i)
                yield i
        finally:
            closed.append(threading.current_thread().name)

    it = prefetched(gen(), depth=2, name="test-reader")
    assert next(it) == 0
    time.sleep(0.2)
    assert len(produced) <= 4  # the item handed over, two queued, one waiting to be queued
    it.close()
    assert closed == ["test-reader"] and len(produced) < 100


def test_ordered_worker_order_failure_and_bound():
    w = OrderedWorker(max_bytes=10)
    seen = []
    for i in range(20):
        w.submit(seen.append, i, nbytes=4)
        assert w._held <= 12  # waits for the oldest beyond the bound
    w.drain()
    assert seen == list(range(20))

    def boom():
        raise OSError(28, "No space left on device")
    w.submit(boom)
    w.submit(seen.append, "after")  # skipped: a failed write stops the ones after it
    with pytest.raises(OSError, match="No space"):
        w.drain()
    assert seen[-1] == 19
    with pytest.raises(OSError):
        w.submit(seen.append, "later")
    w.close()


# -- whole extractions -----------------------------------------------------------------
def _extract(root, **kw):
    shutil.rmtree(root / "events", ignore_errors=True)
    ex.extract(open_raw("dvs128", root), progress=False, warn=False, **kw)
    return {s: _chunks(root / "events" / f"{s}.h5") for s in ("train", "test")}


class _Serial:
    """OrderedWorker's interface, running each call at once in the caller."""

    def __init__(self, *a, **k):
        pass

    def submit(self, fn, *args, nbytes=0, **kw):
        fn(*args, **kw)

    def drain(self):
        pass

    def close(self):
        pass


def test_pipelined_extraction_same_bytes_as_serial(tmp_path, monkeypatch, dvs_archive_root):
    root = tmp_path / "r"
    root.mkdir()
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", root)
    piped = _extract(root, workers=1)
    pool = _extract(root, workers=2)
    monkeypatch.setattr(ex, "prefetched", lambda items, *a, **k: items)
    monkeypatch.setattr(ex, "OrderedWorker", _Serial)
    serial = _extract(root, workers=1)
    assert piped == serial and pool == serial
    assert serial["train"][1]["n_samples"] > 0


def test_write_failure_behind_is_one_store_error(tmp_path, monkeypatch, dvs_archive_root):
    root = tmp_path / "r"
    root.mkdir()
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", root)
    monkeypatch.setattr(se, "_EVENT_CHUNK", 4096)  # whole chunks get written on the way
    real = se.EventsStoreWriter._write_buffer
    threads = []

    def full(self, final):
        threads.append(threading.current_thread().name)
        if len(threads) == 3:
            raise OSError(28, "No space left on device")
        return real(self, final)
    monkeypatch.setattr(se.EventsStoreWriter, "_write_buffer", full)
    with pytest.raises(StoreError, match="No space left on device.*no partial store"):
        ex.extract(open_raw("dvs128", root), workers=1, progress=False, warn=False)
    assert threads[2].startswith("evframes-extract-write")  # it failed behind, on the writer
    assert not (root / "events" / "train.h5").exists()
    assert not [p for p in (root / "events").iterdir() if p.suffix == ".h5" or ".tmp" in p.name]


def test_streamed_archive_keeps_no_shards_by_default(tmp_path, monkeypatch, dvs_archive_root):
    """A .tar.gz read as one stream: a rerun inflates it all again, so resumable=None keeps no
    shards there, while an extracted folder (decodable recording by recording) keeps them."""
    monkeypatch.setattr(ex, "RESUME_MIN_BYTES", 0)
    seen = []
    monkeypatch.setattr(ex, "_after_job", lambda res: seen.append(
        sum(1 for d in (root / "events").glob(".partial-*") for _ in d.glob("*.npz"))))
    root = tmp_path / "arch"
    root.mkdir()
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", root)
    ex.extract(open_raw("dvs128", root), workers=1, progress=False, warn=False)
    assert seen and max(seen) == 0
    import tarfile
    root = tmp_path / "folder"
    with tarfile.open(dvs_archive_root / "DvsGesture.tar.gz") as tf:
        tf.extractall(root, filter="data")
    seen.clear()
    ex.extract(open_raw("dvs128", root), workers=1, progress=False, warn=False)
    assert seen and max(seen) >= 1


def test_large_buffers_reused_block_runs_with_and_without_glibc(monkeypatch):
    import ctypes

    from evframes.pipeline.executor import large_buffers_reused
    with large_buffers_reused():
        a = np.ones(8 << 20, np.uint8)  # a large block freed and allocated again
        del a
        b = np.zeros(8 << 20, np.uint8)
    assert int(b.sum()) == 0

    def no_libc(*a, **k):
        raise OSError("no libc.so.6 here")
    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    ran = []
    with large_buffers_reused():
        ran.append(1)
    assert ran == [1]
