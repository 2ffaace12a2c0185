"""Tonic 1.7 transforms vs evframes.tonic, side by side on the same 1 M events, one core.

Every row of :data:`CASES` builds one transform twice from the same constructor call,
``make(tonic)`` and ``make(evframes.tonic)`` (the module is passed in, so both sides run the
same user code), and applies both to the same input. The outputs are FIRST compared (values,
dtype and shape; structured event arrays field by field; torch sparse tensors densified),
then both are timed: one warm-up call each (Numba compilation excluded), then best of
``--repeat`` interleaved rounds. Each call gets a fresh copy of its input made outside the
timing (Tonic writes into some inputs, e.g. ``p`` for one-polarity ``ToFrame``).

Input: 1 M random events in Tonic's DVSGesture dtype (``x``, ``y`` int16, ``p`` bool, ``t``
int64 microseconds, 13-byte records), 128x128 pixels, 2 polarities, t sorted over 1 s; a few
rows use the same events in Tonic's N-MNIST dtype (four int64 fields, 32-byte records).

Clock: by default the CPU time of the calling thread (``time.thread_time``; every library is
held to one thread), because the 2-core machine is shared and wall time then mostly measures
the other jobs; ``--clock wall`` uses ``time.perf_counter``.

Ceilings on the same structured array, one thread: the read pass (one Numba loop reading
the four fields of every event once and summing them) and one ``np.bincount`` of
precomputed flat ``p*H*W + y*W + x`` indices. Target per transform (issue 13): at least
20x Tonic, or, where 20x Tonic would be faster than 1.5 read passes, within 1.5x of the read
pass: evframes' time must be <= max(Tonic / 20, 1.5 * read pass).

Adding a row: append a :class:`Case` to ``CASES`` (representations first, event_ops after the
marked line). ``data`` names an input of :func:`make_inputs`; ``compare`` is ``"exact"``
or a relative tolerance; random transforms set ``seed`` (``np.random.seed`` and
``random.seed`` before each call of either side).

    .venv-bench/bin/python benchmarks/bench_tonic_transforms.py --markdown \
        > benchmarks/results_tonic_transforms.md

``--group event_ops`` (or ``representations``) runs one group, ``--only TEXT`` the rows whose
name contains TEXT.
"""
from __future__ import annotations

import os

for _v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
           "POLARS_MAX_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, Optional, Union  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba  # noqa: E402
from numba import njit  # noqa: E402

import evframes.tonic as ef_tonic  # noqa: E402

W = H = 128
P = 2
SENSOR = (W, H, P)
N = 1_000_000
SPAN_US = 1_000_000
N_SMALL = 20_000         # Tonic's ToAveragedTimesurface is quadratic per cell
TARGET_TONIC, TARGET_READ = 20.0, 1.5
DVSGESTURE_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])


@dataclass
class Case:
    """One row: ``make(mod)`` -> transform, ``mod`` being ``tonic`` or ``evframes.tonic``."""

    name: str
    make: Callable
    data: str = "events"                      # key of make_inputs()
    compare: Union[str, float] = "exact"      # "exact" or a relative tolerance
    seed: Optional[int] = None                # random transforms: seeded before each call
    group: str = "representations"
    tonic: bool = True                        # False: evframes only (Tonic too slow)
    note: str = ""


def _frames_for_binarep(mod):
    return mod.transforms.ToFrame(SENSOR, n_time_bins=4 * 8)


