"""Users' own recordings as a dataset (``evframes extract --recordings DIR``,
``evframes.datasets.Recordings``): layouts, split, sensor sizes, staleness, bad input, end to
end with integrate / the Dataset / play. The raw-dataset contract (both layouts extract
identically, ...) runs on it through the registry in test_raw_contract.py."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from evframes import DatasetError, FormatError
from evframes.cli import main
from evframes.events import make_events
from evframes.formats import read_events, write_events
from evframes.pipeline.extract import extract
from evframes.raw import open_raw
from evframes.store import EventsDataset, events_store_path, read_manifest
from evframes.synth_recordings import fake_recordings

from helpers import assert_one_error_line, real_file


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def events(n, seed, t0=0, size=(64, 48)):
    rng = np.random.default_rng(seed)
    return make_events(t0 + np.cumsum(rng.integers(1, 500, n)), rng.integers(0, size[0], n),
                       rng.integers(0, size[1], n), rng.integers(0, 2, n))


@pytest.fixture(scope="module")
def replica(tmp_path_factory):
    root = tmp_path_factory.mktemp("recs") / "recs"
    fake_recordings(root, per_class=4, seed=2)
    return root


def test_end_to_end_fake_extract_integrate_dataset_play(tmp_path):
    from evframes.datasets import Recordings
    recs = tmp_path / "recs"
    r = run("fake", "--dataset", "recordings", "--out", recs, "-n", "3")
    assert r.exit_code == 0 and "formats aedat4,evt3,evt2,dat,evt21,aedat3,aedat2" in r.output
    r = run("extract", "--recordings", recs, "-q")
    assert r.exit_code == 0, r.output
    assert "train:       6 samples" in r.output and "test :       3 samples" in r.output
    r = run("integrate", "--root", recs, "-T", "5", "--split-by", "number")
    assert r.exit_code == 0, r.output
    ds = Recordings(recs, train=True, data_type="frame", frames_number=5, split_by="number")
    assert ds.classes == ["circle", "square", "wave"] and ds.sensor_size == (128, 128)
    x, y = ds[0]
    assert tuple(x.shape) == (5, 2, 128, 128) and float(x.sum()) > 0
    ev = Recordings(recs, train=False)
    meta = ev.sample_meta(0)
    src = read_events(recs / meta["source"])
    np.testing.assert_array_equal(ev[0][0]["t"], src["t"])
    assert ev[0][1] == ["circle", "square", "wave"].index(meta["source"].split("/")[0])
    assert (meta["start"], meta["end"]) == (int(src["t"][0]), int(src["t"][-1]) + 1)
    assert ds.get_H_W() == (128, 128)
    r = run("play", "--root", recs, "--split", "test", "--index", "1", "-T", "5", "--split-by",
            "number", "--out", tmp_path / "s.gif")
    assert r.exit_code == 0 and (tmp_path / "s.gif").stat().st_size > 1000, r.output
    assert read_manifest(events_store_path(recs, "train"))["dataset"] == "recordings"


def test_split_is_seeded_per_class_and_stable(replica, tmp_path):
    raw = open_raw("recordings", replica)
    lists = raw.split_lists()
    for c in range(3):           # 4 per class: round(0.8 * 4) = 3 train, 1 test
        assert [s.label for s in lists["train"]].count(c) == 3
        assert [s.label for s in lists["test"]].count(c) == 1
    assert open_raw("recordings", replica).split_lists() == lists
    other = {seed: [s.rel for s in open_raw("recordings", replica, seed=seed)
                    .split_lists()["test"]] for seed in range(6)}
    assert len({tuple(v) for v in other.values()}) > 1
    half = open_raw("recordings", replica, split_ratio=0.5).split_lists()
    assert len(half["train"]) == len(half["test"]) == 6
    # adding a class leaves the others' split alone
    more = tmp_path / "more"
    shutil.copytree(replica, more)
    (more / "zebra").mkdir()
    for i in range(3):
        write_events(more / f"zebra/z{i}.aedat4", events(50, i, size=(128, 128)),
                     sensor_size=(128, 128))
    grown = open_raw("recordings", more).split_lists()
    assert [s.rel for s in grown["test"] if not s.rel.startswith("zebra")] == \
        [s.rel for s in lists["test"]]


def test_labels_file_windows(tmp_path):
    """Rows cut windows (overlapping, open-ended) out of recordings of any format; classes
    are the labels in natural order; the stores hold exactly the windows' events."""
    recs = tmp_path / "recs"
    recs.mkdir()
    a, b = events(3000, 1), events(2000, 2, t0=10_000)
    write_events(recs / "a.raw", a, format="evt2", sensor_size=(64, 48))
    write_events(recs / "b.aedat4", b, sensor_size=(64, 48))
    ta, tb = a["t"], b["t"]
    rows = [("a.raw", 1000, 200_000, "class10"), ("a.raw", 150_000, 400_000, "class2"),
            ("b.aedat4", None, 300_000, "class2"), ("b.aedat4", 300_000, None, "class10"),
            ("a.raw", 500_000, 700_000, "class2"), ("b.aedat4", 100_000, 200_000, "class10")]
    text = "file,start_us,end_us,label\n" + "".join(
        f"{f},{'' if s is None else s},{'' if e is None else e},{c}\n" for f, s, e, c in rows)
    (recs / "labels.csv").write_text(text)
    extract(open_raw("recordings", recs, split_ratio=0.5), workers=1, progress=False,
            warn=False)
    got = {}
    for split in ("train", "test"):
        ds = EventsDataset(recs, split)
        assert ds.classes == ["class2", "class10"] and tuple(ds.sensor_size) == (64, 48)
        for i in range(len(ds)):
            m = ds.sample_meta(i)
            got[(m["source"], m["start"], m["end"])] = (ds[i], split)
    assert len(got) == 6
    for f, s, e, c in rows:
        src = a if f == "a.raw" else b
        t = src["t"]
        lo = int(t[0]) if s is None else s
        hi = int(t[-1]) + 1 if e is None else e
        (ev, label), _ = got[(f, lo, hi)]
        keep = (t >= lo) & (t < hi)
        np.testing.assert_array_equal(ev["t"], t[keep])
        np.testing.assert_array_equal(ev["x"], src["x"][keep])
        assert label == ["class2", "class10"].index(c)
    assert [sp for _, sp in got.values()].count("train") == 2 * 2   # half of each class
    assert ta[0] < 200_000 and tb[-1] > 300_000                      # the windows hold events


