"""CIFAR10-DVS (Li et al. 2017), original release: AEDAT 2.0 recordings from a DVS128.

Raw layout under ``root``: ten class archives ``airplane.zip`` ... ``truck.zip`` (1000
``.aedat`` recordings each, at any depth inside the zip), or extracted class folders
``airplane/`` ... ``truck/``, or SpikingJelly's ``download/airplane.zip`` ... /
``extract/airplane/`` ... (see :mod:`evframes.raw.roots`). Label = index of the class in
:data:`CLASSES`. The official files: :data:`RESOURCES` (figshare; SpikingJelly downloads them,
evframes never does and says where to get them).

Split: the dataset has no official split. evframes takes, per class, the first
``round(train_ratio * n)`` recordings by natural file-name order (``..._2.aedat`` before
``..._10.aedat``) for train and the rest for test: 900 / 100 per class by default, deterministic.

Orientation: the files hold raw DVS128 addresses. ``orientation="spikingjelly"`` (default) gives
the same coordinates as SpikingJelly's CIFAR10-DVS loader so frames look upright and users who
switch see identical samples: ``x' = 127 - y``, ``y' = 127 - x``, ``p' = 1 - p`` (a transpose
plus a flip of both axes, and the polarity inverted, as SpikingJelly does; jAER's DVS128
convention treats the raw address bit p = 0 as ON). ``orientation="raw"`` keeps the decoded
address fields unchanged.

A recording cut inside a record (data not a multiple of 8 bytes) fails the extraction, or with
``on_truncated="keep"`` keeps its complete records (dropped if none remain): see
:mod:`evframes.raw.truncation`.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from ..errors import DatasetError
from ..events import Events, make_events
from . import roots
from .base import Job, RawDataset, chunked, decode_members, list_members, natural_key

SENSOR_SIZE = (128, 128)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]
ORIENTATIONS = ("spikingjelly", "raw")
CHUNK = 100
_FIGSHARE = "https://ndownloader.figshare.com/files/"
#: the official files ``(name, url, md5)`` (facts from SpikingJelly's ``resource_url_md5()``)
RESOURCES = tuple((f"{c}.zip", _FIGSHARE + n, m) for c, n, m in (
    ("airplane", "7712788", "0afd5c4bf9ae06af762a77b180354fdd"),
    ("automobile", "7712791", "8438dfeba3bc970c94962d995b1b9bdd"),
    ("bird", "7712794", "a9c207c91c55b9dc2002dc21c684d785"),
    ("cat", "7712812", "52c63c677c2b15fa5146a8daf4d56687"),
    ("deer", "7712815", "b6bf21f6c04d21ba4e23fc3e36c8a4a3"),
    ("dog", "7712818", "f379ebdf6703d16e0a690782e62639c3"),
    ("frog", "7712842", "cad6ed91214b1c7388a5f6ee56d08803"),
    ("horse", "7712851", "e7cbbf77bec584ffbf913f00e682782a"),
    ("ship", "7712836", "41c7bd7d6b251be82557c6cce9a7d5c9"),
    ("truck", "7712839", "89f3922fd147d9aeff89e76a2b0b70a7"),
))


def orient_events(ev: Events, orientation: str = "spikingjelly", size: int = 128) -> Events:
    """Apply the CIFAR10-DVS orientation convention (see module docstring) to raw events."""
    if orientation == "raw":
        return ev
    if orientation != "spikingjelly":
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    return make_events(ev["t"], (size - 1) - ev["y"], (size - 1) - ev["x"], 1 - ev["p"])


class CIFAR10DVSRaw(RawDataset):
    name = "cifar10dvs"
    sensor_size = SENSOR_SIZE
    meta_columns = {"source": str}
    resources = RESOURCES
    resources_downloadable = True

    def __init__(self, root, train_ratio: float = 0.9, orientation: str = "spikingjelly"):
        super().__init__(root)
        if not 0.0 < train_ratio < 1.0:
            raise ValueError(f"train_ratio must be in (0, 1), got {train_ratio}")
        if orientation not in ORIENTATIONS:
            raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
        self.train_ratio = float(train_ratio)
        self.orientation = orientation
        self._sources: Dict[str, Tuple[Path, bool]] = {}
        missing = []
        for c in CLASSES:
            found = roots.find_item(self.root, self.name, c, f"{c}.zip")
            if found is None:
                missing.append(c)
            else:
                self._sources[c] = (found.path, found.is_archive)
        if missing:
            names = [m + ".zip" for m in missing]
            what = ("no class archives" if len(missing) == len(CLASSES) else
                    f"class archive(s) missing: {', '.join(names)}")
            raise self.missing(f"{what} (looked for "
                               f"{roots.describe(self.name, '<class>', '<class>.zip')})", names)
        self._placements: Dict[str, Tuple[str, int]] = {}

    @property
    def classes(self) -> List[str]:
        return list(CLASSES)

    def options(self):
        return {"train_ratio": self.train_ratio, "orientation": self.orientation}

    def source_files(self) -> List[Path]:
        out = []
        for src, is_zip in self._sources.values():
            out.extend([src] if is_zip else [p for p in src.rglob("*") if p.is_file()])
        return out

    def _list(self, cls: str) -> List[str]:
        src, is_zip = self._sources[cls]
        names = list_members(src, is_zip)
        names = sorted((n for n in names if n.lower().endswith(".aedat")), key=natural_key)
        if not names:
            raise DatasetError(f"{src}: no .aedat recordings found")
        return names

    def split_lists(self) -> Dict[str, Dict[str, List[str]]]:
        """``{split: {class: [recording names]}}`` of the deterministic split."""
        out = {"train": {}, "test": {}}
        for c in CLASSES:
            names = self._list(c)
            k = int(round(self.train_ratio * len(names)))
            k = min(max(k, 1), len(names) - 1) if len(names) > 1 else len(names)
            out["train"][c], out["test"][c] = names[:k], names[k:]
        return out

    def jobs(self) -> Iterator[Job]:
        lists = self.split_lists()
        for split in self.splits:
            k = 0
            for ci, c in enumerate(CLASSES):
                src, is_zip = self._sources[c]
                for chunk in chunked(lists[split][c], CHUNK):
                    name = f"{split}:{k}"
                    self._placements[name] = (split, k)
                    k += 1
                    yield Job(name, decode_members,
                              (str(src), list(chunk), [ci] * len(chunk), is_zip, "aedat2",
                               SENSOR_SIZE, name,
                               functools.partial(orient_events, orientation=self.orientation)))

    def placement(self, job_name: str) -> Optional[Tuple[str, int]]:
        return self._placements.get(job_name)