CASES = [
    # --- representations (issue 13 part 2b) ---
    Case("ToFrame(time_window=50000)", lambda m: m.transforms.ToFrame(SENSOR, time_window=50_000)),
    Case("ToFrame(time_window=50000, overlap=10000, include_incomplete)",
         lambda m: m.transforms.ToFrame(SENSOR, time_window=50_000, overlap=10_000,
                                        include_incomplete=True)),
    Case("ToFrame(event_count=50000)", lambda m: m.transforms.ToFrame(SENSOR, event_count=50_000)),
    Case("ToFrame(n_time_bins=20)", lambda m: m.transforms.ToFrame(SENSOR, n_time_bins=20)),
    Case("ToFrame(n_time_bins=20), N-MNIST dtype",
         lambda m: m.transforms.ToFrame(SENSOR, n_time_bins=20), data="events_nmnist"),
    Case("ToFrame(n_event_bins=20, overlap=0.5)",
         lambda m: m.transforms.ToFrame(SENSOR, n_event_bins=20, overlap=0.5)),
    Case("ToFrame(sensor (W,H,1), n_time_bins=20)",
         lambda m: m.transforms.ToFrame((W, H, 1), n_time_bins=20), data="events_onepol"),
    Case("ToImage", lambda m: m.transforms.ToImage(SENSOR)),
    Case("ToSparseTensor(n_time_bins=20)",
         lambda m: m.transforms.ToSparseTensor(SENSOR, n_time_bins=20)),
    Case("ToVoxelGrid(n_time_bins=10)", lambda m: m.transforms.ToVoxelGrid(SENSOR, 10)),
    Case("ToVoxelGrid(n_time_bins=10), N-MNIST dtype",
         lambda m: m.transforms.ToVoxelGrid(SENSOR, 10), data="events_nmnist",
         note="int p: OFF events -1 (bool p: all +1, Tonic's quirk)"),
    Case("ToTimesurface(dt=50000, tau=50000)",
         lambda m: m.transforms.ToTimesurface(SENSOR, dt=50_000, tau=50_000)),
    Case("ToAveragedTimesurface() (20 k events)",
         lambda m: m.transforms.ToAveragedTimesurface(SENSOR), data="events_small"),
    Case("ToAveragedTimesurface(time_window=5000, tau=1000) (20 k events)",
         lambda m: m.transforms.ToAveragedTimesurface(SENSOR, time_window=5000, tau=1000),
         data="events_small"),
    Case("ToAveragedTimesurface() (all 1 M events, evframes only)",
         lambda m: m.transforms.ToAveragedTimesurface(SENSOR), tonic=False),
    Case("ToBinaRep(n_frames=4, n_bits=8) on ToFrame(n_time_bins=32) frames",
         lambda m: m.transforms.ToBinaRep(n_frames=4, n_bits=8), data="frames_32"),
    Case("Compose([ToFrame(n_time_bins=32), ToBinaRep(4, 8)])",
         lambda m: m.transforms.Compose([_frames_for_binarep(m),
                                         m.transforms.ToBinaRep(n_frames=4, n_bits=8)])),
]
# --- event_ops rows (issue 13 part 2a, helper C2) append below this line ---


def _ev(name, make, seed=None, **kw):
    """An event-to-event row: group event_ops, target against the copy pass."""
    return Case(name, make, seed=seed, group="event_ops", **kw)


