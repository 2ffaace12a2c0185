"""evframes.integrate.torch on the CPU: bit-for-bit equality with the Numba batch kernels
(integrate_batch) over every rule, edge cases and random batches; the same refusals."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from evframes import integrate as I
from evframes.events import make_events
from evframes.integrate import torch as IT
from evframes.integrate.setting import FrameSetting

SETTINGS = [
    FrameSetting(split_by="number", frames_number=1),
    FrameSetting(split_by="number", frames_number=5),
    FrameSetting(split_by="number", frames_number=7, overlap=3),
    FrameSetting(split_by="number", frames_number=40),  # T > N for many samples
    FrameSetting(split_by="time", frames_number=1),
    FrameSetting(split_by="time", frames_number=6),
    FrameSetting(split_by="time", frames_number=9, overlap=250),
    FrameSetting(split_by="time", frames_number=50),  # many empty windows
    FrameSetting(duration=1),
    FrameSetting(duration=300),
    FrameSetting(duration=10 ** 9),
    FrameSetting(count=1),
    FrameSetting(count=7),
    FrameSetting(count=7, overlap=3),
    FrameSetting(count=10, overlap=9, include_incomplete=False),
    FrameSetting(count=25, include_incomplete=False),
    FrameSetting(split_by="number", frames_number=4, downsample=3),
    FrameSetting(count=6, overlap=2, downsample=2),
]
IDS = [s.dir_name for s in SETTINGS]


def random_batch(rng, n_samples, H, W, max_n=60, span=3000, empty=0.15, repeat=0.3):
    """Flat numpy batch: random lengths (some 0), sorted t with repeated timestamps."""
    ts, xs, ys, ps, lens = [], [], [], [], []
    for _ in range(n_samples):
        n = 0 if rng.random() < empty else int(rng.integers(1, max_n))
        t = np.sort(rng.integers(0, span, n)) + int(rng.integers(-10 ** 6, 10 ** 6))
        if n and rng.random() < repeat:  # clusters of equal timestamps
            t = np.sort(np.repeat(t[: -(-n // 4)], 4)[:n])
        ts.append(t.astype(np.int64))
        xs.append(rng.integers(0, W, n).astype(np.int16))
        ys.append(rng.integers(0, H, n).astype(np.int16))
        ps.append(rng.integers(0, 2, n).astype(np.int8))
        lens.append(n)
    off = np.zeros(n_samples + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    cat = (lambda a, d: np.concatenate(a) if a else np.zeros(0, d))
    return (cat(ts, np.int64), cat(xs, np.int16), cat(ys, np.int16), cat(ps, np.int8), off)


def numba_frames(t, x, y, p, off, setting, H, W, dtype=None):
    k = setting.downsample
    if k > 1:
        x, y = I.core.downsample_coords(x, y, k)
    return I.integrate_batch(t, x, y, p, off, setting, H, W, dtype=dtype)


def torch_frames(t, x, y, p, off, setting, H, W, **kw):
    return IT.frames_by_setting(torch.from_numpy(t), torch.from_numpy(x), torch.from_numpy(y),
                                torch.from_numpy(p), torch.from_numpy(off), setting, H, W, **kw)


def assert_same(t, x, y, p, off, setting, H, W, dtype=None):
    ref, ref_off = numba_frames(t, x, y, p, off, setting, H, W, dtype=dtype)
    got, got_off = torch_frames(t, x, y, p, off, setting, H, W, dtype=dtype)
    assert got.device.type == "cpu"
    g = got.numpy()
    assert g.dtype == ref.dtype, (g.dtype, ref.dtype)
    assert g.shape == ref.shape, (g.shape, ref.shape)
    assert np.array_equal(g, ref)
    assert np.array_equal(got_off.numpy(), ref_off)
    return ref, ref_off


# ------------------------------------------------------------------------------------------
# Equality with the Numba kernels
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting", SETTINGS, ids=IDS)
def test_random_batches_equal_numba(setting):
    rng = np.random.default_rng(abs(hash(setting.dir_name)) % 2 ** 32)
    H, W = 5, 7
    for _ in range(4):
        b = random_batch(rng, int(rng.integers(1, 12)), H * setting.downsample,
                         W * setting.downsample)
        assert_same(*b, setting, H, W)


@pytest.mark.parametrize("setting", SETTINGS, ids=IDS)
def test_edge_cases_equal_numba(setting):
    H, W = 3, 4
    cases = _edge_cases(H, W, setting.downsample)
    for name, b in cases.items():
        assert_same(*b, setting, H, W), name


def test_frame_bounds_equal_numba():
    rng = np.random.default_rng(3)
    t, x, y, p, off = random_batch(rng, 30, 4, 4)
    for s in SETTINGS:
        starts, ends, fo = IT.frame_bounds(torch.from_numpy(t), torch.from_numpy(off), s)
        for i in range(off.size - 1):
            lo, hi = int(off[i]), int(off[i + 1])
            rs, re = I.frame_bounds(t[lo:hi], s)
            a, b = int(fo[i]), int(fo[i + 1])
            assert np.array_equal(starts[a:b].numpy() - lo, rs), (s.dir_name, i)
            assert np.array_equal(ends[a:b].numpy() - lo, re), (s.dir_name, i)


def test_wide_keys_fall_back_to_one_search_per_sample(monkeypatch):
    monkeypatch.setattr(IT, "_KEY_LIMIT", 0)
    rng = np.random.default_rng(5)
    b = random_batch(rng, 9, 4, 5)
    for s in SETTINGS:
        if s.kind in ("time", "duration") and s.downsample == 1:
            assert_same(*b, s, 4, 5)


def test_large_times_and_long_segments_int32():
    # timestamps near 2**60 and a frame of more than 65535 events: int32, as Numba picks
    n = 70_000
    t = (2 ** 60 + np.arange(n) * 3).astype(np.int64)
    x = (np.arange(n) % 3).astype(np.int16)
    y = np.zeros(n, np.int16)
    p = (np.arange(n) % 2).astype(np.int8)
    off = np.array([0, 10, n])
    for s in (FrameSetting(split_by="number", frames_number=1),
              FrameSetting(split_by="time", frames_number=1), FrameSetting(duration=10 ** 6)):
        ref, _ = assert_same(t, x, y, p, off, s, 1, 3)
        assert ref.dtype == np.int32


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64, np.int64])
def test_explicit_dtype_equal_numba(dtype):
    rng = np.random.default_rng(11)
    b = random_batch(rng, 6, 3, 3)
    for s in (SETTINGS[1], SETTINGS[8], SETTINGS[13]):
        assert_same(*b, s, 3, 3, dtype=dtype)
    got, _ = torch_frames(*b, SETTINGS[1], 3, 3, dtype=torch.float32)
    assert got.dtype == torch.float32


def test_dtype_overflow_refused_like_numba():
    n = 300
    t = np.arange(n, dtype=np.int64)
    x = y = p = np.zeros(n, np.int8)
    off = np.array([0, n])
    s = FrameSetting(split_by="number", frames_number=1)
    with pytest.raises(ValueError) as ref:
        I.integrate_batch(t, x, y, p, off, s, 1, 1, dtype=np.uint8)
    with pytest.raises(ValueError) as got:
        torch_frames(t, x, y, p, off, s, 1, 1, dtype=torch.uint8)
    assert "a pixel counts 300 events" in str(ref.value)
    assert "a pixel counts 300 events" in str(got.value)


def test_stacked_fixed_T():
    rng = np.random.default_rng(2)
    b = random_batch(rng, 5, 4, 4)
    s = FrameSetting(split_by="time", frames_number=3)
    flat, fo = torch_frames(*b, s, 4, 4)
    st, fo2 = torch_frames(*b, s, 4, 4, stacked=True)
    assert st.shape == (5, 3, 2, 4, 4)
    assert torch.equal(st.reshape(flat.shape), flat) and torch.equal(fo, fo2)
    with pytest.raises(ValueError, match="fixed-T"):
        torch_frames(*b, FrameSetting(duration=10), 4, 4, stacked=True)


def test_input_dtypes_numpy_bool_and_integral_floats():
    rng = np.random.default_rng(8)
    t, x, y, p, off = random_batch(rng, 4, 3, 3)
    s = FrameSetting(count=5)
    ref, ref_off = I.integrate_batch(t, x, y, p, off, s, 3, 3)
    got, got_off = IT.frames_by_setting(t, x.astype(np.float32), torch.from_numpy(y).int(),
                                        torch.from_numpy(p.astype(bool)), off.tolist(), s, 3, 3)
    assert np.array_equal(got.numpy(), ref) and np.array_equal(got_off.numpy(), ref_off)
    with pytest.raises(ValueError, match="must hold integers"):
        IT.frames_by_setting(t, x + 0.5, y, p, off, s, 3, 3)


# ------------------------------------------------------------------------------------------
# Refusals (the same messages as integrate_batch)
# ------------------------------------------------------------------------------------------

def _bad_batches():
    base = dict(t=[0, 1, 2, 3, 4, 5], x=[0, 1, 2, 0, 1, 2], y=[0, 1, 0, 1, 0, 1],
                p=[0, 1, 0, 1, 0, 1])
    off = [0, 2, 2, 6]
    cases = []
    for key, i, v in (("x", 4, 3), ("x", 1, -1), ("y", 3, 2), ("y", 5, -4), ("p", 2, 2),
                      ("p", 0, -1), ("t", 4, 2)):
        d = {k: list(a) for k, a in base.items()}
        d[key][i] = v
        cases.append((d, off))
    d = {k: list(a) for k, a in base.items()}
    d["x"][5], d["p"][3] = 9, 3  # two bad events: the first one is named
    cases.append((d, off))
    d = {k: list(a) for k, a in base.items()}
    d["t"] = [5, 6, 0, 1, 2, 3]  # decreasing only across a sample border: fine
    cases.append((d, off))
    return cases


@pytest.mark.parametrize("case", range(len(_bad_batches())))
def test_refusals_match_numba(case):
    d, off = _bad_batches()[case]
    ev = make_events(d["t"], d["x"], d["y"], d["p"])
    args = (ev["t"], ev["x"], ev["y"], ev["p"], np.asarray(off))
    for s in (FrameSetting(split_by="time", frames_number=2),
              FrameSetting(count=10, include_incomplete=False)):
        try:
            ref = I.integrate_batch(*args, s, 2, 3)
        except ValueError as e:
            with pytest.raises(ValueError) as got:
                torch_frames(*args, s, 2, 3)
            assert str(got.value) == str(e)
        else:
            got, got_off = torch_frames(*args, s, 2, 3)
            assert np.array_equal(got.numpy(), ref[0])


def test_bad_offsets_and_settings_refused():
    t = np.arange(4, dtype=np.int64)
    x = y = p = np.zeros(4, np.int8)
    s = FrameSetting(count=2)
    for off in ([], [1, 4], [0, 3], [0, 3, 2, 4]):
        with pytest.raises(ValueError, match="offsets"):
            IT.frames_by_setting(t, x, y, p, off, s, 1, 1)
    with pytest.raises(ValueError, match="differ in length"):
        IT.frames_by_setting(t, x[:3], y, p, [0, 4], s, 1, 1)
    with pytest.raises(ValueError, match="frame size"):
        IT.frames_by_setting(t, x, y, p, [0, 4], s, 0, 1)
    fs = FrameSetting(function=lambda ev, H, W: np.zeros((1, 2, H, W)), function_name="f")
    with pytest.raises(ValueError, match="custom function"):
        IT.frames_by_setting(t, x, y, p, [0, 4], fs, 1, 1)


# ------------------------------------------------------------------------------------------
# collate_events and the layers
# ------------------------------------------------------------------------------------------

def test_collate_events_builds_the_flat_batch():
    rng = np.random.default_rng(4)
    samples = []
    for i, n in enumerate((5, 0, 12, 1)):
        ev = make_events(np.sort(rng.integers(0, 1000, n)), rng.integers(0, 6, n),
                         rng.integers(0, 4, n), rng.integers(0, 2, n))
        samples.append((ev, i % 3))
    t, x, y, p, off, labels = IT.collate_events(samples)
    assert off.tolist() == [0, 5, 5, 17, 18]
    assert t.dtype == torch.int64 and x.dtype == torch.int16 and p.dtype == torch.int8
    assert labels.tolist() == [0, 1, 2, 0]
    s = FrameSetting(split_by="number", frames_number=3)
    frames, fo = IT.frames_by_setting(t, x, y, p, off, s, 4, 6)
    for i, (ev, _) in enumerate(samples):
        assert np.array_equal(frames[fo[i]:fo[i + 1]].numpy(), I.integrate(ev, s, 4, 6))
    t, x, y, p, off, labels = IT.collate_events([])
    assert t.numel() == 0 and off.tolist() == [0] and labels.numel() == 0
    assert IT.collate_events([(samples[0][0], "a")])[5] == ["a"]
    # it works as a DataLoader collate_fn
    loader = torch.utils.data.DataLoader(samples, batch_size=2, collate_fn=IT.collate_events)
    assert [b[4].tolist() for b in loader] == [[0, 5, 5], [0, 12, 13]]


def test_import_integrate_stays_torch_free():
    code = ("import sys, evframes.integrate, evframes.integrate.core, evframes.integrate.rules; "
            "assert 'torch' not in sys.modules, 'torch loaded'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_gpu_check_integrate_rows_on_the_cpu_stand_in(monkeypatch, capsys):
    """benchmarks/gpu_check.py's integrate rows (torch path vs Numba) pass on the CPU and
    fail when the torch path is off by one count."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check_integrate", path)
    gc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gc)
    assert gc.main(["--cpu-stand-in", "--integrate-only"]) == 0
    out = capsys.readouterr().out
    rows = [r for r in out.splitlines() if r.startswith("| integrate ")]
    assert len(rows) == len(gc.INTEGRATE_SETTINGS) and all("| PASS |" in r for r in rows)
    assert all("equal to Numba" in r and "ev/s" in r for r in rows)
    real = gc.frames_by_setting

    def off_by_one(*a, **kw):
        frames, fo = real(*a, **kw)
        frames = frames.to(torch.int64)
        frames[-1, 0, 0, 0] += 1
        return frames.to(torch.uint16), fo
    monkeypatch.setattr(gc, "frames_by_setting", off_by_one)
    assert gc.main(["--cpu-stand-in", "--integrate-only"]) == 1
    assert "| integrate number T=16 | FAIL |" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------
