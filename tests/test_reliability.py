"""Reliability: SIGKILLed runs, concurrent runs and readers, verify, disk full, read-only.

Figures of these tests are summarised in RELIABILITY.md.
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner

from evframes import synth
from evframes.cli import main
from evframes.datasets import open_raw
from evframes.extract import extract
from evframes.frames import build_frames, frames_store_path, setting_from_options
from evframes.store import events_store_path, verify_store

from helpers import assert_one_error_line, assert_same_arrays, slow_cli_command, store_arrays

KEYS = ("t", "x", "y", "p", "offsets", "labels")


def _leftovers(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*")
                  if ".tmp-" in p.name or p.name.startswith(".partial-"))


@pytest.fixture(scope="module")
def folder_root(tmp_path_factory):
    """An extracted-folder replica (6 recordings) and its reference stores."""
    base = tmp_path_factory.mktemp("kill")
    raw = base / "raw"
    synth.fake_dvs128(raw, recordings=6, scale=0.05, seed=3, archive=False, workers=1)
    ref = base / "ref"
    shutil.copytree(raw, ref)
    extract(open_raw("dvs128", ref), workers=1, progress=False, warn=False)
    build_frames(ref, setting_from_options("number", 10), progress=False)
    return raw, ref


def _cli(args, slow=None):
    """The CLI in a child process; ``slow``: ``(delay, batch_events)`` of the pipeline's test
    hooks (:func:`helpers.slow_cli_command`), so the run can be killed mid-way."""
    cmd = slow_cli_command(*slow) if slow else [sys.executable, "-m", "evframes.cli"]
    return subprocess.Popen(cmd + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_extract_and_integrate_survive_sigkill(folder_root, tmp_path):
    raw, ref = folder_root
    root = tmp_path / "r"
    shutil.copytree(raw, root)
    rng = random.Random(1234)
    slow = (0.5, 30_000)  # pause per job / batch: time to kill
    args_x = ["extract", "--dataset", "dvs128", "--root", str(root), "-j", "1", "-q",
              "--resumable"]
    args_i = ["integrate", "--root", str(root), "-T", "10", "--split-by", "number", "-q"]
    kills = 0
    for args in (args_x, args_i):
        for _ in range(3):
            p = _cli(args, slow)
            time.sleep(rng.uniform(1.0, 3.5))  # after imports, somewhere in the work
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait()
            # whatever is at a final name is complete and sound
            for h5 in root.glob("*/*.h5"):
                assert verify_store(h5) == [], h5
        r = _cli(args)
        out, err = r.communicate(timeout=300)
        assert r.returncode == 0, err.decode()
    assert kills >= 4  # most rounds really interrupted a run
    for split in ("train", "test"):
        assert_same_arrays(store_arrays(events_store_path(root, split)),
                           store_arrays(events_store_path(ref, split)))
        s = setting_from_options("number", 10)
        assert_same_arrays(store_arrays(frames_store_path(root, s, split)),
                           store_arrays(frames_store_path(ref, s, split)))
    assert _leftovers(root) == []


def test_concurrent_integrate_runs(folder_root, tmp_path):
    raw, ref = folder_root
    root = tmp_path / "r"
    shutil.copytree(ref, root)
    for d in root.glob("frames_*"):
        shutil.rmtree(d)
    procs = [_cli(["integrate", "--root", str(root), "-T", "10", "--split-by", "number", "-q"])
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1].decode() for o in outs]
    text = " ".join(o[0].decode() for o in outs)
    assert text.count("reused") == 2 and text.count("built in") == 2  # one built, one reused
    s = setting_from_options("number", 10)
    for split in ("train", "test"):
        assert_same_arrays(store_arrays(frames_store_path(root, s, split)),
                           store_arrays(frames_store_path(ref, s, split)))


@pytest.mark.filterwarnings("ignore:This DataLoader will create 4 worker processes")
def test_four_workers_and_concurrent_info(folder_root):
    import torch

    from evframes.datasets import DVS128Gesture
    _, ref = folder_root
    ds = DVS128Gesture(ref, train=True, data_type="frame", frames_number=10, split_by="number",
                       progress=False)
    single = torch.stack([ds[i][0] for i in range(len(ds))])
    info = _cli(["info", "--root", str(ref)])
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=4, shuffle=False)
    got = torch.cat([xb for xb, _ in loader])
    out, err = info.communicate(timeout=120)
    assert info.returncode == 0 and b"events/train.h5" in out, err
    assert torch.equal(got, single)


def test_verify_detects_corruption_and_staleness(folder_root, tmp_path):
    raw, ref = folder_root
    root = tmp_path / "r"
    shutil.copytree(ref, root)
    r = CliRunner().invoke(main, ["verify", "--root", str(root)])
    assert r.exit_code == 0 and "4 store(s) ok, 0 with problems" in r.output, r.output
    # flip values inside the frames data (rewrite through h5py so the file stays readable)
    p = frames_store_path(root, setting_from_options("number", 10), "test")
    with h5py.File(p, "r+") as f:
        f["frames"][0, 0, 0, 0] += 1
    r = CliRunner().invoke(main, ["verify", "--root", str(root)])
    assert r.exit_code == 1 and "checksum mismatch in /frames" in r.output
    # a touched raw file is not a change (content fingerprints) ...
    csv = sorted((root / "DvsGesture").glob("*_labels.csv"))[0]
    st = csv.stat()
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
    r = CliRunner().invoke(main, ["verify", "--root", str(root)])
    assert "stale" not in r.output and "checksum mismatch in /frames" in r.output
    # ... an edited one makes the events stores stale, and a rebuilt events store makes the
    # frames stale
    csv.write_text(csv.read_text() + "1,0,1\n")
    r = CliRunner().invoke(main, ["verify", "--root", str(root)])
    assert "stale against the raw data" in r.output
    extract(open_raw("dvs128", root), workers=1, progress=False, warn=False)
    r = CliRunner().invoke(main, ["verify", "--root", str(root)])
    assert "built from an older events store" in r.output
    # a truncated store file is reported, not crashed on
    p2 = events_store_path(root, "test")
    data = p2.read_bytes()
    p2.write_bytes(data[: len(data) // 2])
    r = CliRunner().invoke(main, ["verify", "--root", str(root)])
    assert isinstance(r.exception, SystemExit) and r.exit_code == 1, r.exc_info  # not a crash
    bad = [ln for ln in r.output.splitlines() if ln.lstrip().startswith("BAD")]
    assert any("events/test.h5" in ln for ln in bad) and "Traceback" not in r.output, r.output


def test_disk_full_is_reported_and_leaves_nothing(folder_root, tmp_path, monkeypatch):
    """ENOSPC in the middle of writing (injected): a clear error, no store, no temporary."""
    raw, _ = folder_root
    root = tmp_path / "r"
    shutil.copytree(raw, root)
    import evframes.store as st
    real = st.EventsStoreWriter.append_many
    n = []

    def full(self, *a, **k):
        n.append(1)
        if len(n) == 3:
            raise OSError(28, "No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(st.EventsStoreWriter, "append_many", full)
    r = CliRunner().invoke(main, ["extract", "--dataset", "dvs128", "--root", str(root), "-q",
                                  "-j", "1"])
    assert_one_error_line(r, "No space left on device", str(root / "events"), "no partial store",
                          exit_code=1)
    assert not events_store_path(root, "train").exists() and _leftovers(root) == []


def _mount_or_skip(args, target):
    if shutil.which("mount") is None:
        pytest.skip("mount(8) not available")
    r = subprocess.run(["mount"] + args + [str(target)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a test filesystem here ({r.stderr.strip()}); the injected "
                    f"ENOSPC test covers the error path")


def test_real_small_filesystem_fills_up(tmp_path):
    raw = tmp_path / "raw"
    synth.fake_dvs128(raw, recordings=2, scale=0.1, seed=5, archive=False, workers=1)
    size = sum(p.stat().st_size for p in raw.rglob("*") if p.is_file())
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    # room for the raw files and a quarter more: the stores (about half the raw size) do not fit
    _mount_or_skip(["-t", "tmpfs", "-o", f"size={size + size // 4 + 65536}", "tmpfs"], mnt)
    try:
        shutil.copytree(raw / "DvsGesture", mnt / "DvsGesture")
        r = CliRunner().invoke(main, ["extract", "--dataset", "dvs128", "--root", str(mnt),
                                      "-q", "-j", "1"])
        # refused before HDF5 hit the wall
        assert_one_error_line(r, "No space left on device", "not enough free space", exit_code=1)
        assert not events_store_path(mnt, "train").exists() and _leftovers(mnt) == []
    finally:
        subprocess.run(["umount", str(mnt)])


def test_read_only_root(folder_root, tmp_path):
    raw, _ = folder_root
    src = tmp_path / "src"
    shutil.copytree(raw, src)
    mnt = tmp_path / "ro"
    mnt.mkdir()
    _mount_or_skip(["--bind", str(src)], mnt)
    try:
        r = subprocess.run(["mount", "-o", "remount,ro,bind", str(mnt)], capture_output=True)
        if r.returncode != 0:
            pytest.skip("cannot remount read-only here")
        r = CliRunner().invoke(main, ["extract", "--dataset", "dvs128", "--root", str(mnt), "-q"])
        assert_one_error_line(r, "Read-only file system", str(mnt), exit_code=1)
    finally:
        subprocess.run(["umount", str(mnt)])
