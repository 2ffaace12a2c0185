"""Issue 10, items 2, 10, 11, 12: exact frame dtypes, one-line errors, honest rates.

Every error-path check here goes through ``assert_one_error_line`` (helpers): the command must
have exited through click (``SystemExit``), not crashed with an exception CliRunner swallowed.
"""
import errno
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from evframes import synth
from evframes.cli import main
from evframes.datasets import DVS128Gesture
from evframes.frames import frames_store_path, setting_from_options
from evframes.store import EventsStoreWriter, events_store_path, io_failure

from helpers import assert_one_error_line, working_dir

GESTURES = ["hand_clapping", "right_hand_wave", "left_hand_wave", "right_arm_clockwise",
            "right_arm_counter_clockwise", "left_arm_clockwise", "left_arm_counter_clockwise",
            "arm_roll", "air_drums", "air_guitar", "other_gestures"]


def invoke(args, cwd=None):
    if cwd is None:
        return CliRunner().invoke(main, [str(a) for a in args])
    with working_dir(cwd):
        return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def root(dvs_extracted, tmp_path):
    """A private copy of the extracted 4-recording replica (36 train, 12 test samples)."""
    r = tmp_path / "dvs"
    shutil.copytree(dvs_extracted, r)
    return r


# ----------------------------------------------------------------------------------------------
# item 12: the helper itself can fail
# ----------------------------------------------------------------------------------------------

def test_helper_rejects_a_crash_and_a_success(root):
    import click

    @click.command()
    def crash():
        return 1 / 0

    crashed = CliRunner().invoke(crash, [])
    assert crashed.exit_code == 1 and "Traceback" not in crashed.output  # what old tests saw
    with pytest.raises(AssertionError, match="crashed"):
        assert_one_error_line(crashed)
    ok = CliRunner().invoke(main, ["info", "--root", str(root)])
    assert ok.exit_code == 0
    with pytest.raises(AssertionError, match="succeeded"):
        assert_one_error_line(ok)


# ----------------------------------------------------------------------------------------------
# item 2: frame_dtype never wraps
# ----------------------------------------------------------------------------------------------

def _events(rng, n, hot=0):
    """n random events plus ``hot`` ON events at pixel (x=5, y=7), time-sorted."""
    t = np.sort(rng.integers(0, 1_000_000, n + hot))
    x = np.concatenate([rng.integers(20, 120, n), np.full(hot, 5)])
    y = np.concatenate([rng.integers(20, 120, n), np.full(hot, 7)])
    p = np.concatenate([rng.integers(0, 2, n), np.ones(hot, np.int64)])
    perm = rng.permutation(n + hot)  # interleave the hot pixel's events in time
    return {"t": t, "x": x[perm].astype(np.int16), "y": y[perm].astype(np.int16),
            "p": p[perm].astype(np.int8)}


@pytest.fixture
def hot_root(tmp_path):
    """Events stores (no raw data) where train sample 1 has 266 events on one pixel: one
    frame per sample gives a count of 266, so the frames store is uint16."""
    rng = np.random.default_rng(0)
    root = tmp_path / "hot"
    for split, hot in (("train", [0, 266, 3]), ("test", [0, 0])):
        with EventsStoreWriter(events_store_path(root, split)) as w:
            for i, h in enumerate(hot):
                w.append(_events(rng, 400, h), i)
            w.commit({"kind": "events", "dataset": "dvs128", "split": split,
                      "sensor_size": [128, 128], "classes": GESTURES})
    return root


def test_uint8_frame_dtype_refuses_counts_above_255(hot_root):
    kw = dict(train=True, data_type="frame", frames_number=1, split_by="number", progress=False)
    exact = DVS128Gesture(hot_root, **kw)  # float32 holds every uint16 count exactly
    assert exact[1][0][0, 1, 7, 5] == 266
    with h5py.File(frames_store_path(hot_root, setting_from_options("number", 1), "train")) as f:
        assert f["frames"].dtype == np.uint16
    for in_memory in (False, True):
        with pytest.raises(ValueError, match=r"largest count is 266 \(sample 1\)"):
            DVS128Gesture(hot_root, frame_dtype=torch.uint8, in_memory=in_memory, **kw)
    with pytest.raises(ValueError, match="266"):
        DVS128Gesture(hot_root, frame_dtype=torch.int8, **kw)
    # a wider store whose values all fit is accepted, with exact values
    small = DVS128Gesture(hot_root, frame_dtype=torch.int16, **kw)
    assert small[1][0].dtype == torch.int16 and int(small[1][0].max()) == 266
    # the test split of the same setting holds only small counts: uint8 is exact there
    test = DVS128Gesture(hot_root, train=False, data_type="frame", frames_number=1,
                         split_by="number", frame_dtype=torch.uint8, progress=False)
    ref = DVS128Gesture(hot_root, train=False, data_type="frame", frames_number=1,
                        split_by="number", progress=False)
    assert torch.equal(test[1][0].float(), ref[1][0])


