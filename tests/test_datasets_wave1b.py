"""N-CARS, DVS-Lip and NAVGesture (issue 15, second part): extracted, integrated and loaded from
their replicas through the CLI and the Datasets; the real N-CARS clip; layouts (nested zips,
SpikingJelly's and Tonic's), conventions, orders and bad input; the Tonic facade classes; and
the values SpikingJelly 2.0 / Tonic 1.7 / expelliarmus gave on the same replicas
(``tests/data/wave1b_reference.npz``, written by ``tests/test_datasets_wave1b_peer.py
--write-reference`` in the benchmark environment, which also compares with the peers live).

The replica builders and the value collection here are shared with the peer test.
"""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_sj_dropin import digest, events_digest

from evframes import synth_wave1b as sw
from evframes.cli import main

from helpers import assert_one_error_line, assert_same_arrays, real_file, store_arrays

REFERENCE = Path(__file__).resolve().parent / "data" / "wave1b_reference.npz"
REGENERATE = ("if evframes.synth_wave1b changed its replicas, regenerate the reference: "
              "PYTHONPATH=. .venv-bench/bin/python tests/test_datasets_wave1b_peer.py "
              "--write-reference")
NAV_REPLICA = dict(users=2, per_class=2, scale=0.05, seed=7)
LIP_REPLICA = dict(per_class_train=11, per_class_test=2, n_classes=2, scale=0.1, seed=7)
NC_REPLICA = dict(per_class_train=3, per_class_test=2, scale=0.3, seed=7)
T_NUMBER = 4
SPLIT_RATIO = 0.5


# -- shared with test_datasets_wave1b_peer.py ------------------------------------------------
def write_roots(base) -> dict:
    """Roots as the peers leave them: SpikingJelly's ``download/`` for NAVGesture-walk and
    DVS-Lip, Tonic's ``save_to/DVSLip/DVS-Lip/``, N-CARS' extracted ``train/``, ``test/``."""
    base = Path(base)
    r = {"nav": base / "nav", "lip": base / "lip", "ncars": base / "ncars",
         "tonic": base / "tonic"}
    sw.fake_navgesture(r["nav"] / "download", "walk", **NAV_REPLICA)
    sw.fake_dvslip(r["lip"] / "download", **LIP_REPLICA)
    sw.fake_dvslip(r["tonic"] / "DVSLip", archive=False, **LIP_REPLICA)
    sw.fake_ncars(r["ncars"], archive=False, **NC_REPLICA)
    return r


def structured_digest(ev) -> str:
    return events_digest({k: np.asarray(ev[k]).reshape(-1) for k in "txyp"})


def ours_values(r) -> dict:
    """What evframes gives on the replicas, keyed as the reference."""
    import warnings

    import evframes.tonic as tonic
    from evframes.datasets import NCARS, DVSLip, NAVGestureWalk, split_to_train_test_set
    out = {}
    ds = NAVGestureWalk(r["nav"], progress=False, train_ratio=SPLIT_RATIO)
    out["sj_nav_names"] = np.array([f"{ds.classes[ds.targets[i]]}/"
                                    f"{Path(str(ds.sample_meta(i)['source'])).stem}"
                                    for i in range(len(ds))])
    out["sj_nav_labels"] = np.array(ds.targets)
    out["sj_nav_events"] = np.array([events_digest(ds[i][0]) for i in range(len(ds))])
    tr, te = split_to_train_test_set(SPLIT_RATIO, ds, 6)
    out["sj_nav_split_train"], out["sj_nav_split_test"] = np.array(tr.indices), np.array(
        te.indices)
    with warnings.catch_warnings():  # a frames folder in a SpikingJelly root
        warnings.simplefilter("ignore")
        fr = NAVGestureWalk(r["nav"], data_type="frame", frames_number=T_NUMBER,
                            split_by="number", progress=False, train_ratio=SPLIT_RATIO)
        out["sj_nav_frames"] = np.array([digest(np.asarray(fr[i][0], np.float32))
                                         for i in range(len(fr))])
        for split, train in (("train", True), ("test", False)):
            ds = DVSLip(r["lip"], train, progress=False)
            out[f"sj_lip_{split}_names"] = np.array([
                "/".join(Path(str(ds.sample_meta(i)["source"])).with_suffix("").parts[-2:])
                for i in range(len(ds))])
            # SpikingJelly's label counts the word folders present (all 100 in the real set,
            # where it equals ours; the replica has a few)
            out[f"sj_lip_{split}_labels"] = np.unique(ds.targets, return_inverse=True)[1]
            out[f"sj_lip_{split}_events"] = np.array([events_digest(ds[i][0])
                                                      for i in range(len(ds))])
            fr = DVSLip(r["lip"], train, "frame", T_NUMBER, "number", progress=False)
            out[f"sj_lip_{split}_frames"] = np.array([digest(np.asarray(fr[i][0], np.float32))
                                                      for i in range(len(fr))])
    for split, train in (("train", True), ("test", False)):
        ds = tonic.datasets.DVSLip(str(r["tonic"]), train=train)
        out[f"tonic_lip_{split}"] = np.array(sorted((structured_digest(ev), str(t))
                                                    for ev, t in (ds[i] for i in range(len(ds)))))
        out[f"tonic_lip_{split}_names"] = np.array(sorted(
            Path(p).relative_to(r["tonic"]).as_posix() for p in ds.data))
        ds = NCARS(r["ncars"], train, progress=False)
        out[f"dat_ncars_{split}"] = np.array(sorted(
            (str(ds.sample_meta(i)["source"]), events_digest(ds[i][0]))
            for i in range(len(ds))))
    return out