# Representations (evframes.integrate.torch_repr) equal to the Numba kernels
# ------------------------------------------------------------------------------------------

REPRS = [("voxel", {"bins": 3}), ("time_surface", {"tau": 7.5}), ("stacked_histogram", {"bins": 3}),
         ("stacked_histogram", {"bins": 2, "clip": 2}), ("onoff", {}), ("binary", {}),
         ("latest_timestamp", {}), ("event_image", {})]
REPR_IDS = ["-".join([k] + [f"{a}{v}" for a, v in ps.items()]) for k, ps in REPRS]
# every rule, overlap, include_incomplete=False, empty windows, T > N and downsample
REPR_SETTINGS = [SETTINGS[i] for i in (1, 2, 3, 6, 7, 9, 13, 14, 17)]


def with_repr(setting, kind, params):
    import dataclasses
    return dataclasses.replace(setting, representation=kind, repr_params=tuple(params.items()))


def _edge_cases(H, W, k):
    ev = lambda t, x, y, p: (np.asarray(t, np.int64), np.asarray(x, np.int16),  # noqa: E731
                             np.asarray(y, np.int16), np.asarray(p, np.int8))
    return {
        "empty batch": (*ev([], [], [], []), np.zeros(1, np.int64)),
        "one empty sample": (*ev([], [], [], []), np.zeros(2, np.int64)),
        "empty samples around one": (*ev([5], [1], [2], [1]), np.array([0, 0, 0, 1, 1, 1])),
        "single event": (*ev([7], [3 * k], [2 * k], [0]), np.array([0, 1])),
        "one timestamp": (*ev([42] * 9, np.arange(9) % (W * k), np.arange(9) % (H * k),
                              np.arange(9) % 2), np.array([0, 9])),
        "gaps (empty windows)": (*ev([0, 1, 2, 1000, 1001, 5000, 5000, 9999],
                                     [0, 1, 2, 3, 0, 1, 2, 3], [0] * 8, [1, 0] * 4),
                                 np.array([0, 3, 8])),
        "negative times": (*ev([-500, -500, -20, 0, 3], [0, 1, 2, 3, 0], [1] * 5, [0] * 5),
                           np.array([0, 5])),
        "one pixel, many events": (*ev(np.arange(40) * 3, [1] * 40, [1] * 40,
                                       np.arange(40) % 3 == 0), np.array([0, 40])),
    }


