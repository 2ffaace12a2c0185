"""evframes.tonic's datasets, collation and caches against Tonic 1.7 itself (benchmark
environment only; skipped without Tonic).

The replicas of ``tonic_replicas.CASES`` are written in Tonic's layout; Tonic's and evframes'
datasets read the same folder and every sample is compared (target, events' bytes and dtype,
users and lighting; N-MNIST's order too; DVSGesture's by file, Tonic's order being the file
system's). ``PadTensors`` and the caches' normal form are compared on the same batches and
values, and Tonic's never-invalidated disk cache is shown serving an old transform's samples
where evframes' serves the new ones.

Run: ``PYTHONPATH=. .venv-bench/bin/python -m pytest -q tests/test_tonic_peer_datasets.py``.
Write the default suite's references from Tonic: ``tests/data/tonic_ds_reference.json`` with
``PYTHONPATH=. .venv-bench/bin/python tests/test_tonic_peer_datasets.py --write-reference``,
``tests/data/tonic_ds_tutorial.json`` (the snnTorch tutorial's values, ``test_tonic_tutorial``)
with ``... --write-tutorial``.

Tonic downloads unless its archive is present and its folder holds a minimum number of files
(10000 N-MNIST ``.bin``, 100 DVSGesture ``.npy``); the replicas are small, so its
``_check_exists`` is lifted for these tests (the archives are touched beside the folders).
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

tonic = pytest.importorskip("tonic")
torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tonic_replicas import CASES, describe, replica_digest, tonic_can_read  # noqa: E402

import evframes.tonic as ev_tonic  # noqa: E402

REFERENCE = Path(__file__).resolve().parent / "data" / "tonic_ds_reference.json"


def _theirs(name: str, base: Path, kwargs: dict):
    cls = getattr(tonic.datasets, name)
    old = cls._check_exists
    cls._check_exists = lambda self: True
    try:
        return cls(str(base), **kwargs)
    finally:
        cls._check_exists = old


def _case(case: str, base: Path):
    writer, wkw, name, kw = CASES[case]
    loc = writer(base, **wkw)
    digest = replica_digest(loc)
    tonic_can_read(loc)
    return loc, name, kw, digest


@pytest.mark.parametrize("case", list(CASES))
def test_same_samples_as_tonic(case, tmp_path):
    loc, name, kw, _ = _case(case, tmp_path)
    theirs = _theirs(name, tmp_path, kw)
    ours = getattr(ev_tonic.datasets, name)(str(tmp_path), **kw)
    a, b = describe(theirs, loc), describe(ours, loc)
    assert len(theirs) == len(ours) == len(a) > 0
    assert a.keys() == b.keys()
    for k in a:
        assert a[k][:7] == b[k][:7], k
    if name == "NMNIST":  # Tonic sorts N-MNIST: the same order
        assert list(a) == list(b) and theirs.targets == ours.targets
    assert type(ours).sensor_size == type(theirs).sensor_size
    assert type(ours).dtype == type(theirs).dtype
    assert type(ours).ordering == type(theirs).ordering
    assert type(ours).classes == type(theirs).classes


def test_stored_reference_is_tonic(tmp_path):
    """The default suite's reference holds what Tonic gives on the replicas."""
    ref = json.loads(REFERENCE.read_text())
    for case in CASES:
        base = tmp_path / case
        loc, name, kw, digest = _case(case, base)
        assert ref[case]["replica"] == digest, f"{case}: replica changed; rewrite the reference"
        got = describe(_theirs(name, base, kw), loc)
        assert {k: list(v[:7]) for k, v in got.items()} == \
            {k: v[:7] for k, v in ref[case]["samples"].items()}


def _write_reference():
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            base = Path(tmp) / case
            loc, name, kw, digest = _case(case, base)
            got = describe(_theirs(name, base, kw), loc)
            out[case] = {"replica": digest, "tonic": tonic.__version__,
                         "samples": {k: list(v) for k, v in got.items()}}
    REFERENCE.parent.mkdir(exist_ok=True)
    REFERENCE.write_text(json.dumps(out, indent=0, sort_keys=True) + "\n")
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size} bytes)")


# -- collation ------------------------------------------------------------------------------------

def _batches():
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 5, (n, 2, 4, 3)).astype(np.int16) for n in (3, 5, 1)]
    yield [(f, i) for i, f in enumerate(frames)]
    yield [(f.astype(np.float64), np.int64(i)) for i, f in enumerate(frames)]
    yield [(torch.from_numpy(f.astype(np.float32)), float(i)) for i, f in enumerate(frames)]
    yield [(f > 2, np.array([i])) for i, f in enumerate(frames)]
    yield [(f, np.full((2, 3), i)) for i, f in enumerate(frames)]
    yield [(torch.from_numpy(f).to_sparse(), i) for i, f in enumerate(frames)]


@pytest.mark.parametrize("batch_first", [True, False])
def test_pad_tensors_same_as_tonic(batch_first):
    for batch in _batches():
        copy = [(s.clone() if isinstance(s, torch.Tensor) else s.copy(), t) for s, t in batch]
        xa, ya = tonic.collation.PadTensors(batch_first)(batch)
        xb, yb = ev_tonic.collation.PadTensors(batch_first)(copy)
        for a, b in ((xa, xb), (ya, yb)):
            assert a.dtype == b.dtype and a.shape == b.shape and a.is_sparse == b.is_sparse
            assert torch.equal(a.to_dense() if a.is_sparse else a,
                               b.to_dense() if b.is_sparse else b)


# -- caches ---------------------------------------------------------------------------------------

