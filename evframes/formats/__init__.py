"""Decoders and writers for the raw event-camera file formats of the supported datasets.

=================  =====================================  ==========================================
format             files                                  reader / writer
=================  =====================================  ==========================================
AEDAT 3.1          DVS128 Gesture ``userNN_*.aedat``      :func:`read_aedat3` / :func:`write_aedat3`
AEDAT 2.0 (jAER)   CIFAR10-DVS ``*.aedat``                :func:`read_aedat2` / :func:`write_aedat2`
ATIS 40-bit        N-MNIST, N-Caltech101 ``.bin``,        :func:`read_atis_bin` /
                   slayerPytorch ``.bs2``                 :func:`write_atis_bin`
AEDAT 4.0 (DV)     iniVation cameras ``.aedat4``          :func:`read_aedat4` / :func:`write_aedat4`
Prophesee EVT 2.0  Gen3 cameras ``.raw``                  :func:`read_evt2` / :func:`write_evt2`
Prophesee EVT 2.1  IMX636 / GenX320 ``.raw``              :func:`read_evt21` / :func:`write_evt21`
Prophesee EVT 3.0  Gen4 / IMX636 (EVK3/4) ``.raw``        :func:`read_evt3` / :func:`write_evt3`
Prophesee DAT      N-CARS, Gen1 automotive ``.dat``       :func:`read_prophesee_dat` /
                                                          :func:`write_prophesee_dat`
=================  =====================================  ==========================================

Every reader returns :class:`evframes.Events` (``t`` int64 us, ``x``/``y`` int16, ``p`` int8) and
has a ``decode_*_bytes(data, name=...)`` twin decoding an in-memory buffer (e.g. an archive member
read with ``zipfile``/``tarfile``), ``name`` being used in messages. Malformed input raises
:class:`evframes.FormatError` (a ValueError) naming the file and byte offset; a file cut inside its
last record/packet can be decoded with a :class:`TruncatedFileWarning` (see each module for which
case is an error by default and why).

:func:`read_events` picks the decoder from the header (``#!AER-DAT4.0``, ``#!AER-DAT3.x``,
``#!AER-DAT2.x``, a Prophesee ``%`` header naming EVT 2.0 / 2.1 / 3.0 or DAT) or, for header-less
files, the extension (``.bin``, ``.bs2``); every format takes ``t_start`` / ``t_end`` (us),
and :func:`iter_events` reads any file in chunks of events (memory bounded for AEDAT 4 and
Prophesee files). Files of other formats are refused with a :class:`FormatError` that names
them when their header is recognisable (Prophesee EVT 4.0, HDF5, zip, ...) and lists the
supported formats; every reader refuses a file of another format the same way (naming its
reader when evframes reads it), and the header-less ATIS reader also refuses files whose time
goes backwards (bytes of another format do that within a few records), never returning garbage
events.

Triggers (``with_triggers=True``) come back as a separate structured array, never mixed into
the events, in each camera's own terms: Prophesee ``t`` / ``id`` (trigger channel) / ``value``
(the edge or level the camera reports) (:data:`TRIGGER_DTYPE`); AEDAT 4 ``t`` / ``kind`` (DV's
TriggerType code, :data:`evframes.formats.aedat4.TRIGGER_DTYPE`), as the two vendors define them.
"""
from __future__ import annotations

import os

from ..errors import FormatError
from ..events import Events
from ._common import TruncatedFileWarning, as_uint8, display_name
from ._prophesee_header import sniff_kind
from ._prophesee_raw import TRIGGER_DTYPE
from ._sniff import SNIFF_BYTES, SUPPORTED, foreign_format
from .aedat2 import decode_aedat2_bytes, read_aedat2, write_aedat2
from .aedat3 import decode_aedat3_bytes, read_aedat3, write_aedat3
from .aedat4 import decode_aedat4_bytes, iter_aedat4, probe_aedat4, read_aedat4, write_aedat4
from .atis_bin import decode_atis_bytes, read_atis_bin, write_atis_bin
from .evt2 import decode_evt2_bytes, iter_evt2, probe_evt2, read_evt2, write_evt2
from .evt3 import decode_evt3_bytes, iter_evt3, probe_evt3, read_evt3, write_evt3
from .evt21 import decode_evt21_bytes, iter_evt21, probe_evt21, read_evt21, write_evt21
from .prophesee_dat import (
    decode_prophesee_dat_bytes,
    iter_prophesee_dat,
    probe_prophesee_dat,
    read_prophesee_dat,
    write_prophesee_dat,
    write_prophesee_dat_triggers,
)
from .stream_writer import write_events
from .table import FORMATS, format_of, iter_events, probe_events

