"""ASL-DVS (Bi et al. 2019): 24 American Sign Language letters, DAVIS240 (240 x 180 pixels).

Raw layout under ``root`` (facts from SpikingJelly's and Tonic's loaders): the download
``ICCV2019_DVS_dataset.zip`` (SpikingJelly's name; Tonic calls the same Dropbox folder
``ASLDVS.zip``) holds one zip per letter, ``Yin Bi - a.zip`` ... ``Yin Bi - y.zip``, each holding
``<letter>/<letter>_NNNN.mat`` (4200 per letter, 100800 in all: Tonic's completeness check).
evframes reads, per letter, the first of:

- the extracted folder ``<letter>/`` (``root/a/``, SpikingJelly's ``root/extract/a/``, Tonic's
  ``save_to/ASLDVS/a/``),
- the letter's zip ``Yin Bi - <letter>.zip`` in the root (or ``download/``),
- that zip inside the download (``ICCV2019_DVS_dataset.zip`` or ``ASLDVS.zip``, in the root or
  ``download/``), read in place: a zip stored without compression is opened as a window of
  the outer file (nothing copied), a compressed one is inflated into memory once per job.

Each ``.mat`` (MATLAB 5 / 7 format, read with :mod:`evframes.formats.mat5`, or
``scipy.io.loadmat`` for what that leaves aside) holds the column vectors
``x``, ``y``, ``ts`` (microseconds) and ``pol`` (0/1) of one sample; any integer or whole-valued
float type is accepted (the real files' types were not available to check). A MATLAB 7.3
(HDF5) file, a missing field, unequal lengths or fractional timestamps raise a
:class:`~evframes.FormatError` naming the member.

Orientation (``orientation=``): the peers differ. ``"spikingjelly"`` (default): ``x' = 239 - x``,
``y' = 179 - y`` (SpikingJelly flips both axes); ``"tonic"``: ``x' = x``, ``y' = 179 - y``
(Tonic flips y only); ``"raw"``: the stored values. Events off 240 x 180 are dropped with a
warning; timestamps are kept as stored (sorted, with a warning, if they decrease).

Classes (:data:`CLASSES`): ``a`` ... ``y`` without ``j`` (``j`` and ``z`` need motion). Label =
position in that list (0..23): SpikingJelly's labels (its sorted letter folders). Tonic's
target is the position in the full alphabet (``a`` = 0 ... ``y`` = 24; 9 (``j``) and 25 (``z``)
never occur), see :data:`TONIC_TARGETS`.

Split: none official; as :mod:`evframes.raw.ncaltech101` (by default, per letter the first
``math.ceil(n * train_ratio)`` files by name, SpikingJelly's ``split_to_train_test_set`` rule;
``whole=True``: one split ``"all"``). Metadata: ``source`` (``<letter>/<file>.mat``).
"""
from __future__ import annotations

import io
import re
import struct
import zipfile
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

import numpy as np

from .._jit import njit
from ..errors import DatasetError, FormatError
from ..events import P_DTYPE, T_DTYPE, XY_DTYPE, Events, make_events
from ..formats import mat5
from . import roots
from .base import Job, JobResult, drop_off_sensor, ensure_sorted, pack_samples
from .ncaltech101 import ClassFolderRaw, sj_name_key
from .zip_members import FileWindow, ZipMembers

SENSOR_SIZE = (240, 180)  # (W, H) pixels
CLASSES = [c for c in "abcdefghiklmnopqrstuvwxy"]
#: Tonic's target of each of our labels (its index in the 26-letter alphabet)
TONIC_TARGETS = [ord(c) - ord("a") for c in CLASSES]
ORIENTATIONS = ("spikingjelly", "tonic", "raw")
OUTER = ("ICCV2019_DVS_dataset.zip", "ASLDVS.zip")
CHUNK = 500
FIELDS = ("x", "y", "ts", "pol")
#: SpikingJelly's ``resource_url_md5()`` (it checks no md5: the Dropbox zip changes)
RESOURCES = (("ICCV2019_DVS_dataset.zip",
              "https://www.dropbox.com/sh/ibq0jsicatn7l6r/AACNrNELV56rs1YInMWUs9CAa?dl=0", None),)
