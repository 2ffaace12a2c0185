"""CI run of the reader fuzz campaign (scripts/fuzz_readers.py) and targeted hostile-input tests.

The campaign itself runs in a child process (a segfault is reported, not fatal to pytest), for a
fixed seed and ~20 s; it must find no violation and must have fed every mutation kind to every
reader entry point. The harness is also checked to actually catch what it claims to catch
(segfault, hang, foreign exception, oversized allocation, wrong output, non-prefix truncation).
"""
from __future__ import annotations

import importlib.util
import struct
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

from evframes import FormatError
from evframes.events import make_events
from evframes.formats import (
    TruncatedFileWarning,
    decode_aedat2_bytes,
    decode_aedat3_bytes,
    decode_atis_bytes,
    decode_events_bytes,
    read_aedat2,
    read_aedat3,
    read_atis_bin,
    read_events,
)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "fuzz_readers.py"

CI_SECONDS = 20.0
CI_SEED = 20240611


def _load_script():
    name = "evframes_fuzz_readers_script"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod          # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def fz():
    return _load_script()


# ------------------------------------------------------------------------------------------------
# The campaign
# ------------------------------------------------------------------------------------------------

def test_fuzz_campaign_ci(fz, tmp_path):
    logs = []
    s = fz.run_campaign(seconds=CI_SECONDS, seed=CI_SEED, fail_dir=tmp_path / "failures",
                        json_out=tmp_path / "fuzz.json", log=logs.append)
    report = fz.format_summary(s) + "\n".join(logs)
    assert s["violation_count"] == 0 and s["ok"], report
    assert s["crashes"] == 0 and s["hangs"] == 0, report
    assert s["children"] == 1, report
    for target in fz.TARGETS:
        for kind in fz.KINDS:
            assert s["by_target_kind"].get(target, {}).get(kind, 0) > 0, (target, kind, report)
    out = s["outcomes"]
    assert out.get("events", 0) > 0 and out.get("format_error", 0) > 0, report
    assert out.get("exception", 0) == 0, report
    assert out.get("truncated_warning", 0) > 0, report
    assert s["cross_checks"] > 0 and s["prefix_checks"] > 0, report
    assert s["max_time_s"] < s["time_limit_s"], report
    assert s["inputs"] >= 1000, report          # the loop really ran (~300+ inputs/s)
    assert (tmp_path / "fuzz.json").is_file()


def test_harness_catches_crash_and_hang(fz, tmp_path):
    """A segfault and a hang injected at known inputs are detected, saved and skipped."""
    fail = tmp_path / "failures"
    s = fz.run_campaign(seconds=2.0, seed=7, time_limit=1.0, fail_dir=fail, log=lambda m: None,
                        inject="segv@3,hang@9", boundscheck=False, replay_failures=False)
    assert s["crashes"] == 1 and s["hangs"] == 1 and s["violation_count"] == 2, fz.format_summary(s)
    assert s["children"] == 3                      # restarted after each death
    assert s["inputs"] > 9
    by_index = {v["index"]: v for v in s["violations"]}
    assert by_index[3]["violation"] == "crash (signal 11)"
    assert by_index[9]["violation"] == "hang"
    for idx in (3, 9):
        meta = Path(by_index[idx]["saved"])
        info = fz.json.loads(meta.read_text())
        assert info["regenerated_crc_matches"] is True
        data = (meta.parent / info["data_file"]).read_bytes()
        case = fz.gen_case(7, idx, fz.build_corpus())
        assert data == case.data and info["target"] == case.target
        # the fault was injected, so replaying the real reader on the saved input is clean
        assert fz.replay(meta) == 0


