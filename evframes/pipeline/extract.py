"""Extraction: raw dataset -> one events store per split (``<root>/events/<split>.h5``).

Plain-Python orchestration around the Numba decoders: the raw dataset yields jobs (one
recording, or a chunk of small files), a process pool runs them, and the results are written in
the dataset's canonical order through a small reorder buffer. Stores are written atomically;
a store whose manifest matches the raw files and options is reused.

Pipelined in one process: the raw source (an archive being inflated, member by member) runs on
a reader thread a few jobs ahead (:func:`~evframes.pipeline.executor.prefetched`), the jobs are
decoded here (Numba, ``nogil``), and the stores are written behind on a writer thread
(:class:`~evframes.pipeline.executor.OrderedWorker`, in order, a bounded amount held), so
inflation, decoding and compressed writes overlap. The stores are the same bytes as with
a serial run.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
import warnings as _warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ..errors import StoreError
from ..raw.base import JobResult, RawDataset, run_job
from ..raw.truncation import TruncationLog, check_policy, reuse_refusal
from ..store import (
    FORMAT_VERSION,
    EventsStoreWriter,
    events_store_path,
    io_failure,
    layout,
    store_lock,
)
from ..store.events import EventsColumns
from ..store.manifest import Manifests, manifests_or_new
from .dask import _run_dask, dask_client  # noqa: F401  (dask_client: the old extract name)
from .executor import OrderedWorker, large_buffers_reused, prefetched, run_windowed
from .shards import _Shards
from .sources import expected_manifest, save_hints, source_state, stores_status  # noqa: F401

#: test hook: ``_after_job(result)`` runs after each job decoded here (in this process or a
#: pool worker) has been placed; kill tests set it to slow a run down
_after_job = None

POOL_MIN_BYTES = 64 << 20  # below this much raw data, workers=None decodes in-process
RESUME_MIN_BYTES = 256 << 20  # resumable=None keeps per-recording shards above this size
WRITE_BEHIND_BYTES = 256 << 20  # decoded events queued for the writer thread at most
PREFETCH_JOBS = 2  # jobs the reader thread reads ahead of decoding
PARTIAL_PREFIX = layout.PARTIAL_PREFIX


class ExtractWarning(UserWarning):
    """Something in the raw data was repaired or skipped during extraction."""


@dataclass
class ExtractSummary:
    dataset: str
    root: Path
    reused: bool = False
    seconds: float = 0.0
    samples: Dict[str, int] = field(default_factory=dict)
    per_class: Dict[str, Dict[str, int]] = field(default_factory=dict)
    events: Dict[str, int] = field(default_factory=dict)
    bytes_on_disk: Dict[str, int] = field(default_factory=dict)
    raw_bytes: int = 0
    warnings: List[str] = field(default_factory=list)
    rebuilt_because: Optional[str] = None
    resumed_jobs: int = 0
    #: truncated recordings kept in part and samples dropped (``on_truncated="keep"``)
    truncation: TruncationLog = field(default_factory=lambda: TruncationLog("error", ()))

    @property
    def dropped(self) -> Dict[str, List[dict]]:
        """``{split: [dropped sample, ...]}``, as in the manifests' ``dropped_samples``."""
        return self.truncation.dropped

    @property
    def truncated(self) -> List[dict]:
        """Truncated recordings whose complete part was kept (each with its ``split``)."""
        return self.truncation.all_truncated()

    @property
    def total_events(self) -> int:
        return sum(self.events.values())

    def lines(self) -> List[str]:
        out = []
        state = "reused existing stores" if self.reused else f"extracted in {self.seconds:.2f} s"
        if self.rebuilt_because:
            state += f" (rebuilt: {self.rebuilt_because})"
        if self.resumed_jobs:
            state += f"; {self.resumed_jobs} job(s) resumed from an interrupted run"
        out.append(f"{self.dataset} at {self.root}: {state}")
        for split in self.samples:
            path = events_store_path(self.root, split)
            out.append(f"  {split:5s}: {self.samples[split]:7d} samples, "
                       f"{self.events[split]:12,d} events, "
                       f"{self.bytes_on_disk.get(split, 0) / 1e6:9.1f} MB  -> {path}")
            pc = self.per_class.get(split, {})
            if pc:
                out.append("         per class: " + ", ".join(f"{k} {v}" for k, v in pc.items()))
        out.extend(self.truncation.lines())
        if not self.reused and self.seconds > 0:
            out.append(f"  {self.total_events / 1e6:.2f} M events in {self.seconds:.2f} s = "
                       f"{self.total_events / 1e6 / self.seconds:.1f} M events/s"
                       + (f"; raw {self.raw_bytes / 1e6:.1f} MB" if self.raw_bytes else ""))
        if self.warnings:
            out.append(f"  {len(self.warnings)} warning(s); first: {self.warnings[0]}")
        return out


