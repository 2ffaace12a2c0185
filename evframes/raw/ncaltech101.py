"""N-Caltech101 (Orchard et al. 2015): raw layout, classes, sensor size policy and split.

Raw layout under ``root`` (the archive is read in place, members straight from the zip)::

    root/Caltech101.zip     containing Caltech101/<class>/image_NNNN.bin
    root/Caltech101/        or the extracted folder, <class>/image_NNNN.bin

or SpikingJelly's ``root/download/Caltech101.zip`` / ``root/extract/Caltech101/`` (see
:mod:`evframes.raw.roots`), or Tonic's ``save_to/NCALTECH101/``: ``Caltech101/`` or its download
``N-Caltech101-archive.zip`` (the same file as ``Caltech101.zip``: same md5). The official
files: :data:`RESOURCES` (SpikingJelly's ``resource_url_md5()``: ``Caltech101.zip``, its
annotations and two read-me files; a web page, nothing downloads them; only ``Caltech101.zip``
is read).

Each ``.bin`` is one sample in the ATIS 40-bit format (microseconds; ``y == 240`` records are
timestamp-overflow markers, removed as Tonic does, see :mod:`evframes.formats.atis_bin`).

Classes (:data:`CLASSES`, 101): the Caltech-101 categories without ``Faces`` (the dataset keeps
``Faces_easy``), i.e. 100 object classes plus ``BACKGROUND_Google``, which is a class like the
others here as in both peers. Label = position of the class folder in :data:`CLASSES`, the
folder names sorted as Python strings (upper case first: ``BACKGROUND_Google``,
``Faces_easy``, ``Leopards``, ``Motorbikes``, ``accordion``, ...): SpikingJelly's labels
(its ``DatasetFolder`` sorts the folders it finds the same way). A folder of another name
fails the extraction (naming it); classes absent from the archive keep their label (where
SpikingJelly's labels would shift).

Peers: SpikingJelly's ``NCaltech101`` returns the whole set (8709 samples in Tonic's count:
its completeness check asks for 8709 ``.bin`` files) in that order, labels 0..100, events as
its ``load_ATIS_bin`` decodes them (overflow markers kept as events with ``y = 240``, no
+8192 us: the real recordings last about 0.3 s, far below the 8.4 s where markers appear).
Tonic's ``NCALTECH101`` has the same samples but its target is the class *name* (a string),
its events are shifted so each sample starts at ``x = 0, y = 0`` (``x -= x.min()``,
``y -= y.min()``), and it declares no sensor size.

Sensor size policy: recordings differ in extent (each image was scaled to the ATIS field of
view; the real ``Faces_easy/image_0001`` spans x 0..150, y 0..172), so frames use one fixed
sensor of 240 x 180 pixels (``W x H``, SpikingJelly's ``get_H_W() == (180, 240)``), events
at their recorded coordinates (not shifted), a recording smaller than the sensor leaving the
rest of the frame empty. Events off 240 x 180 are dropped with a warning.

Split: none official. By default, per class, the first
``math.ceil(n * train_ratio)`` recordings in SpikingJelly's order (file name sorted as a
string) are train, the rest test, so ``train=True`` equals SpikingJelly's
``split_to_train_test_set(train_ratio, NCaltech101(root), 101)`` (its non-random split) sample
for sample. ``whole=True``: one split ``"all"`` (Tonic's view). The torch class
(:class:`evframes.datasets.NCaltech101`) also gives the whole set in SpikingJelly's order
without ``train``. Metadata: ``source`` (path inside the archive or folder).
"""
from __future__ import annotations

import math
from pathlib import Path, PurePosixPath
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from ..errors import DatasetError
from . import roots
from .base import Job, RawDataset, chunked, decode_members, list_members

