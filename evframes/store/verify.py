"""Checking a store against its manifest: structure, index consistency and checksums."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import h5py
import numpy as np

from ..errors import StoreError
from ..events import KEYS
from .checksum import LEGACY_ALGORITHM, array_checksum
from .manifest import FORMAT_VERSION, Manifests, read_manifest


def dataset_crc(dset, chunk: int = 1 << 24) -> str:
    """crc32 of an HDF5 dataset's values (the checksum of stores written before xxh3)."""
    return array_checksum(dset, "crc32", chunk)


def verify_store(path, manifests: Optional[Manifests] = None) -> List[str]:
    """Problems found in one store (empty list = sound): manifest, structure, checksums.
    ``manifests``: the operation's memo of manifests (the manifest is read once)."""
    problems = []
    path = Path(path)
    try:
        man = read_manifest(path) if manifests is None else manifests.read(path)
    except StoreError as e:
        return [str(e)]
    if not man.get("complete"):
        problems.append("manifest not marked complete")
    if man.get("format_version") != FORMAT_VERSION:
        problems.append(f"format version {man.get('format_version')} != {FORMAT_VERSION}")
    kind = man.get("kind")
    try:
        with h5py.File(path, "r") as f:
            if kind == "events":
                names, off_name, data = list(KEYS) + ["offsets", "labels"], "offsets", "t"
            elif kind == "frames":
                names, off_name, data = ["frames", "frame_offsets", "labels"], \
                    "frame_offsets", "frames"
            else:
                return problems + [f"unknown store kind {kind!r}"]
            missing = [k for k in names if k not in f]
            if missing:
                return problems + [f"datasets missing: {missing}"]
            off = f[off_name][...]
            n = int(man.get("n_samples", -1))
            if off.shape[0] != n + 1 or f["labels"].shape[0] != n:
                problems.append(f"index sizes disagree with manifest n_samples={n}")
            if off.size and (off[0] != 0 or np.any(np.diff(off) < 0)
                             or off[-1] != f[data].shape[0]):
                problems.append(f"{off_name} not a valid index into {data}")
            if kind == "events":
                lens = {k: f[k].shape[0] for k in KEYS}
                if len(set(lens.values())) != 1:
                    problems.append(f"event arrays differ in length: {lens}")
            algorithm = man.get("checksum_algorithm", LEGACY_ALGORITHM)
            for k, want in (man.get("checksums") or {}).items():
                if k not in f:
                    problems.append(f"checksummed dataset {k} missing")
                    continue
                try:
                    got = array_checksum(f[k], algorithm)
                except ValueError as e:
                    problems.append(str(e))
                    break
                if got != want:
                    problems.append(f"checksum mismatch in /{k}: {got} != {want} (manifest)")
            if not man.get("checksums"):
                problems.append("no checksums in manifest")
    except OSError as e:
        problems.append(f"unreadable HDF5 ({e})")
    return problems
