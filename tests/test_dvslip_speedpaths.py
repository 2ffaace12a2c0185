"""DVS-Lip's members inflated ahead on a thread pool: a corrupt member is still one error line
naming the archive and member, and leaves no store."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from evframes import synth_wave1b as sw
from evframes.cli import main
from evframes.events import make_events
from evframes.raw.base import drop_off_sensor, ensure_sorted, fields_to_events
from evframes.raw.dvs_lip import npy_events

from helpers import assert_one_error_line


def test_corrupt_member_in_the_read_ahead_is_one_error_line_and_no_store(tmp_path):
    root = tmp_path / "r"
    sw.fake_dvslip(root, per_class_train=1, per_class_test=1, n_classes=3, seed=0)
    z = next(root.rglob("DVS-Lip.zip"))
    with zipfile.ZipFile(z) as zf:
        info = [i for i in zf.infolist() if i.filename.endswith(".npy")][1]
    blob = bytearray(z.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + info.compress_size // 2
    blob[start:start + 8] = bytes(b ^ 0x55 for b in blob[start:start + 8])
    z.write_bytes(bytes(blob))
    r = CliRunner().invoke(main, ["extract", "--dataset", "dvslip", "--root", str(root), "-q"])
    assert r.exit_code != 0
    assert_one_error_line(r, info.filename.rsplit("/", 1)[-1])
    assert not list(root.rglob("*.h5"))


def _structured(n, dt, rng):
    a = np.zeros(n, dt)
    a["t"] = np.sort(rng.integers(0, 10**6, n))
    a["x"], a["y"] = rng.integers(0, 128, n), rng.integers(0, 128, n)
    a["p"] = rng.integers(0, 2, n)
    return a


@pytest.mark.parametrize("dt", [
    [("t", "<i4"), ("x", "i1"), ("y", "i1"), ("p", "i1")],  # the files' dtype
    [("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "?")],  # Tonic's
    [("x", "<u2"), ("p", "u1"), ("t", "<u8"), ("y", "<i4")],  # another order, unaligned
])
def test_npy_fields_fused_pass_equals_the_numpy_path(dt):
    """The fused conversion gives the values and the warnings of astype + drop_off_sensor +
    ensure_sorted, for any integer field dtypes and order."""
    rng = np.random.default_rng(3)
    a = _structured(20_000, np.dtype(dt, align=False), rng)
    for case in ("clean", "off", "unsorted", "both"):
        b = a.copy()
        if case in ("off", "both"):
            b["x"][[5, 900]] = 128 if b["x"].dtype.itemsize > 1 else -3
        if case in ("unsorted", "both"):
            b["t"][[7, 11]] = b["t"][[11, 7]] + np.array([0, 3], b["t"].dtype)
            b["t"][100] = 0
        wa, wb = [], []
        got = fields_to_events(b["t"], b["x"], b["y"], b["p"], (128, 128), "m.npy", wa)
        want = make_events(*(b[k].astype(np.int64) for k in "txyp"))
        want = ensure_sorted(drop_off_sensor(want, (128, 128), "m.npy", wb), "m.npy", wb)
        assert wa == wb and (len(wa) > 0) == (case != "clean")
        for k in "txyp":
            assert got[k].dtype == want[k].dtype
            np.testing.assert_array_equal(got[k], want[k])


def test_npy_wide_coordinates_are_dropped_not_wrapped():
    """x = 65541 stored as int32 was narrowed to int16 (5, on the sensor) before the range
    check: it is now counted as off the sensor."""
    a = _structured(10, [("t", "<i8"), ("x", "<i4"), ("y", "<i4"), ("p", "<i4")],
                    np.random.default_rng(0))
    a["x"][3], a["y"][6], a["p"][8] = 65536 + 5, -65536 + 7, 256
    w = []
    ev = npy_events(_npy_bytes(a), "w.npy", w)
    assert len(ev) == 7 and w == ["w.npy: dropped 3 event(s) off the 128x128 sensor (first at "
                                  "index 3: x=65541, y=" + str(a["y"][3]) + ", p="
                                  + str(a["p"][3]) + ")"]
    np.testing.assert_array_equal(ev["x"], np.delete(a["x"], [3, 6, 8]))


def _npy_bytes(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def test_many_samples_in_one_pass_equal_one_pass_per_sample():
    """fields_to_events_many (one Numba call for a batch of members) gives each sample the
    events and warnings fields_to_events gives it alone: a sample off the sensor, one whose
    time decreases, an empty one, and a time that drops between two samples (no fault)."""
    from evframes.raw.base import fields_to_events_many
    rng = np.random.default_rng(5)
    dt = np.dtype([("t", "<i4"), ("x", "i1"), ("y", "i1"), ("p", "i1")])
    samples = [_structured(n, dt, rng) for n in (300, 0, 257, 1, 4000, 64)]
    samples[2]["x"][[4, 200]] = -1  # off the sensor
    samples[4]["t"][[10, 11]] = samples[4]["t"][[11, 10]] + np.array([0, 5], "<i4")
    samples[5]["t"][:] = 3  # starts below the sample before it: fine
    flat = np.concatenate(samples)
    off = np.cumsum([0] + [len(s) for s in samples])
    wheres = [f"m{i}.npy" for i in range(len(samples))]
    ev, new_off, notes = fields_to_events_many(flat["t"], flat["x"], flat["y"], flat["p"],
                                               off, (128, 128), wheres)
    assert sorted(notes) == [2, 4]
    for i, s in enumerate(samples):
        w = []
        want = fields_to_events(s["t"], s["x"], s["y"], s["p"], (128, 128), wheres[i], w)
        assert notes.get(i, []) == w
        for k in "txyp":
            got = ev[k][new_off[i]:new_off[i + 1]]
            assert got.dtype == want[k].dtype
            np.testing.assert_array_equal(got, want[k])
    assert new_off[-1] == len(ev) == flat.shape[0] - 2


def test_job_of_mixed_member_dtypes_equals_member_by_member(tmp_path):
    """A job's members decoded in batches (runs of one dtype converted together) give the
    samples, labels, sources and warnings in the members' order, as decoding each alone."""
    from evframes.raw.dvs_lip import decode_npy_members
    rng = np.random.default_rng(9)
    dts = [[("t", "<i4"), ("x", "i1"), ("y", "i1"), ("p", "i1")],
           [("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "?")]]
    z = tmp_path / "DVS-Lip.zip"
    names, arrays = [], []
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(40):
            a = _structured(int(rng.integers(0, 500)), np.dtype(dts[(i // 7) % 2]), rng)
            if i in (3, 30) and len(a):
                a["y"][0] = 200 if a["y"].dtype.itemsize > 1 else -2
            if i == 17 and len(a) > 2:
                a["t"][[0, 1]] = a["t"][[1, 0]] + np.array([1, 0], a["t"].dtype)
            names.append(f"DVS-Lip/train/{i % 3}/{i}.npy")
            arrays.append(a)
            zf.writestr(names[-1], _npy_bytes(a))
    res = decode_npy_members(str(z), True, names, list(range(40)), "train:0")
    want_w, lens = [], []
    for name, a in zip(names, arrays):
        at = f"{z}:{name}"
        ev = npy_events(_npy_bytes(a), at, want_w)
        if len(ev) == 0:
            want_w.append(f"{at}: sample holds no events; kept as an empty sample")
        lo = res.offsets[len(lens)]
        for k in "txyp":
            np.testing.assert_array_equal(res.events[k][lo:lo + len(ev)], ev[k])
        lens.append(len(ev))
    assert np.diff(res.offsets).tolist() == lens
    assert res.warnings == want_w and len(want_w) >= 3
    assert res.labels == list(range(40))
    assert [m["source"] for m in res.metas] == [n.split("/", 1)[1] for n in names]


def test_zip_directory_is_read_again_when_the_archive_changes(tmp_path):
    from evframes.raw.zip_members import zip_directory
    z = tmp_path / "a.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("one.npy", b"1")
    assert list(zip_directory(z)) == ["one.npy"]
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("two.npy", b"22")
        zf.writestr("three.npy", b"333")
    assert list(zip_directory(z)) == ["two.npy", "three.npy"]


def test_clearing_the_archive_caches_makes_the_next_open_read_again(tmp_path):
    """Benchmarks time a first open: after clear_index_cache / clear_directory_cache the
    archive's index and directory are read from the file again, not served from memory."""
    import gzip

    from evframes.raw.zip_members import clear_directory_cache, zip_directory
    from evframes.store.seekable_deflate import cached_index, clear_index_cache
    g = tmp_path / "a.gz"
    g.write_bytes(gzip.compress(b"x" * 5000))
    first = cached_index(g)
    assert cached_index(g) is first
    clear_index_cache()
    assert cached_index(g) is not first
    z = tmp_path / "a.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("one.npy", b"1")
    d = zip_directory(z)
    assert zip_directory(z) is d
    clear_directory_cache()
    assert zip_directory(z) is not d and list(zip_directory(z)) == ["one.npy"]
