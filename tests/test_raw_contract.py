"""The contract every raw dataset of the registry keeps, checked on a small replica of each.

Parametrised over the one dataset registry (``evframes.raw``; ``evframes.datasets`` before the
move), so a new dataset is covered by its registry line plus its replica writer and entry in
:data:`evframes.replicas.REPLICAS` (a registered dataset without one fails
:func:`test_every_registered_dataset_has_a_replica`).

For each dataset, a small replica written by ``evframes.synth.fake_<name>`` in both raw layouts
(archive(s) and extracted folders) must open with the registered class, report the dataset's
classes, sensor size and splits, extract into events stores holding the expected number of
samples per split with labels in range and events on the sensor, identically from either
layout, and read back exactly the samples the raw reader's jobs decode.
"""
from __future__ import annotations

import importlib
from typing import Dict, Tuple

import numpy as np
import pytest

from evframes import EventsDataset
from evframes import replicas as replicas_mod
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


#: the replica facts live beside the replica writers (``evframes.replicas.REPLICAS``): the
#: real dataset's classes and sensor, and the split sizes of a replica small enough to extract
#: in about a second
REPLICAS = replicas_mod.REPLICAS

NAMES = sorted(RAW_DATASETS)
LAYOUTS = {"archive": True, "folder": False}


def test_every_registered_dataset_has_a_replica():
    missing = sorted(set(RAW_DATASETS) - set(REPLICAS))
    assert not missing, (f"registered dataset(s) {missing} without a replica: add a Replica "
                         f"line to evframes.replicas.REPLICAS (its synth.fake_<name> writer, "
                         f"classes, sensor size, small replica's writer arguments and split "
                         f"sizes)")
    for name in RAW_DATASETS:
        assert callable(REPLICAS[name].writer), \
            f"evframes.replicas.REPLICAS[{name!r}].writer (the replica writer) is not callable"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """``get(name, layout) -> root``: a replica written once per module, extracted once."""
    roots: Dict[Tuple[str, str], object] = {}

    def get(name: str, layout: str):
        key = (name, layout)
        if key not in roots:
            root = tmp_path_factory.mktemp(f"{name}-{layout}")
            replica(name).write_small(root, archive=LAYOUTS[layout])
            extract(open_raw(name, root), workers=1, progress=False, warn=False)
            roots[key] = root
        return roots[key]

    return get


def replica(name):
    """The replica entry of ``name``; a clear failure (not a KeyError) when there is none."""
    try:
        return replicas_mod.replica(name)
    except ValueError as e:
        pytest.fail(str(e))


def open_raw(name, root):
    return REG.open_raw(name, root, **replica(name).open_kwargs)


# ----------------------------------------------------------------------------------------------
# The raw layout
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", NAMES)
def test_layout(name, layout, replicas):
    spec = replica(name)
    raw = open_raw(name, replicas(name, layout))
    assert type(raw) is RAW_DATASETS[name]
    assert raw.name == name
    classes = raw.classes
    assert len(classes) == spec.classes and len(set(classes)) == spec.classes, classes
    assert all(isinstance(c, str) and c for c in classes), classes
    assert tuple(raw.sensor_size) == spec.sensor_size
    assert tuple(raw.splits) == tuple(spec.small_samples)
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
    spec = replica(name)
    root = replicas(name, layout)
    W, H = spec.sensor_size
    raw = open_raw(name, root)
    for split, n in spec.small_samples.items():
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
    for split in replica(name).small_samples:
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
        assert len(ds) == len(want) == replica(name).small_samples[split]
        for i, (ev_want, label_want) in enumerate(want):
            ev, label = ds[i]
            assert label == label_want, (split, i)
            for c in "txyp":
                np.testing.assert_array_equal(ev[c], ev_want[c], err_msg=f"{split}[{i}].{c}")
