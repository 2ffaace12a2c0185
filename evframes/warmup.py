"""Warm-up runs: compile the Numba kernels before the timed work.

Commands that print rates (``evframes extract``, ``integrate``, ``demo``) first run the same
kernels on a tiny input in a temporary folder, so the printed rates never include Numba
compilation. The caller reports the returned :class:`WarmUp` (its compile time when the kernels
were compiled rather than loaded from Numba's cache).

This module sits beside :mod:`evframes.synth` (it writes tiny replicas through
:mod:`evframes.replicas`) and above the pipeline it exercises.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, NamedTuple


class WarmUp(NamedTuple):
    """What a warm-up cost: ``seconds`` spent, and whether kernels were ``compiled`` (a first
    run, or a new Numba cache) rather than loaded from the cache."""

    seconds: float
    compiled: bool


def numba_compiles() -> int:
    """Kernels compiled so far in this process (Numba cache misses of evframes' kernels)."""
    try:
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # pragma: no cover
        return 0
    n = 0
    for name, mod in list(sys.modules.items()):
        if name.startswith("evframes") and mod is not None:
            for v in list(vars(mod).values()):
                if isinstance(v, Dispatcher):
                    n += sum(v.stats.cache_misses.values())
    return n


def warm_up(work: Callable[[Path], object]) -> WarmUp:
    """Run ``work(tmp)`` (the real kernels on a tiny input, in a temporary folder ``tmp``).

    Parameters
    ----------
    work : callable
        Called once with the path of an empty temporary folder, removed afterwards.

    Returns
    -------
    WarmUp
        The seconds spent and whether Numba compiled kernels meanwhile. A failing warm-up is
        ignored (the real run reports problems) unless ``EVFRAMES_DEBUG`` is set.
    """
    n0, t0 = numba_compiles(), time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="evframes-warmup-") as tmp, \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            work(Path(tmp))
    except Exception:
        if os.environ.get("EVFRAMES_DEBUG"):
            raise
    return WarmUp(time.perf_counter() - t0, numba_compiles() > n0)


def warm_extract(dataset: str, root) -> WarmUp:
    """Decode a tiny replica of ``dataset``, laid out as archives or folders like ``root``, in
    this process: the decoders are then compiled (and inherited by forked decoding workers, or
    loaded from the cache they just filled).

    Parameters
    ----------
    dataset : str
        Registry name (``dvs128``, ``nmnist``, ``cifar10dvs``).
    root : path
        The dataset root about to be extracted (only its layout is looked at).
    """
    archive = any(p.suffix in (".zip", ".gz", ".tar") for p in Path(root).iterdir()
                  if p.is_file()) if Path(root).is_dir() else True

    def work(tmp):
        from .pipeline.extract import extract
        from .raw import open_raw
        from .replicas import tiny_replica
        tiny_replica(dataset, tmp, archive=archive)
        extract(open_raw(dataset, tmp), workers=1, progress=False, warn=False)
    return warm_up(work)


def warm_integrate(setting, downsample=None, n_threads=None) -> WarmUp:
    """Integrate a tiny events store with ``setting``: the same kernels, compiled before the
    timed work. Custom functions are the user's code: nothing to warm (``WarmUp(0.0, False)``).

    Parameters
    ----------
    setting : FrameSetting
        The setting about to be integrated.
    downsample : int, optional
        Old call style: coordinate pooling of the real run (the setting carries its own).
    n_threads : int, optional
        Numba threads of the real run.
    """
    def work(tmp):
        import numpy as np

        from .pipeline.frames import build_frames
        from .store import EventsStoreWriter, events_store_path
        rng = np.random.default_rng(0)
        with EventsStoreWriter(events_store_path(tmp, "train")) as w:
            for i in range(3):
                n = 64
                w.append({"t": np.sort(rng.integers(0, 10_000, n)),
                          "x": rng.integers(0, 32, n).astype(np.int16),
                          "y": rng.integers(0, 32, n).astype(np.int16),
                          "p": rng.integers(0, 2, n).astype(np.int8)}, i)
            w.commit({"kind": "events", "dataset": "warm-up", "split": "train",
                      "sensor_size": [32, 32], "classes": ["a", "b", "c"]})
        build_frames(tmp, setting, splits=["train"], downsample=downsample, progress=False,
                     n_threads=n_threads)
    if getattr(setting, "function", None) is not None:
        return WarmUp(0.0, False)
    return warm_up(work)
