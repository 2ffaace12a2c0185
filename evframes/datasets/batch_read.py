"""Reading the stored frames of several samples at once, for
:meth:`NeuromorphicDataset.__getitems__ <evframes.datasets.base.NeuromorphicDataset.__getitems__>`
(what a torch DataLoader calls for each batch) and :mod:`evframes.datasets.loader`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch


def read_batch(ds, indices, out: Optional[np.ndarray] = None):
    """``(frames, lengths)`` of samples ``indices`` (any order, in range) of a stored-frames
    dataset ``ds``, in that order: the frames ``[sum T_i, C, H, W]`` in the stored dtype (no
    conversion), one HDF5 read per run of consecutive samples
    (:meth:`~evframes.store.frames.FramesStore.frames_many`) or, with ``in_memory``, copies
    from the shared copy; straight into ``out`` when given (exact shape and dtype).
    ``lengths``: int64 ``[len(indices)]``, the T_i."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    offs = ds._frames.frame_offsets
    lengths = offs[idx + 1] - offs[idx]
    if ds._mem is None:
        return ds._frames.frames_many(idx, out), lengths
    mem = ds._mem.numpy()
    shape = (int(lengths.sum()),) + mem.shape[1:]
    if out is None:
        out = np.empty(shape, mem.dtype)
    elif tuple(out.shape) != shape or out.dtype != mem.dtype:
        raise ValueError(f"out must be a {mem.dtype} array of shape {shape}, got "
                         f"{out.dtype} {tuple(out.shape)}")
    pos = 0
    for i, n in zip(idx, lengths):
        a = int(offs[i])
        out[pos:pos + n] = mem[a:a + n]
        pos += int(n)
    return out, lengths


def getitems(ds, indices) -> list:
    """``[ds[i] for i in indices]`` for a stored-frames dataset: the batch's frames read in one
    go (:func:`read_batch`) and converted to ``ds.frame_dtype`` in one pass; each sample is a
    view of that batch, then ``transform`` / ``target_transform`` as in ``ds[i]``."""
    idx = np.array([ds._frames._index(int(i)) for i in indices], dtype=np.int64)
    if idx.size == 0:
        return []
    frames, lengths = read_batch(ds, idx)
    x = to_dtype(frames, ds.frame_dtype)
    ends = np.cumsum(lengths)
    out = []
    for i, a, b in zip(idx, ends - lengths, ends):
        xi = x[int(a):int(b)]
        y = int(ds.labels[i])
        if ds.transform is not None:
            xi = ds.transform(xi)
        if ds.target_transform is not None:
            y = ds.target_transform(y)
        out.append((xi, y))
    return out


def numpy_dtype(dtype) -> Optional[np.dtype]:
    """The numpy dtype of torch ``dtype`` (None where numpy has none, e.g. bfloat16)."""
    try:
        return torch.empty(0, dtype=dtype).numpy().dtype
    except TypeError:
        return None


def to_dtype(frames: np.ndarray, dtype) -> torch.Tensor:
    """``frames`` (numpy) as a torch tensor of ``dtype``: numpy's single-threaded cast where
    numpy has the dtype (torch's cast of a whole batch spreads over its intra-op threads,
    several times slower on a loaded machine), else torch's."""
    t = torch.from_numpy(frames)
    if t.dtype == dtype:
        return t
    np_dtype = numpy_dtype(dtype)
    if np_dtype is None:
        return t.to(dtype)
    return torch.from_numpy(frames.astype(np_dtype))
