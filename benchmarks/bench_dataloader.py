"""Training-time reading: samples/s of T=20 DVS128 Gesture frames through a torch DataLoader.

Same replica as ``bench_pipeline.py`` (``evframes.synth.fake_dvs128``, default 12 recordings at
real event rates). Every contender reads the train split's frames ``[20, 2, 128, 128]`` as
float32 through ``DataLoader(ds, batch_size=16, num_workers=2, shuffle=True)``:

- evframes ``DVS128Gesture(root, train=True, data_type='frame', frames_number=20,
  split_by='number')`` on disk (HDF5 frames store), and with ``in_memory=True``;
- SpikingJelly 2.0 ``DVS128Gesture`` (same arguments) reading its per-sample ``.npz`` files
  (built by its own preprocessing, not timed here; see ``bench_pipeline.py``);
- Tonic 1.7 ``tonic.DiskCachedDataset`` wrapping a dataset that yields the same frames as
  float32 numpy arrays (read from the evframes store), its cache (one HDF5 file per sample,
  lzf) filled in a first pass over the data.

Reference rows (``--no-references`` drops them): a dataset returning one constant float32
tensor of the same shape (the DataLoader's own ceiling for such samples), the evframes store read
as uint8 tensors (what a uint8 output option would give), and the two evframes datasets with
``num_workers=0``.

After one warm-up epoch each, the contenders run alternately, ``--epochs`` (3) timed epochs
each; an epoch is timed from creating the DataLoader iterator (worker start included, as in
training) to its last batch. Reported: median samples/s and ratios vs evframes. The frames
the contenders yield are checked equal on a few samples first. Run it in the benchmark venv:

    .venv-bench/bin/python benchmarks/bench_dataloader.py --markdown \\
        > benchmarks/results_dataloader.md

``--workdir DIR`` reuses a replica and stores left there by ``bench_pipeline.py --workdir DIR``.
Without SpikingJelly / Tonic (or with ``--skip-sj`` / ``--skip-tonic``) those parts are skipped.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("SJ_MAX_THREADS_NUMBER_FOR_DATASETS_PREPROCESS", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_pipeline as bp  # noqa: E402

T_FRAMES = bp.T_FRAMES


class FramesAsFloat:
    """``(frames float32 numpy [T, 2, H, W], label)`` from an evframes frames store: the
    dataset Tonic's DiskCachedDataset wraps (picklable; lazy HDF5 handle per process)."""

    def __init__(self, path):
        from evframes.frames import FramesStore
        self.store = FramesStore(path)

    def __len__(self):
        return len(self.store)

    def __getitem__(self, i):
        x, y = self.store[i]
        return x.astype(np.float32), int(y)


class ConstantFrames:
    """Reference: returns one precomputed float32 tensor of the same shape (no I/O, no
    decoding), so its rate is the DataLoader's own ceiling for samples of this size."""

    def __init__(self, x, n):
        self.x, self.n = x, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.x, 0


class FramesUint8:
    """What-if: the evframes frames store read as uint8 tensors (``FramesStore``), float
    conversion left to the consumer (e.g. on the GPU): 4x fewer bytes through the DataLoader."""

    def __init__(self, path):
        from evframes.frames import FramesStore
        self.store = FramesStore(path)

    def __len__(self):
        return len(self.store)

    def __getitem__(self, i):
        import torch
        x, y = self.store[i]
        return torch.from_numpy(x), int(y)


def epoch(ds, batch_size, num_workers, seed):
    """One shuffled pass; (seconds, samples)."""
    import torch
    g = torch.Generator()
    g.manual_seed(seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, num_workers=num_workers,
                                         shuffle=True, generator=g)
    n = 0
    t0 = time.perf_counter()
    for x, _ in loader:
        n += x.shape[0]
    dt = time.perf_counter() - t0
    del loader
    return dt, n


def sample_equal(a, b) -> bool:
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    return a.shape == b.shape and np.array_equal(a, b)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recordings", type=int, default=12)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workdir", default=None,
                    help="working folder (default: new folder under /tmp, removed at the end)")
    ap.add_argument("--keep", action="store_true", help="keep the default temporary workdir")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs per contender")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--num-workers", type=int, default=2)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--skip-sj", action="store_true", help="no SpikingJelly")
    ap.add_argument("--skip-tonic", action="store_true", help="no Tonic")
    ap.add_argument("--no-references", dest="references", action="store_false",
                    help="omit the reference rows (DataLoader ceiling, uint8 what-if)")
    ap.add_argument("--wait-load", type=float, default=None,
                    help="before starting, wait while the 1-min load average exceeds this")
    args = ap.parse_args(argv)

    return bp.run_in_workdir(args, run)