def test_uint8_store_converts_exactly(root):
    """A uint8 store needs no scan: uint8, int16, float16, bfloat16 all hold 0..255."""
    kw = dict(train=False, data_type="frame", frames_number=4, split_by="number",
              progress=False)
    ref = DVS128Gesture(root, **kw)
    for dt in (torch.uint8, torch.int16, torch.float16, torch.bfloat16, torch.float64):
        ds = DVS128Gesture(root, frame_dtype=dt, **kw)
        x = ds[2][0]
        assert x.dtype == dt and torch.equal(x.float(), ref[2][0])


# ----------------------------------------------------------------------------------------------
# item 10: one Error: line
# ----------------------------------------------------------------------------------------------

def test_play_fps_zero(root):
    r = invoke(["play", "--root", root, "--fps", "0", "--out", root / "x.gif"])
    assert_one_error_line(r, "--fps")
    assert not (root / "x.gif").exists()
    from evframes.viz import save_gif
    with pytest.raises(ValueError, match="fps"):
        save_gif(np.zeros((2, 2, 4, 4)), root / "y.gif", fps=0)


@pytest.mark.parametrize("dataset, args, needle", [
    ("dvs128", ["-n", "0"], "--recordings"),
    ("dvs128", ["-n", "-1"], "--recordings"),
    ("dvs128", ["-n", "1"], "at least 2"),
    ("nmnist", ["-n", "0"], "--recordings"),
    ("cifar10dvs", ["-n", "-1"], "--recordings"),
    ("dvs128", ["--scale", "0"], "--scale"),
    ("dvs128", ["--scale", "-0.5"], "--scale"),
])
def test_fake_refuses_empty_replicas(tmp_path, dataset, args, needle):
    out = tmp_path / "out"
    r = invoke(["fake", "--dataset", dataset, "--out", out] + args)
    assert_one_error_line(r, needle)
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("kw", [dict(recordings=0), dict(recordings=-1), dict(scale=0.0)])
def test_synth_refuses_empty_replicas(tmp_path, kw):
    with pytest.raises(ValueError):
        synth.fake_dvs128(tmp_path / "d", archive=False, workers=1, **kw)


def test_synth_nmnist_cifar_refuse_empty(tmp_path):
    with pytest.raises(ValueError, match="per_class"):
        synth.fake_nmnist(tmp_path / "n", per_class_train=0)
    with pytest.raises(ValueError, match="per_class"):
        synth.fake_cifar10dvs(tmp_path / "c", per_class=-1)


def _boom_module(tmp_path, n_events):
    mod = tmp_path / "boommod.py"
    mod.write_text(
        "from evframes.integrate import integrate_events_by_fixed_frames_number as f\n"
        "def boom(ev, H, W):\n"
        f"    if len(ev['t']) == {n_events}:\n"
        "        return 1 / 0\n"
        "    return f(ev, 'number', 2, H, W)\n")
    return mod


def _unique_sample(root, split, at_least=1):
    """Index and event count of a sample (index >= at_least) whose count no other has."""
    with h5py.File(events_store_path(root, split)) as f:
        n = np.diff(f["offsets"][...])
    for i in range(at_least, len(n)):
        if (n == n[i]).sum() == 1:
            return i, int(n[i])
    raise AssertionError("no sample with a unique event count")


def test_custom_function_that_raises_names_function_and_sample(root, tmp_path, monkeypatch):
    import evframes.frames as frames
    monkeypatch.setattr(frames, "BATCH_EVENTS", 30_000, raising=False)  # several batches
    i, n = _unique_sample(root, "train", at_least=5)
    mod = _boom_module(tmp_path, n)
    r = invoke(["integrate", "--root", root, "--function", f"{mod}:boom", "--splits", "train",
                "-q"])
    line = assert_one_error_line(r, "boom", f"sample {i}", "ZeroDivisionError", "train.h5",
                                 exit_code=1)
    assert "division by zero" in line
    assert not (root / "boom" / "train.h5").exists()
    # the Python API raises the same, as a ValueError with the cause chained
    sys.path.insert(0, str(tmp_path))
    try:
        import boommod
        with pytest.raises(ValueError, match=rf"sample {i}\b.*boom.*ZeroDivisionError") as ei:
            DVS128Gesture(root, train=True, data_type="frame",
                          custom_integrate_function=boommod.boom, progress=False)
        assert isinstance(ei.value.__cause__, ZeroDivisionError)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("boommod", None)