#: Tonic's download of the same folder (name, url, md5)
TONIC_RESOURCE = ("ASLDVS.zip",
                  "https://www.dropbox.com/sh/ibq0jsicatn7l6r/AACNrNELV56rs1YInMWUs9CAa?dl=1",
                  "33f8b87bf45edc0bfed0de41822279b9")
_INNER = re.compile(r"(?:^|/)yin[^/]*?([a-z])\.zip$", re.IGNORECASE)


def inner_zip_name(letter: str) -> str:
    return f"Yin Bi - {letter}.zip"


class Source(NamedTuple):
    """Where one letter's files are: ``kind`` ``"dir"`` (a folder), ``"zip"`` (a zip file) or
    ``"nested"`` (member ``inner`` of the zip file ``path``; stored without compression, its
    bytes are ``[offset, offset + size)`` of that file, else ``offset`` is -1)."""

    kind: str
    path: str
    inner: str = ""
    offset: int = -1
    size: int = 0


# -- reading a zip inside a zip --------------------------------------------------------------

def stored_offset(fh, info: zipfile.ZipInfo) -> int:
    """Byte offset of the data of member ``info`` in the open zip file ``fh``."""
    fh.seek(info.header_offset)
    head = fh.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header of member {info.filename!r}")
    n, e = struct.unpack("<HH", head[26:30])
    return info.header_offset + 30 + n + e


def open_zip(src: Source) -> zipfile.ZipFile:
    """The zip of a ``"zip"`` or ``"nested"`` source, opened for reading: a stored inner zip
    as a window of the outer file (nothing copied), a compressed one inflated into memory."""
    if src.kind == "zip":
        return zipfile.ZipFile(src.path)
    if src.offset < 0:
        with zipfile.ZipFile(src.path) as outer:
            return zipfile.ZipFile(io.BytesIO(outer.read(src.inner)))
    return zipfile.ZipFile(io.BufferedReader(FileWindow(src.path, src.offset, src.size),
                                             1 << 16))


def _where(src: Source, name: str) -> str:
    if src.kind == "dir":
        return str(Path(src.path) / name)
    return f"{src.path}:{src.inner + ':' if src.inner else ''}{name}"


# -- one .mat sample -------------------------------------------------------------------------

def _bad(where: str, message: str) -> FormatError:
    return FormatError(where, None, message)


def _column(m, key: str, where: str) -> np.ndarray:
    a = np.asarray(m[key])
    if a.dtype.kind not in "biuf":
        raise _bad(where, f"field {key!r} is {a.dtype}, not numeric")
    return a.reshape(-1)


def read_mat(data, where: str) -> dict:
    """The variables of one ``.mat`` file held in memory: :func:`evframes.formats.mat5.
    read_vectors` (numeric vectors), else (anything it leaves aside) ``scipy.io.loadmat``;
    the same values and dtypes either way."""
    try:
        return mat5.read_vectors(data, where)
    except mat5.Unsupported:
        pass
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError
    try:
        return loadmat(io.BytesIO(data))
    except NotImplementedError:
        raise _bad(where, "a MATLAB 7.3 (HDF5) .mat file; ASL-DVS files are MATLAB 5/7 "
                          "files (scipy.io.loadmat)") from None
    except (MatReadError, ValueError, TypeError, OSError, EOFError, struct.error) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise _bad(where, f"not a readable MATLAB .mat file ({why})") from None


def _fields(m, where: str):
    """``x, y, ts, pol`` of a file's variables as 1-D numeric arrays of one length."""
    missing = [k for k in FIELDS if k not in m]
    if missing:
        raise _bad(where, f"no field(s) {', '.join(missing)} (an ASL-DVS .mat holds x, y, ts, "
                          f"pol)")
    x, y, ts, pol = (_column(m, k, where) for k in FIELDS)
    if not len(x) == len(y) == len(ts) == len(pol):
        raise _bad(where, f"fields of unequal length (x {len(x)}, y {len(y)}, ts {len(ts)}, "
                          f"pol {len(pol)})")
    return x, y, ts, pol


