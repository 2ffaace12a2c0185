"""The supported event file formats in one table, and the operations over all of them.

:data:`FORMATS` maps a format name to its :class:`FileFormat`: reader, in-memory decoder,
chunked iterator, probe, writer and file extensions. :func:`read_events`,
:func:`iter_events`, :func:`probe_events` (and :func:`~.stream_writer.write_events`; all
exported by :mod:`evframes.formats` and :mod:`evframes`) choose the format from the file's
header (then its extension, for header-less ATIS files) and go through this table; a new format
is one line here.

=========  =====================================  ==========  =====================================
name       format                                 extensions  chunked reading
=========  =====================================  ==========  =====================================
aedat4     AEDAT 4.0 (iniVation DV)               .aedat4     packet-aligned (memory bounded)
evt2       Prophesee RAW EVT 2.0                  .raw        blocks of words (memory bounded)
evt21      Prophesee RAW EVT 2.1                  .raw        blocks of words (memory bounded)
evt3       Prophesee RAW EVT 3.0                  .raw        blocks of words (memory bounded)
dat        Prophesee DAT                          .dat        blocks of records (memory bounded)
aedat3     AEDAT 3.1 (cAER; DVS128 Gesture)       .aedat      read whole, then sliced
aedat2     AEDAT 2.0 (jAER; CIFAR10-DVS)          .aedat      read whole, then sliced
atis       ATIS 40-bit (N-MNIST, N-Caltech101)    .bin .bs2   read whole, then sliced
=========  =====================================  ==========  =====================================

Writing picks the format from ``format=`` or the extension: ``.aedat`` writes AEDAT 3.1 and
``.raw`` EVT 3.0 unless ``format="aedat2"`` / ``"evt2"`` / ``"evt21"`` says otherwise.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Tuple

import numpy as np

from ..events import Events
from . import aedat2, aedat3, aedat4, atis_bin, evt2, evt3, evt21, prophesee_dat
from ._common import display_name
from ._sniff import SNIFF_BYTES
from .probe import SIZE_LINE, header_sensor, probe_by_reading

__all__ = ["FileFormat", "FORMATS", "ALIASES", "format_of", "output_format", "read_events",
           "iter_events", "probe_events", "header_sensor", "WRITER_OPTIONS"]

Size = Optional[Tuple[int, int]]


@dataclass(frozen=True)
class FileFormat:
    """One supported event file format.

    Attributes
    ----------
    name, title : str
        Table key (``"evt3"``) and what users call it (``"Prophesee EVT 3.0 RAW"``).
    extensions : tuple of str
        File extensions, lower case with the dot; the first is written by default.
    read, decode : callable
        ``read(path, **kw) -> Events`` and ``decode(data, name=..., **kw) -> Events``.
    iterate : callable or None
        ``iterate(path, chunk_events, t_start=, t_end=, **kw)`` yielding Events chunks, memory
        bounded; None: :func:`iter_events` reads the whole file and slices it.
    probe : callable or None
        ``probe(path) -> dict`` without decoding every event; None: read and count.
    write : callable
        ``write(path, events, sensor_size)`` with the format's own writer; ``sensor_size`` is
        ``(W, H)`` pixels or None where the format does not need it.
    windowed : bool
        ``read``/``iterate`` take ``t_start``/``t_end`` themselves (skipping what lies outside).
    max_sensor : (int, int)
        Largest sensor (W, H) the format addresses, in pixels.
    max_gap_us : int or None
        Timestamps are stored modulo a period and unwrapped by the reader: consecutive events
        must be less than this many microseconds apart (None: no such limit).
    needs_sensor : bool
        The writer puts the sensor size in the header and requires it.
    time_period_us : int or None
        That period (us): the readers unwrap from 0, so a file's first time must be below it
        (a later start would come back modulo the period).
    """

    name: str
    title: str
    extensions: Tuple[str, ...]
    read: Callable
    decode: Callable
    iterate: Optional[Callable]
    probe: Optional[Callable]
    write: Callable
    windowed: bool
    max_sensor: Tuple[int, int]
    max_gap_us: Optional[int] = None
    needs_sensor: bool = False
    time_period_us: Optional[int] = None


def _fits(fmt: str, sensor_size: Size, limit: Tuple[int, int]) -> None:
    if sensor_size is not None and (int(sensor_size[0]) > limit[0]
                                    or int(sensor_size[1]) > limit[1]):
        raise ValueError(f"{fmt} holds sensors up to {limit[0]}x{limit[1]} pixels, not "
                         f"{int(sensor_size[0])}x{int(sensor_size[1])}")


def _write_aedat2(path, events, sensor_size=None):
    _fits("AEDAT 2.0 (DVS128 addresses)", sensor_size, (128, 128))
    aedat2.write_aedat2(path, events)


def _write_aedat3(path, events, sensor_size=None):
    _fits("AEDAT 3.1", sensor_size, (8192, 8192))
    lines = None
    if sensor_size is not None and tuple(int(v) for v in sensor_size) != (128, 128):
        lines = [SIZE_LINE.format(w=int(sensor_size[0]), h=int(sensor_size[1]))]
    aedat3.write_aedat3(path, events, header_lines=lines)


def _write_atis(path, events, sensor_size=None):
    _fits("ATIS 40-bit", sensor_size, (256, 256))
    atis_bin.write_atis_bin(path, events)


def _sized(writer):
    def write(path, events, sensor_size=None):
        if sensor_size is None:
            raise ValueError("sensor_size=(width, height) is required: the format stores it in "
                             "its header")
        writer(path, events, sensor_size=tuple(int(v) for v in sensor_size))
    return write


def _write_dat(path, events, sensor_size=None):
    prophesee_dat.write_prophesee_dat(path, events, sensor_size=None if sensor_size is None
                                      else tuple(int(v) for v in sensor_size))


FORMATS = {f.name: f for f in (
    FileFormat("aedat4", "AEDAT 4.0", (".aedat4",), aedat4.read_aedat4,
               aedat4.decode_aedat4_bytes, aedat4.iter_aedat4, aedat4.probe_aedat4,
               _sized(aedat4.write_aedat4), True, (32767, 32767), needs_sensor=True),
    FileFormat("evt2", "Prophesee EVT 2.0 RAW", (".raw",), evt2.read_evt2, evt2.decode_evt2_bytes,
               evt2.iter_evt2, evt2.probe_evt2, _sized(evt2.write_evt2), True, (2048, 2048),
               needs_sensor=True),
    FileFormat("evt21", "Prophesee EVT 2.1 RAW", (".raw",), evt21.read_evt21,
               evt21.decode_evt21_bytes, evt21.iter_evt21, evt21.probe_evt21,
               _sized(evt21.write_evt21), True, (2048, 2048), needs_sensor=True),
    FileFormat("evt3", "Prophesee EVT 3.0 RAW", (".raw",), evt3.read_evt3, evt3.decode_evt3_bytes,
               evt3.iter_evt3, evt3.probe_evt3, _sized(evt3.write_evt3), True, (2048, 2048),
               needs_sensor=True),
    FileFormat("dat", "Prophesee DAT", (".dat",), prophesee_dat.read_prophesee_dat,
               prophesee_dat.decode_prophesee_dat_bytes, prophesee_dat.iter_prophesee_dat,
               prophesee_dat.probe_prophesee_dat, _write_dat, True, (16384, 16384), 1 << 31,
               time_period_us=1 << 32),
    FileFormat("aedat3", "AEDAT 3.1", (".aedat",), aedat3.read_aedat3, aedat3.decode_aedat3_bytes,
               None, None, _write_aedat3, False, (8192, 8192)),
    FileFormat("aedat2", "AEDAT 2.0 (jAER, DVS128)", (".aedat",), aedat2.read_aedat2,
               aedat2.decode_aedat2_bytes, None, None, _write_aedat2, False, (128, 128), 1 << 31,
               time_period_us=1 << 32),
    FileFormat("atis", "ATIS 40-bit .bin", (".bin", ".bs2"), atis_bin.read_atis_bin,
               atis_bin.decode_atis_bytes, None, None, _write_atis, False, (256, 256), 1 << 22,
               time_period_us=1 << 23),
)}
#: each format's own writer, for options beyond the uniform ``write`` (compression, triggers)
WRITER_OPTIONS = {"aedat4": aedat4.write_aedat4, "evt2": evt2.write_evt2,
                  "evt21": evt21.write_evt21, "evt3": evt3.write_evt3,
                  "dat": prophesee_dat.write_prophesee_dat, "aedat3": aedat3.write_aedat3,
                  "aedat2": aedat2.write_aedat2, "atis": atis_bin.write_atis_bin}
#: other spellings accepted for ``format=`` / ``--format``
ALIASES = {"evt2.0": "evt2", "evt2.1": "evt21", "evt3.0": "evt3", "bin": "atis", "bs2": "atis",
           "prophesee_dat": "dat", "aedat3.1": "aedat3", "aedat2.0": "aedat2",
           "aedat4.0": "aedat4"}
#: extension -> the format written for it (``.aedat``: AEDAT 3.1, ``.raw``: EVT 3.0)
WRITE_EXTENSIONS = {".aedat4": "aedat4", ".raw": "evt3", ".dat": "dat", ".aedat": "aedat3",
                    ".bin": "atis", ".bs2": "atis"}


def format_of(path) -> str:
    """The name of the format of the file ``path`` (its header decides; the extension only for
    header-less ATIS files). Raises :class:`~evframes.FormatError` naming the file when it is
    not a supported format (and what it is, when recognisable)."""
    from . import detect_format
    with open(path, "rb") as fh:
        return detect_format(fh.read(SNIFF_BYTES), display_name(path))


def output_format(path, format: Optional[str] = None) -> str:
    """The format to write ``path`` in: ``format`` (a name of :data:`FORMATS` or an alias),
    else the extension's (:data:`WRITE_EXTENSIONS`). ValueError when neither says."""
    if format:
        key = str(format).lower()
        key = ALIASES.get(key, key)
        if key not in FORMATS:
            raise ValueError(f"unknown format {format!r}; choose one of "
                             f"{', '.join(FORMATS)}")
        return key
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in WRITE_EXTENSIONS:
        raise ValueError(f"{display_name(path)}: cannot tell the format from the extension "
                         f"{ext or '(none)'!r} (known: {', '.join(WRITE_EXTENSIONS)}); give "
                         f"format=... / --format")
    return WRITE_EXTENSIONS[ext]


