"""Prophesee readers / writers: DAT, EVT 2.0, EVT 2.1, EVT 3.0 (evframes.formats.*).

Real files: shared/data/real/prophesee (SOURCES.md figures; the peers' decodes of them are in
tests/data/prophesee_peer_reference.npz, made by tests/data/make_prophesee_peer_ref.py).
"""
from __future__ import annotations

import hashlib
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from evframes.events import make_events
from evframes.formats import (
    TRIGGER_DTYPE,
    FormatError,
    TruncatedFileWarning,
    _common,
    _evt3_kernels,
    _prophesee_raw,
    decode_events_bytes,
    decode_evt2_bytes,
    decode_evt3_bytes,
    decode_evt21_bytes,
    decode_prophesee_dat_bytes,
    detect_format,
    iter_evt2,
    iter_evt3,
    iter_evt21,
    iter_prophesee_dat,
    probe_evt2,
    probe_evt3,
    probe_evt21,
    probe_prophesee_dat,
    read_atis_bin,
    read_events,
    read_evt2,
    read_evt3,
    read_evt21,
    read_prophesee_dat,
    write_evt2,
    write_evt3,
    write_evt21,
    write_prophesee_dat,
    write_prophesee_dat_triggers,
)

from helpers import real_file

EVT2, EVT3, DAT = ("prophesee/faery_evt2.raw", "prophesee/expelliarmus_evt3_sample_small.raw",
                   "prophesee/expelliarmus_dat_sample_small.dat")
PEER_REF = Path(__file__).parent / "data" / "prophesee_peer_reference.npz"

READ = {"evt2": read_evt2, "evt21": read_evt21, "evt3": read_evt3, "dat": read_prophesee_dat}
DECODE = {"evt2": decode_evt2_bytes, "evt21": decode_evt21_bytes, "evt3": decode_evt3_bytes,
          "dat": decode_prophesee_dat_bytes}
ITER = {"evt2": iter_evt2, "evt21": iter_evt21, "evt3": iter_evt3, "dat": iter_prophesee_dat}
PROBE = {"evt2": probe_evt2, "evt21": probe_evt21, "evt3": probe_evt3, "dat": probe_prophesee_dat}


def digest(ev) -> str:
    h = hashlib.blake2b(digest_size=16)
    for k in "txyp":
        h.update(np.ascontiguousarray(ev[k], np.int64).tobytes())
    return h.hexdigest()


def same(a, b):
    assert len(a["t"]) == len(b["t"])
    for k in "txyp":
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture
def small_chunks(monkeypatch):
    """Many chunks on small inputs: threads, chunk-boundary states, window pruning."""
    monkeypatch.setattr(_common, "parallel_threshold", 16)
    monkeypatch.setattr(_prophesee_raw, "WINDOW_CHUNK_UNITS", 64)
    monkeypatch.setattr(_evt3_kernels, "ENTRY_LIMIT", 3)      # EVT 3.0: full scans on demand
    monkeypatch.setenv("EVFRAMES_NUM_THREADS", "3")


def random_events(seed, n, w, h, t0=0, dt=30, runs=True):
    rng = np.random.default_rng(seed)
    t = t0 + np.cumsum(rng.integers(0, dt, n))
    x, y, p = rng.integers(0, w, n), rng.integers(0, h, n), rng.integers(0, 2, n)
    if runs:            # some rows of increasing x at one time (EVT 2.1 masks, EVT 3.0 vectors)
        for s in range(0, n - 40, 97):
            k = int(rng.integers(3, 33))
            x[s:s + k] = np.sort(rng.choice(min(w, 40), k, replace=False)) + (w - 40 if s % 2
                                                                               else 0)
            y[s:s + k], p[s:s + k], t[s:s + k] = y[s], p[s], t[s]
        t = np.maximum.accumulate(t)
    return make_events(t, x, y, p)


def triggers(seed, n, t_lo, t_hi, id_max):
    rng = np.random.default_rng(seed)
    tr = np.zeros(n, TRIGGER_DTYPE)
    tr["t"] = np.sort(rng.integers(t_lo, t_hi + 1, n))
    tr["id"] = rng.integers(0, id_max + 1, n)
    tr["value"] = rng.integers(0, 2, n)
    return tr


