"""Synthetic replicas of SHD and SSC in their real layout and format (see
:mod:`evframes.raw.shd`): one HDF5 spike file per split (:mod:`evframes.store.raw_hdf5`:
ragged float16 seconds and uint16 channels, uint16 labels and speakers, class keys, speaker
meta information), gzip-compressed as the original release (``<name>.h5.gz``), zipped as
SpikingJelly and Tonic download it (``<name>.h5.zip``), or plain (``<name>.h5``, the extracted
layout).

Each class is a chirp: a band of channels whose centre sweeps across the 700 channels at a
class-specific rate and start, with a second, fainter formant; a sample lasts 0.5 to 1.2 s, has
``scale * 5000`` spikes on average (Poisson), its times sorted and rounded to float16 as in the
release. Class keys and speaker meta information are placeholders (the real ones are the
files').
"""
from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from .store.raw_hdf5 import write_spike_file

SHD_KEYS = [f"{lang} {w}" for lang, words in (
    ("english", "zero one two three four five six seven eight nine"),
    ("german", "null eins zwei drei vier fuenf sechs sieben acht neun")) for w in words.split()]
SSC_KEYS = ("backward bed bird cat dog down eight five follow forward four go happy house "
            "learn left marvin nine no off on one right seven sheila six stop three tree two "
            "up visual wow yes zero").split()
ARCHIVES = ("gz", "zip")


def spike_sample(label: int, n_classes: int, rng: np.random.Generator, scale: float = 1.0):
    """``(times float16 seconds sorted, units uint16)`` of one synthetic sample of ``label``."""
    dur = rng.uniform(0.5, 1.2)
    n = int(rng.poisson(max(1.0, 5000 * scale)))
    n = max(n, 1)
    t = np.sort(rng.random(n) * dur)
    phase = label / max(1, n_classes)
    centre = 100 + 500 * ((phase + t / dur * (0.3 + phase)) % 1.0)
    second = rng.random(n) < 0.3
    u = centre + np.where(second, 150.0, 0.0) + rng.normal(0, 12 + 20 * phase, n)
    u = np.clip(np.rint(u), 0, 699).astype(np.uint16)
    return t.astype(np.float16), u


def _file_bytes(times, units, labels, keys, speakers, n_speakers) -> bytes:
    buf = io.BytesIO()
    meta = {"gender": np.array(["female", "male"] * ((n_speakers + 1) // 2))[:n_speakers],
            "age": np.arange(20, 20 + n_speakers, dtype=np.uint16),
            "body_height": np.linspace(160, 190, n_speakers).astype(np.float32)}
    write_spike_file(buf, times, units, labels, keys, speakers, meta)
    return buf.getvalue()


def _write(out: Path, name: str, data: bytes, archive) -> Path:
    if archive in (True, "gz"):
        path = out / f"{name}.h5.gz"
        with open(path, "wb") as f, gzip.GzipFile(filename=f"{name}.h5", mode="wb", fileobj=f,
                                                  mtime=0) as g:
            g.write(data)
    elif archive == "zip":
        path = out / f"{name}.h5.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(zipfile.ZipInfo(f"{name}.h5", (2019, 8, 17, 0, 0, 0)), data,
                       compress_type=zipfile.ZIP_DEFLATED)
    elif archive in (False, None, "h5"):
        path = out / f"{name}.h5"
        path.write_bytes(data)
    else:
        raise ValueError(f"archive must be True/'gz', 'zip' or False, got {archive!r}")
    return path


def _fake(out, prefix: str, keys, per_split: Dict[str, int], seed: int, archive,
          scale: float) -> dict:
    for what, v in per_split.items():
        if int(v) < 1:
            raise ValueError(f"samples per class of {what} must be >= 1, got {v}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_classes, n_speakers = len(keys), 12
    info = {"dataset": prefix, "path": str(out), "classes": n_classes, "events": 0}
    for split, per in per_split.items():
        labels = np.repeat(np.arange(n_classes), int(per))
        labels = labels[rng.permutation(labels.size)]  # the files interleave the classes
        times, units = [], []
        for lab in labels:
            t, u = spike_sample(int(lab), n_classes, rng, scale)
            times.append(t)
            units.append(u)
        speakers = rng.integers(0, n_speakers, labels.size)
        data = _file_bytes(times, units, labels, keys, speakers, n_speakers)
        _write(out, f"{prefix}_{split}", data, archive)
        info[split] = int(labels.size)
        info["events"] += int(sum(len(t) for t in times))
    return info


def fake_shd(out, per_class_train: int = 2, per_class_test: int = 1, seed: int = 0,
             archive=True, scale: float = 0.1) -> dict:
    """Write an SHD replica under ``out``: ``shd_train`` / ``shd_test`` with 20 classes of
    ``per_class_*`` samples; ``archive`` True or ``'gz'`` (``.h5.gz``), ``'zip'``
    (``.h5.zip``) or False (``.h5``); ``scale`` * 5000 spikes per sample on average."""
    return _fake(out, "shd", SHD_KEYS, {"train": per_class_train, "test": per_class_test},
                 seed, archive, scale)


def fake_ssc(out, per_class_train: int = 2, per_class_valid: int = 1, per_class_test: int = 1,
             seed: int = 0, archive=True, scale: float = 0.1) -> dict:
    """Write an SSC replica under ``out``: ``ssc_train`` / ``ssc_valid`` / ``ssc_test`` with 35
    classes (arguments as :func:`fake_shd`)."""
    return _fake(out, "ssc", SSC_KEYS, {"train": per_class_train, "valid": per_class_valid,
                                        "test": per_class_test}, seed, archive, scale)


def fake_replica_shd(out, recordings: Optional[int], scale: Optional[float], full: bool,
                     archive: bool, seed: int, dataset: str = "shd") -> dict:
    """``evframes fake --dataset shd|ssc``: ``recordings`` train samples per class (default
    20; the other splits a quarter); ``full``: the released counts' order (SHD ~417 train /
    ~104 test per class, SSC ~2156 / 285 / 582) at ``scale`` 1."""
    sc = scale if scale is not None else (1.0 if full else 0.1)
    if dataset == "shd":
        per = 417 if full else (recordings or 20)
        return fake_shd(out, per, 104 if full else max(1, per // 4), seed, archive, sc)
    per = 2156 if full else (recordings or 20)
    return fake_ssc(out, per, 285 if full else max(1, per // 4),
                    582 if full else max(1, per // 4), seed, archive, sc)


__all__ = ["fake_shd", "fake_ssc", "fake_replica_shd", "spike_sample", "SHD_KEYS", "SSC_KEYS"]
