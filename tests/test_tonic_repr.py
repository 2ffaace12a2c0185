"""evframes.tonic's To* transforms: equal to Tonic 1.7 (stored reference values, produced by
``tests/data/make_tonic_repr_ref.py``), to independent slow Python references on random
inputs, and what they return or raise where Tonic crashes. The live comparison with Tonic
is ``test_tonic_repr_peer.py``."""
from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import REAL_DIR, real_file

DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(DATA))

import tonic_repr_cases as C  # noqa: E402

import evframes.tonic as tonic  # noqa: E402
import evframes.tonic.functional as F  # noqa: E402
from evframes.tonic import transforms  # noqa: E402

REF = np.load(DATA / "tonic_repr_ref.npz")
MANIFEST = json.loads(str(REF["manifest"]))
CASES = C.cases()


def _same(ours, stored, ulp=0):
    """``ours`` equal to Tonic's ``stored`` values; ``ulp``: float values may differ by that
    many units in the last place (numpy's ``exp`` loop depends on the CPU: see
    ``tonic_repr_cases.EXP_OUTPUTS``), zeros and the rest exactly equal."""
    if isinstance(stored, dict):
        assert ours.is_sparse and ours.is_coalesced()
        got = C.as_stored(ours)
        for k in ("indices", "values", "shape"):
            assert got[k].dtype == stored[k].dtype and np.array_equal(got[k], stored[k]), k
        return
    ours = np.asarray(ours)
    assert ours.dtype == stored.dtype, (ours.dtype, stored.dtype)
    assert ours.shape == stored.shape, (ours.shape, stored.shape)
    if ulp and not np.array_equal(ours, stored, equal_nan=True):
        assert np.array_equal(ours == 0, stored == 0)
        np.testing.assert_array_max_ulp(ours, stored, maxulp=ulp)
        return
    assert np.array_equal(ours, stored, equal_nan=True), float(np.abs(
        ours.astype(np.float64) - stored.astype(np.float64)).max())


def _stored(i):
    if f"c{i}_out" in REF:
        return REF[f"c{i}_out"]
    return {k: REF[f"c{i}_{k}"] for k in ("indices", "values", "shape")}


def test_reference_file_matches_the_cases():
    assert MANIFEST["tonic"].startswith("1.7")
    assert [c["name"] for c in MANIFEST["cases"]] == [c["name"] for c in CASES]
    for m, c in zip(MANIFEST["cases"], CASES):
        assert m["chain"] == json.loads(json.dumps(c["chain"])), c["name"]
        assert np.array_equal(REF[m["events"]], c["events"]), c["name"]


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c["name"] for c in CASES])
def test_equals_tonic_stored(i):
    case = dict(CASES[i], events=REF[MANIFEST["cases"][i]["events"]])
    _same(C.apply(tonic, case), _stored(i), ulp=1 if C.through_exp(case["chain"]) else 0)


@pytest.mark.parametrize("r", range(len(MANIFEST["real"])),
                         ids=[f"{m['kind']} {m['name']}" for m in MANIFEST["real"]])
def test_real_recordings_equal_tonic(r):
    m = MANIFEST["real"][r]
    real_file(C.REAL_FILES[m["kind"]][0])
    ev = C.real_events(REAL_DIR, m["kind"])
    assert C.digest(ev) == m["events_sha256"], "evframes read other events than Tonic saw"
    v = ev
    for cls, kw in m["chain"]:
        v = getattr(transforms, cls)(**kw)(v)
    if C.digest(v) != m["sha256"]:  # bit for bit, or (exp outputs) equal in float32
        assert C.through_exp(m["chain"]), "differs from Tonic's"
        assert C.digest_f32(v) == m["sha256_f32"], "differs from Tonic's beyond 1 ULP"


@pytest.mark.parametrize("cls", sorted(MANIFEST["fields"]))
def test_dataclass_fields_and_defaults_are_tonics(cls):
    c = getattr(transforms, cls)
    ours = [[f.name, None if f.default is dataclasses.MISSING else repr(f.default)]
            for f in dataclasses.fields(c)]
    ours.append(["frozen", repr(c.__dataclass_params__.frozen)])
    assert ours == MANIFEST["fields"][cls]