SENSOR_SIZE = (240, 180)  # (W, H) pixels
#: class folders sorted as Python strings (SpikingJelly's label order)
CLASSES = sorted((
    "accordion airplanes anchor ant BACKGROUND_Google barrel bass beaver binocular bonsai brain "
    "brontosaurus buddha butterfly camera cannon car_side ceiling_fan cellphone chair "
    "chandelier cougar_body cougar_face crab crayfish crocodile crocodile_head cup dalmatian "
    "dollar_bill dolphin dragonfly electric_guitar elephant emu euphonium ewer Faces_easy ferry "
    "flamingo flamingo_head garfield gerenuk gramophone grand_piano hawksbill headphone "
    "hedgehog helicopter ibis inline_skate joshua_tree kangaroo ketch lamp laptop Leopards "
    "llama lobster lotus mandolin mayfly menorah metronome minaret Motorbikes nautilus octopus "
    "okapi pagoda panda pigeon pizza platypus pyramid revolver rhino rooster saxophone schooner "
    "scissors scorpion sea_horse snoopy soccer_ball stapler starfish stegosaurus stop_sign "
    "strawberry sunflower tick trilobite umbrella watch water_lilly wheelchair wild_cat "
    "windsor_chair wrench yin_yang").split())
TOP = "Caltech101"
TONIC_ARCHIVE = "N-Caltech101-archive.zip"  # Tonic's name of the download (Caltech101.zip)
CHUNK = 100  # files per job
_PAGE = "https://www.garrickorchard.com/datasets/n-caltech101"
#: the official files ``(name, url, md5)`` (facts from SpikingJelly's ``resource_url_md5()``)
RESOURCES = (("Caltech101.zip", _PAGE, "66201824eabb0239c7ab992480b50ba3"),
             ("Caltech101_annotations.zip", _PAGE, "25e64cea645291e368db1e70f214988e"),
             ("ReadMe(Caltech101)-SINAPSE-G.txt", _PAGE, "d464b81684e0af3b5773555eb1d5b95c"),
             ("ReadMe(Caltech101).txt", _PAGE, "33632a7a5c46074c70509f960d0dd5e5"))


def sj_name_key(name: str) -> str:
    """Sort key of a recording in SpikingJelly's order: its file name as SpikingJelly stores
    it (``<stem>.npz``), compared as a string."""
    return PurePosixPath(name).stem + ".npz"


def ratio_split(names: Sequence[str], train_ratio: float) -> Tuple[List[str], List[str]]:
    """``(train, test)`` of one class's recordings (in SpikingJelly's order): the first
    ``math.ceil(len(names) * train_ratio)`` are train, SpikingJelly's
    ``split_to_train_test_set`` rule (the same float product, so the same count)."""
    k = math.ceil(len(names) * train_ratio)
    return list(names[:k]), list(names[k:])


def check_ratio(train_ratio: float) -> float:
    if not 0.0 < train_ratio < 1.0:
        raise ValueError(f"train_ratio must be in (0, 1), got {train_ratio}")
    return float(train_ratio)


class ClassFolderRaw(RawDataset):
    """Shared logic of datasets laid out as ``<class>/<file>`` with no official split (one
    source per dataset, or per class): a per-class ratio split, or one split ``"all"``
    (``whole=True``).
    Subclasses provide :meth:`class_lists` (``{class: [member names]}`` in SpikingJelly's
    order) and :meth:`chunk_job`."""

    chunk: int = CHUNK

    def __init__(self, root, train_ratio: float = 0.9, whole: bool = False):
        super().__init__(root)
        self.train_ratio = check_ratio(train_ratio)
        self.whole = bool(whole)
        self.splits = ("all",) if self.whole else ("train", "test")
        self._placements: Dict[str, Tuple[str, int]] = {}
        self._lists: Optional[Dict[str, List[str]]] = None

    def options(self):
        return {"split": "all"} if self.whole else {"train_ratio": self.train_ratio}

    def chunk_size(self, cls: str) -> int:
        """Recordings per job of class ``cls``."""
        return self.chunk

    def lists(self) -> Dict[str, List[str]]:
        if self._lists is None:
            self._lists = self.class_lists()
        return self._lists

    def split_lists(self) -> Dict[str, Dict[str, List[str]]]:
        """``{split: {class: [recording names]}}`` of the deterministic split."""
        out: Dict[str, Dict[str, List[str]]] = {s: {} for s in self.splits}
        for c, names in self.lists().items():
            if self.whole:
                out["all"][c] = list(names)
            else:
                out["train"][c], out["test"][c] = ratio_split(names, self.train_ratio)
        return out

    def jobs(self) -> Iterator[Job]:
        lists = self.split_lists()
        for split in self.splits:
            k = 0
            for c in self.classes:
                for chunk in chunked(lists[split].get(c, []), self.chunk_size(c)):
                    name = f"{split}:{k}"
                    self._placements[name] = (split, k)
                    k += 1
                    yield self.chunk_job(name, c, list(chunk))

    def placement(self, job_name: str) -> Optional[Tuple[str, int]]:
        return self._placements.get(job_name)


