"""Click helpers shared by the ``evframes`` command line (:mod:`evframes.cli`) and the training
companion's own entry (``python -m evframes.train``, :mod:`evframes.train.command`).

They live below both so that neither imports the other's commands: :func:`friendly` turns
expected failures into one ``Error: ...`` line (exit 1 or 2, never a traceback; set
``EVFRAMES_DEBUG=1`` to see tracebacks), :func:`folder_path` / :func:`file_path` check path
options, :class:`DatasetChoice` lists the registered datasets, :func:`show_warnings`
prints a few warnings.
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from .errors import DatasetError, FormatError, StoreError, one_line

#: click ``context_settings`` of every entry point: ``-h`` is ``--help``.
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


class DatasetChoice(click.Choice):
    """``click.Choice`` of the dataset registry's names (:data:`evframes.raw.DATASET_NAMES`),
    read when first needed: defining the commands does not import the raw readers (and Numba),
    so ``evframes --help`` and usage errors stay quick."""

    def __init__(self, case_sensitive: bool = True):
        self.case_sensitive = case_sensitive

    @property
    def choices(self):
        from .raw import DATASET_NAMES
        return DATASET_NAMES


def friendly(fn):
    """Decorate a click command body: expected failures (:class:`DatasetError`,
    :class:`FormatError`, :class:`StoreError`, ``OSError``, ``ValueError``, ``RuntimeError``)
    become a one-line ``click.ClickException`` (exit 1); Ctrl-C exits 130 with a note.

    h5py objects freed after a failed write complain through ``sys.unraisablehook``; those
    messages are silenced while the command runs.
    """
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


def show_warnings(msgs, limit=5):
    """Print the first ``limit`` warnings to stderr, then how many more there were."""
    for m in msgs[:limit]:
        click.echo(f"warning: {m}", err=True)
    if len(msgs) > limit:
        click.echo(f"warning: ... and {len(msgs) - limit} more", err=True)


def first_existing(p: Path) -> Path:
    """``p`` or its nearest existing parent (``p`` itself when none exists)."""
    for q in (p, *p.parents):
        if q.exists():
            return q
    return p


def folder_path(ctx, param, value):
    """click callback: a folder option must not be (or lie under) a file."""
    if value is not None:
        p = Path(value)
        q = first_existing(p)
        if q.exists() and not q.is_dir():
            raise click.BadParameter(f"{q} is a file, not a folder"
                                     + ("" if q == p else f" (the path is {p})"))
    return value


def file_path(ctx, param, value):
    """click callback: an output file's folder must not be (or lie under) a file."""
    if value is not None:
        p = Path(value)
        q = first_existing(p.parent)
        if q.exists() and not q.is_dir():
            raise click.BadParameter(f"{q} is a file, not a folder (the path is {p})")
    return value
