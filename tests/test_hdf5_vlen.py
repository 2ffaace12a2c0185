"""Variable-length HDF5 rows read from the file's bytes (evframes.store.hdf5_vlen): the same
values as h5py's on spike files written by h5py (plain, .gz, .zip; empty, one-element, small
and heap-sized rows; several base dtypes), the fast path really taken there, h5py's path for
the layouts it does not take (chunked, compressed, big-endian), and malformed heap bytes
declined, never read as values."""
from __future__ import annotations

import gzip
import shutil
import zipfile

import h5py
import numpy as np
import pytest

from evframes import DatasetError
from evframes.store import hdf5_vlen as V
from evframes.store import raw_hdf5 as RH
from evframes.store import seekable_deflate as sd

DTYPES = (np.float16, np.uint16, np.float32, np.int32, np.float64, np.uint8)


def _rows(seed=0, n=60):
    """Rows of every size class: empty, one element, a few, heap-collection sized (>4 KB)."""
    rng = np.random.default_rng(seed)
    sizes = [0, 1, 0, 3, 2500, 7, 0, 1] + list(rng.integers(0, 3000, n - 8))
    return [rng.integers(0, 700, int(k)) for k in sizes]


def _write(path, rows, dtype, **kw):
    with h5py.File(path, "w") as f:
        d = f.create_dataset("v", (len(rows),), dtype=h5py.vlen_dtype(dtype), **kw)
        for i, r in enumerate(rows):
            d[i] = np.asarray(r, dtype)


def _h5py_rows(d, a, b):
    return RH._flat(d[a:b], "test", "rows")


