"""Synthetic raw datasets in the real on-disk formats and layouts (demo, tests, benchmarks).

No dataset can be downloaded on the machines evframes is built on, so the demo, the tests and the
benchmarks run on replicas written here: the same archive names, folder layout, file formats and
label files as the real downloads, with events whose motion differs per class so that a small
network can learn them.

- :func:`fake_dvs128`: ``DvsGesture.tar.gz`` (or the extracted folder) with AEDAT 3.1
  recordings ``userNN_<lighting>.aedat``, labels CSVs (12 rows: classes 1..11, class 8 twice, one
  pair of overlapping intervals, as in the real user01_natural), trials lists,
  gesture_mapping.csv, LICENSE.txt, README.txt. The full layout is 122 recordings (98 train,
  24 test -> 1176 / 288 samples).
- :func:`fake_nmnist`: ``Train.zip`` / ``Test.zip`` with ``<Split>/<digit>/<id>.bin`` (ATIS
  40-bit), digits drawn from a 5x7 font and moved by three saccades, 34 x 34 pixels.
- :func:`fake_cifar10dvs`: ``airplane.zip`` ... ``truck.zip`` with AEDAT 2.0 recordings (jAER
  header), class-specific patterns moved by saccades, stored in raw DVS128 address orientation
  so that the SpikingJelly orientation convention shows them upright.

Event rates scale with ``scale`` (1.0 ~ the real datasets' rates); durations are realistic.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from .events import Events, make_events

LIGHTINGS = ["fluorescent", "fluorescent_led", "lab", "led", "natural"]
GESTURE_ROWS = [1, 2, 3, 5, 4, 6, 7, 8, 8, 9, 10, 11]  # class order of the real user01_natural
GESTURE_MAPPING = [
    "hand_clapping", "right_hand_wave", "left_hand_wave", "right_arm_clockwise",
    "right_arm_counter_clockwise", "left_arm_clockwise", "left_arm_counter_clockwise",
    "arm_roll", "air_drums", "air_guitar", "other_gestures"]


# ------------------------------------------------------------------------------------------
# DVS128 Gesture
# ------------------------------------------------------------------------------------------
def gesture_recordings(n: Optional[int] = None) -> List[Tuple[str, str]]:
    """``[(name, split), ...]`` of the replica's recordings.

    ``n=None`` gives the real layout: users 1-23 train (users 1-6 in 5 lightings, the rest in
    4: 98 recordings), users 24-29 test (4 lightings each: 24). A smaller ``n`` keeps about 80%
    train recordings, at least one test recording.
    """
    train, test = [], []
    for u in range(1, 30):
        k = 5 if u <= 6 else 4
        names = [f"user{u:02d}_{lt}.aedat" for lt in
                 (LIGHTINGS if k == 5 else [LIGHTINGS[i] for i in (0, 2, 3, 4)])]
        (train if u <= 23 else test).extend(names)
    if n is None or n >= len(train) + len(test):
        return [(r, "train") for r in train] + [(r, "test") for r in test]
    if n < 2:
        raise ValueError("need at least 2 recordings (one train, one test)")
    n_test = max(1, int(round(n * 0.2)))
    # spread recordings over users so train and test hold different users
    pick_tr = train[:: max(1, len(train) // (n - n_test))][: n - n_test]
    pick_te = test[:: max(1, len(test) // n_test)][:n_test]
    return [(r, "train") for r in pick_tr] + [(r, "test") for r in pick_te]


def _blob_centres(cls: int, tau: np.ndarray, rng: np.random.Generator, n_blobs_out: list):
    """Centres [(cx, cy) arrays] of the moving blob(s) of gesture ``cls`` (0..10) at phase
    times ``tau`` (seconds since gesture start). Pixels on a 128 x 128 sensor."""
    f = 1.2  # movements per second
    ph = 2 * np.pi * f * tau
    if cls == 0:    # hand clapping: two hands meet in the middle
        d = 8 + 18 * np.abs(np.cos(ph / 2))
        return [(64 - d, 70 + 0 * tau), (64 + d, 70 + 0 * tau)]
    if cls == 1:    # right hand wave
        return [(92 + 16 * np.sin(ph), 44 + 4 * np.cos(2 * ph))]
    if cls == 2:    # left hand wave
        return [(36 + 16 * np.sin(ph), 44 + 4 * np.cos(2 * ph))]
    if cls in (3, 4, 5, 6):  # arm circles: right/left, clockwise/counter-clockwise
        cx = 88 if cls in (3, 4) else 40
        sgn = 1 if cls in (3, 5) else -1
        return [(cx + 20 * np.cos(sgn * ph), 64 + 20 * np.sin(sgn * ph))]
    if cls == 7:    # arm roll: two blobs circling each other fast
        return [(64 + 11 * np.cos(2 * ph), 80 + 11 * np.sin(2 * ph)),
                (64 - 11 * np.cos(2 * ph), 80 - 11 * np.sin(2 * ph))]
    if cls == 8:    # air drums: two hands up and down, out of phase
        return [(44 + 0 * tau, 76 + 14 * np.sin(ph)), (84 + 0 * tau, 76 - 14 * np.sin(ph))]
    if cls == 9:    # air guitar: strumming hand on a diagonal
        return [(60 + 14 * np.sin(2 * ph), 88 + 14 * np.sin(2 * ph))]
    # other gestures: a smooth random walk
    k = rng.normal(size=(4,))
    return [(64 + 30 * np.sin(0.7 * ph + k[0]) * np.cos(0.3 * ph + k[1]),
             64 + 30 * np.sin(0.5 * ph + k[2]) * np.cos(0.4 * ph + k[3]))]


def gesture_events(cls: int, start_us: int, end_us: int, rate: float,
                   rng: np.random.Generator) -> Events:
    """Events of one gesture of class ``cls`` (0..10) in ``[start_us, end_us)``.

    Events lie on the edge of moving blob(s) (radius ~10 px); polarity 1 on the leading edge,
    0 on the trailing one; 5% uniform noise. ``rate`` in events per second.
    """
    dur = (end_us - start_us) / 1e6
    n = int(rate * dur)
    if n <= 0:
        return make_events([], [], [], [])
    t = np.sort(rng.integers(start_us, end_us, size=n))
    tau = (t - start_us) / 1e6
    eps = 2e-3
    c0 = _blob_centres(cls, tau, np.random.default_rng(cls * 7919 + int(start_us) % 9973), [])
    c1 = _blob_centres(cls, tau + eps, np.random.default_rng(cls * 7919 + int(start_us) % 9973),
                       [])
    which = rng.integers(0, len(c0), size=n)
    cx = np.choose(which, [c[0] for c in c0]) if len(c0) > 1 else c0[0][0]
    cy = np.choose(which, [c[1] for c in c0]) if len(c0) > 1 else c0[0][1]
    vx = (np.choose(which, [c[0] for c in c1]) if len(c1) > 1 else c1[0][0]) - cx
    vy = (np.choose(which, [c[1] for c in c1]) if len(c1) > 1 else c1[0][1]) - cy
    th = rng.uniform(0, 2 * np.pi, size=n)
    r = 10 + rng.normal(0, 1.2, size=n)
    x = cx + r * np.cos(th)
    y = cy + r * np.sin(th)
    p = ((np.cos(th) * vx + np.sin(th) * vy) > 0).astype(np.int8)
    noise = rng.random(n) < 0.05
    x = np.where(noise, rng.uniform(0, 128, n), x)
    y = np.where(noise, rng.uniform(0, 128, n), y)
    p = np.where(noise, rng.integers(0, 2, n), p)
    x = np.clip(np.round(x), 0, 127)
    y = np.clip(np.round(y), 0, 127)
    return make_events(t, x, y, p)


def gesture_recording(seed: int, scale: float = 0.05, gesture_s: float = 6.0):
    """One recording: (events, labels rows [(class, start, end)]). Rows follow the real
    user01_natural order (class 8 twice); rows 8 and 9 overlap by 0.4 s."""
    rng = np.random.default_rng(seed)
    rate = 50_000.0 * scale
    rows, parts = [], []
    t = int(2_000_000 + rng.integers(0, 500_000))
    for i, c in enumerate(GESTURE_ROWS):
        dur = int(gesture_s * 1e6 * rng.uniform(0.85, 1.15))
        s = t
        if i == 8:
            s = rows[-1][2] - 400_000  # overlaps the previous row, as real labels can
        e = s + dur
        rows.append((c, s, e))
        parts.append(gesture_events(c - 1, s if i != 8 else s + 400_000, e, rate, rng))
        t = e + int(rng.integers(300_000, 1_200_000))
    end = t + 1_000_000
    nn = int(1000 * scale * 20 * end / 1e6)  # background activity
    parts.append(make_events(rng.integers(0, end, nn), rng.integers(0, 128, nn),
                             rng.integers(0, 128, nn), rng.integers(0, 2, nn)))
    t_all = np.concatenate([q["t"] for q in parts])
    order = np.argsort(t_all, kind="stable")
    ev = make_events(t_all[order], np.concatenate([q["x"] for q in parts])[order],
                     np.concatenate([q["y"] for q in parts])[order],
                     np.concatenate([q["p"] for q in parts])[order])
    return ev, rows


def _write_gesture_recording(args):
    from .formats import write_aedat3
    folder, name, seed, scale = args
    ev, rows = gesture_recording(seed, scale)
    write_aedat3(Path(folder) / name, ev)
    csv = "class,startTime_usec,endTime_usec\n" + "".join(f"{c},{s},{e}\n" for c, s, e in rows)
    (Path(folder) / name.replace(".aedat", "_labels.csv")).write_text(csv)
    return len(ev)


def fake_dvs128(out, recordings: Optional[int] = 12, scale: float = 0.05, seed: int = 0,
                archive: bool = True, workers: Optional[int] = None,
                compresslevel: int = 6) -> dict:
    """Write a DVS128 Gesture replica under ``out``; returns a summary dict.

    ``recordings``: number of recordings (None or >= 122: the full real layout).
    ``scale``: event-rate multiplier (1.0 ~ 50 k events/s of gesture, like the real data).
    ``archive``: write ``DvsGesture.tar.gz`` (True) or the extracted ``DvsGesture/`` folder.
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0 (an event-rate multiplier), got {scale}")
    recs = gesture_recordings(recordings)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".fake-dvs128-", dir=out))
    folder = tmp / "DvsGesture"
    folder.mkdir()
    try:
        jobs = [(str(folder), name, seed * 100_003 + i, scale) for i, (name, _) in
                enumerate(recs)]
        workers = workers or min(len(jobs), os.cpu_count() or 1)
        if workers > 1 and len(jobs) > 2:
            with ProcessPoolExecutor(workers) as ex:
                n_events = sum(ex.map(_write_gesture_recording, jobs))
        else:
            n_events = sum(map(_write_gesture_recording, jobs))
        for split in ("train", "test"):
            (folder / f"trials_to_{split}.txt").write_text(
                "".join(f"{r}\n" for r, s in recs if s == split))
        (folder / "gesture_mapping.csv").write_text(
            "action,label\n" + "".join(f"{n},{i + 1}\n" for i, n in enumerate(GESTURE_MAPPING)))
        (folder / "LICENSE.txt").write_text("Synthetic replica written by evframes fake; "
                                            "not the IBM DVS128 Gesture data.\n")
        (folder / "README.txt").write_text("DVS128 Gesture replica (evframes fake): same layout "
                                           "and formats as the real dataset.\n")
        if archive:
            target = out / "DvsGesture.tar.gz"
            part = out / "DvsGesture.tar.gz.part"
            with tarfile.open(part, "w:gz", compresslevel=compresslevel) as tf:
                names = sorted(p.name for p in folder.iterdir())
                # trials lists and mapping first, then recordings with their labels (as tar -c)
                for nm in names:
                    tf.add(folder / nm, arcname=f"DvsGesture/{nm}")
            os.replace(part, target)
        else:
            target = out / "DvsGesture"
            if target.exists():
                shutil.rmtree(target)
            os.replace(folder, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"dataset": "dvs128", "path": str(target), "recordings": len(recs),
            "train_recordings": sum(s == "train" for _, s in recs),
            "test_recordings": sum(s == "test" for _, s in recs),
            "samples": len(recs) * len(GESTURE_ROWS), "events": int(n_events)}


