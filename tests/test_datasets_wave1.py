"""N-Caltech101, ASL-DVS and POKER-DVS (issue 15, first part): extracted, integrated and loaded
from their replicas through the CLI and the Datasets; their layouts, splits, orientations and
bad input; the Tonic facade classes; and the values SpikingJelly 2.0 / Tonic 1.7 gave on the
same replicas (``tests/data/wave1_reference.npz``, written by
``tests/test_datasets_wave1_peer.py --write-reference`` in the benchmark environment, which
also compares with the peers live).

The replica builders and digests here are shared with ``test_datasets_wave1_peer.py``.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_sj_dropin import digest, events_digest

from evframes import synth_wave1
from evframes.cli import main

from helpers import assert_one_error_line, assert_same_arrays, real_file, store_arrays

REFERENCE = Path(__file__).resolve().parent / "data" / "wave1_reference.npz"
REGENERATE = ("if evframes.synth_wave1 changed its replicas, regenerate the reference: "
              "PYTHONPATH=. .venv-bench/bin/python tests/test_datasets_wave1_peer.py "
              "--write-reference")
#: the replicas compared with the peers (deterministic: fixed seeds)
NC_REPLICA = dict(per_class=2, n_classes=None, scale=0.1, seed=5)  # all 101 classes
ASL_REPLICA = dict(per_class=2, scale=0.1, seed=5)
POKER_REPLICA = dict(per_class_train=3, per_class_test=2, seed=5)
T_NUMBER = 4
SPLIT_RATIO = 0.5  # of split_to_train_test_set on the whole sets


# -- shared with test_datasets_wave1_peer.py -------------------------------------------------
def write_sj_roots(base) -> dict:
    """SpikingJelly-layout roots ``base/<name>/download/<official file>`` (N-Caltech101,
    ASL-DVS)."""
    base = Path(base)
    roots = {"ncaltech101": base / "ncaltech101", "asldvs": base / "asldvs"}
    synth_wave1.fake_ncaltech101(roots["ncaltech101"] / "download", **NC_REPLICA)
    synth_wave1.fake_asldvs(roots["asldvs"] / "download", **ASL_REPLICA)
    return roots


def write_tonic_root(base, sj_roots) -> Path:
    """Tonic's ``save_to`` with the three datasets as Tonic leaves them: extracted folders
    (N-Caltech101's and ASL-DVS's unpacked from the SpikingJelly roots' downloads, the same
    replicas), beside the downloads Tonic's existence check looks for (here empty)."""
    save_to = Path(base)
    nc, asl, poker = save_to / "NCALTECH101", save_to / "ASLDVS", save_to / "POKERDVS"
    with zipfile.ZipFile(sj_roots["ncaltech101"] / "download" / "Caltech101.zip") as zf:
        zf.extractall(nc)
    with zipfile.ZipFile(sj_roots["asldvs"] / "download" / "ICCV2019_DVS_dataset.zip") as zf:
        for name in zf.namelist():
            with zipfile.ZipFile(io.BytesIO(zf.read(name))) as inner:
                inner.extractall(asl)
    synth_wave1.fake_pokerdvs(poker, archive=False, **POKER_REPLICA)
    for p in (nc / "N-Caltech101-archive.zip", asl / "ASLDVS.zip",
              poker / "pips_train.tar.gz", poker / "pips_test.tar.gz"):
        p.touch()
    return save_to


def frame_samples(n: int) -> range:
    """The samples whose frames are compared (every 7th: frames of the whole replicas would
    be most of the test's time)."""
    return range(0, n, 7)


def structured_digest(ev) -> str:
    """:func:`events_digest` of a Tonic structured array (fields by name, any shape)."""
    return events_digest({k: np.asarray(ev[k]).reshape(-1) for k in "txyp"})


def tonic_rel(path, save_to) -> str:
    return os.path.relpath(path, save_to).replace(os.sep, "/")


