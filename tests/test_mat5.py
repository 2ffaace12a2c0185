"""evframes.formats.mat5: the MAT-5 reader of numeric vectors against scipy.io.loadmat, its
fallback cases and its errors, and the ASL-DVS extraction that uses it (issue 15)."""
from __future__ import annotations

import io
import re
import struct
import zlib

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.io import loadmat, savemat

from evframes import FormatError, synth_wave1
from evframes.cli import main
from evframes.formats.mat5 import Unsupported, read_vectors
from evframes.raw import asl_dvs

from helpers import assert_one_error_line

DTYPES = [np.float64, np.float32, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
          np.int64, np.uint64, np.bool_]
LENGTHS = [0, 1, 2, 3, 5, 7, 1001]


def _saved(fields, compress, oned_as="column", **kw) -> bytes:
    b = io.BytesIO()
    savemat(b, fields, do_compression=compress, oned_as=oned_as, **kw)
    return b.getvalue()


def _assert_as_loadmat(data: bytes, ours: dict):
    ref = {k: v for k, v in loadmat(io.BytesIO(data)).items() if not k.startswith("__")}
    assert list(ours) == list(ref)
    for k, v in ref.items():
        assert ours[k].ndim == 1 and ours[k].dtype == v.dtype, (k, ours[k].dtype, v.dtype)
        assert np.array_equal(ours[k], v.reshape(-1)), k
        assert ours[k].flags.writeable


# -- hand-made files: the layouts MATLAB writes that savemat does not ---------------------------
def _el(mtype: int, payload: bytes, small: bool = True) -> bytes:
    n = len(payload)
    if small and n <= 4:  # small data element: the 4-byte tag and its data in 8 bytes
        return struct.pack("<HH", mtype, n) + payload.ljust(4, b"\0")
    return struct.pack("<II", mtype, n) + payload + b"\0" * (-n % 8)


def _var(name: str, data: bytes, cls: int, mi: int, dims, flags: int = 0) -> bytes:
    body = (_el(6, struct.pack("<II", cls | flags, 0), False)
            + _el(5, struct.pack(f"<{len(dims)}i", *dims), False)
            + _el(1, name.encode()) + _el(mi, data))
    return struct.pack("<II", 14, len(body)) + body


def _file(*variables: bytes, compress=False, version=b"\x00\x01IM") -> bytes:
    out = b"MATLAB 5.0 MAT-file, hand-made".ljust(116, b" ") + b"\0" * 8 + version
    for v in variables:
        out += struct.pack("<II", 15, len(c := zlib.compress(v))) + c if compress else v
    return out


# -- equality with loadmat ------------------------------------------------------------------------
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("oned_as", ["column", "row"])
def test_equals_loadmat_on_savemat_files(compress, oned_as):
    rng = np.random.default_rng(0)
    fields = {}
    for i, dt in enumerate(DTYPES):
        for n in LENGTHS:
            info = np.iinfo(dt) if np.dtype(dt).kind in "iu" else None
            v = (rng.integers(info.min, info.max, n, dtype=dt, endpoint=True) if info
                 else rng.random(n) > 0.5 if dt is np.bool_ else (rng.random(n) * 1e6).astype(dt))
            fields[f"v{i}_{n}"] = v
    fields.update(x=np.arange(3, dtype=np.uint16), ts=np.array([1.5]), pol=np.zeros(0, np.uint8),
                  long_variable_name=np.arange(4.0), empty=np.zeros((0, 3)))
    data = _saved(fields, compress, oned_as)
    ours = read_vectors(data, "f.mat")
    _assert_as_loadmat(data, ours)
    assert ours["v1_3"].dtype == np.float32 and ours["v10_2"].dtype == np.uint8  # bool: uint8
    assert len(ours["empty"]) == 0 and ours["x"].tolist() == [0, 1, 2]


@pytest.mark.parametrize("compress", [False, True])
def test_class_stored_in_a_smaller_type_and_small_elements(compress):
    """MATLAB stores a double vector of small whole numbers as miUINT16 / miINT8; loadmat (and
    so mat5) returns the stored type. Data of <= 4 bytes sits in a small element."""
    x = np.array([0, 239, 65535], np.uint16)
    data = _file(_var("x", x.tobytes(), 6, 4, (3, 1)),
                 _var("y", np.array([-3, 4], np.int8).tobytes(), 6, 1, (1, 2)),
                 _var("p", np.array([1, 0, 1, 1], np.uint8).tobytes(), 9, 2, (4, 1), 0x200),
                 _var("e", b"", 6, 9, (0, 0)), compress=compress)
    ours = read_vectors(data, "h.mat")
    _assert_as_loadmat(data, ours)
    assert ours["x"].dtype == np.uint16 and ours["y"].dtype == np.int8
    assert ours["y"].tolist() == [-3, 4] and ours["p"].tolist() == [1, 0, 1, 1]


def test_asldvs_replica_files_decode_as_with_loadmat(tmp_path, monkeypatch):
    """Every replica file: the same arrays as loadmat, and mat_events gives bit-identical
    events (values and dtypes) through mat5 and through the loadmat fallback."""
    synth_wave1.fake_asldvs(tmp_path, per_class=1, scale=0.2, archive=False)
    files = sorted(tmp_path.rglob("*.mat"))
    assert len(files) == 24
    fast = {}
    for f in files:
        data = f.read_bytes()
        _assert_as_loadmat(data, read_vectors(data, str(f)))
        fast[f] = asl_dvs.mat_events(data, str(f))

    def refuse(data, path=None):
        raise Unsupported("forced")
    monkeypatch.setattr(asl_dvs.mat5, "read_vectors", refuse)
    for f in files:
        slow = asl_dvs.mat_events(f.read_bytes(), str(f))
        for k in "txyp":
            assert fast[f][k].dtype == slow[k].dtype and np.array_equal(fast[f][k], slow[k])


