"""Frames stores: events store -> frames ``[T, 2, H, W]`` per sample (a representation's
``[T, C, H', W']``), one HDF5 file per split and setting, at ``<root>/<setting name>/<split>.h5``.

The setting name follows SpikingJelly's folder names (``frames_number_20_split_by_number``,
``duration_1000000``, the custom function's name), plus ``_downsample_K`` when coordinates are
pooled by K (``FrameSetting.dir_name``: the setting carries its ``downsample``). The file
layout (compact integer counts, a custom function's values exactly, Blosc chunks,
``frame_offsets``, ``labels``, the manifest) is described and written in
:mod:`evframes.store.frames`; this module decides what goes in.

A representation other than count frames and the event image
(:mod:`evframes.integrate.representations`) is stored in its own dtype (float32 voxel grids,
time surfaces and HATS, int16 ON-OFF, uint8 binary and stacked histograms, int64 latest
timestamps) and shape (:func:`~evframes.integrate.representations.frame_layout`); count frames
and the event image get the narrowest unsigned dtype holding their counts.

Stores are written atomically. A store is reused only when its manifest matches the setting and
the current events store (and, for a custom function, its fingerprint); otherwise it is rebuilt,
so a changed setting, an edited function or a rebuilt events store never serves stale frames.
Memory: batches are cut by output bytes within ``memory_budget`` (:mod:`evframes.pipeline.plan`).
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..errors import CustomFunctionError, StoreError
from ..integrate import FrameSetting, integrate_batch
from ..integrate.core import downsample_coords, downsampled_size  # noqa: F401 (old home)
from ..integrate.dtypes import concat_exact, dtype_of, join, summarize
from ..integrate.fingerprint import setting_fingerprint, verify_note  # noqa: F401 (cli)
from ..integrate.representations import frame_layout
from ..integrate.setting import with_downsample
from ..store import (
    FORMAT_VERSION,
    events_store_path,
    io_failure,
    read_manifest,
    store_lock,
)
from ..store.events import EventsColumns
from ..store.frames import (  # noqa: F401
    FramesStore,
    FramesStoreWriter,
    compression_kwargs,
    frames_codec,
    frames_layout,
)
from ..store.layout import (  # noqa: F401 (path rules)
    find_extracted_roots,
    frames_store_path,
    migrate_spikingjelly_frames,
    setting_dir_name,
)
from ..store.manifest import Manifests, manifests_or_new
from .dask import dask_client, dask_window
from .executor import windowed
from .plan import DEFAULT_MEMORY_BUDGET, check_disk, parse_size, plan_split

BATCH_EVENTS = 1 << 23  # events per batch at most (memory); tests lower it for many batches

#: test hook: ``_after_batch(i, j)`` runs after each batch of samples ``i..j-1`` is written;
#: kill tests set it to slow a build down
_after_batch = None


def setting_from_options(split_by=None, frames_number=None, duration=None, count=None,
                         overlap=0, include_incomplete=True, function=None,
                         function_name=None, downsample=1) -> FrameSetting:
    """:meth:`FrameSetting.from_options` (the one set of defaults and checks), under its old
    name; ``frames_number`` needs ``split_by``, as everywhere."""
    return FrameSetting.from_options(split_by, frames_number, duration, count, overlap,
                                     include_incomplete, function, function_name, downsample)


def events_store_identity(manifest) -> str:
    """A short id of an events store: hash of its manifest (which records source fingerprint,
    creation time and counts), so a rebuilt events store changes it.

    Parameters
    ----------
    manifest : mapping or path
        The events store's manifest as read, or the store's path (its manifest is read).
    """
    man = manifest if isinstance(manifest, Mapping) else read_manifest(manifest)
    return hashlib.sha256(json.dumps(man, sort_keys=True).encode()).hexdigest()[:24]


def expected_frames_manifest(root, split, setting: FrameSetting,
                             downsample: Optional[int] = None,
                             fingerprint: Optional[str] = None,
                             manifests: Optional[Manifests] = None) -> dict:
    """What a current frames store's manifest holds; a custom function's store also records
    ``function_fingerprint`` (:mod:`evframes.fingerprint`; None where none can be taken).
    ``downsample`` is the setting's (an explicit one, the old call style, must agree); it keeps
    its own manifest key, outside ``setting.to_dict()``.
    ``manifests``: the operation's memo (the events store's manifest is read once)."""
    setting = with_downsample(setting, downsample)
    ev_man = manifests_or_new(manifests).read(events_store_path(root, split))
    man = {"kind": "frames", "split": split, "setting": setting.to_dict(),
           "downsample": setting.downsample, "events_store": events_store_identity(ev_man),
           "codec": frames_codec()}  # a store written with another codec is rebuilt
    if setting.function is not None:
        man["function_fingerprint"] = fingerprint
    return man


@dataclass
class FramesSummary:
    root: Path
    setting: str
    splits: Dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0
    events: int = 0

    def lines(self) -> List[str]:
        out = [f"{self.setting} at {self.root}:"]
        for split, d in self.splits.items():
            state = "reused" if d["reused"] else f"built in {d['seconds']:.2f} s"
            if d.get("rebuilt_because"):
                state += f" (rebuilt: {d['rebuilt_because']})"
            out.append(f"  {split:5s}: {d['samples']:7d} samples, {d['frames']:8d} frames "
                       f"[{d['shape']}] {d['dtype']}, {d['bytes'] / 1e6:8.1f} MB on disk, "
                       f"{state} -> {d['path']}")
        built = [d for d in self.splits.values() if not d["reused"]]
        if built and self.seconds > 0:
            ev = sum(d["events"] for d in built)
            out.append(f"  {ev / 1e6:.2f} M events in {self.seconds:.2f} s = "
                       f"{ev / 1e6 / self.seconds:.1f} M events/s")
        return out


def build_frames(root, setting: FrameSetting, splits: Sequence[str] = ("train", "test"),
                 downsample: Optional[int] = None, force: bool = False, progress: bool = True,
                 n_threads: Optional[int] = None, scheduler=None,
                 memory_budget=None, manifests: Optional[Manifests] = None) -> FramesSummary:
    """Integrate every sample of each split's events store into a frames store (or reuse).

    ``force``: rebuild even a current store. A custom function's store is current only while
    the function's fingerprint (code, constants, defaults, closure, partial arguments, module
    source: :mod:`evframes.fingerprint`) is unchanged; where none can be taken it is rebuilt.
    ``memory_budget``: bytes (or ``"512M"``, ``"2G"``) the integration may hold at once,
    default 1 GiB; batches are cut by output size, and a setting one sample of which does not
    fit, or whose output cannot fit the disk, is refused before anything is created
    (:mod:`evframes.pipeline.plan`).
    ``scheduler``: a Dask scheduler address or Client; batches of samples are then integrated
    on the cluster's workers (which read the events store from a shared filesystem) and written
    here in order, with the same atomicity and manifest as a local run.
    ``manifests``: a :class:`~evframes.store.manifest.Manifests` memo shared with the steps
    around this one in the same operation; each store's manifest is read once.
    ``downsample``: the setting carries it (``FrameSetting(..., downsample=K)``); the argument
    stays for older callers and is folded into the setting (a different value from the
    setting's own is refused)."""
    manifests = manifests_or_new(manifests)
    root = Path(root)
    setting = with_downsample(setting, downsample)
    budget = parse_size(DEFAULT_MEMORY_BUDGET if memory_budget is None else memory_budget)
    summary = FramesSummary(root=root, setting=setting.dir_name)
    from .sources import check_events_current
    # never build on / reuse frames of a stale events store
    check_events_current(root, splits, manifests)
    digest, no_fp = setting_fingerprint(setting)
    force = force or no_fp is not None
    migrate_spikingjelly_frames(root, setting, splits)  # out of SpikingJelly's folder name
    plans = {}
    for split in splits:  # plan every split to build first: refusals create nothing
        ev_path = events_store_path(root, split)
        if not ev_path.exists():
            raise StoreError(f"{ev_path}: no events store; run `evframes extract --root {root}` "
                             f"first")
        path = frames_store_path(root, setting, split)
        expected = expected_frames_manifest(root, split, setting, None, digest, manifests)
        if force or manifests.status(path, expected) is not None:
            plans[split] = _plan(ev_path, setting, split, budget, manifests)
    if plans:
        p0 = next(iter(plans.values()))
        check_disk(root, list(plans.values()), setting, p0.H, p0.W)
    for split in splits:
        ev_path = events_store_path(root, split)
        path = frames_store_path(root, setting, split)
        expected = expected_frames_manifest(root, split, setting, None, digest, manifests)
        info = {"path": str(path), "reused": False, "seconds": 0.0}
        with store_lock(path, what="frames store"):
            reason = manifests.status(path, expected)  # read again if replaced meanwhile
            if reason is None and not force:
                info["reused"] = True
            else:
                if no_fp:
                    info["rebuilt_because"] = f"no fingerprint of the function: {no_fp}"
                elif reason and reason != "missing":
                    info["rebuilt_because"] = reason
                plan = plans.get(split) or _plan(ev_path, setting, split, budget, manifests)
                t0 = time.perf_counter()
                try:
                    _build_split(ev_path, path, setting, split, expected, progress, n_threads,
                                 scheduler, plan, manifests.read(ev_path))
                except (OSError, RuntimeError) as e:  # disk full, read-only, I/O error
                    why = io_failure(e)
                    if why is None:
                        raise
                    raise StoreError(f"writing {path} failed: {why}; no partial store was "
                                     f"left") from None
                info["seconds"] = time.perf_counter() - t0
        man = manifests.read(path)
        shape, dtype = frames_layout(path)
        info.update(samples=int(man["n_samples"]), frames=int(man["n_frames"]),
                    shape=f"T, {', '.join(str(s) for s in shape[1:])}" if
                    man.get("fixed_T") is None else
                    f"{man['fixed_T']}, {', '.join(str(s) for s in shape[1:])}",
                    dtype=str(dtype), events=int(man["n_events"]))
        info["bytes"] = path.stat().st_size
        summary.splits[split] = info
    summary.seconds = sum(d["seconds"] for d in summary.splits.values())
    summary.events = sum(d["events"] for d in summary.splits.values())
    return summary


def _plan(ev_path: Path, setting: FrameSetting, split: str, budget: int, manifests: Manifests):
    W, H = downsampled_size(manifests.read(ev_path)["sensor_size"], setting.downsample)
    with EventsColumns(ev_path) as src:
        plan = plan_split(src.column("t"), src.offsets, setting, H, W, budget, BATCH_EVENTS,
                          f"{setting.dir_name}, {split}")
    plan.H, plan.W = H, W
    return plan


def _build_split(ev_path: Path, path: Path, setting: FrameSetting, split: str, expected: dict,
                 progress: bool, n_threads: Optional[int], scheduler, plan,
                 ev_man: Mapping):
    from tqdm import tqdm
    with EventsColumns(ev_path) as src:
        values = None  # what the stored values need (integrate.dtypes.ValueSummary), widening
        while True:
            try:
                _write(src, path, setting, values, expected, ev_man, split, progress,
                       n_threads, tqdm, scheduler, plan)
                return
            except _NeedWiderDtype as e:
                values = e.values


class _NeedWiderDtype(Exception):
    def __init__(self, values):
        self.values = values


def _read_slice(src, offsets, i, j, setting):
    a, b = int(offsets[i]), int(offsets[j])
    t, x, y, p = src.read(a, b)
    x, y = downsample_coords(x, y, setting.downsample)  # the store's events are valid
    return t, x, y, p, offsets[i:j + 1] - a


def _integrate_slice(src, offsets, i, j, setting, H, W, n_threads=None, ev=None):
    """Frames of samples ``i..j-1`` of an open events store (:class:`EventsColumns`) or its
    path; ``ev``: those samples' arrays already read (``_read_slice``)."""
    close = False
    if not isinstance(src, EventsColumns):
        src, close = EventsColumns(src), True
    try:
        t, x, y, p, off = ev if ev is not None else _read_slice(src, offsets, i, j, setting)
        try:
            return integrate_batch(t, x, y, p, off, setting, H, W, n_threads=n_threads)
        except CustomFunctionError as e:  # name the store and the sample's index in the split
            raise e.shifted(i, src.filename) from e.cause
        except ValueError as e:
            raise ValueError(f"{src.filename}: {e}") from None
    finally:
        if close:
            src.close()


def _function_batches(src, offsets, setting, H, W, plan):
    """A custom function's frames, one sample at a time (what it returns has no size known in
    advance), grouped until they reach a share of the memory budget."""
    target = max(1, (plan.budget - plan.reserve) // 4)
    for i, j in plan.batches:
        t, x, y, p, off = _read_slice(src, offsets, i, j, setting)
        parts, fos, i0, size = [], [0], i, 0
        for s in range(i, j):
            a, b = int(off[s - i]), int(off[s - i + 1])
            try:
                fr, _ = _integrate_slice(src, offsets, s, s + 1, setting, H, W,
                                         ev=(t[a:b], x[a:b], y[a:b], p[a:b],
                                             np.array([0, b - a])))
            except CustomFunctionError:
                raise
            except ValueError as e:  # the result's shape: name the sample's index in the split
                raise ValueError(str(e).replace(f"{setting.name}, sample 0:",
                                                f"{setting.name}, sample {s}:")) from None
            parts.append(fr)
            fos.append(fos[-1] + fr.shape[0])
            size += fr.nbytes
            del fr
            if size >= target or s == j - 1:
                where = f"{src.filename}: custom function {setting.name}, samples {i0}..{s}"
                box = [(i0, s + 1, concat_exact(parts, where, (0, 2, H, W)), np.array(fos))]
                parts, fos, i0, size = [], [0], s + 1, 0
                yield box.pop()  # nothing kept here while the consumer writes


def _integrated_batches(src, offsets, setting, H, W, n_threads, scheduler, plan):
    """``(i, j, frames, frame_offsets)`` per batch of samples, in order; on a Dask cluster
    when ``scheduler`` is given (workers read the events store from the shared filesystem;
    results in flight are limited to what the memory budget holds)."""
    batches = plan.batches
    if scheduler is None:
        if setting.function is not None:
            yield from _function_batches(src, offsets, setting, H, W, plan)
            return
        for i, j in batches:  # no reference kept here while the next batch is computed
            yield (i, j) + tuple(_integrate_slice(src, offsets, i, j, setting, H, W, n_threads))
        return
    client, own = dask_client(scheduler)
    try:
        window = max(1, min(dask_window(client), plan.budget // max(1, plan.largest_batch)))
        path = str(Path(src.filename).resolve())

        def submit(ij):
            return client.submit(_integrate_slice, path, offsets, ij[0], ij[1], setting, H, W,
                                 retries=2, pure=False)

        results = windowed(batches, submit, window, ordered=True)
        try:
            for (i, j), res in results:
                box = [tuple(res)]
                del res
                yield (i, j) + box.pop()
        finally:
            results.close()
    finally:
        if own:
            client.close()


def _write(src, path, setting, values, expected, ev_man, split, progress, n_threads, tqdm,
           scheduler, plan):
    offsets, labels = src.offsets, src.labels
    n = labels.shape[0]
    H, W = plan.H, plan.W
    fixed_T = setting.fixed_T
    (C, Hf, Wf), own = frame_layout(setting, H, W)
    dtype = dtype_of(values) if own is None else own  # a representation: its own dtype
    counts_only = setting.function is None  # rule frames: non-negative counts
    with FramesStoreWriter(path, n, Hf, Wf, dtype, fixed_T, plan.reserve, C) as out:
        bar = tqdm(total=n, desc=f"integrate {split} {setting.dir_name}",
                   unit=" samples", disable=not progress, file=sys.stderr, dynamic_ncols=True)
        try:
            for i, j, frames, fo in _integrated_batches(src, offsets, setting, H, W, n_threads,
                                                        scheduler, plan):
                what = f"custom function {setting.name}" if setting.function else setting.name
                where = f"{src.filename}: {what}, samples {i}..{j - 1}"
                if own is None:  # counts / a custom function's values: narrowest exact dtype
                    values = join(values, summarize(frames, where, nonnegative=counts_only),
                                  where)
                    if dtype_of(values) != dtype:  # restart in a dtype holding every value
                        raise _NeedWiderDtype(values)
                out.append(i, j, frames, fo)
                del frames
                bar.update(j - i)
                if _after_batch is not None:
                    _after_batch(i, j)
        finally:
            bar.close()
        out.commit(labels, expected, dataset=ev_man.get("dataset"),
                   classes=ev_man.get("classes", []), sensor_size=[W, H],
                   n_events=int(offsets[-1]), fixed_T=fixed_T, format_version=FORMAT_VERSION,
                   evframes_version=ev_man.get("evframes_version"),
                   created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
