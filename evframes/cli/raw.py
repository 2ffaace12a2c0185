"""``evframes extract`` (raw dataset -> events stores) and ``evframes fake`` (a synthetic raw
replica)."""
from __future__ import annotations

import time
import warnings

import click

from .._click import DatasetChoice
from .._click import folder_path as _folder_path
from .._click import friendly as _friendly
from .._click import show_warnings as _show_warnings
from ._options import _echo_warm_up, _root
from .files import parse_sensor, recordings_options


@click.command()
@click.option("--dataset", type=DatasetChoice(), default=None,
              help="A registered dataset [required unless --recordings].")
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path,
              help="Dataset root holding the raw archives or folders [default: ./data/DATASET; "
                   "with --recordings: DIR].")
@click.option("--workers", "-j", type=int, default=None,
              help="Decoding processes [default: all cores].")
@click.option("--force", is_flag=True, help="Rebuild the stores even if they are current.")
@click.option("--train-ratio", type=float, default=0.9, show_default=True,
              help="CIFAR10-DVS, N-Caltech101, ASL-DVS, NAVGesture: per-class train fraction "
                   "(first files by name).")
@click.option("--orientation", type=click.Choice(["spikingjelly", "tonic", "raw"]),
              default="spikingjelly", show_default=True,
              help="CIFAR10-DVS, ASL-DVS, NAVGesture: coordinate convention ('tonic': "
                   "ASL-DVS only).")
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
@click.option("--recordings", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Your own recordings (any supported format): one folder per class, or a "
                   "labels file (--labels, or DIR/labels.csv) with rows "
                   "file,start_us,end_us,label. The stores go to --root [default: DIR].")
@click.option("--labels", type=click.Path(dir_okay=False), default=None,
              help="--recordings: labels CSV (file,start_us,end_us,label; files relative to "
                   "DIR).")
@click.option("--split-ratio", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.8, show_default=True,
              help="--recordings: per-class train fraction (a seeded permutation per class).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="--recordings: seed of the split.")
@click.option("--sensor", callback=parse_sensor, default=None, metavar="WxH",
              help="--recordings: sensor size of every recording [default: their headers; "
                   "needed for mixed sizes and formats without one].")
@_friendly
def extract(dataset, root, workers, force, train_ratio, orientation, resumable, scheduler,
            keep_truncated, hash_sources, quiet, recordings, labels, split_ratio, seed, sensor):
    """Decode and split a raw dataset into one HDF5 events store per split."""
    import inspect

    from ..pipeline.extract import extract as run_extract
    from ..pipeline.inspect import extract_current
    from ..raw import entry, open_raw
    from ..warmup import warm_extract
    dataset, root, extra = recordings_options(dataset, root, recordings, labels, split_ratio,
                                              seed, sensor)
    takes = inspect.signature(entry(dataset).raw.__init__).parameters
    opts = {k: v for k, v in (("train_ratio", train_ratio), ("orientation", orientation))
            if k in takes}
    opts.update(extra)
    ds = open_raw(dataset, _root(dataset, root), **opts)
    if scheduler is None and (force or not extract_current(ds)):
        _echo_warm_up(warm_extract(dataset, ds.root))
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


@click.command()
@click.option("--dataset", type=DatasetChoice(), required=True)
@click.option("--out", type=click.Path(file_okay=False), callback=_folder_path, default=None,
              help="Folder to write the raw replica into [default: ./data/DATASET].")
@click.option("--recordings", "-n", type=click.IntRange(min=1), default=None,
              help="dvs128: recordings (default 12; 122 = full layout). nmnist: train samples "
                   "per class (default 50; test gets a sixth). cifar10dvs: recordings per class "
                   "(default 20). recordings: per class (default 4).")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=None,
              help="dvs128: event-rate multiplier (default 0.05; 1.0 ~ real rates).")
@click.option("--full", is_flag=True, help="Full real size (122 recordings at real rates, "
                                           "60000/10000 N-MNIST samples, 1000 per class).")
@click.option("--folder", is_flag=True, help="Write extracted folders instead of archives.")
@click.option("--seed", type=int, default=0, show_default=True)
@_friendly
def fake(dataset, out, recordings, scale, full, folder, seed):
    """Write a synthetic raw dataset in the real on-disk layout and formats."""
    from ..replicas import fake_replica
    out = _root(dataset, out)
    t0 = time.perf_counter()
    info = fake_replica(dataset, out, recordings=recordings, scale=scale, full=full,
                        archive=not folder, seed=seed)
    click.echo(f"wrote {dataset} replica to {info['path']} in {time.perf_counter() - t0:.1f} s: "
               + ", ".join(f"{k} {v}" for k, v in info.items() if k not in ("dataset", "path")))
    return info
