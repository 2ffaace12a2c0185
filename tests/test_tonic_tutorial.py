"""The snnTorch + Tonic N-MNIST tutorial (snnTorch tutorial 7), its data steps written as its
users write them, with ``import tonic`` replaced by ``import evframes.tonic as tonic``.

:func:`tutorial` holds the tutorial's lines (``./data``, ``./cache/nmnist/train``, Denoise +
ToFrame, DiskCachedDataset, DataLoader with PadTensors(batch_first=False), a first batch and
whole epochs) and returns what they produce; the default suite runs it on an N-MNIST replica in
Tonic's layout and compares with what Tonic 1.7 produced on the same replica
(``tests/data/tonic_ds_tutorial.json``). ``tests/test_tonic_peer_datasets.py`` runs it with
Tonic itself (``--write-tutorial`` writes that file), torchvision's RandomRotation included.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from tonic_replicas import replica_digest, write_nmnist

REFERENCE = Path(__file__).resolve().parent / "data" / "tonic_ds_tutorial.json"
REPLICA = dict(per_class_train=3, per_class_test=2, seed=3)


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()


def tutorial(tonic, transforms, DiskCachedDataset, rotation=None) -> dict:
    """The tutorial's data steps in the working directory (its ``./data`` holds N-MNIST);
    ``rotation``: ``torchvision.transforms.RandomRotation`` when torchvision is installed."""
    from torch.utils.data import DataLoader

    # --- the tutorial, as written (``import tonic`` etc. done by the caller) ---------------
    dataset = tonic.datasets.NMNIST(save_to='./data', train=True)
    events, target = dataset[0]

    sensor_size = tonic.datasets.NMNIST.sensor_size

    # Denoise removes isolated, one-off events
    # time_window
    frame_transform = transforms.Compose([transforms.Denoise(filter_time=10000),
                                          transforms.ToFrame(sensor_size=sensor_size,
                                                             time_window=1000)
                                          ])

    trainset = tonic.datasets.NMNIST(save_to='./data', transform=frame_transform, train=True)
    testset = tonic.datasets.NMNIST(save_to='./data', transform=frame_transform, train=False)

    transform = tonic.transforms.Compose([torch.from_numpy]
                                         + ([rotation([-10, 10])] if rotation else []))

    cached_trainset = DiskCachedDataset(trainset, transform=transform,
                                        cache_path='./cache/nmnist/train')

    # no augmentations for the testset
    cached_testset = DiskCachedDataset(testset, cache_path='./cache/nmnist/test')

    batch_size = 128
    trainloader = DataLoader(cached_trainset, batch_size=batch_size,
                             collate_fn=tonic.collation.PadTensors(batch_first=False),
                             shuffle=True)
    testloader = DataLoader(cached_testset, batch_size=batch_size,
                            collate_fn=tonic.collation.PadTensors(batch_first=False))

    torch.manual_seed(0)
    event_tensor, target = next(iter(trainloader))
    # --- end of the tutorial's lines ------------------------------------------------------

    out = {"events_fields": list(events.dtype.names), "n_events": len(events),
           "sensor_size": list(sensor_size), "first_target": int(dataset[0][1]),
           "frames0": [list(trainset[0][0].shape), str(trainset[0][0].dtype),
                       hashlib.sha256(trainset[0][0].tobytes()).hexdigest()],
           "cached0": [type(cached_testset[0][0]).__name__, str(cached_testset[0][0].dtype),
                       type(cached_testset[0][1]).__name__],
           "first_batch": [list(event_tensor.shape), str(event_tensor.dtype),
                           _digest(event_tensor), target.tolist()]}
    epochs = []
    for loader in (trainloader, testloader, testloader):  # the test set read twice: cached
        torch.manual_seed(1)
        epochs.append([[list(x.shape), _digest(x), y.tolist()] for x, y in loader])
    out["epochs"] = epochs
    return out


def run_in(tmp_path, tonic, transforms, DiskCachedDataset, rotation=None) -> dict:
    """Write the replica under ``tmp_path/data`` and run :func:`tutorial` from ``tmp_path``."""
    with pytest.MonkeyPatch.context() as mp:
        loc = write_nmnist(tmp_path / "data", **REPLICA)
        mp.chdir(tmp_path)
        out = tutorial(tonic, transforms, DiskCachedDataset, rotation)
    out["replica"] = replica_digest(loc)
    return out


def test_tutorial_gives_tonics_values(tmp_path):
    import evframes.tonic as tonic
    import evframes.tonic.transforms as transforms
    from evframes.tonic import DiskCachedDataset
    got = run_in(tmp_path, tonic, transforms, DiskCachedDataset)
    want = json.loads(REFERENCE.read_text())["plain"]
    assert got["replica"] == want["replica"], "the replica changed: rewrite the reference"
    for key in want:
        assert got[key] == want[key], key
    assert got["first_batch"][0][1:] == [30, 2, 34, 34]  # [T, B, P, H, W], batch_first=False
    cache = tmp_path / "cache" / "nmnist" / "test"
    assert "cache.h5" in [p.name for p in cache.iterdir()]  # one store, not a file per sample
