"""N-CARS (Sironi et al. 2018, the HATS paper): cars and background, Prophesee DAT (ATIS).

Raw layout under ``root`` (facts from Tonic's ``NCARS``, Tonic 1.0.x: it was removed in Tonic
1.0.10 with its ``loris`` reader; SpikingJelly has no N-CARS). The download
``Prophesee_Dataset_n_cars.zip`` holds ``n-cars_train.zip`` and ``n-cars_test.zip``, which
extract to ``train/`` and ``test/``, each with the class folders ``cars/`` and ``background/``
of one ``.dat`` file per sample (``obj_NNNNNN_td.dat``). Per split evframes reads the first of:

- the extracted folder ``train/`` (``root/train/``; ``root/extract/train/`` in SpikingJelly's
  layout; Tonic's ``save_to/NCARS/train/``),
- the split's zip ``n-cars_train.zip`` in the root (or ``download/``),
- that zip inside the download ``Prophesee_Dataset_n_cars.zip`` (root or ``download/``), read in
  place: a stored inner zip is a window of the outer file, a compressed one is inflated into
  memory once (then one job per split).

Each ``.dat`` is a Prophesee DAT file (``% Data file containing ... Event2dE events``,
``% Version 2``, type 0x00, 8-byte records ``u32 t, u32 w``: ``x = w & 0x3FFF``,
``y = (w >> 14) & 0x3FFF``, ``p = w >> 28``), read by :func:`evframes.formats.
decode_prophesee_dat_bytes` (checked on the real clip in ``shared/data/real/prophesee``: 4407
events, x 0..53, y 1..60, t 0..99937 us). Timestamps are kept as stored (microseconds, about
100 ms per sample; sorted with a warning if they ever decrease).

Classes (:data:`CLASSES`): ``background`` = 0, ``cars`` = 1, the folder names sorted (Tonic's
``class_dict``; Tonic's ``classes`` attribute names them ``["background", "car"]``). Split: the
official one, 15422 train (7940 cars, 7482 background) and 8607 test (4396 cars, 4211
background) samples as published (Tonic only checks that at least 8000 ``.dat`` files exist).
Samples are stored by class, then file name (Tonic: ``os.walk`` order, folders sorted, files in
the file system's order). Metadata: ``source`` (``<split>/<class>/<file>.dat``).

Sensor size policy: every sample is a crop of the ATIS's 304 x 240 field around one object, of
its own size (the largest crops are 120 x 100 pixels; Tonic 1.0.x declared ``sensor_size =
None``: "different for every recording"). evframes stores the events at their recorded
coordinates and frames use one fixed sensor of 120 x 100 pixels (``W x H``,
``get_H_W() == (100, 120)``), so every frame has the same shape; a crop smaller than it leaves
the rest of the frame empty. Events off 120 x 100 are dropped with a warning.

Tonic 1.0.x differences (not reproduced): it decoded through ``loris`` and then set
``y -= 140`` and ``y = y.max() - y`` per sample (in uint16: the real clip's y 1..60 would wrap).
"""
from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import Dict, Iterator, List, Optional, Tuple

from ..errors import DatasetError
from . import roots
from .asl_dvs import Source, open_zip
from .base import Job, JobResult, RawDataset, chunked, drop_off_sensor, ensure_sorted, pack_samples
from .truncation import other_warnings, truncation

SENSOR_SIZE = (120, 100)  # (W, H) pixels: the largest crop
CLASSES = ["background", "cars"]
#: Tonic 1.0.x's ``NCARS.classes`` (its targets are the same 0 / 1)
TONIC_CLASSES = ["background", "car"]
SPLIT_DIRS = {"train": "train", "test": "test"}
SPLIT_ZIPS = {"train": "n-cars_train.zip", "test": "n-cars_test.zip"}
OUTER = "Prophesee_Dataset_n_cars.zip"
CHUNK = 1000  # files per job
#: the official download ``(name, url, md5)`` (Tonic 1.0.x's values)
RESOURCES = ((OUTER, "http://www.prophesee.ai/resources/Prophesee_Dataset_n_cars.zip",
              "553ce464d6e5e617b3c21ce27c19368e"),)


def where(src: Source, name: str) -> str:
    """How a member of ``src`` is named in messages (``archive:inner:member`` or a path)."""
    if src.kind == "dir":
        return str(Path(src.path) / name)
    return f"{src.path}:{src.inner + ':' if src.inner else ''}{name}"


def dat_events(data, at: str, warnings: List[str]):
    """Events of one N-CARS ``.dat`` file held in memory: decoded (a record cut at the end is
    left out with a TruncatedFileWarning), sorted if time decreases, off-sensor events
    dropped (both with a warning naming ``at``)."""
    from ..formats import decode_prophesee_dat_bytes
    ev = decode_prophesee_dat_bytes(data, name=at, on_truncated="warn", validate=False)
    ev = drop_off_sensor(ev, SENSOR_SIZE, at, warnings)
    return ensure_sorted(ev, at, warnings)


def decode_dat_members(src: Source, names: List[str], labels: List[int], sources: List[str],
                       job_name: str) -> JobResult:
    """One job: the ``.dat`` members ``names`` of one split's source, as samples (metadata
    ``source``: ``sources``)."""
    import warnings as _w
    samples, warnings, cut = [], [], []
    zf = None
    try:
        with _w.catch_warnings(record=True) as caught:
            _w.simplefilter("always")
            if src.kind != "dir":
                zf = open_zip(src)
            for i, (name, label, source) in enumerate(zip(names, labels, sources)):
                at = where(src, name)
                seen = len(caught)
                data = Path(at).read_bytes() if zf is None else zf.read(name)
                ev = dat_events(data, at, warnings)
                short = truncation(caught[seen:], name, [i])
                cut.extend(short)
                if len(ev) == 0 and not short:
                    warnings.append(f"{at}: sample holds no events; kept as an empty sample")
                samples.append((ev, label, {"source": source}))
        warnings.extend(other_warnings(caught))
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DatasetError(f"{src.path}: cannot read archive member ({e})") from None
    finally:
        if zf is not None:
            zf.close()
    return pack_samples(job_name, samples, warnings, cut)


