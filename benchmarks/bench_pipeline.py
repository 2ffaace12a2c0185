"""DVS128 Gesture preprocessing, end to end: evframes vs SpikingJelly 2.0 on the same archive.

Writes ONE DVS128 Gesture replica ``DvsGesture.tar.gz`` with ``evframes.synth.fake_dvs128``
(default: 12 recordings at real event rates, ``--scale 1.0``, about 5 M events per recording;
``--recordings 122`` is the full layout) and preprocesses it with both libraries:

a) evframes: ``extract(open_raw('dvs128', root))`` (tar.gz streamed, decoded, split by the
   labels CSVs into one events store per split, pipelined in one process; stores deleted first,
   Numba caches warmed on a tiny 2-recording replica), in ``--rounds`` interleaved rounds with
   the inflate-only floors (the archive inflated and discarded: by the reader extraction uses,
   by rapidgzip over all cores and on one thread, by zlib), ``extract(..., workers=2)`` (a
   process pool) and a reference write of the same events from memory into a store
   (compression, checksums and HDF5 alone); best and median reported. Then ``build_frames(root,
   setting_from_options('number', 20))``, and the CLI (``evframes extract``, ``evframes
   integrate``) in fresh processes, which includes imports and Numba cache loading
   (``--skip-cli`` leaves that out).
b) SpikingJelly 2.0 (``spikingjelly.datasets.dvs128_gesture.DVS128Gesture``), 2 preprocessing
   threads (``configure.max_threads_number_for_datasets_preprocess = 2``): its own steps,
   called the way ``prepare_raw_dataset`` calls them but without the md5 check (the replica's
   md5 differs from the real archive's): ``extract_downloaded_files(root/download,
   root/extract)`` (untar), ``create_raw_from_extracted(root/extract, root/events_np)`` (decode
   and split into one ``.npz`` per sample), then the frames builder that constructing
   ``DVS128Gesture(root, data_type='frame', frames_number=20, split_by='number')`` runs.
c) Equality: every SpikingJelly per-sample events file ``events_np/<split>/<label>/<rec>_<k>.npz``
   is matched to the evframes sample of the same recording, label and occurrence ``k`` and
   compared field by field; likewise every SpikingJelly frames file vs the evframes frames.
   SpikingJelly's ``DatasetFolder`` class indices are compared with the folder labels.
d) Disk: evframes' stores vs SpikingJelly's folders (apparent bytes; allocated bytes in notes).

Both libraries read the archive from the page cache (it was just written). The machine's load
is recorded before every timed stage, with the CPU that *other* processes used during it.
Run it in the benchmark venv:

    .venv-bench/bin/python benchmarks/bench_pipeline.py --markdown > benchmarks/results_pipeline.md

In a venv without SpikingJelly (or with ``--skip-sj``) only the evframes side runs.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

# SpikingJelly reads its options from the environment at import time
os.environ.setdefault("SJ_MAX_THREADS_NUMBER_FOR_DATASETS_PREPROCESS", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SETTING_DIR = "frames_number_20_split_by_number"
T_FRAMES = 20


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# machine load: 1-min load average, and CPU used by *other* processes during a stage
# ------------------------------------------------------------------------------------------
_HZ = os.sysconf("SC_CLK_TCK")


def _busy_seconds() -> float:
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / _HZ


def _own_cpu_seconds() -> float:
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped workers (pools, DataLoader)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


class Stage:
    """Times a block; records the load average before it and the cores that other processes
    kept busy during it (machine busy time minus this process tree's CPU time)."""

    def __init__(self, name: str):
        self.name = name
        self.seconds = 0.0
        self.load1 = 0.0
        self.others = 0.0

    def __enter__(self):
        self.load1 = os.getloadavg()[0]
        self._b0, self._o0 = _busy_seconds(), _own_cpu_seconds()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._t0
        busy = _busy_seconds() - self._b0
        own = _own_cpu_seconds() - self._o0
        self.others = max(0.0, busy - own) / max(self.seconds, 1e-9)
        self.own = own / max(self.seconds, 1e-9)
        return False


def wait_for_load(max_load, max_wait_s=1800):
    """Sleep in 60 s steps while the 1-min load average is above ``max_load``."""
    if max_load is None:
        return
    waited = 0
    while os.getloadavg()[0] > max_load and waited < max_wait_s:
        log(f"load average {os.getloadavg()[0]:.2f} > {max_load}: waiting 60 s")
        time.sleep(60)
        waited += 60


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


# ------------------------------------------------------------------------------------------
# disk
# ------------------------------------------------------------------------------------------
def tree_bytes(path) -> tuple:
    """(apparent bytes, allocated bytes, files) of a file or folder."""
    path = Path(path)
    if not path.exists():
        return 0, 0, 0
    if path.is_file():
        st = path.stat()
        return st.st_size, st.st_blocks * 512, 1
    a = b = n = 0
    for dp, _, fns in os.walk(path):
        for fn in fns:
            st = os.lstat(os.path.join(dp, fn))
            a += st.st_size
            b += st.st_blocks * 512
            n += 1
    return a, b, n


def frames_filter(path) -> str:
    """The HDF5 filter of a frames store's /frames dataset, by name."""
    import h5py
    names = {"32026": "Blosc2", "32001": "Blosc", "1": "gzip", "2": "shuffle", "32000": "lzf",
             "32015": "zstd"}
    try:
        with h5py.File(path, "r") as f:
            filt = f["frames"]._filters
    except Exception as e:  # missing plugin, missing file
        return f"? ({type(e).__name__})"
    return "+".join(names.get(str(k), str(k)) for k in filt) or "none"


def command_line() -> str:
    return " ".join([os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd())
                     else sys.executable, "benchmarks/" + Path(sys.argv[0]).name] + sys.argv[1:])


