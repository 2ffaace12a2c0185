"""Raw-format decoders and writers: real recordings, round trips, malformed input, dispatch."""
from __future__ import annotations

import struct
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evframes import FormatError
from evframes.events import make_events
from evframes.formats import (
    TruncatedFileWarning,
    _common,
    decode_aedat2_bytes,
    decode_aedat3_bytes,
    decode_atis_bytes,
    decode_events_bytes,
    read_aedat2,
    read_aedat3,
    read_atis_bin,
    read_events,
    write_aedat2,
    write_aedat3,
    write_atis_bin,
)
from evframes.formats.aedat3 import encode_polarity_packet

from helpers import real_file

real = real_file


def assert_same(a, b):
    assert len(a) == len(b)
    for k in "txyp":
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]), err_msg=k)


def check_dtypes(ev):
    assert ev["t"].dtype == np.int64 and ev["x"].dtype == np.int16
    assert ev["y"].dtype == np.int16 and ev["p"].dtype == np.int8


def random_events(n, seed=0, t_max=10**6, xy_max=128, sort=True):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, t_max, n)
    if sort:
        t = np.sort(t)
    return make_events(t, rng.integers(0, xy_max, n), rng.integers(0, xy_max, n),
                       rng.integers(0, 2, n))


@pytest.fixture
def small_chunks(monkeypatch):
    """Force the multi-threaded path (chunk boundaries) on small inputs."""
    monkeypatch.setattr(_common, "parallel_threshold", 16)
    monkeypatch.setenv("EVFRAMES_NUM_THREADS", "3")
    calls = []
    real_pool = _common._pool

    def counting_pool():
        calls.append(1)
        return real_pool()
    monkeypatch.setattr(_common, "_pool", counting_pool)
    return calls


# ----------------------------------------------------------------------------------------------
# Real recordings (figures from shared/data/real/SOURCES.md)
# ----------------------------------------------------------------------------------------------

def reference_atis(path):
    """Independent plain-numpy decode of the 40-bit format (no overflow markers in these files)."""
    r = np.fromfile(path, np.uint8).reshape(-1, 5).astype(np.int64)
    return dict(x=r[:, 0], y=r[:, 1], p=r[:, 2] >> 7,
                t=((r[:, 2] & 0x7F) << 16) | (r[:, 3] << 8) | r[:, 4])


@pytest.mark.parametrize("rel,n,t0,t1,n_on,xmax,ymax,dur", [
    ("nmnist_bin/tonic_sample_nmnist.bin", 4325, 654, 311175, 2145, 33, 33, None),
    ("nmnist_bin/slayer_NMNISTsmall_train00001_label5.bs2", 4681, 893, 305924, None, 33, 33,
     None),
    ("nmnist_bin/slayer_NMNISTsmall_test60001_label7.bs2", 3330, None, None, None, 33, 33, None),
    ("nmnist_bin/ncaltech101_faces_easy_0001.bin", 67445, None, None, None, 150, 172, 0.30),
    ("dvs_gesture/dvsgesture_clip_40bit.bs2", 63471, None, None, None, 127, 127, 1.45),
])
def test_real_atis(rel, n, t0, t1, n_on, xmax, ymax, dur):
    path = real(rel)
    ev = read_atis_bin(path)
    check_dtypes(ev)
    assert len(ev) == n
    if t0 is not None:
        assert (int(ev["t"][0]), int(ev["t"][-1])) == (t0, t1)
    if n_on is not None:
        assert int(ev["p"].sum()) == n_on
    assert int(ev["x"].min()) == 0 and int(ev["y"].min()) == 0
    if rel.startswith("nmnist_bin/ncaltech"):
        assert (int(ev["x"].max()), int(ev["y"].max())) == (xmax, ymax)
    else:
        assert int(ev["x"].max()) <= xmax and int(ev["y"].max()) <= ymax
    if dur is not None:
        assert round((int(ev["t"][-1]) - int(ev["t"][0])) / 1e6, 2) == dur
    assert np.all(np.diff(ev["t"]) >= 0)
    ref = reference_atis(path)
    for k in "txyp":
        np.testing.assert_array_equal(ev[k], ref[k])
    assert_same(read_events(path), ev)
    assert_same(decode_atis_bytes(path.read_bytes(), name=rel), ev)


