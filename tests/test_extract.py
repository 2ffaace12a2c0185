"""Datasets' raw layouts, extraction into events stores, store reuse/staleness/atomicity."""
import os
import shutil
import tarfile

import h5py
import numpy as np
import pytest

from evframes import DatasetError, EventsDataset, StoreError, synth
from evframes.datasets import open_raw
from evframes.datasets.dvs128 import parse_labels_csv
from evframes.events import make_events
from evframes.extract import extract
from evframes.formats import read_aedat2, read_aedat3, write_aedat3
from evframes.store import events_store_path, read_manifest

EXPECTED_LABELS = [c - 1 for c in synth.GESTURE_ROWS]


def _untar(archive_root, dest):
    with tarfile.open(archive_root / "DvsGesture.tar.gz") as tf:
        tf.extractall(dest, filter="data")
    return dest


def _store_arrays(root, split):
    with h5py.File(events_store_path(root, split), "r") as f:
        return {k: f[k][...] for k in ("t", "x", "y", "p", "offsets", "labels")}


# -- DVS128 Gesture ------------------------------------------------------------------------
def test_dvs128_archive_split_labels_and_events(dvs_extracted, dvs_archive_root, tmp_path):
    tr, te = EventsDataset(dvs_extracted, "train"), EventsDataset(dvs_extracted, "test")
    assert len(tr) == 3 * 12 and len(te) == 1 * 12
    assert tr.classes[0] == "hand_clapping" and len(tr.classes) == 11
    assert tr.sensor_size == (128, 128)
    # labels are class - 1, in CSV row order per recording (class 8 twice)
    assert list(tr.labels[:12]) == EXPECTED_LABELS
    assert list(te.labels) == EXPECTED_LABELS
    # every sample holds exactly the recording's events with start <= t < end
    folder = _untar(dvs_archive_root, tmp_path) / "DvsGesture"
    trials = (folder / "trials_to_train.txt").read_text().split()
    for i in (0, 8, 9, 13, 35):
        ev, label = tr[i]
        meta = tr.sample_meta(i)
        rec = read_aedat3(folder / meta["source"])
        assert meta["source"] == trials[i // 12]
        rows = parse_labels_csv((folder / meta["source"].replace(".aedat", "_labels.csv"))
                                .read_text(), "csv")
        c, s, e = rows[meta["row"]]
        assert (label, meta["start"], meta["end"]) == (c - 1, s, e)
        sel = (rec["t"] >= s) & (rec["t"] < e)
        assert len(ev["t"]) == int(sel.sum()) > 0
        for k in "txyp":
            np.testing.assert_array_equal(ev[k], rec[k][sel])
        assert meta["user"] == int(meta["source"][4:6])
    # rows 8 and 9 overlap: an event in the overlap belongs to both samples
    m8, m9 = tr.sample_meta(7), tr.sample_meta(8)
    assert m9["start"] < m8["end"]


def test_dvs128_folder_equals_archive(dvs_extracted, dvs_archive_root, tmp_path):
    _untar(dvs_archive_root, tmp_path)
    s = extract(open_raw("dvs128", tmp_path), workers=2, progress=False, warn=False)
    assert not s.reused and s.samples == {"train": 36, "test": 12}
    for split in ("train", "test"):
        a, b = _store_arrays(dvs_extracted, split), _store_arrays(tmp_path, split)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


def test_store_reuse_and_staleness(dvs_archive_root, tmp_path):
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", tmp_path / "DvsGesture.tar.gz")
    ds = open_raw("dvs128", tmp_path)
    s1 = extract(ds, workers=1, progress=False, warn=False)
    assert not s1.reused
    s2 = extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False)
    assert s2.reused and s2.samples == s1.samples
    # a touched raw file has the same content: reused (content fingerprint, see test_trust_store)
    st = (tmp_path / "DvsGesture.tar.gz").stat()
    os.utime(tmp_path / "DvsGesture.tar.gz", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False).reused
    # a changed raw file is detected through the manifest's fingerprint and rebuilt
    synth.fake_dvs128(tmp_path, recordings=4, scale=0.02, seed=2, archive=True, workers=1)
    s3 = extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False)
    assert not s3.reused and "source_fingerprint" in s3.rebuilt_because
    man = read_manifest(events_store_path(tmp_path, "train"))
    assert man["dataset"] == "dvs128" and man["complete"] and man["n_samples"] == 36
    assert man["format_version"] == 1 and "evframes_version" in man