def source_name(split: str, member: str) -> str:
    """``<split>/<class>/<file>`` of a member (whatever folders it sits in)."""
    parts = PurePosixPath(member).parts
    return "/".join((split, *parts[-2:]))


def dat_members(src: Source, split: str, classes: List[str], suffix: str = ".dat"
                ) -> List[Tuple[str, int]]:
    """``(member, label)`` of the ``<class>/<file>.dat`` files of a split source (any folder
    above the class folder), sorted by label, then member name; a file in a folder that is
    not a class raises :class:`DatasetError` naming it."""
    if src.kind == "dir":
        names = [str(p.relative_to(src.path)).replace("\\", "/")
                 for p in Path(src.path).rglob(f"*{suffix}") if p.is_file()]
    else:
        try:
            with open_zip(src) as zf:
                names = [i.filename for i in zf.infolist()
                         if not i.is_dir() and i.filename.lower().endswith(suffix)]
        except (zipfile.BadZipFile, OSError, KeyError) as e:
            raise DatasetError(f"{where(src, '')}: not a readable zip archive ({e})") from None
    out = []
    for n in names:
        parts = n.split("/")
        if len(parts) < 2 or parts[-2] not in classes:
            raise DatasetError(f"{where(src, n)}: unexpected member (expected "
                               f"{split}/<class>/<file>{suffix}, class one of "
                               f"{', '.join(classes)})")
        out.append((n, classes.index(parts[-2])))
    if not out:
        raise DatasetError(f"{where(src, '')}: no {suffix} recordings found (expected "
                           f"{split}/<class>/<file>{suffix})")
    return sorted(out, key=lambda e: (e[1], e[0]))


def outer_member(outer: Path, inner: str) -> Optional[str]:
    """The member of zip ``outer`` whose file name is ``inner`` (at any depth), or None."""
    try:
        with zipfile.ZipFile(outer) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError(f"{outer}: not a readable zip archive ({e})") from None
    hits = [n for n in names if n.rsplit("/", 1)[-1] == inner]
    return hits[0] if hits else None


def nested_is_compressed(src: Source) -> bool:
    """Whether a ``"nested"`` source's inner zip is compressed in the outer one (it is then
    inflated into memory once per job, so its split is one job)."""
    if src.kind != "nested":
        return False
    with zipfile.ZipFile(src.path) as zf:
        return zf.getinfo(src.inner).compress_type != zipfile.ZIP_STORED


class NCARSRaw(RawDataset):
    """N-CARS under ``root`` (see the module docstring): the official train / test split."""

    name = "ncars"
    sensor_size = SENSOR_SIZE
    meta_columns = {"source": str}
    resources = RESOURCES

    def __init__(self, root):
        super().__init__(root)
        self._sources: Dict[str, Source] = {}
        outer = roots.find_item(self.root, self.name, None, OUTER)
        for split in self.splits:
            d, z = SPLIT_DIRS[split], SPLIT_ZIPS[split]
            found = roots.find_item(self.root, self.name, d, z, complete=_has_class_folder)
            if found is not None:
                self._sources[split] = Source("zip" if found.is_archive else "dir",
                                              str(found.path))
            elif outer is not None:
                inner = outer_member(outer.path, z)
                if inner is not None:
                    self._sources[split] = Source("nested", str(outer.path), inner)
        missing = [s for s in self.splits if s not in self._sources]
        if missing:
            looked = "; ".join(roots.describe(self.name, SPLIT_DIRS[s], SPLIT_ZIPS[s])
                               for s in missing)
            what = ("N-CARS not found" if len(missing) == len(self.splits) else
                    f"N-CARS {' and '.join(missing)} split missing")
            raise self.missing(f"{what} (looked for {looked}, or "
                               f"{roots.describe(self.name, None, OUTER)} holding "
                               f"{', '.join(SPLIT_ZIPS[s] for s in missing)})", [OUTER])
        self._placements: Dict[str, Tuple[str, int]] = {}

    @property
    def classes(self) -> List[str]:
        return list(CLASSES)

    def source_files(self) -> List[Path]:
        out = set()
        for s in self._sources.values():
            if s.kind == "dir":
                out.update(p for p in Path(s.path).rglob("*") if p.is_file())
            else:
                out.add(Path(s.path))
        return sorted(out)

    def jobs(self) -> Iterator[Job]:
        for split in self.splits:
            src = self._sources[split]
            entries = dat_members(src, split, CLASSES)
            size = len(entries) if nested_is_compressed(src) else CHUNK
            for k, chunk in enumerate(chunked(entries, size)):
                name = f"{split}:{k}"
                self._placements[name] = (split, k)
                yield Job(name, decode_dat_members,
                          (src, [e[0] for e in chunk], [e[1] for e in chunk],
                           [source_name(split, e[0]) for e in chunk], name))

    def placement(self, job_name: str) -> Optional[Tuple[str, int]]:
        return self._placements.get(job_name)


def _has_class_folder(path: Path) -> bool:
    return any((path / c).is_dir() for c in CLASSES)


__all__ = ["NCARSRaw", "CLASSES", "TONIC_CLASSES", "SENSOR_SIZE", "RESOURCES", "OUTER",
           "SPLIT_ZIPS", "dat_events", "decode_dat_members", "dat_members", "where",
           "outer_member", "nested_is_compressed", "source_name"]
