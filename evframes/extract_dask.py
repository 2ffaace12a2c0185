"""Extraction on a Dask cluster: workers decode jobs into resume shards, the client merges.

Split from :mod:`evframes.extract` (which calls :func:`_run_dask`); needs
``pip install evframes[dask]``.
"""
from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from .datasets.base import run_job
from .errors import StoreError


def _job_to_shard(job, folder: str) -> str:
    """Run on a Dask worker: do the job, write its shard, return the job's name."""
    delay = float(os.environ.get("EVFRAMES_TASK_DELAY", "0") or 0)  # worker-kill tests only
    if delay:
        time.sleep(delay)
    from .extract import _Shards
    res = run_job(job)
    _Shards(Path(folder), clean=False).save(res)
    return res.name


def dask_client(scheduler):
    """A ``distributed.Client`` for an address, or the Client itself."""
    try:
        from distributed import Client
    except ImportError:
        raise RuntimeError("--scheduler needs dask.distributed: pip install 'evframes[dask]'") \
            from None
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler, timeout="20s"), True
    except (OSError, TimeoutError) as e:
        raise StoreError(f"cannot reach the Dask scheduler {scheduler}: {e}") from None


def _run_dask(jobs, scheduler, folder: str, done):
    """Map jobs over a Dask cluster with a bounded number in flight; ``done(name)`` per result
    as they complete (any order; the caller's reorder buffer restores the store order)."""
    from distributed import as_completed
    client, own = dask_client(scheduler)
    try:
        n_threads = max(1, sum(client.nthreads().values()))
        window = 2 * n_threads
        run_id = uuid.uuid4().hex[:8]
        ac = as_completed()
        inflight = 0
        for job in jobs:
            ac.add(client.submit(_job_to_shard, job, folder, retries=2, pure=False,
                                 key=f"evframes-extract-{run_id}-{job.name}"))
            inflight += 1
            while inflight >= window:
                done(next(ac).result())
                inflight -= 1
        for fut in ac:
            done(fut.result())
    finally:
        if own:
            client.close()