# -- helpers -------------------------------------------------------------------------------------
def run(args, ok=True):
    r = CliRunner().invoke(main, args)
    if ok:
        assert r.exit_code == 0, r.output
    return r


def extract_root(name, root, **kw):
    from evframes.pipeline.extract import extract
    from evframes.raw import open_raw
    return extract(open_raw(name, root, **kw), workers=1, progress=False, warn=False)


@pytest.fixture(scope="module")
def values(tmp_path_factory):
    return ours_values(write_roots(tmp_path_factory.mktemp("wave1b_ref")))


def test_values_equal_the_peers_reference(values):
    with np.load(REFERENCE) as f:
        ref = {k: f[k] for k in f.files}
    assert sorted(ref) == sorted(values), REGENERATE
    for k in ref:
        assert np.array_equal(ref[k], values[k]), (k, REGENERATE)


# -- CLI: fake -> extract -> integrate -> Dataset -------------------------------------------------
@pytest.mark.parametrize("name,cls,T,shape", [
    ("ncars", "NCARS", 4, (2, 100, 120)), ("dvslip", "DVSLip", 3, (2, 128, 128)),
    ("navgesture-walk", "NAVGestureWalk", 5, (2, 240, 304))])
def test_cli_fake_extract_integrate_then_dataset(tmp_path, name, cls, T, shape):
    import evframes.datasets as d
    from evframes.raw import REGISTRY
    root = tmp_path / name
    if name == "dvslip":  # the CLI's replica has all 100 words: a smaller one here
        sw.fake_dvslip(root, per_class_train=2, per_class_test=1, n_classes=3, scale=0.1)
    else:
        run(["fake", "--dataset", name, "--out", str(root), "-n", "2", "--scale", "0.1"])
    r = run(["extract", "--dataset", name, "--root", str(root), "-q", "--train-ratio", "0.5"])
    assert "train:" in r.output and "test :" in r.output
    run(["integrate", "--root", str(root), "-T", str(T), "--split-by", "number", "-q"])
    kw = {"train_ratio": 0.5} if name.startswith("nav") else {}
    for train in (True, False):
        ds = getattr(d, cls)(root, train=train, data_type="frame", frames_number=T,
                             split_by="number", progress=False, **kw)
        ev = getattr(d, cls)(root, train=train, progress=False, **kw)
        assert len(ds) == len(ev) > 0 and type(ds).__module__.endswith(
            REGISTRY[name].torch_module)
        for i in (0, len(ds) - 1):
            x, y = ds[i]
            assert tuple(x.shape) == (T, *shape) and int(x.sum()) == len(ev[i][0]) > 0
            assert 0 <= y < len(ds.classes) and y == ev[i][1]
        assert (root / f"frames_number_{T}_split_by_number" / f"{ds.split}.h5").is_file()
    assert getattr(d, cls).get_H_W() == shape[1:]
    assert name in run(["info", "--root", str(root)]).output


