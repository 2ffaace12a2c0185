"""evframes.tonic.slicers / SlicedDataset against Tonic 1.7 itself, live.

Skips without Tonic; run in the benchmark environment:

    PYTHONPATH=. .venv-bench/bin/python -m pytest -q tests/test_tonic_slicers_peer.py

Every case of tests/data/tonic_slicer_cases.py: the same metadata and slices; the dataclass
surface (names, fields, defaults); SlicedDataset items equal Tonic's on the same dataset."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

tonic = pytest.importorskip("tonic")
import tonic.slicers as TS  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
import tonic_slicer_cases as C  # noqa: E402

import evframes.tonic as et  # noqa: E402

EV = C.inputs()


@pytest.mark.parametrize("k", range(len(C.CASES)))
def test_same_metadata_and_slices(k):
    name, kw, data = C.CASES[k]
    ours = getattr(et.slicers, name)(**kw)
    theirs = getattr(TS, name)(**kw)
    a = ours.get_slice_metadata(EV[data], 1)
    b = theirs.get_slice_metadata(EV[data], 1)
    assert [(int(i), int(j)) for i, j in a] == [(int(i), int(j)) for i, j in b]
    (sa, ta), (sb, tb) = ours.slice(EV[data], 1), theirs.slice(EV[data], 1)
    assert ta == tb and len(sa) == len(sb)
    assert all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(sa, sb))


@pytest.mark.parametrize("name", ["SliceByTime", "SliceByTimeBins", "SliceByEventCount",
                                  "SliceByEventBins", "SliceAtIndices", "SliceAtTimePoints"])
def test_same_fields_and_defaults(name):
    ours = [(f.name, f.default) for f in dataclasses.fields(getattr(et.slicers, name))]
    theirs = [(f.name, f.default) for f in dataclasses.fields(getattr(TS, name))]
    assert ours == theirs


def test_sliced_dataset_items_equal_tonic():
    class DS:
        def __getitem__(self, i):  # Tonic iterates the dataset: IndexError ends it
            if not 0 <= i < 4:
                raise IndexError(i)
            return EV["gesture"][i * 1200:(i + 1) * 1200], i

        def __len__(self):
            return 4

    for sl in (dict(time_window=30_000, overlap=5000), dict(time_window=70_000)):
        a = et.SlicedDataset(DS(), et.slicers.SliceByTime(**sl), transform=lambda e: e[::2])
        b = tonic.SlicedDataset(DS(), TS.SliceByTime(**sl), transform=lambda e: e[::2])
        assert len(a) == len(b)
        for k in range(len(a)):
            (ea, ya), (eb, yb) = a[k], b[k]
            assert ya == yb and np.array_equal(ea, eb)


def test_repeat_equals_tonic():
    import tonic.transforms as TT
    for target in (4, np.int64(9), np.array([1, 2, 3]), [5, 6]):
        a = et.transforms.Repeat(4)(target)
        b = TT.Repeat(4)(target)
        assert a.dtype == b.dtype and np.array_equal(a, b)
