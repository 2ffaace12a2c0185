"""Numba kernels and the driver codec shared by EVT 2.0 and EVT 2.1 (same time encoding).

Word fields (OpenEB ``evt2_event_types.h`` / ``evt21_event_types.h``; docs.prophesee.ai)::

    type = bits 31..28 of the 32-bit "info" half   CD_OFF 0x0, CD_ON 0x1, EVT_TIME_HIGH 0x8,
                                                    EXT_TRIGGER 0xA, OTHERS 0xE, CONTINUED 0xF
    CD:          ts = bits 27..22 (t & 63), x = bits 21..11, y = bits 10..0
    TIME_HIGH:   bits 27..0 = t >> 6   (34-bit time: loops every 2**34 us, 4 h 46 min)
    EXT_TRIGGER: ts = bits 27..22, id = bits 12..8, value = bit 0

EVT 2.0 words are u32. EVT 2.1 words are 64-bit: the info half plus a 32-bit validity mask (bit
k set: an event at x + k). "little" files (GenX320; OpenEB ``Evt21Raw``) store the 64-bit word
little-endian, so the mask is the first u32 and the info half the second; "legacy" files (IMX636
on systems before EVK2 Saphir; ``Evt21LegacyRaw``) store the info half first. ``kind`` below:
0 = EVT 2.0 (mask = 1), 1 = EVT 2.1 little, 2 = EVT 2.1 legacy.

Decoding follows OpenEB's ``EVT2Decoder``: words before the first TIME_HIGH are dropped (their
time is unknown); a TIME_HIGH more than ``2**28 - 157`` units below the previous one is a loop
(OpenEB's 10 ms threshold). Types 2..7 and 9 are reserved: with ``validate`` they raise, as do
TIME_HIGH words going backwards (not a loop) and event times going backwards.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import FormatError
from ._prophesee_raw import Codec, Plan

LOOP_UNITS = (1 << 28) - 157
TH_MASK = 0x0FFFFFFF


@njit(cache=True, nogil=True)
def popcount32(m):
    m = m - ((m >> 1) & 0x55555555)
    m = (m & 0x33333333) + ((m >> 2) & 0x33333333)
    m = (m + (m >> 4)) & 0x0F0F0F0F
    return ((m * 0x01010101) & 0xFFFFFFFF) >> 24


@njit(cache=True, nogil=True)
def _inside(info, mask, width, height):
    """The mask bits whose pixel lies on the sensor."""
    if (info & 0x7FF) >= height:
        return np.int64(0)
    room = width - ((info >> 11) & 0x7FF)
    if room <= 0:
        return np.int64(0)
    if room < 32:
        return mask & ((np.int64(1) << room) - 1)
    return mask


@njit(cache=True, nogil=True)
def count_evt2(w, lo, hi, kind, width, height):
    """Chunk summary (int64[12]): events / triggers before and after the chunk's first
    TIME_HIGH, its index, first / last value, loops between its TIME_HIGHs, first reserved
    word, first TIME_HIGH going backwards, events off the sensor before / after."""
    step = 1 if kind == 0 else 2
    io = 1 if kind == 1 else 0          # u32 of the info half inside a unit
    mo = 1 - io
    ev_b = ev_a = tr_b = tr_a = off_b = off_a = loops = 0
    first = -1
    first_v = 0
    bad = -1
    back = -1
    have = False
    last = np.int64(0)
    for i in range(lo, hi):
        info = np.int64(w[step * i + io])
        typ = info >> 28
        if typ <= 1:
            mask = np.int64(w[step * i + mo]) if step == 2 else np.int64(1)
            m = _inside(info, mask, width, height)
            c = popcount32(m) if step == 2 else m
            off = (popcount32(mask) if step == 2 else 1) - c
            if have:
                ev_a += c
                off_a += off
            else:
                ev_b += c
                off_b += off
        elif typ == 8:
            v = info & TH_MASK
            if have:
                if v < last:
                    if last - v >= LOOP_UNITS:
                        loops += 1
                    elif back < 0:
                        back = i
            else:
                first = i
                first_v = v
                have = True
            last = v
        elif typ == 10:
            if have:
                tr_a += 1
            else:
                tr_b += 1
        elif typ < 8 or typ == 9:
            if bad < 0:
                bad = i
    s = np.empty(12, np.int64)
    s[0], s[1], s[2], s[3], s[4], s[5] = ev_b, ev_a, tr_b, tr_a, first, first_v
    s[6], s[7], s[8], s[9], s[10], s[11] = last, loops, bad, back, off_b, off_a
    return s


@njit(cache=True, nogil=True)
def decode_evt2(w, lo, hi, kind, width, height, have, v, loops, t0, o, t, x, y, p,
                o_tr, tt, tid, tval, want_tr, info_out):
    """Decode units [lo, hi) from the state (have, v, loops); info_out = [events, triggers,
    first word whose time goes backwards, first event word] (-1 when none)."""
    step = 1 if kind == 0 else 2
    io = 1 if kind == 1 else 0
    mo = 1 - io
    base = t0 + (((loops << 28) + v) << 6)
    k = o
    kt = o_tr
    prev = np.int64(-1)
    back = -1
    first = -1
    for i in range(lo, hi):
        info = np.int64(w[step * i + io])
        typ = info >> 28
        if typ <= 1:
            if not have:
                continue
            tv = base + ((info >> 22) & 63)
            yy = info & 0x7FF
            xx = (info >> 11) & 0x7FF
            if step == 1:
                if yy >= height or xx >= width:
                    continue
                if tv < prev and back < 0:
                    back = i
                if first < 0:
                    first = i
                prev = tv
                t[k] = tv
                x[k] = xx
                y[k] = yy
                p[k] = typ
                k += 1
                continue
            m = _inside(info, np.int64(w[step * i + mo]), width, height)
            if m == 0:
                continue
            if first < 0:
                first = i
            if tv < prev and back < 0:
                back = i
            prev = tv
            while m != 0:
                b = popcount32((m & -m) - 1)
                t[k] = tv
                x[k] = xx + b
                y[k] = yy
                p[k] = typ
                k += 1
                m &= m - 1
        elif typ == 8:
            nv = info & TH_MASK
            if have and nv < v and v - nv >= LOOP_UNITS:
                loops += 1
            v = nv
            have = True
            base = t0 + (((loops << 28) + v) << 6)
        elif typ == 10:
            if not have:
                continue
            if want_tr:
                tt[kt] = base + ((info >> 22) & 63)
                tid[kt] = (info >> 8) & 0x1F
                tval[kt] = info & 1
            kt += 1
    info_out[0] = k - o
    info_out[1] = kt - o_tr
    info_out[2] = back
    info_out[3] = first
    return 0


def _context(kind):
    def ctx(body, validate):
        n32 = body.units * body.unit_bytes // 4
        h = body.header
        return {"w": np.frombuffer(body.buf, np.uint32, count=n32, offset=body.start),
                "kind": kind if kind == 0 else (2 if h.endianness == "legacy" else 1),
                "width": h.width or 2048, "height": h.height or 2048, "t0": h.t0}
    return ctx


def _count_hook(body, ctx, lo, hi, carry=None):
    return count_evt2(ctx["w"], lo, hi, ctx["kind"], ctx["width"], ctx["height"])


def _fold(body, ctx, s, carry, lo, validate):
    have, v, loops = carry
    bad = int(s[8]) if s[8] >= 0 else None
    backs = [int(s[9])] if s[9] >= 0 else []
    loop_in = 0
    if have and s[4] >= 0 and s[5] < v:
        if v - s[5] >= LOOP_UNITS:
            loop_in = 1
        else:
            backs.append(int(s[4]))
    if validate and (bad is not None or backs):
        i = min([b for b in [bad] if b is not None] + backs)
        word = body.start + body.unit_bytes * i
        if i == bad:
            typ = int(np.int64(_info_at(ctx, i)) >> 28)
            raise FormatError(body.name, word, f"reserved word type 0x{typ:X} (not a valid "
                                               "EVT 2 stream, or a corrupt one; pass "
                                               "validate=False to skip such words)")
        raise FormatError(body.name, word, "TIME_HIGH goes backwards (not a time-ordered "
                                           "stream, or a corrupt one; pass validate=False to "
                                           "decode it anyway)")
    n_ev = int(s[1]) + (int(s[0]) if have else 0)
    n_tr = int(s[3]) + (int(s[2]) if have else 0)
    t0 = ctx["t0"]
    if have:
        t_lo = t0 + (((loops << 28) + v) << 6)
    else:
        t_lo = None if s[4] < 0 else t0 + (int(s[5]) << 6)
    plan = Plan(n_ev, n_tr, t_lo, None, (have, v, loops))
    if s[4] >= 0:
        have, v, loops = True, int(s[6]), loops + loop_in + int(s[7])
    if have:
        plan.t_hi = t0 + (((loops << 28) + v) << 6) + 63
    return plan, (have, v, loops)


def _info_at(ctx, i):
    w, kind = ctx["w"], ctx["kind"]
    return w[i] if kind == 0 else (w[2 * i + 1] if kind == 1 else w[2 * i])


_NO_TR = (np.empty(0, np.int64), np.empty(0, np.int16), np.empty(0, np.int8))


def _decode_hook(body, ctx, lo, hi, plan, out, validate):
    (t, x, y, p), tr = out
    have, v, loops = plan.state
    info = np.zeros(4, np.int64)
    decode_evt2(ctx["w"], lo, hi, ctx["kind"], ctx["width"], ctx["height"], have, v, loops,
                ctx["t0"], plan.ev_off, t, x, y, p, plan.tr_off,
                *(tr if tr is not None else _NO_TR), tr is not None, info)
    return int(info[0]), int(info[1]), int(info[2]), int(info[3])


def make_codec(kind: str) -> Codec:
    """The driver codec for ``"evt2"`` or ``"evt21"``."""
    k = 0 if kind == "evt2" else 1
    return Codec(kind, 4 if k == 0 else 8, _count_hook, _fold, _decode_hook,
                 lambda body, ctx: (False, 0, 0), _context(k), 1 if k == 0 else 32)
