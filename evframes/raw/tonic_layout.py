"""Tonic's folder layouts (Tonic 1.7) read in place, for :mod:`evframes.tonic`'s datasets.

A Tonic dataset lives in ``save_to/<ClassName>/`` (the Tonic class name: ``NMNIST``,
``DVSGesture``, ``CIFAR10DVS``). :data:`TONIC_LAYOUTS` records, per dataset, the archive Tonic
downloads into that folder, the folder it extracts to, and where the archive comes from (URL and
md5, as facts: evframes never downloads, :func:`missing_error` says where to get the files).

The Tonic names of N-MNIST's archives are also registered in evframes' root-layout table
(:data:`TONIC_ROOTS`), so ``evframes extract`` and :mod:`evframes.datasets` read a Tonic
``save_to/NMNIST`` folder too.

- N-MNIST: ``train.zip`` / ``test.zip``, extracted to ``Train/<digit>/<id>.bin`` /
  ``Test/...`` (the extracted folder is read when present, as Tonic reads it, else the zip in
  place; our own ``Train.zip`` name is accepted too). :class:`TonicNMNISTRaw` is the registry's
  N-MNIST reader over these sources: same dataset name, same events; samples in Tonic's order
  (digit folder, then file name as a string, which equals evframes' natural order for the real
  zero-padded names; when they differ the order is recorded in the options, so a store of one
  order never serves the other).
- DVS128 Gesture: Tonic's own *preprocessed* release, ``ibmGestureTrain.tar.gz`` /
  ``ibmGestureTest.tar.gz`` extracted to ``ibmGestureTrain/userNN_<lighting>/<label>.npy``: one
  ``[N, 4]`` array (x, y, p, t in milliseconds) per sample, already cut from the recordings.
  :class:`TonicDVSGestureRaw` reads the folder (samples sorted by user folder in natural order,
  then label; Tonic's order is the file system's) or the archive in place (samples in the
  archive's member order: sorting would hold the whole split in memory). ``t`` becomes
  ``t_ms * 1000`` computed in the file's dtype, then int64 microseconds, as Tonic computes it.
- CIFAR10-DVS: ``CIFAR10DVS.zip`` holding the ten class archives ``airplane.zip`` ...
  ``truck.zip``, extracted to ``airplane/`` ... ``truck/`` of AEDAT 4 recordings (Tonic
  extracts both levels; the class archives are read in place). :class:`TonicCIFAR10DVSRaw`
  reads them as one split ``"all"`` (Tonic has no train/test split), classes in Tonic's order,
  files in natural order (Tonic's: the file system's), events as stored (Tonic's values). The
  original release's AEDAT 2.0 class archives in the same places are read too (upright).
"""
from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import DatasetError
from ..events import make_events
from .base import Job, JobResult, RawDataset, chunked, drop_off_sensor, natural_key, pack_samples
from .cifar10dvs import CLASSES as CIFAR_CLASSES
from .cifar10dvs import CIFAR10DVSRaw
from .nmnist import FolderSplitRaw
from .roots import RootLayout, register_layout
from .tarstream import iter_tar, open_gzip


@dataclass(frozen=True)
class TonicSource:
    """One archive of a Tonic layout: its file name, what it extracts to, where it comes from."""

    archive: str
    folder: str
    url: str
    md5: str


@dataclass(frozen=True)
class TonicLayout:
    """A dataset's Tonic layout under ``save_to/<folder>/``."""

    dataset: str                      # evframes registry name
    folder: str                       # Tonic's class name, the folder under save_to
    title: str
    sources: Dict[str, TonicSource]   # split -> archive ("all" for CIFAR10-DVS)


