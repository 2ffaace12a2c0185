"""The ASCII header of Prophesee files (RAW EVT 2.0 / 2.1 / 3.0 and DAT), shared by their readers.

Rules (OpenEB ``GenericHeader`` / ``PseeRawFileHeader``, checked against the real files in
``shared/data/real/prophesee``):

* Lines ``% <key> <value>`` (``%`` then a space), ended by ``\\n`` (a trailing ``\\r`` is
  dropped). The header ends at the line ``% end`` (OpenEB writes it), or at the first line that
  does not start with ``% ``: the real recordings (Gen3 EVT 2.0, Gen4.1 EVT 3.0, N-CARS DAT) have
  no ``% end``. A ``% `` line that holds control bytes is taken as the first binary bytes, not as
  a header line (a binary stream may start with the bytes ``25 20``).
* The format: ``% format EVT2|EVT21|EVT3[;key=value...]`` (current software), else ``% evt
  2.0|2.1|3.0`` (older software). DAT files say ``% Data file containing ...`` / ``% Version N``.
* Sensor size (pixels): ``width=``/``height=`` in the format line, else ``% geometry WxH``, else
  DAT's ``% Width`` / ``% Height``, else (older RAW files) the camera's ``% system_ID`` through
  OpenEB's table of systems (21 = Gen3 CCAM3: 640x480, 48 = EVK3 Gen4.1: 1280x720, ...).
  Conflicting sizes, zero / non-numeric sizes and sizes above the format's limit raise
  :class:`FormatError` naming the header line.
* ``% t0 N`` (faery's writer, ``zero_t0``): N microseconds are added to every timestamp, as faery's
  reader does (OpenEB ignores the key).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from ..errors import FormatError

__all__ = ["PropheseeHeader", "parse_header", "sniff_kind", "SYSTEM_SIZES", "MAX_HEADER_BYTES",
           "header_bytes"]

#: A header longer than this (64 KiB) is refused (real ones are a few hundred bytes).
MAX_HEADER_BYTES = 1 << 16

#: OpenEB's system_ID -> (width, height) table (hal_psee_plugins psee_raw_file_header.cpp).
SYSTEM_SIZES: Dict[int, Tuple[int, int]] = {
    0x15: (640, 480), 0x1C: (640, 480), 0x1A: (1280, 720), 0x17: (640, 480), 0x97: (640, 480),
    0x19: (640, 480), 0x99: (640, 480), 0x1D: (640, 480), 0x23: (640, 480), 0x1E: (1280, 720),
    0x2E: (1280, 720), 0x21: (640, 480), 0xA1: (640, 480), 0x22: (640, 480), 0xA2: (640, 480),
    0x29: (640, 480), 0x1F: (1280, 720), 0x27: (1280, 720), 0x28: (640, 480), 0x30: (1280, 720),
    0x32: (1280, 720), 0x31: (1280, 720),
}
#: systems older than EVK2 Saphir (0x37) wrote EVT 2.1 in the "legacy" word order (OpenEB)
_SAPHIR = 0x37

_FORMAT_NAMES = {"EVT2": "evt2", "EVT2.0": "evt2", "EVT20": "evt2", "EVT21": "evt21",
                 "EVT2.1": "evt21", "EVT3": "evt3", "EVT3.0": "evt3", "EVT30": "evt3"}
_EVT_VALUES = {"2": "evt2", "2.0": "evt2", "2.1": "evt21", "3": "evt3", "3.0": "evt3"}
#: largest sensor side each kind can address (EVT: 11-bit coordinates, DAT: 14-bit)
SIDE_LIMIT = {"evt2": 2048, "evt21": 2048, "evt3": 2048, "dat": 16384}
#: control bytes that no header line holds (tab and CR allowed)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class PropheseeHeader:
    """What a Prophesee header says. ``end``: offset of the first byte after the header."""

    end: int
    kind: str = ""                       # "evt2", "evt21", "evt3", "dat" or "" (unknown)
    fields: Dict[str, str] = field(default_factory=dict)
    offsets: Dict[str, int] = field(default_factory=dict)   # key -> byte offset of its line
    width: Optional[int] = None
    height: Optional[int] = None
    size_source: str = ""
    endianness: str = "little"           # EVT 2.1 word order: "little" or "legacy"
    t0: int = 0
    has_end: bool = False
    dat_version: int = 2

    @property
    def sensor_size(self) -> Optional[Tuple[int, int]]:
        return None if self.width is None else (self.width, self.height)


def _lines(data: bytes, name: str):
    """Yield (offset, next offset, text) of the header lines; return the header end."""
    pos, n = 0, len(data)
    while pos < n and data[pos] == 0x25:               # '%'
        nxt = data[pos + 1] if pos + 1 < n else None
        if nxt not in (0x20, 0x0A, 0x0D):               # '%' not followed by ' ': binary
            break
        nl = data.find(b"\n", pos, pos + MAX_HEADER_BYTES + 1)
        stop = nl if nl >= 0 else n
        if _CONTROL.search(data, pos, stop):
            break                                       # a binary stream starting with '% '
        line = data[pos:stop]
        if nl < 0:
            if n - pos > MAX_HEADER_BYTES:
                raise FormatError(name, pos, f"header line longer than {MAX_HEADER_BYTES} bytes")
            raise FormatError(name, pos, "file ends inside its '%' header (this line has no "
                                         "newline)")
        if nl + 1 > MAX_HEADER_BYTES:
            raise FormatError(name, pos, f"'%' header longer than {MAX_HEADER_BYTES} bytes "
                                         "(no '% end' line; not a Prophesee file?)")
        yield pos, nl + 1, line.rstrip(b"\r").decode("latin-1")
        pos = nl + 1
    return pos


def _size_value(text: str, name: str, off: int, what: str, limit: int) -> int:
    try:
        v = int(text.strip())
    except ValueError:
        raise FormatError(name, off, f"header {what} {text.strip()!r} is not a whole number "
                                     "of pixels") from None
    if not 0 < v <= limit:
        raise FormatError(name, off, f"header {what} {v} is outside 1..{limit} pixels "
                                     "(corrupt header)")
    return v


def parse_header(data, name: str, expect: Optional[str] = None) -> PropheseeHeader:
    """Parse the ``%`` header at the start of ``data`` (bytes or a uint8 array).

    ``expect`` (a kind) is the format the caller decodes: it sets the size limit when the header
    does not name its format. Raises :class:`FormatError` (file name and byte offset) for a
    header cut before its newline, an over-long header, or an impossible sensor size.
    """
    head = bytes(data[:MAX_HEADER_BYTES + 1])
    h = PropheseeHeader(end=0)
    gen = _lines(head, name)
    while True:
        try:
            off, nxt, text = next(gen)
        except StopIteration as stop:
            h.end = int(stop.value or 0)
            break
        body = text[1:].strip()
        key, _, value = body.partition(" ")
        if not key:
            continue
        if key == "end":
            h.end, h.has_end = nxt, True
            break
        h.fields[key] = value.strip()
        h.offsets[key] = off
    _resolve(h, name, expect)
    return h


def _resolve(h: PropheseeHeader, name: str, expect: Optional[str]) -> None:
    f, o = h.fields, h.offsets
    opts: Dict[str, str] = {}
    if "format" in f:
        fmt, *rest = f["format"].split(";")
        h.kind = _FORMAT_NAMES.get(fmt.strip().upper(), "")
        for item in rest:
            k, _, v = item.partition("=")
            opts[k.strip().lower()] = v.strip()
    if not h.kind and "evt" in f:
        h.kind = _EVT_VALUES.get(f["evt"].split()[0] if f["evt"] else "", "")
    if not h.kind and ("Data" in f or "Version" in f):
        h.kind = "dat"
    limit = SIDE_LIMIT.get(h.kind or expect or "dat", 16384)
    sizes = []
    if "width" in opts or "height" in opts:
        sizes.append(("format", o["format"], opts.get("width", ""), opts.get("height", "")))
    if "geometry" in f:
        w, _, hh = f["geometry"].lower().partition("x")
        sizes.append(("geometry", o["geometry"], w, hh))
    if "Width" in f or "Height" in f:
        off = o.get("Width", o.get("Height"))
        sizes.append(("Width/Height", off, f.get("Width", ""), f.get("Height", "")))
    for src, off, w, hh in sizes:
        wv = _size_value(w, name, off, f"{src} width", limit)
        hv = _size_value(hh, name, off, f"{src} height", limit)
        if h.width is None:
            h.width, h.height, h.size_source = wv, hv, src
        elif (wv, hv) != (h.width, h.height):
            raise FormatError(name, off, f"header {src} {wv}x{hv} contradicts the "
                                         f"{h.size_source} {h.width}x{h.height}")
    sid = _int(f.get("system_ID"))
    if h.width is None and h.kind != "dat" and sid in SYSTEM_SIZES:
        h.width, h.height = SYSTEM_SIZES[sid]
        h.size_source = f"system_ID {sid}"
    end = (opts.get("endianness") or f.get("endianness", "")).lower()
    if end in ("legacy", "little"):
        h.endianness = end
    elif h.kind == "evt21":
        integrator = (f.get("integrator_name") or f.get("camera_integrator_name")
                      or f.get("plugin_integrator_name") or "")
        if integrator == "Prophesee" and sid is not None and 0 < sid < _SAPHIR:
            h.endianness = "legacy"
    t0 = _int(f.get("t0", f.get("T0")))
    if t0 is not None and t0 > 0:
        h.t0 = t0
    if h.kind == "dat" and "Version" in f:
        v = _int(f["Version"].split()[0] if f["Version"] else "")
        if v not in (1, 2):
            raise FormatError(name, o["Version"], f"DAT header 'Version {f['Version']}' is not "
                                                  "1 or 2 (the layouts evframes knows)")
        h.dat_version = v


def _int(text) -> Optional[int]:
    try:
        return int(str(text).strip(), 0) if text is not None else None
    except ValueError:
        return None


def sniff_kind(head: bytes) -> str:
    """The kind ("evt2", "evt21", "evt3", "dat") a file's first bytes announce, or ""."""
    if not head.startswith(b"%"):
        return ""
    cut = head.rfind(b"\n")            # only complete lines: the head may end inside the header
    try:
        return parse_header(head[:cut + 1], "<sniff>").kind
    except FormatError:
        return ""


def header_bytes(lines) -> bytes:
    """``% key value`` lines (an iterable of strings) and the ``% end`` line, LF-terminated."""
    out = []
    for line in lines:
        for part in str(line).splitlines() or [""]:
            out.append("% " + part.lstrip("% ") + "\n")
    out.append("% end\n")
    return "".join(out).encode("latin-1")
