"""DVS-Lip (Tan et al. 2022): 100 spoken words, lip region events (128 x 128 pixels).

Raw layout under ``root`` (facts from SpikingJelly's ``DVSLip`` and Tonic's ``DVSLip``, Tonic
1.7): the download ``DVS-Lip.zip`` (md5 ``2dcb959255122d4cdeb6094ca282494b``, Google Drive:
neither peer downloads it) holds ``DVS-Lip/train/<word>/<n>.npy`` and
``DVS-Lip/test/<word>/<n>.npy``, one sample per file. evframes reads ``DVS-Lip.zip`` in place
or the extracted ``DVS-Lip/`` folder: ``root/DVS-Lip.zip`` / ``root/DVS-Lip/``, SpikingJelly's
``root/download/DVS-Lip.zip`` / ``root/extract/DVS-Lip/`` (its ``events_np/`` holds symbolic
links to the same files), Tonic's ``save_to/DVSLip/DVS-Lip.zip`` / ``save_to/DVSLip/DVS-Lip/``.

Each ``.npy`` is a structured array with fields ``t`` (int32, microseconds), ``x``, ``y``
(int8, pixels), ``p`` (int8, 0 / 1) (SpikingJelly's note on the files); both peers use the
fields as stored (SpikingJelly loads the array, Tonic copies it into its dtype ``x, y`` int16,
``p`` bool, ``t`` int64). evframes reads any structured array with integer fields ``t``,
``x``, ``y``, ``p``: values as stored (``t`` int64 microseconds), events off 128 x 128 or with a
polarity other than 0 / 1 dropped with a warning, a file whose time decreases sorted with a
warning. Another file (not a structured ``.npy``, a missing field, a float field) raises a
:class:`~evframes.FormatError` naming the member.

Classes (:data:`CLASSES`, 100 words, ``accused`` ... ``young``): label = position of the word
in the sorted list, which is both Tonic's ``classes.index(word)`` and SpikingJelly's label
(its ``DatasetFolder`` sorts the word folders the same way; it numbers the folders present, so
with words missing its labels shift, evframes' stay). A word folder of another name fails the
extraction naming it. Split: the official one, 14896 train and 4975 test samples
(19871 in all, as published; the peers state no counts, Tonic checks that at least 100 ``.npy``
files exist). Samples are stored by word, then file name sorted as a string (SpikingJelly's
order; Tonic's is the file system's). Metadata: ``source`` (``<split>/<word>/<file>.npy``).
"""
from __future__ import annotations

import ast
import functools
import io
import re
import zipfile
from functools import partial
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..errors import DatasetError, FormatError
from . import roots
from .base import (
    Job,
    JobResult,
    RawDataset,
    chunked,
    fields_to_events,
    fields_to_events_many,
    pack_events,
)
from .zip_members import ZipMembers, read_ahead, zip_directory

SENSOR_SIZE = (128, 128)  # (W, H) pixels
CLASSES = sorted((
    "accused action allow allowed america american another around attacks banks become being "
    "benefit benefits between billion called capital challenge change chief couple court death "
    "described difference different during economic education election england evening "
    "everything exactly general germany giving ground happen happened having heavy house "
    "hundreds immigration judge labour leaders legal little london majority meeting military "
    "million minutes missing needs number numbers paying perhaps point potential press price "
    "question really right russia russian saying security several should significant spend "
    "spent started still support syria syrian taken taking terms these thing think times "
    "tomorrow under warning water welcome words worst years young").split())
TOP = "DVS-Lip"
ZIP = "DVS-Lip.zip"
FIELDS = ("t", "x", "y", "p")
CHUNK = 1000  # files per job
_PAGE = "https://sites.google.com/view/event-based-lipreading"
#: the official download ``(name, url, md5)`` (SpikingJelly's ``resource_url_md5()``)
RESOURCES = ((ZIP, _PAGE, "2dcb959255122d4cdeb6094ca282494b"),)
#: Tonic's download link of the same file
TONIC_URL = "https://drive.google.com/file/d/1dBEgtmctTTWJlWnuWxFtk8gfOdVVpkQ0/view"


_SHAPE = re.compile(rb"'shape':\s*\((\d+),?\)")
_DESCR = re.compile(rb"'descr':\s*(\[.*?\]|'[^']*')\s*,")


@functools.lru_cache(maxsize=64)
def _dtype(descr: bytes) -> np.dtype:
    return np.lib.format.descr_to_dtype(ast.literal_eval(descr.decode("latin-1")))


