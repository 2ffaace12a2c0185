"""Inputs and transforms on which evframes.tonic's To* transforms are compared with Tonic 1.7.

Shared by ``make_tonic_repr_ref.py`` (stores Tonic's outputs in ``tonic_repr_ref.npz``),
``tests/test_tonic_repr.py`` (compares against the stored outputs) and
``tests/test_tonic_repr_peer.py`` (compares live with Tonic). A case is a chain of
``(class name, keyword arguments)`` applied in turn to one event array; every case is one
Tonic runs without crashing.
"""
from __future__ import annotations

import numpy as np

#: Tonic's own event dtypes (NMNIST, DVSGesture, CIFAR10-DVS) and an audio one (SHD-like).
DTYPES = {
    "nmnist": np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]),
    "dvsgesture": np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)]),
    "cifar10dvs": np.dtype([("t", np.uint64), ("x", np.uint16), ("y", np.uint16), ("p", bool)]),
    "audio": np.dtype([("t", int), ("x", int), ("p", int)]),
}


def make_events(kind, n, W, H, span, seed, P=2, t0=0, pvals=None):
    """``n`` random events of dtype ``DTYPES[kind]`` on ``W x H``, t sorted in
    ``[t0, t0 + span)`` (repeated timestamps likely when ``span`` is small)."""
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, DTYPES[kind])
    ev["x"] = rng.integers(0, W, n)
    if "y" in ev.dtype.names:
        ev["y"] = rng.integers(0, H, n)
    vals = np.arange(P) if pvals is None else np.asarray(pvals)
    ev["p"] = vals[rng.integers(0, len(vals), n)]
    ev["t"] = t0 + np.sort(rng.integers(0, span, n))
    return ev


def _c(name, events, *chain):
    return {"name": name, "events": events, "chain": list(chain)}


