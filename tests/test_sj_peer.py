"""evframes against SpikingJelly 2.0 itself (benchmark environment only; skipped without it):
SpikingJelly prepares the replicas of ``test_sj_dropin.py`` in their SpikingJelly roots, then
evframes reads the same roots (its stores beside SpikingJelly's folders) and every value of
``test_sj_dropin.py`` is compared with what SpikingJelly just produced: events, labels,
frames (by number, time, duration, a custom function), N-MNIST and CIFAR10-DVS frames, the
whole CIFAR10-DVS order and ``split_to_train_test_set``'s indices, the resources.

Run: ``PYTHONPATH=. .venv-bench/bin/python -m pytest -q tests/test_sj_peer.py``.
Write the default suite's reference (``tests/data/sj_reference.npz``) from SpikingJelly:
``PYTHONPATH=. .venv-bench/bin/python tests/test_sj_peer.py --write-reference``.

SpikingJelly checks the md5 of the official downloads, which replicas cannot match; as
``benchmarks/bench_dataloader.py`` does, its own ``extract_downloaded_files`` and
``create_raw_from_extracted`` prepare ``extract/`` and ``events_np/`` first, so its datasets
then start from its prepared raw data.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("spikingjelly")
pytest.importorskip("torchvision")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_sj_dropin as dropin  # noqa: E402

from helpers import sj_prepare  # noqa: E402


def _named(ds, strip_frames_count=False):
    """``{name: index}`` of a SpikingJelly DatasetFolder; names as ``test_sj_dropin``'s."""
    out = {}
    for i, (path, _) in enumerate(ds.samples):
        p = Path(path)
        stem = p.stem.rsplit("_", 1)[0] if strip_frames_count else p.stem
        out[f"{p.parent.name}/{stem}"] = i
    return out


def spikingjelly_values(roots) -> dict:
    """What SpikingJelly gives on the replicas under ``roots`` (prepared in place)."""
    import spikingjelly.datasets as sjds
    from spikingjelly.datasets.cifar10_dvs import CIFAR10DVS
    from spikingjelly.datasets.dvs128_gesture import DVS128Gesture
    from spikingjelly.datasets.n_mnist import NMNIST
    from spikingjelly.logger import logger
    logger.remove()  # its per-file log lines
    ref = {}
    for key, cls in (("dvs128", DVS128Gesture), ("nmnist", NMNIST), ("cifar10dvs", CIFAR10DVS)):
        sj_prepare(cls, roots[key])
        ref[f"{key}_resources"] = np.array([list(r) for r in cls.resource_url_md5()])

    root = roots["dvs128"]
    names, labels, events = [], [], []
    for split, train in (("train", True), ("test", False)):
        ds = DVS128Gesture(root, train=train, data_type="event")
        for n, i in _named(ds).items():
            ev, y = ds[i]
            names.append(f"{split}/{n}")
            labels.append(y)
            events.append(dropin.events_digest(ev))
    ref.update(dvs128_names=np.array(names), dvs128_labels=np.array(labels),
               dvs128_events=np.array(events))
    settings = {
        "number": dict(frames_number=dropin.T_NUMBER, split_by="number"),
        "time": dict(frames_number=dropin.T_TIME, split_by="time"),
        "duration": dict(duration=dropin.DURATION),
        "halves": dict(custom_integrated_frames_dir_name=dropin.DIR_HALVES,
                       custom_integrate_function=lambda e, H, W: dropin.halves(
                           e, H, W, sjds.integrate_events_segment_to_frame))}
    for key, kw in settings.items():
        digests = {}
        for split, train in (("train", True), ("test", False)):
            ds = DVS128Gesture(root, train=train, data_type="frame", **kw)
            for n, i in _named(ds, strip_frames_count=key == "duration").items():
                digests[f"{split}/{n}"] = dropin.frames_digest(ds[i][0])
        ref[f"dvs128_frames_{key}"] = np.array([digests[n] for n in names])

    for split, train in (("train", True), ("test", False)):
        ds = NMNIST(roots["nmnist"], train=train, data_type="frame",
                    frames_number=dropin.T_NUMBER, split_by="number")
        ref[f"nmnist_{split}_names"] = np.array(list(_named(ds)))
        ref[f"nmnist_{split}_frames"] = np.array([dropin.frames_digest(ds[i][0])
                                                  for i in range(len(ds))])

    ds = CIFAR10DVS(roots["cifar10dvs"], data_type="frame", frames_number=dropin.T_NUMBER,
                    split_by="number")
    assert list(_named(ds).values()) == list(range(len(ds)))
    ref["cifar10dvs_names"] = np.array(list(_named(ds)))
    ref["cifar10dvs_frames"] = np.array([dropin.frames_digest(ds[i][0]) for i in range(len(ds))])
    tr, te = sjds.split_to_train_test_set(0.9, ds, 10)
    ref["cifar10dvs_split_train"], ref["cifar10dvs_split_test"] = (np.array(tr.indices),
                                                                   np.array(te.indices))
    np.random.seed(0)
    tr, te = sjds.split_to_train_test_set(0.5, ds, 10, random_split=True)
    ref["cifar10dvs_random_train"], ref["cifar10dvs_random_test"] = (np.array(tr.indices),
                                                                     np.array(te.indices))
    return ref


# -- the tests ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def live(tmp_path_factory):
    roots = dropin.write_sj_roots(tmp_path_factory.mktemp("sj_peer"))
    return roots, spikingjelly_values(roots)


def test_stored_reference_is_spikingjelly(live):
    _, values = live
    with np.load(dropin.REFERENCE) as f:
        stored = {k: f[k] for k in f.files}
    assert sorted(stored) == sorted(values)
    for k in values:
        assert np.array_equal(stored[k], values[k]), (k, dropin.REGENERATE)


