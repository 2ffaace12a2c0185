"""ATIS "td" ``.dat`` files (NAVGesture's recordings): one Numba pass from the file's bytes to
event columns.

Layout: optional ``%`` header lines, then (with a header) the event type and size bytes (size
8), then 8-byte little-endian records ``u32 t`` (microseconds), ``u32 w``: ``x = w & 0x1FF``,
``y = (w >> 9) & 0xFF``, ``p = (w >> 17) & 1`` (pixels; the record layout of Prophesee DAT
version 1). :func:`td_header_end` finds the records, :func:`decode_td_into` decodes them (as
32-bit words, :func:`record_words`) into caller-owned columns (several files one after another
into one job's arrays, no copies) and applies a dataset's convention in the same pass; the
caller words the warnings from the counts it returns.
"""
from __future__ import annotations

import sys
from typing import Dict, List, Tuple

import numpy as np

from .._jit import njit
from ..errors import FormatError
from ..events import P_DTYPE, T_DTYPE, XY_DTYPE
from ._common import complete_records

__all__ = ["td_header_end", "record_words", "decode_td_into", "decode_td", "td_columns"]


def td_columns(n: int) -> Dict[str, np.ndarray]:
    """Empty event columns ``t, x, y, p`` (int64, int16, int16, int8) for ``n`` events."""
    return {k: np.empty(n, d) for k, d in (("t", T_DTYPE), ("x", XY_DTYPE), ("y", XY_DTYPE),
                                           ("p", P_DTYPE))}


def decode_td(buf: np.ndarray, at: str, sj: bool, sensor_size: Tuple[int, int],
              warnings: List[str], out: Dict[str, np.ndarray], o: int) -> int:
    """Decode the td file ``buf`` (uint8, the whole file) into ``out``'s columns from index
    ``o`` (room for all its records, :func:`td_columns`); returns the events written.

    ``sj`` and ``sensor_size`` ``(W, H)`` as in :func:`decode_td_into`. What was dropped or
    sorted is appended to ``warnings`` (naming ``at``), in the words of
    :func:`~evframes.raw.base.drop_off_sensor` and :func:`~evframes.raw.base.ensure_sorted`;
    a record cut at the end is left out with a TruncatedFileWarning; a size byte other than 8
    after a header raises :class:`~evframes.FormatError`.
    """
    pos, header = td_header_end(buf)
    if header:
        if buf.shape[0] - pos < 2:
            raise FormatError(at, pos, "file ends inside the event type / size bytes after "
                                       "the '%' header")
        if buf[pos + 1] != 8:
            raise FormatError(at, pos + 1, f"event size {int(buf[pos + 1])}, expected 8 (an "
                                           f"ATIS td .dat file)")
        pos += 2
    k = complete_records(at, pos, buf.shape[0] - pos, 8, "warn", "the records")
    W, H = sensor_size
    n, back, off, first, fx, fy, fp, decreasing = decode_td_into(
        record_words(buf, pos, k), k, sj, W, H, out["t"], out["x"], out["y"], out["p"], o)
    if back:
        warnings.append(f"{at}: dropped {back} event(s) whose timestamp is below an earlier "
                        f"one (SpikingJelly's rule)")
    if off:
        warnings.append(f"{at}: dropped {off} event(s) off the {W}x{H} sensor (first at index "
                        f"{first}: x={fx}, y={fy}, p={fp})")
    if decreasing:  # only without ``sj``: sorted as ensure_sorted does
        warnings.append(f"{at}: timestamps not monotonic; events sorted by t (stable)")
        order = np.argsort(out["t"][o:o + n], kind="stable")
        for c in out.values():
            c[o:o + n] = c[o:o + n][order]
    return n


@njit(cache=True, nogil=True)
def td_header_end(buf):
    """``(pos, header)``: the byte after the ``%`` header lines of ``buf`` (uint8 [n]) and
    whether there were any (then the type and size bytes follow at ``pos``)."""
    n = buf.shape[0]
    pos = 0
    header = False
    while pos < n and buf[pos] == 0x25:  # '%'
        header = True
        while pos < n and buf[pos] != 0x0A:  # '\n'
            pos += 1
        pos += 1
    return min(pos, n), header


def record_words(buf: np.ndarray, pos: int, k: int) -> np.ndarray:
    """The ``k`` records of ``buf`` (uint8) from byte ``pos`` as ``2k`` little-endian uint32
    words ``t, w, t, w, ...`` (a view, unaligned where ``pos`` is odd: x86 and ARM load those
    at full speed; a copy on a big-endian machine)."""
    words = np.frombuffer(buf, "<u4", count=2 * k, offset=pos)
    return words if sys.byteorder == "little" else words.astype(np.uint32)


@njit(cache=True, nogil=True)
def decode_td_into(r, k, sj, width, height, t, x, y, p, o):
    """Decode ``k`` records, the words ``r`` (uint32 [2k], :func:`record_words`), into
    ``t, x, y, p`` (int64, int16, int16, int8 [>= o + k]) from index ``o``: one 8-byte load
    per record instead of seven byte loads (2x faster).

    ``sj`` (SpikingJelly's convention): records whose time is below an earlier one are
    skipped, ``t`` is made relative to the first record's time (us), ``y -> height - 1 - y``.
    Events off the ``width`` x ``height`` sensor (pixels, after that flip) are skipped.

    Returns ``(n, back, off, first, fx, fy, fp, decreasing)``: events written, records skipped
    for going back in time, events skipped off the sensor, the index of the first of those
    among the events the time rule kept (-1 if none) with its ``x, y, p``, and whether the
    written times ever decrease (possible without ``sj`` only).
    """
    if sj:
        return _decode_sj(r, k, width, height, t, x, y, p, o)
    return _decode_raw(r, k, width, height, t, x, y, p, o)


@njit(cache=True, nogil=True)
def _decode_sj(r, k, width, height, t, x, y, p, o):
    m = o
    back = off = fx = fy = fp = 0
    first = -1
    t0 = np.int64(r[0]) if k else np.int64(0)
    tmax = np.int64(-1)  # the latest time kept
    for i in range(k):
        ti = np.int64(r[2 * i])
        w = np.int64(r[2 * i + 1])  # the top byte is unused
        xi, yi, pi = w & 0x1FF, height - 1 - ((w >> 9) & 0xFF), (w >> 17) & 1
        if ti < tmax:
            back += 1
            continue
        tmax = ti
        if xi >= width or yi < 0:
            if off == 0:  # its index among the events the time rule kept
                first, fx, fy, fp = i - back, xi, yi, pi
            off += 1
            continue
        t[m] = ti - t0
        x[m] = xi
        y[m] = yi
        p[m] = pi
        m += 1
    return m - o, back, off, first, fx, fy, fp, False


@njit(cache=True, nogil=True)
def _decode_raw(r, k, width, height, t, x, y, p, o):
    m = o
    off = fx = fy = fp = 0
    first = -1
    decreasing = False
    last = np.int64(-1)  # the latest time written
    for i in range(k):
        ti = np.int64(r[2 * i])
        w = np.int64(r[2 * i + 1])
        xi, yi, pi = w & 0x1FF, (w >> 9) & 0xFF, (w >> 17) & 1
        if xi >= width or yi >= height:
            if off == 0:
                first, fx, fy, fp = i, xi, yi, pi
            off += 1
            continue
        decreasing |= ti < last
        last = ti
        t[m] = ti
        x[m] = xi
        y[m] = yi
        p[m] = pi
        m += 1
    return m - o, 0, off, first, fx, fy, fp, decreasing