def frames_entropy_bytes(folder: Path):
    """Order-0 entropy of the frames' pixel values (bytes): what a coder that sees each count
    on its own, without spatial or temporal context, needs at the least."""
    import h5py
    total = 0.0
    try:
        for path in sorted(folder.glob("*.h5")):
            with h5py.File(path, "r") as f:
                d = f["frames"]
                counts = np.zeros(1 << (8 * d.dtype.itemsize), np.int64) \
                    if d.dtype.itemsize <= 2 else None
                if counts is None:
                    return None
                for a in range(0, d.shape[0], 512):
                    block = d[a:a + 512]
                    counts += np.bincount(block.ravel(), minlength=counts.size)
            p = counts[counts > 0] / counts.sum()
            total += float(-(p * np.log2(p)).sum()) * counts.sum() / 8
    except Exception:
        return None
    return total


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


# ------------------------------------------------------------------------------------------
# the replica and the per-library roots
# ------------------------------------------------------------------------------------------
def run_in_workdir(args, run):
    """``run(args, workdir)`` after waiting for a quiet machine (``args.wait_load``), in
    ``args.workdir`` or a temporary folder removed afterwards unless ``args.keep``."""
    wait_for_load(args.wait_load)
    workdir, created = make_workdir(args.workdir)
    log(f"workdir: {workdir}")
    try:
        return run(args, workdir)
    finally:
        if created and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            log(f"removed {workdir}")


def make_workdir(arg):
    """(workdir, created_by_us)."""
    if arg:
        p = Path(arg)
        p.mkdir(parents=True, exist_ok=True)
        return p, False
    return Path(tempfile.mkdtemp(prefix="evframes-bench-", dir="/tmp")), True


def prepare_replica(workdir: Path, recordings: int, scale: float) -> dict:
    """``workdir/archive/DvsGesture.tar.gz`` (reused when written with the same options) plus
    hard links of it in ``workdir/evframes`` and ``workdir/spikingjelly/download``."""
    from evframes.synth import fake_dvs128
    adir = workdir / "archive"
    info_path = adir / "replica.json"
    want = {"recordings": recordings, "scale": scale, "seed": 0}
    info = None
    if info_path.exists() and (adir / "DvsGesture.tar.gz").exists():
        info = json.loads(info_path.read_text())
        if info.get("options") != want:
            info = None
    if info is None:
        shutil.rmtree(adir, ignore_errors=True)
        adir.mkdir(parents=True)
        log(f"writing the replica: {recordings} recordings, scale {scale} ...")
        t0 = time.perf_counter()
        summary = fake_dvs128(adir, recordings=recordings, scale=scale, seed=0, workers=2)
        log(f"  {summary['events'] / 1e6:.1f} M events, {summary['samples']} samples in "
            f"{time.perf_counter() - t0:.1f} s")
        aedat = 0
        with tarfile.open(adir / "DvsGesture.tar.gz", "r:gz") as tf:
            for m in tf:
                if m.isfile() and m.name.endswith(".aedat"):
                    aedat += m.size
        info = {"options": want, "summary": summary, "aedat_bytes": aedat}
        info_path.write_text(json.dumps(info))
    archive = adir / "DvsGesture.tar.gz"
    for target in (workdir / "evframes" / "DvsGesture.tar.gz",
                   workdir / "spikingjelly" / "download" / "DvsGesture.tar.gz"):
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            if os.path.samefile(target, archive):
                continue
            target.unlink()
        try:
            os.link(archive, target)
        except OSError:
            shutil.copyfile(archive, target)
    info["archive"] = str(archive)
    info["archive_bytes"] = archive.stat().st_size
    return info


def warm_up_extract(workdir: Path) -> Path:
    """Load the decoders from the Numba cache (compiling them if the cache is cold) on a tiny
    2-recording replica, in this process (workers=1) and in a pool (workers=2); not timed.
    Only the (serial) decoders run here: Numba's parallel threading layer is not started, so
    the timed extraction's pool is started the way a fresh ``evframes extract`` starts it."""
    from evframes.datasets import open_raw
    from evframes.extract import extract
    from evframes.synth import fake_dvs128
    w = workdir / "warmup"
    shutil.rmtree(w, ignore_errors=True)
    log("warm-up: evframes extract on a 2-recording replica (Numba caches) ...")
    with contextlib.redirect_stderr(open(os.devnull, "w")):
        fake_dvs128(w, recordings=2, scale=0.05, seed=1, workers=1)
        extract(open_raw("dvs128", w), workers=1, progress=False)
        extract(open_raw("dvs128", w), workers=2, progress=False, force=True)
    return w