def _check(f, d, pread, n, expect_fast=True):
    for a, b in ((0, n), (0, 1), (2, 3), (4, 5), (3, 17), (n - 1, n), (7, 7)):
        got = V.read_vlen_rows(f, d, a, b, pread)
        if not expect_fast:
            assert got is None
            continue
        assert got is not None, (a, b)
        ref = _h5py_rows(d, a, b)
        assert np.array_equal(got[1], ref[1])
        assert got[0].dtype == h5py.check_vlen_dtype(d.dtype)
        assert np.array_equal(got[0], ref[0].astype(got[0].dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_equal_to_h5py_on_a_plain_file(tmp_path, dtype):
    rows = _rows()
    _write(tmp_path / "a.h5", rows, dtype)
    pread = V.file_reader(str(tmp_path / "a.h5"))
    with h5py.File(tmp_path / "a.h5", "r") as f:
        _check(f, f["v"], pread, len(rows))


def test_equal_to_h5py_in_gz_and_zip(tmp_path):
    """Inside archives: the stream held in memory is read without a copy, and the block
    path (a stream above WHOLE_MAX) through its reads."""
    rows = _rows(1)
    _write(tmp_path / "a.h5", rows, np.float16)
    with open(tmp_path / "a.h5", "rb") as src, gzip.open(tmp_path / "a.h5.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    with zipfile.ZipFile(tmp_path / "a.h5.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(tmp_path / "a.h5", "a.h5")
    for name, member in (("a.h5.gz", None), ("a.h5.zip", "a.h5")):
        for whole in (True, False):
            sd.clear_index_cache()
            old = sd.WHOLE_MAX
            sd.WHOLE_MAX = old if whole else 0
            try:
                raw = sd.open_seekable(tmp_path / name, member)
                with h5py.File(raw, "r") as f:
                    src = sd.open_seekable(tmp_path / name, member)
                    assert (src.whole() is not None) == whole
                    pread = V.file_reader(src)
                    _check(f, f["v"], pread, len(rows))
            finally:
                sd.WHOLE_MAX = old
                sd.clear_index_cache()


@pytest.mark.parametrize("kw", [dict(chunks=(8,)), dict(chunks=(8,), compression="gzip")])
def test_other_layouts_go_through_h5py(tmp_path, kw):
    rows = _rows(2, n=30)
    _write(tmp_path / "a.h5", rows, np.uint16, **kw)
    pread = V.file_reader(str(tmp_path / "a.h5"))
    with h5py.File(tmp_path / "a.h5", "r") as f:
        _check(f, f["v"], pread, len(rows), expect_fast=False)


def test_big_endian_base_goes_through_h5py(tmp_path):
    rows = _rows(3, n=20)
    _write(tmp_path / "a.h5", rows, np.dtype(">u2"))
    pread = V.file_reader(str(tmp_path / "a.h5"))
    with h5py.File(tmp_path / "a.h5", "r") as f:
        _check(f, f["v"], pread, len(rows), expect_fast=False)


def _spike_file(tmp_path, n=40):
    rng = np.random.default_rng(4)
    times = [np.sort(rng.random(int(k))).astype(np.float16) for k in rng.integers(0, 4000, n)]
    units = [rng.integers(0, 700, len(t)).astype(np.uint16) for t in times]
    path = tmp_path / "shd_train.h5"
    RH.write_spike_file(path, times, units, list(rng.integers(0, 20, n)), ["k"] * 20,
                        speakers=list(rng.integers(0, 12, n)))
    return path, times, units


def test_read_spike_samples_takes_the_fast_path(tmp_path, monkeypatch):
    path, times, units = _spike_file(tmp_path)
    calls = []
    real = V.read_rows

    def spy(*a, **k):
        got = real(*a, **k)
        calls.append(got is not None)
        return got

    monkeypatch.setattr(RH, "read_rows", spy)
    c = RH.read_spike_samples(path, 5, 33)
    assert calls == [True, True]
    assert np.array_equal(c.times, np.concatenate(times[5:33]))
    assert np.array_equal(c.units, np.concatenate(units[5:33]))
    assert c.times.dtype == np.float16 and c.units.dtype == np.uint16
    assert np.array_equal(np.diff(c.offsets), [len(t) for t in times[5:33]])


def _heap_offsets(path, key):
    """File offsets of the collection headers holding dataset ``key``'s rows."""
    with h5py.File(path, "r") as f:
        off = f[key].id.get_offset()
        n = f[key].shape[0]
    with open(path, "rb") as fh:
        fh.seek(off)
        desc = np.frombuffer(fh.read(16 * n), V._DESC)
    return sorted(set(int(a) for a, k in zip(desc["addr"], desc["n"]) if k))


@pytest.mark.parametrize("damage", ["signature", "object size", "object index"])
def test_malformed_heap_is_declined(tmp_path, damage):
    """A damaged heap collection is never read as values: the fast path declines, and h5py's
    own reading then reports the file as one error line (or reads what it can)."""
    path, times, units = _spike_file(tmp_path, n=12)
    raw = bytearray(path.read_bytes())
    c = _heap_offsets(path, "spikes/times")[0]
    if damage == "signature":
        raw[c:c + 4] = b"XXXX"
    elif damage == "object size":
        raw[c + 16 + 8] ^= 0x01  # the first object's size, low byte
    else:
        raw[c + 16:c + 18] = (40000).to_bytes(2, "little")  # the first object's index
    path.write_bytes(bytes(raw))
    pread = V.file_reader(str(path))
    with h5py.File(path, "r") as f:
        assert V.read_vlen_rows(f, f["spikes/times"], 0, 12, pread) is None
    try:
        c = RH.read_spike_samples(path, 0, 12)
    except DatasetError as e:
        assert str(path) in str(e) and "\n" not in str(e)
    else:  # h5py read the damaged file: whatever it gave is h5py's, not ours
        with h5py.File(path, "r") as f:
            assert np.array_equal(c.times, RH._flat(f["spikes/times"][0:12], "", "")[0])


def test_jobs_of_one_file_share_one_open(tmp_path, monkeypatch):
    """The second job of a file reads its rows with no h5py call at all (so it never waits
    on the lock the store writer holds), and a file rewritten in place is opened again,
    never answered from what was kept of the old one."""
    RH.clear_spike_file_cache()
    path, times, units = _spike_file(tmp_path, n=30)
    RH.read_spike_samples(path, 0, 10)
    opens = []
    real_open = RH.open_spike_file

    def counting_open(p):
        opens.append(p)
        return real_open(p)

    monkeypatch.setattr(RH, "open_spike_file", counting_open)
    c = RH.read_spike_samples(path, 10, 30)
    assert opens == []
    assert np.array_equal(c.times, np.concatenate(times[10:30]))
    assert np.array_equal(c.units, np.concatenate(units[10:30]))
    rng = np.random.default_rng(9)
    new_times = [np.sort(rng.random(5)).astype(np.float16) for _ in range(3)]
    RH.write_spike_file(path, new_times, [np.arange(5, dtype=np.uint16)] * 3, [1, 2, 3],
                        ["k"] * 20)
    c = RH.read_spike_samples(path, 0, 10)  # stop past the end: clipped, as h5py slices
    assert len(opens) == 1
    assert np.array_equal(c.times, np.concatenate(new_times))
    assert c.labels.tolist() == [1, 2, 3] and c.speakers is None
    RH.clear_spike_file_cache()


def test_missing_spike_file_is_one_error_line(tmp_path):
    with pytest.raises(DatasetError, match="nope.h5"):
        RH.read_spike_samples(tmp_path / "nope.h5", 0, 5)
