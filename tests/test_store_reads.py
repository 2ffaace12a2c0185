"""One operation reads each store's manifest once (issue 11: building one frames Dataset used
to read the same manifest about six times: 19 manifest reads and 25 HDF5 opens for a
``DVS128Gesture(..., data_type='frame')`` on current stores).

The counts below are what a Dataset constructor on current stores (nothing to extract or
integrate) reaches now; a step that reads a manifest again instead of using the operation's
:class:`~evframes.store.manifest.Manifests` memo makes them fail.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import h5py
import pytest

import evframes.store.manifest as manifest_mod
from evframes.datasets import DVS128Gesture
from evframes.replicas import replica

FRAMES = dict(data_type="frame", frames_number=20, split_by="number", progress=False)


@pytest.fixture(scope="module")
def current_root(tmp_path_factory):
    """A small DVS128 Gesture replica with current events and frames stores."""
    root = tmp_path_factory.mktemp("reads")
    replica("dvs128").write_small(root, archive=True)
    DVS128Gesture(root, **FRAMES)  # extracts and integrates: the stores are current after it
    return root


def _name(path) -> str:
    p = Path(str(path))
    return f"{p.parent.name}/{p.name}"


@pytest.fixture
def counts(monkeypatch):
    """``(reads, opens)``: Counters of manifest reads and HDF5 file opens by ``<dir>/<file>``.

    ``read_manifest`` is patched in every evframes module that imported it by name."""
    reads, opens = Counter(), Counter()
    real = manifest_mod.read_manifest

    def counting_read(path):
        reads[_name(path)] += 1
        return real(path)

    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("evframes") and \
                getattr(mod, "read_manifest", None) is real:
            monkeypatch.setattr(mod, "read_manifest", counting_read)
    real_init = h5py.File.__init__

    def counting_init(self, name, *args, **kwargs):
        if isinstance(name, (str, Path)):
            opens[_name(name)] += 1
        return real_init(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.File, "__init__", counting_init)
    return reads, opens


def test_frames_dataset_reads_each_manifest_once(current_root, counts):
    reads, opens = counts
    ds = DVS128Gesture(current_root, **FRAMES)
    assert len(ds) == replica("dvs128").small_samples["train"]
    frames_dir = ds.setting.name
    assert dict(reads) == {"events/train.h5": 1, "events/test.h5": 1,
                           f"{frames_dir}/train.h5": 1}, dict(reads)
    # events train: manifest, labels (extract's summary), the reader's index; test: manifest,
    # labels; frames: manifest, layout (build summary), the reader's index, dtype check
    assert opens["events/train.h5"] <= 3 and opens["events/test.h5"] <= 2 and \
        opens[f"{frames_dir}/train.h5"] <= 4, dict(opens)
    assert sum(opens.values()) <= 9, dict(opens)


def test_events_dataset_reads_each_manifest_once(current_root, counts):
    reads, _ = counts
    ds = DVS128Gesture(current_root, train=False, data_type="event", progress=False)
    assert len(ds) == replica("dvs128").small_samples["test"]
    assert dict(reads) == {"events/train.h5": 1, "events/test.h5": 1}, dict(reads)