def run(args, workdir: Path):
    from evframes.datasets import DVS128Gesture
    from evframes.frames import frames_store_path, setting_from_options

    info = bp.prepare_replica(workdir, args.recordings, args.scale)
    evroot = workdir / "evframes"
    sjroot = workdir / "spikingjelly"

    # ---- contenders (preparation is not timed) ----
    bp.log("evframes: stores (extract + frames if missing) ...")
    ev_disk = DVS128Gesture(evroot, train=True, data_type="frame", frames_number=T_FRAMES,
                            split_by="number", progress=False, workers=2)
    ev_mem = DVS128Gesture(evroot, train=True, data_type="frame", frames_number=T_FRAMES,
                           split_by="number", progress=False, in_memory=True)
    store_path = frames_store_path(evroot, setting_from_options("number", T_FRAMES), "train")
    contenders = {"evframes (HDF5 store)": ev_disk, "evframes in_memory=True": ev_mem}
    disk_bytes = {"evframes (HDF5 store)": bp.tree_bytes(store_path)[0],
                  "evframes in_memory=True": bp.tree_bytes(store_path)[0]}
    versions = {"evframes": f"{__import__('evframes').__version__} (git {bp.git_state()})"}
    skipped = []
    n_workers = {}  # contenders that use another num_workers than --num-workers

    sj_cls = None
    if args.skip_sj:
        skipped.append("SpikingJelly: skipped (--skip-sj)")
    else:
        sj_cls, sj_conf, sj_version = bp.sj_available()
        if sj_cls is None:
            skipped.append(f"SpikingJelly: not importable ({sj_version}); skipped")
            bp.log(skipped[-1])
        else:
            versions["SpikingJelly"] = sj_version
            if not (sjroot / "events_np").is_dir() or (sjroot / "events_np.building").exists():
                bp.log("SpikingJelly: preprocessing the replica (not timed; minutes) ...")
                bp.sj_clean(sjroot)
                (sjroot / "extract").mkdir()
                (sjroot / "events_np").mkdir()
                sj_cls.extract_downloaded_files(sjroot / "download", sjroot / "extract")
                sj_cls.create_raw_from_extracted(sjroot / "extract", sjroot / "events_np")
            if (sjroot / f"{bp.SETTING_DIR}.building").exists():
                shutil.rmtree(sjroot / bp.SETTING_DIR, ignore_errors=True)
                (sjroot / f"{bp.SETTING_DIR}.building").unlink()
            bp.log("SpikingJelly: frames (built if missing, not timed) ...")
            sj_ds = bp.sj_frames_dataset(sj_cls, sjroot, True)
            contenders["SpikingJelly (npz per sample)"] = sj_ds
            disk_bytes["SpikingJelly (npz per sample)"] = \
                bp.tree_bytes(sjroot / bp.SETTING_DIR / "train")[0]

    if args.skip_tonic:
        skipped.append("Tonic: skipped (--skip-tonic)")
    else:
        try:
            from importlib.metadata import version

            import tonic
            versions["Tonic"] = version("tonic")
        except Exception as e:
            tonic = None
            skipped.append(f"Tonic: not importable ({type(e).__name__}: {e}); skipped")
            bp.log(skipped[-1])
        if tonic is not None:
            cache = workdir / "tonic_cache" / "train"
            shutil.rmtree(cache, ignore_errors=True)
            tonic_ds = tonic.DiskCachedDataset(FramesAsFloat(store_path), cache_path=str(cache))
            bp.log("Tonic: filling the DiskCachedDataset cache (first pass, not timed) ...")
            dt, n = epoch(tonic_ds, args.batch_size, args.num_workers, seed=12345)
            bp.log(f"  {n} samples cached in {dt:.1f} s")
            contenders["Tonic DiskCachedDataset (float32, lzf)"] = tonic_ds
            disk_bytes["Tonic DiskCachedDataset (float32, lzf)"] = bp.tree_bytes(cache)[0]

    if args.references:
        x0 = ev_disk[0][0].clone()
        contenders["reference: constant float32 tensor, no I/O (DataLoader ceiling)"] = \
            ConstantFrames(x0, len(ev_disk))
        disk_bytes["reference: constant float32 tensor, no I/O (DataLoader ceiling)"] = 0
        contenders["what-if: evframes FramesStore as uint8 tensors (float on the GPU)"] = \
            FramesUint8(store_path)
        disk_bytes["what-if: evframes FramesStore as uint8 tensors (float on the GPU)"] = \
            bp.tree_bytes(store_path)[0]
        for name, ds in (("evframes (HDF5 store), num_workers=0", ev_disk),
                         ("evframes in_memory=True, num_workers=0", ev_mem)):
            contenders[name] = ds
            disk_bytes[name] = bp.tree_bytes(store_path)[0]
            n_workers[name] = 0

    # ---- same frames? ----
    bp.log("checking the contenders yield the same frames ...")
    checks = []
    n = len(ev_disk)
    picks = sorted(set([0, n // 3, n // 2, n - 1]))
    for i in picks:
        ref = ev_disk[i][0].numpy()
        ok = sample_equal(ref, ev_mem[i][0])
        checks.append(("evframes in_memory", i, ok))
        if "Tonic DiskCachedDataset (float32, lzf)" in contenders:
            ok = sample_equal(ref, contenders["Tonic DiskCachedDataset (float32, lzf)"][i][0])
            checks.append(("Tonic", i, ok))
    if sj_cls is not None:
        _, idx = bp.evframes_index(evroot, "train")
        sj_ds = contenders["SpikingJelly (npz per sample)"]
        step = max(1, len(sj_ds) // 4)
        for j in range(0, len(sj_ds), step):
            path, _ = sj_ds.samples[j]
            key = bp.parse_sj_name(Path(path))
            i = idx.get(key)
            ok = i is not None and sample_equal(ev_disk[i][0].numpy(), sj_ds[j][0])
            checks.append(("SpikingJelly", j, ok))
    n_ok = sum(c[2] for c in checks)
    bp.log(f"  {n_ok}/{len(checks)} equal")

    # ---- timing: warm-up epoch each, then alternate ----
    x0, _ = ev_disk[0]
    bp.log(f"sample: {tuple(x0.shape)} {x0.dtype}; {len(ev_disk)} train samples, batch "
           f"{args.batch_size}, {args.num_workers} workers")
    times = {k: [] for k in contenders}
    stage = bp.Stage("dataloader epochs")
    stage.__enter__()
    for name, ds in contenders.items():
        dt, n = epoch(ds, args.batch_size, n_workers.get(name, args.num_workers), seed=0)
        bp.log(f"warm-up {name}: {n / dt:.1f} samples/s")
    getitem_ms = {}
    for name, ds in contenders.items():  # per-sample cost in this process, no DataLoader
        t0 = time.perf_counter()
        for i in range(len(ds)):
            ds[i]
        getitem_ms[name] = (time.perf_counter() - t0) / len(ds) * 1e3
        bp.log(f"ds[i] {name}: {getitem_ms[name]:.2f} ms/sample")
    for r in range(args.epochs):
        for name, ds in contenders.items():
            dt, n = epoch(ds, args.batch_size, n_workers.get(name, args.num_workers),
                          seed=r + 1)
            times[name].append(n / dt)
            bp.log(f"epoch {r + 1} {name}: {n} samples in {dt:.2f} s = {n / dt:.1f} samples/s")
    stage.__exit__(None, None, None)

    report(args, info, contenders, times, disk_bytes, versions, skipped, checks, stage,
           len(ev_disk), getitem_ms)
    return 0 if all(c[2] for c in checks) else 1


def report(args, info, contenders, times, disk_bytes, versions, skipped, checks, stage,
           n_train, getitem_ms):
    ref = statistics.median(times["evframes (HDF5 store)"])
    ref_mem = statistics.median(times["evframes in_memory=True"])
    hdr = ["reader", "median samples/s", "epochs (samples/s)", "evframes (store) / this",
           "evframes in_memory / this", "ds[i] ms/sample (main process, no DataLoader)",
           "bytes read from (train split)"]
    rows = []
    for name in contenders:
        med = statistics.median(times[name])
        rows.append([name, f"{med:.1f}", ", ".join(f"{v:.1f}" for v in times[name]),
                     f"{ref / med:.2f}x", f"{ref_mem / med:.2f}x", f"{getitem_ms[name]:.2f}",
                     f"{disk_bytes[name]:,} ({bp.human(disk_bytes[name])})"])
    s = info["summary"]
    la = os.getloadavg()
    head = (f"DVS128 Gesture replica: {s['recordings']} recordings, {s['events']:,} events "
            f"(scale {args.scale}); {n_train} train samples of float32 [{T_FRAMES}, 2, 128, 128]"
            f"; DataLoader(batch_size={args.batch_size}, num_workers={args.num_workers}, "
            f"shuffle=True); machine load: 1-min load {stage.load1:.2f} before the timed epochs, "
            f"{la[0]:.2f} after; other processes used {stage.others:.2f} cores during them")
    env = (f"Machine: {bp.machine_line()}; "
           + ", ".join(f"{k} {v}" for k, v in versions.items())
           + f", torch {__import__('torch').__version__}.")
    notes = []
    peers = [k for k in ("SpikingJelly (npz per sample)",
                         "Tonic DiskCachedDataset (float32, lzf)") if k in times]
    if peers:
        def ratios(name):
            m = statistics.median(times[name])
            return [m / statistics.median(times[k]) for k in peers]

        def vs(name):
            return " / ".join(f"{r:.2f}x" for r in ratios(name))
        tgt = (f"Target evframes >= 5x both peers; evframes vs "
               f"{' / '.join(p.split(' (')[0] for p in peers)} with the DataLoader above: "
               f"HDF5 store {vs('evframes (HDF5 store)')}, in_memory=True "
               f"{vs('evframes in_memory=True')}")
        ref = "reference: constant float32 tensor, no I/O (DataLoader ceiling)"
        if ref in times:
            tgt += f"; the float32 ceiling of this DataLoader itself is {vs(ref)}"
            if min(ratios(ref)) < 5:
                tgt += (" (so 5x both is out of reach for any dataset that yields float32 "
                        "frames of this size through this DataLoader here)")
        if "evframes in_memory=True, num_workers=0" in times:
            tgt += (f"; evframes in_memory=True with num_workers=0: "
                    f"{vs('evframes in_memory=True, num_workers=0')}")
        notes.append(tgt + ".")
    notes += [f"Same frames: {sum(c[2] for c in checks)}/{len(checks)} samples checked equal "
             f"across contenders (" + ", ".join(sorted({c[0] for c in checks})) + ")."]

    notes += skipped
    if args.references:
        notes.append("Reference rows are not contenders: 'constant float32 tensor' returns "
                     "one precomputed [20, 2, 128, 128] float32 tensor (no reading at all), so "
                     "it is the most any dataset yielding float32 frames of this size can get "
                     "through this DataLoader on this machine (collation into shared memory "
                     "and worker start-up); 'uint8 what-if' reads the same evframes store "
                     "without the float conversion (not the public Dataset API). The "
                     "'num_workers=0' rows are the same evframes datasets read in the main "
                     "process (no worker start-up, no shared-memory transport); SpikingJelly "
                     "and Tonic are slower without workers (their ds[i] column).")
    notes.append(f"One warm-up epoch per contender, then {args.epochs} timed epochs each, "
                 f"alternating; an epoch includes DataLoader worker start-up "
                 f"(persistent_workers=False, as in the default DataLoader).")
    if args.markdown:
        print("# DataLoader throughput: T=20 DVS128 Gesture frames\n")
        print(f"**{head}.**\n")
        print(env + "\n")
        print("| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        for r in rows:
            print("| " + " | ".join(r) + " |")
        print("\nNotes:\n")
        for ln in notes:
            print(f"- {ln}")
        print(f"\nProduced by `{bp.command_line()}`.")
    else:
        print(head)
        print(env)
        w = [max(len(str(r[i])) for r in [hdr] + rows) for i in range(len(hdr))]
        for r in [hdr] + rows:
            print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))
        for ln in notes:
            print(ln)


if __name__ == "__main__":
    sys.exit(main())
