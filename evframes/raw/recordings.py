"""Users' own recordings as a dataset: a folder of event files in any supported format.

Two layouts of the recordings folder ``DIR`` (by default the dataset root itself, so the stores
``DIR/events/*.h5`` and frames folders sit beside the recordings):

* **class folders**: ``DIR/<class>/**/<recording>``, one sample per recording (all its events);
  classes are the folder names in natural order (``a2`` before ``a10``), labels their indices.
* **labels file**: ``DIR/labels.csv`` (used when present) or any file given as ``labels=``,
  header ``file,start_us,end_us,label``, one sample per row: the events of ``file`` (relative to
  ``DIR``, or absolute) with ``start_us <= t < end_us``; an empty ``start_us`` / ``end_us``
  means the recording's first / last event. ``label`` is a class name; classes are the labels
  in natural order. Rows may overlap (an event then belongs to both samples), as in DVS128
  Gesture.

Recordings are recognised by their headers (AEDAT 2.0 / 3.1 / 4.0, Prophesee EVT 2.0 / 2.1 /
3.0 RAW and DAT) or, for header-less ATIS files, the ``.bin`` / ``.bs2`` extension. Inside class
folders, hidden files and files with a suffix of :data:`IGNORED_SUFFIXES` (notes, Metavision's
``.tmp_index`` / ``.bias``) are skipped; any other file must be a recording (else one
:class:`~evframes.FormatError` naming it). Folders ``events/`` and those holding ``train.h5`` /
``test.h5`` (evframes' stores) are not classes.

Sensor size: from the recordings' headers (:func:`evframes.formats.table.header_sensor`); files
of different sizes, or of a format without one (ATIS, DAT without ``% Width``), are refused
unless ``sensor_size=(W, H)`` is given, which then applies to all (events outside it are
dropped with a warning).

Split (deterministic, per class): the class's samples in canonical order (file path in natural
order, then start, end) are permuted by ``numpy.random.default_rng([seed, crc32(class name)])``;
the first ``round(split_ratio * n)`` (at least 1, and at most ``n - 1`` when ``n >= 2``) go to
train, the rest to test. A class's split depends only on its own samples, the seed and the
ratio. Each split's samples are stored in canonical order. Per-sample metadata: ``source``
(path relative to ``DIR``), ``format``, ``start``, ``end`` (the window in us; the recording's
first event and last event + 1 where the row or layout gives none).
"""
from __future__ import annotations

import csv
import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..errors import DatasetError
from .base import (
    Job,
    JobResult,
    RawDataset,
    drop_off_sensor,
    ensure_sorted,
    natural_key,
    pack_samples,
)
from .truncation import other_warnings, truncation

LABELS_FILE = "labels.csv"
LABELS_HEADER = ("file", "start_us", "end_us", "label")
#: suffixes of files skipped inside class folders (not recordings)
IGNORED_SUFFIXES = (".txt", ".md", ".csv", ".json", ".xml", ".yaml", ".yml", ".ini", ".log",
                    ".png", ".jpg", ".jpeg", ".tmp_index", ".bias", ".npy", ".pdf")
#: folders that are evframes' own, never classes
STORE_FOLDER = "events"
STORE_NAMES = ("train.h5", "test.h5")


@dataclass(frozen=True)
class Sample:
    """One labelled window of a recording (``start``/``end`` us, None: the recording's own)."""

    rel: str
    label: int
    start: Optional[int]
    end: Optional[int]
    row: int

    def key(self):
        return (natural_key(self.rel), -1 if self.start is None else self.start,
                -1 if self.end is None else self.end, self.label, self.row)


def _is_store_folder(p: Path) -> bool:
    return p.name == STORE_FOLDER or any((p / n).exists() for n in STORE_NAMES) or any(
        ".h5.tmp-" in q.name for q in p.iterdir())


def _hidden(rel: Path) -> bool:
    return any(part.startswith((".", "_")) for part in rel.parts)


