"""The events store: one HDF5 file per split, written by :class:`EventsStoreWriter`, read by
:class:`EventsDataset` (samples by index) and :class:`EventsColumns` (event columns by range,
as the frames builder reads them).

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
removed by the next run that holds the store's lock (see :mod:`evframes.store.locking`).
"""
from __future__ import annotations

import time
import uuid
from functools import cached_property
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import h5py
import numpy as np

try:  # registers the Blosc filters used by the stores
    import hdf5plugin
except ImportError:  # pragma: no cover
    hdf5plugin = None

from .. import __version__
from ..errors import StoreError
from ..events import KEYS, P_DTYPE, T_DTYPE, XY_DTYPE, Events
from .atomic import AtomicH5, ensure_free_space, start_writeback
from .checksum import CHECKSUM_ALGORITHM, Checksum, array_checksum
from .layout import resolve_store
from .manifest import FORMAT_VERSION
from .reader import StoreReader, _decode

_EVENT_DTYPES = {"t": T_DTYPE, "x": XY_DTYPE, "y": XY_DTYPE, "p": P_DTYPE}
_EVENT_CHUNK = 1 << 18  # events per HDF5 chunk
_STR = h5py.string_dtype("utf-8")


def events_compression() -> dict:
    """HDF5 filter for event arrays: Blosc LZ4 with byte shuffle (about 4 bytes per event,
    5x faster than LZF both ways); LZF + shuffle without hdf5plugin.

    Blosc, not Blosc2: through hdf5plugin 7's filters the same LZ4 + shuffle costs 0.40 CPU s
    per 50 M DVS128 Gesture events with Blosc and 0.67 with Blosc2, reads in 0.29 s against
    0.33, and is 2% smaller (190 MB against 195). Stores written with Blosc2 stay readable:
    HDF5 reads each dataset with the filter it was written with."""
    if hdf5plugin is not None:
        return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
    return {"compression": "lzf", "shuffle": True}  # pragma: no cover


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
        # running xxh3 of each column's stored bytes (about 0.05 s per 800 MB: no thread)
        self._sums = {k: Checksum() for k in KEYS}
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
                self._sums[k].update(a)
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

    def _write_buffer(self, final: bool) -> None:
        """Write buffered events in whole chunks (a partial chunk would be decompressed and
        recompressed at every append); ``final`` also writes the remainder."""
        n = self._buf_n if final else (self._buf_n // _EVENT_CHUNK) * _EVENT_CHUNK
        if n == 0:
            return
        ensure_free_space(self.final.parent, n * 13, self.final)
        start = self._n_written
        for k in KEYS:
            d = self.h5[k]
            d.resize((start + n,))
            self._buf[k] = _write_chunks(d, self._buf[k], start, n)
        self._buf_n -= n
        self._n_written += n
        start_writeback(self.tmp)  # so the commit's fsync has little left to wait for

    def append(self, events: Mapping, label: int, meta: Mapping = None) -> None:
        n = len(events["t"])
        self.append_many(events, np.array([0, n]), [label], [meta or {}])

    def append_events(self, events: Mapping) -> None:
        """Append events to the sample in progress without ending it (a sample streamed in
        chunks, e.g. a recording larger than memory); the next sample appended starts with
        them (``append(empty events, label, meta)`` ends the sample with nothing more)."""
        n = len(events["t"])
        self.append_many(events, np.array([0, n]), [], [])
        self._offsets.pop()  # no boundary: the sample goes on

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
        man = dict(manifest)
        sums = {k: h.hexdigest() for k, h in self._sums.items()}
        sums["offsets"] = array_checksum(f["offsets"])
        sums["labels"] = array_checksum(f["labels"])
        man["checksums"] = sums
        man["checksum_algorithm"] = CHECKSUM_ALGORITHM
        man.setdefault("kind", "events")
        man["format_version"] = FORMAT_VERSION
        man["evframes_version"] = __version__
        man["n_samples"] = self.n_samples
        man["n_events"] = self._n_events
        man["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        man["build_id"] = uuid.uuid4().hex  # frames stores name the exact build they came from
        return super().commit(man)


def _write_chunks(d, parts: List[np.ndarray], start: int, n: int) -> List[np.ndarray]:
    """Write the first ``n`` values of the buffered ``parts`` to ``d[start:start + n]``
    (``start`` chunk-aligned) without joining them: runs of whole chunks inside one part are
    written straight from it, only a chunk that spans parts is assembled (at most one chunk
    copied per part). Every chunk is written whole, once. Returns the parts left over."""
    pos, pieces, held = 0, [], 0
    rest: List[np.ndarray] = []
    for a in parts:
        i = 0
        while i < a.shape[0] and pos + held < n:
            if held == 0 and a.shape[0] - i >= _EVENT_CHUNK:
                m = min((a.shape[0] - i) // _EVENT_CHUNK * _EVENT_CHUNK, n - pos)
                d[start + pos:start + pos + m] = a[i:i + m]
                pos += m
                i += m
                continue
            take = min(_EVENT_CHUNK - held, a.shape[0] - i, n - pos - held)
            pieces.append(a[i:i + take])
            held += take
            i += take
            if held == _EVENT_CHUNK or pos + held == n:
                d[start + pos:start + pos + held] = \
                    pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
                pos += held
                pieces, held = [], 0
        if i < a.shape[0]:
            rest.append(a[i:])
    return rest


class EventsDataset(StoreReader):
    """Read one sample's events and label by index from an events store.

    ``EventsDataset(path_or_root, split='train')``: ``path_or_root`` is either the ``.h5`` file
    or a dataset root holding ``events/<split>.h5``. ``ds[i] -> (Events, label)``.
    ``manifest``: the store's manifest when the caller has already read it.
    The HDF5 handle is opened lazily in each process, so the object can be handed to DataLoader
    workers. Small index arrays (offsets, labels, metadata) are read once into memory.
    """

    kind = "events"

    def __init__(self, path_or_root, split: str = "train", transform=None,
                 target_transform=None, manifest: Optional[Mapping] = None):
        path = resolve_store(path_or_root, split)
        if not path.exists():
            raise StoreError(
                f"{path}: no events store; run `evframes extract --root "
                f"{Path(path_or_root)}` first")
        super().__init__(path, manifest)
        self.split = self.manifest.get("split", split)
        self.classes = list(self.manifest.get("classes", []))
        self.sensor_size = tuple(self.manifest.get("sensor_size", ()))
        self.transform = transform
        self.target_transform = target_transform

    def _read_index(self, f: h5py.File) -> None:
        super()._read_index(f)
        self.meta = {k: _decode(f["meta"][k][...]) for k in f["meta"].keys()} \
            if "meta" in f else {}

    def events(self, i: int) -> Events:
        return Events(self._read(i, "events", lambda f, a, b: {k: self._h5.dataset(k)[a:b]
                                                               for k in KEYS}))

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

    def _repr_fields(self) -> str:
        return f"split={self.split!r}, samples={len(self)}, events={int(self.offsets[-1])}"


class EventsColumns:
    """An events store opened for reading by range (the frames builder's view of it):
    ``offsets`` and ``labels`` (read into memory on first use), ``column(k)`` the lazy
    ``t``/``x``/``y``/``p`` dataset (sliceable), ``read(a, b)`` the four columns of events
    ``a..b-1``. ``filename``: the path as opened (used in messages). A context manager."""

    def __init__(self, path):
        self._f = h5py.File(path, "r")
        self.filename = self._f.filename

    @cached_property
    def offsets(self) -> np.ndarray:
        return self._f["offsets"][...]

    @cached_property
    def labels(self) -> np.ndarray:
        return self._f["labels"][...]

    def column(self, k: str):
        return self._f[k]

    def read(self, a: int, b: int):
        """``(t, x, y, p)`` of events ``a..b-1``."""
        return tuple(self._f[k][a:b] for k in ("t", "x", "y", "p"))

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