def inflate_only(archive: Path, how: str) -> int:
    """Read the whole decompressed stream of ``archive`` and discard it (the floor of any
    extraction from it): ``how`` = 'open_gzip' (the reader extraction uses: ISA-L on one
    thread below 6 cores, see ``evframes.raw.tarstream``), 'rapidgzip-all' (rapidgzip over all
    cores), 'rapidgzip-1' (rapidgzip, one thread) or 'zlib' (the standard library, one
    thread). Returns the decompressed bytes."""
    n = 0
    if how == "zlib":
        import zlib
        d = zlib.decompressobj(31)
        with open(archive, "rb", buffering=0) as fh:
            while True:
                b = fh.read(1 << 20)
                if not b:
                    break
                n += len(d.decompress(b))
        return n
    if how.startswith("rapidgzip-"):
        import rapidgzip
        f = rapidgzip.open(str(archive), parallelization=1 if how == "rapidgzip-1"
                           else os.cpu_count() or 1)
    else:
        from evframes.raw.tarstream import open_gzip
        f = open_gzip(archive)
    with f:
        while True:
            b = f.read(4 << 20)
            if not b:
                break
            n += len(b)
    return n


FLOORS = ("open_gzip", "rapidgzip-all", "rapidgzip-1", "zlib")


def extraction_rounds(args, evroot: Path, archive: Path) -> dict:
    """Interleaved rounds: each inflates the archive alone (every way of :data:`FLOORS`),
    then extracts it with the default ``workers=None`` and with ``--workers`` (stores deleted
    first). ``{name: [Stage, ...]}``."""
    from evframes.datasets import open_raw
    from evframes.extract import extract
    out = {}
    floors = [h for h in FLOORS if not h.startswith("rapidgzip") or _has("rapidgzip")]
    for r in range(args.rounds):
        for how in floors:
            with Stage(f"inflate only ({how})") as st:
                inflate_only(archive, how)
            out.setdefault(f"floor {how}", []).append(st)
        for name, kw in (("ev_extract_default", {}), ("ev_extract", {"workers": args.workers})):
            evframes_clean(evroot)
            with Stage(f"evframes extract {kw or 'workers=None (default)'}") as st:
                extract(open_raw("dvs128", evroot), progress=False, **kw)
            out.setdefault(name, []).append(st)
        events = {sp: _read_store(evroot, sp) for sp in ("train", "test")}  # not timed
        with Stage("store write only") as st:
            for sp, (ev, offsets, labels) in events.items():
                _write_store(evroot / "events" / f"bench-{sp}.h5", ev, offsets, labels)
        del events
        out.setdefault("write only", []).append(st)
        log(f"round {r + 1}: " + ", ".join(f"{k} {v[-1].seconds:.2f} s" for k, v in out.items())
            + f"; load {os.getloadavg()[0]:.2f}")
    return out


def _read_store(root: Path, split: str):
    from evframes import EventsDataset
    ds = EventsDataset(root, split)
    ev = ds.read_all()
    out = (ev, ds.offsets, ds.labels)
    ds.close()
    return out


def _write_store(path: Path, ev, offsets, labels):
    """An events store of these events written the way extraction writes (about one
    recording's samples per append: here 12 appends), then deleted: compression, checksums
    and HDF5 writes alone."""
    from evframes.store import EventsStoreWriter
    w = EventsStoreWriter(path)
    cuts = np.linspace(0, len(labels), 13).astype(int)
    for a, b in zip(cuts[:-1], cuts[1:]):
        lo, hi = int(offsets[a]), int(offsets[b])
        w.append_many({k: ev[k][lo:hi] for k in "txyp"}, offsets[a:b + 1] - lo,
                      labels[a:b], [{}] * (b - a))
    w.commit({"kind": "events"})
    path.unlink()


