"""Today's camera formats: evframes readers vs every peer that reads the format, in one process.

Each case in :data:`CASES` writes its file **with a peer** (never with evframes) at benchmark
time, in a temporary directory, then times evframes' reader and each available peer reader on
that file. Before any timing, every peer's output is compared with evframes' (t, x, y, p as
int64) and the script stops on a mismatch. evframes is timed with one decode thread and with the
default number of threads (``EVFRAMES_NUM_THREADS``); peers run as they come (their own
threading). Best of ``--repeat`` runs after a warm-up; the file is in the page cache.

Run it in the benchmark venv (peers are never installed in the project's venv):

    .venv-bench/bin/python benchmarks/bench_formats.py --only aedat4 \
        --out benchmarks/results_formats.md

``--out`` replaces only the section of the cases run (named by ``--only``, or ``--section``) in
that file and keeps the others, so each format's rows can be rerun on their own.

Adding a format: append :class:`Case` entries to :data:`CASES` (one section per format below);
``make`` writes the peer file, ``ours`` reads it with evframes, ``peers`` returns the available
peer readers (name -> callable(path) -> mapping with t, x, y, p arrays), skipping missing ones.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba  # noqa: E402

_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"

Reader = Callable[[Path], Mapping]


@dataclass
class Case:
    """One benchmark row: a peer-written file and the readers timed on it.

    key: short id (``--only`` matches it); title: the row label; make(dir, n) writes a file of
    about ``n`` events with a peer and returns its path (or None when the writing peer is
    missing); ours(path): evframes' reader; peers(): available peer readers by name;
    versions: peer name -> distribution name (for the header line).
    """

    key: str
    title: str
    make: Callable[[Path, int], "Path | None"]
    ours: Reader
    peers: Callable[[], Dict[str, Reader]]
    versions: Dict[str, str]


def random_events(n: int, width: int, height: int, seed: int, rate_hz: float = 2e6):
    """``n`` random events on a ``width`` x ``height`` sensor (pixels), sorted timestamps (us)
    at about ``rate_hz`` events per second, polarity 0/1 (int64 t, int16 x/y, int8 p)."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.integers(0, int(2e6 / rate_hz) + 1, n)).astype(np.int64) + 1_000_000
    return {"t": t, "x": rng.integers(0, width, n).astype(np.int16),
            "y": rng.integers(0, height, n).astype(np.int16),
            "p": rng.integers(0, 2, n).astype(np.int8)}


def _importable(name: str) -> bool:
    try:
        __import__(name)
        return True
    except ImportError:
        return False


# --------------------------------------------------------------------------------------------
# AEDAT 4 (iniVation DV): files written by faery and by dv-processing; read by evframes,
# aedat, faery, evlib, dv-processing.
# --------------------------------------------------------------------------------------------

AEDAT4_SIZE = (346, 260)  # DAVIS346


def _aedat4_faery_write(compression):
    def make(tmp: Path, n: int):
        if not _importable("faery"):
            return None
        import faery
        ev = random_events(n, *AEDAT4_SIZE, seed=4)
        arr = np.empty(n, faery.EVENTS_DTYPE)
        arr["t"], arr["x"], arr["y"], arr["p"] = ev["t"], ev["x"], ev["y"], ev["p"]
        path = tmp / f"faery_{compression[0] if compression else 'none'}_{n}.aedat4"
        faery.events_stream_from_array(arr, AEDAT4_SIZE).to_file(path, compression=compression)
        return path
    return make


def _aedat4_dv_write(compression_name):
    def make(tmp: Path, n: int):
        if not _importable("dv_processing"):
            return None
        import datetime

        import dv_processing as dv
        cfg = dv.io.MonoCameraWriter.EventOnlyConfig("DAVIS346_bench", AEDAT4_SIZE)
        cfg.compression = getattr(dv.CompressionType, compression_name)
        path = tmp / f"dv_{compression_name.lower()}_{n}.aedat4"
        writer = dv.io.MonoCameraWriter(str(path), cfg)
        step, t0 = 1_000_000, 1_000_000
        for a in range(0, n, step):
            # dv-processing draws the events itself (uniform pixels, increasing timestamps)
            store = dv.data.generate.uniformEventsWithinTimeRange(
                t0, datetime.timedelta(seconds=1), AEDAT4_SIZE, min(step, n - a), a)
            writer.writeEvents(store)
            t0 += 1_000_000
        del writer  # closes the file (writes its data table)
        return path
    return make


def _aedat4_ours(path: Path):
    from evframes.formats.aedat4 import read_aedat4
    return read_aedat4(path)


