"""Numba kernels and the driver codec of EVT 3.0 (16-bit words, a stateful stream).

Word types (bits 15..12; OpenEB ``evt3_event_types.h``, docs.prophesee.ai "EVT 3.0")::

    0x0 EVT_ADDR_Y    y = bits 11..0 (bit 11: system type; a y >= height is not a CD row)
    0x1 (ADDR_Y of non-CD events: OpenEB's is_cd = false)
    0x2 EVT_ADDR_X    one event: x = bits 10..0, p = bit 11, at the current y and time
    0x3 VECT_BASE_X   vector base x = bits 10..0, polarity = bit 11
    0x4 VECT_12       bits 11..0: events at base + k; then base += 12
    0x5 VECT_8        bits 7..0:  events at base + k; then base += 8
    0x6 EVT_TIME_LOW  time bits 11..0
    0x8 EVT_TIME_HIGH time bits 23..12 (a change resets the low bits to 0, as OpenEB does)
    0xA EXT_TRIGGER   value = bit 0, id = bits 11..8
    0x7 CONTINUED_4, 0xD IMU, 0xE OTHERS, 0xF CONTINUED_12: no CD payload (skipped)
    0x9, 0xB, 0xC     reserved

``t = (loops << 24) | (TIME_HIGH << 12) | TIME_LOW``: a TIME_HIGH at least 2048 below the previous
one starts a new 24-bit loop (OpenEB's rule). Vectors are decoded word by word as the format
description says (OpenEB instead consumes VECT_12, VECT_12, VECT_8 as one 32-pixel triplet: the
same events for streams made of such triplets, which is what sensors emit; faery's writer emits
lone VECT_12 / VECT_8 words, which only the word-by-word reading decodes right).

Parallel decoding: the state at a chunk's first word (started, time high / low, y, CD flag,
vector base and polarity) is found by scanning backwards from it until each part that the chunk
uses before setting it is known (a few words in real streams); the 24-bit loops before it come
from the counting pass. State layout (int64[10]): started, high, low, loops, y, cd, base, bpol,
has_base, parts not found within ENTRY_LIMIT words (then found by a full scan when used).
"""
from __future__ import annotations

import numpy as np

from .._jit import njit
from ..errors import FormatError
from ._evt2_kernels import popcount32
from ._prophesee_direct import Direct
from ._prophesee_raw import Codec, Plan, off_sensor

NSTATE = 10
#: words a chunk's start state is looked for before the chunk (farther back only if needed)
ENTRY_LIMIT = 1 << 16


@njit(cache=True, nogil=True)
def first_time_high(w):
    for i in range(w.shape[0]):
        if (w[i] >> 12) == 8:
            return i
    return -1


@njit(cache=True, nogil=True)
def entry_state(w, b, first_th, limit):
    """The decoder state just before word ``b`` (loops left at 0), from at most ``limit`` words
    back; st[9] flags the parts not found that far back (1: y, 2: CD flag, 4: vector base,
    8: time), which :func:`run_evt3` stops at when it needs them."""
    st = np.zeros(NSTATE, np.int64)
    if first_th < 0 or b <= first_th:
        return st
    st[0] = 1
    done_y = done_cd = done_base = time_done = False
    adv = 0
    high = np.int64(-1)
    all_eq = True
    n_th = 0
    tl = np.int64(-1)
    stop = max(first_th, b - limit)
    j = b - 1
    while j >= stop:
        c = np.int64(w[j]) & 0xFFF
        typ = w[j] >> 12
        if typ == 0:
            if not done_y:
                st[4] = c
                done_y = True
            if not done_cd:
                st[5] = 1
                done_cd = True
        elif typ == 1:
            done_cd = True
        elif typ == 3:
            if not done_base:
                st[6] = (c & 0x7FF) + adv
                st[7] = (c >> 11) & 1
                st[8] = 1
                done_base = True
        elif typ == 4:
            adv += 12
        elif typ == 5:
            adv += 8
        elif typ == 6 and not time_done and tl < 0:
            tl = c
            if n_th > 0 and not all_eq:
                st[2] = 0
                time_done = True
        elif typ == 8 and not time_done:
            if tl < 0:               # the TIME_HIGHs after the last TIME_LOW
                if high < 0:
                    high = c
                elif c != high:
                    all_eq = False
                n_th += 1
            else:                    # the TIME_HIGH before the last TIME_LOW
                if n_th == 0:
                    high = c
                    st[2] = tl
                else:
                    st[2] = tl if c == high else 0
                time_done = True
        if done_y and done_cd and done_base and time_done:
            break
        j -= 1
    st[1] = high
    if j >= stop or stop == first_th:     # resolved, or the whole history was scanned
        return st
    st[9] = (0 if done_y else 1) | (0 if done_cd else 2) | (0 if done_base else 4) | \
        (0 if time_done else 8)
    return st


