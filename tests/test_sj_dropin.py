"""SpikingJelly users switch by an import change: its DVS128 Gesture tutorial ("Neuromorphic
Datasets Processing", activation_based) and CIFAR10-DVS call, written as its users write them
with ``spikingjelly`` replaced by ``evframes``, on replicas in SpikingJelly's root layout
(``root/download/...``), compared with the values SpikingJelly 2.0 gave on the same replicas
(``tests/data/sj_reference.npz``, written by ``tests/test_sj_peer.py --write-reference`` in the
benchmark environment; ``tests/test_sj_peer.py`` compares with SpikingJelly itself).

The replica builders and digests here are shared with ``test_sj_peer.py``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

REFERENCE = Path(__file__).resolve().parent / "data" / "sj_reference.npz"
REGENERATE = ("if evframes.synth changed its replicas, regenerate the reference: "
              "PYTHONPATH=. .venv-bench/bin/python tests/test_sj_peer.py --write-reference")

#: replicas (deterministic: fixed seeds) and the settings compared with SpikingJelly
DVS_REPLICA = dict(recordings=2, scale=0.003, seed=3, workers=1)
NMNIST_REPLICA = dict(per_class_train=2, per_class_test=1, seed=3)
CIFAR_REPLICA = dict(per_class=12, seed=3, scale=0.5)
T_NUMBER, T_TIME, DURATION = 4, 3, 200_000
DIR_HALVES = "integrate_events_to_2_frames_in_halves"


# -- shared with test_sj_peer.py ------------------------------------------------------------------
def write_sj_roots(base: Path) -> dict:
    """SpikingJelly-layout roots ``base/<name>/download/<the official file names>``."""
    from evframes import synth
    base = Path(base)
    roots = {n: base / n for n in ("dvs128", "nmnist", "cifar10dvs")}
    synth.fake_dvs128(roots["dvs128"] / "download", archive=True, **DVS_REPLICA)
    synth.fake_nmnist(roots["nmnist"] / "download", **NMNIST_REPLICA)
    synth.fake_cifar10dvs(roots["cifar10dvs"] / "download", **CIFAR_REPLICA)
    return roots


def halves(events, H, W, segment):
    """A deterministic custom integrator (two frames, events split in halves by index),
    written as SpikingJelly users write theirs; ``segment`` is
    ``integrate_events_segment_to_frame`` of the library under test."""
    n = events["t"].__len__()
    frames = np.zeros([2, 2, H, W])
    x, y, p = (events[key] for key in ("x", "y", "p"))
    frames[0] = segment(x, y, p, H, W, 0, n // 2)
    frames[1] = segment(x, y, p, H, W, n // 2, n)
    return frames


def digest(*arrays) -> str:
    """sha1 over arrays' shapes and values (events as int64, frames as float32)."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def events_digest(ev) -> str:
    return digest(*(np.asarray(ev[k], dtype=np.int64) for k in ("t", "x", "y", "p")))


def frames_digest(x) -> str:
    return digest(np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float32))


def dvs_sj_names(ds) -> list:
    """SpikingJelly's file of each of our DVS128 Gesture samples:
    ``<split>/<our label>/<recording>_<k>`` (k: earlier rows of that label in its CSV)."""
    names, seen = [], {}
    for i in range(len(ds)):
        m = ds.sample_meta(i)
        label = int(ds.events_store.labels[i])
        stem = m["source"].rsplit(".", 1)[0]
        k = seen.get((stem, label), 0)
        seen[(stem, label)] = k + 1
        names.append(f"{ds.split}/{label}/{stem}_{k}")
    return names


def file_names(ds) -> list:
    """``<class>/<file stem>`` of each sample (N-MNIST, CIFAR10-DVS): SpikingJelly's class
    folder and file."""
    return [f"{ds.classes[int(ds.labels[i])]}/{Path(ds.sample_meta(i)['source']).stem}"
            for i in range(len(ds))]


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sj_roots(tmp_path_factory):
    return write_sj_roots(tmp_path_factory.mktemp("sj_roots"))