def test_harness_catches_in_process_violations(fz, tmp_path):
    corpus = fz.build_corpus()
    case = fz.gen_case(0, 5, corpus)
    tracemalloc.start()
    try:
        for fault, what in [("raise", "unexpected exception builtins.IndexError"),
                            ("alloc", "traced allocations peaked")]:
            fz.INJECT[case.index] = fault
            try:
                res = fz.run_case(case, tmp_path, 5.0)
            finally:
                fz.INJECT.clear()
            assert res["violation"] and res["violation"].startswith(what), res
        assert fz.run_case(case, tmp_path, 5.0)["violation"] is None
    finally:
        tracemalloc.stop()
    # output checks
    ok = make_events([1, 2], [0, 3], [4, 5], [0, 1])
    assert fz.check_events(ok, 16, "aedat2") is None
    assert "negative" in fz.check_events(make_events([-1, 2], [0, 3], [4, 5], [0, 1]), 16, "atis")
    assert "outside" in fz.check_events(make_events([1, 2], [-1, 3], [4, 5], [0, 1]), 16, "atis")
    assert "events from" in fz.check_events(ok, 15, "aedat2")
    bad = dict(ok)
    bad["t"] = bad["t"].astype(np.int32)
    assert "not Events" in fz.check_events(bad, 16, "atis")


def test_garbage_checks_flag_foreign_decodes_and_backwards_atis(fz, tmp_path):
    """Decoded garbage is a violation: a foreign-format file (synthetic Prophesee EVT 4.0, HDF5)
    that decodes, or ATIS events (default options) whose time goes backwards."""
    corpus = fz.build_corpus()
    foreign = [s for s in corpus if s.label in fz.FOREIGN_SOURCES]
    if not foreign:
        pytest.skip("real foreign-format files absent")
    ok = make_events([1, 2], [0, 3], [4, 5], [0, 1])
    back = make_events([5, 2], [0, 3], [4, 5], [0, 1])
    for src in foreign:
        case = fz.Case(0, "read_atis_bin", "valid", src.data, ".bin", {}, "bytes", False, False,
                       src.label)
        assert "decoded to 2 events" in fz.check_not_garbage(case, ok, "atis")
        for target in ("read_atis_bin", "decode_atis_bytes", "read_events"):
            res = fz.run_once(fz.Case(0, target, "valid", src.data, ".bin", {}, "bytes", False,
                                      False, src.label), target, False, tmp_path,
                              measure=False)
            assert res["outcome"] == "format_error" and res["violation"] is None, res
    case = fz.Case(0, "decode_atis_bytes", "bitflip", b"", ".bin", {}, "bytes", False, False)
    assert "backwards at event 1" in fz.check_not_garbage(case, back, "atis")
    assert fz.check_not_garbage(case, ok, "atis") is None
    raw = fz.Case(0, "decode_atis_bytes", "bitflip", b"", ".bin", {"unwrap": False}, "bytes",
                  False, False)
    assert fz.check_not_garbage(raw, back, "atis") is None      # raw timestamps may wrap


def test_truncation_prefix_check_detects_a_wrong_decode(fz, tmp_path):
    """check_truncation flags events that are not a prefix of the uncut file's."""
    corpus = fz.build_corpus()
    src = next(s for s in corpus if s.label == "syn:atis-overflow-wrap")
    cut = src.data[:5 * 100]
    case = fz.Case(0, "decode_atis_bytes", "truncate", cut, ".bin", {}, "bytes", False, False,
                   src.label)
    res = fz.run_once(case, case.target, False, tmp_path, measure=False, keep=True)
    assert fz.check_truncation(case, res, src, tmp_path) is None
    res["_ev"]["x"][-1] += 1
    assert "not a prefix" in fz.check_truncation(case, res, src, tmp_path)
    # a cut at a record boundary that errors would be flagged too
    res = dict(res, outcome="format_error", message="x")
    assert "boundary" in fz.check_truncation(case, res, src, tmp_path)


def test_inputs_are_reproducible(fz):
    """Crash reports rely on regenerating input ``i`` from (seed, i) alone."""
    a, b = fz.build_corpus(), fz.build_corpus()
    assert [s.data for s in a] == [s.data for s in b]
    for i in (0, 1, 57, 200, 1234):
        x, y = fz.gen_case(99, i, a), fz.gen_case(99, i, b)
        assert x.data == y.data and x.meta() == y.meta()


# ------------------------------------------------------------------------------------------------
# Targeted hostile inputs (the campaign's extreme cases, pinned)
# ------------------------------------------------------------------------------------------------

A3 = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#!END-HEADER\r\n"


def pkt(etype, esize, cap, payload=b"", ovf=0, number=None):
    number = cap if number is None else number
    return struct.pack("<HHIIIIII", etype, 1, esize, 4, ovf, cap, number, number) + payload


