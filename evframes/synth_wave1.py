"""Synthetic replicas of N-Caltech101, ASL-DVS and POKER-DVS in their real layouts and formats
(the helpers of :mod:`evframes.synth`; see :mod:`evframes.raw.ncaltech101`,
:mod:`evframes.raw.asl_dvs`, :mod:`evframes.raw.poker_dvs` for the layouts).

- :func:`fake_ncaltech101`: ``Caltech101.zip`` (or the folder ``Caltech101/``) with
  ``Caltech101/<class>/image_NNNN.bin`` (ATIS 40-bit): a class pattern per class, each sample
  of its own extent (as the real recordings, anchored at the top left), moved by the three
  N-MNIST saccades (0.3 s), on the 240 x 180 sensor.
- :func:`fake_asldvs`: ``ICCV2019_DVS_dataset.zip`` holding ``Yin Bi - <letter>.zip`` (each
  ``<letter>/<letter>_NNNN.mat``: compressed MATLAB 5 files with column vectors ``x``, ``y``
  (uint16), ``ts`` (double, microseconds), ``pol`` (uint8)), or the letter folders; stored in
  the inverse of SpikingJelly's orientation, so SpikingJelly's convention shows them upright.
- :func:`fake_pokerdvs`: ``pips_train.tar.gz`` / ``pips_test.tar.gz`` (or the folders) with
  ``pips_<split>/<class>/<name>.npy``, ``[N, 4]`` int64 columns ``t, x, y, p``: a suit's pip
  crossing the 35 x 35 field of view in about 20 ms.
"""
from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Optional

import numpy as np

from . import synth
from .events import make_events


def _check_counts(**counts):
    for what, v in counts.items():
        if v is not None and int(v) < 1:
            raise ValueError(f"{what} must be >= 1, got {v}")


def _out(out) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


# -- N-Caltech101 ----------------------------------------------------------------------------

def fake_ncaltech101(out, per_class: int = 10, n_classes: Optional[int] = 5, seed: int = 0,
                     archive: bool = True, scale: float = 1.0, density: int = 1) -> dict:
    """Write an N-Caltech101 replica under ``out``: ``n_classes`` classes spread over the 101
    (``Faces_easy`` among them; None: all 101), ``per_class`` recordings each. ``scale`` sets the
    image size (1.0: 120..232 x 100..172 pixels, about 14000 events per recording);
    ``density`` the pattern's cells per side (12 x ``density``): about 4 gives the real
    recordings' tens of thousands of events (the real ``Faces_easy/image_0001``: 67445)."""
    from .raw.ncaltech101 import CLASSES
    _check_counts(per_class=per_class, n_classes=n_classes)
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    out = _out(out)
    rng = np.random.default_rng(seed)
    n = len(CLASSES) if n_classes is None else min(int(n_classes), len(CLASSES))
    pick = np.linspace(0, len(CLASSES) - 1, n).round().astype(int).tolist()
    if CLASSES.index("Faces_easy") not in pick:
        pick[min(1, n - 1)] = CLASSES.index("Faces_easy")
    pick = sorted(set(pick))
    members, total = [], 0
    amp = 3
    for ci in pick:
        c = CLASSES[ci]
        for i in range(1, per_class + 1):
            w = int(np.clip(rng.integers(120, 233) * min(scale, 1.0), 16, 232))
            h = int(np.clip(rng.integers(100, 173) * min(scale, 1.0), 16, 172))
            cells = 12 * max(1, int(density))
            cell = max(w, h) // cells + 1
            img = synth.class_pattern(ci, size=cell * cells, cells=cells)[:h, :w]
            ev = synth.saccade_events(img, h + 2 * amp + 2, w + 2 * amp + 2, rng,
                                      amplitude=amp, t0=int(rng.integers(0, 1000)))
            total += len(ev)
            members.append((f"Caltech101/{c}/image_{i:04d}.bin", synth._encoded_bytes(ev, "atis")))
    synth._write_members(out, "Caltech101.zip" if archive else None, members)
    return {"dataset": "ncaltech101", "path": str(out), "classes": len(pick),
            "samples": len(members), "events": total}


