"""SHD / SSC against SpikingJelly 2.0 and Tonic 1.7 live (benchmark environment; skipped
without them): the same replica read by the peers' own loaders.

Write the default suite's reference (``tests/data/shd_reference.npz``) from the peers:
``PYTHONPATH=. .venv-bench/bin/python tests/test_datasets_shd_peer.py --write-reference``.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_datasets_shd as s  # noqa: E402


def _sj():
    pytest.importorskip("spikingjelly")
    from spikingjelly.datasets import shd as sj_shd
    return sj_shd


def live_values(base: Path) -> dict:
    """The peers' values on the reference replica (:data:`test_datasets_shd.REPLICA`)."""
    sj_shd = _sj()
    tonic = pytest.importorskip("tonic")
    src = base / "src"
    s.write_reference_replica(src)
    out = {"replica": np.array(s.replica_digest(src))}
    # SpikingJelly: its raw root events_h5/ holds the files (its own download/ would be
    # checked against the real md5 sums and deleted)
    root = base / "sj"
    (root / "events_h5").mkdir(parents=True)
    shutil.copy(src / "shd_test.h5", root / "events_h5" / "shd_test.h5")
    shutil.copy(src / "shd_train.h5", root / "events_h5" / "shd_train.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev_ds = sj_shd.SpikingHeidelbergDigits(str(root), train=False, data_type="event")
        n = len(ev_ds)
        items = [ev_ds[i] for i in range(n)]
        out["sj_labels"] = np.array([int(y) for _, y in items], np.int64)
        out["sj_t16"] = np.concatenate([e["t"] for e, _ in items]).astype(np.float16)
        out["sj_x"] = np.concatenate([e["x"] for e, _ in items]).astype(np.int64)
        out["sj_n"] = np.array([len(e["t"]) for e, _ in items], np.int64)
        f = sj_shd._integrate_events_by_fixed_frames_number
        out["sj_number"] = np.stack([f(e, "number", s.T_NUMBER, 700) for e, _ in items]
                                    ).astype(np.uint8)
        e64 = [{"t": e["t"].astype(np.float64), "x": e["x"]} for e, _ in items]
        for key, evs in (("sj_time", [e for e, _ in items]), ("sj64_time", e64)):
            frames, crash = [], []
            for e in evs:
                try:
                    frames.append(f(e, "time", s.T_TIME, 700))
                    crash.append(False)
                except IndexError:  # a window without events
                    frames.append(np.zeros((s.T_TIME, 700)))
                    crash.append(True)
            out[key] = np.stack(frames).astype(np.uint8)
            out[key + "_crash"] = np.array(crash)
        g = sj_shd._integrate_events_by_fixed_duration
        for key, evs in (("sj_duration", [e for e, _ in items]), ("sj64_duration", e64)):
            fr = [g(e, s.DURATION_MS, 700) for e in evs]
            out[key] = np.concatenate(fr).astype(np.uint8)
            out[key + "_T"] = np.array([len(x) for x in fr], np.int64)
        # its whole frame pipeline (files per sample in label folders, DatasetFolder order)
        fr_ds = sj_shd.SpikingHeidelbergDigits(str(root), train=False, data_type="frame",
                                               frames_number=s.T_NUMBER, split_by="number")
        out["sj_folder_order"] = np.array([int(Path(p).stem) for p, _ in fr_ds.samples])
        out["sj_folder_targets"] = np.array(fr_ds.targets, np.int64)
        out["sj_folder_number"] = np.stack([fr_ds[i][0] for i in range(len(fr_ds))]
                                           ).astype(np.uint8)
        # SSC: its event reading of the three splits
        ssc = base / "sj_ssc"
        (ssc / "events_h5").mkdir(parents=True)
        for split in ("train", "valid", "test"):
            shutil.copy(src / f"ssc_{split}.h5", ssc / "events_h5" / f"ssc_{split}.h5")
            d = sj_shd.SpikingSpeechCommands(str(ssc), split, data_type="event")
            out[f"sj_ssc_{split}_n"] = np.array([len(d[i][0]["t"]) for i in range(len(d))])
            out[f"sj_ssc_{split}_labels"] = np.array([int(d[i][1]) for i in range(len(d))])
    # Tonic: save_to/SHD/ holds the zip (its presence check) and the extracted file
    save_to = base / "tonic"
    (save_to / "SHD").mkdir(parents=True)
    shutil.copy(src / "shd_test.h5", save_to / "SHD" / "shd_test.h5")
    shutil.copy(src / "shd_test.h5", save_to / "SHD" / "shd_test.h5.zip")
    ds = tonic.datasets.SHD(str(save_to), train=False)
    evs = [ds[i] for i in range(len(ds))]
    out["tonic_t"] = np.concatenate([e["t"] for e, _ in evs]).astype(np.int64)
    out["tonic_x"] = np.concatenate([e["x"] for e, _ in evs]).astype(np.int64)
    out["tonic_p"] = np.concatenate([e["p"] for e, _ in evs]).astype(np.int64)
    out["tonic_targets"] = np.array([int(t) for _, t in evs], np.int64)
    out["tonic_fields"] = np.array(list(evs[0][0].dtype.names))
    out["tonic_sensor_size"] = np.array(ds.sensor_size)
    out["tonic_classes"] = np.array([c.decode() if isinstance(c, bytes) else str(c)
                                     for c in ds.classes])
    out["tonic_speaker"] = np.asarray(ds.speaker, np.int64)
    return out


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    return live_values(tmp_path_factory.mktemp("shd_peer"))


def test_stored_reference_is_the_peers(live):
    with np.load(s.REFERENCE) as f:
        stored = {k: f[k] for k in f.files}
    assert sorted(stored) == sorted(live)
    for k in live:
        assert np.array_equal(stored[k], live[k]), (k, s.REGENERATE)


def test_evframes_equals_the_peers_live(live, tmp_path):
    """The default suite's comparisons, on the live values."""
    s.compare_with_reference(live, tmp_path)


if __name__ == "__main__":
    if "--write-reference" not in sys.argv:
        sys.exit("usage: test_datasets_shd_peer.py --write-reference")
    with tempfile.TemporaryDirectory() as tmp:
        values = live_values(Path(tmp))
    s.REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(s.REFERENCE, **values)
    print(f"wrote {s.REFERENCE} ({s.REFERENCE.stat().st_size} bytes, {len(values)} arrays)")