@njit(cache=True, nogil=True)
def run_evt3(w, lo, hi, st, loops0, width, height, t0, write, o, t, x, y, p,
             o_tr, tt, tid, tval, want_tr, res):
    """Count (``write`` False) or decode words [lo, hi) from state ``st`` and ``loops0``.

    res: [events, triggers, first word whose time goes backwards, first event word, first
    reserved word, first TIME_HIGH going backwards, first word with an x off the sensor (rows
    off it, ADDR_Y's system bit among them, are dropped as OpenEB does), loops, exit state].
    """
    started = st[0] != 0
    high = st[1]
    low = st[2]
    loops = loops0
    yy = st[4]
    cd = st[5] != 0
    base = st[6]
    bpol = st[7]
    has_base = st[8] != 0
    unk = st[9]
    stopped = -1
    if write:
        t, x, y, p = t[o:], x[o:], y[o:], p[o:]
        if want_tr:
            tt, tid, tval = tt[o_tr:], tid[o_tr:], tval[o_tr:]
    k = np.uint64(0)        # unsigned: no wrap-around checks on the stores
    kt = np.uint64(0)
    one = np.uint64(1)
    ww = w[lo:hi]
    prev = np.int64(-1)
    back = first = bad = thback = -1
    outside = -1            # first word with an x off the sensor (validation)
    nloops = 0
    j0 = 0
    n = ww.shape[0]
    while not started and j0 < n:          # no time base yet: words ignored (OpenEB)
        wd = np.int64(ww[j0])
        typ = wd >> 12
        if typ == 8:
            started = True
            high = wd & 0xFFF
            low = 0
        elif (typ == 9 or typ == 11 or typ == 12) and bad < 0:
            bad = lo + j0
        j0 += 1
    tv = t0 + (loops << 24) + (high << 12) + low
    # the most frequent word types first (ADDR_X, TIME_LOW, ADDR_Y, TIME_HIGH in sensor data)
    for j in range(j0, n):
        wd = np.int64(ww[j])
        typ = wd >> 12
        c = wd & 0xFFF
        if typ == 2:
            if unk & 3:
                stopped = lo + j
                break
            if cd:
                xx = c & 0x7FF
                if yy < height and xx < width:
                    if first < 0:
                        first = lo + j
                    if tv < prev and back < 0:
                        back = lo + j
                    prev = tv
                    if write:
                        t[k] = tv
                        x[k] = xx
                        y[k] = yy
                        p[k] = c >> 11
                    k += one
                elif yy < height and outside < 0:
                    outside = lo + j
        elif typ == 6:
            low = c
            tv = t0 + (loops << 24) + (high << 12) + low
        elif typ == 0:
            yy = c
            cd = True
            unk &= ~3
        elif typ == 8:
            if high >= 2048 + c:
                loops += 1
                nloops += 1
            elif c < high and thback < 0:
                thback = lo + j
            if c != high:
                low = 0
            high = c
            tv = t0 + (loops << 24) + (high << 12) + low
        elif typ == 4 or typ == 5:
            if unk & 7:
                stopped = lo + j
                break
            nb = 12 if typ == 4 else 8
            if has_base:
                m = c & ((1 << nb) - 1)
                if cd and m != 0:
                    mi = m
                    room = width - base
                    if yy >= height or room <= 0:
                        mi = 0
                    elif room < nb:
                        mi = m & ((np.int64(1) << room) - 1)
                    if yy < height and mi != m and outside < 0:
                        outside = lo + j
                    if mi != 0:
                        if first < 0:
                            first = lo + j
                        if tv < prev and back < 0:
                            back = lo + j
                        prev = tv
                    while mi != 0:
                        bit = popcount32((mi & -mi) - 1)
                        if write:
                            t[k] = tv
                            x[k] = base + bit
                            y[k] = yy
                            p[k] = bpol
                        k += one
                        mi &= mi - 1
                base += nb
        elif typ == 3:
            base = c & 0x7FF
            bpol = c >> 11
            has_base = True
            unk &= ~4
        elif typ == 10:
            if write and want_tr:
                tt[kt] = tv
                tid[kt] = (c >> 8) & 0xF
                tval[kt] = c & 1
            kt += one
        elif typ == 1:
            cd = False
            unk &= ~2
        elif (typ == 9 or typ == 11 or typ == 12) and bad < 0:
            bad = lo + j
    res[0] = k
    res[1] = kt
    res[2] = back
    res[3] = first
    res[4] = bad
    res[5] = thback
    res[6] = outside
    res[7] = nloops
    res[8] = 1 if started else 0
    res[9] = high
    res[10] = low
    res[11] = loops
    res[12] = yy
    res[13] = 1 if cd else 0
    res[14] = base
    res[15] = bpol
    res[16] = 1 if has_base else 0
    res[17] = unk
    res[18] = stopped
    return 0


