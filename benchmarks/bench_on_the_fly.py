"""Frames on the fly vs the frames store: samples/s of T=20 DVS128 Gesture frames through a
torch DataLoader (batch 16, 2 workers).

Same replica as ``bench_dataloader.py`` (``evframes.synth.fake_dvs128``, default 12 recordings
at real event rates, scale 1.0). Every contender yields the train split's float32 frames
``[20, 2, 128, 128]`` (``frames_number=20, split_by='number'``) through
``DataLoader(ds, batch_size=16, num_workers=2, shuffle=True)``:

- (a) ``DVS128Gesture(..., data_type='frame')``: the HDF5 frames store (built first, not timed);
- (b) ``on_the_fly=True``: each worker reads the sample's events from the events store and
  integrates them (no frames store);
- (c) ``on_the_fly=True, event_transform=Compose([RandomFlip(p=0.5, sensor_size=(128, 128)),
  DropEvents(0.1)])``: new frames every epoch;
- (b') and (c') the same with ``in_memory=True`` (events in shared memory, no HDF5 decoding);
- reference: a dataset returning one constant float32 tensor of the same shape (no I/O: the
  DataLoader's own ceiling for such samples).

(b) is checked equal to (a) on every sample before timing. One warm-up epoch each, then the
contenders alternate for ``--epochs`` (3) timed epochs; an epoch runs from creating the
DataLoader iterator (worker start included, as in training) to its last batch. Also reported:
the per-sample cost of each step in the main process (read events, augment, integrate, float
conversion; read stored frames), which says when each wins.

    .venv/bin/python benchmarks/bench_on_the_fly.py --markdown > benchmarks/results_on_the_fly.md

``--workdir DIR`` reuses a replica and stores left there (also those of ``bench_pipeline.py``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_dataloader as bd  # noqa: E402
import bench_pipeline as bp  # noqa: E402

T_FRAMES = bp.T_FRAMES
STORE = "(a) frames store (HDF5)"
FLY = "(b) on the fly, no augmentation"
FLY_AUG = "(c) on the fly, flip + drop events"
FLY_MEM = "(b') on the fly, events in_memory"
FLY_AUG_MEM = "(c') on the fly, flip + drop, events in_memory"
CEILING = "reference: constant float32 tensor, no I/O (DataLoader ceiling)"


def augmentation():
    from evframes import transforms as tr
    return tr.Compose([tr.RandomFlip(p=0.5, axis="x", sensor_size=(128, 128)),
                       tr.DropEvents(0.1)])


def step_costs(fly, store, aug, n):
    """Median ms per sample of each step, in this process, over the first n samples."""
    import torch

    from evframes.integrate import integrate
    steps = {"read events (HDF5 events store)": [], "augment (flip + drop)": [],
             "integrate (T=20 by number)": [], "to float32 tensor": [],
             "read stored frames (HDF5 frames store)": []}
    for i in range(n):
        t0 = time.perf_counter()
        ev = fly.events_store.events(i)
        t1 = time.perf_counter()
        ev2 = aug(ev)
        t2 = time.perf_counter()
        fr = integrate(ev, fly.setting, 128, 128)
        t3 = time.perf_counter()
        torch.from_numpy(fr).to(torch.float32)
        t4 = time.perf_counter()
        store._frames.frames(i)
        t5 = time.perf_counter()
        del ev2
        for k, v in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            steps[k].append(v * 1e3)
    return {k: statistics.median(v) for k, v in steps.items()}


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
    ap.add_argument("--wait-load", type=float, default=None,
                    help="before starting, wait while the 1-min load average exceeds this")
    args = ap.parse_args(argv)

    return bp.run_in_workdir(args, run)


def run(args, workdir: Path):
    import torch

    from evframes.datasets import DVS128Gesture

    info = bp.prepare_replica(workdir, args.recordings, args.scale)
    evroot = workdir / "evframes"
    opts = dict(train=True, data_type="frame", frames_number=T_FRAMES, split_by="number",
                progress=False)
    bp.log("evframes: events store (extract if missing) + frames store ...")
    store = DVS128Gesture(evroot, workers=2, **opts)
    contenders = {
        STORE: store,
        FLY: DVS128Gesture(evroot, on_the_fly=True, **opts),
        FLY_AUG: DVS128Gesture(evroot, on_the_fly=True, event_transform=augmentation(),
                               **opts),
        FLY_MEM: DVS128Gesture(evroot, on_the_fly=True, in_memory=True, **opts),
        FLY_AUG_MEM: DVS128Gesture(evroot, on_the_fly=True, in_memory=True,
                                   event_transform=augmentation(), **opts),
    }
    n = len(store)
    contenders[CEILING] = bd.ConstantFrames(store[0][0].clone(), n)

    bp.log("checking on-the-fly frames equal the stored frames (every sample) ...")
    n_equal = sum(torch.equal(contenders[FLY][i][0], store[i][0]) for i in range(n))
    n_equal_mem = sum(torch.equal(contenders[FLY_MEM][i][0], store[i][0])
                      for i in (0, n // 2, n - 1))
    aug_differs = sum(not torch.equal(contenders[FLY_AUG][i][0], store[i][0])
                      for i in range(min(n, 16)))
    bp.log(f"  {n_equal}/{n} equal (in_memory: {n_equal_mem}/3); augmented differs on "
           f"{aug_differs}/{min(n, 16)}")
    ev_counts = np.diff(store.events_store.offsets)

    costs = step_costs(contenders[FLY], store, augmentation(), min(n, 40))
    for k, v in costs.items():
        bp.log(f"  {k}: {v:.2f} ms/sample")

    times = {k: [] for k in contenders}
    stage = bp.Stage("dataloader epochs")
    stage.__enter__()
    for name, ds in contenders.items():
        dt, m = bd.epoch(ds, args.batch_size, args.num_workers, seed=0)
        bp.log(f"warm-up {name}: {m / dt:.1f} samples/s")
    for r in range(args.epochs):
        for name, ds in contenders.items():
            dt, m = bd.epoch(ds, args.batch_size, args.num_workers, seed=r + 1)
            times[name].append(m / dt)
            bp.log(f"epoch {r + 1} {name}: {m} samples in {dt:.2f} s = {m / dt:.1f} samples/s")
    stage.__exit__(None, None, None)

    report(args, info, times, stage, n, ev_counts, costs, n_equal, n_equal_mem, aug_differs)
    return 0 if n_equal == n and n_equal_mem == 3 and aug_differs else 1


def report(args, info, times, stage, n, ev_counts, costs, n_equal, n_equal_mem, aug_differs):
    ref = statistics.median(times[STORE])
    rows = []
    for name, v in times.items():
        med = statistics.median(v)
        rows.append([name, f"{med:.1f}", ", ".join(f"{x:.1f}" for x in v),
                     f"{med / ref:.2f}x"])
    s = info["summary"]
    la = os.getloadavg()
    head = (f"DVS128 Gesture replica: {s['recordings']} recordings, {s['events']:,} events "
            f"(scale {args.scale}); {n} train samples of float32 [{T_FRAMES}, 2, 128, 128], "
            f"{int(np.median(ev_counts)):,} events per sample (median; "
            f"{int(ev_counts.min()):,}..{int(ev_counts.max()):,}); "
            f"DataLoader(batch_size={args.batch_size}, num_workers={args.num_workers}, "
            f"shuffle=True); machine load: 1-min load {stage.load1:.2f} before the timed epochs, "
            f"{la[0]:.2f} after; other processes used {stage.others:.2f} cores during them")
    env = (f"Machine: {bp.machine_line()}; evframes {__import__('evframes').__version__} "
           f"(git {bp.git_state()}), torch {__import__('torch').__version__}.")
    hdr = ["contender", "median samples/s", "epochs (samples/s)", "vs frames store"]
    notes = [
        f"Same frames: on the fly without augmentation equals the frames store on {n_equal}/{n} "
        f"samples (in_memory: {n_equal_mem}/3 checked); with flip + drop events it differs on "
        f"{aug_differs}/{min(n, 16)} checked.",
        "Per-sample cost of each step, main process, median ms: "
        + "; ".join(f"{k} {v:.2f}" for k, v in costs.items()) + ".",
        f"One warm-up epoch per contender, then {args.epochs} timed epochs each, alternating; "
        "an epoch includes DataLoader worker start-up (persistent_workers=False).",
    ]
    if args.markdown:
        print("# Frames on the fly vs the frames store: T=20 DVS128 Gesture through a "
              "DataLoader\n")
        print(f"**{head}.**\n")
        print(env + "\n")
        print("| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        for r in rows:
            print("| " + " | ".join(r) + " |")
        print("\nNotes:\n")
        for x in notes:
            print(f"- {x}")
        cmd = " ".join(["benchmarks/bench_on_the_fly.py", *sys.argv[1:]])
        print(f"\nProduced by `.venv/bin/python {cmd}`.")
    else:
        print(head)
        print(env)
        for r in rows:
            print("  ".join(r))
        for x in notes:
            print("-", x)


if __name__ == "__main__":
    sys.exit(main())
