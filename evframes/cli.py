"""The ``evframes`` command line (click group).

Every command turns expected failures (bad raw data, stale or foreign stores, bad options) into
a one-line ``Error: ...`` naming the file and the problem, with exit code 1 or 2, never a
traceback. Set ``EVFRAMES_DEBUG=1`` to see tracebacks.
"""
from __future__ import annotations

import functools
import os
import sys
import time
import warnings
from pathlib import Path

import click

from . import __version__
from .errors import DatasetError, FormatError, StoreError, one_line

DATASETS = ("dvs128", "nmnist", "cifar10dvs")


def _friendly(fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        old_hook = sys.unraisablehook

        def hook(u):  # after a failed write h5py objects complain while being freed
            if "h5py" in repr(getattr(u, "object", "")) or "h5py" in repr(u.exc_value):
                return
            old_hook(u)

        sys.unraisablehook = hook
        try:
            return fn(*a, **k)
        except (DatasetError, FormatError, StoreError, OSError, ValueError, RuntimeError) as e:
            if os.environ.get("EVFRAMES_DEBUG"):
                raise
            raise click.ClickException(one_line(e)) from None
        except KeyboardInterrupt:
            click.echo("\ninterrupted: no partial store was left behind", err=True)
            sys.exit(130)
        finally:
            sys.unraisablehook = old_hook
    return wrapper


def _show_warnings(msgs, limit=5):
    for m in msgs[:limit]:
        click.echo(f"warning: {m}", err=True)
    if len(msgs) > limit:
        click.echo(f"warning: ... and {len(msgs) - limit} more", err=True)


def _numba_compiles() -> int:
    """Kernels compiled so far in this process (Numba cache misses of evframes' kernels)."""
    try:
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # pragma: no cover
        return 0
    n = 0
    for name, mod in list(sys.modules.items()):
        if name.startswith("evframes") and mod is not None:
            for v in list(vars(mod).values()):
                if isinstance(v, Dispatcher):
                    n += sum(v.stats.cache_misses.values())
    return n


def _warm_up(work) -> float:
    """Run ``work`` (the same kernels on a tiny input) before the timed work, so that printed
    rates never include Numba compilation; print the compile time on its own line when the
    kernels were compiled (a first run, or a new Numba cache) rather than loaded from the cache.
    Returns the seconds spent. A failing warm-up is ignored: the real run reports problems."""
    import tempfile
    n0, t0 = _numba_compiles(), time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="evframes-warmup-") as tmp, \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            work(Path(tmp))
    except Exception:
        if os.environ.get("EVFRAMES_DEBUG"):
            raise
    dt = time.perf_counter() - t0
    if _numba_compiles() > n0:
        click.echo(f"compile {dt:.1f} s: Numba kernels compiled on this first run (cached for "
                   f"later runs; not counted in the rates below)")
    return dt


def _warm_extract(dataset, root):
    """Decode a tiny replica of ``dataset``, laid out as archives or folders like ``root``, in
    this process: the decoders are then compiled (and inherited by forked decoding workers, or
    loaded from the cache they just filled)."""
    archive = any(p.suffix in (".zip", ".gz", ".tar") for p in Path(root).iterdir()
                  if p.is_file()) if Path(root).is_dir() else True

    def work(tmp):
        from . import synth
        from .datasets import open_raw
        from .extract import extract as run_extract
        if dataset == "dvs128":
            synth.fake_dvs128(tmp, recordings=2, scale=0.001, workers=1, archive=archive)
        elif dataset == "nmnist":
            synth.fake_nmnist(tmp, per_class_train=1, per_class_test=1, archive=archive)
        else:
            synth.fake_cifar10dvs(tmp, per_class=1, scale=0.5, archive=archive)
        run_extract(open_raw(dataset, tmp), workers=1, progress=False, warn=False)
    return _warm_up(work)