@pytest.mark.parametrize("kind,params", REPRS, ids=REPR_IDS)
def test_representations_equal_numba(kind, params):
    """Every representation x every rule setting: random batches and the edge cases equal
    integrate_batch bit for bit (dtype, shape, values, frame offsets)."""
    rng = np.random.default_rng(len(kind) * 1000 + len(params))
    H, W = 4, 5
    for base in REPR_SETTINGS:
        s = with_repr(base, kind, params)
        k = s.downsample
        for _ in range(2):
            b = random_batch(rng, int(rng.integers(1, 10)), H * k, W * k)
            assert_same(*b, s, H, W)
        for name, b in _edge_cases(H, W, k).items():
            assert_same(*b, s, H, W), (s.dir_name, name)


def test_representations_stacked_and_large_times():
    rng = np.random.default_rng(9)
    b = random_batch(rng, 5, 4, 4)
    for kind, params in REPRS:
        s = with_repr(FrameSetting(split_by="time", frames_number=3), kind, params)
        flat, fo = torch_frames(*b, s, 4, 4)
        st, _ = torch_frames(*b, s, 4, 4, stacked=True)
        assert st.shape == (5, 3) + tuple(flat.shape[1:])
        assert torch.equal(st.reshape(flat.shape), flat)
    # timestamps near 2**40 us (float64 time differences still exact)
    t, x, y, p, off = b
    t = t + 2 ** 40
    for kind, params in REPRS + [("voxel", {"bins": 1}), ("time_surface", {"tau": 500})]:
        assert_same(t, x, y, p, off, with_repr(FrameSetting(duration=400), kind, params), 4, 4)


