"""What the ``evframes`` commands share: where a dataset root is looked for, and how a warm-up
is reported. Error handling, path checks (``_friendly``, ``_folder_path``, ...) and the dataset
choices (``DatasetChoice``: the registry's names) come from :mod:`evframes._click`, shared with
``python -m evframes.train``."""
from __future__ import annotations

from pathlib import Path

import click


def _root(dataset, root):
    """``--root`` as a Path, else the dataset's default root (``./data/DATASET``)."""
    from ..raw import default_root
    return Path(root) if root else default_root(dataset)


def _pick_root(dataset, root):
    """The dataset root a command works on: ``--root``, else ``--dataset``'s default root,
    else the only extracted dataset under ``./data`` (a usage error when none or several)."""
    from ..store.layout import find_extracted_roots
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


def _echo_warm_up(w) -> float:
    """Print a warm-up's compile time on its own line when kernels were compiled (a first run,
    or a new Numba cache) rather than loaded from the cache; returns its seconds."""
    if w.compiled:
        click.echo(f"compile {w.seconds:.1f} s: Numba kernels compiled on this first run "
                   f"(cached for later runs; not counted in the rates below)")
    return w.seconds
