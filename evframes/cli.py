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
from .errors import DatasetError, FormatError, StoreError

DATASETS = ("dvs128", "nmnist", "cifar10dvs")


def _friendly(fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        try:
            return fn(*a, **k)
        except (DatasetError, FormatError, StoreError, FileNotFoundError, ValueError) as e:
            if os.environ.get("EVFRAMES_DEBUG"):
                raise
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            click.echo("\ninterrupted: no partial store was left behind", err=True)
            sys.exit(130)
    return wrapper


def _show_warnings(msgs, limit=5):
    for m in msgs[:limit]:
        click.echo(f"warning: {m}", err=True)
    if len(msgs) > limit:
        click.echo(f"warning: ... and {len(msgs) - limit} more", err=True)


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
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="Dataset root holding the raw archives or folders [default: ./data/DATASET].")
@click.option("--workers", "-j", type=int, default=None,
              help="Decoding processes [default: all cores].")
@click.option("--force", is_flag=True, help="Rebuild the stores even if they are current.")
@click.option("--train-ratio", type=float, default=0.9, show_default=True,
              help="CIFAR10-DVS only: per-class train fraction (first files by name).")
@click.option("--orientation", type=click.Choice(["spikingjelly", "raw"]), default="spikingjelly",
              show_default=True, help="CIFAR10-DVS only: coordinate convention.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@_friendly
def extract(dataset, root, workers, force, train_ratio, orientation, quiet):
    """Decode and split a raw dataset into one HDF5 events store per split."""
    from .datasets import open_raw
    from .extract import extract as run_extract
    opts = {"train_ratio": train_ratio, "orientation": orientation} \
        if dataset == "cifar10dvs" else {}
    ds = open_raw(dataset, _root(dataset, root), **opts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = run_extract(ds, workers=workers, force=force, progress=not quiet, warn=False)
    _show_warnings(summary.warnings)
    for line in summary.lines():
        click.echo(line)
    return summary


@main.command()
@click.option("--dataset", type=click.Choice(DATASETS), required=True)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder to write the raw replica into [default: ./data/DATASET].")
@click.option("--recordings", "-n", type=int, default=None,
              help="dvs128: recordings (default 12; 122 = full layout). nmnist: train samples "
                   "per class (default 50; test gets a sixth). cifar10dvs: recordings per class "
                   "(default 20).")
@click.option("--scale", type=float, default=None,
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
        info = synth.fake_dvs128(out, recordings=None if full else (recordings or 12),
                                 scale=scale if scale is not None else (1.0 if full else 0.05),
                                 seed=seed, archive=not folder)
    elif dataset == "nmnist":
        per = 6000 if full else (recordings or 50)
        info = synth.fake_nmnist(out, per_class_train=per,
                                 per_class_test=1000 if full else max(1, per // 6 + (per < 6)),
                                 seed=seed, archive=not folder)
    else:
        info = synth.fake_cifar10dvs(out, per_class=1000 if full else (recordings or 20),
                                     seed=seed, archive=not folder)
    click.echo(f"wrote {dataset} replica to {info['path']} in {time.perf_counter() - t0:.1f} s: "
               + ", ".join(f"{k} {v}" for k, v in info.items() if k not in ("dataset", "path")))
    return info


@main.command()
@click.option("--out", type=click.Path(file_okay=False), default="demo_out", show_default=True,
              help="Working folder of the demo.")
@click.option("--quick", is_flag=True, help="Fewer recordings (for tests).")
@_friendly
def demo(out, quick):
    """The whole pipeline on a generated DVS128 Gesture replica."""
    from . import synth
    from .datasets import open_raw
    from .extract import extract as run_extract
    out = Path(out)
    root = out / "dvs128"
    t0 = time.perf_counter()
    click.echo(f"[1] fake: DVS128 Gesture replica -> {root}")
    if not (root / "DvsGesture.tar.gz").exists():
        info = synth.fake_dvs128(root, recordings=4 if quick else 12, scale=0.05)
        click.echo(f"    {info['recordings']} recordings, {info['events']:,} events")
    else:
        click.echo("    reusing the existing replica")
    click.echo("[2] extract: raw tar.gz -> events stores")
    summary = run_extract(open_raw("dvs128", root), progress=True, warn=False)
    for line in summary.lines():
        click.echo("    " + line)
    for step in _DEMO_STEPS:
        step(root, out, quick)
    click.echo(f"demo finished in {time.perf_counter() - t0:.1f} s")



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
    if function is not None and not callable(function):
        function = _load_function(function)
    return setting_from_options(split_by, frames_number, duration, count, overlap,
                                not drop_incomplete, function, name)


@main.command()
@click.option("--dataset", type=click.Choice(DATASETS), default=None,
              help="Dataset under ./data [default: the only extracted one].")
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="Dataset root holding events/<split>.h5.")
@click.option("--split-by", type=click.Choice(["number", "time"]), default=None,
              help="With -T: equal event counts ('number') or equal time spans ('time').")
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
@click.option("--quiet", "-q", is_flag=True)
@_friendly
def integrate(dataset, root, split_by, frames_number, duration, count, overlap, drop_incomplete,
              function, name, downsample, splits, threads, force, quiet):
    """Integrate extracted events into frames [T, 2, H, W] (one HDF5 store per split)."""
    from .frames import build_frames
    root = _pick_root(dataset, root)
    setting = make_setting(split_by, frames_number, duration, count, overlap, drop_incomplete,
                           function, name)
    summary = build_frames(root, setting, splits=[s for s in splits.split(",") if s],
                           downsample=downsample, force=force, progress=not quiet,
                           n_threads=threads)
    for line in summary.lines():
        click.echo(line)
    return summary


_DEMO_STEPS = []  # later pipeline stages append (root, out, quick) callables


def demo_step(fn):
    _DEMO_STEPS.append(fn)
    return fn


if __name__ == "__main__":  # pragma: no cover
    main()