_MENDELEY = "https://data.mendeley.com/public-files/datasets/468j46mzdv/files/"
TONIC_LAYOUTS: Dict[str, TonicLayout] = {
    "nmnist": TonicLayout("nmnist", "NMNIST", "N-MNIST", {
        "train": TonicSource("train.zip", "Train", _MENDELEY + "39c25547-014b-4137-a934-"
                             "9d29fa53c7a0/file_downloaded", "20959b8e626244a1b502305a9e6e2031"),
        "test": TonicSource("test.zip", "Test", _MENDELEY + "05a4d654-7e03-4c15-bdfa-"
                            "9bb2bcbea494/file_downloaded", "69ca8762b2fe404d9b9bad1103e97832")}),
    "dvs128": TonicLayout("dvs128", "DVSGesture", "DVS128 Gesture (Tonic's preprocessed .npy)", {
        "train": TonicSource("ibmGestureTrain.tar.gz", "ibmGestureTrain",
                             "https://figshare.com/ndownloader/files/38022171",
                             "3a8f0d4120a166bac7591f77409cb105"),
        "test": TonicSource("ibmGestureTest.tar.gz", "ibmGestureTest",
                            "https://figshare.com/ndownloader/files/38020584",
                            "56070e45dadaa85fff82e0fbfbc06de5")}),
    "cifar10dvs": TonicLayout("cifar10dvs", "CIFAR10DVS", "CIFAR10-DVS", {
        "all": TonicSource("CIFAR10DVS.zip", "", "https://figshare.com/ndownloader/files/38023437",
                           "ce3a4a0682dc0943703bd8f749a7701c")}),
}


#: Tonic's names in evframes' root-layout table (:mod:`evframes.raw.roots`), so the registry's
#: raw readers (``evframes extract``, :mod:`evframes.datasets`) also find N-MNIST's archives
#: under Tonic's names in a ``save_to/NMNIST`` root; its extracted folders and CIFAR10-DVS's
#: class folders already have evframes' names
TONIC_ROOTS = register_layout(RootLayout(
    "tonic", "Tonic's layout", folder=None, archive=None,
    overrides={("nmnist", "archive", f"{s.folder}.zip"): (s.archive,)
               for s in TONIC_LAYOUTS["nmnist"].sources.values()}))

#: where the original CIFAR10-DVS release (AEDAT 2.0 class archives) is published
CIFAR_ORIGINAL = "https://figshare.com/articles/dataset/CIFAR10-DVS_New/4724671"


def missing_error(dataset: str, location, split: str, detail: str = "") -> DatasetError:
    """The one-line error where Tonic would download: what is missing, where to get it, where
    to put it."""
    lay = TONIC_LAYOUTS[dataset]
    src = lay.sources[split]
    if dataset == "cifar10dvs":
        return DatasetError(f"{location}: CIFAR10-DVS not found (neither airplane/ ... truck/ "
                            f"nor airplane.zip ... truck.zip){detail}; evframes never "
                            f"downloads: get {src.archive} from {src.url} (md5 {src.md5}, "
                            f"Tonic's AEDAT 4 release) and extract it in {location}/, or put "
                            f"the original release's class archives there (AEDAT 2.0, "
                            f"{CIFAR_ORIGINAL})")
    part = "" if split == "all" else f" {split} split"
    return DatasetError(f"{location}: {lay.title}{part} not found (neither {src.folder}/ nor "
                        f"{src.archive}){detail}; evframes never downloads: get {src.archive} "
                        f"from {src.url} (md5 {src.md5}) and put it in {location}/, extracted "
                        f"or not")


# -- N-MNIST -------------------------------------------------------------------------------