def _corrupt_chunk(path, dataset, coord):
    with h5py.File(path, "r") as f:
        info = f[dataset].id.get_chunk_info_by_coord(coord)
    data = bytearray(Path(path).read_bytes())
    for k in range(info.byte_offset + 32, info.byte_offset + info.size - 8):
        data[k] ^= 0x5A
    Path(path).write_bytes(bytes(data))


def test_corrupt_frames_chunk_names_store_and_sample(root):
    kw = dict(train=False, data_type="frame", frames_number=4, split_by="number",
              progress=False)
    DVS128Gesture(root, **kw)
    path = frames_store_path(root, setting_from_options("number", 4), "test")
    _corrupt_chunk(path, "frames", (3 * 4, 0, 0, 0))  # fixed T: one sample per chunk
    ds = DVS128Gesture(root, **kw)
    assert ds[2][0].shape == (4, 2, 128, 128)  # other samples still read
    with pytest.raises(Exception, match=rf"{re.escape(str(path))}.*sample 3") as ei:
        ds[3]
    assert "\n" not in str(ei.value)
    from evframes.errors import StoreError
    assert isinstance(ei.value, StoreError)
    with pytest.raises(StoreError, match=rf"{re.escape(str(path))}.*sample 3"):
        DVS128Gesture(root, in_memory=True, **kw)
    r = invoke(["play", "--root", root, "--split", "test", "-T", "4", "--split-by", "number",
                "--index", "3", "--out", root / "x.gif"])
    assert_one_error_line(r, str(path), "sample 3", exit_code=1)


def test_corrupt_events_chunk_names_store_and_sample(root):
    path = events_store_path(root, "train")
    with h5py.File(path) as f:
        off = f["offsets"][...]
        chunk = f["t"].chunks[0]
    i = int(np.searchsorted(off, chunk, side="right"))  # first sample starting in chunk 1
    assert off[i] >= chunk and off[i + 1] < 2 * chunk
    _corrupt_chunk(path, "t", (chunk,))
    ds = DVS128Gesture(root, train=True, progress=False)
    assert len(ds[0][0]["t"]) == off[1]
    from evframes.errors import StoreError
    with pytest.raises(StoreError, match=rf"{re.escape(str(path))}.*sample {i}\b"):
        ds[i]
    r = invoke(["plot", "--root", root, "--per-class", "3", "--out", root / "s.png"])
    assert_one_error_line(r, str(path), "sample", exit_code=1)


def _real_hdf5_enospc():
    """The OSError h5py raises when the disk is full (its message spans two lines)."""
    try:
        h5py.File("/dev/full", "w").close()
    except OSError as e:
        if e.errno == errno.ENOSPC:
            return e
    pytest.skip("/dev/full does not give ENOSPC here")


def test_h5py_failure_is_one_line(tmp_path, monkeypatch, dvs_archive_root):
    err = _real_hdf5_enospc()
    assert "\n" in str(err)  # the dump this test is about
    root = tmp_path / "r"
    root.mkdir()
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", root)
    import evframes.store as st

    def full(self, *a, **k):
        raise err

    monkeypatch.setattr(st.EventsStoreWriter, "append_many", full)
    r = invoke(["extract", "--dataset", "dvs128", "--root", root, "-q", "-j", "1"])
    line = assert_one_error_line(r, "No space left on device", str(root / "events"),
                                 exit_code=1)
    assert "buf = 0x" not in line and "time =" not in line
    assert not events_store_path(root, "train").exists()


def test_storage_failures_matched_on_errno():
    assert "No space left on device" in io_failure(OSError(errno.ENOSPC, "Plus de place"))
    assert "Read-only file system" in io_failure(OSError(errno.EROFS, "Lecture seule", "/x"))
    # HDF5 embeds the C errno in its RuntimeErrors
    hdf = RuntimeError("Can't decrement id ref count (file write failed: time = Mon Jan  1\n"
                       ", filename = 'a.h5', file descriptor = 5, errno = 28, error message = "
                       "'Plus de place', buf = 0x1, total write size = 8)")
    assert "No space left on device" in io_failure(hdf) and "\n" not in io_failure(hdf)
    # words alone do not make a storage failure; an errno that is not one neither
    assert io_failure(RuntimeError("write failed: the callback refused")) is None
    assert io_failure(OSError(errno.ENOENT, "No such file or directory")) is None
    assert io_failure(ValueError("errno = 28")) is None