def _oriented(fields, where: str, orientation: str) -> Events:
    x, y, ts, pol = fields
    cols = []
    for key, a in zip(FIELDS, (x, y, ts, pol)):
        if a.dtype.kind == "f" and (not np.all(np.isfinite(a))
                                    or not np.array_equal(a, np.floor(a))):
            unit = "microseconds" if key == "ts" else "numbers"
            raise _bad(where, f"field {key!r} holds non-integer values (expected whole {unit})")
        cols.append(a.astype(np.int64))
    x, y, t, p = cols
    if orientation == "spikingjelly":
        x, y = (SENSOR_SIZE[0] - 1) - x, (SENSOR_SIZE[1] - 1) - y
    elif orientation == "tonic":
        y = (SENSOR_SIZE[1] - 1) - y
    elif orientation != "raw":
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    return Events(t=t, x=x, y=y, p=p)


def mat_events(data, where: str, orientation: str = "spikingjelly") -> Events:
    """Events of one ASL-DVS ``.mat`` file held in memory (bytes), oriented (module
    docstring); int64 arithmetic, off-sensor values kept for :func:`drop_off_sensor`."""
    return _oriented(_fields(read_mat(data, where), where), where, orientation)


@njit(cache=True, nogil=True)
def _whole(v) -> bool:
    f = np.float64(v)  # NaN and infinities fail f - f == 0; beyond 2**53 not surely whole
    return f - f == 0.0 and f == np.floor(f) and abs(f) <= 9007199254740992.0


@njit(cache=True, nogil=True)
def _clean_events(x, y, ts, pol, flip_x, flip_y, t_o, x_o, y_o, p_o):
    """One pass of :func:`sample_events`' common case: writes the oriented events of one file
    (any numeric input dtypes) into ``t_o, x_o, y_o, p_o`` (int64, int16, int16, int8) and
    returns True if every value is whole, every event on the sensor with polarity 0 / 1 and
    ``ts`` never decreases; False as soon as one is not (the caller then takes the general
    path, which words the error or warning)."""
    W, H = 240, 180
    last = np.int64(0)
    for i in range(x.shape[0]):
        if not (_whole(x[i]) and _whole(y[i]) and _whole(ts[i]) and _whole(pol[i])):
            return False
        xi, yi, ti, pi = np.int64(x[i]), np.int64(y[i]), np.int64(ts[i]), np.int64(pol[i])
        if flip_x:
            xi = W - 1 - xi
        if flip_y:
            yi = H - 1 - yi
        if xi < 0 or xi >= W or yi < 0 or yi >= H or pi < 0 or pi > 1 or (i and ti < last):
            return False
        last = ti
        t_o[i], x_o[i], y_o[i], p_o[i] = ti, xi, yi, pi
    return True


def sample_events(data, where: str, orientation: str, warnings: List[str]) -> Events:
    """The stored events of one ``.mat`` file held in memory: :func:`mat_events`, off-sensor
    events dropped and time sorted, each with a warning in ``warnings``. A file without any of
    that (the common case) takes one Numba pass; the result is the same either way."""
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    fields = _fields(read_mat(data, where), where)
    n = fields[0].shape[0]
    if all(a.dtype.isnative for a in fields):
        out = Events(t=np.empty(n, T_DTYPE), x=np.empty(n, XY_DTYPE), y=np.empty(n, XY_DTYPE),
                     p=np.empty(n, P_DTYPE))
        if _clean_events(*fields, orientation == "spikingjelly", orientation != "raw",
                         out["t"], out["x"], out["y"], out["p"]):
            return out
    ev = drop_off_sensor(_oriented(fields, where, orientation), SENSOR_SIZE, where, warnings)
    return ensure_sorted(make_events(ev["t"], ev["x"], ev["y"], ev["p"]), where, warnings)