CASES += [
    _ev("Denoise(filter_time=10000)", lambda m: m.transforms.Denoise(filter_time=10_000)),
    _ev("DropEvent(p=0.2)", lambda m: m.transforms.DropEvent(p=0.2), seed=0,
        note="both draw np.random.choice(N, k, replace=False): a permutation of all N"),
    _ev("DropEventByTime(0.2)", lambda m: m.transforms.DropEventByTime(0.2), seed=0),
    _ev("DropEventByArea(0.2)", lambda m: m.transforms.DropEventByArea(SENSOR, 0.2), seed=0),
    _ev("EventDrop (seed 5: random drop 0.7)", lambda m: m.transforms.EventDrop(SENSOR),
        seed=5),
    _ev("DropPixel(3 coordinates)",
        lambda m: m.transforms.DropPixel(coordinates=[(1, 2), (3, 4), (64, 64)])),
    _ev("DropPixel(hot_pixel_frequency=90)",
        lambda m: m.transforms.DropPixel(hot_pixel_frequency=90)),
    _ev("RandomDropPixel(p=0.1)", lambda m: m.transforms.RandomDropPixel(0.1, SENSOR), seed=0),
    _ev("RandomFlipLR(p=1)", lambda m: m.transforms.RandomFlipLR(SENSOR, p=1.0), seed=0),
    _ev("RandomFlipUD(p=1)", lambda m: m.transforms.RandomFlipUD(SENSOR, p=1.0), seed=0),
    _ev("RandomFlipPolarity(p=1)", lambda m: m.transforms.RandomFlipPolarity(p=1.0), seed=0),
    _ev("RandomTimeReversal(p=1)", lambda m: m.transforms.RandomTimeReversal(p=1.0), seed=0),
    _ev("MergePolarities", lambda m: m.transforms.MergePolarities()),
    _ev("Downsample(time_factor=0.001, spatial_factor=0.25)",
        lambda m: m.transforms.Downsample(time_factor=0.001, spatial_factor=0.25)),
    _ev("Downsample(sensor_size, target_size=(32, 32))",
        lambda m: m.transforms.Downsample(sensor_size=SENSOR, target_size=(32, 32))),
    _ev("CenterCrop(100)", lambda m: m.transforms.CenterCrop(SENSOR, 100)),
    _ev("RandomCrop((100, 100))", lambda m: m.transforms.RandomCrop(SENSOR, (100, 100)),
        seed=0),
    _ev("CropTime(100000, 900000)", lambda m: m.transforms.CropTime(100_000, 900_000)),
    _ev("TimeJitter(std=100)", lambda m: m.transforms.TimeJitter(std=100), seed=0,
        note="both draw np.random.normal(0, std, N)"),
    _ev("TimeJitter(std=100, sort_timestamps)",
        lambda m: m.transforms.TimeJitter(std=100, sort_timestamps=True), seed=0),
    _ev("TimeSkew(1.1, 100)", lambda m: m.transforms.TimeSkew(1.1, 100)),
    _ev("TimeAlignment", lambda m: m.transforms.TimeAlignment()),
    _ev("SpatialJitter(clip_outliers)",
        lambda m: m.transforms.SpatialJitter(SENSOR, clip_outliers=True), seed=0,
        note="both draw np.random.multivariate_normal(..., N)"),
    _ev("UniformNoise(n=10000)", lambda m: m.transforms.UniformNoise(SENSOR, n=10_000),
        seed=0, compare="ties",
        note="order of equal timestamps: stable here, Tonic's unstable argsort"),
    _ev("RefractoryPeriod(delta=1000)", lambda m: m.transforms.RefractoryPeriod(1000)),
    _ev("Decimation(n=5)", lambda m: m.transforms.Decimation(n=5)),
    _ev("NumpyAsType(int)", lambda m: m.transforms.NumpyAsType(int),
        note="output [N, 4] int64: 2.5x the input's bytes"),
    _ev("EventDownsampling(integrator, 32x32, dt=1 ms, threshold 2)",
        lambda m: m.transforms.EventDownsampling(SENSOR, (32, 32), "integrator", dt=1,
                                                 noise_threshold=2)),
    _ev("EventDownsampling(differentiator, 32x32, dt=1 ms, threshold 2, 2 bins)",
        lambda m: m.transforms.EventDownsampling(SENSOR, (32, 32), "differentiator", dt=1,
                                                 noise_threshold=2,
                                                 differentiator_time_bins=2)),
]


