"""evframes.tonic's To* transforms vs Tonic 1.7 itself, live, on random inputs of every mode.

Skipped where Tonic is not installed; run in the benchmark environment:

    PYTHONPATH=. .venv-bench/bin/python -m pytest -q tests/test_tonic_repr_peer.py

Values, dtypes and shapes must be equal (floats bit for bit). Tonic's own warnings (its 0/0
and overflow) are silenced.
"""
from __future__ import annotations

import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

tonic = pytest.importorskip("tonic")

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))

import tonic_repr_cases as C  # noqa: E402

import evframes.tonic as ef  # noqa: E402

KINDS = ("nmnist", "dvsgesture", "cifar10dvs")


def _equal(ours, theirs):
    if getattr(theirs, "is_sparse", False):
        assert ours.is_sparse and ours.is_coalesced() == theirs.is_coalesced()
        for a, b in ((ours.indices(), theirs.indices()), (ours.values(), theirs.values())):
            assert a.dtype == b.dtype and bool((a == b).all())
        assert ours.shape == theirs.shape
        return
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    assert np.array_equal(a, b, equal_nan=True), float(np.nanmax(np.abs(
        a.astype(np.float64) - b.astype(np.float64))))


def _signed_t(ev):
    dt = [(n, np.int64 if n == "t" else ev.dtype[n]) for n in ev.dtype.names]
    out = np.zeros(len(ev), dt)
    for n in ev.dtype.names:
        out[n] = ev[n]
    return out


def _both(ev, name, *args, rtol=0.0, **kwargs):
    """``name(*args, **kwargs)`` of Tonic's and of evframes' transforms on copies of ``ev``."""
    def make(T):
        return getattr(T, name)(*args, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = make(tonic.transforms)(ev.copy())
        except (MemoryError, ValueError):  # unsigned t: Tonic's duration - time_window wraps
            assert ev.dtype["t"].kind == "u"
            theirs = make(tonic.transforms)(_signed_t(ev))  # what it means: signed times
    ours = make(ef.transforms)(ev.copy())
    if rtol:  # NumPy's own summation order (see the test using it)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert np.allclose(ours, theirs, rtol=rtol, atol=0)
    else:
        _equal(ours, theirs)


@pytest.mark.parametrize("i", range(len(C.cases())), ids=[c["name"] for c in C.cases()])
def test_cases_live(i):
    case = C.cases()[i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = C.apply(tonic, case)
    _equal(C.apply(ef, case), theirs)


def _random_events(rng, kind, big=False):
    W, H = (int(rng.integers(20, 129)), int(rng.integers(20, 129))) if big else \
        (int(rng.integers(1, 12)), int(rng.integers(1, 12)))
    n = int(rng.integers(5_000, 60_000)) if big else int(rng.integers(1, 600))
    span = int(rng.choice([10, 1000, 100_000, 3_000_000]))
    t0 = int(rng.choice([0, 7, 123_456]))
    return C.make_events(kind, n, W, H, span, int(rng.integers(1 << 30)), t0=t0), (W, H), span


def _frame_kwargs(rng, mode, span, n):
    if mode == "time_window":
        tw = float(rng.choice([span / 7, span / 3.3, max(1, span // 20), span * 2]))
        if rng.random() < 0.3:
            tw = int(max(1, tw))
        kw = {"time_window": tw, "include_incomplete": bool(rng.integers(2))}
        if rng.random() < 0.5:
            kw["overlap"] = float(tw * rng.choice([0.1, 0.5, 0.75]))
        if rng.random() < 0.3:
            kw["start_time"], kw["end_time"] = -span // 10, span * 1.2
        return kw
    if mode == "event_count":
        ec = int(rng.integers(1, max(2, n // 2) + 2))
        kw = {"event_count": ec, "include_incomplete": bool(rng.integers(2))}
        if rng.random() < 0.5:
            kw["overlap"] = int(rng.integers(0, ec))
        return kw
    key = mode
    kw = {key: int(rng.integers(1, 25))}
    if rng.random() < 0.5:
        kw["overlap"] = float(rng.choice([0.1, 0.25, 0.5, 0.9]))
    return kw


@pytest.mark.parametrize("mode", ["time_window", "event_count", "n_time_bins", "n_event_bins"])
@pytest.mark.parametrize("kind", KINDS)
def test_to_frame_random(mode, kind):
    rng = np.random.default_rng(zlib.crc32(f"{mode} {kind}".encode()))
    for trial in range(25):
        ev, (W, H), span = _random_events(rng, kind, big=trial < 3)
        kw = _frame_kwargs(rng, mode, span, len(ev))
        P = 2
        if rng.random() < 0.2:
            P = 1
            ev["p"] = ev["p"][0]
        _both(ev, "ToFrame", (W, H, P), **kw)
        if trial % 5 == 0:
            sp = {k: v for k, v in kw.items() if k not in ("start_time", "end_time")}
            _both(ev, "ToSparseTensor", (W, H, P), **sp)
    _both(ev, "ToImage", (W, H, P))


@pytest.mark.parametrize("kind", KINDS)
def test_voxel_grid_random(kind):
    rng = np.random.default_rng(11)
    for trial in range(20):
        ev, (W, H), _ = _random_events(rng, kind, big=trial < 3)
        B = int(rng.integers(1, 16))
        _both(ev, "ToVoxelGrid", (W, H, 2), B)


@pytest.mark.parametrize("kind", KINDS)
def test_time_surface_random(kind):
    rng = np.random.default_rng(12)
    for trial in range(15):
        ev, (W, H), span = _random_events(rng, kind, big=trial < 2)
        if span < 1000:
            continue
        dt = float(rng.choice([span / 5, span / 11.5])) if trial % 2 else max(1, span // 9)
        tau = float(rng.choice([span / 10, 5000.0, 37.5]))
        _both(ev, "ToTimesurface", (W, H, 2), dt, tau)


@pytest.mark.parametrize("kind", KINDS)
def test_averaged_time_surface_random(kind):
    rng = np.random.default_rng(13)
    for _ in range(8):
        W, H = int(rng.integers(4, 30)), int(rng.integers(4, 30))
        ev = C.make_events(kind, int(rng.integers(50, 1500)), W, H,
                           int(rng.choice([2000, 50_000])), int(rng.integers(1 << 30)))
        cell = int(rng.integers(2, 8))
        S = int(rng.choice([s for s in (1, 3, 5, 7) if s <= cell]))
        kw = {"surface_size": S, "cell_size": cell,
              "time_window": float(rng.choice([500.0, 3000.0, 1e9])),
              "tau": float(rng.choice([100.0, 2500.0])),
              "decay": str(rng.choice(["exp", "lin"]))}
        # surface_size 1: NumPy sums each one-cell stack pairwise (its inner-loop reduction),
        # evframes in event order: equal within float32 rounding of the sums
        _both(ev, "ToAveragedTimesurface", (W, H, 2), rtol=1e-5 if S == 1 else 0.0, **kw)


def test_bina_rep_random():
    rng = np.random.default_rng(14)
    for _ in range(6):
        ev, (W, H), _ = _random_events(rng, "dvsgesture")
        nf, nb = int(rng.integers(1, 4)), int(rng.integers(2, 9))
        frames = tonic.transforms.ToFrame((W, H, 2), n_time_bins=nf * nb)(ev.copy())
        _both(frames, "ToBinaRep", n_frames=nf, n_bits=nb)
