"""Regenerate ``tonic_repr_ref.npz``, Tonic 1.7's outputs on ``tonic_repr_cases.py``.

Run in the benchmark environment, where Tonic is installed:

    PYTHONPATH=. .venv-bench/bin/python tests/data/make_tonic_repr_ref.py

Stored: ``e{k}``, the distinct inputs; per case ``i``, ``c{i}_out`` (dense outputs) or
``c{i}_indices`` / ``c{i}_values`` / ``c{i}_shape`` (sparse tensors); ``manifest`` (JSON):
per case its name, chain and input ``e{k}``, Tonic's version, the dataclass fields and
defaults of Tonic's To* classes, and for the real recordings the sha256 of their events and
of Tonic's output (``digest``, and ``digest_f32``: rounded to float32, for outputs whose
float64 values depend on the CPU's ``exp`` loop).
"""
from __future__ import annotations

import dataclasses
import json
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tonic_repr_cases import apply, as_stored, cases, digest, digest_f32, real_cases, real_events  # noqa: E402

CLASSES = ("ToFrame", "ToImage", "ToSparseTensor", "ToVoxelGrid", "ToTimesurface",
           "ToAveragedTimesurface", "ToBinaRep", "ToOneHotEncoding")
REAL_DIR = HERE.parents[2] / "shared" / "data" / "real"


def chain_json(chain):
    return json.loads(json.dumps(chain))  # tuples -> lists, as the test compares


def main():
    import tonic
    arrays, names, inputs = {}, [], {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Tonic's own 0/0 and overflow warnings
        for i, case in enumerate(cases()):
            out = as_stored(apply(tonic, case))
            key = inputs.setdefault(digest(case["events"]), f"e{len(inputs)}")
            arrays[key] = case["events"]
            if isinstance(out, dict):
                for k, v in out.items():
                    arrays[f"c{i}_{k}"] = v
            else:
                arrays[f"c{i}_out"] = out
            names.append({"name": case["name"], "chain": chain_json(case["chain"]),
                          "events": key})
        real = []
        for kind, name, chain in real_cases():
            ev = real_events(REAL_DIR, kind)
            v = ev.copy()
            for cls, kw in chain:
                v = getattr(tonic.transforms, cls)(**kw)(v)
            real.append({"kind": kind, "name": name, "chain": chain_json(chain),
                         "events_sha256": digest(ev), "sha256": digest(v),
                         "sha256_f32": digest_f32(v) if isinstance(v, np.ndarray) else None})
    fields = {}
    for cls in CLASSES:
        c = getattr(tonic.transforms, cls)
        fields[cls] = [[f.name, None if f.default is dataclasses.MISSING else repr(f.default)]
                       for f in dataclasses.fields(c)]
        fields[cls].append(["frozen", repr(c.__dataclass_params__.frozen)])
    manifest = {"tonic": tonic.__version__, "numpy": np.__version__, "cases": names,
                "real": real, "fields": fields}
    arrays["manifest"] = np.array(json.dumps(manifest))
    path = HERE / "tonic_repr_ref.npz"
    np.savez_compressed(path, **arrays)
    print(f"{path}: {len(names)} cases, {len(real)} real, {path.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
