"""Batch reads: ``NeuromorphicDataset.__getitems__`` (what a DataLoader calls per batch),
``FramesStore.frames_many`` and ``evframes.datasets.fast_loader`` (compact batches from the
workers, converted after): the same values, order and errors as ``ds[i]`` / a DataLoader."""
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, RandomSampler, Subset

from evframes.datasets import DVS128Gesture, fast_loader
from evframes.errors import StoreError
from evframes.frames import FramesStore, frames_store_path, setting_from_options
from evframes.torch_data import pad_sequence_collate

KW = dict(data_type="frame", frames_number=4, split_by="number", progress=False)


@pytest.fixture(scope="module")
def root(tmp_path_factory, dvs_archive_root):
    r = tmp_path_factory.mktemp("fast_loader")
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", r / "DvsGesture.tar.gz")
    return r


@pytest.fixture(scope="module")
def train(root):
    return DVS128Gesture(root, train=True, **KW)


def _loader_batches(ds, seed, **kw):
    g = torch.Generator()
    g.manual_seed(seed)
    return list(DataLoader(ds, generator=g, **kw))


def _fast_batches(ds, seed, **kw):
    g = torch.Generator()
    g.manual_seed(seed)
    return list(fast_loader(ds, generator=g, **kw))


def _same(a, b):
    assert len(a) == len(b) and len(a) > 0
    for (xa, ya, *ra), (xb, yb, *rb) in zip(a, b):
        assert xa.dtype == xb.dtype and xa.shape == xb.shape
        assert torch.equal(xa, xb) and torch.equal(torch.as_tensor(ya), torch.as_tensor(yb))
        for u, v in zip(ra, rb):
            assert torch.equal(u, v)


def test_getitems_equals_getitem(train):
    idx = [5, 0, 5, -1, 17, 3]
    got = train.__getitems__(idx)
    assert len(got) == len(idx)
    for i, (x, y) in zip(idx, got):
        xr, yr = train[i]
        assert x.dtype == torch.float32 and torch.equal(x, xr) and y == yr
    with pytest.raises(IndexError, match=re.escape(str(train._frames.path))):
        train.__getitems__([0, len(train)])


def test_frames_many_any_order_and_checks(train):
    fs = FramesStore(train._frames.path)
    idx = np.array([0, 1, 2, 7, 9, 10, 35])
    ref = np.concatenate([fs.frames(int(i)) for i in idx])
    np.testing.assert_array_equal(fs.frames_many(idx), ref)
    out = np.empty_like(ref)
    assert fs.frames_many(idx, out) is out
    np.testing.assert_array_equal(out, ref)
    back = np.array([9, 2, 1, 0, 35, 9])  # any order, repeats: one read per run
    np.testing.assert_array_equal(fs.frames_many(back),
                                  np.concatenate([fs.frames(int(i)) for i in back]))
    with pytest.raises(ValueError, match="out must be"):
        fs.frames_many(idx, np.empty((3, 2, 128, 128), np.uint8))


@pytest.mark.parametrize("workers", [0, 2])
def test_fast_loader_equals_dataloader(train, workers):
    """Same generator -> the same batches in the same order, float32 by default; the last
    batch partial (36 samples, batch 16)."""
    ref = _loader_batches(train, 7, batch_size=16, shuffle=True, num_workers=workers)
    fl = fast_loader(train, 16, shuffle=True, num_workers=workers)
    assert fl.compact and len(fl) == 3
    _same(_fast_batches(train, 7, batch_size=16, shuffle=True, num_workers=workers), ref)
    got8 = _fast_batches(train, 7, batch_size=16, shuffle=True, num_workers=workers,
                         dtype=torch.uint8)
    _same([(x.float(), y) for x, y in got8], ref)
    assert got8[0][0].dtype == torch.uint8


def test_fast_loader_reuses_worker_buffers_safely(train):
    """More batches than a worker keeps buffers (ring reuse): still the DataLoader's batches."""
    from evframes.datasets import loader
    assert len(train) // 2 > 2 * loader.RING
    ref = _loader_batches(train, 11, batch_size=2, shuffle=True, num_workers=1)
    _same(_fast_batches(train, 11, batch_size=2, shuffle=True, num_workers=1), ref)


def test_fast_loader_in_memory_subset_duplicates_drop_last(root, train):
    mem = DVS128Gesture(root, train=True, in_memory=True, **KW)
    ref = _loader_batches(train, 3, batch_size=5, shuffle=True, drop_last=True)
    _same(_fast_batches(mem, 3, batch_size=5, shuffle=True, drop_last=True), ref)
    sub = Subset(Subset(train, list(range(30, 2, -1))), [4, 0, 9, 9, 2, 20])
    _same(list(fast_loader(sub, 4)), list(DataLoader(sub, batch_size=4)))
    g = torch.Generator()
    g.manual_seed(1)
    sampler = RandomSampler(train, replacement=True, num_samples=40, generator=g)
    idx = [i for i in sampler]  # with replacement: repeated samples inside a batch
    assert len(set(idx)) < len(idx)
    g.manual_seed(1)
    got = list(fast_loader(train, 8, sampler=RandomSampler(train, replacement=True,
                                                           num_samples=40, generator=g),
                           dtype=torch.float16))
    x = torch.cat([b[0] for b in got])
    assert x.dtype == torch.float16
    assert torch.equal(x.float(), torch.stack([train[i][0] for i in idx]))
    assert torch.cat([b[1] for b in got]).tolist() == [int(train.labels[i]) for i in idx]


def test_fast_loader_off_the_compact_path(root, train):
    """Transforms and variable T go through a DataLoader with the same batches."""
    flip = DVS128Gesture(root, train=True, transform=lambda x: x.flip(-1), **KW)
    fl = fast_loader(flip, 8, shuffle=True)
    assert not fl.compact
    ref = _loader_batches(flip, 5, batch_size=8, shuffle=True)
    _same(_fast_batches(flip, 5, batch_size=8, shuffle=True), ref)
    var = DVS128Gesture(root, train=False, data_type="frame", duration=1_000_000,
                        progress=False)
    ref = list(DataLoader(var, batch_size=4, collate_fn=pad_sequence_collate))
    got = list(fast_loader(var, 4, collate_fn=pad_sequence_collate, dtype=torch.float64))
    assert got[0][0].dtype == torch.float64
    _same([(x.float(), y, n) for x, y, n in got], ref)


def test_fast_loader_refuses_an_inexact_dtype(train):
    with pytest.raises(ValueError, match="sample"):
        fast_loader(train, 4, dtype=torch.bool)  # counts above 1


def test_corrupt_chunk_in_a_batch_names_store_and_sample(tmp_path, dvs_archive_root):
    root = tmp_path / "r"
    root.mkdir()
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", root)
    DVS128Gesture(root, train=False, **KW)
    path = frames_store_path(root, setting_from_options("number", 4), "test")
    with h5py.File(path, "r") as f:
        info = f["frames"].id.get_chunk_info_by_coord((3 * 4, 0, 0, 0))
    data = bytearray(Path(path).read_bytes())
    for k in range(info.byte_offset + 32, info.byte_offset + info.size - 8):
        data[k] ^= 0x5A
    Path(path).write_bytes(bytes(data))
    ds = DVS128Gesture(root, train=False, **KW)
    assert len(ds.__getitems__([0, 1, 2])) == 3
    with pytest.raises(StoreError, match=rf"{re.escape(str(path))}.*sample 3"):
        ds.__getitems__([1, 3, 5])
    with pytest.raises(StoreError, match=rf"{re.escape(str(path))}.*sample 3"):
        list(fast_loader(ds, 6))
