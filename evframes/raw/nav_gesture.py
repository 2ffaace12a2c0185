"""NAVGesture (Maro et al. 2020): six smartphone navigation gestures seen by an ATIS (304 x 240),
in two variants: NavGesture-walk (subjects walking, phone held in selfie mode) and
NavGesture-sit (subjects sitting). Each variant is its own registered dataset
(``navgesture-walk``, ``navgesture-sit``) with its own root.

Raw layout under ``root`` (facts from SpikingJelly's ``NAVGestureWalk`` / ``NAVGestureSit`` and
Tonic's ``NavGesture``, Tonic 1.0.x: removed in Tonic 1.0.10 with its ``loris`` reader). The
download ``navgesture-walk.zip`` (md5 ``5d305266f13005401959e819abe206f0``; ``navgesture-sit.zip``
``1571753ace4d9e0946e6503313712c22``) holds one zip per subject, ``userNN.zip``, each holding
``userNN/<file>.dat``, one gesture per file, named ``userNN_<gesture code>_...``. evframes reads
the first of: the folder ``navgesture-walk/`` (subject folders, or subject zips, inside: Tonic's
``save_to/NavGesture/navgesture-walk/``), subject folders in the root itself, the download
``navgesture-walk.zip`` (root or SpikingJelly's ``download/``; subject zips read in place, a
compressed one inflated into memory, kept per process up to 256 MB), or SpikingJelly's
``extract/`` (subject folders). Its ``events_np/`` copies are not read.

Each ``.dat`` is an ATIS "td" file: optional ``%`` header lines, then (with a header) the
event type and size bytes (size 8), then 8-byte little-endian records ``u32 t`` (us),
``u32 w``: ``x = w & 0x1FF``, ``y = (w >> 9) & 0xFF``, ``p = (w >> 17) & 1`` (the record layout
of Prophesee DAT version 1, which SpikingJelly's reader applies whatever the header says; so
does evframes). A size byte other than 8 raises :class:`~evframes.FormatError`; a record cut at
the end is left out as a truncation (see :mod:`evframes.raw.truncation`).

Conventions (``orientation=``):

- ``"spikingjelly"`` (default), SpikingJelly's samples: events whose timestamp is below an
  earlier one are dropped (what its repeated negative-dt removal converges to), ``t`` starts at
  0 (minus the first record's time), ``y' = 239 - y``. Differences: SpikingJelly's first pass
  also turns each event that goes back in time into a zero record and drops as many events from
  the end of the file; evframes keeps those last events (files whose time never decreases give
  identical events).
- ``"raw"``: the records as stored (Tonic's view: times, ``x``, ``y`` unchanged), sorted by
  time (stable, with a warning) if it decreases.

Events off 304 x 240 are dropped with a warning. Sensor: ``get_H_W() == (240, 304)``
(SpikingJelly: the camera is 320 wide but ``x.max() == 303``).

Classes (:data:`CLASSES`, gesture codes): ``do`` (swipe down), ``ho`` (home), ``le`` (swipe
left), ``ri`` (swipe right), ``se`` (select), ``up`` (swipe up); label = position in that
sorted list (SpikingJelly's labels: its class folders sorted). Tonic's targets follow its
``class_codes`` order ``do, up, le, ri, se, ho`` (:data:`TONIC_TARGETS`). The gesture of a
file is the second ``_``-separated part of its name (SpikingJelly's rule; Tonic reads
``name[7:9]``, the same for ``userNN_`` names).

Split: none official (both peers give the whole set; SpikingJelly's users split it with
``split_to_train_test_set``). As :mod:`evframes.raw.ncaltech101`: by default, per gesture the
first ``math.ceil(n * train_ratio)`` files in SpikingJelly's order (file name + ``.npz`` sorted
as a string) are train, the rest test; ``whole=True``: one split ``"all"``. Sample counts: not
stated by either loader (Tonic checks that at least 304 ``.dat`` files exist). Metadata:
``source`` (``userNN/<file>.dat``) and ``user`` (the subject folder or zip name).
"""
from __future__ import annotations