def _fill_counts(summary: ExtractSummary, ds: RawDataset, manifests: Manifests):
    for split in ds.splits:
        path = events_store_path(ds.root, split)
        man = manifests.read(path)
        summary.truncation.load(split, man)
        summary.samples[split] = int(man["n_samples"])
        summary.events[split] = int(man["n_events"])
        summary.bytes_on_disk[split] = path.stat().st_size
        with EventsColumns(path) as f:
            counts = np.bincount(f.labels, minlength=len(ds.classes))
        summary.per_class[split] = {c: int(n) for c, n in zip(ds.classes, counts)}


def extract(ds: RawDataset, workers: Optional[int] = None, force: bool = False,
            progress: bool = True, warn: bool = True,
            resumable: Optional[bool] = None, scheduler=None,
            on_truncated: str = "error",
            hash_sources: Optional[bool] = None,
            manifests: Optional[Manifests] = None) -> ExtractSummary:
    """Decode, split and store ``ds``; reuse current stores unless ``force``.

    ``workers``: processes for decoding (default: all cores for large datasets whose decoding
    is worth a pool, else in-process; 1 = in this process). ``resumable``: keep each finished
    job's samples as a shard under ``<root>/events/.partial-<id>/`` so a rerun after an
    interruption decodes only what is missing (default: on when the raw data exceeds 256 MB,
    except for sources read as one stream, such as DVS128 Gesture's ``.tar.gz``: a rerun
    inflates the whole archive again anyway, so a shard would save only the decoding, which
    costs less than writing the shard); shards are removed once the stores are committed.
    Concurrent runs on one root serialise on a lock: the second waits, then reuses the first
    one's stores. Returns an :class:`ExtractSummary`.

    ``scheduler``: a ``dask.distributed`` scheduler address (``tcp://host:8786``) or Client.
    Jobs then run on the cluster's workers, which write their shards into the root's
    ``events/.partial-*`` folder (the root must be on a filesystem the workers share); this
    process merges them into the stores in the usual order. Tasks of a lost worker are retried
    by Dask, and the result is identical to a local run. Needs ``pip install evframes[dask]``.

    ``on_truncated``: a recording that ends inside a record or packet fails the extraction
    with :class:`~evframes.FormatError` naming the file and byte offset, and no store is
    committed (``"error"``, default); ``"keep"`` keeps its complete part and drops (never
    stores) the samples the cut left without events, listing them in the summary
    (``dropped``) and the manifest (``dropped_samples``). See
    :mod:`evframes.raw.truncation`.

    Stores are current when the raw files' content fingerprint matches (see
    :mod:`evframes.pipeline.sources`): metadata files are hashed at every check, recordings
    again only when their size or mtime changed; ``hash_sources=True`` hashes every recording
    at every check (also catching edits that keep size and mtime); the mode is recorded in the
    manifest and kept by later runs (None) until a rebuild with ``hash_sources=False``.

    ``manifests``: a :class:`~evframes.store.manifest.Manifests` memo shared with the steps
    that follow in the same operation (a Dataset constructor opens the stores next); each
    store's manifest is read once.
    """
    check_policy(on_truncated)
    manifests = manifests_or_new(manifests)
    if hash_sources is not None:
        ds.hash_sources = bool(hash_sources)
    with store_lock(layout.extract_lock_target(ds.root), what="events store",
                    guards_folder=True):
        return _extract_locked(ds, workers, force, progress, warn, resumable, scheduler,
                               on_truncated, manifests)