def ours_values(sj_roots, save_to) -> dict:
    """What evframes gives on the replicas, keyed as the reference (SpikingJelly's view in its
    roots, Tonic's through evframes.tonic)."""
    import evframes.tonic as tonic
    from evframes.datasets import ASLDVS, NCaltech101, split_to_train_test_set
    out = {}
    for key, cls, n_classes in (("ncaltech101", NCaltech101, 101), ("asldvs", ASLDVS, 24)):
        ds = cls(sj_roots[key], progress=False)
        names = []
        for i in range(len(ds)):
            src = str(ds.sample_meta(i)["source"])
            names.append("/".join(Path(src).with_suffix("").parts[-2:]))
        out[f"sj_{key}_names"] = np.array(names)
        out[f"sj_{key}_labels"] = np.array(ds.targets)
        out[f"sj_{key}_events"] = np.array([events_digest(ds[i][0]) for i in range(len(ds))])
        tr, te = split_to_train_test_set(SPLIT_RATIO, ds, n_classes)
        out[f"sj_{key}_split_train"] = np.array(tr.indices)
        out[f"sj_{key}_split_test"] = np.array(te.indices)
        fr = cls(sj_roots[key], data_type="frame", frames_number=T_NUMBER, split_by="number",
                 progress=False, on_the_fly=True)  # = the stored frames, only these built
        out[f"sj_{key}_frames"] = np.array([digest(np.asarray(fr[i][0], np.float32))
                                            for i in frame_samples(len(fr))])
    for key, ctor in (("ncaltech101", lambda: tonic.datasets.NCALTECH101(str(save_to))),
                      ("asldvs", lambda: tonic.datasets.ASLDVS(str(save_to))),
                      ("pokerdvs_train", lambda: tonic.datasets.POKERDVS(str(save_to))),
                      ("pokerdvs_test", lambda: tonic.datasets.POKERDVS(str(save_to),
                                                                        train=False))):
        ds = ctor()
        rows = sorted((structured_digest(ev), str(t)) for ev, t in (ds[i] for i in
                                                                    range(len(ds))))
        out[f"tonic_{key}"] = np.array(rows)
        if not key.startswith("pokerdvs"):
            out[f"tonic_{key}_names"] = np.array(sorted(tonic_rel(p, save_to) for p in ds.data))
    return out


# -- helpers ------------------------------------------------------------------------------------
def run(args, ok=True):
    r = CliRunner().invoke(main, args)
    if ok:
        assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def wave1_roots(tmp_path_factory):
    """``(SpikingJelly roots, Tonic save_to)`` of the replicas compared with the peers."""
    base = tmp_path_factory.mktemp("wave1_ref")
    roots = write_sj_roots(base / "sj")
    return roots, write_tonic_root(base / "tonic", roots)


def test_values_equal_the_peers_reference(wave1_roots):
    ours = ours_values(*wave1_roots)
    with np.load(REFERENCE) as f:
        ref = {k: f[k] for k in f.files}
    assert sorted(ref) == sorted(ours), REGENERATE
    for k in ref:
        assert np.array_equal(ref[k], ours[k]), (k, REGENERATE)


# -- CLI: fake -> extract -> integrate -> Dataset -------------------------------------------------
@pytest.mark.parametrize("name,cls,n,T,shape", [
    ("ncaltech101", "NCaltech101", 10, 4, (2, 180, 240)),
    ("asldvs", "ASLDVS", 2, 3, (2, 180, 240)),
    ("pokerdvs", "POKERDVS", 3, 5, (2, 35, 35))])
def test_cli_fake_extract_integrate_then_dataset(tmp_path, name, cls, n, T, shape):
    import evframes.datasets as d
    root = tmp_path / name
    run(["fake", "--dataset", name, "--out", str(root), "-n", str(n), "--scale", "0.2"])
    r = run(["extract", "--dataset", name, "--root", str(root), "-q", "--train-ratio", "0.5"])
    assert "train:" in r.output and "test :" in r.output
    run(["integrate", "--root", str(root), "-T", str(T), "--split-by", "number", "-q"])
    kw = {"train_ratio": 0.5} if name != "pokerdvs" else {}
    for train in (True, False):
        ds = getattr(d, cls)(root, train=train, data_type="frame", frames_number=T,
                             split_by="number", progress=False, **kw)
        assert len(ds) > 0
        x, y = ds[len(ds) - 1]
        assert tuple(x.shape) == (T, *shape) and x.sum() > 0
        assert 0 <= y < len(ds.classes)
        assert (root / f"frames_number_{T}_split_by_number" / f"{ds.split}.h5").is_file()
    info = run(["info", "--root", str(root)]).output
    assert name in info