@pytest.fixture(scope="module")
def ref():
    if not REFERENCE.is_file():
        pytest.fail(f"{REFERENCE} missing; {REGENERATE}")
    with np.load(REFERENCE) as f:
        return {k: f[k] for k in f.files}


# -- the tutorial, verbatim but for the import lines -------------------------------------------
def test_tutorial_dvs128_gesture(sj_roots, ref):
    import matplotlib
    matplotlib.use("Agg")
    root_dir = str(sj_roots["dvs128"])  # holds download/DvsGesture.tar.gz, as the tutorial's

    from evframes.datasets.cifar10_dvs import CIFAR10DVS
    from evframes.datasets.dvs128_gesture import DVS128Gesture

    print('CIFAR10-DVS downloadable', CIFAR10DVS.downloadable())
    print('resource, url, md5/n', CIFAR10DVS.resource_url_md5())
    print('DVS128Gesture downloadable', DVS128Gesture.downloadable())
    print('resource, url, md5/n', DVS128Gesture.resource_url_md5())
    assert CIFAR10DVS.downloadable() is True and DVS128Gesture.downloadable() is False
    for cls, key in ((CIFAR10DVS, "cifar10dvs"), (DVS128Gesture, "dvs128")):
        assert [list(r) for r in cls.resource_url_md5()] == ref[f"{key}_resources"].tolist()

    train_set = DVS128Gesture(root_dir, train=True, data_type='event')
    event, label = train_set[0]
    for k in event.keys():
        print(k, event[k])
    print('label', label)
    assert sorted(event.keys()) == ["p", "t", "x", "y"] and isinstance(label, int)

    train_set = DVS128Gesture(root_dir, train=True, data_type='frame', frames_number=20,
                              split_by='number')
    frame, label = train_set[0]
    print(frame.shape)
    assert tuple(frame.shape) == (20, 2, 128, 128)
    assert float(frame.sum()) == len(DVS128Gesture(root_dir, train=True)[0][0]["t"])

    from evframes.datasets import play_frame
    frame, label = train_set[len(train_set) - 1]  # the tutorial's [500]; the replica is small
    play_frame(frame)

    from torch.utils.data import DataLoader

    from evframes.datasets import dvs128_gesture, pad_sequence_collate, padded_sequence_mask
    root = root_dir
    train_set = dvs128_gesture.DVS128Gesture(root, data_type='frame', duration=1000000,
                                             train=True)
    for i in range(5):
        x, y = train_set[i]
        print(f'x[{i}].shape=[T, C, H, W]={x.shape}')
    train_data_loader = DataLoader(train_set, collate_fn=pad_sequence_collate, batch_size=5)
    for x, y, x_len in train_data_loader:  # noqa: B007 (the tutorial's line)
        print(f'x.shape=[N, T, C, H, W]={tuple(x.shape)}')
        print(f'x_len={x_len}')
        mask = padded_sequence_mask(x_len)  # mask.shape = [T, N]
        print(f'mask=\n{mask.t().int()}')
        break
    lens = [train_set[i][0].shape[0] for i in range(5)]
    assert x_len.tolist() == lens and tuple(x.shape[:2]) == (5, max(lens))
    assert mask.shape == (max(lens), 5) and mask.t().sum(1).tolist() == lens

    import evframes.datasets as sjds

    def integrate_events_to_2_frames_randomly(events, H: int, W: int):
        index_split = np.random.randint(low=0, high=events['t'].__len__())
        frames = np.zeros([2, 2, H, W])
        t, x, y, p = (events[key] for key in ('t', 'x', 'y', 'p'))
        frames[0] = sjds.integrate_events_segment_to_frame(x, y, p, H, W, 0, index_split)
        frames[1] = sjds.integrate_events_segment_to_frame(x, y, p, H, W, index_split,
                                                           events['t'].__len__())
        return frames

    train_set = DVS128Gesture(root_dir, train=True, data_type='frame',
                              custom_integrate_function=integrate_events_to_2_frames_randomly,
                              custom_integrated_frames_dir_name='integrate_events_to_2_frames'
                                                                '_randomly')
    frame, label = train_set[3]
    assert tuple(frame.shape) == (2, 2, 128, 128)
    assert float(frame.sum()) == len(DVS128Gesture(root_dir, train=True)[3][0]["t"])
    # in a SpikingJelly root our frames folder is <name>.evframes/ (its <name>/ stays free)
    frames_dir = Path(root_dir) / "integrate_events_to_2_frames_randomly.evframes"
    assert (frames_dir / "train.h5").is_file()
    # SpikingJelly's download folder is read in place, nothing of it changed
    assert sorted(p.name for p in (Path(root_dir) / "download").iterdir()) == \
        ["DvsGesture.tar.gz"]


