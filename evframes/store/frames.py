"""Frames stores on disk: the HDF5 writer and reader of ``<root>/<setting dir>/<split>.h5``.

Layout::

    /frames          [sum_i T_i, C, H', W'] (count frames: C = 2, H' x W' = H x W), compact
                     unsigned integer counts (uint8 unless a pixel count needs more: then
                     uint16, uint32); a representation's frames
                     (:mod:`evframes.integrate.representations`: C channels, HATS' H' x W'
                     grid) in its own dtype (float32, int16, uint8, int64); a custom
                     function's values exactly, in the narrowest dtype holding all of them
                     (integer, signed or not, or float16/32/64; NaN and inf kept:
                     :mod:`evframes.integrate.dtypes`);
                     chunked one sample (fixed T, at most 4 MiB a chunk)
                     or 8 frames per chunk, compressed with Blosc (LZ4 level 9, bit shuffle)
                     from hdf5plugin (``import hdf5plugin`` before reading with plain h5py), or
                     with gzip + shuffle when hdf5plugin is not installed (:data:`CODEC`)
    /frame_offsets   int64 [n_samples + 1]; sample i is frames[frame_offsets[i]:frame_offsets[i+1]]
    /labels          int64 [n_samples]
    attrs["manifest"] kind='frames', dataset, split, setting, downsample, sensor_size (W, H),
                     events_store (identity of the events store it was built from), classes,
                     n_samples, n_frames, fixed_T; function_fingerprint for a custom function;
                     codec (:func:`frames_codec`: a store written with another codec is
                     rebuilt, not reused); checksums (xxh3_64 of frames, frame_offsets, labels)

What goes into a store (which setting, when it is current) is decided by
:mod:`evframes.pipeline.frames`; this module only writes and reads the file. The events store
as the frames builder reads it (:class:`~evframes.store.events.EventsColumns`) lives with the
events store and stays importable from here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Tuple

import h5py
import numpy as np

from ..errors import StoreError
from .atomic import AtomicH5, ensure_free_space
from .checksum import CHECKSUM_ALGORITHM, Checksum, array_checksum
from .events import EventsColumns  # noqa: F401  (it lived here before)
from .reader import StoreReader

CHUNK_BYTES = 4 << 20  # at most this many uncompressed bytes per HDF5 chunk


#: the frames codec: its name (recorded in every frames store's manifest, ``codec``) -> HDF5
#: filter. Blosc LZ4 level 9 + bit shuffle (small counts compress to a few bits): reading a
#: T=20 DVS128 sample [20, 2, 128, 128] uint8 (655 kB) takes about 0.7 ms of CPU, against 2.1 ms
#: with the Blosc2 zstd level 1 + bit shuffle used before, for 1.4x its size (17.7 MB instead
#: of 12.4 MB for the replica's 120 train samples); Blosc2 LZ4 reads about 1.3x slower than
#: Blosc LZ4 through hdf5plugin. Without hdf5plugin: gzip level 4 with byte shuffle.
CODEC = "blosc-lz4-9-bitshuffle"
FALLBACK_CODEC = "gzip-4-shuffle"


def frames_codec() -> str:
    """The name of the codec frames stores are written with here (:data:`CODEC`, or
    :data:`FALLBACK_CODEC` when hdf5plugin is not installed); part of what makes a frames
    store current, so a store written with another codec is rebuilt."""
    try:
        import hdf5plugin  # noqa: F401
        return CODEC
    except Exception:  # pragma: no cover - hdf5plugin is a dependency
        return FALLBACK_CODEC


def compression_kwargs() -> dict:
    """HDF5 filter keywords for :func:`frames_codec`'s codec."""
    if frames_codec() == CODEC:
        import hdf5plugin
        return dict(hdf5plugin.Blosc(cname="lz4", clevel=9,
                                     shuffle=hdf5plugin.Blosc.BITSHUFFLE))
    return {"compression": "gzip", "compression_opts": 4, "shuffle": True}  # pragma: no cover


