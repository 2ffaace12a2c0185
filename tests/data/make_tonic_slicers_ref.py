"""Generate tests/data/tonic_slicers_ref.json: Tonic 1.7's slice metadata per stored case.

The cases are tests/data/tonic_slicer_cases.py's; for SliceByTime with reset_time the file also
holds a hash of the reset t of every slice. Run in the benchmark environment, from the
repository root:

    PYTHONPATH=.:tests/data .venv-bench/bin/python tests/data/make_tonic_slicers_ref.py
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import tonic.slicers as TS
from tonic_slicer_cases import CASES, inputs

OUT = Path(__file__).resolve().parent / "tonic_slicers_ref.json"


def main():
    ev = inputs()
    ref = []
    for name, kw, data in CASES:
        meta = getattr(TS, name)(**kw).get_slice_metadata(ev[data], 0)
        ref.append([[int(a), int(b)] for a, b in meta])
    resets = []
    for tw in (50_000, 77_777):
        e = ev["gesture"].copy()  # Tonic writes the reset into its input: a copy
        slices, _ = TS.SliceByTime(time_window=tw, reset_time=True).slice(e, 0)
        h = hashlib.sha256()
        for s in slices:
            h.update(np.ascontiguousarray(s["t"]).tobytes())
        resets.append(h.hexdigest())
    OUT.write_text(json.dumps({"tonic": "1.7", "metadata": ref, "reset_time": resets}) + "\n")
    print(f"wrote {OUT}: {len(ref)} cases")


if __name__ == "__main__":
    main()