def cases():
    """The comparison cases (deterministic)."""
    out = []
    add = out.append
    seed = iter(range(1000, 100000))
    for kind in ("nmnist", "dvsgesture", "cifar10dvs"):
        W, H = (7, 5) if kind != "dvsgesture" else (6, 6)
        ss = (W, H, 2)
        ev = make_events(kind, 300, W, H, 20_000, next(seed), t0=5)
        for kw in ({"time_window": 1000}, {"time_window": 1700.5},
                   {"time_window": 3000, "overlap": 1000},
                   {"time_window": 3000, "overlap": 500, "include_incomplete": True},
                   {"time_window": 2500, "start_time": 0, "end_time": 30_000},
                   {"time_window": 2500, "start_time": 4000, "end_time": 11_000,
                    "include_incomplete": True},
                   {"event_count": 40}, {"event_count": 40, "overlap": 15},
                   {"event_count": 70, "overlap": 20, "include_incomplete": True},
                   {"event_count": 1000},
                   {"n_time_bins": 7}, {"n_time_bins": 1}, {"n_time_bins": 6, "overlap": 0.25},
                   {"n_event_bins": 7}, {"n_event_bins": 9, "overlap": 0.5}):
            add(_c(f"{kind} ToFrame {kw}", ev, ("ToFrame", dict(sensor_size=ss, **kw))))
        add(_c(f"{kind} ToImage", ev, ("ToImage", {"sensor_size": ss})))
        for kw in ({"n_time_bins": 5}, {"event_count": 64, "overlap": 8,
                                         "include_incomplete": True}):
            add(_c(f"{kind} ToSparseTensor {kw}", ev,
                   ("ToSparseTensor", dict(sensor_size=ss, **kw))))
        for b in (1, 3, 10):
            add(_c(f"{kind} ToVoxelGrid {b}", ev,
                   ("ToVoxelGrid", {"sensor_size": ss, "n_time_bins": b})))
        for kw in ({"dt": 2000, "tau": 3000}, {"dt": 1234.5, "tau": 500.0}):
            add(_c(f"{kind} ToTimesurface {kw}", ev,
                   ("ToTimesurface", dict(sensor_size=ss, **kw))))
        big = make_events(kind, 400, 23, 17, 60_000, next(seed))
        for kw in ({}, {"surface_size": 3, "cell_size": 4, "time_window": 5000.0,
                        "tau": 800.0}, {"surface_size": 5, "cell_size": 6,
                                        "time_window": 20_000, "tau": 300, "decay": "lin"}):
            add(_c(f"{kind} ToAveragedTimesurface {kw}", big,
                   ("ToAveragedTimesurface", dict(sensor_size=(23, 17, 2), **kw))))
        add(_c(f"{kind} ToFrame + ToBinaRep", ev,
               ("ToFrame", {"sensor_size": ss, "n_time_bins": 12}),
               ("ToBinaRep", {"n_frames": 3, "n_bits": 4})))

    # ties and short spans: every timestamp repeated, span shorter than the bins
    tie = make_events("nmnist", 120, 4, 3, 6, next(seed), t0=100)
    for kw in ({"n_time_bins": 10}, {"n_time_bins": 3}, {"time_window": 2},
               {"n_event_bins": 8, "overlap": 0.9}):
        add(_c(f"ties ToFrame {kw}", tie, ("ToFrame", dict(sensor_size=(4, 3, 2), **kw))))
    add(_c("ties ToVoxelGrid 4", tie, ("ToVoxelGrid", {"sensor_size": (4, 3, 2),
                                                        "n_time_bins": 4})))
    add(_c("ties ToTimesurface", tie, ("ToTimesurface", {"sensor_size": (4, 3, 2), "dt": 2,
                                                          "tau": 3})))
    # one polarity: P = 1 merges every event into channel 0, whatever the one p value
    one = make_events("dvsgesture", 200, 5, 4, 5000, next(seed), pvals=[True])
    one_int = make_events("nmnist", 200, 5, 4, 5000, next(seed), pvals=[1])
    for name, ev in (("bool", one), ("int", one_int)):
        for kw in ({"n_time_bins": 4}, {"event_count": 50}, {"time_window": 900}):
            add(_c(f"one polarity ({name}) ToFrame {kw}", ev,
                   ("ToFrame", dict(sensor_size=(5, 4, 1), **kw))))
        add(_c(f"one polarity ({name}) ToImage", ev, ("ToImage", {"sensor_size": (5, 4, 1)})))
    # polarity -1 / +1: -1 indexes the last channel (NumPy indexing), ToVoxelGrid pol = p
    pm = make_events("nmnist", 200, 5, 4, 5000, next(seed), pvals=[-1, 1])
    add(_c("p in {-1, 1} ToFrame", pm, ("ToFrame", {"sensor_size": (5, 4, 2),
                                                    "n_event_bins": 3})))
    add(_c("p in {-1, 1} ToVoxelGrid", pm, ("ToVoxelGrid", {"sensor_size": (5, 4, 2),
                                                            "n_time_bins": 3})))
    # NumPy indexing quirks: x = -1 is the last column (frames, time surface); the voxel
    # grid indexes its flat array, so x = W lands on the next row's first pixel
    neg = make_events("nmnist", 150, 5, 4, 3000, next(seed))
    neg["x"][::7] = -1
    add(_c("x = -1 ToFrame", neg, ("ToFrame", {"sensor_size": (5, 4, 2), "n_event_bins": 2})))
    add(_c("x = -1 ToTimesurface", neg, ("ToTimesurface", {"sensor_size": (5, 4, 2),
                                                           "dt": 700, "tau": 400})))
    bleed = make_events("nmnist", 150, 5, 4, 3000, next(seed))
    bleed["x"][::5] = 5
    bleed["y"][::5] = np.minimum(bleed["y"][::5], 2)
    add(_c("x = W ToVoxelGrid", bleed, ("ToVoxelGrid", {"sensor_size": (5, 4, 2),
                                                        "n_time_bins": 3})))
    # counts past int16: 40000 events on one pixel wrap to 40000 - 65536
    hot = np.zeros(40_000, DTYPES["dvsgesture"])
    hot["t"] = 7
    hot["x"][::1000] = 1
    add(_c("int16 wrap ToImage", hot, ("ToImage", {"sensor_size": (2, 1, 2)})))
    # sensor size inferred per sample
    add(_c("inferred sensor ToFrame", pm, ("ToFrame", {"sensor_size": None,
                                                       "n_time_bins": 3})))
    add(_c("inferred sensor, one p value", one_int,
           ("ToFrame", {"sensor_size": None, "event_count": 60})))
    # audio-like events without y: frames [T, P, W]
    au = make_events("audio", 250, 9, 1, 8000, next(seed))
    for kw in ({"n_time_bins": 5}, {"time_window": 1500, "include_incomplete": True},
               {"n_event_bins": 4}):
        add(_c(f"audio ToFrame {kw}", au, ("ToFrame", dict(sensor_size=(9, 1, 2), **kw))))
    add(_c("audio ToImage", au, ("ToImage", {"sensor_size": (9, 1, 2)})))
    # one event and empty input where Tonic has a result
    single = make_events("nmnist", 1, 4, 4, 10, next(seed))
    add(_c("one event ToFrame event_count", single,
           ("ToFrame", {"sensor_size": (4, 4, 2), "event_count": 5})))
    add(_c("one event ToTimesurface", single,
           ("ToTimesurface", {"sensor_size": (4, 4, 2), "dt": 10, "tau": 5})))
    add(_c("one event ToAveragedTimesurface", single,
           ("ToAveragedTimesurface", {"sensor_size": (4, 4, 2), "cell_size": 2,
                                      "surface_size": 1})))
    empty = single[:0]
    for kw in ({"time_window": 100}, {"event_count": 5}, {"n_time_bins": 3},
               {"n_event_bins": 2}):
        add(_c(f"empty ToFrame {kw}", empty, ("ToFrame", dict(sensor_size=(4, 4, 2), **kw))))
    add(_c("empty ToAveragedTimesurface", empty,
           ("ToAveragedTimesurface", {"sensor_size": (4, 4, 2), "cell_size": 2,
                                      "surface_size": 1})))
    # timestamps past float32's exact range (HATS rounds them to float32 as Tonic does)
    far = make_events("nmnist", 300, 12, 12, 40_000, next(seed), t0=50_000_000)
    add(_c("t near 5e7 us ToAveragedTimesurface", far,
           ("ToAveragedTimesurface", {"sensor_size": (12, 12, 2), "cell_size": 6,
                                      "surface_size": 3, "time_window": 4000, "tau": 900})))
    add(_c("t near 5e7 us ToVoxelGrid", far, ("ToVoxelGrid", {"sensor_size": (12, 12, 2),
                                                              "n_time_bins": 5})))
    return out


