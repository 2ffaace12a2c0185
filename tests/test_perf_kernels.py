"""Count kernels typed by the input dtypes (issue 16 item 1): values, no copies, errors.

The SpikingJelly-named functions and ``integrate`` take ``x, y, p`` in any integer dtype (p
also bool) and ``t`` int64 or integral float64 as they come, and validate x, y, p in the
counting pass (t in a pass of its own just before). These tests check that such inputs are
not copied, that every dtype gives the values of an independent NumPy reference
(SpikingJelly's formulas with np.bincount on a real DVS128 Gesture clip), and that bad events
are still reported with the same one-line errors, wherever in the chunked pass they sit
(chunk edges, overlaps, the tail after the last frame).
No timings here (benchmarks/bench_integrate.py measures).
"""
from __future__ import annotations

import numpy as np
import pytest

from evframes import integrate as I
from evframes.events import make_events
from evframes.integrate._inputs import _kernel_arrays
from evframes.integrate._kernels import _AHEAD, _CHUNK, _COUNT, _DURATION, _NUMBER, _TIME
from evframes.integrate._t_pass import _T_BLOCK
from evframes.integrate.rules import _bounds, _bounds_t_checked

from helpers import real_file

H = W = 128


def decode_40bit(path):
    b = np.fromfile(path, np.uint8).reshape(-1, 5).astype(np.int64)
    t = ((b[:, 2] & 0x7F) << 16) | (b[:, 3] << 8) | b[:, 4]
    return {"t": t, "x": b[:, 0], "y": b[:, 1], "p": b[:, 2] >> 7}


@pytest.fixture(scope="module")
def clip():
    """63 471 real events (int64 arrays), 128x128."""
    return decode_40bit(real_file("dvs_gesture/dvsgesture_clip_40bit.bs2"))


def sj_frame(ev, lo, hi):
    pos = ev["p"][lo:hi].astype(np.int64) * H * W + ev["y"][lo:hi].astype(np.int64) * W \
        + ev["x"][lo:hi].astype(np.int64)
    return np.bincount(pos, minlength=2 * H * W).reshape(2, H, W).astype(float)


def sj_number(ev, T):
    n = len(ev["t"])
    di = n // T
    return np.stack([sj_frame(ev, j * di, n if j == T - 1 else (j + 1) * di) for j in range(T)])


def sj_time(ev, T):
    t = ev["t"].astype(np.int64)
    dt = (int(t[-1]) - int(t[0])) // T
    lo = [int(np.searchsorted(t, t[0] + j * dt)) for j in range(T)]
    return np.stack([sj_frame(ev, lo[j], lo[j + 1] if j < T - 1 else len(t))
                     for j in range(T)])