def _warm_integrate(setting, downsample, n_threads):
    """Integrate a tiny events store with ``setting``: the same kernels, compiled before the
    timed work. Custom functions are the user's code: nothing to warm."""
    def work(tmp):
        import numpy as np
        from .frames import build_frames
        from .store import EventsStoreWriter, events_store_path
        rng = np.random.default_rng(0)
        with EventsStoreWriter(events_store_path(tmp, "train")) as w:
            for i in range(3):
                n = 64
                w.append({"t": np.sort(rng.integers(0, 10_000, n)),
                          "x": rng.integers(0, 32, n).astype(np.int16),
                          "y": rng.integers(0, 32, n).astype(np.int16),
                          "p": rng.integers(0, 2, n).astype(np.int8)}, i)
            w.commit({"kind": "events", "dataset": "warm-up", "split": "train",
                      "sensor_size": [32, 32], "classes": ["a", "b", "c"]})
        build_frames(tmp, setting, splits=["train"], downsample=downsample, progress=False,
                     n_threads=n_threads)
    if getattr(setting, "function", None) is not None:
        return 0.0
    return _warm_up(work)


def _first_existing(p: Path) -> Path:
    for q in (p, *p.parents):
        if q.exists():
            return q
    return p


def _folder_path(ctx, param, value):
    """click callback: a folder option must not be (or lie under) a file."""
    if value is not None:
        p = Path(value)
        q = _first_existing(p)
        if q.exists() and not q.is_dir():
            raise click.BadParameter(f"{q} is a file, not a folder"
                                     + ("" if q == p else f" (the path is {p})"))
    return value


def _file_path(ctx, param, value):
    """click callback: an output file's folder must not be (or lie under) a file."""
    if value is not None:
        p = Path(value)
        q = _first_existing(p.parent)
        if q.exists() and not q.is_dir():
            raise click.BadParameter(f"{q} is a file, not a folder (the path is {p})")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evframes")
def main():
    """evframes: raw event-camera datasets to training-ready PyTorch tensors, fast.

    \b
    Typical session:
      evframes fake --dataset dvs128 --out data/dvs128   # a demo replica (no download here)
      evframes extract --dataset dvs128                  # raw -> data/dvs128/events/*.h5
      evframes integrate --split-by number -T 20         # events -> frames store
    """


def _root(dataset, root):
    from .datasets import default_root
    return Path(root) if root else default_root(dataset)


@main.command()
@click.option("--dataset", type=click.Choice(DATASETS), required=True)
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path,
              help="Dataset root holding the raw archives or folders [default: ./data/DATASET].")
@click.option("--workers", "-j", type=int, default=None,
              help="Decoding processes [default: all cores].")
@click.option("--force", is_flag=True, help="Rebuild the stores even if they are current.")
@click.option("--train-ratio", type=float, default=0.9, show_default=True,
              help="CIFAR10-DVS only: per-class train fraction (first files by name).")
@click.option("--orientation", type=click.Choice(["spikingjelly", "raw"]), default="spikingjelly",
              show_default=True, help="CIFAR10-DVS only: coordinate convention.")
@click.option("--resumable/--no-resumable", default=None,
              help="Keep finished recordings as shards so an interrupted run resumes "
                   "[default: on above 256 MB of raw data].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the decoding on a Dask cluster (tcp://host:8786); the root must be on "
                   "a filesystem the workers share. Needs evframes[dask].")
@click.option("--keep-truncated", is_flag=True,
              help="Keep the complete part of a recording that ends inside a record or "
                   "packet, dropping (and listing) the samples it leaves without events "
                   "[default: such a recording is an error].")
