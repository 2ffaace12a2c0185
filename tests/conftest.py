"""Fixtures shared by the test modules (plain helper functions live in ``helpers.py``)."""

import pytest

from helpers import REAL_DIR

# Numba's cache: the one set-up filled (``python -m evframes.warmup`` in scripts/setup_env.sh:
# beside the modules, or NUMBA_CACHE_DIR where set), so the suite loads those kernels instead of
# compiling them again; tests that need a fresh cache make their own.


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
