"""A cache of computed samples in one HDF5 store per folder (the store behind
:class:`evframes.tonic.DiskCachedDataset`).

An entry is one ``(item, copy)``: a schema string (what the caller needs to rebuild the sample;
:mod:`evframes.tonic.cached` writes Tonic's normal form there) and a list of numpy arrays, its
*leaves*. The folder holds::

    <folder>/cache.h5                    the store: every entry merged, manifest ``kind`` =
                                         "sample_cache" with the ``fingerprint`` of what was
                                         cached (the wrapped dataset and its transform)
    <folder>/.staging-<fp>/<item>_<copy>.h5   entries computed since the last merge, one small
                                         file each, written atomically (temporary + rename) by
                                         whichever process computed them (DataLoader workers)
    <folder>/.cache.h5.lock              the lock of merges and resets

A merge (:meth:`SampleCache.merge`, under the lock) writes a new store holding the old one's
entries and the staged ones, renames it into place, then deletes the staged files it took, so a
reader always finds an entry in the store or its staged file. Entries of another fingerprint
are never served: the store's manifest and the staging folder's name carry it, and stale ones
are removed by :meth:`SampleCache.prepare`.

The store's layout: :mod:`evframes.store.sample_cache_store`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import h5py
import numpy as np

from ..errors import StoreError
from .atomic import io_failure
from .layout import tmp_name
from .locking import remove_stale_temporaries, store_lock
from .manifest import read_manifest
from .sample_cache_store import KIND, StoreReader, StoreWriter, file_id

STORE_NAME = "cache.h5"
STAGING_PREFIX = ".staging-"

Leaves = List[np.ndarray]


# -- staged entries -----------------------------------------------------------------------------

def _write_entry(path: Path, fingerprint: str, schema: str, leaves: Leaves, compress: bool):
    tmp = tmp_name(path)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["schema"] = schema
            f.attrs["fingerprint"] = fingerprint
            for i, a in enumerate(leaves):
                opts = {"compression": "lzf"} if compress and a.ndim and a.size else {}
                f.create_dataset(f"leaf_{i}", data=a, **opts)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        why = io_failure(e)
        if why is None:
            raise
        raise StoreError(f"{path}: cannot write the cached sample: {why}") from None


def _read_entry(path: Path, fingerprint: str) -> Optional[Tuple[str, Leaves]]:
    """The staged entry at ``path``; None when absent, of another fingerprint, or unreadable
    (a damaged file is then computed again and replaced)."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("fingerprint") != fingerprint:
                return None
            leaves = [f[f"leaf_{i}"] for i in range(len(f.keys()))]
            return str(f.attrs["schema"]), [d[()] if d.ndim == 0 else d[...] for d in leaves]
    except (OSError, KeyError):
        return None


def _entry_key(name: str) -> Optional[Tuple[int, int]]:
    stem, _, ext = name.rpartition(".")
    a, sep, b = stem.partition("_")
    if ext != "h5" or not sep or not a.isdigit() or not b.isdigit():
        return None
    return int(a), int(b)


# -- the cache of one folder ----------------------------------------------------------------------

