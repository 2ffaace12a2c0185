"""torch Datasets (SpikingJelly constructor), DataLoader workers, pad/mask collation."""
import shutil

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from evframes.datasets import CIFAR10DVS, NMNIST, DVS128Gesture
from evframes.integrate import (
    integrate_events_by_fixed_duration,
    integrate_events_by_fixed_frames_number,
)
from evframes.torch_data import (
    pad_sequence_collate,
    pad_sequence_collate_time_first,
    padded_sequence_mask,
)


@pytest.fixture(scope="module")
def gesture_root(tmp_path_factory, dvs_archive_root):
    root = tmp_path_factory.mktemp("gesture_torch")
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", root / "DvsGesture.tar.gz")
    return root


def test_spikingjelly_tutorial_frames(gesture_root):
    """The SpikingJelly tutorial's constructor, with only the import changed."""
    train_set = DVS128Gesture(root=str(gesture_root), train=True, data_type="frame",
                              frames_number=20, split_by="number", progress=False)
    test_set = DVS128Gesture(root=str(gesture_root), train=False, data_type="frame",
                             frames_number=20, split_by="number", progress=False)
    assert len(train_set) == 36 and len(test_set) == 12
    x, y = train_set[0]
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    assert x.shape == (20, 2, 128, 128) and isinstance(y, int) and y == 0
    ev, _ = DVS128Gesture(gesture_root, train=True, data_type="event", progress=False)[0]
    ref = integrate_events_by_fixed_frames_number(ev, "number", 20, 128, 128)
    np.testing.assert_array_equal(x.numpy(), ref)
    assert train_set.classes[1] == "right_hand_wave" and train_set.sensor_size == (128, 128)
    assert train_set.sample_meta(0)["row"] == 0


def test_duration_with_pad_collate_and_mask(gesture_root):
    ds = DVS128Gesture(gesture_root, train=False, data_type="frame", duration=1_000_000,
                       progress=False)
    loader = DataLoader(ds, batch_size=4, collate_fn=pad_sequence_collate, shuffle=False)
    x, y, lens = next(iter(loader))
    T_max = int(lens.max())
    assert x.shape == (4, T_max, 2, 128, 128)
    ev, _ = ds.events_store[1]
    ref = integrate_events_by_fixed_duration(ev, 1_000_000, 128, 128)
    assert int(lens[1]) == ref.shape[0]
    np.testing.assert_array_equal(x[1, : ref.shape[0]].numpy(), ref)
    assert float(x[1, ref.shape[0]:].abs().sum()) == 0.0
    mask = padded_sequence_mask(lens)
    assert mask.shape == (T_max, 4) and mask.dtype == torch.bool
    assert mask.sum(0).tolist() == lens.tolist()
    xt, _, _ = pad_sequence_collate_time_first([ds[0], ds[1]])
    assert xt.shape[1] == 2 and xt.shape[0] == max(ds[0][0].shape[0], ds[1][0].shape[0])


def test_collate_and_mask_semantics():
    batch = [(torch.ones(3, 2), 1), (torch.ones(1, 2) * 2, 0)]
    x, y, lens = pad_sequence_collate(batch)
    assert x.shape == (2, 3, 2) and y.tolist() == [1, 0] and lens.tolist() == [3, 1]
    assert x[1, 1:].abs().sum() == 0 and x[1, 0, 0] == 2
    m = padded_sequence_mask(torch.tensor([3, 1]), T=4)
    assert m.tolist() == [[True, True], [True, False], [True, False], [False, False]]


def test_two_workers_read_identical_samples(gesture_root):
    ds = DVS128Gesture(gesture_root, train=True, data_type="frame", frames_number=8,
                       split_by="time", progress=False)
    single = [ds[i] for i in range(len(ds))]
    loader = DataLoader(ds, batch_size=5, num_workers=2, persistent_workers=True, shuffle=False)
    got_x, got_y = [], []
    for _ in range(2):  # two epochs on persistent workers
        got_x, got_y = [], []
        for xb, yb in loader:
            got_x.append(xb)
            got_y.append(yb)
    xs = torch.cat(got_x)
    assert torch.equal(xs, torch.stack([s[0] for s in single]))
    assert torch.cat(got_y).tolist() == [s[1] for s in single]
    # shuffled order still pairs each sample with its own label
    sh = DataLoader(ds, batch_size=6, num_workers=2, shuffle=True,
                    generator=torch.Generator().manual_seed(0))
    ref = {tuple(s[0].sum(dim=(1, 2, 3)).tolist()): s[1] for s in single}
    for xb, yb in sh:
        for xi, yi in zip(xb, yb):
            assert ref[tuple(xi.sum(dim=(1, 2, 3)).tolist())] == int(yi)


def test_in_memory_equals_disk(gesture_root):
    a = DVS128Gesture(gesture_root, train=False, data_type="frame", frames_number=4,
                      split_by="number", progress=False)
    b = DVS128Gesture(gesture_root, train=False, data_type="frame", frames_number=4,
                      split_by="number", in_memory=True, progress=False)
    for i in range(len(a)):
        assert torch.equal(a[i][0], b[i][0]) and a[i][1] == b[i][1]
    c = DVS128Gesture(gesture_root, train=False, data_type="frame", frames_number=4,
                      split_by="number", frame_dtype=torch.uint8, progress=False)
    assert c[2][0].dtype == torch.uint8 and torch.equal(c[2][0].float(), a[2][0])
    e1 = DVS128Gesture(gesture_root, train=False, progress=False)
    e2 = DVS128Gesture(gesture_root, train=False, in_memory=True, progress=False)
    np.testing.assert_array_equal(e1[3][0]["t"], e2[3][0]["t"])
    loader = DataLoader(b, batch_size=4, num_workers=2)
    assert sum(xb.shape[0] for xb, _ in loader) == len(b)


def test_custom_function_and_transforms(gesture_root):
    def split_in_two(events, H, W):
        return integrate_events_by_fixed_frames_number(events, "time", 2, H, W)

    ds = DVS128Gesture(gesture_root, train=False, data_type="frame",
                       custom_integrate_function=split_in_two,
                       custom_integrated_frames_dir_name="halves",
                       transform=lambda x: x[:, :1], target_transform=lambda y: y * 10,
                       progress=False)
    x, y = ds[2]
    assert x.shape == (2, 1, 128, 128) and y == 20
    assert (gesture_root / "halves" / "test.h5").exists()


def test_bad_arguments(gesture_root):
    with pytest.raises(ValueError, match="data_type"):
        DVS128Gesture(gesture_root, data_type="frames", progress=False)
    with pytest.raises(ValueError, match="split_by"):
        DVS128Gesture(gesture_root, data_type="frame", frames_number=4, progress=False)
    with pytest.raises(ValueError, match="frames_number"):
        DVS128Gesture(gesture_root, data_type="frame", progress=False)


def test_nmnist_and_cifar_classes(tmp_path):
    from evframes import synth
    synth.fake_nmnist(tmp_path / "n", per_class_train=2, per_class_test=1)
    ds = NMNIST(tmp_path / "n", train=True, data_type="frame", frames_number=5,
                split_by="number", progress=False)
    x, y = ds[3]
    assert x.shape == (5, 2, 34, 34) and y == 1 and ds.classes[9] == "9"
    synth.fake_cifar10dvs(tmp_path / "c", per_class=2)
    c = CIFAR10DVS(tmp_path / "c", train=False, data_type="frame", frames_number=4,
                   split_by="number", progress=False, train_ratio=0.5)
    assert len(c) == 10 and c[9][1] == 9 and c[0][0].shape == (4, 2, 128, 128)
