import os
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".numba_cache"))


@pytest.fixture(scope="session")
def real_dir():
    if not REAL.is_dir():
        pytest.skip(f"real recordings folder {REAL} is absent (needs ../shared/data/real)")
    return REAL


@pytest.fixture(scope="session")
def dvs_archive_root(tmp_path_factory):
    """A small DVS128 Gesture replica as DvsGesture.tar.gz (4 recordings: 3 train, 1 test)."""
    from evframes import synth
    root = tmp_path_factory.mktemp("dvs_archive")
    synth.fake_dvs128(root, recordings=4, scale=0.02, seed=1, archive=True, workers=1)
    return root


@pytest.fixture(scope="session")
def dvs_extracted(tmp_path_factory, dvs_archive_root):
    """The replica above, extracted to events stores (copied root, so tests may not modify)."""
    import shutil
    from evframes.datasets import open_raw
    from evframes.extract import extract
    root = tmp_path_factory.mktemp("dvs_extracted")
    shutil.copy(dvs_archive_root / "DvsGesture.tar.gz", root / "DvsGesture.tar.gz")
    extract(open_raw("dvs128", root), workers=1, progress=False, warn=False)
    return root


def store_arrays(path):
    """Every dataset of an HDF5 store, read into memory."""
    import h5py
    with h5py.File(path, "r") as f:
        return {k: f[k][...] for k in f.keys() if isinstance(f[k], h5py.Dataset)}


def assert_same_arrays(a, b):
    import numpy as np
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def assert_one_error_line(result, *needles, exit_code=None):
    """A CLI run (click CliRunner result) that failed the way evframes promises: it exited
    through click (``SystemExit``; an uncaught exception would sit in ``result.exception``
    instead, with exit code 1 too) with exit code 1 or 2 (or ``exit_code``), printing exactly
    one ``Error:`` line that contains every needle, and no traceback. Returns that line."""
    import traceback
    out, exc = result.output, result.exception
    if exc is None:
        raise AssertionError(f"the command succeeded (exit {result.exit_code}):\n{out}")
    if not isinstance(exc, SystemExit):
        raise AssertionError("the command crashed instead of reporting an error:\n"
                             + "".join(traceback.format_exception(*result.exc_info)))
    assert result.exit_code == exit_code if exit_code is not None else \
        result.exit_code in (1, 2), (result.exit_code, out)
    lines = [ln for ln in out.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, f"expected one 'Error:' line, got {len(lines)}:\n{out}"
    assert "Traceback" not in out, out
    for n in needles:
        assert str(n) in lines[0], f"{n!r} not in the error line {lines[0]!r}\n{out}"
    return lines[0]