# -- values equal SpikingJelly's (stored reference) ----------------------------------------------
def _dvs_by_sj_name(root, **kw):
    from evframes.datasets.dvs128_gesture import DVS128Gesture
    out = {}
    for train in (True, False):
        ds = DVS128Gesture(root, train, label_order="spikingjelly", progress=False, **kw)
        for i, name in enumerate(dvs_sj_names(ds)):
            out[name] = ds, i
    return out


def test_dvs128_values_equal_spikingjelly(sj_roots, ref):
    import evframes.datasets as sjds
    root = sj_roots["dvs128"]
    names = [str(n) for n in ref["dvs128_names"]]
    events = _dvs_by_sj_name(root)
    assert sorted(events) == sorted(names)
    for n, label, d in zip(names, ref["dvs128_labels"], ref["dvs128_events"]):
        ds, i = events[n]
        ev, y = ds[i]
        assert y == int(label), n
        assert events_digest(ev) == d, f"{n}: events differ from SpikingJelly's; {REGENERATE}"
    settings = {"number": dict(data_type="frame", frames_number=T_NUMBER, split_by="number"),
                "time": dict(data_type="frame", frames_number=T_TIME, split_by="time"),
                "duration": dict(data_type="frame", duration=DURATION),
                "halves": dict(data_type="frame", custom_integrated_frames_dir_name=DIR_HALVES,
                               custom_integrate_function=lambda e, H, W: halves(
                                   e, H, W, sjds.integrate_events_segment_to_frame))}
    for key, kw in settings.items():
        frames = _dvs_by_sj_name(root, **kw)
        for n, d in zip(names, ref[f"dvs128_frames_{key}"]):
            ds, i = frames[n]
            assert frames_digest(ds[i][0]) == d, (key, n)


def test_label_order_spikingjelly(sj_roots, ref):
    from evframes.datasets import DVS128Gesture
    ours = DVS128Gesture(sj_roots["dvs128"], train=False, progress=False)
    theirs = DVS128Gesture(sj_roots["dvs128"], train=False, label_order="spikingjelly",
                           progress=False)
    # SpikingJelly's label of ours: the position of str(label) among '0','1','10','2',...,'9'
    sj = {0: 0, 1: 1, 10: 2, 2: 3, 3: 4, 4: 5, 5: 6, 6: 7, 7: 8, 8: 9, 9: 10}
    assert [sj[int(v)] for v in ours.labels] == [int(v) for v in theirs.labels]
    assert theirs.classes[2] == ours.classes[10] == "other_gestures"
    assert theirs.classes[3] == ours.classes[2] and theirs.targets == theirs.labels.tolist()
    for i in range(len(ours)):
        assert theirs.classes[theirs[i][1]] == ours.classes[ours[i][1]]
    with pytest.raises(ValueError, match="label_order"):
        DVS128Gesture(sj_roots["dvs128"], train=False, label_order="sj", progress=False)