@click.option("--hash-sources/--no-hash-sources", default=None,
              help="Hash every recording at every check, also catching edits that keep size "
                   "and mtime [default: as recorded in the stores' manifest, else off: "
                   "recordings are hashed again only when their size or mtime changed; labels "
                   "and trials lists always].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@_friendly
def extract(dataset, root, workers, force, train_ratio, orientation, resumable, scheduler,
            keep_truncated, hash_sources, quiet):
    """Decode and split a raw dataset into one HDF5 events store per split."""
    from .datasets import open_raw
    from .extract import extract as run_extract
    opts = {"train_ratio": train_ratio, "orientation": orientation} \
        if dataset == "cifar10dvs" else {}
    ds = open_raw(dataset, _root(dataset, root), **opts)
    if scheduler is None and (force or not _extract_current(ds)):
        _warm_extract(dataset, ds.root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = run_extract(ds, workers=workers, force=force, progress=not quiet, warn=False,
                              resumable=resumable, scheduler=scheduler,
                              on_truncated="keep" if keep_truncated else "error",
                              hash_sources=hash_sources)
    _show_warnings(summary.warnings)
    for line in summary.lines():
        click.echo(line)
    return summary


def _extract_current(ds) -> bool:
    try:
        from .extract import stores_status
        return stores_status(ds) is None
    except Exception:
        return False


def _frames_current(root, setting, splits, downsample) -> bool:
    try:
        from .frames import expected_frames_manifest, frames_store_path
        from .store import store_status
        return all(store_status(frames_store_path(root, setting, s, downsample),
                                expected_frames_manifest(root, s, setting, downsample)) is None
                   for s in splits)
    except Exception:
        return False


@main.command()
@click.option("--dataset", type=click.Choice(DATASETS), required=True)
@click.option("--out", type=click.Path(file_okay=False), callback=_folder_path, default=None,
              help="Folder to write the raw replica into [default: ./data/DATASET].")
@click.option("--recordings", "-n", type=click.IntRange(min=1), default=None,
              help="dvs128: recordings (default 12; 122 = full layout). nmnist: train samples "
                   "per class (default 50; test gets a sixth). cifar10dvs: recordings per class "
                   "(default 20).")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=None,
              help="dvs128: event-rate multiplier (default 0.05; 1.0 ~ real rates).")
@click.option("--full", is_flag=True, help="Full real size (122 recordings at real rates, "
                                           "60000/10000 N-MNIST samples, 1000 per class).")
@click.option("--folder", is_flag=True, help="Write extracted folders instead of archives.")
@click.option("--seed", type=int, default=0, show_default=True)
@_friendly
def fake(dataset, out, recordings, scale, full, folder, seed):
    """Write a synthetic raw dataset in the real on-disk layout and formats."""
    from . import synth
    out = Path(out) if out else Path("data") / dataset
    t0 = time.perf_counter()
    if dataset == "dvs128":
        info = synth.fake_dvs128(out, recordings=None if full else
                                 (12 if recordings is None else recordings),
                                 scale=scale if scale is not None else (1.0 if full else 0.05),
                                 seed=seed, archive=not folder)
    elif dataset == "nmnist":
        per = 6000 if full else (50 if recordings is None else recordings)
        info = synth.fake_nmnist(out, per_class_train=per,
                                 per_class_test=1000 if full else max(1, per // 6 + (per < 6)),
                                 seed=seed, archive=not folder)
    else:
        info = synth.fake_cifar10dvs(out, per_class=1000 if full else
                                     (20 if recordings is None else recordings),
                                     seed=seed, archive=not folder)
    click.echo(f"wrote {dataset} replica to {info['path']} in {time.perf_counter() - t0:.1f} s: "
               + ", ".join(f"{k} {v}" for k, v in info.items() if k not in ("dataset", "path")))
    return info


def _load_function(spec: str):
    """``module:callable`` or ``path/to/file.py:callable``."""
    import importlib
    import importlib.util
    if ":" not in spec:
        raise click.BadParameter(f"{spec!r}: expected module:callable or file.py:callable",
                                 param_hint="--function")
    mod, _, attr = spec.rpartition(":")
    try:
        if mod.endswith(".py"):
            sp = importlib.util.spec_from_file_location(Path(mod).stem, mod)
            if sp is None or not Path(mod).exists():
                raise FileNotFoundError(mod)
            m = importlib.util.module_from_spec(sp)
            sp.loader.exec_module(m)
        else:
            m = importlib.import_module(mod)
        return getattr(m, attr)
    except (ImportError, FileNotFoundError, AttributeError) as e:
        raise click.BadParameter(f"cannot load {spec!r}: {e}", param_hint="--function")


def _pick_root(dataset, root):
    from .frames import find_extracted_roots
    if root:
        return Path(root)
    if dataset:
        return _root(dataset, None)
    found = find_extracted_roots("data")
    if len(found) == 1:
        return found[0]
    if not found:
        raise click.UsageError("no extracted dataset under ./data; run `evframes extract "
                               "--dataset ...` first or pass --root")
    raise click.UsageError("several extracted datasets under ./data ("
                           + ", ".join(p.name for p in found) + "); pick one with --dataset")


def make_setting(split_by, frames_number, duration, count, overlap, drop_incomplete, function,
                 name):
    from .frames import setting_from_options
    if frames_number is not None and split_by is None and \
            duration is None and count is None and function is None:
        # as the Python Datasets (and SpikingJelly): the split rule is never guessed
        raise click.UsageError("-T/--frames-number needs --split-by number (equal event "
                               "counts) or --split-by time (equal time spans)")
    if function is not None and not callable(function):
        function = _load_function(function)
    return setting_from_options(split_by, frames_number, duration, count, overlap,
                                not drop_incomplete, function, name)


@main.command()
@click.option("--dataset", type=click.Choice(DATASETS), default=None,
              help="Dataset under ./data [default: the only extracted one].")
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path,
              help="Dataset root holding events/<split>.h5.")
@click.option("--split-by", type=click.Choice(["number", "time"]), default=None,
              help="Needed with -T: equal event counts ('number') or equal time spans "
                   "('time'), as SpikingJelly's split_by.")
@click.option("-T", "--frames-number", type=int, default=None, help="Frames per sample.")
@click.option("--duration", type=int, default=None,
              help="Fixed frame duration in microseconds (variable T).")
@click.option("--count", type=int, default=None, help="Fixed events per frame (variable T).")
@click.option("--overlap", type=int, default=0, show_default=True,
              help="Overlap of consecutive frames: events (number, count) or us (time).")
@click.option("--drop-incomplete", is_flag=True, help="--count: drop the short last frame.")
@click.option("--function", "function", default=None,
              help="Custom integrator module:callable or file.py:callable, f(events, H, W).")
@click.option("--name", default=None, help="Folder name for --function [default: its name].")
@click.option("--downsample", type=int, default=1, show_default=True,
              help="Pool coordinates by K (x//K, y//K) before integration.")
@click.option("--splits", default="train,test", show_default=True)
@click.option("--threads", type=int, default=None, help="Numba threads [default: all cores].")
@click.option("--force", is_flag=True, help="Rebuild even if the frames store is current.")
@click.option("--memory-budget", default="1G", show_default=True, metavar="SIZE",
              help="Memory the integration may hold at once (e.g. 512M, 4G); a setting one "
                   "sample of which needs more is refused.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Integrate on a Dask cluster (tcp://host:8786); shared filesystem needed.")
@click.option("--quiet", "-q", is_flag=True)
@_friendly
def integrate(dataset, root, split_by, frames_number, duration, count, overlap, drop_incomplete,
              function, name, downsample, splits, threads, force, memory_budget, scheduler,
              quiet):
    """Integrate extracted events into frames [T, 2, H, W] (one HDF5 store per split)."""
    from .frames import build_frames
    root = _pick_root(dataset, root)
    setting = make_setting(split_by, frames_number, duration, count, overlap, drop_incomplete,
                           function, name)
    if scheduler is None and (force or not _frames_current(
            root, setting, [s for s in splits.split(",") if s], downsample)):
        _warm_integrate(setting, downsample, threads)
    summary = build_frames(root, setting, splits=[s for s in splits.split(",") if s],
                           downsample=downsample, force=force, progress=not quiet,
                           n_threads=threads, scheduler=scheduler, memory_budget=memory_budget)
    for line in summary.lines():
        click.echo(line)
    return summary


def _open_split(dataset, root, split, frames_number, split_by, duration):
    """A NeuromorphicDataset over existing stores (frames built if missing)."""
    from .datasets import torch_datasets as td
    cls = {"dvs128": td.DVS128Gesture, "nmnist": td.NMNIST, "cifar10dvs": td.CIFAR10DVS}
    if frames_number is None and duration is None:
        frames_number, split_by = 20, split_by or "number"
    elif frames_number is not None and split_by is None:
        raise click.UsageError("-T/--frames-number needs --split-by number or time")
    return cls[dataset](root, split=split, data_type="frame",
                        frames_number=frames_number,
                        split_by=split_by if frames_number else None,
                        duration=duration, progress=False)


def _dataset_of(root):
    from .store import events_store_path, read_manifest
    p = events_store_path(root, "train")
    if not p.exists():
        raise StoreError(f"{p}: no events store; run `evframes extract --root {root}` first")
    return read_manifest(p)["dataset"]


@main.command()
@click.option("--dataset", type=click.Choice(DATASETS), default=None)
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path)
@click.option("--split", type=click.Choice(["train", "test"]), default="train", show_default=True)
@click.option("--index", "-i", type=int, default=0, show_default=True, help="Sample index.")
@click.option("-T", "--frames-number", type=int, default=None,
              help="Frames, with --split-by [default: 20 split by number].")