def parse_labels(text: str, where: str, folder: Path) -> List[Tuple[str, Optional[int],
                                                                    Optional[int], str, int]]:
    """Rows ``(file, start, end, label, line)`` of a labels CSV. DatasetError naming ``where``
    and the line: a wrong header, a row without 4 fields, a non-integer time, ``start >= end``,
    an empty label or file, a file that does not exist (relative paths are under ``folder``)."""
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    rows, head = [], None
    for i, fields in enumerate(lines, start=1):
        fields = [f.strip() for f in fields]
        if not any(fields) or fields[0].startswith("#"):
            continue
        if head is None:
            head = tuple(fields)
            if head != LABELS_HEADER:
                raise DatasetError(f"{where}: line {i}: expected the header "
                                   f"{','.join(LABELS_HEADER)!r}, found {','.join(fields)!r}")
            continue
        if len(fields) != 4:
            raise DatasetError(f"{where}: line {i}: expected 4 fields (file,start_us,end_us,"
                               f"label), found {len(fields)}")
        name, s, e, label = fields
        try:
            start = int(s) if s else None
            end = int(e) if e else None
        except ValueError:
            raise DatasetError(f"{where}: line {i}: start_us / end_us must be whole "
                               f"microseconds, found {s!r}, {e!r}") from None
        if start is not None and end is not None and start >= end:
            raise DatasetError(f"{where}: line {i}: start {start} us >= end {end} us")
        if not name or not label:
            raise DatasetError(f"{where}: line {i}: empty file or label")
        path = Path(name) if os.path.isabs(name) else folder / name
        if not path.is_file():
            raise DatasetError(f"{where}: line {i}: recording {name!r} not found "
                               f"(looked for {path})")
        rows.append((name, start, end, label, i))
    if head is None:
        raise DatasetError(f"{where}: labels file is empty (expected the header "
                           f"{','.join(LABELS_HEADER)!r} and one row per sample)")
    if not rows:
        raise DatasetError(f"{where}: labels file has no rows")
    return rows


#: (path, size, mtime_ns, format) -> header_sensor result: a process opens a dataset's
#: recordings' headers once (every staleness check asks for the sensor size)
_SIZE_MEMO: Dict[tuple, tuple] = {}


def _header_sensor(path: Path, fmt: str):
    from ..formats.table import header_sensor
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, fmt)
    if key not in _SIZE_MEMO:
        if len(_SIZE_MEMO) > 100_000:
            _SIZE_MEMO.clear()
        _SIZE_MEMO[key] = header_sensor(path, fmt)
    return _SIZE_MEMO[key]


def _decode_recording(path: str, rel: str, windows, sensor_size, name: str) -> JobResult:
    """Decode one recording once and cut its windows ``[(label, start, end)]`` into samples;
    reader warnings collected, a truncation recorded (not raised)."""
    import warnings as _w

    from ..formats import format_of, read_events
    fmt = format_of(path)
    starts = [s for _, s, _ in windows]
    ends = [e for _, _, e in windows]
    t_start = None if None in starts else min(starts)
    t_end = None if None in ends else max(ends)
    with _w.catch_warnings(record=True) as caught:
        _w.simplefilter("always")
        ev = read_events(path, t_start=t_start, t_end=t_end, on_truncated="warn")
    warnings = other_warnings(caught)
    ev = ensure_sorted(ev, rel, warnings)
    ev = drop_off_sensor(ev, sensor_size, rel, warnings)
    t = ev["t"]
    first = int(t[0]) if len(t) else 0
    last = int(t[-1]) if len(t) else -1
    cut = truncation(caught, rel, [])
    samples, affected = [], []
    for k, (label, s, e) in enumerate(windows):
        i0 = 0 if s is None else int(np.searchsorted(t, s, side="left"))
        i1 = len(t) if e is None else int(np.searchsorted(t, e, side="left"))
        if cut and (e is None or e > last):
            affected.append(k)
        elif i1 <= i0:
            warnings.append(f"{rel}: window {s}..{e} us holds no events; kept as an empty "
                            f"sample")
        samples.append((ev.slice(i0, max(i0, i1)), label,
                        {"source": rel, "format": fmt, "start": first if s is None else s,
                         "end": last + 1 if e is None else e}))
    for entry in cut:
        entry["samples"] = affected
    return pack_samples(name, samples, warnings, cut)