def test_foreign_store_is_refused(dvs_archive_root, tmp_path):
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", tmp_path / "DvsGesture.tar.gz")
    p = events_store_path(tmp_path, "train")
    p.parent.mkdir(parents=True)
    with h5py.File(p, "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(StoreError, match="foreign"):
        extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False)
    with h5py.File(p, "r") as f:  # untouched
        assert list(f.keys()) == ["data"]


def test_interrupted_extract_leaves_no_store(dvs_archive_root, tmp_path, monkeypatch):
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", tmp_path / "DvsGesture.tar.gz")
    import evframes.datasets.dvs128 as mod
    real = mod._process_recording_bytes
    calls = []

    def flaky(*a):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*a)

    monkeypatch.setattr(mod, "_process_recording_bytes", flaky)
    with pytest.raises(KeyboardInterrupt):
        extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False,
                resumable=True)
    assert not events_store_path(tmp_path, "train").exists()
    assert not events_store_path(tmp_path, "test").exists()
    left = sorted(p.name for p in (tmp_path / "events").iterdir())
    assert left[0] == ".extract.lock" and left[1].startswith(".partial-") and len(left) == 2
    assert len(list((tmp_path / "events" / left[1]).iterdir())) == 2  # two recordings done
    monkeypatch.setattr(mod, "_process_recording_bytes", real)
    s = extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False,
                resumable=True)
    assert s.samples == {"train": 36, "test": 12} and s.resumed_jobs == 2
    assert sorted(p.name for p in (tmp_path / "events").iterdir()) == [
        ".extract.lock", "test.h5", "train.h5"]  # shards and temporaries gone
    ref = tmp_path / "ref"
    ref.mkdir()
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", ref / "DvsGesture.tar.gz")
    extract(open_raw("dvs128", ref), workers=1, progress=False, warn=False)
    for split in ("train", "test"):
        a, b = _store_arrays(tmp_path, split), _store_arrays(ref, split)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


def test_stale_temporary_from_killed_run_is_removed(dvs_archive_root, tmp_path):
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", tmp_path / "DvsGesture.tar.gz")
    (tmp_path / "events").mkdir()
    junk = tmp_path / "events" / "train.h5.tmp-999999999-deadbeef"
    junk.write_bytes(b"half written")
    extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False)
    assert not junk.exists()


def _small_folder(tmp_path, dvs_archive_root):
    _untar(dvs_archive_root, tmp_path)
    return tmp_path / "DvsGesture"


def test_dvs128_missing_labels_csv(tmp_path, dvs_archive_root):
    folder = _small_folder(tmp_path, dvs_archive_root)
    victim = sorted(folder.glob("*_labels.csv"))[0]
    victim.unlink()
    with pytest.raises(DatasetError, match=victim.name):
        extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False)
    assert not (tmp_path / "events" / "train.h5").exists()


def test_dvs128_missing_trials_list(tmp_path, dvs_archive_root):
    folder = _small_folder(tmp_path, dvs_archive_root)
    (folder / "trials_to_train.txt").unlink()
    with pytest.raises(DatasetError, match="trials_to_train.txt"):
        open_raw("dvs128", tmp_path)


def test_dvs128_bad_labels_row(tmp_path, dvs_archive_root):
    folder = _small_folder(tmp_path, dvs_archive_root)
    victim = sorted(folder.glob("*_labels.csv"))[1]
    lines = victim.read_text().splitlines()
    c, s, e = lines[3].split(",")
    lines[3] = f"{c},{e},{s}"
    victim.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=rf"{victim.name}.*line 4.*end .* < start"):
        extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False)
    with pytest.raises(DatasetError, match="header"):
        parse_labels_csv("cls,a,b\n1,2,3\n", "x.csv")
    with pytest.raises(DatasetError, match="class 12"):
        parse_labels_csv("class,startTime_usec,endTime_usec\n12,2,3\n", "x.csv")


def test_dvs128_off_sensor_and_empty_sample(tmp_path):
    folder = tmp_path / "DvsGesture"
    folder.mkdir()
    ev = make_events([10, 20, 30, 40], [5, 200, 7, 8], [5, 6, 300, 9], [0, 1, 1, 0])
    write_aedat3(folder / "user01_lab.aedat", ev)
    (folder / "user01_lab_labels.csv").write_text(
        "class,startTime_usec,endTime_usec\n1,0,100\n2,1000,2000\n")
    (folder / "trials_to_train.txt").write_text("user01_lab.aedat\n")
    (folder / "trials_to_test.txt").write_text("")
    s = extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False)
    msgs = " | ".join(s.warnings)
    assert "user01_lab.aedat" in msgs and "off the 128x128 sensor" in msgs
    assert "holds no events" in msgs
    tr = EventsDataset(tmp_path, "train")
    assert len(tr) == 2
    np.testing.assert_array_equal(tr[0][0]["t"], [10, 40])
    assert len(tr[1][0]["t"]) == 0 and tr[1][1] == 1