def test_representation_dtype():
    rng = np.random.default_rng(1)
    b = random_batch(rng, 3, 3, 3)
    s = with_repr(FrameSetting(count=4), "voxel", {"bins": 2})
    got, _ = torch_frames(*b, s, 3, 3, dtype=torch.float32)
    assert got.dtype == torch.float32
    got, _ = torch_frames(*b, s, 3, 3, dtype=np.float32)
    with pytest.raises(ValueError, match="cannot be honoured"):
        torch_frames(*b, s, 3, 3, dtype=torch.float64)
    # invalid events are refused before any representation is computed (same messages)
    t, x, y, p, off = b
    x = x.copy()
    x[-1] = 3
    with pytest.raises(ValueError) as ref:
        I.integrate_batch(t, x, y, p, off, s, 3, 3)
    with pytest.raises(ValueError) as got:
        torch_frames(t, x, y, p, off, s, 3, 3)
    # the same sample, pixel and bound (the Numba representation path numbers the event
    # within its sample, the torch path globally as for count frames)
    msg = "sample 2 (events 45..61): x=3 at index {} is outside [0, W=3) pixels"
    assert str(ref.value) in (msg.format(15), msg.format(60))
    assert str(got.value) == msg.format(60)


# ------------------------------------------------------------------------------------------
# HATS (averaged_time_surface): within HATS_ULP float32 ulp of the Numba kernel
# ------------------------------------------------------------------------------------------