import io
import os
import zipfile
from collections import OrderedDict
from pathlib import Path, PurePosixPath
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..errors import DatasetError, FormatError
from ..events import Events, make_events
from . import roots
from .asl_dvs import Source, open_zip
from .base import Job, JobResult, drop_off_sensor, ensure_sorted, pack_samples
from .ncaltech101 import ClassFolderRaw, sj_name_key
from .ncars import where
from .truncation import other_warnings, truncation

SENSOR_SIZE = (304, 240)  # (W, H) pixels
CLASSES = ["do", "ho", "le", "ri", "se", "up"]
TITLES = {"do": "swipe down", "ho": "home", "le": "swipe left", "ri": "swipe right",
          "se": "select", "up": "swipe up"}
#: Tonic 1.0.x's ``class_codes`` (its target = position in it) and ``classes``
TONIC_CODES = ["do", "up", "le", "ri", "se", "ho"]
TONIC_CLASSES = [TITLES[c] for c in TONIC_CODES]
TONIC_TARGETS = [TONIC_CODES.index(c) for c in CLASSES]
ORIENTATIONS = ("spikingjelly", "raw")
CHUNK = 200  # files per job
_BASE = "https://www.neuromorphic-vision.com/public/downloads/navgesture/"
#: variant -> the official download ``(name, url, md5)`` (SpikingJelly's resource_url_md5())
RESOURCES = {v: (f"navgesture-{v}.zip", f"{_BASE}navgesture-{v}.zip", md5) for v, md5 in (
    ("walk", "5d305266f13005401959e819abe206f0"), ("sit", "1571753ace4d9e0946e6503313712c22"))}


def td_events(data, at: str, orientation: str, warnings: List[str]) -> Events:
    """Events of one ATIS td ``.dat`` file held in memory (module docstring); a cut last
    record is left out with a TruncatedFileWarning."""
    from ..formats._common import complete_records
    data = bytes(data) if not isinstance(data, bytes) else data
    buf = np.frombuffer(data, np.uint8)
    n, pos = buf.shape[0], 0
    header = False
    while pos < n and data[pos] == 0x25:  # '%' header lines
        nl = data.find(b"\n", pos)
        pos = n if nl < 0 else nl + 1
        header = True
    if header:
        if n - pos < 2:
            raise FormatError(at, pos, "file ends inside the event type / size bytes after "
                                       "the '%' header")
        if buf[pos + 1] != 8:
            raise FormatError(at, pos + 1, f"event size {int(buf[pos + 1])}, expected 8 (an "
                                           f"ATIS td .dat file)")
        pos += 2
    k = complete_records(at, pos, n - pos, 8, "warn", "the records")
    w = np.frombuffer(data, "<u4", count=2 * k, offset=pos).reshape(k, 2)
    t = w[:, 0].astype(np.int64)
    a = w[:, 1]
    x, y, p = a & 0x1FF, (a >> 9) & 0xFF, (a >> 17) & 1
    if orientation == "spikingjelly":
        keep = t >= np.maximum.accumulate(t) if k else np.ones(0, bool)
        if not keep.all():
            warnings.append(f"{at}: dropped {int((~keep).sum())} event(s) whose timestamp is "
                            f"below an earlier one (SpikingJelly's rule)")
            t, x, y, p = t[keep], x[keep], y[keep], p[keep]
        if t.shape[0]:
            t = t - t[0]
        y = (SENSOR_SIZE[1] - 1) - y.astype(np.int64)
    elif orientation != "raw":
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    ev = drop_off_sensor(make_events(t, x, y, p), SENSOR_SIZE, at, warnings)
    return ensure_sorted(ev, at, warnings)


def gesture_of(name: str, at: str) -> str:
    """The gesture code of a recording's file name (its second ``_``-separated part)."""
    parts = PurePosixPath(name).stem.split("_")
    if len(parts) < 2 or parts[1] not in CLASSES:
        raise DatasetError(f"{at}: file name does not name a gesture (expected "
                           f"<user>_<code>_..., code one of {', '.join(CLASSES)})")
    return parts[1]


#: subject zips inflated from a compressed download, kept per process (most recently used, up
#: to :data:`CACHE_BYTES`): jobs run gesture by gesture, so each subject zip is read by six
_CACHE: "OrderedDict[tuple, bytes]" = OrderedDict()
CACHE_BYTES = 256 << 20