def open_members(src: Source) -> ZipMembers:
    """The members of a ``"zip"`` or ``"nested"`` source for :class:`~evframes.raw.zip_members.
    ZipMembers` reads (thread-safe, one ``pread`` + one inflate each): a stored inner zip as a
    window of the outer file, a compressed one inflated into memory."""
    if src.kind == "zip":
        return ZipMembers(path=src.path)
    if src.offset >= 0:
        return ZipMembers(path=src.path, offset=src.offset, size=src.size)
    with ZipMembers(path=src.path) as outer:
        return ZipMembers(outer.read(src.inner))


def _member(zm, src: Source, name: str, orientation: str):
    """``(events, warnings)`` of one member (a file of a ``"dir"`` source when ``zm`` is
    None)."""
    where = _where(src, name)
    warnings: List[str] = []
    try:
        data = Path(where).read_bytes() if zm is None else zm.read(name)
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
        raise DatasetError(f"{src.path}: cannot read archive member ({e})") from None
    ev = sample_events(data, where, orientation, warnings)
    if len(ev) == 0:
        warnings.append(f"{where}: sample holds no events; kept as an empty sample")
    return ev, warnings


def decode_mat_members(src: Source, names: List[str], label: int, orientation: str,
                       job_name: str) -> JobResult:
    """One job: the ``.mat`` members ``names`` of one letter's source, as samples (read with
    :class:`~evframes.raw.zip_members.ZipMembers`: one ``pread`` and one inflate each, no
    ``zipfile`` stream). One thread: the members are small, so threads inflating them would
    mostly wait for the GIL between their inflates (slower here than one thread)."""
    zm = None
    try:
        if src.kind != "dir":
            zm = open_members(src)
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
        raise DatasetError(f"{src.path}: cannot read archive member ({e})") from None
    samples, warnings = [], []
    try:
        for name in names:
            ev, w = _member(zm, src, name, orientation)
            warnings.extend(w)
            source = name if src.kind != "dir" else f"{Path(src.path).name}/{name}"
            samples.append((ev, label, {"source": source}))
    finally:
        if zm is not None:
            zm.close()
    return pack_samples(job_name, samples, warnings)


# -- the layout ------------------------------------------------------------------------------

