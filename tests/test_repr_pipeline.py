"""Representations through the store path: build_frames -> FramesStore / Dataset values equal
``represent`` on the sample's events, stored dtypes, the CLI (--repr), staleness, info, play,
on the fly (issue 12 item 2)."""
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from evframes.cli import main
from evframes.cli.frames import REPR_CHOICES
from evframes.datasets import DVS128Gesture
from evframes.integrate import FrameSetting
from evframes.integrate.representations import REPRESENTATIONS, represent_setting
from evframes.pipeline.frames import build_frames
from evframes.store import EventsDataset, events_store_path
from evframes.store.frames import FramesStore, frames_layout
from evframes.store.layout import frames_store_path
from evframes.store.manifest import read_manifest
from evframes.viz import frames_to_rgb

from helpers import assert_one_error_line

CASES = [
    ("voxel", {"bins": 3}, np.float32, 3),
    ("time_surface", {"tau": 50000}, np.float32, 2),
    ("averaged_time_surface", {"tau": 50000, "cell": 16, "radius": 2}, np.float32, 2),
    ("stacked_histogram", {"bins": 2, "clip": 7}, np.uint8, 4),
    ("onoff", {}, np.int16, 1),
    ("event_image", {}, None, 2),
    ("binary", {}, np.uint8, 2),
    ("latest_timestamp", {}, np.int64, 2),
]


@pytest.fixture(scope="module")
def root(dvs_extracted, tmp_path_factory):
    r = tmp_path_factory.mktemp("repr") / "r"
    shutil.copytree(dvs_extracted, r)
    return r


def run(args, ok=True):
    res = CliRunner().invoke(main, args, catch_exceptions=not ok)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def test_cli_choices_are_the_representations():
    assert REPR_CHOICES == ("count",) + REPRESENTATIONS


@pytest.mark.parametrize("rep, params, dtype, C", CASES, ids=[c[0] for c in CASES])
def test_store_equals_represent(root, rep, params, dtype, C):
    s = FrameSetting.from_options("number", 3, representation=rep, repr_params=params)
    build_frames(root, s, splits=["test"], progress=False)
    path = frames_store_path(root, s, "test")
    store = FramesStore(path)
    ev = EventsDataset(events_store_path(root, "test"))
    W, H = ev.sensor_size
    shape, stored = frames_layout(path)
    assert shape[1] == C
    if dtype is not None:
        assert stored == np.dtype(dtype)
    else:  # event image: the count frames' narrowest unsigned dtype
        assert stored.kind == "u"
    for i in range(len(store)):
        e, _ = ev[i]
        ref = represent_setting(e["t"], e["x"], e["y"], e["p"], s, H, W)
        fr, _ = store[i]
        assert fr.shape == ref.shape and np.array_equal(fr, ref), (rep, i)
    man = read_manifest(path)
    assert man["setting"]["representation"] == rep
    assert man["setting"]["repr_params"] == dict(s.repr_params)


def test_dataset_and_on_the_fly(root):
    kw = dict(split="test", data_type="frame", frames_number=3, split_by="number",
              representation="voxel", repr_params={"bins": 4}, progress=False)
    ds = DVS128Gesture(root, **kw)
    fly = DVS128Gesture(root, on_the_fly=True, **kw)
    ev = EventsDataset(events_store_path(root, "test"))
    W, H = ev.sensor_size
    for i in range(len(ds)):
        x, y = ds[i]
        e, _ = ev[i]
        ref = represent_setting(e["t"], e["x"], e["y"], e["p"], ds.setting, H, W)
        assert x.dtype == torch.float32 and x.shape == (3, 4, H, W)
        assert torch.equal(x, torch.from_numpy(ref))
        assert torch.equal(fly[i][0], x) and fly[i][1] == y
    hats = DVS128Gesture(root, split="test", data_type="frame", frames_number=2,
                         split_by="number", representation="averaged_time_surface",
                         repr_params={"tau": 1000, "cell": 32, "radius": 1}, progress=False)
    assert hats[0][0].shape == (2, 2, 12, 12)  # 128/32 cells of 3 pixels
    ts = DVS128Gesture(root, split="test", data_type="frame", frames_number=2,
                       split_by="number", representation="latest_timestamp",
                       frame_dtype=torch.int64, progress=False)
    assert ts[0][0].dtype == torch.int64 and int(ts[0][0].min()) == -1
    with pytest.raises(ValueError, match="data_type='frame'"):
        DVS128Gesture(root, split="test", representation="voxel", progress=False)
    with pytest.raises(ValueError, match="needs bins"):
        DVS128Gesture(root, split="test", data_type="frame", frames_number=3,
                      split_by="number", representation="voxel", progress=False)