# -- ASL-DVS ---------------------------------------------------------------------------------

def hand_image(letter_index: int, size: int) -> np.ndarray:
    """A binary "hand shape" of letter ``letter_index`` (0..23): palm plus class-specific
    fingers, ``[size, size]``."""
    a = np.zeros((size, size), dtype=bool)
    yy, xx = np.mgrid[:size, :size] / size
    a |= ((xx - 0.5) ** 2 / 0.06 + (yy - 0.7) ** 2 / 0.04) < 1  # palm
    rng = np.random.default_rng(2000 + letter_index)
    for f in range(5):
        if rng.random() < 0.6 or f == letter_index % 5:
            x0 = 0.22 + 0.14 * f
            length = 0.2 + 0.35 * rng.random()
            a |= (np.abs(xx - x0) < 0.045) & (yy > 0.55 - length) & (yy < 0.62)
    return a


def _placed(img: np.ndarray, H: int, W: int, rng: np.random.Generator, amplitude: int,
            **kw):
    """:func:`evframes.synth.saccade_events` of ``img`` computed on a canvas just large enough
    for it (fast), placed near the centre of the H x W sensor; the noise events stay within
    the canvas."""
    h, w = img.shape
    ch, cw = h + 2 * amplitude + 4, w + 2 * amplitude + 4
    ev = synth.saccade_events(img, ch, cw, rng, amplitude=amplitude, **kw)
    oy = (H - ch) // 2 + int(rng.integers(-4, 5))
    ox = (W - cw) // 2 + int(rng.integers(-4, 5))
    oy, ox = min(max(oy, 0), H - ch), min(max(ox, 0), W - cw)
    return make_events(ev["t"], ev["x"] + ox, ev["y"] + oy, ev["p"])


def _mat_bytes(ev, raw_orient) -> bytes:
    from scipy.io import savemat
    x, y = raw_orient(ev)
    b = io.BytesIO()
    savemat(b, {"x": x.astype(np.uint16), "y": y.astype(np.uint16),
                "ts": ev["t"].astype(np.float64), "pol": ev["p"].astype(np.uint8)},
            do_compression=True, oned_as="column")
    return b.getvalue()


def fake_asldvs(out, per_class: int = 10, seed: int = 0, archive: bool = True,
                scale: float = 1.0, stored: bool = True) -> dict:
    """Write an ASL-DVS replica under ``out``: ``per_class`` samples of each of the 24 letters
    (4200 in the real set), about ``3000 * scale`` events in 0.1 s each. ``archive``: the
    download ``ICCV2019_DVS_dataset.zip`` with the letter zips stored (``stored=False``:
    deflated) inside; else the letter folders ``a/`` ... ``y/``."""
    from .raw.asl_dvs import CLASSES, SENSOR_SIZE, inner_zip_name
    _check_counts(per_class=per_class)
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    out = _out(out)
    W, H = SENSOR_SIZE
    rng = np.random.default_rng(seed)
    size = int(np.clip(110 * np.sqrt(scale), 24, 170))
    total = 0
    inner = []
    for li, c in enumerate(CLASSES):
        img = hand_image(li, size)
        members = []
        for i in range(1, per_class + 1):
            ev = _placed(img, H, W, rng, step_us=1700, amplitude=2,
                         t0=int(rng.integers(0, 5000)))
            total += len(ev)
            members.append((f"{c}/{c}_{i:04d}.mat",
                            _mat_bytes(ev, lambda e: ((W - 1) - e["x"], (H - 1) - e["y"]))))
        if archive:
            b = io.BytesIO()
            with zipfile.ZipFile(b, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, data in members:
                    zf.writestr(name, data)
            inner.append((inner_zip_name(c), b.getvalue()))
        else:
            synth._write_members(out, None, members)
    if archive:
        target = out / "ICCV2019_DVS_dataset.zip"
        part = target.with_name(target.name + ".part")
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_STORED if stored
                             else zipfile.ZIP_DEFLATED) as zf:
            for name, data in inner:
                zf.writestr(name, data)
        os.replace(part, target)
    return {"dataset": "asldvs", "path": str(out), "samples": len(CLASSES) * per_class,
            "events": total}


