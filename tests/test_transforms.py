"""Frame and event transforms: exact behaviour on hand-made inputs, types, seeding."""
import pickle

import numpy as np
import pytest
import torch

from evframes import transforms as tr
from evframes.events import Events, make_events

T, H, W = 3, 4, 5


def one_pixel(x=1, y=2, c=1, dtype=np.uint16, T=T, H=H, W=W):
    f = np.zeros((T, 2, H, W), dtype)
    f[:, c, y, x] = 7
    return f


def where(frames):
    """(t, c, y, x) of the non-zero entries, as a set."""
    a = frames.numpy() if isinstance(frames, torch.Tensor) else frames
    return set(zip(*(v.tolist() for v in np.nonzero(a))))


def image(ev, W, H):
    """[2, H, W] counts of events (a tiny reference integrator)."""
    out = np.zeros((2, H, W), np.int64)
    np.add.at(out, (ev["p"].astype(np.int64), ev["y"].astype(np.int64),
                    ev["x"].astype(np.int64)), 1)
    return out


# --------------------------------------------------------------------------- frames

def test_flip_x_y_p():
    f = one_pixel(x=1, y=2, c=1)
    assert where(tr.flip(f, "x")) == {(t, 1, 2, W - 1 - 1) for t in range(T)}
    assert where(tr.flip(f, "y")) == {(t, 1, H - 1 - 2, 1) for t in range(T)}
    assert where(tr.flip(f, "p")) == {(t, 0, 2, 1) for t in range(T)}
    out = tr.flip(f, "x")
    assert out.flags.c_contiguous and all(s > 0 for s in out.strides)
    torch.as_tensor(out)  # no negative strides
    assert where(f) == {(t, 1, 2, 1) for t in range(T)}  # input untouched
    with pytest.raises(ValueError, match="axis"):
        tr.flip(f, "z")


def test_random_flip_probability_and_identity():
    f = one_pixel()
    assert tr.random_flip(f, p=0.0, rng=0) is f
    assert where(tr.random_flip(f, p=1.0, rng=0)) == where(tr.flip(f))
    flips = sum(tr.random_flip(f, p=0.5, rng=g)[0, 1, 2, 1] == 0
                for g in [np.random.default_rng(1)] * 400)
    assert 150 < flips < 250


def test_translate_shifts_and_zero_fills():
    f = np.arange(T * 2 * H * W, dtype=np.int32).reshape(T, 2, H, W) + 1
    out = tr.translate(f, dx=2, dy=-1)
    assert out.shape == f.shape and out.dtype == f.dtype
    # out[y, x] = f[y + 1, x - 2] where valid, else 0
    np.testing.assert_array_equal(out[..., :H - 1, 2:], f[..., 1:, :W - 2])
    assert (out[..., :, :2] == 0).all() and (out[..., H - 1, :] == 0).all()
    np.testing.assert_array_equal(tr.translate(f, 0, 0), f)
    assert not np.shares_memory(tr.translate(f, 0, 0), f)
    assert (tr.translate(f, W, 0) == 0).all() and (tr.translate(f, 0, -H) == 0).all()
    # one pixel: same shift in every frame
    assert where(tr.translate(one_pixel(x=1, y=2), 3, 1)) == {(t, 1, 3, 4) for t in range(T)}


def test_random_translate_range():
    f = one_pixel(x=10, y=10, H=21, W=21)
    seen = set()
    g = np.random.default_rng(0)
    for _ in range(300):
        ((t, c, y, x),) = {p for p in where(tr.random_translate(f, (2, 1), rng=g)) if p[0] == 0}
        seen.add((x - 10, y - 10))
    assert seen == {(dx, dy) for dx in range(-2, 3) for dy in range(-1, 2)}


def test_crop_random_crop_center_crop():
    f = np.arange(T * 2 * H * W, dtype=np.int32).reshape(T, 2, H, W)
    np.testing.assert_array_equal(tr.crop(f, 1, 2, 2, 3), f[..., 1:3, 2:5])
    # outside the frame: zero fill
    c = tr.crop(f, -1, -1, 2, 2)
    assert c.shape == (T, 2, 2, 2) and (c[..., 0, :] == 0).all()
    assert (c[..., 1, 1] == f[..., 0, 0]).all()
    assert tr.random_crop(f, (2, 3), rng=0).shape == (T, 2, 2, 3)
    assert tr.random_crop(f, 3, rng=0).shape == (T, 2, 3, 3)
    assert tr.random_crop(f, (H + 2, W + 2), padding=1, rng=0).shape == (T, 2, H + 2, W + 2)
    with pytest.raises(ValueError, match="exceeds"):
        tr.random_crop(f, (H + 1, W))
    # every random crop is a window of the zero-padded frame
    padded = np.pad(f, ((0, 0), (0, 0), (1, 1), (2, 2)))
    g = np.random.default_rng(3)
    for _ in range(30):
        c = tr.random_crop(f, (3, 3), padding=(2, 1), rng=g)
        assert any((padded[..., i:i + 3, j:j + 3] == c).all()
                   for i in range(H + 2 - 2) for j in range(W + 4 - 2))
    np.testing.assert_array_equal(tr.center_crop(f, (2, 3)), f[..., 1:3, 1:4])
    big = tr.center_crop(f, (H + 2, W + 2))
    np.testing.assert_array_equal(big[..., 1:-1, 1:-1], f)
    assert big.sum() == f.sum()