def test_dvs128_equal_in_spikingjellys_root(live):
    roots, values = live
    dropin.test_dvs128_values_equal_spikingjelly(roots, values)
    dropin.test_label_order_spikingjelly(roots, values)


def test_nmnist_equal_in_spikingjellys_root(live):
    roots, values = live
    dropin.test_nmnist_values_equal_spikingjelly(roots, values)


def test_cifar10dvs_equal_in_spikingjellys_root(live):
    roots, values = live
    dropin.test_cifar10dvs_whole_dataset_and_split(roots, values)


def test_spikingjelly_still_reads_its_root(live):
    """After evframes wrote its stores into the roots, SpikingJelly's own datasets still load
    (its folders untouched; our ``<setting>/<split>.h5`` sit beside its ``<split>/``)."""
    from spikingjelly.datasets.dvs128_gesture import DVS128Gesture
    roots, values = live
    dropin.test_dvs128_values_equal_spikingjelly(roots, values)  # evframes stores exist now
    ds = DVS128Gesture(roots["dvs128"], train=True, data_type="frame",
                       frames_number=dropin.T_NUMBER, split_by="number")
    digests = {f"train/{n}": dropin.frames_digest(ds[i][0]) for n, i in _named(ds).items()}
    ref = dict(zip(values["dvs128_names"], values["dvs128_frames_number"]))
    assert all(ref[n] == d for n, d in digests.items()) and digests
    assert (roots["dvs128"] / f"frames_number_{dropin.T_NUMBER}_split_by_number.evframes"
            / "train.h5").is_file()


def test_spikingjelly_builds_frames_after_evframes(live):
    """evframes integrating a setting first in SpikingJelly's root does not stop SpikingJelly
    from building that setting afterwards (our stores sit in ``<setting>.evframes/``), and
    both give the same frames."""
    from spikingjelly.datasets.dvs128_gesture import DVS128Gesture as SJGesture

    from evframes.datasets import DVS128Gesture
    roots, _ = live
    ours = DVS128Gesture(roots["dvs128"], train=False, data_type="frame", frames_number=3,
                         split_by="number", progress=False)
    theirs = SJGesture(roots["dvs128"], train=False, data_type="frame", frames_number=3,
                       split_by="number")
    assert (roots["dvs128"] / "frames_number_3_split_by_number" / "test").is_dir()
    mine = {dropin.frames_digest(ours[i][0].numpy()) for i in range(len(ours))}
    sj = {dropin.frames_digest(theirs[i][0]) for i in range(len(theirs))}
    assert mine == sj and len(sj) == len(ours)


def test_sj_functions_equal(live):
    """SpikingJelly's functions and ours on the same inputs: segment frames, segment indices,
    fixed number / duration frames, padding, masks, split indices, temporal delete."""
    import spikingjelly.datasets as sj
    import torch

    import evframes.datasets as ev
    rng = np.random.default_rng(5)
    n = 5000
    events = {"t": np.sort(rng.integers(0, 2_000_000, n)), "x": rng.integers(0, 34, n),
              "y": rng.integers(0, 34, n), "p": rng.integers(0, 2, n)}
    assert np.array_equal(sj.integrate_events_segment_to_frame(
        events["x"], events["y"], events["p"], 34, 34, 100, 900),
        ev.integrate_events_segment_to_frame(events["x"], events["y"], events["p"], 34, 34,
                                             100, 900))
    for split_by in ("number", "time"):
        for a, b in zip(sj.cal_fixed_frames_number_segment_index(events["t"], split_by, 7),
                        ev.cal_fixed_frames_number_segment_index(events["t"], split_by, 7)):
            assert np.array_equal(a, b)
        assert np.array_equal(sj.integrate_events_by_fixed_frames_number(events, split_by, 7,
                                                                         34, 34),
                              ev.integrate_events_by_fixed_frames_number(events, split_by, 7,
                                                                         34, 34))
    assert np.array_equal(sj.integrate_events_by_fixed_duration(events, 300_000, 34, 34),
                          ev.integrate_events_by_fixed_duration(events, 300_000, 34, 34))
    batch = [(torch.rand(t, 2, 3), t % 3) for t in (4, 7, 2)]
    for a, b in zip(sj.pad_sequence_collate(batch), ev.pad_sequence_collate(batch)):
        assert torch.equal(a, b)
    lens = torch.tensor([4, 7, 2])
    assert torch.equal(sj.padded_sequence_mask(lens), ev.padded_sequence_mask(lens))
    assert torch.equal(sj.padded_sequence_mask(lens, 9), ev.padded_sequence_mask(lens, 9))
    data = [(0, int(v)) for v in rng.integers(0, 6, 97)]
    for ratio in (0.1, 0.33, 0.9):
        for random_split in (False, True):
            np.random.seed(11)
            a = sj.split_to_train_test_set(ratio, data, 6, random_split)
            np.random.seed(11)
            b = ev.split_to_train_test_set(ratio, data, 6, random_split)
            assert [s.indices for s in a] == [s.indices for s in b], (ratio, random_split)
    x = torch.rand(8, 10, 2)
    for batch_first in (True, False):
        np.random.seed(2)
        a = sj.random_temporal_delete(x, 4, batch_first)
        np.random.seed(2)
        assert torch.equal(a, ev.random_temporal_delete(x, 4, batch_first))


def _write_reference():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        values = spikingjelly_values(dropin.write_sj_roots(Path(d)))
    dropin.REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(dropin.REFERENCE, **values)
    print(f"wrote {dropin.REFERENCE} ({dropin.REFERENCE.stat().st_size} bytes, "
          f"{len(values)} arrays)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-reference"]:
        sys.exit("usage: python tests/test_sj_peer.py --write-reference")
    _write_reference()