class TonicNMNISTRaw(FolderSplitRaw):
    """N-MNIST in Tonic's layout under ``root`` (= ``save_to/NMNIST``); ``need``: the split the
    caller reads (a missing one raises :func:`missing_error`). ``splits``: the splits present
    (both when both are, so the stores equal those of :class:`~evframes.raw.NMNISTRaw`)."""

    name = "nmnist"
    sensor_size = (34, 34)
    meta_columns = {"source": str}

    def __init__(self, root, need: str = "train"):
        RawDataset.__init__(self, root)
        lay = TONIC_LAYOUTS["nmnist"]
        if need not in lay.sources:
            raise ValueError(f"split must be one of {tuple(lay.sources)}, got {need!r}")
        self.split_dirs = {s: src.folder for s, src in lay.sources.items()}
        self._sources: Dict[str, Tuple[Path, bool]] = {}
        for split, src in lay.sources.items():
            folder = self.root / src.folder
            if folder.is_dir():
                self._sources[split] = (folder, False)
            else:
                for name in (src.archive, f"{src.folder}.zip"):
                    if (self.root / name).is_file():
                        self._sources[split] = (self.root / name, True)
                        break
        if need not in self._sources:
            raise missing_error("nmnist", self.root, need)
        self.splits = tuple(s for s in lay.sources if s in self._sources)
        self._placements: Dict[str, Tuple[str, int]] = {}
        self._lists: Dict[str, List[Tuple[str, int]]] = {}

    def _list(self, split: str) -> List[Tuple[str, int]]:
        if split not in self._lists:  # Tonic's order: digit folder, then name as a string
            self._lists[split] = sorted(super()._list(split), key=lambda e: (e[1], e[0]))
        return self._lists[split]

    def options(self):
        natural = all(self._list(s) == sorted(self._list(s), key=lambda e: (e[1],
                      natural_key(e[0]))) for s in self.splits)
        return {} if natural else {"sample_order": "tonic"}


# -- DVS128 Gesture (Tonic's preprocessed samples) ----------------------------------------

def _user_folder(folder: str, where: str) -> Tuple[int, str]:
    user, sep, lighting = folder.partition("_")
    if not sep or not user.startswith("user") or not user[4:].isdigit():
        raise DatasetError(f"{where}: folder {folder!r} is not named userNN_<lighting>")
    return int(user[4:]), lighting


def _npy_label(name: str, where: str) -> int:
    stem = name[:-4]
    if not stem.isdigit():
        raise DatasetError(f"{where}: sample file {name!r} is not named <label>.npy")
    return int(stem)


def npy_events(a: np.ndarray, where: str, warnings: List[str]):
    """Events of one Tonic DVSGesture ``[N, 4]`` array (x, y, p, t in ms), converted as Tonic
    converts them: ``t * 1000`` in the array's dtype, then each column cast (float -> int
    truncates, p -> bool). Events off the 128 x 128 sensor are dropped with a warning."""
    if a.ndim != 2 or a.shape[1] != 4 or a.dtype.kind not in "biuf":
        raise DatasetError(f"{where}: expected a numeric [N, 4] array (x, y, p, t in ms), "
                           f"found {a.dtype} {list(a.shape)}")
    t = (a[:, 3] * a.dtype.type(1000)).astype(np.int64)
    ev = make_events(t, a[:, 0].astype(np.int16), a[:, 1].astype(np.int16),
                     a[:, 2].astype(bool))
    return drop_off_sensor(ev, (128, 128), where, warnings)


