"""The Numba replay of numpy's legacy global generator (evframes.tonic.transforms.event_ops_draws)
against numpy itself: the same values bit for bit and the same generator state afterwards
(``np.random.get_state()``: key, position, has_gauss, cached Gaussian), over block and chunk
boundaries, odd counts, empty and one-element draws, and a Gaussian cached before the call.
TimeJitter and SpatialJitter (which fuse the draws with their pass) are checked against Tonic
1.7's numpy expressions written out here.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import evframes.tonic.transforms as T
from evframes.tonic.transforms import event_ops_draws as D

GESTURE = np.dtype([("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")])
SEEDS = (0, 1, 5, 2024)
SIZES = (0, 1, 2, 3, 623, 625, 2 * D.CHUNK - 1, 2 * D.CHUNK, 2 * D.CHUNK + 1, 10_001)


def same_state(a, b) -> bool:
    return (a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2] == b[2] and a[3] == b[3]
            and a[4] == b[4])


def prepare(seed, cached, skip):
    """Seed, optionally leave a Gaussian cached, and move the word position off 0."""
    np.random.seed(seed)
    if cached:
        np.random.standard_normal(1)
    np.random.random_sample(skip)
    return np.random.get_state()


def bits(a):
    return np.ascontiguousarray(a, np.float64).view(np.int64)


def replay(fn, *args):
    state = D.global_state()
    out = fn(state, *args)
    D.store_state(state)
    return out


def _normal(state, n, loc, scale):
    out = np.empty(n)
    D.normal_fill(*state, loc, scale, out)
    return out


def _words(state, n):
    out = np.empty(n, np.uint32)
    D.words(state[0], state[1], state[2], out)
    return out


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("cached", [False, True])
def test_normal_bit_identical_and_same_state(seed, cached):
    for n in SIZES:
        s0 = prepare(seed, cached, (seed + n) % 11)
        ref = np.random.normal(0, 100.0, n)
        s_ref = np.random.get_state()
        np.random.set_state(s0)
        got = replay(_normal, n, 0.0, 100.0)
        np.testing.assert_array_equal(bits(got), bits(ref), err_msg=f"seed {seed}, n {n}")
        assert same_state(np.random.get_state(), s_ref), (seed, n, cached)


def test_standard_normal_and_loc_scale():
    """loc + scale * gauss with a nonzero loc, and standard_normal (loc 0, scale 1), drawn in
    several calls so the cached value passes from one call to the next."""
    for loc, scale in ((0.0, 1.0), (3.5, 0.25), (-1e6, 7.0)):
        s0 = prepare(3, False, 0)
        ref = [np.random.normal(loc, scale, n) for n in (5, 1, 2, 7)]
        s_ref = np.random.get_state()
        np.random.set_state(s0)
        got = [replay(_normal, n, loc, scale) for n in (5, 1, 2, 7)]
        for g, r in zip(got, ref):
            np.testing.assert_array_equal(bits(g), bits(r))
        assert same_state(np.random.get_state(), s_ref)
    assert np.random.get_state()[3] == 1      # 15 values drawn: the 16th is cached


def test_words_are_numpys_uint32_stream():
    s0 = prepare(7, False, 3)
    ref = np.random.randint(0, 2**32, 3000, dtype=np.uint32)
    s_ref = np.random.get_state()
    np.random.set_state(s0)
    np.testing.assert_array_equal(replay(_words, 3000), ref)
    assert same_state(np.random.get_state(), s_ref)


def tonic_time_jitter(ev, std, clip_negative, sort_timestamps):
    """Tonic 1.7's time jitter as numpy expressions (reference)."""
    ev = ev.copy()
    ev["t"] = ev["t"] + np.random.normal(0, std, len(ev))
    if clip_negative:
        ev = ev[ev["t"] >= 0]
    if sort_timestamps:
        ev = ev[np.argsort(ev["t"])]
    return ev


