"""A replica of a user's own recordings folder (``evframes fake --dataset recordings``): class
folders of recordings in a mix of formats, written with evframes' writers, for the tests, the
raw-dataset contract and the demo of :mod:`evframes.raw.recordings`.

Each class has its own pattern moved by saccades (:func:`evframes.synth.saccade_events`) on a
128 x 128 sensor (the size every written format can state: AEDAT 2.0 holds DVS128 addresses
only), and recordings of a class cycle through the formats of :data:`FORMATS` (ATIS is left out:
its files state no sensor size). Times start at a random offset below a second.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .formats import write_events
from .formats.table import FORMATS as _TABLE
from .synth import class_pattern, saccade_events

#: formats of the replica's recordings, in the order they are used
FORMATS = ("aedat4", "evt3", "evt2", "dat", "evt21", "aedat3", "aedat2")
CLASSES = ("circle", "square", "wave")
SENSOR_SIZE = (128, 128)


def fake_recordings(out, per_class: int = 4, seed: int = 0, archive: bool = False,
                    scale: float = 1.0) -> dict:
    """Write ``out/<class>/rec<k>.<ext>`` (``per_class`` recordings per class, mixed formats).

    ``archive=True`` writes the other layout of the same recordings: the same files plus
    ``out/labels.csv`` with one row per recording (``<class>/rec<k>.<ext>,,,<class>``: whole
    recordings), which :class:`~evframes.raw.recordings.RecordingsRaw` then reads instead of
    the class folders (and must extract identically). ``scale`` multiplies the pattern size.
    Returns a summary dict (``dataset``, ``path``, ``samples``, ``events``, ``formats``).
    """
    if int(per_class) < 1:
        raise ValueError(f"per_class must be >= 1 (recordings per class), got {per_class}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    size = max(6, int(36 * min(max(scale, 0.5), 2.0)) // 6 * 6)
    rows, total, used = [], 0, set()
    k = 0
    for ci, c in enumerate(CLASSES):
        img = class_pattern(ci, size=size)
        (out / c).mkdir(exist_ok=True)
        for i in range(int(per_class)):
            fmt = FORMATS[k % len(FORMATS)]
            k += 1
            ev = saccade_events(img, SENSOR_SIZE[1], SENSOR_SIZE[0], rng, amplitude=4,
                                step_us=4000, t0=int(rng.integers(0, 1_000_000)))
            rel = f"{c}/rec{i}{_TABLE[fmt].extensions[0]}"
            write_events(out / rel, ev, format=fmt, sensor_size=SENSOR_SIZE)
            rows.append(f"{rel},,,{c}")
            total += len(ev)
            used.add(fmt)
    labels = out / "labels.csv"
    if archive:
        labels.write_text("file,start_us,end_us,label\n" + "\n".join(rows) + "\n")
    elif labels.exists():
        labels.unlink()
    return {"dataset": "recordings", "path": str(out), "samples": len(rows), "events": total,
            "formats": ",".join(f for f in FORMATS if f in used)}
