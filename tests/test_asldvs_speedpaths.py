"""ASL-DVS's one-pass Numba path (``sample_events``) against the general path it short-cuts
(``mat_events`` + ``drop_off_sensor`` + ``ensure_sorted``): same events, dtypes, warnings and
errors for clean files, files it must hand over (off-sensor events, decreasing time,
fractional or non-finite values) and the input dtypes a MAT-file may store."""
import io
import zipfile

import numpy as np
import pytest
from scipy.io import savemat

from evframes.errors import DatasetError, FormatError
from evframes.events import make_events
from evframes.raw import asl_dvs as A
from evframes.raw.base import drop_off_sensor, ensure_sorted


def _mat(x, y, ts, pol, compress=True) -> bytes:
    b = io.BytesIO()
    savemat(b, {"x": x, "y": y, "ts": ts, "pol": pol}, do_compression=compress)
    return b.getvalue()


def _general(data, orientation):
    w = []
    ev = drop_off_sensor(A.mat_events(data, "f.mat", orientation), A.SENSOR_SIZE, "f.mat", w)
    return ensure_sorted(make_events(ev["t"], ev["x"], ev["y"], ev["p"]), "f.mat", w), w


def _same(data, orientation):
    ref, wref = _general(data, orientation)
    w = []
    ev = A.sample_events(data, "f.mat", orientation, w)
    assert w == wref
    for k in "txyp":
        assert ev[k].dtype == ref[k].dtype
        np.testing.assert_array_equal(ev[k], ref[k])
    return w


rng = np.random.default_rng(0)
N = 300
X = rng.integers(0, 240, N)
Y = rng.integers(0, 180, N)
T = np.sort(rng.integers(0, 10**6, N))
P = rng.integers(0, 2, N)


@pytest.mark.parametrize("orientation", A.ORIENTATIONS)
@pytest.mark.parametrize("dtypes", [("u2", "u2", "f8", "u1"), ("f8", "f8", "f8", "f8"),
                                    ("i4", "i2", "i8", "b1"), ("f4", "u1", "u4", "i1")])
@pytest.mark.parametrize("compress", [True, False])
def test_clean_files_equal_the_general_path(orientation, dtypes, compress):
    cols = [a.astype(d) for a, d in zip((X, Y, T, P), dtypes)]
    assert _same(_mat(*(c.reshape(-1, 1) for c in cols), compress=compress), orientation) == []


@pytest.mark.parametrize("orientation", A.ORIENTATIONS)
def test_handed_over_cases_warn_as_the_general_path(orientation):
    x, y, t, p = X.copy(), Y.copy(), T.copy(), P.copy()
    x[5], y[9], p[20] = 300, 200, 3       # off the sensor / a bad polarity
    t[50], t[51] = t[51], t[50] - 1      # time going back
    w = _same(_mat(x, y, t.astype("f8"), p), orientation)
    assert any("off the 240x180 sensor" in s for s in w)
    assert any("not monotonic" in s for s in w)
    assert _same(_mat(x[:0], y[:0], t[:0], p[:0]), orientation) == []  # empty file
    big = t.astype("u8")
    big[-1] = 2**60  # beyond 2**53: left to the general path, same result
    _same(_mat(x, y, big, p), orientation)


@pytest.mark.parametrize("bad", [0.5, np.nan, np.inf])
def test_fractional_or_non_finite_values_are_the_same_error(bad):
    t = T.astype("f8")
    t[7] = bad
    data = _mat(X, Y, t, P)
    with pytest.raises(FormatError) as ref:
        A.mat_events(data, "f.mat")
    with pytest.raises(FormatError) as got:
        A.sample_events(data, "f.mat", "spikingjelly", [])
    assert str(got.value) == str(ref.value)
    assert "non-integer" in str(got.value)


def test_corrupt_member_is_one_error_line_naming_the_archive(tmp_path):
    """A member whose deflate stream is broken: one DatasetError line naming the letter zip
    (read through ZipMembers now), no events returned."""
    z = tmp_path / "Yin Bi - a.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/a_0001.mat", _mat(X, Y, T, P))
        zf.writestr("a/a_0002.mat", _mat(X, Y, T, P))
    raw = bytearray(z.read_bytes())
    with zipfile.ZipFile(z) as zf:
        info = zf.getinfo("a/a_0002.mat")
    start = info.header_offset + 30 + len(info.filename) + 20
    raw[start:start + 40] = b"\xff" * 40
    z.write_bytes(bytes(raw))
    src = A.Source("zip", str(z))
    with pytest.raises(DatasetError) as e:
        A.decode_mat_members(src, ["a/a_0001.mat", "a/a_0002.mat"], 0, "spikingjelly", "j")
    msg = str(e.value)
    assert "\n" not in msg and str(z) in msg and "a_0002.mat" in msg


def test_nested_sources_read_as_zipfile(tmp_path):
    """A stored and a deflated letter zip inside the download: the same samples."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/a_0001.mat", _mat(X, Y, T, P))
    out = []
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        outer = tmp_path / f"d{method}.zip"
        with zipfile.ZipFile(outer, "w", method) as zf:
            zf.writestr("Yin Bi - a.zip", inner.getvalue())
        with zipfile.ZipFile(outer) as zf, open(outer, "rb") as fh:
            info = zf.getinfo("Yin Bi - a.zip")
            off = A.stored_offset(fh, info) if method == zipfile.ZIP_STORED else -1
        src = A.Source("nested", str(outer), "Yin Bi - a.zip", off, info.compress_size)
        out.append(A.decode_mat_members(src, ["a/a_0001.mat"], 3, "tonic", "j"))
    for k in "txyp":
        np.testing.assert_array_equal(out[0].events[k], out[1].events[k])
    assert out[0].labels == out[1].labels == [3]