def test_import_paths_of_a_tonic_user():
    import evframes.tonic.transforms as T
    assert T.ToFrame is transforms.ToFrame
    assert tonic.functional.to_frame_numpy is F.to_frame_numpy
    assert T.functional.to_voxel_grid_numpy is F.to_voxel_grid_numpy
    assert T.ToFrame((4, 4, 2), n_time_bins=3) == T.ToFrame((4, 4, 2), n_time_bins=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        T.ToFrame((4, 4, 2), n_time_bins=3).n_time_bins = 4


# ---------------------------------------------------------------------------------------------
# Independent slow references (Python loops over the formulas in the docstrings)
# ---------------------------------------------------------------------------------------------

def _first_at_least(t, v):
    return next((i for i, ti in enumerate(t) if ti >= v), len(t))


def ref_windows(ev, mode, value, overlap=0, incl=False, start=None, end=None):
    n = len(ev)
    if mode in ("time_window", "n_time_bins"):
        t = [int(v) for v in ev["t"]]
    if mode == "time_window":
        stride = value - overlap
        start = t[0] if start is None else start
        end = t[-1] if end is None else end
        q = (end - start - value) / stride
        k = max((math.ceil(q) if incl else math.floor(q)) + 1, 1)
        lo = [start + j * stride for j in range(k)]
        return [(_first_at_least(t, a), _first_at_least(t, a + value)) for a in lo]
    if mode == "event_count":
        c, stride = min(value, n), value - overlap
        q = (n - c) / stride
        k = (math.ceil(q) if incl else math.floor(q)) + 1
        return [(int(j * stride), min(int(j * stride) + c, n)) for j in range(k)]
    if mode == "n_time_bins":
        width = (t[-1] - t[0]) // value * (1 + overlap)
        stride = width * (1 - overlap)
        lo = [t[0] + j * stride for j in range(value)]
        return [(_first_at_least(t, a), _first_at_least(t, a + width)) for a in lo]
    c = int(n // value * (1 + overlap))
    stride = int(c * (1 - overlap))
    return [(min(j * stride, n), min(j * stride + c, n)) for j in range(value)]


def ref_frames(ev, sensor, mode, value, **kw):
    W, H, P = sensor
    wins = ref_windows(ev, mode, value, **kw)
    counts = np.zeros((len(wins), P, H, W), np.int64)
    for k, (s, e) in enumerate(wins):
        for i in range(s, e):
            p = 0 if P == 1 else int(ev["p"][i])
            counts[k, p, int(ev["y"][i]), int(ev["x"][i])] += 1  # negatives from the end
    return (((counts + 32768) % 65536) - 32768).astype(np.int16)


def ref_voxel(ev, sensor, B):
    W, H, _ = sensor
    t = [int(v) for v in ev["t"]]
    grid = [0.0] * (B * H * W)
    share = []
    for i in range(len(t)):
        tn = (B * (float(t[i]) - float(t[0]))) / float(t[-1] - t[0])
        b = int(tn)
        p = ev["p"][i]
        pol = 1.0 if ev.dtype["p"] == np.bool_ else (-1.0 if p == 0 else float(p))
        q = int(ev["x"][i]) + int(ev["y"][i]) * W
        share.append((b, q, pol * (1.0 - (tn - b)), pol * (tn - b)))
    for b, q, left, _ in share:       # every left share, then every right share
        if b < B:
            grid[q + b * H * W] += left
    for b, q, _, right in share:
        if b + 1 < B:
            grid[q + (b + 1) * H * W] += right
    return np.array(grid).reshape(B, 1, H, W)


def ref_time_surface(ev, sensor, dt, tau):
    W, H, P = sensor
    t = [int(v) for v in ev["t"]]
    mem = np.full((P, H, W), -np.inf)
    out = []
    for k, (s, e) in enumerate(ref_windows(ev, "time_window", dt)):
        for i in range(s, e):
            mem[int(ev["p"][i]), int(ev["y"][i]), int(ev["x"][i])] = t[i]
        out.append(np.exp(-((k + 1) * dt + t[0] - mem) / tau))
    return np.array(out)


def ref_hats(ev, sensor, cell, S, window, tau):
    W, H, P = sensor
    wg, hg = -(-W // cell), -(-H // cell)
    t32 = ev["t"].astype(np.float32)
    hist = np.zeros((wg * hg, P, S, S))
    count = np.zeros((wg * hg, P))
    r = S // 2
    lo = 0 if ev.dtype["x"].kind == "u" else -r  # Tonic's quirk: unsigned x_j - x_i wraps
    for i in range(len(ev)):
        xi, yi, pi = int(ev["x"][i]), int(ev["y"][i]), max(0, int(ev["p"][i]))
        g = (yi // cell) * wg + xi // cell
        surf = np.zeros((S, S))
        surf[r, r] = 1.0
        for j in range(i):
            xj, yj = int(ev["x"][j]), int(ev["y"][j])
            same = (yj // cell) * wg + xj // cell == g and max(0, int(ev["p"][j])) == pi
            if same and lo <= xj - xi <= r and lo <= yj - yi <= r \
                    and t32[j] >= max(0.0, float(t32[i]) - window):
                surf[yj - yi + r, xj - xi + r] += math.exp(-float(t32[i] - t32[j]) / tau)
        hist[g, pi] += surf
        count[g, pi] += 1
    return hist / np.maximum(count, 1)[:, :, None, None]


RANDOM = [(kind, seed) for kind in ("nmnist", "dvsgesture", "cifar10dvs") for seed in (1, 2)]


@pytest.mark.parametrize("kind,seed", RANDOM)
def test_frames_equal_the_slow_reference(kind, seed):
    rng = np.random.default_rng(seed)
    W, H = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    ev = C.make_events(kind, int(rng.integers(50, 400)), W, H, int(rng.integers(50, 5000)),
                       seed)
    for mode, value, kw in [("time_window", 700, {}), ("time_window", 333.5,
                                                       {"overlap": 100.25, "incl": True}),
                            ("time_window", 500, {"start": -250, "end": 6000}),
                            ("event_count", 37, {"overlap": 5}),
                            ("event_count", 45, {"incl": True}), ("n_time_bins", 7, {}),
                            ("n_time_bins", 5, {"overlap": 0.3}), ("n_event_bins", 6, {}),
                            ("n_event_bins", 4, {"overlap": 0.5})]:
        args = {"overlap": kw.get("overlap", 0)}
        if mode in ("time_window", "event_count"):
            args["include_incomplete"] = kw.get("incl", False)
        if "start" in kw:
            args.update(start_time=kw["start"], end_time=kw["end"])
        for P in (2, 1):
            e = ev.copy()
            if P == 1:
                e["p"] = e["p"][0]
            got = transforms.ToFrame((W, H, P), **{mode: value}, **args)(e)
            want = ref_frames(e, (W, H, P), mode, value, **kw)
            assert got.dtype == np.int16 and np.array_equal(got, want), (mode, value, kw, P)


@pytest.mark.parametrize("kind,seed", RANDOM)
def test_voxel_time_surface_hats_equal_the_slow_reference(kind, seed):
    rng = np.random.default_rng(seed)
    W, H = int(rng.integers(3, 9)), int(rng.integers(3, 9))
    ev = C.make_events(kind, 200, W, H, int(rng.integers(200, 5000)), seed + 10)
    for B in (1, 4, 9):
        got = transforms.ToVoxelGrid((W, H, 2), B)(ev)
        assert got.dtype == np.float64 and np.array_equal(got, ref_voxel(ev, (W, H, 2), B))
    dt, tau = int(rng.integers(100, 900)), float(rng.integers(100, 2000))
    got = transforms.ToTimesurface((W, H, 2), dt, tau)(ev)
    assert got.dtype == np.float64
    assert np.allclose(got, ref_time_surface(ev, (W, H, 2), dt, tau), rtol=1e-14, atol=0)
    got = transforms.ToAveragedTimesurface((W, H, 2), surface_size=3, cell_size=4,
                                           time_window=800.0, tau=300.0)(ev)
    assert got.dtype == np.float32
    assert np.allclose(got, ref_hats(ev, (W, H, 2), 4, 3, 800.0, 300.0), rtol=1e-5,
                       atol=1e-6)


def test_bina_rep_equals_integer_bits():
    rng = np.random.default_rng(3)
    frames = rng.integers(-2, 3, (12, 2, 3, 4)).astype(np.int16)
    got = transforms.ToBinaRep(n_frames=3, n_bits=4)(frames)
    bits = (frames > 0).reshape(3, 4, 2, 3, 4)
    value = sum(bits[:, k].astype(np.int64) << (3 - k) for k in range(4))
    assert got.dtype == np.float32
    assert np.array_equal(got, value.astype(np.float32) / np.float32(15))


def test_int16_counts_wrap_like_tonic():
    ev = np.zeros(70_000, C.DTYPES["nmnist"])
    ev["t"] = np.arange(70_000)
    img = transforms.ToImage((1, 1, 2))(ev)
    assert img.dtype == np.int16 and img[0, 0, 0] == 70_000 - 65_536


# ---------------------------------------------------------------------------------------------
# Where Tonic crashes: what its formulas mean (named in the docstrings)
# ---------------------------------------------------------------------------------------------

def test_empty_events():
    empty = np.zeros(0, C.DTYPES["dvsgesture"])
    for kw, T in (({"time_window": 10}, 1), ({"event_count": 5}, 1), ({"n_time_bins": 4}, 4),
                  ({"n_event_bins": 3}, 3)):
        got = transforms.ToFrame((5, 3, 2), **kw)(empty)  # Tonic's own shortcut: float64
        assert got.dtype == np.float64 and got.shape == (T, 2, 3, 5) and not got.any()
        got = F.to_frame_numpy(empty, (5, 3, 2), **kw)
        assert got.dtype == np.int16 and got.shape == (T, 2, 3, 5) and not got.any()
    audio = np.zeros(0, C.DTYPES["audio"])
    assert transforms.ToFrame((7, 1, 2), n_time_bins=3)(audio).shape == (3, 2, 7)
    assert transforms.ToImage((5, 3, 2))(empty).shape == (2, 3, 5)
    assert transforms.ToImage((5, 3, 2))(empty).dtype == np.int16
    vox = transforms.ToVoxelGrid((5, 3, 2), 4)(empty)
    assert vox.shape == (4, 1, 3, 5) and not vox.any()
    ts = transforms.ToTimesurface((5, 3, 2), 10, 5)(empty)
    assert ts.shape == (1, 2, 3, 5) and not ts.any()
    sp = transforms.ToSparseTensor((5, 3, 2), time_window=10)(empty)
    assert sp.is_sparse and tuple(sp.shape) == (1, 2, 3, 5) and sp._nnz() == 0
    with pytest.raises(ValueError, match="sensor_size"):
        transforms.ToFrame(None, n_time_bins=3)(empty)


@pytest.mark.parametrize("bool_p", [False, True])
def test_voxel_of_one_timestamp_is_polarity_in_bin_zero(bool_p):
    ev = np.zeros(3, C.DTYPES["dvsgesture" if bool_p else "nmnist"])
    ev["x"], ev["y"], ev["p"], ev["t"] = [0, 1, 1], [0, 0, 2], [1, 0, 0], 42
    got = transforms.ToVoxelGrid((3, 3, 2), 3)(ev)
    want = np.zeros((3, 1, 3, 3))
    want[0, 0, 0, 0] = 1.0
    want[0, 0, 0, 1] = want[0, 0, 2, 1] = 1.0 if bool_p else -1.0  # bool p: Tonic's all +1
    assert np.array_equal(got, want)
    assert np.array_equal(transforms.ToVoxelGrid((3, 3, 2), 3)(ev[:1]), (want * 0 + (
        np.arange(3)[:, None, None, None] == 0) * (np.arange(9).reshape(1, 1, 3, 3) == 0)))


def test_the_callers_events_are_not_written():
    ev = C.make_events("nmnist", 50, 4, 4, 100, 5, pvals=[0, 1])
    keep = ev.copy()
    F.to_voxel_grid_numpy(ev, (4, 4, 2), 3)     # Tonic's function writes p = -1 into them
    one = ev.copy()
    one["p"] = 1
    keep_one = one.copy()
    transforms.ToFrame((4, 4, 1), n_time_bins=2)(one)   # Tonic's writes p = 0
    assert np.array_equal(ev, keep) and np.array_equal(one, keep_one)


def test_missing_fields_audio_and_no_t():
    ev = C.make_events("audio", 60, 6, 1, 500, 7)
    got = transforms.ToFrame((6, 1, 2), event_count=20)(ev)
    assert got.shape == (3, 2, 6) and got.sum() == 60
    no_t = np.zeros(10, [("x", int), ("y", int), ("p", int)])
    assert transforms.ToFrame((2, 2, 2), n_event_bins=2)(no_t).sum() == 10  # t unused
    no_p = np.zeros(10, [("x", int), ("y", int), ("t", int)])
    assert transforms.ToImage((2, 2, 1))(no_p)[0, 0, 0] == 10
    with pytest.raises(ValueError, match="no 'p'"):
        transforms.ToImage((2, 2, 2))(no_p)
    with pytest.raises(ValueError, match="no t"):
        transforms.ToFrame((2, 2, 2), time_window=5)(no_t)


# ---------------------------------------------------------------------------------------------
# Refusals: one clear error naming the problem
# ---------------------------------------------------------------------------------------------

def _ev(n=20, W=4, H=4):
    return C.make_events("nmnist", n, W, H, 1000, 11)


@pytest.mark.parametrize("kw,match", [
    ({"time_window": 10, "event_count": 5}, "exactly one"), ({}, "exactly one"),
    ({"time_window": 0}, "non-zero"), ({"event_count": 5, "overlap": 5}, "must be > 0"),
    ({"time_window": 10, "overlap": 10}, "must be > 0"), ({"n_time_bins": 3, "overlap": 1},
                                                          "< 1")])
def test_bad_slicing_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        transforms.ToFrame((4, 4, 2), **kw)(_ev())


def test_off_sensor_event_names_the_event():
    ev = _ev()
    ev["x"][7] = 4
    for f in (transforms.ToFrame((4, 4, 2), n_time_bins=2), transforms.ToImage((4, 4, 2)),
              transforms.ToTimesurface((4, 4, 2), 100, 10)):
        with pytest.raises(IndexError, match="event 7") as e:
            f(ev)
        assert isinstance(e.value, ValueError)
    ev["x"][7] = 0
    ev["p"][3] = 2
    with pytest.raises(IndexError, match="event 3: p=2"):
        transforms.ToFrame((4, 4, 2), event_count=5)(ev)


def test_voxel_off_grid_event_is_named_and_wrapping_index_counts():
    ev = _ev(40)
    for bool_p in (False, True):
        e = ev.copy()
        if bool_p:
            e = e.astype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "?")])
        e["x"][9] = -1              # NumPy's flat index wraps to the grid's end: kept
        got = transforms.ToVoxelGrid((4, 4, 2), 3)(e)
        assert np.array_equal(got, ref_voxel(e, (4, 4, 2), 3))
        e["y"][-3] = 4 * 3          # past the last bin's cells: np.add.at refuses it
        with pytest.raises(IndexError, match=f"event {len(e) - 3}"):
            transforms.ToVoxelGrid((4, 4, 2), 3)(e)


def test_one_polarity_sensor_refuses_two_polarities():
    with pytest.raises(ValueError, match="Single polarity sensor"):
        transforms.ToFrame((4, 4, 1), n_event_bins=2)(_ev())


def test_unsorted_t_is_refused_where_time_slices():
    ev = _ev()
    ev["t"][15] = 0
    for f in (transforms.ToFrame((4, 4, 2), time_window=100),
              transforms.ToFrame((4, 4, 2), n_time_bins=3), transforms.ToVoxelGrid((4, 4, 2), 3),
              transforms.ToTimesurface((4, 4, 2), 100, 10),
              transforms.ToAveragedTimesurface((4, 4, 2), cell_size=2, surface_size=1)):
        with pytest.raises(ValueError, match="not sorted.*index 15"):
            f(ev)
    got = transforms.ToFrame((4, 4, 2), event_count=5)(ev)  # t unused: as Tonic
    assert np.array_equal(got, ref_frames(ev, (4, 4, 2), "event_count", 5))


def test_other_refusals():
    with pytest.raises(TypeError, match="structured array"):
        transforms.ToFrame((4, 4, 2), n_time_bins=2)(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="2 polarities"):
        transforms.ToVoxelGrid((4, 4, 1), 3)(_ev())
    with pytest.raises(ValueError, match="odd"):
        transforms.ToAveragedTimesurface((4, 4, 2), surface_size=4)(_ev())
    with pytest.raises(ValueError, match="decay"):
        transforms.ToAveragedTimesurface((4, 4, 2), decay="log")(_ev())
    with pytest.raises(ValueError, match="Expected: 2x4=8 frames"):
        transforms.ToBinaRep(n_frames=2, n_bits=4)(np.zeros((6, 2, 3, 3)))
    fl = np.zeros(3, [("x", float), ("y", float), ("t", int), ("p", int)])
    with pytest.raises(TypeError, match="integers"):
        transforms.ToFrame((4, 4, 2), n_event_bins=1)(fl)


def test_one_hot_encoding():
    assert np.array_equal(transforms.ToOneHotEncoding(4)(2), [0.0, 0.0, 1.0, 0.0])
    assert transforms.ToOneHotEncoding(3)(np.array([0, 2])).shape == (2, 3)


def test_exp_outputs_tolerate_one_ulp_and_nothing_more():
    """The 1-ULP allowance for numpy's CPU-dependent ``exp`` (see ``_same``): a value moved by
    one ULP passes, by two or a zero turned nonzero fails, and so does a float32 digest of a
    value moved far."""
    i = next(k for k, c in enumerate(CASES) if c["chain"][0][0] == "ToTimesurface"
             and np.count_nonzero(_stored(k)) > 4)
    stored = _stored(i)
    nz = np.flatnonzero(stored)
    one = stored.copy()
    one.flat[nz[:3]] = np.nextafter(one.flat[nz[:3]], 2.0)
    _same(one, stored, ulp=1)
    with pytest.raises(AssertionError):
        _same(one, stored)
    two = one.copy()
    two.flat[nz[0]] = np.nextafter(two.flat[nz[0]], 2.0)
    with pytest.raises(AssertionError):
        _same(two, stored, ulp=1)
    zero = stored.copy()
    zero.flat[np.flatnonzero(stored == 0)[0]] = 5e-324
    with pytest.raises(AssertionError):
        _same(zero, stored, ulp=1)
    far = stored.copy()
    far.flat[nz[0]] *= 1.001
    assert C.digest_f32(far) != C.digest_f32(stored) == C.digest_f32(one)


@pytest.mark.parametrize("field", ["x", "y", "p"])
@pytest.mark.parametrize("v", [2 ** 32 + 1, -(2 ** 32) + 1, 2 ** 63 - 1, -(2 ** 63)])
def test_tonic_frames_refuse_64_bit_values_whose_low_bits_fit(v, field):
    """N-MNIST-dtype (int64) events: x (y, p) = 2**32 + 1 is outside the frame (np.add.at
    raises); the kernel's range check must not see it as 1. A narrow negative x wraps from
    the end, as NumPy's indexing (and Tonic) does."""
    ev = _ev()
    ev[field][5] = v
    for f in (transforms.ToFrame((4, 4, 2), n_time_bins=2), transforms.ToImage((4, 4, 2)),
              transforms.ToFrame((4, 4, 2), event_count=7)):
        with pytest.raises(IndexError, match="event 5"):
            f(ev)
    ev[field][5] = 0
    ev["x"][5] = -1
    got = transforms.ToImage((4, 4, 2))(ev)
    want = transforms.ToImage((4, 4, 2))(np.concatenate([ev[:5], ev[6:]]))
    want[int(ev["p"][5]), int(ev["y"][5]), 3] += 1
    assert np.array_equal(got, want)


def test_sparse_tensor_indices_are_one_contiguous_block():
    """ToSparseTensor hands torch a contiguous [ndim, nnz] index block (a strided one makes
    torch copy every index), with torch's own values and order."""
    import torch
    ev = _ev(200)
    sp = transforms.ToSparseTensor((4, 4, 2), n_time_bins=3)(ev)
    dense = transforms.ToFrame((4, 4, 2), n_time_bins=3)(ev)
    want = torch.from_numpy(dense).to_sparse()
    assert sp.indices().is_contiguous() and sp.is_coalesced()
    assert torch.equal(sp.indices(), want.indices()) and torch.equal(sp.values(), want.values())


def test_packed_xy_records_count_as_separate_fields():
    """Tonic's DVSGesture records (x, y adjacent int16) take the one-load path; the same
    events with the fields apart take the other: equal frames, equal errors, including a
    negative x that wraps, a y off the frame and a time that decreases."""
    from evframes.integrate._tonic_kernels import packed_xy
    rng = np.random.default_rng(4)
    n = 5000
    packed = np.zeros(n, np.dtype([("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")]))
    apart = np.zeros(n, np.dtype([("t", "<i8"), ("x", "<i2"), ("p", "?"), ("y", "<i2")]))
    cols = {"x": rng.integers(-2, 34, n), "y": rng.integers(0, 34, n),
            "p": rng.integers(0, 2, n).astype(bool), "t": np.sort(rng.integers(0, 10 ** 6, n))}
    for e in (packed, apart):
        for k, v in cols.items():
            e[k] = v
    assert packed_xy(packed["x"], packed["y"]) is not None
    assert packed_xy(apart["x"], apart["y"]) is None
    assert packed_xy(packed["x"][::2], packed["y"][::2]) is not None  # any stride
    ss = (34, 34, 2)
    makers = [lambda: transforms.ToFrame(ss, n_time_bins=7),
              lambda: transforms.ToFrame(ss, event_count=333, overlap=33),
              lambda: transforms.ToImage(ss)]
    for make in makers:
        assert np.array_equal(make()(packed), make()(apart))
        assert np.array_equal(make()(packed[1::3]), make()(apart[1::3]))
    for field, v, err in (("y", 34, IndexError), ("x", -35, IndexError), ("t", 0, ValueError)):
        a, b = packed.copy(), apart.copy()
        a[field][2100] = b[field][2100] = v
        for make in makers[:1]:
            with pytest.raises(err) as ea:
                make()(a)
            with pytest.raises(err) as eb:
                make()(b)
            assert str(ea.value) == str(eb.value)


@pytest.mark.parametrize("at", [90, 95, 99])
def test_unsorted_t_found_after_the_last_window(at):
    """time_window without include_incomplete leaves the tail (t >= 900 here) in no window;
    a decreasing t there is still refused, naming its index, as inside the windows."""
    ev = _ev(100)
    ev["t"] = np.arange(0, 1000, 10)
    ev["t"][at] = ev["t"][at - 1] - 5
    with pytest.raises(ValueError, match=f"not sorted.*index {at} "):
        transforms.ToFrame((4, 4, 2), time_window=300)(ev)