def test_real_aedat2_jaer_dvs128():
    path = real("aedat2/jaer_JSpikeStack_MovingDarkBox_dvs128.aedat")
    ev = read_aedat2(path)
    check_dtypes(ev)
    assert len(ev) == 489834
    assert round((int(ev["t"][-1]) - int(ev["t"][0])) / 1e6, 1) == 39.8
    assert np.all(np.diff(ev["t"]) >= 0)
    assert 0 <= int(ev["x"].min()) and int(ev["x"].max()) <= 127
    assert 0 <= int(ev["y"].min()) and int(ev["y"].max()) <= 127
    assert set(np.unique(ev["p"]).tolist()) == {0, 1}
    # independent decode: 5 '#' header lines, then big-endian (address, timestamp) pairs
    raw = path.read_bytes()
    head = b"".join(raw.split(b"\n")[:5]) + b"\n" * 5
    words = np.frombuffer(raw[len(head):], ">u4").reshape(-1, 2)
    a = words[:, 0].astype(np.int64)
    np.testing.assert_array_equal(ev["x"], (a >> 1) & 0x7F)
    np.testing.assert_array_equal(ev["y"], (a >> 8) & 0x7F)
    np.testing.assert_array_equal(ev["p"], a & 1)
    np.testing.assert_array_equal(ev["t"], words[:, 1])
    assert_same(read_events(path), ev)
    assert_same(decode_aedat2_bytes(np.frombuffer(raw, np.uint8), name="x.aedat"), ev)


# ----------------------------------------------------------------------------------------------
# AEDAT 3.1
# ----------------------------------------------------------------------------------------------

A3_HEADER = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"


def packet(etype, esize, cap, payload, ovf=0, number=None, valid=None, source=1):
    number = cap if number is None else number
    valid = number if valid is None else valid
    return struct.pack("<HHIIIIII", etype, source, esize, 4, ovf, cap, number, valid) + payload


def test_aedat3_round_trip_overflow_and_packets(tmp_path):
    ev = random_events(5000, seed=1, t_max=3 * 2**31 + 12345)  # eventTSOverflow 0..3
    ev["x"] = np.random.default_rng(2).integers(0, 346, 5000).astype(np.int16)
    ev["y"] = np.random.default_rng(3).integers(0, 260, 5000).astype(np.int16)
    path = tmp_path / "rec.aedat"
    write_aedat3(path, ev, packet_size=700)
    raw = path.read_bytes()
    assert raw.startswith(b"#!AER-DAT3.1\r\n") and b"#!END-HEADER\r\n" in raw
    assert int(ev["t"].max()) > 2**32
    got = read_aedat3(path)
    check_dtypes(got)
    assert_same(got, ev)
    assert_same(read_events(path), ev)
    assert_same(decode_aedat3_bytes(raw, name="rec.aedat"), ev)


def test_aedat3_skips_non_polarity_packets(tmp_path):
    a = random_events(300, seed=4)
    b = random_events(200, seed=5, t_max=2**31 + 10**6)
    b["t"] = np.sort(b["t"].clip(2**31, None))
    special = packet(0, 8, 3, bytes(range(24)))
    frame = packet(2, 17, 3, b"\xff" * 51)       # odd size: later payloads become unaligned
    imu = packet(3, 60, 0, b"")
    data = (A3_HEADER + special + encode_polarity_packet(a) + frame + imu
            + encode_polarity_packet(b) + special)
    path = tmp_path / "mixed.aedat"
    path.write_bytes(data)
    want = make_events(np.concatenate([a["t"], b["t"]]), np.concatenate([a["x"], b["x"]]),
                       np.concatenate([a["y"], b["y"]]), np.concatenate([a["p"], b["p"]]))
    assert_same(read_aedat3(path), want)
    aligned = A3_HEADER + encode_polarity_packet(a) + packet(2, 17, 4, b"\xff" * 68) + imu
    assert_same(decode_aedat3_bytes(aligned + encode_polarity_packet(b), name="m"), want)


