"""Store manifests: the JSON in every store's ``attrs["manifest"]``, read and compared.

A manifest records what a store holds and what it was built from (its ``kind``, ``events`` or
``frames``; ``format_version``; ``complete``, set last, when the write is committed; the
sources, options or setting it was made from). A store is reused only while the manifest
matches what a run expects (:func:`store_status`); a file without one is foreign and never
overwritten silently.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Optional

import h5py
import numpy as np

from ..errors import StoreError

FORMAT_VERSION = 1


def read_manifest(path) -> dict:
    """Return the manifest dict of an evframes store; StoreError if it is not one."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such store")
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("manifest")
    except OSError as e:
        raise StoreError(f"{path}: not a readable HDF5 file ({e})") from None
    if raw is None:
        raise StoreError(f"{path}: HDF5 file without an evframes manifest (foreign file)")
    try:
        man = json.loads(raw)
    except (TypeError, ValueError):
        raise StoreError(f"{path}: unreadable evframes manifest") from None
    if not isinstance(man, dict) or "kind" not in man:
        raise StoreError(f"{path}: manifest is not an evframes manifest")
    return man


def store_status(path, expected: Mapping) -> Optional[str]:
    """None when the store at ``path`` is complete and matches every key of ``expected``.

    Otherwise a short reason: 'missing', or which manifest entry differs. Raises StoreError for
    files that are not evframes stores at all (foreign files are never overwritten silently).
    """
    path = Path(path)
    if not path.exists():
        return "missing"
    man = read_manifest(path)
    if man.get("format_version") != FORMAT_VERSION:
        return (f"store format version {man.get('format_version')} != {FORMAT_VERSION} "
                f"of this evframes")
    if not man.get("complete", False):
        return "store is not marked complete"
    for k, v in expected.items():
        have = man.get(k)
        if _jsonable(have) != _jsonable(v):
            return f"{k} changed ({_short(have)} -> {_short(v)})"
    return None


def dumps(manifest: Mapping) -> str:
    """The manifest as stored: JSON with sorted keys (numpy scalars and arrays, paths allowed)."""
    return json.dumps(manifest, default=_json_default, sort_keys=True)


def _short(v, n=60):
    s = json.dumps(_jsonable(v))
    return s if len(s) <= n else s[: n - 3] + "..."


def _jsonable(v):
    return json.loads(json.dumps(v, default=_json_default))


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")