def test_temporal_crop():
    f = np.arange(10)[:, None, None, None] * np.ones((10, 2, 2, 2), np.int16)
    assert tr.temporal_crop(f, 4, random=False)[:, 0, 0, 0].tolist() == [0, 1, 2, 3]
    starts = {int(tr.temporal_crop(f, 4, rng=g)[0, 0, 0, 0])
              for g in [np.random.default_rng(0)] * 200}
    assert starts == set(range(7))
    for s in range(5):
        c = tr.temporal_crop(f, 6, rng=s)
        assert c.shape == (6, 2, 2, 2) and np.all(np.diff(c[:, 0, 0, 0]) == 1)
    short = f[:3]
    assert tr.temporal_crop(short, 5) is short
    p = tr.temporal_crop(short, 5, pad=True)
    assert p.shape == (5, 2, 2, 2) and (p[3:] == 0).all() and (p[:3] == short).all()


@pytest.mark.parametrize("fn", [
    lambda f: tr.flip(f, "x"), lambda f: tr.flip(f, "p"), lambda f: tr.random_flip(f, 1.0),
    lambda f: tr.translate(f, 1, -1), lambda f: tr.random_translate(f, 2, rng=0),
    lambda f: tr.crop(f, 0, 1, 2, 2), lambda f: tr.random_crop(f, (2, 2), padding=1, rng=0),
    lambda f: tr.center_crop(f, 3), lambda f: tr.temporal_crop(f, 2, rng=0),
    lambda f: tr.temporal_crop(f, 5, pad=True),
])
def test_type_preserved_and_torch_matches_numpy(fn):
    f = np.random.default_rng(0).integers(0, 5, (T, 2, H, W)).astype(np.int16)
    a = fn(f)
    b = fn(torch.from_numpy(f.copy()))
    assert isinstance(a, np.ndarray) and a.dtype == np.int16
    assert isinstance(b, torch.Tensor) and b.dtype == torch.int16 and b.is_contiguous()
    np.testing.assert_array_equal(a, b.numpy())


def test_to_float_tensor():
    f = one_pixel()
    t = tr.to_float_tensor(f)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.shape == f.shape
    assert float(t.sum()) == f.sum()
    assert tr.to_float_tensor(torch.ones(2, 2, dtype=torch.uint8)).dtype == torch.float32
    assert tr.ToFloatTensor()(f).dtype == torch.float32


# --------------------------------------------------------------------------- events

def ev_of(rows):
    """rows of (t, x, y, p)."""
    a = np.array(rows, np.int64).reshape(-1, 4)
    return make_events(a[:, 0], a[:, 1], a[:, 2], a[:, 3])


def test_flip_events_matches_frame_flip():
    rng = np.random.default_rng(0)
    n = 300
    ev = make_events(np.sort(rng.integers(0, 10 ** 5, n)), rng.integers(0, W, n),
                     rng.integers(0, H, n), rng.integers(0, 2, n))
    for axis in "xyp":
        out = tr.flip_events(ev, (W, H), axis)
        assert isinstance(out, Events)
        assert [out[k].dtype for k in "txyp"] == [np.int64, np.int16, np.int16, np.int8]
        np.testing.assert_array_equal(image(out, W, H), tr.flip(image(ev, W, H), axis))
    assert tr.flip_events(ev_of([(0, 0, 1, 1)]), (W, H))["x"].tolist() == [W - 1]


def test_crop_events_matches_frame_crop():
    rng = np.random.default_rng(1)
    n = 300
    ev = make_events(np.sort(rng.integers(0, 10 ** 5, n)), rng.integers(0, W, n),
                     rng.integers(0, H, n), rng.integers(0, 2, n))
    out = tr.crop_events(ev, x0=1, y0=2, w=3, h=2)
    assert out["x"].max() < 3 and out["y"].max() < 2
    np.testing.assert_array_equal(image(out, 3, 2), tr.crop(image(ev, W, H), 2, 1, 2, 3))
    assert np.all(np.diff(out["t"]) >= 0)