def _window(ev: Events, t_start, t_end) -> Events:
    """Events with ``t_start <= t < t_end`` (either None: unbounded), in file order."""
    if t_start is None and t_end is None:
        return ev
    t = ev["t"]
    keep = np.ones(t.shape[0], bool)
    if t_start is not None:
        keep &= t >= int(t_start)
    if t_end is not None:
        keep &= t < int(t_end)
    if keep.all():
        return ev
    return Events({k: ev[k][keep] for k in "txyp"})


def _check_window(t_start, t_end) -> None:
    if t_start is not None and t_end is not None and int(t_start) >= int(t_end):
        raise ValueError(f"empty time window: t_start {int(t_start)} us >= t_end "
                         f"{int(t_end)} us")


def read_events(path, *, t_start: Optional[int] = None, t_end: Optional[int] = None,
                format: Optional[str] = None, **kwargs):
    """Read an event file of any supported format.

    Parameters
    ----------
    path : path-like
    t_start, t_end : int, optional
        Keep events with ``t_start <= t < t_end`` (microseconds). The AEDAT 4 and Prophesee
        readers skip what lies outside; the old formats are read whole, then filtered.
    format : str, optional
        A name of :data:`FORMATS`: skip detection (the reader still checks the header).
    **kwargs
        Passed to the format's reader (e.g. ``on_truncated="warn"``, ``with_triggers=True``).

    Returns
    -------
    Events (``t`` int64 us, ``x``/``y`` int16, ``p`` int8 0/1; shape ``(N,)``), or what the
    reader returns for its options (``(events, triggers)`` with ``with_triggers``).
    """
    _check_window(t_start, t_end)
    spec = FORMATS[output_format(path, format) if format else format_of(path)]
    if spec.windowed:
        return spec.read(path, t_start=t_start, t_end=t_end, **kwargs)
    return _window(spec.read(path, **kwargs), t_start, t_end)