def test_nmnist_values_equal_spikingjelly(sj_roots, ref):
    from evframes.datasets.n_mnist import NMNIST
    for train, split in ((True, "train"), (False, "test")):
        ds = NMNIST(sj_roots["nmnist"], train, "frame", T_NUMBER, "number", progress=False)
        assert file_names(ds) == [str(n) for n in ref[f"nmnist_{split}_names"]]
        assert [frames_digest(ds[i][0]) for i in range(len(ds))] == \
            ref[f"nmnist_{split}_frames"].tolist(), REGENERATE


def test_cifar10dvs_whole_dataset_and_split(sj_roots, ref):
    from evframes.datasets import split_to_train_test_set
    from evframes.datasets.cifar10_dvs import CIFAR10DVS
    root = sj_roots["cifar10dvs"]
    # SpikingJelly's call: no train, positional arguments in its order
    dataset = CIFAR10DVS(root, 'frame', T_NUMBER, 'number')
    assert len(dataset) == 120 and dataset.split is None
    assert file_names(dataset) == [str(n) for n in ref["cifar10dvs_names"]]
    assert [frames_digest(dataset[i][0]) for i in range(len(dataset))] == \
        ref["cifar10dvs_frames"].tolist(), REGENERATE
    train_set, test_set = split_to_train_test_set(0.9, dataset, 10)
    assert train_set.indices == ref["cifar10dvs_split_train"].tolist()
    assert test_set.indices == ref["cifar10dvs_split_test"].tolist()
    assert (len(train_set), len(test_set)) == (110, 10)  # ceil(12 * 0.9) = 11 per class
    np.random.seed(0)
    train_set, test_set = split_to_train_test_set(0.5, dataset, 10, random_split=True)
    assert train_set.indices == ref["cifar10dvs_random_train"].tolist()
    assert test_set.indices == ref["cifar10dvs_random_test"].tolist()
    x, y = train_set[0]
    assert tuple(x.shape) == (T_NUMBER, 2, 128, 128) and y == dataset.labels[train_set.indices[0]]
    # evframes' own split stays a keyword away; the old positional train is refused clearly
    ours = CIFAR10DVS(root, data_type="frame", frames_number=T_NUMBER, split_by="number",
                      train=True, progress=False)
    assert len(ours) == 110 and ours.split == "train"
    with pytest.raises(TypeError, match="no positional train"):
        CIFAR10DVS(root, True, "frame", progress=False)


def test_cifar10dvs_tebn_split(sj_roots, ref, monkeypatch):
    from evframes.datasets import CIFAR10DVSTEBNSplit
    root = sj_roots["cifar10dvs"]
    test = CIFAR10DVSTEBNSplit(root, False, "event", progress=False)
    assert len(test) == 120  # numbers 0..99 are the test set: all of the small replica
    assert CIFAR10DVSTEBNSplit(root, True, "event", progress=False).__len__() == 0
    monkeypatch.setattr(CIFAR10DVSTEBNSplit, "TRAIN_NUMBERS", range(3, 12))
    monkeypatch.setattr(CIFAR10DVSTEBNSplit, "TEST_NUMBERS", range(0, 3))
    train = CIFAR10DVSTEBNSplit(root, True, "event", progress=False)
    names = file_names(train)
    assert len(train) == 90 and names[:3] == ["airplane/cifar10_airplane_10",
                                              "airplane/cifar10_airplane_11",
                                              "airplane/cifar10_airplane_3"]
    with pytest.raises(ValueError, match="train=True or False"):
        CIFAR10DVSTEBNSplit(root, None, progress=False)