@click.option("--split-by", type=click.Choice(["number", "time"]), default=None)
@click.option("--duration", type=int, default=None, help="Frame duration in us instead of -T.")
@click.option("--out", type=click.Path(dir_okay=False), callback=_file_path, default="sample.gif",
              show_default=True)
@click.option("--fps", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--upscale", type=int, default=None, help="Pixel upscaling [default: auto].")
@_friendly
def play(dataset, root, split, index, frames_number, split_by, duration, out, fps, upscale):
    """Write one sample's frames as an animated GIF (polarity colours, frame number, label)."""
    from .viz import play_frame
    root = _pick_root(dataset, root)
    dataset = dataset or _dataset_of(root)
    ds = _open_split(dataset, root, split, frames_number, split_by, duration)
    if not -len(ds) <= index < len(ds):
        raise click.BadParameter(f"{index} out of range: {split} has {len(ds)} samples",
                                 param_hint="--index")
    x, y = ds[index]
    path = play_frame(x, save_gif_to=out, fps=fps, upscale=upscale, label=y,
                      class_names=ds.classes)
    click.echo(f"wrote {path}: {split}[{index}], label {y} ({ds.classes[y]}), "
               f"{x.shape[0]} frames of {x.shape[2]}x{x.shape[3]}")


@main.command()
@click.option("--dataset", type=click.Choice(DATASETS), default=None)
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path)
@click.option("--split", type=click.Choice(["train", "test"]), default="train", show_default=True)
@click.option("--per-class", type=int, default=2, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), callback=_file_path,
              default="samples.png", show_default=True)
