"""Synthetic replicas of N-CARS, DVS-Lip and NAVGesture in their real layouts and formats
(the helpers of :mod:`evframes.synth`; the layouts: :mod:`evframes.raw.ncars`,
:mod:`evframes.raw.dvs_lip`, :mod:`evframes.raw.nav_gesture`).

- :func:`fake_ncars`: ``Prophesee_Dataset_n_cars.zip`` holding ``n-cars_train.zip`` and
  ``n-cars_test.zip`` (``outer=False``: those two in the root; ``archive=False``: the folders
  ``train/``, ``test/``), each ``<split>/{cars,background}/obj_NNNNNN_td.dat``: Prophesee DAT
  version 2 files of 100 ms, each a crop of its own size (at most 120 x 100): a car-like shape
  passing through it, or a background texture drifting.
- :func:`fake_dvslip`: ``DVS-Lip.zip`` (or ``DVS-Lip/``) with ``DVS-Lip/<split>/<word>/<n>.npy``,
  structured arrays ``t`` int32 (us), ``x``, ``y``, ``p`` int8 on 128 x 128: a mouth opening and
  closing with a word-specific rhythm for about a second.
- :func:`fake_navgesture`: ``navgesture-<variant>.zip`` holding ``userNN.zip`` (each
  ``userNN/userNN_<code>_KK.dat``) or the folder ``navgesture-<variant>/userNN/``: ATIS td files
  (``%`` header, DAT version 1 records) of a hand moving in the gesture's direction over a
  drifting background, stored in the sensor's orientation (``y`` down-up: SpikingJelly's
  ``239 - y`` shows them upright), times from an arbitrary start.
"""
from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from .events import Events, make_events


def _check(**counts):
    for what, v in counts.items():
        if v is not None and int(v) < 1:
            raise ValueError(f"{what} must be >= 1, got {v}")


def _out(out) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def frames_events(frames: np.ndarray, t0: int, step_us: int, rng: np.random.Generator,
                  keep: float = 0.8, noise: float = 0.02) -> Events:
    """Events of binary frames ``[S, H, W]``: ON where a pixel turns on between steps, OFF
    where it turns off (a fraction ``keep`` of them), times uniform within each ``step_us``
    step from ``t0``; plus ``noise`` random events; sorted by time."""
    frames = np.asarray(frames, bool)
    S, H, W = frames.shape
    parts = []
    for pol, change in ((1, frames[1:] & ~frames[:-1]), (0, ~frames[1:] & frames[:-1])):
        k, y, x = np.nonzero(change)
        sel = rng.random(k.shape[0]) < keep
        parts.append((k[sel], y[sel], x[sel], np.full(int(sel.sum()), pol)))
    k = np.concatenate([a[0] for a in parts])
    t = t0 + k * step_us + rng.integers(0, step_us, k.shape[0])
    n_noise = int(noise * k.shape[0]) + 1
    t = np.concatenate([t, t0 + rng.integers(0, max(S - 1, 1) * step_us, n_noise)])
    y = np.concatenate([a[1] for a in parts] + [rng.integers(0, H, n_noise)])
    x = np.concatenate([a[2] for a in parts] + [rng.integers(0, W, n_noise)])
    p = np.concatenate([a[3] for a in parts] + [rng.integers(0, 2, n_noise)])
    order = np.argsort(t, kind="stable")
    return make_events(t[order], x[order], y[order], p[order])


def _dat_bytes(ev: Events, version: int, header_lines=()) -> bytes:
    from .formats import write_prophesee_dat
    with tempfile.NamedTemporaryFile(suffix=".dat", delete=False) as fh:
        path = fh.name
    try:
        write_prophesee_dat(path, ev, version=version, event_type="2d",
                            header_lines=header_lines)
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


def _zip_bytes(members, compression=zipfile.ZIP_DEFLATED) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression=compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return b.getvalue()


def _write_zip(target: Path, members, compression=zipfile.ZIP_DEFLATED) -> None:
    part = target.with_name(target.name + ".part")
    part.write_bytes(_zip_bytes(members, compression))
    os.replace(part, target)


def _write_files(out: Path, members) -> None:
    for name, data in members:
        p = out / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


# -- N-CARS ----------------------------------------------------------------------------------

