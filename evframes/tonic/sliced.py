"""Tonic's ``SlicedDataset``: every sample of a dataset cut into slices, one item per slice.

``SlicedDataset(dataset, slicer, metadata_path=None, transform=None, target_transform=None,
transforms=None)`` asks ``slicer.get_slice_metadata(data, target)`` once per sample of
``dataset`` (``dataset[i] -> (events, target)``), then item ``k`` is the ``k``-th slice over all
samples in order: ``slicer.slice_with_metadata(data, target, [meta])``, a one-element list
unwrapped, then ``transform`` (events), ``target_transform`` and ``transforms`` (both), as in
Tonic 1.7. Any slicer with those two methods works (:mod:`evframes.tonic.slicers` has Tonic's).

Difference from Tonic: ``metadata_path`` (a folder) keeps the metadata in
``<metadata_path>/slice_metadata.h5`` (Tonic's file name and ``metadata_<i>`` datasets) with a
fingerprint of the dataset (its ``__getitem__``, attributes and transforms, its stores'
manifests, its length) and of the slicer (class and parameters). The file is used only when
both fingerprints match; otherwise (another dataset or slicer, a file Tonic wrote, a damaged
file) the metadata are computed again and the file replaced. It is written under a temporary
name and renamed when complete, so an interrupted run leaves no file a later run would trust.
Tonic reuses whatever file it finds, even one written for another slicer.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import h5py
import numpy as np

from ..integrate.fingerprint import function_fingerprint
from ..store.atomic import AtomicH5
from .cached import cache_fingerprint

METADATA_FILE = "slice_metadata.h5"
_KIND = "evframes.tonic.SlicedDataset metadata"


def metadata_fingerprint(dataset, slicer) -> Tuple[Optional[str], Optional[str]]:
    """``(digest, None)`` of what the slice metadata depend on, or ``(None, why)``."""
    ds, why = cache_fingerprint(dataset)
    if ds is None:
        return None, why
    get = getattr(slicer, "get_slice_metadata", None)
    if get is None:
        return None, f"{type(slicer).__name__} has no get_slice_metadata"
    sl, why = function_fingerprint(get)
    if sl is None:
        return None, why
    return hashlib.sha256(f"{ds}\0{sl}".encode()).hexdigest()[:32], None


def _load(path: Path, fingerprint: str) -> Optional[List[Any]]:
    """The stored metadata if ``path`` holds a complete file with this fingerprint."""
    try:
        with h5py.File(path, "r") as f:
            man = json.loads(f.attrs.get("manifest", "{}"))
            if (man.get("kind") != _KIND or man.get("fingerprint") != fingerprint
                    or not man.get("complete") or int(man.get("samples", -1)) != len(f.keys())):
                return None
            return [f[f"metadata_{i}"][()] for i in range(len(f.keys()))]
    except (OSError, KeyError, ValueError, TypeError):
        return None


def _save(path: Path, metadata: List[Any], fingerprint: str) -> None:
    with AtomicH5(path) as out:
        for i, m in enumerate(metadata):
            a = np.asarray(m)
            out.h5.create_dataset(f"metadata_{i}", data=a if a.size else np.zeros((0, 2), int))
        out.commit({"kind": _KIND, "fingerprint": fingerprint, "samples": len(metadata)})


@dataclass
class SlicedDataset:
    """Slices of every sample of ``dataset`` as items (see the module docstring)."""

    dataset: Any
    slicer: Any
    metadata_path: Optional[str] = None
    transform: Optional[Callable] = None
    target_transform: Optional[Callable] = None
    transforms: Optional[Callable] = None
    metadata: List[Any] = field(init=False, repr=False)
    slice_dataset_map: List[Tuple[int, int]] = field(init=False, repr=False)

    def __post_init__(self):
        self.metadata = self._metadata()
        self.slice_dataset_map = [(i, k) for i, m in enumerate(self.metadata)
                                  for k in range(len(m))]

    def generate_metadata(self) -> List[Any]:
        """``slicer.get_slice_metadata(data, target)`` of every sample, in order."""
        return [self.slicer.get_slice_metadata(data, target) for data, target in
                (self.dataset[i] for i in range(len(self.dataset)))]

    def _metadata(self) -> List[Any]:
        if not self.metadata_path:
            return self.generate_metadata()
        fp, why = metadata_fingerprint(self.dataset, self.slicer)
        if fp is None:
            warnings.warn(f"SlicedDataset: metadata_path {self.metadata_path} not used (the "
                          f"metadata are computed each time): {why}", stacklevel=3)
            return self.generate_metadata()
        path = Path(self.metadata_path) / METADATA_FILE
        if path.exists():
            meta = _load(path, fp)
            if meta is not None:
                return meta
        meta = self.generate_metadata()
        _save(path, meta, fp)
        return meta

    def __getitem__(self, item):
        i, k = self.slice_dataset_map[item]
        data, target = self.dataset[i]
        data, target = self.slicer.slice_with_metadata(data, target, [self.metadata[i][k]])
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        if isinstance(target, list) and len(target) == 1:
            target = target[0]
        if self.transform is not None:
            data = self.transform(data)
        if self.target_transform is not None:
            target = self.target_transform(target)
        if self.transforms is not None:
            data, target = self.transforms(data, target)
        return data, target

    def __len__(self) -> int:
        return len(self.slice_dataset_map)
