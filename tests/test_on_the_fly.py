"""Frames integrated on the fly in the Dataset (``on_the_fly=True``, ``event_transform``): equal
to the stored frames without augmentation, new frames each epoch with it, no store written."""
import shutil

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from evframes import transforms as tr
from evframes.datasets import DVS128Gesture
from evframes.events import Events
from evframes.integrate import FrameSetting, integrate


@pytest.fixture(scope="module")
def root(tmp_path_factory, dvs_archive_root):
    r = tmp_path_factory.mktemp("on_the_fly")
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", r / "DvsGesture.tar.gz")
    return r


def signed_halves(events, H, W):
    """A custom integration: ON minus OFF counts of each half of the sample, in channel 0."""
    out = np.zeros((2, 2, H, W), np.int64)
    n = len(events["t"])
    for k, (a, b) in enumerate(((0, n // 2), (n // 2, n))):
        sl = slice(a, b)
        np.add.at(out[k, 0], (events["y"][sl], events["x"][sl]), 2 * events["p"][sl] - 1)
    return out


SETTINGS = [
    dict(frames_number=20, split_by="number"),
    dict(frames_number=8, split_by="time", overlap=1000),
    dict(duration=500_000),
    dict(count=3000, include_incomplete=False),
    dict(frames_number=4, split_by="number", downsample=4),
    dict(custom_integrate_function=signed_halves),
]


@pytest.mark.parametrize("opts", SETTINGS, ids=lambda o: "_".join(
    f"{k}{getattr(v, '__name__', v)}" for k, v in o.items()))
def test_equals_stored_frames_bit_for_bit(root, opts):
    fly = DVS128Gesture(root, train=False, data_type="frame", on_the_fly=True, progress=False,
                        **opts)
    assert not (root / fly.setting.dir_name).exists()  # no frames store written
    got = [fly[i] for i in range(len(fly))]
    assert not (root / fly.setting.dir_name).exists()
    stored = DVS128Gesture(root, train=False, data_type="frame", progress=False, **opts)
    assert (root / fly.setting.dir_name).exists()
    assert fly.sensor_size == stored.sensor_size and len(fly) == len(stored)
    for i, (x, y) in enumerate(got):
        sx, sy = stored[i]
        assert x.dtype == sx.dtype == torch.float32 and y == sy
        assert x.shape == sx.shape and torch.equal(x, sx)
    mem = DVS128Gesture(root, train=False, data_type="frame", on_the_fly=True, in_memory=True,
                        frame_dtype=torch.int32, progress=False, **opts)
    for i in (0, len(mem) - 1):
        x = mem[i][0]
        assert x.dtype == torch.int32 and torch.equal(x.to(torch.float32), stored[i][0])


def _epoch(ds, seed):
    torch.manual_seed(seed)
    loader = DataLoader(ds, batch_size=4, num_workers=2, shuffle=False)
    xs, ys = zip(*loader)
    return torch.cat(xs), torch.cat(ys)


def test_random_event_transform_new_frames_each_epoch_two_workers(root):
    aug = tr.Compose([tr.RandomFlip(p=0.5, sensor_size=(128, 128)), tr.DropEvents(0.2),
                      tr.RandomTranslate(3, sensor_size=(128, 128)), tr.TimeJitter(50)])
    ds = DVS128Gesture(root, train=False, data_type="frame", frames_number=5, split_by="number",
                       on_the_fly=True, event_transform=aug, progress=False)
    plain = DVS128Gesture(root, train=False, data_type="frame", frames_number=5,
                          split_by="number", on_the_fly=True, progress=False)
    x1, y1 = _epoch(ds, 0)
    x2, y2 = _epoch(ds, 1)
    x1b, _ = _epoch(ds, 0)
    ref = torch.stack([plain[i][0] for i in range(len(plain))])
    assert x1.shape == x2.shape == ref.shape == (len(ds), 5, 2, 128, 128)
    assert torch.equal(y1, y2) and y1.tolist() == [int(v) for v in ds.labels]
    assert torch.equal(x1, x1b)  # reproducible after torch.manual_seed
    for i in range(len(ds)):  # every sample differs between epochs and from the plain frames
        assert not torch.equal(x1[i], x2[i]) and not torch.equal(x1[i], ref[i])
    # about 80 % of the events survive DropEvents(0.2), fewer when shifted off the sensor
    kept = float(x1.sum() / ref.sum())
    assert 0.7 < kept < 0.82
    assert not (root / ds.setting.dir_name).exists()


def test_event_transform_sees_full_resolution_events(root):
    seen = []

    def record(ev):
        seen.append((int(ev["x"].max()), len(ev["t"])))
        return ev

    ds = DVS128Gesture(root, train=False, data_type="frame", frames_number=2, split_by="number",
                       downsample=8, on_the_fly=True, event_transform=record, progress=False)
    x, _ = ds[0]
    assert x.shape == (2, 2, 16, 16) and ds.sensor_size == (16, 16)
    ev = ds.events_store.events(0)
    assert seen == [(int(ev["x"].max()), len(ev["t"]))] and seen[0][0] >= 16


def test_on_the_fly_errors(root):
    with pytest.raises(ValueError, match="data_type='frame'"):
        DVS128Gesture(root, train=False, data_type="event", on_the_fly=True, progress=False)
    with pytest.raises(ValueError, match="on_the_fly=True"):
        DVS128Gesture(root, train=False, data_type="frame", frames_number=2, split_by="number",
                      event_transform=lambda ev: ev, progress=False)

    def off_sensor(ev):
        return Events(t=ev["t"], x=ev["x"] + 200, y=ev["y"], p=ev["p"])

    ds = DVS128Gesture(root, train=False, data_type="frame", frames_number=2, split_by="number",
                       on_the_fly=True, event_transform=off_sensor, progress=False)
    with pytest.raises(ValueError, match="sample 3 on the fly"):
        ds[3]

    def pile_up(ev):  # 300 events on one pixel: more than uint8 holds
        n = 300
        return Events(t=np.arange(n), x=np.zeros(n), y=np.zeros(n), p=np.zeros(n))

    ds = DVS128Gesture(root, train=False, data_type="frame", frames_number=1, split_by="number",
                       on_the_fly=True, event_transform=pile_up, frame_dtype=torch.uint8,
                       progress=False)
    with pytest.raises(ValueError, match=r"largest count is 300 \(sample 2\)"):
        ds[2]


def test_translate_events_matches_frame_translate():
    rng = np.random.default_rng(0)
    n, W, H = 500, 9, 7
    ev = Events(t=np.sort(rng.integers(0, 10_000, n)), x=rng.integers(0, W, n),
                y=rng.integers(0, H, n), p=rng.integers(0, 2, n))
    one = FrameSetting(frames_number=1, split_by="number")  # all events in one frame
    for dx, dy in ((2, -1), (-3, 4), (0, 0), (20, 0)):
        moved = tr.translate_events(ev, dx, dy, (W, H))
        np.testing.assert_array_equal(integrate(moved, one, H, W),
                                      tr.translate(integrate(ev, one, H, W), dx, dy))
    with pytest.raises(ValueError, match="sensor_size"):
        tr.RandomTranslate(2)(ev)
    out = tr.RandomTranslate(2, seed=0, sensor_size=(W, H))(ev)
    assert len(out) <= n and int(out["x"].max()) < W and int(out["y"].max()) < H