def test_aedat3_valid_bit_and_capacity():
    # 4 slots, eventNumber 3, the second event invalid (bit0 = 0)
    def word(x, y, p, valid):
        return (x << 17) | (y << 2) | (p << 1) | valid
    evs = [(word(1, 2, 1, 1), 10), (word(3, 4, 0, 0), 11), (word(5, 6, 1, 1), 12),
           (word(0, 0, 0, 0), 0)]
    payload = b"".join(struct.pack("<II", d, t) for d, t in evs)
    data = A3_HEADER + packet(1, 8, 4, payload, number=3, valid=2)
    default = decode_aedat3_bytes(data, name="v.aedat")        # SpikingJelly: all slots, no filter
    assert default["x"].tolist() == [1, 3, 5, 0] and default["t"].tolist() == [10, 11, 12, 0]
    strict = decode_aedat3_bytes(data, name="v.aedat", valid_only=True)
    assert strict["x"].tolist() == [1, 5] and strict["y"].tolist() == [2, 6]
    assert strict["p"].tolist() == [1, 1] and strict["t"].tolist() == [10, 12]


def test_aedat3_empty_and_header_only(tmp_path):
    path = tmp_path / "empty.aedat"
    write_aedat3(path, random_events(0))
    assert len(read_aedat3(path)) == 0
    assert len(decode_aedat3_bytes(A3_HEADER + packet(0, 8, 1, bytes(8)), name="s")) == 0
    check_dtypes(read_aedat3(path))


def test_aedat3_parallel_matches_serial(small_chunks, tmp_path):
    ev = random_events(3001, seed=6, t_max=2**33)
    path = tmp_path / "p.aedat"
    write_aedat3(path, ev, packet_size=97)
    assert_same(read_aedat3(path), ev)
    assert small_chunks, "the multi-threaded path was not taken"


def test_aedat3_header_variants():
    # LF-only header lines and extra comment lines are accepted
    data = b"#!AER-DAT3.1\n#Format: RAW\n#!END-HEADER\n" + encode_polarity_packet(
        random_events(5, seed=7))
    assert len(decode_aedat3_bytes(data, name="lf.aedat")) == 5


# ----------------------------------------------------------------------------------------------
# AEDAT 2.0
# ----------------------------------------------------------------------------------------------

def test_aedat2_round_trip_with_xml_header(tmp_path):
    ev = random_events(4000, seed=8, t_max=10**7)
    xml = "\n".join(["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<preferences>"]
                    + [f"  <entry key=\"bias{i}\" value=\"{'#' * (i % 5)}{i * 37}\"/>"
                       for i in range(3000)] + ["</preferences>"])
    path = tmp_path / "cifar.aedat"
    write_aedat2(path, ev, header_lines=["# created by a test", xml])
    raw = path.read_bytes()
    assert raw.startswith(b"#!AER-DAT2.0\r\n") and raw.count(b"\r\n#") > 3000
    got = read_aedat2(path)
    check_dtypes(got)
    assert_same(got, ev)
    assert_same(read_events(path), ev)
    assert_same(decode_aedat2_bytes(raw, name="cifar.aedat"), ev)


def test_aedat2_timestamp_wrap_is_unwrapped(tmp_path, small_chunks):
    t = np.sort(np.random.default_rng(9).integers(2**32 - 5000, 2**32 + 5000, 400))
    step = int(0.45 * 2**32)                        # below 2**31: still recoverable
    t = np.concatenate([t, t[-1] + step * np.repeat([1, 2, 3], 20) + np.arange(60)])
    assert t[-1] > 2**33                            # raw values wrap a second time
    ev = random_events(len(t), seed=10)
    ev["t"] = t.astype(np.int64)
    path = tmp_path / "wrap.aedat"
    write_aedat2(path, ev)
    assert_same(read_aedat2(path), ev)
    raw = read_aedat2(path, unwrap=False)
    np.testing.assert_array_equal(raw["t"], t % 2**32)


def test_aedat2_special_events(small_chunks):
    ev = random_events(100, seed=11)
    a = ((ev["y"].astype(np.int64) << 8) | (ev["x"].astype(np.int64) << 1) | ev["p"])
    a[[5, 50]] |= 0x8000            # DVS128 sync / external input events
    a[[70]] |= 0x80000000           # jAER generic special bit
    words = np.stack([a, ev["t"]], 1).astype(">u4")
    data = b"#!AER-DAT2.0\r\n# x\r\n" + words.tobytes()
    got = decode_aedat2_bytes(data, name="sp.aedat")
    keep = np.ones(100, bool)
    keep[[5, 50, 70]] = False
    assert_same(got, ev.__class__({k: ev[k][keep] for k in "txyp"}))
    assert len(decode_aedat2_bytes(data, name="sp.aedat", keep_special=True)) == 100


def test_aedat2_header_only_is_empty():
    ev = decode_aedat2_bytes(b"#!AER-DAT2.0\r\n# nothing recorded\r\n", name="e.aedat")
    assert len(ev) == 0
    check_dtypes(ev)