# -- N-CARS --------------------------------------------------------------------------------------
def test_ncars_real_clip_decodes_as_its_npy(tmp_path):
    from evframes.datasets import NCARS
    dat = real_file("prophesee/expelliarmus_dat_sample_small.dat")
    want = np.load(dat.with_suffix(".npy"))
    with zipfile.ZipFile(tmp_path / "n-cars_train.zip", "w") as zf:
        zf.writestr("train/cars/obj_000001_td.dat", dat.read_bytes())
    with zipfile.ZipFile(tmp_path / "n-cars_test.zip", "w") as zf:
        zf.writestr("test/background/obj_000002_td.dat", dat.read_bytes())
    ds = NCARS(tmp_path, train=True, progress=False)
    ev, y = ds[0]
    assert y == 1 and ds.classes == ["background", "cars"] and len(ev) == 4407
    for k in "txyp":
        assert np.array_equal(ev[k], want[k]), k
    assert ds.sample_meta(0)["source"] == "train/cars/obj_000001_td.dat"
    fr = NCARS(tmp_path, False, "frame", 2, "number", progress=False)
    x, y = fr[0]
    assert y == 0 and tuple(x.shape) == (2, 2, 100, 120) and int(x.sum()) == 4407
    assert float(x[:, :, 61:, :].sum()) == 0 and float(x[:, :, :, 54:].sum()) == 0


def test_ncars_layouts_extract_identically(tmp_path):
    from evframes.raw.ncars import OUTER
    from evframes.store import events_store_path
    kw = dict(per_class_train=2, per_class_test=1, scale=0.2, seed=3)
    roots = {k: tmp_path / k for k in ("outer", "deflated", "zips", "folders", "sj", "tonic")}
    sw.fake_ncars(roots["outer"], **kw)
    sw.fake_ncars(roots["deflated"], stored=False, **kw)
    sw.fake_ncars(roots["zips"], outer=False, **kw)
    sw.fake_ncars(roots["folders"], archive=False, **kw)
    sw.fake_ncars(roots["sj"] / "download", **kw)  # SpikingJelly-style download/
    sw.fake_ncars(roots["tonic"] / "NCARS", archive=False, **kw)
    with zipfile.ZipFile(roots["deflated"] / OUTER) as zf:
        assert zf.getinfo("n-cars_train.zip").compress_type == zipfile.ZIP_DEFLATED
    for k, r in roots.items():
        if k != "tonic":
            extract_root("ncars", r)
    want = {s: store_arrays(events_store_path(roots["outer"], s)) for s in ("train", "test")}
    assert len(want["train"]["labels"]) == 4 and list(want["test"]["labels"]) == [0, 1]
    for k in ("deflated", "zips", "folders", "sj"):
        for s in ("train", "test"):
            assert_same_arrays(want[s], store_arrays(events_store_path(roots[k], s)))
    import evframes.tonic as tonic
    ds = tonic.datasets.NCARS(str(roots["tonic"]), train=False)
    assert len(ds) == 2 and ds.sensor_size is None and ds.classes == ["background", "car"]
    ev, t = ds[1]
    assert t == 1 and ev.dtype.names == ("t", "x", "y", "p") and ev["t"].dtype == np.uint64
    assert Path(ds.data[1]).is_file() and "/test/cars/" in ds.data[1]