def npy_array(data: bytes) -> np.ndarray:
    """The array of an ``.npy`` file held in memory: a 1-D C-order array of a plain dtype is a
    view of ``data`` after a header parsed here (``np.load`` parses each header with Python's
    compiler: most of the time of a small file); anything else goes through ``np.load``
    (pickles refused)."""
    if data[:6] == b"\x93NUMPY" and len(data) >= 12 and data[6] in (1, 2, 3):
        start = 10 if data[6] == 1 else 12
        size = int.from_bytes(data[8:start], "little")
        head = data[start:start + size]
        shape, descr = _SHAPE.search(head), _DESCR.search(head)
        if shape and descr and b"'fortran_order': False" in head:
            try:
                dt = _dtype(descr.group(1))
            except (ValueError, SyntaxError, TypeError):
                dt = None
            n = int(shape.group(1))
            if dt is not None and not dt.hasobject and len(data) - start - size == n * dt.itemsize:
                return np.frombuffer(data, dt, count=n, offset=start + size)
    return np.load(io.BytesIO(data), allow_pickle=False)


def npy_fields(data, at: str) -> np.ndarray:
    """The 1-D structured array of one DVS-Lip ``.npy`` held in memory (bytes) or at a path,
    its fields ``t``, ``x``, ``y``, ``p`` checked to be integers (module docstring)."""
    try:
        a = npy_array(data if isinstance(data, bytes) else Path(data).read_bytes())
    except (ValueError, OSError, EOFError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise FormatError(at, None, f"not a readable .npy array ({why})") from None
    names = a.dtype.names or ()
    missing = [k for k in FIELDS if k not in names]
    if missing:
        raise FormatError(at, None, f"expected a structured array with fields t, x, y, p, "
                                    f"found {a.dtype} (no {', '.join(missing)})")
    bad = [k for k in FIELDS if a.dtype[k].kind not in "biu"]
    if bad:
        raise FormatError(at, None, f"field(s) {', '.join(bad)} not integer "
                                    f"({', '.join(str(a.dtype[k]) for k in bad)})")
    return a.reshape(-1)


def npy_events(data, at: str, warnings: List[str]):
    """Events of one DVS-Lip ``.npy`` held in memory (bytes) or at a path (module
    docstring)."""
    a = npy_fields(data, at)
    return fields_to_events(a["t"], a["x"], a["y"], a["p"], SENSOR_SIZE, at, warnings)


def npy_events_many(arrays: List[np.ndarray], wheres: List[str]):
    """``(events, offsets, notes)`` of many checked arrays (:func:`npy_fields`) of one dtype,
    converted in one pass (:func:`~evframes.raw.base.fields_to_events_many`)."""
    if len(arrays) == 1:
        a = arrays[0]
    else:  # as bytes: NumPy concatenates a structured dtype field by field, 10x slower
        a = np.concatenate([np.ascontiguousarray(x).view(np.uint8) for x in arrays]
                           ).view(arrays[0].dtype)
    offsets = np.zeros(len(arrays) + 1, np.int64)
    np.cumsum([x.shape[0] for x in arrays], out=offsets[1:])
    return fields_to_events_many(a["t"], a["x"], a["y"], a["p"], offsets, SENSOR_SIZE, wheres)


READ_AHEAD = 8  # batches being read ahead of the one handed over
BATCH = 16  # members per pool task


def _source_of(name: str) -> str:
    """The ``source`` metadata of a member: its last three path parts (``<split>/<word>/
    <file>.npy``), as ``PurePosixPath(name).parts[-3:]`` gives them."""
    parts = [s for s in name.split("/") if s not in ("", ".")]
    if name.startswith("/") and len(parts) < 3:
        parts.insert(0, "/")
    return "/".join(parts[-3:])


def _decode_batch(read, source: str, is_zip: bool, names: List[str], labels: List[int]):
    """``(events, lengths, labels, metas, warnings)`` of the members ``names``, read
    (``read(name)``: its bytes; None: a file below the folder ``source``), checked, and
    converted one run of equal dtypes at a time."""
    arrays, wheres = [], []
    for name in names:
        at = f"{source}:{name}" if is_zip else str(Path(source) / name)
        arrays.append(npy_fields(read(name) if read is not None else at, at))
        wheres.append(at)
    parts, lens, warnings = [], [], []
    i = 0
    while i < len(arrays):
        j = i + 1
        while j < len(arrays) and arrays[j].dtype == arrays[i].dtype:
            j += 1
        ev, off, notes = npy_events_many(arrays[i:j], wheres[i:j])
        parts.append(ev)
        for s in range(j - i):
            warnings.extend(notes.get(s, ()))
            lens.append(int(off[s + 1] - off[s]))
            if lens[-1] == 0:
                warnings.append(f"{wheres[i + s]}: sample holds no events; kept as an empty "
                                f"sample")
        i = j
    metas = [{"source": _source_of(n)} for n in names]
    return parts, lens, list(labels), metas, warnings


def decode_npy_members(source: str, is_zip: bool, names: List[str], labels: List[int],
                       job_name: str) -> JobResult:
    """One job: the ``.npy`` members ``names`` of the zip or folder ``source``. Zip members
    are read with :class:`~evframes.raw.zip_members.ZipMembers` (one ``pread`` and one
    inflate each) and decoded on a thread pool, :data:`BATCH` members per task and
    :data:`READ_AHEAD` tasks ahead of the one handed over (the inflate and the conversion
    release the GIL: most of the work runs on every core; one task per member cost more in
    the pool's own overhead than the inflate). Samples, warnings and a failing member's
    error come in the members' order."""
    batches = []
    zm = ahead = None
    try:
        if is_zip:
            zm = ZipMembers(path=source)
            tasks = ((k, [partial(_decode_batch, zm.read, source, True, names[k:k + BATCH],
                                  labels[k:k + BATCH])])
                     for k in range(0, len(names), BATCH))
            ahead = read_ahead(tasks, READ_AHEAD)
            batches = [got for _, (got,) in ahead]
        else:
            batches = [_decode_batch(None, source, False, names, labels)]
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
        raise DatasetError(f"{source}: cannot read archive member ({e})") from None
    finally:
        if ahead is not None:
            ahead.close()  # the pool's reads end before the archive closes
        if zm is not None:
            zm.close()
    parts, lens, labels, metas, warned = ([v for b in batches for v in b[i]] for i in range(5))
    return pack_events(job_name, parts, lens, labels, metas, warned)


class DVSLipRaw(RawDataset):
    """DVS-Lip in ``DVS-Lip.zip`` or ``DVS-Lip/`` under ``root`` (see the module docstring)."""

    name = "dvslip"
    sensor_size = SENSOR_SIZE
    meta_columns = {"source": str}
    resources = RESOURCES

    def __init__(self, root):
        super().__init__(root)
        found = roots.find_item(self.root, self.name, TOP, ZIP,
                                complete=lambda p: any((p / s).is_dir() for s in self.splits))
        if found is None:
            raise self.missing(f"DVS-Lip not found (looked for "
                               f"{roots.describe(self.name, TOP, ZIP)})", [ZIP])
        self._source, self._is_zip = found.path, found.is_archive
        self._placements: Dict[str, Tuple[str, int]] = {}
        self._lists: Optional[Dict[str, List[Tuple[str, int]]]] = None

    @property
    def classes(self) -> List[str]:
        return list(CLASSES)

    def source_files(self) -> List[Path]:
        if self._is_zip:
            return [self._source]
        return sorted(p for p in self._source.rglob("*") if p.is_file())

    def split_lists(self) -> Dict[str, List[Tuple[str, int]]]:
        """``{split: [(member, label), ...]}`` in the stored order."""
        if self._lists is not None:
            return self._lists
        if self._is_zip:
            try:
                names = [n for n, i in zip_directory(self._source).items()
                         if not i.is_dir()]
            except (zipfile.BadZipFile, OSError) as e:
                raise DatasetError(f"{self._source}: not a readable zip archive ({e})") from None
        else:
            names = [str(p.relative_to(self._source)).replace("\\", "/")
                     for p in self._source.rglob("*.npy") if p.is_file()]
        out: Dict[str, List[Tuple[str, int]]] = {s: [] for s in self.splits}
        known = {c: i for i, c in enumerate(CLASSES)}
        for n in names:
            if not n.lower().endswith(".npy"):
                continue
            parts = n.split("/")
            if self._is_zip and parts[0] == TOP:
                parts = parts[1:]
            at = f"{self._source}:{n}" if self._is_zip else str(self._source / n)
            if len(parts) != 3 or parts[0] not in out:
                raise DatasetError(f"{at}: unexpected member (expected "
                                   f"{TOP}/<train|test>/<word>/<file>.npy)")
            if parts[1] not in known:
                raise DatasetError(f"{at}: word folder {parts[1]!r} is not a DVS-Lip class "
                                   f"(evframes.raw.dvs_lip.CLASSES)")
            out[parts[0]].append((n, known[parts[1]]))
        for split, entries in out.items():
            if not entries:
                raise DatasetError(f"{self._source}: no {split} samples found (expected "
                                   f"{TOP}/{split}/<word>/<file>.npy)")
            entries.sort(key=lambda e: (e[1], e[0].rsplit("/", 1)[-1]))
        self._lists = out
        return out

    def jobs(self) -> Iterator[Job]:
        lists = self.split_lists()
        for split in self.splits:
            for k, chunk in enumerate(chunked(lists[split], CHUNK)):
                name = f"{split}:{k}"
                self._placements[name] = (split, k)
                yield Job(name, decode_npy_members, (str(self._source), self._is_zip,
                                                     [e[0] for e in chunk],
                                                     [e[1] for e in chunk], name))

    def placement(self, job_name: str) -> Optional[Tuple[str, int]]:
        return self._placements.get(job_name)


__all__ = ["DVSLipRaw", "CLASSES", "SENSOR_SIZE", "RESOURCES", "TOP", "ZIP", "TONIC_URL",
           "npy_events", "npy_fields", "npy_events_many", "decode_npy_members"]