def _partial_dir(ds: RawDataset, manifests: Manifests) -> Path:
    key = json.dumps({"fp": source_state(ds, manifests=manifests).fingerprint,
                      "opts": ds.options(), "v": FORMAT_VERSION},
                     sort_keys=True, default=str)
    return layout.partial_dir(ds.root, key)


def _extract_locked(ds, workers, force, progress, warn, resumable,
                    scheduler=None, on_truncated="error",
                    manifests: Optional[Manifests] = None) -> ExtractSummary:
    manifests = manifests_or_new(manifests)
    summary = ExtractSummary(dataset=ds.name, root=ds.root,
                             truncation=TruncationLog(on_truncated, ds.splits))
    reason = stores_status(ds, manifests)
    if reason is None and not force:
        refused = reuse_refusal({s: manifests.read(events_store_path(ds.root, s))
                                 for s in ds.splits}, on_truncated)
        if refused is not None:
            raise refused
        summary.reused = True
        save_hints(ds)  # hashes confirmed after a copy: not read again next time
        for old in layout.partial_dirs(ds.root):  # of killed runs
            shutil.rmtree(old, ignore_errors=True)
        _fill_counts(summary, ds, manifests)
        return summary
    if reason is not None and not reason.endswith("missing"):
        summary.rebuilt_because = reason
    try:
        summary.raw_bytes = sum(f.stat().st_size for f in ds.source_files())
    except OSError:
        pass
    if workers is None:
        # small datasets decode faster in this process than a pool can start
        workers = 1 if (summary.raw_bytes < POOL_MIN_BYTES or not ds.parallel_decode) \
            else (os.cpu_count() or 1)
    if resumable is None:
        resumable = summary.raw_bytes >= RESUME_MIN_BYTES and ds.parallel_decode
    if scheduler is not None:
        resumable = True  # Dask workers hand their results over as shards
    t0 = time.perf_counter()
    events_dir = layout.events_dir(ds.root)
    events_dir.mkdir(parents=True, exist_ok=True)
    hashed = None
    if resumable or layout.partial_dirs(ds.root):
        partial = _partial_dir(ds, manifests)
        for old in layout.partial_dirs(ds.root):  # shards of another source: useless
            if old != partial:
                shutil.rmtree(old, ignore_errors=True)
        if force and partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    else:  # the fingerprint (hashing the raw files) is needed at commit only: beside the run
        from concurrent.futures import ThreadPoolExecutor
        hashing = ThreadPoolExecutor(1, thread_name_prefix="evframes-fingerprint")
        hashed = hashing.submit(source_state, ds, manifests=manifests)
        hashing.shutdown(wait=False)
    shards = _Shards(partial) if resumable else None

    writers = {}
    try:
        for s in ds.splits:
            writers[s] = EventsStoreWriter(events_store_path(ds.root, s), ds.meta_columns)
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    try:
        try:
            with large_buffers_reused():
                _run(ds, writers, workers, progress, summary, shards, scheduler)
            if hashed is not None:
                hashed.result()  # source_state below finds the hashes made beside the run
            for split, w in writers.items():
                man = expected_manifest(ds, split, manifests)
                man["classes"] = ds.classes
                man.update(summary.truncation.manifest(split))
                # source_stat, hash_sources, ...
                man.update(source_state(ds, manifests=manifests).record())
                w.commit(man)
        except (OSError, RuntimeError) as e:  # disk full, read-only, I/O error
            why = io_failure(e)
            if why is None:
                raise
            for w in writers.values():
                w.abort()
            raise StoreError(f"writing the events stores under {events_dir} failed: {why}; "
                             f"no partial store was left") from None
    finally:
        for w in writers.values():
            if not w.committed:
                w.abort()
    if shards is not None:
        summary.resumed_jobs = shards.hits
        shutil.rmtree(partial, ignore_errors=True)
    summary.seconds = time.perf_counter() - t0
    _fill_counts(summary, ds, manifests)
    if warn:
        for msg in summary.warnings:
            _warnings.warn(msg, ExtractWarning, stacklevel=2)
    return summary


