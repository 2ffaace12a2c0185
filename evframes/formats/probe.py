"""Facts about an event file without keeping its events: the sensor size its header states, and
probes for the formats whose modules have none (AEDAT 2.0, AEDAT 3.1, ATIS 40-bit).

:func:`header_sensor` reads only the header (Prophesee ``%`` lines, AEDAT 3.1 ``#`` lines, the
AEDAT 4 description), so a dataset of many recordings can check their sizes at every staleness
check. Sizes by format:

===========  =================================================================================
AEDAT 4.0    ``sizeX``/``sizeY`` of the events stream (its probe)
EVT / DAT    ``% format ...;width=;height=``, ``% geometry WxH``, ``% Width``/``% Height`` or
             the camera's ``system_ID`` (see :mod:`._prophesee_header`); DAT files may have none
AEDAT 3.1    evframes' own ``#Sensor-Size: WxH`` header line when present (written for sensors
             other than 128 x 128), else the ``#Source N: <camera>`` line for the cameras of
             :data:`AEDAT3_SOURCES` (cAER names them), else none
AEDAT 2.0    128 x 128: the only address layout evframes reads is the DVS128 one
ATIS .bin    none: the format has no header
===========  =================================================================================

The fallback probe (:func:`probe_by_reading`) decodes the whole file, which the old formats
allow (their files are small: DVS128 Gesture recordings are tens of MB, N-MNIST samples kB).
"""
from __future__ import annotations

import os
import re
from typing import Callable, Optional, Tuple

import numpy as np

from ._common import display_name
from ._prophesee_header import MAX_HEADER_BYTES, parse_header

__all__ = ["header_sensor", "probe_by_reading", "AEDAT3_SOURCES", "SIZE_LINE"]

#: ``#Source N: <name>`` camera names of AEDAT 3.1 headers (prefix, upper case) -> (W, H)
AEDAT3_SOURCES = (("DVS128", (128, 128)), ("DAVIS240", (240, 180)), ("DAVIS346", (346, 260)))
#: evframes' AEDAT 3.1 header line for the sensor size (without the leading ``#``)
SIZE_LINE = "Sensor-Size: {w}x{h}"
_SIZE_RE = re.compile(rb"^#Sensor-Size:\s*(\d+)\s*x\s*(\d+)\s*$", re.I)
_SOURCE_RE = re.compile(rb"^#Source\s+\d+:\s*(\S+)", re.I)
#: bytes of an AEDAT 3.1 header looked at for the size lines
_AEDAT3_HEAD = 1 << 16

Size = Optional[Tuple[int, int]]


def _aedat3_size(head: bytes) -> Tuple[Size, str]:
    source: Tuple[Size, str] = (None, "")
    for line in head.split(b"\n"):
        line = line.rstrip(b"\r")
        if line.startswith(b"#!END-HEADER"):
            break
        m = _SIZE_RE.match(line)
        if m:
            return (int(m.group(1)), int(m.group(2))), "#Sensor-Size header line"
        m = _SOURCE_RE.match(line)
        if m and source[0] is None:
            cam = m.group(1).decode("ascii", "replace").upper()
            for prefix, size in AEDAT3_SOURCES:
                if cam.startswith(prefix):
                    source = size, f"#Source line ({cam})"
    return source


def header_sensor(path, fmt: str) -> Tuple[Size, str]:
    """``((W, H), source)`` of the sensor the header of ``path`` (format ``fmt``, a name of
    :data:`evframes.formats.table.FORMATS`) states, or ``(None, why not)``.

    Reads the header only (AEDAT 4: its probe, which walks the packet headers and reads the
    data table, without decompressing events). Raises :class:`~evframes.FormatError` for a
    malformed header.
    """
    name = display_name(path)
    if fmt == "aedat2":
        return (128, 128), "DVS128 address layout"
    if fmt == "atis":
        return None, "ATIS 40-bit files have no header"
    if fmt == "aedat4":
        from .aedat4 import probe_aedat4
        info = probe_aedat4(path)
        w, h = info.get("width"), info.get("height")
        return ((int(w), int(h)), "events stream sizeX/sizeY") if w and h else \
            (None, "no sizeX/sizeY in the events stream")
    with open(path, "rb") as fh:
        head = fh.read(_AEDAT3_HEAD if fmt == "aedat3" else MAX_HEADER_BYTES + 1)
    if fmt == "aedat3":
        size, src = _aedat3_size(head)
        return (size, src) if size else (None, "no #Sensor-Size line and no known #Source "
                                               "camera in the AEDAT 3.1 header")
    h = parse_header(head, name, expect=fmt)
    if h.sensor_size is None:
        return None, "no sensor size in the '%' header"
    return (int(h.width), int(h.height)), h.size_source or "header"


def probe_by_reading(read: Callable, fmt: str, path) -> dict:
    """The probe of a format without one: ``read(path)`` decodes the whole file.

    Returns the keys of the format modules' probes (``format``, ``width``, ``height``,
    ``size_source``, ``events``, ``events_exact``, ``t_first``, ``t_last`` (us),
    ``duration_us``, ``bytes``) plus ``extent``: ``(max x + 1, max y + 1)`` pixels of the
    events (None when there are none).
    """
    size, source = header_sensor(path, fmt)
    ev = read(path)
    n = len(ev)
    t = ev["t"]
    t_first = int(t[0]) if n else None
    t_last = int(t[-1]) if n else None
    extent = (int(ev["x"].max()) + 1, int(ev["y"].max()) + 1) if n else None
    return {"format": fmt, "width": None if size is None else size[0],
            "height": None if size is None else size[1],
            "size_source": source if size is not None else None, "events": n,
            "events_exact": True, "t_first": t_first, "t_last": t_last,
            "duration_us": None if n == 0 else t_last - t_first,
            "bytes": os.path.getsize(path), "extent": extent,
            "on_events": int(np.count_nonzero(ev["p"])) if n else 0}