def iter_events(path, chunk_events: int = 1_000_000, t_start: Optional[int] = None,
                t_end: Optional[int] = None, **kwargs) -> Iterator[Events]:
    """Yield the events of a file in chunks, in file order; concatenated they equal
    :func:`read_events` with the same window.

    AEDAT 4 and the Prophesee formats are decoded chunk by chunk, so memory stays bounded by
    about one chunk whatever the file size (Prophesee chunks hold exactly ``chunk_events``,
    the last fewer; AEDAT 4 chunks end at the first packet boundary past ``chunk_events``).
    The old formats (AEDAT 2.0 / 3.1, ATIS 40-bit) are read whole and then sliced: their files
    are small (a DVS128 Gesture recording is tens of MB, an N-MNIST sample a few kB).
    ``t_start <= t < t_end`` (us) selects a window; ``kwargs`` go to the reader.
    """
    chunk_events = int(chunk_events)
    if chunk_events < 1:
        raise ValueError(f"chunk_events must be >= 1, got {chunk_events}")
    _check_window(t_start, t_end)
    spec = FORMATS[format_of(path)]
    if spec.iterate is not None:
        yield from spec.iterate(path, chunk_events, t_start=t_start, t_end=t_end, **kwargs)
        return
    ev = _window(spec.read(path, **kwargs), t_start, t_end)
    for a in range(0, len(ev), chunk_events):
        yield ev.slice(a, a + chunk_events)


def probe_events(path) -> dict:
    """What a file holds, without keeping its events.

    Returns a dict with at least ``format`` (a name of :data:`FORMATS`), ``title``, ``width``,
    ``height`` (pixels, None when the file does not say), ``size_source``, ``events``,
    ``t_first``, ``t_last`` (us, None without events), ``duration_us`` and ``file_bytes``;
    the format's probe may add more (``triggers``, ``header``, ``compression``, ...). AEDAT 4
    and the Prophesee formats count without decoding every event; the old formats are read.
    """
    fmt = format_of(path)
    spec = FORMATS[fmt]
    info = dict(spec.probe(path)) if spec.probe is not None else \
        probe_by_reading(spec.read, fmt, path)
    info["format"] = fmt
    info["title"] = spec.title
    info.setdefault("size_source", "header" if info.get("width") else None)
    if info.get("t_first") is not None and info.get("duration_us") is None:
        info["duration_us"] = int(info["t_last"]) - int(info["t_first"])
    info.setdefault("duration_us", None)
    info["file_bytes"] = os.path.getsize(path)
    return info


def tmp_path(final) -> Path:
    """A temporary name beside ``final`` (same folder, so ``os.replace`` is atomic)."""
    final = Path(final)
    return final.with_name(f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
