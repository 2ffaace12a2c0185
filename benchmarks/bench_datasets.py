"""Dataset extraction from the raw archives: evframes vs SpikingJelly 2.0's own pipeline (and
Tonic 1.7's) on the same replica files, side by side, one row per dataset in
``benchmarks/results_datasets.md``.

For each dataset a replica is written once in its real layout and format (``evframes.replicas``
writers; the sizes are in :data:`CASES`), then, reading the same files from the page cache:

a) evframes: ``extract(open_raw(name, root))`` with the default workers (these replicas are
   below 64 MB: decoded in process, where the decoders are faster than moving the events
   between processes; ASL-DVS's real download, GBs, gets a process pool by default: its
   in-process time is the replica's, a pool of two took 1.3x as long here). Archives read in
   place, decoded, split, one HDF5 events store per split; stores deleted first, Numba caches
   warmed on the tiny replica of ``evframes.warmup``.
b) SpikingJelly (2 preprocessing threads, ``SJ_MAX_THREADS_NUMBER_FOR_DATASETS_PREPROCESS=2``,
   its default compressed ``.npz``): its own steps, called as ``prepare_raw_dataset`` calls
   them but without the md5 check (replicas cannot match the real files' md5):
   ``extract_downloaded_files(root/download, root/extract)`` (unzip to disk) and
   ``create_raw_from_extracted(root/extract, root/events_np)`` (decode, one ``.npz`` per
   sample). SpikingJelly has no POKER-DVS.
c) Tonic: what it does before the first epoch has seen every sample: unpack the download with
   its ``extract_archive`` (ASL-DVS: then the letter zips inside, as its constructor does),
   construct the dataset (file-count checks lifted), then read every sample once (Tonic decodes
   on access; POKER-DVS's constructor loads all ``.npy`` files).

Equality: the sample counts and the total of events of each peer equal evframes' (the
per-event equality on these replicas is ``tests/test_datasets_wave1_peer.py``'s).
Targets (issue 15): evframes at least 50x faster where the peer parses event by event, 5x
elsewhere; SpikingJelly decodes N-Caltech101 with NumPy and ASL-DVS with ``scipy.io.loadmat``
(vectorised), so 5x applies to both; SpikingJelly has no POKER-DVS, so no target applies there
(Tonic's time is shown for information). NAVGesture: SpikingJelly's reader parses the ATIS
``.dat`` files event by event in Python (``struct.unpack``), so 50x applies; Tonic 1.7 has no
NavGesture. DVS-Lip: SpikingJelly only unzips and links the ``.npy`` files (no decoding before
training: each access loads a file), Tonic unzips, then loads every file once. N-CARS: neither
peer has a loader (evframes' time alone).

Run in the benchmark venv (rows of the datasets run replace theirs; other rows stay)::

    .venv-bench/bin/python benchmarks/bench_datasets.py --update benchmarks/results_datasets.md

In a venv without the peers only the evframes column is measured.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

os.environ.setdefault("SJ_MAX_THREADS_NUMBER_FOR_DATASETS_PREPROCESS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from evframes.formats.inflate import inflate  # noqa: E402  (ISA-L when installed, else zlib)

HEADER = """# Dataset extraction: evframes vs SpikingJelly 2.0 and Tonic 1.7

From each dataset's raw archive(s), written by evframes' replica writer in the real layout and
format, to per-sample events: evframes `extract` (HDF5 stores) vs SpikingJelly's own
`extract_downloaded_files` + `create_raw_from_extracted` (2 threads, compressed `.npz` per
sample) and Tonic's unpack + construct + read every sample once. Produced by
`benchmarks/bench_datasets.py` (see its docstring); `--update` replaces the rows of the
datasets it ran. Times in seconds, best of the runs; ratio = peer / evframes.

