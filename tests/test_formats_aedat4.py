"""AEDAT 4.0 (iniVation DV): the real DAVIS346 recording, round trips, windows, chunks, bad input.

Reference figures: ``../shared/data/real/SOURCES.md`` (117667 events in 13 packets, 346x260,
events + frames + IMU + triggers) and ``tests/data/aedat4_davis346_peer.npz``, written by the
``aedat`` crate and checked against dv-processing (``tests/test_formats_aedat4_peer.py``
regenerates and compares it in the benchmark venv).
"""
from __future__ import annotations

import hashlib
import struct
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

from evframes import FormatError
from evframes.events import make_events
from evframes.formats import (
    TruncatedFileWarning,
    decode_aedat4_bytes,
    decode_events_bytes,
    iter_aedat4,
    probe_aedat4,
    read_aedat2,
    read_aedat3,
    read_aedat4,
    read_atis_bin,
    read_events,
    write_aedat4,
)
from evframes.formats import aedat4 as A4
from evframes.formats.aedat4 import TRIGGER_DTYPE

from helpers import real_file

REAL = "aedat4/aestream_davis346.aedat4"
PEER = Path(__file__).resolve().parent / "data" / "aedat4_davis346_peer.npz"
COMPRESSIONS = ("none", "lz4", "zstd", "lz4_high", "zstd_high")


def digest(ev) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for k in "txyp":
        h.update(np.ascontiguousarray(ev[k]).tobytes())
    return h.digest()


def same(a, b):
    for k in "txyp":
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


def random_events(n, seed=0, w=346, h=260):
    rng = np.random.default_rng(seed)
    return make_events(np.cumsum(rng.integers(0, 40, n)) + 1_600_000_000_000_000,
                       rng.integers(0, w, n), rng.integers(0, h, n), rng.integers(0, 2, n))


def random_triggers(n, t0, t1, seed=1):
    rng = np.random.default_rng(seed)
    tr = np.empty(n, TRIGGER_DTYPE)
    tr["t"] = np.sort(rng.integers(t0, t1, n))
    tr["kind"] = rng.integers(0, 10, n)
    return tr


def error(fn, *args, offset=None, needle="", **kw) -> FormatError:
    with pytest.raises(FormatError) as info:
        fn(*args, **kw)
    e = info.value
    msg = str(e)
    assert "byte" in msg and needle in msg, msg
    if offset is not None:
        assert e.offset == offset, msg
    return e


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Our files of 5000 events + 40 triggers, packets of 777 events, each compression."""
    root = tmp_path_factory.mktemp("aedat4")
    ev = random_events(5000, seed=3)
    tr = random_triggers(40, int(ev["t"][0]), int(ev["t"][-1]))
    paths = {}
    for comp in COMPRESSIONS:
        paths[comp] = root / f"w_{comp}.aedat4"
        write_aedat4(paths[comp], ev, sensor_size=(346, 260), compression=comp,
                     packet_events=777, triggers=tr)
    return ev, tr, paths


def packets(data: bytes):
    """(header offset, stream id, size) of each packet of one of our files (before its table)."""
    f = A4._File(np.frombuffer(data, np.uint8), "x", None)
    return [(int(p) - 8, int(s), int(z)) for p, z, s in f.pk.T], f


def table_field(data: bytes) -> int:
    """File offset of the IOHeader's dataTablePosition field."""
    d = np.frombuffer(data, np.uint8)[14:]
    _, root, end = A4.L.fb_root(d, np.frombuffer(b"IOHE", np.uint8))
    _, vt, vsz, tsz = A4.L.fb_table(d, end, root)
    return 14 + int(A4.L.fb_field(d, root, vt, vsz, tsz, 1, 8))


def without_table(data: bytes) -> bytes:
    """The file minus its data table, with the IOHeader's table position set to -1."""
    _, f = packets(data)
    out = bytearray(data[:f.table_pos])
    at = table_field(data)
    out[at:at + 8] = struct.pack("<q", -1)
    return bytes(out)


