"""Regenerate prophesee_peer_reference.npz: the real Prophesee recordings decoded by the peers.

Run with the benchmark environment (peers installed)::

    PYTHONPATH=. .venv-bench/bin/python tests/data/make_prophesee_peer_ref.py

For every real file (shared/data/real/prophesee) and every peer that reads its format (faery,
expelliarmus, evlib), the decoded events as canonical int64 columns: their count, a blake2b
digest of t, x, y, p (polarity as 0/1), and the first / last timestamps. The default test suite
compares evframes' decode with these without importing the peers.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[2] / "shared" / "data" / "real" / "prophesee"
FILES = {"evt2": "faery_evt2.raw", "evt3": "expelliarmus_evt3_sample_small.raw",
         "dat": "expelliarmus_dat_sample_small.dat"}
SIZES = {"evt2": (640, 480), "evt3": (1280, 720), "dat": (128, 128)}


def digest(t, x, y, p) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in (t, x, y, p):
        h.update(np.ascontiguousarray(a, np.int64).tobytes())
    return h.hexdigest()


def peer_decodes(kind: str, path: Path) -> dict:
    """{peer: (t, x, y, p)} for the peers that read ``kind``."""
    out = {}
    from expelliarmus import Wizard
    a = Wizard(encoding=kind).read(str(path))
    out["expelliarmus"] = (a["t"], a["x"], a["y"], a["p"])
    from faery import extension as ext
    if kind == "dat":
        with ext.dat.Decoder(path, SIZES[kind], None) as d:
            a = np.concatenate(list(d))
        out["faery"] = (a["t"], a["x"], a["y"], a["payload"])
    else:
        with ext.evt.Decoder(path, SIZES[kind], None) as d:
            a = np.concatenate([pk["events"] for pk in d if "events" in pk])
        out["faery"] = (a["t"], a["x"], a["y"], a["on"])
        import evlib
        df = evlib.load_events(str(path), sort=False).collect()
        t = df["t"].dt.total_microseconds().to_numpy()
        out["evlib"] = (t, df["x"].to_numpy(), df["y"].to_numpy(),
                        (df["polarity"].to_numpy() > 0))
    return out


def main() -> int:
    ref = {}
    for kind, name in FILES.items():
        for peer, cols in peer_decodes(kind, REAL / name).items():
            t = np.asarray(cols[0], np.int64)
            key = f"{kind}/{peer}"
            ref[key + "/n"] = np.int64(t.shape[0])
            ref[key + "/digest"] = np.array(digest(*cols))
            ref[key + "/t_first_last"] = np.array([t[0], t[-1]], np.int64)
            print(key, t.shape[0], t[0], t[-1])
    np.savez(HERE / "prophesee_peer_reference.npz", **ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