class RecordingsRaw(RawDataset):
    """A folder of the user's recordings (see the module docstring).

    Parameters
    ----------
    root : path
        Dataset root: where the stores go (``root/events/``, frames folders).
    recordings : path, optional
        The recordings folder ``DIR`` [default: ``root``].
    labels : path, optional
        A labels CSV [default: ``DIR/labels.csv`` when present, else the class folders].
    split_ratio : float
        Train fraction per class, in (0, 1).
    seed : int
        Seed of the per-class permutation.
    sensor_size : (W, H), optional
        Pixels for every recording, instead of their headers' (needed for mixed sizes and for
        formats without one).
    """

    name = "recordings"
    meta_columns = {"source": str, "format": str, "start": int, "end": int}

    def __init__(self, root, recordings=None, labels=None, split_ratio: float = 0.8,
                 seed: int = 0, sensor_size=None):
        super().__init__(root)
        if not 0.0 < float(split_ratio) < 1.0:
            raise ValueError(f"split_ratio must be in (0, 1), got {split_ratio}")
        self.split_ratio, self.seed = float(split_ratio), int(seed)
        self.dir = Path(recordings) if recordings is not None else self.root
        if not self.dir.is_dir():
            raise DatasetError(f"{self.dir}: recordings folder does not exist")
        self._size_option = None if sensor_size is None else \
            (int(sensor_size[0]), int(sensor_size[1]))
        if self._size_option is not None and min(self._size_option) < 1:
            raise ValueError(f"sensor_size must be positive, got {sensor_size}")
        auto = self.dir / LABELS_FILE
        self.labels_path = Path(labels) if labels is not None else (auto if auto.is_file()
                                                                    else None)
        self._auto_labels = labels is None or (self.labels_path.resolve() == auto.resolve())
        if self.labels_path is not None:
            self._read_labels()
        else:
            self._read_folders()
        self._sizes: Optional[Tuple[int, int]] = None
        self._placements: Dict[str, Tuple[str, int]] = {}

    # -- layout --------------------------------------------------------------------------------
    def _read_folders(self) -> None:
        folders = sorted((p for p in self.dir.iterdir() if p.is_dir()
                          and not _hidden(Path(p.name)) and not _is_store_folder(p)),
                         key=lambda p: natural_key(p.name))
        if not folders:
            raise self.missing(f"no class folders in {self.dir} and no {LABELS_FILE} (one "
                               f"folder of recordings per class, or a labels file)")
        self._classes = [p.name for p in folders]
        self.files: Dict[str, Path] = {}
        samples = []
        for ci, folder in enumerate(folders):
            found = []
            for p in sorted(folder.rglob("*")):
                rel = p.relative_to(self.dir)
                if not p.is_file() or _hidden(p.relative_to(folder)) or \
                        p.suffix.lower() in IGNORED_SUFFIXES:
                    continue
                found.append(rel.as_posix())
                self.files[rel.as_posix()] = p
            if not found:
                raise DatasetError(f"{folder}: class folder holds no recordings")
            samples += [Sample(r, ci, None, None, 0) for r in found]
        self._finish_samples(samples)

    def _read_labels(self) -> None:
        p = self.labels_path
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DatasetError(f"{p}: labels file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise DatasetError(f"{p}: cannot read the labels file ({e})") from None
        rows = parse_labels(text, str(p), self.dir)
        self._classes = sorted({r[3] for r in rows}, key=natural_key)
        index = {c: i for i, c in enumerate(self._classes)}
        self.files = {}
        samples = []
        for name, s, e, label, line in rows:
            path = Path(name) if os.path.isabs(name) else self.dir / name
            rel = Path(os.path.relpath(path, self.dir)).as_posix()
            self.files[rel] = path
            samples.append(Sample(rel, index[label], s, e, line))
        self._finish_samples(samples)

    def _finish_samples(self, samples: List[Sample]) -> None:
        from ..formats import format_of
        self.formats = {rel: format_of(p) for rel, p in self.files.items()}  # FormatError
        self.samples = sorted(samples, key=Sample.key)
        self._split = self._split_samples()

    def _split_samples(self) -> Dict[str, List[Sample]]:
        out: Dict[str, List[Sample]] = {"train": [], "test": []}
        for ci, c in enumerate(self._classes):
            mine = [s for s in self.samples if s.label == ci]
            n = len(mine)
            k = int(round(self.split_ratio * n))
            k = min(max(k, 1), n - 1) if n >= 2 else n
            perm = np.random.default_rng([self.seed, zlib.crc32(c.encode())]).permutation(n)
            train = set(perm[:k].tolist())
            for j, s in enumerate(mine):
                out["train" if j in train else "test"].append(s)
        return {k: sorted(v, key=Sample.key) for k, v in out.items()}

    @property
    def classes(self) -> List[str]:
        return list(self._classes)

    @property
    def sensor_size(self) -> Tuple[int, int]:
        """``(W, H)`` pixels: the option, else the recordings' headers (all equal)."""
        if self._size_option is not None:
            return self._size_option
        if self._sizes is None:
            self._sizes = self._header_size()
        return self._sizes

    def _header_size(self) -> Tuple[int, int]:
        sizes: Dict[Tuple[int, int], str] = {}
        for rel, p in sorted(self.files.items(), key=lambda kv: natural_key(kv[0])):
            size, why = _header_sensor(p, self.formats[rel])
            if size is None:
                raise DatasetError(f"{p}: {why}, so the dataset's sensor size is unknown; give "
                                   f"it (evframes extract --sensor WxH, "
                                   f"sensor_size=(W, H))")
            sizes.setdefault(size, rel)
        if len(sizes) > 1:
            listing = ", ".join(f"{w}x{h} ({rel})" for (w, h), rel in sizes.items())
            raise DatasetError(f"{self.dir}: recordings of different sensor sizes: {listing}; "
                               f"give one size for all (evframes extract --sensor WxH, "
                               f"sensor_size=(W, H)): events outside it are dropped")
        return next(iter(sizes))

    def options(self):
        same = self.dir.resolve() == self.root.resolve()
        return {"recordings": None if same else str(self.dir.resolve()),
                "labels": None if self._auto_labels else str(self.labels_path.resolve()),
                "split_ratio": self.split_ratio, "seed": self.seed,
                "sensor_size": None if self._size_option is None else list(self._size_option)}

    def source_files(self) -> List[Path]:
        out = sorted(set(self.files.values()))
        return out + ([self.labels_path] if self.labels_path is not None else [])

    def split_lists(self) -> Dict[str, List[Sample]]:
        """``{split: [Sample, ...]}`` in store order."""
        return {k: list(v) for k, v in self._split.items()}

    # -- work ----------------------------------------------------------------------------------
    def jobs(self) -> Iterator[Job]:
        size = self.sensor_size
        for split in self.splits:
            by_file: Dict[str, list] = {}
            for s in self._split[split]:
                by_file.setdefault(s.rel, []).append((s.label, s.start, s.end))
            for k, (rel, windows) in enumerate(by_file.items()):
                name = f"{split}:{rel}"
                self._placements[name] = (split, k)
                path = self.files[rel]
                yield Job(name, _decode_recording, (str(path), rel, windows, size, name),
                          path.stat().st_size)

    def placement(self, job_name: str) -> Optional[Tuple[str, int]]:
        return self._placements.get(job_name)
