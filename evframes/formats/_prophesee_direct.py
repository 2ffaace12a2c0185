"""The one-pass decode of a whole Prophesee file (no time window), shared by the readers.

Instead of counting first (:mod:`._prophesee_raw`), each chunk of units:

1. gets an upper bound of its events and triggers from a branch-free (vectorised) pass, skipped
   when a cheap bound exists (one event per DAT record or EVT 2.0 word, single chunk);
2. finds its start state itself (the last TIME_HIGH / record before it, or EVT 3.0's backward
   scan), with 0 loops / wraps;
3. decodes straight into its slot of the output (chunks in parallel), reporting the loops /
   wraps it crossed, the first invalid word and the first word whose time goes backwards.

Then, in plain Python: the earliest error is raised (the same one, at the same byte, as the
counting path), each chunk's times get the loops / wraps of the chunks before it added
(``prefix << loop_shift``: only files longer than a loop), and the slots are packed together
when a chunk wrote fewer events than its bound (events off the sensor, words before the first
TIME_HIGH). Memory: the output, plus the bound's slack.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional

import numpy as np

from . import _common
from ._common import _num_threads, run_chunked

__all__ = ["Direct", "decode_direct", "TRIGGER_DTYPE"]

#: External trigger events: ``t`` int64 us, ``id`` (trigger channel) int16, ``value`` int8
#: (1 = rising edge, 0 = falling edge; DAT keeps its 4-bit field).
TRIGGER_DTYPE = np.dtype([("t", "<i8"), ("id", "<i2"), ("value", "<i1")])


@dataclass
class Direct:
    """A codec's one-pass hooks (see the module docstring)."""

    bound: Callable         # (body, ctx, lo, hi) -> (events, triggers) upper bounds
    cheap_bound: Optional[Callable]   # (body, ctx, with_triggers) -> bounds (single chunk)
    decode: Callable        # (body, ctx, lo, hi, ev_off, tr_off, out) -> int64[7] info
    loop_shift: int         # bits a loop / wrap adds to t
    error: Callable         # (body, ctx, code, unit) -> FormatError (0: bad word, 1: time
    #                         going back, 2: pixel off the sensor)


def _chunks(units: int) -> List[int]:
    k = _num_threads()
    n = 1 if (units < _common.parallel_threshold or k == 1) else 2 * k
    n = max(1, min(n, units))
    return [units * c // n for c in range(n + 1)]


def _run(fn, bounds):
    if len(bounds) <= 2 or _num_threads() == 1:
        return [fn(bounds[c], bounds[c + 1]) for c in range(len(bounds) - 1)]
    return run_chunked(lambda lo, hi: fn(lo, hi), bounds[-1], (), bounds=bounds)


def decode_direct(codec, body, with_triggers: bool, validate: bool, backwards):
    """(ev columns, triggers array) of the whole body; ``backwards(body, unit)`` makes the
    error for event times going backwards."""
    d: Direct = codec.direct
    ctx = codec.context(body, validate)
    bounds = _chunks(body.units)
    nch = len(bounds) - 1
    cheap = (d.cheap_bound(body, ctx, with_triggers) if (d.cheap_bound is not None and nch == 1)
             else None)
    if cheap is not None:
        ubs = [cheap]
    else:
        ubs = _run(lambda lo, hi: d.bound(body, ctx, lo, hi), bounds)
    ev_off = np.concatenate([[0], np.cumsum([int(u[0]) for u in ubs])]).astype(np.int64)
    tr_off = np.concatenate([[0], np.cumsum([int(u[1]) for u in ubs])]).astype(np.int64)
    n_ev, n_tr = int(ev_off[-1]), int(tr_off[-1])
    ev = (np.empty(n_ev, np.int64), np.empty(n_ev, np.int16), np.empty(n_ev, np.int16),
          np.empty(n_ev, np.int8))
    trc = (np.empty(n_tr, np.int64), np.empty(n_tr, np.int16), np.empty(n_tr, np.int8)) \
        if with_triggers else None
    index = {bounds[c]: c for c in range(nch)}

    def one(lo, hi):
        c = index[lo]
        return d.decode(body, ctx, lo, hi, int(ev_off[c]), int(tr_off[c]), (ev, trc))

    infos = _run(one, bounds) if body.units else []
    # info: [events, triggers, first backwards event word, first event word, first bad word,
    #        first backwards time word, loops, first word off the sensor]
    if validate:
        errs = [(int(i[4]), 0) for i in infos if i[4] >= 0] + \
               [(int(i[5]), 1) for i in infos if i[5] >= 0] + \
               [(int(i[7]), 2) for i in infos if i[7] >= 0]
        if errs:
            unit, code = min(errs)
            raise d.error(body, ctx, code, unit)
    loops = 0
    for c, i in enumerate(infos):
        if loops:
            add = np.int64(loops) << d.loop_shift
            o = int(ev_off[c])
            ev[0][o:o + int(i[0])] += add
            if with_triggers:
                trc[0][int(tr_off[c]):int(tr_off[c]) + int(i[1])] += add
        loops += int(i[6])
    if validate:
        first_back, prev = -1, None
        for c, i in enumerate(infos):
            if i[0] == 0:
                continue
            o = int(ev_off[c])
            if prev is not None and ev[0][o] < prev and first_back < 0:
                first_back = int(i[3])
            if i[2] >= 0 and first_back < 0:
                first_back = int(i[2])
            prev = ev[0][o + int(i[0]) - 1]
        if first_back >= 0:
            raise backwards(body, first_back)
    ev = _pack(ev, ev_off, [int(i[0]) for i in infos])
    tr = np.zeros(0, TRIGGER_DTYPE)
    if with_triggers:
        cols = _pack(trc, tr_off, [int(i[1]) for i in infos])
        tr = np.empty(cols[0].shape[0], TRIGGER_DTYPE)
        tr["t"], tr["id"], tr["value"] = cols
    return ev, tr


def _pack(cols, off, written):
    """Move each chunk's written part next to the previous one; trim (copy when the slack is
    large, else a view)."""
    k = written[0] if written else 0
    for c in range(1, len(written)):
        o, n = int(off[c]), written[c]
        if o != k and n:
            for a in cols:
                a[k:k + n] = a[o:o + n]
        k += n
    total = cols[0].shape[0]
    if k == total:
        return cols
    if k < total * 3 // 4:
        return tuple(a[:k].copy() for a in cols)
    return tuple(a[:k] for a in cols)