def test_ncars_sensor_policy_and_bad_input(tmp_path):
    from evframes.datasets import NCARS
    from evframes.formats import write_prophesee_dat
    from evframes.raw.ncars import dat_events
    for s in ("train", "test"):
        (tmp_path / "r" / s / "cars").mkdir(parents=True)
        p = tmp_path / "r" / s / "cars" / "obj_0_td.dat"
        write_prophesee_dat(p, {"t": np.array([5, 9, 12]), "x": np.array([3, 130, 119]),
                                "y": np.array([2, 5, 99]), "p": np.array([1, 0, 1])})
    warns = []
    ev = dat_events((tmp_path / "r/train/cars/obj_0_td.dat").read_bytes(), "w.dat", warns)
    assert list(ev["x"]) == [3, 119] and "off the 120x100 sensor" in warns[0]
    with pytest.warns(UserWarning, match="dropped 1 event.*off the 120x100 sensor"):
        ds = NCARS(tmp_path / "r", train=True, progress=False)
    assert len(ds[0][0]) == 2 and NCARS.get_H_W() == (100, 120)
    p = tmp_path / "r" / "test" / "cars" / "obj_0_td.dat"
    p.write_bytes(p.read_bytes()[:-3])  # cut inside the last record
    r = run(["extract", "--dataset", "ncars", "--root", str(tmp_path / "r"), "-q"], ok=False)
    assert_one_error_line(r, "obj_0_td.dat", "keep-truncated")
    run(["extract", "--dataset", "ncars", "--root", str(tmp_path / "r"), "-q",
         "--keep-truncated"])
    (tmp_path / "r" / "test" / "trucks").mkdir()
    (tmp_path / "r" / "test" / "trucks" / "a.dat").write_bytes(b"% x\n")
    r = run(["extract", "--dataset", "ncars", "--root", str(tmp_path / "r"), "-q"], ok=False)
    assert_one_error_line(r, "trucks/a.dat", "class one of background, cars")
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run(["extract", "--dataset", "ncars", "--root", str(empty)], ok=False)
    assert_one_error_line(r, "Prophesee_Dataset_n_cars.zip", "never downloads", "evframes fake")


# -- DVS-Lip -------------------------------------------------------------------------------------
def test_dvslip_order_labels_and_layouts(tmp_path):
    from evframes.datasets import DVSLip
    from evframes.raw.dvs_lip import CLASSES
    from evframes.store import events_store_path
    kw = dict(per_class_train=11, per_class_test=1, n_classes=2, scale=0.05, seed=2)
    roots = {k: tmp_path / k for k in ("zip", "folder", "sj", "tonic")}
    sw.fake_dvslip(roots["zip"], **kw)
    sw.fake_dvslip(roots["folder"], archive=False, **kw)
    sw.fake_dvslip(roots["sj"] / "extract", archive=False, **kw)  # SpikingJelly's extract/
    sw.fake_dvslip(roots["tonic"] / "DVSLip", archive=False, **kw)
    ds = DVSLip(roots["zip"], train=True, progress=False)
    src = [str(ds.sample_meta(i)["source"]) for i in range(len(ds))]
    assert src[:3] == ["train/accused/0.npy", "train/accused/1.npy", "train/accused/10.npy"]
    assert ds.targets == [0] * 11 + [CLASSES.index("young")] * 11 == [0] * 11 + [99] * 11
    for k in ("folder", "sj"):
        extract_root("dvslip", roots[k])
        for s in ("train", "test"):
            assert_same_arrays(store_arrays(events_store_path(roots["zip"], s)),
                               store_arrays(events_store_path(roots[k], s)))
    with pytest.raises(ValueError, match="give train=True/False"):
        DVSLip(roots["zip"], None)
    assert DVSLip.resource_url_md5()[0] == ("DVS-Lip.zip",
                                            "https://sites.google.com/view/event-based-lipreading",
                                            "2dcb959255122d4cdeb6094ca282494b")
    import evframes.tonic as tonic
    t = tonic.datasets.DVSLip(str(roots["tonic"]), train=False)
    ev, target = t[1]
    assert len(t) == 2 and target == 99 and ev.dtype == tonic.datasets.DVSLip.dtype
    assert t.data[1].endswith("DVS-Lip/test/young/0.npy") and Path(t.data[1]).is_file()
    assert len(t.classes) == 100 and len(t.ambiguous_classes) == 50