# -- what is left to loadmat ----------------------------------------------------------------------
FALLBACKS = [
    ("struct", lambda: _saved({"s": {"a": 1.0}, "x": np.arange(3)}, True), "is a struct"),
    ("cell", lambda: _saved({"c": np.array([1, "a"], dtype=object)}, False), "is a cell"),
    ("char", lambda: _saved({"x": np.arange(2), "name": "abc"}, True), "is a char"),
    ("matrix", lambda: _saved({"m": np.ones((2, 3))}, False), "2x3 array, not a vector"),
    ("complex", lambda: _saved({"z": np.array([1 + 2j])}, True), "is complex"),
    ("global", lambda: _file(_var("g", b"\0" * 8, 6, 9, (1, 1), 0x400)), "is global"),
    ("mat4", lambda: _saved({"x": np.arange(3.0)}, False, format="4"), "MATLAB 4"),
    ("v7.3", lambda: _file(version=b"\x00\x02IM") + b"\0" * 400, "7.3"),
    ("big-endian", lambda: _file(version=b"\x01\x00MI"), "big-endian"),
]


@pytest.mark.parametrize("kind, make, reason", FALLBACKS, ids=[f[0] for f in FALLBACKS])
def test_fallback_to_loadmat(kind, make, reason):
    data = make()
    with pytest.raises(Unsupported, match=re.escape(reason)):
        read_vectors(data, "f.mat")
    if kind in ("v7.3", "big-endian"):
        return
    ref = loadmat(io.BytesIO(data))
    got = asl_dvs.read_mat(data, "f.mat")  # the loadmat result, unchanged
    assert sorted(got) == sorted(ref)
    for k, v in ref.items():
        if isinstance(v, np.ndarray) and v.dtype.kind in "biufc":
            assert got[k].dtype == v.dtype and np.array_equal(got[k], v), k


def test_asldvs_file_with_an_extra_struct_still_extracts():
    fields = dict(x=np.array([1, 2], np.uint16), y=np.array([3, 4], np.uint16),
                  ts=np.array([10.0, 20.0]), pol=np.array([1, 0], np.uint8), info={"a": 1.0})
    ev = asl_dvs.mat_events(_saved(fields, True), "a.mat", "raw")
    assert ev["x"].tolist() == [1, 2] and ev["t"].tolist() == [10, 20] and ev["t"].dtype == np.int64


# -- broken files ---------------------------------------------------------------------------------
def _error(data) -> FormatError:
    with pytest.raises(FormatError) as e:
        read_vectors(data, "bad.mat")
    msg = str(e.value)
    assert "\n" not in msg and re.match(r"bad\.mat at byte \d+: not a readable MATLAB \.mat "
                                        r"file \(", msg), msg
    return e.value


def test_wrong_header_and_short_file():
    good = _saved({"x": np.arange(3)}, False)
    assert _error(good[:124] + b"\x00\x07IM").offset == 124  # version 0x0700
    e = _error(good[:126] + b"XY" + good[128:])
    assert e.offset == 126 and "endian indicator" in str(e)
    assert _error(b"MATLAB 5.0 MAT").offset == 0 and _error(b"").offset == 0
    assert "shorter than the 128-byte" in str(_error(good[:100]))


def test_bad_tags_corrupt_stream_and_wrong_sizes():
    good = _saved({"x": np.arange(3)}, False)
    e = _error(good[:128] + struct.pack("<I", 99) + good[132:])
    assert e.offset == 128 and "bad tag: type 99" in str(e)
    comp = _saved({"x": np.arange(3)}, True)
    n = struct.unpack_from("<I", comp, 132)[0]
    e = _error(comp[:136] + b"\xff" * n)
    assert e.offset == 128 and "corrupt compressed variable" in str(e)
    e = _error(_file(_var("x", np.arange(3.0).tobytes(), 6, 9, (5, 1)), compress=True))
    assert e.offset == 128 and "inflated byte" in str(e) and "24 bytes of float64" in str(e)
    e = _error(_file(_var("x", np.arange(3.0).tobytes(), 6, 9, (3, 1)))[:-8] + b"\0" * 5)
    assert "truncated" in str(e)


@pytest.mark.parametrize("compress", [False, True])
def test_every_truncation_is_an_error_or_fewer_variables(compress):
    data = _saved({"x": np.arange(5, dtype=np.uint16), "ts": np.arange(5.0),
                   "pol": np.ones(5, np.uint8)}, compress)
    full = read_vectors(data)
    ends, pos = set(), 128
    while pos < len(data):  # element boundaries: a cut there leaves a valid, shorter file
        pos += 8 + struct.unpack_from("<I", data, pos + 4)[0]
        ends.add(pos)
    for cut in range(128, len(data)):
        if cut in ends or cut == 128:
            got = read_vectors(data[:cut])
            assert list(got) == list(full)[:len(got)]
            continue
        assert _error(data[:cut]).offset >= 128, cut


def test_cli_truncated_mat_is_one_error_line(tmp_path):
    synth_wave1.fake_asldvs(tmp_path, per_class=1, scale=0.05, archive=False)
    target = tmp_path / "a" / "a_0001.mat"
    target.write_bytes(target.read_bytes()[:-20])
    r = CliRunner().invoke(main, ["extract", "--dataset", "asldvs", "--root", str(tmp_path),
                                  "-q"])
    assert_one_error_line(r, "a_0001.mat at byte ", "not a readable MATLAB .mat file",
                          "truncated")
    assert not list(tmp_path.rglob("*.h5"))