# -- split_to_train_test_set semantics -----------------------------------------------------------
def test_split_to_train_test_set_semantics(sj_roots):
    from evframes.datasets import CIFAR10DVS, split_to_train_test_set
    labels = [2, 0, 1, 0, 2, 2, 1, 0, 0, 2]
    plain = [(torch.zeros(1), y) for y in labels]  # any dataset: iterated, as SpikingJelly does
    tr, te = split_to_train_test_set(0.5, plain, 3)
    # per class in dataset order: 0 -> [1,3,7,8], 1 -> [2,6], 2 -> [0,4,5,9]; ceil(n * 0.5)
    assert tr.indices == [1, 3, 2, 0, 4] and te.indices == [7, 8, 6, 5, 9]
    tr, te = split_to_train_test_set(0.7, plain, 4)  # class 3 empty; ceil(2.8)=3, ceil(1.4)=2
    assert tr.indices == [1, 3, 7, 2, 6, 0, 4, 5] and te.indices == [8, 9]
    with pytest.raises(ValueError, match="sample 2 has label 5"):
        split_to_train_test_set(0.5, [(0, 1), (0, 0), (0, 5)], 3)
    # evframes' Datasets: labels read from the store, no sample loaded; target_transform kept
    ds = CIFAR10DVS(sj_roots["cifar10dvs"], target_transform=lambda y: 9 - y, progress=False)

    def no_reading(self, i):
        raise AssertionError("split_to_train_test_set read a sample")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(ds), "__getitem__", no_reading)
        tr, te = split_to_train_test_set(0.9, ds, 10)
        tr2, te2 = split_to_train_test_set(0.5, tr, 10)  # a Subset of one
    assert tr.indices[:11] == list(range(108, 119))  # label 9 - 9 = 0 first
    assert len(tr2) == 60 and all(ds.labels[tr.indices[i]] == 0 for i in tr2.indices[-6:])


