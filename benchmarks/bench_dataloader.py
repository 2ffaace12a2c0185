"""Training-time reading: samples/s of T=20 DVS128 Gesture frames through a torch DataLoader,
each beside the no-I/O ceiling of the same output dtype.

Same replica as ``bench_pipeline.py`` (``evframes.synth.fake_dvs128``, default 12 recordings at
real event rates). Every contender reads the train split's frames ``[20, 2, 128, 128]``
(batch 16, 2 workers, shuffled):

- evframes ``DVS128Gesture(root, train=True, data_type='frame', frames_number=20,
  split_by='number')`` on disk (HDF5 frames store) and with ``in_memory=True``, each through
  ``DataLoader(ds, batch_size=16, num_workers=2, shuffle=True)`` (the SpikingJelly-style loop;
  the DataLoader calls the dataset's ``__getitems__``, one batch read) and through
  ``evframes.datasets.fast_loader(ds, 16, shuffle=True, num_workers=2)`` (batches read whole
  in the workers, sent as the stored uint8, converted to float32 in the main process), float32
  and ``dtype=torch.uint8`` (convert on the GPU);
- SpikingJelly 2.0 ``DVS128Gesture`` (same arguments) reading its per-sample ``.npz`` files
  (built by its own preprocessing, not timed here; see ``bench_pipeline.py``), DataLoader;
- Tonic 1.7 ``tonic.DiskCachedDataset`` wrapping a dataset that yields the same frames as
  float32 numpy arrays (read from the evframes store), its cache (one HDF5 file per sample,
  lzf) filled in a first pass over the data.

Ceilings (reference rows, not contenders): a DataLoader over a dataset returning one constant
tensor of the same shape, float32 or uint8, with the same batch size and workers: the most any
dataset yielding such samples gets through this DataLoader on this machine (worker start-up,
collation into shared memory, transport). Every row names the ceiling of its output dtype and
its share of it.

Timing: one warm-up epoch each, then ``--rounds`` interleaved rounds (each runs every
contender once, in a rotated order), an epoch timed from creating the loader's iterator (worker
start included, as in training) to its last batch. Reported: the best and the median of the
rounds, the 1-minute load average around them. The frames the contenders yield are checked
equal first (a fast_loader epoch against a DataLoader epoch with the same generator, sample by
sample). Run it in the benchmark venv:

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
SJ = "SpikingJelly DataLoader (npz per sample)"
TONIC = "Tonic DiskCachedDataset (float32, lzf)"


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
    """Ceiling: returns one precomputed tensor of the sample shape and dtype (no I/O, no
    decoding), so its rate is the DataLoader's own ceiling for samples of this size."""

    def __init__(self, x, n):
        self.x, self.n = x, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.x, 0


class Contender:
    """``make(generator) -> iterable of (x, y)``; ``dtype`` of x; ``ceiling`` row name."""

    def __init__(self, name, make, dtype, ceiling=None, disk=0, getitem=None, workers=None):
        self.name, self.make, self.dtype, self.ceiling = name, make, dtype, ceiling
        self.disk, self.getitem, self.workers = disk, getitem, workers
        self.rates, self.loads, self.steady = [], [], []
        self.kept = None  # the persistent loader of the steady-state rounds


def dataloader(ds, args, workers=None):
    import torch

    def make(g, persistent=False):
        w = args.num_workers if workers is None else workers
        return torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=True,
                                           generator=g, num_workers=w,
                                           persistent_workers=persistent and w > 0)
    return make


def fastloader(ds, args, workers=None, **kw):
    from evframes.datasets import fast_loader

    def make(g, persistent=False):
        return fast_loader(ds, args.batch_size, shuffle=True, generator=g,
                           num_workers=args.num_workers if workers is None else workers,
                           persistent_workers=persistent, **kw)
    return make


def steady(c, epochs, seed):
    """Samples/s over ``epochs`` epochs of one loader kept with persistent workers (made and
    warmed up on first use): the rate once worker start-up is paid."""
    import torch
    if c.kept is None:
        g = torch.Generator()
        g.manual_seed(seed)
        c.kept = c.make(g, persistent=True)
        for _ in c.kept:
            pass
    n = 0
    t0 = time.perf_counter()
    for _ in range(epochs):
        for x, _ in c.kept:
            n += x.shape[0]
    return n / (time.perf_counter() - t0)


def epoch(ds, batch_size, num_workers, seed):
    """One shuffled DataLoader pass over ``ds``; (seconds, samples) (bench_on_the_fly)."""
    return epoch_of(lambda g: __import__("torch").utils.data.DataLoader(
        ds, batch_size=batch_size, num_workers=num_workers, shuffle=True, generator=g), seed)


