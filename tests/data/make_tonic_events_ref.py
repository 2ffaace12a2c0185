"""Generate tests/data/tonic_events_ref.npz: Tonic 1.7's event transforms on stored inputs.

Run in the benchmark environment (Tonic installed), from the repository root:

    PYTHONPATH=. .venv-bench/bin/python tests/data/make_tonic_events_ref.py

The file holds the inputs (random events in three of Tonic's dtypes, plus an unsorted copy),
the case list (transform name, keyword arguments as a Python literal, input, seed) and, per
case, a sha256 of Tonic's output (dtype, shape and bytes; for the two transforms whose order
of equal timestamps is numpy's unstable sort, of the output sorted by every field) and of
numpy's global generator state after the call. The real recordings' cases (Denoise,
RefractoryPeriod, Decimation on ../shared/data/real) store the output's hash and length; the
events are read with evframes' reader there and in the test.
tests/test_tonic_events.py replays every case through evframes.tonic.transforms.
"""
from __future__ import annotations

import hashlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "tonic_events_ref.npz"
REAL = HERE.parents[2] / "shared" / "data" / "real"

DTYPES = {
    "nmnist": np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")]),
    "gesture": np.dtype([("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")]),
    "audio": np.dtype([("t", "<i8"), ("x", "<i8"), ("p", "<i8")]),
}
S34, S128 = (34, 34, 2), (128, 128, 2)
SORT_TIES = {"UniformNoise", "TimeJitter:sort"}   # hashed after a sort by every field

# (name, kwargs literal, inputs): every public event transform of tonic.transforms 1.7
SPECS = [
    ("RandomFlipLR", "dict(sensor_size=S, p=0.5)", "nmnist gesture audio"),
    ("RandomFlipUD", "dict(sensor_size=S, p=0.5)", "nmnist gesture"),
    ("RandomFlipPolarity", "dict(p=0.5)", "nmnist gesture"),
    ("RandomTimeReversal", "dict(p=0.5)", "nmnist gesture"),
    ("RandomTimeReversal", "dict(p=0.6, flip_polarities=False)", "gesture"),
    ("MergePolarities", "dict()", "nmnist gesture"),
    ("CenterCrop", "dict(sensor_size=S, size=20)", "nmnist gesture"),
    ("CenterCrop", "dict(sensor_size=S, size=(40, 10))", "nmnist"),
    ("RandomCrop", "dict(sensor_size=S, target_size=(20, 15))", "nmnist gesture"),
    ("CropTime", "dict(min=1000, max=150000)", "nmnist gesture unsorted"),
    ("CropTime", "dict(min=5000)", "gesture"),
    ("DropEvent", "dict(p=0.3)", "nmnist gesture"),
    ("DropEvent", "dict(p=(0.1, 0.5))", "nmnist"),
    ("DropEventByTime", "dict(duration_ratio=0.3)", "nmnist gesture unsorted"),
    ("DropEventByTime", "dict(duration_ratio=(0.1, 0.6))", "nmnist"),
    ("DropEventByArea", "dict(sensor_size=S, area_ratio=0.3)", "nmnist gesture"),
    ("DropEventByArea", "dict(sensor_size=S, area_ratio=(0.1, 0.5))", "nmnist"),
    ("DropEventByArea", "dict(sensor_size=None, area_ratio=0.3)", "gesture"),
    ("DropPixel", "dict(coordinates=[(1, 2), (3, 4), (10, 10), (50, 50)])", "nmnist gesture"),
    ("DropPixel", "dict(hot_pixel_frequency=15000)", "nmnist gesture"),
    ("RandomDropPixel", "dict(p=0.2, sensor_size=S)", "nmnist gesture"),
    ("Downsample", "dict(time_factor=0.001, spatial_factor=0.25)", "nmnist gesture"),
    ("Downsample", "dict(time_factor=1.7, spatial_factor=(0.5, 0.3))", "gesture"),
    ("Downsample", "dict(sensor_size=S, target_size=(10, 7))", "nmnist"),
    ("Downsample", "dict(time_factor=(0.5, 2.0))", "nmnist"),
    ("TimeJitter", "dict(std=100)", "nmnist gesture"),
    ("TimeJitter", "dict(std=100, clip_negative=False)", "gesture"),
    ("TimeJitter:sort", "dict(std=300, sort_timestamps=True)", "nmnist"),
    ("TimeSkew", "dict(coefficient=1.3, offset=100)", "nmnist gesture"),
    ("TimeSkew", "dict(coefficient=(0.8, 1.2), offset=(0, 150))", "nmnist"),
    ("SpatialJitter", "dict(sensor_size=S)", "nmnist gesture"),
    ("SpatialJitter", "dict(sensor_size=S, var_x=2, var_y=0.5, sigma_xy=0.3, "
                      "clip_outliers=True)", "nmnist gesture"),
    ("TimeAlignment", "dict()", "nmnist gesture"),
    ("RefractoryPeriod", "dict(delta=1000)", "nmnist gesture unsorted"),
    ("RefractoryPeriod", "dict(delta=(0, 1000))", "nmnist"),
    ("Denoise", "dict(filter_time=10000)", "nmnist gesture unsorted"),
    ("Denoise", "dict(filter_time=2500.5)", "nmnist"),
    ("Decimation", "dict(n=3)", "nmnist gesture audio"),
    ("EventDrop", "dict(sensor_size=S)", "nmnist gesture"),
    ("UniformNoise", "dict(sensor_size=S, n=300)", "nmnist gesture"),
    ("UniformNoise", "dict(sensor_size=S, n=(100, 400))", "nmnist"),
    ("NumpyAsType", "dict(dtype='int')", "nmnist gesture"),
    ("NumpyAsType", "dict(dtype='float32')", "gesture"),
    ("EventDownsampling", "dict(sensor_size=S, target_size=(10, 7), dt=5, noise_threshold=1, "
                          "downsampling_method='integrator')", "gesture"),
    ("EventDownsampling", "dict(sensor_size=S, target_size=(17, 17), dt=20, noise_threshold=2, "
                          "downsampling_method='differentiator', differentiator_time_bins=3)",
     "gesture"),
    ("Compose", "dict(transforms=[('Denoise', dict(filter_time=20000)), "
                "('DropEvent', dict(p=0.2)), ('RandomFlipLR', dict(sensor_size=S))])",
     "nmnist gesture"),
]
SEEDS = (0, 1, 2)
REAL_CASES = [  # (file, transform, kwargs literal)
    ("nmnist_bin/tonic_sample_nmnist.bin", "Denoise", "dict(filter_time=10000)"),
    ("nmnist_bin/tonic_sample_nmnist.bin", "Denoise", "dict(filter_time=3000)"),
    ("nmnist_bin/tonic_sample_nmnist.bin", "RefractoryPeriod", "dict(delta=2000)"),
    ("dvs_gesture/dvsgesture_clip_40bit.bs2", "Denoise", "dict(filter_time=10000)"),
    ("dvs_gesture/dvsgesture_clip_40bit.bs2", "Denoise", "dict(filter_time=1000)"),
    ("dvs_gesture/dvsgesture_clip_40bit.bs2", "RefractoryPeriod", "dict(delta=5000)"),
    ("dvs_gesture/dvsgesture_clip_40bit.bs2", "Decimation", "dict(n=4)"),
]


