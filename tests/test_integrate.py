"""Frame integration: exact equality with independent slow numpy references of each rule.

The references below are written from the semantics in shared/DESIGN.md ("Frame integration
semantics users rely on"), not from evframes' code: masks on t / index ranges and np.add.at.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from evframes import integrate as I
from evframes.events import make_events

from helpers import real_file

# ------------------------------------------------------------------------------------------
# Slow references
# ------------------------------------------------------------------------------------------

def ref_frame(ev, mask, H, W):
    f = np.zeros((2, H, W), np.int64)
    np.add.at(f, (ev["p"][mask].astype(np.int64), ev["y"][mask].astype(np.int64),
                  ev["x"][mask].astype(np.int64)), 1)
    return f


def idx_mask(n, lo, hi):
    m = np.zeros(n, bool)
    m[lo:hi] = True
    return m


def stack(frames, H, W):
    return np.stack(frames) if frames else np.zeros((0, 2, H, W), np.int64)


def ref_number(ev, T, H, W, overlap=0):
    n = len(ev["t"])
    di = n // T
    out = []
    for j in range(T):
        lo = di * j
        hi = n if j == T - 1 else min(n, di * (j + 1) + overlap)
        out.append(ref_frame(ev, idx_mask(n, lo, hi), H, W))
    return stack(out, H, W)


def ref_time(ev, T, H, W, overlap=0):
    t = ev["t"]
    if len(t) == 0:
        return np.zeros((T, 2, H, W), np.int64)
    dt = (int(t[-1]) - int(t[0])) // T
    t0 = int(t[0])
    out = []
    for j in range(T):
        m = t >= t0 + j * dt
        if j < T - 1:
            m &= t < t0 + (j + 1) * dt + overlap
        out.append(ref_frame(ev, m, H, W))
    return stack(out, H, W)


def ref_duration(ev, D, H, W):
    t = ev["t"]
    if len(t) == 0:
        return np.zeros((0, 2, H, W), np.int64)
    rel = t - t.min()
    T = max(1, math.ceil(int(rel[-1]) / D))  # SpikingJelly gives 0 (and crashes) for one timestamp
    k = rel // D
    out = [ref_frame(ev, (k == j) if j < T - 1 else (k >= j), H, W) for j in range(T)]
    return stack(out, H, W)


def ref_count(ev, C, H, W, overlap=0, include_incomplete=True):
    n = len(ev["t"])
    stride = C - overlap
    out = []
    j = 0
    while j * stride < n:
        lo, hi = j * stride, j * stride + C
        if hi > n and not include_incomplete:
            break
        out.append(ref_frame(ev, idx_mask(n, lo, min(hi, n)), H, W))
        if hi >= n:
            break
        j += 1
    return stack(out, H, W)


def ref_sj_time_indices(t, T):
    """SpikingJelly's j_l/j_r for split_by='time' (only valid when no window is empty)."""
    n = len(t)
    dt = (int(t[-1]) - int(t[0])) // T
    idx = np.arange(n)
    jl, jr = np.zeros(T, np.int64), np.zeros(T, np.int64)
    for i in range(T):
        tl = dt * i + int(t[0])
        sel = idx[(t >= tl) & (t < tl + dt)]
        jl[i], jr[i] = sel[0], sel[-1] + 1
    jr[-1] = n
    return jl, jr


def rand_events(rng, n, H, W, span=100_000, t0=0):
    t = np.sort(rng.integers(0, max(span, 1), n)) + t0
    return make_events(t, rng.integers(0, W, n), rng.integers(0, H, n), rng.integers(0, 2, n))


def decode_40bit(path):
    b = np.fromfile(path, np.uint8).reshape(-1, 5).astype(np.int64)
    t = ((b[:, 2] & 0x7F) << 16) | (b[:, 3] << 8) | b[:, 4]
    return make_events(t, b[:, 0], b[:, 1], b[:, 2] >> 7)


def same(a, b):
    return a.shape == b.shape and np.array_equal(a.astype(np.int64), b.astype(np.int64))