def test_drop_events():
    n = 20000
    ev = make_events(np.arange(n), np.zeros(n), np.zeros(n), np.arange(n) % 2)
    out = tr.drop_events(ev, 0.3, rng=0)
    assert abs(len(out) - 0.7 * n) < 5 * np.sqrt(n * 0.21)
    assert np.all(np.diff(out["t"]) > 0)  # order kept, a subset
    assert len(tr.drop_events(ev, 0.0, rng=0)) == n and len(tr.drop_events(ev, 1.0, rng=0)) == 0
    np.testing.assert_array_equal(tr.drop_events(ev, 0.5, rng=7)["t"],
                                  tr.drop_events(ev, 0.5, rng=7)["t"])
    assert len(tr.drop_events(ev_of([]), 0.5)) == 0
    with pytest.raises(ValueError):
        tr.drop_events(ev, 1.5)


def test_time_jitter():
    n = 1000
    ev = make_events(np.arange(n) * 1000 + 100, np.arange(n) % W, np.zeros(n), np.zeros(n))
    same = tr.time_jitter(ev, 0, rng=0)
    np.testing.assert_array_equal(same["t"], ev["t"])
    out = tr.time_jitter(ev, 2000, rng=0)
    assert np.all(np.diff(out["t"]) >= 0)
    assert 0 < len(out) <= n and (out["t"] >= 0).all()
    assert not np.array_equal(out["x"], ev["x"][:len(out)])  # events were reordered
    assert len(tr.time_jitter(ev, 2000, rng=0, clip_negative=False)) == n
    np.testing.assert_array_equal(out["t"], tr.time_jitter(ev, 2000, rng=0)["t"])


# --------------------------------------------------------------------------- denoise

FT = 10_000


def test_denoise_isolated_event_removed():
    assert len(tr.denoise(ev_of([(50_000, 10, 10, 1)]), (32, 32), FT)) == 0


def test_denoise_neighbour_pair():
    pair = ev_of([(50_000, 10, 10, 1), (50_000 + FT - 1, 11, 11, 0)])  # diagonal, in time
    out = tr.denoise(pair, (32, 32), FT)
    assert out["t"].tolist() == [50_000 + FT - 1]         # causal: the later one
    both = tr.denoise(pair, (32, 32), FT, bidirectional=True)
    assert both["t"].tolist() == [50_000, 50_000 + FT - 1]
    assert len(tr.denoise(pair, (32, 32), FT, connectivity=4)) == 0  # diagonal is not a 4-nb
    edge = ev_of([(0, 10, 10, 1), (5, 10, 11, 1)])
    assert len(tr.denoise(edge, (32, 32), FT, connectivity=4)) == 1


def test_denoise_pair_too_far_apart_in_time_or_space():
    late = ev_of([(50_000, 10, 10, 1), (50_000 + FT, 11, 10, 1)])  # exactly filter_time: gone
    assert len(tr.denoise(late, (32, 32), FT)) == 0
    assert len(tr.denoise(late, (32, 32), FT, bidirectional=True)) == 0
    far = ev_of([(50_000, 10, 10, 1), (50_001, 12, 10, 1)])        # two pixels apart
    assert len(tr.denoise(far, (32, 32), FT)) == 0
    hot = ev_of([(t, 3, 3, 1) for t in range(0, 100, 10)])          # same pixel only
    assert len(tr.denoise(hot, (32, 32), FT)) == 0


def test_denoise_edges_empty_and_errors():
    corner = ev_of([(0, 0, 0, 0), (1, 1, 1, 1), (2, 31, 31, 0), (3, 30, 31, 0)])
    assert tr.denoise(corner, (32, 32), FT)["t"].tolist() == [1, 3]
    empty = tr.denoise(ev_of([]), (32, 32), FT)
    assert isinstance(empty, Events) and len(empty) == 0
    assert len(tr.Denoise((32, 32))(ev_of([]))) == 0
    with pytest.raises(ValueError, match="off the 32x32 sensor"):
        tr.denoise(ev_of([(0, 32, 0, 0)]), (32, 32), FT)
    assert tr.denoise(corner, None, FT)["t"].tolist() == [1, 3]  # sensor inferred


