"""N-MNIST (Orchard et al. 2015): raw layout, classes and split.

Raw layout under ``root`` (archives are read in place, members straight from the zip)::

    root/Train.zip, root/Test.zip    containing Train/<digit>/<id>.bin, Test/<digit>/<id>.bin
    root/Train/, root/Test/          or the extracted folders

or SpikingJelly's ``root/download/Train.zip`` / ``root/extract/Train/`` (and ``Test``; see
:mod:`evframes.raw.roots`). The official files: :data:`RESOURCES` (SpikingJelly's
``resource_url_md5()``; a web page, nothing downloads them).

Each ``.bin`` is one sample in the ATIS 40-bit format (34 x 34 pixels, microseconds); its label
is the digit folder (0..9). Samples are stored in digit order, then by file name in natural
order (``2.bin`` before ``10.bin``). Metadata: ``source`` (path inside the archive or folder).
The real dataset has 60000 train and 10000 test samples. A file cut inside a record (length
not a multiple of 5) fails the extraction, or with ``on_truncated="keep"`` keeps its complete
records (and is dropped if none remain): see :mod:`evframes.raw.truncation`. A file the
ATIS reader finds implausible (another format, time going backwards) fails it in any case.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from ..errors import DatasetError
from . import roots
from .base import Job, RawDataset, chunked, decode_members, list_members, natural_key

SENSOR_SIZE = (34, 34)
CLASSES = [str(d) for d in range(10)]
SPLIT_DIRS = {"train": "Train", "test": "Test"}
CHUNK = 2000  # files per job
_PAGE = "https://www.garrickorchard.com/datasets/n-mnist"
#: the official files ``(name, url, md5)`` (facts from SpikingJelly's ``resource_url_md5()``)
RESOURCES = (("Train.zip", _PAGE, "20959b8e626244a1b502305a9e6e2031"),
             ("Test.zip", _PAGE, "69ca8762b2fe404d9b9bad1103e97832"))


class FolderSplitRaw(RawDataset):
    """Shared logic for datasets laid out as ``<Split>/<class>/<file>`` in zips or folders."""

    split_dirs: Dict[str, str] = SPLIT_DIRS
    file_suffixes: Tuple[str, ...] = (".bin",)
    file_format: str = "atis"

    def __init__(self, root):
        super().__init__(root)
        self._sources: Dict[str, Tuple[Path, bool]] = {}
        for split, d in self.split_dirs.items():
            found = roots.find_item(self.root, self.name, d, f"{d}.zip")
            if found is None:
                raise self.missing(f"no {split} split of {self.name} found (looked for "
                                   f"{roots.describe(self.name, d, f'{d}.zip')})", [f"{d}.zip"])
            self._sources[split] = (found.path, found.is_archive)
        self._placements: Dict[str, Tuple[str, int]] = {}

    @property
    def classes(self) -> List[str]:
        return list(CLASSES)

    def source_files(self) -> List[Path]:
        out = []
        for src, is_zip in self._sources.values():
            out.extend([src] if is_zip else [p for p in src.rglob("*") if p.is_file()])
        return out

    def _list(self, split: str) -> List[Tuple[str, int]]:
        src, is_zip = self._sources[split]
        top = self.split_dirs[split]
        entries = []
        names = list_members(src, is_zip)
        for n in names:
            if not n.lower().endswith(self.file_suffixes):
                continue
            parts = n.split("/")
            if is_zip and parts[0] == top:
                parts = parts[1:]
            if len(parts) != 2 or parts[0] not in self.classes:
                raise DatasetError(f"{src}: unexpected member {n!r} (expected "
                                   f"{top}/<class>/<file>{self.file_suffixes[0]})")
            entries.append((n, self.classes.index(parts[0])))
        if not entries:
            raise DatasetError(f"{src}: no {'/'.join(self.file_suffixes)} recordings found")
        entries.sort(key=lambda e: (e[1], natural_key(e[0])))
        return entries

    def jobs(self) -> Iterator[Job]:
        for split in self.splits:
            src, is_zip = self._sources[split]
            entries = self._list(split)
            for k, chunk in enumerate(chunked(entries, CHUNK)):
                name = f"{split}:{k}"
                self._placements[name] = (split, k)
                yield Job(name, decode_members,
                          (str(src), [e[0] for e in chunk], [e[1] for e in chunk], is_zip,
                           self.file_format, self.sensor_size, name))

    def placement(self, job_name: str) -> Optional[Tuple[str, int]]:
        return self._placements.get(job_name)


class NMNISTRaw(FolderSplitRaw):
    name = "nmnist"
    sensor_size = SENSOR_SIZE
    resources = RESOURCES
    meta_columns = {"source": str}
