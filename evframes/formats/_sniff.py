"""Recognising event files by their first bytes, including formats evframes does not read.

Every reader refuses a file whose header says it is something else (a Prophesee EVT 3.0 RAW
file fed to the ATIS reader must not "decode" into thousands of garbage events), naming what
the file is and what evframes reads. Only long, unambiguous signatures are used, so a
header-less ATIS recording can never be mistaken for one (its first bytes are an event: x, y,
then a timestamp whose high byte is 0x00/0x80 for any event in the first 65 ms).
"""
from __future__ import annotations

from typing import Optional

#: What :func:`evframes.read_events` reads, for error messages.
SUPPORTED = ("supported formats: AEDAT 3.1 ('#!AER-DAT3.1' header; DVS128 Gesture), "
             "AEDAT 2.0 ('#!AER-DAT2.0' header; CIFAR10-DVS, jAER), "
             "ATIS 40-bit .bin/.bs2 (no header; N-MNIST, N-Caltech101), "
             "AEDAT 4.0 ('#!AER-DAT4.0' header; iniVation DV), "
             "Prophesee RAW EVT 2.0 / 2.1 / 3.0 and DAT ('%' header; Prophesee cameras, N-CARS)")

#: first bytes -> description, for binary containers that are not event files
_MAGICS = (
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (an evframes store or a Prophesee/other HDF5 "
                           "recording, not a raw recording evframes decodes)"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"MATLAB 5.0 MAT-file", "a MATLAB .mat file (e.g. ASL-DVS)"),
    (b"PK\x03\x04", "a zip archive (not one recording: `evframes extract` reads the "
                    "recordings inside dataset archives)"),
)

_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0x09, 0x0D}


def _text_line(head: bytes, limit: int = 4096) -> Optional[bytes]:
    """The first line of ``head`` if it is printable ASCII ended by a newline, else None."""
    end = head.find(b"\n", 0, limit)
    if end < 2:
        return None
    line = head[:end]
    return line.rstrip(b"\r") if all(b in _PRINTABLE for b in line) else None


def _prophesee(head: bytes) -> Optional[str]:
    """Name a Prophesee file from its '%' header lines (RAW: EVT 2.0 / 2.1 / 3.0, or DAT)."""
    if _text_line(head) is None:
        return None
    lines = []
    for ln in head.decode("latin-1").split("\n"):
        if not ln.startswith("%"):
            break
        lines.append(ln.strip("% \r"))
    for ln in lines:
        low = ln.lower()
        if low.startswith(("data file containing", "version ")):
            return f"a Prophesee DAT file (header line '% {ln[:40]}'; read_prophesee_dat reads it)"
    for ln in lines:
        key, _, val = ln.lower().partition(" ")
        if key == "evt" or (key == "format" and val.startswith("evt")):
            v = val.replace("evt", "").split(";")[0].strip()
            v = {"3": "3.0", "30": "3.0", "2": "2.0", "20": "2.0", "21": "2.1"}.get(v, v)
            reader = {"2.0": "read_evt2", "2.1": "read_evt21", "3.0": "read_evt3"}.get(v)
            tail = f"; {reader} reads it" if reader else ""
            return f"a Prophesee EVT {v} RAW file (header line '% {ln[:40]}'{tail})"
    return f"a Prophesee RAW/DAT file (header line '% {lines[0][:40]}')"


def foreign_format(head: bytes) -> Optional[str]:
    """Describe a file evframes does not read, from its first bytes (a few KB); else None.

    AEDAT 2.x / 3.x headers return None (they are read); AEDAT 4.0 is named with its reader
    (for the other readers' refusals); other AEDAT versions, Prophesee '%'
    headers and a few binary containers are named.
    """
    if head.startswith(b"#!AER-DAT"):
        version = head.split(b"\n", 1)[0].rstrip(b"\r")[9:20].decode("latin-1")
        if version.startswith(("2.", "3.")):
            return None
        if version.startswith("4.0"):  # read by read_aedat4: named for the other readers
            return f"an AEDAT {version} file (iniVation DV; read_aedat4 reads it)"
        return f"an AEDAT {version!r} file"
    if head.startswith(b"%"):
        name = _prophesee(head)
        if name is not None:
            return name
    for magic, what in _MAGICS:
        if head.startswith(magic):
            return what
    return None


def refusal(kind: str, what: str) -> str:
    """The message of a FormatError for a file that is ``what`` but was read as ``kind``."""
    tail = "" if "reads it)" in what else "; evframes does not read it"
    return f"this is {what}, not {kind}{tail} ({SUPPORTED})"


def bad_magic(kind: str, magic: str, head: bytes) -> str:
    """The message for a file whose first line lacks ``magic``, naming what it is if known."""
    first = head.split(b"\n", 1)[0].rstrip(b"\r")[:40].decode("latin-1")
    msg = f"not an {kind} file: first line {first!r} does not start with {magic!r}"
    what = foreign_format(head)
    if what is not None:
        tail = "" if "reads it)" in what else ", which evframes does not read"
        msg += f"; this is {what}{tail} ({SUPPORTED})"
    return msg


#: how many leading bytes :func:`foreign_format` looks at
SNIFF_BYTES = 4096