def apply(mod, case):
    """Run ``case``'s chain with ``mod.transforms`` (``tonic`` or ``evframes.tonic``) on a
    copy of its events (Tonic writes into some inputs)."""
    v = case["events"].copy()
    for cls, kw in case["chain"]:
        v = getattr(mod.transforms, cls)(**kw)(v)
    return v


def as_stored(v):
    """An output as the reference file stores it: a dense array (sparse tensors: their
    indices, values and dense shape in a dict)."""
    if getattr(v, "is_sparse", False):
        return {"indices": v.indices().numpy(), "values": v.values().numpy(),
                "shape": np.asarray(v.shape, np.int64)}
    return np.asarray(v)


#: Real recordings (``../shared/data/real``) compared through a hash of Tonic's output.
REAL_FILES = {"nmnist": ("nmnist_bin/tonic_sample_nmnist.bin", (34, 34, 2)),
              "dvsgesture": ("dvs_gesture/dvsgesture_clip_40bit.bs2", (128, 128, 2))}


def real_events(real_dir, kind):
    """A real recording read by evframes, as a Tonic structured array of ``DTYPES[kind]``."""
    from evframes import read_events
    ev = read_events(str(real_dir / REAL_FILES[kind][0]))
    out = np.zeros(ev["t"].shape[0], DTYPES[kind])
    for k in ("x", "y", "t", "p"):
        out[k] = ev[k]
    return out