def epoch_of(make, seed):
    """One shuffled pass of the loader ``make(generator)``; (seconds, samples)."""
    import torch
    g = torch.Generator()
    g.manual_seed(seed)
    loader = make(g)
    n = 0
    t0 = time.perf_counter()
    for x, _ in loader:
        n += x.shape[0]
    dt = time.perf_counter() - t0
    del loader
    return dt, n


def same_epoch(a, b) -> bool:
    """Two loaders' epochs (same generator seed) yield equal batches, values compared as
    float32."""
    import torch
    ga, gb = torch.Generator(), torch.Generator()
    ga.manual_seed(99)
    gb.manual_seed(99)
    ba, bb = list(a(ga)), list(b(gb))
    return len(ba) == len(bb) and all(
        torch.equal(xa.float(), xb.float()) and torch.equal(torch.as_tensor(ya),
                                                            torch.as_tensor(yb))
        for (xa, ya), (xb, yb) in zip(ba, bb))


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
    ap.add_argument("--rounds", type=int, default=5, help="interleaved timed rounds")
    ap.add_argument("--steady-epochs", type=int, default=3,
                    help="epochs per round of the persistent-worker loaders (0: none)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--num-workers", type=int, default=2)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--skip-sj", action="store_true", help="no SpikingJelly")
    ap.add_argument("--skip-tonic", action="store_true", help="no Tonic")
    ap.add_argument("--wait-load", type=float, default=None,
                    help="before starting, wait while the 1-min load average exceeds this")
    args = ap.parse_args(argv)
    return bp.run_in_workdir(args, run)


def build_contenders(args, workdir: Path, info):
    import torch

    from evframes.datasets import DVS128Gesture
    from evframes.frames import frames_store_path, setting_from_options

    evroot, sjroot = workdir / "evframes", workdir / "spikingjelly"
    bp.log("evframes: stores (extract + frames if missing) ...")
    kw = dict(train=True, data_type="frame", frames_number=T_FRAMES, split_by="number",
              progress=False)
    ev_disk = DVS128Gesture(evroot, workers=2, **kw)
    ev_mem = DVS128Gesture(evroot, in_memory=True, **kw)
    store = frames_store_path(evroot, setting_from_options("number", T_FRAMES), "train")
    size = bp.tree_bytes(store)[0]
    f32, u8 = "ceiling float32", "ceiling uint8"
    x0 = ev_disk[0][0].clone()
    out = [
        Contender(f32 + " (constant tensor, no I/O)", dataloader(ConstantFrames(x0, len(ev_disk)),
                                                                 args), torch.float32),
        Contender(u8 + " (constant tensor, no I/O)",
                  dataloader(ConstantFrames(x0.to(torch.uint8), len(ev_disk)), args),
                  torch.uint8),
        Contender("evframes HDF5, DataLoader (SpikingJelly-style loop)",
                  dataloader(ev_disk, args), torch.float32, f32, size, ev_disk),
        Contender("evframes HDF5, fast_loader", fastloader(ev_disk, args), torch.float32, f32,
                  size, ev_disk),
        Contender("evframes HDF5, fast_loader dtype=uint8", fastloader(ev_disk, args,
                                                                       dtype=torch.uint8),
                  torch.uint8, u8, size),
        Contender("evframes in_memory, DataLoader", dataloader(ev_mem, args), torch.float32,
                  f32, size, ev_mem),
        Contender("evframes in_memory, fast_loader", fastloader(ev_mem, args), torch.float32,
                  f32, size),
        Contender("evframes in_memory, fast_loader dtype=uint8",
                  fastloader(ev_mem, args, dtype=torch.uint8), torch.uint8, u8, size),
    ]
    versions = {"evframes": f"{__import__('evframes').__version__} (git {bp.git_state()})"}
    skipped, sj_ds, tonic_ds = [], None, None
    if args.skip_sj:
        skipped.append("SpikingJelly: skipped (--skip-sj)")
    else:
        sj_cls, _, sj_version = bp.sj_available()
        if sj_cls is None:
            skipped.append(f"SpikingJelly: not importable ({sj_version}); skipped")
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
            out.append(Contender(SJ, dataloader(sj_ds, args), torch.float32, f32,
                                 bp.tree_bytes(sjroot / bp.SETTING_DIR / "train")[0], sj_ds))
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
        if tonic is not None:
            cache = workdir / "tonic_cache" / "train"
            shutil.rmtree(cache, ignore_errors=True)
            tonic_ds = tonic.DiskCachedDataset(FramesAsFloat(store), cache_path=str(cache))
            bp.log("Tonic: filling the DiskCachedDataset cache (first pass, not timed) ...")
            epoch_of(dataloader(tonic_ds, args), seed=12345)
            out.append(Contender(TONIC, dataloader(tonic_ds, args), torch.float32, f32,
                                 bp.tree_bytes(cache)[0], tonic_ds))
    out.append(Contender("evframes in_memory, fast_loader, num_workers=0",
                         fastloader(ev_mem, args, workers=0), torch.float32, f32, size,
                         workers=0))
    for s in skipped:
        bp.log(s)
    return out, versions, skipped, (ev_disk, ev_mem, sj_ds, tonic_ds, evroot)


