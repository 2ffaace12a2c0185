"""The contract every raw dataset of the registry keeps, checked on a small replica of each.

Parametrised over the one dataset registry (``evframes.raw``; ``evframes.datasets`` before the
move), so a new dataset is covered by its registry line plus one :data:`REPLICAS` line below
(a registered dataset without one fails :func:`test_every_registered_dataset_has_a_replica`).

For each dataset, a replica written by ``evframes.synth.fake_<name>`` in both raw layouts
(archive(s) and extracted folders) must open with the registered class, report the dataset's
classes, sensor size and splits, extract into events stores holding the expected number of
samples per split with labels in range and events on the sensor, identically from either
layout, and read back exactly the samples the raw reader's jobs decode.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Dict, Tuple

import numpy as np
import pytest

from evframes import EventsDataset, synth
from evframes.extract import extract
from evframes.store import events_store_path

from helpers import assert_same_arrays, store_arrays


def _registry_module():
    """``evframes.raw`` (the one registry) when present, else ``evframes.datasets``."""
    for name in ("evframes.raw", "evframes.datasets"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(mod, "RAW_DATASETS") and hasattr(mod, "open_raw"):
            return mod
    raise AssertionError("no dataset registry (RAW_DATASETS, open_raw) in evframes.raw or "
                         "evframes.datasets")


REG = _registry_module()
RAW_DATASETS = REG.RAW_DATASETS


@dataclass(frozen=True)
class Replica:
    """How to write a small replica of one dataset, and what the raw layout must report.

    ``sensor_size`` is ``(W, H)``; ``samples`` the expected number of samples per split;
    ``writer_kwargs`` go to ``synth.fake_<name>(root, archive=..., **writer_kwargs)``;
    ``open_kwargs`` to ``open_raw``."""

    classes: int
    sensor_size: Tuple[int, int]
    samples: Dict[str, int]
    writer_kwargs: dict = field(default_factory=dict)
    open_kwargs: dict = field(default_factory=dict)

    def write(self, name: str, root, archive: bool) -> dict:
        return getattr(synth, f"fake_{name}")(root, archive=archive, **self.writer_kwargs)


#: one line per registered dataset: the facts of the real dataset (classes, sensor) and the
#: split sizes of a replica small enough to extract in about a second
REPLICAS: Dict[str, Replica] = {
    "dvs128": Replica(11, (128, 128), {"train": 12, "test": 12},
                      dict(recordings=2, scale=0.01, seed=0, workers=1)),
    "nmnist": Replica(10, (34, 34), {"train": 20, "test": 10},
                      dict(per_class_train=2, per_class_test=1, seed=0)),
    "cifar10dvs": Replica(10, (128, 128), {"train": 10, "test": 10},
                          dict(per_class=2, seed=0)),
}

NAMES = sorted(RAW_DATASETS)
LAYOUTS = {"archive": True, "folder": False}


def test_every_registered_dataset_has_a_replica():
    missing = sorted(set(RAW_DATASETS) - set(REPLICAS))
    assert not missing, (f"add a REPLICAS line in {__file__} for {missing} "
                         "(a synth.fake_<name> writer, classes, sensor size, split sizes)")
    for name in RAW_DATASETS:
        assert callable(getattr(synth, f"fake_{name}", None)), \
            f"evframes.synth.fake_{name} (the replica writer of {name!r}) is missing"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """``get(name, layout) -> root``: a replica written once per module, extracted once."""
    roots: Dict[Tuple[str, str], object] = {}

    def get(name: str, layout: str):
        key = (name, layout)
        if key not in roots:
            root = tmp_path_factory.mktemp(f"{name}-{layout}")
            REPLICAS[name].write(name, root, archive=LAYOUTS[layout])
            extract(open_raw(name, root), workers=1, progress=False, warn=False)
            roots[key] = root
        return roots[key]

    return get


def open_raw(name, root):
    return REG.open_raw(name, root, **REPLICAS[name].open_kwargs)


# ----------------------------------------------------------------------------------------------
# The raw layout
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", NAMES)
def test_layout(name, layout, replicas):
    spec = REPLICAS[name]
    raw = open_raw(name, replicas(name, layout))
    assert type(raw) is RAW_DATASETS[name]
    assert raw.name == name
    classes = raw.classes
    assert len(classes) == spec.classes and len(set(classes)) == spec.classes, classes
    assert all(isinstance(c, str) and c for c in classes), classes
    assert tuple(raw.sensor_size) == spec.sensor_size
    assert tuple(raw.splits) == tuple(spec.samples)
    files = raw.source_files()
    assert files and all(p.is_file() for p in files), files


@pytest.mark.parametrize("name", NAMES)
def test_missing_layout_is_a_dataset_error(name, tmp_path):
    from evframes import DatasetError
    with pytest.raises(DatasetError):
        open_raw(name, tmp_path)


# ----------------------------------------------------------------------------------------------
# Replica -> stores round trip
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", NAMES)
def test_extracted_stores(name, layout, replicas):
    spec = REPLICAS[name]
    root = replicas(name, layout)
    W, H = spec.sensor_size
    raw = open_raw(name, root)
    for split, n in spec.samples.items():
        ds = EventsDataset(root, split)
        assert len(ds) == n, (split, len(ds))
        assert ds.classes == raw.classes
        assert tuple(ds.sensor_size) == spec.sensor_size
        labels = np.asarray(ds.labels)
        assert labels.min() >= 0 and labels.max() < spec.classes, labels
        for i in range(n):
            ev, label = ds[i]
            assert label == labels[i]
            t, x, y, p = (np.asarray(ev[k]) for k in "txyp")
            assert len(t) > 0, f"{split}[{i}] holds no events"
            assert np.all(np.diff(t) >= 0), f"{split}[{i}]: t decreases"
            assert 0 <= x.min() and x.max() < W and 0 <= y.min() and y.max() < H
            assert set(np.unique(p).tolist()) <= {0, 1}


@pytest.mark.parametrize("name", NAMES)
def test_archive_and_folder_layouts_extract_identically(name, replicas):
    a, f = replicas(name, "archive"), replicas(name, "folder")
    for split in REPLICAS[name].samples:
        assert_same_arrays(store_arrays(events_store_path(a, split)),
                           store_arrays(events_store_path(f, split)))


@pytest.mark.parametrize("name", NAMES)
def test_stores_read_back_what_the_raw_jobs_decode(name, replicas):
    """Every sample of the stores equals the one the raw reader's jobs decode, in the order
    the raw dataset's placement gives (the pipeline only moves samples into stores)."""
    root = replicas(name, "folder")
    raw = open_raw(name, root)
    results = [job.func(*job.args) for job in raw.jobs()]
    raw.finish()
    expected: Dict[str, list] = {s: [] for s in raw.splits}
    for res in sorted(results, key=lambda r: raw.placement(r.name)):
        split, _ = raw.placement(res.name)
        for k in range(res.n_samples):
            a, b = int(res.offsets[k]), int(res.offsets[k + 1])
            expected[split].append(({c: res.events[c][a:b] for c in "txyp"}, res.labels[k]))
    for split, want in expected.items():
        ds = EventsDataset(root, split)
        assert len(ds) == len(want) == REPLICAS[name].samples[split]
        for i, (ev_want, label_want) in enumerate(want):
            ev, label = ds[i]
            assert label == label_want, (split, i)
            for c in "txyp":
                np.testing.assert_array_equal(ev[c], ev_want[c], err_msg=f"{split}[{i}].{c}")
