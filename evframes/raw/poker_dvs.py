"""POKER-DVS as Tonic has it (Serrano-Gotarredona and Linares-Barranco 2015): the pips of
four card suits, 35 x 35 pixels, a train and a test split.

Raw layout under ``root`` (facts from Tonic 1.7's ``POKERDVS``; SpikingJelly has no
POKER-DVS): ``pips_train.tar.gz`` and ``pips_test.tar.gz`` (read in place, streamed), or the
folders ``pips_train/`` and ``pips_test/`` they extract to, holding
``<folder>/<name>.npy`` where the last two letters of ``<folder>`` name the class. Tonic's
``save_to/POKERDVS/`` is such a root. Tonic 1.7 no longer downloads them: it copies them from its
own source tree (``tonic/datasets/pips_*.tar.gz`` in its repository; not in its wheel);
older Tonic releases downloaded them from :data:`RESOURCES` (URL, md5).

Each ``.npy`` is one sample: an ``[N, 4]`` numeric array of columns ``t, x, y, p`` (Tonic's
``ordering`` ``txyp``; t in microseconds), converted to integers as Tonic converts them (a cast:
floats truncate toward zero). Events off 35 x 35 or with ``p`` not 0/1 are dropped with a
warning.

Classes (:data:`CLASSES`): ``cl`` (clubs), ``he`` (hearts), ``di`` (diamonds), ``sp``
(spades): labels 0..3 in that order (Tonic's ``int_classes``). Samples are stored by label,
then file name as a string (Tonic sorts the files of a folder but lists the folders in the
file system's order). Tonic's completeness check asks for at least 20 ``.npy`` per split (the
release is described as 48 train / 20 test samples, not checked here). Metadata: ``source``
(``<folder>/<name>.npy``).
"""
from __future__ import annotations

import io
import tarfile
import zlib
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..errors import DatasetError
from ..events import Events, make_events
from . import roots
from .base import Job, JobResult, RawDataset, chunked, drop_off_sensor, pack_samples
from .tarstream import iter_tar, open_gzip

SENSOR_SIZE = (35, 35)  # (W, H) pixels
CLASSES = ["cl", "he", "di", "sp"]
SPLIT_ITEMS = {"train": "pips_train", "test": "pips_test"}
CHUNK = 64
_BASE = "https://www.neuromorphic-vision.com/public/downloads/"
#: the files ``(name, url, md5)`` (Tonic's md5 sums; the URL is older Tonic releases')
RESOURCES = (("pips_train.tar.gz", _BASE + "pips_train.tar.gz",
              "412bcfb96826e4fcb290558e8c150aae"),
             ("pips_test.tar.gz", _BASE + "pips_test.tar.gz",
              "eef2bf7d0d3defae89a6fa98b07c17af"))