def test_dvs128_truncated_archive(tmp_path, dvs_archive_root):
    data = (dvs_archive_root / "DvsGesture.tar.gz").read_bytes()
    (tmp_path / "DvsGesture.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="DvsGesture.tar.gz"):
        extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False)
    assert not (tmp_path / "events" / "train.h5").exists()


def test_dvs128_missing_root_message(tmp_path):
    with pytest.raises(DatasetError, match="evframes fake"):
        open_raw("dvs128", tmp_path)


def test_dvs128_real_labels_csv(real_dir, tmp_path):
    """The real user01_natural labels (12 rows, class 8 twice) split a recording spanning them."""
    csv = (real_dir / "dvs_gesture" / "aestream_dvsgesture_user01_natural_labels.csv").read_text()
    rows = parse_labels_csv(csv, "user01_natural_labels.csv")
    assert len(rows) == 12 and [r[0] for r in rows].count(8) == 2
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(50_000_000, 180_000_000, 200_000))
    ev = make_events(t, rng.integers(0, 128, t.size), rng.integers(0, 128, t.size),
                     rng.integers(0, 2, t.size))
    folder = tmp_path / "DvsGesture"
    folder.mkdir()
    write_aedat3(folder / "user01_natural.aedat", ev)
    (folder / "user01_natural_labels.csv").write_text(csv)
    (folder / "trials_to_train.txt").write_text("user01_natural.aedat\n")
    (folder / "trials_to_test.txt").write_text("\n")
    extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False)
    tr = EventsDataset(tmp_path, "train")
    assert [int(v) for v in tr.labels] == [r[0] - 1 for r in rows]
    for i, (_c, s, e) in enumerate(rows):
        sample, _ = tr[i]
        assert len(sample["t"]) == int(((t >= s) & (t < e)).sum())
        assert sample["t"].min() >= s and sample["t"].max() < e


# -- N-MNIST --------------------------------------------------------------------------------
def test_nmnist_zip_and_folder(tmp_path):
    a, b = tmp_path / "zip", tmp_path / "folder"
    synth.fake_nmnist(a, per_class_train=3, per_class_test=1, seed=2, archive=True)
    synth.fake_nmnist(b, per_class_train=3, per_class_test=1, seed=2, archive=False)
    sa = extract(open_raw("nmnist", a), workers=1, progress=False, warn=False)
    sb = extract(open_raw("nmnist", b), workers=2, progress=False, warn=False)
    assert sa.samples == sb.samples == {"train": 30, "test": 10}
    assert sa.per_class["train"] == {str(d): 3 for d in range(10)}
    for split in ("train", "test"):
        x, y = _store_arrays(a, split), _store_arrays(b, split)
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    ds = EventsDataset(a, "train")
    ev, label = ds[4]
    assert label == 1 and ds.sensor_size == (34, 34)
    assert ds.sample_meta(4)["source"].startswith("Train/1/")
    assert ev["x"].max() < 34 and ev["y"].max() < 34 and len(ev["t"]) > 50


def test_nmnist_real_file_in_layout(real_dir, tmp_path):
    for split in ("Train", "Test"):
        d = tmp_path / split / "7"
        d.mkdir(parents=True)
        shutil.copy(real_dir / "nmnist_bin" / "tonic_sample_nmnist.bin", d / "1.bin")
    extract(open_raw("nmnist", tmp_path), workers=1, progress=False, warn=False)
    ev, label = EventsDataset(tmp_path, "test")[0]
    assert label == 7 and len(ev["t"]) == 4325 and int((ev["p"] == 1).sum()) == 2145
    assert (int(ev["t"][0]), int(ev["t"][-1])) == (654, 311175)


def test_nmnist_unexpected_member(tmp_path):
    synth.fake_nmnist(tmp_path, per_class_train=1, per_class_test=1, archive=False)
    bad = tmp_path / "Train" / "x" / "1.bin"
    bad.parent.mkdir()
    bad.write_bytes(b"\0" * 5)
    with pytest.raises(DatasetError, match="unexpected member"):
        extract(open_raw("nmnist", tmp_path), workers=1, progress=False, warn=False)