class SampleCache:
    """The cached entries of one folder for one ``fingerprint``, from any process.

    ``get(item, copy)`` looks in the merged store, then in the staged files, and returns
    ``(schema, leaves)`` or None; ``put`` stages a newly computed entry. ``expected`` (the
    number of entries a complete cache holds) lets a process merge the staged entries into the
    store once they are all there (checked every so often, never blocking on the lock).
    Picklable (DataLoader workers open their own handles).
    """

    def __init__(self, folder, fingerprint: str, n_samples: int, expected: int,
                 compress: bool = True):
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        self.n_samples = int(n_samples)
        self.expected = int(expected)
        self.compress = bool(compress)
        self.store_path = self.folder / STORE_NAME
        self.staging = self.folder / f"{STAGING_PREFIX}{fingerprint[:16]}"
        self._reader: Optional[StoreReader] = None
        self._seen = None  # identity of the store file last examined
        self._since_check = 0

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_reader"] = state["_seen"] = None
        return state

    # -- lifecycle (main process) -------------------------------------------------------------
    def prepare(self, reset: bool = False) -> None:
        """Under the lock: remove everything when ``reset``, else the store and staging folders
        of other fingerprints; then merge what is staged for this one."""
        with store_lock(self.store_path, what="sample cache"):
            if self.store_path.exists():
                try:
                    man = read_manifest(self.store_path)
                except StoreError:
                    man = {}
                if man.get("kind") != KIND:
                    raise StoreError(f"{self.store_path}: exists but is not an evframes sample "
                                     f"cache; remove it or choose another cache_path")
                if reset or man.get("fingerprint") != self.fingerprint:
                    self.store_path.unlink()
            for old in self.folder.glob(STAGING_PREFIX + "*"):
                if reset or old != self.staging:
                    _remove_tree(old)
            self._merge_locked()

    def merge(self, block: bool = False) -> bool:
        """Merge the staged entries into the store; False when nothing is staged, or when
        another process holds the lock and ``block`` is False."""
        waiting = True
        try:
            with store_lock(self.store_path, timeout=None if block else 0, what="sample cache"):
                waiting = False
                return self._merge_locked()
        except StoreError:
            if waiting and not block:
                return False  # busy (or no lock possible here): the holder merges
            raise

    def _merge_locked(self) -> bool:
        staged = self._staged()
        if not staged:
            return False
        old = self._open_store()
        writer = StoreWriter(self.store_path, self.compress)
        taken = []
        try:
            if old is not None:
                for item, copy, schema, leaves in old.all_entries():
                    writer.add(item, copy, schema, leaves)
            for key, path in sorted(staged.items()):
                if old is not None and key in old.index:
                    taken.append(path)
                    continue
                got = _read_entry(path, self.fingerprint)
                if got is not None:
                    writer.add(*key, *got)
                    taken.append(path)
            writer.commit_store(self.fingerprint, self.n_samples)
        except BaseException:
            writer.abort()
            raise
        if old is not None:
            old.close()
        for path in taken:
            try:
                path.unlink()
            except OSError:
                pass
        remove_stale_temporaries(self.staging)
        self._reader = None
        return True

    # -- entries (any process) ----------------------------------------------------------------
    def get(self, item: int, copy: int) -> Optional[Tuple[str, Leaves]]:
        reader = self._open_store()
        got = reader.get(item, copy) if reader is not None else None
        if got is not None:
            return got
        got = _read_entry(self.staging / f"{item}_{copy}.h5", self.fingerprint)
        if got is None and self._store_replaced():  # merged meanwhile: its staged file gone
            reader = self._open_store()
            got = reader.get(item, copy) if reader is not None else None
        elif got is not None:
            self._maybe_merge()
        return got

    def put(self, item: int, copy: int, schema: str, leaves: Leaves) -> None:
        self.staging.mkdir(parents=True, exist_ok=True)
        _write_entry(self.staging / f"{item}_{copy}.h5", self.fingerprint, schema, leaves,
                     self.compress)
        self._maybe_merge()

    def n_cached(self) -> int:
        """Entries in the store plus staged files (a count of names; cheap)."""
        reader = self._open_store()
        return (len(reader.index) if reader is not None else 0) + len(self._staged())

    # -- internals ----------------------------------------------------------------------------
    def _maybe_merge(self) -> None:
        self._since_check += 1
        if self._since_check < min(self.expected, max(16, self.expected // 8)):
            return
        self._since_check = 0
        if self.n_cached() >= self.expected:
            self.merge(block=False)

    def _staged(self) -> Dict[Tuple[int, int], Path]:
        out = {}
        try:
            with os.scandir(self.staging) as it:
                for e in it:
                    key = _entry_key(e.name)
                    if key is not None:
                        out[key] = Path(e.path)
        except FileNotFoundError:
            pass
        return out

    def _store_replaced(self) -> bool:
        """Whether the store file differs from the one examined last (or appeared)."""
        try:
            now = file_id(self.store_path)
        except FileNotFoundError:
            return False
        return self._seen != now

    def _open_store(self) -> Optional[StoreReader]:
        r = self._reader
        if r is not None and r.pid != os.getpid():  # inherited through fork: not ours to use
            self._reader = r = self._seen = None
        if not self._store_replaced():
            return r
        if r is not None:
            r.close()
        self._reader = None
        try:
            self._seen = file_id(self.store_path)
            reader = StoreReader(self.store_path)
        except (FileNotFoundError, OSError, KeyError, ValueError):
            return None  # absent, being replaced, or not ours: entries are computed again
        man = reader.manifest
        if man.get("kind") == KIND and man.get("fingerprint") == self.fingerprint and \
                man.get("complete"):
            self._reader = reader
        else:
            reader.close()
        return self._reader


def read_cache_manifest(folder) -> Optional[dict]:
    """The manifest of the sample cache store in ``folder`` (None when there is none)."""
    path = Path(folder) / STORE_NAME
    if not path.exists():
        return None
    man = read_manifest(path)
    return man if man.get("kind") == KIND else None


def staging_fingerprints(folder) -> List[Tuple[str, int]]:
    """``(fingerprint, entries)`` of each staging folder in ``folder`` that holds entries."""
    out = []
    for d in sorted(Path(folder).glob(STAGING_PREFIX + "*")):
        names = [p for p in d.iterdir() if _entry_key(p.name) is not None]
        for p in names:
            try:
                with h5py.File(p, "r") as f:
                    out.append((str(f.attrs["fingerprint"]), len(names)))
                break
            except (OSError, KeyError):
                continue
    return out


def _remove_tree(path: Path) -> None:
    import shutil
    shutil.rmtree(path, ignore_errors=True)


__all__ = ["SampleCache", "read_cache_manifest", "staging_fingerprints", "KIND", "STORE_NAME"]