def _aedat4_peers() -> Dict[str, Reader]:
    found: Dict[str, Reader] = {}
    if _importable("aedat"):
        import aedat

        def read_aedat(path):
            parts = [pk["events"] for pk in aedat.Decoder(str(path)) if "events" in pk]
            a = np.concatenate(parts)
            return {"t": a["t"], "x": a["x"], "y": a["y"], "p": a["on"]}
        found["aedat"] = read_aedat
    if _importable("faery"):
        import faery

        def read_faery(path):
            with faery.aedat.Decoder(path) as dec:
                parts = [pk for track, pk in dec if track.data_type == "events"]
            a = np.concatenate(parts)
            return {"t": a["t"], "x": a["x"], "y": a["y"], "p": a["on"]}
        found["faery"] = read_faery
    if _importable("evlib"):
        import evlib

        def read_evlib(path):
            df = evlib.load_events(str(path), sort=False).collect()
            t = df["t"]
            t = t.dt.total_microseconds() if str(t.dtype).startswith("Duration") else t
            p = df["polarity"].to_numpy()
            return {"t": t.to_numpy(), "x": df["x"].to_numpy(), "y": df["y"].to_numpy(),
                    "p": (p > 0).astype(np.int8)}
        found["evlib"] = read_evlib
    if _importable("dv_processing"):
        import dv_processing as dv

        def read_dv(path):
            rec = dv.io.MonoCameraRecording(str(path))
            store = dv.EventStore()
            while True:
                batch = rec.getNextEventBatch()
                if batch is None:
                    break
                store.add(batch)
            a = store.numpy()
            return {"t": a["timestamp"], "x": a["x"], "y": a["y"], "p": a["polarity"]}
        found["dv-processing"] = read_dv
    return found


_AEDAT4_VERSIONS = {"aedat": "aedat", "faery": "faery", "evlib": "evlib",
                    "dv-processing": "dv-processing"}

CASES: List[Case] = [
    Case("aedat4-faery-lz4", "AEDAT 4, LZ4, written by faery", _aedat4_faery_write(("lz4", 1)),
         _aedat4_ours, _aedat4_peers, _AEDAT4_VERSIONS),
    Case("aedat4-faery-zstd", "AEDAT 4, ZSTD, written by faery",
         _aedat4_faery_write(("zstd", 3)), _aedat4_ours, _aedat4_peers, _AEDAT4_VERSIONS),
    Case("aedat4-dv-lz4", "AEDAT 4, LZ4, written by dv-processing", _aedat4_dv_write("LZ4"),
         _aedat4_ours, _aedat4_peers, _AEDAT4_VERSIONS),
]

# --------------------------------------------------------------------------------------------
# Prophesee (DAT, EVT 2.0 / 2.1 / 3.0): files written by faery and expelliarmus; read by
# evframes, expelliarmus, faery, evlib. No peer writes EVT 2.1 (faery's encoder is a todo,
# expelliarmus has none): that row's file is evframes', said so in its title.
# --------------------------------------------------------------------------------------------

PSEE_SIZE = (1280, 720)  # Gen4 / IMX636


