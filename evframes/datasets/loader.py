"""Fast batches of stored frames: :func:`fast_loader`, a DataLoader for training.

A torch ``DataLoader(ds, batch_size=16, shuffle=True, num_workers=2)`` asks each worker for
its samples one by one, converts each to float32 there, stacks them and sends 4 bytes per
value through shared memory to the main process. :func:`fast_loader` keeps the loop the same
and changes what moves:

- the sampler's batches (the same :class:`~torch.utils.data.BatchSampler` over the same
  ``RandomSampler(generator=...)`` as the DataLoader's, so the same samples in the same order)
  go to the workers whole; a worker reads a batch with one HDF5 read per run of consecutive
  samples straight into shared memory (a buffer it reuses once the main process is done with
  it: no page of it is allocated or zeroed again);
- the batch crosses the process boundary in the store's compact dtype (uint8 counts: a quarter
  of float32's bytes);
- the conversion to ``dtype`` (default: the dataset's ``frame_dtype``, float32) happens after,
  in the main process (numpy, one pass on one thread) or on ``device`` (the uint8 batch is
  copied to the GPU, from pinned memory, then converted there).

``for x, y in fast_loader(ds, 16, shuffle=True, num_workers=2)`` yields ``x`` ``[B, T, C, H, W]``
of ``dtype`` and ``y`` int64 ``[B]``, equal to what the DataLoader yields for the same
generator, so SpikingJelly-style loops keep working. The compact path needs stored frames with a
fixed T and no ``transform`` / ``target_transform``; any other dataset (variable T, on the fly,
transforms, events) goes through a plain DataLoader with the same batch sampler, reading each
batch through ``ds.__getitems__`` (``collate_fn`` as for a DataLoader, e.g.
``pad_sequence_collate``), and ``x`` is converted and moved the same way after it.
:class:`torch.utils.data.Subset` views of a dataset are read through their parent.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    Subset,
    get_worker_info,
)

from .batch_read import numpy_dtype, read_batch


def _unwrap(ds):
    """``(base dataset, index map or None)`` through nested :class:`Subset` views."""
    index = None
    while isinstance(ds, Subset):
        sub = np.asarray(ds.indices, dtype=np.int64)
        index = sub if index is None else sub[index]
        ds = ds.dataset
    return ds, index


def _empty(shape, dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor, in shared memory inside a DataLoader worker (as
    ``default_collate`` allocates its batches), so sending it to the main process copies
    nothing."""
    if get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    try:
        template = torch.empty(0, dtype=dtype)
        storage = template._typed_storage()._new_shared(math.prod(shape), device="cpu")
        return template.new(storage).resize_(*shape)
    except (AttributeError, RuntimeError, TypeError):  # pragma: no cover - other torch
        return torch.empty(shape, dtype=dtype)


RING = 6  #: shared-memory batch buffers a worker keeps for reuse (compact path)


class _Token:
    """A worker's ring slot and its shared ``flag`` (int32 ``[1]``: 1 while the main process
    may still read the buffer). A plain object, so ``pin_memory`` leaves the flag shared."""

    __slots__ = ("slot", "flag")

    def __init__(self, slot: int, flag: torch.Tensor):
        self.slot, self.flag = slot, flag

    def __getstate__(self):
        return self.slot, self.flag

    def __setstate__(self, state):
        self.slot, self.flag = state


