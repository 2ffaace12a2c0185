"""What a dataset root holds: the listing behind ``evframes info``.

:func:`dataset_roots` finds dataset roots (a root, or a folder of roots);
:func:`describe_root` reads each store's manifest and labels and yields one
:class:`StoreSummary` per store, whose :meth:`StoreSummary.lines` are what ``info`` prints.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional

import h5py
import numpy as np

from ..errors import StoreError
from . import layout
from .layout import events_store_path, store_paths
from .manifest import read_manifest


def dataset_roots(base=None) -> List[Path]:
    """``base`` itself when it is a dataset root (holds ``events/``), else the dataset roots
    directly in it, sorted; ``[]`` when there are none.

    Parameters
    ----------
    base : path, optional
        A dataset root or a folder of roots [default: ``./data``].
    """
    return layout.dataset_roots(Path(base) if base else Path("data"))


@dataclass
class StoreSummary:
    """One store of a dataset root, as ``evframes info`` lists it.

    ``error`` is set (and ``manifest`` is None) when the file is not an evframes store.
    """

    path: Path
    rel: Path
    manifest: Optional[dict] = None
    error: Optional[str] = None
    counts: list = field(default_factory=list)  # samples per class (events and frames stores)
    size_bytes: int = 0

    def lines(self) -> List[str]:
        """The lines ``evframes info`` prints for this store."""
        if self.manifest is None:
            return [f"  {self.rel}: not an evframes store ({self.error})"]
        man = self.manifest
        classes = man.get("classes") or []
        kind = man.get("kind")
        extra = (f"{man.get('n_events', 0):,} events" if kind == "events" else
                 f"{man.get('n_frames', 0):,} frames, T="
                 f"{man.get('fixed_T') or 'variable'}, {man['sensor_size'][0]}x"
                 f"{man['sensor_size'][1]}")
        setting = man.get("setting") or {}
        if kind == "frames":
            rep = setting.get("representation", "count")
            params = setting.get("repr_params") or {}
            extra += ", " + rep + "".join(f" {k}={v}" for k, v in params.items())
        out = [f"  {str(self.rel):48s} {kind:6s} {man.get('n_samples', 0):6d} "
               f"samples, {extra}, {self.size_bytes / 1e6:.1f} MB"]
        if len(classes) and kind == "events":
            out.append("      per class: " + ", ".join(
                f"{c} {int(n)}" for c, n in zip(classes, self.counts)))
        return out


def describe_store(path, root) -> StoreSummary:
    """Manifest, samples per class and size of the store ``path`` (inside dataset ``root``)."""
    path = Path(path)
    rel = path.relative_to(root)
    try:
        man = read_manifest(path)
    except StoreError as e:
        return StoreSummary(path, rel, error=str(e))
    with h5py.File(path, "r") as f:
        labels = f["labels"][...]
    classes = man.get("classes") or []
    counts = np.bincount(labels, minlength=len(classes)) if labels.size else []
    return StoreSummary(path, rel, man, counts=counts, size_bytes=path.stat().st_size)


def describe_root(root) -> Iterator[StoreSummary]:
    """One :class:`StoreSummary` per store of the dataset ``root`` (events and frames, sorted
    by path), read as the iteration reaches it."""
    root = Path(root)
    for path in store_paths(root):
        yield describe_store(path, root)


def dataset_of(root) -> str:
    """The registry name of the dataset extracted under ``root`` (from its train events
    store's manifest); :class:`StoreError` when nothing is extracted there."""
    p = events_store_path(root, "train")
    if not p.exists():
        raise StoreError(f"{p}: no events store; run `evframes extract --root {root}` first")
    return read_manifest(p)["dataset"]
