"""Synthetic replicas by dataset name: the per-dataset knobs of :mod:`evframes.synth` in one
place, for ``evframes fake`` (:func:`fake_replica`) and the compile warm-up
(:func:`tiny_replica`, :mod:`evframes.warmup`).
"""
from __future__ import annotations

from typing import Optional

from . import synth


def fake_replica(dataset: str, out, recordings: Optional[int] = None,
                 scale: Optional[float] = None, full: bool = False, archive: bool = True,
                 seed: int = 0) -> dict:
    """Write a replica of ``dataset`` under ``out`` in its real on-disk layout and formats.

    Parameters
    ----------
    dataset : str
        ``dvs128``, ``nmnist`` or ``cifar10dvs``.
    out : path
        Folder to write into.
    recordings : int, optional
        dvs128: recordings (default 12); nmnist: train samples per class (default 50; test
        gets a sixth); cifar10dvs: recordings per class (default 20).
    scale : float, optional
        dvs128 only: event-rate multiplier (default 0.05, 1.0 with ``full``).
    full : bool
        Full real size (122 recordings at real rates, 60000/10000 N-MNIST samples, 1000 per
        class).
    archive : bool
        Archives (True) or extracted folders.
    seed : int
        Random seed.

    Returns
    -------
    dict
        The synth summary (``path``, ``dataset`` and counts).
    """
    if dataset == "dvs128":
        return synth.fake_dvs128(out, recordings=None if full else
                                 (12 if recordings is None else recordings),
                                 scale=scale if scale is not None else (1.0 if full else 0.05),
                                 seed=seed, archive=archive)
    if dataset == "nmnist":
        per = 6000 if full else (50 if recordings is None else recordings)
        return synth.fake_nmnist(out, per_class_train=per,
                                 per_class_test=1000 if full else max(1, per // 6 + (per < 6)),
                                 seed=seed, archive=archive)
    return synth.fake_cifar10dvs(out, per_class=1000 if full else
                                 (20 if recordings is None else recordings),
                                 seed=seed, archive=archive)


def tiny_replica(dataset: str, out, archive: bool = True) -> dict:
    """The smallest replica of ``dataset`` that runs every decoder (a compile warm-up)."""
    if dataset == "dvs128":
        return synth.fake_dvs128(out, recordings=2, scale=0.001, workers=1, archive=archive)
    if dataset == "nmnist":
        return synth.fake_nmnist(out, per_class_train=1, per_class_test=1, archive=archive)
    return synth.fake_cifar10dvs(out, per_class=1, scale=0.5, archive=archive)
