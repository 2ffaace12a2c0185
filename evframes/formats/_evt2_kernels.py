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

from .._jit import njit
from ..errors import FormatError
from ._prophesee_raw import Codec, Plan, off_sensor

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
    word, first TIME_HIGH going backwards, first word with a pixel off the sensor before /
    after it (such pixels are not decoded)."""
    step = 1 if kind == 0 else 2
    io = 1 if kind == 1 else 0          # u32 of the info half inside a unit
    mo = 1 - io
    ev_b = ev_a = tr_b = tr_a = loops = 0
    off_b = off_a = -1
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
            off = m != mask
            if have:
                ev_a += c
                if off and off_a < 0:
                    off_a = i
            else:
                ev_b += c
                if off and off_b < 0:
                    off_b = i
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
def _decode_units(iv, mv, vec, lo, width, height, have, v, loops, t0, t, x, y, p, tt, tid, tval,
                  want_tr, info_out):
    """The decoding loop over 0-based views: ``iv`` info halves, ``mv`` masks (EVT 2.1,
    ``vec``), outputs already offset; unsigned output indices (no wrap-around checks)."""
    base = t0 + (((loops << 28) + v) << 6)
    k = np.uint64(0)
    kt = np.uint64(0)
    one = np.uint64(1)
    prev = np.int64(-1)
    back = first = bad = thback = out = -1
    nloops = 0
    for j in range(iv.shape[0]):
        info = np.int64(iv[j])
        typ = info >> 28
        if typ <= 1:
            if not have:
                continue
            tv = base + ((info >> 22) & 63)
            yy = info & 0x7FF
            xx = (info >> 11) & 0x7FF
            if not vec:
                if yy >= height or xx >= width:
                    if out < 0:
                        out = lo + j
                    continue
                if tv < prev and back < 0:
                    back = lo + j
                if first < 0:
                    first = lo + j
                prev = tv
                t[k] = tv
                x[k] = xx
                y[k] = yy
                p[k] = typ
                k += one
                continue
            m0 = np.int64(mv[j])
            m = _inside(info, m0, width, height)
            if m != m0 and out < 0:
                out = lo + j
            if m == 0:
                continue
            if first < 0:
                first = lo + j
            if tv < prev and back < 0:
                back = lo + j
            prev = tv
            while m != 0:
                b = popcount32((m & -m) - 1)
                t[k] = tv
                x[k] = xx + b
                y[k] = yy
                p[k] = typ
                k += one
                m &= m - 1
        elif typ == 8:
            nv = info & TH_MASK
            if have and nv < v:
                if v - nv >= LOOP_UNITS:
                    loops += 1
                    nloops += 1
                elif thback < 0:
                    thback = lo + j
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
            kt += one
        elif (typ < 8 or typ == 9) and bad < 0:
            bad = lo + j
    info_out[0] = k
    info_out[1] = kt
    info_out[2] = back
    info_out[3] = first
    info_out[4] = bad
    info_out[5] = thback
    info_out[6] = nloops
    info_out[7] = out
    return 0


@njit(cache=True, nogil=True)
def _decode_evt20_fast(iv, lo, width, height, have, v, loops, t0, t, x, y, p, info_out):
    """EVT 2.0 without triggers, reserved words, TIME_HIGH decreases, off-sensor pixels or
    times going backwards (what recordings hold): fewer branches; returns False (and the
    caller runs :func:`_decode_units`) as soon as one of those shows up."""
    base = t0 + (((loops << 28) + v) << 6)
    k = np.uint64(0)
    one = np.uint64(1)
    prev = np.int64(-1)
    odd = False
    first = -1
    for j in range(iv.shape[0]):
        info = np.int64(iv[j])
        typ = info >> 28
        if typ <= 1:
            if not have:
                continue
            if first < 0:
                first = lo + j
            tv = base + ((info >> 22) & 63)
            yy = info & 0x7FF
            xx = (info >> 11) & 0x7FF
            odd |= (yy >= height) | (xx >= width) | (tv < prev)
            prev = tv
            t[k] = tv
            x[k] = xx
            y[k] = yy
            p[k] = typ
            k += one
        elif typ == 8:
            nv = info & TH_MASK
            odd |= have & (nv < v)
            v = nv
            have = True
            base = t0 + (((loops << 28) + v) << 6)
        elif typ <= 10:              # reserved words, triggers
            odd = True
        if odd:
            return False
    info_out[0] = k
    info_out[1] = 0
    info_out[2] = -1
    info_out[3] = first
    info_out[4] = -1
    info_out[5] = -1
    info_out[6] = 0
    info_out[7] = -1
    return True


@njit(cache=True, nogil=True)
def decode_evt2(w, lo, hi, kind, width, height, have, v, loops, t0, o, t, x, y, p,
                o_tr, tt, tid, tval, want_tr, info_out):
    """Decode units [lo, hi) from the state (have, v, loops) into outputs from index ``o`` /
    ``o_tr``; info_out = [events, triggers, first word whose time goes backwards, first event
    word, first reserved word, first TIME_HIGH going backwards, loops, first word with a pixel
    off the sensor] (-1 when none)."""
    if want_tr:
        tt, tid, tval = tt[o_tr:], tid[o_tr:], tval[o_tr:]
    if kind == 0:
        iv = w[lo:hi]
        mv = w[0:0]
        if _decode_evt20_fast(iv, lo, width, height, have, v, loops, t0, t[o:], x[o:], y[o:],
                              p[o:], info_out):
            return 0
    else:
        io = 1 if kind == 1 else 0
        iv = w[2 * lo + io:2 * hi:2]
        mv = w[2 * lo + 1 - io:2 * hi:2]
    return _decode_units(iv, mv, kind != 0, lo, width, height, have, v, loops, t0, t[o:], x[o:],
                         y[o:], p[o:], tt, tid, tval, want_tr, info_out)


@njit(cache=True, nogil=True)
def bound_evt2(w, lo, hi, kind):
    """Upper bounds of the events and triggers of units [lo, hi) (branch-free, vectorised)."""
    ev = 0
    tr = 0
    if kind == 0:
        ww = w[lo:hi]
        for i in range(ww.shape[0]):
            typ = ww[i] >> 28
            ev += typ <= 1
            tr += typ == 10
    else:
        io = 1 if kind == 1 else 0
        for i in range(lo, hi):
            typ = w[2 * i + io] >> 28
            ev += popcount32(np.int64(w[2 * i + 1 - io])) * (typ <= 1)
            tr += typ == 10
    return ev, tr


@njit(cache=True, nogil=True)
def last_time_high(w, lo, kind):
    """(found, value) of the last TIME_HIGH before unit ``lo``."""
    step = 1 if kind == 0 else 2
    io = 1 if kind == 1 else 0
    for i in range(lo - 1, -1, -1):
        info = np.int64(w[step * i + io])
        if (info >> 28) == 8:
            return True, info & TH_MASK
    return False, np.int64(0)


def _context(kind):
    def ctx(body, validate):
        n32 = body.units * body.unit_bytes // 4
        h = body.header
        return {"w": np.frombuffer(body.buf, np.uint32, count=n32, offset=body.start),
                "kind": kind if kind == 0 else (2 if h.endianness == "legacy" else 1),
                "width": (h.width or 2048) if validate else 2048,
                "height": (h.height or 2048) if validate else 2048, "t0": h.t0}
    return ctx


def _count_hook(body, ctx, lo, hi, carry=None):
    return count_evt2(ctx["w"], lo, hi, ctx["kind"], ctx["width"], ctx["height"])


def _fold(body, ctx, s, carry, lo, validate):
    have, v, loops = carry
    bad = int(s[8]) if s[8] >= 0 else None
    backs = [int(s[9])] if s[9] >= 0 else []
    offs = [int(v) for v in (s[11], s[10] if have else -1) if v >= 0]
    loop_in = 0
    if have and s[4] >= 0 and s[5] < v:
        if v - s[5] >= LOOP_UNITS:
            loop_in = 1
        else:
            backs.append(int(s[4]))
    if validate and (bad is not None or backs or offs):
        i = min([b for b in [bad] if b is not None] + backs + offs)
        raise _error(body, ctx, 0 if i == bad else (2 if i in offs else 1), i)
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
    info = np.zeros(8, np.int64)
    decode_evt2(ctx["w"], lo, hi, ctx["kind"], ctx["width"], ctx["height"], have, v, loops,
                ctx["t0"], plan.ev_off, t, x, y, p, plan.tr_off,
                *(tr if tr is not None else _NO_TR), tr is not None, info)
    return int(info[0]), int(info[1]), int(info[2]), int(info[3])


def _direct_decode(body, ctx, lo, hi, ev_off, tr_off, out):
    ev, tr = out
    have, v = last_time_high(ctx["w"], lo, ctx["kind"])
    info = np.zeros(8, np.int64)
    decode_evt2(ctx["w"], lo, hi, ctx["kind"], ctx["width"], ctx["height"], bool(have),
                int(v), 0, ctx["t0"], ev_off, *ev, tr_off, *(tr if tr is not None else _NO_TR),
                tr is not None, info)
    return info


def _error(body, ctx, code, i):
    word = body.start + body.unit_bytes * i
    if code == 2:
        info = int(_info_at(ctx, i))
        return off_sensor(body, word, f"x={(info >> 11) & 0x7FF}, y={info & 0x7FF}")
    if code == 0:
        typ = int(np.int64(_info_at(ctx, i)) >> 28)
        return FormatError(body.name, word, f"reserved word type 0x{typ:X} (not a valid EVT 2 "
                                            "stream, or a corrupt one; pass validate=False to "
                                            "skip such words)")
    return FormatError(body.name, word, "TIME_HIGH goes backwards (not a time-ordered stream, "
                                        "or a corrupt one; pass validate=False to decode it "
                                        "anyway)")


def make_codec(kind: str) -> Codec:
    """The driver codec for ``"evt2"`` or ``"evt21"``."""
    from ._prophesee_direct import Direct
    k = 0 if kind == "evt2" else 1
    # one event per EVT 2.0 word at most; with triggers, the bound pass sizes both arrays
    cheap = (lambda body, ctx, wt: None if wt else (body.units, 0)) if k == 0 else None
    direct = Direct(lambda body, ctx, lo, hi: bound_evt2(ctx["w"], lo, hi, ctx["kind"]), cheap,
                    _direct_decode, 34, _error)
    return Codec(kind, 4 if k == 0 else 8, _count_hook, _fold, _decode_hook,
                 lambda body, ctx: (False, 0, 0), _context(k), 1 if k == 0 else 32, direct)