def test_aedat2_parallel_matches_serial(small_chunks, tmp_path):
    ev = random_events(2999, seed=12, t_max=2**31)
    path = tmp_path / "p.aedat"
    write_aedat2(path, ev)
    assert_same(read_aedat2(path), ev)
    assert small_chunks, "the multi-threaded path was not taken"


# ----------------------------------------------------------------------------------------------
# ATIS 40-bit
# ----------------------------------------------------------------------------------------------

def test_atis_round_trip(tmp_path):
    ev = random_events(3000, seed=13, t_max=2**23, xy_max=240)
    path = tmp_path / "0001.bin"
    write_atis_bin(path, ev)
    assert path.stat().st_size == 5 * 3000
    got = read_atis_bin(path)
    check_dtypes(got)
    assert_same(got, ev)
    assert_same(read_events(path), ev)


def test_atis_23bit_wrap_unwrapped(tmp_path, small_chunks):
    ev = random_events(5000, seed=14, t_max=5 * 2**23, xy_max=34)   # wraps 4 times
    path = tmp_path / "long.bs2"
    write_atis_bin(path, ev)
    assert_same(read_atis_bin(path), ev)
    np.testing.assert_array_equal(read_atis_bin(path, unwrap=False)["t"], ev["t"] % 2**23)


def encode_atis(rows):
    out = bytearray()
    for x, y, p, t in rows:
        out += bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def test_atis_overflow_events_follow_tonic():
    data = encode_atis([(1, 2, 1, 100), (0, 240, 0, 0), (3, 4, 0, 50), (0, 240, 0, 0),
                        (5, 6, 1, 60)])
    ev = decode_atis_bytes(data, name="ov.bin")
    assert ev["x"].tolist() == [1, 3, 5] and ev["y"].tolist() == [2, 4, 6]
    assert ev["t"].tolist() == [100, 50 + 8192, 60 + 2 * 8192]
    assert ev["p"].tolist() == [1, 0, 1]
    kept = decode_atis_bytes(data, name="ov.bin", overflow_events=False)  # SpikingJelly view
    assert kept["y"].tolist() == [2, 240, 4, 240, 6] and kept["t"].tolist()[2] == 50


def test_atis_empty_file(tmp_path):
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    ev = read_atis_bin(path)
    assert len(ev) == 0
    check_dtypes(ev)


def test_atis_writer_rejects_unrepresentable(tmp_path):
    ev = random_events(10, seed=15, xy_max=34)
    ev["y"][3] = 240
    with pytest.raises(ValueError, match="240"):
        write_atis_bin(tmp_path / "bad.bin", ev)
    ev["y"][3] = 300
    with pytest.raises(ValueError):
        write_atis_bin(tmp_path / "bad.bin", ev)


def test_atis_parallel_matches_serial(small_chunks, tmp_path):
    ev = random_events(4001, seed=16, t_max=2**22, xy_max=200)
    path = tmp_path / "p.bin"
    write_atis_bin(path, ev)
    assert_same(read_atis_bin(path), ev)
    assert small_chunks, "the multi-threaded path was not taken"


# ----------------------------------------------------------------------------------------------
# Malformed input
# ----------------------------------------------------------------------------------------------

def raises_format_error(fn, path, offset=None, match=None):
    with pytest.raises(FormatError) as info:
        fn(path)
    msg = str(info.value)
    assert str(path) in msg and "byte" in msg, msg
    assert isinstance(info.value, ValueError)
    if offset is not None:
        assert info.value.offset == offset, msg
    if match is not None:
        assert match in msg, msg
    return info.value


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_aedat3_bad_magic(tmp_path):
    raises_format_error(read_aedat3, write(tmp_path, "a.aedat", b"#!AER-DAT2.0\r\n"), 0)
    raises_format_error(read_aedat3, write(tmp_path, "b.aedat", b"hello"), 0)
    raises_format_error(read_aedat3, write(tmp_path, "c.aedat", b""), 0)


def test_aedat3_garbage_in_header(tmp_path):
    data = b"#!AER-DAT3.1\r\n#Format: RAW\r\nGARBAGE\r\n#!END-HEADER\r\n"
    raises_format_error(read_aedat3, write(tmp_path, "g.aedat", data), 28, "0x47")


