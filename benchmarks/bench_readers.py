"""Raw-file decoding throughput: evframes readers vs SpikingJelly (and Tonic) on the same files.

Writes, in a temporary directory, one file per format with ``--events`` random events (DVS128
geometry, sorted timestamps) and a small one with ``--small-events`` events:

* AEDAT 3.1 (DVS128 Gesture layout), packets of 4096 events;
* AEDAT 2.0 with DVS128 addresses (CIFAR10-DVS layout) and a jAER-like header;
* 40-bit ATIS ``.bin`` (N-MNIST layout, 34x34).

Every reader runs once to warm up (Numba compilation, page cache), then the best of ``--repeat``
runs is kept. evframes is timed with 1 thread and with all threads (``EVFRAMES_NUM_THREADS``).
SpikingJelly's AEDAT 3.1 loader decodes event by event in Python (about 0.5 M events/s), so it
runs on the small file only; its vectorised loaders run on both. Peer outputs are checked against
evframes' (after applying SpikingJelly's CIFAR10-DVS transpose/flip) and the script fails on a
mismatch. Run it in the benchmark venv:

    .venv-bench/bin/python benchmarks/bench_readers.py --markdown > benchmarks/results_readers.md
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba  # noqa: E402

from evframes.events import make_events  # noqa: E402
from evframes.formats import (  # noqa: E402
    read_aedat2,
    read_aedat3,
    read_atis_bin,
    write_aedat2,
    write_aedat3,
    write_atis_bin,
)

_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
#: real recordings timed too when present (small files: per-call overhead matters there)
REAL = {"aedat2": _REAL / "aedat2" / "jaer_JSpikeStack_MovingDarkBox_dvs128.aedat",
        "atis": _REAL / "nmnist_bin" / "tonic_sample_nmnist.bin"}


def random_events(n, side, span_us, seed):
    rng = np.random.default_rng(seed)
    return make_events(np.sort(rng.integers(0, span_us, n)), rng.integers(0, side, n),
                       rng.integers(0, side, n), rng.integers(0, 2, n))


def best_of(fn, repeat, inner=1):
    """Best time of one call over ``repeat`` timings of ``inner`` calls each (after a warm-up)."""
    out = fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best, out


def with_threads(n, fn):
    def run():
        old = os.environ.get("EVFRAMES_NUM_THREADS")
        os.environ["EVFRAMES_NUM_THREADS"] = str(n)
        try:
            return fn()
        finally:
            if old is None:
                del os.environ["EVFRAMES_NUM_THREADS"]
            else:
                os.environ["EVFRAMES_NUM_THREADS"] = old
    return run


def same(ours, theirs, what):
    for k in "txyp":
        a = np.asarray(ours[k]).astype(np.int64)
        b = np.asarray(theirs[k]).astype(np.int64)
        if a.shape != b.shape or not np.array_equal(a, b):
            raise SystemExit(f"MISMATCH {what}: field {k} differs from evframes")


def peers():
    """Available peer readers: name -> {format: callable(path) -> dict t,x,y,p}."""
    found = {}
    try:
        from spikingjelly.datasets import utils as sj_utils
        sj = {"aedat3": sj_utils.load_aedat_v3, "atis": sj_utils.load_ATIS_bin}
        try:
            from spikingjelly.datasets import cifar10_dvs as sj_c10
            load = getattr(sj_c10, "_load_origin_data", None)
            if load is None:
                load = sj_c10.CIFAR10DVS.load_origin_data
            sj["aedat2"] = load
        except (ImportError, AttributeError):
            pass
        found["SpikingJelly"] = sj
    except ImportError:
        try:  # older releases kept the loaders in spikingjelly.datasets itself
            import spikingjelly.datasets as sjd
            found["SpikingJelly"] = {"aedat3": sjd.load_aedat_v3, "atis": sjd.load_ATIS_bin}
        except (ImportError, AttributeError):
            pass
    try:
        import tonic.io as tio

        dtype = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])

        def tonic_atis(path):
            a = tio.read_mnist_file(str(path), dtype=dtype)
            return {k: a[k] for k in "txyp"}
        found["Tonic"] = {"atis": tonic_atis}
    except ImportError:
        pass
    return found


def peer_version(name):
    try:
        from importlib.metadata import version
        return version({"SpikingJelly": "spikingjelly", "Tonic": "tonic"}[name])
    except Exception:
        return "?"


def sj_convention(fmt, ev):
    """evframes events in the convention a SpikingJelly loader returns for that format."""
    if fmt == "aedat2":  # CIFAR10-DVS: transpose + flip, inverted polarity
        return {"t": ev["t"], "x": 127 - ev["y"].astype(np.int64),
                "y": 127 - ev["x"].astype(np.int64), "p": 1 - ev["p"].astype(np.int64)}
    return ev


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5_000_000, help="events in the large files")
    ap.add_argument("--small-events", type=int, default=300_000,
                    help="events in the small files (SpikingJelly's per-event AEDAT 3.1 loader "
                         "runs on these only)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per reader (best kept)")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args(argv)

    formats = {
        "aedat3": ("AEDAT 3.1 (DVS128 Gesture)", ".aedat", read_aedat3, 128, 2**33,
                   lambda p, e: write_aedat3(p, e, packet_size=4096)),
        "aedat2": ("AEDAT 2.0 (CIFAR10-DVS)", ".aedat", read_aedat2, 128, 2**31,
                   lambda p, e: write_aedat2(p, e, header_lines=[
                       "# Data format is int32 address, int32 timestamp (8 bytes total)",
                       "# Timestamps tick is 1 us"])),
        "atis": ("ATIS 40-bit .bin (N-MNIST)", ".bin", read_atis_bin, 34, 2**23,
                 write_atis_bin),
    }
    peer_readers = peers()
    nthreads = os.cpu_count() or 1
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = []
    with tempfile.TemporaryDirectory(prefix="evframes-bench-") as tmp:
        jobs = []
        for fmt, (title, ext, reader, side, span, writer) in formats.items():
            for size in (args.events, args.small_events):
                path = Path(tmp) / f"{fmt}_{size}{ext}"
                writer(path, random_events(size, side, span, seed=size % 1000 + len(fmt)))
                jobs.append((fmt, title, reader, path))
            real = REAL.get(fmt)
            if real is not None and real.is_file():
                jobs.append((fmt, f"{title}, real file `{real.name}`", reader, real))
        for fmt, title, reader, path in jobs:
            mb = path.stat().st_size / 2**20
            inner = max(1, 200_000 // max(1, int(path.stat().st_size) // 8))
            def read(reader=reader, path=path):
                return reader(path)
            t1, ours = best_of(with_threads(1, read), args.repeat, inner)
            tn, _ = best_of(with_threads(nthreads, read), args.repeat, inner)
            size = len(ours)
            row = {"format": title, "events": size, "MB": mb,
                   "evframes_1": size / t1 / 1e6, "evframes_n": size / tn / 1e6}
            for peer, table in peer_readers.items():
                fn = table.get(fmt)
                if fn is None:
                    continue
                if peer == "SpikingJelly" and fmt == "aedat3" and size > args.small_events:
                    row[peer] = None  # per-event Python loop: timed on the small file only
                    continue
                tp, theirs = best_of(lambda fn=fn, path=path: fn(str(path)), args.repeat, inner)
                same(sj_convention(fmt, ours) if peer == "SpikingJelly" else ours, theirs,
                     f"{peer} {fmt} {size}")
                row[peer] = size / tp / 1e6
            rows.append(row)
            if not args.markdown:
                print({k: (round(v, 1) if isinstance(v, float) else v)
                       for k, v in row.items()}, flush=True)

    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    peer_names = list(peer_readers)
    if args.markdown:
        print("# Raw-file decoding throughput (M events/s, higher is better)\n")
        print(f"Machine: {platform.processor() or platform.machine()}, {nthreads} logical CPUs, "
              f"Python {platform.python_version()}, numpy {np.__version__}, "
              f"numba {numba.__version__}"
              + "".join(f", {p} {peer_version(p)}" for p in peer_names) + ".")
        print("File in the page cache, whole file decoded to t/x/y/p arrays, best of "
              f"{args.repeat} runs after a warm-up. 'evframes xN' uses N decode threads. "
              "Peer outputs were checked equal to evframes' (SpikingJelly's CIFAR10-DVS "
              "transpose/flip applied). 1-minute load average before / after the run: "
              f"{load_before:.2f} / {load_after:.2f} (other jobs share this machine; "
              "numbers drop when it is busy).\n")
        head = ["format", "events", "file MB", "evframes x1", f"evframes x{nthreads}"]
        for p in peer_names:
            head += [p, f"speed-up vs {p}"]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            cells = [r["format"], f"{r['events']:,}", f"{r['MB']:.1f}",
                     f"{r['evframes_1']:.0f}", f"{r['evframes_n']:.0f}"]
            for p in peer_names:
                v = r.get(p, "absent")
                if v == "absent":
                    cells += ["n/a", ""]
                elif v is None:
                    cells += ["(small file only)", ""]
                else:
                    best = max(r["evframes_1"], r["evframes_n"])
                    cells += [f"{v:.2f}" if v < 10 else f"{v:.0f}", f"{best / v:.0f}x"]
            print("| " + " | ".join(cells) + " |")
        print("\nSpeed-up = best evframes column / peer, on the same file. SpikingJelly readers: "
              "`spikingjelly.datasets.utils.load_aedat_v3` (DVS128 Gesture), "
              "`spikingjelly.datasets.cifar10_dvs._load_origin_data` (CIFAR10-DVS), "
              "`spikingjelly.datasets.utils.load_ATIS_bin` (N-MNIST); Tonic: "
              "`tonic.io.read_mnist_file`.")


if __name__ == "__main__":
    main()