class NCaltech101Raw(ClassFolderRaw):
    """N-CALTECH101 in ``Caltech101.zip`` or ``Caltech101/`` under ``root``.

    Parameters
    ----------
    root : path
        Dataset root.
    train_ratio : float
        Per-class train fraction of the ratio split (default 0.9).
    whole : bool
        One split ``"all"`` instead of train/test.
    """

    name = "ncaltech101"
    sensor_size = SENSOR_SIZE
    meta_columns = {"source": str}
    resources = RESOURCES

    def __init__(self, root, train_ratio: float = 0.9, whole: bool = False):
        super().__init__(root, train_ratio, whole)
        found = roots.find_item(self.root, self.name, TOP, f"{TOP}.zip") or \
            roots.find_item(self.root, self.name, None, TONIC_ARCHIVE)
        if found is None:
            raise self.missing(f"N-Caltech101 not found (looked for "
                               f"{roots.describe(self.name, TOP, f'{TOP}.zip')}, or "
                               f"Tonic's {TONIC_ARCHIVE})",
                               [f"{TOP}.zip"])
        self._source, self._is_zip = found.path, found.is_archive

    @property
    def classes(self) -> List[str]:
        return list(CLASSES)

    def source_files(self) -> List[Path]:
        if self._is_zip:
            return [self._source]
        return sorted(p for p in self._source.rglob("*") if p.is_file())

    def class_lists(self) -> Dict[str, List[str]]:
        src = self._source
        known = set(CLASSES)
        out: Dict[str, List[str]] = {}
        for n in list_members(src, self._is_zip):
            if not n.lower().endswith(".bin"):
                continue
            parts = n.split("/")
            if self._is_zip and parts[0] == TOP:
                parts = parts[1:]
            if len(parts) != 2:
                raise DatasetError(f"{src}: unexpected member {n!r} (expected "
                                   f"{TOP}/<class>/image_NNNN.bin)")
            if parts[0] not in known:
                raise DatasetError(f"{src}: class folder {parts[0]!r} ({n}) is not an "
                                   f"N-Caltech101 class (evframes.raw.ncaltech101.CLASSES)")
            out.setdefault(parts[0], []).append(n)
        if not out:
            raise DatasetError(f"{src}: no .bin recordings found (expected "
                               f"{TOP}/<class>/image_NNNN.bin)")
        return {c: sorted(out[c], key=sj_name_key) for c in CLASSES if c in out}

    def chunk_job(self, name: str, cls: str, members: List[str]) -> Job:
        label = CLASSES.index(cls)
        return Job(name, decode_members, (str(self._source), members, [label] * len(members),
                                          self._is_zip, "atis", SENSOR_SIZE, name))


__all__ = ["NCaltech101Raw", "ClassFolderRaw", "CLASSES", "SENSOR_SIZE", "RESOURCES",
           "ratio_split", "sj_name_key", "check_ratio"]
