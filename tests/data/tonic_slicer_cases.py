"""Inputs and cases shared by tests/data/make_tonic_slicers_ref.py (Tonic 1.7, benchmark
environment) and tests/test_tonic_slicers.py (evframes, default suite): one slicer call per
case on one of a few event arrays, Tonic's slice metadata as the reference."""
from __future__ import annotations

import numpy as np

GESTURE = np.dtype([("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")])
FLOAT_T = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<f8"), ("p", "<i8")])


def inputs():
    """name -> structured event array (sorted t, microseconds)."""
    rng = np.random.default_rng(7)
    out = {}
    for name, dt, n, span in (("gesture", GESTURE, 5000, 1_000_000),
                              ("float_t", FLOAT_T, 3000, 500_000.0),
                              ("one", GESTURE, 1, 1), ("burst", GESTURE, 50, 1)):
        ev = np.zeros(n, dt)
        ev["x"] = rng.integers(0, 128, n)
        ev["y"] = rng.integers(0, 128, n)
        ev["p"] = rng.integers(0, 2, n)
        ev["t"] = np.sort(rng.integers(0, span, n)) if dt["t"].kind == "i" else np.sort(
            rng.uniform(0, span, n))
        out[name] = ev
    out["repeat_t"] = np.repeat(out["gesture"][:500], 2)  # equal timestamps in pairs
    return out


#: (slicer class name, keyword arguments, input name)
CASES = [
    ("SliceByTime", dict(time_window=50_000), "gesture"),
    ("SliceByTime", dict(time_window=50_000, overlap=10_000), "gesture"),
    ("SliceByTime", dict(time_window=50_000, include_incomplete=True), "gesture"),
    ("SliceByTime", dict(time_window=60_000, overlap=25_000, include_incomplete=True),
     "gesture"),
    ("SliceByTime", dict(time_window=50_000, start_time=200_000, end_time=700_000), "gesture"),
    ("SliceByTime", dict(time_window=2_000_000), "gesture"),
    ("SliceByTime", dict(time_window=12_345.5, overlap=1000.25), "float_t"),
    ("SliceByTime", dict(time_window=1000), "one"),
    ("SliceByTime", dict(time_window=7_000), "repeat_t"),
    ("SliceByTimeBins", dict(bin_count=10), "gesture"),
    ("SliceByTimeBins", dict(bin_count=7, overlap=0.25), "gesture"),
    ("SliceByTimeBins", dict(bin_count=9, overlap=0.5), "float_t"),
    ("SliceByTimeBins", dict(bin_count=4), "burst"),
    ("SliceByEventCount", dict(event_count=700), "gesture"),
    ("SliceByEventCount", dict(event_count=700, overlap=200), "gesture"),
    ("SliceByEventCount", dict(event_count=700, overlap=200, include_incomplete=True),
     "gesture"),
    ("SliceByEventCount", dict(event_count=10_000), "gesture"),
    ("SliceByEventCount", dict(event_count=3, include_incomplete=True), "one"),
    ("SliceByEventBins", dict(bin_count=10), "gesture"),
    ("SliceByEventBins", dict(bin_count=6, overlap=0.3), "gesture"),
    ("SliceByEventBins", dict(bin_count=8, overlap=0.5), "burst"),
    ("SliceAtIndices", dict(start_indices=[0, 100, 4000], end_indices=[50, 2500, 5000]),
     "gesture"),
    ("SliceAtTimePoints", dict(start_tw=[0, 123_456, 900_000], end_tw=[10_000, 500_000,
                                                                       2_000_000]), "gesture"),
    ("SliceAtTimePoints", dict(start_tw=[1000.5, 99_999.9], end_tw=[2000.25, 400_000.0]),
     "float_t"),
]
