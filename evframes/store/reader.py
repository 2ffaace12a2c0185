"""Reading stores: a lazily opened HDF5 handle and the base both store readers share.

A reader reads the small index arrays (offsets, labels, and what a subclass adds) once into
memory when it is made, and opens the HDF5 file for the bulk data lazily in each process, so a
reader can be handed to DataLoader workers (forked or spawned) and each opens its own handle.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Mapping, Optional, Tuple

import h5py
import numpy as np

from ..errors import StoreError
from .manifest import read_manifest


class _LazyH5:
    """An HDF5 handle opened on first use in each process (safe across DataLoader forks)."""

    def __init__(self, path):
        self.path = Path(path)
        self._h5 = None
        self._pid = None
        self._datasets = {}

    def get(self) -> h5py.File:
        if self._h5 is None or self._pid != os.getpid():
            # a chunk cache that holds a few chunks of every dataset: consecutive small samples
            # then decompress each chunk once
            self._h5 = h5py.File(self.path, "r", rdcc_nbytes=32 << 20, rdcc_nslots=10007)
            self._pid = os.getpid()
            self._datasets = {}
        return self._h5

    def dataset(self, name: str) -> h5py.Dataset:
        """The dataset ``name`` of this process's handle, kept open: HDF5's chunk cache lives
        with the open dataset, so reading sample after sample through it decompresses each
        chunk once (``f[name]`` at every read starts with an empty cache)."""
        f = self.get()
        d = self._datasets.get(name)
        if d is None:
            d = self._datasets[name] = f[name]
        return d

    def close(self):
        if self._h5 is not None and self._pid == os.getpid():
            try:
                self._h5.close()
            except Exception:
                pass
        self._h5 = None
        self._datasets = {}

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.path = state["path"]
        self._h5 = None
        self._pid = None
        self._datasets = {}


class StoreReader:
    """Base of the store readers: manifest, index arrays read once, a lazy handle, index checks.

    Subclasses set :attr:`kind` (the manifest ``kind`` they read) and :attr:`offsets_name` (the
    HDF5 dataset of per-sample offsets into the bulk data), and may extend :meth:`_read_index`
    (call ``super()._read_index(f)`` first) and :meth:`_repr_fields`.

    After ``__init__(path, manifest=None)``: ``path`` (Path), ``manifest`` (dict: the one
    given, when the caller has already read it, else read here), ``offsets`` (int64
    ``[n + 1]``), ``labels`` (int64 ``[n]``), ``len(reader) == n``. A manifest of another kind
    raises :class:`~evframes.StoreError`; a missing or foreign file too (from
    :func:`~evframes.store.manifest.read_manifest`).
    """

    kind: str = ""                 # manifest kind this reader accepts
    offsets_name: str = "offsets"  # sample i is rows offsets[i]:offsets[i+1] of the bulk data

    def __init__(self, path, manifest: Optional[Mapping] = None):
        self.path = Path(path)
        self.manifest = read_manifest(self.path) if manifest is None else manifest
        got = self.manifest.get("kind")
        if got != self.kind:
            article = "an" if self.kind[:1] in "aeiou" else "a"
            raise StoreError(f"{self.path}: not {article} {self.kind} store (kind={got})")
        with h5py.File(self.path, "r") as f:
            self._read_index(f)
        self._h5 = _LazyH5(self.path)

    def _read_index(self, f: h5py.File) -> None:
        """Read the small per-sample arrays from the open file ``f`` (once, at construction)."""
        self.offsets = f[self.offsets_name][...]
        self.labels = f["labels"][...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def _index(self, i: int) -> int:
        """Sample index ``i`` checked (negative counts from the end); IndexError naming the
        store when out of range."""
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"sample {i} out of range for {n} samples in {self.path}")
        return i

    def _bounds(self, i: int) -> Tuple[int, int]:
        """``(a, b)``: the rows of (checked) sample ``i`` in the bulk data."""
        i = self._index(i)
        return int(self.offsets[i]), int(self.offsets[i + 1])

    def _read(self, i: int, what: str, read: Callable[[h5py.File, int, int], object]):
        """``read(h5, a, b)`` for sample ``i`` on this process's handle; a corrupted chunk or
        an I/O error becomes a one-line StoreError naming the store, the sample and ``what``."""
        i = self._index(i)
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        try:
            return read(self._h5.get(), a, b)
        except OSError as e:  # a corrupted chunk, an I/O error
            from ..errors import one_line
            raise StoreError(f"{self.path}: sample {i}: cannot read its {what} {a}..{b}: "
                             f"{one_line(e)}") from None

    def close(self) -> None:
        """Close this process's HDF5 handle (it reopens on the next read)."""
        self._h5.close()

    def _repr_fields(self) -> str:
        return f"samples={len(self)}"

    def __repr__(self):
        return f"{type(self).__name__}({str(self.path)!r}, {self._repr_fields()})"


def _decode(a):
    if a.dtype.kind in ("O", "S"):
        return np.array([v.decode() if isinstance(v, bytes) else v for v in a], dtype=object)
    return a
