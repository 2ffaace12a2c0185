"""Synthetic replicas by dataset name: the per-dataset knobs of :mod:`evframes.synth` in one
place, for ``evframes fake`` (:func:`fake_replica`), the compile warm-up (:func:`tiny_replica`,
:mod:`evframes.warmup`) and the raw-dataset contract test (:data:`REPLICAS`: the small replica
each dataset is checked on, and what it must report).

A new dataset of the registry (:mod:`evframes.raw`) needs its ``synth.fake_<name>`` writer and
one :class:`Replica` line in :data:`REPLICAS`; :func:`replica` names what is missing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Dict, Mapping, Optional, Tuple

from . import synth, synth_shd, synth_wave1, synth_wave1b
from .synth_recordings import fake_recordings


def _fake_dvs128(out, recordings, scale, full, archive, seed):
    return synth.fake_dvs128(out, recordings=None if full else
                             (12 if recordings is None else recordings),
                             scale=scale if scale is not None else (1.0 if full else 0.05),
                             seed=seed, archive=archive)


def _fake_nmnist(out, recordings, scale, full, archive, seed):
    per = 6000 if full else (50 if recordings is None else recordings)
    return synth.fake_nmnist(out, per_class_train=per,
                             per_class_test=1000 if full else max(1, per // 6 + (per < 6)),
                             seed=seed, archive=archive)


def _fake_cifar10dvs(out, recordings, scale, full, archive, seed):
    return synth.fake_cifar10dvs(out, per_class=1000 if full else
                                 (20 if recordings is None else recordings),
                                 seed=seed, archive=archive)


def _fake_ncaltech101(out, recordings, scale, full, archive, seed):
    return synth_wave1.fake_ncaltech101(out, per_class=86 if full else (recordings or 10),
                                        n_classes=None if full else 5, seed=seed,
                                        archive=archive, scale=scale or 1.0)


def _fake_asldvs(out, recordings, scale, full, archive, seed):
    return synth_wave1.fake_asldvs(out, per_class=4200 if full else (recordings or 10),
                                   seed=seed, archive=archive, scale=scale or 1.0)


def _fake_pokerdvs(out, recordings, scale, full, archive, seed):
    per = 12 if full or recordings is None else recordings
    return synth_wave1.fake_pokerdvs(out, per_class_train=per,
                                     per_class_test=max(1, round(per * 5 / 12)), seed=seed,
                                     archive=archive)


def _fake_ncars(out, recordings, scale, full, archive, seed):
    per = 7711 if full else (recordings or 20)  # real: 7940 + 7482 train, 4396 + 4211 test
    return synth_wave1b.fake_ncars(out, per_class_train=per,
                                   per_class_test=4304 if full else max(1, per // 2),
                                   seed=seed, archive=archive, scale=scale or 1.0)


def _fake_dvslip(out, recordings, scale, full, archive, seed):
    per = 149 if full else (recordings or 2)  # real: 14896 train, 4975 test
    return synth_wave1b.fake_dvslip(out, per_class_train=per,
                                    per_class_test=50 if full else max(1, per // 2),
                                    n_classes=None, seed=seed, archive=archive,
                                    scale=scale or 1.0)


def _fake_navgesture(variant):
    def fake(out, recordings, scale, full, archive, seed):
        return synth_wave1b.fake_navgesture(out, variant, users=10 if full else 3,
                                            per_class=5 if full else (recordings or 4),
                                            seed=seed, archive=archive, scale=scale or 1.0)
    return fake


def _fake_recordings(out, recordings, scale, full, archive, seed):
    # class folders whatever --folder says: both layouts are folders (the writer's
    # archive=True one, with labels.csv, is for the contract test)
    return fake_recordings(out, per_class=4 if recordings is None else recordings, seed=seed,
                           archive=False, scale=1.0 if scale is None else scale)


@dataclass(frozen=True)
class Replica:
    """The replicas of one dataset and what its raw layout must report.

    Attributes
    ----------
    writer : callable
        ``synth.fake_<name>(out, archive=..., **kwargs) -> dict``, the replica writer.
    classes : int
        Classes of the real dataset.
    sensor_size : (int, int)
        ``(W, H)`` of the real dataset.
    small_samples : mapping
        Samples per split (in the dataset's split order) of the small replica.
    small_kwargs : mapping
        Writer arguments of the small replica (extracts in about a second; the contract test).
    tiny_kwargs : mapping
        Writer arguments of the smallest replica that runs every decoder (compile warm-up).
    fake : callable
        ``fake(out, recordings, scale, full, archive, seed) -> dict``: ``evframes fake``.
    open_kwargs : mapping
        Options for ``evframes.raw.open_raw`` when opening a replica.
    """

    writer: Callable[..., dict]
    classes: int
    sensor_size: Tuple[int, int]
    small_samples: Mapping[str, int]
    small_kwargs: Mapping
    tiny_kwargs: Mapping
    fake: Callable[..., dict]
    open_kwargs: Mapping = field(default_factory=dict)

    def write_small(self, out, archive: bool = True) -> dict:
        """Write the small replica under ``out`` (archives, or extracted folders)."""
        return self.writer(out, archive=archive, **self.small_kwargs)

    def write_tiny(self, out, archive: bool = True) -> dict:
        """Write the tiny (warm-up) replica under ``out``."""
        return self.writer(out, archive=archive, **self.tiny_kwargs)


#: one line per registered dataset
REPLICAS: Dict[str, Replica] = {
    "dvs128": Replica(synth.fake_dvs128, 11, (128, 128), {"train": 12, "test": 12},
                      dict(recordings=2, scale=0.01, seed=0, workers=1),
                      dict(recordings=2, scale=0.001, workers=1), _fake_dvs128),
    "nmnist": Replica(synth.fake_nmnist, 10, (34, 34), {"train": 20, "test": 10},
                      dict(per_class_train=2, per_class_test=1, seed=0),
                      dict(per_class_train=1, per_class_test=1), _fake_nmnist),
    "cifar10dvs": Replica(synth.fake_cifar10dvs, 10, (128, 128), {"train": 10, "test": 10},
                          dict(per_class=2, seed=0), dict(per_class=1, scale=0.5),
                          _fake_cifar10dvs),
    "ncaltech101": Replica(synth_wave1.fake_ncaltech101, 101, (240, 180),
                           {"train": 27, "test": 3},
                           dict(per_class=10, n_classes=3, scale=0.3, seed=0),
                           dict(per_class=2, n_classes=1, scale=0.1), _fake_ncaltech101),
    "asldvs": Replica(synth_wave1.fake_asldvs, 24, (240, 180), {"train": 24, "test": 24},
                      dict(per_class=2, scale=0.1, seed=0), dict(per_class=1, scale=0.05),
                      _fake_asldvs, open_kwargs={"train_ratio": 0.5}),
    "pokerdvs": Replica(synth_wave1.fake_pokerdvs, 4, (35, 35), {"train": 8, "test": 4},
                        dict(per_class_train=2, per_class_test=1, seed=0),
                        dict(per_class_train=1, per_class_test=1), _fake_pokerdvs),
    "ncars": Replica(synth_wave1b.fake_ncars, 2, (120, 100), {"train": 4, "test": 2},
                     dict(per_class_train=2, per_class_test=1, scale=0.4, seed=0),
                     dict(per_class_train=1, per_class_test=1, scale=0.2), _fake_ncars),
    "dvslip": Replica(synth_wave1b.fake_dvslip, 100, (128, 128), {"train": 6, "test": 3},
                      dict(per_class_train=2, per_class_test=1, n_classes=3, scale=0.2, seed=0),
                      dict(per_class_train=1, per_class_test=1, n_classes=1, scale=0.1),
                      _fake_dvslip),
    **{f"navgesture-{v}": Replica(synth_wave1b.fake_navgesture, 6, (304, 240),
                                  {"train": 6, "test": 6},
                                  dict(variant=v, users=1, per_class=2, scale=0.05, seed=0),
                                  dict(variant=v, users=1, per_class=1, scale=0.05),
                                  _fake_navgesture(v), open_kwargs={"train_ratio": 0.5})
       for v in ("walk", "sit")},
    "shd": Replica(synth_shd.fake_shd, 20, (700, 1), {"train": 20, "test": 20},
                   dict(per_class_train=1, per_class_test=1, scale=0.05, seed=0),
                   dict(per_class_train=1, per_class_test=1, scale=0.002),
                   partial(synth_shd.fake_replica_shd, dataset="shd")),
    "ssc": Replica(synth_shd.fake_ssc, 35, (700, 1), {"train": 35, "valid": 35, "test": 35},
                   dict(per_class_train=1, per_class_valid=1, per_class_test=1, scale=0.02,
                        seed=0),
                   dict(per_class_train=1, per_class_valid=1, per_class_test=1, scale=0.002),
                   partial(synth_shd.fake_replica_shd, dataset="ssc")),
    # sensor: the replica's (the dataset takes its recordings'); "archive": the labels.csv layout
    "recordings": Replica(fake_recordings, 3, (128, 128), {"train": 6, "test": 3},
                          dict(per_class=3, seed=0), dict(per_class=3, scale=0.5),
                          _fake_recordings),
}


def replica(dataset: str) -> Replica:
    """The :class:`Replica` of ``dataset``.

    Raises
    ------
    ValueError
        If ``dataset`` has no entry in :data:`REPLICAS` (the message says what to add).
    """
    try:
        return REPLICAS[dataset]
    except KeyError:
        raise ValueError(f"no replica of dataset {dataset!r}: add a Replica line for it to "
                         f"evframes.replicas.REPLICAS (its synth.fake_{dataset} writer, classes, "
                         f"sensor size, the small replica's writer arguments and split sizes); "
                         f"replicas exist for {', '.join(sorted(REPLICAS))}") from None


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
    return replica(dataset).fake(out, recordings, scale, full, archive, seed)


def tiny_replica(dataset: str, out, archive: bool = True) -> dict:
    """The smallest replica of ``dataset`` that runs every decoder (a compile warm-up)."""
    return replica(dataset).write_tiny(out, archive=archive)
