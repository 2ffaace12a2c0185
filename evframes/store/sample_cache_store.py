"""The merged store of a sample cache (``<folder>/cache.h5``; see
:mod:`evframes.store.sample_cache`): written by :class:`StoreWriter` (an old store's entries
copied, staged ones added), read by :class:`StoreReader`.

Layout: entries ``(item, copy)`` int64 ``[M, 2]``; per entry a schema id (``entry_schema``,
into the manifest's ``schemas``) and its leaves' rows (``leaf_offsets`` ``[M + 1]``,
``leaf_column`` / ``leaf_rows`` ``[L]`` / ``[L, 2]``); the leaves of one dtype and trailing
shape concatenated along their first axis in ``columns/<k>`` (0-d leaves as rows of a 1-D
column, ``attrs["scalar"]``), chunked (about 1 MiB) and compressed (Blosc2 LZ4 + shuffle).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import h5py
import numpy as np

from .atomic import AtomicH5, ensure_free_space
from .events import events_compression
from .manifest import FORMAT_VERSION

KIND = "sample_cache"
_CHUNK_BYTES = 1 << 20
_FLUSH_BYTES = 32 << 20

Leaves = List[np.ndarray]


def _column_key(a: np.ndarray):
    return (str(a.dtype.descr), a.shape[1:] if a.ndim else "scalar")


class StoreWriter(AtomicH5):
    """Writes a new merged store: old store's entries copied, staged entries added."""

    def __init__(self, final: Path, compress: bool):
        super().__init__(final)
        self.compress = compress
        self.entries: List[Tuple[int, int]] = []
        self.schema_ids: List[int] = []
        self.schemas: Dict[str, int] = {}
        self.leaf_offsets = [0]
        self.leaf_column: List[int] = []
        self.leaf_rows: List[Tuple[int, int]] = []
        self.columns: Dict[tuple, int] = {}
        self.rows: List[int] = []
        self.buf: List[List[np.ndarray]] = []
        self.buf_bytes = 0

    def _column(self, a: np.ndarray) -> int:
        key = _column_key(a)
        if key not in self.columns:
            c = len(self.columns)
            self.columns[key] = c
            tail = a.shape[1:] if a.ndim else ()
            row_bytes = max(1, a.dtype.itemsize * int(np.prod(tail, dtype=np.int64)))
            opts = events_compression() if self.compress else {}
            d = self.h5.create_dataset(f"columns/{c}", shape=(0, *tail),
                                       maxshape=(None, *tail), dtype=a.dtype,
                                       chunks=(max(1, _CHUNK_BYTES // row_bytes), *tail),
                                       **opts)
            d.attrs["scalar"] = a.ndim == 0
            self.rows.append(0)
            self.buf.append([])
        return self.columns[key]

    def add(self, item: int, copy: int, schema: str, leaves: Leaves) -> None:
        self.entries.append((item, copy))
        self.schema_ids.append(self.schemas.setdefault(schema, len(self.schemas)))
        for a in leaves:
            c = self._column(a)
            rows = a.reshape(1) if a.ndim == 0 else a
            start = self.rows[c]
            self.rows[c] += rows.shape[0]
            self.leaf_column.append(c)
            self.leaf_rows.append((start, self.rows[c]))
            self.buf[c].append(rows)
            self.buf_bytes += rows.nbytes
        self.leaf_offsets.append(len(self.leaf_column))
        if self.buf_bytes >= _FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        ensure_free_space(self.final.parent, self.buf_bytes, self.final)
        for c, parts in enumerate(self.buf):
            if not parts:
                continue
            d = self.h5[f"columns/{c}"]
            block = np.concatenate(parts)
            n0 = d.shape[0]
            d.resize((n0 + block.shape[0], *d.shape[1:]))
            d[n0:] = block
            self.buf[c] = []
        self.buf_bytes = 0

    def commit_store(self, fingerprint: str, n_samples: int) -> Path:
        self._flush()
        f = self.h5
        f.create_dataset("entries", data=np.asarray(self.entries, np.int64).reshape(-1, 2))
        f.create_dataset("entry_schema", data=np.asarray(self.schema_ids, np.int32))
        f.create_dataset("leaf_offsets", data=np.asarray(self.leaf_offsets, np.int64))
        f.create_dataset("leaf_column", data=np.asarray(self.leaf_column, np.int32))
        f.create_dataset("leaf_rows", data=np.asarray(self.leaf_rows, np.int64).reshape(-1, 2))
        schemas = sorted(self.schemas, key=self.schemas.get)
        return self.commit({"kind": KIND, "format_version": FORMAT_VERSION,
                            "fingerprint": fingerprint, "n_samples": int(n_samples),
                            "n_entries": len(self.entries), "schemas": schemas})


class StoreReader:
    """The merged store opened in one process: index and data from the same open file, so a
    store replaced meanwhile is never read with another one's index."""

    def __init__(self, path: Path):
        self.path = path
        self.pid = os.getpid()
        self.key = file_id(path)
        self.h5 = f = h5py.File(path, "r", rdcc_nbytes=64 << 20, rdcc_nslots=10007)
        try:
            self.manifest = json.loads(f.attrs["manifest"])
            entries = f["entries"][...]
            self.entry_schema = f["entry_schema"][...]
            self.leaf_offsets = f["leaf_offsets"][...]
            self.leaf_column = f["leaf_column"][...]
            self.leaf_rows = f["leaf_rows"][...]
            # kept open: HDF5's chunk cache lives with the open dataset
            self.columns = [f[f"columns/{c}"]
                            for c in range(len(f["columns"]) if "columns" in f else 0)]
            self.scalar = [bool(d.attrs["scalar"]) for d in self.columns]
        except BaseException:
            f.close()
            raise
        self.index = {(int(a), int(b)): i for i, (a, b) in enumerate(entries)}

    def close(self) -> None:
        if self.pid == os.getpid():
            try:
                self.h5.close()
            except Exception:
                pass

    def get(self, item: int, copy: int) -> Optional[Tuple[str, Leaves]]:
        i = self.index.get((item, copy))
        if i is None:
            return None
        leaves = []
        for j in range(int(self.leaf_offsets[i]), int(self.leaf_offsets[i + 1])):
            a, b = (int(v) for v in self.leaf_rows[j])
            c = int(self.leaf_column[j])
            d = self.columns[c]
            leaves.append(d[a] if self.scalar[c] else d[a:b])
        return self.manifest["schemas"][int(self.entry_schema[i])], leaves

    def all_entries(self):
        """``(item, copy, schema, leaves)`` of every entry, in store order."""
        for (item, copy) in self.index:
            yield (item, copy, *self.get(item, copy))


def file_id(path: Path):
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns)
