"""NAVGesture, DVS-Lip and N-CARS against the peers themselves (benchmark environment only;
skipped without them): on the replicas of ``test_datasets_wave1b.py``, SpikingJelly 2.0
prepares its roots (``NAVGestureWalk``, ``DVSLip``: its own ``extract_downloaded_files`` and
``create_raw_from_extracted``, as its md5 check refuses replicas) and reads them, Tonic 1.7 reads
DVS-Lip in its ``save_to`` (it has no N-CARS or NavGesture since 1.0.10), and expelliarmus
decodes every N-CARS ``.dat`` file (SpikingJelly has no N-CARS); evframes then reads the same
files and every value is compared: SpikingJelly's samples in its order (names, labels,
events), its ``split_to_train_test_set`` indices and its frames by number; Tonic's samples
(events and targets, as sorted pairs: its order is the file system's) and sample files;
expelliarmus' events per file.

Run: ``PYTHONPATH=. .venv-bench/bin/python -m pytest -q tests/test_datasets_wave1b_peer.py``.
Write the default suite's reference (``tests/data/wave1b_reference.npz``) from the peers:
``PYTHONPATH=. .venv-bench/bin/python tests/test_datasets_wave1b_peer.py --write-reference``.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("spikingjelly")
pytest.importorskip("tonic")
pytest.importorskip("torchvision")
pytest.importorskip("expelliarmus")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_datasets_wave1b as w  # noqa: E402

from helpers import sj_prepare  # noqa: E402


def _sj_name(path) -> str:
    return f"{Path(path).parent.name}/{Path(path).stem}"


def peer_values(r) -> dict:
    """What the peers give on the replicas, keyed as :func:`test_datasets_wave1b.ours_values`."""
    import tonic
    from expelliarmus import Wizard
    from spikingjelly.datasets import split_to_train_test_set
    from spikingjelly.datasets.dvs_lip import DVSLip
    from spikingjelly.datasets.nav_gesture import NAVGestureWalk
    from spikingjelly.logger import logger
    logger.remove()
    out = {}
    sj_prepare(NAVGestureWalk, r["nav"])
    ds = NAVGestureWalk(r["nav"], data_type="event")
    out["sj_nav_names"] = np.array([_sj_name(p) for p, _ in ds.samples])
    out["sj_nav_labels"] = np.array(ds.targets)
    out["sj_nav_events"] = np.array([w.events_digest(ds[i][0]) for i in range(len(ds))])
    tr, te = split_to_train_test_set(w.SPLIT_RATIO, ds, 6)
    out["sj_nav_split_train"], out["sj_nav_split_test"] = np.array(tr.indices), np.array(
        te.indices)
    fr = NAVGestureWalk(r["nav"], data_type="frame", frames_number=w.T_NUMBER,
                        split_by="number")
    out["sj_nav_frames"] = np.array([w.digest(np.asarray(fr[i][0], np.float32))
                                     for i in range(len(fr))])
    sj_prepare(DVSLip, r["lip"])
    for split, train in (("train", True), ("test", False)):
        ds = DVSLip(r["lip"], train=train, data_type="event")
        out[f"sj_lip_{split}_names"] = np.array([_sj_name(p) for p, _ in ds.samples])
        out[f"sj_lip_{split}_labels"] = np.array(ds.targets)
        out[f"sj_lip_{split}_events"] = np.array([w.events_digest(ds[i][0])
                                                  for i in range(len(ds))])
        fr = DVSLip(r["lip"], train=train, data_type="frame", frames_number=w.T_NUMBER,
                    split_by="number")
        out[f"sj_lip_{split}_frames"] = np.array([w.digest(np.asarray(fr[i][0], np.float32))
                                                  for i in range(len(fr))])
    old = tonic.datasets.DVSLip._check_exists
    tonic.datasets.DVSLip._check_exists = lambda self: True  # replicas hold < 100 files
    try:
        for split, train in (("train", True), ("test", False)):
            ds = tonic.datasets.DVSLip(str(r["tonic"]), train=train)
            out[f"tonic_lip_{split}"] = np.array(sorted(
                (w.structured_digest(ev), str(t)) for ev, t in (ds[i] for i in range(len(ds)))))
            out[f"tonic_lip_{split}_names"] = np.array(sorted(
                Path(p).relative_to(r["tonic"]).as_posix() for p in ds.data))
    finally:
        tonic.datasets.DVSLip._check_exists = old
    wiz = Wizard(encoding="dat")
    for split in ("train", "test"):
        files = sorted((r["ncars"] / split).rglob("*.dat"))
        out[f"dat_ncars_{split}"] = np.array(sorted(
            (f.relative_to(r["ncars"]).as_posix(), w.events_digest(wiz.read(f)))
            for f in files))
    return out


def live_values(base: Path):
    roots = w.write_roots(base)
    peers = peer_values(roots)
    return peers, w.ours_values(roots)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    return live_values(tmp_path_factory.mktemp("wave1b_peer"))


def test_stored_reference_is_the_peers(live):
    peers, _ = live
    with np.load(w.REFERENCE) as f:
        stored = {k: f[k] for k in f.files}
    assert sorted(stored) == sorted(peers)
    for k in peers:
        assert np.array_equal(stored[k], peers[k]), (k, w.REGENERATE)


@pytest.mark.parametrize("prefix", ["sj_nav", "sj_lip", "tonic_lip", "dat_ncars"])
def test_evframes_equals_the_peer(live, prefix):
    peers, ours = live
    keys = [k for k in peers if k.startswith(prefix)]
    assert keys
    for k in keys:
        assert peers[k].shape == ours[k].shape and np.array_equal(peers[k], ours[k]), k


def test_navgesture_time_going_back_spikingjelly_drops_the_tail(tmp_path):
    """Where a file's time goes back, SpikingJelly's reader (first pass) zero-fills each such
    record and keeps only as many records as it accepted, so the file's last events are lost;
    evframes keeps them (the rest is equal: the events below an earlier time are dropped)."""
    from spikingjelly.datasets.nav_gesture import _readATIS_tddat

    from evframes.raw.nav_gesture import td_events
    rec = [(100, 3, 10, 1), (90, 4, 11, 0), (110, 5, 12, 1), (120, 6, 13, 0), (80, 7, 14, 1),
           (130, 8, 15, 0), (140, 9, 16, 1)]
    for header in (True, False):
        p = tmp_path / f"user01_do_{int(header)}.dat"
        p.write_bytes(w._td(rec, header=header))
        t, xy, pol, _ = _readATIS_tddat(str(p))
        ours = td_events(p.read_bytes(), str(p), "spikingjelly", [])
        assert list(ours["t"]) == [0, 10, 20, 30, 40]
        n = len(t)  # two records went back in time: SpikingJelly loses the last two
        assert n == len(ours) - 2 and list(t) == list(ours["t"][:n])
        assert list(xy[:, 0]) == list(ours["x"][:n])
        assert list(239 - xy[:, 1]) == list(ours["y"][:n]) and list(pol) == list(ours["p"][:n])


if __name__ == "__main__":
    if "--write-reference" not in sys.argv:
        sys.exit("usage: test_datasets_wave1b_peer.py --write-reference")
    with tempfile.TemporaryDirectory() as tmp:
        peers, ours = live_values(Path(tmp))
    bad = [k for k in peers if not np.array_equal(peers[k], ours.get(k))]
    w.REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(w.REFERENCE, **peers)
    print(f"wrote {w.REFERENCE} ({w.REFERENCE.stat().st_size} bytes, {len(peers)} arrays)"
          + (f"; evframes differs on {bad}" if bad else "; evframes equal on all"))