def _has(mod: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(mod) is not None


def warm_up_frames(w: Path):
    """Load the integration kernels from the Numba cache on the tiny replica; not timed."""
    from evframes.frames import build_frames, setting_from_options
    log("warm-up: evframes build_frames on the 2-recording replica ...")
    with contextlib.redirect_stderr(open(os.devnull, "w")):
        build_frames(w, setting_from_options("number", T_FRAMES), progress=False)
    shutil.rmtree(w, ignore_errors=True)


def git_state() -> str:
    """``HEAD`` plus the evframes files with uncommitted changes."""
    head, _, dirty = _git()
    if head is None:
        return "unknown"
    return head + (f" + uncommitted changes in {', '.join(dirty)}" if dirty else "")


def evframes_code_id():
    """What identifies the evframes code: the tree of evframes/ at HEAD plus the contents of
    its uncommitted files (commits that touch only tests or docs leave it unchanged)."""
    import hashlib
    _, tree, dirty = _git()
    h = hashlib.sha256(str(tree).encode())
    root = Path(__file__).resolve().parents[1]
    for f in dirty:
        try:
            h.update((root / f).read_bytes())
        except OSError:
            h.update(f.encode())
    return h.hexdigest()


def _git():
    import subprocess
    root = Path(__file__).resolve().parents[1]

    def git(*a):
        return subprocess.run(["git", *a], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout
    try:
        head = git("rev-parse", "--short", "HEAD").strip()
        tree = git("rev-parse", "HEAD:evframes").strip()
        dirty = [ln[3:] for ln in git("status", "--porcelain", "--", "evframes").split("\n")
                 if ln.strip()]
    except Exception:
        return None, None, []
    return head or None, tree, dirty


def run_cli(args_list, what) -> float:
    """Run the evframes CLI in a fresh process; seconds."""
    import subprocess
    exe = Path(sys.executable).parent / "evframes"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "evframes.cli"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd + args_list, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{what} failed ({r.returncode}): {r.stderr[-2000:]}")
    return dt


def evframes_clean(root: Path):
    for d in ("events", SETTING_DIR):
        shutil.rmtree(root / d, ignore_errors=True)


def sj_available() -> tuple:
    """(module DVS128Gesture, configure, version) or (None, None, reason)."""
    try:
        from importlib.metadata import version

        from spikingjelly import configure
        from spikingjelly.datasets.dvs128_gesture import DVS128Gesture
        configure.max_threads_number_for_datasets_preprocess = 2
        return DVS128Gesture, configure, version("spikingjelly")
    except Exception as e:  # ImportError, or a broken install
        return None, None, f"{type(e).__name__}: {e}"


def sj_clean(sjroot: Path):
    for d in ("extract", "events_np", SETTING_DIR):
        shutil.rmtree(sjroot / d, ignore_errors=True)
    for m in sjroot.glob("*.building"):
        m.unlink()


def sj_frames_dataset(DVS128Gesture, sjroot: Path, train: bool):
    return DVS128Gesture(str(sjroot), train=train, data_type="frame", frames_number=T_FRAMES,
                         split_by="number")


# ------------------------------------------------------------------------------------------
# equality: SpikingJelly's per-sample files vs evframes' samples
# ------------------------------------------------------------------------------------------
def evframes_index(root: Path, split: str):
    """{(recording stem, label, occurrence k): sample index} in the evframes events store."""
    from evframes import EventsDataset
    ds = EventsDataset(root, split)
    idx, seen = {}, {}
    order = sorted(range(len(ds)), key=lambda i: (str(ds.meta["source"][i]),
                                                  int(ds.meta["row"][i])))
    for i in order:
        stem = str(ds.meta["source"][i])[: -len(".aedat")]
        lab = int(ds.labels[i])
        k = seen.get((stem, lab), 0)
        seen[(stem, lab)] = k + 1
        idx[(stem, lab, k)] = i
    return ds, idx


def parse_sj_name(path: Path):
    stem, k = path.stem.rsplit("_", 1)
    return stem, int(path.parent.name), int(k)


def check_equality(evroot: Path, sjroot: Path, DVS128Gesture, max_samples=None) -> dict:
    """Compare SpikingJelly's events and frames files with evframes' samples."""
    from evframes.frames import FramesStore, frames_store_path, setting_from_options
    setting = setting_from_options("number", T_FRAMES)
    out = {"events_checked": 0, "events_equal": 0, "frames_checked": 0, "frames_equal": 0,
           "unmatched": [], "mismatches": [], "label_folder_vs_index": {},
           "sj_target_wrong": 0, "sj_samples": 0, "count_ok": True}
    for split in ("train", "test"):
        ds, idx = evframes_index(evroot, split)
        fr = FramesStore(frames_store_path(evroot, setting, split))
        sj_files = sorted((sjroot / "events_np" / split).rglob("*.npz"))
        if len(sj_files) != len(ds):
            out["count_ok"] = False
            out["mismatches"].append(f"{split}: SpikingJelly has {len(sj_files)} samples, "
                                     f"evframes {len(ds)}")
        if max_samples:
            step = max(1, len(sj_files) // max_samples)
            sj_files = sj_files[::step][:max_samples]
        for f in sj_files:
            key = parse_sj_name(f)
            if key not in idx:
                out["unmatched"].append(f"{split}/{f.parent.name}/{f.name}")
                continue
            i = idx[key]
            ev = ds.events(i)
            with np.load(f) as z:
                theirs = {k: z[k] for k in "txyp"}
            out["events_checked"] += 1
            ok = all(np.array_equal(np.asarray(ev[k], np.int64),
                                    np.asarray(theirs[k], np.int64)) for k in "txyp")
            ok = ok and int(ds.labels[i]) == key[1]
            out["events_equal"] += ok
            if not ok:
                out["mismatches"].append(f"events {split}/{f.parent.name}/{f.name} vs evframes "
                                         f"{split}[{i}] ({len(ev['t'])} vs {len(theirs['t'])} "
                                         f"events)")
            ff = sjroot / SETTING_DIR / split / f.parent.name / f.name
            if ff.exists():
                with np.load(ff) as z:
                    sjf = z["frames"]
                ours = fr.frames(i)
                out["frames_checked"] += 1
                same = sjf.shape == ours.shape and np.array_equal(sjf, ours.astype(np.float64))
                out["frames_equal"] += same
                if not same:
                    out["mismatches"].append(
                        f"frames {split}/{f.parent.name}/{f.name}: shape {sjf.shape} vs "
                        f"{ours.shape}, max |diff| "
                        f"{np.abs(sjf - ours).max() if sjf.shape == ours.shape else 'n/a'}")
        # SpikingJelly's DatasetFolder targets vs the folder (true) labels
        sj = sj_frames_dataset(DVS128Gesture, sjroot, split == "train")
        out["label_folder_vs_index"] = {k: v for k, v in
                                        sorted(sj.class_to_idx.items(), key=lambda kv: kv[1])}
        for path, target in sj.samples:
            out["sj_samples"] += 1
            out["sj_target_wrong"] += int(Path(path).parent.name) != int(target)
        ds.close()
    return out


# ------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recordings", type=int, default=12,
                    help="recordings in the replica (122 = the full DVS128 Gesture layout)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="event-rate multiplier (1.0 ~ the real dataset's rates)")
    ap.add_argument("--workdir", default=None,
                    help="working folder (default: a new folder under /tmp, removed at the end;"
                         " a given folder is kept and its replica reused)")
    ap.add_argument("--keep", action="store_true", help="keep the default temporary workdir")
    ap.add_argument("--workers", type=int, default=2,
                    help="evframes extraction processes and SpikingJelly threads")
    ap.add_argument("--markdown", action="store_true", help="print markdown")
    ap.add_argument("--skip-sj", action="store_true", help="evframes only")
    ap.add_argument("--skip-cli", action="store_true",
                    help="do not time the evframes CLI in fresh processes")
    ap.add_argument("--check-samples", type=int, default=0,
                    help="samples per split compared with SpikingJelly (0 = all)")
    ap.add_argument("--wait-load", type=float, default=None,
                    help="before starting, wait while the 1-min load average exceeds this")
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds of inflate-only floors and extractions (best "
                         "and median reported)")
    args = ap.parse_args(argv)

    wait_for_load(args.wait_load)
    load_start = os.getloadavg()
    workdir, created = make_workdir(args.workdir)
    log(f"workdir: {workdir}")
    try:
        return run(args, workdir, load_start)
    finally:
        if created and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            log(f"removed {workdir}")


def run(args, workdir: Path, load_start):
    import numba

    from evframes.datasets import open_raw
    from evframes.extract import extract
    from evframes.frames import build_frames, setting_from_options

    sj_cls, sj_conf, sj_version = (None, None, "skipped (--skip-sj)")
    if not args.skip_sj:
        sj_cls, sj_conf, sj_version = sj_available()
        if sj_cls is None:
            log(f"SpikingJelly not importable ({sj_version}); running evframes only")
            sj_version = f"not importable ({sj_version})"
        else:
            sj_conf.max_threads_number_for_datasets_preprocess = args.workers

    git_start, code_start = git_state(), evframes_code_id()
    info = prepare_replica(workdir, args.recordings, args.scale)
    n_events = int(info["summary"]["events"])
    n_samples = int(info["summary"]["samples"])
    evroot = workdir / "evframes"
    sjroot = workdir / "spikingjelly"
    stages = {}
    # ---- evframes ----
    tiny = warm_up_extract(workdir)
    log(f"evframes: {args.rounds} interleaved rounds of inflate-only floors and extractions "
        f"(workers=None, workers={args.workers}) ...")
    rounds = extraction_rounds(args, evroot, Path(info["archive"]))
    for k, v in rounds.items():  # the best of the rounds stands for the stage
        stages[k] = min(v, key=lambda st: st.seconds)
    ex = extract(open_raw("dvs128", evroot), progress=False)  # reused: its counts
    warm_up_frames(tiny)
    log("evframes: build_frames number T=20 ...")
    with Stage("evframes frames") as st:
        fsum = build_frames(evroot, setting_from_options("number", T_FRAMES), progress=True)
    stages["ev_frames"] = st
    log(f"  {st.seconds:.2f} s; load {st.load1:.2f}, others' CPU {st.others:.2f} cores")
    if not args.skip_cli:
        evframes_clean(evroot)
        log("evframes CLI in fresh processes: extract, integrate ...")
        with Stage("evframes CLI extract (fresh process)") as st:
            run_cli(["extract", "--dataset", "dvs128", "--root", str(evroot), "-q"],
                    "evframes extract")
        stages["cli_extract"] = st
        log(f"  extract {st.seconds:.2f} s; load {st.load1:.2f}, others' CPU {st.others:.2f}")
        with Stage("evframes CLI integrate (fresh process)") as st:
            run_cli(["integrate", "--root", str(evroot), "--split-by", "number", "-T",
                     str(T_FRAMES), "-q"], "evframes integrate")
        stages["cli_frames"] = st
        log(f"  integrate {st.seconds:.2f} s; load {st.load1:.2f}, others' CPU "
            f"{st.others:.2f}")
    ev_events_n = ex.total_events
    ev_samples = sum(ex.samples.values())

    # ---- SpikingJelly ----
    eq = None
    if sj_cls is not None:
        sj_clean(sjroot)
        (sjroot / "extract").mkdir()
        (sjroot / "events_np").mkdir()
        log("SpikingJelly: extract_downloaded_files (untar) ...")
        with Stage("sj untar") as st:
            sj_cls.extract_downloaded_files(sjroot / "download", sjroot / "extract")
        stages["sj_untar"] = st
        log(f"  {st.seconds:.2f} s; load {st.load1:.2f}, others' CPU {st.others:.2f} cores")
        log(f"SpikingJelly: create_raw_from_extracted ({args.workers} threads; ~0.6 M events/s"
            f" -> expect ~{n_events / 0.6e6 / 60:.0f} min) ...")
        with Stage("sj split") as st:
            sj_cls.create_raw_from_extracted(sjroot / "extract", sjroot / "events_np")
        stages["sj_split"] = st
        log(f"  {st.seconds:.2f} s; load {st.load1:.2f}, others' CPU {st.others:.2f} cores")
        log("SpikingJelly: frames builder (DVS128Gesture data_type='frame', T=20, number) ...")
        with Stage("sj frames") as st:
            sj_frames_dataset(sj_cls, sjroot, True)
        stages["sj_frames"] = st
        log(f"  {st.seconds:.2f} s; load {st.load1:.2f}, others' CPU {st.others:.2f} cores")
        log("equality checks ...")
        eq = check_equality(evroot, sjroot, sj_cls, args.check_samples or None)
        log(f"  events {eq['events_equal']}/{eq['events_checked']} equal, frames "
            f"{eq['frames_equal']}/{eq['frames_checked']} equal, unmatched "
            f"{len(eq['unmatched'])}")

    # ---- disk ----
    disk = {
        "archive": tree_bytes(info["archive"]),
        "ev_events": tree_bytes(evroot / "events"),
        "ev_frames": tree_bytes(evroot / SETTING_DIR),
        "sj_extract": tree_bytes(sjroot / "extract"),
        "sj_events": tree_bytes(sjroot / "events_np"),
        "sj_frames": tree_bytes(sjroot / SETTING_DIR),
    }
    entropy_bytes = frames_entropy_bytes(evroot / SETTING_DIR)
    meta = {
        "entropy_bytes": entropy_bytes,
        "events": n_events, "samples": n_samples, "ev_samples": ev_samples,
        "ev_events": ev_events_n, "recordings": info["summary"]["recordings"],
        "train_rec": info["summary"]["train_recordings"],
        "test_rec": info["summary"]["test_recordings"], "scale": args.scale,
        "aedat_bytes": info["aedat_bytes"], "load_start": load_start,
        "load_end": os.getloadavg(), "sj_version": sj_version, "workers": args.workers,
        "numba_threads": numba.get_num_threads(),
        "compression": frames_filter(evroot / SETTING_DIR / "train.h5"),
        "frames_dtype": fsum.splits.get("train", {}).get("dtype"),
        "sj_compressed": getattr(sj_conf, "save_datasets_compressed", None),
        "git": git_start if evframes_code_id() == code_start else
        f"{git_start} at start, {git_state()} at the end (evframes/ changed during the run)",
    }
    meta["rounds"] = rounds
    report(stages, disk, meta, eq, args.markdown)
    ok = eq is None or (not eq["mismatches"] and not eq["unmatched"])
    return 0 if ok else 1


FLOOR_HDR = ["step", "best s", "median s", "rounds (s, 1-min load before)",
             "CPU s of the best (cores)", "M events/s (best)", "floor / this (best)",
             "SpikingJelly / this (best)"]


def floor_table(rounds: dict, sj_untar, sj_raw, n_events):
    """Rows of the floor table and its notes: each inflate-only way and each extraction,
    best and median of the rounds; the floor is the fastest inflate-only way's best."""
    import statistics
    if not rounds:
        return [], []
    floors = {k: v for k, v in rounds.items() if k.startswith("floor ")}
    floor = min(min(st.seconds for st in v) for v in floors.values())
    names = {"ev_extract_default": "evframes extract, default workers=None",
             "ev_extract": "evframes extract, --workers",
             "write only": "reference: events store write only (events already in memory)"}
    rows = []
    for k, v in rounds.items():
        secs = [st.seconds for st in v]
        bst = min(v, key=lambda st: st.seconds)
        b = bst.seconds
        label = names.get(k, f"inflate only: {k[len('floor '):]}" + (
            " (the reader extraction uses)" if k == "floor open_gzip" else ""))
        ref = k == "write only"
        rows.append([label, f"{b:.2f}", f"{statistics.median(secs):.2f}",
                     ", ".join(f"{st.seconds:.2f} ({st.load1:.1f})" for st in v),
                     f"{bst.own * b:.2f} ({bst.own:.2f})", f"{n_events / 1e6 / b:.1f}",
                     "" if ref else f"{floor / b:.0%}",
                     f"{sj_raw / b:.1f}x" if sj_raw and not ref else ""])
    best_st = min(rounds["ev_extract_default"], key=lambda st: st.seconds)
    best = best_st.seconds
    fl_st = min((st for k, v in floors.items() for st in v), key=lambda st: st.seconds)
    cores = os.cpu_count() or 1
    wr = min(rounds["write only"], key=lambda st: st.seconds) if "write only" in rounds \
        else None
    notes = [f"Floor: the fastest inflate-only way's best, {floor:.2f} s. Extraction with the "
             f"defaults, best of the rounds: {best:.2f} s = {floor / best:.0%} of the floor "
             f"(target >= 80%)"
             + (f", {sj_raw / best:.1f}x SpikingJelly's {sj_raw:.1f} s (untar "
                f"{sj_untar:.1f} s + decode and split; target >= 50x)" if sj_raw else "")
             + ".",
             f"CPU budget on {cores} cores: the floor's inflation used "
             f"{fl_st.own * fl_st.seconds:.2f} CPU s; the extraction {best_st.own * best:.2f} "
             f"CPU s, so with every stage overlapped perfectly it needs at least "
             f"{best_st.own * best / cores:.2f} s = {floor / (best_st.own * best / cores):.0%} "
             f"of the floor"
             + (f"; writing the events store alone (Blosc LZ4 compression, xxh3 checksums, "
                f"HDF5) takes {wr.own * wr.seconds:.2f} CPU s" if wr is not None else "")
             + ". 80% of the floor would leave "
             f"{max(0.0, floor / 0.8 * cores - fl_st.own * fl_st.seconds):.2f} CPU s for "
             f"everything but inflation."]
    return rows, notes


def report(stages, disk, meta, eq, markdown):
    n = meta["events"]
    s = stages
    have_sj = "sj_split" in s

    def sec(k):
        return s[k].seconds if k in s else None

    def fmt_s(v):
        return "" if v is None else f"{v:.2f}"

    def mev(v):
        return "" if not v else f"{n / 1e6 / v:.2f}"

    def ratio(a, b):
        return "" if not a or not b else f"{b / a:.1f}x"

    sj_raw = (sec("sj_untar") or 0) + (sec("sj_split") or 0) if have_sj else None
    ev_total = sec("ev_extract_default") + sec("ev_frames")
    sj_total = sj_raw + sec("sj_frames") if have_sj else None
    d = disk
    rows = [
        # stage, ev s, sj s, ratio, M ev/s (ev / sj), bytes (ev / sj)
        ("raw tar.gz -> per-sample events (total; extract defaults, best of the rounds)",
         sec("ev_extract_default"), sj_raw,
         f"{d['ev_events'][0]:,} / {d['sj_events'][0]:,}" if have_sj else
         f"{d['ev_events'][0]:,}"),
        ("  SpikingJelly: untar (extract_downloaded_files)", None, sec("sj_untar"),
         f"- / {d['sj_extract'][0]:,}" if have_sj else ""),
        ("  SpikingJelly: decode + split (create_raw_from_extracted)", None, sec("sj_split"),
         ""),
        ("events -> frames, T=20 split_by number", sec("ev_frames"), sec("sj_frames"),
         f"{d['ev_frames'][0]:,} / {d['sj_frames'][0]:,}" if have_sj else
         f"{d['ev_frames'][0]:,}"),
        ("raw tar.gz -> frames (total)", ev_total, sj_total, ""),
    ]
    if "ev_extract" in s:
        rows.insert(1, (f"  evframes: extract with workers={meta['workers']} (a process pool)",
                        sec("ev_extract"), None, ""))
    if "cli_extract" in s:
        rows += [
            ("evframes CLI, fresh processes: `evframes extract` (defaults)", sec("cli_extract"),
             sj_raw, ""),
            ("evframes CLI, fresh processes: `evframes integrate --split-by number -T 20`",
             sec("cli_frames"), sec("sj_frames"), ""),
            ("evframes CLI total (raw tar.gz -> frames, incl. imports + Numba cache loads)",
             sec("cli_extract") + sec("cli_frames"), sj_total, ""),
        ]
    if not have_sj:
        rows = [r for r in rows if not r[0].startswith("  SpikingJelly")]
    hdr = ["stage", "evframes s", "SpikingJelly s", "ratio (SJ/evframes)",
           "M events/s (evframes / SJ)", "bytes written (evframes / SJ)"]
    table = []
    for name, a, b, byt in rows:
        m = ""
        if (a or b) and "untar" not in name:
            m = f"{mev(a) or '-'} / {mev(b) or '-'}"
        table.append([name, fmt_s(a), fmt_s(b), ratio(a, b), m, byt])
    # disk rows
    disk_rows = [
        ("raw archive DvsGesture.tar.gz", d["archive"][0], None),
        ("raw .aedat files (uncompressed, inside the archive)", meta["aedat_bytes"], None),
        ("per-sample events: evframes events/*.h5 vs SJ events_np/*.npz",
         d["ev_events"][0], d["sj_events"][0] if have_sj else None),
        ("frames T=20: evframes frames store vs SJ frames npz", d["ev_frames"][0],
         d["sj_frames"][0] if have_sj else None),
        ("everything kept after preprocessing (archive + derived; SJ also keeps extract/)",
         d["archive"][0] + d["ev_events"][0] + d["ev_frames"][0],
         d["archive"][0] + d["sj_extract"][0] + d["sj_events"][0] + d["sj_frames"][0]
         if have_sj else None),
    ]
    dhdr = ["disk", "evframes bytes", "SpikingJelly bytes", "evframes / SJ"]
    dtable = []
    for name, a, b in disk_rows:
        dtable.append([name, f"{a:,} ({human(a)})",
                       "" if b is None else f"{b:,} ({human(b)})",
                       "" if not b else f"{a / b:.3f} (1/{b / a:.1f})" if a else ""])

    ftable, fnotes = floor_table(meta.get("rounds") or {}, sec("sj_untar"), sj_raw, n)
    ls, le = meta["load_start"], meta["load_end"]
    lines_load = [f"{st.name}: {st.seconds:.2f} s, 1-min load before {st.load1:.2f}, other "
                  f"processes' CPU during it {st.others:.2f} cores, this run's {st.own:.2f}"
                  for st in stages.values()]
    head = (f"DVS128 Gesture replica: {meta['recordings']} recordings ({meta['train_rec']} "
            f"train / {meta['test_rec']} test), {meta['samples']} samples, "
            f"{meta['events']:,} events (scale {meta['scale']}); "
            f"machine load (1/5/15-min) at start {ls[0]:.2f}/{ls[1]:.2f}/{ls[2]:.2f}, "
            f"at end {le[0]:.2f}/{le[1]:.2f}/{le[2]:.2f}")
    env = (f"Machine: {machine_line()}. evframes git {meta['git']}: extract "
           f"workers={meta['workers']}, "
           f"Numba threads={meta['numba_threads']}, frames {meta['frames_dtype']} with "
           f"{meta['compression']}. SpikingJelly {meta['sj_version']}"
           + (f": max_threads_number_for_datasets_preprocess={meta['workers']}, "
              f"save_datasets_compressed={meta['sj_compressed']}." if have_sj else "."))
    notes = []
    if eq is not None:
        idx = eq["label_folder_vs_index"]
        scrambled = any(int(k) != v for k, v in idx.items())
        notes += [
            f"Events equality: {eq['events_equal']}/{eq['events_checked']} SpikingJelly "
            f"per-sample event files equal to the evframes sample of the same recording, label "
            f"and occurrence (t, x, y, p and label); unmatched files: {len(eq['unmatched'])}; "
            f"sample counts agree: {eq['count_ok']}.",
            f"Frames equality: {eq['frames_equal']}/{eq['frames_checked']} SpikingJelly frames "
            f"(float64 npz) equal to evframes' frames.",
            "SpikingJelly labels: DatasetFolder maps class folders to indices "
            + ", ".join(f"'{k}'->{v}" for k, v in idx.items())
            + (f"; {eq['sj_target_wrong']}/{eq['sj_samples']} of its samples get a target that "
               f"differs from the folder's (true) label: the string sort scrambles labels, as "
               f"DESIGN.md says." if scrambled else "; labels not scrambled."),
        ]
        if eq["mismatches"] or eq["unmatched"]:
            notes.append("MISMATCHES: " + "; ".join((eq["mismatches"] + eq["unmatched"])[:10]))
        if meta.get("entropy_bytes"):
            e = meta["entropy_bytes"]
            notes.append(
                f"Frames store size vs its content: the order-0 entropy of the frames' pixel "
                f"counts is {human(e)}; the store ({human(d['ev_frames'][0])}) is "
                f"{d['ev_frames'][0] / e:.2f}x that, and 1/3 of SpikingJelly's frames would be "
                f"{human(d['sj_frames'][0] / 3)}"
                + (" (below that floor: no coder of independent pixel counts reaches it; only "
                   "one exploiting spatial or temporal structure could)."
                   if d["sj_frames"][0] / 3 < e else "."))
        notes.append(
            f"Allocated disk (du): evframes events {human(d['ev_events'][1])}, frames "
            f"{human(d['ev_frames'][1])} in {d['ev_events'][2] + d['ev_frames'][2]} files; "
            f"SpikingJelly events {human(d['sj_events'][1])} in {d['sj_events'][2]} files, "
            f"frames {human(d['sj_frames'][1])} in {d['sj_frames'][2]} files, extract/ "
            f"{human(d['sj_extract'][1])}.")
    else:
        notes.append(f"SpikingJelly: {meta['sj_version']}.")

    if markdown:
        print("# DVS128 Gesture preprocessing: evframes vs SpikingJelly\n")
        print(f"**{head}.**\n")
        print(env + "\n")
        print("| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        for r in table:
            print("| " + " | ".join(r) + " |")
        print()
        print("| " + " | ".join(dhdr) + " |")
        print("|" + "---|" * len(dhdr))
        for r in dtable:
            print("| " + " | ".join(r) + " |")
        if ftable:
            print("\nExtraction against the inflate-only floor (interleaved rounds in this "
                  "run; the table above shows each stage's best):\n")
            print("| " + " | ".join(FLOOR_HDR) + " |")
            print("|" + "---|" * len(FLOOR_HDR))
            for r in ftable:
                print("| " + " | ".join(r) + " |")
            print()
            for ln in fnotes:
                print(f"- {ln}")
        print("\nMachine load per timed stage:\n")
        for ln in lines_load:
            print(f"- {ln}")
        print("\nNotes:\n")
        for ln in notes:
            print(f"- {ln}")
        print("\nCold runs: evframes' stores and SpikingJelly's folders are deleted first; "
              "evframes' Numba caches are warmed on a 2-recording replica; both read the archive "
              "from the page cache. Produced by `" + command_line() + "`.")
    else:
        print(head)
        print(env)
        w = [max(len(str(r[i])) for r in [hdr] + table) for i in range(len(hdr))]
        for r in [hdr] + table:
            print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))
        print()
        w = [max(len(str(r[i])) for r in [dhdr] + dtable) for i in range(len(dhdr))]
        for r in [dhdr] + dtable:
            print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))
        print()
        for r in [FLOOR_HDR] + ftable:
            print("  ".join(r))
        for ln in fnotes + lines_load + notes:
            print(ln)


if __name__ == "__main__":
    sys.exit(main())
