"""Set-up warm-up (issue 16 item 4): after ``warm_api`` has run once, a new process's first
calls load every kernel from Numba's cache and compile nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIRST_CALLS = """
import numpy as np
from evframes import integrate as I
from evframes.warmup import numba_compiles
rng = np.random.default_rng(1)
n = 5000
ev = {"t": np.sort(rng.integers(0, 10**6, n)), "x": rng.integers(0, 128, n),
      "y": rng.integers(0, 128, n), "p": rng.integers(0, 2, n)}  # SpikingJelly's int64
I.integrate_events_by_fixed_frames_number(ev, "number", 20, 128, 128)
I.integrate_events_by_fixed_duration(ev, 50_000, 128, 128)
I.integrate_events_segment_to_frame(ev["x"], ev["y"], ev["p"], 128, 128)
ev16 = {"t": ev["t"], "x": ev["x"].astype(np.int16), "y": ev["y"].astype(np.int16),
        "p": ev["p"].astype(np.int8)}  # evframes' stores
I.to_frames(ev16, 128, 128, split_by="time", frames_number=20)
print("compiled", numba_compiles())
"""


def run(code):
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_first_calls_after_warm_up_compile_nothing():
    run("from evframes.warmup import warm_api\n"
        "w = warm_api(dtypes=(('int64', 'int64', 'int64'), ('int64', 'int16', 'int8')), "
        "representations=False)\n")
    assert run(FIRST_CALLS).split()[-1] == "0"
