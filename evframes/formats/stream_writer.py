"""Writing event files: chunk by chunk (``evframes convert`` of files larger than memory) with
:class:`EventFileWriter`, or at once with :func:`write_events` (the same checks, atomic).

:class:`EventFileWriter` appends time-ordered chunks of events to a file of any format of
:data:`~evframes.formats.table.FORMATS`, holding one chunk at a time, and renames the file into
place only when :meth:`~EventFileWriter.close` completes (an interrupted run leaves no file at
the final name, only a ``.<name>.tmp-*`` temporary that is removed on the way out).

Each chunk's bytes are those of the format's own writer, so every check and layout choice stays
the writer's:

* AEDAT 2.0 / 3.1, ATIS and DAT hold self-contained records or packets: the writer writes the
  chunk to a part file, whose bytes after the header (the header alone is what the writer gives
  for no events) are appended.
* EVT 2.0 / 2.1 / 3.0 carry time state (TIME_HIGH words, counted loops). A chunk after the first
  is preceded by TIME_HIGH words stepping from the previous chunk's last time to its first
  (steps as small as the writer's, so every reader sees each loop), and is encoded with its
  times shifted down by whole loop periods, so the writer's first TIME_HIGH is the chunk's own
  and the reader's loop count carries on. The file decodes to the same events as one
  ``write_evt*`` call over all chunks.
* AEDAT 4 packets are written as they come (10 000 events each, LZ4) and the data table, whose
  position goes into the header, at :meth:`close`.

Chunks must continue in time: the first ``t`` of a chunk may not be below the last ``t`` of the
previous one, and the formats storing time modulo a period (AEDAT 2.0, ATIS, DAT) refuse a gap
at or above their :attr:`~evframes.formats.table.FileFormat.max_gap_us`, which their readers
could not unwrap, and a first time at or past the period (their readers count from 0). EVT 3.0
refuses a first time past :data:`EVT3_PAD_MAX_US` (a DV recording's Unix times would take
hundreds of MB of TIME_HIGH words before the first event).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from ..events import Events, as_events, empty_events
from . import aedat4_write as A4
from .aedat4_layout import MAGIC as AEDAT4_MAGIC
from .table import FORMATS, WRITER_OPTIONS, output_format, tmp_path

__all__ = ["EventFileWriter", "write_events"]

#: EVT time state: (time unit shift in bits, loop period in bits, TIME_HIGH mask, largest step)
_EVT_TIME = {"evt2": (6, 34, 0x0FFFFFFF, 1 << 24), "evt21": (6, 34, 0x0FFFFFFF, 1 << 24),
             "evt3": (12, 24, 0xFFF, 1024)}
#: latest first time (us) written to EVT 3.0: its 24-bit time reaches a start through TIME_HIGH
#: words of 1024 x 4096 us each, 64 MiB of them at this start (about 4.3 years)
EVT3_PAD_MAX_US = (32 << 20) << 22
#: events per AEDAT 4 packet (as :func:`~evframes.formats.aedat4.write_aedat4`)
AEDAT4_PACKET = 10_000


def _th_steps(cur: int, u: int, mask: int, step: int, evt2: bool) -> list:
    """TIME_HIGH values (masked) from unit ``cur`` up to unit ``u``, the writers' stepping rule:
    at most ``step`` units apart, and for EVT 2 a loop edge crossed as ``mask -> 0``."""
    out = []
    period = mask + 1
    while cur < u:
        if evt2:
            edge = (cur // period + 1) * period
            if u >= edge:
                cur = min(edge - 1, cur + step) if cur < edge - 1 else edge
            else:
                cur = min(u, cur + step)
        else:
            cur = min(u, cur + step)
        out.append(cur & mask)
    return out


def _bridge(fmt: str, u_prev: int, u_new: int) -> bytes:
    """The TIME_HIGH words of ``fmt`` taking a decoder from unit ``u_prev`` to ``u_new``."""
    _, _, mask, step = _EVT_TIME[fmt]
    steps = _th_steps(u_prev, u_new, mask, step, fmt != "evt3")
    if not steps:
        return b""
    if fmt == "evt3":
        return ((8 << 12) | np.asarray(steps, np.int64)).astype("<u2").tobytes()
    words = (8 << 28) | np.asarray(steps, np.int64)
    if fmt == "evt2":
        return words.astype("<u4").tobytes()
    pairs = np.zeros((len(steps), 2), "<u4")       # EVT 2.1: (mask 0, info) little endian
    pairs[:, 1] = words
    return pairs.tobytes()


class EventFileWriter:
    """Write an event file from time-ordered chunks; atomic (see the module docstring).

    Parameters
    ----------
    path : path-like
        The file to write (replaced when it exists, at :meth:`close` only).
    format : str, optional
        A name of :data:`~evframes.formats.table.FORMATS`; default from the extension.
    sensor_size : (W, H), optional
        Pixels; required by AEDAT 4 and EVT 2.0 / 2.1 / 3.0, written where the format has a
        place for it (DAT ``% Width``/``% Height``, AEDAT 3.1 ``#Sensor-Size``).

    Use as a context manager: leaving the block by an exception removes the temporary.

    >>> with EventFileWriter("out.raw", sensor_size=(640, 480)) as w:
    ...     for chunk in iter_events("in.aedat4"):
    ...         w.write(chunk)
    """

    def __init__(self, path, format: Optional[str] = None,
                 sensor_size: Optional[Tuple[int, int]] = None):
        self.path = Path(path)
        self.format = output_format(path, format)
        self.spec = FORMATS[self.format]
        self.sensor_size = None if sensor_size is None else \
            (int(sensor_size[0]), int(sensor_size[1]))
        if self.spec.needs_sensor and self.sensor_size is None:
            raise ValueError(f"{self.path}: writing {self.spec.title} needs sensor_size=(W, H) "
                             f"(its header holds it)")
        if self.sensor_size is not None and not (0 < self.sensor_size[0] and
                                                 0 < self.sensor_size[1]):
            raise ValueError(f"sensor_size must be positive, got {self.sensor_size}")
        self.n_events = 0
        self.last_t: Optional[int] = None
        self._tmp = tmp_path(self.path)
        self._part = tmp_path(self.path)
        self._fh = open(self._tmp, "wb")
        self._rows: list = []
        try:
            if self.format == "aedat4":
                self._start_aedat4()
            else:
                self._head = self._encoded(empty_events())
                self._fh.write(self._head)
        except BaseException:
            self.abort()
            raise

    # -- chunks ---------------------------------------------------------------------------
    def write(self, events) -> None:
        """Append a chunk (Events or a mapping with t, x, y, p); its times must not go below
        the previous chunk's last time. ValueError (nothing written) for events the format
        cannot hold."""
        ev = as_events(events)
        n = len(ev)
        if n == 0:
            return
        t = ev["t"]
        self._check_time(t)
        if self.format == "aedat4":
            self._aedat4_chunk(ev)
        elif self.format in _EVT_TIME and self.last_t is not None:
            shift, loop, _, _ = _EVT_TIME[self.format]
            t0 = int(t[0])
            base = (t0 >> loop) << loop
            body = self._encoded(Events(t=t - base, x=ev["x"], y=ev["y"], p=ev["p"]))
            self._fh.write(_bridge(self.format, self.last_t >> shift, t0 >> shift))
            self._fh.write(body[len(self._head):])
        else:
            self._fh.write(self._encoded(ev)[len(self._head):])
        self.n_events += n
        self.last_t = int(t[-1])

    def _check_time(self, t: np.ndarray) -> None:
        gap, period = self.spec.max_gap_us, self.spec.time_period_us
        if self.last_t is None and period is not None and int(t[0]) >= period:
            raise ValueError(f"{self.path}: the events start at t={int(t[0])} us, but "
                             f"{self.spec.title} stores time modulo {period} us and its readers "
                             f"count from 0, so that start would be lost; shift the times "
                             f"(evframes convert --rebase starts them at 0)")
        if self.last_t is None and self.format == "evt3" and int(t[0]) > EVT3_PAD_MAX_US:
            raise ValueError(f"{self.path}: the events start at t={int(t[0])} us; an EVT 3.0 "
                             f"file reaches that time through {int(t[0]) >> 22:,} TIME_HIGH "
                             f"words (2 bytes each) before the first event; shift the times "
                             f"(evframes convert --rebase starts them at 0) or write EVT 2.0")
        if self.last_t is not None and int(t[0]) < self.last_t:
            raise ValueError(f"{self.path}: chunk starts at t={int(t[0])} us, before the previous "
                             f"chunk's last event ({self.last_t} us); events must be in time "
                             f"order")
        if gap is None:
            return
        d = np.diff(t)
        worst = int(d.max()) if d.shape[0] else 0
        if self.last_t is not None:
            worst = max(worst, int(t[0]) - self.last_t)
        if worst >= gap:
            raise ValueError(f"{self.path}: a gap of {worst} us between consecutive events is "
                             f"too long for {self.spec.title}, which stores time modulo a "
                             f"period (at most {gap - 1} us)")

    def _encoded(self, ev: Events) -> bytes:
        """The bytes the format's writer gives for ``ev`` (via the part file)."""
        try:
            self.spec.write(self._part, ev, self.sensor_size)
            data = self._part.read_bytes()
        finally:
            if self._part.exists():
                self._part.unlink()
        if hasattr(self, "_head") and not data.startswith(self._head):
            raise RuntimeError(f"{self.path}: the {self.format} writer's header changed between "
                               f"chunks")
        return data

    # -- AEDAT 4 ------------------------------------------------------------------------------
    def _start_aedat4(self) -> None:
        w, h = self.sensor_size
        if not (w <= 32767 and h <= 32767):
            raise ValueError(f"AEDAT 4.0 holds sensors up to 32767x32767, not {w}x{h}")
        self._pack = A4.compressor("lz4")
        head, self._table_field = A4.ioheader(A4.COMPRESSION_CODES["lz4"],
                                              A4.description(w, h, "lz4", False))
        self._fh.write(AEDAT4_MAGIC + head)
        self._pos = len(AEDAT4_MAGIC) + len(head)

    def _aedat4_chunk(self, ev: Events) -> None:
        w, h = self.sensor_size
        for k, hi in (("x", w), ("y", h)):
            if int(ev[k].min()) < 0 or int(ev[k].max()) >= hi:
                raise ValueError(f"{k} must lie in 0..{hi - 1} for sensor_size {w}x{h}")
        if int(ev["p"].min()) < 0 or int(ev["p"].max()) > 1:
            raise ValueError("polarity must be 0 or 1")
        n = len(ev)
        for a in range(0, n, AEDAT4_PACKET):
            b = min(a + AEDAT4_PACKET, n)
            data = self._pack(A4.event_packet(ev["t"][a:b], ev["x"][a:b], ev["y"][a:b],
                                              ev["p"][a:b]))
            self._fh.write(np.array([0, len(data)], "<u4").tobytes() + data)
            self._rows.append((self._pos + 8, 0, len(data), b - a, int(ev["t"][a]),
                               int(ev["t"][b - 1])))
            self._pos += 8 + len(data)

    # -- end ------------------------------------------------------------------------------
    def close(self) -> Path:
        """Finish the file and rename it into place; returns its path."""
        try:
            if self.format == "aedat4":
                self._fh.write(self._pack(A4.data_table(self._rows)))
                self._fh.seek(len(AEDAT4_MAGIC) + self._table_field)
                self._fh.write(np.array([self._pos], "<i8").tobytes())
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Drop what was written (no file at ``path``)."""
        try:
            self._fh.close()
        except Exception:
            pass
        for p in (self._tmp, self._part):
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is not None:
            self.abort()
        elif not self._fh.closed:
            self.close()
        return False


def write_events(path, events, format: Optional[str] = None,
                 sensor_size: Optional[Tuple[int, int]] = None,
                 **kwargs) -> Path:
    """Write events as an event file, atomically (a temporary beside ``path``, renamed).

    Parameters
    ----------
    path : path-like
    events : Events or mapping with t, x, y, p
        ``t`` int64 us (>= 0, non-decreasing for the incremental formats), ``x``/``y`` pixels
        on the sensor, ``p`` 0/1.
    format : str, optional
        A name of :data:`FORMATS` (or :data:`ALIASES`); default: from the extension
        (:data:`WRITE_EXTENSIONS`).
    sensor_size : (W, H), optional
        Pixels; required by AEDAT 4 and EVT 2.0 / 2.1 / 3.0 (their headers hold it).
    **kwargs
        Passed to the format's own writer instead of the uniform one (e.g.
        ``compression="zstd"`` for AEDAT 4, ``triggers=...``).

    Raises ValueError for events the format cannot hold (its writer's message, or the time
    checks of :class:`~evframes.formats.stream_writer.EventFileWriter`: a start past the
    period of AEDAT 2.0 / ATIS / DAT time, gaps they cannot unwrap).
    """
    fmt = output_format(path, format)
    ev = as_events(events) if len(events["t"]) else empty_events()
    if not kwargs:
        with EventFileWriter(path, fmt, sensor_size) as w:
            w.write(ev)
        return Path(path)
    raw_writer = WRITER_OPTIONS[fmt]
    if sensor_size is not None:
        kwargs["sensor_size"] = tuple(int(v) for v in sensor_size)
    tmp = tmp_path(path)
    try:
        raw_writer(tmp, ev, **kwargs)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return Path(path)
