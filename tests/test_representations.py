"""Representations (evframes.integrate.representations) against slow pure-Python references.

The references are written from the formulas in the module docstring (and Tonic's / RVT's /
E2VID's published definitions they follow), event by event with Python ints and floats, not
from evframes' kernels.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from evframes import integrate as I
from evframes.integrate import representations as R

H, W = 12, 16


def rand_events(rng, n, span=20_000, t0=1_000, H=H, W=W):
    return {"t": np.sort(rng.integers(t0, t0 + span, n)).astype(np.int64),
            "x": rng.integers(0, W, n).astype(np.uint16),
            "y": rng.integers(0, H, n).astype(np.uint16),
            "p": rng.integers(0, 2, n).astype(np.uint8)}


def ev_list(ev, lo, hi):
    return [(int(ev["t"][i]), int(ev["x"][i]), int(ev["y"][i]), int(ev["p"][i]))
            for i in range(lo, hi)]


# ------------------------------------------------------------------------------------------
# Slow references (one window each)
# ------------------------------------------------------------------------------------------

def ref_voxel(evs, B):
    g = np.zeros((B, H, W))
    if not evs:
        return g
    t0, tl = evs[0][0], evs[-1][0]
    for t, x, y, p in evs:
        tn = B * (t - t0) / (tl - t0) if tl > t0 else 0.0
        b = math.floor(tn)
        d = tn - b
        pol = 1.0 if p else -1.0
        if b < B:
            g[b, y, x] += pol * (1 - d)
        if b + 1 < B:
            g[b + 1, y, x] += pol * d
    return g


def ref_time_surface(evs_upto_end, te, tau):
    mem = {}
    for t, x, y, p in evs_upto_end:
        mem[(p, y, x)] = t
    g = np.zeros((2, H, W))
    for (p, y, x), t in mem.items():
        g[p, y, x] = math.exp(-(te - t) / tau)
    return g


def ref_hats(evs, cell, radius, tau):
    S = 2 * radius + 1
    Hc, Wc = -(-H // cell), -(-W // cell)
    hist = np.zeros((Hc * Wc, 2, S, S))
    cnt = np.zeros((Hc * Wc, 2))
    for i, (ti, xi, yi, pi) in enumerate(evs):
        g = (yi // cell) * Wc + xi // cell
        surf = np.zeros((S, S))
        surf[radius, radius] = 1.0
        for tj, xj, yj, pj in evs[:i]:
            if pj != pi or (yj // cell) * Wc + xj // cell != g:
                continue
            if abs(xj - xi) <= radius and abs(yj - yi) <= radius:
                surf[yj - yi + radius, xj - xi + radius] += math.exp(-(ti - tj) / tau)
        hist[g, pi] += surf
        cnt[g, pi] += 1
    hist /= np.maximum(cnt, 1)[:, :, None, None]
    img = np.zeros((2, Hc * S, Wc * S))
    for g in range(Hc * Wc):
        gy, gx = divmod(g, Wc)
        img[:, gy * S:(gy + 1) * S, gx * S:(gx + 1) * S] = hist[g]
    return img


def ref_stacked(evs, B, clip):
    g = np.zeros((2 * B, H, W), np.int64)
    if not evs:
        return g
    t0, tl = evs[0][0], evs[-1][0]
    for t, x, y, p in evs:
        b = min(B - 1, (B * (t - t0)) // max(tl - t0, 1))
        g[p * B + b, y, x] += 1
    return np.minimum(g, clip)


def ref_onoff(evs):
    g = np.zeros((1, H, W), np.int64)
    for _t, x, y, p in evs:
        g[0, y, x] += 1 if p else -1
    return g


def ref_counts(evs):
    g = np.zeros((2, H, W), np.int64)
    for _t, x, y, p in evs:
        g[p, y, x] += 1
    return g


def ref_latest(evs, ts):
    g = np.full((2, H, W), -1, np.int64)
    for t, x, y, p in evs:
        g[p, y, x] = t - ts
    return g


def reference(kind, ev, starts, ends, params, ts=None, te=None):
    out = []
    for k, (s, e) in enumerate(zip(starts, ends)):
        evs = ev_list(ev, int(s), max(int(s), int(e)))
        if kind == "voxel":
            out.append(ref_voxel(evs, params["bins"]))
        elif kind == "time_surface":
            out.append(ref_time_surface(ev_list(ev, 0, int(e)), int(te[k]), params["tau"]))
        elif kind == "averaged_time_surface":
            out.append(ref_hats(evs, params.get("cell", 10), params.get("radius", 2),
                                params["tau"]))
        elif kind == "stacked_histogram":
            out.append(ref_stacked(evs, params["bins"], params.get("clip", 255)))
        elif kind == "onoff":
            out.append(ref_onoff(evs))
        elif kind in ("event_image",):
            out.append(ref_counts(evs))
        elif kind == "binary":
            out.append(np.minimum(ref_counts(evs), 1))
        elif kind == "latest_timestamp":
            out.append(ref_latest(evs, int(ts[k])))
    return np.stack(out) if out else None


PARAMS = {"voxel": {"bins": 5}, "time_surface": {"tau": 3_000},
          "averaged_time_surface": {"tau": 2_000, "cell": 5, "radius": 1},
          "stacked_histogram": {"bins": 3, "clip": 4}, "onoff": {}, "event_image": {},
          "binary": {}, "latest_timestamp": {}}
DTYPES = {"voxel": np.float32, "time_surface": np.float32, "averaged_time_surface": np.float32,
          "stacked_histogram": np.uint8, "onoff": np.int16, "event_image": np.uint16,
          "binary": np.uint8, "latest_timestamp": np.int64}


def check_equal(kind, got, ref):
    assert got.dtype == DTYPES[kind]
    assert got.shape == ref.shape
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, ref)


def windows(ev, rng):
    """Rule windows and hand-made ones (empty, overlapping, single event, out of order)."""
    n = len(ev["t"])
    yield I.bounds_by_number(n, 4, overlap=7)
    yield I.bounds_by_time(ev["t"], 5)
    yield I.bounds_by_duration(ev["t"], 4_000)
    yield I.bounds_by_count(n, 50, overlap=10)
    yield np.array([0, 3, 3, 10, 5]), np.array([n, 3, 4, 60, 40])


@pytest.mark.parametrize("kind", R.REPRESENTATIONS)
def test_matches_reference_random(kind):
    rng = np.random.default_rng(R.REPRESENTATIONS.index(kind))
    params = PARAMS[kind]
    for n in (0, 1, 200):
        ev = rand_events(rng, n)
        for starts, ends in (windows(ev, rng) if n > 60 else [I.bounds_by_number(n, 3)]):
            ts, te = R.window_times(ev["t"], starts, ends)
            got = R.represent(kind, ev["t"], ev["x"], ev["y"], ev["p"], starts, ends, H, W,
                              **params)
            ref = reference(kind, ev, starts, ends, params, ts, te)
            check_equal(kind, got, ref)


@pytest.mark.parametrize("kind", R.REPRESENTATIONS)
def test_one_timestamp_and_single_event(kind):
    rng = np.random.default_rng(5)
    params = PARAMS[kind]
    for n in (1, 40):
        ev = rand_events(rng, n)
        ev["t"][:] = 777
        ts, te = R.window_times(ev["t"], [0], [n])
        got = R.represent(kind, ev["t"], ev["x"], ev["y"], ev["p"], None, None, H, W, **params)
        check_equal(kind, got, reference(kind, ev, [0], [n], params, ts, te))
    if kind == "voxel":  # everything in bin 0 with weight +-1 (E2VID's deltaT = 1)
        assert np.array_equal(got[0, 1:], np.zeros_like(got[0, 1:]))
        onoff = R.onoff_frames(ev["t"], ev["x"], ev["y"], ev["p"], H, W)
        assert np.array_equal(got[0, 0], onoff[0, 0].astype(np.float32))


def test_voxel_last_event_adds_nothing_like_tonic():
    ev = {"t": np.array([0, 50, 100]), "x": np.array([0, 1, 2]), "y": np.zeros(3, int),
          "p": np.array([1, 0, 1])}
    g = R.voxel_grid(ev["t"], ev["x"], ev["y"], ev["p"], 1, 3, bins=2)
    assert g.shape == (1, 2, 1, 3)
    assert g[0, :, 0, 0].tolist() == [1.0, 0.0]    # tn = 0
    assert g[0, :, 0, 1].tolist() == [0.0, -1.0]   # tn = 1
    assert g[0, :, 0, 2].tolist() == [0.0, 0.0]    # tn = 2 = bins: dropped as in Tonic


def test_time_surface_duration_samples_at_slice_ends_like_tonic():
    rng = np.random.default_rng(3)
    ev = rand_events(rng, 300)
    D, tau = 3_000, 2_500
    s = I.FrameSetting(duration=D, representation="time_surface", repr_params={"tau": tau})
    got = I.integrate(ev, s, H, W)
    starts, ends = I.frame_bounds(ev["t"], s)
    t0 = int(ev["t"][0])
    te = [t0 + (k + 1) * D for k in range(len(starts))]  # Tonic: start + (i+1)*dt
    check_equal("time_surface", got, reference("time_surface", ev, starts, ends, {"tau": tau},
                                               te=te))
    # memory carries over windows: a pixel that fired only in window 0 still decays later
    assert got.shape[0] > 2


def test_latest_timestamp_and_window_times_for_rules():
    ev = {"t": np.array([10, 12, 25, 40]), "x": np.array([0, 0, 1, 0]),
          "y": np.zeros(4, int), "p": np.array([1, 1, 0, 1])}
    s = I.FrameSetting(duration=10, representation="latest_timestamp")
    got = I.integrate(ev, s, 1, 2)
    assert got.shape == (3, 2, 1, 2) and got.dtype == np.int64  # the last takes t = 40
    assert got[0, 1, 0, 0] == 2 and got[0, 0].max() == -1 and got[0, 1, 0, 1] == -1
    assert got[1, 0, 0, 1] == 5 and got[1, 1].max() == -1 and got[1, 0, 0, 0] == -1
    assert got[2, 1, 0, 0] == 10 and (got[2] >= 0).sum() == 1
    ts, te = R.window_times(ev["t"], *I.frame_bounds(ev["t"], s), s)
    assert ts.tolist() == [10, 20, 30] and te.tolist() == [20, 30, 40]
    s = I.FrameSetting(split_by="time", frames_number=3, overlap=2)
    ts, te = R.window_times(ev["t"], *I.frame_bounds(ev["t"], s), s)
    assert ts.tolist() == [10, 20, 30] and te.tolist() == [22, 32, 40]
    ts, te = R.window_times(ev["t"], [0, 0, 2], [0, 2, 4])
    assert ts.tolist() == [10, 10, 25] and te.tolist() == [0, 12, 40]


def test_shapes_dtypes_and_layout():
    for kind in R.REPRESENTATIONS:
        ps = PARAMS[kind]
        s = I.FrameSetting(count=30, representation=kind, repr_params=ps)
        shape, dt = R.frame_layout(s, H, W)
        assert shape == R.repr_shape(kind, H, W, **ps)
        assert dt == R.repr_dtype(kind, **ps)
        if dt is not None:
            assert dt == DTYPES[kind]
    assert R.repr_shape("voxel", 4, 5, bins=7) == (7, 4, 5)
    assert R.repr_shape("stacked_histogram", 4, 5, bins=3) == (6, 4, 5)
    assert R.repr_shape("onoff", 4, 5) == (1, 4, 5)
    assert R.repr_shape("averaged_time_surface", 12, 16, tau=1, cell=5, radius=1) == (2, 9, 12)
    assert R.frame_layout(I.FrameSetting(count=3), 4, 5) == ((2, 4, 5), None)
    ev = rand_events(np.random.default_rng(0), 50)
    img = R.event_image(ev["t"], ev["x"], ev["y"], ev["p"], H, W)
    assert img.shape == (2, H, W) and int(img.sum()) == 50


def test_saturation_never_wraps():
    n = 40_000
    ev = {"t": np.arange(n), "x": np.zeros(n, int), "y": np.zeros(n, int), "p": np.ones(n, int)}
    on = R.onoff_frames(ev["t"], ev["x"], ev["y"], ev["p"], 1, 1)
    assert on.dtype == np.int16 and on[0, 0, 0, 0] == 32767
    ev["p"][:] = 0
    assert R.onoff_frames(ev["t"], ev["x"], ev["y"], ev["p"], 1, 1)[0, 0, 0, 0] == -32768
    st = R.stacked_histogram(ev["t"], ev["x"], ev["y"], ev["p"], 1, 1, bins=2)
    assert st[0, :, 0, 0].tolist() == [255, 255, 0, 0]
    img = R.event_image(ev["t"], ev["x"], ev["y"], ev["p"], 1, 1, [0], [n])
    assert img.dtype == np.uint16 and img[0, 0, 0, 0] == n
    img = R.event_image(np.arange(70_000), np.zeros(70_000, int), np.zeros(70_000, int),
                        np.zeros(70_000, int), 1, 1)
    assert img.dtype == np.int32 and img[0, 0, 0] == 70_000


@pytest.mark.parametrize("kind", R.REPRESENTATIONS)
def test_invalid_events_refused(kind):
    ps = PARAMS[kind]
    ok = {"t": np.array([1, 2, 3]), "x": np.array([0, 1, 2]), "y": np.array([0, 1, 1]),
          "p": np.array([0, 1, 1])}
    for key, val, msg in (("x", [0, 1, W], "x=16 at index 2"), ("y", [0, -1, 1], "y=-1"),
                          ("p", [0, 2, 1], "p=2"), ("t", [1, 3, 2], "not sorted")):
        ev = dict(ok, **{key: np.array(val)})
        with pytest.raises(ValueError, match=msg):
            R.represent(kind, ev["t"], ev["x"], ev["y"], ev["p"], [0], [1], H, W, **ps)
        s = I.FrameSetting(count=2, include_incomplete=False, representation=kind,
                           repr_params=ps)
        with pytest.raises(ValueError, match=msg):  # outside the only window too
            I.integrate(ev, s, H, W)
        t, x, y, p = (np.concatenate([ok[k], ev[k]]) for k in "txyp")
        with pytest.raises(ValueError, match="sample 1"):
            I.integrate_batch(t, x, y, p, [0, 3, 6], s, H, W)
    # the batch names the bad event by its index in the batch, as the count frames do
    t, x, y, p = (np.concatenate([ok[k], ok[k]]) for k in "txyp")
    x[5] = W
    for s in (I.FrameSetting(count=2, include_incomplete=False, representation=kind,
                             repr_params=ps),
              I.FrameSetting(split_by="number", frames_number=1, representation=kind,
                             repr_params=ps),
              I.FrameSetting(split_by="number", frames_number=1)):
        with pytest.raises(ValueError, match=f"x={W} at index 5"):
            I.integrate_batch(t, x, y, p, [0, 3, 6], s, H, W)
    with pytest.raises(ValueError, match="within"):
        R.represent(kind, ok["t"], ok["x"], ok["y"], ok["p"], [0], [4], H, W, **ps)


@pytest.mark.parametrize("kind", R.REPRESENTATIONS)
def test_batch_equals_per_sample(kind):
    rng = np.random.default_rng(11)
    samples = [rand_events(rng, n) for n in (0, 1, 150, 90, 300)]
    t, x, y, p = (np.concatenate([s[k] for s in samples]) for k in "txyp")
    off = np.cumsum([0] + [len(s["t"]) for s in samples])
    for setting in (I.FrameSetting(split_by="number", frames_number=3),
                    I.FrameSetting(split_by="time", frames_number=4, overlap=500),
                    I.FrameSetting(duration=6_000), I.FrameSetting(count=40, overlap=5)):
        s = I.FrameSetting(**{**setting.__dict__, "representation": kind,
                              "repr_params": PARAMS[kind]})
        for n_threads in (1, 2):
            fr, fo = I.integrate_batch(t, x, y, p, off, s, H, W, n_threads=n_threads)
            assert fr.dtype == DTYPES[kind]
            for i, ev in enumerate(samples):
                one = I.integrate(ev, s, H, W)
                np.testing.assert_array_equal(fr[fo[i]:fo[i + 1]], one)
                if len(ev["t"]) and kind != "event_image":
                    starts, ends = I.frame_bounds(ev["t"], s)
                    ts, te = R.window_times(ev["t"], starts, ends, s)
                    check_equal(kind, one, reference(kind, ev, starts, ends, PARAMS[kind],
                                                     ts, te))
    if kind == "event_image":  # count frames
        base = I.FrameSetting(duration=6_000)
        s = I.FrameSetting(duration=6_000, representation=kind)
        assert np.array_equal(I.integrate_batch(t, x, y, p, off, s, H, W)[0],
                              I.integrate_batch(t, x, y, p, off, base, H, W)[0])


def test_frame_setting_representation_fields():
    S = I.FrameSetting
    base = S(split_by="number", frames_number=20)
    assert base.representation == "count" and base.repr_params == ()
    assert base.dir_name == "frames_number_20_split_by_number"
    assert "representation" not in base.to_dict() and "repr_params" not in base.to_dict()
    v = S.from_options(split_by="number", frames_number=20, representation="voxel",
                       repr_params={"bins": 10})
    assert v.dir_name == "voxel_bins_10_frames_number_20_split_by_number"
    assert v.repr_params == (("bins", 10),) and v.repr_kwargs == {"bins": 10}
    d = v.to_dict()
    assert d["representation"] == "voxel" and d["repr_params"] == {"bins": 10}
    assert d["repr_version"] == R.REPR_VERSION and d["name"] == v.name
    assert S.from_dict(d) == v and hash(S.from_dict(d)) == hash(v)
    h = S(duration=50_000, downsample=2, representation="averaged_time_surface",
          repr_params=(("tau", 5000.0),))
    assert h.repr_params == (("cell", 10), ("radius", 2), ("tau", 5000))
    assert h.dir_name == "averaged_time_surface_cell_10_radius_2_tau_5000_duration_50000" \
                         "_downsample_2"
    assert S(count=10, representation="time_surface", repr_params={"tau": 2.5}).dir_name == \
        "time_surface_tau_2.5_count_10"
    assert S(count=10, representation="onoff").dir_name == "onoff_count_10"
    assert S(count=10, representation="stacked_histogram",
             repr_params={"bins": 4}).repr_params == (("bins", 4), ("clip", 255))
    assert S.from_options(count=10, representation=None) == S(count=10)
    assert S.from_options(count=10, representation="stacked_histogram",
                          repr_params={"bins": 2, "clip": None}).repr_kwargs == \
        {"bins": 2, "clip": 255}


@pytest.mark.parametrize("kw, msg", [
    ({"representation": "voxels"}, "unknown representation 'voxels'"),
    ({"representation": "voxel"}, "needs bins"),
    ({"representation": "voxel", "repr_params": {"bins": 0}}, "bins must be a positive"),
    ({"representation": "voxel", "repr_params": {"bins": 1.5}}, "bins must be a positive"),
    ({"representation": "voxel", "repr_params": {"bins": True}}, "bins must be a positive"),
    ({"representation": "voxel", "repr_params": {"bins": "3"}}, "bins must be a positive"),
    ({"representation": "voxel", "repr_params": {"bins": 3, "tau": 1}}, "unknown tau"),
    ({"representation": "onoff", "repr_params": {"bins": 3}}, "takes no parameters"),
    ({"representation": "time_surface", "repr_params": {"tau": -1}}, "tau must be a positive"),
    ({"representation": "time_surface", "repr_params": {"tau": float("inf")}}, "tau must"),
    ({"representation": "averaged_time_surface", "repr_params": {"tau": 1, "cell": 4,
                                                                 "radius": 2}}, "must fit"),
    ({"representation": "stacked_histogram", "repr_params": {"bins": 2, "clip": 256}},
     "clip must be <= 255"),
    ({"repr_params": {"bins": 3}}, "count frames take no"),
])
def test_frame_setting_validation(kw, msg):
    with pytest.raises(ValueError, match=msg):
        I.FrameSetting(count=10, **kw)


def test_function_setting_refuses_representation_and_dtype_rules():
    with pytest.raises(ValueError, match="rule-based"):
        I.FrameSetting(function=lambda e, H, W: None, function_name="f",
                       representation="onoff")
    ev = rand_events(np.random.default_rng(1), 30)
    s = I.FrameSetting(count=10, representation="voxel", repr_params={"bins": 2})
    assert I.integrate(ev, s, H, W, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="is float32"):
        I.integrate(ev, s, H, W, dtype=np.uint16)
    with pytest.raises(ValueError, match="t_end applies"):
        R.represent("voxel", ev["t"], ev["x"], ev["y"], ev["p"], None, None, H, W, bins=2,
                    t_end=[5])


def test_hats_long_windows_and_short_tau():
    """Windows hundreds of tau long (the kernel rescales its sums to avoid overflow)."""
    rng = np.random.default_rng(8)
    ev = rand_events(rng, 250, span=50_000)
    for tau in (7, 150):
        ps = {"tau": tau, "cell": 4, "radius": 1}
        starts, ends = I.bounds_by_number(250, 2)
        got = R.averaged_time_surface(ev["t"], ev["x"], ev["y"], ev["p"], H, W, tau, cell=4,
                                      radius=1, starts=starts, ends=ends)
        check_equal("averaged_time_surface", got,
                    reference("averaged_time_surface", ev, starts, ends, ps))


@pytest.mark.parametrize("kind", ["voxel", "stacked_histogram", "time_surface"])
def test_kernel_validated_settings_name_the_bad_event(kind, monkeypatch):
    """Settings whose windows cover every event leave validation to the kernel (one pass):
    a bad event past the first chunk is still refused by index, and a timestamp that would
    make millions of duration windows is refused before any window is allocated."""
    n = 5000
    rng = np.random.default_rng(3)
    ok = {"t": np.arange(n, dtype=np.int64) * 10, "x": rng.integers(0, W, n),
          "y": rng.integers(0, H, n), "p": rng.integers(0, 2, n)}
    rules = [{"split_by": "number", "frames_number": 3}, {"duration": 7_000}, {"count": 100}]
    for key, val, msg in (("x", W, f"x={W} at index 3210"), ("p", 3, "p=3 at index 3210"),
                          ("t", 5, "not sorted")):
        ev = {k: v.copy() for k, v in ok.items()}
        ev[key][3210] = val
        for rule in rules:
            s = I.FrameSetting(**rule, representation=kind, repr_params=PARAMS[kind])
            with pytest.raises(ValueError, match=msg):
                I.integrate(ev, s, H, W)
    calls = []
    real = R._validate
    monkeypatch.setattr(R, "_validate", lambda *a, **k: calls.append(1) or real(*a, **k))
    for rule in rules:  # valid events: the kernel's check is the only pass
        I.integrate(ok, I.FrameSetting(**rule, representation=kind, repr_params=PARAMS[kind]),
                    H, W)
    assert calls == []
    ev = {k: v.copy() for k, v in ok.items()}
    ev["t"][10] = 2 ** 50
    s = I.FrameSetting(duration=10, representation=kind, repr_params=PARAMS[kind])
    with pytest.raises(ValueError, match="not sorted"):
        I.integrate(ev, s, H, W)