def test_fake_full_sizes_are_the_real_ones():
    from evframes.replicas import REPLICAS
    for name, classes, size in (("ncaltech101", 101, (240, 180)), ("asldvs", 24, (240, 180)),
                                ("pokerdvs", 4, (35, 35))):
        assert REPLICAS[name].classes == classes and REPLICAS[name].sensor_size == size


# -- N-Caltech101 -------------------------------------------------------------------------------
def test_ncaltech101_real_recording_decodes_to_its_figures(tmp_path):
    from evframes.datasets import NCaltech101
    from evframes.raw.ncaltech101 import CLASSES
    data = real_file("nmnist_bin/ncaltech101_faces_easy_0001.bin").read_bytes()
    with zipfile.ZipFile(tmp_path / "Caltech101.zip", "w") as zf:
        zf.writestr("Caltech101/Faces_easy/image_0001.bin", data)
        zf.writestr("Caltech101/Faces_easy/image_0002.bin", data)
    ds = NCaltech101(tmp_path, train=True, progress=False)
    ev, y = ds[0]
    assert y == CLASSES.index("Faces_easy") == 1
    assert len(ev) == 67445 and ev["t"][-1] == 299364 and ev["t"][0] == 6
    assert (ev["x"].min(), ev["x"].max(), ev["y"].min(), ev["y"].max()) == (0, 150, 0, 172)
    fr = NCaltech101(tmp_path, train=True, data_type="frame", frames_number=3,
                     split_by="number", progress=False)
    x, _ = fr[0]
    assert tuple(x.shape) == (3, 2, 180, 240) and int(x.sum()) == 67445
    assert float(x[:, :, 173:, :].sum()) == 0 and float(x[:, :, :, 151:].sum()) == 0


def test_ncaltech101_whole_set_order_and_split(tmp_path):
    from evframes.datasets import NCaltech101, split_to_train_test_set
    synth_wave1.fake_ncaltech101(tmp_path, per_class=12, n_classes=3, scale=0.15, seed=2)
    whole = NCaltech101(tmp_path, progress=False)
    srcs = [str(whole.sample_meta(i)["source"]) for i in range(len(whole))]
    assert len(whole) == 36 and srcs == sorted(srcs, key=lambda s: (s.split("/")[1], s))
    assert whole.targets == sorted(whole.targets)
    tr, te = split_to_train_test_set(0.9, whole, 101)
    for sub, train in ((tr, True), (te, False)):
        part = NCaltech101(tmp_path, train=train, progress=False)
        assert len(part) == len(sub.indices) == (33 if train else 3)  # ceil(12 * 0.9) = 11
        for j, i in enumerate(sub.indices):
            assert part.sample_meta(j)["source"] == whole.sample_meta(i)["source"]
            assert events_digest(part[j][0]) == events_digest(whole[i][0])
    with pytest.raises(TypeError, match="no positional train"):
        NCaltech101(tmp_path, True)
    assert NCaltech101.get_H_W() == (180, 240) and not NCaltech101.downloadable()
    assert NCaltech101.resource_url_md5()[0][0] == "Caltech101.zip"


def test_ncaltech101_layouts_extract_identically(tmp_path):
    from evframes.pipeline.extract import extract
    from evframes.raw import open_raw
    from evframes.store import events_store_path
    kw = dict(per_class=10, n_classes=2, scale=0.1, seed=4)
    roots = {k: tmp_path / k for k in ("zip", "folder", "sj", "tonic")}
    synth_wave1.fake_ncaltech101(roots["zip"], **kw)
    synth_wave1.fake_ncaltech101(roots["folder"], archive=False, **kw)
    synth_wave1.fake_ncaltech101(roots["sj"] / "download", **kw)
    synth_wave1.fake_ncaltech101(roots["tonic"], **kw)
    os.replace(roots["tonic"] / "Caltech101.zip", roots["tonic"] / "N-Caltech101-archive.zip")
    for r in roots.values():
        extract(open_raw("ncaltech101", r), workers=1, progress=False, warn=False)
    for split in ("train", "test"):
        want = store_arrays(events_store_path(roots["zip"], split))
        for k in ("folder", "sj", "tonic"):
            assert_same_arrays(want, store_arrays(events_store_path(roots[k], split)))