class _Batches(torch.utils.data.Dataset):
    """Map-style view of a stored-frames dataset indexed by a whole batch (a list of sample
    indices): ``view[batch] -> (frames, labels, token)``: ``frames`` ``[B, T, C, H, W]`` in the
    stored dtype, in the batch's order (shared memory in a worker), ``labels`` int64 ``[B]``.

    ``token``: with ``reuse`` in a worker, a :class:`_Token`; the worker keeps up to
    :data:`RING` buffers and writes a batch into one whose flag the main process has set back
    to 0 once it converted the batch out of it, so its pages are neither allocated nor zeroed
    again (a fresh one when none is free). Without ``reuse`` (the batch itself is handed to
    the user), None."""

    def __init__(self, ds, index: Optional[np.ndarray], sample_shape, dtype: torch.dtype,
                 reuse: bool, batch_size: int, convert: Optional[np.dtype] = None):
        self.ds, self.index, self.sample_shape = ds, index, tuple(sample_shape)
        self.dtype, self.reuse, self.batch_size = dtype, reuse, int(batch_size)
        self.convert = convert  # in the main process (no workers): the output dtype
        self._ring: list = []
        self._local = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_ring"], state["_local"] = [], None
        return state

    def _converted(self, idx: np.ndarray) -> torch.Tensor:
        """Without workers: the batch cast straight to ``convert`` (from the in-memory copy
        sample by sample, or from one reused buffer the stored frames are read into)."""
        out = np.empty((idx.size,) + self.sample_shape, self.convert)
        if self.ds._mem is not None:
            mem, offs, T = self.ds._mem.numpy(), self.ds._frames.frame_offsets, out.shape[1]
            for j, i in enumerate(idx):
                a = int(offs[i])
                np.copyto(out[j], mem[a:a + T], casting="unsafe")
            return torch.from_numpy(out)
        if self._local is None or self._local.shape[0] < idx.size:
            stored = torch.empty(0, dtype=self.dtype).numpy().dtype
            self._local = np.empty((max(idx.size, self.batch_size),) + self.sample_shape,
                                   stored)
        buf = self._local[:idx.size]
        read_batch(self.ds, idx, buf.reshape((-1,) + self.sample_shape[1:]))
        np.copyto(out, buf, casting="unsafe")
        return torch.from_numpy(out)

    def __len__(self):
        return len(self.ds) if self.index is None else len(self.index)

    def _indices(self, batch) -> np.ndarray:
        idx = np.asarray(batch, dtype=np.int64).reshape(-1)
        if self.index is not None:
            n = len(self.index)
            if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
                raise IndexError(f"index out of range for a Subset of {n} samples")
            idx = self.index[idx]
        store = self.ds._frames
        return np.array([store._index(int(i)) for i in idx], dtype=np.int64)

    def _buffer(self, rows: int):
        """``(frames [rows, ...], token)``: a free ring buffer (or a new one) in a worker."""
        if not self.reuse or get_worker_info() is None or rows > self.batch_size:
            return _empty((rows,) + self.sample_shape, self.dtype), None
        for slot, (buf, flag) in enumerate(self._ring):
            if int(flag[0]) == 0:
                flag[0] = 1
                return buf[:rows], _Token(slot, flag)
        buf = _empty((self.batch_size,) + self.sample_shape, self.dtype)
        if len(self._ring) >= RING:
            return buf[:rows], None
        flag = _empty((1,), torch.int32)
        flag[0] = 1
        self._ring.append((buf, flag))
        return buf[:rows], _Token(len(self._ring) - 1, flag)

    def __getitem__(self, batch):
        idx = self._indices(batch)
        labels = torch.from_numpy(np.asarray(self.ds.labels, dtype=np.int64)[idx])
        if self.convert is not None and get_worker_info() is None:
            return self._converted(idx), labels, None
        x, token = self._buffer(idx.size)
        read_batch(self.ds, idx, x.numpy().reshape((-1,) + self.sample_shape[1:]))
        return x, labels, token