HATS_PARAMS = [{"tau": 100.0, "cell": 3, "radius": 1}, {"tau": 7.5, "cell": 5, "radius": 2},
               {"tau": 1e-3, "cell": 2, "radius": 0}]


def _ulp(a, b) -> int:
    """Largest distance in float32 ulp (monotonic integer view) between two float32 arrays."""
    ia = a.astype(np.float32).view(np.int32).astype(np.int64)
    ib = b.astype(np.float32).view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(2 ** 31) - ia, ia)
    ib = np.where(ib < 0, -(2 ** 31) - ib, ib)
    return int(np.abs(ia - ib).max()) if ia.size else 0


def assert_close_hats(t, x, y, p, off, setting, H, W):
    """Dtype, shape, frame offsets equal; values within HATS_ULP float32 ulp (not bit-exact
    by construction: pairwise exps vs the kernel's rescaled running sums, torch_repr.py)."""
    from evframes.integrate.torch_repr import HATS_ULP
    ref, ref_off = numba_frames(t, x, y, p, off, setting, H, W)
    got, got_off = torch_frames(t, x, y, p, off, setting, H, W)
    g = got.numpy()
    assert g.dtype == ref.dtype == np.float32 and g.shape == ref.shape, (g.shape, ref.shape)
    assert np.array_equal(got_off.numpy(), ref_off)
    assert _ulp(g, ref) <= HATS_ULP
    return ref


