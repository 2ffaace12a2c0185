"""Event representations: evframes vs Tonic vs evlib, side by side, one core.

1 M random events on a 128x128 sensor, t sorted over ~1 s, in one process with every library
held to one thread (NUMBA_NUM_THREADS, POLARS_MAX_THREADS, OMP/MKL and torch set to 1 before
any import). For each representation the peers' output is FIRST compared with evframes' (equal
within float32 rounding where the formula is the same; where evframes deliberately differs the
number of differing cells and the largest difference are printed), then every implementation
is timed: one warm-up run (Numba compilation excluded), then best of ``--repeat`` interleaved
rounds. Ceilings: one ``np.bincount`` over precomputed flat indices, and one read pass over
the events (a Numba loop reading every field of every event once; ``t.sum()`` alone is shown
too). Floors of two representations' own work: the voxel grid's two weighted scatter passes
and the time surface's scatter plus one ``exp`` per output cell (as NumPy bincounts / exp).

evlib's representation functions take Polars frames (columns t, x, y, polarity) and return
long-format Polars frames; the input frame is built outside the timing and only the
``create_*`` call is timed (its dense conversion, ``densify_*``, is timed in a separate row
where a dense array is what the representation is).

Tonic's ``ToAveragedTimesurface`` loops in Python over each event's earlier events of its cell
(quadratic), so the HATS rows run on the first ``--hats-events`` events (default 20 k) for
every implementation.

    .venv-bench/bin/python benchmarks/bench_representations.py --markdown \
        > benchmarks/results_representations.md
"""
from __future__ import annotations

import os