def make_inputs(seed: int = 0) -> dict:
    """The inputs rows refer to by ``Case.data`` (each call of a transform gets a copy)."""
    rng = np.random.default_rng(seed)
    ev = np.zeros(N, DVSGESTURE_DTYPE)
    ev["x"] = rng.integers(0, W, N)
    ev["y"] = rng.integers(0, H, N)
    ev["p"] = rng.integers(0, 2, N).astype(bool)
    ev["t"] = np.sort(rng.integers(0, SPAN_US, N))
    one = ev.copy()
    one["p"] = True
    nm = np.zeros(N, np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
    for k in ("x", "y", "t", "p"):
        nm[k] = ev[k]
    import tonic
    frames = tonic.transforms.ToFrame(SENSOR, n_time_bins=32)(ev.copy())
    return {"events": ev, "events_onepol": one, "events_small": ev[:N_SMALL].copy(),
            "events_nmnist": nm, "frames_32": frames}


@njit(nogil=True)
def _read_pass(x, y, t, p):
    s = 0
    for i in range(x.shape[0]):
        s += np.int64(x[i]) + np.int64(y[i]) + np.int64(t[i]) + np.int64(p[i])
    return s


@njit(nogil=True)
def _record_pass(ev, out):
    """The least a per-event pass writing records costs: each record moved as a record."""
    for i in range(ev.shape[0]):
        out[i] = ev[i]


@njit(nogil=True)
def _count_floor(x, y, p, HW, Wd, out):
    """Own-work floor of count frames: one int16 increment per event, no checks."""
    for i in range(x.shape[0]):
        q = np.uint64(np.int64(p[i]) * HW + np.int64(y[i]) * Wd + np.int64(x[i]))
        out[q] += np.int16(1)


@njit(nogil=True)
def _voxel_floor(x, y, t, HW, Wd, scale, out):
    """Own-work floor of the voxel grid: t read, two float64 additions per event."""
    for i in range(x.shape[0]):
        q = np.uint64(np.int64(y[i]) * Wd + np.int64(x[i]))
        d = np.float64(t[i]) * scale
        out[q] += 1.0 - d
        out[q + np.uint64(HW)] += d


def own_work_floor(case, data, out):
    """Seconds of the least work a row's output needs (same input, clock and rounds as the
    rows; None: no floor beyond the read pass). Count frames and images: one int16
    increment per event into fresh zeroed frames of the output's size. Voxel grid: two
    float64 additions per event into a fresh zeroed grid. Time surface: one store per event
    (the read pass) plus NumPy's ``exp`` over the output's cells into a fresh array (Tonic's
    values need NumPy's own exp). Sparse tensor: the count floor plus writing the COO
    tensor's int64 indices and values into fresh memory."""
    name = case.name
    if not getattr(data.dtype, "names", None) or "Averaged" in name or "BinaRep" in name:
        return None
    arr = _as_array(out)
    if name.startswith(("ToFrame", "ToImage", "Compose")):
        size = arr.size if not name.startswith("Compose") else 32 * P * H * W

        def f(e):
            _count_floor(e["x"], e["y"], _raw_p(e), H * W, W, np.zeros(size, np.int16))
    elif name.startswith("ToVoxelGrid"):
        def f(e):
            _voxel_floor(e["x"], e["y"], e["t"], H * W, W, 1e-7, np.zeros(arr.size + H * W))
    elif name.startswith("ToTimesurface"):
        def f(e):
            _read_pass(e["x"], e["y"], e["t"], e["p"])
            np.exp(np.full(arr.size, -1.5))
    elif name.startswith("ToSparseTensor"):
        nnz = int(out._nnz())

        def f(e):
            _count_floor(e["x"], e["y"], _raw_p(e), H * W, W, np.zeros(arr.size, np.int16))
            np.full((4, nnz), 1, np.int64), np.full(nnz, 1, np.int16)
    else:
        return None
    _call(f, data, None)
    return min(_call(f, data, None)[0] for _ in range(7))


def _raw_p(e):
    p = e["p"]
    return p.view(np.uint8) if p.dtype == np.bool_ else p


def _as_array(v):
    """Output -> comparable numpy value (torch dense/sparse tensors -> ndarray)."""
    if hasattr(v, "to_dense") and hasattr(v, "is_sparse"):
        v = v.to_dense() if v.is_sparse else v
        return v.numpy()
    if hasattr(v, "detach") and hasattr(v, "numpy"):
        return v.detach().numpy()
    return v


def _same(ours, theirs, compare) -> str:
    """'' if equal under ``compare``, else what differs (one line)."""
    if isinstance(theirs, (tuple, list)):
        if not isinstance(ours, (tuple, list)) or len(ours) != len(theirs):
            return f"different containers: {type(ours).__name__} vs {type(theirs).__name__}"
        for k, (a, b) in enumerate(zip(ours, theirs)):
            why = _same(a, b, compare)
            if why:
                return f"item {k}: {why}"
        return ""
    sparse = [getattr(v, "is_sparse", False) for v in (ours, theirs)]
    if sparse[0] != sparse[1]:
        return f"sparse {sparse[0]} vs Tonic's {sparse[1]}"
    a, b = np.asarray(_as_array(ours)), np.asarray(_as_array(theirs))
    if a.dtype != b.dtype:
        return f"dtype {a.dtype} vs Tonic's {b.dtype}"
    if a.shape != b.shape:
        return f"shape {a.shape} vs Tonic's {b.shape}"
    if a.dtype.names and compare == "ties":      # same events, ties in any order
        a, b = _tie_sorted(a), _tie_sorted(b)
        compare = "exact"
    if a.dtype.names:
        for f in b.dtype.names:
            why = _same(a[f], b[f], compare)
            if why:
                return f"field {f}: {why}"
        return ""
    if compare == "exact" or a.dtype.kind not in "fc":
        n = int(np.sum(a != b))
        return "" if n == 0 else f"{n} of {a.size} values differ"
    bad = ~np.isclose(a, b, rtol=float(compare), atol=0.0)
    n = int(bad.sum())
    return "" if n == 0 else f"{n} of {a.size} values differ beyond rtol {compare:g}"


def _tie_sorted(v):
    """Structured events sorted by all their fields (equal events in a canonical order)."""
    return v[np.lexsort([v[f] for f in reversed(v.dtype.names)])]


def _max_diff(ours, theirs) -> float:
    names = getattr(getattr(theirs, "dtype", None), "names", None)
    if names and getattr(getattr(ours, "dtype", None), "names", None) == names:
        return max((_max_diff(ours[f], theirs[f]) for f in names), default=0.0)
    try:
        a = np.asarray(_as_array(ours), np.float64)
        b = np.asarray(_as_array(theirs), np.float64)
        return float(np.abs(a - b).max()) if a.size else 0.0
    except Exception:
        return float("nan")


def _call(fn, data, seed):
    arg = data.copy()
    if seed is not None:
        np.random.seed(seed)
        random.seed(seed)
    t0 = CLOCK[0]()
    out = fn(arg)
    return CLOCK[0]() - t0, out


def _version(mod):
    try:
        from importlib.metadata import version
        return version(mod)
    except Exception:  # pragma: no cover
        return ""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="timed rounds (best kept)")
    ap.add_argument("--markdown", action="store_true", help="print the markdown report")
    ap.add_argument("--only", default="", help="run only rows whose name contains this")
    ap.add_argument("--group", default="", choices=("", "representations", "event_ops"),
                    help="run only the rows of this group")
    ap.add_argument("--clock", choices=("thread", "wall"), default="thread",
                    help="thread CPU time (default) or wall time")
    args = ap.parse_args(argv)
    CLOCK[0] = time.thread_time if args.clock == "thread" else time.perf_counter
    import tonic
    try:
        import torch
        torch.set_num_threads(1)
    except Exception:  # pragma: no cover
        pass
    numba.set_num_threads(1)
    load0 = os.getloadavg()
    inputs = make_inputs()
    ev = inputs["events"]

    # ceilings
    flat = (ev["p"].astype(np.intp) * (H * W) + ev["y"].astype(np.intp) * W
            + ev["x"].astype(np.intp))
    ceilings = {"np.bincount": lambda: np.bincount(flat, minlength=P * H * W)}
    for f in ceilings.values():
        f()
    best_c = {k: min(_timed(f) for _ in range(max(args.repeat, 9)))
              for k, f in ceilings.items()}
    # read passes timed like the rows: each on a fresh copy of its input (fresh pages cost
    # TLB walks that a long-lived array does not pay, and every row's input is fresh)
    for key, arr in inputs.items():
        if getattr(arr.dtype, "names", None) and len(arr) == N:
            rp = lambda a: _read_pass(a["x"], a["y"], a["t"], a["p"])  # noqa: E731
            _call(rp, arr, None)
            best_c["read pass" if key == "events" else f"read pass {key}"] = min(
                _call(rp, arr, None)[0] for _ in range(max(args.repeat, 9)))
    # the event_ops ceiling, timed like the rows (each call on a fresh copy of the input)
    best_c["copy pass"] = min(_call(lambda a: a.view(np.uint8).copy(), ev, None)[0]
                              for _ in range(max(args.repeat, 9)))
    rec = lambda a: _record_pass(a, np.empty_like(a))  # noqa: E731
    _call(rec, ev, None)
    best_c["record pass"] = min(_call(rec, ev, None)[0] for _ in range(max(args.repeat, 9)))

    rows, checks, floors = [], [], {}
    for case in CASES:
        if (args.only and args.only not in case.name) or (args.group
                                                          and case.group != args.group):
            continue
        try:
            ours = case.make(ef_tonic)
        except (AttributeError, NotImplementedError) as e:
            checks.append((case, f"skipped: evframes.tonic has no such transform yet ({e})"))
            continue
        data = inputs[case.data]
        _, out_o = _call(ours, data, case.seed)       # warm-up (compiles) and the values
        best_o = best_t = float("inf")
        if case.tonic:
            theirs = case.make(tonic)
            _, out_t = _call(theirs, data, case.seed)
            why = _same(out_o, out_t, case.compare)
            diffed = (out_o, out_t)
            if case.compare == "ties" and getattr(out_t, "dtype", None) is not None \
                    and out_t.dtype.names and not why:
                diffed = (_tie_sorted(out_o), _tie_sorted(out_t))
            tol = case.compare if isinstance(case.compare, str) else f"rtol {case.compare:g}"
            checks.append((case, (f"DIFFER: {why}" if why else "equal")
                           + f" ({tol}; max |diff| {_max_diff(*diffed):.3g})"))
        for r in range(args.repeat):
            best_o = min(best_o, _call(ours, data, case.seed)[0])
            if case.tonic:
                dt_t = _call(theirs, data, case.seed)[0]
                best_t = min(best_t, dt_t)
                if dt_t > 2.0 and r >= 2:  # slow Tonic rows: three rounds are enough
                    break
        n = len(data) if getattr(data.dtype, "names", None) else N  # frames: from N events
        if case.group != "event_ops":
            floors[case.name] = own_work_floor(case, data, out_o)
        rows.append((case, n, best_o, best_t))

    load1 = os.getloadavg()
    report(rows, checks, best_c, load0, load1, args.repeat, _version("tonic"),
           markdown=args.markdown, floors=floors)