def _denoise_reference(ev, ft, conn8, both):
    t, x, y = (ev[k].astype(np.int64) for k in "txy")
    keep = []
    for i in range(len(t)):
        ok = False
        for j in range(len(t)):
            dx, dy = abs(x[i] - x[j]), abs(y[i] - y[j])
            nb = (max(dx, dy) == 1) if conn8 else (dx + dy == 1)
            if nb and ((j < i and t[i] - t[j] < ft) or (both and j > i and t[j] - t[i] < ft)):
                ok = True
                break
        keep.append(ok)
    return np.array(keep, bool)


@pytest.mark.parametrize("conn8,both", [(True, False), (False, False), (True, True)])
def test_denoise_matches_reference(conn8, both):
    rng = np.random.default_rng(42)
    n = 250
    ev = make_events(np.sort(rng.integers(0, 300_000, n)), rng.integers(0, 8, n),
                     rng.integers(0, 6, n), rng.integers(0, 2, n))
    out = tr.denoise(ev, (8, 6), FT, connectivity=8 if conn8 else 4, bidirectional=both)
    keep = _denoise_reference(ev, FT, conn8, both)
    assert 0 < keep.sum() < n
    for k in "txyp":
        np.testing.assert_array_equal(out[k], ev[k][keep])


# --------------------------------------------------------------------------- classes, seeding

def test_classes_call_and_repr():
    f = one_pixel()
    ev = ev_of([(0, 1, 1, 1), (5, 2, 1, 0)])
    pipeline = tr.Compose([tr.RandomFlip(p=1.0, axis="y", seed=0),
                           tr.RandomTranslate((1, 1), seed=0), tr.RandomCrop((3, 4), seed=0),
                           tr.CenterCrop(3), tr.TemporalCrop(2, seed=0), tr.ToFloatTensor()])
    out = pipeline(f)
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == (2, 2, 3, 3)
    r = repr(pipeline)
    for s in ("Compose([", "RandomFlip(p=1.0, axis='y'", "RandomTranslate(max_shift=(1, 1)",
              "RandomCrop(size=(3, 4), padding=(0, 0)", "CenterCrop(size=(3, 3))",
              "TemporalCrop(T=2, random=True, pad=False", "ToFloatTensor()"):
        assert s in r, (s, r)
    evp = tr.Compose([tr.RandomFlip(p=1.0, sensor_size=(W, H)), tr.DropEvents(0.0),
                      tr.TimeJitter(0.0), tr.Denoise((W, H), filter_time_us=100)])
    assert evp(ev)["x"].tolist() == [W - 1 - 2]
    assert "Denoise(sensor_size=(5, 4), filter_time_us=100, connectivity=8" in repr(evp)
    with pytest.raises(ValueError, match="sensor_size"):
        tr.RandomFlip(p=1.0)(ev)


def test_seeded_reproducibility():
    f = np.random.default_rng(0).integers(0, 9, (6, 2, 10, 10)).astype(np.uint8)

    def run(t):
        return [t(f) for _ in range(10)]

    for make in (lambda: tr.RandomCrop(5, padding=2, seed=11),
                 lambda: tr.RandomTranslate(3, seed=11), lambda: tr.TemporalCrop(3, seed=11),
                 lambda: tr.RandomFlip(seed=11)):
        a, b = run(make()), run(make())
        assert all(np.array_equal(u, v) for u, v in zip(a, b))
        assert not all(np.array_equal(a[0], v) for v in a[1:])  # but varies call to call
    for fn in (lambda r: tr.random_crop(f, 4, rng=r), lambda r: tr.random_translate(f, 3, rng=r)):
        np.testing.assert_array_equal(fn(5), fn(5))
    ev = make_events(np.arange(100), np.zeros(100), np.zeros(100), np.zeros(100))
    np.testing.assert_array_equal(tr.DropEvents(0.5, seed=1)(ev)["t"],
                                  tr.DropEvents(0.5, seed=1)(ev)["t"])


def test_generator_not_shared_across_processes_or_workers(monkeypatch):
    t = tr.RandomTranslate(5, seed=3)
    first = t.rng
    assert t.rng is first
    clone = pickle.loads(pickle.dumps(t))  # a spawned worker gets a fresh generator
    assert clone._gen is None
    assert clone.rng.integers(1 << 30) == tr.RandomTranslate(5, seed=3).rng.integers(1 << 30)
    # a forked worker (new pid) inside a DataLoader: seeded from the worker's torch seed
    import torch.utils.data as tud

    class Info:
        def __init__(self, seed):
            self.seed, self.id = seed, seed

    draws = []
    for wseed in (100, 101):
        monkeypatch.setattr(tud, "get_worker_info", lambda s=wseed: Info(s))
        t._pid = -1
        draws.append(t.rng.integers(1 << 30, size=4).tolist())
    assert draws[0] != draws[1]