def tonic_spatial_jitter(ev, sensor, var_x, var_y, sigma_xy, clip):
    ev = ev.copy()
    shifts = np.random.multivariate_normal([0, 0], [[var_x, sigma_xy], [sigma_xy, var_y]],
                                           len(ev))
    ev["x"] = ev["x"] + shifts[:, 0]
    ev["y"] = ev["y"] + shifts[:, 1]
    if clip:
        keep = (ev["x"] >= 0) & (ev["x"] < sensor[0]) & (ev["y"] >= 0) & (ev["y"] < sensor[1])
        ev = ev[keep]
    return ev


def gesture_events(n, seed=0, W=40, H=30):
    rng = np.random.default_rng(seed)
    e = np.zeros(n, GESTURE)
    e["x"], e["y"] = rng.integers(0, W, n), rng.integers(0, H, n)
    e["p"] = rng.integers(0, 2, n).astype(bool)
    e["t"] = np.sort(rng.integers(0, 50_000, n))
    return e


def check(transform, reference, ev, seed, cached):
    s0 = prepare(seed, cached, seed % 5)
    ref = reference(ev)
    s_ref = np.random.get_state()
    np.random.set_state(s0)
    got = transform(ev.copy())
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)
    assert same_state(np.random.get_state(), s_ref)


@pytest.mark.parametrize("n", [0, 1, 2, 2 * D.CHUNK + 1, 9_999])
def test_time_jitter_equals_tonics_expression(n):
    ev = gesture_events(n)
    for seed in SEEDS[:3]:
        for clip, srt in ((True, False), (False, False), (True, True)):
            check(T.TimeJitter(std=300, clip_negative=clip, sort_timestamps=srt),
                  lambda e, c=clip, s=srt: tonic_time_jitter(e, 300, c, s), ev, seed,
                  cached=seed == 1)
    assert n < 100 or (T.TimeJitter(300, False)(ev)["t"] != ev["t"]).mean() > 0.9


@pytest.mark.parametrize("n", [1, 2, D.CHUNK + 1, 9_999])
@pytest.mark.parametrize("cov", [(1, 1, 0), (1, 3, 0), (0.5, 2, 0), (2, 0.5, 0.3)])
def test_spatial_jitter_equals_tonics_expression(n, cov):
    """Diagonal covariances take the fused path (one product per shift, exact); (2, 0.5, 0.3)
    the replayed normals with numpy's own matrix product."""
    ev = gesture_events(n, seed=n)
    for seed in SEEDS[:2]:
        for clip in (False, True):
            check(T.SpatialJitter((40, 30, 2), *cov, clip_outliers=clip),
                  lambda e, c=clip: tonic_spatial_jitter(e, (40, 30), *cov, c), ev, seed,
                  cached=seed == 1)


def test_spatial_jitter_keeps_numpys_checks():
    ev = gesture_events(50)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        T.SpatialJitter((40, 30, 2), 1, 1, 2)(ev)        # not positive semi-definite
    assert any("positive-semidefinite" in str(x.message) for x in w)
    with pytest.raises(ValueError, match="scale < 0"):
        T.TimeJitter(std=-1)(ev)


@pytest.mark.parametrize("n,k", [(2**16 + 1, 2**15), (2**16 + 1, 2**15 + 1), (2**16, 2**16 - 1),
                                 (3, 2), (100_003, 20_001)])
def test_choice_mask_band_edges(n, k):
    """DropEvent's replay of choice(n, k, replace=False) where k meets a power-of-two band of
    the shuffle (the mask changes there), with a Gaussian cached before and after."""
    from evframes.tonic.transforms.event_ops_drop import choice_mask
    for seed in SEEDS[:2]:
        s0 = prepare(seed, True, seed)
        ref = np.zeros(n, bool)
        ref[np.random.choice(n, k, replace=False)] = True
        s_ref = np.random.get_state()
        np.random.set_state(s0)
        got = choice_mask(n, k)
        assert got.sum() == k
        np.testing.assert_array_equal(got, ref)
        assert same_state(np.random.get_state(), s_ref)