# ------------------------------------------------------------------------------------------
# Random events vs references, every rule
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_rules_match_reference_random(seed):
    rng = np.random.default_rng(seed)
    H, W = int(rng.integers(1, 24)), int(rng.integers(1, 24))
    n = int(rng.integers(0, 3000))
    ev = rand_events(rng, n, H, W, span=int(rng.choice([1, 50, 10_000, 1_000_000])))
    for T in (1, 3, 20, 64):
        assert same(I.to_frames(ev, H, W, split_by="number", frames_number=T),
                    ref_number(ev, T, H, W))
        assert same(I.to_frames(ev, H, W, split_by="time", frames_number=T), ref_time(ev, T, H, W))
    for D in (1, 7, 1000, 10 ** 9):
        if n == 0 or (int(ev["t"][-1]) - int(ev["t"][0])) // D < 5000:
            assert same(I.to_frames(ev, H, W, duration=D), ref_duration(ev, D, H, W))
    for C, o in ((1, 0), (50, 0), (50, 20), (5000, 0), (7, 6)):
        for inc in (True, False):
            assert same(I.to_frames(ev, H, W, count=C, overlap=o, include_incomplete=inc),
                        ref_count(ev, C, H, W, o, inc))
    for T, o in ((5, 10), (20, 1)):
        assert same(I.to_frames(ev, H, W, split_by="number", frames_number=T, overlap=o),
                    ref_number(ev, T, H, W, o))
        assert same(I.to_frames(ev, H, W, split_by="time", frames_number=T, overlap=o * 100),
                    ref_time(ev, T, H, W, o * 100))