class FastLoader:
    """What :func:`fast_loader` returns: iterable over ``(x, y)`` batches, ``len()`` batches;
    ``dataset``, ``batch_size``, ``sampler``, ``batch_sampler``, ``num_workers``, ``dtype``,
    ``device`` and ``compact`` (True when batches cross between processes in the stored dtype)
    as attributes; ``loader`` is the underlying DataLoader."""

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, sampler=None,
                 num_workers: int = 0, drop_last: bool = False, generator=None, dtype=None,
                 device=None, pin_memory: Optional[bool] = None, collate_fn=None,
                 persistent_workers: bool = True, prefetch_factor: Optional[int] = None,
                 worker_init_fn=None, multiprocessing_context=None, timeout: float = 0):
        base, index = _unwrap(dataset)
        if sampler is not None and shuffle:
            raise ValueError("fast_loader: give sampler= or shuffle=True, not both")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle \
                else SequentialSampler(dataset)
        self.dataset, self.batch_size, self.drop_last = dataset, int(batch_size), drop_last
        self.sampler, self.num_workers = sampler, int(num_workers)
        self.batch_sampler = BatchSampler(sampler, self.batch_size, drop_last)
        self.device = None if device is None else torch.device(device)
        cuda = self.device is not None and self.device.type == "cuda"
        self.pin_memory = cuda if pin_memory is None else bool(pin_memory)
        self.dtype = dtype if dtype is not None else getattr(base, "frame_dtype", None)
        self.compact = self._compact_ok(base)
        kw = dict(num_workers=self.num_workers, pin_memory=self.pin_memory,
                  persistent_workers=persistent_workers and self.num_workers > 0,
                  worker_init_fn=worker_init_fn,
                  multiprocessing_context=multiprocessing_context, timeout=timeout,
                  generator=generator)  # draws the workers' base seed first, as DataLoader
        if prefetch_factor is not None and self.num_workers > 0:
            kw["prefetch_factor"] = prefetch_factor
        if self.compact:
            from ..store.frames import frames_layout
            shape, stored = frames_layout(base._frames.path)
            self._stored = torch.from_numpy(np.empty(0, stored)).dtype
            if self.dtype is None:
                self.dtype = self._stored
            if self.dtype != base.frame_dtype and self.dtype != self._stored:
                from ..store import _LazyH5
                from .frame_dtype import check_exact_conversion
                h5 = _LazyH5(base._frames.path)
                try:
                    check_exact_conversion(h5.get()["frames"], base._frames.frame_offsets,
                                           self.dtype, str(base._frames.path))
                finally:
                    h5.close()
            T = int(base._frames.manifest["fixed_T"])
            reuse = self.device is not None or self.dtype != self._stored
            convert = numpy_dtype(self.dtype) if self.device is None and reuse else None
            view = _Batches(base, index, (T,) + tuple(shape[1:]), self._stored, reuse,
                            self.batch_size, convert)
            self.loader = DataLoader(view, batch_size=None, sampler=self.batch_sampler, **kw)
        else:
            self.loader = DataLoader(dataset, batch_sampler=self.batch_sampler,
                                     collate_fn=collate_fn, **kw)

    @staticmethod
    def _compact_ok(base) -> bool:
        ok = getattr(base, "_batch_readable", None)
        return (ok is not None and ok() and base.transform is None
                and base.target_transform is None
                and bool(base._frames.manifest.get("fixed_T")))

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def _move(self, t):
        if self.device is not None and isinstance(t, torch.Tensor):
            return t.to(self.device, non_blocking=self.pin_memory)
        return t

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        """The worker's compact batch -> ``dtype`` (on ``device``): a new tensor unless
        nothing is to be done."""
        if self.device is not None:
            return self._move(x).to(self.dtype)
        if x.dtype == self.dtype:
            return x
        np_dtype = numpy_dtype(self.dtype)
        if np_dtype is None:
            return x.to(self.dtype)
        out = np.empty(tuple(x.shape), np_dtype)
        np.copyto(out, x.numpy(), casting="unsafe")  # one pass, one thread (no torch pool)
        return torch.from_numpy(out)

    def __iter__(self):
        if self.compact:
            keep = {}  # the workers' ring buffers stay mapped here: no remapping per batch
            for x, y, token in self.loader:
                out = self._finish(x)
                if token is not None:  # converted (or copied to the device, or pinned)
                    token.flag[0] = 0  # the worker may write its next batch into this buffer
                    keep[(token.flag.untyped_storage().data_ptr(), token.slot)] = (x, token)
                del x
                yield out, self._move(y)
            return
        for batch in self.loader:
            x, rest = batch[0], tuple(batch[1:])
            if isinstance(x, torch.Tensor) and self.dtype is not None:
                x = self._move(x).to(self.dtype)
            yield (x,) + tuple(self._move(v) for v in rest)

    def __repr__(self):
        return (f"FastLoader(batch_size={self.batch_size}, batches={len(self)}, "
                f"num_workers={self.num_workers}, dtype={self.dtype}, device={self.device}, "
                f"compact={self.compact})")


def fast_loader(dataset, batch_size: int = 1, shuffle: bool = False, num_workers: int = 0,
                **kwargs) -> FastLoader:
    """A DataLoader-like iterable of ``(x, y)`` batches of a frames dataset, read a batch at
    a time in the workers and converted to ``dtype`` after crossing to the main process.

    Parameters
    ----------
    dataset : an evframes frames dataset (e.g. ``DVS128Gesture(..., data_type='frame',
        frames_number=20, split_by='number')``, ``in_memory`` or not), or a ``Subset`` of one
    batch_size, shuffle, num_workers, drop_last, generator, sampler, prefetch_factor,
    worker_init_fn, multiprocessing_context, timeout : as for
        :class:`torch.utils.data.DataLoader` (the same sampler and generator give the same
        batches in the same order)
    persistent_workers : default True (DataLoader's is False): the workers, their open store
        and their shared-memory buffers stay from one epoch to the next, so an epoch does not
        start by forking workers again
    dtype : torch dtype of ``x`` (default the dataset's ``frame_dtype``, float32); a dtype
        that cannot hold every stored value exactly is refused (ValueError), as
        ``frame_dtype`` is
    device : where ``x`` and ``y`` go (``"cuda"``: the compact batch is copied from pinned
        memory, then converted on the GPU); default the CPU
    pin_memory : default True exactly when ``device`` is a CUDA device
    collate_fn : for datasets off the compact path only (e.g. ``pad_sequence_collate`` for
        variable T)

    Returns
    -------
    FastLoader
        ``for x, y in loader``: ``x`` ``[B, T, C, H, W]`` of ``dtype``, ``y`` int64 ``[B]``;
        ``len(loader)`` batches.
    """
    return FastLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
                      **kwargs)
