"""Tonic's caches (``tonic.DiskCachedDataset``, ``tonic.MemoryCachedDataset``, Tonic 1.7).

``DiskCachedDataset(dataset, cache_path, reset_cache=False, transform=None,
target_transform=None, transforms=None, num_copies=1, compress=True)``: the constructor and
semantics of Tonic's: ``ds[i]`` is ``dataset[i]`` computed once per ``(i, copy)`` (``copy``
drawn with ``np.random.randint(num_copies)``), stored, and read back in Tonic's storage normal
form (numpy arrays, torch tensors as numpy, scalars as numpy scalars, a tuple of several pieces
as a list, strings as bytes); ``transform`` / ``target_transform`` / ``transforms`` run after
the cache, on every access. ``dataset=None`` serves what the cache folder holds.

Deliberate differences (docs/switching.md):

- storage: one HDF5 store per ``cache_path`` (``cache.h5``, written atomically under a lock;
  see :mod:`evframes.store.sample_cache`) instead of one file per sample. Entries computed in
  a run are staged one small file each (safe from any number of DataLoader workers) and merged
  into the store when the cache is complete, and at the next construction.
- invalidation: the store records a fingerprint of the wrapped dataset: its class, its
  attributes (its transform with its parameters; for evframes' datasets the events store's
  identity) and length. A changed transform or dataset never serves old samples: the stale
  cache is removed at construction (Tonic serves the old files until ``reset_cache=True``).
  When no fingerprint can be taken, a warning says so and the cache lasts one run.
- negative indices name the same entry as their positive counterpart (Tonic caches
  ``-1_0.hdf5`` apart from the last sample's file); ``reset_cache`` removes the cache's own
  files only, not the whole folder; values Tonic cannot store (``None``, nested dicts, tensors
  that require grad or live on the GPU) are stored as what they mean; a tuple of 11 or more
  pieces keeps its order (Tonic's reading sorts them as strings).

``MemoryCachedDataset(dataset, device=None, transform=None, target_transform=None,
transforms=None)``: Tonic's, samples kept in a dict per process; with ``device`` the sample and
target are moved there (numpy values become tensors first, where Tonic raises).
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Optional, Tuple

import numpy as np

from ..store.sample_cache import SampleCache, read_cache_manifest, staging_fingerprints

__all__ = ["DiskCachedDataset", "MemoryCachedDataset", "cache_fingerprint", "encode_sample",
           "decode_sample"]

Leaves = List[np.ndarray]


# -- Tonic's storage normal form --------------------------------------------------------------

def encode_sample(data, target, convert: Optional[Callable] = None) -> Tuple[str, Leaves]:
    """``(schema JSON, leaves)`` of a sample. A top-level tuple is split into pieces; a dict
    into its values (keys as strings, sorted); anything else becomes one array
    (``np.asarray``: lists and inner tuples too); strings and bytes are kept as bytes;
    ``convert(value)`` (e.g. a torch tensor to numpy) runs first on every value."""
    leaves: Leaves = []

    def leaf(v):
        if convert is not None:
            v = convert(v)
        if v is None:
            return ["none"]
        if isinstance(v, (str, bytes)):
            leaves.append(np.frombuffer(v.encode() if isinstance(v, str) else v, np.uint8))
            return ["bytes", len(leaves) - 1]
        if isinstance(v, dict):
            keys = sorted(str(k) for k in v)
            by_key = {str(k): x for k, x in v.items()}
            return ["dict", keys, [leaf(by_key[k]) for k in keys]]
        a = np.asarray(v)
        if a.dtype.hasobject or a.dtype.kind in "UMm":
            raise TypeError(f"cannot cache a value of dtype {a.dtype} (shape {a.shape}): "
                            f"numeric, bool, bytes and structured arrays only")
        leaves.append(a if a.flags.c_contiguous else a.copy())  # (0-d stays 0-d)
        return ["array", len(leaves) - 1]

    def top(v):
        return [leaf(p) for p in (v if isinstance(v, tuple) else (v,))]

    return json.dumps([top(data), top(target)]), leaves


def decode_sample(schema: str, leaves: Leaves):
    """``(data, target)`` back from :func:`encode_sample`'s form, as Tonic's cache returns
    them: several pieces as a list, one piece as itself, 0-d arrays as numpy scalars, strings
    as bytes."""
    def node(n):
        kind = n[0]
        if kind == "none":
            return None
        if kind == "bytes":
            return leaves[n[1]].tobytes()
        if kind == "dict":
            return {k: node(x) for k, x in zip(n[1], n[2])}
        a = leaves[n[1]]
        return a if a.ndim else a[()]

    def top(pieces):
        out = [node(p) for p in pieces]
        return out[0] if len(out) == 1 else out

    data, target = json.loads(schema)
    return top(data), top(target)


def _to_numpy(v):
    """Torch tensors as numpy arrays (detached, on the CPU), as Tonic's h5py write does."""
    if type(v).__module__.startswith("torch") and hasattr(v, "detach"):
        if getattr(v, "is_sparse", False):
            v = v.to_dense()
        return v.detach().cpu().numpy()
    return v


