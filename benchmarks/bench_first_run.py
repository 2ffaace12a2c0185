"""First-run cost of Numba compilation: cold cache, after the set-up warm-up, warm.

Each scenario gets its own empty ``NUMBA_CACHE_DIR`` and runs in fresh processes:

- ``cold``: nothing cached (a first run without set-up's warm-up);
- ``after set-up``: ``python -m evframes.warmup --no-extract`` (what ``scripts/setup_env.sh``
  runs, minus the extraction part) filled the cache first, then the first user-facing run;
- ``warm``: the same run again.

Runs timed (wall clock, whole process): ``evframes integrate --split-by number -T 20 --force``
on a small DVS128 Gesture replica (2 recordings, 24 samples), and a Python script doing
``import evframes.integrate`` and two calls of ``integrate_events_by_fixed_frames_number`` on
1 M events in SpikingJelly's int64 arrays (first call, second call). Also the warm-up itself.

    .venv/bin/python benchmarks/bench_first_run.py --markdown > benchmarks/results_first_run.md
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

API = """
import time
t0 = time.perf_counter()
import numpy as np
import evframes.integrate as I
t1 = time.perf_counter()
rng = np.random.default_rng(0)
n = 1_000_000
ev = {"t": np.sort(rng.integers(0, 6_000_000, n)), "x": rng.integers(0, 128, n),
      "y": rng.integers(0, 128, n), "p": rng.integers(0, 2, n)}
t2 = time.perf_counter()
I.integrate_events_by_fixed_frames_number(ev, "number", 20, 128, 128)
t3 = time.perf_counter()
I.integrate_events_by_fixed_frames_number(ev, "number", 20, 128, 128)
t4 = time.perf_counter()
print(f"RESULT {t1 - t0:.3f} {t3 - t2:.3f} {t4 - t3:.3f}")
"""


def run(cmd, env, cwd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    dt = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{out.stdout}\n{out.stderr}")
    return dt, out.stdout + out.stderr


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    evf = [str(BIN / "evframes")]
    with tempfile.TemporaryDirectory(prefix="evframes-first-run-") as tmp:
        tmp = Path(tmp)
        data = tmp / "dvs128"

        def env_for(name):
            env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp / f"cache-{name}"))
            env.pop("EVFRAMES_DEBUG", None)
            return env

        prep = env_for("prep")
        run(evf + ["fake", "--dataset", "dvs128", "--out", str(data), "-n", "2"], prep, tmp)
        run(evf + ["extract", "--dataset", "dvs128", "--root", str(data)], prep, tmp)
        cli = evf + ["integrate", "--root", str(data), "--split-by", "number", "-T", "20",
                     "--force", "--quiet"]
        api = [sys.executable, "-c", API]
        warm = [sys.executable, "-m", "evframes.warmup", "--no-extract"]
        rows = []
        for what, cmd in (("evframes integrate", cli), ("API", api)):
            for scenario in ("cold", "after set-up"):
                env = env_for(f"{what}-{scenario}".replace(" ", "_"))
                if scenario == "after set-up":
                    w, _ = run(warm, env, tmp)
                    rows.append(("warm-up (set-up)", "cold cache", w, ""))
                    w, _ = run(warm, env, tmp)
                    rows.append(("warm-up (set-up)", "already warm", w, ""))
                for label in (scenario, "warm"):
                    if label == "warm" and scenario == "cold":
                        continue
                    dt, text = run(cmd, env, tmp)
                    rows.append((what, label, dt, _detail(text)))
                if scenario == "cold":
                    dt, text = run(cmd, env, tmp)
                    rows.append((what, "warm (second run)", dt, _detail(text)))
    report(rows, args.markdown, load0, os.getloadavg())


def _detail(text):
    m = re.search(r"RESULT (\S+) (\S+) (\S+)", text)
    if m:
        return (f"import {float(m.group(1)):.2f} s, first call {float(m.group(2)):.2f} s, "
                f"second call {float(m.group(3)):.3f} s")
    m = re.search(r"compile ([\d.]+) s", text)
    return f"printed `compile {m.group(1)} s`" if m else "no compile line"


def report(rows, markdown, load0, load1):
    if not markdown:
        for r in rows:
            print(f"{r[0]:22s} {r[1]:22s} {r[2]:7.2f} s  {r[3]}")
        return
    print("# First-run cost of Numba compilation\n")
    print(f"Whole processes, wall clock, each scenario with its own empty `NUMBA_CACHE_DIR`. "
          f"Machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
          f"shared: load average {load0[0]:.2f} before, {load1[0]:.2f} after. Python "
          f"{platform.python_version()}. Produced by `benchmarks/bench_first_run.py "
          f"--markdown`.\n")
    print("| run | cache | seconds | detail |")
    print("|---|---|---:|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]} |")
    print("\n`evframes integrate`: DVS128 Gesture replica, 2 recordings (24 samples), T=20 by "
          "number. API: `import evframes.integrate`, then "
          "`integrate_events_by_fixed_frames_number(ev, 'number', 20, 128, 128)` twice on 1 M "
          "events in int64 arrays. The warm-up is `python -m evframes.warmup --no-extract` "
          "(set-up runs it with the extraction part too).")


if __name__ == "__main__":
    main()