@_friendly
def plot(dataset, root, split, per_class, out):
    """Write a PNG sheet of accumulated events: a few samples of every class."""
    from .store import EventsDataset
    from .viz import event_grid
    root = _pick_root(dataset, root)
    ds = EventsDataset(root, split)
    picks = []
    for c in range(len(ds.classes)):
        idx = [int(i) for i in (ds.labels == c).nonzero()[0][:per_class]]
        picks.extend(idx)
    if not picks:
        raise click.ClickException(f"{ds.path}: no samples to plot")
    path = event_grid([ds[i][0] for i in picks], labels=[int(ds.labels[i]) for i in picks],
                      class_names=ds.classes, path=out, sensor_size=ds.sensor_size)
    click.echo(f"wrote {path}: {len(picks)} samples of {len(ds.classes)} classes from {split}")


@main.command()
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path,
              help="A dataset root, or a folder of roots [default: ./data].")
@_friendly
def info(root):
    """What is extracted and integrated: stores, sizes, samples per class."""
    import h5py
    import numpy as np
    from .store import read_manifest
    base = Path(root) if root else Path("data")
    roots = [base] if (base / "events").is_dir() else \
        sorted(p for p in base.iterdir() if (p / "events").is_dir()) if base.is_dir() else []
    if not roots:
        raise click.ClickException(f"{base}: no extracted dataset (no events/ folder)")
    for r in roots:
        click.echo(f"{r}")
        for path in sorted(r.glob("*/*.h5")):
            try:
                man = read_manifest(path)
            except StoreError as e:
                click.echo(f"  {path.relative_to(r)}: not an evframes store ({e})")
                continue
            with h5py.File(path, "r") as f:
                labels = f["labels"][...]
            classes = man.get("classes") or []
            counts = np.bincount(labels, minlength=len(classes)) if labels.size else []
            kind = man.get("kind")
            extra = (f"{man.get('n_events', 0):,} events" if kind == "events" else
                     f"{man.get('n_frames', 0):,} frames, T="
                     f"{man.get('fixed_T') or 'variable'}, {man['sensor_size'][0]}x"
                     f"{man['sensor_size'][1]}")
            click.echo(f"  {str(path.relative_to(r)):48s} {kind:6s} {man.get('n_samples', 0):6d} "
                       f"samples, {extra}, {path.stat().st_size / 1e6:.1f} MB")
            if len(classes) and kind == "events":
                click.echo("      per class: " + ", ".join(
                    f"{c} {int(n)}" for c, n in zip(classes, counts)))