__all__ = [
    "read_aedat3", "write_aedat3", "decode_aedat3_bytes",
    "read_aedat2", "write_aedat2", "decode_aedat2_bytes",
    "read_atis_bin", "write_atis_bin", "decode_atis_bytes",
    "read_aedat4", "write_aedat4", "decode_aedat4_bytes", "iter_aedat4", "probe_aedat4",
    "read_evt2", "write_evt2", "decode_evt2_bytes", "iter_evt2", "probe_evt2",
    "read_evt21", "write_evt21", "decode_evt21_bytes", "iter_evt21", "probe_evt21",
    "read_evt3", "write_evt3", "decode_evt3_bytes", "iter_evt3", "probe_evt3",
    "read_prophesee_dat", "write_prophesee_dat", "decode_prophesee_dat_bytes",
    "iter_prophesee_dat", "probe_prophesee_dat", "write_prophesee_dat_triggers", "TRIGGER_DTYPE",
    "read_events", "decode_events_bytes", "detect_format",
    "iter_events", "probe_events", "write_events", "format_of", "FORMATS",
    "TruncatedFileWarning", "FormatError",
]

ATIS_EXTENSIONS = (".bin", ".bs2")


def detect_format(head: bytes, name: str) -> str:
    """``"aedat3"``, ``"aedat2"``, ``"aedat4"``, ``"atis"`` or a Prophesee kind (``"evt2"``,
    ``"evt21"``, ``"evt3"``, ``"dat"``: a ``%`` header naming it) from a file's first bytes and
    its name.

    A header decides first (so a Prophesee file named ``.bin`` is still refused); the
    extension only chooses among the header-less formats. Raises FormatError naming the file,
    what it is when recognisable (AEDAT 4, Prophesee EVT 2.0 / 2.1 / 3.0 RAW and DAT, HDF5,
    zip, ...) and the supported formats, when it is not one evframes reads.
    """
    if head.startswith(b"#!AER-DAT4."):
        return "aedat4"
    if head.startswith(b"#!AER-DAT3."):
        return "aedat3"
    if head.startswith(b"#!AER-DAT2."):
        return "aedat2"
    kind = sniff_kind(head)          # Prophesee '%' header: EVT 2.0 / 2.1 / 3.0 RAW or DAT
    if kind:
        return kind
    what = foreign_format(head)
    if what is not None:
        raise FormatError(name, 0, f"unsupported event file format: this is {what}, which "
                                   f"evframes does not read ({SUPPORTED})")
    ext = os.path.splitext(str(name))[1].lower()
    if ext in ATIS_EXTENSIONS:
        return "atis"
    raise FormatError(name, 0, "unknown event file format: no '#!AER-DAT2.x'/'#!AER-DAT3.x' "
                               f"header and extension {ext or '(none)'!r} is not one of "
                               f"{', '.join(ATIS_EXTENSIONS)} ({SUPPORTED})")


_DECODERS = {name: f.decode for name, f in FORMATS.items()}   # the format table's


def decode_events_bytes(data, name: str = "<buffer>", **kwargs) -> Events:
    """Decode an in-memory event file, choosing the format like :func:`read_events`.

    ``name`` supplies the extension for header-less formats; ``kwargs`` go to the decoder.
    """
    buf = as_uint8(data)
    fmt = detect_format(bytes(buf[:SNIFF_BYTES]), display_name(name))
    return _DECODERS[fmt](buf, name=name, **kwargs)


def read_events(path, **kwargs) -> Events:
    """Read an event file of any supported format (see the module docstring), through the
    format table (:func:`evframes.formats.table.read_events`: ``t_start``/``t_end`` windows
    for every format, ``format=`` to skip detection).

    Keyword arguments are passed to the chosen reader (e.g. ``on_truncated="warn"``).
    """
    from .table import read_events as _read
    return _read(path, **kwargs)
