"""evframes.tonic.slicers and SlicedDataset: Tonic 1.7's slice metadata (stored reference,
tests/data/tonic_slicers_ref.json, made with Tonic by tests/data/make_tonic_slicers_ref.py),
the documented differences (empty input, reset_time on copies), and the fingerprinted metadata
file (reused only for the same dataset and slicer, never half-written)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(DATA))

import tonic_slicer_cases as C  # noqa: E402

import evframes.tonic as tonic  # noqa: E402
from evframes.tonic import slicers as S  # noqa: E402
from evframes.tonic.sliced import METADATA_FILE, SlicedDataset  # noqa: E402

REF = json.loads((DATA / "tonic_slicers_ref.json").read_text())
EV = C.inputs()


@pytest.mark.parametrize("k", range(len(C.CASES)))
def test_metadata_equals_tonic(k):
    name, kw, data = C.CASES[k]
    slicer = getattr(tonic.slicers, name)(**kw)
    meta = slicer.get_slice_metadata(EV[data], 3)
    assert [[int(a), int(b)] for a, b in meta] == REF["metadata"][k]
    slices, target = slicer.slice(EV[data], 3)
    assert target == 3 and len(slices) == len(meta)
    for s, (a, b) in zip(slices, meta):
        assert np.shares_memory(s, EV[data]) or s.size == 0  # views, as Tonic's
        assert np.array_equal(s, EV[data][a:b])


def test_reset_time_equals_tonic_and_leaves_the_input_alone():
    import hashlib
    for tw, want in zip((50_000, 77_777), REF["reset_time"]):
        ev = EV["gesture"].copy()
        before = ev.copy()
        slices, _ = S.SliceByTime(time_window=tw, reset_time=True).slice(ev, 0)
        h = hashlib.sha256()
        for s in slices:
            h.update(np.ascontiguousarray(s["t"]).tobytes())
        assert h.hexdigest() == want
        assert np.array_equal(ev, before)  # Tonic subtracts inside the caller's array


def test_functions_and_empty_input():
    ev = EV["gesture"]
    assert [len(s) for s in S.slice_events_by_count(ev, 2000)] == [2000, 2000]
    assert [len(s) for s in S.slice_events_by_count(ev, 2000, include_incomplete=True)] == [
        2000, 2000, 1000]
    assert sum(len(s) for s in S.slice_events_by_event_bins(ev, 5)) == 5000
    assert len(S.slice_events_by_time(ev, 100_000)) == len(
        S.SliceByTime(100_000).get_slice_metadata(ev, None))
    assert len(S.slice_events_by_time_bins(ev, 4)) == 4
    assert [len(s) for s in S.slice_events_at_indices(ev, [0, 10], [5, 30])] == [5, 20]
    assert len(S.slice_events_at_timepoints(ev, [0], [ev["t"][-1] + 1])[0]) == 5000
    empty = ev[:0]
    assert S.SliceByTime(1000).get_slice_metadata(empty, 0) == [(0, 0)]  # Tonic: IndexError
    assert S.SliceByTimeBins(3).get_slice_metadata(empty, 0) == [(0, 0)] * 3
    assert [(int(a), int(b)) for a, b in S.SliceByEventCount(10).get_slice_metadata(
        empty, 0)] == [(0, 0)]
    with pytest.raises(ValueError, match="must exceed overlap"):
        S.SliceByTime(100, overlap=100).get_slice_metadata(ev, 0)
    with pytest.raises(ValueError, match="must exceed overlap"):
        S.SliceByEventCount(5, overlap=7).get_slice_metadata(ev, 0)
    with pytest.raises(ValueError, match="'t' field"):
        S.SliceByTime(100).get_slice_metadata(np.zeros(3), 0)


class _Recordings:
    """A small dataset: (events, target) per index, like Tonic's datasets."""

    def __init__(self, n=4, shift=0):
        self.events = [EV["gesture"][i * 1000:(i + 1) * 1000 + shift] for i in range(n)]

    def __getitem__(self, i):
        return self.events[i], i % 2

    def __len__(self):
        return len(self.events)


def _items(ds):
    return [ds[k] for k in range(len(ds))]


def test_sliced_dataset_items_and_transforms():
    base = _Recordings()
    slicer = S.SliceByEventCount(event_count=300, overlap=100)
    ds = SlicedDataset(base, slicer, transform=lambda e: len(e),
                       target_transform=lambda y: y + 10)
    per = [len(slicer.get_slice_metadata(e, 0)) for e in base.events]
    assert len(ds) == sum(per)
    assert ds[0] == (300, 10) and ds[per[0]] == (300, 11)
    raw = SlicedDataset(base, slicer)
    ev, y = raw[per[0] + 1]
    assert y == 1 and np.array_equal(ev, base.events[1][200:500])
    both = SlicedDataset(base, slicer, transforms=lambda e, y: (e["t"][0], -y))
    assert both[per[0]] == (base.events[1]["t"][0], -1)