def open_subject_zip(src: Source) -> zipfile.ZipFile:
    """The zip of a subject source; a compressed one inside the download is inflated once per
    process (while it stays in the cache) instead of once per job."""
    if src.kind != "nested":
        return open_zip(src)
    st = os.stat(src.path)
    key = (src, st.st_mtime_ns, st.st_size)
    data = _CACHE.pop(key, None)
    if data is None:
        with zipfile.ZipFile(src.path) as outer:
            if outer.getinfo(src.inner).compress_type == zipfile.ZIP_STORED:
                return open_zip(src)  # a window of the file: nothing to inflate
            data = outer.read(src.inner)
    _CACHE[key] = data
    while len(_CACHE) > 1 and sum(len(v) for v in _CACHE.values()) > CACHE_BYTES:
        _CACHE.popitem(last=False)
    return zipfile.ZipFile(io.BytesIO(data))


def decode_td_members(items: List[Tuple[Source, str, str]], label: int, orientation: str,
                      job_name: str) -> JobResult:
    """One job: ``items`` of ``(source, member, user)`` (one subject's source), one gesture."""
    import warnings as _w
    samples, warnings, cut = [], [], []
    zips: Dict[Source, zipfile.ZipFile] = {}
    try:
        with _w.catch_warnings(record=True) as caught:
            _w.simplefilter("always")
            for i, (src, name, user) in enumerate(items):
                at = where(src, name)
                if src.kind == "dir":
                    data = Path(at).read_bytes()
                else:
                    if src not in zips:
                        zips[src] = open_subject_zip(src)
                    data = zips[src].read(name)
                seen = len(caught)
                ev = td_events(data, at, orientation, warnings)
                short = truncation(caught[seen:], name, [i])
                cut.extend(short)
                if len(ev) == 0 and not short:
                    warnings.append(f"{at}: sample holds no events; kept as an empty sample")
                src_name = f"{user}/{PurePosixPath(name).name}"
                samples.append((ev, label, {"source": src_name, "user": user}))
        warnings.extend(other_warnings(caught))
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DatasetError(f"{items[0][0].path}: cannot read archive member ({e})") from None
    finally:
        for zf in zips.values():
            zf.close()
    return pack_samples(job_name, samples, warnings, cut)


def _has_users(path: Path) -> bool:
    return path.is_dir() and (any(path.glob("*/*.dat")) or any(path.glob("user*.zip")))