def test_ncaltech101_bad_input_is_one_error_line(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    with zipfile.ZipFile(root / "Caltech101.zip", "w") as zf:
        zf.writestr("Caltech101/Faces/image_0001.bin", b"\0" * 10)
    r = run(["extract", "--dataset", "ncaltech101", "--root", str(root), "-q"], ok=False)
    assert_one_error_line(r, "Caltech101.zip", "'Faces'", "not an N-Caltech101 class")
    r = run(["extract", "--dataset", "ncaltech101", "--root", str(tmp_path / "none")], ok=False)
    assert_one_error_line(r, "dataset root does not exist")
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run(["extract", "--dataset", "ncaltech101", "--root", str(empty)], ok=False)
    assert_one_error_line(r, "Caltech101.zip", "garrickorchard.com", "never downloads")
    with zipfile.ZipFile(root / "Caltech101.zip", "w") as zf:  # 7 bytes: not whole records
        zf.writestr("Caltech101/ant/image_0001.bin", b"\x01\x02\x00\x00\x05\x01\x02")
    r = run(["extract", "--dataset", "ncaltech101", "--root", str(root), "-q"], ok=False)
    assert_one_error_line(r, "Caltech101/ant/image_0001.bin")


# -- ASL-DVS ------------------------------------------------------------------------------------
def test_asldvs_layouts_extract_identically(tmp_path):
    from evframes.pipeline.extract import extract
    from evframes.raw import open_raw
    from evframes.raw.asl_dvs import CLASSES, inner_zip_name
    from evframes.store import events_store_path
    roots = {k: tmp_path / k for k in ("stored", "deflated", "folders", "letters", "tonic")}
    synth_wave1.fake_asldvs(roots["stored"], per_class=2, scale=0.05, seed=6)
    outer = roots["stored"] / "ICCV2019_DVS_dataset.zip"
    for k in ("deflated", "folders", "letters", "tonic"):
        roots[k].mkdir()
    shutil.copy(outer, roots["tonic"] / "ASLDVS.zip")  # Tonic's name of the download
    with zipfile.ZipFile(outer) as zf, zipfile.ZipFile(
            roots["deflated"] / outer.name, "w", compression=zipfile.ZIP_DEFLATED) as out:
        assert zf.getinfo(inner_zip_name("a")).compress_type == zipfile.ZIP_STORED
        zf.extractall(roots["letters"])  # the download unpacked: the letter zips in the root
        for name in zf.namelist():
            out.writestr(name, zf.read(name))
            with zipfile.ZipFile(io.BytesIO(zf.read(name))) as inner:
                inner.extractall(roots["folders"])  # and those unpacked: a/ ... y/
    for r in roots.values():
        extract(open_raw("asldvs", r, train_ratio=0.5), workers=1, progress=False, warn=False)
    for split in ("train", "test"):
        want = store_arrays(events_store_path(roots["stored"], split))
        assert len(want["labels"]) == len(CLASSES)
        for k in ("deflated", "folders", "letters", "tonic"):
            assert_same_arrays(want, store_arrays(events_store_path(roots[k], split)))


def test_asldvs_orientations(tmp_path):
    from evframes.datasets import ASLDVS
    synth_wave1.fake_asldvs(tmp_path / "raw", per_class=2, scale=0.05, seed=1, archive=False)
    a = {}
    for o in ("spikingjelly", "tonic", "raw"):  # one events store per root: a root each
        if o != "raw":
            shutil.copytree(tmp_path / "raw", tmp_path / o)
        a[o] = ASLDVS(tmp_path / o, train=True, orientation=o, progress=False, train_ratio=0.5)
    for i in (0, 23):
        sj, to, raw = (a[o][i][0] for o in ("spikingjelly", "tonic", "raw"))
        assert len(raw) > 0 and np.array_equal(sj["t"], raw["t"])
        assert np.array_equal(sj["x"], 239 - raw["x"]) and np.array_equal(sj["y"], 179 - raw["y"])
        assert np.array_equal(to["x"], raw["x"]) and np.array_equal(to["y"], 179 - raw["y"])
    assert a["raw"].classes[9] == "k" and len(a["raw"].classes) == 24  # no j


def _mat(**fields) -> bytes:
    from scipy.io import savemat
    b = io.BytesIO()
    savemat(b, fields, oned_as="column")
    return b.getvalue()


BAD_MATS = [
    (_mat(x=np.arange(3), y=np.arange(3), ts=np.arange(3)), "no field(s) pol"),
    (_mat(x=np.arange(3), y=np.arange(2), ts=np.arange(3), pol=np.ones(3)), "unequal length"),
    (_mat(x=np.arange(3), y=np.arange(3), ts=np.arange(3) + 0.5, pol=np.ones(3)),
     "'ts' holds non-integer values"),
    (_mat(x=np.arange(3), y=np.arange(3), ts=np.array(["a", "b", "c"]), pol=np.ones(3)),
     "not numeric"),
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 600, "not a readable MATLAB .mat file"),
    (b"MATLAB 7.3 MAT-file" + b" " * 97 + b"\0" * 8 + b"\x00\x02IM" + b"\0" * 400, "MATLAB 7.3"),
    (_mat(x=np.arange(3), y=np.arange(3), ts=np.arange(3), pol=np.ones(3))[:150],
     "not a readable MATLAB .mat file"),
]