# -- CIFAR10-DVS ----------------------------------------------------------------------------
def test_cifar10dvs_split_and_orientation(tmp_path):
    synth.fake_cifar10dvs(tmp_path, per_class=10, seed=3)
    s = extract(open_raw("cifar10dvs", tmp_path), workers=2, progress=False, warn=False)
    assert s.samples == {"train": 90, "test": 10}
    tr = EventsDataset(tmp_path, "train")
    assert tr.classes[0] == "airplane"
    # first 9 recordings (natural order) of each class train, the 10th test
    assert tr.sample_meta(0)["source"].endswith("cifar10_airplane_0.aedat")
    assert tr.sample_meta(8)["source"].endswith("cifar10_airplane_8.aedat")
    te = EventsDataset(tmp_path, "test")
    assert te.sample_meta(0)["source"].endswith("cifar10_airplane_9.aedat")
    # with the SpikingJelly orientation the pattern appears upright (as generated): its edge
    # map matches the accumulated events better than any transposed / flipped variant
    ev, label = tr[20]
    img = np.zeros((140, 140))
    np.add.at(img, (ev["y"], ev["x"]), 1)
    pat = synth.class_pattern(label)
    h = pat.shape[0]
    o = (128 - h) // 2

    def score(v):
        v = v.astype(float)
        edge = (np.abs(np.diff(v, axis=0, prepend=0)) + np.abs(np.diff(v, axis=1, prepend=0))) > 0
        return max((img[o + dy:o + dy + h, o + dx:o + dx + h] * edge).sum()
                   for dy in range(-2, 7) for dx in range(-2, 7))

    variants = [pat.T, pat[::-1], pat[:, ::-1], pat[::-1, ::-1], pat.T[::-1], pat.T[:, ::-1]]
    assert score(pat) > 1.05 * max(score(v) for v in variants)
    # ratio is configurable and part of the manifest
    s2 = extract(open_raw("cifar10dvs", tmp_path, train_ratio=0.8), workers=1, progress=False,
                 warn=False)
    assert s2.samples == {"train": 80, "test": 20} and "options" in s2.rebuilt_because


def test_cifar10dvs_orientation_on_real_dvs128_file(real_dir, tmp_path):
    src = real_dir / "aedat2" / "jaer_JSpikeStack_MovingDarkBox_dvs128.aedat"
    raw = read_aedat2(src)
    for c in synth.CIFAR_CLASSES:
        (tmp_path / c).mkdir()
        shutil.copy(src, tmp_path / c / f"cifar10_{c}_0.aedat")
        shutil.copy(src, tmp_path / c / f"cifar10_{c}_1.aedat")
    extract(open_raw("cifar10dvs", tmp_path, train_ratio=0.5), workers=1, progress=False,
            warn=False)
    ev, _ = EventsDataset(tmp_path, "test")[0]
    assert len(ev["t"]) == len(raw["t"]) == 489834
    np.testing.assert_array_equal(ev["x"], 127 - raw["y"])
    np.testing.assert_array_equal(ev["y"], 127 - raw["x"])
    np.testing.assert_array_equal(ev["p"], 1 - raw["p"])
    np.testing.assert_array_equal(ev["t"], raw["t"])
    extract(open_raw("cifar10dvs", tmp_path, train_ratio=0.5, orientation="raw"), workers=1,
            progress=False, warn=False)
    ev2, _ = EventsDataset(tmp_path, "test")[0]
    np.testing.assert_array_equal(ev2["x"], raw["x"])


def test_cifar10dvs_missing_class(tmp_path):
    synth.fake_cifar10dvs(tmp_path, per_class=2)
    (tmp_path / "truck.zip").unlink()
    with pytest.raises(DatasetError, match="truck.zip"):
        open_raw("cifar10dvs", tmp_path)


# -- events store access ----------------------------------------------------------------------
def test_events_dataset_indexing(dvs_extracted):
    ds = EventsDataset(dvs_extracted / "events" / "test.h5")
    assert len(ds) == 12
    last, _ = ds[-1]
    np.testing.assert_array_equal(last["t"], ds[11][0]["t"])
    with pytest.raises(IndexError, match="out of range"):
        ds[12]
    with pytest.raises(StoreError, match="evframes extract"):
        EventsDataset(dvs_extracted / "nope", "train")
    ds_t = EventsDataset(dvs_extracted, "test", transform=lambda e: len(e["t"]),
                         target_transform=lambda y: y + 100)
    assert ds_t[0] == (len(ds[0][0]["t"]), ds[0][1] + 100)


def test_events_store_no_larger_than_raw(dvs_extracted, dvs_archive_root, tmp_path):
    folder = _untar(dvs_archive_root, tmp_path) / "DvsGesture"
    raw = sum(p.stat().st_size for p in folder.glob("*.aedat"))
    store = sum(events_store_path(dvs_extracted, s).stat().st_size for s in ("train", "test"))
    assert store < raw
