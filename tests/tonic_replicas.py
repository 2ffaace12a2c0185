"""Replicas in Tonic 1.7's folder layouts (``save_to/<ClassName>/...``), written with
:mod:`evframes.synth`, for the tests of :mod:`evframes.tonic` and the peer comparisons with
Tonic itself. Import by name: ``from tonic_replicas import write_nmnist``.

Each writer returns the dataset folder (``save_to/<ClassName>``). Tonic only reads extracted
folders and downloads when its archive is absent, so :func:`tonic_can_read` adds the empty
archive files Tonic's existence check looks for (the peer tests call it; evframes never needs
them).
"""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np

from evframes import synth

LIGHTINGS = ("fluorescent", "lab", "natural")


def write_nmnist(save_to, per_class_train: int = 2, per_class_test: int = 1, seed: int = 0,
                 layout: str = "folder") -> Path:
    """N-MNIST as Tonic leaves it: ``NMNIST/Train/<digit>/<id>.bin`` (``layout="folder"``) or
    only the downloaded ``NMNIST/train.zip`` / ``test.zip`` (``layout="zip"``), whose members
    are ``Train/<digit>/<id>.bin``."""
    loc = Path(save_to) / "NMNIST"
    loc.mkdir(parents=True, exist_ok=True)
    synth.fake_nmnist(loc, per_class_train=per_class_train, per_class_test=per_class_test,
                      seed=seed, archive=(layout == "zip"))
    if layout == "zip":
        for split in ("Train", "Test"):
            os.replace(loc / f"{split}.zip", loc / f"{split.lower()}.zip")
    return loc


def gesture_samples(n_users: int = 2, seed: int = 0, scale: float = 0.01, dtype=np.int64):
    """``{(folder, label): [N, 4] array (x, y, p, t in ms)}`` for users 1..n_users, one
    lighting each, labels 0..10 (one sample each), as Tonic's preprocessed DVSGesture holds
    them. Integer dtypes hold whole milliseconds; float dtypes fractional ones."""
    rng = np.random.default_rng(seed)
    out = {}
    for u in range(1, n_users + 1):
        folder = f"user{u:02d}_{LIGHTINGS[(u - 1) % len(LIGHTINGS)]}"
        for label in range(11):
            dur = int(rng.integers(1_000_000, 3_000_000))
            start = int(rng.integers(0, 500_000))
            ev = synth.gesture_events(label, start, start + dur, 50_000 * scale * 20, rng)
            t_ms = ev["t"] / 1000.0
            t_col = t_ms if np.dtype(dtype).kind == "f" else np.floor(t_ms)
            a = np.stack([ev["x"], ev["y"], ev["p"], t_col], axis=1).astype(dtype)
            out[(folder, label)] = a
    return out


def write_dvsgesture(save_to, n_train_users: int = 2, n_test_users: int = 1, seed: int = 0,
                     layout: str = "folder", dtype=np.int64, scale: float = 0.01) -> Path:
    """Tonic's preprocessed DVSGesture: ``DVSGesture/ibmGestureTrain/userNN_<lighting>/
    <label>.npy`` (``layout="folder"``) or ``ibmGestureTrain.tar.gz`` holding that folder
    (``layout="archive"``); test users are numbered after the train users."""
    loc = Path(save_to) / "DVSGesture"
    loc.mkdir(parents=True, exist_ok=True)
    for split, n_users, offset in (("Train", n_train_users, 0),
                                   ("Test", n_test_users, n_train_users)):
        top = f"ibmGesture{split}"
        samples = gesture_samples(n_users + offset, seed=seed + offset, scale=scale,
                                  dtype=dtype)
        members = []
        for (folder, label), a in samples.items():
            if int(folder[4:6]) <= offset:
                continue
            buf = io.BytesIO()
            np.save(buf, a)
            members.append((f"{top}/{folder}/{label}.npy", buf.getvalue()))
        if layout == "archive":
            with tarfile.open(loc / f"{top}.tar.gz", "w:gz", compresslevel=1) as tf:
                for name, data in members:
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tf.addfile(info, io.BytesIO(data))
        else:
            for name, data in members:
                p = loc / name
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
    return loc