# ----------------------------------------------------------------------------------------------
# The real DAVIS346 recording
# ----------------------------------------------------------------------------------------------

def test_real_file_matches_sources_and_peer_figures():
    path = real_file(REAL)
    ref = np.load(PEER)
    ev, trig = read_aedat4(path, with_triggers=True)
    assert len(ev) == 117667 == int(ref["n"])                       # SOURCES.md
    assert ev["t"].dtype == np.int64 and ev["x"].dtype == np.int16 and ev["p"].dtype == np.int8
    assert digest(ev) == ref["digest"].tobytes()
    for part in ("head", "tail", "sample"):
        sel = ref["sample_idx"] if part == "sample" else slice(None)
        for k in "txyp":
            got = ev[k][:300] if part == "head" else ev[k][-300:] if part == "tail" else ev[k][sel]
            assert np.array_equal(got, ref[f"{part}_{k}"]), (part, k)
    assert int(ev["p"].sum()) == int(ref["p_on"])
    assert 0 <= ev["x"].min() and ev["x"].max() < 346 and ev["y"].max() < 260
    assert np.all(np.diff(ev["t"]) >= 0)
    assert (int(ev["t"][0]), int(ev["t"][-1])) == (1633953690975950, 1633953691105949)
    assert np.array_equal(trig["t"], ref["trig_t"]) and np.array_equal(trig["kind"],
                                                                        ref["trig_kind"])
    info = probe_aedat4(path)
    assert info == {"format": "aedat4", "width": 346, "height": 260, "events": 117667,
                    "t_first": 1633953690975950, "t_last": 1633953691105949,
                    "compression": "lz4", "packets": 13, "data_table": True,
                    "truncated": False, "streams": {0: "EVTS", 1: "FRME", 2: "IMUS", 3: "TRIG"}}
    chunks = list(iter_aedat4(path, chunk_events=30_000))
    counts = ref["counts"].tolist()                                  # 13 packets (SOURCES.md)
    assert len(counts) == 13 and [len(c) for c in chunks] == [
        sum(counts[0:3]), sum(counts[3:7]), sum(counts[7:11]), sum(counts[11:])]
    same(make_events(*[np.concatenate([c[k] for c in chunks]) for k in "txyp"]), ev)
    data = path.read_bytes()
    same(read_events(path), ev)
    same(decode_events_bytes(data, name="cam.aedat4"), ev)
    same(decode_aedat4_bytes(bytearray(data), name="cam.aedat4"), ev)


def test_real_file_time_window_and_no_table_scan():
    path = real_file(REAL)
    ev = read_aedat4(path)
    t0, t1 = 1633953691000000, 1633953691050000
    win, trig = read_aedat4(path, t_start=t0, t_end=t1, with_triggers=True)
    keep = (ev["t"] >= t0) & (ev["t"] < t1)
    same(win, make_events(*[ev[k][keep] for k in "txyp"]))
    assert len(trig) and np.all((trig["t"] >= t0) & (trig["t"] < t1))
    # the same recording without its data table (counts by decompressing, probe by headers)
    same(decode_aedat4_bytes(without_table(path.read_bytes()), name="nt.aedat4"), ev)


def test_other_readers_refuse_the_real_aedat4_by_name():
    path = real_file(REAL)
    for fn in (read_atis_bin, read_aedat3, read_aedat2):
        e = error(fn, path, offset=0, needle="AEDAT 4.0")
        assert "read_aedat4" in str(e) and str(path) in str(e)