def test_storage_failure_reported_by_errno_not_text(root, tmp_path, monkeypatch,
                                                    dvs_archive_root):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", raw)
    import evframes.store as st

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "Kein Speicherplatz mehr verfügbar")  # a localised libc

    monkeypatch.setattr(st.EventsStoreWriter, "append_many", full)
    r = invoke(["extract", "--dataset", "dvs128", "--root", raw, "-q", "-j", "1"])
    assert_one_error_line(r, "No space left on device", "no partial store", exit_code=1)


def test_file_where_a_folder_is_expected(root, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    cases = [
        (["play", "--root", root, "--out", afile / "x.gif"], "--out"),
        (["plot", "--root", root, "--out", afile / "x.png"], "--out"),
        (["fake", "--dataset", "dvs128", "--out", afile / "sub"], "--out"),
        (["fake", "--dataset", "dvs128", "--out", afile], "--out"),
        (["extract", "--dataset", "dvs128", "--root", afile], "--root"),
        (["extract", "--dataset", "dvs128", "--root", afile / "sub"], "--root"),
        (["integrate", "--root", afile, "-T", "4", "--split-by", "number"], "--root"),
        (["info", "--root", afile], "--root"),
        (["demo", "--out", afile / "d"], "--out"),
    ]
    for args, needle in cases:
        line = assert_one_error_line(invoke(args), needle, str(afile))
        assert "file" in line, (args, line)
    from evframes.errors import DatasetError
    with pytest.raises(DatasetError, match="is a file"):
        DVS128Gesture(afile, data_type="frame", frames_number=4, split_by="number")


def test_frames_number_needs_split_by_everywhere(root):
    """As in SpikingJelly and the Python API, -T without --split-by is refused."""
    with pytest.raises(ValueError, match="split_by"):
        DVS128Gesture(root, data_type="frame", frames_number=20, progress=False)
    before = sorted(root.iterdir())  # the root is shared: other tests may have built frames
    r = invoke(["integrate", "--root", root, "-T", "20", "-q"])
    assert_one_error_line(r, "--split-by", exit_code=2)
    assert sorted(root.iterdir()) == before
    r = invoke(["play", "--root", root, "-T", "5", "--out", root / "x.gif"])
    assert_one_error_line(r, "--split-by", exit_code=2)
    r = invoke(["integrate", "--root", root, "-T", "20", "--split-by", "time", "-q"])
    assert r.exit_code == 0 and "frames_number_20_split_by_time" in r.output, r.output


# ----------------------------------------------------------------------------------------------
# item 11: compilation reported apart from the rates
# ----------------------------------------------------------------------------------------------

def _cli_fresh_cache(args, cwd, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    r = subprocess.run([sys.executable, "-m", "evframes.cli"] + [str(a) for a in args],
                       cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr


def _seconds(pattern, text):
    m = re.search(pattern, text)
    assert m, (pattern, text)
    return float(m.group(1))


def test_first_run_reports_compilation_apart_from_rates(tmp_path, dvs_archive_root):
    """A fresh Numba cache: the compile time is printed on its own line and the timed work (and
    so the M events/s rate) no longer includes it; a second run compiles nothing."""
    root = tmp_path / "r"
    root.mkdir()
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", root)
    cache = tmp_path / "numba_cache"
    out = _cli_fresh_cache(["extract", "--dataset", "dvs128", "--root", root, "-q", "-j", "1"],
                           tmp_path, cache)
    compile_s = _seconds(r"compile (\d+\.\d+) s", out)
    work_s = _seconds(r"extracted in (\d+\.\d+) s", out)
    assert compile_s > 1.0 and work_s < compile_s, out
    out = _cli_fresh_cache(["integrate", "--root", root, "-T", "10", "--split-by", "time",
                            "-q"], tmp_path, cache)
    compile_s = _seconds(r"compile (\d+\.\d+) s", out)
    built = re.findall(r"built in (\d+\.\d+) s", out)
    assert compile_s > 1.0 and sum(map(float, built)) < compile_s, out
    # second runs load the cache: no compile line
    shutil.rmtree(root / "events")
    out = _cli_fresh_cache(["extract", "--dataset", "dvs128", "--root", root, "-q", "-j", "1"],
                           tmp_path, cache)
    assert "compile" not in out and "M events/s" in out, out
