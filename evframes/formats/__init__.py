"""Decoders and writers for the raw event-camera file formats of the supported datasets.

=================  =====================================  ==========================================
format             files                                  reader / writer
=================  =====================================  ==========================================
AEDAT 3.1          DVS128 Gesture ``userNN_*.aedat``      :func:`read_aedat3` / :func:`write_aedat3`
AEDAT 2.0 (jAER)   CIFAR10-DVS ``*.aedat``                :func:`read_aedat2` / :func:`write_aedat2`
ATIS 40-bit        N-MNIST, N-Caltech101 ``.bin``,        :func:`read_atis_bin` /
                   slayerPytorch ``.bs2``                 :func:`write_atis_bin`
=================  =====================================  ==========================================

Every reader returns :class:`evframes.Events` (``t`` int64 us, ``x``/``y`` int16, ``p`` int8) and
has a ``decode_*_bytes(data, name=...)`` twin decoding an in-memory buffer (e.g. an archive member
read with ``zipfile``/``tarfile``), ``name`` being used in messages. Malformed input raises
:class:`evframes.FormatError` (a ValueError) naming the file and byte offset; a file cut inside its
last record/packet can be decoded with a :class:`TruncatedFileWarning` (see each module for which
case is an error by default and why).

:func:`read_events` picks the decoder from the header (``#!AER-DAT3.x``, ``#!AER-DAT2.x``) or,
for header-less files, the extension (``.bin``, ``.bs2``).
"""
from __future__ import annotations

import os

from ..errors import FormatError
from ..events import Events
from ._common import FileBuffer, TruncatedFileWarning, as_uint8, display_name
from .aedat2 import decode_aedat2_bytes, read_aedat2, write_aedat2
from .aedat3 import decode_aedat3_bytes, read_aedat3, write_aedat3
from .atis_bin import decode_atis_bytes, read_atis_bin, write_atis_bin

__all__ = [
    "read_aedat3", "write_aedat3", "decode_aedat3_bytes",
    "read_aedat2", "write_aedat2", "decode_aedat2_bytes",
    "read_atis_bin", "write_atis_bin", "decode_atis_bytes",
    "read_events", "decode_events_bytes", "detect_format",
    "TruncatedFileWarning", "FormatError",
]

ATIS_EXTENSIONS = (".bin", ".bs2")


def detect_format(head: bytes, name: str) -> str:
    """``"aedat3"``, ``"aedat2"`` or ``"atis"`` from a file's first bytes and its name.

    Raises FormatError naming the file when neither the header nor the extension is known.
    """
    if head.startswith(b"#!AER-DAT3."):
        return "aedat3"
    if head.startswith(b"#!AER-DAT2."):
        return "aedat2"
    if head.startswith(b"#!AER-DAT"):
        version = head.split(b"\n", 1)[0].rstrip(b"\r")[9:20].decode("latin-1")
        raise FormatError(name, 0, f"AEDAT version {version!r} is not supported here (AEDAT 2.x "
                                   "and 3.x are)")
    ext = os.path.splitext(str(name))[1].lower()
    if ext in ATIS_EXTENSIONS:
        return "atis"
    raise FormatError(name, 0, "unknown event file format: no '#!AER-DAT2.x'/'#!AER-DAT3.x' "
                               f"header and extension {ext or '(none)'!r} is not one of "
                               f"{', '.join(ATIS_EXTENSIONS)}")


_DECODERS = {"aedat3": decode_aedat3_bytes, "aedat2": decode_aedat2_bytes,
             "atis": decode_atis_bytes}


def decode_events_bytes(data, name: str = "<buffer>", **kwargs) -> Events:
    """Decode an in-memory event file, choosing the format like :func:`read_events`.

    ``name`` supplies the extension for header-less formats; ``kwargs`` go to the decoder.
    """
    buf = as_uint8(data)
    fmt = detect_format(bytes(buf[:16]), display_name(name))
    return _DECODERS[fmt](buf, name=name, **kwargs)


def read_events(path, **kwargs) -> Events:
    """Read an event file of any supported format (see the module docstring).

    Keyword arguments are passed to the chosen reader (e.g. ``on_truncated="warn"``).
    """
    with FileBuffer(path) as buf:
        fmt = detect_format(bytes(buf[:16]), display_name(path))
        return _DECODERS[fmt](buf, name=path, **kwargs)
