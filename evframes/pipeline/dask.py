"""Extraction on a Dask cluster: workers decode jobs into resume shards, the client merges.

Split from :mod:`evframes.pipeline.extract` (which calls :func:`_run_dask`); needs
``pip install evframes[dask]``.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from ..errors import StoreError
from ..raw.base import run_job
from .executor import run_windowed

#: test hook: ``_before_task(job)`` runs on the worker before each extraction task (tests set
#: it on the workers to slow them down, so a worker can be killed with a task in hand)
_before_task = None


def _job_to_shard(job, folder: str) -> str:
    """Run on a Dask worker: do the job, write its shard, return the job's name."""
    if _before_task is not None:
        _before_task(job)
    from .shards import _Shards
    res = run_job(job)
    _Shards(Path(folder), clean=False).save(res)
    return res.name


def dask_client(scheduler):
    """A ``distributed.Client`` for an address, or the Client itself; returns
    ``(client, owned)`` (``owned``: made here, so the caller closes it). Connecting gives up
    after ``EVFRAMES_DASK_CONNECT_TIMEOUT`` seconds (default 20)."""
    try:
        from distributed import Client
    except ImportError:
        raise RuntimeError("--scheduler needs dask.distributed: pip install 'evframes[dask]'") \
            from None
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        timeout = float(os.environ.get("EVFRAMES_DASK_CONNECT_TIMEOUT", "20"))
        return Client(scheduler, timeout=f"{timeout:g}s"), True
    except (OSError, TimeoutError) as e:
        raise StoreError(f"cannot reach the Dask scheduler {scheduler}: {e}") from None


def dask_window(client) -> int:
    """Tasks in flight on a cluster: twice its threads."""
    return 2 * max(1, sum(client.nthreads().values()))


def _run_dask(jobs, scheduler, folder: str, done):
    """Map jobs over a Dask cluster with a bounded number in flight; ``done(name)`` per result
    as they complete (any order; the caller's reorder buffer restores the store order)."""
    from distributed import as_completed
    client, own = dask_client(scheduler)
    try:
        run_id = uuid.uuid4().hex[:8]

        def submit(job):
            return client.submit(_job_to_shard, job, folder, retries=2, pure=False,
                                 key=f"evframes-extract-{run_id}-{job.name}")

        run_windowed(jobs, submit, dask_window(client), done, completed=as_completed())
    finally:
        if own:
            client.close()