def _load_npy(data, where: str) -> np.ndarray:
    try:
        return np.load(io.BytesIO(data) if isinstance(data, bytes) else data, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DatasetError(f"{where}: not a readable .npy array ({e})") from None


def decode_npy_samples(job_name: str, items: Sequence[Tuple[str, object, str, int, int, str]]
                       ) -> JobResult:
    """One job: ``items`` of ``(where, path or bytes, source, label, user, lighting)``;
    ``source`` (``userNN_<lighting>/<label>.npy``) is stored as the sample's metadata."""
    samples, warnings = [], []
    for where, data, source, label, user, lighting in items:
        ev = npy_events(_load_npy(data, where), where, warnings)
        if len(ev) == 0:
            warnings.append(f"{where}: sample holds no events; kept as an empty sample")
        samples.append((ev, label, {"source": source, "user": user, "lighting": lighting}))
    return pack_samples(job_name, samples, warnings)


class TonicDVSGestureRaw(RawDataset):
    """Tonic's preprocessed DVS128 Gesture under ``root`` (= ``save_to/DVSGesture``): per split
    the extracted ``ibmGesture<Split>/`` folder, else its ``.tar.gz`` read in place."""

    name = "dvs128"
    sensor_size = (128, 128)
    meta_columns = {"source": str, "user": int, "lighting": str}
    parallel_decode = False  # np.load is a copy: a pool would move the data twice
    CHUNK = 32

    def __init__(self, root, need: str = "train"):
        super().__init__(root)
        lay = TONIC_LAYOUTS["dvs128"]
        if need not in lay.sources:
            raise ValueError(f"split must be one of {tuple(lay.sources)}, got {need!r}")
        self._sources: Dict[str, Tuple[Path, bool]] = {}
        for split, src in lay.sources.items():
            if (self.root / src.folder).is_dir():
                self._sources[split] = (self.root / src.folder, False)
            elif (self.root / src.archive).is_file():
                self._sources[split] = (self.root / src.archive, True)
        if need not in self._sources:
            raise missing_error("dvs128", self.root, need)
        self.splits = tuple(s for s in lay.sources if s in self._sources)
        self._placements: Dict[str, Tuple[str, int]] = {}

    @property
    def classes(self) -> List[str]:
        from .dvs128 import CLASSES
        return list(CLASSES)

    def options(self):
        return {"layout": "tonic-npy"}

    def source_files(self) -> List[Path]:
        out = []
        for src, is_archive in self._sources.values():
            out.extend([src] if is_archive else sorted(p for p in src.rglob("*") if p.is_file()))
        return out

    def folder_entries(self, folder: Path) -> List[Tuple[str, Path, str, int, int, str]]:
        """``(where, path, source, label, user, lighting)`` of a split folder, sorted: user
        folder (natural order), then label."""
        out = []
        for p in folder.rglob("*.npy"):
            rel = p.relative_to(folder).parts
            where = str(p)
            if len(rel) != 2:
                raise DatasetError(f"{where}: expected userNN_<lighting>/<label>.npy below "
                                   f"{folder}")
            user, lighting = _user_folder(rel[0], where)
            out.append((where, p, f"{rel[0]}/{rel[1]}", _npy_label(rel[1], where), user,
                        lighting))
        if not out:
            raise DatasetError(f"{folder}: no userNN_<lighting>/<label>.npy samples found")
        out.sort(key=lambda e: (natural_key(e[2].split("/")[0]), e[3], e[2]))
        return out

    def jobs(self) -> Iterator[Job]:
        k = {s: 0 for s in self.splits}
        for split in self.splits:
            src, is_archive = self._sources[split]
            items = self._archive_items(src) if is_archive else iter(self.folder_entries(src))
            for chunk in _chunks(items, self.CHUNK):
                name = f"{split}:{k[split]}"
                self._placements[name] = (split, k[split])
                k[split] += 1
                yield Job(name, decode_npy_samples, (name, chunk))

    def _archive_items(self, archive: Path):
        where0 = str(archive)
        try:
            stream = open_gzip(archive)
        except (tarfile.TarError, OSError, RuntimeError, ValueError) as e:
            raise DatasetError(f"{where0}: not a readable tar.gz archive ({e})") from None
        n = 0
        with stream:
            try:
                for member, data in iter_tar(stream, lambda m: m.endswith(".npy")):
                    if data is None:
                        continue
                    parts = member.split("/")
                    where = f"{where0}:{member}"
                    if len(parts) < 2:
                        raise DatasetError(f"{where}: expected userNN_<lighting>/<label>.npy")
                    user, lighting = _user_folder(parts[-2], where)
                    n += 1
                    yield (where, data, f"{parts[-2]}/{parts[-1]}", _npy_label(parts[-1], where),
                           user, lighting)
            except (tarfile.TarError, EOFError, OSError, __import__("zlib").error) as e:
                raise DatasetError(f"{where0}: archive is truncated or corrupt ({e})") from None
        if n == 0:
            raise DatasetError(f"{where0}: no userNN_<lighting>/<label>.npy samples found")

    def placement(self, job_name: str) -> Optional[Tuple[str, int]]:
        return self._placements.get(job_name)


def _chunks(items, n: int):
    chunk = []
    for it in items:
        chunk.append(it)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- CIFAR10-DVS ---------------------------------------------------------------------------

class TonicCIFAR10DVSRaw(CIFAR10DVSRaw):
    """CIFAR10-DVS in Tonic's layout under ``root`` (= ``save_to/CIFAR10DVS``): the ten class
    folders (or class archives, read in place), read as one split ``"all"`` in class order
    (Tonic has no split), recordings in natural name order.

    Tonic's release holds AEDAT 4 recordings: their events are kept as stored, which is what
    Tonic returns. A class holding the original release's AEDAT 2.0 recordings instead is read
    as :class:`~evframes.raw.CIFAR10DVSRaw` reads it (``orientation``, default upright)."""

    splits = ("all",)

    def __init__(self, root, orientation: str = "spikingjelly"):
        root = Path(root)
        if not root.is_dir() or not any((root / c).is_dir() or (root / f"{c}.zip").is_file()
                                        for c in CIFAR_CLASSES):
            outer = root / TONIC_LAYOUTS["cifar10dvs"].sources["all"].archive
            detail = (f"; {outer.name} is there: extract it (it holds airplane.zip ... "
                      f"truck.zip, which are read in place)" if outer.is_file() else "")
            raise missing_error("cifar10dvs", root, "all", detail)
        super().__init__(root, orientation=orientation)
        self._lists: Dict[str, Tuple[str, List[str]]] = {}

    def _format_list(self, cls: str) -> Tuple[str, List[str]]:
        """``(format, recordings)`` of a class: AEDAT 2.0 files when there are any, else
        AEDAT 4 files (Tonic's release)."""
        if cls not in self._lists:
            from .base import list_members
            src, is_zip = self._sources[cls]
            names = list_members(src, is_zip)
            for fmt, suffix in (("aedat2", ".aedat"), ("aedat4", ".aedat4")):
                found = sorted((n for n in names if n.lower().endswith(suffix)), key=natural_key)
                if found:
                    self._lists[cls] = (fmt, found)
                    break
            else:
                raise DatasetError(f"{src}: no .aedat4 or .aedat recordings found")
        return self._lists[cls]

    def _list(self, cls: str) -> List[str]:
        return self._format_list(cls)[1]

    def options(self):
        formats = sorted({self._format_list(c)[0] for c in CIFAR_CLASSES})
        return {**super().options(), "split": "all", "formats": formats}

    def jobs(self) -> Iterator[Job]:
        from functools import partial

        from .base import decode_members
        from .cifar10dvs import CHUNK, SENSOR_SIZE, orient_events
        k = 0
        for ci, c in enumerate(CIFAR_CLASSES):
            src, is_zip = self._sources[c]
            fmt, names = self._format_list(c)
            orient = (partial(orient_events, orientation=self.orientation)
                      if fmt == "aedat2" else None)
            for chunk in chunked(names, CHUNK):
                name = f"all:{k}"
                self._placements[name] = ("all", k)
                k += 1
                yield Job(name, decode_members, (str(src), list(chunk), [ci] * len(chunk),
                                                 is_zip, fmt, SENSOR_SIZE, name, orient))


__all__ = ["TONIC_LAYOUTS", "TONIC_ROOTS", "TonicLayout", "TonicSource", "missing_error",
           "TonicNMNISTRaw", "TonicDVSGestureRaw", "TonicCIFAR10DVSRaw", "npy_events",
           "decode_npy_samples"]
