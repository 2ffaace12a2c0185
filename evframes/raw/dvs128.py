"""DVS128 Gesture (IBM): raw layout, classes, labels CSV splitting and train/test split.

Raw layout under ``root`` (either is accepted; the archive is read as a stream, never
extracted to disk)::

    root/DvsGesture.tar.gz          containing DvsGesture/<files below>
    root/DvsGesture/                extracted: userNN_<lighting>.aedat,
                                    userNN_<lighting>_labels.csv, trials_to_train.txt,
                                    trials_to_test.txt, gesture_mapping.csv (optional)

or SpikingJelly's ``root/download/DvsGesture.tar.gz`` / ``root/extract/DvsGesture/`` (see
:mod:`evframes.raw.roots`). The official download (:data:`RESOURCES`, SpikingJelly's
``resource_url_md5()``) needs a login, so neither SpikingJelly nor evframes fetches it.

Each recording is an AEDAT 3.1 file (128 x 128 pixels). Its labels CSV has the header
``class,startTime_usec,endTime_usec``; every row is one sample holding the recording's events
with ``start <= t < end`` (microseconds). The label is ``class - 1`` (0..10), in the order of
:data:`CLASSES`. Intervals may overlap (an event then belongs to both samples) and a class may
appear twice in one CSV (both rows are samples). Train / test recordings come from the trials
lists (users 1-23 train, 24-29 test on the real data: 1176 train, 288 test samples).

Note: SpikingJelly stores samples in class folders '0'..'10' that torchvision sorts as strings
('0', '1', '10', '2', ...), which scrambles its integer labels; evframes labels are always
``class - 1`` with the names below.

A recording cut inside a packet fails the extraction by default, or keeps its complete part
with ``on_truncated="keep"`` (rows past the cut are dropped and listed): see
:mod:`evframes.raw.truncation`.

Samples are stored in trials-list order, then labels-CSV row order. Per-sample metadata:
``source`` (recording file name), ``user``, ``lighting``, ``row`` (0-based CSV row),
``start``, ``end`` (us).
"""
from __future__ import annotations

import re
import tarfile
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..errors import DatasetError
from ..events import Events
from . import roots
from .base import Job, JobResult, RawDataset, drop_off_sensor, ensure_sorted, pack_samples
from .tarstream import iter_tar, open_gzip
from .truncation import other_warnings, truncation

ARCHIVE = "DvsGesture.tar.gz"
FOLDER = "DvsGesture"
SENSOR_SIZE = (128, 128)
CLASSES = [
    "hand_clapping", "right_hand_wave", "left_hand_wave", "right_arm_clockwise",
    "right_arm_counter_clockwise", "left_arm_clockwise", "left_arm_counter_clockwise",
    "arm_roll", "air_drums", "air_guitar", "other_gestures",
]
LABELS_HEADER = ("class", "startTime_usec", "endTime_usec")
#: the official files ``(name, url, md5)`` (facts from SpikingJelly's ``resource_url_md5()``;
#: the page needs a login, so nothing downloads them)
_BOX = "https://ibm.ent.box.com/s/3hiq58ww1pbbjrinh367ykfdf60xsfm8/folder/50167556794"
RESOURCES = (
    (ARCHIVE, _BOX, "8a5c71fb11e24e5ca5b11866ca6c00a1"),
    ("gesture_mapping.csv", _BOX, "109b2ae64a0e1f3ef535b18ad7367fd1"),
    ("LICENSE.txt", _BOX, "065e10099753156f18f51941e6e44b66"),
    ("README.txt", _BOX, "a0663d3b1d8307c329a43d949ee32d19"),
)
_REC_RE = re.compile(r"^user(\d+)_(.+)\.aedat$")