def test_asldvs_bad_mat_is_one_error_line(tmp_path):
    from evframes import FormatError
    from evframes.raw.asl_dvs import mat_events
    for data, needle in BAD_MATS:
        with pytest.raises(FormatError, match=re.escape(needle)) as e:
            mat_events(data, "a/a_0001.mat")
        assert re.match(r"a/a_0001\.mat( at byte \d+)?: ", str(e.value))  # mat5: the offset
        assert "\n" not in str(e.value)
    root = tmp_path / "bad"
    synth_wave1.fake_asldvs(root, per_class=1, scale=0.05, archive=False)
    (root / "a" / "a_0001.mat").write_bytes(BAD_MATS[0][0])
    r = run(["extract", "--dataset", "asldvs", "--root", str(root), "-q"], ok=False)
    assert_one_error_line(r, "a_0001.mat", "no field(s) pol")
    assert not list(root.rglob("*.h5"))  # no store written


def test_asldvs_missing_letters_and_download(tmp_path):
    root = tmp_path / "r"
    synth_wave1.fake_asldvs(root, per_class=1, scale=0.05, archive=False)
    shutil.rmtree(root / "k")
    shutil.rmtree(root / "y")
    r = run(["extract", "--dataset", "asldvs", "--root", str(root)], ok=False)
    assert_one_error_line(r, "letter(s) missing: k, y")
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run(["extract", "--dataset", "asldvs", "--root", str(empty)], ok=False)
    assert_one_error_line(r, "ICCV2019_DVS_dataset.zip", "dropbox", "OpenI")


def test_asldvs_mat_dtypes_and_unsorted_time(tmp_path):
    from evframes.raw.asl_dvs import mat_events
    ev = mat_events(_mat(x=np.array([1.0, 2.0]), y=np.array([3, 4], np.int32),
                         ts=np.array([10, 20], np.int64), pol=np.array([True, False])),
                    "m.mat", "raw")
    assert ev["x"].tolist() == [1, 2] and ev["y"].tolist() == [3, 4]
    assert ev["t"].tolist() == [10, 20] and ev["p"].tolist() == [1, 0]
    root = tmp_path / "r"
    synth_wave1.fake_asldvs(root, per_class=1, scale=0.05, archive=False)
    (root / "a" / "a_0001.mat").write_bytes(_mat(
        x=np.array([5, 6, 300], np.uint16), y=np.array([1, 2, 3], np.uint16),
        ts=np.array([30.0, 10.0, 20.0]), pol=np.array([1, 0, 1], np.uint8)))
    r = run(["extract", "--dataset", "asldvs", "--root", str(root)])
    assert "off the 240x180 sensor" in r.output and "not monotonic" in r.output


# -- POKER-DVS ----------------------------------------------------------------------------------
def test_pokerdvs_archive_and_folder_and_order(tmp_path):
    from evframes.datasets import POKERDVS
    from evframes.pipeline.extract import extract
    from evframes.raw import open_raw
    from evframes.store import events_store_path
    for k, arch in (("tar", True), ("folder", False)):
        synth_wave1.fake_pokerdvs(tmp_path / k, archive=arch, seed=3, per_class_train=3,
                                  per_class_test=2)
        extract(open_raw("pokerdvs", tmp_path / k), workers=1, progress=False, warn=False)
    for split, n in (("train", 12), ("test", 8)):
        a = store_arrays(events_store_path(tmp_path / "tar", split))
        assert_same_arrays(a, store_arrays(events_store_path(tmp_path / "folder", split)))
        assert len(a["labels"]) == n and a["labels"].tolist() == sorted(a["labels"].tolist())
    ds = POKERDVS(tmp_path / "tar", train=False, progress=False)
    assert ds.classes == ["cl", "he", "di", "sp"] and ds.sample_meta(0)["source"] == "cl/cl01.npy"
    with pytest.raises(ValueError, match="official train/test split"):
        POKERDVS(tmp_path / "tar", train=None)