def test_aedat3_header_never_ends(tmp_path):
    raises_format_error(read_aedat3, write(tmp_path, "h.aedat", b"#!AER-DAT3.1\r\n#Format: RAW"),
                        14, "END-HEADER")


def test_aedat3_huge_capacity_refused_before_allocating(tmp_path):
    data = A3_HEADER + packet(1, 8, 10**9, bytes(64))
    tracemalloc.start()
    try:
        raises_format_error(read_aedat3, write(tmp_path, "huge.aedat", data), len(A3_HEADER),
                            "claims 8000000000 bytes")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20
    # a non-polarity packet with an absurd size is refused the same way
    data = A3_HEADER + packet(2, 4_000_000, 4_000, b"")
    raises_format_error(read_aedat3, write(tmp_path, "huge2.aedat", data), len(A3_HEADER))
    # capacity x size beyond 2**63 must not wrap around to a small or negative size
    data = A3_HEADER + packet(7, 2**31, 2**32 - 1, bytes(16))
    raises_format_error(read_aedat3, write(tmp_path, "huge3.aedat", data), len(A3_HEADER))


def test_aedat3_wrong_event_size(tmp_path):
    data = A3_HEADER + packet(1, 12, 2, bytes(24))
    raises_format_error(read_aedat3, write(tmp_path, "size.aedat", data), len(A3_HEADER) + 4,
                        "eventSize 12")


def test_aedat3_number_above_capacity_in_cut_packet(tmp_path):
    data = A3_HEADER + packet(1, 8, 10, bytes(40), number=11)
    raises_format_error(read_aedat3, write(tmp_path, "num.aedat", data), len(A3_HEADER) + 20)


def test_aedat3_truncated_final_packet_warns(tmp_path):
    a = random_events(50, seed=17)
    b = random_events(30, seed=18)
    b["t"] += 10**6
    full = A3_HEADER + encode_polarity_packet(a) + encode_polarity_packet(b)
    cut = full[:-8 * 12 - 3]                     # 17 complete events of b, then 5 stray bytes
    path = write(tmp_path, "cut.aedat", cut)
    with pytest.warns(TruncatedFileWarning) as rec:
        ev = read_aedat3(path)
    msg = str(rec[0].message)
    offset = len(A3_HEADER) + 28 + 8 * 50
    assert str(path) in msg and f"byte {offset}" in msg
    assert len(ev) == 50 + 17
    assert_same(ev.slice(0, 50), a)
    assert_same(ev.slice(50, 67), b.slice(0, 17))
    raises_format_error(lambda p: read_aedat3(p, on_truncated="error"), path, offset)
    # a file cut inside a packet header
    path2 = write(tmp_path, "cut2.aedat", full + b"\x01\x00\x01")
    with pytest.warns(TruncatedFileWarning, match="byte"):
        assert len(read_aedat3(path2)) == 80


def test_aedat2_bad_input(tmp_path):
    raises_format_error(read_aedat2, write(tmp_path, "m.aedat", b"#!AER-DAT3.1\r\n"), 0)
    raises_format_error(read_aedat2, write(tmp_path, "n.aedat", b"\x00" * 16), 0)
    raises_format_error(read_aedat2, write(tmp_path, "e.aedat", b""), 0)
    raises_format_error(read_aedat2, write(tmp_path, "u.aedat", b"#!AER-DAT2.0\r\n# no newline"),
                        14)
    ev = random_events(10, seed=19)
    good = write(tmp_path, "good.aedat", b"")
    write_aedat2(good, ev)
    raw = good.read_bytes()
    path = write(tmp_path, "odd.aedat", raw[:-3])
    err = raises_format_error(read_aedat2, path, len(raw) - 8, "multiple of 8")
    assert "on_truncated='warn'" in str(err)
    with pytest.warns(TruncatedFileWarning, match="byte"):
        got = read_aedat2(path, on_truncated="warn")
    assert_same(got, ev.slice(0, 9))


def test_atis_bad_length(tmp_path):
    ev = random_events(7, seed=20, xy_max=34)
    path = tmp_path / "x.bin"
    write_atis_bin(path, ev)
    path.write_bytes(path.read_bytes() + b"\x01\x02")
    raises_format_error(read_atis_bin, path, 35, "multiple of 5")
    with pytest.warns(TruncatedFileWarning) as rec:
        got = read_atis_bin(path, on_truncated="warn")
    assert str(path) in str(rec[0].message) and "byte 35" in str(rec[0].message)
    assert_same(got, ev)
    with pytest.raises(ValueError):
        read_atis_bin(path, on_truncated="ignore")


