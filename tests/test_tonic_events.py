"""evframes.tonic.transforms' event-to-event transforms against Tonic 1.7 (stored reference values,
no Tonic needed), independent slow references, the cases where Tonic fails, and evframes' own
Denoise taking Tonic's ``filter_time``.

The reference file (tests/data/tonic_events_ref.npz, made by tests/data/make_tonic_events_ref.py
with Tonic 1.7.0) holds, per case, a hash of Tonic's output and of numpy's global generator state
after the call: equal hashes mean equal values, dtype and draws.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import evframes
import evframes.tonic.transforms as T
from evframes import transforms as ours

DATA = Path(__file__).resolve().parent / "data"
REF = np.load(DATA / "tonic_events_ref.npz")
CASES = json.loads(str(REF["cases"]))
REAL_CASES = json.loads(str(REF["real"]))
NMNIST = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
GESTURE = np.dtype([("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")])
AUDIO = np.dtype([("t", "<i8"), ("x", "<i8"), ("p", "<i8")])
SORT_TIES = {"UniformNoise", "TimeJitter:sort"}


def build(name, kwargs_src, sensor):
    kwargs = eval(kwargs_src, {"S": sensor})  # literals written by the generator script
    name = name.split(":")[0]
    if name == "NumpyAsType":
        kwargs["dtype"] = {"int": int, "float32": np.float32}[kwargs["dtype"]]
    if name == "Compose":
        return T.Compose([getattr(T, n)(**k) for n, k in kwargs["transforms"]])
    return getattr(T, name)(**kwargs)


def digest(a, sort_ties=False):
    a = np.ascontiguousarray(a)
    if sort_ties and a.dtype.names:
        a = a[np.lexsort([a[n] for n in reversed(a.dtype.names)])]
    h = hashlib.sha256(f"{a.dtype.str if a.dtype.names is None else a.dtype.descr}"
                       f"{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def state_digest():
    _, key, pos, has_gauss, gauss = np.random.get_state()
    return hashlib.sha256(key.tobytes() + f"{pos},{has_gauss},{gauss!r}".encode()).hexdigest()


def events(n, dtype=NMNIST, W=34, H=34, span=300_000, seed=0, sort=True):
    rng = np.random.default_rng(seed)
    e = np.zeros(n, dtype)
    e["x"] = rng.integers(0, W, n)
    if "y" in dtype.names:
        e["y"] = rng.integers(0, H, n)
    t = rng.integers(0, span, n)
    e["t"] = np.sort(t) if sort else t
    e["p"] = rng.integers(0, 2, n)
    return e


def _case_id(c):
    return f"{c['name']}-{c['kwargs'][5:-1]}-{c['input']}-{c['seed']}"


def test_reference_file_covers_every_transform():
    assert str(REF["tonic"]).startswith("1.7")
    names = {c["name"].split(":")[0] for c in CASES}
    assert names == set(T.event_ops.__all__)


def test_every_case_equals_tonic():
    """All stored cases (about 240: every transform, several parameter sets, three dtypes,
    three seeds) give Tonic's values and leave numpy's generator where Tonic left it."""
    wrong = []
    for c in CASES:
        ev = REF[c["input"]]
        before = ev.copy()
        np.random.seed(c["seed"])
        out = build(c["name"], c["kwargs"], (34, 34, 2))(ev)
        if (digest(out, c["name"] in SORT_TIES), len(out), state_digest()) \
                != (c["out"], c["n"], c["state"]):
            wrong.append(f"{_case_id(c)}: n={len(out)} (Tonic {c['n']})")
        assert np.array_equal(ev, before), f"{_case_id(c)} modified its input"
        if isinstance(out, np.ndarray) and out.size and out is not ev:
            assert not np.shares_memory(out, ev) or c["name"] == "NumpyAsType", _case_id(c)
    assert not wrong, "differ from Tonic 1.7:\n" + "\n".join(wrong)


@pytest.mark.parametrize("case", REAL_CASES, ids=lambda c: f"{c['name']}-{c['file']}")
def test_real_recordings_equal_tonic(case, real_dir):
    ev_ = evframes.read_events(real_dir / case["file"])
    ev = np.zeros(len(ev_["t"]), NMNIST)
    for k in "xytp":
        ev[k] = ev_[k]
    assert digest(ev) == case["in"]
    out = build(case["name"], case["kwargs"], (128, 128, 2))(ev)
    assert (len(out), digest(out)) == (case["n"], case["out"])


# ------------------------------------------------------------------ independent references

def slow_denoise(ev, ft):
    """Tonic's rule written from its definition, per event: for each of the 4 direct
    neighbours inside the (max x + 1) x (max y + 1) grid, look back for the latest earlier
    event there; the neighbour counts when that event is less than ``ft`` before (or, with no
    earlier event, when ``t < ft``)."""
    W, H = int(ev["x"].max()) + 1, int(ev["y"].max()) + 1
    keep = []
    for i, (x, y, t) in enumerate(zip(ev["x"], ev["y"], ev["t"])):
        ok = False
        for nx, ny in ((x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)):
            if not (0 <= nx < W and 0 <= ny < H):
                continue
            prev = [j for j in range(i) if ev["x"][j] == nx and ev["y"][j] == ny]
            last = ev["t"][prev[-1]] if prev else None
            ok |= (t < ft) if last is None else (t - last < ft)
        keep.append(ok)
    return ev[np.array(keep, bool)]


@pytest.mark.parametrize("seed", range(6))
def test_denoise_equals_slow_reference(seed):
    rng = np.random.default_rng(seed)
    n, W = int(rng.integers(1, 300)), int(rng.integers(1, 8))
    ev = events(n, GESTURE if seed % 2 else NMNIST, W=W, H=int(rng.integers(1, 8)),
                span=int(rng.integers(1, 40_000)), seed=seed, sort=seed != 3)
    for ft in (0, 1, 500, 5000, 30000):
        np.testing.assert_array_equal(T.Denoise(ft)(ev), slow_denoise(ev, ft))


def test_denoise_rule_by_hand():
    e = np.zeros(6, NMNIST)
    #        x  y     t     (a 3x2 grid; filter 100 us)
    rows = [(0, 0, 200), (1, 0, 250), (1, 0, 260), (2, 1, 400), (2, 0, 450), (0, 1, 50)]
    for i, (x, y, t) in enumerate(rows):
        e[i] = (x, y, t, 1)
    e = e[np.argsort(e["t"], kind="stable")]
    kept = T.Denoise(filter_time=100)(e)
    # t=50: before filter_time, has neighbours -> kept (the start quirk); (0,0)@200: its
    # neighbours' memories are 100 (start) and 150 -> dropped; (1,0)@250: left fired at 200 ->
    # kept; (1,0)@260 likewise (own pixel does not count, left still 200); (2,1)@400: nothing
    # within 100 -> dropped; (2,0)@450: below (2,1) fired at 400 -> kept
    assert kept["t"].tolist() == [50, 250, 260, 450]
    one = np.zeros(1, NMNIST)
    one["t"] = 50
    assert len(T.Denoise(filter_time=100)(one)) == 0            # 1x1 grid: no neighbour


def test_refractory_and_decimation_rules():
    e = np.zeros(7, NMNIST)
    e["t"] = [0, 5, 100, 150, 151, 400, 401]
    e["x"] = [0, 1, 0, 0, 1, 0, 0]
    kept = T.RefractoryPeriod(delta=100)(e)
    # pixel 0: t=0 dropped (t - (-100) = 100 is not > 100), 100: 100-0 not > 100, 150:
    # 50, 400: 250 kept, 401: 1; pixel 1: 5 kept, 151: 146 kept
    assert kept["t"].tolist() == [5, 151, 400]
    assert T.Decimation(n=2)(e)["t"].tolist() == [100, 151, 400]
    a = np.zeros(5, AUDIO)
    a["x"], a["t"] = [3, 3, 1, 3, 1], [1, 2, 3, 4, 5]
    assert T.Decimation(n=2)(a)["t"].tolist() == [2, 5]


# ------------------------------------------------------------------ where Tonic fails

EMPTY_OK = ["CropTime", "Denoise", "Decimation", "RefractoryPeriod", "TimeAlignment",
            "RandomTimeReversal", "DropEventByTime"]


@pytest.mark.parametrize("name", EMPTY_OK)
def test_empty_input_returns_empty_events(name):
    kwargs = {"Denoise": dict(filter_time=100), "Decimation": dict(n=2),
              "RefractoryPeriod": dict(delta=10), "RandomTimeReversal": dict(p=1.0)}
    out = getattr(T, name)(**kwargs.get(name, {}))(np.zeros(0, GESTURE))
    assert out.dtype == GESTURE and out.shape == (0,)


def test_meant_behaviour_where_tonic_fails():
    ev = events(500, GESTURE)
    crop = T.CropTime(min=1000)
    first = crop(ev[:100])
    assert crop.max is None and len(crop(ev)) == int((ev["t"] >= 1000).sum()) > len(first)
    np.random.seed(3)
    a = T.RandomDropPixel(p=0.3)(ev)                  # Tonic: unpacks 2 values into 3
    np.random.seed(3)
    b = T.RandomDropPixel(p=0.3, sensor_size=(34, 34, 2))(ev)
    np.testing.assert_array_equal(a, b)
    assert 0 < len(a) < len(ev)
    assert np.array_equal(T.DropPixel()(ev), ev)      # Tonic: iterates None
    np.random.seed(4)
    a = T.TimeSkew(coefficient=[0.8, 1.2], offset=[0, 150])(ev)   # Tonic: list * array
    np.random.seed(4)
    np.testing.assert_array_equal(a, T.TimeSkew((0.8, 1.2), (0, 150))(ev))
    with pytest.raises(NotImplementedError):          # Tonic returns the exception class
        T.NumpyAsType(GESTURE)(ev)
    assert len(T.Decimation(n=1000)(ev)) == 0 and T.Decimation(n=1000)(ev).dtype == GESTURE


def test_compose_skips_after_empty_and_repr():
    ev = events(300)
    c = T.Compose([T.DropEvent(p=1.0), T.TimeAlignment()])
    out = c(ev)
    assert len(out) == 0 and out.dtype == NMNIST
    assert repr(c).startswith("Compose(\n    DropEvent(p=1.0)\n    TimeAlignment()")


def test_bad_input_errors_name_the_transform():
    with pytest.raises(TypeError, match="Denoise expects Tonic events"):
        T.Denoise(filter_time=10)(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="RandomFlipUD needs the event field"):
        T.RandomFlipUD(sensor_size=(34, 34, 2))(events(10, AUDIO))
    e = events(10)
    e["x"][3] = -1
    with pytest.raises(ValueError, match="Denoise: negative pixel coordinates"):
        T.Denoise(filter_time=10)(e)
    with pytest.raises(ValueError, match="DropEvent: p must be"):
        T.DropEvent(p=1.5)
    with pytest.raises(ValueError, match="target_size"):
        T.RandomCrop(sensor_size=(34, 34, 2), target_size=(40, 10))


def test_rasters():
    frames = np.random.default_rng(0).integers(0, 5, (3, 2, 6, 7)).astype(np.int16)
    before = frames.copy()
    out = T.DropPixel(coordinates=[(1, 2), (6, 5)])(frames)
    assert (out[..., 2, 1] == 0).all() and (out[..., 5, 6] == 0).all()
    assert out.sum() == frames.sum() - frames[..., 2, 1].sum() - frames[..., 5, 6].sum()
    hot = T.DropPixel(hot_pixel_frequency=40)(frames)
    assert (hot.sum((0, 1)) == np.where(frames.sum((0, 1)) > 40, 0, frames.sum((0, 1)))).all()
    np.testing.assert_array_equal(T.RandomTimeReversal(p=1.0)(frames), frames[::-1, ::-1])
    np.random.seed(0)
    mask = (np.random.rand(7, 6) < 0.5).T
    np.random.seed(0)
    r = T.RandomDropPixel(p=0.5)(frames)
    np.testing.assert_array_equal(r, np.where(mask, 0, frames))
    np.testing.assert_array_equal(frames, before)     # Tonic zeroes in place; we copy


# ------------------------------------------------------------------ evframes' own Denoise

def test_own_denoise_takes_filter_time_and_4_neighbours():
    ev = {k: events(2000, span=200_000)[k] for k in "xytp"}
    a = ours.Denoise(filter_time=10000)(ev)
    b = ours.Denoise(filter_time_us=10000)(ev)
    assert all(np.array_equal(a[k], b[k]) for k in "txyp")
    assert ours.Denoise(filter_time=10000).connectivity == 8
    with pytest.raises(ValueError, match="filter_time"):
        ours.Denoise(filter_time=10, filter_time_us=20)
    # connectivity=4 is Tonic's rule except for Tonic's start quirk (t < filter_time)
    st = np.zeros(len(ev["t"]), NMNIST)
    for k in "xytp":
        st[k] = ev[k]
    four = ours.Denoise(sensor_size=(34, 34), filter_time=10000, connectivity=4)(ev)
    tonic = T.Denoise(filter_time=10000)(st)
    late = tonic["t"] >= 10000
    np.testing.assert_array_equal(four["t"][four["t"] >= 10000], tonic["t"][late])
    f = ours.denoise(ev, (34, 34), filter_time=10000, connectivity=4)
    np.testing.assert_array_equal(f["t"], four["t"])


def test_event_downsampling_where_tonic_fails():
    ev = events(3000, GESTURE, span=100_000)
    kw = dict(sensor_size=(34, 34, 2), target_size=(17, 17), dt=5)
    out_dt = [("x", "<i4"), ("y", "<i4"), ("p", "<i4"), ("t", "<i4")]
    for method in ("integrator", "differentiator"):
        quiet = T.EventDownsampling(downsampling_method=method, noise_threshold=10**6, **kw)
        assert quiet(ev).dtype.descr == out_dt and len(quiet(ev)) == 0   # Tonic: IndexError
        assert len(T.EventDownsampling(downsampling_method=method, **kw)(ev[:0])) == 0
    defaults = T.EventDownsampling(downsampling_method="differentiator", **kw)(ev)
    explicit = T.EventDownsampling(downsampling_method="differentiator", noise_threshold=0,
                                   differentiator_time_bins=2, **kw)(ev)
    np.testing.assert_array_equal(defaults, explicit)
    assert len(defaults) > 0
    with pytest.raises(ValueError, match="downsampling_method"):
        T.EventDownsampling(downsampling_method="naive", **kw)
    ft = events(3000, np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<f8"), ("p", "<i8")]),
                span=100_000)          # float t: Tonic's differentiator fails, ms unscaled here
    kw_us = dict(kw, dt=5000)
    assert len(T.EventDownsampling(downsampling_method="differentiator", noise_threshold=1,
                                   **kw_us)(ft)) > 0


def test_choice_mask_replays_numpy_legacy_choice():
    """DropEvent's replay of np.random.choice(n, k, replace=False): same indices, and numpy's
    global generator (cached Gaussian included) left exactly where numpy leaves it."""
    from evframes.tonic.transforms.event_ops_drop import choice_mask
    for seed in range(5):
        for n, k in ((0, 0), (1, 1), (2, 1), (5, 0), (1000, 300), (4099, 4099), (70001, 1)):
            np.random.seed(seed)
            np.random.normal()
            ref = np.zeros(n, bool)
            ref[np.random.choice(n, k, replace=False)] = True
            after = np.random.get_state(), np.random.random()
            np.random.seed(seed)
            np.random.normal()
            np.testing.assert_array_equal(choice_mask(n, k), ref)
            st = np.random.get_state()
            assert all(np.array_equal(a, b) for a, b in zip(st, after[0]))
            assert np.random.random() == after[1]