def _roots_under(root):
    base = Path(root) if root else Path("data")
    if (base / "events").is_dir():
        return [base]
    return sorted(p for p in base.iterdir() if (p / "events").is_dir()) if base.is_dir() else []


@main.command()
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path,
              help="A dataset root, or a folder of roots [default: ./data].")
@_friendly
def verify(root):
    """Check every store against its manifest: structure, checksums, and staleness against
    the raw files (events stores) or the events store (frames stores). Exit 1 on problems."""
    from .frames import events_store_identity
    from .sources import events_store_staleness
    from .store import events_store_path, read_manifest, verify_store
    roots = _roots_under(root)
    if not roots:
        raise click.ClickException(f"{root or 'data'}: no extracted dataset (no events/ folder)")
    n_bad = n_ok = 0
    for r in roots:
        click.echo(f"{r}")
        for path in sorted(r.glob("*/*.h5")):
            problems = verify_store(path)
            if not problems:
                man = read_manifest(path)
                if man.get("kind") == "events":
                    why = events_store_staleness(path)  # None without raw data
                    if why:
                        problems.append(f"stale against the raw data: {why}")
                elif man.get("kind") == "frames":
                    ev = events_store_path(r, man["split"])
                    if not ev.exists():
                        problems.append(f"its events store {ev} is missing")
                    elif events_store_identity(ev) != man.get("events_store"):
                        problems.append("stale: built from an older events store")
            rel = path.relative_to(r)
            if problems:
                n_bad += 1
                click.echo(f"  BAD  {rel}: " + "; ".join(problems))
            else:
                n_ok += 1
                from .datasets.truncation import store_note
                from .frames import verify_note  # what verify cannot check (custom functions)
                man, note = read_manifest(path), verify_note(read_manifest(path))
                click.echo(f"  ok   {rel}{store_note(man)}" + (f" ({note})" if note else ""))
    click.echo(f"{n_ok} store(s) ok, {n_bad} with problems")
    if n_bad:
        sys.exit(1)


@main.command()
@click.option("--out", type=click.Path(file_okay=False), callback=_folder_path,
              default="demo_out", show_default=True,
              help="Working folder of the demo.")
@click.option("--quick", is_flag=True, help="Fewer recordings (for tests).")
@_friendly
def demo(out, quick):
    """The whole pipeline on a generated DVS128 Gesture replica: fake -> extract -> integrate
    T=20 -> GIF + PNG sheet -> a DataLoader pass."""
    from . import synth
    from .datasets import open_raw
    from .extract import extract as run_extract
    from .frames import build_frames, setting_from_options
    out = Path(out)
    root = out / "dvs128"
    t0 = time.perf_counter()
    click.echo(f"[1/5] fake: DVS128 Gesture replica -> {root}")
    if not (root / "DvsGesture.tar.gz").exists():
        info_ = synth.fake_dvs128(root, recordings=4 if quick else 12, scale=0.05)
        click.echo(f"      {info_['recordings']} recordings ({info_['train_recordings']} train, "
                   f"{info_['test_recordings']} test), {info_['events']:,} events")
    else:
        click.echo("      reusing the existing replica")
    click.echo("[2/5] extract: DvsGesture.tar.gz -> events stores")
    raw = open_raw("dvs128", root)
    if not _extract_current(raw):
        _warm_extract("dvs128", root)
    summary = run_extract(raw, progress=True, warn=False)
    for line in summary.lines():
        click.echo("      " + line)
    click.echo("[3/5] integrate: frames_number=20, split_by=number")
    setting = setting_from_options("number", 20)
    if not _frames_current(root, setting, ("train", "test"), 1):
        _warm_integrate(setting, 1, None)
    fs = build_frames(root, setting, progress=True)
    for line in fs.lines():
        click.echo("      " + line)
    click.echo("[4/5] play + plot")
    from .datasets import DVS128Gesture
    from .store import EventsDataset
    from .viz import event_grid, play_frame
    train = DVS128Gesture(root, train=True, data_type="frame", frames_number=20,
                          split_by="number", progress=False)
    x, y = train[1]
    gif = play_frame(x, save_gif_to=str(out / "sample.gif"), label=y, class_names=train.classes)
    ev = EventsDataset(root, "train")
    picks = [int((ev.labels == c).nonzero()[0][0]) for c in range(len(ev.classes))]
    png = event_grid([ev[i][0] for i in picks], labels=[int(ev.labels[i]) for i in picks],
                     class_names=ev.classes, path=str(out / "samples.png"),
                     sensor_size=ev.sensor_size)
    click.echo(f"      {gif} (train[1], {train.classes[y]}), {png} (one sample per class)")
    click.echo("[5/5] DataLoader: batch 16, 2 workers")
    import torch
    loader = torch.utils.data.DataLoader(train, batch_size=16, shuffle=True, num_workers=2,
                                         persistent_workers=True)
    for xb, yb in loader:  # warm-up epoch: starts the workers
        pass
    t1 = time.perf_counter()
    n = 0
    for xb, yb in loader:
        n += xb.shape[0]
    dt = time.perf_counter() - t1
    click.echo(f"      batch x {tuple(xb.shape)} {xb.dtype}, y {tuple(yb.shape)}; "
               f"{n} samples in {dt:.2f} s = {n / dt:.0f} samples/s")
    click.echo(f"demo finished in {time.perf_counter() - t0:.1f} s; outputs in {out}/ "
               f"(benchmarks/README.md has the speeds on full-size data)")


