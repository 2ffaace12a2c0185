"""Frame integration throughput: evframes vs SpikingJelly vs Tonic, side by side.

1 M random events on a 128x128 sensor, t sorted over ~6 s. Each operation runs once to warm
up (Numba compilation, caches), then best of ``--repeat`` runs. Needs SpikingJelly and Tonic for
the peer rows (missing peers are skipped); run it in the benchmark venv:

    .venv-bench/bin/python benchmarks/bench_integrate.py --markdown \
        > benchmarks/results_integrate.md

SpikingJelly's own output is compared with evframes' for number, time and duration (values
must be equal, else the script fails).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba  # noqa: E402

from evframes import integrate as I  # noqa: E402

H = W = 128
N = 1_000_000
SPAN_US = 6_000_000
T = 20
DURATION = 300_000
TONIC_DESIGN = 6.5  # M ev/s, ToFrame(n_event_bins=20) in shared/DESIGN.md's peers table


def make_events(n, span, seed):
    rng = np.random.default_rng(seed)
    return {
        "t": np.sort(rng.integers(0, span, n)).astype(np.int64),
        "x": rng.integers(0, W, n).astype(np.int16),
        "y": rng.integers(0, H, n).astype(np.int16),
        "p": rng.integers(0, 2, n).astype(np.int8),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15, help="timed rounds (best kept)")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--samples", type=int, default=100, help="samples in the batch benchmark")
    ap.add_argument("--sample-events", type=int, default=100_000, help="events per batch sample")
    args = ap.parse_args(argv)

    ev = make_events(N, SPAN_US, 0)
    jobs = []  # [group, operation, implementation, events, fn, threads or None]

    def add(group, op, impl, n, fn, threads=None):
        jobs.append([group, op, impl, n, fn, threads])

    # --- ceiling: one bincount pass of precomputed flat indices into one [2, 128, 128] image
    flat = ev["p"].astype(np.intp) * (H * W) + ev["y"].astype(np.intp) * W + ev["x"]
    add("ceiling", "one [2,128,128] image", "np.bincount (precomputed indices)", N,
        lambda: np.bincount(flat, minlength=2 * H * W))

    # --- peers
    try:
        import spikingjelly.datasets as sj
    except Exception as e:  # pragma: no cover - depends on the venv
        sj = None
        print(f"# SpikingJelly not available: {e}", file=sys.stderr)
    try:
        import tonic
        from tonic.transforms import ToFrame
    except Exception as e:  # pragma: no cover
        tonic = None
        print(f"# Tonic not available: {e}", file=sys.stderr)
    sjv = "SpikingJelly " + _version("spikingjelly")

    ops = [
        ("number", f"by number, T={T}",
         lambda: I.to_frames(ev, H, W, split_by="number", frames_number=T),
         lambda: I.integrate_events_by_fixed_frames_number(ev, "number", T, H, W),
         (lambda: sj.integrate_events_by_fixed_frames_number(ev, "number", T, H, W))
         if sj else None),
        ("time", f"by time, T={T}",
         lambda: I.to_frames(ev, H, W, split_by="time", frames_number=T),
         lambda: I.integrate_events_by_fixed_frames_number(ev, "time", T, H, W),
         (lambda: sj.integrate_events_by_fixed_frames_number(ev, "time", T, H, W)) if sj else None),
        ("duration", f"by duration, {DURATION // 1000} ms",
         lambda: I.to_frames(ev, H, W, duration=DURATION),
         lambda: I.integrate_events_by_fixed_duration(ev, DURATION, H, W),
         (lambda: sj.integrate_events_by_fixed_duration(ev, DURATION, H, W)) if sj else None),
    ]
    for group, op, ours, ours_sj, theirs in ops:
        ref = ours()
        if theirs is not None:
            sj_out = theirs()
            if sj_out.shape != ref.shape or not np.array_equal(sj_out, ref):
                raise SystemExit(f"MISMATCH with SpikingJelly for {op}")
            if sj_out.dtype != ours_sj().dtype or not np.array_equal(sj_out, ours_sj()):
                raise SystemExit(f"MISMATCH with SpikingJelly (SJ-named API) for {op}")
            add(group, op, sjv, N, theirs)
        add(group, op, "evframes to_frames (uint16, 1 core)", N, ours, 1)
        add(group, op, "evframes SJ-named API (float64, 1 core)", N, ours_sj, 1)

    if tonic is not None:
        sev = np.zeros(N, dtype=[("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
        for k in ("x", "y", "t", "p"):
            sev[k] = ev[k]
        tv = "Tonic " + _version("tonic")
        to_n = ToFrame(sensor_size=(W, H, 2), n_event_bins=T)
        to_d = ToFrame(sensor_size=(W, H, 2), time_window=DURATION)
        add("number", f"by number, T={T}", f"{tv} ToFrame(n_event_bins={T})", N, lambda: to_n(sev))
        add("duration", f"by duration, {DURATION // 1000} ms",
            f"{tv} ToFrame(time_window={DURATION})", N, lambda: to_d(sev))

    # --- batch entry point: many samples in flat arrays, each ne events sorted over ~6 s
    ns, ne = args.samples, args.sample_events
    rng = np.random.default_rng(2)
    bt = np.sort(rng.integers(0, SPAN_US, (ns, ne)), axis=1).reshape(-1).astype(np.int64)
    bx = rng.integers(0, W, ns * ne).astype(np.int16)
    by = rng.integers(0, H, ns * ne).astype(np.int16)
    bp = rng.integers(0, 2, ns * ne).astype(np.int8)
    offsets = np.arange(ns + 1, dtype=np.int64) * ne
    settings = [("number", I.FrameSetting(split_by="number", frames_number=T)),
                ("time", I.FrameSetting(split_by="time", frames_number=T)),
                ("duration", I.FrameSetting(duration=DURATION))]
    ncores = min(2, numba.config.NUMBA_NUM_THREADS)
    for group, st in settings:
        fr, fo = I.integrate_batch(bt, bx, by, bp, offsets, st, H, W)
        for s in (0, ns - 1):  # batch equals per-sample calls
            a, b = offsets[s], offsets[s + 1]
            one = I.integrate({"t": bt[a:b], "x": bx[a:b], "y": by[a:b], "p": bp[a:b]}, st, H, W)
            if not np.array_equal(fr[fo[s]:fo[s + 1]], one):
                raise SystemExit(f"batch != per-sample for {st.name}")
        del fr
        for nt in sorted({1, ncores}):
            add(f"batch-{group}", f"batch {ns} x {ne // 1000}k events, {st.name}",
                f"evframes integrate_batch ({nt} core{'s' if nt > 1 else ''})", ns * ne,
                (lambda st=st, nt=nt: I.integrate_batch(bt, bx, by, bp, offsets, st, H, W,
                                                        n_threads=nt)))

    # Interleaved rounds: every job runs once per round, so load changes on a shared machine
    # hit all implementations alike; the best round of each job is kept.
    best = [float("inf")] * len(jobs)
    for j in jobs:  # warm-up
        _run(j)
    for _ in range(args.repeat):
        for k, j in enumerate(jobs):
            best[k] = min(best[k], _run(j))
    rows = [(j[0], j[1], j[2], j[3], b) for j, b in zip(jobs, best)]
    if not args.markdown:
        for r in rows:
            print(f"{r[0]:15s} {r[1]:50s} {r[2]:44s} {_rate(r):9.1f} M ev/s")
    report(rows, args.markdown, args.repeat, ns, ne)


def _version(mod):
    try:
        from importlib.metadata import version
        return version(mod)
    except Exception:
        return ""


def _run(job):
    fn, threads = job[4], job[5]
    old = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        numba.set_num_threads(old)


NOTES = (
    "Notes: rounds are interleaved, so every implementation starts with its input out of the "
    "CPU caches (as after decoding a file); evframes validates every input (x, y, p ranges, t "
    "sorted) inside these timings. evframes `to_frames` returns uint16 frames, the SJ-named API "
    "float64 like SpikingJelly (its output, written to fresh memory, costs the difference). The "
    "batch rows return 13 bytes of frames per event (20 x [2,128,128] uint16 per 100k events), "
    "so they are bound by memory writes. SpikingJelly's and evframes' frames were checked equal "
    "before timing."
)


def _rate(row):
    return row[3] / row[4] / 1e6


def report(rows, markdown, repeat, ns, ne):
    ceiling = next(_rate(r) for r in rows if r[0] == "ceiling")

    def find(group, prefix):
        for r in rows:
            if r[0] == group and r[2].startswith(prefix):
                return _rate(r)
        return None

    checks = []
    for group, sj_target, tonic_target in (("number", 3, 50), ("time", 10, None),
                                           ("duration", 6, None)):
        ours = find(group, "evframes to_frames")
        sjr = find(group, "SpikingJelly")
        tor = find(group, "Tonic")
        if sjr:
            checks.append((f"{group}: evframes / SpikingJelly", ours / sjr, sj_target))
        if tor:
            checks.append((f"{group}: evframes / Tonic", ours / tor, tonic_target))
        checks.append((f"{group}: evframes 1 core / bincount ceiling", ours / ceiling, 0.6))

    cpu = platform.processor() or platform.machine()
    if markdown:
        print("# Frame integration benchmark\n")
        print(f"1 M random events, 128x128, t sorted over 6 s; best of {repeat} interleaved rounds "
              f"after a warm-up. Batch rows: {ns} samples x {ne} events, frames of all samples "
              f"returned as one array. "
              f"Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
              f"NumPy {np.__version__}, Numba {numba.__version__}. "
              f"Produced by `benchmarks/bench_integrate.py --markdown`.\n")
        print("| operation | implementation | M events/s | vs SpikingJelly | vs Tonic "
              "| vs bincount |")
        print("|---|---|---:|---:|---:|---:|")
        for r in rows:
            base = r[0].replace("batch-", "")
            sjr = find(base, "SpikingJelly")
            tor = find(base, "Tonic")
            rate = _rate(r)
            fs = f"{rate / sjr:.1f}x" if sjr and r[0] != "ceiling" else ""
            ft = f"{rate / tor:.1f}x" if tor and r[0] != "ceiling" else ""
            print(f"| {r[1]} | {r[2]} | {rate:.1f} | {fs} | {ft} | {rate / ceiling:.2f} |")
        print("\n" + NOTES)
        print("\n| target | measured | required | met |")
        print("|---|---:|---:|:---:|")
        for name, v, target in checks:
            if target is None:
                continue
            print(f"| {name} | {v:.2f}x | >= {target}x | {'yes' if v >= target else 'NO'} |")
        ours, tor = find("number", "evframes to_frames"), find("number", "Tonic")
        if tor:
            print(f"\nTonic measured {tor:.1f} M ev/s here (NumPy {np.__version__}); the design "
                  f"notes' peers table has {TONIC_DESIGN} M ev/s for the same ToFrame, against "
                  f"which evframes' by-number rate is {ours / TONIC_DESIGN:.0f}x.")
    else:
        print()
        for name, v, target in checks:
            if target is None:
                continue
            ok = "ok" if v >= target else "MISSED"
            print(f"{name:48s} {v:8.2f}x  (target >= {target}x) {ok}")


if __name__ == "__main__":
    main()