def test_dvslip_bad_input_is_one_error_line(tmp_path):
    import io

    from evframes import FormatError
    from evframes.raw.dvs_lip import npy_events

    def npy(a):
        b = io.BytesIO()
        np.save(b, a)
        return b.getvalue()
    bad = [(npy(np.zeros((3, 4))), "no t, x, y, p"),
           (npy(np.zeros(3, [("t", "f8"), ("x", "i1"), ("y", "i1"), ("p", "i1")])),
            "field(s) t not integer"),
           (b"\x93NUMPY garbage", "not a readable .npy array")]
    for data, needle in bad:
        with pytest.raises(FormatError, match=needle.replace("(", r"\(").replace(")", r"\)")):
            npy_events(data, "DVS-Lip.zip:x.npy", [])
    a = np.zeros(3, sw.LIP_DTYPE)
    a["t"], a["x"], a["p"] = [5, 3, 9], [1, -2, 4], [1, 0, 2]
    warns = []
    ev = npy_events(npy(a), "w.npy", warns)
    assert list(ev["x"]) == [1] and "off the 128x128 sensor" in warns[0]
    root = tmp_path / "r"
    sw.fake_dvslip(root, per_class_train=1, per_class_test=1, n_classes=1, archive=False)
    (root / "DVS-Lip" / "test" / "hello").mkdir()
    (root / "DVS-Lip" / "test" / "hello" / "0.npy").write_bytes(npy(a))
    r = run(["extract", "--dataset", "dvslip", "--root", str(root), "-q"], ok=False)
    assert_one_error_line(r, "hello", "not a DVS-Lip class")
    shutil.rmtree(root / "DVS-Lip" / "test" / "hello")
    (root / "DVS-Lip" / "test" / "accused" / "0.npy").write_bytes(bad[0][0])
    r = run(["extract", "--dataset", "dvslip", "--root", str(root), "-q"], ok=False)
    assert_one_error_line(r, "accused/0.npy", "structured array")


# -- NAVGesture ----------------------------------------------------------------------------------
def _td(records, header=True, size=8) -> bytes:
    """An ATIS td file: ``records`` of (t, x, y, p)."""
    r = np.asarray(records, np.int64).reshape(-1, 4)
    w = np.empty((len(r), 2), "<u4")
    w[:, 0] = r[:, 0]
    w[:, 1] = r[:, 1] | (r[:, 2] << 9) | (r[:, 3] << 17)
    head = b"% Data file containing Event2D events\n% Version 1\n" + bytes([0, size])
    return (head if header else b"") + w.tobytes()


def test_navgesture_decoding_and_conventions():
    from evframes import FormatError
    from evframes.raw.nav_gesture import td_events
    rec = [(100, 3, 239, 1), (150, 303, 0, 0), (120, 5, 5, 1), (160, 7, 9, 0), (140, 8, 8, 1),
           (170, 400, 9, 0)]
    warns = []
    sj = td_events(_td(rec), "a.dat", "spikingjelly", warns)
    # 120 and 140 go back in time (dropped, SpikingJelly's rule); x = 400 is off the sensor
    assert list(sj["t"]) == [0, 50, 60] and list(sj["x"]) == [3, 303, 7]
    assert list(sj["y"]) == [0, 239, 230] and list(sj["p"]) == [1, 0, 0]
    assert "dropped 2 event(s)" in warns[0] and "off the 304x240 sensor" in warns[1]
    raw = td_events(_td(rec), "a.dat", "raw", [])
    assert list(raw["t"]) == [100, 120, 140, 150, 160] and list(raw["y"]) == [239, 5, 8, 0, 9]
    same = td_events(_td(rec, header=False), "a.dat", "spikingjelly", [])
    assert all(np.array_equal(same[k], sj[k]) for k in "txyp")
    with pytest.raises(FormatError, match="event size 16"):
        td_events(_td(rec, size=16), "a.dat", "raw", [])
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cut = td_events(_td(rec)[:-3], "a.dat", "raw", [])
    assert len(cut) == 5 and "not a multiple of 8 bytes" in str(caught[0].message)