class NAVGestureRaw(ClassFolderRaw):
    """One NAVGesture variant under ``root`` (see the module docstring).

    Parameters
    ----------
    root : path
        Dataset root.
    train_ratio : float
        Per-gesture train fraction of the ratio split (default 0.9).
    orientation : {"spikingjelly", "raw"}
        SpikingJelly's samples (default) or the records as stored.
    whole : bool
        One split ``"all"`` instead of train/test.
    """

    variant = ""
    sensor_size = SENSOR_SIZE
    meta_columns = {"source": str, "user": str}
    chunk = CHUNK

    def __init__(self, root, train_ratio: float = 0.9, orientation: str = "spikingjelly",
                 whole: bool = False):
        super().__init__(root, train_ratio, whole)
        if orientation not in ORIENTATIONS:
            raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
        self.orientation = orientation
        folder, archive = f"navgesture-{self.variant}", f"navgesture-{self.variant}.zip"
        found = roots.find_item(self.root, self.name, folder, archive, complete=_has_users)
        if found is None:
            for d in (self.root, self.root / "extract"):
                if _has_users(d):
                    found = roots.Found(d, False, "subject folders")
                    break
        if found is None:
            raise self.missing(f"NAVGesture-{self.variant} not found (looked for "
                               f"{roots.describe(self.name, folder, archive)}, or subject "
                               f"folders userNN/ in the root or extract/)", [archive])
        self._found = found
        self._users: Optional[List[Tuple[Source, str, List[str]]]] = None

    @property
    def classes(self) -> List[str]:
        return list(CLASSES)

    def options(self):
        return {**super().options(), "orientation": self.orientation}

    def source_files(self) -> List[Path]:
        if self._found.is_archive:
            return [self._found.path]
        return sorted(p for p in self._found.path.rglob("*")
                      if p.is_file() and p.suffix.lower() in (".dat", ".zip"))

    def users(self) -> List[Tuple[Source, str, List[str]]]:
        """``(source, user, [.dat members])`` per subject."""
        if self._users is None:
            self._users = self._list_users()
        return self._users

    def _list_users(self):
        path = self._found.path
        if self._found.is_archive:
            zips = [Source("nested", str(path), n) for n in _zip_names(path)
                    if n.lower().endswith(".zip")]
            if not zips:  # a zip of the subject folders themselves
                zips = [Source("zip", str(path))]
        else:
            dirs = sorted(p for p in path.iterdir() if p.is_dir() and any(p.glob("*.dat")))
            if dirs:
                return [(Source("dir", str(path)), d.name,
                         sorted(f"{d.name}/{f.name}" for f in d.glob("*.dat"))) for d in dirs]
            zips = [Source("zip", str(p)) for p in sorted(path.glob("user*.zip"))]
        out = []
        for src in zips:
            try:
                with open_zip(src) as zf:
                    names = sorted(i.filename for i in zf.infolist()
                                   if not i.is_dir() and i.filename.lower().endswith(".dat"))
            except (zipfile.BadZipFile, OSError, KeyError) as e:
                raise DatasetError(f"{where(src, '')}: not a readable zip archive "
                                   f"({e})") from None
            by_user: Dict[str, List[str]] = {}
            for n in names:
                parts = n.split("/")
                user = parts[-2] if len(parts) > 1 else PurePosixPath(src.inner or
                                                                      src.path).stem
                by_user.setdefault(user, []).append(n)
            out.extend((src, u, ns) for u, ns in sorted(by_user.items()))
        if not any(ns for _, _, ns in out):
            raise DatasetError(f"{path}: no .dat recordings found (expected "
                               f"userNN/userNN_<code>_....dat)")
        return out

    def class_lists(self) -> Dict[str, List[Tuple[int, str]]]:
        """``{gesture: [(subject index, member), ...]}`` in SpikingJelly's order."""
        out: Dict[str, List[Tuple[int, str]]] = {}
        for k, (src, _user, names) in enumerate(self.users()):
            for n in names:
                out.setdefault(gesture_of(n, where(src, n)), []).append((k, n))
        return {c: sorted(out[c], key=lambda e: sj_name_key(e[1])) for c in CLASSES
                if c in out}

    def jobs(self) -> Iterator[Job]:
        users = self.users()
        lists = self.split_lists()
        for split in self.splits:
            k = 0
            for c in CLASSES:
                for run in _runs(lists[split].get(c, [])):  # one subject's source per job
                    src = users[run[0][0]][0]
                    size = len(run) if src.kind == "nested" else self.chunk
                    for i in range(0, len(run), size):
                        name = f"{split}:{k}"
                        self._placements[name] = (split, k)
                        k += 1
                        items = [(users[u][0], n, users[u][1]) for u, n in run[i:i + size]]
                        yield Job(name, decode_td_members,
                                  (items, CLASSES.index(c), self.orientation, name))


def _runs(entries):
    """Consecutive entries of one subject source."""
    out: List[list] = []
    for e in entries:
        if out and out[-1][-1][0] == e[0]:
            out[-1].append(e)
        else:
            out.append([e])
    return out


def _zip_names(path: Path) -> List[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return sorted(i.filename for i in zf.infolist() if not i.is_dir())
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError(f"{path}: not a readable zip archive ({e})") from None


class NAVGestureWalkRaw(NAVGestureRaw):
    """NavGesture-walk (see :class:`NAVGestureRaw`)."""

    name = "navgesture-walk"
    variant = "walk"
    resources = (RESOURCES["walk"],)


class NAVGestureSitRaw(NAVGestureRaw):
    """NavGesture-sit (see :class:`NAVGestureRaw`)."""

    name = "navgesture-sit"
    variant = "sit"
    resources = (RESOURCES["sit"],)


__all__ = ["NAVGestureRaw", "NAVGestureWalkRaw", "NAVGestureSitRaw", "CLASSES", "TITLES",
           "TONIC_CODES", "TONIC_CLASSES", "TONIC_TARGETS", "SENSOR_SIZE", "ORIENTATIONS",
           "RESOURCES", "td_events", "gesture_of", "decode_td_members"]