def check_same(args, contenders, datasets):
    """(name, ok) checks: each fast_loader epoch equals the DataLoader epoch of its dataset
    (same generator); peers' samples equal evframes' ones."""
    import torch
    ev_disk, ev_mem, sj_ds, tonic_ds, evroot = datasets
    by = {c.name: c for c in contenders}
    checks = []
    ref = dataloader(ev_disk, args)
    for name in ("evframes HDF5, fast_loader", "evframes HDF5, fast_loader dtype=uint8",
                 "evframes in_memory, DataLoader", "evframes in_memory, fast_loader",
                 "evframes in_memory, fast_loader dtype=uint8"):
        checks.append((f"{name} vs evframes HDF5 DataLoader (whole epoch, same generator)",
                       same_epoch(by[name].make, ref)))
    n = len(ev_disk)
    for i in sorted({0, n // 3, n // 2, n - 1}):
        if tonic_ds is not None:
            checks.append((f"Tonic sample {i}", sample_equal(ev_disk[i][0], tonic_ds[i][0])))
    if sj_ds is not None:
        _, idx = bp.evframes_index(evroot, "train")
        for j in range(0, len(sj_ds), max(1, len(sj_ds) // 4)):
            key = bp.parse_sj_name(Path(sj_ds.samples[j][0]))
            i = idx.get(key)
            checks.append((f"SpikingJelly sample {j}", i is not None and sample_equal(
                ev_disk[i][0].numpy(), sj_ds[j][0])))
    del torch
    return checks


def run(args, workdir: Path):
    info = bp.prepare_replica(workdir, args.recordings, args.scale)
    contenders, versions, skipped, datasets = build_contenders(args, workdir, info)
    bp.log("checking the contenders yield the same frames ...")
    checks = check_same(args, contenders, datasets)
    bp.log(f"  {sum(ok for _, ok in checks)}/{len(checks)} equal")
    getitem_ms = {}
    for c in contenders:
        if c.getitem is not None:
            ds = c.getitem
            t0 = time.perf_counter()
            for i in range(len(ds)):
                ds[i]
            getitem_ms[c.name] = (time.perf_counter() - t0) / len(ds) * 1e3
    for c in contenders:
        dt, n = epoch_of(c.make, seed=0)
        bp.log(f"warm-up {c.name}: {n / dt:.1f} samples/s")
    stage = bp.Stage("dataloader rounds")
    stage.__enter__()
    for r in range(args.rounds):
        k = r % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            load = os.getloadavg()[0]
            dt, n = epoch_of(c.make, seed=r + 1)
            c.rates.append(n / dt)
            c.loads.append(load)
            if args.steady_epochs:
                c.steady.append(steady(c, args.steady_epochs, seed=1000 + r))
        bp.log(f"round {r + 1}: " + ", ".join(f"{c.name.split(',')[0][:12]}.. "
                                               f"{c.rates[-1]:.0f}" for c in contenders))
    stage.__exit__(None, None, None)
    for c in contenders:
        c.kept = None
    report(args, info, contenders, versions, skipped, checks, stage, getitem_ms,
           len(datasets[0]))
    return 0 if all(ok for _, ok in checks) else 1


def report(args, info, contenders, versions, skipped, checks, stage, getitem_ms, n_train):
    by = {c.name: c for c in contenders}
    ceil = {c.name.split(" (")[0]: c for c in contenders if c.ceiling is None}
    sj = by.get(SJ)

    def best(c):
        return max(c.rates)

    def med(c):
        return statistics.median(c.rates)

    hdr = ["reader", "x dtype", "best samples/s", "median", "ceiling, same dtype: best / median",
           "best / ceiling best (median / median)", "vs SpikingJelly (best / median)",
           "ds[i] ms (main process)", "bytes read"]
    rows = []
    for c in contenders:
        ce = ceil.get(c.ceiling)
        rows.append([
            c.name + (f" (num_workers={c.workers})" if c.workers is not None and
                      "num_workers" not in c.name else ""),
            str(c.dtype).replace("torch.", ""), f"{best(c):.0f}", f"{med(c):.0f}",
            "–" if ce is None else f"{best(ce):.0f} / {med(ce):.0f}",
            "–" if ce is None else f"{best(c) / best(ce):.0%} ({med(c) / med(ce):.0%})",
            "–" if sj is None or c.ceiling is None else
            f"{best(c) / best(sj):.2f}x / {med(c) / med(sj):.2f}x",
            f"{getitem_ms[c.name]:.2f}" if c.name in getitem_ms else "",
            f"{c.disk:,} ({bp.human(c.disk)})" if c.disk else "0"])
    srows = []
    for c in contenders:
        if not c.steady:
            continue
        ce = ceil.get(c.ceiling)
        sb = max(c.steady)
        srows.append([c.name, str(c.dtype).replace("torch.", ""), f"{sb:.0f}",
                      f"{statistics.median(c.steady):.0f}",
                      "–" if ce is None else f"{max(ce.steady):.0f}",
                      "–" if ce is None else f"{sb / max(ce.steady):.0%}",
                      "–" if sj is None or c.ceiling is None else
                      f"{sb / max(sj.steady):.2f}x"])
    shdr = ["reader (persistent workers)", "x dtype", "best samples/s", "median",
            "ceiling, same dtype (best)", "best / ceiling", "vs SpikingJelly (best)"]
    s = info["summary"]
    loads = [v for c in contenders for v in c.loads]
    head = (f"DVS128 Gesture replica: {s['recordings']} recordings, {s['events']:,} events "
            f"(scale {args.scale}); {n_train} train samples [{T_FRAMES}, 2, 128, 128]; batch "
            f"{args.batch_size}, {args.num_workers} workers, shuffled; {args.rounds} "
            f"interleaved rounds; 1-min load {min(loads):.2f}..{max(loads):.2f} during them "
            f"(other processes used {stage.others:.2f} cores on average)")
    env = (f"Machine: {bp.machine_line()}; "
           + ", ".join(f"{k} {v}" for k, v in versions.items())
           + f", torch {__import__('torch').__version__}.")
    notes = []
    f32 = ceil.get("ceiling float32")
    if sj is not None and f32 is not None:
        notes.append(f"Targets: >= 85% of the ceiling of the same dtype; float32 >= 5x "
                     f"SpikingJelly's DataLoader. The float32 ceiling itself is "
                     f"{best(f32) / best(sj):.2f}x SpikingJelly here (best of rounds): a "
                     f"loader that sends float32 through the DataLoader cannot reach 5x; "
                     f"fast_loader sends uint8 and converts after.")
    notes.append(f"Same frames: {sum(ok for _, ok in checks)}/{len(checks)} checks equal: "
                 + "; ".join(f"{n}: {'ok' if ok else 'DIFFERENT'}" for n, ok in checks) + ".")
    notes += skipped
    notes.append("Ceiling rows return one precomputed tensor per sample (no reading at all); "
                 "the DataLoader still collates each batch into fresh shared memory in the "
                 "worker and sends it, which is most of what it costs. The main process "
                 "never touches their data; fast_loader's float32 rows include the main "
                 "process's conversion of every batch.")
    notes.append("An epoch includes DataLoader worker start-up (persistent_workers=False, "
                 "the default). One warm-up epoch each before the rounds.")
    if args.markdown:
        print("# DataLoader throughput: T=20 DVS128 Gesture frames\n")
        print(f"**{head}.**\n")
        print(env + "\n")
        print("| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        for r in rows:
            print("| " + " | ".join(r) + " |")
        if srows:
            print(f"\nSteady state: one loader per row kept with persistent_workers=True "
                  f"(worker start-up paid once, before timing), {args.steady_epochs} epochs "
                  f"per round, timed in the same interleaved rounds:\n")
            print("| " + " | ".join(shdr) + " |")
            print("|" + "---|" * len(shdr))
            for r in srows:
                print("| " + " | ".join(r) + " |")
        print("\nPer round (samples/s, the 1-min load before the epoch):\n")
        for c in contenders:
            print(f"- {c.name}: " + ", ".join(f"{v:.0f} ({ld:.1f})"
                                               for v, ld in zip(c.rates, c.loads)))
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
        for r in [shdr] + srows:
            print("  ".join(str(c) for c in r))
        for ln in notes:
            print(ln)


if __name__ == "__main__":
    sys.exit(main())