def test_pokerdvs_bad_input_is_one_error_line(tmp_path):
    root = tmp_path / "r"
    synth_wave1.fake_pokerdvs(root, archive=False, per_class_train=1, per_class_test=1)
    np.save(root / "pips_test" / "sp" / "sp01.npy", np.zeros((5, 3)))
    r = run(["extract", "--dataset", "pokerdvs", "--root", str(root)], ok=False)
    assert_one_error_line(r, "sp01.npy", "[N, 4] array", "[5, 3]")
    (root / "pips_test" / "xx").mkdir()
    np.save(root / "pips_test" / "xx" / "a.npy", np.zeros((5, 4)))
    r = run(["extract", "--dataset", "pokerdvs", "--root", str(root)], ok=False)
    assert_one_error_line(r, "'xx'", "class code")
    tar_root = tmp_path / "t"
    synth_wave1.fake_pokerdvs(tar_root, per_class_train=1, per_class_test=1)
    data = (tar_root / "pips_train.tar.gz").read_bytes()
    (tar_root / "pips_train.tar.gz").write_bytes(data[: len(data) // 2])
    r = run(["extract", "--dataset", "pokerdvs", "--root", str(tar_root)], ok=False)
    assert_one_error_line(r, "pips_train.tar.gz")
    shutil.rmtree(root / "pips_test")
    r = run(["extract", "--dataset", "pokerdvs", "--root", str(root)], ok=False)
    assert_one_error_line(r, "pips_test.tar.gz missing", "never downloads")


# -- the Tonic facade ---------------------------------------------------------------------------
def test_tonic_facade_classes(tmp_path, wave1_roots):
    import evframes.tonic as tonic
    from evframes import DatasetError
    save_to = wave1_roots[1]
    nc = tonic.datasets.NCALTECH101(str(save_to))
    ev, target = nc[0]
    assert nc.sensor_size is None and nc.ordering == ("x", "y", "t", "p")
    assert target == "BACKGROUND_Google" and ev["x"].min() == 0 and ev["y"].min() == 0
    assert len(nc) == 202 and nc.data[0].endswith("Caltech101/BACKGROUND_Google/image_0001.bin")
    asl = tonic.datasets.ASLDVS(str(save_to))
    assert asl.targets[-1] == 24 and 9 not in asl.targets and len(asl.classes) == 26
    assert asl.sensor_size == (240, 180, 2) and asl.ordering == ("t", "x", "y", "p")
    poker = tonic.datasets.POKERDVS(str(save_to), train=False)
    ev, target = poker[0]
    assert len(poker) == 8 and target == 0 and poker.sensor_size == (35, 35, 2)
    arr = poker.data[0]
    assert arr.shape == (len(ev), 4) and np.array_equal(arr[:, 0], ev["t"])
    with pytest.raises(DatasetError, match="pips_train.tar.gz.*never downloads|never downloads"):
        tonic.datasets.POKERDVS(str(tmp_path / "nowhere"))


def test_spikingjelly_modules_import(tmp_path):
    import evframes.datasets as d
    from evframes.datasets.asl_dvs import ASLDVS
    from evframes.datasets.n_caltech101 import NCaltech101
    from evframes.datasets.poker_dvs import POKERDVS
    assert d.NCaltech101 is NCaltech101 and d.ASLDVS is ASLDVS and d.POKERDVS is POKERDVS
    with pytest.raises(ModuleNotFoundError, match="evframes has DVS128Gesture.*NCaltech101"):
        import evframes.datasets.hardvs  # noqa: F401


def test_tar_member_helper_is_streamed(tmp_path):
    """POKER-DVS archives are read member by member (no extraction to disk)."""
    synth_wave1.fake_pokerdvs(tmp_path, per_class_train=1, per_class_test=1)
    with tarfile.open(tmp_path / "pips_train.tar.gz") as tf:
        names = tf.getnames()
    assert names[0].startswith("pips_train/") and all(n.endswith(".npy") for n in names)
    run(["extract", "--dataset", "pokerdvs", "--root", str(tmp_path), "-q"])
    assert not (tmp_path / "pips_train").exists()