# ----------------------------------------------------------------------------------------------
# Round trips through write_aedat4
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("comp", COMPRESSIONS)
def test_round_trip_each_compression(written, comp):
    ev, tr, paths = written
    got, trig = read_aedat4(paths[comp], with_triggers=True)
    same(got, ev)
    assert np.array_equal(trig, tr)
    info = probe_aedat4(paths[comp])
    assert (info["events"], info["packets"], info["compression"], info["data_table"]) == (
        5000, 7, comp, True)
    assert (info["t_first"], info["t_last"]) == (int(ev["t"][0]), int(ev["t"][-1]))
    # without the data table: counts come from the packets, probe reads only their heads
    data = without_table(paths[comp].read_bytes())
    got2, trig2 = decode_aedat4_bytes(data, name="nt.aedat4", with_triggers=True)
    same(got2, ev)
    assert np.array_equal(trig2, tr)
    nt = paths[comp].with_name(f"nt_{comp}.aedat4")
    nt.write_bytes(data)
    assert probe_aedat4(nt) == dict(info, data_table=False)


@pytest.mark.parametrize("comp", ["lz4", "none"])
def test_time_window_and_chunks_concatenate(written, comp, tmp_path):
    ev, tr, paths = written
    t0, t1 = int(ev["t"][1234]), int(ev["t"][3456]) + 1
    keep = (ev["t"] >= t0) & (ev["t"] < t1)
    want = make_events(*[ev[k][keep] for k in "txyp"])
    wtr = tr[(tr["t"] >= t0) & (tr["t"] < t1)]
    nt = tmp_path / "nt.aedat4"
    nt.write_bytes(without_table(paths[comp].read_bytes()))
    for path in (paths[comp], nt):
        got, trig = read_aedat4(path, t_start=t0, t_end=t1, with_triggers=True)
        same(got, want)
        assert np.array_equal(trig, wtr)
        assert len(read_aedat4(path, t_start=t1)) == int((ev["t"] >= t1).sum())
        assert len(read_aedat4(path, t_end=t0)) == int((ev["t"] < t0).sum())
        for chunk_events in (1, 1000, 2000, 10**6):
            chunks = list(iter_aedat4(path, chunk_events, with_triggers=True))
            sizes = [len(c) for c, _ in chunks]
            assert all(chunk_events <= s < chunk_events + 777 for s in sizes[:-1]), sizes
            same(make_events(*[np.concatenate([c[k] for c, _ in chunks]) for k in "txyp"]), ev)
            assert np.array_equal(np.concatenate([t for _, t in chunks]), tr)
        chunks = list(iter_aedat4(path, 1500, t_start=t0, t_end=t1))
        same(make_events(*[np.concatenate([c[k] for c in chunks]) for k in "txyp"]), want)