def test_metadata_file_reused_only_for_the_same_dataset_and_slicer(tmp_path, monkeypatch):
    calls = []
    real = SlicedDataset.generate_metadata

    def counting(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(SlicedDataset, "generate_metadata", counting)
    base = _Recordings()
    slicer = S.SliceByTime(time_window=40_000)
    first = SlicedDataset(base, slicer, metadata_path=str(tmp_path))
    assert len(calls) == 1 and (tmp_path / METADATA_FILE).exists()
    again = SlicedDataset(_Recordings(), S.SliceByTime(time_window=40_000),
                          metadata_path=str(tmp_path))
    assert len(calls) == 1 and len(again) == len(first)
    for (a, ya), (b, yb) in zip(_items(first), _items(again)):
        assert ya == yb and np.array_equal(a, b)
    other = SlicedDataset(base, S.SliceByTime(time_window=30_000), metadata_path=str(tmp_path))
    assert len(calls) == 2 and len(other) > len(first)  # another slicer: recomputed
    changed = SlicedDataset(_Recordings(shift=500), S.SliceByTime(time_window=30_000),
                            metadata_path=str(tmp_path))
    assert len(calls) == 3  # the dataset's events changed
    assert len(changed) == sum(len(S.SliceByTime(time_window=30_000).get_slice_metadata(e, 0))
                               for e in _Recordings(shift=500).events)


def test_a_file_tonic_wrote_is_not_trusted(tmp_path):
    with h5py.File(tmp_path / METADATA_FILE, "w") as f:  # Tonic's layout, no fingerprint
        for i in range(4):
            f.create_dataset(f"metadata_{i}", data=np.array([[0, 1]]))
    ds = SlicedDataset(_Recordings(), S.SliceByEventCount(500), metadata_path=str(tmp_path))
    assert len(ds) == 8  # 2 slices per recording, not the file's 1
    with h5py.File(tmp_path / METADATA_FILE, "r") as f:
        assert "manifest" in f.attrs and len(f.keys()) == 4


def test_interrupted_metadata_write_leaves_no_file(tmp_path):
    class Boom:
        def __init__(self):
            self.n = 0

        def get_slice_metadata(self, data, targets):
            return [(0, 1)]

        @staticmethod
        def slice_with_metadata(data, targets, metadata):
            return [data[a:b] for a, b in metadata], targets

    import evframes.tonic.sliced as mod

    def fail(path, metadata, fingerprint):
        with mod.AtomicH5(path) as out:
            out.h5.create_dataset("metadata_0", data=np.zeros((1, 2)))
            raise KeyboardInterrupt

    orig = mod._save
    mod._save = fail
    try:
        with pytest.raises(KeyboardInterrupt):
            SlicedDataset(_Recordings(), Boom(), metadata_path=str(tmp_path))
    finally:
        mod._save = orig
    assert not any(tmp_path.iterdir())  # no file, no temporary
    ds = SlicedDataset(_Recordings(), Boom(), metadata_path=str(tmp_path))
    assert len(ds) == 4


def test_unfingerprintable_dataset_warns_and_computes(tmp_path):
    class Opaque:
        def __init__(self):
            import threading
            self.lock = threading.Lock()  # no fingerprint for a lock
            self.ev = EV["gesture"]

        def __getitem__(self, i):
            return self.ev, 0

        def __len__(self):
            return 1

    with pytest.warns(UserWarning, match="metadata_path .* not used"):
        ds = SlicedDataset(Opaque(), S.SliceByEventCount(1000), metadata_path=str(tmp_path))
    assert len(ds) == 5 and not (tmp_path / METADATA_FILE).exists()


def test_repeat_target_transform():
    rep = tonic.transforms.Repeat(3)
    assert rep(7).shape == (3, 1) and rep(7).tolist() == [[7], [7], [7]]  # Tonic's quirk
    assert rep(np.array([1, 2])).tolist() == [[1, 2]] * 3


def test_uncovered_ranges_and_python_slices_equal_brute_force():
    """The events no window covers (where the t-order check runs outside the windows) and
    Python-slice bounds, against a coverage mask and Python's own slicing."""
    from evframes.integrate.tonic_rules import _uncovered, python_slices
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(0, 40))
        k = int(rng.integers(0, 6))
        starts = rng.integers(-45, 45, k)
        ends = rng.integers(-45, 45, k)
        s, e = python_slices(starts, ends, n)
        items = list(range(n))
        for a, b, s1, e1 in zip(starts, ends, s, e):
            assert items[int(a):int(b)] == items[s1:e1]
        covered = np.zeros(n, bool)
        for a, b in zip(s, e):
            covered[a:b] = True
        got = np.zeros(n, bool)
        for a, b in _uncovered(s, e, n):
            assert 0 <= a < b <= n
            got[a:b] = True
        np.testing.assert_array_equal(got, ~covered, err_msg=f"{list(s)} {list(e)} {n}")
        assert len(_uncovered(s, e, n)) == int(np.count_nonzero(np.diff(
            np.concatenate([[0], (~covered).astype(int)])) == 1))  # maximal ranges