class _Values:
    """A dataset of one sample per kind of value a cache meets."""

    def __init__(self):
        rng = np.random.default_rng(1)
        self.items = [
            (rng.integers(0, 9, (4, 2, 3, 3)).astype(np.int16), 3),
            ((np.arange(6.0).reshape(2, 3), np.arange(3)), 1.5),
            ((np.arange(4),), np.int64(2)),
            ({"b": np.arange(3), "a": np.ones((2, 2))}, np.array([1, 2])),
            (np.zeros(3, dtype=ev_tonic.datasets.DVSGesture.dtype), True),
            (torch.arange(5), "label"),
            (np.float32(2.5), (1, np.arange(2))),
        ]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def _same(a, b, where):
    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        assert np.array_equal(a, b), where
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), where
    else:
        assert a == b, where


def test_disk_cache_normal_form_same_as_tonic(tmp_path):
    ds = _Values()
    theirs = tonic.DiskCachedDataset(ds, cache_path=str(tmp_path / "tonic"))
    ours = ev_tonic.DiskCachedDataset(ds, cache_path=str(tmp_path / "ours"))
    for i in range(len(ds)):
        for _ in range(2):  # computed, then read back from the cache
            _same(theirs[i], ours[i], f"sample {i}")


def test_tonic_serves_stale_cache_evframes_does_not(tmp_path):
    """Tonic's documented gap: a changed transform keeps the old cached samples."""
    ds = _Values()
    ds.items = ds.items[:1]
    for mod, name in ((tonic, "tonic"), (ev_tonic, "ours")):
        path = str(tmp_path / name)
        first = mod.DiskCachedDataset(_Scaled(ds, 1), cache_path=path)[0][0]
        second = mod.DiskCachedDataset(_Scaled(ds, 2), cache_path=path)[0][0]
        if mod is tonic:
            assert np.array_equal(second, first)  # stale
        else:
            assert np.array_equal(second, 2 * first)


class _Scaled:
    def __init__(self, ds, k):
        self.ds, self.k = ds, k

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        x, y = self.ds[i]
        return x * self.k, y


def test_memory_cache_same_as_tonic():
    ds = _Values()
    theirs, ours = tonic.MemoryCachedDataset(ds), ev_tonic.MemoryCachedDataset(ds)
    for i in range(len(ds)):
        _same(theirs[i], ours[i], f"sample {i}")
    assert len(theirs) == len(ours)


# -- utils --------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Animation was deleted")
def test_plots_same_as_tonic(tmp_path):
    from test_tonic_datasets import _grid_images
    loc, name, kw, _ = _case("nmnist_train", tmp_path)
    ev, _ = _theirs(name, tmp_path, kw)[4]
    for args in ((ev,), (ev, (2, 2), True), (ev, (1, 4))):
        _, a, _ = _grid_images(tonic.utils.plot_event_grid, *args)
        _, b, _ = _grid_images(ev_tonic.utils.plot_event_grid, *args)
        assert len(a) == len(b) > 0
        for (ia, ta), (ib, tb) in zip(a, b):
            assert ta == tb and ia.dtype == ib.dtype and np.array_equal(ia, ib)
    with pytest.raises(IndexError):  # Tonic reshapes a (rows, 1) grid to (1, rows)
        _grid_images(tonic.utils.plot_event_grid, ev, (3, 1))
    assert len(_grid_images(ev_tonic.utils.plot_event_grid, ev, (3, 1))[1]) == 3
    frames = tonic.transforms.ToFrame(sensor_size=(34, 34, 2), time_window=20000)(ev)
    _, a, fa = _grid_images(tonic.utils.plot_animation, frames)
    _, b, fb = _grid_images(ev_tonic.utils.plot_animation, frames)
    assert np.array_equal(a[0][0], b[0][0]) and a[0][0].dtype == b[0][0].dtype
    assert tuple(fa.get_size_inches()) == tuple(fb.get_size_inches())


# -- the snnTorch + Tonic tutorial ----------------------------------------------------------------

def _tonic_tutorial(tmp_path, rotation=None) -> dict:
    import test_tonic_tutorial as tt
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tonic.datasets.NMNIST, "_check_exists", lambda self: True)
        return tt.run_in(tmp_path, tonic, tonic.transforms, tonic.DiskCachedDataset, rotation)


@pytest.mark.parametrize("rotate", [False, True])
def test_tutorial_same_as_tonic(tmp_path, rotate):
    import test_tonic_tutorial as tt
    rotation = None
    if rotate:
        rotation = pytest.importorskip("torchvision").transforms.RandomRotation
    theirs = _tonic_tutorial(tmp_path / "tonic", rotation)
    ours = tt.run_in(tmp_path / "ours", ev_tonic, ev_tonic.transforms,
                     ev_tonic.DiskCachedDataset, rotation)
    assert theirs.keys() == ours.keys()
    for key in theirs:
        assert ours[key] == theirs[key], key


def test_stored_tutorial_is_tonic(tmp_path):
    import test_tonic_tutorial as tt
    assert json.loads(tt.REFERENCE.read_text())["plain"] == _tonic_tutorial(tmp_path)


def _write_tutorial():
    import test_tonic_tutorial as tt
    with tempfile.TemporaryDirectory() as tmp:
        out = {"plain": _tonic_tutorial(Path(tmp)), "tonic": tonic.__version__,
               "torch": torch.__version__}
    tt.REFERENCE.write_text(json.dumps(out, indent=0, sort_keys=True) + "\n")
    print(f"wrote {tt.REFERENCE} ({tt.REFERENCE.stat().st_size} bytes)")


if __name__ == "__main__":
    writers = {"--write-reference": _write_reference, "--write-tutorial": _write_tutorial}
    if len(sys.argv) != 2 or sys.argv[1] not in writers:
        sys.exit("usage: python tests/test_tonic_peer_datasets.py "
                 "--write-reference | --write-tutorial")
    writers[sys.argv[1]]()