def _run(ds: RawDataset, writers, workers: int, progress: bool, summary: ExtractSummary,
         shards: Optional["_Shards"] = None, scheduler=None):
    from tqdm import tqdm

    bars = {s: tqdm(desc=f"extract {ds.name} {s}", unit=" rec", disable=not progress,
                    file=sys.stderr, leave=True, dynamic_ncols=True) for s in ds.splits}
    next_idx = {s: 0 for s in ds.splits}
    held: Dict[str, Dict[int, JobResult]] = {s: {} for s in ds.splits}
    unplaced: List[JobResult] = []
    written = {s: [0, 0] for s in ds.splits}  # samples, events handed to the writer
    # the stores are written behind, in order, on one thread (h5py and the Blosc filter
    # release the GIL while compressing and writing)
    writes = OrderedWorker(WRITE_BEHIND_BYTES, name="evframes-extract-write")

    def place(res: JobResult, final: bool = False):
        pl = ds.placement(res.name)
        if pl is None:
            if final:
                summary.warnings.append(f"{res.name}: in no split; skipped")
            else:
                unplaced.append(res)
            return
        split, idx = pl
        held[split][idx] = res
        flush(split)

    def flush(split, force_all=False):
        h = held[split]
        while next_idx[split] in h or (force_all and h):
            k = next_idx[split] if next_idx[split] in h else min(h)
            res = summary.truncation.admit(h.pop(k), split, ds.classes)
            n_ev = int(res.offsets[-1] - res.offsets[0]) if len(res.offsets) else 0
            writes.submit(writers[split].append_many, res.events, res.offsets, res.labels,
                          res.metas, nbytes=13 * n_ev)
            summary.warnings.extend(res.warnings)
            w = written[split]
            w[0] += len(res.labels)
            w[1] += n_ev
            bars[split].update(1)
            bars[split].set_postfix(samples=w[0], Mev=f"{w[1] / 1e6:.1f}")
            next_idx[split] = k + 1

    def done(res: JobResult):
        if shards is not None:
            shards.save(res)
        place(res)
        if _after_job is not None:
            _after_job(res)

    def todo():  # jobs whose shard exists are answered from it, not decoded again
        source = ds.jobs()
        if scheduler is None:  # the source (inflating an archive) runs ahead on a thread
            source = prefetched(source, PREFETCH_JOBS, name="evframes-extract-read")
        try:
            for job in source:
                res = shards.load(job.name) if shards is not None else None
                if res is not None:
                    place(res)
                else:
                    yield job
        finally:
            source.close()

    jobs = todo()
    try:
        if scheduler is not None:
            def done_remote(name: str):
                res = shards.load(name)
                if res is None:
                    raise StoreError(f"{shards.folder}: shard of {name} missing after its task "
                                     f"finished (is the folder on a filesystem shared with the "
                                     f"Dask workers?)")
                place(res)
            _run_dask(jobs, scheduler, str(shards.folder), done_remote)
        elif workers <= 1:
            for job in jobs:
                done(run_job(job))
        else:
            _run_pool(jobs, workers, done)
        summary.warnings.extend(ds.finish())
        pending, unplaced[:] = list(unplaced), []
        for res in pending:
            place(res, final=True)
        for split in ds.splits:
            flush(split, force_all=True)
        writes.drain()
    finally:
        try:  # closes the raw archive's stream now, not at interpreter exit
            jobs.close()
        except Exception:
            pass
        writes.close()  # the write in progress ends before a writer may be aborted
        for b in bars.values():
            b.close()


def _pool_context():
    """fork (fast: workers inherit the imported, compiled decoders) unless this process has
    started Numba's parallel threading layer, which is not fork-safe; then forkserver."""
    import multiprocessing as mp
    methods = mp.get_all_start_methods()
    try:
        from numba.np.ufunc import parallel as _par
        threads_started = bool(getattr(_par, "_is_initialized", True))
    except Exception:  # pragma: no cover
        threads_started = True
    if "fork" in methods and not threads_started:
        return mp.get_context("fork")
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def _run_pool(jobs, workers: int, place):
    """Run jobs in a process pool with a bounded number in flight, results in any order."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as ex:
        ex.submit(int).result()  # the workers start (fork) before any reader thread runs
        run_windowed(jobs, lambda job: ex.submit(run_job, job), 2 * workers, place)
