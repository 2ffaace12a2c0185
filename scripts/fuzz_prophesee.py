"""Prophesee inputs for the reader fuzz campaign (scripts/fuzz_readers.py imports this).

Formats (campaign names): ``prophesee_dat``, ``evt2``, ``evt21``, ``evt3``. Sources: the real
N-CARS DAT, Gen3 EVT 2.0 (first 64 KB) and Gen4.1 EVT 3.0 recordings, and files written by
evframes' writers exercising every decoder branch (triggers, 34-/24-/32-bit time loops, EVT 2.1
in both word orders, EVT 3.0 vectors, DAT version 1 and trigger files, headers without
``% end``). Generators: header-only, garbage bodies after a valid header, ~1 MB of ``%`` lines,
and "extreme" files: impossible sensor sizes, TIME_HIGH words jumping backwards and forwards,
saturated vectors / masks, reserved word types. Two synthetic files of formats evframes does not
read (a Prophesee EVT 4.0 header, an HDF5 signature) are the campaign's foreign sources: every
reader must refuse them.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

FORMATS = ("prophesee_dat", "evt2", "evt21", "evt3")
#: reader entry points per format
TARGETS = {f: (f"read_{f}", f"decode_{f}_bytes") for f in FORMATS}
UNIT = {"prophesee_dat": 8, "evt2": 4, "evt21": 8, "evt3": 2}
EXT = {"prophesee_dat": [".dat"], "evt2": [".raw"], "evt21": [".raw"], "evt3": [".raw"]}
KWARGS = {"on_truncated": ["error", "warn"], "with_triggers": [False, True],
          "validate": [True, True, False]}
#: most events one byte of body can hold (EVT 2.1: 32 per 8 bytes; EVT 3.0: 12 per 2 bytes)
EVENTS_PER_BYTE = {"prophesee_dat": 1 / 8, "evt2": 1 / 4, "evt21": 4, "evt3": 6}
COORD_MAX = {"prophesee_dat": 16383, "evt2": 2047, "evt21": 2047, "evt3": 2047}
HEADERS = {
    "evt2": [b"% evt 2.0\n% format EVT2;height=480;width=640\n% geometry 640x480\n% end\n",
             b"% Date 2020-09-25 07:48:31\n% integrator_name Prophesee\n% system_ID 21\n"
             b"% evt 2.0\n"],
    "evt21": [b"% evt 2.1\n% format EVT21;endianness=little;height=320;width=320\n% end\n",
              b"% format EVT21;height=720;width=1280\n% integrator_name Prophesee\n"
              b"% system_ID 49\n% end\n"],
    "evt3": [b"% evt 3.0\n% format EVT3;height=720;width=1280\n% geometry 1280x720\n% end\n",
             b"% Date 2020-09-14 14:18:29\n% evt 3.0\n% integrator_name Prophesee\n"
             b"% system_ID 48\n"],
    "prophesee_dat": [b"% Data file containing CD events\n% Version 2\n% Width 304\n"
                      b"% Height 240\n\x0c\x08",
                      b"% Data file containing Event2D events\n% Version 1\n\x00\x08",
                      b"% Data file containing Trigger events\n% Version 2\n\x0e\x08"],
}
FOREIGN = {"syn:foreign-evt4": b"% evt 4.0\n% format EVT4;height=720;width=1280\n% end\n",
           "syn:foreign-hdf5": b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00\x00\x08\x08\x00"}


def _events(rng, n, w, h, t0=0, dt=40, runs=False):
    from evframes.events import make_events
    t = t0 + np.cumsum(rng.integers(0, dt, n))
    x = rng.integers(0, w, n)
    y = rng.integers(0, h, n)
    p = rng.integers(0, 2, n)
    if runs:                      # rows of neighbouring pixels at one time: vectors / masks
        k = n // 8
        x[:k] = np.minimum(w - 1, (np.arange(k) % 40) + 100)
        y[:k] = 7
        t[:k] = t0
        p[:k] = 1
        t = np.maximum.accumulate(t)
    return make_events(t, x, y, p)


def _triggers(rng, n, t_lo, t_hi, id_max):
    from evframes.formats import TRIGGER_DTYPE
    tr = np.zeros(n, TRIGGER_DTYPE)
    tr["t"] = np.sort(rng.integers(t_lo, t_hi + 1, n))
    tr["id"] = rng.integers(0, id_max + 1, n)
    tr["value"] = rng.integers(0, 2, n)
    return tr


def sources(rng, real: Path, make_source):
    """The Prophesee seed files; ``make_source(label, fmt, data, ext, weight, header_end,
    rec)`` builds the campaign's Source."""
    from evframes.formats import (
        write_evt2,
        write_evt3,
        write_evt21,
        write_prophesee_dat,
        write_prophesee_dat_triggers,
    )
    from evframes.formats._prophesee_header import parse_header
    out = []

    def add(label, fmt, data, weight, extra=0):
        end = parse_header(data, label).end + extra
        out.append(make_source(label, fmt, data, EXT[fmt][0], weight, end, UNIT[fmt]))

    for rel, fmt, limit in [("prophesee/expelliarmus_evt3_sample_small.raw", "evt3", None),
                            ("prophesee/expelliarmus_dat_sample_small.dat", "prophesee_dat",
                             None),
                            ("prophesee/faery_evt2.raw", "evt2", 1 << 16)]:
        path = real / rel
        if path.is_file():
            data = path.read_bytes()
            end = parse_header(data, rel).end + (2 if fmt == "prophesee_dat" else 0)
            if limit is not None:
                data = data[:end + (limit - end) // UNIT[fmt] * UNIT[fmt]]
            out.append(make_source("real:" + path.name, fmt, data, path.suffix, 1.0, end,
                                   UNIT[fmt]))
    with tempfile.TemporaryDirectory(prefix="evframes-fuzz-psee-") as tmp:
        d = Path(tmp)
        ev = _events(rng, 3000, 320, 240, t0=(1 << 34) - 40_000, runs=True)   # a 34-bit loop
        tr = _triggers(rng, 20, int(ev["t"][0]), int(ev["t"][-1]), 31)
        write_evt2(d / "a.raw", ev, sensor_size=(320, 240), triggers=tr)
        add("syn:evt2-loop-triggers", "evt2", (d / "a.raw").read_bytes(), 3.0)
        for order in ("little", "legacy"):
            write_evt21(d / "b.raw", ev, sensor_size=(320, 240), triggers=tr, endianness=order)
            add(f"syn:evt21-{order}", "evt21", (d / "b.raw").read_bytes(), 3.0)
        ev3 = _events(rng, 4000, 640, 480, t0=(1 << 24) - 30_000, dt=20, runs=True)
        tr3 = _triggers(rng, 20, int(ev3["t"][0]), int(ev3["t"][-1]), 15)
        for vec in (True, False):
            write_evt3(d / "c.raw", ev3, sensor_size=(640, 480), triggers=tr3, vectorize=vec)
            add(f"syn:evt3-{'vectors' if vec else 'single'}", "evt3", (d / "c.raw").read_bytes(),
                3.0)
        evd = _events(rng, 2500, 304, 240, dt=3_000_000)                    # 32-bit wraps
        write_prophesee_dat(d / "d.dat", evd, sensor_size=(304, 240))
        add("syn:dat-wraps", "prophesee_dat", (d / "d.dat").read_bytes(), 3.0, extra=2)
        write_prophesee_dat(d / "e.dat", _events(rng, 1500, 300, 200), version=1,
                            event_type="2d")
        add("syn:dat-v1", "prophesee_dat", (d / "e.dat").read_bytes(), 2.0, extra=2)
        write_prophesee_dat_triggers(d / "f.dat", _triggers(rng, 300, 0, 10**7, 63))
        add("syn:dat-triggers", "prophesee_dat", (d / "f.dat").read_bytes(), 1.0, extra=2)
    for label, head in FOREIGN.items():
        body = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
        out.append(make_source(label, "foreign", head + body, ".raw", 0.3, len(head), 0))
    return out


def header_only(rng, fmt) -> bytes:
    h = HEADERS[fmt][int(rng.integers(0, len(HEADERS[fmt])))]
    r = rng.random()
    if r < 0.5:
        return h
    return h[:int(rng.integers(1, len(h)))]


def garbage_body(rng, fmt) -> bytes:
    h = HEADERS[fmt][int(rng.integers(0, len(HEADERS[fmt])))]
    n = int(rng.integers(0, 4096)) if rng.random() < 0.8 else int(rng.integers(0, 65536))
    r = rng.random()
    if r < 0.5:
        body = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    elif r < 0.75:        # valid word types only, random fields
        unit = 2 if fmt == "evt3" else 4
        types = {"evt3": [0, 2, 3, 4, 5, 6, 8, 10, 14, 15], "prophesee_dat": [0, 1]}.get(
            fmt, [0, 1, 8, 10, 14, 15])
        k = max(1, n // unit)
        hi = rng.choice(types, k).astype(np.uint32)
        bits = 12 if unit == 2 else 28
        w = (hi << bits) | rng.integers(0, 1 << bits, k).astype(np.uint32)
        body = w.astype("<u2" if unit == 2 else "<u4").tobytes()
    else:
        body = bytes([int(rng.choice([0, 0xFF, 0x25, 0x0A, 0x80, 0x88, 0x11]))]) * n
    return h + body


def huge_header(rng, fmt) -> bytes:
    total = int(rng.integers((1 << 20) - 4096, (1 << 20) + 4096))
    line = b"% " + b"k" * int(rng.integers(1, 200)) + b" value\n"
    lines = line * (total // len(line) + 1)
    tail = [b"", b"% end\n" + b"\x00\x80" * 8, b"% no newline", b"\x80" * 16][
        int(rng.integers(0, 4))]
    return HEADERS[fmt][0].split(b"% end")[0] + lines + tail


_SIZES = [b"0", b"1", b"-1", b"2047", b"2048", b"2049", b"16384", b"16385", b"65535",
          b"4294967296", b"abc", b"", b"1e3", b"0x10"]


def extreme(rng, fmt) -> bytes:
    """Headers with impossible sizes / contradictions, bodies with hostile word sequences."""
    w = _SIZES[int(rng.integers(0, len(_SIZES)))]
    h = _SIZES[int(rng.integers(0, len(_SIZES)))]
    r = rng.random()
    if fmt == "prophesee_dat":
        head = b"% Data file containing CD events\n% Version 2\n% Width " + w + b"\n% Height " + \
            h + b"\n" + bytes([int(rng.choice([0, 0x0C, 0x0E, 0x0D, 0xFF])),
                              int(rng.choice([8, 8, 0, 16, 255]))])
        n = int(rng.integers(0, 2000))
        rec = np.empty((n, 2), "<u4")
        rec[:, 0] = rng.choice([0, 1, 2**31, 2**31 + 1, 2**32 - 1], n)
        rec[:, 1] = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
        return head + rec.tobytes()
    name = {"evt2": b"EVT2", "evt21": b"EVT21", "evt3": b"EVT3"}[fmt]
    if r < 0.3:
        head = b"% format " + name + b";height=" + h + b";width=" + w + b"\n% end\n"
    elif r < 0.5:
        head = (b"% format " + name + b";height=480;width=640\n% geometry " + w + b"x" + h +
                b"\n% end\n")
    else:
        head = b"% format " + name + b";height=720;width=1280\n% end\n"
    n = int(rng.integers(1, 3000))
    if fmt == "evt3":
        typ = rng.choice([8, 8, 6, 0, 3, 4, 5, 2, 10, 9, 11, 1], n).astype(np.uint16)
        val = rng.choice([0, 0xFFF, 0x7FF, 0x800, 2048, 4095, 1], n).astype(np.uint16)
        return head + ((typ << 12) | val).astype("<u2").tobytes()
    typ = rng.choice([8, 8, 0, 1, 10, 14, 15, 2, 9], n).astype(np.uint32)
    val = rng.choice([0, 0x0FFFFFFF, 0x0FFFFF00, 1, 0x7FFFFF, 0x3FFFFF], n).astype(np.uint32)
    info = (typ << 28) | val
    if fmt == "evt2":
        return head + info.astype("<u4").tobytes()
    mask = rng.choice([0, 1, 0xFFFFFFFF, 0x80000001], n).astype(np.uint32)
    return head + np.stack([mask, info], 1).astype("<u4").tobytes()