# -- POKER-DVS -------------------------------------------------------------------------------

def pip_image(cls: int, size: int = 17) -> np.ndarray:
    """A binary pip of suit ``cls`` (0 clubs, 1 hearts, 2 diamonds, 3 spades), ``[size, size]``."""
    yy, xx = (np.mgrid[:size, :size] + 0.5) / size * 2 - 1  # -1..1, y down
    if cls == 2:
        return np.abs(xx) + np.abs(yy) < 0.95
    if cls == 1:
        lobes = ((xx - 0.45) ** 2 + (yy + 0.35) ** 2 < 0.22) | \
            ((xx + 0.45) ** 2 + (yy + 0.35) ** 2 < 0.22)
        return lobes | ((yy > -0.4) & (np.abs(xx) < 0.95 * (0.95 - yy) / 1.35))
    stem = (np.abs(xx) < 0.12) & (yy > 0.2)
    if cls == 3:
        lobes = ((xx - 0.4) ** 2 + (yy - 0.2) ** 2 < 0.2) | \
            ((xx + 0.4) ** 2 + (yy - 0.2) ** 2 < 0.2)
        return lobes | ((yy < 0.3) & (np.abs(xx) < 0.9 * (yy + 0.95) / 1.25)) | stem
    return ((xx ** 2 + (yy + 0.45) ** 2 < 0.17) | ((xx - 0.45) ** 2 + (yy - 0.1) ** 2 < 0.17)
            | ((xx + 0.45) ** 2 + (yy - 0.1) ** 2 < 0.17) | stem)


def pip_events(cls: int, rng: np.random.Generator, size: int = 35):
    """One POKER-DVS-like sample: the pip of suit ``cls`` moving down through the view."""
    img = pip_image(cls, 17)
    ev = synth.saccade_events(img, size, size, rng, step_us=350, amplitude=3,
                              t0=int(rng.integers(0, 300)))
    return make_events(ev["t"], ev["x"], ev["y"], ev["p"])


def _npy_bytes(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def fake_pokerdvs(out, per_class_train: int = 12, per_class_test: int = 5, seed: int = 0,
                  archive: bool = True) -> dict:
    """Write a POKER-DVS replica under ``out`` (default 48 train / 20 test samples, the real
    split sizes): ``pips_train.tar.gz`` / ``pips_test.tar.gz`` or the folders."""
    from .raw.poker_dvs import CLASSES, SPLIT_ITEMS
    _check_counts(per_class_train=per_class_train, per_class_test=per_class_test)
    out = _out(out)
    rng = np.random.default_rng(seed)
    total, counts = 0, {}
    for split, per in (("train", per_class_train), ("test", per_class_test)):
        top = SPLIT_ITEMS[split]
        members = []
        for ci, code in enumerate(CLASSES):
            for i in range(1, per + 1):
                ev = pip_events(ci, rng)
                total += len(ev)
                a = np.stack([ev["t"], ev["x"], ev["y"], ev["p"]], axis=1).astype(np.int64)
                members.append((f"{top}/{code}/{code}{i:02d}.npy", _npy_bytes(a)))
        counts[split] = len(members)
        if archive:
            target = out / f"{top}.tar.gz"
            part = target.with_name(target.name + ".part")
            with tarfile.open(part, "w:gz") as tf:
                for name, data in members:
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tf.addfile(info, io.BytesIO(data))
            os.replace(part, target)
        else:
            synth._write_members(out, None, members)
    return {"dataset": "pokerdvs", "path": str(out), "samples": counts, "events": total}


__all__ = ["fake_ncaltech101", "fake_asldvs", "fake_pokerdvs", "hand_image", "pip_image",
           "pip_events"]
