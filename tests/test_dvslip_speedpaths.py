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