def cache_fingerprint(dataset) -> Tuple[Optional[str], Optional[str]]:
    """``(digest, None)`` of what ``dataset[i]`` computes: its ``__getitem__`` (code) and the
    instance (class and attributes, recursively: transforms with their parameters, arrays by
    content, evframes' stores by their manifest) and ``len(dataset)``; ``(None, why)`` when no
    fingerprint can be taken."""
    from ..integrate.fingerprint import function_fingerprint
    getitem = getattr(dataset, "__getitem__", None)
    if getitem is None:
        return None, f"{type(dataset).__name__} has no __getitem__"
    digest, why = function_fingerprint(getitem)
    if digest is None:
        return None, why
    import hashlib
    return hashlib.sha256(f"{digest}\0{len(dataset)}".encode()).hexdigest()[:32], None


@dataclass
class DiskCachedDataset:
    """Tonic's disk cache over one HDF5 store per ``cache_path`` (see the module docstring).

    Parameters
    ----------
    dataset : indexable or None
        What to cache (``dataset[i] -> (data, target)``); None: serve the cache as it is.
    cache_path : str
        The cache folder (created); use one per dataset and split.
    reset_cache : bool
        Remove the cache first.
    transform, target_transform, transforms : callable, optional
        Applied after the cache, on every access.
    num_copies : int
        Copies cached per sample (for random transforms of ``dataset``).
    compress : bool
        Compress the stored values (LZF while staged, LZ4 in the store).
    """

    dataset: Iterable
    cache_path: str
    reset_cache: bool = False
    transform: Optional[Callable] = None
    target_transform: Optional[Callable] = None
    transforms: Optional[Callable] = None
    num_copies: int = 1
    compress: bool = True
    fingerprint: Optional[str] = field(init=False, default=None)

    def __post_init__(self):
        if int(self.num_copies) < 1:
            raise ValueError(f"num_copies must be >= 1, got {self.num_copies}")
        os.makedirs(self.cache_path, exist_ok=True)
        if self.dataset is None:
            self._cache = self._existing()
            self.n_samples = self._cache.n_samples if self._cache is not None else 0
            return
        self.n_samples = len(self.dataset)
        fp, why = cache_fingerprint(self.dataset)
        if fp is None:
            import uuid
            warnings.warn(f"DiskCachedDataset({self.cache_path!r}): no fingerprint of the "
                          f"dataset can be taken ({why}); its cache cannot be checked against "
                          f"the dataset, so it is rebuilt in every run", UserWarning,
                          stacklevel=3)
            fp = uuid.uuid4().hex
        self.fingerprint = fp
        self._cache = SampleCache(self.cache_path, fp, self.n_samples,
                                  self.n_samples * int(self.num_copies), self.compress)
        self._cache.prepare(reset=self.reset_cache)

    def _existing(self) -> Optional[SampleCache]:
        if self.reset_cache:
            SampleCache(self.cache_path, "0" * 32, 0, 0).prepare(reset=True)
            return None
        man = read_cache_manifest(self.cache_path)
        if man is not None:
            self.fingerprint = man["fingerprint"]
            return SampleCache(self.cache_path, man["fingerprint"], man["n_samples"],
                               man["n_samples"] * int(self.num_copies), self.compress)
        staged = staging_fingerprints(self.cache_path)  # entries of a run not merged yet
        if len(staged) != 1:
            return None
        fp, n = staged[0]
        self.fingerprint = fp
        n_samples = n // int(self.num_copies)  # Tonic's count: files // num_copies
        return SampleCache(self.cache_path, fp, n_samples, n, self.compress)

    def __getitem__(self, item) -> Tuple[object, object]:
        n = self.n_samples
        if not -n <= item < n:
            raise IndexError(f"This dataset only has {n} items.")
        item = int(item) % n
        copy = np.random.randint(self.num_copies)
        got = self._cache.get(item, copy) if self._cache is not None else None
        if got is None:
            if self.dataset is None:
                raise IndexError(f"sample {item} (copy {copy}) is not in the cache "
                                 f"{self.cache_path} and there is no dataset to compute it")
            data, targets = self.dataset[item]
            schema, leaves = encode_sample(data, targets, _to_numpy)
            self._cache.put(item, copy, schema, leaves)
            got = (schema, leaves)
        data, targets = decode_sample(*got)
        if self.transform is not None:
            data = self.transform(data)
        if self.target_transform is not None:
            targets = self.target_transform(targets)
        if self.transforms is not None:
            data, targets = self.transforms(data, targets)
        return data, targets

    def __len__(self):
        return self.n_samples


@dataclass
class MemoryCachedDataset:
    """Tonic's memory cache: ``dataset[i]`` kept in a dict of this process on first access
    (moved to ``device`` when given); the transforms run after it, on every access."""

    dataset: Iterable
    device: Optional[str] = None
    transform: Optional[Callable] = None
    target_transform: Optional[Callable] = None
    transforms: Optional[Callable] = None
    samples_dict: dict = field(init=False, default_factory=dict)

    def __getitem__(self, index):
        try:
            data, targets = self.samples_dict[index]
        except KeyError:
            data, targets = self.dataset[index]
            if self.device is not None:
                import torch
                data = torch.as_tensor(data).to(self.device)
                targets = torch.as_tensor(targets).to(self.device)
            self.samples_dict[index] = (data, targets)
        if self.transform is not None:
            data = self.transform(data)
        if self.target_transform is not None:
            targets = self.target_transform(targets)
        if self.transforms is not None:
            data, targets = self.transforms(data, targets)
        return data, targets

    def __len__(self):
        return len(self.dataset)
