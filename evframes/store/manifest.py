"""Store manifests: the JSON in every store's ``attrs["manifest"]``, read and compared.

A manifest records what a store holds and what it was built from (its ``kind``, ``events`` or
``frames``; ``format_version``; ``complete``, set last, when the write is committed; the
sources, options or setting it was made from). A store is reused only while the manifest
matches what a run expects (:func:`store_status`); a file without one is foreign and never
overwritten silently.

One operation (an extraction, a frames build, a Dataset constructor) reads each store's
manifest once: it carries a :class:`Manifests` memo and hands it, or the dicts it read, down to
the functions it calls (:func:`store_status` and the readers accept an already read manifest).
"""
from __future__ import annotations

import json
import os
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


def store_status(path, expected: Mapping, manifest: Optional[Mapping] = None) -> Optional[str]:
    """None when the store at ``path`` is complete and matches every key of ``expected``.

    Otherwise a short reason: 'missing', or which manifest entry differs. Raises StoreError for
    files that are not evframes stores at all (foreign files are never overwritten silently).

    Parameters
    ----------
    path : path
        The store.
    expected : mapping
        Manifest entries a current store holds.
    manifest : mapping, optional
        The store's manifest when the caller has already read it (it is then not read again;
        the store must exist).
    """
    path = Path(path)
    if manifest is None:
        if not path.exists():
            return "missing"
        manifest = read_manifest(path)
    man = manifest
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


def _file_key(path: Path):
    """What identifies one version of a file: a store replaced (written under a temporary
    name, renamed into place) or edited in place gets another key."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class Manifests:
    """The manifests one operation reads, each read once: ``manifests.read(path)``.

    A memo that a caller creates for one operation and passes down, so that the steps of the
    operation (reuse checks, staleness checks, planning, opening the readers) share what was
    read instead of each opening the file again. A store replaced or modified since it was read
    (another file identity, size, mtime or ctime) is read again, so a memo never answers with an
    older manifest than :func:`read_manifest` would. The dicts it returns are shared: do not
    modify them.
    """

    def __init__(self):
        self._seen = {}

    def read(self, path) -> dict:
        """The manifest of the store ``path`` (:func:`read_manifest`), read once while the
        file stays the same."""
        path = Path(os.path.abspath(path))
        try:
            key = _file_key(path)
        except OSError:
            key = None  # read_manifest names the problem
        hit = self._seen.get(path)
        if hit is not None and key is not None and hit[0] == key:
            return hit[1]
        man = read_manifest(path)
        self._seen[path] = (key, man)
        return man

    def status(self, path, expected: Mapping) -> Optional[str]:
        """:func:`store_status` of ``path`` with the manifest read through this memo."""
        path = Path(path)
        if not path.exists():
            return "missing"
        return store_status(path, expected, self.read(path))


def manifests_or_new(manifests: Optional[Manifests]) -> Manifests:
    """``manifests``, or a fresh :class:`Manifests` when None (the start of an operation)."""
    return Manifests() if manifests is None else manifests


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
