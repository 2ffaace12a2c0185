"""``evframes info`` (what is extracted and integrated; ``info FILE``: one event file or store)
and ``evframes verify`` (every store checked against its manifest and for staleness). The
listing is :func:`evframes.store.summary.describe_root` (one file:
:func:`evframes.pipeline.fileinfo.describe_file`), the rules
:func:`evframes.pipeline.inspect.verify_root`; these commands only print them."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .._click import folder_path as _folder_path
from .._click import friendly as _friendly


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=True))
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path,
              help="A dataset root, or a folder of roots [default: ./data].")
@click.option("--quick", is_flag=True,
              help="FILE: only what the header and packet / word headers say (no pass over "
                   "the events: no polarity balance or pixel range).")
@_friendly
def info(file, root, quick):
    """What is extracted and integrated (stores, sizes, samples per class), or with FILE what
    one event file holds (format, sensor, events, duration, rate, polarity balance, times,
    size) or one store's summary.

    \b
      evframes info                      # the dataset roots under ./data
      evframes info recording.raw        # one event file of any supported format
      evframes info data/dvs128/events/train.h5
    """
    if file is not None and not Path(file).is_dir():
        from ..pipeline.fileinfo import describe_file
        if not Path(file).exists():
            raise click.ClickException(f"{file}: no such file")
        for line in describe_file(file, quick=quick, progress=sys.stderr.isatty()):
            click.echo(line)
        return
    from ..store.summary import dataset_roots, describe_root
    root = root or file
    roots = dataset_roots(root)
    if not roots:
        base = Path(root) if root else Path("data")
        raise click.ClickException(f"{base}: no extracted dataset (no events/ folder)")
    for r in roots:
        click.echo(f"{r}")
        for store in describe_root(r):
            for line in store.lines():
                click.echo(line)


def _roots_under(root):
    from ..store.summary import dataset_roots
    return dataset_roots(root)


@click.command()
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path,
              help="A dataset root, or a folder of roots [default: ./data].")
@_friendly
def verify(root):
    """Check every store against its manifest: structure, checksums, and staleness against
    the raw files (events stores) or the events store (frames stores). Exit 1 on problems."""
    from ..pipeline.inspect import verify_root
    roots = _roots_under(root)
    if not roots:
        raise click.ClickException(f"{root or 'data'}: no extracted dataset (no events/ folder)")
    n_bad = n_ok = 0
    for r in roots:
        click.echo(f"{r}")
        for check in verify_root(r):
            n_ok += check.ok
            n_bad += not check.ok
            click.echo(check.line())
    click.echo(f"{n_ok} store(s) ok, {n_bad} with problems")
    if n_bad:
        sys.exit(1)