def fmt_error(fn, data, name="hostile.aedat", **kw):
    with pytest.raises(FormatError) as info:
        fn(data, name=name, **kw)
    assert name in str(info.value) and "byte" in str(info.value)
    assert 0 <= info.value.offset <= len(data)
    return info.value


@pytest.mark.parametrize("esize", [0, 1, 2**31, 2**32 - 1])
def test_aedat3_polarity_event_size_extremes(esize):
    err = fmt_error(decode_aedat3_bytes, A3 + pkt(1, esize, 4, bytes(32)))
    assert err.offset == len(A3) + 4 and f"eventSize {esize}" in str(err)


@pytest.mark.parametrize("cap,esize", [(2**32 - 1, 8), (2**31, 8), (10**9, 8), (2**32 - 1, 2**31),
                                       (2**32 - 1, 2**32 - 1), (1, 2**31)])
def test_aedat3_absurd_claims_do_not_allocate(cap, esize):
    etype = 1 if esize == 8 else 7
    data = A3 + pkt(etype, esize, cap, bytes(64))
    tracemalloc.start()
    try:
        for valid_only in (False, True):
            fmt_error(decode_aedat3_bytes, data, valid_only=valid_only)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_aedat3_overflow_field_max_gives_nonnegative_int64():
    ev_words = np.array([(5 << 17) | (6 << 2) | 3, 0xFFFFFFFF], "<u4").tobytes()
    ev = decode_aedat3_bytes(A3 + pkt(1, 8, 1, ev_words, ovf=2**32 - 1), name="ovf.aedat")
    assert ev["t"].dtype == np.int64 and int(ev["t"][0]) == ((2**32 - 1) << 31) | 0xFFFFFFFF
    assert int(ev["t"][0]) > 0 and ev["x"].tolist() == [5] and ev["y"].tolist() == [6]


def test_aedat3_zero_size_packets_and_negative_looking_fields():
    # eventSize 0 with capacity 2^32-1 (payload 0 bytes) is skipped; "negative" u32 fields in a
    # non-polarity packet are not an error when its payload is present
    data = A3 + pkt(0x8001, 0, 2**32 - 1) + pkt(1, 8, 1, bytes(8), ovf=2**31)
    ev = decode_aedat3_bytes(data, name="z.aedat")
    assert len(ev) == 1 and int(ev["t"][0]) == 2**31 << 31
    # eventNumber "-1" above the capacity of a complete packet: error only when it is used
    data = A3 + pkt(1, 8, 1, bytes(8), number=2**32 - 1)
    assert len(decode_aedat3_bytes(data, name="n.aedat")) == 1
    fmt_error(decode_aedat3_bytes, data, valid_only=True)