def make_inputs() -> dict:
    """Random events: 800 per input on a 34x34 sensor over 300 ms (t sorted, with repeats)."""
    rng = np.random.default_rng(20261202)
    out = {}
    for key, dt in DTYPES.items():
        n = 800
        e = np.zeros(n, dt)
        e["x"] = rng.integers(0, 34, n)
        if "y" in dt.names:
            e["y"] = rng.integers(0, 34, n)
        e["t"] = np.sort(rng.integers(0, 300_000, n))
        e["p"] = rng.integers(0, 2, n)
        out[key] = e
    u = out["nmnist"].copy()
    u["t"] = rng.permutation(u["t"])
    out["unsorted"] = u
    return out


def tonic_events(path: Path) -> np.ndarray:
    """A real recording as Tonic's N-MNIST dtype (read with evframes' reader)."""
    import evframes
    ev = evframes.read_events(path)
    e = np.zeros(len(ev["t"]), DTYPES["nmnist"])
    for k in "xytp":
        e[k] = ev[k]
    return e


def build(module, name: str, kwargs_src: str, sensor):
    """The transform ``name`` of ``module`` (tonic.transforms or evframes.tonic.transforms)."""
    kwargs = eval(kwargs_src, {"S": sensor})  # the literals above, written here
    name = name.split(":")[0]
    if name == "NumpyAsType":
        kwargs["dtype"] = {"int": int, "float32": np.float32}[kwargs["dtype"]]
    if name == "Compose":
        return module.Compose([getattr(module, n)(**k) for n, k in kwargs["transforms"]])
    return getattr(module, name)(**kwargs)


def digest(a, sort_ties: bool = False) -> str:
    """sha256 of an array's dtype, shape and bytes (sorted by every field when asked)."""
    a = np.ascontiguousarray(a)
    if sort_ties and a.dtype.names:
        a = a[np.lexsort([a[n] for n in reversed(a.dtype.names)])]
    h = hashlib.sha256(f"{a.dtype.str if a.dtype.names is None else a.dtype.descr}"
                       f"{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def state_digest() -> str:
    _, key, pos, has_gauss, gauss = np.random.get_state()
    return hashlib.sha256(key.tobytes() + f"{pos},{has_gauss},{gauss!r}".encode()).hexdigest()


def cases():
    for name, kw, inputs in SPECS:
        for inp in inputs.split():
            for seed in SEEDS:
                yield {"name": name, "kwargs": kw, "input": inp, "seed": seed}


def main() -> None:
    import tonic
    import tonic.transforms as tt
    assert tonic.__version__.startswith("1.7"), tonic.__version__
    inputs = make_inputs()
    rows = []
    for c in cases():
        ev = inputs[c["input"]]
        np.random.seed(c["seed"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = build(tt, c["name"], c["kwargs"], S34)(ev.copy())
        rows.append({**c, "out": digest(out, c["name"] in SORT_TIES), "n": len(out),
                     "state": state_digest()})
    real = []
    for rel, name, kw in REAL_CASES:
        path = REAL / rel
        if not path.is_file():
            sys.exit(f"real recording {path} missing")
        ev = tonic_events(path)
        out = build(tt, name, kw, S128)(ev.copy())
        real.append({"file": rel, "name": name, "kwargs": kw, "in": digest(ev),
                     "out": digest(out), "n": len(out)})
    np.savez_compressed(OUT, **inputs, cases=json.dumps(rows), real=json.dumps(real),
                        tonic=tonic.__version__, numpy=np.__version__)
    print(f"{OUT}: {len(rows)} cases, {len(real)} real-recording cases, "
          f"{OUT.stat().st_size / 1024:.0f} kB")


if __name__ == "__main__":
    main()
