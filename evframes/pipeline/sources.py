"""Raw sources: content fingerprints of the files extraction reads, and whether an events store
is current with respect to them.

``source_fingerprint`` (compared by every reuse check) is a sha256 over each raw file's relative
name, size and *content* digest (xxh3_128: :func:`~evframes.store.checksum.file_digest`);
modification times never decide on their own:

- metadata files (labels CSVs, trials lists, ``gesture_mapping.csv``, READMEs: see
  :meth:`RawDataset.is_metadata_file`) are read and hashed at every check, so an edit is seen
  even when the file keeps its size and modification time;
- recordings and archives are hashed when first seen. A later check trusts the recorded hashes
  while every recording keeps its size and mtime (nothing is read), and hashes again the ones
  whose size or mtime differ: a copy without preserved times (``cp -r``) or a ``touch`` finds
  the same content and reuses the stores; a real edit changes the fingerprint and rebuilds;
- ``hash_sources`` (``extract(..., hash_sources=True)``, ``evframes extract --hash-sources``)
  hashes every recording at every check, which also catches an edit that kept size and mtime.
  The mode is recorded in the manifest and kept by later runs that do not say otherwise
  (``hash_sources=False`` / ``--no-hash-sources`` with a rebuild turns it off).

The manifest records ``source_stat`` (digest of the recordings' names, sizes, mtimes),
``recordings_digest`` (their names, sizes, content hashes) and ``hash_sources``. Hashes
confirmed after a copy are kept in ``events/.sources.json`` (written by the holder of the
extract lock only), so a copied root is read once, not at every check.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence, Tuple

from ..errors import StoreError
from ..store import events_store_path, layout, store_status
from ..store.checksum import file_digest
from ..store.manifest import Manifests, manifests_or_new

HINTS_FILE = layout.HINTS_FILE


def _digest(lines: Iterable[str]) -> str:
    h = hashlib.sha256()
    for ln in lines:
        h.update(ln.encode() + b"\n")
    return h.hexdigest()[:32]


@dataclass
class SourceState:
    """Where the raw files of a dataset stand (see the module docstring)."""

    fingerprint: str
    stat: str
    recordings: str
    hash_sources: bool
    n_files: int
    n_bytes: int
    #: rel -> (size, mtime_ns, content digest) of recordings hashed or looked up in this check
    hashes: Dict[str, Tuple[int, int, str]] = field(default_factory=dict)
    #: recordings were hashed although a manifest recorded them (copied or touched)
    rehashed: bool = False

    def record(self) -> dict:
        """The manifest entries beside ``source_fingerprint``."""
        return {"source_stat": self.stat, "recordings_digest": self.recordings,
                "hash_sources": self.hash_sources, "source_files": self.n_files,
                "source_bytes": self.n_bytes}


def recorded_sources(root, splits: Sequence[str],
                     manifests: Optional[Manifests] = None) -> dict:
    """The source entries of the first readable events store manifest under ``root``
    (read through ``manifests``, the operation's memo, when given)."""
    manifests = manifests_or_new(manifests)
    for split in splits:
        p = events_store_path(root, split)
        if p.exists():
            try:
                man = manifests.read(p)
            except StoreError:
                continue
            if man.get("kind") == "events":
                return man
    return {}


def load_hints(root) -> Dict[str, list]:
    try:
        with open(layout.source_hints_path(root)) as fh:
            files = json.load(fh).get("files", {})
        return files if isinstance(files, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


def save_hints(ds) -> None:
    """Remember the hashes confirmed by the last check of ``ds`` (call with the extract lock
    held; best effort: a read-only root simply keeps re-checking)."""
    state = getattr(ds, "_source_state", None)
    if state is None or not state.rehashed or state.hash_sources:
        return
    final = layout.source_hints_path(ds.root)
    tmp = layout.tmp_name(final)
    try:
        with open(tmp, "w") as fh:
            json.dump({"version": 1, "files": {k: list(v) for k, v in state.hashes.items()}},
                      fh)
        os.replace(tmp, final)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


def source_state(ds, hash_sources: Optional[bool] = None,
                 manifests: Optional[Manifests] = None) -> SourceState:
    """Fingerprint the raw files of ``ds`` (a :class:`RawDataset`), reading as little as the
    rules in the module docstring allow. Each recording is hashed at most once per ``ds``.
    ``manifests``: the operation's memo of the events stores' manifests (what they record)."""
    root = Path(ds.root)
    memo: Dict[str, Tuple[int, int, str]] = ds.__dict__.setdefault("_source_memo", {})
    meta, recs = [], []
    for f in ds.source_files():
        st = os.stat(f)
        rel = os.path.relpath(f, root).replace(os.sep, "/")
        e = (rel, Path(f), st.st_size, st.st_mtime_ns)
        (meta if ds.is_metadata_file(Path(f), st.st_size) else recs).append(e)
    meta.sort()
    recs.sort()
    stat = _digest(f"{r}\0{s}\0{m}" for r, _, s, m in recs)
    known = recorded_sources(root, ds.splits, manifests)
    for mode in (hash_sources, getattr(ds, "hash_sources", None), known.get("hash_sources")):
        if mode is not None:
            break
    hash_all = bool(mode)
    hashes: Dict[str, Tuple[int, int, str]] = {}
    rehashed = False
    if not hash_all and known.get("source_stat") == stat and known.get("recordings_digest"):
        recordings = known["recordings_digest"]  # nothing changed by size and mtime
    else:
        hints = {} if hash_all else load_hints(root)
        todo, fresh = [], 0
        for rel, p, size, mtime in recs:
            m = memo.get(rel)
            h = hints.get(rel)
            if m is not None and m[:2] == (size, mtime):
                hashes[rel] = m
                fresh += 1
            elif isinstance(h, list) and len(h) == 3 and tuple(h[:2]) == (size, mtime):
                hashes[rel] = (size, mtime, str(h[2]))
            else:
                todo.append((rel, p, size, mtime))
        if todo:
            n = min(len(todo), 4, os.cpu_count() or 1)
            with ThreadPoolExecutor(n, thread_name_prefix="evframes-digest") as ex:
                for (rel, _p, size, mtime), dg in zip(todo, ex.map(file_digest,
                                                                 [t[1] for t in todo])):
                    hashes[rel] = memo[rel] = (size, mtime, dg)
        rehashed = bool(known) and bool(fresh or todo)  # worth remembering in the hints
        recordings = _digest(f"{r}\0{s}\0{hashes[r][2]}" for r, _, s, _ in recs)
    lines = [f"recordings\0{recordings}"]
    lines += [f"{r}\0{s}\0{file_digest(p)}" for r, p, s, _ in meta]
    state = SourceState(fingerprint=_digest(lines), stat=stat, recordings=recordings,
                        hash_sources=hash_all, n_files=len(meta) + len(recs),
                        n_bytes=sum(e[2] for e in meta + recs), hashes=hashes,
                        rehashed=rehashed)
    ds.__dict__["_source_state"] = state
    return state


# -- staleness of events stores ------------------------------------------------------------
def expected_manifest(ds, split: str, manifests: Optional[Manifests] = None) -> dict:
    """The manifest entries a current events store of ``split`` of the raw dataset ``ds``
    holds (its source fingerprint: :func:`source_state`)."""
    return {"kind": "events", "dataset": ds.name, "split": split,
            "source_fingerprint": source_state(ds, manifests=manifests).fingerprint,
            "options": ds.options(), "sensor_size": list(ds.sensor_size)}


def stores_status(ds, manifests: Optional[Manifests] = None) -> Optional[str]:
    """None when every split's events store of ``ds`` is complete and current, else the first
    reason (``"<split>: <reason>"``). Each store's manifest is read once (``manifests``)."""
    manifests = manifests_or_new(manifests)
    for split in ds.splits:
        path = events_store_path(ds.root, split)
        if not path.exists():  # decided without hashing the raw files (extraction then
            return f"{split}: missing"  # hashes them beside the run)
        reason = manifests.status(path, expected_manifest(ds, split, manifests))
        if reason is not None:
            return f"{split}: {reason}"
    return None


def open_raw_for(man: dict, root):
    """The raw dataset an events store was extracted from, with its options; None when it is
    not present under ``root`` (nothing to compare with)."""
    from ..errors import DatasetError
    from ..raw import open_raw
    try:
        return open_raw(man.get("dataset"), root, **(man.get("options") or {}))
    except (DatasetError, ValueError, TypeError):
        return None


def events_store_staleness(path, raw=None, manifests: Optional[Manifests] = None
                           ) -> Optional[str]:
    """Why the events store at ``path`` is stale against the raw files under its root (the
    manifest entry that differs), or None when it is current or the raw data is not there.
    ``evframes verify``, ``extract`` and frames building all decide with this rule.
    ``manifests``: the operation's memo (the manifest is read once)."""
    manifests = manifests_or_new(manifests)
    path = Path(path)
    man = manifests.read(path)
    if man.get("kind") != "events":
        return None
    if raw is None:
        raw = open_raw_for(man, path.parent.parent)
        if raw is None:
            return None
    return store_status(path, expected_manifest(raw, man.get("split"), manifests), man)


def check_events_current(root, splits: Sequence[str],
                         manifests: Optional[Manifests] = None) -> None:
    """Raise :class:`StoreError` when an events store of ``splits`` is stale against the raw
    data under ``root``: frames are then neither built from it nor reused. Waits for a running
    extraction of the same root (its lock), and cleans that folder's dead temporaries.
    ``manifests``: the operation's memo (each manifest is read once)."""
    manifests = manifests_or_new(manifests)
    from ..store.locking import store_lock
    root = Path(root)
    paths = [events_store_path(root, s) for s in splits]
    paths = [p for p in paths if p.exists()]
    if not paths:
        return
    with store_lock(layout.extract_lock_target(root), what="events store",
                    guards_folder=True, optional=True) as locked:
        raw = None
        for p in paths:
            man = manifests.read(p)
            if man.get("kind") != "events":
                continue
            if raw is None:
                raw = open_raw_for(man, root)
                if raw is None:
                    return
            why = events_store_staleness(p, raw, manifests)
            if why is not None:
                raise StoreError(f"{p}: stale against the raw data ({why}); run `evframes "
                                 f"extract --dataset {man.get('dataset')} --root {root}` to "
                                 f"rebuild it, then integrate again")
        if locked and raw is not None:
            save_hints(raw)
