"""Prophesee RAW EVT 2.1 files (IMX636 / GenX320 cameras set to EVT 2.1).

Layout: a ``%`` header (``% format EVT21;height=H;width=W[;endianness=legacy]`` or ``% evt
2.1``), then 64-bit words: EVT 2.0's fields (:mod:`._evt2_kernels`) in one 32-bit half, a 32-bit
validity mask in the other (bit k: an event at x + k, same time, y and polarity).

Word order (OpenEB ``make_decoder`` / ``PseeRawFileHeader``): ``endianness=little`` (the default;
GenX320 and current software) stores the 64-bit word little-endian, mask first; ``legacy``
(IMX636 on older systems) stores the info half first. Without an ``endianness`` key, a header
from Prophesee's software with a ``system_ID`` below EVK2 Saphir (0x37) means legacy, as in
OpenEB. No real EVT 2.1 recording was available: the reader is checked against OpenEB's layout,
our writer, and evlib's reader (tests/test_formats_prophesee_peer.py).

Conventions (events before the first TIME_HIGH, off-sensor pixels, validation, triggers,
truncation) are those of :mod:`.evt2`; the events of one word come out in increasing x.
"""
from __future__ import annotations

import os

import numpy as np

from ._common import FileBuffer
from ._evt2_kernels import make_codec
from ._prophesee_header import header_bytes
from ._prophesee_raw import TRIGGER_DTYPE, decode_all, iterate, open_body, probe_body
from .evt2 import encode_stream, prepare

__all__ = ["read_evt21", "decode_evt21_bytes", "iter_evt21", "probe_evt21", "write_evt21",
           "TRIGGER_DTYPE"]

CODEC = make_codec("evt21")


def decode_evt21_bytes(data, name="<buffer>", *, t_start=None, t_end=None,
                       with_triggers: bool = False, on_truncated: str = "error",
                       validate: bool = True):
    """Decode an EVT 2.1 RAW file held in memory; parameters and result as
    :func:`evframes.formats.evt2.decode_evt2_bytes`."""
    body = open_body(data, name, "evt21", 8, on_truncated)
    return decode_all(CODEC, body, t_start, t_end, with_triggers, validate)


def read_evt21(path, *, t_start=None, t_end=None, with_triggers: bool = False,
               on_truncated: str = "error", validate: bool = True):
    """Read an EVT 2.1 ``.raw`` file (memory-mapped when large). See
    :func:`decode_evt21_bytes`."""
    with FileBuffer(path) as buf:
        return decode_evt21_bytes(buf, name=path, t_start=t_start, t_end=t_end,
                                  with_triggers=with_triggers, on_truncated=on_truncated,
                                  validate=validate)


def iter_evt21(path, chunk_events: int = 1_000_000, *, t_start=None, t_end=None,
               with_triggers: bool = False, on_truncated: str = "error", validate: bool = True):
    """Yield Events chunks of ``chunk_events``; see :func:`evframes.formats.evt2.iter_evt2`."""
    with FileBuffer(path) as buf:
        body = open_body(buf, path, "evt21", 8, on_truncated)
        yield from iterate(CODEC, body, chunk_events, t_start, t_end, with_triggers, validate)


def probe_evt21(path, *, validate: bool = True) -> dict:
    """Format, sensor size, exact counts, first / last event time; see ``probe_evt2``."""
    with FileBuffer(path) as buf:
        body = open_body(buf, path, "evt21", 8, "warn")
        info = probe_body(CODEC, body, validate)
        info["endianness"] = body.header.endianness
        return info


def write_evt21(path, events, *, sensor_size, triggers=None, endianness: str = "little",
                header_lines=()) -> None:
    """Write events (and optional triggers) as an EVT 2.1 RAW file.

    Consecutive events with the same ``t``, ``y`` and ``p`` whose x increase inside a 32-pixel
    span share one word (the event order is kept). ``endianness`` ``"little"`` (OpenEB's
    default) or ``"legacy"`` (IMX636 order); the header says which (``% format EVT21;...;
    endianness=...`` and ``% endianness ...``). Other rules as :func:`~.evt2.write_evt2`.
    """
    if endianness not in ("little", "legacy"):
        raise ValueError("endianness must be 'little' or 'legacy'")
    cols, trig = prepare(events, sensor_size, triggers)
    w, h = int(sensor_size[0]), int(sensor_size[1])
    head = header_bytes(["evt 2.1", f"format EVT21;endianness={endianness};height={h};width={w}",
                         f"geometry {w}x{h}", f"endianness {endianness}", *header_lines])
    out = np.empty(0, np.uint32)
    n = encode_stream(*cols, *trig, out, False, True)
    out = np.empty(n, np.uint32)
    encode_stream(*cols, *trig, out, True, True)
    if endianness == "legacy":
        out = out.reshape(-1, 2)[:, ::-1].copy().reshape(-1)
    with open(os.fspath(path), "wb") as fh:
        fh.write(head)
        out.astype("<u4", copy=False).tofile(fh)