# ----------------------------------------------------------------------------------------------
# Dispatch
# ----------------------------------------------------------------------------------------------

def test_read_events_dispatch(tmp_path):
    ev = random_events(20, seed=21, xy_max=34)
    for name, writer in [("a.aedat", write_aedat3), ("b.aedat", write_aedat2),
                         ("c.bin", write_atis_bin), ("d.bs2", write_atis_bin),
                         ("e.dat", write_aedat2), ("f", write_aedat3)]:
        path = tmp_path / name
        writer(path, ev)
        assert_same(read_events(path), ev)
        assert_same(decode_events_bytes(path.read_bytes(), name=name), ev)
    path = write(tmp_path, "g.aedat4", b"#!AER-DAT4.0\r\n" + bytes(40))
    raises_format_error(read_events, path, 14, "IOHeader")     # AEDAT 4 goes to read_aedat4
    path = write(tmp_path, "h.npz", b"PK\x03\x04" + bytes(40))
    raises_format_error(read_events, path, 0, "zip archive")
    path = write(tmp_path, "h2.npz", b"\x01\x02" + bytes(40))
    raises_format_error(read_events, path, 0, "unknown")
    path = write(tmp_path, "i.aedat", b"\x00" * 40)
    raises_format_error(read_events, path, 0)
    # keyword arguments reach the reader
    path = write(tmp_path, "j.bin", encode_atis([(1, 1, 1, 5)]) + b"\x00")
    with pytest.warns(TruncatedFileWarning):
        assert len(read_events(path, on_truncated="warn")) == 1


# ----------------------------------------------------------------------------------------------
# Fuzzing: arbitrary bytes either decode or raise FormatError, never anything else
# ----------------------------------------------------------------------------------------------

def decodes_or_format_error(fn, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedFileWarning)
        try:
            ev = fn(data, name="fuzz.bin")
        except FormatError as e:
            assert "fuzz.bin" in str(e) and "byte" in str(e)
            return None
    check_dtypes(ev)
    return ev


packet_strategy = st.builds(
    lambda etype, esize, cap, num, ovf, cut, fill: (
        packet(etype, esize, cap, fill * max(0, min(cap * esize, 400) - cut),
               ovf=ovf, number=num)),
    etype=st.sampled_from([0, 1, 1, 1, 2, 65535]),
    esize=st.sampled_from([8, 8, 8, 0, 4, 16, 2**31]),
    cap=st.integers(0, 40) | st.integers(0, 2**32 - 1),
    num=st.integers(0, 45),
    ovf=st.integers(0, 2**32 - 1),
    cut=st.integers(0, 3) | st.just(0),
    fill=st.binary(min_size=1, max_size=1),
)

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(tail=st.binary(max_size=600) | st.lists(packet_strategy, max_size=4).map(b"".join))
def test_fuzz_aedat3(tail):
    decodes_or_format_error(decode_aedat3_bytes, A3_HEADER + tail)


@FUZZ
@given(tail=st.binary(max_size=400), xml=st.booleans())
def test_fuzz_aedat2(tail, xml):
    head = b"#!AER-DAT2.0\r\n" + (b"# <xml a='1'>\r\n#  <b/>\r\n# </xml>\r\n" if xml else b"")
    ev = decodes_or_format_error(decode_aedat2_bytes, head + tail)
    if ev is not None:
        assert int(ev["x"].max(initial=0)) < 128 and int(ev["y"].max(initial=0)) < 128


@FUZZ
@given(data=st.binary(max_size=400))
def test_fuzz_atis(data):
    ev = decodes_or_format_error(decode_atis_bytes, data)
    if ev is not None:
        assert len(ev) <= len(data) // 5
        assert int(ev["t"].min(initial=0)) >= 0


def test_format_error_pickles_across_processes():
    """Raised in a pool or Dask worker, a FormatError must arrive intact (the default
    exception pickling passes one argument and broke the pool with BrokenProcessPool)."""
    import pickle

    from evframes.errors import FormatError
    e = pickle.loads(pickle.dumps(FormatError("rec.aedat", 1234, "cut inside a packet")))
    assert type(e) is FormatError
    assert (e.path, e.offset, e.reason) == ("rec.aedat", 1234, "cut inside a packet")
    assert str(e) == "rec.aedat at byte 1234: cut inside a packet"