def real_cases():
    """``(kind, name, chain)`` run on the real recordings."""
    ss = {k: v[1] for k, v in REAL_FILES.items()}
    nm, ges = ss["nmnist"], ss["dvsgesture"]
    return [
        ("nmnist", "ToFrame time_window=1000", [("ToFrame", {"sensor_size": nm,
                                                              "time_window": 1000})]),
        ("nmnist", "ToFrame n_time_bins=10", [("ToFrame", {"sensor_size": nm,
                                                            "n_time_bins": 10})]),
        ("nmnist", "ToFrame event_count=300 overlap=100 incomplete",
         [("ToFrame", {"sensor_size": nm, "event_count": 300, "overlap": 100,
                       "include_incomplete": True})]),
        ("nmnist", "ToImage", [("ToImage", {"sensor_size": nm})]),
        ("nmnist", "ToVoxelGrid 10", [("ToVoxelGrid", {"sensor_size": nm, "n_time_bins": 10})]),
        ("nmnist", "ToTimesurface dt=10000 tau=5000",
         [("ToTimesurface", {"sensor_size": nm, "dt": 10000, "tau": 5000})]),
        ("nmnist", "ToAveragedTimesurface", [("ToAveragedTimesurface", {"sensor_size": nm})]),
        ("nmnist", "ToAveragedTimesurface window 20 ms lin",
         [("ToAveragedTimesurface", {"sensor_size": nm, "time_window": 20_000, "tau": 5000,
                                     "decay": "lin"})]),
        ("dvsgesture", "ToFrame n_event_bins=8 overlap=0.2",
         [("ToFrame", {"sensor_size": ges, "n_event_bins": 8, "overlap": 0.2})]),
        ("dvsgesture", "ToFrame time_window=50000 overlap=10000 incomplete",
         [("ToFrame", {"sensor_size": ges, "time_window": 50_000, "overlap": 10_000,
                       "include_incomplete": True})]),
        ("dvsgesture", "ToVoxelGrid 5", [("ToVoxelGrid", {"sensor_size": ges,
                                                          "n_time_bins": 5})]),
        ("dvsgesture", "ToTimesurface dt=100000 tau=30000",
         [("ToTimesurface", {"sensor_size": ges, "dt": 100_000, "tau": 30_000})]),
        ("dvsgesture", "ToSparseTensor n_time_bins=6",
         [("ToSparseTensor", {"sensor_size": ges, "n_time_bins": 6})]),
        ("dvsgesture", "ToAveragedTimesurface", [("ToAveragedTimesurface",
                                                  {"sensor_size": ges})]),
    ]


def digest(v) -> str:
    """sha256 of an output's dtype, shape and bytes (sparse tensors: of their parts)."""
    import hashlib
    h = hashlib.sha256()
    s = as_stored(v)
    parts = [s[k] for k in ("indices", "values", "shape")] if isinstance(s, dict) else [s]
    for a in parts:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


#: outputs that go through numpy's float64 ``exp``: numpy picks its ``exp`` loop by CPU (an
#: AVX512F loop where the CPU has it, another elsewhere), and the two differ by up to 1 ULP on
#: some values, so Tonic's own ToTimesurface values differ by 1 ULP between machines
EXP_OUTPUTS = ("ToTimesurface",)


def through_exp(chain) -> bool:
    """Whether a chain of ``(class name, kwargs)`` has a transform of :data:`EXP_OUTPUTS`."""
    return any(cls in EXP_OUTPUTS for cls, _ in chain)


def digest_f32(v) -> str:
    """:func:`digest` of a float output rounded to float32: the same on machines whose float64
    values differ by 1 ULP (a 1-ULP change flips a float32 rounding only for a value within
    2**-52 of a float32 midpoint: about 2**-28 of the values that differ)."""
    return digest(np.asarray(v).astype(np.float32))