def _timed(f):
    t0 = CLOCK[0]()
    f()
    return CLOCK[0]() - t0


CLOCK = [time.thread_time]


def report(rows, checks, ceil, load0, load1, repeat, tonic_version, markdown=True,
           floors=None):
    out = []
    rd = ceil["read pass"]
    out.append("# Tonic transforms: evframes.tonic vs Tonic " + tonic_version + "\n")
    out.append(
        f"{N // 1_000_000} M random events in Tonic's DVSGesture dtype (x, y int16, p bool, "
        f"t int64; 13-byte records), {W}x{H}, 2 polarities, t sorted over "
        f"{SPAN_US / 1e6:g} s; one thread for both; best of {repeat} interleaved rounds "
        "after a warm-up (Numba compilation excluded), timed as "
        f"{'CPU time of the calling thread' if CLOCK[0] is time.thread_time else 'wall time'}"
        "; each call on a fresh copy of its input "
        f"made outside the timing. Machine: {os.cpu_count()} cores ({platform.machine()}), "
        f"shared: load average {load0[0]:.2f} before, {load1[0]:.2f} after. Python "
        f"{platform.python_version()}, NumPy {np.__version__}, Numba {numba.__version__}. "
        "Produced by `benchmarks/bench_tonic_transforms.py --markdown`.\n")
    out.append("## Values compared before timing\n")
    for case, line in checks:
        out.append(f"- {case.name}: {line}" + (f"; {case.note}" if case.note else ""))
    out.append("")
    out.append("## Throughput\n")
    out.append(f"Ceilings, timed like the rows (each call on a fresh copy of the input): read "
               f"pass (the four fields of every event read once, Numba) {rd * 1e3:.2f} ms = "
               f"{N / rd / 1e6:.0f} M ev/s; np.bincount of precomputed flat indices (one "
               f"long-lived array) {ceil['np.bincount'] * 1e3:.2f} ms = "
               f"{N / ceil['np.bincount'] / 1e6:.0f} M ev/s; the N-MNIST-dtype rows use that "
               f"array's own read pass, {ceil.get('read pass events_nmnist', rd) * 1e3:.2f} ms. "
               "Target: evframes' time <= "
               f"max(Tonic / {TARGET_TONIC:g}, {TARGET_READ:g} x read pass of the row's "
               "events).\n")
    out.append(f"event_ops rows (events in, events out) are held to the copy pass instead: "
               f"one memcpy of the events' bytes into a new array, timed like the rows, "
               f"{ceil['copy pass'] * 1e3:.2f} ms (numpy's own copy of the structured array, "
               f"field by field, is several times slower). For scale: a Numba loop moving the "
               f"records one by one into a new array (`out[i] = ev[i]`, no edit, no test), "
               f"timed the same way, {ceil['record pass'] * 1e3:.2f} ms.\n")
    out.append("Own-work floor (To* rows): the least work the row's output needs, timed the "
               "same way (see `own_work_floor`: one int16 increment per event for count "
               "frames, two float64 additions per event for the voxel grid, the read pass "
               "plus NumPy's exp per output cell for the time surface, the count floor plus "
               "the COO bytes for the sparse tensor); `x floor` = evframes / floor.\n")
    out.append("| group | transform | events | evframes ms | Tonic ms | speed-up | "
               "evframes M ev/s | target ms | met | floor ms | x floor |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|:---:|---:|---:|")
    floors = floors or {}
    for case, n, o, t in rows:
        floor = ceil["copy pass"] if case.group == "event_ops" else \
            ceil.get(f"read pass {case.data}", rd)
        fl = floors.get(case.name)
        fcols = f" {fl * 1e3:.2f} | {o / fl:.2f} |" if fl else " – | – |"
        if not case.tonic:
            out.append(f"| {case.group} | {case.name} | {n} | {o * 1e3:.2f} | – | – | "
                       f"{n / o / 1e6:.0f} | – | – |" + fcols)
            continue
        target = max(t / TARGET_TONIC, TARGET_READ * floor * n / N)
        met = "yes" if o <= target else "**no**"
        out.append(f"| {case.group} | {case.name} | {n} | {o * 1e3:.2f} | {t * 1e3:.1f} | "
                   f"{t / o:.1f}x | {n / o / 1e6:.0f} | {target * 1e3:.2f} | {met} |" + fcols)
    text = "\n".join(out) + "\n"
    if not markdown:
        text = text.replace("**", "")
    print(text)


if __name__ == "__main__":
    main()