def test_sensor_sizes_from_headers(tmp_path):
    """Real recordings of different cameras are refused as a mix (naming both sizes), unless
    one sensor size is given; counts then equal the files' (SOURCES.md)."""
    recs = tmp_path / "recs"
    for cls, rel in (("davis", "aedat4/aestream_davis346.aedat4"),
                     ("gen3", "prophesee/faery_evt2.raw")):
        (recs / cls).mkdir(parents=True)
        shutil.copy(real_file(rel), recs / cls)
    with pytest.raises(DatasetError, match="346x260.*640x480|640x480.*346x260"):
        _ = open_raw("recordings", recs).sensor_size
    r = run("extract", "--recordings", recs, "-q")
    assert_one_error_line(r, "different sensor sizes", "--sensor")
    r = run("extract", "--recordings", recs, "--sensor", "640x480", "-q", "--split-ratio", "0.5")
    assert r.exit_code == 0, r.output
    n = sum(len(EventsDataset(recs, s).read_all()["t"]) for s in ("train", "test"))
    assert n == 117667 + 521252
    man = read_manifest(events_store_path(recs, "train"))
    assert man["sensor_size"] == [640, 480] and man["options"]["sensor_size"] == [640, 480]
    # a format without a size in its header needs one
    nm = tmp_path / "nm"
    (nm / "five").mkdir(parents=True)
    shutil.copy(real_file("nmnist_bin/tonic_sample_nmnist.bin"), nm / "five")
    assert_one_error_line(run("extract", "--recordings", nm, "-q"), "tonic_sample_nmnist.bin",
                          "no header", "--sensor")
    assert run("extract", "--recordings", nm, "--sensor", "34x34", "-q").exit_code == 0