class ASLDVSRaw(ClassFolderRaw):
    """ASL-DVS under ``root`` (see the module docstring).

    Parameters
    ----------
    root : path
        Dataset root.
    train_ratio : float
        Per-letter train fraction of the ratio split (default 0.9).
    orientation : {"spikingjelly", "tonic", "raw"}
        Coordinate convention (default SpikingJelly's).
    whole : bool
        One split ``"all"`` instead of train/test.
    """

    name = "asldvs"
    sensor_size = SENSOR_SIZE
    meta_columns = {"source": str}
    resources = RESOURCES
    chunk = CHUNK

    def __init__(self, root, train_ratio: float = 0.9, orientation: str = "spikingjelly",
                 whole: bool = False):
        super().__init__(root, train_ratio, whole)
        if orientation not in ORIENTATIONS:
            raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
        self.orientation = orientation
        self._sources: Dict[str, Source] = {}
        self._outer: Optional[Path] = None
        nested: Optional[Dict[str, Source]] = None
        for c in CLASSES:
            found = roots.find_item(self.root, self.name, c, inner_zip_name(c))
            if found is not None:
                self._sources[c] = Source("zip" if found.is_archive else "dir", str(found.path))
                continue
            if nested is None:
                nested = self._outer_members()
            if c in nested:
                self._sources[c] = nested[c]
        missing = [c for c in CLASSES if c not in self._sources]
        if len(missing) == len(CLASSES):
            raise self.missing(
                f"ASL-DVS not found (looked for {roots.describe(self.name, None, OUTER[0])} or "
                f"{OUTER[1]}, the letter zips 'Yin Bi - <letter>.zip' or letter folders "
                f"a/ ... y/; SpikingJelly points at the OpenI mirror: `openi dataset download "
                f"OpenI/ASLDVS`, then unzip ASLDVS.zip)", [OUTER[0]])
        if missing:
            raise DatasetError(f"{self.root}: ASL-DVS letter(s) missing: {', '.join(missing)} "
                               f"(no folder <letter>/, no '{inner_zip_name('<letter>')}' and "
                               f"not in {self._outer or 'a download zip'})")

    def _outer_members(self) -> Dict[str, Source]:
        """``{letter: nested source}`` of the download zip, if one is found."""
        for name in OUTER:
            found = roots.find_item(self.root, self.name, None, name)
            if found is not None:
                self._outer = found.path
                break
        if self._outer is None:
            return {}
        out: Dict[str, Source] = {}
        try:
            with zipfile.ZipFile(self._outer) as zf, open(self._outer, "rb") as fh:
                for info in zf.infolist():
                    m = _INNER.search(info.filename)
                    c = m.group(1).lower() if m else ""
                    if info.is_dir() or c not in CLASSES or c in out:
                        continue
                    stored = info.compress_type == zipfile.ZIP_STORED
                    out[c] = Source("nested", str(self._outer), info.filename,
                                    stored_offset(fh, info) if stored else -1,
                                    info.compress_size)
        except (zipfile.BadZipFile, OSError) as e:
            raise DatasetError(f"{self._outer}: not a readable zip archive ({e})") from None
        return out

    @property
    def classes(self) -> List[str]:
        return list(CLASSES)

    def options(self):
        return {**super().options(), "orientation": self.orientation}

    def source_files(self) -> List[Path]:
        out = set()
        for s in self._sources.values():
            if s.kind == "dir":
                out.update(p for p in Path(s.path).rglob("*") if p.is_file())
            else:
                out.add(Path(s.path))
        return sorted(out)

    def _members(self, c: str) -> List[str]:
        src = self._sources[c]
        if src.kind == "dir":
            names = [str(p.relative_to(src.path)).replace("\\", "/")
                     for p in Path(src.path).rglob("*.mat") if p.is_file()]
            bad = [n for n in names if "/" in n]
        else:
            try:
                with open_zip(src) as zf:
                    names = [i.filename for i in zf.infolist()
                             if not i.is_dir() and i.filename.lower().endswith(".mat")]
            except (zipfile.BadZipFile, OSError, KeyError) as e:
                raise DatasetError(f"{_where(src, '')}: not a readable zip archive "
                                   f"({e})") from None
            bad = [n for n in names if n.split("/")[-2:-1] != [c]]
        if bad:
            raise DatasetError(f"{_where(src, bad[0])}: unexpected member (expected "
                               f"{c}/<name>.mat for letter {c!r})")
        if not names:
            raise DatasetError(f"{_where(src, '')}: no .mat recordings of letter {c!r} found")
        return sorted(names, key=sj_name_key)

    def class_lists(self) -> Dict[str, List[str]]:
        return {c: self._members(c) for c in CLASSES}

    def chunk_size(self, cls: str) -> int:
        src = self._sources[cls]
        if src.kind == "nested" and src.offset < 0:  # a compressed inner zip: inflated once
            return 1 << 30                             # per job, so one job per split
        return self.chunk

    def chunk_job(self, name: str, cls: str, members: List[str]) -> Job:
        return Job(name, decode_mat_members, (self._sources[cls], members,
                                              CLASSES.index(cls), self.orientation, name))


__all__ = ["ASLDVSRaw", "CLASSES", "TONIC_TARGETS", "SENSOR_SIZE", "ORIENTATIONS", "RESOURCES",
           "TONIC_RESOURCE", "mat_events", "sample_events", "read_mat", "decode_mat_members",
           "open_zip", "open_members", "stored_offset", "Source", "inner_zip_name", "FileWindow"]
