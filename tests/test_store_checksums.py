"""Store checksums (xxh3_64, crc32 for stores of earlier versions), raw-file digests, the events
store's codec and the gzip reader chosen by core count (issue 16: extraction CPU)."""
import gzip
import json
import zlib

import h5py
import numpy as np
import pytest
import xxhash

import evframes.raw.tarstream as tarstream
from evframes.store import EventsStoreWriter, verify_store
from evframes.store.checksum import Checksum, array_checksum, file_digest


def _events(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"t": np.sort(rng.integers(0, 10**6, n)).astype(np.int64),
            "x": rng.integers(0, 128, n).astype(np.int16),
            "y": rng.integers(0, 128, n).astype(np.int16),
            "p": rng.integers(0, 2, n).astype(np.int8)}


def _store(path, n=300_000):
    ev = _events(n)
    with EventsStoreWriter(path) as w:
        w.append_many(ev, np.array([0, n // 3, n]), [1, 2], [{}, {}])
        w.commit({"kind": "events", "dataset": "test", "split": "train"})
    return ev


def _manifest(path):
    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["manifest"])


def test_new_store_has_xxh3_checksums_of_its_columns(tmp_path):
    p = tmp_path / "s.h5"
    ev = _store(p)
    man = _manifest(p)
    assert man["checksum_algorithm"] == "xxh3_64"
    for k in "txyp":  # the checksum of the column's bytes, however it was appended
        assert man["checksums"][k] == xxhash.xxh3_64(ev[k].tobytes()).hexdigest()
    assert verify_store(p) == []


def test_verify_finds_a_changed_value(tmp_path):
    p = tmp_path / "s.h5"
    _store(p)
    with h5py.File(p, "r+") as f:
        f["x"][12345] = f["x"][12345] + 1
    problems = verify_store(p)
    assert any("checksum mismatch in /x" in s for s in problems), problems


def test_store_of_an_earlier_version_with_crc32_checksums_still_verifies(tmp_path):
    """A manifest without ``checksum_algorithm`` holds crc32 checksums (stores written before
    xxh3): verify checks them as crc32, so such stores are neither refused nor passed
    unchecked."""
    p = tmp_path / "s.h5"
    ev = _store(p)
    man = _manifest(p)
    del man["checksum_algorithm"]
    with h5py.File(p, "r+") as f:
        man["checksums"] = {k: f"{zlib.crc32(f[k][...]):08x}" for k in man["checksums"]}
        f.attrs["manifest"] = json.dumps(man)
    assert verify_store(p) == []
    with h5py.File(p, "r+") as f:
        f["t"][0] = ev["t"][0] + 1
    assert any("checksum mismatch in /t" in s for s in verify_store(p))


def test_unknown_checksum_algorithm_is_a_problem_not_a_crash(tmp_path):
    p = tmp_path / "s.h5"
    _store(p)
    man = _manifest(p)
    man["checksum_algorithm"] = "md4"
    with h5py.File(p, "r+") as f:
        f.attrs["manifest"] = json.dumps(man)
    assert any("unknown checksum algorithm 'md4'" in s for s in verify_store(p))


def test_array_checksum_equals_the_running_checksum_in_any_pieces():
    a = np.arange(1_000_003, dtype=np.int64).reshape(-1, 1)
    for alg in ("xxh3_64", "crc32"):
        h = Checksum(alg)
        for i in range(0, len(a), 77_777):
            h.update(np.ascontiguousarray(a[i:i + 77_777]))
        assert array_checksum(a, alg, chunk_bytes=1 << 16) == h.hexdigest()
    assert array_checksum(a, "crc32") == f"{zlib.crc32(a.tobytes()):08x}"


def test_file_digest_names_its_algorithm_and_follows_content(tmp_path):
    f = tmp_path / "rec.aedat"
    f.write_bytes(b"abc" * 5_000_000)  # more than one 4 MiB read
    d = file_digest(f)
    assert d == "xxh3_128:" + xxhash.xxh3_128(b"abc" * 5_000_000).hexdigest()
    f.write_bytes(b"abc" * 4_999_999 + b"abd")
    assert file_digest(f) != d


def test_events_store_uses_blosc_lz4_shuffle(tmp_path):
    p = tmp_path / "s.h5"
    _store(p)
    with h5py.File(p, "r") as f:
        plist = f["t"].id.get_create_plist()
        filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    assert [flt[0] for flt in filters] == [32001]  # Blosc (v1), not Blosc2 (32026)
    cd = filters[0][2]
    assert tuple(cd[4:7]) == (5, 1, 1)  # level 5, byte shuffle, LZ4


@pytest.mark.parametrize("cores,want", [(2, "isal"), (4, "isal"), (6, "rapidgzip"),
                                        (16, "rapidgzip")])
def test_open_gzip_picks_isal_below_six_cores(tmp_path, monkeypatch, cores, want):
    pytest.importorskip("rapidgzip")
    pytest.importorskip("isal")
    p = tmp_path / "a.gz"
    payload = bytes(range(256)) * 4000
    p.write_bytes(gzip.compress(payload))
    monkeypatch.setattr(tarstream.os, "cpu_count", lambda: cores)
    with tarstream.open_gzip(p) as f:
        assert want in type(f).__module__.lower()
        assert f.read() == payload


def test_missing_stores_are_decided_without_hashing_the_raw_files(tmp_path, monkeypatch):
    """With no store yet, the reuse check answers 'missing' without reading the archive: the
    extraction hashes it beside the run (the fingerprint is needed at commit only)."""
    from evframes import synth
    from evframes.datasets import open_raw
    from evframes.extract import extract
    from evframes.pipeline import sources
    synth.fake_dvs128(tmp_path, recordings=2, scale=0.02, seed=1, workers=1)
    ds = open_raw("dvs128", tmp_path)
    hashed = []
    real = sources.file_digest
    monkeypatch.setattr(sources, "file_digest", lambda p: hashed.append(p) or real(p))
    assert sources.stores_status(ds) == "train: missing" and hashed == []
    s = extract(ds, workers=1, progress=False)
    assert not s.reused and any(str(p).endswith(".tar.gz") for p in hashed)
    assert extract(open_raw("dvs128", tmp_path), workers=1, progress=False).reused


def test_start_writeback_is_harmless(tmp_path):
    from evframes.store.atomic import start_writeback
    f = tmp_path / "a.bin"
    f.write_bytes(b"x" * 100_000)
    start_writeback(f)  # Linux: writeback started; elsewhere nothing
    start_writeback(tmp_path / "absent")  # a vanished file is not an error
    assert f.read_bytes() == b"x" * 100_000
