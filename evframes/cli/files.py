"""``evframes convert IN OUT``: an event file to another format or to an events store, or a
store's samples to files (:func:`evframes.pipeline.convert.convert`; streaming, atomic)."""
from __future__ import annotations

import click

from .._click import file_path as _file_path
from .._click import friendly as _friendly

FORMAT_NAMES = ("aedat4", "evt2", "evt21", "evt3", "dat", "aedat3", "aedat2", "atis")


def parse_sensor(ctx, param, value):
    """click callback: ``WxH`` (pixels) -> ``(W, H)``."""
    if value is None:
        return None
    w, sep, h = str(value).lower().partition("x")
    try:
        size = (int(w), int(h))
    except ValueError:
        size = None
    if not sep or size is None or min(size) < 1:
        raise click.BadParameter(f"{value!r}: expected WIDTHxHEIGHT in pixels, e.g. 640x480")
    return size


@click.command()
@click.argument("src", metavar="IN", type=click.Path(exists=True, dir_okay=False))
@click.argument("dst", metavar="OUT", type=click.Path(), callback=_file_path)
@click.option("--format", "-f", "fmt", type=click.Choice(FORMAT_NAMES), default=None,
              help="Output format [default: from OUT's extension: .aedat4, .raw = evt3, .dat, "
                   ".aedat = aedat3, .bin = atis, .h5 = events store].")
@click.option("--sensor", callback=parse_sensor, default=None, metavar="WxH",
              help="Sensor size in pixels [default: IN's header or store, else the events' "
                   "extent].")
@click.option("--t-start", type=int, default=None, help="Keep events with t >= this (us).")
@click.option("--t-end", type=int, default=None, help="Keep events with t < this (us).")
@click.option("--sample", type=int, default=None,
              help="From an events store: write this sample only (one file).")
@click.option("--chunk", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Events decoded and written at a time (the memory bound).")
@click.option("--rebase", is_flag=True,
              help="Shift the times so the first event is at t=0 (needed to write a late start "
                   "to DAT / AEDAT 2.0 / ATIS, whose time wraps, or a DV recording's Unix "
                   "times to EVT 3.0).")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_friendly
def convert(src, dst, fmt, sensor, t_start, t_end, sample, chunk, rebase, force, quiet):
    """Convert IN to OUT: any supported event file to another format or to an events store
    (.h5, one sample), or an events store's samples to files (OUT/<class>/<index>_<source>.ext
    for a store of several samples, the layout `evframes extract --recordings` reads).

    \b
      evframes convert rec.aedat4 rec.raw --format evt2      # AEDAT 4 -> Prophesee EVT 2.0
      evframes convert rec.raw rec.h5                        # -> an events store
      evframes convert data/dvs128/events/test.h5 out/ --format aedat4
    """
    from ..pipeline.convert import convert as run
    summary = run(src, dst, format=fmt, sensor_size=sensor, t_start=t_start, t_end=t_end,
                  sample=sample, chunk_events=chunk, progress=not quiet, force=force,
                  rebase=rebase)
    for line in summary.lines():
        click.echo(line)
    return summary


def recordings_options(dataset, root, recordings, labels, split_ratio, seed, sensor):
    """``evframes extract``'s dataset, root and raw options: for ``--recordings DIR`` (or
    ``--dataset recordings``) the ``recordings`` dataset, its root (``--root``, else DIR; created
    when missing) and options (``labels``, ``split_ratio``, ``seed``, ``sensor_size``);
    otherwise ``--dataset`` as given, with no extra options."""
    from pathlib import Path
    if recordings is None and dataset != "recordings":
        if dataset is None:
            raise click.UsageError("Missing option '--dataset' (or --recordings DIR for a folder "
                                   "of your own recordings)")
        if labels is not None or sensor is not None:
            raise click.UsageError("--labels and --sensor go with --recordings DIR")
        return dataset, root, {}
    if dataset not in (None, "recordings"):
        raise click.UsageError(f"--recordings DIR is a dataset of its own; drop --dataset "
                               f"{dataset}")
    folder = Path(recordings) if recordings is not None else \
        (Path(root) if root else Path("data") / "recordings")
    if not folder.is_dir():
        raise click.ClickException(f"{folder}: recordings folder does not exist")
    root = Path(root) if root else folder
    root.mkdir(parents=True, exist_ok=True)
    opts = {"split_ratio": split_ratio, "seed": seed}
    if root.resolve() != folder.resolve():
        opts["recordings"] = str(folder)
    if labels is not None:
        opts["labels"] = str(labels)
    if sensor is not None:
        opts["sensor_size"] = sensor
    return "recordings", str(root), opts