@main.command()
@click.option("--dataset", type=click.Choice(DATASETS), default="dvs128", show_default=True)
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path,
              help="Dataset root [default: ./data/DATASET].")
@click.option("-T", "T", type=int, default=16, show_default=True, help="Frames per sample.")
@click.option("-b", "--batch-size", type=int, default=16, show_default=True)
@click.option("--epochs", type=int, default=64, show_default=True)
@click.option("-j", "--workers", type=int, default=4, show_default=True,
              help="DataLoader workers.")
@click.option("--channels", type=int, default=128, show_default=True)
@click.option("--amp", is_flag=True, help="Mixed precision: fp16 + GradScaler on CUDA, bf16 on "
                                          "CPU.")
@click.option("--backend", type=click.Choice(["torch", "cpu", "cupy", "auto"]), default="auto",
              show_default=True, help="LIF implementation (auto: cupy on CUDA tensors when "
                                      "CuPy is installed, else the fused Numba cpu kernel).")
@click.option("--opt", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--momentum", type=float, default=0.9, show_default=True)
@click.option("--lr-scheduler", type=click.Choice(["cosa", "step"]), default="cosa",
              show_default=True)
@click.option("--T-max", "T_max", type=int, default=64, show_default=True,
              help="Cosine annealing period (epochs).")
@click.option("--step-size", type=int, default=32, show_default=True, help="StepLR period.")
@click.option("--downsample", type=int, default=1, show_default=True,
              help="Pool frames' coordinates by K (128 -> 128/K).")
@click.option("--loss", type=click.Choice(["mse", "ce"]), default="mse", show_default=True)
@click.option("--model", type=click.Choice(["dvsgesture", "csnn"]), default=None,
              help="[default: dvsgesture for dvs128/cifar10dvs, csnn for nmnist]")
@click.option("--resume", type=click.Path(dir_okay=False, exists=True), default=None)
@click.option("--out-dir", type=click.Path(file_okay=False), callback=_folder_path,
              default="runs/train",
              show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--save-spikes", type=click.Path(file_okay=False), callback=_folder_path,
              default=None,
              help="Write PNG maps of the first spiking layer per time step here.")
@click.option("--max-batches", type=int, default=None, help="Batches per epoch (quick runs).")
@click.option("--ddp", is_flag=True, help="DistributedDataParallel (on by itself under torchrun).")
@click.option("--dry-run", is_flag=True, help="Print the model, parameters and memory; exit.")
@click.option("--quiet", "-q", is_flag=True)
@_friendly
def train(dry_run, quiet, **kw):
    """Train the companion spiking network (SpikingJelly's DVS128 Gesture tutorial)."""
    from .train.loop import TrainConfig, dry_run as run_dry, train as run_train
    cfg = TrainConfig(progress=not quiet, **kw)
    if dry_run:
        run_dry(cfg, log=click.echo)
        return
    records = run_train(cfg, log=click.echo)
    if records:
        best = max(r.test_acc for r in records)
        click.echo(f"done: {len(records)} epochs, max test accuracy {best:.4f}; "
                   f"checkpoints and curves in {cfg.out_dir}")


if __name__ == "__main__":  # pragma: no cover
    main()
