"""Dask-distributed extraction and integration on a real LocalCluster (loopback only)."""
import os
import shutil
import signal
import threading
import time

import pytest

distributed = pytest.importorskip("distributed", reason="dask[distributed] not installed "
                                                        "(pip install 'evframes[dask]')")
from click.testing import CliRunner  # noqa: E402

from evframes import synth  # noqa: E402
from evframes.cli import main  # noqa: E402
from evframes.datasets import open_raw  # noqa: E402
from evframes.extract import extract  # noqa: E402
from evframes.frames import build_frames, frames_store_path, setting_from_options  # noqa: E402
from evframes.store import events_store_path  # noqa: E402

from helpers import assert_one_error_line, assert_same_arrays, store_arrays  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster
    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                     dashboard_address=None, silence_logs=40)
    with Client(c) as client:  # the workers' test hook: a pause per task, time to kill one
        client.run(exec, "import time, evframes.pipeline.dask as d\n"
                         "d._before_task = lambda job, sleep=time.sleep: sleep(0.5)")
    yield c
    c.close()


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("dask")
    raw = base / "raw"
    synth.fake_dvs128(raw, recordings=6, scale=0.03, seed=11, archive=False, workers=1)
    ref = base / "ref"
    shutil.copytree(raw, ref)
    extract(open_raw("dvs128", ref), workers=1, progress=False, warn=False)
    build_frames(ref, setting_from_options("number", 8), progress=False)
    return raw, ref


def test_dask_extract_and_integrate_equal_local(cluster, roots, tmp_path):
    raw, ref = roots
    root = tmp_path / "r"
    shutil.copytree(raw, root)
    r = CliRunner().invoke(main, ["extract", "--dataset", "dvs128", "--root", str(root), "-q",
                                  "--scheduler", cluster.scheduler_address])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["integrate", "--root", str(root), "-T", "8", "--split-by",
                                  "number", "-q",
                                  "--scheduler", cluster.scheduler_address])
    assert r.exit_code == 0, r.output
    s = setting_from_options("number", 8)
    for split in ("train", "test"):
        assert_same_arrays(store_arrays(events_store_path(root, split)),
                           store_arrays(events_store_path(ref, split)))
        assert_same_arrays(store_arrays(frames_store_path(root, s, split)),
                           store_arrays(frames_store_path(ref, s, split)))
    assert not list((root / "events").glob(".partial-*"))


def test_killed_worker_is_retried(cluster, roots, tmp_path):
    from distributed import Client
    raw, ref = roots
    root = tmp_path / "r"
    shutil.copytree(raw, root)
    client = Client(cluster)
    pids = client.run(os.getpid)  # {worker address: pid}
    killed = []

    def killer():  # kill a worker while it is processing one of our tasks
        t0 = time.time()
        while time.time() - t0 < 30:
            busy = {w: ts for w, ts in client.processing().items()
                    if any("evframes-extract" in str(k) for k in ts)}
            if busy:
                w = sorted(busy)[0]
                os.kill(pids[w], signal.SIGKILL)
                killed.append((w, len(busy[w])))
                return
            time.sleep(0.05)

    th = threading.Thread(target=killer)
    th.start()
    try:
        s = extract(open_raw("dvs128", root), scheduler=client, progress=False, warn=False)
    finally:
        th.join()
        client.close()
    assert killed and killed[0][1] >= 1  # a worker died with a task of ours in hand
    assert s.samples == {"train": 60, "test": 12}
    for split in ("train", "test"):
        assert_same_arrays(store_arrays(events_store_path(root, split)),
                           store_arrays(events_store_path(ref, split)))


def test_unreachable_scheduler_is_a_clear_error(roots, tmp_path, monkeypatch):
    monkeypatch.setenv("EVFRAMES_DASK_CONNECT_TIMEOUT", "2")
    raw, _ = roots
    root = tmp_path / "r"
    shutil.copytree(raw, root)
    r = CliRunner().invoke(main, ["extract", "--dataset", "dvs128", "--root", str(root), "-q",
                                  "--scheduler", "tcp://127.0.0.1:9"])
    assert_one_error_line(r, "Dask scheduler", exit_code=1)
    assert not events_store_path(root, "train").exists()