_NO_EV = (np.empty(0, np.int64), np.empty(0, np.int16), np.empty(0, np.int16),
          np.empty(0, np.int8))
_NO_TR = (np.empty(0, np.int64), np.empty(0, np.int16), np.empty(0, np.int8))


def _context(body, validate):
    w = np.frombuffer(body.buf, np.uint16, count=body.units, offset=body.start)
    h = body.header
    return {"w": w, "first_th": int(first_time_high(w)),
            "width": (h.width or 2048) if validate else 2048, "height": h.height or 2048,
            "t0": h.t0}


def _entry(ctx, lo, full=False):
    """The state before word ``lo``; a full backward scan when ``full`` or the time was not
    found within ENTRY_LIMIT words."""
    st = entry_state(ctx["w"], lo, ctx["first_th"], 1 << 62 if full else ENTRY_LIMIT)
    if st[9] & 8:
        st = entry_state(ctx["w"], lo, ctx["first_th"], 1 << 62)
    return st


def _run(ctx, lo, hi, st, loops, write, ev_off, ev, tr_off, tr, t0):
    """run_evt3, once more from the fully scanned state if it stopped for a part of it."""
    res = np.zeros(9 + NSTATE, np.int64)
    for _attempt in range(2):
        run_evt3(ctx["w"], lo, hi, st, loops, ctx["width"], ctx["height"], t0, write, ev_off,
                 *ev, tr_off, *(tr if tr is not None else _NO_TR), tr is not None, res)
        if res[18] < 0:
            break
        st = _entry(ctx, lo, full=True)
    return st, res


def _count_hook(body, ctx, lo, hi, carry=None):
    if carry is not None and carry[1] is not None:
        st = carry[1]
    else:
        st = _entry(ctx, lo)
    return _run(ctx, lo, hi, st, 0, False, 0, _NO_EV, 0, None, 0)


def _fold(body, ctx, summary, carry, lo, validate):
    st, res = summary
    loops = carry[0]
    errs = [int(v) for v in (res[4], res[5], res[6]) if v >= 0]
    if validate and errs:
        i = min(errs)
        raise _error(body, ctx, 0 if i == res[4] else (1 if i == res[5] else 2), i)
    t0 = ctx["t0"]
    t_lo = t0 + (loops << 24) + ((int(st[1]) << 12) + int(st[2]) if st[0] else 0)
    end_loops = loops + int(res[7])
    t_hi = t0 + (end_loops << 24) + (int(res[9]) << 12) + 4095
    plan = Plan(int(res[0]), int(res[1]), t_lo, t_hi, (st, loops))
    exit_state = res[8:8 + NSTATE].copy()
    exit_state[3] = 0
    return plan, (end_loops, exit_state)


def _decode_hook(body, ctx, lo, hi, plan, out, validate):
    ev, tr = out
    st, loops = plan.state
    _, res = _run(ctx, lo, hi, st, loops, True, plan.ev_off, ev, plan.tr_off, tr, ctx["t0"])
    return int(res[0]), int(res[1]), int(res[2]), int(res[3])


@njit(cache=True, nogil=True)
def bound_evt3(w, lo, hi):
    """Upper bounds of the events and triggers of words [lo, hi) (branch-free, vectorised):
    one per ADDR_X, 12 per VECT_12, 8 per VECT_8."""
    ev = 0
    tr = 0
    ww = w[lo:hi]
    for i in range(ww.shape[0]):
        typ = ww[i] >> 12
        ev += (typ == 2) + 12 * (typ == 4) + 8 * (typ == 5)
        tr += typ == 10
    return ev, tr


def _direct_decode(body, ctx, lo, hi, ev_off, tr_off, out):
    ev, tr = out
    _, res = _run(ctx, lo, hi, _entry(ctx, lo), 0, True, ev_off, ev, tr_off, tr, ctx["t0"])
    return np.array([res[0], res[1], res[2], res[3], res[4], res[5], res[7], res[6]], np.int64)


def _error(body, ctx, code, i):
    word = body.start + 2 * i
    if code == 2:
        return off_sensor(body, word, f"x={int(ctx['w'][i]) & 0x7FF} (or a vector from it)")
    if code == 0:
        typ = int(ctx["w"][i]) >> 12
        return FormatError(body.name, word, f"reserved word type 0x{typ:X} (not a valid EVT "
                                            "3.0 stream, or a corrupt one; pass validate=False "
                                            "to skip such words)")
    return FormatError(body.name, word, "TIME_HIGH goes backwards by less than a 24-bit loop "
                                        "(not a time-ordered stream, or a corrupt one; pass "
                                        "validate=False to decode it anyway)")


CODEC = Codec("evt3", 2, _count_hook, _fold, _decode_hook, lambda body, ctx: (0, None),
              _context, 12,
              Direct(lambda body, ctx, lo, hi: bound_evt3(ctx["w"], lo, hi), None,
                     _direct_decode, 24, _error))