def test_spikingjelly_named_functions_random():
    rng = np.random.default_rng(11)
    H, W = 9, 13
    for _ in range(10):
        n = int(rng.integers(1, 2000))
        ev = rand_events(rng, n, H, W, span=int(rng.integers(1, 200_000)),
                         t0=int(rng.integers(0, 10**6)))
        for sb, ref in (("number", ref_number), ("time", ref_time)):
            T = int(rng.integers(1, 30))
            fr = I.integrate_events_by_fixed_frames_number(ev, sb, T, H, W)
            assert fr.dtype == np.float64 and same(fr, ref(ev, T, H, W))
        D = int(rng.integers(1, 50_000))
        fr = I.integrate_events_by_fixed_duration(ev, D, H, W)
        assert fr.dtype == np.float64 and same(fr, ref_duration(ev, D, H, W))
        # j_l / j_r: SpikingJelly's exact values where all windows are non-empty
        T = 4
        jl, jr = I.cal_fixed_frames_number_segment_index(ev["t"], "time", T)
        dt = (int(ev["t"][-1]) - int(ev["t"][0])) // T
        edges = int(ev["t"][0]) + dt * np.arange(T + 1)
        nonempty = all(((ev["t"] >= edges[i]) & (ev["t"] < edges[i + 1])).any() for i in range(T))
        if dt > 0 and nonempty:
            rl, rr = ref_sj_time_indices(ev["t"], T)
            assert np.array_equal(jl, rl) and np.array_equal(jr, rr)
        jl, jr = I.cal_fixed_frames_number_segment_index(ev["t"], "number", T)
        di = n // T
        assert np.array_equal(jl, di * np.arange(T))
        assert np.array_equal(jr, np.r_[di * np.arange(1, T), n])
        # building block, with Python slice semantics for j_l / j_r
        for jl_, jr_ in ((0, None), (3, n // 2), (0, -1), (-5, None), (n, 0)):
            f = I.integrate_events_segment_to_frame(ev["x"], ev["y"], ev["p"], H, W, jl_, jr_)
            lo, hi, _ = slice(jl_, jr_).indices(n)
            assert f.shape == (2, H, W) and same(f, ref_frame(ev, idx_mask(n, lo, hi), H, W))


def test_hypothesis_rules():
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    @hyp.settings(max_examples=60, deadline=None)
    @hyp.given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 3), st.integers(0, 2),
                                  st.integers(0, 1)), max_size=40),
               st.integers(1, 8), st.integers(1, 60))
    def check(rows, T, D):
        rows = sorted(rows)
        a = np.array(rows, np.int64).reshape(-1, 4)
        ev = make_events(a[:, 0], a[:, 1], a[:, 2], a[:, 3])
        H, W = 3, 4
        assert same(I.to_frames(ev, H, W, split_by="number", frames_number=T),
                    ref_number(ev, T, H, W))
        assert same(I.to_frames(ev, H, W, split_by="time", frames_number=T), ref_time(ev, T, H, W))
        assert same(I.to_frames(ev, H, W, duration=D), ref_duration(ev, D, H, W))
        assert same(I.to_frames(ev, H, W, count=T + 1, overlap=T // 2),
                    ref_count(ev, T + 1, H, W, T // 2))

    check()


# ------------------------------------------------------------------------------------------
# Real recordings
# ------------------------------------------------------------------------------------------

REAL_FILES = [("nmnist_bin/tonic_sample_nmnist.bin", 34, 4325),
              ("dvs_gesture/dvsgesture_clip_40bit.bs2", 128, 63471)]


@pytest.mark.parametrize("rel,size,n_expected", REAL_FILES)
def test_rules_match_reference_real(rel, size, n_expected):
    ev = decode_40bit(real_file(rel))
    assert len(ev["t"]) == n_expected
    H = W = size
    for T in (1, 10, 20):
        assert same(I.integrate_events_by_fixed_frames_number(ev, "number", T, H, W),
                    ref_number(ev, T, H, W))
        assert same(I.integrate_events_by_fixed_frames_number(ev, "time", T, H, W),
                    ref_time(ev, T, H, W))
    for D in (10_000, 300_000, 1_000_000):
        assert same(I.integrate_events_by_fixed_duration(ev, D, H, W), ref_duration(ev, D, H, W))
    assert same(I.to_frames(ev, H, W, count=1000, overlap=250), ref_count(ev, 1000, H, W, 250))
    assert same(I.to_frames(ev, H, W, count=1000, include_incomplete=False),
                ref_count(ev, 1000, H, W, 0, False))
    fr = I.to_frames(ev, H, W, split_by="number", frames_number=20)
    assert fr.dtype == np.uint16 and int(fr.sum()) == len(ev["t"])
    assert int(fr[:, 1].sum()) == int(ev["p"].sum())


# ------------------------------------------------------------------------------------------
# Edge cases
# ------------------------------------------------------------------------------------------

def test_more_frames_than_events_and_tiny_inputs():
    H, W = 4, 5
    ev1 = make_events([7], [1], [2], [1])
    for sb in ("number", "time"):
        fr = I.to_frames(ev1, H, W, split_by=sb, frames_number=6)
        assert fr.shape == (6, 2, H, W) and fr[:5].sum() == 0 and fr[5, 1, 2, 1] == 1
    assert I.to_frames(ev1, H, W, duration=100).shape == (1, 2, H, W)
    assert I.to_frames(ev1, H, W, count=10).shape == (1, 2, H, W)
    assert I.to_frames(ev1, H, W, count=10, include_incomplete=False).shape == (0, 2, H, W)

    ev3 = make_events([1, 2, 3], [0, 1, 2], [0, 0, 0], [0, 1, 0])
    fr = I.to_frames(ev3, H, W, split_by="number", frames_number=5)
    assert same(fr, ref_number(ev3, 5, H, W)) and fr[4].sum() == 3

    ev0 = make_events([], [], [], [])
    for sb in ("number", "time"):
        fr = I.to_frames(ev0, H, W, split_by=sb, frames_number=4)
        assert fr.shape == (4, 2, H, W) and fr.sum() == 0
    assert I.to_frames(ev0, H, W, duration=10).shape == (0, 2, H, W)
    assert I.to_frames(ev0, H, W, count=10).shape == (0, 2, H, W)
    assert I.integrate_events_by_fixed_duration(ev0, 10, H, W).shape == (0, 2, H, W)
    s, e = I.cal_fixed_frames_number_segment_index(np.zeros(0, np.int64), "time", 3)
    assert s.tolist() == e.tolist() == [0, 0, 0]


def test_all_equal_timestamps():
    rng = np.random.default_rng(3)
    n, H, W = 500, 6, 6
    ev = make_events(np.full(n, 12345), rng.integers(0, W, n), rng.integers(0, H, n),
                     rng.integers(0, 2, n))
    full = ref_frame(ev, np.ones(n, bool), H, W)
    fr = I.integrate_events_by_fixed_duration(ev, 1000, H, W)  # SpikingJelly: T = 0, crash
    assert fr.shape == (1, 2, H, W) and same(fr[0], full)
    fr = I.to_frames(ev, H, W, split_by="time", frames_number=5)  # dt = 0: all in the last frame
    assert fr[:4].sum() == 0 and same(fr[4], full)
    assert same(fr, ref_time(ev, 5, H, W))


def test_duration_boundaries_exact():
    # t relative: 0, 999, 1000, 2000 with D = 1000 -> T = 2; the event at exactly T*D joins the last
    ev = make_events([5, 1004, 1005, 2005], [0, 1, 2, 3], [0, 0, 0, 0], [0, 0, 0, 0])
    s, e = I.bounds_by_duration(ev["t"], 1000)
    assert s.tolist() == [0, 2] and e.tolist() == [2, 4]
    s, e = I.bounds_by_duration(ev["t"], 999)  # ceil(2000/999) = 3
    assert s.tolist() == [0, 1, 3] and e.tolist() == [1, 3, 4]


def test_empty_time_window_gives_empty_frame():
    # SpikingJelly raises IndexError on an empty window; evframes gives an empty frame
    ev = make_events([0, 1, 2, 97, 98, 100], [0] * 6, [0] * 6, [0] * 6)
    fr = I.integrate_events_by_fixed_frames_number(ev, "time", 4, 1, 1)
    assert fr[:, 0, 0, 0].tolist() == [3, 0, 0, 3]
    s, e = I.cal_fixed_frames_number_segment_index(ev["t"], "time", 4)
    assert s.tolist() == [0, 3, 3, 3] and e.tolist() == [3, 3, 3, 6]


# ------------------------------------------------------------------------------------------
# Overlap and count semantics (hand-computed boundaries)
# ------------------------------------------------------------------------------------------

def test_count_and_overlap_bounds():
    s, e = I.bounds_by_count(10, 4)
    assert list(zip(s, e)) == [(0, 4), (4, 8), (8, 10)]
    s, e = I.bounds_by_count(10, 4, include_incomplete=False)
    assert list(zip(s, e)) == [(0, 4), (4, 8)]
    s, e = I.bounds_by_count(10, 4, overlap=2)
    assert list(zip(s, e)) == [(0, 4), (2, 6), (4, 8), (6, 10)]  # (6, 10) reaches N: stop
    s, e = I.bounds_by_count(11, 4, overlap=2)
    assert list(zip(s, e)) == [(0, 4), (2, 6), (4, 8), (6, 10), (8, 11)]
    s, e = I.bounds_by_count(11, 4, overlap=2, include_incomplete=False)
    assert list(zip(s, e)) == [(0, 4), (2, 6), (4, 8), (6, 10)]
    s, e = I.bounds_by_count(3, 4)
    assert list(zip(s, e)) == [(0, 3)]
    assert I.bounds_by_count(3, 4, include_incomplete=False)[0].size == 0
    assert I.bounds_by_count(0, 4)[0].size == 0

    s, e = I.bounds_by_number(10, 3)
    assert list(zip(s, e)) == [(0, 3), (3, 6), (6, 10)]
    s, e = I.bounds_by_number(10, 3, overlap=2)
    assert list(zip(s, e)) == [(0, 5), (3, 8), (6, 10)]
    s, e = I.bounds_by_number(2, 4)
    assert list(zip(s, e)) == [(0, 0), (0, 0), (0, 0), (0, 2)]

    t = np.array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    s, e = I.bounds_by_time(t, 4)  # dt = 25
    assert list(zip(s, e)) == [(0, 3), (3, 5), (5, 8), (8, 11)]
    s, e = I.bounds_by_time(t, 4, overlap=10)  # windows extend 10 us into the next
    assert list(zip(s, e)) == [(0, 4), (3, 6), (5, 9), (8, 11)]

    for bad in (lambda: I.bounds_by_count(10, 4, overlap=4),
                lambda: I.FrameSetting(duration=10, overlap=1),
                lambda: I.FrameSetting(split_by="number", frames_number=3,
                                       include_incomplete=False),
                lambda: I.FrameSetting(count=5, overlap=5),
                lambda: I.FrameSetting(),
                lambda: I.FrameSetting(duration=10, count=5),
                lambda: I.FrameSetting(frames_number=3),
                lambda: I.FrameSetting(split_by="space", frames_number=3),
                lambda: I.FrameSetting(duration=0)):
        with pytest.raises(ValueError):
            bad()


def test_overlapping_segments_kernel():
    rng = np.random.default_rng(5)
    H, W, n = 5, 7, 400
    ev = rand_events(rng, n, H, W)
    starts = np.array([0, 10, 50, 50, 399, 200, 300])
    ends = np.array([100, 20, 400, 50, 400, 100, 400])  # overlapping, empty, inverted (=empty)
    fr = I.integrate_segments(ev, starts, ends, H, W)
    for k in range(len(starts)):
        assert same(fr[k], ref_frame(ev, idx_mask(n, starts[k], max(ends[k], starts[k])), H, W))
    with pytest.raises(ValueError):
        I.integrate_segments(ev, [0], [n + 1], H, W)


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------

def test_invalid_events_refused():
    H, W = 4, 6
    good = dict(t=np.array([1, 2, 3, 4]), x=np.array([0, 1, 5, 2]), y=np.array([0, 3, 1, 2]),
                p=np.array([0, 1, 1, 0]))

    def bad(**kw):
        ev = {k: v.copy() for k, v in good.items()}
        ev.update(kw)
        return ev

    cases = [
        (bad(t=np.array([1, 3, 2, 4])), r"not sorted.*index 2"),
        (bad(x=np.array([0, 1, 6, 2])), r"x=6 at index 2"),
        (bad(x=np.array([0, -1, 1, 2])), r"x=-1 at index 1"),
        (bad(y=np.array([0, 0, 0, 4])), r"y=4 at index 3"),
        (bad(p=np.array([0, 1, 2, 0])), r"p=2 at index 2"),
        (bad(p=np.array([0, -1, 1, 0])), r"p=-1 at index 1"),
    ]
    for ev, msg in cases:
        for call in (lambda ev=ev: I.to_frames(ev, H, W, split_by="number", frames_number=2),
                     lambda ev=ev: I.to_frames(ev, H, W, count=2),
                     lambda ev=ev: I.integrate_events_by_fixed_duration(ev, 2, H, W)):
            with pytest.raises(ValueError, match=msg):
                call()
        with pytest.raises(ValueError, match=msg.replace("index ", "index 1")):
            # inside a batch: sample 1 (events 10..14) is the bad one; indices are global
            cat = {k: np.concatenate([np.arange(10) % 2 if k != "t" else np.arange(10), ev[k]])
                   for k in ("t", "x", "y", "p")}
            I.integrate_batch(cat["t"], cat["x"], cat["y"], cat["p"], [0, 10, 14],
                              I.FrameSetting(split_by="time", frames_number=3), H, W)
    # events after the last complete frame are checked too (count without incomplete frames)
    ev = dict(t=np.arange(5), x=np.array([0, 1, 2, 3, 9]), y=np.zeros(5, int), p=np.zeros(5, int))
    with pytest.raises(ValueError, match="x=9 at index 4"):
        I.to_frames(ev, H, W, count=2, include_incomplete=False)
    with pytest.raises(ValueError, match="x=9 at index 4"):
        I.integrate_batch(ev["t"], ev["x"], ev["y"], ev["p"], [0, 5],
                          I.FrameSetting(count=2, include_incomplete=False), H, W)
    # values that would wrap in 32-bit arithmetic are caught
    ev = dict(t=np.arange(3), x=np.array([0, 2 ** 32 + 1, 0]), y=np.zeros(3, int),
              p=np.zeros(3, int))
    with pytest.raises(ValueError, match="at index 1"):
        I.to_frames(ev, H, W, split_by="number", frames_number=1)
    with pytest.raises(ValueError, match="not sorted"):
        I.bounds_by_time(np.array([3, 2]), 2)
    with pytest.raises(ValueError, match="x=9 at index 0"):
        I.integrate_events_segment_to_frame(np.array([9]), np.array([0]), np.array([0]), H, W)
    with pytest.raises(ValueError):
        I.integrate_events_by_fixed_frames_number(good, "space", 3, H, W)
    with pytest.raises(ValueError):
        I.to_frames(good, H, W, split_by="number", frames_number=0)


# ------------------------------------------------------------------------------------------
# dtype guard
# ------------------------------------------------------------------------------------------

def test_dtype_overflow_guard():
    n = 70_000  # more than 65535 events on one pixel
    ev = make_events(np.arange(n), np.zeros(n), np.zeros(n), np.ones(n))
    fr = I.to_frames(ev, 2, 2, split_by="number", frames_number=1)
    assert fr.dtype == np.int32 and fr[0, 1, 0, 0] == n
    fr = I.to_frames(ev, 2, 2, split_by="number", frames_number=2)  # 35000 per frame fits
    assert fr.dtype == np.uint16 and fr[:, 1, 0, 0].tolist() == [35000, 35000]
    with pytest.raises(ValueError, match="more than dtype uint16"):
        I.to_frames(ev, 2, 2, split_by="number", frames_number=1, dtype=np.uint16)
    with pytest.raises(ValueError, match="int8"):
        I.to_frames(ev, 2, 2, count=200, dtype=np.int8)
    assert I.integrate_events_by_fixed_frames_number(ev, "number", 1, 2, 2)[0, 1, 0, 0] == n
    # a long segment spread over many pixels fits a small dtype: checked on the real maximum
    rng = np.random.default_rng(0)
    ev2 = rand_events(rng, 20_000, 32, 32)
    fr = I.to_frames(ev2, 32, 32, split_by="number", frames_number=1, dtype=np.uint8)
    assert fr.dtype == np.uint8 and same(fr, ref_number(ev2, 1, 32, 32))
    fr = I.to_frames(ev2, 32, 32, split_by="number", frames_number=2, dtype=np.float32)
    assert fr.dtype == np.float32 and same(fr, ref_number(ev2, 2, 32, 32))
    # batch: dtype chosen from the longest segment over all samples
    fr, fo = I.integrate_batch(ev["t"], ev["x"], ev["y"], ev["p"], [0, 10, n],
                               I.FrameSetting(split_by="number", frames_number=1), 2, 2)
    assert fr.dtype == np.int32 and fr[:, 1, 0, 0].tolist() == [10, n - 10]


# ------------------------------------------------------------------------------------------
# Custom callbacks, settings, batch
# ------------------------------------------------------------------------------------------

def two_halves(events, H, W):
    n = len(events["t"])
    x, y, p = events["x"], events["y"], events["p"]
    return np.stack([I.integrate_events_segment_to_frame(x, y, p, H, W, 0, n // 2),
                     I.integrate_events_segment_to_frame(x, y, p, H, W, n // 2, n)])


def test_custom_function():
    rng = np.random.default_rng(8)
    H, W = 6, 7
    ev = rand_events(rng, 101, H, W)
    fr = I.to_frames(ev, H, W, function=two_halves)
    assert same(fr, ref_number(ev, 2, H, W))
    assert same(I.integrate_with_function(dict(ev), two_halves, H, W), fr)
    with pytest.raises(ValueError, match=r"\[T, 2, 6, 7\]"):
        I.integrate_with_function(ev, lambda e, h, w: np.zeros((2, h, w)), H, W)
    with pytest.raises(ValueError, match=r"\[T, 2, 6, 7\]"):
        I.to_frames(ev, H, W, function=lambda e, h, w: np.zeros((1, 2, w, h)))
    torch = pytest.importorskip("torch")
    out = I.integrate_with_function(ev, lambda e, h, w: torch.zeros(3, 2, h, w), H, W)
    assert isinstance(out, np.ndarray) and out.shape == (3, 2, H, W)


def test_frame_setting_names():
    S = I.FrameSetting
    assert S(split_by="number", frames_number=20).name == "frames_number_20_split_by_number"
    assert S(split_by="time", frames_number=16).name == "frames_number_16_split_by_time"
    assert S(split_by="number", frames_number=20, overlap=5).name == \
        "frames_number_20_split_by_number_overlap_5"
    assert S(duration=1_000_000).name == "duration_1000000"
    assert S(count=5000).name == "count_5000"
    assert S(count=5000, overlap=100, include_incomplete=False).name == \
        "count_5000_overlap_100_drop_incomplete"
    assert S(function=two_halves).name == "two_halves"
    assert S(function=two_halves, function_name="halves_v2").name == "halves_v2"
    with pytest.raises(ValueError):
        S(function=lambda e, h, w: None)
    with pytest.raises(ValueError):
        S(function=two_halves, function_name="a/b")
    assert S(split_by="time", frames_number=16).fixed_T == 16
    assert S(duration=10).fixed_T is None and S(count=3).fixed_T is None
    assert S(function=two_halves).fixed_T is None
    assert S(duration=10) == S(duration=10) and hash(S(duration=10)) == hash(S(duration=10))
    assert S(count=9, overlap=2).to_dict()["name"] == "count_9_overlap_2"
    for st in (S(count=9, overlap=2, include_incomplete=False), S(duration=7),
               S(split_by="time", frames_number=4, overlap=3)):
        assert S.from_dict(st.to_dict()) == st


def test_batch_equals_per_sample():
    rng = np.random.default_rng(21)
    H, W = 10, 12
    sizes = [0, 1, 5, 300, 2000, 0, 977]
    samples = [rand_events(rng, n, H, W, span=int(rng.integers(1, 500_000)),
                           t0=int(rng.integers(0, 10**7))) for n in sizes]
    offsets = np.r_[0, np.cumsum(sizes)]
    cat = {k: np.concatenate([s[k] for s in samples]) for k in ("t", "x", "y", "p")}
    settings = [I.FrameSetting(split_by="number", frames_number=7),
                I.FrameSetting(split_by="time", frames_number=7, overlap=1000),
                I.FrameSetting(duration=50_000),
                I.FrameSetting(count=128, overlap=32),
                I.FrameSetting(count=128, include_incomplete=False),
                I.FrameSetting(function=two_halves)]
    for st in settings:
        for nt in (1, 2):
            fr, fo = I.integrate_batch(cat["t"], cat["x"], cat["y"], cat["p"], offsets, st,
                                       H, W, n_threads=nt)
            assert fo.shape == (len(sizes) + 1,) and fo[0] == 0 and fo[-1] == fr.shape[0]
            for s, ev in enumerate(samples):
                assert same(fr[fo[s]:fo[s + 1]], I.integrate(ev, st, H, W)), (st.name, s)
            if st.fixed_T:
                assert np.array_equal(np.diff(fo), np.full(len(sizes), st.fixed_T))
    fr, fo = I.integrate_batch(cat["t"][:0], cat["x"][:0], cat["y"][:0], cat["p"][:0], [0],
                               settings[0], H, W)
    assert fr.shape == (0, 2, H, W) and fo.tolist() == [0]
    with pytest.raises(ValueError, match="offsets"):
        I.integrate_batch(cat["t"], cat["x"], cat["y"], cat["p"], [0, 5], settings[0], H, W)


def test_downsample_events():
    rng = np.random.default_rng(4)
    ev = rand_events(rng, 1000, 34, 34)
    ds, size = I.downsample_events(ev, 4, (34, 34))
    assert size == (9, 9)
    assert np.array_equal(ds["x"], ev["x"] // 4) and np.array_equal(ds["y"], ev["y"] // 4)
    full = I.to_frames(ev, 36, 36, split_by="number", frames_number=3)  # padded to 9*4
    small = I.to_frames(ds, 9, 9, split_by="number", frames_number=3)
    pooled = full.astype(np.int64).reshape(3, 2, 9, 4, 9, 4).sum(axis=(3, 5))
    assert same(small, pooled)
    with pytest.raises(ValueError):
        I.downsample_events(ev, 2, (16, 16))  # events off a 16x16 sensor


def test_input_dtypes_like_spikingjelly_loaders():
    # SpikingJelly's load_ATIS_bin gives uint32 arrays; others give int64, bool p or float t
    rng = np.random.default_rng(9)
    ev = rand_events(rng, 500, 34, 34)
    ref = ref_number(ev, 5, 34, 34)
    for conv in ({k: ev[k].astype(np.uint32) for k in ev},
                 {k: ev[k].astype(np.int64) for k in ev},
                 dict(ev, p=ev["p"].astype(bool), t=ev["t"].astype(np.float64))):
        assert same(I.integrate_events_by_fixed_frames_number(conv, "number", 5, 34, 34), ref)
    with pytest.raises(ValueError, match="integers"):
        I.to_frames(dict(ev, t=ev["t"] + 0.5), 34, 34, duration=1000)