def write_cifar10dvs(save_to, per_class: int = 2, seed: int = 0, archive: bool = False,
                     fmt: str = "aedat2") -> Path:
    """CIFAR10-DVS in Tonic's folder: the ten class folders (or class zips, ``archive``) of
    AEDAT 2.0 recordings of the original release (``fmt="aedat2"``), or of AEDAT 4 recordings
    as Tonic's release holds them (``fmt="aedat4"``: the same synthetic events, upright, with
    DV's absolute Unix-time microseconds, LZ4 packets of 2000 events)."""
    loc = Path(save_to) / "CIFAR10DVS"
    if fmt == "aedat2":
        synth.fake_cifar10dvs(loc, per_class=per_class, seed=seed, archive=archive, scale=0.5)
        return loc
    import zipfile

    from evframes.formats import write_aedat4
    from evframes.raw.cifar10dvs import CLASSES
    rng = np.random.default_rng(seed)
    loc.mkdir(parents=True, exist_ok=True)
    for ci, c in enumerate(CLASSES):
        img = synth.class_pattern(ci, size=24)
        members = []
        for i in range(per_class):
            ev = synth.saccade_events(img, 128, 128, rng, amplitude=4, step_us=10_000)
            ev["t"] = ev["t"] + 1_633_953_690_000_000 + i * 7
            out = loc / c / f"cifar10_{c}_{i}.aedat4"
            out.parent.mkdir(parents=True, exist_ok=True)
            write_aedat4(out, ev, sensor_size=(128, 128), packet_events=2000)
            members.append(out)
        if archive:
            with zipfile.ZipFile(loc / f"{c}.zip", "w") as zf:
                for m in members:
                    zf.write(m, f"{c}/{m.name}")
            for m in members:
                m.unlink()
            (loc / c).rmdir()
    return loc


def tonic_can_read(loc) -> None:
    """Touch the archives Tonic's existence check needs beside the extracted folders (Tonic
    would otherwise try to download them); its minimum file counts are lifted by the peer
    tests (``_check_exists``)."""
    loc = Path(loc)
    names = {"NMNIST": ("train.zip", "test.zip"),
             "DVSGesture": ("ibmGestureTrain.tar.gz", "ibmGestureTest.tar.gz"),
             "CIFAR10DVS": ("CIFAR10DVS.zip",)}[loc.name]
    for n in names:
        if not (loc / n).exists():
            (loc / n).touch()


#: the replica cases the reference holds: name -> (writer, writer kwargs, dataset class name,
#: constructor kwargs)
CASES = {
    "nmnist_train": (write_nmnist, {}, "NMNIST", {"train": True}),
    "nmnist_test": (write_nmnist, {}, "NMNIST", {"train": False}),
    "nmnist_train_first": (write_nmnist, {}, "NMNIST", {"first_saccade_only": True}),
    "nmnist_train_stabilize": (write_nmnist, {}, "NMNIST", {"stabilize": True}),
    "nmnist_test_both": (write_nmnist, {}, "NMNIST",
                         {"train": False, "first_saccade_only": True, "stabilize": True}),
    "dvs_int_train": (write_dvsgesture, {}, "DVSGesture", {"train": True}),
    "dvs_int_test": (write_dvsgesture, {}, "DVSGesture", {"train": False}),
    "dvs_float_train": (write_dvsgesture, {"dtype": np.float32}, "DVSGesture",
                        {"train": True}),
    "cifar_aedat4": (write_cifar10dvs, {"fmt": "aedat4"}, "CIFAR10DVS", {}),
}


def replica_digest(loc) -> str:
    """sha256 over a replica folder's files (relative names and bytes), to tell a replica
    that changed (another synth) from a reader that changed."""
    import hashlib
    h = hashlib.sha256()
    loc = Path(loc)
    for p in sorted(q for q in loc.rglob("*") if q.is_file() and "events" not in
                    q.relative_to(loc).parts and q.stat().st_size > 0):
        h.update(str(p.relative_to(loc)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def describe(ds, loc) -> dict:
    """What a dataset (Tonic's or evframes') gives, per sample keyed by its file relative to
    ``loc``: ``{path: (target, n events, sha256 of the events' bytes, fields and dtypes,
    user, lighting, target type, index)}``."""
    import hashlib
    out = {}
    for i, path in enumerate(ds.data):
        ev, target = ds[i]
        rel = str(Path(path).relative_to(loc))
        user = ds.users[i] if hasattr(ds, "users") else -1
        light = ds.lighting[i] if hasattr(ds, "lighting") else ""
        fields = str([(n, ev.dtype[n].str) for n in ev.dtype.names])  # (Tonic titles 'p')
        out[rel] = (int(target), len(ev), hashlib.sha256(ev.tobytes()).hexdigest(),
                    fields, int(user), str(light), type(target).__name__, i)
    return out
