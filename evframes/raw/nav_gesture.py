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
``navgesture-walk.zip`` (root or SpikingJelly's ``download/``; subject zips read in place,
each inflated into memory once per extraction within 256 MB, members inflated on a thread
pool: :mod:`evframes.raw.zip_members`), or SpikingJelly's ``extract/`` (subject folders).
Its ``events_np/`` copies are not read.

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

import zipfile
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..errors import DatasetError
from ..events import KEYS, Events
from ..formats.atis_td import decode_td, td_columns
from . import roots
from .asl_dvs import Source
from .base import Job, JobResult
from .ncaltech101 import ClassFolderRaw, sj_name_key
from .ncars import where
from .truncation import other_warnings, truncation
from .zip_members import ZipMembers, inflate_threads, read_ahead

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
    buf = np.frombuffer(data, np.uint8)
    out = td_columns(buf.shape[0] // 8)
    n = decode_td(buf, at, _sj(orientation), SENSOR_SIZE, warnings, out, 0)
    return Events({k: out[k][:n] for k in KEYS})


def _sj(orientation: str) -> bool:
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    return orientation == "spikingjelly"


def gesture_of(name: str, at: str) -> str:
    """The gesture code of a recording's file name (its second ``_``-separated part)."""
    parts = PurePosixPath(name).stem.split("_")
    if len(parts) < 2 or parts[1] not in CLASSES:
        raise DatasetError(f"{at}: file name does not name a gesture (expected "
                           f"<user>_<code>_..., code one of {', '.join(CLASSES)})")
    return parts[1]


#: inflated subject zips an extraction keeps (the first that fit), from the listing of the
#: recordings (which inflates them all) to the end of jobs(): jobs run gesture by gesture, so
#: each subject zip is read by six of them; one over the budget is inflated at each use
CACHE_BYTES = 256 << 20
READ_AHEAD = 8  # members being inflated ahead of the job handed over


def decode_td_files(items: List[Tuple[str, str, str, Optional[bytes]]], label: int,
                    orientation: str, job_name: str) -> JobResult:
    """One job, one gesture: ``items`` of ``(at, member, user, data)``: a recording's name in
    messages, its member or file name, its subject, and its bytes (None: read the file
    ``at``). The recordings are decoded one after another into the job's columns."""
    import warnings as _w
    blobs = []
    for at, _, _, data in items:
        try:
            blobs.append(Path(at).read_bytes() if data is None else data)
        except OSError as e:
            raise DatasetError(f"{at}: cannot read the recording ({e.strerror or e})") from None
    bufs = [np.frombuffer(b, np.uint8) for b in blobs]
    sj = _sj(orientation)
    out = td_columns(sum(b.shape[0] // 8 for b in bufs))
    offsets = np.zeros(len(items) + 1, np.int64)
    warnings, cut, metas = [], [], []
    with _w.catch_warnings(record=True) as caught:
        _w.simplefilter("always")
        for i, ((at, name, user, _), buf) in enumerate(zip(items, bufs)):
            seen = len(caught)
            n = decode_td(buf, at, sj, SENSOR_SIZE, warnings, out, int(offsets[i]))
            offsets[i + 1] = offsets[i] + n
            short = truncation(caught[seen:], name, [i])
            cut.extend(short)
            if n == 0 and not short:
                warnings.append(f"{at}: sample holds no events; kept as an empty sample")
            metas.append({"source": f"{user}/{PurePosixPath(name).name}", "user": user})
    warnings.extend(other_warnings(caught))
    m = int(offsets[-1])
    return JobResult(name=job_name, events=Events({k: c[:m] for k, c in out.items()}),
                     offsets=offsets, labels=[int(label)] * len(items), metas=metas,
                     warnings=warnings, truncated=cut)


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
        self._zips: Dict[Source, ZipMembers] = {}  # open while jobs() runs
        self._zip_bytes = 0
        self._outer: Optional[ZipMembers] = None

    @property
    def parallel_decode(self) -> bool:
        """False for zips: inflating them is the work (decoding is about 10x cheaper), done
        here on a thread pool, the jobs carrying the members' bytes; a process pool would only
        move those bytes. True for subject folders (each job reads its own files)."""
        return self._source_kind() == "dir"

    def _source_kind(self) -> str:
        if self._found.is_archive:
            return "zip"
        return "dir" if any(self._found.path.glob("*/*.dat")) else "zip"

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
        try:  # the subject zips inflated here stay (within CACHE_BYTES) for jobs()
            for src, zm in self._open_zips(zips):
                names = sorted(n for n in zm.names() if n.lower().endswith(".dat"))
                by_user: Dict[str, List[str]] = {}
                for n in names:
                    parts = n.split("/")
                    user = parts[-2] if len(parts) > 1 else PurePosixPath(src.inner or
                                                                          src.path).stem
                    by_user.setdefault(user, []).append(n)
                out.extend((src, u, ns) for u, ns in sorted(by_user.items()))
        except BaseException:
            self._close_zips()
            raise
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

    # -- reading the subject zips ------------------------------------------------------------
    def _open_zips(self, zips: List[Source]) -> Iterator[Tuple[Source, ZipMembers]]:
        """``(source, members)`` of each zip source, in order; the subject zips of a download
        inflated on a thread pool, a few ahead (kept for the jobs while the budget allows)."""
        def read(src):
            try:
                return self._outer_zip().read(src.inner) if src.kind == "nested" else None
            except (zipfile.BadZipFile, OSError, KeyError, EOFError) as e:
                raise DatasetError(f"{where(src, '')}: not a readable zip archive "
                                   f"({e})") from None

        for src, (data,) in read_ahead(((s, [partial(read, s)]) for s in zips),
                                       inflate_threads()):
            try:
                zm = self._zip(src, data)
            except (zipfile.BadZipFile, OSError) as e:
                raise DatasetError(f"{where(src, '')}: not a readable zip archive "
                                   f"({e})") from None
            yield src, zm

    def _outer_zip(self) -> ZipMembers:
        if self._outer is None:
            self._outer = ZipMembers(path=self._found.path)
        return self._outer

    def _zip(self, src: Source, data: Optional[bytes] = None) -> ZipMembers:
        """The members of a zip source: a subject zip file, or one inside the download
        (``data``: its bytes, read here when None)."""
        zm = self._zips.get(src)
        if zm is not None:
            return zm
        if src.kind == "nested":
            data = self._outer_zip().read(src.inner) if data is None else data
            zm = ZipMembers(data)
            if self._zip_bytes + len(data) > CACHE_BYTES:
                return zm  # over the budget: inflated again at its next use
            self._zip_bytes += len(data)
        else:
            zm = ZipMembers(path=src.path)
        self._zips[src] = zm
        return zm

    def _close_zips(self) -> None:
        for zm in self._zips.values():
            zm.close()
        self._zips.clear()
        self._zip_bytes = 0
        if self._outer is not None:
            self._outer.close()
            self._outer = None

    def _specs(self) -> Iterator[Tuple[str, int, List[Tuple[Source, str, str]]]]:
        """``(job name, label, [(source, member, user)])`` per job, in the stores' order: one
        gesture and one subject source per job."""
        users = self.users()
        lists = self.split_lists()
        for split in self.splits:
            k = 0
            for c in CLASSES:
                for run in _runs(lists[split].get(c, [])):
                    src = users[run[0][0]][0]
                    size = len(run) if src.kind == "nested" else self.chunk
                    for i in range(0, len(run), size):
                        name = f"{split}:{k}"
                        self._placements[name] = (split, k)
                        k += 1
                        yield name, CLASSES.index(c), [(users[u][0], n, users[u][1])
                                                       for u, n in run[i:i + size]]

    def jobs(self) -> Iterator[Job]:
        """Jobs of :func:`decode_td_files`. From zips, the members are inflated here, on a
        thread pool (:data:`READ_AHEAD` ahead), and each job carries their bytes."""
        if self._source_kind() == "dir":
            for name, label, items in self._specs():
                yield Job(name, decode_td_files, ([(where(s, n), n, u, None)
                                                   for s, n, u in items],
                                                  label, self.orientation, name))
            return

        def reads(items):
            return [partial(self._member, self._zip(s), s, n) for s, n, _ in items]

        try:
            specs = ((spec, reads(spec[2])) for spec in self._specs())
            for (name, label, items), blobs in read_ahead(specs, READ_AHEAD):
                files = [(where(s, n), n, u, b) for (s, n, u), b in zip(items, blobs)]
                yield Job(name, decode_td_files, (files, label, self.orientation, name),
                          sum(len(b) for b in blobs))
        finally:
            self._close_zips()

    @staticmethod
    def _member(zm: ZipMembers, src: Source, name: str) -> bytes:
        try:
            return zm.read(name)
        except (zipfile.BadZipFile, OSError, KeyError, EOFError) as e:
            raise DatasetError(f"{where(src, name)}: cannot read archive member ({e})") from None


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
           "RESOURCES", "td_events", "gesture_of", "decode_td_files"]
