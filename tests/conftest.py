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