def parse_labels_csv(text: str, where: str, n_classes: int = 11) -> List[Tuple[int, int, int]]:
    """Parse a labels CSV into ``[(class, start_us, end_us), ...]`` (class is 1-based).

    Raises DatasetError naming ``where`` and the line on a bad header, a non-integer field,
    a class outside 1..n_classes or ``end < start``.
    """
    lines = [ln.strip() for ln in text.replace("\r", "").split("\n")]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise DatasetError(f"{where}: labels CSV is empty")
    head = tuple(h.strip() for h in lines[0].split(","))
    if head != LABELS_HEADER:
        raise DatasetError(f"{where}: line 1: expected header {','.join(LABELS_HEADER)!r}, "
                           f"found {lines[0]!r}")
    rows = []
    for i, ln in enumerate(lines[1:], start=2):
        parts = ln.split(",")
        if len(parts) != 3:
            raise DatasetError(f"{where}: line {i}: expected 3 fields, found {ln!r}")
        try:
            c, s, e = (int(v) for v in parts)
        except ValueError:
            raise DatasetError(f"{where}: line {i}: non-integer field in {ln!r}") from None
        if not 1 <= c <= n_classes:
            raise DatasetError(f"{where}: line {i}: class {c} outside 1..{n_classes}")
        if e < s:
            raise DatasetError(f"{where}: line {i}: end {e} us < start {s} us")
        rows.append((c, s, e))
    return rows


def parse_gesture_mapping(text: str, where: str) -> List[str]:
    """Class names from gesture_mapping.csv (``name,number`` rows, numbers 1..11)."""
    names: Dict[int, str] = {}
    for ln in text.replace("\r", "").split("\n"):
        parts = [p.strip() for p in ln.split(",")]
        if len(parts) != 2:
            continue
        a, b = parts
        if b.isdigit():
            names[int(b)] = a
        elif a.isdigit():
            names[int(a)] = b
    if sorted(names) != list(range(1, len(names) + 1)) or not names:
        raise DatasetError(f"{where}: cannot read class names (expected rows 'name,number')")
    return [names[i] for i in range(1, len(names) + 1)]


def split_recording(events: Events, rows, recording: str, warnings: List[str],
                    truncated: bool = False):
    """Cut one recording's events into samples: ``[(events, label, meta), ...]``.

    A row's sample holds events with ``start <= t < end``; label ``class - 1``. For a
    ``truncated`` recording (the file ends inside a packet; ``events`` is its complete part)
    also returns the indices of the rows the cut may have shortened: those whose window ends
    after the last complete event. Such a row that kept events is kept with a warning; one
    left without events is not warned about here (extraction fails, or drops and lists it).
    Returns ``(samples, affected)``.
    """
    events = ensure_sorted(events, recording, warnings)
    t_last = int(events["t"][-1]) if truncated and len(events["t"]) else -1
    events = drop_off_sensor(events, SENSOR_SIZE, recording, warnings)
    t = events["t"]
    m = _REC_RE.match(recording)
    user, lighting = (int(m.group(1)), m.group(2)) if m else (-1, "")
    samples, affected = [], []
    for r, (c, s, e) in enumerate(rows):
        i0 = int(np.searchsorted(t, s, side="left"))
        i1 = int(np.searchsorted(t, e, side="left"))
        cut = truncated and e > t_last
        if cut:
            affected.append(r)
            if i1 > i0:
                warnings.append(f"{recording}: labels row {r + 2} (class {c}, {s}..{e} us) cut "
                                f"short by the truncation: kept its events up to {t_last} us")
        elif i1 <= i0:
            warnings.append(f"{recording}: labels row {r + 2} (class {c}, {s}..{e} us) holds no "
                            f"events; kept as an empty sample")
        samples.append((events.slice(i0, i1), c - 1,
                        {"source": recording, "user": user, "lighting": lighting, "row": r,
                         "start": s, "end": e}))
    return samples, affected


def _process_recording_file(aedat_path: str, csv_path: str) -> JobResult:
    from ..formats import read_aedat3
    name = Path(aedat_path).name
    try:
        text = Path(csv_path).read_text()
    except OSError as e:
        raise DatasetError(f"{csv_path}: cannot read labels CSV ({e.strerror})") from None
    rows = parse_labels_csv(text, csv_path)
    return _split(name, lambda: read_aedat3(aedat_path, on_truncated="warn"), rows)