def ncars_events(car: bool, rng: np.random.Generator, scale: float = 1.0) -> Events:
    """One N-CARS-like sample (100 ms) in a crop of random size (at most 120 x 100)."""
    w = int(np.clip(rng.integers(50, 121) * scale, 12, 120))
    h = int(np.clip(rng.integers(40, 101) * scale, 10, 100))
    steps = 25
    yy, xx = np.mgrid[:h, :w]
    if car:  # a body with two wheels crossing the crop
        bw, bh = max(4, w // 3), max(3, h // 3)
        y0 = h // 2 - bh // 2
        x0 = (-bw + (w + bw) * np.arange(steps + 1) / steps).astype(int)[:, None, None]
        rr = (bh // 3 + 1) ** 2
        frames = (((xx >= x0) & (xx < x0 + bw) & (yy >= y0) & (yy < y0 + bh))
                  | ((xx - x0 - bw // 4) ** 2 + (yy - y0 - bh) ** 2 < rr)
                  | ((xx - x0 - 3 * bw // 4) ** 2 + (yy - y0 - bh) ** 2 < rr))
    else:  # a texture drifting slowly
        tex = rng.random((h + 8, w + 8)) < 0.3
        d = np.round(4 * np.arange(steps + 1) / steps).astype(int)
        frames = np.stack([tex[k:k + h, k // 2:k // 2 + w] for k in d])
    return frames_events(frames, int(rng.integers(0, 500)), 100_000 // steps, rng, keep=0.5)


def fake_ncars(out, per_class_train: int = 10, per_class_test: int = 5, seed: int = 0,
               archive: bool = True, outer: bool = True, stored: bool = True,
               scale: float = 1.0) -> dict:
    """Write an N-CARS replica under ``out`` (the real set: 7940 + 7482 train, 4396 + 4211
    test). ``archive``: zips, else the folders ``train/``, ``test/``; ``outer``: the two split
    zips inside ``Prophesee_Dataset_n_cars.zip`` (``stored`` without compression, else
    deflated) rather than in the root. ``scale`` shrinks the crops (events ~ scale**2)."""
    from .raw.ncars import OUTER, SPLIT_ZIPS
    _check(per_class_train=per_class_train, per_class_test=per_class_test)
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    out = _out(out)
    rng = np.random.default_rng(seed)
    total, counts, inner = 0, {}, []
    k = 0
    for split, per in (("train", per_class_train), ("test", per_class_test)):
        members = []
        for cls in ("background", "cars"):
            for _ in range(per):
                ev = ncars_events(cls == "cars", rng, scale)
                total += len(ev)
                data = _dat_bytes(ev, 2, ["Date 2017-10-31 11:27:54"])
                members.append((f"{split}/{cls}/obj_{k:06d}_td.dat", data))
                k += 1
        counts[split] = len(members)
        if not archive:
            _write_files(out, members)
        elif outer:
            inner.append((SPLIT_ZIPS[split], _zip_bytes(members)))
        else:
            _write_zip(out / SPLIT_ZIPS[split], members)
    if inner:
        _write_zip(out / OUTER, inner, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return {"dataset": "ncars", "path": str(out), "samples": counts, "events": total}


# -- DVS-Lip ---------------------------------------------------------------------------------

LIP_DTYPE = np.dtype([("t", "<i4"), ("x", "i1"), ("y", "i1"), ("p", "i1")])


def lip_events(word: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """One DVS-Lip-like sample: a mouth (ellipse) opening and closing ``2 + word % 4`` times
    in about a second on 128 x 128 (drawn in a 96 x 64 window), as the file's structured
    array."""
    ox, oy = 16 + int(rng.integers(-6, 7)), 38 + int(rng.integers(-6, 7))
    a = (22 + word % 7) * np.sqrt(scale)
    steps = 40
    k = np.arange(steps + 1, dtype=np.float32)[:, None, None]
    b = 3 + 12 * np.sqrt(scale) * np.abs(np.sin(np.pi * (2 + word % 4) * k / steps))
    room = 1 - ((np.arange(96, dtype=np.float32) - 48) / a) ** 2  # [96]: 1 - (x/a)^2
    dy2 = ((np.arange(64, dtype=np.float32) - 32) ** 2)[:, None]  # [64, 1]
    frames = dy2 < room * (b * b)  # (y/b)^2 < 1 - (x/a)^2, [S, 64, 96]
    ev = frames_events(frames, int(rng.integers(0, 2000)), 25_000, rng, keep=0.6)
    out = np.empty(len(ev), LIP_DTYPE)
    out["t"], out["x"], out["y"], out["p"] = ev["t"], ev["x"] + ox, ev["y"] + oy, ev["p"]
    return out


def fake_dvslip(out, per_class_train: int = 3, per_class_test: int = 1,
                n_classes: Optional[int] = 5, seed: int = 0, archive: bool = True,
                scale: float = 1.0) -> dict:
    """Write a DVS-Lip replica under ``out``: ``n_classes`` of the 100 words (None: all),
    ``per_class_train`` / ``per_class_test`` files each (``0.npy``, ``1.npy``, ...)."""
    from .raw.dvs_lip import CLASSES, TOP, ZIP
    _check(per_class_train=per_class_train, per_class_test=per_class_test, n_classes=n_classes)
    out = _out(out)
    rng = np.random.default_rng(seed)
    n = len(CLASSES) if n_classes is None else min(int(n_classes), len(CLASSES))
    words = np.linspace(0, len(CLASSES) - 1, n).round().astype(int).tolist()
    members, total, counts = [], 0, {}
    for split, per in (("train", per_class_train), ("test", per_class_test)):
        counts[split] = 0
        for wi in words:
            for i in range(per):
                a = lip_events(wi, rng, scale)
                total += len(a)
                b = io.BytesIO()
                np.save(b, a)
                members.append((f"{TOP}/{split}/{CLASSES[wi]}/{i}.npy", b.getvalue()))
                counts[split] += 1
    if archive:
        _write_zip(out / ZIP, members)
    else:
        _write_files(out, members)
    return {"dataset": "dvslip", "path": str(out), "samples": counts, "events": total}


# -- NAVGesture ------------------------------------------------------------------------------

_DIRS = {"do": (0, 1), "up": (0, -1), "le": (-1, 0), "ri": (1, 0), "se": (0, 0), "ho": (0, 0)}


def gesture_td_events(code: str, rng: np.random.Generator, walk: bool, scale: float = 1.0,
                      t0: int = 0) -> Events:
    """One NAVGesture-like sample (~0.6 s on 304 x 240, upright coordinates): a hand blob
    moving in the gesture's direction (``se``: growing, ``ho``: a circle) over a background
    that drifts when walking, drawn in a 160 x 120 window near the centre."""
    W, H, ox, oy = 160, 120, 72 + int(rng.integers(-40, 41)), 60 + int(rng.integers(-40, 41))
    r = 5 + 8 * np.sqrt(scale)
    steps = 20
    dx, dy = _DIRS[code]
    f = (np.arange(steps + 1, dtype=np.float32) / steps)[:, None, None]
    cx, cy, rr = W / 2 + dx * (f - 0.5) * 100, H / 2 + dy * (f - 0.5) * 70, r + 0 * f
    if code == "se":
        rr = r * (0.5 + f)
    elif code == "ho":
        cx, cy = W / 2 + 30 * np.cos(2 * np.pi * f), H / 2 + 30 * np.sin(2 * np.pi * f)
    ddx = (np.arange(W, dtype=np.float32)[None, None, :] - cx) ** 2  # [S, 1, W]
    ddy = (np.arange(H, dtype=np.float32)[None, :, None] - cy) ** 2  # [S, H, 1]
    frames = ddx + ddy < rr ** 2
    if walk:
        tex = rng.random((H + 20, W + 20)) < 0.01 * scale
        frames |= np.stack([tex[d:d + H, d:d + W] for d in (10 * f.ravel()).astype(int)])
    ev = frames_events(frames, t0, 30_000, rng, keep=0.4)
    return make_events(ev["t"], ev["x"] + ox, ev["y"] + oy, ev["p"])


def fake_navgesture(out, variant: str = "walk", users: int = 2, per_class: int = 2,
                    seed: int = 0, archive: bool = True, stored: bool = False,
                    scale: float = 1.0) -> dict:
    """Write a NavGesture-``variant`` replica under ``out``: ``users`` subjects, each with
    ``per_class`` recordings of the six gestures. ``archive``: ``navgesture-<variant>.zip``
    holding ``userNN.zip`` (deflated inside the outer zip unless ``stored``), else the folder
    ``navgesture-<variant>/userNN/``."""
    from .raw.nav_gesture import CLASSES
    if variant not in ("walk", "sit"):
        raise ValueError(f"variant must be 'walk' or 'sit', got {variant!r}")
    _check(users=users, per_class=per_class)
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    out = _out(out)
    rng = np.random.default_rng(seed)
    folder = f"navgesture-{variant}"
    total, n = 0, 0
    inner: List[Tuple[str, bytes]] = []
    for u in range(1, users + 1):
        user = f"user{u:02d}"
        members = []
        for code in CLASSES:
            for k in range(1, per_class + 1):
                ev = gesture_td_events(code, rng, variant == "walk", scale,
                                       t0=int(rng.integers(10_000, 5_000_000)))
                raw = make_events(ev["t"], ev["x"], 239 - ev["y"].astype(np.int64), ev["p"])
                total += len(ev)
                n += 1
                members.append((f"{user}/{user}_{code}_{k:02d}.dat",
                                _dat_bytes(raw, 1, ["Date 2018-05-17 10:12:00"])))
        if archive:
            inner.append((f"{user}.zip", _zip_bytes(members)))
        else:
            _write_files(out / folder, members)
    if archive:
        _write_zip(out / f"{folder}.zip", inner,
                   zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return {"dataset": f"navgesture-{variant}", "path": str(out), "samples": n,
            "events": total}


__all__ = ["fake_ncars", "fake_dvslip", "fake_navgesture", "frames_events", "ncars_events",
           "lip_events", "gesture_td_events", "LIP_DTYPE"]
