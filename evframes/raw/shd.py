"""SHD and SSC, the Heidelberg spiking audio datasets (Cramer et al. 2020): raw layout,
classes, splits. Spikes of 700 cochlea channels, one HDF5 file per split.

Raw layout under ``root`` (per split ``<name>`` = ``shd_train``, ``shd_test``, ``ssc_train``,
``ssc_valid``, ``ssc_test``), looked for in this order:

- evframes' layout (also Tonic's ``save_to/SHD/`` and ``save_to/SSC/``): ``<name>.h5`` (the
  extracted file), ``<name>.h5.gz`` (the original release, compneuro.net), ``<name>.h5.zip``
  (what SpikingJelly and Tonic download, zenkelab.org);
- SpikingJelly's layout: ``download/<name>.h5.zip`` (or ``.h5.gz``), then the extracted
  ``events_h5/<name>.h5`` (its raw root, symbolic links) and ``extract/<name>.h5``.

Archives are read in place (``.gz`` and ``.zip`` decompressed on demand in bounded memory,
nothing unpacked to disk: :mod:`evframes.store.seekable_deflate`). The file structure
(``spikes/times``, ``spikes/units``, ``labels``, ``extra/...``) and its reader:
:mod:`evframes.store.raw_hdf5`. The official files: :data:`SHD_RESOURCES`,
:data:`SSC_RESOURCES` (SpikingJelly's and Tonic's URLs and md5 sums of the ``.zip``
downloads; SpikingJelly's ``SpikingSpeechCommands.resource_url_md5()`` lists SHD's files,
a slip of its own, so the SSC ones are Tonic's).

Events: ``x`` = the channel (``spikes/units``, 0..699), ``y = 0``, ``p = 0`` (one spatial axis:
sensor ``(W, H) = (700, 1)``; Tonic's events carry ``p = 1``, its artificial polarity), ``t`` =
int64 microseconds ``floor(seconds * 10**6)``, exact for the files' float16 seconds and equal to
Tonic's (:func:`evframes.integrate.one_axis.seconds_to_us`). NaN, infinite or negative times
fail the extraction (naming the file and sample); channels >= 700 are dropped with a warning; a
sample whose times decrease is sorted (stable) with a warning. Samples keep the file's order
(SpikingJelly's and Tonic's index order); labels are the file's ``labels``, classes named by
label number (:data:`SHD_CLASSES` ``"0"`` .. ``"19"``, :data:`SSC_CLASSES` ``"0"`` .. ``"34"``;
the names are the file's ``extra/keys``, :func:`class_keys`). Metadata: ``index`` (the
sample's index in its file) and ``speaker`` (``extra/speaker``; -1 where a file has none).

Released sample counts: SHD 8332 train / 2088 test (20 classes: English and German digits;
compneuro.net's current page says 8156 / 2264), SSC 75466 train / 9981 valid / 20382 test
(35 words of Speech Commands v0.02); not checked here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..errors import DatasetError
from ..events import Events
from ..integrate.one_axis import seconds_to_us
from .base import Job, JobResult, RawDataset, samples_unsorted

SENSOR_SIZE = (700, 1)  # (W, H): 700 channels, one row
SHD_CLASSES = [str(i) for i in range(20)]
SSC_CLASSES = [str(i) for i in range(35)]
CHUNK = 1024  # samples per job
_ZENKE = "https://zenkelab.org/datasets/"
#: ``(file name, url, md5)`` of the downloads (SpikingJelly's and Tonic's values)
SHD_RESOURCES = (("shd_train.h5.zip", _ZENKE + "shd_train.h5.zip",
                  "f3252aeb598ac776c1b526422d90eecb"),
                 ("shd_test.h5.zip", _ZENKE + "shd_test.h5.zip",
                  "1503a5064faa34311c398fb0a1ed0a6f"))
SSC_RESOURCES = (("ssc_train.h5.zip", _ZENKE + "ssc_train.h5.zip",
                  "d102be95e7144fcc0553d1f45ba94170"),
                 ("ssc_valid.h5.zip", _ZENKE + "ssc_valid.h5.zip",
                  "b4eee3516a4a90dd0c71a6ac23a8ae43"),
                 ("ssc_test.h5.zip", _ZENKE + "ssc_test.h5.zip",
                  "a35ff1e9cffdd02a20eb850c17c37748"))
#: where a split's file may be, relative to the root, in search order (module docstring)
CANDIDATES = ("{n}.h5", "{n}.h5.gz", "{n}.h5.zip", "download/{n}.h5.zip", "download/{n}.h5.gz",
              "events_h5/{n}.h5", "extract/{n}.h5")


def find_split_file(root, name: str) -> Optional[Path]:
    """The first of :data:`CANDIDATES` for ``name`` (``shd_train``) that is a file, or None."""
    root = Path(root)
    for pattern in CANDIDATES:
        p = root / pattern.format(n=name)
        if p.is_file():
            return p
    return None


def spike_events(times: np.ndarray, units: np.ndarray, offsets: np.ndarray, where: str,
                 first_index: int, warnings: List[str]) -> Tuple[Events, np.ndarray]:
    """Events of flat spike arrays (module docstring's conversion and checks) and their sample
    offsets (changed where spikes off the 700 channels were dropped). ``first_index``: the
    file index of the first sample, for messages."""
    def sample(i):
        return int(np.searchsorted(offsets, i, side="right")) - 1 + first_index

    if times.dtype.kind == "f" and times.dtype != np.float16 and times.size:
        bad = ~np.isfinite(times) | (times < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DatasetError(f"{where}: sample {sample(i)}: spike time {float(times[i])} s "
                               f"(times must be finite and >= 0)")
    try:
        t = seconds_to_us(times)
    except ValueError as e:  # "spike time <i> is ...": name the sample
        words = str(e).split()
        at = f" sample {sample(int(words[2]))}:" if words[2:3] and words[2].isdigit() else ""
        raise DatasetError(f"{where}:{at} {e}") from None
    if units.dtype.kind not in "iu":
        raise DatasetError(f"{where}: spikes/units are {units.dtype}, not integers")
    x = units if units.dtype == np.uint16 else units.astype(np.int64)
    off = offsets
    if x.size and (int(x.min()) < 0 or int(x.max()) >= SENSOR_SIZE[0]):
        ok = (x >= 0) & (x < SENSOR_SIZE[0])
        bad = np.flatnonzero(~ok)
        warnings.append(f"{where}: dropped {bad.size} spike(s) on channels outside 0..699 "
                        f"(first in sample {sample(bad[0])}: channel {int(x[bad[0]])})")
        csum = np.concatenate([[0], np.cumsum(ok)])
        off = csum[offsets]
        t, x = t[ok], x[ok]
    n = t.shape[0]
    if n > 1:  # sort the samples whose times decrease inside (each sample restarts at 0)
        for s in samples_unsorted(t, off):
            a, b = int(off[s]), int(off[s + 1])
            order = np.argsort(t[a:b], kind="stable")
            t[a:b], x[a:b] = t[a:b][order], x[a:b][order]
            warnings.append(f"{where}: sample {int(s) + first_index}: spike times not "
                            f"monotonic; sorted by t (stable)")
    ev = Events(t=t, x=x.astype(np.int16), y=np.zeros(n, np.int16), p=np.zeros(n, np.int8))
    return ev, off


def decode_spike_chunk(path: str, start: int, stop: int, n_classes: int,
                       job_name: str) -> JobResult:
    """One job: samples ``start..stop-1`` of a spike file as a :class:`JobResult`."""
    from ..store.raw_hdf5 import read_spike_samples
    chunk = read_spike_samples(path, start, stop)
    warnings: List[str] = []
    labels = chunk.labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        i = int(np.flatnonzero((labels < 0) | (labels >= n_classes))[0])
        raise DatasetError(f"{path}: sample {start + i} has label {int(labels[i])}, outside "
                           f"0..{n_classes - 1}")
    ev, off = spike_events(chunk.times, chunk.units, chunk.offsets, path, start, warnings)
    for i in np.flatnonzero(np.diff(off) == 0):
        warnings.append(f"{path}: sample {start + int(i)} holds no spikes; kept as an empty "
                        f"sample")
    spk = (chunk.speakers.astype(np.int64) if chunk.speakers is not None
           else np.full(labels.shape[0], -1, np.int64))
    metas = [{"index": start + i, "speaker": int(spk[i])} for i in range(labels.shape[0])]
    return JobResult(name=job_name, events=ev, offsets=off.astype(np.int64),
                     labels=labels.tolist(), metas=metas, warnings=warnings)


class _HeidelbergRaw(RawDataset):
    """Shared layout of SHD and SSC; ``need``: only that split must exist (Tonic's datasets
    read one split); ``splits`` are then the ones present."""

    prefix = ""
    n_classes = 0
    sensor_size = SENSOR_SIZE
    meta_columns = {"index": int, "speaker": int}
    parallel_decode = False  # reading the file is the work: a pool would copy it all
    title = ""

    def __init__(self, root, need: Optional[str] = None):
        super().__init__(root)
        all_splits = type(self).splits
        if need is not None and need not in all_splits:
            raise ValueError(f"split must be one of {all_splits}, got {need!r}")
        self._files: Dict[str, Path] = {}
        for split in all_splits:
            p = find_split_file(self.root, f"{self.prefix}_{split}")
            if p is not None:
                self._files[split] = p
        want = all_splits if need is None else (need,)
        missing = [s for s in want if s not in self._files]
        if missing:
            names = [f"{self.prefix}_{s}.h5.zip" for s in missing]
            what = (f"{self.title} not found" if len(missing) == len(all_splits) else
                    f"{', '.join(f'{self.prefix}_{s}' for s in missing)} missing")
            looked = ", ".join(c.format(n=f"{self.prefix}_<split>") for c in CANDIDATES)
            raise self.missing(f"{what} (looked for {looked})", names)
        self.splits = tuple(s for s in all_splits if s in self._files)
        self._placements: Dict[str, Tuple[str, int]] = {}

    @property
    def classes(self) -> List[str]:
        return [str(i) for i in range(self.n_classes)]

    def source_files(self) -> List[Path]:
        return [self._files[s] for s in self.splits]

    def split_file(self, split: str) -> Path:
        """The file a split is read from."""
        return self._files[split]

    def jobs(self) -> Iterator[Job]:
        from ..store.raw_hdf5 import spike_file_info
        for split in self.splits:
            path = self._files[split]
            n = spike_file_info(path)["n_samples"]
            for k, a in enumerate(range(0, n, CHUNK)):
                name = f"{split}:{k}"
                self._placements[name] = (split, k)
                yield Job(name, decode_spike_chunk,
                          (str(path), a, min(n, a + CHUNK), self.n_classes, name),
                          n_bytes=0)

    def placement(self, job_name: str) -> Optional[Tuple[str, int]]:
        return self._placements.get(job_name)


class SHDRaw(_HeidelbergRaw):
    """Spiking Heidelberg Digits: 20 classes, train / test."""

    name = "shd"
    prefix = "shd"
    title = "SHD"
    n_classes = 20
    splits = ("train", "test")
    resources = SHD_RESOURCES
    resources_downloadable = True  # SpikingJelly downloads them itself


class SSCRaw(_HeidelbergRaw):
    """Spiking Speech Commands: 35 classes, train / valid / test."""

    name = "ssc"
    prefix = "ssc"
    title = "SSC"
    n_classes = 35
    splits = ("train", "valid", "test")
    resources = SSC_RESOURCES
    resources_downloadable = False  # SpikingJelly's download list is SHD's


def class_keys(path) -> List[str]:
    """The class names of a spike file (its ``extra/keys``, indexed by label; [] if none)."""
    from ..store.raw_hdf5 import spike_file_info
    return spike_file_info(path)["keys"]


__all__ = ["SHDRaw", "SSCRaw", "SENSOR_SIZE", "SHD_CLASSES", "SSC_CLASSES", "SHD_RESOURCES",
           "SSC_RESOURCES", "CANDIDATES", "find_split_file", "spike_events",
           "decode_spike_chunk", "class_keys"]