def _process_recording_bytes(name: str, data: bytes, csv_text: str, csv_where: str) -> JobResult:
    from ..formats import decode_aedat3_bytes
    rows = parse_labels_csv(csv_text, csv_where)
    return _split(name, lambda: decode_aedat3_bytes(data, name=f"{ARCHIVE}:{name}",
                                                    on_truncated="warn"), rows)


def _split(name: str, decode, rows) -> JobResult:
    """Decode one recording (reader warnings collected; a truncation recorded, not raised)
    and cut it into its labelled samples."""
    import warnings as _w
    with _w.catch_warnings(record=True) as caught:
        _w.simplefilter("always")
        ev = decode()
    warnings = other_warnings(caught)
    truncated = truncation(caught, name, [])
    samples, affected = split_recording(ev, rows, name, warnings, truncated=bool(truncated))
    for entry in truncated:
        entry["samples"] = affected
    return pack_samples(name, samples, warnings, truncated)


class DVS128GestureRaw(RawDataset):
    """The raw DVS128 Gesture dataset under ``root`` (archive or extracted folder)."""

    name = "dvs128"
    sensor_size = SENSOR_SIZE
    meta_columns = {"source": str, "user": int, "lighting": str, "row": int, "start": int,
                    "end": int}

    resources = RESOURCES

    def __init__(self, root):
        super().__init__(root)
        self.folder = self.root / FOLDER
        self.archive = self.root / ARCHIVE
        found = roots.find_item(self.root, self.name, FOLDER, ARCHIVE,
                                complete=lambda p: (p / "trials_to_train.txt").exists())
        if found is None:
            partial = roots.existing_folders(self.root, self.name, FOLDER)
            if partial:
                raise DatasetError(f"{partial[0]}: trials_to_train.txt missing (is the DVS128 "
                                   f"Gesture folder complete?)")
            raise self.missing(f"no DVS128 Gesture found (looked for "
                               f"{roots.describe(self.name, FOLDER, ARCHIVE)})", [ARCHIVE])
        self.layout = found.layout
        if found.is_archive:
            self.mode, self.archive = "archive", found.path
            # inflating the archive dominates; decoding AEDAT 3.1 is ~10x faster than that, so
            # shipping each recording to another process would cost more than it saves
            self.parallel_decode = False
        else:
            self.mode, self.folder = "folder", found.path
        self._classes: Optional[List[str]] = None
        self._trials: Dict[str, List[str]] = {}
        self._seen: set = set()
        if self.mode == "folder":
            for split in self.splits:
                self._trials[split] = self._read_trials(self.folder / f"trials_to_{split}.txt")
            gm = self.folder / "gesture_mapping.csv"
            if gm.exists():
                self._classes = parse_gesture_mapping(gm.read_text(), str(gm))

    @property
    def classes(self) -> List[str]:
        return list(self._classes or CLASSES)

    @staticmethod
    def _parse_trials(text: str, where: str) -> List[str]:
        names = [ln.strip() for ln in text.replace("\r", "").split("\n") if ln.strip()]
        for n in names:
            if not n.endswith(".aedat"):
                raise DatasetError(f"{where}: unexpected entry {n!r} (expected *.aedat names)")
        return names

    def _read_trials(self, path: Path) -> List[str]:
        if not path.exists():
            raise DatasetError(f"{path}: trials list missing")
        return self._parse_trials(path.read_text(), str(path))

    def source_files(self) -> List[Path]:
        if self.mode == "archive":
            return [self.archive]
        return sorted(p for p in self.folder.iterdir() if p.is_file())

    # -- jobs ----------------------------------------------------------------------------
    def jobs(self) -> Iterator[Job]:
        return self._folder_jobs() if self.mode == "folder" else self._archive_jobs()

    def _folder_jobs(self) -> Iterator[Job]:
        for split in self.splits:
            for name in self._trials[split]:
                aedat = self.folder / name
                csv = self.folder / name.replace(".aedat", "_labels.csv")
                if not aedat.exists():
                    raise DatasetError(f"{aedat}: recording listed in trials_to_{split}.txt "
                                       f"is missing")
                if not csv.exists():
                    raise DatasetError(f"{csv}: labels CSV missing for {name}")
                self._seen.add(name)
                yield Job(name, _process_recording_file, (str(aedat), str(csv)),
                          aedat.stat().st_size)

    def _archive_jobs(self) -> Iterator[Job]:
        pending_rec: Dict[str, bytes] = {}
        pending_csv: Dict[str, Tuple[str, str]] = {}
        try:
            stream = open_gzip(self.archive)
        except (tarfile.TarError, OSError, RuntimeError, ValueError) as e:
            raise DatasetError(f"{self.archive}: not a readable tar.gz archive ({e})") from None

        def wanted(name: str) -> bool:
            base = name.rsplit("/", 1)[-1]
            return (base.endswith((".aedat", "_labels.csv")) or base == "gesture_mapping.csv"
                    or (base.startswith("trials_to_") and base.endswith(".txt")))

        with stream:
            try:
                for member, data in iter_tar(stream, wanted):
                    if data is None:
                        continue
                    base = member.rsplit("/", 1)[-1]
                    where = f"{self.archive}:{member}"
                    if base.startswith("trials_to_") and base.endswith(".txt"):
                        split = base[len("trials_to_"):-4]
                        self._trials[split] = self._parse_trials(data.decode(), where)
                    elif base == "gesture_mapping.csv":
                        self._classes = parse_gesture_mapping(data.decode(), where)
                    elif base.endswith("_labels.csv"):
                        rec = base[: -len("_labels.csv")] + ".aedat"
                        text = data.decode()
                        if rec in pending_rec:
                            rdata = pending_rec.pop(rec)
                            self._seen.add(rec)
                            yield Job(rec, _process_recording_bytes, (rec, rdata, text, where),
                                      len(rdata))
                        else:
                            pending_csv[rec] = (text, where)
                    elif base.endswith(".aedat"):
                        if base in pending_csv:
                            text, cw = pending_csv.pop(base)
                            self._seen.add(base)
                            yield Job(base, _process_recording_bytes, (base, data, text, cw),
                                      len(data))
                        else:
                            pending_rec[base] = data
            except (tarfile.TarError, EOFError, OSError, RuntimeError, ValueError,
                    UnicodeDecodeError, __import__("zlib").error) as e:
                raise DatasetError(f"{self.archive}: archive is truncated or corrupt ({e})") \
                    from None
        self._pending_rec = pending_rec

    def placement(self, job_name: str) -> Optional[Tuple[str, int]]:
        for split in self.splits:
            names = self._trials.get(split)
            if names is not None and job_name in names:
                return split, names.index(job_name)
        if all(s in self._trials for s in self.splits):
            return None
        return None

    def finish(self) -> List[str]:
        warnings = []
        for split in self.splits:
            if split not in self._trials:
                raise DatasetError(f"{self.archive if self.mode == 'archive' else self.folder}: "
                                   f"trials_to_{split}.txt missing")
        listed = {n for s in self.splits for n in self._trials[s]}
        for rec in sorted(getattr(self, "_pending_rec", {})):
            if rec in listed:
                raise DatasetError(f"{self.archive}: labels CSV missing for {rec}")
        missing = sorted(listed - self._seen)
        if missing:
            raise DatasetError(f"{self.archive if self.mode == 'archive' else self.folder}: "
                               f"{len(missing)} recording(s) listed in the trials lists are "
                               f"missing, e.g. {missing[0]}")
        unlisted = sorted(self._seen - listed)
        if unlisted:
            warnings.append(f"{len(unlisted)} recording(s) in no trials list were skipped, "
                            f"e.g. {unlisted[0]}")
        return warnings

    def placement_final(self, job_name):
        return self.placement(job_name)
