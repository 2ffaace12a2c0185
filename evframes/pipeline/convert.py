"""``evframes convert``: an event file to another format, to an events store, or a store's
samples to files, streaming and atomic.

=======================  ==========================================================================
IN -> OUT                what is written
=======================  ==========================================================================
file -> file             the events (``t_start <= t < t_end`` us when given), chunk by chunk
                         through :func:`~evframes.formats.iter_events` and
                         :class:`~evframes.formats.stream_writer.EventFileWriter`: memory stays
                         about one chunk whatever the file size
file -> ``.h5``          an events store holding the recording as **one sample** (label 0, class
                         = the file's stem; meta ``source``, ``format``, ``start``, ``end``), also
                         streamed (:meth:`~evframes.store.EventsStoreWriter.append_events`)
``.h5`` -> file          one sample (``sample=K``, or the store's only one)
``.h5`` -> folder        **every sample kept**: ``OUT/<class>/<index>_<source stem>.<ext>``, the
                         layout ``evframes extract --recordings OUT`` reads back
=======================  ==========================================================================

The output format comes from ``format=`` or OUT's extension (``.aedat4``, ``.raw`` = EVT 3.0,
``.dat``, ``.aedat`` = AEDAT 3.1, ``.bin``). The sensor size comes from ``sensor_size=``, else
from IN's header (or the store's manifest), else from the events' extent (max x + 1, max y + 1;
reported in the summary's note). Outputs are written under a temporary name beside OUT and
renamed only when complete: an interrupted run leaves no OUT (a folder output too).
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from ..errors import StoreError
from ..events import empty_events, make_events
from ..formats import FORMATS, iter_events, probe_events
from ..formats.stream_writer import EventFileWriter
from ..formats.table import WRITE_EXTENSIONS, output_format, tmp_path
from ..store import EventsDataset, EventsStoreWriter, read_manifest

__all__ = ["convert", "ConvertSummary", "is_store_path", "STORE_SUFFIXES"]

STORE_SUFFIXES = (".h5", ".hdf5")
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
Size = Optional[Tuple[int, int]]


@dataclass
class ConvertSummary:
    """What a conversion did (``lines()`` is what ``evframes convert`` prints)."""

    src: Path
    dst: Path
    format_in: str
    format_out: str
    events: int = 0
    samples: int = 1
    sensor_size: Size = None
    seconds: float = 0.0
    notes: List[str] = field(default_factory=list)

    def lines(self) -> List[str]:
        size = "unknown" if self.sensor_size is None else \
            f"{self.sensor_size[0]}x{self.sensor_size[1]}"
        rate = self.events / self.seconds / 1e6 if self.seconds > 0 else 0.0
        out = [f"wrote {self.dst} ({self.format_out}) from {self.src} ({self.format_in}): "
               f"{self.events:,} events" + (f" in {self.samples} samples" if self.samples != 1
                                            else "")
               + f", sensor {size}, {self.seconds:.2f} s ({rate:.1f} M events/s)"]
        return out + [f"note: {n}" for n in self.notes]


def is_store_path(path) -> bool:
    """Whether ``path`` names an HDF5 events store (by its extension, or its HDF5 signature)."""
    p = Path(path)
    if p.suffix.lower() in STORE_SUFFIXES:
        return True
    try:
        with open(p, "rb") as fh:
            return fh.read(8) == HDF5_MAGIC
    except OSError:
        return False


def _bar(total, desc, progress):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit=" ev", unit_scale=True, disable=not progress,
                file=sys.stderr, leave=False, dynamic_ncols=True)


def _extent(src, t_start, t_end, chunk_events) -> Size:
    xm = ym = -1
    for ev in iter_events(src, chunk_events, t_start, t_end):
        if len(ev):
            xm, ym = max(xm, int(ev["x"].max())), max(ym, int(ev["y"].max()))
    return None if xm < 0 else (xm + 1, ym + 1)


def _file_sensor(src, info, sensor_size, t_start, t_end, chunk_events, notes) -> Size:
    if sensor_size is not None:
        return tuple(int(v) for v in sensor_size)
    if info.get("width") and info.get("height"):
        return int(info["width"]), int(info["height"])
    ext = info.get("extent") or _extent(src, t_start, t_end, chunk_events)
    if ext is not None:
        notes.append(f"{src} states no sensor size; using the events' extent {ext[0]}x{ext[1]} "
                     f"(pass --sensor WxH to set it)")
    return ext


def convert(src, dst, format: Optional[str] = None, sensor_size: Size = None,
            t_start: Optional[int] = None, t_end: Optional[int] = None,
            sample: Optional[int] = None, chunk_events: int = 1_000_000,
            progress: bool = True, force: bool = False, rebase: bool = False) -> ConvertSummary:
    """Convert ``src`` to ``dst`` (see the module docstring for every case).

    Parameters
    ----------
    src, dst : path-like
        An event file of any supported format or an events store (``.h5``); OUT a file, a
        store (``.h5``) or, from a store of several samples, a folder.
    format : str, optional
        Output format (a name of :data:`~evframes.formats.FORMATS`); default from ``dst``.
    sensor_size : (W, H), optional
        Pixels; default from IN (header or manifest), else the events' extent.
    t_start, t_end : int, optional
        Keep events with ``t_start <= t < t_end`` (microseconds; per sample from a store).
    sample : int, optional
        From a store: the one sample to write.
    chunk_events : int
        Events decoded and written at a time (memory bound of a file -> file conversion).
    force : bool
        Replace an existing output folder (files are always replaced atomically).
    rebase : bool
        Shift the times so that the first event written is at t = 0 (per sample from a
        store); needed where OUT's format cannot hold IN's start (DAT, AEDAT 2.0 and ATIS keep
        time modulo a period counted from 0; EVT 3.0 would need a long run of TIME_HIGH words
        to reach a DV recording's Unix time).

    Raises FormatError / StoreError / ValueError (one line naming the file and the problem).
    """
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such file")
    if src.is_dir():
        raise ValueError(f"{src}: is a folder; convert reads one event file or events store")
    if dst.exists() and src.resolve() == dst.resolve():
        raise ValueError(f"{dst}: IN and OUT are the same file")
    if t_start is not None and t_end is not None and int(t_start) >= int(t_end):
        raise ValueError(f"empty time window: --t-start {t_start} >= --t-end {t_end} us")
    t0 = time.perf_counter()
    if is_store_path(src):
        if is_store_path(dst) and not dst.is_dir():
            raise ValueError(f"{src} and {dst} are both events stores: nothing to convert "
                             f"(copy the file)")
        summary = _from_store(src, dst, format, sensor_size, t_start, t_end, sample, force,
                              progress, rebase)
    elif sample is not None:
        raise ValueError(f"--sample picks a sample of an events store; {src} is an event file")
    elif dst.suffix.lower() in STORE_SUFFIXES:
        summary = _to_store(src, dst, sensor_size, t_start, t_end, chunk_events, progress,
                            rebase)
    else:
        summary = _file_to_file(src, dst, format, sensor_size, t_start, t_end, chunk_events,
                                progress, rebase)
    summary.seconds = time.perf_counter() - t0
    return summary


class _Rebase:
    """Subtracts the first time seen (when on) from every chunk."""

    def __init__(self, on: bool, notes: List[str]):
        self.on, self.offset, self.notes = on, None, notes

    def __call__(self, ev):
        if not self.on or not len(ev):
            return ev
        if self.offset is None:
            self.offset = int(ev["t"][0])
            self.notes.append(f"times shifted by -{self.offset} us (--rebase)")
        return make_events(ev["t"] - self.offset, ev["x"], ev["y"], ev["p"])


def _file_to_file(src, dst, format, sensor_size, t_start, t_end, chunk_events, progress,
                  rebase=False):
    fmt_out = output_format(dst, format)
    info = probe_events(src)
    s = ConvertSummary(src, dst, info["format"], fmt_out)
    s.sensor_size = _file_sensor(src, info, sensor_size, t_start, t_end, chunk_events, s.notes)
    if s.sensor_size is None and FORMATS[fmt_out].needs_sensor:   # no events and no size
        raise ValueError(f"{src}: no sensor size in its header and no events to take it from; "
                         f"pass --sensor WxH")
    shift = _Rebase(rebase, s.notes)
    with EventFileWriter(dst, fmt_out, s.sensor_size) as w, \
            _bar(info.get("events"), f"convert {src.name}", progress) as bar:
        for ev in iter_events(src, chunk_events, t_start, t_end):
            w.write(shift(ev))
            bar.update(len(ev))
    s.events = w.n_events
    return s


def _to_store(src, dst, sensor_size, t_start, t_end, chunk_events, progress, rebase=False):
    info = probe_events(src)
    s = ConvertSummary(src, dst, info["format"], "events store")
    s.sensor_size = _file_sensor(src, info, sensor_size, t_start, t_end, chunk_events, s.notes)
    if s.sensor_size is None:
        raise ValueError(f"{src}: no sensor size in its header and no events; pass --sensor WxH")
    W, H = s.sensor_size
    first = last = None
    meta = {"source": src.name, "format": info["format"]}
    shift = _Rebase(rebase, s.notes)
    with EventsStoreWriter(dst, {"source": str, "format": str, "start": int, "end": int}) as w, \
            _bar(info.get("events"), f"convert {src.name}", progress) as bar:
        for ev in iter_events(src, chunk_events, t_start, t_end):
            if not len(ev):
                continue
            ev = shift(ev)
            t = ev["t"]
            if (last is not None and int(t[0]) < last) or np.any(np.diff(t) < 0):
                raise ValueError(f"{src}: timestamps decrease; an events store sample must be "
                                 f"in time order")
            if (int(ev["x"].min()) < 0 or int(ev["x"].max()) >= W or int(ev["y"].min()) < 0
                    or int(ev["y"].max()) >= H):
                raise ValueError(f"{src}: events off the {W}x{H} sensor (pass --sensor WxH)")
            first = int(t[0]) if first is None else first
            last = int(t[-1])
            w.append_events(ev)
            bar.update(len(ev))
        start = first if t_start is None or rebase else int(t_start)
        end = (last + 1 if last is not None else 0) if t_end is None or rebase else int(t_end)
        w.append(empty_events(), 0, dict(meta, start=start if start is not None else 0, end=end))
        s.events = w.n_events
        w.commit({"kind": "events", "dataset": "file", "split": dst.stem,
                  "sensor_size": [W, H], "classes": [src.stem],
                  "options": {"source": str(src), "format": info["format"],
                              "t_start": t_start, "t_end": t_end}})
    return s


def _safe(name: str) -> str:
    return re.sub(r"[^\w.+-]+", "_", str(name)).strip("._") or "x"


def _from_store(src, dst, format, sensor_size, t_start, t_end, sample, force, progress,
                rebase=False):
    man = read_manifest(src)
    if man.get("kind") != "events":
        raise StoreError(f"{src}: a {man.get('kind')} store; convert reads events stores")
    ds = EventsDataset(src, manifest=man)
    n = len(ds)
    size = tuple(int(v) for v in sensor_size) if sensor_size is not None else \
        (tuple(int(v) for v in ds.sensor_size) if len(ds.sensor_size) == 2 else None)
    if sample is not None and not -n <= int(sample) < n:
        raise ValueError(f"{src}: sample {sample} out of range (the store holds {n})")
    one = sample is not None or (n == 1 and dst.suffix.lower() in WRITE_EXTENSIONS)
    fmt_out = output_format(dst, format) if one or format else None
    if fmt_out is None:
        raise ValueError(f"{src} holds {n} samples: OUT {dst} is written as a folder of one "
                         f"file per sample; give --format (or --sample K for one file)")
    s = ConvertSummary(src, dst, "events store", fmt_out, sensor_size=size)
    if one:
        ev = _windowed(ds.events(int(sample or 0) % n), t_start, t_end, rebase)
        with EventFileWriter(dst, fmt_out, size) as w:
            w.write(ev)
        s.events = w.n_events
        return s
    if dst.exists() and not dst.is_dir():
        raise ValueError(f"{dst}: is a file; {src} holds {n} samples, written as a folder")
    if dst.is_dir() and any(dst.iterdir()) and not force:
        raise ValueError(f"{dst}: folder exists and is not empty (pass --force to replace it)")
    ext = FORMATS[fmt_out].extensions[0]
    classes = list(ds.classes) or ["0"]
    sources = ds.meta.get("source")
    tmp = tmp_path(dst)
    tmp.mkdir()
    try:
        with _bar(int(ds.offsets[-1]), f"convert {src.name}", progress) as bar:
            for i in range(n):
                ev, label = ds[i]
                ev = _windowed(ev, t_start, t_end, rebase)
                cls = classes[label] if 0 <= label < len(classes) else str(label)
                stem = f"{i:06d}" + (f"_{_safe(Path(str(sources[i])).stem)}"
                                     if sources is not None else "")
                folder = tmp / _safe(cls)
                folder.mkdir(exist_ok=True)
                with EventFileWriter(folder / (stem + ext), fmt_out, size) as w:
                    w.write(ev)
                s.events += w.n_events
                bar.update(len(ev))
        old = None
        if dst.exists():
            old = tmp_path(dst)
            os.replace(dst, old)
        os.replace(tmp, dst)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    s.samples = n
    return s


def _windowed(ev, t_start, t_end, rebase=False):
    """A sample's events in ``t_start <= t < t_end`` (us), shifted to start at 0 when
    ``rebase``."""
    t = ev["t"]
    keep = np.ones(t.shape[0], bool)
    if t_start is not None:
        keep &= t >= int(t_start)
    if t_end is not None:
        keep &= t < int(t_end)
    if not keep.all():
        ev = make_events(t[keep], ev["x"][keep], ev["y"][keep], ev["p"][keep])
    if rebase and len(ev):
        ev = make_events(ev["t"] - ev["t"][0], ev["x"], ev["y"], ev["p"])
    return ev