| dataset | replica | evframes s | SpikingJelly s (unzip + decode) | Tonic s | SJ / evframes \
| Tonic / evframes | target | machine |
|---|---|---|---|---|---|---|---|---|
"""
STORE_HEADER = """
Store-write floor (same run): the events stores evframes extracted, read back into memory and
written again into fresh stores by the extraction's own writer (Blosc-LZ4 columns, running
checksums, manifest, fsync at commit), best of the runs. Inflate floor (1 thread) + store
floor is the least one thread spends extracting into these stores; SJ / that sum is the
ceiling of the speed-up on one thread (two threads can overlap the two, at most 2x more).

| dataset | M events | store floor s | inflate floor s (1 thread) | sum s | SpikingJelly s \
| evframes s | ceiling: SJ / sum | evframes / sum | target | machine |
|---|---|---|---|---|---|---|---|---|---|---|
"""
FLOOR_HEADER = """
Inflate floor (same run, same files): every compressed byte of the archives inflated with
ISA-L (python-isal, 2x zlib; the inflater evframes uses) and discarded (zip members, zips
inside zips, ASL-DVS's compressed `.mat` variables; no CRC check, no parsing, no store), best
of the runs, with one thread and with two (members handed to a pool as their container is
inflated). SJ / the better floor is the ceiling: the largest speed-up over SpikingJelly that
any reader that inflates these bytes could reach on this machine.

| dataset | inflated MB (in -> out) | floor s (1 thread) | floor s (2 threads) | SpikingJelly s \
| evframes s | ceiling: SJ / best floor | evframes / best floor | target \
| machine |
|---|---|---|---|---|---|---|---|---|---|
"""


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


# -- the cases ---------------------------------------------------------------------------------
@dataclass
class Case:
    write: Callable[[Path], dict]        # writes the replica under root/download (or root)
    sj: Optional[str]                    # SpikingJelly class "module:Class", or None
    tonic: Optional[Callable]            # Tonic pipeline(root, save_to) -> (samples, events)
    target: Optional[float] = 5.0
    in_download: bool = True             # replica under root/download (SpikingJelly's layout)
    workers: Optional[int] = 2           # evframes' extract workers
    ev: Optional[Callable] = None        # evframes run(name, root, workers), default extract


def _write_nc(root):
    from evframes.synth_wave1 import fake_ncaltech101
    return fake_ncaltech101(root, per_class=20, n_classes=10, density=5, seed=0)


def _write_asl(root):
    from evframes.synth_wave1 import fake_asldvs
    return fake_asldvs(root, per_class=20, seed=0)


def _write_poker(root):
    from evframes.synth_wave1 import fake_pokerdvs
    return fake_pokerdvs(root, seed=0)


def _tonic_iterate(ds):
    n = 0
    for i in range(len(ds)):
        n += len(ds[i][0])
    return len(ds), n


def _tonic_nc(root, save_to):
    import tonic
    from tonic.download_utils import extract_archive
    loc = save_to / "NCALTECH101"
    loc.mkdir(parents=True)
    shutil.copy(root / "download" / "Caltech101.zip", loc / "N-Caltech101-archive.zip")
    t0 = time.perf_counter()
    extract_archive(str(loc / "N-Caltech101-archive.zip"), str(loc))
    ds = tonic.datasets.NCALTECH101(str(save_to))
    counts = _tonic_iterate(ds)
    return time.perf_counter() - t0, counts


def _tonic_asl(root, save_to):
    import tonic
    from tonic.download_utils import extract_archive
    loc = save_to / "ASLDVS"
    loc.mkdir(parents=True)
    shutil.copy(root / "download" / "ICCV2019_DVS_dataset.zip", loc / "ASLDVS.zip")
    t0 = time.perf_counter()
    extract_archive(str(loc / "ASLDVS.zip"), str(loc))
    for f in sorted(loc.iterdir()):
        if f.name.startswith("Yin") and f.name.endswith("zip"):
            extract_archive(str(f), str(loc))
    ds = tonic.datasets.ASLDVS(str(save_to))
    counts = _tonic_iterate(ds)
    return time.perf_counter() - t0, counts


def _tonic_poker(root, save_to):
    import tonic
    from tonic.download_utils import extract_archive
    loc = save_to / "POKERDVS"
    loc.mkdir(parents=True)
    t0 = time.perf_counter()
    n = e = 0
    for split, train in (("train", True), ("test", False)):
        shutil.copy(root / f"pips_{split}.tar.gz", loc / f"pips_{split}.tar.gz")
        extract_archive(str(loc / f"pips_{split}.tar.gz"), str(loc))
        a, b = _tonic_iterate(tonic.datasets.POKERDVS(str(save_to), train=train))
        n, e = n + a, e + b
    return time.perf_counter() - t0, (n, e)


CASES: Dict[str, Case] = {
    "ncaltech101": Case(_write_nc, "spikingjelly.datasets.n_caltech101:NCaltech101", _tonic_nc,
                        workers=None),
    "asldvs": Case(_write_asl, "spikingjelly.datasets.asl_dvs:ASLDVS", _tonic_asl,
                   workers=None),
    "pokerdvs": Case(_write_poker, None, _tonic_poker, target=None, in_download=False,
                     workers=None),
}
TITLES = {"ncaltech101": "N-Caltech101", "asldvs": "ASL-DVS", "pokerdvs": "POKER-DVS"}


# -- NAVGesture, DVS-Lip, N-CARS (issue 15, second part) --------------------------------------
def _write_nav(root):  # ~20 k events per recording (real ones hold more)
    from evframes.synth_wave1b import fake_navgesture
    return fake_navgesture(root, "walk", users=3, per_class=4, scale=16, seed=0)


def _write_lip(root):
    from evframes.synth_wave1b import fake_dvslip
    return fake_dvslip(root, per_class_train=4, per_class_test=2, n_classes=None, seed=0)


def _write_ncars(root):
    from evframes.synth_wave1b import fake_ncars
    return fake_ncars(root, per_class_train=150, per_class_test=75, seed=0)


def _tonic_lip(root, save_to):
    import tonic
    from tonic.download_utils import extract_archive
    loc = save_to / "DVSLip"
    loc.mkdir(parents=True)
    shutil.copy(root / "download" / "DVS-Lip.zip", loc / "DVS-Lip.zip")
    t0 = time.perf_counter()
    extract_archive(str(loc / "DVS-Lip.zip"), str(loc))
    n = e = 0
    for train in (True, False):
        a, b = _tonic_iterate(tonic.datasets.DVSLip(str(save_to), train=train))
        n, e = n + a, e + b
    return time.perf_counter() - t0, (n, e)


CASES.update({
    "navgesture-walk": Case(_write_nav, "spikingjelly.datasets.nav_gesture:NAVGestureWalk",
                            None, target=50.0, workers=None),
    "dvslip": Case(_write_lip, "spikingjelly.datasets.dvs_lip:DVSLip", _tonic_lip,
                   workers=None),
    "ncars": Case(_write_ncars, None, None, target=None, in_download=False, workers=None),
})
TITLES.update({"navgesture-walk": "NAVGesture-walk", "dvslip": "DVS-Lip", "ncars": "N-CARS"})


# -- SHD (issue 15, helper H2): HDF5 spike files in SpikingJelly's download/*.h5.zip -----------
# SpikingJelly decodes nothing before training for events (unzip, symbolic links in events_h5/;
# each access reads one sample from the HDF5 file), so the events row times its unzip + links +
# reading every sample once through its event Dataset (and Tonic likewise); the frames row is
# its whole frame pipeline (unzip + links + frames_number=20 split_by='number': one compressed
# .npz per sample, 2 threads) against evframes' extract + integrate of the same setting.
SHD_T = 20


def _write_shd(root):  # ~5000 spikes per sample, 1000 samples (the real set: 10420)
    from evframes.synth_shd import fake_shd
    return fake_shd(root, per_class_train=40, per_class_test=10, scale=1.0, seed=0,
                    archive="zip")


def _sj_shd_unzip(root):
    from spikingjelly.datasets.shd import SpikingHeidelbergDigits as SHD
    from spikingjelly.logger import logger
    logger.remove()
    for d in ("extract", "events_h5"):
        shutil.rmtree(root / d, ignore_errors=True)
        (root / d).mkdir()
    for d in root.iterdir():
        if d.name.startswith("frames_number_"):
            shutil.rmtree(d)
    SHD.extract_downloaded_files(root / "download", root / "extract")
    SHD.create_raw_from_extracted(root / "extract", root / "events_h5")
    return SHD


def _sj_shd(root, frames: bool):
    t0 = time.perf_counter()
    SHD = _sj_shd_unzip(root)
    t1 = time.perf_counter()
    n = e = 0
    for train in (True, False):
        if frames:
            ds = SHD(str(root), train=train, data_type="frame", frames_number=SHD_T,
                     split_by="number")
            n += len(ds)
        else:
            ds = SHD(str(root), train=train, data_type="event")
            for i in range(len(ds)):
                e += len(ds[i][0]["t"])
            n += len(ds)
    t2 = time.perf_counter()
    if frames:  # count outside the timing: every event lands in a frame of this rule
        for f in (root / f"frames_number_{SHD_T}_split_by_number").rglob("*.npz"):
            with np.load(f) as z:
                e += int(z["frames"].sum())
    for d in ("extract", "events_h5", f"frames_number_{SHD_T}_split_by_number"):
        shutil.rmtree(root / d, ignore_errors=True)
    return (t1 - t0, t2 - t1), (n, e)


def _ev_shd_frames(name, root, workers):
    from evframes.integrate import FrameSetting
    from evframes.pipeline.frames import build_frames
    from evframes.warmup import warm_integrate
    setting = FrameSetting.from_options("number", SHD_T)
    warm_integrate(setting)
    shutil.rmtree(root / setting.dir_name, ignore_errors=True)
    dt_ex, counts = run_evframes("shd", root, workers)
    t0 = time.perf_counter()
    build_frames(root, setting, progress=False)
    return dt_ex + time.perf_counter() - t0, counts


def _tonic_shd(root, save_to):
    import tonic
    from tonic.download_utils import extract_archive
    loc = save_to / "SHD"
    loc.mkdir(parents=True)
    for split in ("train", "test"):
        shutil.copy(root / "download" / f"shd_{split}.h5.zip", loc / f"shd_{split}.h5.zip")
    t0 = time.perf_counter()
    n = e = 0
    for split, train in (("train", True), ("test", False)):
        extract_archive(str(loc / f"shd_{split}.h5.zip"), str(loc))
        a, b = _tonic_iterate(tonic.datasets.SHD(str(save_to), train=train))
        n, e = n + a, e + b
    return time.perf_counter() - t0, (n, e)


CASES.update({
    "shd": Case(_write_shd, lambda root: _sj_shd(root, False), _tonic_shd, workers=None),
    "shd-frames": Case(_write_shd, lambda root: _sj_shd(root, True), None, workers=None,
                       ev=_ev_shd_frames),
})
TITLES.update({"shd": "SHD (events)", "shd-frames": f"SHD (frames T={SHD_T}, number)"})


# -- the inflate floor: every compressed byte of the same archives inflated, nothing else ------
# The least time any reader of these files must spend: each zip member inflated with ISA-L, the
# fastest inflater here (a zip inside a zip: its members too; an ASL-DVS ``.mat``: its
# miCOMPRESSED variables too), the output discarded: no CRC check, no parsing, no store.
# Measured with one thread and with two (the leaves handed to a pool as soon as their container
# is inflated: the inflate releases the GIL). SpikingJelly's time / floor is the ceiling of the
# speed-up: no reader that inflates these bytes can beat SpikingJelly by more on this machine.
class _Inflater:
    def __init__(self, threads: int):
        self.pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self.cv = threading.Condition()
        self.todo = 0
        self.error: Optional[BaseException] = None
        self.out_bytes = 0

    def submit(self, fn, *args):
        if self.pool is None:
            fn(*args)
            return
        with self.cv:
            self.todo += 1
        self.pool.submit(self._run, fn, *args)

    def _run(self, fn, *args):
        try:
            fn(*args)
        except BaseException as e:  # noqa: BLE001 -- reported by wait()
            self.error = e
        with self.cv:
            self.todo -= 1
            self.cv.notify_all()

    def _count(self, n: int) -> None:
        with self.cv:
            self.out_bytes += n

    def wait(self):
        if self.pool is not None:
            with self.cv:
                self.cv.wait_for(lambda: self.todo == 0)
            self.pool.shutdown()
        if self.error is not None:
            raise self.error

    def zip(self, data) -> None:
        """Every member of the zip ``data`` (bytes or a path), inflated (nested ones too)."""
        if isinstance(data, Path):
            with open(data, "rb") as fh:
                data = fh.read()
        view = memoryview(data)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
        for i in infos:
            n, e = struct.unpack_from("<HH", view, i.header_offset + 26)
            a = i.header_offset + 30 + n + e
            self.submit(self._member, i.filename, i.compress_type, view[a:a + i.compress_size],
                        i.file_size)

    def _member(self, name, kind, raw, size):
        out = inflate(raw, -15, size) if kind == 8 else raw  # ISA-L: the fastest here
        self._count(len(out))
        if name.endswith(".zip"):
            self.zip(bytes(out))
        elif name.endswith(".mat"):
            self._mat(memoryview(out))

    def _mat(self, buf):
        pos = 128
        while pos + 8 <= len(buf):
            kind, n = struct.unpack_from("<II", buf, pos)
            if kind == 15:
                self._count(len(inflate(buf[pos + 8:pos + 8 + n], 15)))
            pos += 8 + n


def inflate_floor(files, threads: int) -> Tuple[float, int]:
    """Seconds to inflate every compressed byte of the zips ``files`` (see above) with
    ``threads`` threads, and the bytes that came out."""
    t0 = time.perf_counter()
    inf = _Inflater(threads)
    for f in files:
        inf.zip(Path(f))
    inf.wait()
    return time.perf_counter() - t0, inf.out_bytes


# -- the store-write floor: the events evframes extracted, written again, nothing decoded -----
# Every reader that keeps evframes' events stores (Blosc-LZ4 columns, running checksums, a
# manifest, fsync at commit) must also pay this: the stores are read back into memory, then
# written into fresh stores through EventsStoreWriter (the extraction's own writer), one
# append per split. With the inflate floor it bounds what extraction into these stores can
# reach on one thread.
def store_floor(root: Path, repeat: int) -> float:
    """Best seconds (of ``repeat``, at least 3) to write the events stores under
    ``root/events`` again."""
    import h5py

    from evframes.store import EventsStoreWriter
    splits = []
    for path in sorted((root / "events").glob("*.h5")):
        with h5py.File(path, "r") as f:
            ev = {k: f[k][:] for k in "txyp"}
            meta = {k: [v.decode() if isinstance(v, bytes) else v for v in f["meta"][k][:]]
                    for k in f["meta"]} if "meta" in f else {}
            n = f["labels"].shape[0]
            metas = [{k: v[i] for k, v in meta.items()} for i in range(n)]
            cols = {k: (str if isinstance(v[0] if v else "", str) else int)
                    for k, v in meta.items()}
            splits.append((path.stem, ev, f["offsets"][:], f["labels"][:].tolist(), metas, cols))
    best = float("inf")
    with tempfile.TemporaryDirectory(prefix="bench-store-") as d:
        for _ in range(max(repeat, 3)):
            t0 = time.perf_counter()
            for name, ev, off, labels, metas, cols in splits:
                w = EventsStoreWriter(Path(d) / f"{name}.h5", cols)
                w.append_many(ev, off, labels, metas)
                w.commit({"kind": "events"})
            best = min(best, time.perf_counter() - t0)
    return best


# -- the runs ----------------------------------------------------------------------------------
def run_evframes(name: str, root: Path, workers: Optional[int]):
    from evframes.pipeline.extract import extract
    from evframes.raw import open_raw
    from evframes.raw.zip_members import clear_directory_cache
    from evframes.store import EventsDataset
    from evframes.store.raw_hdf5 import clear_spike_file_cache
    from evframes.store.seekable_deflate import clear_index_cache
    from evframes.warmup import warm_extract
    warm_extract(name, root)
    shutil.rmtree(root / "events", ignore_errors=True)
    # what this process kept of the archives from an earlier run (an index with the stream
    # inflated whole, a zip directory) goes: every run pays the first open, as a user's does
    clear_index_cache()
    clear_directory_cache()
    clear_spike_file_cache()
    raw = open_raw(name, root)
    t0 = time.perf_counter()
    extract(raw, workers=workers, progress=False, warn=False)
    dt = time.perf_counter() - t0
    n = e = 0
    for s in raw.splits:
        ds = EventsDataset(root, s)
        n, e = n + len(ds), e + int(ds.offsets[-1])
    return dt, (n, e)


def run_sj(spec: str, root: Path):
    import importlib
    mod, cls_name = spec.split(":")
    cls = getattr(importlib.import_module(mod), cls_name)
    from spikingjelly.logger import logger
    logger.remove()
    for d in ("extract", "events_np"):
        shutil.rmtree(root / d, ignore_errors=True)
        (root / d).mkdir()
    t0 = time.perf_counter()
    cls.extract_downloaded_files(root / "download", root / "extract")
    t1 = time.perf_counter()
    cls.create_raw_from_extracted(root / "extract", root / "events_np")
    t2 = time.perf_counter()
    files = sorted(p for p in (root / "events_np").rglob("*") if p.suffix in (".npz", ".npy"))
    e = 0
    for f in files:  # .npy: DVS-Lip's structured arrays (SpikingJelly links the files)
        z = np.load(f)
        e += len(z["t"])
        if hasattr(z, "close"):
            z.close()
    shutil.rmtree(root / "extract")
    shutil.rmtree(root / "events_np")
    return (t1 - t0, t2 - t1), (len(files), e)


def lift_tonic_checks():
    try:
        import tonic
    except ImportError:
        return False
    for c in (tonic.datasets.NCALTECH101, tonic.datasets.ASLDVS, tonic.datasets.POKERDVS,
              tonic.datasets.DVSLip):
        c._check_exists = lambda self: True
    return True


def bench(name: str, repeat: int) -> dict:
    case = CASES[name]
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    try:
        root = tmp / "root"
        info = case.write(root / "download" if case.in_download else root)
        src = root / "download" if case.in_download else root
        raw_bytes = sum(p.stat().st_size for p in src.iterdir() if p.is_file())
        log(f"{name}: replica {info} ({raw_bytes / 1e6:.1f} MB); load {_load()}")
        out = {"name": name, "info": info, "raw_bytes": raw_bytes, "load0": _load()}
        zips = sorted(p for p in src.iterdir() if p.suffix == ".zip")
        if zips:
            for threads in (1, 2):
                runs = [inflate_floor(zips, threads) for _ in range(max(repeat, 3))]
                out[f"floor{threads}"] = min(t for t, _ in runs)
                out["inflated"] = runs[0][1]
            log(f"  inflate floor {out['floor1']:.3f} s (1 thread), {out['floor2']:.3f} s "
                f"(2 threads), {out['inflated'] / 1e6:.1f} MB out")
        ev = [(case.ev or run_evframes)(name, root, case.workers) for _ in range(repeat)]
        out["ev"] = min(t for t, _ in ev)
        out["ev_counts"] = ev[0][1]
        log(f"  evframes {out['ev']:.2f} s {out['ev_counts']}")
        if zips and case.ev is None and (root / "events").is_dir():
            out["store"] = store_floor(root, repeat)
            log(f"  store-write floor {out['store']:.3f} s")
        if case.sj:
            try:
                sj = [case.sj(root) if callable(case.sj) else run_sj(case.sj, root)
                      for _ in range(repeat)]
                out["sj"] = min(sj, key=lambda r: sum(r[0]))[0]
                out["sj_counts"] = sj[0][1]
                log(f"  SpikingJelly {out['sj']} {out['sj_counts']}")
            except ImportError as e:
                log(f"  SpikingJelly not available ({e})")
        if case.tonic and lift_tonic_checks():
            runs = []
            for k in range(repeat):
                save_to = tmp / f"tonic{k}"
                runs.append(case.tonic(root, save_to))
                shutil.rmtree(save_to)
            out["tonic"] = min(t for t, _ in runs)
            out["tonic_counts"] = runs[0][1]
            log(f"  Tonic {out['tonic']:.2f} s {out['tonic_counts']}")
        out["load1"] = _load()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def row(r: dict) -> str:
    n, e = r["ev_counts"]
    ev = r["ev"]
    cells = [TITLES[r["name"]],
             f"{n} samples, {e / 1e6:.2f} M events, {r['raw_bytes'] / 1e6:.1f} MB",
             f"{ev:.2f}"]
    for key in ("sj", "tonic"):
        if key not in r:
            cells.append("-")
            continue
        same = "" if tuple(r[f"{key}_counts"]) == (n, e) else \
            f" (counts differ: {r[f'{key}_counts']})"
        if key == "sj":
            a, b = r["sj"]
            cells.append(f"{a + b:.2f} ({a:.2f} + {b:.2f}){same}")
        else:
            cells.append(f"{r['tonic']:.2f}{same}")
    for key in ("sj", "tonic"):
        if key not in r:
            cells.append("-")
        else:
            t = sum(r["sj"]) if key == "sj" else r["tonic"]
            cells.append(f"{t / ev:.1f}x")
    target = CASES[r["name"]].target
    if target is None:
        cells.append("none (SpikingJelly has no loader)")
    elif "sj" not in r:
        cells.append(f">= {target:g}x vs SpikingJelly (not measured)")
    else:
        met = "met" if sum(r["sj"]) / ev >= target else "NOT met"
        cells.append(f">= {target:g}x vs SpikingJelly: {met}")
    cells.append(f"load {r['load0']} -> {r['load1']}")
    return "| " + " | ".join(cells) + " |"


def _ceiling_row(r: dict, cells: list, floor: float, ev_digits: int, words) -> str:
    """A floor table's row: ``cells`` so far, then SpikingJelly's and evframes' seconds,
    the ceiling SJ / ``floor``, evframes / ``floor``, the target's verdict (``words``: what
    to say when it is within / beyond the ceiling) and the load."""
    ev = r["ev"]
    target = CASES[r["name"]].target
    if "sj" in r:
        sj = sum(r["sj"])
        cells += [f"{sj:.2f}", f"{ev:.2f}", f"{sj / floor:.1f}x"]
    else:
        cells += ["-", f"{ev:.2f}", "-"]
    cells.append(f"{ev / floor:.{ev_digits}f}x")
    if target is None or "sj" not in r:
        cells.append("-")
    else:
        ok = sum(r["sj"]) / floor >= target
        cells.append(f">= {target:g}x: {words[0] if ok else words[1]}")
    cells.append(f"load {r['load0']} -> {r['load1']}")
    return "| " + " | ".join(cells) + " |"


def floor_row(r: dict) -> Optional[str]:
    if "floor1" not in r:
        return None
    f1, f2 = r["floor1"], r["floor2"]
    best = min(f1, f2)  # many small members: the pool's hand-offs can cost more than it saves
    cells = [TITLES[r["name"]], f"{r['raw_bytes'] / 1e6:.1f} -> {r['inflated'] / 1e6:.1f}",
             f"{f1:.3f}", f"{f2:.3f}"]
    return _ceiling_row(r, cells, best, 1, ("reachable", "out of reach"))


def store_row(r: dict) -> Optional[str]:
    if "store" not in r or "floor1" not in r:
        return None
    f1, st = r["floor1"], r["store"]
    cells = [TITLES[r["name"]], f"{r['ev_counts'][1] / 1e6:.2f}", f"{st:.3f}", f"{f1:.3f}",
             f"{f1 + st:.3f}"]
    return _ceiling_row(r, cells, f1 + st, 2,
                        ("within one thread's ceiling", "beyond one thread's ceiling"))


def machine_line() -> str:
    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        git = "?"
    from importlib import metadata
    versions = []
    for mod in ("spikingjelly", "tonic", "scipy"):
        try:
            versions.append(f"{mod} {metadata.version(mod)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{mod} absent")
    cpu = platform.processor() or platform.machine()
    return (f"Last run: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
            f"evframes git {git}, {', '.join(versions)}; load = 1/5/15-min load average "
            f"before -> after.")


def update(path: Path, rows: Dict[str, str], floors: Dict[str, str],
           stores: Optional[Dict[str, str]] = None) -> str:
    """The results file with the rows of ``rows`` (main table), ``floors`` (inflate-floor
    table) and ``stores`` (store-floor table) replaced (or appended); other datasets' rows
    and any notes below are kept."""
    headers = set(HEADER.splitlines()) | set(FLOOR_HEADER.splitlines()) \
        | set(STORE_HEADER.splitlines())
    table: Dict[str, str] = {}
    ftable: Dict[str, str] = {}
    stable: Dict[str, str] = {}
    notes = []
    current = table
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.startswith("| dataset | inflated MB"):
                current = ftable
            elif line.startswith("| dataset | M events"):
                current = stable
            if line in headers:
                continue
            if line.startswith("| "):
                current[line.split("|")[1].strip()] = line
            elif not line.startswith("Last run:"):
                notes.append(line)
    for src, dst in ((rows, table), (floors, ftable), (stores or {}, stable)):
        for k, v in src.items():
            dst[TITLES[k]] = v
    tail = "\n".join(notes).strip("\n")
    order = list(TITLES.values())

    def part(head, t):
        if not t:
            return ""
        return head + "\n".join(t[k] for k in sorted(t, key=lambda k: order.index(k)
                                                       if k in order else len(order))) + "\n"
    return (HEADER + "\n".join(table.values()) + "\n" + part(FLOOR_HEADER, ftable)
            + part(STORE_HEADER, stable) + "\n" + machine_line() + "\n"
            + (f"\n{tail}\n" if tail else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--update", type=Path, default=None,
                    help="results markdown file to update (rows of these datasets)")
    a = ap.parse_args()
    results = [bench(n, a.repeat) for n in a.datasets]
    rows = {r["name"]: row(r) for r in results}
    floors = {r["name"]: f for r in results if (f := floor_row(r)) is not None}
    stores = {r["name"]: f for r in results if (f := store_row(r)) is not None}
    if a.update:
        a.update.write_text(update(a.update, rows, floors, stores))
        log(f"updated {a.update}")
    else:
        print(HEADER + "\n".join(rows.values()))
        if floors:
            print(FLOOR_HEADER + "\n".join(floors.values()))
        if stores:
            print(STORE_HEADER + "\n".join(stores.values()))

if __name__ == "__main__":
    main()