def test_navgesture_layouts_order_and_split(tmp_path):
    from evframes.datasets import NAVGestureSit, split_to_train_test_set
    from evframes.raw.nav_gesture import CLASSES
    from evframes.store import events_store_path
    kw = dict(users=2, per_class=2, scale=0.05, seed=4)
    names = ("deflated", "stored", "folder", "subject_zips", "in_root", "sj_extract")
    roots = {k: tmp_path / k for k in names}
    sw.fake_navgesture(roots["deflated"], "sit", **kw)
    sw.fake_navgesture(roots["stored"], "sit", stored=True, **kw)
    sw.fake_navgesture(roots["folder"], "sit", archive=False, **kw)
    with zipfile.ZipFile(roots["deflated"] / "navgesture-sit.zip") as zf:
        zf.extractall(roots["subject_zips"] / "navgesture-sit")  # Tonic: userNN.zip moved in
        for n in zf.namelist():
            zipfile.ZipFile(zf.open(n)).extractall(roots["sj_extract"] / "extract")
    shutil.copytree(roots["folder"] / "navgesture-sit", roots["in_root"])
    for r in roots.values():
        extract_root("navgesture-sit", r, train_ratio=SPLIT_RATIO)
    for s in ("train", "test"):
        want = store_arrays(events_store_path(roots["deflated"], s))
        assert len(want["labels"]) == 12
        for k in names[1:]:
            assert_same_arrays(want, store_arrays(events_store_path(roots[k], s)))
    whole = NAVGestureSit(roots["folder"], progress=False, train_ratio=SPLIT_RATIO)
    keys = [(whole.targets[i], Path(str(whole.sample_meta(i)["source"])).name)
            for i in range(len(whole))]
    assert keys == sorted(keys) and len(whole) == 24 and whole.classes == CLASSES
    assert whole.sample_meta(0) == {"source": "user01/user01_do_01.dat", "user": "user01"}
    tr, te = split_to_train_test_set(SPLIT_RATIO, whole, 6)
    part = NAVGestureSit(roots["folder"], train=False, progress=False, train_ratio=SPLIT_RATIO)
    assert len(part) == len(te.indices) == 12
    for j, i in enumerate(te.indices):
        assert events_digest(part[j][0]) == events_digest(whole[i][0])
    raw = NAVGestureSit(roots["stored"], train=True, orientation="raw", progress=False,
                        train_ratio=SPLIT_RATIO)
    sj = NAVGestureSit(roots["deflated"], train=True, progress=False, train_ratio=SPLIT_RATIO)
    a, b = raw[3][0], sj[3][0]
    assert a["t"][0] > 0 and np.array_equal(b["t"], a["t"] - a["t"][0])
    assert np.array_equal(b["y"], 239 - a["y"]) and np.array_equal(b["x"], a["x"])
    import evframes.tonic as tonic
    shutil.copytree(roots["folder"] / "navgesture-sit",
                    tmp_path / "save_to" / "NavGesture" / "navgesture-sit")
    t = tonic.datasets.NavGesture(str(tmp_path / "save_to"))
    ev, target = t[len(t) - 1]
    assert len(t) == 24 and target == t.class_codes.index("up") == 1
    assert t.classes[target] == "swipe up" and ev["t"].dtype == np.uint64
    assert Path(t.data[0]).is_file()


def test_navgesture_bad_input_is_one_error_line(tmp_path):
    root = tmp_path / "r"
    sw.fake_navgesture(root, "walk", users=1, per_class=1, scale=0.05, archive=False)
    bad = root / "navgesture-walk" / "user01" / "user01_xx_01.dat"
    bad.write_bytes(_td([(1, 2, 3, 1)]))
    r = run(["extract", "--dataset", "navgesture-walk", "--root", str(root), "-q"], ok=False)
    assert_one_error_line(r, "user01_xx_01.dat", "does not name a gesture")
    bad.unlink()
    (root / "navgesture-walk" / "user01" / "user01_do_01.dat").write_bytes(
        _td([(1, 2, 3, 1)], size=12))
    r = run(["extract", "--dataset", "navgesture-walk", "--root", str(root), "-q"], ok=False)
    assert_one_error_line(r, "user01_do_01.dat", "event size 12")
    r = run(["extract", "--dataset", "navgesture-walk", "--root", str(root), "-q",
             "--orientation", "tonic"], ok=False)
    assert_one_error_line(r, "orientation must be one of")
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run(["extract", "--dataset", "navgesture-sit", "--root", str(empty)], ok=False)
    assert_one_error_line(r, "navgesture-sit.zip", "neuromorphic-vision.com", "never downloads")