def test_one_megabyte_headers(tmp_path):
    lines = b"#" + b"x" * 98 + b"\r\n"
    big = lines * (2**20 // len(lines) + 1)
    # AEDAT 3.1 whose header never ends: error naming the file and a byte, quickly
    err = fmt_error(decode_aedat3_bytes, b"#!AER-DAT3.1\r\n" + big)
    assert "END-HEADER" in str(err)
    path = tmp_path / "noend.aedat"
    path.write_bytes(b"#!AER-DAT3.1\r\n" + big)          # > 1 MB: the memory-mapped path
    with pytest.raises(FormatError, match="byte"):
        read_aedat3(path)
    with pytest.raises(FormatError, match="byte"):
        read_events(path)
    # AEDAT 2.0: 1 MB of '#' lines is a valid header-only file; an unterminated last line is not
    a2 = b"#!AER-DAT2.0\r\n" + big
    assert len(decode_aedat2_bytes(a2, name="h.aedat")) == 0
    path = tmp_path / "big2.aedat"
    path.write_bytes(a2 + struct.pack(">II", (3 << 8) | (4 << 1) | 1, 77))
    ev = read_aedat2(path)
    assert ev["x"].tolist() == [4] and ev["y"].tolist() == [3] and ev["t"].tolist() == [77]
    err = fmt_error(decode_aedat2_bytes, a2 + b"# no newline")
    assert err.offset == len(a2)
    # a single 1 MB line
    one = b"#!AER-DAT2.0\r\n#" + b"y" * 2**20 + b"\n"
    assert len(decode_aedat2_bytes(one, name="one.aedat")) == 0


@pytest.mark.parametrize("reader,ext,ok", [(read_aedat3, ".aedat", False),
                                           (read_aedat2, ".aedat", False),
                                           (read_atis_bin, ".bin", True),
                                           (read_events, ".bin", True),
                                           (read_events, ".aedat", False)])
def test_empty_files(tmp_path, reader, ext, ok):
    path = tmp_path / ("empty" + ext)
    path.write_bytes(b"")
    if ok:
        assert len(reader(path)) == 0
    else:
        with pytest.raises(FormatError) as info:
            reader(path)
        assert str(path) in str(info.value) and "byte 0" in str(info.value)


def test_header_only_files():
    assert len(decode_aedat3_bytes(A3, name="h.aedat")) == 0
    assert len(decode_events_bytes(A3, name="h.aedat")) == 0
    fmt_error(decode_aedat3_bytes, A3.rstrip(b"\r\n"))          # END line without newline
    assert len(decode_aedat2_bytes(b"#!AER-DAT2.0\r\n# a\r\n", name="h2.aedat")) == 0
    fmt_error(decode_aedat2_bytes, b"#!AER-DAT2.0\r\n# a")


def test_garbage_body_after_valid_header():
    rng = np.random.default_rng(3)
    for n in (1, 7, 27, 28, 29, 1000):
        body = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TruncatedFileWarning)
            for fn, head in [(decode_aedat3_bytes, A3),
                             (decode_aedat2_bytes, b"#!AER-DAT2.0\r\n"),
                             (decode_atis_bytes, b"")]:
                try:
                    ev = fn(head + body, name="g.bin", on_truncated="warn")
                except FormatError as e:
                    assert "g.bin" in str(e) and "byte" in str(e)
                else:
                    assert len(ev["t"]) == len(ev["x"]) == len(ev["y"]) == len(ev["p"])


# ------------------------------------------------------------------------------------------------
# Thread split (changed for AEDAT 3.1 speed): results in order, the caller shares the work
# ------------------------------------------------------------------------------------------------

def test_run_chunked_caller_steals_from_the_back(monkeypatch):
    """The calling thread must not wait on the chunk a worker is busy with while that worker
    then decodes every remaining chunk alone (the old front-to-back cancel loop did)."""
    import threading
    import time

    from evframes.formats import _common
    monkeypatch.setenv("EVFRAMES_NUM_THREADS", "2")
    me = threading.get_ident()
    who = {}

    def fn(lo, hi):
        who[lo] = threading.get_ident()
        time.sleep(0.02)
        return (lo, hi)

    bounds = list(range(0, 81, 10))                       # 8 chunks
    out = _common.run_chunked(fn, 80, (), bounds=bounds)
    assert out == [(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    mine = sum(1 for t in who.values() if t == me)
    workers = len(who) - mine
    assert len(who) == 8 and mine >= 2 and workers >= 1, (mine, workers)
    assert abs(mine - workers) <= max(2, _common._cpu_count()), (mine, workers)


def test_aedat3_page_in_thread_and_split_match_serial(monkeypatch, tmp_path):
    from evframes.formats import _common, aedat3, write_aedat3
    rng = np.random.default_rng(5)
    n = 30_000
    ev = make_events(np.sort(rng.integers(0, 3 * 2**31, n)), rng.integers(0, 346, n),
                     rng.integers(0, 260, n), rng.integers(0, 2, n))
    path = tmp_path / "split.aedat"
    write_aedat3(path, ev, packet_size=333)
    monkeypatch.setenv("EVFRAMES_NUM_THREADS", "1")
    serial = read_aedat3(path)
    monkeypatch.setenv("EVFRAMES_NUM_THREADS", "3")
    monkeypatch.setattr(_common, "parallel_threshold", 16)
    monkeypatch.setattr(aedat3, "PREFAULT_MIN_BYTES", 0)
    for data in (path, path.read_bytes(), path.read_bytes() + b"\x01\x00"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TruncatedFileWarning)
            got = read_aedat3(data) if isinstance(data, Path) else \
                decode_aedat3_bytes(data, name="s.aedat")
        for k in "txyp":
            np.testing.assert_array_equal(got[k], serial[k])
    for k in "txyp":
        np.testing.assert_array_equal(serial[k], ev[k])