# -- layouts, errors, names ----------------------------------------------------------------------
def test_spikingjelly_extract_layout(sj_roots, tmp_path):
    """SpikingJelly's extract/DvsGesture/ (what it unpacked) is read; its events_np/ is not."""
    from evframes.datasets import DVS128Gesture
    root = tmp_path / "sj"
    with tarfile.open(sj_roots["dvs128"] / "download" / "DvsGesture.tar.gz") as tf:
        tf.extractall(root / "extract", filter="data")
    (root / "events_np" / "train" / "0").mkdir(parents=True)
    a = DVS128Gesture(root, train=False, progress=False)
    b = DVS128Gesture(sj_roots["dvs128"], train=False, progress=False)
    assert len(a) == len(b) and all(np.array_equal(a[i][0]["t"], b[i][0]["t"])
                                    for i in range(len(a)))
    assert (root / "events" / "test.h5").is_file()  # our stores beside SpikingJelly's files
    assert sorted((root / "events_np").rglob("*")) == [root / "events_np" / "train",
                                                      root / "events_np" / "train" / "0"]
    # SpikingJelly unpacking its download after evframes read it changes nothing of ours:
    # download/ is preferred to extract/ (also while extract/ is incomplete)
    both = tmp_path / "both"
    shutil.copytree(sj_roots["dvs128"] / "download", both / "download")
    DVS128Gesture(both, train=False, progress=False)
    store = both / "events" / "test.h5"
    before = store.stat().st_mtime_ns
    (both / "extract" / "DvsGesture").mkdir(parents=True)  # SpikingJelly still unpacking
    DVS128Gesture(both, train=False, progress=False)
    shutil.rmtree(both / "extract")
    shutil.copytree(root / "extract", both / "extract")
    c = DVS128Gesture(both, train=False, progress=False)
    assert store.stat().st_mtime_ns == before and len(c) == len(b)
    # frames in a SpikingJelly root: never in a folder of SpikingJelly's setting name (it
    # would take that folder as its own built frames and fail), but in <name>.evframes/
    kw = dict(train=False, data_type="frame", frames_number=2, split_by="number",
              progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f1 = DVS128Gesture(both, **kw)
    name = "frames_number_2_split_by_number"
    assert (both / f"{name}.evframes" / "test.h5").is_file()
    assert not (both / name).exists()
    # stores an earlier evframes wrote into <name>/ move out of SpikingJelly's way, reused
    new = both / f"{name}.evframes" / "test.h5"
    (both / name).mkdir()
    os.replace(new, both / name / "test.h5")
    before = (both / name / "test.h5").stat().st_mtime_ns
    f2 = DVS128Gesture(both, **kw)
    assert not (both / name).exists() and new.stat().st_mtime_ns == before  # moved, not rebuilt
    assert all(torch.equal(f1[i][0], f2[i][0]) for i in range(len(f1)))
    # ... and out of a folder SpikingJelly built too, leaving its files (test/) there
    (both / name / "test").mkdir(parents=True)
    os.replace(new, both / name / "test.h5")
    DVS128Gesture(both, **kw)
    assert sorted(p.name for p in (both / name).iterdir()) == ["test"]
    assert new.stat().st_mtime_ns == before


def test_missing_files_say_where_to_get_them(tmp_path):
    from evframes import DatasetError
    from evframes.datasets import CIFAR10DVS, NMNIST, DVS128Gesture
    for cls, needles in ((DVS128Gesture, ["DvsGesture.tar.gz", "ibm.ent.box.com",
                                          "download/DvsGesture.tar.gz", "extract/DvsGesture/"]),
                         (NMNIST, ["Train.zip", "garrickorchard.com", "download/Train.zip"]),
                         (CIFAR10DVS, ["airplane.zip", "SpikingJelly downloads these itself",
                                       "resource_url_md5()"])):
        root = tmp_path / cls.__name__
        (root / "download").mkdir(parents=True)
        with pytest.raises(DatasetError) as e:
            cls(root, train=True, progress=False)
        msg = str(e.value)
        assert "\n" not in msg and "never downloads" in msg and f"{root}/download" in msg, msg
        for n in needles:
            assert n in msg, (n, msg)
    partial = tmp_path / "partial" / "download"  # an interrupted download: two classes short
    partial.mkdir(parents=True)
    for c in ("airplane", "bird", "cat", "deer", "dog", "frog", "horse", "ship"):
        shutil.copy(Path(__file__), partial / f"{c}.zip")  # any file: found, read later
    with pytest.raises(DatasetError, match=r"missing: automobile.zip, truck.zip .*get "
                                           r"automobile.zip, truck.zip from .*files/7712791"):
        CIFAR10DVS(partial.parent, progress=False)


def test_missing_spikingjelly_datasets_are_named():
    with pytest.raises(ModuleNotFoundError, match="no ES-ImageNet dataset.*not planned"):
        import evframes.datasets.es_imagenet  # noqa: F401
    with pytest.raises(ImportError, match="no Speech Commands dataset.*SpeechCommands"):
        from evframes.datasets import SpeechCommands  # noqa: F401
    with pytest.raises(ModuleNotFoundError, match="no HARDVS dataset"):
        import evframes.datasets.hardvs  # noqa: F401
    import evframes.datasets as d
    assert not hasattr(d, "NoSuchThing")


def test_spikingjelly_functions(tmp_path):
    import evframes.datasets as sjds
    from evframes.datasets import utils
    from evframes.datasets.transform import RandomTemporalDelete
    for n in utils.SPIKINGJELLY_NAMES + ("random_temporal_delete", "CIFAR10DVS_CLASS_NAMES"):
        assert callable(getattr(sjds, n)) or n == "CIFAR10DVS_CLASS_NAMES", n
    frames = np.zeros([3, 2, 5, 6], np.float64)
    frames[1, 1, 2, 3] = 4
    np.savez(tmp_path / "f.npz", frames=frames)
    got = sjds.load_npz_frames(tmp_path / "f.npz")
    assert got.dtype == np.float32 and np.array_equal(got, frames)
    paths = sjds.save_as_pic(frames, str(tmp_path), "pic")
    assert [p.name for p in paths] == ["pic_0.png", "pic_1.png", "pic_2.png"]
    assert sjds.play_frame(torch.from_numpy(frames), str(tmp_path / "a.gif")).is_file()
    x = torch.arange(2 * 6).reshape(2, 6)
    np.random.seed(1)
    kept = np.sort(np.random.choice(6, 4, replace=False))
    np.random.seed(1)
    assert torch.equal(RandomTemporalDelete(4, batch_first=True)(x), x[:, kept])
    with pytest.raises(ValueError, match="T_remain=7"):
        sjds.random_temporal_delete(x, 7, True)