def test_changed_param_rebuilds(root):
    a = FrameSetting.from_options("number", 3, representation="time_surface",
                                  repr_params={"tau": 1000})
    b = FrameSetting.from_options("number", 3, representation="time_surface",
                                  repr_params={"tau": 2000})
    assert frames_store_path(root, a, "test") != frames_store_path(root, b, "test")
    build_frames(root, a, splits=["test"], progress=False)
    again = build_frames(root, a, splits=["test"], progress=False)
    assert again.splits["test"]["reused"]
    fa = FramesStore(frames_store_path(root, a, "test"))[0][0]
    build_frames(root, b, splits=["test"], progress=False)
    fb = FramesStore(frames_store_path(root, b, "test"))[0][0]
    assert not np.array_equal(fa, fb)


def test_cli_integrate_info_play(root, tmp_path):
    r = run(["integrate", "--root", str(root), "--repr", "voxel", "--bins", "5", "-T", "2",
             "--split-by", "number", "--splits", "test", "-q"])
    assert "voxel_bins_5" in r.output and "2, 5, 128, 128" in r.output and "float32" in r.output
    r = run(["integrate", "--root", str(root), "--repr", "onoff", "--duration", "500000",
             "--splits", "test", "-q"])
    assert "T, 1, 128, 128" in r.output and "int16" in r.output
    assert_one_error_line(run(["integrate", "--root", str(root), "--repr", "voxel", "-T", "2",
                               "--split-by", "number"], ok=False), "--bins")
    assert_one_error_line(run(["integrate", "--root", str(root), "--repr", "voxel",
                               "--bins", "0", "-T", "2", "--split-by", "number"], ok=False),
                          "--bins")
    assert_one_error_line(run(["integrate", "--root", str(root), "--bins", "3", "-T", "2",
                               "--split-by", "number"], ok=False), "bins")
    info = run(["info", "--root", str(root)]).output
    assert "voxel bins=5" in info and "onoff" in info
    for rep, extra in (("voxel", ["--bins", "3"]), ("time_surface", ["--tau", "50000"])):
        out = tmp_path / f"{rep}.gif"
        run(["play", "--root", str(root), "--split", "test", "-T", "3", "--split-by",
             "number", "--repr", rep, *extra, "--out", str(out)])
        with Image.open(out) as im:
            assert im.n_frames == 3
    assert_one_error_line(run(["play", "--root", str(root), "--repr", "time_surface",
                               "--out", str(tmp_path / "x.gif")], ok=False), "--tau")


def test_repr_colours():
    v = np.zeros((1, 2, 4, 4), np.float32)
    v[0, 0, 1, 1], v[0, 1, 2, 2] = 1.0, -1.0
    rgb = frames_to_rgb(v, representation="voxel")
    assert rgb.shape == (1, 4, 9, 3)  # 2 bins side by side, 1 px gap
    on, off = rgb[0, 1, 1], rgb[0, 2, 5 + 2]
    assert on[0] > on[2] and off[2] > off[0]  # positive warm, negative cold
    ts = np.full((1, 2, 4, 4), -1, np.int64)
    ts[0, 1, 0, 0] = 5
    img = frames_to_rgb(ts, representation="latest_timestamp")
    assert tuple(img[0, 3, 3]) == (14, 14, 20)  # never: background
    assert tuple(img[0, 0, 5]) != (14, 14, 20)