def sj_duration(ev, D):
    t = ev["t"].astype(np.int64)
    T = max(1, -(-(int(t[-1]) - int(t[0])) // D))
    lo = [int(np.searchsorted(t, t[0] + k * D)) for k in range(T)] + [len(t)]
    return np.stack([sj_frame(ev, lo[k], lo[k + 1]) for k in range(T)])


DTYPES = [  # (t, x and y, p) as loaders hand them
    (np.int64, np.int64, np.int64),     # SpikingJelly's npz files
    (np.float64, np.int32, np.bool_),
    (np.int64, np.uint64, np.uint64),
    (np.int64, np.int16, np.int8),      # evframes' stores
]


@pytest.mark.parametrize("dts", DTYPES, ids=lambda d: "-".join(np.dtype(x).name for x in d))
def test_sj_functions_every_dtype_no_copies(clip, dts):
    tdt, xdt, pdt = dts
    ev = {"t": clip["t"].astype(tdt), "x": clip["x"].astype(xdt), "y": clip["y"].astype(xdt),
          "p": clip["p"].astype(pdt)}
    got = _kernel_arrays(ev)
    for k, a in zip("txyp", got):  # taken as they are (bool p as a uint8 view)
        assert np.shares_memory(a, ev[k]), k
    fr = I.integrate_events_by_fixed_frames_number(ev, "number", 20, H, W)
    assert fr.dtype == np.float64 and np.array_equal(fr, sj_number(clip, 20))
    fr = I.integrate_events_by_fixed_frames_number(ev, "time", 20, H, W)
    assert fr.dtype == np.float64 and np.array_equal(fr, sj_time(clip, 20))
    fr = I.integrate_events_by_fixed_duration(ev, 50_000, H, W)
    assert fr.dtype == np.float64 and np.array_equal(fr, sj_duration(clip, 50_000))
    seg = I.integrate_events_segment_to_frame(ev["x"], ev["y"], ev["p"], H, W, 1000, 40_000)
    assert seg.dtype == np.float64 and np.array_equal(seg, sj_frame(clip, 1000, 40_000))
    native = I.to_frames(ev, H, W, split_by="number", frames_number=20)
    assert native.dtype == np.uint16 and np.array_equal(native, sj_number(clip, 20))


def test_float_t_beyond_exact_range_is_converted(clip):
    # ends past 2**52 us: the float fast path is not exact there, the int64 path is used
    big = clip["t"] + 2 ** 53
    ev_f = dict(clip, t=big.astype(np.float64))
    ev_i = dict(clip, t=ev_f["t"].astype(np.int64))
    assert _kernel_arrays(ev_f)[0].dtype == np.int64
    for D in (1000, 50_000):
        assert np.array_equal(I.integrate_events_by_fixed_duration(ev_f, D, H, W),
                              I.integrate_events_by_fixed_duration(ev_i, D, H, W))


def events(n, dts=(np.int64, np.int64, np.int64), seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 10 ** 6, n)).astype(dts[0])
    return {"t": t, "x": rng.integers(0, W, n).astype(dts[1]),
            "y": rng.integers(0, H, n).astype(dts[1]), "p": rng.integers(0, 2, n).astype(dts[2])}


@pytest.mark.parametrize("i", sorted({0, _CHUNK - 1, _CHUNK, _CHUNK + 1, 2 * _CHUNK - 1,
                                      2 * _CHUNK, 511, 512, 513, 1023, 1024, 4095, 4096,
                                      4097, 4999}))
def test_unsorted_t_found_at_chunk_edges(i):
    for tdt in (np.int64, np.float64):
        ev = events(5000, (tdt, np.int64, np.int64))
        if i == 0:  # the first event is the latest: t decreases at index 1
            ev["t"][0] = ev["t"][-1] + 5
            at = 1
        else:
            ev["t"][i] = ev["t"][i - 1] - 1
            at = i
        for kw in (dict(split_by="number", frames_number=7, dtype=np.float64),
                   dict(split_by="number", frames_number=3, overlap=700),
                   dict(count=3000, include_incomplete=False),
                   dict(split_by="time", frames_number=7, overlap=40),
                   dict(duration=300)):
            with pytest.raises(ValueError, match=f"decreases at index {at} "):
                I.to_frames(ev, H, W, **kw)


def test_bad_values_in_their_own_dtypes():
    ev = events(3000, (np.int64, np.uint64, np.uint64))
    ev["x"][2047] = 2 ** 63 + 5
    with pytest.raises(ValueError, match=f"x={2 ** 63 + 5} at index 2047 is outside"):
        I.integrate_events_by_fixed_duration(ev, 10_000, H, W)
    ev = events(3000)
    ev["y"][600] = -1
    with pytest.raises(ValueError, match="y=-1 at index 600 is outside"):
        I.integrate_events_by_fixed_frames_number(ev, "time", 5, H, W)
    ev = events(3000)
    ev["p"][2999] = 2  # in the tail after the last complete frame
    with pytest.raises(ValueError, match="p=2 at index 2999"):
        I.to_frames(ev, H, W, count=1000, overlap=1, include_incomplete=False)
    ev = events(3000, (np.int64, np.int32, np.bool_))
    ev["x"][5] = W  # the first bad event is reported, not the first bad chunk's last
    ev["x"][9] = -3
    with pytest.raises(ValueError, match=f"x={W} at index 5 "):
        I.integrate_events_by_fixed_frames_number(ev, "number", 20, H, W)


def test_float_t_with_a_fraction_or_nan():
    for bad in (0.5, np.nan):
        ev = events(2000, (np.float64, np.int64, np.int64))
        ev["t"][1500] += bad
        with pytest.raises(ValueError, match="must hold integers"):
            I.integrate_events_by_fixed_frames_number(ev, "number", 4, H, W)
    one = make_events([1], [2], [3], [1])
    one["t"] = np.array([7.5])
    with pytest.raises(ValueError, match="must hold integers"):
        I.integrate_events_by_fixed_duration(one, 10, H, W)


def test_segment_checks_only_its_events():
    ev = events(3000)
    ev["x"][10] = -5  # before j_l: not read, as in SpikingJelly
    ev["x"][2500] = 999  # at j_r and after: not read either
    fr = I.integrate_events_segment_to_frame(ev["x"], ev["y"], ev["p"], H, W, 100, 2500)
    assert np.array_equal(fr, sj_frame(ev, 100, 2500))
    with pytest.raises(ValueError, match="x=999 at index 2500"):
        I.integrate_events_segment_to_frame(ev["x"], ev["y"], ev["p"], H, W, 100, 2501)


def test_batch_samples_restart_t_and_report_their_sample():
    a, b = events(1500, seed=1), events(1200, seed=2)  # b starts at a lower t: allowed
    cat = {k: np.concatenate([a[k], b[k]]).astype(np.int16 if k in "xy" else
                                                   (np.int8 if k == "p" else np.int64))
           for k in a}
    offsets = np.array([0, 1500, 2700])
    st = I.FrameSetting(split_by="number", frames_number=4)
    fr, fo = I.integrate_batch(cat["t"], cat["x"], cat["y"], cat["p"], offsets, st, H, W)
    assert np.array_equal(fr[fo[1]:fo[2]], I.integrate(b, st, H, W))
    cat["t"][2000] = cat["t"][1999] - 1
    with pytest.raises(ValueError, match="sample 1 .*decreases at index 2000"):
        I.integrate_batch(cat["t"], cat["x"], cat["y"], cat["p"], offsets, st, H, W)


def test_t_checked_in_gaps_between_segments():
    from evframes.integrate._kernels import _hist_checked
    ev = events(3000)
    starts, ends = np.array([0, 2000]), np.array([1000, 3000])

    def run():
        out = np.empty((2, 2 * H * W), np.uint16)
        return _hist_checked(ev["t"], ev["x"], ev["y"], ev["p"], starts, ends, H, W, True,
                             3000, out, False, out), out

    ev["t"][1500] = ev["t"][1499] - 1  # between the segments
    assert run()[0]
    ev["t"][1500] = ev["t"][1499]
    bad, out = run()
    assert not bad
    assert np.array_equal(out.reshape(2, 2, H, W), np.stack([sj_frame(ev, 0, 1000),
                                                             sj_frame(ev, 2000, 3000)]))
    ev["t"][500] = 10 ** 7  # unsorted t: the time rule's windows misplace, t is still checked
    with pytest.raises(ValueError, match="decreases at index 501 "):
        I.integrate_events_by_fixed_frames_number(ev, "time", 4, H, W)


@pytest.mark.parametrize("v", [2 ** 32 + 5, -(2 ** 32) + 5, 2 ** 40 + 2 ** 32 + 1])
@pytest.mark.parametrize("field", ["x", "y", "p"])
def test_64_bit_values_are_never_narrowed_onto_the_sensor(v, field):
    """The range checks run on 32-bit lanes; a 64-bit value whose low 32 bits are on the
    sensor (2**32 + 5 -> 5) is still refused, by its high bits, in every rule."""
    for dts in ((np.int64, np.int64, np.int64), (np.float64, np.int64, np.int64)):
        ev = events(3000, dts)
        ev[field][1234] = v
        with pytest.raises(ValueError, match=f"{field}={v} at index 1234"):
            I.to_frames(ev, H, W, split_by="number", frames_number=20)
        with pytest.raises(ValueError, match=f"{field}={v} at index 1234"):
            I.integrate_events_by_fixed_frames_number(ev, "time", 5, H, W)
    if v > 0:
        ev = events(3000, (np.int64, np.uint64, np.uint64))
        ev[field][1234] = v
        with pytest.raises(ValueError, match=f"{field}={v} at index 1234"):
            I.integrate_events_by_fixed_duration(ev, 10_000, H, W)


@pytest.mark.parametrize("dt", [np.int8, np.int32, np.uint32])  # int16: the store dtype, above
def test_narrow_dtypes_checked_in_their_own_width(dt):
    """Every value a narrow dtype can hold outside 0..W-1 is refused (negatives included),
    and values on the sensor count as the int64 reference does. The edges of the 32-bit
    lanes: sign extension of int8, int32's minimum, uint32's maximum (all ones, as -1)."""
    info = np.iinfo(dt)
    ev = events(3000, (np.int64, dt, np.int8))
    ref = I.to_frames(events(3000), H, W, split_by="number", frames_number=20)
    assert np.array_equal(I.to_frames(ev, H, W, split_by="number", frames_number=20), ref)
    for v in sorted({int(info.min), -1, W, int(info.max)}):
        if not info.min <= v <= info.max or 0 <= v < W:
            continue
        bad = events(3000, (np.int64, dt, np.int8))
        bad["x"][700] = v
        with pytest.raises(ValueError, match=f"x={v} at index 700 is outside"):
            I.to_frames(bad, H, W, split_by="number", frames_number=20)


@pytest.mark.parametrize("n", [_AHEAD + _CHUNK - 1, _AHEAD + _CHUNK, _AHEAD + _CHUNK + 1,
                               3 * _AHEAD + 7])
def test_prefetch_edges_count_every_event(n):
    """x, y, p are prefetched _AHEAD events ahead while a chunk is counted: lengths around
    where that stops, contiguous int64 / int16 fields and Tonic's N-MNIST records (32-byte
    strided int64 fields), all give the NumPy reference."""
    from evframes.tonic import transforms as TT
    for dts in ((np.int64,) * 3, (np.int64, np.int16, np.int8)):
        ev = events(n, dts, seed=n)
        ref = sj_number({k: v.astype(np.int64) for k, v in ev.items()}, 5)
        assert np.array_equal(I.to_frames(ev, H, W, split_by="number", frames_number=5), ref)
        assert np.array_equal(
            I.integrate_events_by_fixed_frames_number(ev, "number", 5, H, W), ref)
    rec = np.zeros(n, [("x", int), ("y", int), ("t", int), ("p", int)])
    for k in "xytp":
        rec[k] = ev[k]
    got = TT.ToFrame(sensor_size=(W, H, 2), event_count=n)(rec)
    assert got.shape == (1, 2, H, W) and np.array_equal(got[0], sj_frame(ev, 0, n))


def _t_with_runs(n, seed, span):
    """Sorted t with long runs of one timestamp (so windows start inside runs and at block
    edges) and a few big gaps (empty windows)."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([0, 0, 0, 1, 3, 50, span], n)
    t = np.cumsum(steps) - steps[0]
    return t.astype(np.int64)


@pytest.mark.parametrize("n", [1, 2, _T_BLOCK - 1, _T_BLOCK, _T_BLOCK + 1, 2 * _T_BLOCK + 7,
                               20_000])
def test_boundaries_found_in_the_t_pass_equal_the_binary_searches(n):
    # the time rules' boundaries are searched block by block inside the t pass: they must
    # equal np.searchsorted over the whole t (_bounds), for every window edge, wherever it
    # falls (inside a run of equal t, on a block edge, past the end, in an empty window)
    for seed, span in ((0, 997), (1, 5), (2, 100_000)):
        t = _t_with_runs(n, seed, span)
        for tt in (t, t.astype(np.float64)):
            cases = [(_TIME, dict(T=T, overlap=o)) for T in (1, 3, 20, 97) for o in (0, 7, 5000)]
            span_all = int(t[-1] - t[0])  # D from 1 window to 300 windows, and one more
            cases += [(_DURATION, dict(D=max(1, span_all // k))) for k in (1, 7, 50, 300)]
            cases += [(_DURATION, dict(D=10 ** 9)), (_DURATION, dict(D=span_all + 1))]
            cases += [(_NUMBER, dict(T=7, overlap=3)), (_COUNT, dict(C=1000, overlap=10))]
            for rule, kw in cases:
                s0, e0 = _bounds(rule, tt, n, **kw)
                s1, e1, bad = _bounds_t_checked(rule, tt, **kw)
                assert not bad
                np.testing.assert_array_equal(s1, s0, err_msg=f"{rule} {kw} starts")
                np.testing.assert_array_equal(e1, e0, err_msg=f"{rule} {kw} ends")


def test_windows_straddling_t_blocks_count_every_event():
    # 3 * _T_BLOCK events whose duration windows end exactly at, before and after block edges
    n = 3 * _T_BLOCK
    t = np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(4)
    ev = {"t": t, "x": rng.integers(0, W, n), "y": rng.integers(0, H, n),
          "p": rng.integers(0, 2, n)}
    for D in (_T_BLOCK, _T_BLOCK - 1, _T_BLOCK + 1, 1000):
        np.testing.assert_array_equal(I.integrate_events_by_fixed_duration(ev, D, H, W),
                                      sj_duration(ev, D))
    for T in (3, 7):
        np.testing.assert_array_equal(
            I.integrate_events_by_fixed_frames_number(ev, "time", T, H, W), sj_time(ev, T))


def test_empty_and_one_timestamp_boundaries():
    for t in (np.zeros(0, np.int64), np.full(5000, 7, np.int64)):
        for rule, kw in ((_TIME, dict(T=4, overlap=2)), (_DURATION, dict(D=10))):
            s0, e0 = _bounds(rule, t, t.shape[0], **kw)
            s1, e1, bad = _bounds_t_checked(rule, t, **kw)
            assert not bad and np.array_equal(s1, s0) and np.array_equal(e1, e0)