def test_threaded_decode_equals_serial(written, monkeypatch, tmp_path):
    ev, tr, paths = written
    monkeypatch.setattr(A4, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv("EVFRAMES_NUM_THREADS", "3")
    for comp in ("lz4", "zstd", "none"):
        same(read_aedat4(paths[comp]), ev)
        data = without_table(paths[comp].read_bytes())
        same(decode_aedat4_bytes(data, name="nt.aedat4"), ev)


def test_writer_refuses_what_it_cannot_store(tmp_path):
    ev = random_events(10)
    for kw, what in [({"sensor_size": (0, 5)}, "sensor_size"),
                     ({"sensor_size": (100, 260)}, "x must lie"),
                     ({"sensor_size": (346, 260), "compression": "gzip"}, "compression"),
                     ({"sensor_size": (346, 260), "packet_events": 0}, "packet_events")]:
        with pytest.raises(ValueError, match=what):
            write_aedat4(tmp_path / "x.aedat4", ev, **kw)
    path = tmp_path / "empty.aedat4"
    write_aedat4(path, make_events([], [], [], []), sensor_size=(8, 8))
    assert len(read_aedat4(path)) == 0 and probe_aedat4(path)["events"] == 0


# ----------------------------------------------------------------------------------------------
# Bad input: FormatError with the file and byte offset, sizes checked before allocation
# ----------------------------------------------------------------------------------------------

def test_wrong_or_cut_header(tmp_path, written):
    _, _, paths = written
    data = paths["lz4"].read_bytes()
    error(decode_aedat4_bytes, b"", name="e.aedat4", offset=0, needle="empty file")
    e = error(decode_aedat4_bytes, b"#!AER-DAT3.1\r\n" + data[14:], name="w.aedat4", offset=0,
              needle="#!AER-DAT4.0")
    assert "w.aedat4" in str(e)
    error(decode_aedat4_bytes, data[:16], name="c.aedat4", offset=14, needle="IOHeader size")
    error(decode_aedat4_bytes, data[:200], name="c.aedat4", offset=14, needle="IOHeader claims")
    bad = bytearray(data)
    bad[22:26] = b"XXXX"                              # IOHeader identifier
    error(decode_aedat4_bytes, bytes(bad), name="i.aedat4", offset=22, needle="IOHE")
    bad = bytearray(data)
    bad[14 + 28:14 + 32] = struct.pack("<i", 9)      # compression code
    error(decode_aedat4_bytes, bytes(bad), name="z.aedat4", offset=14 + 28, needle="compression")
    text = data.replace(b'key="sizeX" type="int">346', b'key="sizeQ" type="int">346')
    error(decode_aedat4_bytes, text, name="d.aedat4", needle="sizeX")
    path = tmp_path / "d.aedat4"
    path.write_bytes(text.replace(b"</dv>", b"</dv"))
    e = error(read_aedat4, path, needle="not valid XML")
    assert str(path) in str(e)


def test_truncated_file_errors_by_default_and_warns_on_request(written, tmp_path):
    ev, _, paths = written
    data = paths["lz4"].read_bytes()
    pk, f = packets(data)
    starts = [p for p, s, _ in pk if s == 0]
    # cut inside the 4th event packet: error names that packet; warn keeps 3 packets' events
    cut = data[:starts[3] + 20]
    path = tmp_path / "cut.aedat4"
    path.write_bytes(cut)
    error(read_aedat4, path, offset=starts[3], needle="file ends inside the packet")
    with pytest.warns(TruncatedFileWarning) as rec:
        got = read_aedat4(path, on_truncated="warn")
    assert rec[0].message.offset == starts[3] and rec[0].message.kept == 3 * 777
    same(got, ev.slice(0, 3 * 777))
    with pytest.warns(TruncatedFileWarning):
        chunks = list(iter_aedat4(path, 500, on_truncated="warn"))
    assert sum(len(c) for c in chunks) == 3 * 777
    with pytest.raises(FormatError):
        next(iter_aedat4(path, 500))
    # cut at the data table (every packet complete): still truncated, since the table is lost
    whole = data[:f.table_pos]
    error(decode_aedat4_bytes, whole, name="t.aedat4", offset=len(whole), needle="data table")
    with pytest.warns(TruncatedFileWarning):
        same(decode_aedat4_bytes(whole, name="t.aedat4", on_truncated="warn"), ev)
    # a table-less file cut exactly at a packet boundary is a valid, shorter file
    nt = without_table(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same(decode_aedat4_bytes(nt[:starts[2]], name="b.aedat4"), ev.slice(0, 2 * 777))
    error(decode_aedat4_bytes, nt[:starts[2] + 5], name="h.aedat4", offset=starts[2],
          needle="packet header")


def test_corrupt_packets(written):
    ev, _, paths = written
    for comp, needle in (("lz4", "LZ4"), ("zstd", "Zstandard")):
        data = paths[comp].read_bytes()
        pk, _ = packets(data)
        p, _, size = next(q for q in pk if q[1] == 0)
        bad = bytearray(data)
        bad[p + 8:p + 12] = b"\0\0\0\0"                       # frame magic
        error(decode_aedat4_bytes, bytes(bad), name="m.aedat4", offset=p, needle=needle)
        bad = bytearray(data)
        bad[p + 8 + size // 2:p + 8 + size // 2 + 64] = bytes(64)   # inside the compressed data
        error(decode_aedat4_bytes, bytes(bad), name="m.aedat4", offset=p)
    data = paths["none"].read_bytes()
    pk, f = packets(data)
    p = next(q for q in pk if q[1] == 0)[0]
    bad = bytearray(data)
    bad[p + 16:p + 20] = b"TRIG"                              # EventPacket identifier
    error(decode_aedat4_bytes, bytes(bad), name="n.aedat4", offset=p, needle="not a EVTS")
    bad = bytearray(data)
    bad[p + 8 + 32 + 8:p + 8 + 32 + 10] = struct.pack("<h", 346)    # x of event 0 off-sensor
    error(decode_aedat4_bytes, bytes(bad), name="n.aedat4", offset=p, needle="outside the 346x260")
    bad = bytearray(data)
    bad[p + 8 + 28:p + 8 + 32] = struct.pack("<I", 10**6)    # vector longer than the packet
    error(decode_aedat4_bytes, bytes(bad), name="n.aedat4", offset=p, needle="malformed EVTS")
    bad = bytearray(data)
    bad[p:p + 4] = struct.pack("<i", 7)                       # stream the header does not list
    error(decode_aedat4_bytes, bytes(bad), name="n.aedat4", offset=p, needle="stream 7")
    bad = bytearray(data)
    bad[p + 4:p + 8] = struct.pack("<i", 2**31 - 1)           # runs into the data table
    error(decode_aedat4_bytes, bytes(bad), name="n.aedat4", offset=p, needle="corrupt packet")


def test_oversize_claims_fail_before_allocation(written):
    _, _, paths = written
    tracemalloc.start()
    try:
        # an LZ4 frame claiming a 1 TB content size
        data = paths["lz4"].read_bytes()
        pk, f = packets(data)
        p = next(q for q in pk if q[1] == 0)[0]
        assert data[p + 8 + 4] & 0x08                         # our frames store their size
        bad = bytearray(data)
        bad[p + 8 + 6:p + 8 + 14] = struct.pack("<Q", 1 << 40)
        tracemalloc.reset_peak()
        error(decode_aedat4_bytes, bytes(bad), name="o.aedat4", offset=p, needle="LZ4")
        assert tracemalloc.get_traced_memory()[1] < 8 << 20
        # a data table claiming 2**40 events for one packet
        data = paths["none"].read_bytes()
        pk, f = packets(data)
        rows = f.rows
        # the entry's element count sits at +12 of the first entry table (our writer's layout)
        n = rows.shape[1]
        first = 32 + 4 * n
        first += (4 - first) % 8
        bad = bytearray(data)
        at = f.table_pos + first + 12
        assert struct.unpack_from("<q", bad, at)[0] == rows[3, 0]
        bad[at:at + 8] = struct.pack("<q", 1 << 40)
        tracemalloc.reset_peak()
        error(decode_aedat4_bytes, bytes(bad), name="t.aedat4", offset=f.table_pos,
              needle="data table claims")
        assert tracemalloc.get_traced_memory()[1] < 8 << 20
        bad[at:at + 8] = struct.pack("<q", rows[3, 0] - 1)   # plausible but wrong
        error(decode_aedat4_bytes, bytes(bad), name="t.aedat4", needle="the data table says")
    finally:
        tracemalloc.stop()


def test_two_corrupt_packets_name_the_first_with_any_threads(written, monkeypatch):
    """The error names the earliest bad packet whichever thread decodes it (a fuzz finding)."""
    _, _, paths = written
    for comp in ("zstd", "lz4"):
        data = paths[comp].read_bytes()
        pk, _ = packets(data)
        ev_pk = [q for q in pk if q[1] == 0]
        bad = bytearray(data)
        for p, _, size in (ev_pk[1], ev_pk[-1]):
            bad[p + 8 + size // 2:p + 8 + size // 2 + 32] = bytes(32)
        serial = error(decode_aedat4_bytes, bytes(bad), name="c.aedat4", offset=ev_pk[1][0])
        monkeypatch.setattr(A4, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setenv("EVFRAMES_NUM_THREADS", "3")
        for table in (True, False):
            blob = bytes(bad) if table else without_table(bytes(bad))
            e = error(decode_aedat4_bytes, blob, name="c.aedat4", offset=ev_pk[1][0])
            assert e.reason == serial.reason
        monkeypatch.undo()