for _v in ("NUMBA_NUM_THREADS", "POLARS_MAX_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
           "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba  # noqa: E402

from evframes import integrate as I  # noqa: E402
from evframes.integrate import representations as R  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_integrate import make_events  # noqa: E402  (the same 128x128 random events)

H = W = 128
N = 1_000_000
SPAN_US = 1_000_000
BINS = 10          # voxel bins
SBINS = 20         # stacked histogram bins (one window of the whole sample)
T = 20             # windows by number (onoff, binary)
D = 50_000         # duration windows (time surface, latest timestamp), 20 windows
TAU = 50_000.0     # time surface decay, us
HATS_TAU = 5_000.0
HATS_CELL, HATS_R = 10, 2

TARGET_TONIC, TARGET_READ, TARGET_EVLIB = 20.0, 1.5, 2.0




def _version(mod):
    try:
        from importlib.metadata import version
        return version(mod)
    except Exception:
        return ""


def _diff(name, ours, theirs, atol=0.0, rtol=0.0, note=""):
    """Compare; returns a line for the report. Exact (or float32-close) or counted cells."""
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(theirs, dtype=np.float64)
    if a.shape != b.shape:
        raise SystemExit(f"SHAPE MISMATCH {name}: {a.shape} vs {b.shape}")
    bad = ~np.isclose(a, b, atol=atol, rtol=rtol)
    nbad = int(bad.sum())
    mx = float(np.abs(a - b).max()) if a.size else 0.0
    tol = "exact" if atol == 0 and rtol == 0 else f"rtol {rtol:g}, atol {atol:g}"
    status = "equal" if nbad == 0 else f"{nbad} of {a.size} cells differ"
    line = f"{name}: {status} ({tol}; max |diff| {mx:.3g})" + (f"; {note}" if note else "")
    return nbad, line


@numba.njit(nogil=True)
def _read_pass(t, x, y, p):
    """One pass reading every field of every event (the sum keeps the loads)."""
    s = 0
    for i in range(t.shape[0]):
        s += t[i] + x[i] + y[i] + p[i]
    return s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed rounds (best kept)")
    ap.add_argument("--markdown", action="store_true", help="print markdown")
    ap.add_argument("--hats-events", type=int, default=20_000)
    args = ap.parse_args(argv)
    numba.set_num_threads(1)
    load0 = os.getloadavg()

    ev = make_events(N, SPAN_US, 0)
    t, x, y, p = ev["t"], ev["x"], ev["y"], ev["p"]
    checks = []   # comparison lines
    jobs = []     # [repr, implementation, events, fn]

    def add(rep, impl, n, fn):
        jobs.append([rep, impl, n, fn])

    # --- ceilings
    flat = p.astype(np.intp) * (H * W) + y.astype(np.intp) * W + x
    add("ceiling", "np.bincount, precomputed indices", N,
        lambda: np.bincount(flat, minlength=2 * H * W))
    add("ceiling", "read pass (every field of every event once, Numba loop)", N,
        lambda: _read_pass(t, x, y, p))
    add("ceiling", "t.sum() (t only)", N, lambda: t.sum())
    # floors of two representations' own work: their scatter passes (as bincounts) plus, for
    # the time surface, one exp per output cell
    wv = np.ones(N)
    add("floor", f"voxel: 2 weighted np.bincount over {BINS + 2} bin planes", N,
        lambda: (np.bincount(flat, wv, minlength=(BINS + 2) * H * W),
                 np.bincount(flat, wv, minlength=(BINS + 2) * H * W)))
    zs = -np.linspace(0.0, 50.0, (SPAN_US // D) * 2 * H * W)
    add("floor", f"time_surface: np.bincount + np.exp over the {SPAN_US // D} x 2 x H x W "
        "cells (float32 out)", N,
        lambda: (np.bincount(flat, minlength=2 * H * W), np.exp(zs).astype(np.float32)))

    # --- peers
    try:
        import tonic.transforms as TT
        tv = "Tonic " + _version("tonic")
    except Exception as e:  # pragma: no cover - depends on the venv
        TT = None
        print(f"# Tonic not available: {e}", file=sys.stderr)
    try:
        import evlib.representations as ER
        import polars as pl
        lv = "evlib " + _version("evlib")
    except Exception as e:  # pragma: no cover
        ER = None
        print(f"# evlib not available: {e}", file=sys.stderr)
    try:  # tonic or evlib may have pulled torch in
        import torch
        torch.set_num_threads(1)
    except Exception:  # pragma: no cover
        pass

    sev = None
    if TT is not None:
        sev = np.zeros(N, dtype=[("x", np.int16), ("y", np.int16), ("t", np.int64),
                                 ("p", np.int8)])
        for k in ("x", "y", "t", "p"):
            sev[k] = ev[k]
    df = None
    if ER is not None:
        df = pl.DataFrame({"t": t, "x": x, "y": y, "polarity": p})

    S = I.FrameSetting
    num = dict(split_by="number", frames_number=T)
    dur = dict(duration=D)

    # === voxel grid, one window of all events
    ours_vox = lambda: R.voxel_grid(t, x, y, p, H, W, BINS)  # noqa: E731
    add("voxel", f"evframes voxel_grid(bins={BINS})", N, ours_vox)
    ref = ours_vox()[0]
    if TT is not None:
        to = TT.ToVoxelGrid(sensor_size=(W, H, 2), n_time_bins=BINS)
        checks.append(_diff("voxel vs Tonic ToVoxelGrid", ref, to(sev)[:, 0], rtol=1e-5,
                            atol=1e-5, note="float32 storage vs Tonic float64")[1])
        add("voxel", f"{tv} ToVoxelGrid(n_time_bins={BINS})", N, lambda: to(sev))
    if ER is not None:
        got = ER.densify_voxel_grid(ER.create_voxel_grid(df, H, W, n_time_bins=BINS), BINS,
                                    H, W)[:, 0]
        checks.append(_diff("voxel vs evlib create_voxel_grid", ref, got, rtol=1e-5,
                            atol=1e-5)[1])
        add("voxel", f"{lv} create_voxel_grid (long format)", N,
            lambda: ER.create_voxel_grid(df, H, W, n_time_bins=BINS))
        add("voxel", f"{lv} create_voxel_grid + densify_voxel_grid", N,
            lambda: ER.densify_voxel_grid(ER.create_voxel_grid(df, H, W, n_time_bins=BINS),
                                          BINS, H, W))

    # === time surface, 50 ms duration windows (Tonic's slices), sampled at the slice end
    st_ts = S(**dur, representation="time_surface", repr_params={"tau": TAU})
    ours_ts = lambda: I.integrate(ev, st_ts, H, W)  # noqa: E731
    add("time_surface", f"evframes time_surface(tau={TAU:g}), {D // 1000} ms windows", N,
        ours_ts)
    ref = ours_ts()
    if TT is not None:
        to_ts = TT.ToTimesurface(sensor_size=(W, H, 2), dt=D, tau=TAU)
        got = to_ts(sev)
        checks.append(_diff("time_surface vs Tonic ToTimesurface", ref[:len(got)], got,
                            rtol=1e-6, atol=1e-7,
                            note=f"Tonic drops the last, partial slice: {len(got)} of "
                                 f"{len(ref)} windows compared")[1])
        add("time_surface", f"{tv} ToTimesurface(dt={D}, tau={TAU:g})", N, lambda: to_ts(sev))
    if ER is not None:
        nsl, t0 = ref.shape[0] - 1, float(t[0])  # evlib, as Tonic: no partial slice

        def ev_ts():
            long = ER.create_time_surface(df, H, W, dt=D, tau=TAU)
            return ER.densify_time_surface(long, nsl, 2, H, W, D, TAU, t0)
        checks.append(_diff("time_surface vs evlib create_time_surface + densify",
                            ref[:nsl], ev_ts(), rtol=1e-6, atol=1e-7)[1])
        add("time_surface", f"{lv} create_time_surface + densify_time_surface", N, ev_ts)

    # === latest timestamp, same windows (evlib's create_time_surface is exactly this part)
    st_lt = S(**dur, representation="latest_timestamp")
    ours_lt = lambda: I.integrate(ev, st_lt, H, W)  # noqa: E731
    add("latest_timestamp", f"evframes latest_timestamp, {D // 1000} ms windows", N, ours_lt)
    ref = ours_lt()
    if ER is not None:
        long = ER.create_time_surface(df, H, W, dt=D, tau=TAU)
        got = np.full(ref.shape, -1, np.int64)[:-1]  # no partial slice in evlib
        sl = long["slice"].to_numpy()
        got[sl, long["polarity"].to_numpy(), long["y"].to_numpy(), long["x"].to_numpy()] = (
            long["last_t"].to_numpy().astype(np.int64) - (t[0] + sl * D))
        checks.append(_diff("latest_timestamp vs evlib create_time_surface (last_t - slice "
                            "start)", ref[:-1], got)[1])
        add("latest_timestamp", f"{lv} create_time_surface (long format: last_t per slice)",
            N, lambda: ER.create_time_surface(df, H, W, dt=D, tau=TAU))

    # === stacked histogram: one window of all events, SBINS time bins per polarity
    ours_sh = lambda: R.stacked_histogram(t, x, y, p, H, W, SBINS)  # noqa: E731
    add("stacked_histogram", f"evframes stacked_histogram(bins={SBINS})", N, ours_sh)
    ref = ours_sh()[0].reshape(2, SBINS, H, W).transpose(1, 0, 2, 3)  # -> [bin, p, H, W]
    if TT is not None:
        to_sh = TT.ToFrame(sensor_size=(W, H, 2), n_time_bins=SBINS)
        checks.append(_diff(
            "stacked_histogram vs Tonic ToFrame(n_time_bins)", ref, to_sh(sev),
            note="deliberate: bin = floor(B (t - t0) / span) with the last event in the "
                 "last bin; Tonic cuts span // B wide bins and drops events past B * width "
                 "(here the last event); RVT layout OFF bins first")[1])
        add("stacked_histogram", f"{tv} ToFrame(n_time_bins={SBINS})", N, lambda: to_sh(sev))
    if ER is not None:
        wms = SPAN_US / SBINS / 1000.0

        def ev_sh():
            return ER.create_stacked_histogram(df, H, W, bins=SBINS, window_duration_ms=wms)
        got = ER.densify_event_frame(ev_sh(), SBINS, 2, H, W)
        checks.append(_diff(
            f"stacked_histogram vs evlib create_stacked_histogram(bins={SBINS}, "
            f"window_duration_ms={wms:g})", ref, got,
            note="deliberate: evlib bins fixed windows from t_min and drops events past "
                 "B windows; evframes divides the window's own span")[1])
        add("stacked_histogram", f"{lv} create_stacked_histogram (long format)", N, ev_sh)

    # === event image, all events
    ours_ei = lambda: R.event_image(t, x, y, p, H, W)  # noqa: E731
    add("event_image", "evframes event_image", N, ours_ei)
    ref = ours_ei()
    if TT is not None:
        to_im = TT.ToImage(sensor_size=(W, H, 2))
        checks.append(_diff("event_image vs Tonic ToImage", ref, to_im(sev))[1])
        add("event_image", f"{tv} ToImage", N, lambda: to_im(sev))
    if ER is not None:
        got = ER.densify_event_frame(ER.create_event_frame(df, H, W, n_time_bins=1), 1, 2,
                                     H, W)[0]
        checks.append(_diff("event_image vs evlib create_event_frame(n_time_bins=1)", ref, got,
                            note="evlib (as Tonic's n_time_bins) drops the events at t_max")[1])
        add("event_image", f"{lv} create_event_frame(n_time_bins=1) (long format)", N,
            lambda: ER.create_event_frame(df, H, W, n_time_bins=1))

    # === ON-OFF and binary: T windows by number (Tonic: ToFrame(n_event_bins=T), then a step)
    st_oo = S(**num, representation="onoff")
    st_bi = S(**num, representation="binary")
    ours_oo = lambda: I.integrate(ev, st_oo, H, W)  # noqa: E731
    ours_bi = lambda: I.integrate(ev, st_bi, H, W)  # noqa: E731
    add("onoff", f"evframes onoff, T={T} by number", N, ours_oo)
    add("binary", f"evframes binary, T={T} by number", N, ours_bi)
    ref_oo, ref_bi = ours_oo(), ours_bi()
    if TT is not None:
        to_n = TT.ToFrame(sensor_size=(W, H, 2), n_event_bins=T)

        def to_oo():
            f = to_n(sev)
            return (f[:, 1] - f[:, 0])[:, None]

        def to_bi():
            return (to_n(sev) > 0).astype(np.uint8)  # ToBinaRep's own first step
        checks.append(_diff("onoff vs Tonic ToFrame(n_event_bins) ON - OFF", ref_oo, to_oo())[1])
        checks.append(_diff("binary vs Tonic ToFrame(n_event_bins) > 0", ref_bi, to_bi())[1])
        add("onoff", f"{tv} ToFrame(n_event_bins={T}), ON - OFF", N, to_oo)
        add("binary", f"{tv} ToFrame(n_event_bins={T}) > 0", N, to_bi)
        tb = TT.ToBinaRep(n_frames=T, n_bits=2)
        to_n2 = TT.ToFrame(sensor_size=(W, H, 2), n_event_bins=2 * T)
        add("binary", f"{tv} ToFrame(n_event_bins={2 * T}) + ToBinaRep(n_frames={T}, "
            "n_bits=2) (Bina-Rep, not the same output)", N, lambda: tb(to_n2(sev)))
    if ER is not None:
        got = ER.densify_event_frame(ER.create_event_frame(df, H, W, n_time_bins=T), T, 2,
                                     H, W)
        st_ti = S(split_by="time", frames_number=T)
        fr = I.integrate(ev, st_ti, H, W)
        checks.append(_diff("(count frames by time) vs evlib create_event_frame(n_time_bins)",
                            fr, got, note="evframes' time rule keeps the last event")[1])
        add("binary", f"{lv} create_event_frame(n_time_bins={T}) (long format; closest: "
            "counts by time)", N, lambda: ER.create_event_frame(df, H, W, n_time_bins=T))
        add("onoff", f"{lv} create_event_frame(n_time_bins={T}) (long format; closest)", N,
            lambda: ER.create_event_frame(df, H, W, n_time_bins=T))

    # === HATS on the first NH events (Tonic is quadratic per cell, in Python)
    NH = args.hats_events
    hs = slice(0, NH)
    ours_h = lambda: R.averaged_time_surface(  # noqa: E731
        t[hs], x[hs], y[hs], p[hs], H, W, HATS_TAU, cell=HATS_CELL, radius=HATS_R)
    add("averaged_time_surface", f"evframes averaged_time_surface, {NH // 1000}k events", NH,
        ours_h)
    add("averaged_time_surface", "evframes averaged_time_surface, all 1 M events", N,
        lambda: R.averaged_time_surface(t, x, y, p, H, W, HATS_TAU, cell=HATS_CELL,
                                        radius=HATS_R))
    if TT is not None:
        Sz = 2 * HATS_R + 1
        to_h = TT.ToAveragedTimesurface(sensor_size=(W, H, 2), surface_size=Sz,
                                        cell_size=HATS_CELL, time_window=1e12, tau=HATS_TAU,
                                        decay="exp")
        o = ours_h()[0]
        hc, wc = o.shape[1] // Sz, o.shape[2] // Sz
        o = o.reshape(2, hc, Sz, wc, Sz).transpose(1, 3, 0, 2, 4).reshape(-1, 2, Sz, Sz)
        checks.append(_diff(f"averaged_time_surface vs Tonic ToAveragedTimesurface "
                            f"({NH} events, time_window beyond the span)", o, to_h(sev[hs]),
                            rtol=1e-4, atol=1e-5,
                            note="Tonic sums float32 surfaces; t < 2**24 us, exact")[1])
        add("averaged_time_surface", f"{tv} ToAveragedTimesurface, {NH // 1000}k events", NH,
            lambda: to_h(sev[hs]))

    # --- time: warm-up, then interleaved rounds
    for j in jobs:
        j[3]()
    best = [float("inf")] * len(jobs)
    for _ in range(args.repeat):
        for k, j in enumerate(jobs):
            t0 = time.perf_counter()
            j[3]()
            best[k] = min(best[k], time.perf_counter() - t0)
    load1 = os.getloadavg()
    rows = [(j[0], j[1], j[2], b) for j, b in zip(jobs, best)]
    report(rows, checks, args, load0, load1)


def _rate(r):
    return r[2] / r[3] / 1e6


def report(rows, checks, args, load0, load1):
    read = next(_rate(r) for r in rows if r[1].startswith("read pass"))
    binc = next(_rate(r) for r in rows if r[1].startswith("np.bincount"))
    md = args.markdown
    reps = []
    for r in rows:
        if r[0] not in ("ceiling", "floor") and r[0] not in reps:
            reps.append(r[0])

    def peer(rep, prefix, n):
        c = [r for r in rows if r[0] == rep and r[1].startswith(prefix) and r[2] == n
             and "not the same" not in r[1]]
        return c[0] if c else None

    table, targets = [], []
    for rep in reps:
        ours = [r for r in rows if r[0] == rep and r[1].startswith("evframes")]
        for o in ours:
            to = peer(rep, "Tonic", o[2])
            lv = peer(rep, "evlib", o[2])
            for r in [o] + [r for r in rows if r[0] == rep and not r[1].startswith("evframes")
                            and r[2] == o[2]]:
                if r is not o and o is not ours[0]:
                    continue
                table.append((rep, r[1], _rate(r), _rate(o) / _rate(r) if r is not o else None,
                              _rate(r) / read))
            vt = _rate(o) / _rate(to) if to else None
            ve = _rate(o) / _rate(lv) if lv else None
            rr = read / _rate(o)
            fl = next((r for r in rows if r[0] == "floor" and r[1].startswith(rep + ":")), None)
            fr = _rate(fl) / _rate(o) if fl else None
            if vt is not None or ve is not None:
                tmet = None if vt is None else (vt >= TARGET_TONIC or rr <= TARGET_READ)
                emet = None if ve is None else ve >= TARGET_EVLIB
                targets.append((rep, o[1], vt, rr, tmet, ve, emet, fr))

    cpu = platform.processor() or platform.machine()
    if md:
        print("# Representations benchmark: evframes vs Tonic vs evlib\n")
        print(f"1 M random events, 128x128, t sorted over 1 s (HATS rows: the first "
              f"{args.hats_events} events, see below); one thread for every library; best of "
              f"{args.repeat} interleaved rounds after a warm-up (Numba compilation excluded). "
              f"Machine: {os.cpu_count()} cores ({cpu}), shared with other jobs: load average "
              f"{load0[0]:.2f} before, {load1[0]:.2f} after. Python {platform.python_version()}, "
              f"NumPy {np.__version__}, Numba {numba.__version__}, Tonic {_version('tonic')}, "
              f"evlib {_version('evlib')}, Polars {_version('polars')}. "
              f"Produced by `benchmarks/bench_representations.py --markdown`.\n")
        print("evlib takes a Polars frame and returns a long-format frame (one row per "
              "non-empty cell); the frame is built outside the timing and only `create_*` is "
              "timed unless the row says `+ densify`.\n")
        print("## Values compared before timing\n")
        for c in checks:
            print(f"- {c}")
        print("\n## Throughput\n")
        print(f"Ceilings: np.bincount over precomputed flat indices {binc:.0f} M ev/s; read "
              f"pass (every field of every event once) {read:.0f} M ev/s. Floors of a "
              f"representation's own work (its scatter passes as bincounts, the time surface's "
              f"exp per output cell):\n")
        for r in rows:
            if r[0] in ("ceiling", "floor"):
                print(f"- {r[1]}: {_rate(r):.0f} M ev/s")
        print()
        print("| representation | implementation | M events/s | evframes speed-up | "
              "vs read pass |")
        print("|---|---|---:|---:|---:|")
        for rep, impl, rate, su, vr in table:
            s = f"{su:.1f}x" if su is not None else ""
            print(f"| {rep} | {impl} | {rate:.2f} | {s} | {vr:.3f} |")
        print("\n## Targets (>= 20x Tonic or within 1.5x of the read pass; >= 2x evlib)\n")
        print("| representation | evframes row | vs Tonic | read pass / evframes | Tonic "
              "target | vs evlib | evlib target | evframes / own-work floor |")
        print("|---|---|---:|---:|:---:|---:|:---:|---:|")
        for rep, impl, vt, rr, tm, ve, em, fr in targets:
            f = (lambda v: f"{v:.1f}x" if v is not None else "–")
            m = (lambda b: "–" if b is None else ("met" if b else "**not met**"))
            fl = f"{1 / fr:.2f}" if fr else "–"
            print(f"| {rep} | {impl} | {f(vt)} | {rr:.1f}x | {m(tm)} | {f(ve)} | {m(em)} "
                  f"| {fl} |")
    else:
        for c in checks:
            print(c)
        print(f"ceilings: bincount {binc:.0f}, read pass {read:.0f} M ev/s")
        for rep, impl, rate, su, _vr in table:
            s = f"{su:8.1f}x" if su is not None else " " * 9
            print(f"{rep:22s} {impl:90s} {rate:9.2f} M ev/s {s}")
        for rep, _impl, vt, rr, tm, ve, em, fr in targets:
            print(f"{rep:22s} tonic {vt} read/ours {rr:.1f} met={tm} evlib {ve} met={em} "
                  f"floor/ours {fr}")
        print(f"load {load0} -> {load1}")


if __name__ == "__main__":
    main()