# ------------------------------------------------------------------------------------------
# N-MNIST and CIFAR10-DVS: static patterns moved by saccades
# ------------------------------------------------------------------------------------------
_FONT = {  # 5 x 7 bitmaps, rows top to bottom
    0: ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    1: ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    2: ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    3: ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
    4: ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    5: ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    6: ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    7: ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    8: ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    9: ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
}


def digit_image(d: int, zoom: int = 3) -> np.ndarray:
    """Binary image [7*zoom, 5*zoom] of digit ``d``."""
    a = np.array([[c == "1" for c in row] for row in _FONT[d]], dtype=bool)
    return np.kron(a, np.ones((zoom, zoom), dtype=bool))


def class_pattern(c: int, size: int = 48, cells: int = 6) -> np.ndarray:
    """Binary image [size, size] specific to class ``c`` (a seeded random cell pattern)."""
    rng = np.random.default_rng(1000 + c)
    a = rng.random((cells, cells)) < 0.45
    a[cells // 2, :] |= bool(c % 2)
    return np.kron(a, np.ones((size // cells, size // cells), dtype=bool))


def saccade_events(img: np.ndarray, H: int, W: int, rng: np.random.Generator,
                   step_us: int = 5000, amplitude: int = 3, noise: float = 0.02,
                   t0: int = 0) -> Events:
    """Events of ``img`` placed near the centre of an H x W sensor and moved along the three
    saccades of N-MNIST (a triangle, ~100 ms each): ON where a pixel turns on between steps,
    OFF where it turns off; timestamps uniform within each ``step_us`` step."""
    h, w = img.shape
    oy = (H - h) // 2 + int(rng.integers(-1, 2))
    ox = (W - w) // 2 + int(rng.integers(-1, 2))
    corners = [(0, 0), (amplitude, amplitude), (0, 2 * amplitude), (0, 0)]
    path = []
    for (a0, b0), (a1, b1) in zip(corners[:-1], corners[1:]):
        for k in range(20):
            f = k / 20
            path.append((int(round(a0 + (a1 - a0) * f)), int(round(b0 + (b1 - b0) * f))))
    frame = np.zeros((H + 2 * amplitude + 2, W + 2 * amplitude + 2), dtype=bool)

    def place(dy, dx):
        fr = np.zeros_like(frame)
        fr[oy + dy: oy + dy + h, ox + dx: ox + dx + w] = img
        return fr[:H, :W]

    prev = place(*path[0])
    ts, xs, ys, ps = [], [], [], []
    for k, (dy, dx) in enumerate(path[1:], start=1):
        cur = place(dy, dx)
        on = np.argwhere(cur & ~prev)
        off = np.argwhere(~cur & prev)
        for pts, pol in ((on, 1), (off, 0)):
            if len(pts):
                keep = rng.random(len(pts)) < 0.9
                pts = pts[keep]
                ys.append(pts[:, 0])
                xs.append(pts[:, 1])
                ps.append(np.full(len(pts), pol))
                ts.append(t0 + (k - 1) * step_us + rng.integers(0, step_us, len(pts)))
        prev = cur
    n_noise = int(noise * sum(len(a) for a in ts)) + 1
    total = len(path) * step_us
    ts.append(t0 + rng.integers(0, total, n_noise))
    xs.append(rng.integers(0, W, n_noise))
    ys.append(rng.integers(0, H, n_noise))
    ps.append(rng.integers(0, 2, n_noise))
    t = np.concatenate(ts)
    order = np.argsort(t, kind="stable")
    return make_events(t[order], np.concatenate(xs)[order], np.concatenate(ys)[order],
                       np.concatenate(ps)[order])


def _encoded_bytes(ev: Events, fmt: str) -> bytes:
    """One recording in a raw format ('atis' or 'aedat2'), as the bytes of an archive member."""
    from .formats import write_aedat2, write_atis_bin
    writer, suffix = {"atis": (write_atis_bin, ".bin"), "aedat2": (write_aedat2, ".aedat")}[fmt]
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as fh:
        path = fh.name
    try:
        writer(path, ev)
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


def _write_members(out: Path, zip_name, members) -> None:
    """Write ``[(relative name, bytes)]`` into ``out/zip_name`` (atomic), or as files under
    ``out`` when ``zip_name`` is None (the extracted layout)."""
    if zip_name is not None:
        _write_zip(out / zip_name, members)
        return
    for name, data in members:
        p = out / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def _write_zip(target: Path, members):
    part = target.with_name(target.name + ".part")
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, data in members:
            zf.writestr(name, data)
    os.replace(part, target)


def fake_nmnist(out, per_class_train: int = 50, per_class_test: int = 10, seed: int = 0,
                archive: bool = True) -> dict:
    """Write an N-MNIST replica (``Train.zip``/``Test.zip`` or folders) under ``out``.

    Full size is 6000 / 1000 per class (60000 / 10000 samples)."""
    for what, v in (("per_class_train", per_class_train), ("per_class_test", per_class_test)):
        if int(v) < 1:
            raise ValueError(f"{what} must be >= 1 (samples per digit), got {v}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    total = 0
    counts = {}
    for split, per in (("Train", per_class_train), ("Test", per_class_test)):
        members = []
        k = 0
        for d in range(10):
            img = digit_image(d)
            for _ in range(per):
                k += 1
                ev = saccade_events(img, 34, 34, rng, t0=int(rng.integers(0, 2000)))
                total += len(ev)
                members.append((f"{split}/{d}/{k:05d}.bin", _encoded_bytes(ev, "atis")))
        counts[split.lower()] = len(members)
        _write_members(out, f"{split}.zip" if archive else None, members)
    return {"dataset": "nmnist", "path": str(out), "samples": counts, "events": total}


CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck"]


def fake_cifar10dvs(out, per_class: int = 20, seed: int = 0, archive: bool = True,
                    scale: float = 1.0) -> dict:
    """Write a CIFAR10-DVS replica (ten class zips or folders of AEDAT 2.0 files) under ``out``.

    Events are generated upright, then stored in raw DVS128 address orientation (the inverse of
    the SpikingJelly convention, which is its own inverse). Full size is 1000 per class."""
    from .raw.cifar10dvs import orient_events
    if int(per_class) < 1:
        raise ValueError(f"per_class must be >= 1 (recordings per class), got {per_class}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    total = 0
    for ci, c in enumerate(CIFAR_CLASSES):
        img = class_pattern(ci, size=int(48 * min(max(scale, 0.5), 2.0)) // 6 * 6)
        members = []
        for i in range(per_class):
            ev = saccade_events(img, 128, 128, rng, amplitude=4, step_us=10_000)
            raw = orient_events(ev, "spikingjelly")
            total += len(raw)
            members.append((f"{c}/cifar10_{c}_{i}.aedat", _encoded_bytes(raw, "aedat2")))
        _write_members(out, f"{c}.zip" if archive else None, members)
    return {"dataset": "cifar10dvs", "path": str(out), "samples": 10 * per_class,
            "events": total}