def write(kind, path, ev, size, tr=None, **kw):
    if kind == "evt2":
        write_evt2(path, ev, sensor_size=size, triggers=tr, **kw)
    elif kind == "evt21":
        write_evt21(path, ev, sensor_size=size, triggers=tr, **kw)
    elif kind == "evt3":
        write_evt3(path, ev, sensor_size=size, triggers=tr, **kw)
    else:
        write_prophesee_dat(path, ev, sensor_size=size, **kw)


# ----------------------------------------------------------------------------------------------
# Real recordings: SOURCES.md figures and the peers' decodes
# ----------------------------------------------------------------------------------------------

def test_real_evt2_gen3():
    path = real_file(EVT2)
    ev = read_evt2(path)
    assert len(ev) == 521252 and (int(ev["t"][0]), int(ev["t"][-1])) == (913716224, 913812095)
    assert np.all(np.diff(ev["t"]) >= 0) and set(np.unique(ev["p"])) == {0, 1}
    info = probe_evt2(path)
    assert (info["width"], info["height"], info["size_source"]) == (640, 480, "system_ID 21")
    assert (info["events"], info["t_first"], info["t_last"]) == (521252, 913716224, 913812095)
    assert int(ev["x"].max()) < 640 and int(ev["y"].max()) < 480
    ref = np.load(PEER_REF)
    for peer in ("faery", "expelliarmus", "evlib"):           # all three peers agree with us
        assert str(ref[f"evt2/{peer}/digest"]) == digest(ev), peer


def test_real_evt3_gen41():
    path = real_file(EVT3)
    ev = read_evt3(path)
    assert len(ev) == 5000 and (int(ev["t"][0]), int(ev["t"][-1])) == (5840504, 5885714)
    info = probe_evt3(path)
    assert (info["width"], info["height"], info["size_source"]) == (1280, 720, "system_ID 48")
    assert np.all(np.diff(ev["t"]) >= 0)
    ref = np.load(PEER_REF)
    for peer in ("faery", "evlib"):
        assert str(ref[f"evt3/{peer}/digest"]) == digest(ev), peer
    # expelliarmus adds 4096 us at every TIME_LOW decrease (SOURCES.md: its own .npy is wrong)
    assert str(ref["evt3/expelliarmus/digest"]) != digest(ev)
    assert ref["evt3/expelliarmus/t_first_last"][1] == 5930770


def test_real_dat_ncars_equals_its_npy():
    path = real_file(DAT)
    ev = read_prophesee_dat(path)
    npy = np.load(path.with_suffix(".npy"))
    for k in "txyp":
        np.testing.assert_array_equal(ev[k], npy[k], err_msg=k)
    assert len(ev) == 4407
    ref = np.load(PEER_REF)
    for peer in ("faery", "expelliarmus"):
        assert str(ref[f"dat/{peer}/digest"]) == digest(ev), peer
    info = probe_prophesee_dat(path)
    assert info["width"] is None and info["events"] == 4407 and info["dat_version"] == 2


