"""The evframes command line: fake -> extract -> integrate -> play/plot/info, errors, demo."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from evframes.cli import main

from helpers import assert_one_error_line, working_dir


def run(args, cwd=None, ok=True):
    if cwd is None:
        r = CliRunner().invoke(main, args, catch_exceptions=False)
    else:
        with working_dir(cwd):
            r = CliRunner().invoke(main, args, catch_exceptions=False)
    if ok:
        assert r.exit_code == 0, r.output
    return r


def test_defaults_under_data(tmp_path, dvs_archive_root):
    """`evframes extract --dataset dvs128` then `evframes integrate --split-by number -T 20`
    with no other arguments, from the working directory, as the README says."""
    (tmp_path / "data" / "dvs128").mkdir(parents=True)
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", tmp_path / "data" / "dvs128")
    r = run(["extract", "--dataset", "dvs128", "-q"], cwd=tmp_path)
    assert "train:      36 samples" in r.output and "M events/s" in r.output
    r = run(["integrate", "--split-by", "number", "-T", "20", "-q"], cwd=tmp_path)
    assert "frames_number_20_split_by_number" in r.output and "720 frames" in r.output
    assert (tmp_path / "data/dvs128/frames_number_20_split_by_number/test.h5").exists()
    r = run(["integrate", "--split-by", "number", "-T", "20", "-q"], cwd=tmp_path)
    assert "reused" in r.output
    r = run(["extract", "--dataset", "dvs128", "-q"], cwd=tmp_path)
    assert "reused existing stores" in r.output
    r = run(["info"], cwd=tmp_path)
    assert "events/train.h5" in r.output and "frames_number_20_split_by_number/train.h5" in r.output
    assert "hand_clapping 3" in r.output
    r = run(["play", "--index", "2", "--out", "s.gif"], cwd=tmp_path)
    im = Image.open(tmp_path / "s.gif")
    assert im.n_frames == 20 and im.size[0] >= 256 and "left_hand_wave" in r.output
    r = run(["plot", "--out", "sheet.png", "--per-class", "1"], cwd=tmp_path)
    assert Image.open(tmp_path / "sheet.png").size[0] > 300


def test_integrate_modes(dvs_extracted, tmp_path):
    root = tmp_path / "r"
    shutil.copytree(dvs_extracted, root)
    r = run(["integrate", "--root", str(root), "--duration", "500000", "--splits", "test", "-q"])
    assert "duration_500000" in r.output and "T, 2, 128, 128" in r.output
    r = run(["integrate", "--root", str(root), "--count", "2000", "--overlap", "500",
             "--downsample", "4", "--splits", "test", "-q"])
    assert "count_2000_overlap_500_downsample_4" in r.output and "2, 32, 32" in r.output
    mod = tmp_path / "myint.py"
    mod.write_text("from evframes.integrate import integrate_events_by_fixed_frames_number as f\n"
                   "def three(ev, H, W):\n    return f(ev, 'time', 3, H, W)\n")
    r = run(["integrate", "--root", str(root), "--function", f"{mod}:three", "--splits", "test",
             "-q"])
    assert "three at" in r.output and "36 frames" in r.output


@pytest.mark.parametrize("args, message", [
    (["integrate", "--root", "ROOT", "-T", "4", "--duration", "5"], "exactly one"),
    (["integrate", "--root", "ROOT", "-T", "0", "--split-by", "number"], "frames_number"),
    (["integrate", "--root", "ROOT", "-T", "4"], "--split-by"),
    (["integrate", "--root", "ROOT", "--function", "nope"], "module:callable"),
    (["integrate", "--root", "ROOT", "--function", "no_such_mod_x:f"], "cannot load"),
    (["integrate", "--root", "EMPTY", "-T", "4", "--split-by", "time"], "evframes extract"),
    (["extract", "--dataset", "dvs128", "--root", "EMPTY"], "evframes fake"),
    (["play", "--root", "ROOT", "--index", "999", "--out", "x.gif"], "out of range"),
])
def test_errors_are_one_line(dvs_extracted, tmp_path, args, message):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [str(dvs_extracted) if a == "ROOT" else str(empty) if a == "EMPTY" else a
            for a in args]
    r = CliRunner().invoke(main, args + (["-q"] if args[0] in ("integrate",) else []))
    assert_one_error_line(r, message)


def test_extract_corrupt_aedat_names_file(tmp_path, dvs_archive_root):
    import tarfile
    with tarfile.open(dvs_archive_root / "DvsGesture.tar.gz") as tf:
        tf.extractall(tmp_path, filter="data")
    victim = sorted((tmp_path / "DvsGesture").glob("*.aedat"))[0]
    victim.write_bytes(b"#!AER-DAT9.9\r\n#!END-HEADER\r\n" + b"\0" * 100)
    r = CliRunner().invoke(main, ["extract", "--dataset", "dvs128", "--root", str(tmp_path), "-q",
                                  "-j", "1"])
    assert_one_error_line(r, victim.name, exit_code=1)
    assert not (tmp_path / "events" / "train.h5").exists()


def test_fake_writes_valid_roots(tmp_path):
    r = run(["fake", "--dataset", "nmnist", "--out", str(tmp_path / "n"), "-n", "2"])
    assert (tmp_path / "n" / "Train.zip").exists() and "samples" in r.output
    run(["extract", "--dataset", "nmnist", "--root", str(tmp_path / "n"), "-q"])
    r = run(["fake", "--dataset", "cifar10dvs", "--out", str(tmp_path / "c"), "-n", "3",
             "--folder"])
    assert (tmp_path / "c" / "truck").is_dir()
    r = run(["extract", "--dataset", "cifar10dvs", "--root", str(tmp_path / "c"), "-q"])
    assert "train:      20 samples" in r.output


def test_demo_quick_end_to_end(tmp_path):
    r = run(["demo", "--out", str(tmp_path / "demo"), "--quick"])
    for step in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]", "samples/s"):
        assert step in r.output
    assert Image.open(tmp_path / "demo" / "sample.gif").n_frames == 20
    assert (tmp_path / "demo" / "samples.png").stat().st_size > 10_000


def test_console_script_help():
    exe = Path(sys.executable).parent / "evframes"
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    for cmd in ("extract", "integrate", "fake", "demo", "play", "plot", "info"):
        assert cmd in out
