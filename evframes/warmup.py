"""Warm-up runs: compile the Numba kernels before the timed work, or at set-up.

Commands that print rates (``evframes extract``, ``integrate``, ``demo``) first run the same
kernels on a tiny input in a temporary folder, so the printed rates never include Numba
compilation. The caller reports the returned :class:`WarmUp` (its compile time when the kernels
were compiled rather than loaded from Numba's cache).

Set-up (``scripts/setup_env.sh``) runs ``python -m evframes.warmup``: :func:`warm_cache`
compiles, once, the kernels that the first user-facing runs need (``evframes extract`` of the
main datasets, ``evframes integrate``, and the Python API: ``integrate``, ``to_frames``,
``integrate_batch``, the SpikingJelly-named functions and the representations, for the
dtypes of evframes' stores and of SpikingJelly's and Tonic's arrays) into Numba's on-disk
cache, so those runs load machine code instead of compiling it. The cache is Numba's own
(``cache=True`` on every kernel; beside the installed modules, or ``NUMBA_CACHE_DIR``); Numba
keys each entry by signature, CPU name and CPU features and invalidates it when a module's
source file, or Numba, changes: on another CPU or after an edit the kernels are compiled again
(correct, only slower), never loaded wrongly. Other dtypes compile on first use as before.

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


# Event dtypes the first user-facing calls hand the kernels: (t, x and y, p).
API_DTYPES = (("int64", "int16", "int8"),    # evframes' events stores
              ("int64", "int64", "int64"),   # SpikingJelly's .npz events
              ("int64", "int16", "bool"),    # Tonic's DVS structured arrays
              ("float64", "int64", "int64"))  # float timestamps (SpikingJelly allows them)
EXTRACT_DATASETS = ("dvs128", "nmnist", "cifar10dvs")


def _events(rng, n, dts, H=32, W=32):
    import numpy as np
    t, xy, p = (np.dtype(d) for d in dts)
    return {"t": np.sort(rng.integers(0, 10_000, n)).astype(t),
            "x": rng.integers(0, W, n).astype(xy), "y": rng.integers(0, H, n).astype(xy),
            "p": rng.integers(0, 2, n).astype(p)}


def warm_api(dtypes=API_DTYPES, representations: bool = True) -> WarmUp:
    """Call the Python API's count paths (number, time, duration, count; uint16 and float64
    frames; one segment; a batch) on tiny events of each dtype, and every representation on
    evframes' store dtypes.

    Parameters
    ----------
    dtypes : sequence of (t, xy, p) dtype names
        Event dtypes to compile for (default :data:`API_DTYPES`).
    representations : bool
        Also the representations (voxel grid, time surfaces, ...).
    """
    def work(tmp):
        import numpy as np

        from . import integrate as I
        rng = np.random.default_rng(0)
        for dts in dtypes:
            ev = _events(rng, 600, dts)
            I.integrate_events_by_fixed_frames_number(ev, "number", 4, 32, 32)
            I.integrate_events_by_fixed_frames_number(ev, "time", 4, 32, 32)
            I.integrate_events_by_fixed_duration(ev, 2000, 32, 32)
            I.integrate_events_segment_to_frame(ev["x"], ev["y"], ev["p"], 32, 32, 10, 500)
            I.to_frames(ev, 32, 32, split_by="number", frames_number=4)
            I.to_frames(ev, 32, 32, count=100, overlap=10, include_incomplete=False)
        ev = _events(rng, 600, API_DTYPES[0])
        off = np.array([0, 250, 600])
        I.integrate_batch(ev["t"], ev["x"], ev["y"], ev["p"], off,
                          I.FrameSetting(split_by="number", frames_number=4), 32, 32)
        if not representations:
            return
        args = (ev["t"], ev["x"], ev["y"], ev["p"], 32, 32)
        I.voxel_grid(*args, bins=4)
        I.time_surface(*args, tau=1000)
        I.averaged_time_surface(*args, tau=1000)
        I.stacked_histogram(*args, bins=4)
        I.onoff_frames(*args)
        I.event_image(*args)
        I.binary_frames(*args)
        I.latest_timestamp(*args)
    return warm_up(work)


def warm_cache(extract=EXTRACT_DATASETS, echo=print) -> float:
    """Fill Numba's cache for the first user-facing runs (see the module docstring); returns
    the seconds spent. ``echo`` gets one line per part (``None``: silent)."""
    from .integrate import FrameSetting
    parts = [("Python API (integrate, SpikingJelly-named, representations)", warm_api),
             ("evframes integrate", lambda: warm_integrate(
                 FrameSetting(split_by="number", frames_number=20)))]
    parts += [(f"evframes extract --dataset {d}", lambda d=d: _warm_extract_tiny(d))
              for d in extract]
    total = 0.0
    for name, fn in parts:
        w = fn()
        total += w.seconds
        if echo is not None:
            echo(f"warm-up {name}: {w.seconds:.1f} s "
                 f"({'compiled' if w.compiled else 'loaded from the cache'})")
    return total


def _warm_extract_tiny(dataset: str) -> WarmUp:
    """:func:`warm_extract` for both layouts (archives and extracted folders)."""
    def work(tmp):
        from .pipeline.extract import extract
        from .raw import open_raw
        from .replicas import tiny_replica
        for archive in (True, False):
            root = tmp / ("archive" if archive else "folder")
            tiny_replica(dataset, root, archive=archive)
            extract(open_raw(dataset, root), workers=1, progress=False, warn=False)
    return warm_up(work)


if __name__ == "__main__":  # python -m evframes.warmup [--no-extract]
    seconds = warm_cache(extract=() if "--no-extract" in sys.argv[1:] else EXTRACT_DATASETS)
    print(f"Numba cache warm ({seconds:.1f} s)")
