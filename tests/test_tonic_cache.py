"""evframes.tonic's DiskCachedDataset / MemoryCachedDataset: Tonic's constructor, normal form
and transform order, and what evframes adds: one HDF5 store per ``cache_path``, never a stale
sample after the wrapped dataset or its transform changed (the tests Tonic's cache would fail),
DataLoader workers."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from tonic_replicas import write_nmnist

import evframes.tonic as tonic
from evframes import StoreError


class Counted:
    """A dataset that logs each sample it computes to a file (a counter attribute would change
    the dataset's fingerprint, as any attribute that changes when it is read)."""

    def __init__(self, items, log):
        self.items = items
        self.log = str(log)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        with open(self.log, "a") as fh:
            fh.write(f"{i}\n")
        return self.items[i]

    @property
    def calls(self):
        seen = Path(self.log).read_text().split() if Path(self.log).exists() else []
        return [seen.count(str(i)) for i in range(len(self.items))]


def _files(path) -> list:
    return sorted(str(p.relative_to(path)) for p in Path(path).rglob("*") if p.is_file())


def test_normal_form_and_order(tmp_path):
    items = [(np.arange(6, dtype=np.int16).reshape(3, 2), 4),
             ((np.ones(2), np.zeros((1, 2))), 2.5),
             ((np.arange(3),), np.array([1, 2])),
             ({"b": 1, "a": np.ones(2)}, "cat"),
             (torch.arange(4.0), np.int32(7)),
             (np.array(3.5), True)]
    ds = Counted(items, tmp_path / "log")
    seen = []
    cached = tonic.DiskCachedDataset(ds, str(tmp_path / "c"),
                                     transform=lambda x: seen.append(("t", type(x))) or x,
                                     target_transform=lambda y: seen.append(("y", y)) or y)
    first = [cached[i] for i in range(len(ds))]
    again = [tonic.DiskCachedDataset(ds, str(tmp_path / "c"))[i] for i in range(len(ds))]
    assert ds.calls == [1] * len(ds)  # computed once, read back after
    for (x, y), (x2, y2) in zip(first, again):
        assert type(x) is type(x2) and type(y) is type(y2)
    (x0, y0), (x1, y1), (x2, y2), (x3, y3), (x4, y4), (x5, y5) = again
    assert x0.dtype == np.int16 and x0.shape == (3, 2) and type(y0) is np.int64 and y0 == 4
    assert isinstance(x1, list) and len(x1) == 2 and type(y1) is np.float64
    assert isinstance(x2, np.ndarray) and y2.tolist() == [1, 2]  # one piece: itself
    assert list(x3) == ["a", "b"] and type(x3["b"]) is np.int64 and y3 == b"cat"
    assert isinstance(x4, np.ndarray) and x4.dtype == np.float32 and type(y4) is np.int32
    assert type(x5) is np.float64 and type(y5) is np.bool_
    assert seen[:2] == [("t", np.ndarray), ("y", 4)]  # transforms after the cache


def _nmnist(base, transform):
    return tonic.datasets.NMNIST(str(base), transform=transform)


def _frames(window):
    def to_frames(ev):
        fr = np.zeros((4, 2, 34, 34), np.int16)
        np.add.at(fr, (np.minimum(ev["t"] // window, 3), ev["p"], ev["y"], ev["x"]), 1)
        return fr
    return to_frames


class Frames:
    """A transform object with a parameter (as Tonic's ToFrame(time_window=...))."""

    def __init__(self, time_window):
        self.time_window = time_window

    def __call__(self, ev):
        return _frames(self.time_window)(ev)


@pytest.fixture(scope="module")
def nmnist(tmp_path_factory):
    base = tmp_path_factory.mktemp("cache_nmnist")
    write_nmnist(base, per_class_train=1, per_class_test=1)
    return base


def test_changed_transform_or_dataset_never_served_stale(nmnist, tmp_path):
    """Tonic's DiskCachedDataset serves the first transform's frames in all three cases."""
    path = str(tmp_path / "cache")
    a = tonic.DiskCachedDataset(_nmnist(nmnist, Frames(80_000)), path)
    old = [a[i][0] for i in range(len(a))]
    for ds in (_nmnist(nmnist, Frames(40_000)),                       # parameter changed
               _nmnist(nmnist, _frames(20_000)),                      # a closure
               tonic.datasets.NMNIST(str(nmnist), train=False,        # another split
                                     transform=Frames(80_000))):
        b = tonic.DiskCachedDataset(ds, path)
        for i in range(len(b)):
            np.testing.assert_array_equal(b[i][0], ds[i][0])
        assert any(not np.array_equal(b[i][0], old[i]) for i in range(len(b)))
    same = tonic.DiskCachedDataset(_nmnist(nmnist, Frames(80_000)), path)
    assert same.fingerprint == a.fingerprint


def test_raw_data_changed_never_served_stale(tmp_path):
    write_nmnist(tmp_path, per_class_train=1, per_class_test=1)
    path = str(tmp_path / "cache")
    before = tonic.DiskCachedDataset(_nmnist(tmp_path, Frames(80_000)), path)[0][0]
    victim = tmp_path / "NMNIST" / "Train" / "0" / "00001.bin"
    victim.write_bytes(victim.read_bytes()[:500])  # the first 100 events
    ds = _nmnist(tmp_path, Frames(80_000))          # the events store is rebuilt
    after = tonic.DiskCachedDataset(ds, path)[0][0]
    assert after.sum() == 100 < before.sum()
    np.testing.assert_array_equal(after, ds[0][0])


def test_one_store_after_a_complete_pass(nmnist, tmp_path):
    path = tmp_path / "cache"
    ds = _nmnist(nmnist, Frames(80_000))
    cached = tonic.DiskCachedDataset(ds, str(path))
    want = [ds[i][0] for i in range(len(ds))]
    for _ in range(2):  # epoch 1 computes, epoch 2 reads and merges
        for i in range(len(cached)):
            np.testing.assert_array_equal(cached[i][0], want[i])
    assert _files(path) == [".cache.h5.lock", "cache.h5"]
    for i in range(len(cached)):  # now from the store
        np.testing.assert_array_equal(cached[i][0], want[i])
    served = tonic.DiskCachedDataset(None, str(path))  # dataset=None: the cache as it is
    assert len(served) == len(ds) and served[3][1] == ds[3][1]
    with pytest.raises(IndexError):
        served[len(ds)]


def test_dataloader_workers_then_merged(nmnist, tmp_path):
    path = tmp_path / "cache"
    ds = _nmnist(nmnist, Frames(80_000))
    want = torch.from_numpy(np.stack([ds[i][0] for i in range(len(ds))])).float()
    for epoch in range(2):
        cached = tonic.DiskCachedDataset(ds, str(path))
        loader = torch.utils.data.DataLoader(cached, batch_size=4, num_workers=2,
                                             collate_fn=tonic.collation.PadTensors())
        x = torch.cat([b[0] for b in loader])
        assert torch.equal(x, want), epoch
    assert "cache.h5" in _files(path)  # the second construction merged what workers staged
    assert not [f for f in _files(path) if f.startswith(".staging")]


def test_num_copies_reset_and_negative_index(tmp_path):
    class Noisy(Counted):
        def __getitem__(self, i):
            super().__getitem__(i)
            return np.random.random(3), i

    ds = Noisy([None] * 3, tmp_path / "log")
    np.random.seed(0)
    cached = tonic.DiskCachedDataset(ds, str(tmp_path / "c"), num_copies=2)
    got = {tuple(cached[1][0]) for _ in range(40)}
    assert len(got) == 2 and ds.calls[1] == 2  # two copies, each computed once
    assert tuple(cached[-2][0]) in got          # -2 is sample 1
    tonic.DiskCachedDataset(ds, str(tmp_path / "c"), num_copies=2, reset_cache=True)[1]
    assert ds.calls[1] == 3


def test_unfingerprintable_dataset_warns_and_lasts_one_run(tmp_path):
    ds = Counted([(np.ones(2), 0)], tmp_path / "log")
    ds.lock = threading.Lock()
    with pytest.warns(UserWarning, match="no fingerprint"):
        a = tonic.DiskCachedDataset(ds, str(tmp_path / "c"))
    a[0], a[0]
    with pytest.warns(UserWarning):
        tonic.DiskCachedDataset(ds, str(tmp_path / "c"))[0]
    assert ds.calls == [2]


def test_foreign_file_refused(tmp_path):
    import h5py
    (tmp_path / "c").mkdir()
    with h5py.File(tmp_path / "c" / "cache.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(StoreError, match="not an evframes sample cache"):
        tonic.DiskCachedDataset(Counted([(1, 0)], tmp_path / "log"), str(tmp_path / "c"))


def test_memory_cache(tmp_path):
    ds = Counted([(np.ones((2, 2)), 1), (np.zeros(3), 0)], tmp_path / "log")
    m = tonic.MemoryCachedDataset(ds, transform=lambda x: x + 1)
    assert m[0][0].tolist() == [[2, 2], [2, 2]] and m[0][1] == 1 and len(m) == 2
    assert ds.calls == [1, 0]
    x, y = tonic.MemoryCachedDataset(ds, device="cpu")[1]
    assert isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