def _psee_faery_write(version):
    def make(tmp: Path, n: int):
        if not _importable("faery"):
            return None
        import faery
        ev = random_events(n, *PSEE_SIZE, seed=14)
        arr = np.empty(n, faery.EVENTS_DTYPE)
        arr["t"], arr["x"], arr["y"], arr["p"] = ev["t"], ev["x"], ev["y"], ev["p"]
        if version == "dat":
            path = tmp / f"faery_{n}.dat"
            pk = np.empty(n, [("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("payload", "u1")])
            pk["t"], pk["x"], pk["y"], pk["payload"] = ev["t"], ev["x"], ev["y"], ev["p"]
            with faery.extension.dat.Encoder(path, "dat2", "cd", False, PSEE_SIZE) as enc:
                enc.write(pk)
        else:
            path = tmp / f"faery_{version}_{n}.raw"
            with faery.extension.evt.Encoder(path, version, False, PSEE_SIZE, True) as enc:
                enc.write({"events": arr})
        return path
    return make


def _psee_expel_write(encoding):
    def make(tmp: Path, n: int):
        if not _importable("expelliarmus"):
            return None
        from expelliarmus import Wizard
        # its EVT 2.0 header says Gen3 (system_ID 21: 640x480), so the events fit that sensor
        ev = random_events(n, *((640, 480) if encoding == "evt2" else PSEE_SIZE), seed=15)
        arr = np.empty(n, [("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")])
        for k in "txyp":
            arr[k] = ev[k]
        path = tmp / (f"expelliarmus_{n}.dat" if encoding == "dat" else
                      f"expelliarmus_{encoding}_{n}.raw")
        Wizard(encoding=encoding).save(str(path), arr)
        return path
    return make


def _psee_evframes_evt21(tmp: Path, n: int):
    from evframes.formats import write_evt21
    path = tmp / f"evframes_evt21_{n}.raw"
    write_evt21(path, random_events(n, *PSEE_SIZE, seed=16), sensor_size=PSEE_SIZE)
    return path


def _psee_ours(kind):
    def read(path: Path):
        from evframes import formats
        return getattr(formats, "read_" + kind)(path)
    return read


def _psee_peers(kind):
    def peers() -> Dict[str, Reader]:
        found: Dict[str, Reader] = {}
        if kind in ("prophesee_dat", "evt2", "evt3") and _importable("expelliarmus"):
            from expelliarmus import Wizard
            enc = {"prophesee_dat": "dat"}.get(kind, kind)

            def read_expel(path):
                a = Wizard(encoding=enc).read(str(path))
                if kind == "evt3":   # its TIME_LOW rule drifts: refuse to time wrong values
                    from evframes.formats import read_evt3
                    t = read_evt3(path)["t"]
                    if not np.array_equal(a["t"], t):
                        raise ValueError(f"wrong timestamps (+{int(a['t'][-1] - t[-1])} us at "
                                         "the end: its TIME_LOW overflow rule)")
                return {k: a[k] for k in "txyp"}
            found["expelliarmus"] = read_expel
        if kind in ("prophesee_dat", "evt2", "evt3") and _importable("faery"):
            import faery

            def read_faery(path):
                if kind == "prophesee_dat":
                    with faery.extension.dat.Decoder(path, PSEE_SIZE, None) as dec:
                        a = np.concatenate(list(dec))
                    return {"t": a["t"], "x": a["x"], "y": a["y"], "p": a["payload"]}
                with faery.extension.evt.Decoder(path, PSEE_SIZE, None) as dec:
                    a = np.concatenate([pk["events"] for pk in dec if "events" in pk])
                return {"t": a["t"], "x": a["x"], "y": a["y"], "p": a["on"]}
            found["faery"] = read_faery
        if kind != "prophesee_dat" and _importable("evlib"):   # evlib reads no DAT
            import evlib

            def read_evlib(path):
                df = evlib.load_events(str(path), sort=False).collect()
                return {"t": df["t"].dt.total_microseconds().to_numpy(), "x": df["x"].to_numpy(),
                        "y": df["y"].to_numpy(), "p": (df["polarity"].to_numpy() > 0)}
            found["evlib"] = read_evlib
        return found
    return peers


_PSEE_VERSIONS = {"expelliarmus": "expelliarmus", "faery": "faery", "evlib": "evlib"}

CASES += [
    Case("prophesee-dat-expelliarmus", "DAT, written by expelliarmus",
         _psee_expel_write("dat"), _psee_ours("prophesee_dat"), _psee_peers("prophesee_dat"),
         _PSEE_VERSIONS),
    Case("prophesee-dat-faery", "DAT, written by faery", _psee_faery_write("dat"),
         _psee_ours("prophesee_dat"), _psee_peers("prophesee_dat"), _PSEE_VERSIONS),
    Case("prophesee-evt2-faery", "EVT 2.0, written by faery", _psee_faery_write("evt2"),
         _psee_ours("evt2"), _psee_peers("evt2"), _PSEE_VERSIONS),
    Case("prophesee-evt2-expelliarmus", "EVT 2.0, written by expelliarmus",
         _psee_expel_write("evt2"), _psee_ours("evt2"), _psee_peers("evt2"), _PSEE_VERSIONS),
    Case("prophesee-evt3-faery", "EVT 3.0, written by faery (vectors)",
         _psee_faery_write("evt3"), _psee_ours("evt3"), _psee_peers("evt3"), _PSEE_VERSIONS),
    Case("prophesee-evt21-evframes", "EVT 2.1, written by evframes (no peer writes it)",
         _psee_evframes_evt21, _psee_ours("evt21"), _psee_peers("evt21"), _PSEE_VERSIONS),
]


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------

def best_of(fn, repeat):
    """Best time of one call over ``repeat`` calls after a warm-up call; (seconds, output)."""
    out = fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def interleaved(readers: Dict[str, Callable], repeat: int) -> Dict[str, float]:
    """Best time of each reader over ``repeat`` rounds, each round running every reader once
    (in a rotated order), so load from other jobs on the machine hits them all alike."""
    names = list(readers)
    for name in names:          # warm-up (compilation, page cache)
        readers[name]()
    best = {name: float("inf") for name in names}
    for r in range(repeat):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            readers[name]()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def with_threads(n: int, fn):
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


def same(ours: Mapping, theirs: Mapping, what: str) -> None:
    for k in "txyp":
        a = np.asarray(ours[k]).astype(np.int64)
        b = np.asarray(theirs[k]).astype(np.int64)
        if a.shape != b.shape or not np.array_equal(a, b):
            raise SystemExit(f"MISMATCH {what}: field {k} differs from evframes "
                             f"({a.shape[0]} vs {b.shape[0]} events)")


def version(dist: str) -> str:
    try:
        from importlib.metadata import version as v
        return v(dist)
    except Exception:
        return "?"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000, help="events per file")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per reader (best kept)")
    ap.add_argument("--only", default="", help="run the cases whose key contains this text")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--out", help="markdown file whose section of these cases is replaced")
    ap.add_argument("--section", help="section name in --out (default: the --only text)")
    args = ap.parse_args(argv)
    from evframes.formats._common import _num_threads
    nthreads = _num_threads()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows, versions = [], {}
    with tempfile.TemporaryDirectory(prefix="evframes-bench-formats-") as tmp:
        for case in CASES:
            if args.only not in case.key:
                continue
            path = case.make(Path(tmp), args.events)
            if path is None:
                print(f"skipped {case.key}: its writing peer is not installed", file=sys.stderr)
                continue
            def read(case=case, path=path):
                return case.ours(path)
            ours = read()
            n = len(ours["t"])
            row = {"case": case.title, "events": n, "MB": path.stat().st_size / 2**20,
                   "peers": {}}
            timed = {"evframes_1": with_threads(1, read),
                     "evframes_n": with_threads(nthreads, read)}
            for name, fn in case.peers().items():
                versions[name] = version(case.versions.get(name, name))
                try:
                    theirs = fn(path)
                except Exception as exc:  # a peer that cannot read the file: say so
                    row["peers"][name] = f"fails: {type(exc).__name__}: {str(exc)[:60]}"
                    continue
                same(ours, theirs, f"{name} on {case.key}")
                del theirs
                timed[name] = lambda fn=fn, path=path: fn(path)
            del ours
            for name, secs in interleaved(timed, args.repeat).items():
                if name.startswith("evframes"):
                    row[name] = n / secs / 1e6
                else:
                    row["peers"][name] = n / secs / 1e6
            rows.append(row)
            if not args.markdown:
                print(row, flush=True)
            os.unlink(path)
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    name = args.section or args.only or "all"
    text = (f"## {SECTION_TITLES.get(name, name)}\n\n"
            + markdown(rows, versions, nthreads, args, load_before, load_after))
    if args.markdown:
        print(TITLE + "\n\n" + text)
    if args.out:
        update_section(Path(args.out), name, text)


#: section name (the --only text) -> heading in the results file
SECTION_TITLES = {"aedat4": "AEDAT 4 (iniVation DV)",
                  "prophesee": "Prophesee (DAT, EVT 2.0 / 2.1 / 3.0)"}
TITLE = "# Camera formats: decoding throughput (M events/s, higher is better)"


def update_section(path: Path, name: str, text: str) -> None:
    """Replace (or append) the ``<!-- section NAME -->`` ... ``<!-- end NAME -->`` block."""
    old = path.read_text() if path.is_file() else TITLE + "\n"
    begin, end = f"<!-- section {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    if begin in old and end in old:
        a, rest = old.split(begin, 1)
        new = a + block + rest.split(end, 1)[1]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    path.write_text(new)


def markdown(rows, versions, nthreads, args, load_before, load_after) -> str:
    lines = []
    print = lines.append  # noqa: A001  (the table below reads like printing)
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical "
          f"CPUs, Python {platform.python_version()}, numpy {np.__version__}, numba "
          f"{numba.__version__}" + "".join(f", {p} {v}" for p, v in sorted(versions.items()))
          + ".")
    print("Each file was written by the peer named in its row (random events, sorted "
          "timestamps), then decoded whole to t/x/y/p arrays by each reader, best of "
          f"{args.repeat} rounds after a warm-up (each round runs every reader once, in a "
          "rotated order), file in the page cache. Every peer's output "
          "was checked equal to evframes' before timing. 'evframes x1' uses one decode "
          f"thread, 'evframes x{nthreads}' the default. 1-minute load average before / after: "
          f"{load_before:.2f} / {load_after:.2f} (other jobs share this machine).\n")
    print("| file | events | MB | evframes x1 | evframes x%d | peers (M ev/s) | fastest peer "
          "| speed-up x1 / default |" % nthreads)
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        nums = {k: v for k, v in r["peers"].items() if isinstance(v, float)}
        peers = ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k}: {v}"
                          for k, v in r["peers"].items()) or "none"
        if nums:
            best_name = max(nums, key=nums.get)
            best = nums[best_name]
            fastest = f"{best_name} {best:.1f}"
            speed = f"{r['evframes_1'] / best:.1f}x / {r['evframes_n'] / best:.1f}x"
        else:
            fastest, speed = "n/a", ""
        print(f"| {r['case']} | {r['events']:,} | {r['MB']:.0f} | {r['evframes_1']:.0f} | "
              f"{r['evframes_n']:.0f} | {peers} | {fastest} | {speed} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