@pytest.mark.parametrize("params", HATS_PARAMS, ids=["tau100-c3-r1", "tau7.5-c5-r2",
                                                    "tau1e-3-c2-r0"])
def test_hats_close_to_numba(params):
    """HATS x every rule setting (number, time, duration, count, overlap, empty windows,
    downsample): random batches and the edge cases (empty sample, one event, one timestamp,
    empty windows) within HATS_ULP of integrate_batch."""
    rng = np.random.default_rng(int(params["cell"]) * 7 + int(params["radius"]))
    H, W = 7, 8
    for base in REPR_SETTINGS:
        s = with_repr(base, "averaged_time_surface", params)
        k = s.downsample
        for _ in range(2):
            assert_close_hats(*random_batch(rng, int(rng.integers(1, 10)), H * k, W * k),
                              s, H, W)
        for name, b in _edge_cases(H, W, k).items():
            assert_close_hats(*b, s, H, W), (s.dir_name, name)


def test_hats_dense_chunked_large_times(monkeypatch):
    """Dense cells (many pairs), tiny chunks of the pair enumeration, timestamps near 2**40,
    the kernel's rescaling (gaps of far more than 300 tau), stacked output."""
    from evframes.integrate import torch_repr
    rng = np.random.default_rng(5)
    b = random_batch(rng, 4, 10, 10, max_n=600, span=20_000, empty=0.0)
    s = with_repr(FrameSetting(split_by="number", frames_number=3), "averaged_time_surface",
                  {"tau": 2000.0, "cell": 4, "radius": 1})
    whole = assert_close_hats(*b, s, 10, 10)
    assert whole.max() > 1.5  # neighbours really contribute
    monkeypatch.setattr(torch_repr, "_HATS_PAIRS", 97)
    got, _ = torch_frames(*b, s, 10, 10)
    assert _ulp(got.numpy(), whole) <= torch_repr.HATS_ULP
    t, x, y, p, off = b
    assert_close_hats(t + 2 ** 40, x, y, p, off, s, 10, 10)
    st, _ = torch_frames(*b, s, 10, 10, stacked=True)
    assert st.shape == (4, 3, 2, 9, 9) and torch.equal(st.reshape(got.shape), got)
    # one pixel, far-apart bursts: the kernel rescales its sums, the pairs decay to 0
    tt = np.concatenate([np.arange(5), 10 ** 6 + np.arange(5), 2 * 10 ** 6 + np.arange(5)])
    one = (tt.astype(np.int64), np.ones(15, np.int16), np.ones(15, np.int16),
           np.zeros(15, np.int8), np.array([0, 15]))
    s1 = with_repr(FrameSetting(split_by="number", frames_number=1), "averaged_time_surface",
                   {"tau": 10.0, "cell": 3, "radius": 1})
    assert_close_hats(*one, s1, 3, 3)
    with pytest.raises(ValueError, match="cannot be honoured"):
        torch_frames(*b, s, 10, 10, dtype=torch.float64)