def chunk_frames(fixed_T: Optional[int], H: int, W: int, itemsize: int, C: int = 2) -> int:
    """Frames per HDF5 chunk: one sample for a fixed T (8 for variable T), at most
    :data:`CHUNK_BYTES` uncompressed (Blosc2 takes at most 2 GiB per chunk); frames of
    ``C x H x W`` values."""
    want = fixed_T if fixed_T else 8
    return int(max(1, min(want, CHUNK_BYTES // max(1, C * H * W * itemsize))))


def write_blocks(d, frames: np.ndarray, start: int, dtype: np.dtype, chunk_T: int,
                 reserve: int, crc: Checksum, path) -> Checksum:
    """Append ``frames`` to the HDF5 dataset ``d`` at ``start`` in ``dtype``, converting at
    most ``reserve`` bytes (or one chunk) at a time, in chunk-aligned blocks; adds the
    stored bytes to the running :class:`~evframes.store.checksum.Checksum` ``crc`` and returns
    it. Free space is checked before every block."""
    k = frames.shape[0]
    d.resize((start + k,) + tuple(d.shape[1:]))
    if k == 0:
        return crc
    frame_bytes = max(1, frames[0].size * dtype.itemsize)
    step = max(chunk_T, (reserve // frame_bytes) // chunk_T * chunk_T)
    a = 0
    while a < k:
        b = min(k, a + step - (start + a) % chunk_T)
        block = np.ascontiguousarray(frames[a:b], dtype=dtype)
        ensure_free_space(Path(path).parent, block.nbytes, path)
        d[start + a:start + b] = block
        crc.update(block)
        del block  # before the next one is allocated
        a = b
    return crc


class FramesStoreWriter(AtomicH5):
    """Write one frames store atomically: batches of samples in order, then ``commit``.

    Parameters
    ----------
    final : path
        The store's final name; it is written under a temporary name until :meth:`commit`.
    n_samples : int
        Samples of the split (the length of ``frame_offsets`` is ``n_samples + 1``).
    H, W : int
        Frame height and width.
    dtype : numpy dtype
        The stored dtype of ``/frames``.
    fixed_T : int or None
        Frames per sample when fixed (sets the chunking, :func:`chunk_frames`).
    reserve : int
        Bytes converted to ``dtype`` at once (:func:`write_blocks`).
    C : int
        Channels per frame (2 for count frames; a representation's
        :func:`~evframes.integrate.representations.frame_layout`).

    Appended frames must be ``[k, C, H, W]`` exactly (no broadcasting). Leaving a ``with``
    block without ``commit()`` removes the temporary.
    """

    def __init__(self, final, n_samples: int, H: int, W: int, dtype, fixed_T: Optional[int],
                 reserve: int, C: int = 2):
        super().__init__(final)
        try:
            self.dtype = np.dtype(dtype)
            self.frame_shape = (int(C), int(H), int(W))
            self.chunk_T = chunk_frames(fixed_T, H, W, self.dtype.itemsize, C)
            self.reserve = int(reserve)
            self.codec = frames_codec()
            self.frames = self.h5.create_dataset(
                "frames", shape=(0,) + self.frame_shape, maxshape=(None,) + self.frame_shape,
                dtype=self.dtype, chunks=(max(1, self.chunk_T),) + self.frame_shape,
                **compression_kwargs())
        except BaseException:
            self.abort()
            raise
        self.frame_offsets = np.zeros(int(n_samples) + 1, np.int64)
        self.n_samples = int(n_samples)
        self.n_frames = 0
        self.crc = Checksum()

    def append(self, i: int, j: int, frames: np.ndarray, frame_offsets: np.ndarray) -> None:
        """Append the frames of samples ``i..j-1`` (``frame_offsets``: ``[j - i + 1]``, from 0)."""
        if frames.ndim != 4 or tuple(frames.shape[1:]) != self.frame_shape:
            raise ValueError(f"{self.final}: frames of samples {i}..{j - 1} have shape "
                             f"{tuple(frames.shape)}, expected [T, "
                             f"{', '.join(str(v) for v in self.frame_shape)}]")
        k = frames.shape[0]
        self.crc = write_blocks(self.frames, frames, self.n_frames, self.dtype, self.chunk_T,
                                self.reserve, self.crc, self.final)
        self.frame_offsets[i + 1:j + 1] = frame_offsets[1:] + self.n_frames
        self.n_frames += k

    def commit(self, labels: np.ndarray, manifest: Mapping, **fields) -> Path:
        """Write ``frame_offsets`` and ``labels``, then the manifest: ``manifest`` plus the
        checksums, ``n_samples``, ``n_frames``, the ``codec`` the frames were written with and
        ``fields``; rename into place."""
        f = self.h5
        f.create_dataset("frame_offsets", data=self.frame_offsets)
        f.create_dataset("labels", data=labels)
        f.flush()
        man = dict(manifest)
        man["checksums"] = {"frames": self.crc.hexdigest(),
                            "frame_offsets": array_checksum(f["frame_offsets"]),
                            "labels": array_checksum(f["labels"])}
        man["checksum_algorithm"] = CHECKSUM_ALGORITHM
        man.update(n_samples=self.n_samples, n_frames=int(self.n_frames))
        man.update(fields)
        man["codec"] = self.codec  # what was written, whatever the caller expected
        return super().commit(man)


class FramesStore(StoreReader):
    """Read access to one frames store; ``store[i] -> (frames [T, C, H', W'] numpy, label)``
    (``C = 2``, ``H' x W' = H x W`` for count frames).

    ``FramesStore(path, manifest=None)``: ``manifest`` is the store's manifest when the caller
    has already read it. The HDF5 handle opens lazily in each process (safe for DataLoader
    workers)."""

    kind = "frames"
    offsets_name = "frame_offsets"

    def __init__(self, path, manifest: Optional[Mapping] = None):
        super().__init__(path, manifest)
        self.frame_offsets = self.offsets

    def frames(self, i: int) -> np.ndarray:
        return self._read(i, "frames", lambda f, a, b: self._h5.dataset("frames")[a:b])

    def frames_many(self, indices, out: Optional[np.ndarray] = None) -> np.ndarray:
        """The frames of samples ``indices`` (any order, repeats allowed), concatenated in
        that order: ``[sum T_i, C, H', W']`` in the stored dtype, straight into ``out`` when
        given (a C-contiguous, writeable array of exactly that shape and dtype, e.g. shared
        memory), with one HDF5 read per run of consecutive samples, each into its place (not
        one selection of all runs: HDF5 reads an irregular union of hyperslabs over chunks
        about 30x slower). A corrupted chunk or an I/O error raises StoreError naming the
        store and the first sample that cannot be read."""
        from h5py import h5s
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
            bad = int(idx[(idx < 0) | (idx >= n)][0])
            raise IndexError(f"sample {bad} out of range for {n} samples in {self.path}")
        a, b = self.offsets[idx], self.offsets[idx + 1]
        d = self._h5.dataset("frames")
        shape = (int((b - a).sum()),) + tuple(d.shape[1:])
        if out is None:
            out = np.empty(shape, d.dtype)
        elif (tuple(out.shape) != shape or out.dtype != d.dtype
              or not out.flags.c_contiguous or not out.flags.writeable):
            raise ValueError(f"{self.path}: out must be a writeable C-contiguous {d.dtype} "
                             f"array of shape {shape}, got {out.dtype} {tuple(out.shape)}")
        if shape[0] == 0:
            return out
        # samples that follow each other in the file (and so in out) are one run of rows
        starts = np.flatnonzero(np.r_[True, a[1:] != b[:-1]])
        ends = np.r_[starts[1:], idx.size] - 1
        try:
            fspace, mspace = d.id.get_space(), h5s.create_simple(shape)
            zeros, pos = (0,) * (len(shape) - 1), 0
            for s, e in zip(starts, ends):
                lo, hi = int(a[s]), int(b[e])
                if hi > lo:
                    count = (hi - lo,) + shape[1:]
                    fspace.select_hyperslab((lo,) + zeros, count)
                    mspace.select_hyperslab((pos,) + zeros, count)
                    d.id.read(mspace, fspace, out)
                    pos += hi - lo
        except OSError as e:
            for i in idx:
                self.frames(int(i))  # StoreError naming the store and the sample
            from ..errors import one_line
            raise StoreError(f"{self.path}: cannot read the frames of samples "
                             f"{', '.join(str(int(i)) for i in idx[:8])}: {one_line(e)}") \
                from None
        return out

    def __getitem__(self, i):
        return self.frames(i), int(self.labels[i])


def frames_layout(path) -> Tuple[tuple, np.dtype]:
    """``(shape, dtype)`` of a frames store's ``/frames`` dataset."""
    with h5py.File(path, "r") as f:
        d = f["frames"]
        return tuple(d.shape), d.dtype
