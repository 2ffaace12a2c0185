"""HDF5 stores: the events store (one file per split) and shared atomic-write machinery.

Events store layout (``<root>/events/<split>.h5``)::

    /t, /x, /y, /p        flat event arrays of all samples, concatenated (int64, int16, int16, int8)
    /offsets              int64 [n_samples + 1]; sample i holds events offsets[i]:offsets[i+1]
    /labels               int64 [n_samples]
    /meta/<column>        one dataset per metadata column, [n_samples] (int64 or utf-8 strings)
    attrs["manifest"]     JSON: kind, dataset, split, format_version, evframes_version,
                          source_fingerprint (content, see evframes.sources), source_stat,
                          recordings_digest, hash_sources, options, sensor_size (W, H),
                          classes, counts

Atomicity: a store is written under a temporary name in the same folder and renamed over the
final name only after everything, manifest included, has been flushed and closed. A file at the
final name is therefore always complete; a temporary left by a killed run is never read and is
removed by the next run that holds the store's lock (see :mod:`evframes.locking`).
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import time
import uuid
import zlib
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import h5py
import numpy as np

try:  # registers the Blosc2 filters used by the stores
    import hdf5plugin
except ImportError:  # pragma: no cover
    hdf5plugin = None

from . import __version__
from .errors import StoreError
from .events import KEYS, P_DTYPE, T_DTYPE, XY_DTYPE, Events
from .locking import TMP_MARK, remove_stale_temporaries, store_lock, tmp_name  # noqa: F401

FORMAT_VERSION = 1
EVENTS_DIR = "events"
_EVENT_DTYPES = {"t": T_DTYPE, "x": XY_DTYPE, "y": XY_DTYPE, "p": P_DTYPE}
_EVENT_CHUNK = 1 << 18  # events per HDF5 chunk
_STR = h5py.string_dtype("utf-8")


def events_compression() -> dict:
    """HDF5 filter for event arrays: Blosc2 LZ4 with byte shuffle (about 4 bytes per event,
    5x faster than LZF both ways); LZF + shuffle without hdf5plugin."""
    if hdf5plugin is not None:
        return dict(hdf5plugin.Blosc2(cname="lz4", clevel=5, filters=hdf5plugin.Blosc2.SHUFFLE))
    return {"compression": "lzf", "shuffle": True}  # pragma: no cover


def events_store_path(root, split: str) -> Path:
    """Path of the events store of ``split`` under a dataset ``root``."""
    return Path(root) / EVENTS_DIR / f"{split}.h5"


def io_failure(e: BaseException) -> Optional[str]:
    """A short one-line description if ``e`` is a storage failure (disk full, read-only, quota,
    I/O error), including h5py's exceptions that wrap one; None for anything else. Decided on
    the errno (never on message text, which libc translates and HDF5 rewords)."""
    if not isinstance(e, (OSError, RuntimeError)):
        return None
    n = _errno_of(e)
    if n not in STORAGE_ERRNOS:
        return None
    from .errors import one_line
    what = os.strerror(n)
    fn = getattr(e, "filename", None)
    if fn:
        what += f": {fn}"
    detail = one_line(e)
    if "errno = " in str(e):  # HDF5's message: name the operation that failed
        detail = detail.split(":", 1)[0]
        return f"{what} (HDF5: {detail})"
    return what


# errno values that mean the storage failed us (full, read-only, quota, I/O, permissions),
# as opposed to a bug or a missing input file
STORAGE_ERRNOS = frozenset(getattr(errno, n) for n in (
    "ENOSPC", "EDQUOT", "EROFS", "EIO", "EFBIG", "EACCES", "EPERM", "ESTALE", "ENXIO")
    if hasattr(errno, n))


def _errno_of(e: BaseException) -> Optional[int]:
    """``e.errno``, or the C errno HDF5 embeds in its messages (``errno = 28``) when h5py
    raises without setting one (its RuntimeErrors, some OSErrors)."""
    import re
    n = getattr(e, "errno", None)
    if isinstance(n, int):
        return n
    m = re.search(r"\berrno = (\d+)", str(e))
    return int(m.group(1)) if m else None


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


SPACE_MARGIN = 4 << 20  # bytes kept free beyond each write (HDF5 metadata, manifest)


def ensure_free_space(folder, need_bytes: int, what) -> None:
    """Refuse (StoreError) before HDF5 writes ``need_bytes`` into ``folder`` without room.

    HDF5 cannot recover cleanly from a full disk in the middle of a write (it may even crash at
    exit), so writers check first, with the uncompressed size as a safe upper bound.
    """
    import shutil
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < need_bytes + SPACE_MARGIN:
        raise StoreError(f"{what}: not enough free space in {folder}: the next write needs up "
                         f"to {(need_bytes + SPACE_MARGIN) / 2**20:.1f} MiB, "
                         f"{free / 2**20:.1f} MiB free (No space left on device); no partial "
                         f"store was left")


class AtomicH5:
    """Open an HDF5 file under a temporary name; ``commit()`` renames it into place.

    Use as a context manager: leaving the block without ``commit()`` (an exception, a
    KeyboardInterrupt) deletes the temporary, so no half-written file is ever at ``final``.
    """

    def __init__(self, final):
        self.final = Path(final)
        self.final.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.final.parent, self.final.name)
        self.tmp = tmp_name(self.final)
        try:
            self.h5 = h5py.File(self.tmp, "w")
        except OSError as e:
            raise StoreError(f"cannot create {self.tmp}: {e}") from None
        self.committed = False

    def commit(self, manifest: Mapping) -> Path:
        man = dict(manifest)
        man["complete"] = True
        self.h5.attrs["manifest"] = json.dumps(man, default=_json_default, sort_keys=True)
        self.h5.flush()
        self.h5.close()
        with open(self.tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self.tmp, self.final)
        self.committed = True
        return self.final

    def abort(self):
        import gc
        import sys
        old_hook = sys.unraisablehook
        sys.unraisablehook = lambda *a: None  # h5py object deallocs after a failed write
        try:
            try:
                self.h5.close()
            except Exception:
                pass
            gc.collect()
        finally:
            sys.unraisablehook = old_hook
        try:
            self.tmp.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if not self.committed:
            self.abort()
        return False


class EventsStoreWriter(AtomicH5):
    """Append samples' events to a new events store, then ``commit``.

    >>> with EventsStoreWriter(path, meta_columns={"source": str, "start": int}) as w:
    ...     w.append(events, label, {"source": "user01_lab.aedat", "start": 0})
    ...     w.commit(manifest)
    """

    def __init__(self, final, meta_columns: Mapping[str, type] = ()):
        super().__init__(final)
        self._n_events = 0
        self._offsets = [0]
        self._labels: List[int] = []
        self._meta_columns = dict(meta_columns)
        self._meta: Dict[str, list] = {k: [] for k in self._meta_columns}
        self._crc = {k: 0 for k in KEYS}
        from concurrent.futures import ThreadPoolExecutor
        # zlib.crc32 releases the GIL: checksums run beside decoding and writing, in order
        self._crc_pool = ThreadPoolExecutor(1, thread_name_prefix="evframes-crc")
        self._buf: Dict[str, list] = {k: [] for k in KEYS}
        self._buf_n = 0
        self._n_written = 0
        try:
            for k in KEYS:
                self.h5.create_dataset(k, shape=(0,), maxshape=(None,), dtype=_EVENT_DTYPES[k],
                                       chunks=(_EVENT_CHUNK,), **events_compression())
        except Exception:
            self.abort()
            raise

    @property
    def n_samples(self) -> int:
        return len(self._labels)

    @property
    def n_events(self) -> int:
        return self._n_events

    def append_many(self, events: Mapping, offsets: np.ndarray, labels: Sequence[int],
                    metas: Sequence[Mapping]) -> None:
        """Append several samples given as flat arrays plus local offsets ``[k + 1]``."""
        offsets = np.asarray(offsets, dtype=np.int64)
        n_new = int(offsets[-1] - offsets[0])
        if n_new:
            lo = int(offsets[0])
            for k in KEYS:
                a = np.ascontiguousarray(events[k][lo:lo + n_new], dtype=_EVENT_DTYPES[k])
                self._buf[k].append(a)
                self._crc_pool.submit(self._crc_update, k, a)  # in order, off this thread
            self._buf_n += n_new
            if self._buf_n >= _EVENT_CHUNK:
                self._write_buffer(final=False)
        base = self._n_events - int(offsets[0])
        self._offsets.extend((offsets[1:] + base).tolist())
        self._n_events += n_new
        self._labels.extend(int(v) for v in labels)
        for m in metas:
            for k in self._meta_columns:
                self._meta[k].append(m.get(k))

    def _crc_update(self, k: str, a: np.ndarray) -> None:
        self._crc[k] = zlib.crc32(a, self._crc[k])

    def abort(self):
        self._crc_pool.shutdown(wait=True, cancel_futures=True)
        super().abort()

    def _write_buffer(self, final: bool) -> None:
        """Write buffered events in whole chunks (a partial chunk would be decompressed and
        recompressed at every append); ``final`` also writes the remainder."""
        n = self._buf_n if final else (self._buf_n // _EVENT_CHUNK) * _EVENT_CHUNK
        if n == 0:
            return
        ensure_free_space(self.final.parent, n * 13, self.final)
        start = self._n_written
        for k in KEYS:
            a = np.concatenate(self._buf[k]) if len(self._buf[k]) > 1 else self._buf[k][0]
            d = self.h5[k]
            d.resize((start + n,))
            d[start:] = a[:n]
            self._buf[k] = [a[n:]] if a.shape[0] > n else []
        self._buf_n -= n
        self._n_written += n

    def append(self, events: Mapping, label: int, meta: Mapping = None) -> None:
        n = len(events["t"])
        self.append_many(events, np.array([0, n]), [label], [meta or {}])

    def commit(self, manifest: Mapping) -> Path:
        self._write_buffer(final=True)
        f = self.h5
        f.create_dataset("offsets", data=np.asarray(self._offsets, dtype=np.int64))
        f.create_dataset("labels", data=np.asarray(self._labels, dtype=np.int64))
        g = f.create_group("meta")
        for k, typ in self._meta_columns.items():
            vals = self._meta[k]
            if typ is str:
                g.create_dataset(k, data=np.array(["" if v is None else str(v) for v in vals],
                                                  dtype=object), dtype=_STR)
            else:
                g.create_dataset(k, data=np.asarray([-1 if v is None else v for v in vals],
                                                    dtype=np.int64))
        self._crc_pool.shutdown(wait=True)
        man = dict(manifest)
        crc = dict(self._crc)
        crc["offsets"] = zlib.crc32(f["offsets"][...])
        crc["labels"] = zlib.crc32(f["labels"][...])
        man["checksums"] = {k: f"{v:08x}" for k, v in crc.items()}
        man.setdefault("kind", "events")
        man["format_version"] = FORMAT_VERSION
        man["evframes_version"] = __version__
        man["n_samples"] = self.n_samples
        man["n_events"] = self._n_events
        man["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        man["build_id"] = uuid.uuid4().hex  # frames stores name the exact build they came from
        return super().commit(man)


class _LazyH5:
    """An HDF5 handle opened on first use in each process (safe across DataLoader forks)."""

    def __init__(self, path):
        self.path = Path(path)
        self._h5 = None
        self._pid = None

    def get(self) -> h5py.File:
        if self._h5 is None or self._pid != os.getpid():
            # a chunk cache that holds a few chunks of every dataset: consecutive small samples
            # then decompress each chunk once
            self._h5 = h5py.File(self.path, "r", rdcc_nbytes=32 << 20, rdcc_nslots=10007)
            self._pid = os.getpid()
        return self._h5

    def close(self):
        if self._h5 is not None and self._pid == os.getpid():
            try:
                self._h5.close()
            except Exception:
                pass
        self._h5 = None

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.path = state["path"]
        self._h5 = None
        self._pid = None


def resolve_store(path_or_root, split: str, kind_dir: str = EVENTS_DIR) -> Path:
    p = Path(path_or_root)
    if p.is_file() or p.suffix == ".h5":
        return p
    return p / kind_dir / f"{split}.h5"


class EventsDataset:
    """Read one sample's events and label by index from an events store.

    ``EventsDataset(path_or_root, split='train')``: ``path_or_root`` is either the ``.h5`` file
    or a dataset root holding ``events/<split>.h5``. ``ds[i] -> (Events, label)``.
    The HDF5 handle is opened lazily in each process, so the object can be handed to DataLoader
    workers. Small index arrays (offsets, labels, metadata) are read once into memory.
    """

    def __init__(self, path_or_root, split: str = "train", transform=None,
                 target_transform=None):
        self.path = resolve_store(path_or_root, split)
        if not self.path.exists():
            raise StoreError(
                f"{self.path}: no events store; run `evframes extract --root "
                f"{Path(path_or_root)}` first")
        self.manifest = read_manifest(self.path)
        if self.manifest.get("kind") != "events":
            raise StoreError(f"{self.path}: not an events store (kind={self.manifest.get('kind')})")
        with h5py.File(self.path, "r") as f:
            self.offsets = f["offsets"][...]
            self.labels = f["labels"][...]
            self.meta = {k: _decode(f["meta"][k][...]) for k in f["meta"].keys()} \
                if "meta" in f else {}
        self.split = self.manifest.get("split", split)
        self.classes = list(self.manifest.get("classes", []))
        self.sensor_size = tuple(self.manifest.get("sensor_size", ()))
        self.transform = transform
        self.target_transform = target_transform
        self._h5 = _LazyH5(self.path)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def events(self, i: int) -> Events:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"sample {i} out of range for {n} samples in {self.path}")
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        f = self._h5.get()
        try:
            return Events({k: f[k][a:b] for k in KEYS})
        except OSError as e:  # a corrupted chunk, an I/O error
            from .errors import one_line
            raise StoreError(f"{self.path}: sample {i}: cannot read its events {a}..{b}: "
                             f"{one_line(e)}") from None

    def sample_meta(self, i: int) -> dict:
        return {k: v[i].item() if hasattr(v[i], "item") else v[i] for k, v in self.meta.items()}

    def __getitem__(self, i: int):
        ev = self.events(i)
        label = int(self.labels[i])
        if self.transform is not None:
            ev = self.transform(ev)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return ev, label

    def read_all(self) -> Events:
        """All events of the split as flat arrays (use with ``self.offsets``)."""
        f = self._h5.get()
        return Events({k: f[k][...] for k in KEYS})

    def close(self):
        self._h5.close()

    def __repr__(self):
        return (f"EventsDataset({str(self.path)!r}, split={self.split!r}, samples={len(self)}, "
                f"events={int(self.offsets[-1])})")


def _decode(a):
    if a.dtype.kind in ("O", "S"):
        return np.array([v.decode() if isinstance(v, bytes) else v for v in a], dtype=object)
    return a


def dataset_crc(dset, chunk: int = 1 << 24) -> str:
    """crc32 of an HDF5 dataset's raw values, read in chunks along axis 0."""
    crc = 0
    n = dset.shape[0] if dset.shape else 0
    per = max(1, chunk // max(1, dset.dtype.itemsize * int(np.prod(dset.shape[1:] or (1,)))))
    for i in range(0, n, per):
        crc = zlib.crc32(np.ascontiguousarray(dset[i:i + per]), crc)
    return f"{crc:08x}"


def verify_store(path) -> List[str]:
    """Problems found in one store (empty list = sound): manifest, structure, checksums."""
    problems = []
    path = Path(path)
    try:
        man = read_manifest(path)
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
            for k, want in (man.get("checksums") or {}).items():
                if k not in f:
                    problems.append(f"checksummed dataset {k} missing")
                    continue
                got = dataset_crc(f[k])
                if got != want:
                    problems.append(f"checksum mismatch in /{k}: {got} != {want} (manifest)")
            if not man.get("checksums"):
                problems.append("no checksums in manifest")
    except OSError as e:
        problems.append(f"unreadable HDF5 ({e})")
    return problems
