"""Fixtures shared by the test modules (plain helper functions live in ``helpers.py``)."""
import os
from pathlib import Path

import pytest

from helpers import REAL_DIR

#: compiled Numba kernels are cached beside the repository; set before any test imports numba
_NUMBA_CACHE = str(Path(__file__).resolve().parents[1] / ".numba_cache")
_session_env = pytest.MonkeyPatch()


def pytest_configure(config):
    if "NUMBA_CACHE_DIR" not in os.environ:
        _session_env.setenv("NUMBA_CACHE_DIR", _NUMBA_CACHE)


def pytest_unconfigure(config):
    _session_env.undo()


@pytest.fixture(scope="session")
def real_dir():
    """:data:`helpers.REAL_DIR`; skips the test when the shared real recordings are absent."""
    if not REAL_DIR.is_dir():
        pytest.skip(f"real recordings folder {REAL_DIR} is absent (needs ../shared/data/real)")
    return REAL_DIR


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
