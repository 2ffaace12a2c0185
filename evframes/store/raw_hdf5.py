"""The Heidelberg spike files (SHD, SSC: one HDF5 file per split), read in place and written
for replicas; h5py lives in :mod:`evframes.store`, so the raw layout
(:mod:`evframes.raw.shd`) reads these files through this module.

File structure (the datasets' README, Cramer et al. 2020; dtypes as in the released files)::

    spikes/times   [n] ragged (vlen) float16   spike times of each sample, seconds
    spikes/units   [n] ragged (vlen) uint16    channel of each spike, 0..699
    labels         [n] uint16                  class of each sample
    extra/speaker  [n] uint16                  speaker of each sample
    extra/keys     [n_classes] strings         class names, indexed by label
    extra/meta_info/gender, age, body_height   per speaker

A file is opened from a plain ``.h5``, from a gzip-compressed ``.h5.gz`` (the original
release) or from the ``.h5`` member of a ``.h5.zip`` (what SpikingJelly and Tonic download),
the last two decompressed on demand in bounded memory (:mod:`.seekable_deflate`: nothing is
unpacked to disk). Any numeric dtypes are accepted on reading; the arrays come back as stored.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from .._filecache import FileKeyedCache
from ..errors import DatasetError
from .hdf5_vlen import file_reader, read_rows, vlen_layout
from .seekable_deflate import open_seekable


@dataclass
class SpikeChunk:
    """Samples ``start..stop-1`` of a spike file: ``times`` and ``units`` flat (as stored),
    ``offsets`` ``[k + 1]`` int64, ``labels`` ``[k]``, ``speakers`` ``[k]`` or None."""

    times: np.ndarray
    units: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    speakers: Optional[np.ndarray]


def _zip_h5_member(path: Path) -> str:
    import zipfile
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError(f"{path}: not a readable zip archive ({e})") from None
    h5 = [n for n in names if n.lower().endswith(".h5") and not n.startswith("__MACOSX/")]
    want = Path(path).name[:-4]  # shd_train.h5.zip -> shd_train.h5
    for n in h5:
        if n.rsplit("/", 1)[-1] == want:
            return n
    if len(h5) == 1:
        return h5[0]
    raise DatasetError(f"{path}: expected one .h5 member ({want}), found "
                       f"{', '.join(h5) if h5 else 'none'}")


@contextlib.contextmanager
def open_spike_file(path) -> Iterator:
    """``h5py.File`` of a spike file: ``.h5``, ``.h5.gz`` or ``.h5.zip`` (read in place).

    Raises
    ------
    DatasetError
        A damaged archive, not an HDF5 file, or no ``spikes/times`` / ``spikes/units`` /
        ``labels`` datasets (one line naming the file).
    """
    import h5py
    path = Path(path)
    name = path.name.lower()
    raw = None
    where = str(path)
    member = None
    try:
        if name.endswith(".zip"):
            member = _zip_h5_member(path)
            where = f"{path}:{member}"
        for full in (False, True):  # a failed lazy open: check the whole stream, then retry
            if name.endswith((".gz", ".zip")):
                raw = open_seekable(path, member, full=full)
            try:
                f = h5py.File(raw if raw is not None else path, "r")
                break
            except (OSError, ValueError) as e:
                if raw is None or raw.index.checked:
                    raise DatasetError(f"{where}: not a readable HDF5 file ({_short(e)})") \
                        from None
        try:
            for key in ("spikes/times", "spikes/units", "labels"):
                if key not in f or not isinstance(f[key], h5py.Dataset):
                    raise DatasetError(f"{where}: no {key} dataset (not an SHD/SSC spike "
                                       f"file)")
            n = [f[k].shape[0] if f[k].shape else -1
                 for k in ("spikes/times", "spikes/units", "labels")]
            if len(set(n)) != 1:
                raise DatasetError(f"{where}: spikes/times, spikes/units and labels hold "
                                   f"{n[0]}, {n[1]} and {n[2]} samples")
            yield f
        finally:
            f.close()
    finally:
        if raw is not None:
            raw.close()


def _stream(path, full: bool = False):
    """The seekable uncompressed stream of a ``.gz`` / ``.zip`` spike file
    (:func:`.seekable_deflate.open_seekable`; ``full``: checked whole), None for a plain
    ``.h5``."""
    name = Path(path).name.lower()
    if name.endswith(".zip"):
        return open_seekable(path, _zip_h5_member(Path(path)), full=full)
    if name.endswith(".gz"):
        return open_seekable(path, None, full=full)
    return None


def _check_archive(path) -> None:
    """Decode a ``.gz`` / ``.zip`` spike file whole, raising its precise DatasetError if it is
    cut or damaged."""
    _stream(path, full=True)


def _short(e) -> str:
    return str(e).splitlines()[0][:200] if str(e) else type(e).__name__


def spike_file_info(path) -> dict:
    """``n_samples``, ``times_dtype``, ``units_dtype``, ``keys`` (class names, or []) and
    ``has_speaker`` of a spike file."""
    import h5py
    with open_spike_file(path) as f:
        keys = []
        if "extra/keys" in f:
            keys = [k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)
                    for k in np.atleast_1d(f["extra/keys"][()])]
        vlen = [h5py.check_vlen_dtype(f[k].dtype) or f[k].dtype
                for k in ("spikes/times", "spikes/units")]
        return {"n_samples": int(f["labels"].shape[0]), "times_dtype": str(vlen[0]),
                "units_dtype": str(vlen[1]),
                "keys": keys, "has_speaker": "extra/speaker" in f}


def _flat(rows, where: str, what: str):
    lens = np.fromiter((len(r) for r in rows), np.int64, len(rows))
    offsets = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    if offsets[-1] == 0:
        dt = rows[0].dtype if len(rows) else np.float64
        return np.empty(0, dt), offsets
    flat = np.concatenate([np.asarray(r).reshape(-1) for r in rows])
    if flat.dtype.kind not in "biuf":
        raise DatasetError(f"{where}: {what} are {flat.dtype}, not numbers")
    return flat, offsets


def _byte_source(path):
    """``pread`` over the uncompressed bytes of a spike file (the stream inside a ``.gz`` /
    ``.zip``, sharing the index h5py's reads use)."""
    stream = _stream(path)
    return file_reader(stream if stream is not None else str(path))


class _SpikeFile:
    """What every job reading one spike file shares, read with h5py once: the number of
    samples, the labels and speakers, the layouts of ``spikes/times`` and ``spikes/units``
    (:func:`.hdf5_vlen.vlen_layout`) and a reader of the file's bytes. The jobs then read
    their rows without any h5py call, so none waits on h5py's lock while the extraction's
    writer holds it (``rows`` None: a layout h5py must read)."""

    def __init__(self, path):
        where = str(path)
        with open_spike_file(path) as f:
            try:
                self.n = int(f["labels"].shape[0])
                self.labels = np.asarray(f["labels"][()]).reshape(-1)
                self.speakers = (np.asarray(f["extra/speaker"][()]).reshape(-1)
                                 if "extra/speaker" in f else None)
                self.layouts = [vlen_layout(f, f[k]) for k in ("spikes/times", "spikes/units")]
            except (OSError, ValueError, TypeError) as e:
                _check_archive(path)
                raise DatasetError(f"{where}: cannot read the labels ({_short(e)})") from None
        self.pread = _byte_source(path) if all(self.layouts) else None

    def rows(self, start: int, stop: int):
        """``(times, time offsets, units, unit offsets)`` of samples ``start..stop-1``, or
        None where the bytes must be read through h5py."""
        if self.pread is None:
            return None
        got = [read_rows(lay[0], lay[1], start, stop, self.pread) for lay in self.layouts]
        return None if None in got else (*got[0], *got[1])


#: the shared part of the last spike files opened (SSC has three splits)
_OPEN: FileKeyedCache[_SpikeFile] = FileKeyedCache(2)


def _spike_file(path) -> _SpikeFile:
    """The :class:`_SpikeFile` of ``path``, kept while the file is unchanged
    (:class:`~evframes._filecache.FileKeyedCache`)."""
    try:
        return _OPEN.get(path, lambda: _SpikeFile(path))
    except OSError as e:  # os.stat: missing, unreadable
        raise DatasetError(f"{path}: cannot read the spike file ({e.strerror or e})") from None


def clear_spike_file_cache() -> None:
    """Forget the spike files opened so far (benchmarks: every run pays the first open)."""
    _OPEN.clear()


def _read_with_h5py(path, start: int, stop: int):
    """:func:`read_spike_samples`' rows through h5py (layouts the byte reader does not
    take, or bytes it declined)."""
    where = str(path)
    with open_spike_file(path) as f:
        try:
            times = f["spikes/times"][start:stop]
            units = f["spikes/units"][start:stop]
        except (OSError, ValueError, TypeError) as e:
            _check_archive(path)  # a damaged archive: its precise message
            raise DatasetError(f"{where}: cannot read samples {start}..{stop - 1} "
                               f"({_short(e)})") from None
    return (*_flat(times, where, "spike times"), *_flat(units, where, "units"))


def read_spike_samples(path, start: int, stop: int) -> SpikeChunk:
    """Samples ``start..stop-1`` of a spike file as flat arrays (:class:`SpikeChunk`)."""
    where = str(path)
    sf = _spike_file(path)
    stop = min(stop, sf.n)
    start = min(start, stop)
    got = sf.rows(start, stop)
    t, to, u, uo = got if got is not None else _read_with_h5py(path, start, stop)
    labels = sf.labels[start:stop]
    speakers = None if sf.speakers is None else sf.speakers[start:stop]
    if not np.array_equal(to, uo):
        i = int(np.flatnonzero(to != uo)[0]) - 1 + start
        raise DatasetError(f"{where}: sample {i} has {int(to[i - start + 1] - to[i - start])} "
                           f"times but {int(uo[i - start + 1] - uo[i - start])} units")
    if labels.dtype.kind not in "biu":
        raise DatasetError(f"{where}: labels are {labels.dtype}, not integers")
    if speakers is not None and (speakers.shape[0] != labels.shape[0]
                                 or speakers.dtype.kind not in "biu"):
        speakers = None
    return SpikeChunk(t, u, to, labels, speakers)


def write_spike_file(target, times: Sequence[np.ndarray], units: Sequence[np.ndarray],
                     labels: Sequence[int], keys: Sequence[str],
                     speakers: Optional[Sequence[int]] = None,
                     meta_info: Optional[dict] = None) -> None:
    """Write a spike file in the released structure (module docstring) to ``target`` (a path
    or a writable binary file object): ``times[i]`` float16 seconds, ``units[i]`` uint16,
    ``labels`` and ``speakers`` uint16, ``keys`` strings, ``meta_info`` arrays per speaker."""
    import h5py
    with h5py.File(target, "w") as f:
        n = len(labels)
        ft = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.float16))
        fu = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
        for i in range(n):
            ft[i] = np.asarray(times[i], np.float16)
            fu[i] = np.asarray(units[i], np.uint16)
        f.create_dataset("labels", data=np.asarray(labels, np.uint16))
        if speakers is not None:
            f.create_dataset("extra/speaker", data=np.asarray(speakers, np.uint16))
        f.create_dataset("extra/keys", data=[str(k).encode() for k in keys])
        for k, v in (meta_info or {}).items():
            v = np.asarray(v)
            if v.dtype.kind == "U":
                v = np.char.encode(v, "utf-8")
            f.create_dataset(f"extra/meta_info/{k}", data=v)


__all__ = ["SpikeChunk", "open_spike_file", "spike_file_info", "read_spike_samples",
           "write_spike_file"]