@pytest.mark.parametrize("rel,kind", [(EVT2, "evt2"), (EVT3, "evt3"), (DAT, "dat")])
def test_read_events_dispatches_on_the_header(rel, kind, tmp_path):
    path = real_file(rel)
    data = path.read_bytes()
    assert detect_format(data[:4096], "x.bin") == kind
    ref = READ[kind](path)
    renamed = tmp_path / "0001.bin"              # the header wins over an ATIS extension
    renamed.write_bytes(data)
    same(read_events(renamed), ref)
    same(decode_events_bytes(data, name="m.bin"), ref)
    lo, hi = int(ref["t"][len(ref) // 3]), int(ref["t"][2 * len(ref) // 3])
    win = read_events(path, t_start=lo, t_end=hi)
    m = (ref["t"] >= lo) & (ref["t"] < hi)
    assert len(win) == int(m.sum()) and np.array_equal(win["x"], ref["x"][m])
    with pytest.raises(FormatError, match="read_"):   # the ATIS reader names the right reader
        read_atis_bin(path)


# ----------------------------------------------------------------------------------------------
# Round trips through every writer
# ----------------------------------------------------------------------------------------------

CASES = [("evt2", {}, 1 << 34), ("evt21", {"endianness": "little"}, 1 << 34),
         ("evt21", {"endianness": "legacy"}, 0), ("evt3", {"vectorize": True}, 1 << 24),
         ("evt3", {"vectorize": False}, 0), ("dat", {}, 0), ("dat", {"version": 1}, 0)]


@pytest.mark.parametrize("kind,kw,loop", CASES)
def test_round_trip(kind, kw, loop, tmp_path):
    size = (300, 200) if kw.get("version") == 1 else (1280, 720)
    ev = random_events(1, 6000, *size, t0=max(0, loop - 50_000), dt=25)
    path = tmp_path / "f.raw"
    tr = None if kind == "dat" else triggers(2, 40, int(ev["t"][0]), int(ev["t"][-1]),
                                            15 if kind == "evt3" else 31)
    write(kind, path, ev, size, tr, **kw)
    got = READ[kind](path, with_triggers=True)
    same(got[0], ev)
    if tr is not None:
        np.testing.assert_array_equal(got[1], tr)
    same(READ[kind](path), ev)                        # triggers never mixed into events
    info = PROBE[kind](path)
    assert (info["width"], info["height"], info["events"]) == (*size, len(ev))
    assert (info["t_first"], info["t_last"]) == (int(ev["t"][0]), int(ev["t"][-1]))


def test_round_trip_long_gaps_and_loops(tmp_path):
    # gaps of minutes and a span of hours: 34-bit (EVT 2.x), 24-bit (EVT 3.0), 32-bit (DAT)
    t = np.array([0, 5, 10**8, 2 * 10**9, 2 * 10**9 + 1, (1 << 34) - 3, (1 << 34) + 2,
                  (1 << 34) + 10**9, 3 * (1 << 34) + 7], np.int64)
    ev = make_events(t, np.arange(9), np.arange(9) * 3, np.arange(9) % 2)
    for kind in ("evt2", "evt21", "evt3"):
        write(kind, tmp_path / kind, ev, (64, 64))
        same(READ[kind](tmp_path / kind), ev)
    dat = make_events(t[:5], np.arange(5), np.arange(5), np.arange(5) % 2)
    write_prophesee_dat(tmp_path / "d.dat", dat, sensor_size=(64, 64))
    same(read_prophesee_dat(tmp_path / "d.dat"), dat)
    with pytest.raises(ValueError, match="gap"):      # DAT: gaps must stay below 2**31 us
        write_prophesee_dat(tmp_path / "e.dat", ev, sensor_size=(64, 64))


def test_writers_refuse_what_the_format_cannot_hold(tmp_path):
    ev = make_events([0, 5], [10, 2047], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="outside the sensor"):
        write_evt2(tmp_path / "a", ev, sensor_size=(640, 480))
    with pytest.raises(ValueError, match="sensor_size"):
        write_evt3(tmp_path / "a", ev, sensor_size=(4096, 480))
    with pytest.raises(ValueError, match="non-decreasing"):
        write_evt21(tmp_path / "a", make_events([5, 0], [1, 1], [1, 1], [0, 0]),
                    sensor_size=(8, 8))
    with pytest.raises(ValueError, match="trigger ids"):
        write_evt3(tmp_path / "a", ev, sensor_size=(2048, 8),
                   triggers=np.array([(0, 16, 1)], TRIGGER_DTYPE))


# ----------------------------------------------------------------------------------------------
# Threads, windows, iterators, triggers
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("psee")
    ev = random_events(3, 5000, 640, 480, t0=(1 << 24) - 20_000, dt=12)
    out = {}
    for kind in ("evt2", "evt21", "evt3", "dat"):
        tr = None if kind == "dat" else triggers(4, 30, int(ev["t"][0]), int(ev["t"][-1]), 15)
        write(kind, d / kind, ev, (640, 480), tr)
        out[kind] = (d / kind, ev, tr)
    return out


@pytest.mark.parametrize("kind", ["evt2", "evt21", "evt3", "dat"])
def test_threads_windows_iterators(kind, files, small_chunks):
    path, ev, tr = files[kind]
    same(READ[kind](path), ev)                        # many chunks in 3 threads
    t = ev["t"]
    for lo, hi in [(None, int(t[100])), (int(t[1234]), int(t[3000])), (int(t[-5]), None),
                   (int(t[-1]) + 1, None), (0, 1)]:
        win = READ[kind](path, t_start=lo, t_end=hi)
        m = np.ones(len(ev), bool) if lo is None else t >= lo
        if hi is not None:
            m &= t < hi
        same(win, {k: ev[k][m] for k in "txyp"})
    for n in (1, 777, 10**6):
        chunks = list(ITER[kind](path, n))
        assert all(len(c) == n for c in chunks[:-1]) and 0 < len(chunks[-1]) <= n
        same({k: np.concatenate([c[k] for c in chunks]) for k in "txyp"}, ev)
    pieces = list(ITER[kind](path, 500, t_start=int(t[2000]), t_end=int(t[2600]),
                             with_triggers=True))
    m = (t >= t[2000]) & (t < t[2600])
    assert np.array_equal(np.concatenate([p[0]["x"] for p in pieces]), ev["x"][m])
    if tr is not None:
        got = np.concatenate([p[1] for p in pieces])
        np.testing.assert_array_equal(got, tr[(tr["t"] >= t[2000]) & (tr["t"] < t[2600])])


def test_triggers_come_apart(files, tmp_path):
    path, ev, tr = files["evt3"]
    got, trig = read_evt3(path, with_triggers=True)
    assert trig.dtype == TRIGGER_DTYPE and len(trig) == 30 and len(got) == len(ev)
    np.testing.assert_array_equal(trig, tr)
    assert read_prophesee_dat(files["dat"][0], with_triggers=True)[1].shape == (0,)
    dtr = triggers(5, 50, 0, 10**6, 63)
    dtr["value"] = dtr["value"] * 3                   # DAT keeps a 4-bit value
    write_prophesee_dat_triggers(tmp_path / "t.dat", dtr)
    ev2, got_tr = read_prophesee_dat(tmp_path / "t.dat", with_triggers=True)
    assert len(ev2) == 0
    np.testing.assert_array_equal(got_tr, dtr)


# ----------------------------------------------------------------------------------------------
# Bad input: FormatError naming the file and the byte
# ----------------------------------------------------------------------------------------------

HEAD2 = b"% format EVT2;height=480;width=640\n% end\n"
HEAD3 = b"% format EVT3;height=720;width=1280\n% end\n"


def th2(v):
    return struct.pack("<I", (8 << 28) | v)


def cd2(p, ts, x, y):
    return struct.pack("<I", (p << 28) | (ts << 22) | (x << 11) | y)


def refused(fn, data, name, offset, *needles, **kw):
    with pytest.raises(FormatError) as info:
        fn(data, name=name, **kw)
    msg = str(info.value)
    assert name in msg and f"byte {offset}" in msg and info.value.offset == offset, msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_truncated_files(files):
    for kind in ("evt2", "evt21", "evt3", "dat"):
        data = files[kind][0].read_bytes()
        full = DECODE[kind](data)
        unit = {"evt2": 4, "evt21": 8, "evt3": 2, "dat": 8}[kind]
        cut = data[:len(data) - unit - 1]
        body = _prophesee_raw.open_body(data, "x", "dat" if kind == "dat" else kind, unit,
                                        "error", extra=2 if kind == "dat" else 0)
        off = body.start + (len(cut) - body.start) // unit * unit
        refused(DECODE[kind], cut, "cut.raw", off, "on_truncated='warn'")
        with pytest.warns(TruncatedFileWarning, match=f"byte {off}"):
            part = DECODE[kind](cut, name="cut.raw", on_truncated="warn")
        assert 0 < len(part) <= len(full)
        for k in "txyp":
            assert np.array_equal(part[k], full[k][:len(part)])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            clean = DECODE[kind](data[:body.start + unit * 100])   # cut at a word: valid
        assert np.array_equal(clean["t"], full["t"][:len(clean)])


def test_wrong_headers():
    evt2 = HEAD2 + th2(5) + cd2(1, 3, 10, 20)
    refused(decode_evt3_bytes, evt2, "a.raw", 0, "EVT 2.0", "not Prophesee EVT 3.0")
    refused(decode_evt2_bytes, b"\x00" * 64, "b.raw", 0, "no '%' header")
    refused(decode_evt2_bytes, b"#!AER-DAT3.1\r\n" + b"x" * 40, "c.raw", 0, "AER-DAT3.1")
    refused(decode_evt2_bytes, b"% evt 2.0\n% format EVT2;height=480;wid", "d.raw", 10,
            "ends inside its '%' header")
    refused(decode_evt2_bytes, b"% format EVT2;height=480;width=4096\n% end\n", "e.raw", 0,
            "outside 1..2048")
    refused(decode_evt3_bytes, b"% format EVT3;height=720;width=1280\n% geometry 640x480\n",
            "f.raw", 36, "contradicts")
    refused(decode_evt2_bytes, b"% evt 2.0\n% geometry 0x480\n", "g.raw", 10, "outside")
    refused(decode_evt2_bytes, b"% " + b"k" * 70000 + b"\n", "h.raw", 0, "longer than")
    dat = b"% Data file containing CD events\n% Version 2\n"
    refused(decode_prophesee_dat_bytes, dat + b"\x05\x08" + bytes(16), "i.dat", len(dat),
            "event type 0x05")
    refused(decode_prophesee_dat_bytes, dat + b"\x0c\x10" + bytes(16), "j.dat", len(dat) + 1,
            "event size 16")
    refused(decode_prophesee_dat_bytes, dat.replace(b"2", b"3"), "k.dat", 33, "Version 3")
    refused(decode_prophesee_dat_bytes, dat + b"% Width 99999\n\x0c\x08", "l.dat", len(dat),
            "Width/Height width 99999 is outside 1..16384")


def test_bad_words_and_time_going_backwards():
    name = "w.raw"
    base = len(HEAD2)
    bad = HEAD2 + th2(5) + cd2(0, 1, 3, 4) + struct.pack("<I", 3 << 28) + cd2(1, 2, 3, 4)
    refused(decode_evt2_bytes, bad, name, base + 8, "reserved word type 0x3", "validate=False")
    assert len(decode_evt2_bytes(bad, validate=False)) == 2
    back = HEAD2 + th2(9) + cd2(0, 1, 3, 4) + th2(8) + cd2(1, 2, 3, 4)
    refused(decode_evt2_bytes, back, name, base + 8, "TIME_HIGH goes backwards")
    assert decode_evt2_bytes(back, validate=False)["t"].tolist() == [9 * 64 + 1, 8 * 64 + 2]
    low = HEAD2 + th2(9) + cd2(0, 7, 3, 4) + cd2(1, 2, 3, 4)
    refused(decode_evt2_bytes, low, name, base + 8, "event time goes backwards")
    w3 = [(8 << 12) | 1, (0 << 12) | 5, (6 << 12) | 9, (2 << 12) | 7, (11 << 12)]
    refused(decode_evt3_bytes, HEAD3 + np.array(w3, "<u2").tobytes(), name, len(HEAD3) + 8,
            "reserved word type 0xB")
    w3 = [(8 << 12) | 100, 5, (6 << 12) | 9, (2 << 12) | 7, (8 << 12) | 99, (2 << 12) | 8]
    refused(decode_evt3_bytes, HEAD3 + np.array(w3, "<u2").tobytes(), name, len(HEAD3) + 8,
            "TIME_HIGH goes backwards")
    dat = (b"% Data file containing CD events\n% Version 2\n\x0c\x08" +
           np.array([[10, 1], [5, 2]], "<u4").tobytes())
    refused(decode_prophesee_dat_bytes, dat, "d.dat", len(dat) - 8, "backwards")
    assert decode_prophesee_dat_bytes(dat, validate=False)["t"].tolist() == [10, 5]
    dat = (b"% Data file containing CD events\n% Version 2\n\x0c\x08" +
           np.array([[10, 1 | (3 << 28)]], "<u4").tobytes())
    refused(decode_prophesee_dat_bytes, dat, "d.dat", len(dat) - 8, "polarity above 1")


# ----------------------------------------------------------------------------------------------
# Decoding rules (OpenEB's where they are its choices)
# ----------------------------------------------------------------------------------------------

def test_evt3_state_machine():
    w = [(2 << 12) | 1,                       # before the first TIME_HIGH: ignored
         (8 << 12) | 2, (0 << 12) | 10,       # t = 2 << 12, y = 10
         (2 << 12) | (1 << 11) | 5,           # ADDR_X x=5 p=1
         (6 << 12) | 7, (3 << 12) | 100,      # TIME_LOW 7; base x 100, p 0
         (5 << 12) | 0b101,                   # VECT_8: x 100, 102; base -> 108
         (4 << 12) | 0b1000_0000_0001,        # VECT_12: x 108, 119; base -> 120
         (8 << 12) | 2, (2 << 12) | 3,        # same TIME_HIGH keeps the low bits: t 2<<12 | 7
         (8 << 12) | 3, (2 << 12) | 4,        # a new TIME_HIGH resets them: t 3 << 12
         (0 << 12) | 2047, (2 << 12) | 9,     # y beyond the height: dropped
         (8 << 12) | 1, (0 << 12) | 1, (2 << 12) | 6]   # 3 -> 1: not a loop, refused
    data = HEAD3 + np.array(w, "<u2").tobytes()
    with pytest.raises(FormatError, match="TIME_HIGH goes backwards"):
        decode_evt3_bytes(data)
    ev = decode_evt3_bytes(data[:-6])
    assert ev["x"].tolist() == [5, 100, 102, 108, 119, 3, 4]
    assert ev["y"].tolist() == [10] * 7 and ev["p"].tolist() == [1, 0, 0, 0, 0, 0, 0]
    assert ev["t"].tolist() == [8192, 8199, 8199, 8199, 8199, 8199, 12288]
    loop = HEAD3 + np.array([(8 << 12) | 4000, 0, (2 << 12) | 1, (8 << 12) | 10, (2 << 12) | 2],
                            "<u2").tobytes()
    assert decode_evt3_bytes(loop)["t"].tolist() == [4000 << 12, (1 << 24) + (10 << 12)]


def test_evt2_rules_and_sizes():
    data = (b"% format EVT2;height=100;width=100\n% end\n" + cd2(1, 1, 1, 1) + th2(3) +
            cd2(1, 2, 99, 99) + cd2(0, 3, 100, 5) + cd2(0, 4, 5, 100) +
            struct.pack("<I", (10 << 28) | (5 << 22) | (3 << 8) | 1))
    head = len(b"% format EVT2;height=100;width=100\n% end\n")
    refused(decode_evt2_bytes, data, "s.raw", head + 12, "x=100, y=5 is off the 100x100 sensor",
            "(format)", "validate=False")
    ev, tr = decode_evt2_bytes(data, with_triggers=True, validate=False)
    assert ev["x"].tolist() == [99, 100, 5] and ev["y"].tolist() == [99, 5, 100]
    assert ev["t"].tolist() == [3 * 64 + 2, 3 * 64 + 3, 3 * 64 + 4]   # the word before: dropped
    assert tr.tolist() == [(3 * 64 + 5, 3, 1)]
    dat = (b"% Data file containing CD events\n% Version 2\n% Width 10\n% Height 10\n\x0c\x08"
           + np.array([[1, 3 | (4 << 14)], [2, 10 | (4 << 14)]], "<u4").tobytes())
    refused(decode_prophesee_dat_bytes, dat, "s.dat", len(dat) - 8, "x=10, y=4 is off the "
            "10x10 sensor", "(Width/Height)")
    assert decode_prophesee_dat_bytes(dat, validate=False)["x"].tolist() == [3, 10]
    # the 34-bit loop: a TIME_HIGH from the top of the range back to 0
    loop = HEAD2 + th2((1 << 28) - 1) + cd2(0, 1, 1, 1) + th2(0) + cd2(0, 2, 1, 1)
    assert decode_evt2_bytes(loop)["t"].tolist() == [(1 << 34) - 64 + 1, (1 << 34) + 2]


def test_headers_faery_t0_and_evt21_word_order(tmp_path):
    ev = random_events(7, 500, 320, 320)
    write_evt21(tmp_path / "a", ev, sensor_size=(320, 320), endianness="legacy")
    data = (tmp_path / "a").read_bytes()
    head, body = data.split(b"% end\n")
    # OpenEB: no endianness key, Prophesee's software, a system older than EVK2 Saphir: legacy
    old = (b"% format EVT21;height=320;width=320\n% integrator_name Prophesee\n"
           b"% system_ID 49\n% end\n")
    same(decode_evt21_bytes(old + body), ev)
    new = b"% format EVT21;height=320;width=320\n% end\n"
    assert len(decode_evt21_bytes(new + body, validate=False)) != len(ev) or \
        not np.array_equal(decode_evt21_bytes(new + body, validate=False)["x"], ev["x"])
    # faery's writer (zero_t0) stores times from its '% t0' line
    e2 = make_events([0, 3], [1, 2], [1, 2], [0, 1])
    write_evt2(tmp_path / "b", e2, sensor_size=(8, 8), header_lines=["t0 1000000"])
    assert read_evt2(tmp_path / "b")["t"].tolist() == [1000000, 1000003]
