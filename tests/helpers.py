"""Helpers shared by the test modules (fixtures live in ``conftest.py``; import these by name:
``from helpers import store_arrays``)."""
from __future__ import annotations

import contextlib
import traceback
from pathlib import Path

import pytest

#: The real recordings shipped beside the repository (``../shared/data/real``); tests that read
#: them skip when the folder is absent.
REAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"

#: Marks a test that needs :data:`REAL_DIR` (skips when the shared data is absent).
requires_real = pytest.mark.skipif(not REAL_DIR.is_dir(),
                                   reason=f"real recordings folder {REAL_DIR} is absent "
                                          "(needs ../shared/data/real)")


def real_file(rel: str) -> Path:
    """The real recording ``REAL_DIR / rel``; skips the calling test when it is absent."""
    path = REAL_DIR / rel
    if not path.is_file():
        pytest.skip(f"real recording {rel} not found under {REAL_DIR} (shared test data absent)")
    return path


@contextlib.contextmanager
def working_dir(path):
    """Run the block with ``path`` as the working directory (``monkeypatch.chdir``, undone on
    exit), for helpers that are not fixtures themselves."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path)
        yield


def store_arrays(path):
    """Every dataset of an HDF5 store, read into memory."""
    import h5py
    with h5py.File(path, "r") as f:
        return {k: f[k][...] for k in f.keys() if isinstance(f[k], h5py.Dataset)}


def assert_same_arrays(a, b):
    """Two ``{name: array}`` mappings with the same names and equal arrays."""
    import numpy as np
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def assert_one_error_line(result, *needles, exit_code=None):
    """A CLI run (click CliRunner result) that failed the way evframes promises: it exited
    through click (``SystemExit``; an uncaught exception would sit in ``result.exception``
    instead, with exit code 1 too) with exit code 1 or 2 (or ``exit_code``), printing exactly
    one ``Error:`` line that contains every needle, and no traceback. Returns that line."""
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


def slow_cli_command(delay: float, batch_events: int) -> list:
    """``[python, -c, driver]``: the ``evframes`` CLI in a child process that pauses ``delay``
    seconds after every extraction job and every frames batch of at most ``batch_events``
    events (the pipeline's test hooks), so a kill test can interrupt it mid-run. Append the
    CLI's arguments."""
    import sys
    code = ("import sys, time\n"
            "import evframes.pipeline.extract as x, evframes.pipeline.frames as f\n"
            f"x._after_job = f._after_batch = lambda *a: time.sleep({float(delay)!r})\n"
            f"f.BATCH_EVENTS = {int(batch_events)}\n"
            "from evframes.cli import main\n"
            "main(prog_name='evframes')\n")
    return [sys.executable, "-c", code]


def sj_prepare(cls, root):
    """Prepare a SpikingJelly dataset root as its own code does before first use (``download/``
    -> ``extract/`` -> ``events_np/``), skipping its md5 check: for the peer tests."""
    root = Path(root)
    (root / "extract").mkdir()
    (root / "events_np").mkdir()
    cls.extract_downloaded_files(root / "download", root / "extract")
    cls.create_raw_from_extracted(root / "extract", root / "events_np")
