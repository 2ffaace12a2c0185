"""``evframes info`` (what is extracted and integrated) and ``evframes verify`` (every store
checked against its manifest and for staleness). The listing is
:func:`evframes.store.summary.describe_root`, the rules
:func:`evframes.pipeline.inspect.verify_root`; these commands only print them."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .._click import folder_path as _folder_path
from .._click import friendly as _friendly


@click.command()
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path,
              help="A dataset root, or a folder of roots [default: ./data].")
@_friendly
def info(root):
    """What is extracted and integrated: stores, sizes, samples per class."""
    from ..store.summary import dataset_roots, describe_root
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