def npy_events(data, where: str, warnings: List[str]) -> Events:
    """Events of one POKER-DVS ``.npy`` (bytes or a path): ``[N, 4]`` columns t, x, y, p."""
    try:
        a = np.load(io.BytesIO(data) if isinstance(data, bytes) else data, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DatasetError(f"{where}: not a readable .npy array ({e})") from None
    if not isinstance(a, np.ndarray) or a.ndim != 2 or a.shape[1] != 4 \
            or a.dtype.kind not in "biuf":
        raise DatasetError(f"{where}: expected a numeric [N, 4] array (t, x, y, p), found "
                           f"{getattr(a, 'dtype', type(a).__name__)} "
                           f"{list(getattr(a, 'shape', []))}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise DatasetError(f"{where}: holds NaN or infinite values")
    cols = [a[:, i].astype(np.int64) for i in range(4)]
    ev = drop_off_sensor(Events(t=cols[0], x=cols[1], y=cols[2], p=cols[3]), SENSOR_SIZE,
                         where, warnings)
    return make_events(ev["t"], ev["x"], ev["y"], ev["p"])


def _label(folder: str, where: str) -> int:
    code = folder[-2:]
    if code not in CLASSES:
        raise DatasetError(f"{where}: folder {folder!r} does not end with a class code "
                           f"({', '.join(CLASSES)})")
    return CLASSES.index(code)


def decode_npy_items(job_name: str, items: List[Tuple[str, object, str, int]]) -> JobResult:
    """One job: ``items`` of ``(where, bytes or path, source, label)``."""
    samples, warnings = [], []
    for where, data, source, label in items:
        ev = npy_events(data, where, warnings)
        if len(ev) == 0:
            warnings.append(f"{where}: sample holds no events; kept as an empty sample")
        samples.append((ev, label, {"source": source}))
    return pack_samples(job_name, samples, warnings)


class POKERDVSRaw(RawDataset):
    """POKER-DVS under ``root``: per split the folder ``pips_<split>/``, else its ``.tar.gz``."""

    name = "pokerdvs"
    sensor_size = SENSOR_SIZE
    meta_columns = {"source": str}
    resources = RESOURCES
    parallel_decode = False  # tiny: a pool would cost more than decoding

    def __init__(self, root):
        super().__init__(root)
        self._sources: Dict[str, Tuple[Path, bool]] = {}
        missing = []
        for split, item in SPLIT_ITEMS.items():
            found = roots.find_item(self.root, self.name, item, f"{item}.tar.gz")
            if found is None:
                missing.append(f"{item}.tar.gz")
            else:
                self._sources[split] = (found.path, found.is_archive)
        if missing:
            what = "POKER-DVS not found" if len(missing) == 2 else f"{missing[0]} missing"
            raise self.missing(f"{what} (looked for "
                               f"{roots.describe(self.name, 'pips_<split>', 'pips_<split>.tar.gz')}"
                               f"; Tonic 1.7 ships them in its source tree, "
                               f"tonic/datasets/pips_*.tar.gz)", missing)
        self._placements: Dict[str, Tuple[str, int]] = {}

    @property
    def classes(self) -> List[str]:
        return list(CLASSES)

    def source_files(self) -> List[Path]:
        out = []
        for src, is_archive in self._sources.values():
            out.extend([src] if is_archive else sorted(p for p in src.rglob("*") if p.is_file()))
        return out

    def items(self, split: str) -> List[Tuple[str, object, str, int]]:
        """``(where, bytes or path, source, label)`` of a split, in store order."""
        src, is_archive = self._sources[split]
        out = []
        if is_archive:
            try:
                stream = open_gzip(src)
            except (tarfile.TarError, OSError, RuntimeError, ValueError) as e:
                raise DatasetError(f"{src}: not a readable tar.gz archive ({e})") from None
            with stream:
                try:
                    for member, data in iter_tar(stream, lambda m: m.endswith(".npy")):
                        if data is None:
                            continue
                        parts = member.split("/")
                        where = f"{src}:{member}"
                        if len(parts) < 2:
                            raise DatasetError(f"{where}: expected <class folder>/<name>.npy")
                        out.append((where, data, "/".join(parts[-2:]), _label(parts[-2], where)))
                except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
                    raise DatasetError(f"{src}: archive is truncated or corrupt ({e})") from None
        else:
            for p in src.rglob("*.npy"):
                rel = p.relative_to(src).parts
                if len(rel) != 2:
                    raise DatasetError(f"{p}: expected <class folder>/<name>.npy below {src}")
                out.append((str(p), p, "/".join(rel), _label(rel[0], str(p))))
        if not out:
            raise DatasetError(f"{src}: no <class folder>/<name>.npy samples found")
        out.sort(key=lambda e: (e[3], e[2].split("/")[-1], e[2]))
        return out

    def jobs(self) -> Iterator[Job]:
        for split in self.splits:
            for k, chunk in enumerate(chunked(self.items(split), CHUNK)):
                name = f"{split}:{k}"
                self._placements[name] = (split, k)
                yield Job(name, decode_npy_items, (name, list(chunk)))

    def placement(self, job_name: str) -> Optional[Tuple[str, int]]:
        return self._placements.get(job_name)


__all__ = ["POKERDVSRaw", "CLASSES", "SENSOR_SIZE", "RESOURCES", "npy_events"]