def test_stores_elsewhere_reuse_and_staleness(replica, tmp_path):
    """--root elsewhere: the options go into the manifest; Recordings(root) reads them back and
    reuses the stores; an edited recording or labels file makes them stale."""
    from evframes.datasets import Recordings
    recs = tmp_path / "recs"
    shutil.copytree(replica, recs)
    root = tmp_path / "stores"
    r = run("extract", "--recordings", recs, "--root", root, "--split-ratio", "0.5", "--seed",
            "3", "-q")
    assert r.exit_code == 0, r.output
    build = read_manifest(events_store_path(root, "train"))["build_id"]
    ds = Recordings(root, train=True, progress=False)
    assert len(ds) == 6 and read_manifest(events_store_path(root, "train"))["build_id"] == build
    assert run("verify", "--root", root).exit_code == 0
    victim = recs / "circle" / "rec1.raw"
    write_events(victim, events(100, 9, size=(128, 128)), format="evt3", sensor_size=(128, 128))
    r = run("verify", "--root", root)
    assert r.exit_code == 1 and "stale" in r.output, r.output
    ds = Recordings(root, train=False, progress=False)           # rebuilt from the new file
    assert read_manifest(events_store_path(root, "train"))["build_id"] != build
    srcs = [ds.sample_meta(i)["source"] for i in range(len(ds))] + \
        [Recordings(root, train=True, progress=False).sample_meta(i)["source"]
         for i in range(6)]
    assert "circle/rec1.raw" in srcs
    # an option given differs from the stores': rebuilt, the other options kept
    ds = Recordings(root, train=True, split_ratio=0.8, progress=False)
    man = read_manifest(events_store_path(root, "train"))
    assert len(ds) == 9 and man["options"]["split_ratio"] == 0.8
    assert man["options"]["seed"] == 3 and man["options"]["recordings"] == str(recs.resolve())


def test_store_to_class_folders_and_back(replica, tmp_path):
    """convert writes a store's samples as class folders that extract --recordings reads back
    into the same samples."""
    root = tmp_path / "recs"
    shutil.copytree(replica, root)
    extract(open_raw("recordings", root), workers=1, progress=False, warn=False)
    out = tmp_path / "out"
    r = run("convert", "-q", events_store_path(root, "train"), out, "--format", "aedat4")
    assert r.exit_code == 0, r.output
    assert run("extract", "--recordings", out, "--split-ratio", "0.5", "-q").exit_code == 0
    a = EventsDataset(root, "train")
    b = [EventsDataset(out, s) for s in ("train", "test")]
    got = sorted((tuple(d[i][0]["t"][:3]), d[i][1]) for d in b for i in range(len(d)))
    want = sorted((tuple(a[i][0]["t"][:3]), a[i][1]) for i in range(len(a)))
    assert got == want and len(got) == 9


def test_bad_input_is_one_error_line(replica, tmp_path):
    recs = tmp_path / "recs"
    shutil.copytree(replica, recs)
    labels = tmp_path / "labels.csv"
    assert_one_error_line(run("extract", "--recordings", recs, "--labels", labels), "labels.csv",
                          "not found")
    labels.write_text("file,start_us,end_us,label\ncircle/rec0.aedat4,10,5,a\n")
    assert_one_error_line(run("extract", "--recordings", recs, "--labels", labels), "line 2",
                          "start 10 us >= end 5 us")
    labels.write_text("file,start_us,end_us,label\ncircle/nothere.raw,,,a\n")
    assert_one_error_line(run("extract", "--recordings", recs, "--labels", labels), "line 2",
                          "nothere.raw", "not found")
    labels.write_text("file,start,end,label\n")
    assert_one_error_line(run("extract", "--recordings", recs, "--labels", labels), "header")
    (recs / "wave" / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" * 4)
    assert_one_error_line(run("extract", "--recordings", recs), "clip.mp4",
                          "unknown event file format")
    (recs / "wave" / "clip.mp4").unlink()
    (recs / "wave" / "notes.txt").write_text("ignored")
    (recs / "empty").mkdir()
    assert_one_error_line(run("extract", "--recordings", recs), "empty",
                          "class folder holds no recordings")
    (recs / "empty").rmdir()
    assert run("extract", "--recordings", recs, "-q").exit_code == 0   # notes.txt skipped
    assert_one_error_line(run("extract", "--recordings", tmp_path / "none"), "none",
                          "does not exist")
    (tmp_path / "flat").mkdir()
    assert_one_error_line(run("extract", "--recordings", tmp_path / "flat"), "no class folders")
    assert_one_error_line(run("extract"), "--dataset", exit_code=2)
    with pytest.raises(FormatError):
        bad = tmp_path / "bad"
        (bad / "a").mkdir(parents=True)
        (bad / "a" / "x.raw").write_bytes(b"% evt 3.0\n% format EVT3;width=640;height=480\n"
                                          b"% end\n" + b"\x01")
        extract(open_raw("recordings", bad, sensor_size=(640, 480)), workers=1,
                progress=False, warn=False)
