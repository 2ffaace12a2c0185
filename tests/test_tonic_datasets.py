"""evframes.tonic's datasets and PadTensors on replicas in Tonic's layouts, against the values
Tonic 1.7 gave on the same replicas (``tests/data/tonic_ds_reference.json``, written by
``tests/test_tonic_peer_datasets.py --write-reference``), plus what Tonic users rely on: class
attributes, the transform order, archives read in place, one clear error where Tonic would
download, DataLoader workers."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from tonic_replicas import (
    CASES,
    describe,
    replica_digest,
    write_cifar10dvs,
    write_dvsgesture,
    write_nmnist,
)

import evframes.tonic as tonic
from evframes import DatasetError

REFERENCE = Path(__file__).resolve().parent / "data" / "tonic_ds_reference.json"


@pytest.fixture(scope="module")
def reference():
    return json.loads(REFERENCE.read_text())


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """One folder per writer of ``CASES`` (cases sharing a writer share the folder)."""
    out = {}
    for case, (writer, wkw, _, _) in CASES.items():
        key = (writer.__name__, tuple(sorted(wkw.items())))
        if key not in out:
            base = tmp_path_factory.mktemp(writer.__name__)
            out[key] = (base, writer(base, **wkw))
        out[case] = out[key]
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_same_samples_as_tonic(case, replicas, reference):
    base, loc = replicas[case]
    ref = reference[case]
    assert replica_digest(loc) == ref["replica"], "the replica changed: rewrite the reference"
    _, _, name, kw = CASES[case]
    ds = getattr(tonic.datasets, name)(str(base), **kw)
    got = describe(ds, loc)
    want = {k: v[:7] for k, v in ref["samples"].items()}
    assert {k: list(v[:7]) for k, v in got.items()} == want
    if name == "NMNIST":  # Tonic's order (digit folder, then file name)
        assert list(got) == sorted(want, key=lambda k: ref["samples"][k][7])
    assert len(ds) == len(want) > 0


def test_class_attributes_as_tonic():
    n, g, c = tonic.datasets.NMNIST, tonic.datasets.DVSGesture, tonic.datasets.CIFAR10DVS
    assert n.sensor_size == (34, 34, 2) and g.sensor_size == c.sensor_size == (128, 128, 2)
    assert n.ordering == ("x", "y", "t", "p") and n.dtype == np.dtype(
        [("x", int), ("y", int), ("t", int), ("p", int)])
    assert g.ordering == ("x", "y", "p", "t") and g.dtype["p"] == np.dtype(bool)
    assert c.ordering == ("t", "x", "y", "p") and c.dtype["t"] == np.uint64
    assert n.classes[0] == "0 - zero" and len(g.classes) == 11
    assert c.classes["truck"] == 9 and n.train_filename == "train.zip"


def test_transforms_run_in_tonic_order(replicas):
    base, _ = replicas["nmnist_train"]
    calls = []

    def transform(ev):
        calls.append(("transform", ev.dtype.names))
        return len(ev)

    def target_transform(y):
        calls.append(("target", y))
        return y + 100

    def both(x, y):
        calls.append(("both", x, y))
        return -x, -y

    plain = tonic.datasets.NMNIST(str(base))
    ds = tonic.datasets.NMNIST(str(base), transform=transform, target_transform=target_transform,
                               transforms=both)
    x, y = ds[3]
    n, y0 = len(plain[3][0]), plain[3][1]
    assert (x, y) == (-n, -(y0 + 100))
    assert calls == [("transform", ("x", "y", "t", "p")), ("target", y0), ("both", n, y0 + 100)]
    assert repr(ds) == "NMNIST" and ds.location_on_system == str(base / "NMNIST")


def test_archives_read_in_place_same_samples(tmp_path, replicas):
    base, loc = replicas["nmnist_train"]
    write_nmnist(tmp_path / "zip", layout="zip")
    a = tonic.datasets.NMNIST(str(base), train=False)
    b = tonic.datasets.NMNIST(str(tmp_path / "zip"), train=False)
    assert not (tmp_path / "zip" / "NMNIST" / "Test").exists()  # nothing extracted to disk
    assert describe(a, loc) == describe(b, tmp_path / "zip" / "NMNIST")
    base, loc = replicas["dvs_int_train"]
    arch = write_dvsgesture(tmp_path / "tar", layout="archive")
    c = tonic.datasets.DVSGesture(str(base))
    d = tonic.datasets.DVSGesture(str(tmp_path / "tar"))
    assert describe(c, loc).keys() == describe(d, arch).keys()
    assert {k: v[:7] for k, v in describe(c, loc).items()} == \
        {k: v[:7] for k, v in describe(d, arch).items()}


def test_store_reused_then_rebuilt_when_raw_changes(tmp_path):
    loc = write_nmnist(tmp_path, per_class_train=1, per_class_test=1)
    a = tonic.datasets.NMNIST(str(tmp_path))
    store = loc / "events" / "train.h5"
    ino = store.stat().st_ino
    tonic.datasets.NMNIST(str(tmp_path))
    assert store.stat().st_ino == ino  # reused
    victim = loc / "Train" / "0" / "00001.bin"
    victim.write_bytes(victim.read_bytes()[:50])  # 10 events left
    b = tonic.datasets.NMNIST(str(tmp_path))
    assert store.stat().st_ino != ino and len(b[0][0]) == 10 and len(a[0][0]) > 10


def test_cifar10dvs_whole_set_upright(tmp_path):
    from evframes import read_events
    from evframes.raw.cifar10dvs import orient_events
    loc = write_cifar10dvs(tmp_path, per_class=2)
    ds = tonic.datasets.CIFAR10DVS(str(tmp_path))
    assert len(ds) == 20 and ds.targets == [c for c in range(10) for _ in range(2)]
    for i in (0, 7, 19):
        ev, y = ds[i]
        assert ev.dtype == tonic.datasets.CIFAR10DVS.dtype and y == ds.targets[i]
        raw = orient_events(read_events(ds.data[i]))
        for k in "txyp":
            np.testing.assert_array_equal(ev[k], raw[k].astype(ev.dtype[k]))
        assert Path(ds.data[i]).parent.name == list(tonic.datasets.CIFAR10DVS.classes)[y]
    assert ds.data[0].startswith(str(loc))


@pytest.mark.parametrize("name, needle", [
    ("NMNIST", "train.zip from https://data.mendeley.com"),
    ("DVSGesture", "ibmGestureTrain.tar.gz from https://figshare.com"),
    ("CIFAR10DVS", "CIFAR10DVS.zip from https://figshare.com/ndownloader/files/38023437"),
])
def test_where_tonic_downloads_one_error_line(tmp_path, name, needle):
    with pytest.raises(DatasetError) as e:
        getattr(tonic.datasets, name)(str(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg and needle in msg and "never downloads" in msg
    assert str(tmp_path / name) in msg


def test_cifar10dvs_class_zips_read_in_place(tmp_path, replicas):
    base, loc = replicas["cifar_aedat4"]
    zipped = write_cifar10dvs(tmp_path, fmt="aedat4", archive=True)
    assert not (zipped / "airplane").exists()
    a = describe(tonic.datasets.CIFAR10DVS(str(base)), loc)
    assert a == describe(tonic.datasets.CIFAR10DVS(str(tmp_path)), zipped)


def test_cifar10dvs_only_the_outer_zip_named(tmp_path):
    (tmp_path / "CIFAR10DVS").mkdir()
    (tmp_path / "CIFAR10DVS" / "CIFAR10DVS.zip").write_bytes(b"PK")
    with pytest.raises(DatasetError, match="CIFAR10DVS.zip is there: extract it"):
        tonic.datasets.CIFAR10DVS(str(tmp_path))


def test_bad_npy_sample_named(tmp_path):
    loc = write_dvsgesture(tmp_path, n_train_users=1, n_test_users=1)
    bad = loc / "ibmGestureTrain" / "user01_fluorescent" / "3.npy"
    np.save(bad, np.zeros((5, 3)))
    with pytest.raises(DatasetError, match=r"3\.npy.*\[N, 4\]"):
        tonic.datasets.DVSGesture(str(tmp_path))
    shutil.rmtree(loc / "events", ignore_errors=True)


def _frames(ev):
    fr = np.zeros((4, 2, 34, 34), np.int16)
    np.add.at(fr, (np.minimum(ev["t"] // 80_000, 3), ev["p"], ev["y"], ev["x"]), 1)
    return fr


def test_dataloader_workers_pad_tensors(replicas):
    base, _ = replicas["nmnist_train"]
    ds = tonic.datasets.NMNIST(str(base), transform=_frames)
    loader = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=2,
                                         collate_fn=tonic.collation.PadTensors(batch_first=False))
    xs, ys = zip(*loader)
    x, y = torch.cat(xs, 1), torch.cat(ys)
    assert x.shape == (4, len(ds), 2, 34, 34) and x.dtype == torch.float32  # Tonic's promotion
    plain = tonic.datasets.NMNIST(str(base))
    want = np.stack([_frames(plain[i][0]) for i in range(len(ds))], 1)
    np.testing.assert_array_equal(x.numpy(), want)
    assert y.tolist() == ds.targets


def test_pad_tensors_pads_first_dim():
    a, b = np.ones((2, 3), np.int16), 2 * np.ones((4, 3), np.int16)
    x, y = tonic.collation.PadTensors()([(a, 1), (b, 2)])
    assert x.shape == (2, 4, 3) and x.dtype == torch.float32 and y.tolist() == [1, 2]
    assert x[0, 2:].eq(0).all() and x[1].eq(2).all()
    x, y = tonic.collation.PadTensors(batch_first=False)([(a, np.full(3, 1)), (b, np.full(3, 2))])
    assert x.shape == (4, 2, 3) and y.shape == (3, 2)  # vectors stacked (Tonic raises here)
    x, _ = tonic.collation.PadTensors()([(a.astype(np.float64), 0)])
    assert x.dtype == torch.float64
    with pytest.raises(ValueError, match="empty batch"):
        tonic.collation.PadTensors()([])


def _grid_images(plot, *args, **kwargs):
    """The images and titles of the panels ``plot`` draws (Agg backend, shown nowhere)."""
    import warnings

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Agg cannot show
        out = plot(*args, **kwargs)
    fig = plt.gcf()
    got = [(np.asarray(ax.images[0].get_array()), ax.title.get_text()) for ax in fig.axes]
    return out, got, fig


@pytest.mark.filterwarnings("ignore:Animation was deleted")
def test_plot_event_grid_and_animation(replicas):
    base, _ = replicas["nmnist_train"]
    ev, _ = tonic.datasets.NMNIST(str(base))[5]
    out, panels, _ = _grid_images(tonic.utils.plot_event_grid, ev, (2, 3), True)
    frames = tonic.transforms.ToFrame(
        sensor_size=(int(ev["x"].max()) + 1, int(ev["y"].max()) + 1, 2), n_time_bins=6)(ev)
    assert out is None and len(panels) == 6 and frames.shape[0] == 6
    for k, (img, title) in enumerate(panels):
        np.testing.assert_array_equal(img, frames[k][1] - frames[k][0])
        assert title == str(k)
    anim, panels, fig = _grid_images(tonic.utils.plot_animation, frames, figsize=(3, 4))
    assert type(anim).__name__ == "FuncAnimation" and tuple(fig.get_size_inches()) == (3, 4)
    img = panels[0][0]
    assert img.shape == (*frames.shape[2:], 3)  # channels 0, 1 as green, blue
    np.testing.assert_array_equal(img[..., 1:], np.moveaxis(frames[0], 0, 2))
    _, one, _ = _grid_images(tonic.utils.plot_animation, torch.from_numpy(frames[:, :1]))
    assert one[0][0].shape == frames.shape[2:]  # one channel (Tonic cannot show it)
    del anim
    import gc
    gc.collect()
