#!/usr/bin/env python
"""Fuzz campaign for the raw event-file readers (``evframes.formats``).

Every input is fed to one reader entry point (``read_aedat3``, ``read_aedat2``, ``read_atis_bin``,
``read_aedat4``, ``read_events`` on a file; ``decode_aedat3_bytes``, ``decode_aedat2_bytes``,
``decode_atis_bytes``, ``decode_aedat4_bytes``, ``decode_events_bytes`` on an in-memory buffer;
and the Prophesee readers ``read_evt2``, ``read_evt21``, ``read_evt3``, ``read_prophesee_dat``
with their ``decode_*_bytes`` twins, inputs from scripts/fuzz_prophesee.py) and must end in either

* an :class:`evframes.Events` (four 1-D arrays of equal length, ``t`` int64 >= 0, ``x``/``y``
  int16 >= 0 and inside the format's coordinate range, ``p`` int8 in {0, 1}, no more events than
  the file has records), possibly with a :class:`TruncatedFileWarning` naming the file and a byte;
* or :class:`evframes.FormatError` whose message names the file and contains "byte" (its offset
  must also lie inside the file).

Anything else is a violation: another exception type (IndexError, numba errors, MemoryError,
OverflowError, a plain ValueError, ...), another warning category, an input taking longer than
``--time-limit`` seconds, an input whose numpy allocations (tracemalloc) or peak-RSS growth
(``resource.getrusage``) exceed ``2 x file size + 64 MB``, a segfault/abort of the process, or a
mismatch between twin runs of the same input (file reader vs buffer decoder, one thread vs the
chunked multi-thread path).

Mutation kinds (every reader gets every kind; inputs cycle through reader x kind):

=================  ==============================================================================
random_bytes       random bytes, 0 B .. 64 KB (sometimes a format's magic in front)
truncate           a real or synthetic file cut at a random offset (biased to headers/boundaries)
bitflip            a real or synthetic file with 1..64 random bit flips
overwrite          a real or synthetic file with runs of bytes overwritten (0x00, 0xFF, '#', ...)
splice             bytes inserted/deleted/duplicated (shifts alignment), files concatenated
garbage_body       a valid header followed by a garbage body
extreme_packet     AEDAT 3.1 packets with extreme fields (eventCapacity 2^32-1, eventSize 0/1/2^31,
                   eventTSOverflow max, "negative" u32 values, eventNumber > capacity, ...);
                   AEDAT 4 packets with extreme stream ids / sizes, flatbuffer offsets and
                   counts, LZ4 / Zstd frame headers claiming absurd sizes
huge_header        ~1 MB of '#' header lines (AEDAT 2.0 / 3.1 magic), no END line, long lines
empty              an empty file
header_only        a file that is only a header (complete or cut)
valid              an unmodified real/synthetic file (must decode; a file of a format evframes
                   does not read, a synthetic Prophesee EVT 4.0 or HDF5 file, must be refused)
=================  ==============================================================================

Two more invariants say that what decodes is not garbage: an unmodified foreign-format file must
end in FormatError in every reader, and the ATIS reader with its default options (overflow
markers and 23-bit wraps applied) must return non-decreasing timestamps.

The campaign runs in a child process (each input in that child's main thread), so a segfault is
detected by the parent, which regenerates the input (inputs are a pure function of seed and
index), saves it to disk and replays it once in a fresh process. A watchdog thread in the child
ends it when one input runs longer than the time limit; the parent also kills a silent child.

Usage::

    python scripts/fuzz_readers.py [--seconds 60] [--seed 0] [--json OUT] [--fail-dir DIR]
    python scripts/fuzz_readers.py --replay DIR/fail-....json      # re-run one saved input

Exit code 0 when no violation was found, 1 otherwise.
"""
from __future__ import annotations

import argparse
import faulthandler
import hashlib
import io
import json
import os
import queue
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import tracemalloc
import warnings
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))
# share the compiled-kernel cache with the test suite (tests/conftest.py sets the same default)
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))

import numpy as np  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real"

TARGETS = ("read_aedat3", "decode_aedat3_bytes", "read_aedat2", "decode_aedat2_bytes",
           "read_atis_bin", "decode_atis_bytes", "read_events", "decode_events_bytes",
           "read_aedat4", "decode_aedat4_bytes")
KINDS = ("random_bytes", "truncate", "bitflip", "overwrite", "splice", "garbage_body",
         "extreme_packet", "huge_header", "empty", "header_only", "valid")
#: format each target decodes ("events" = dispatch on header / extension)
TARGET_FORMAT = {"read_aedat3": "aedat3", "decode_aedat3_bytes": "aedat3",
                 "read_aedat2": "aedat2", "decode_aedat2_bytes": "aedat2",
                 "read_atis_bin": "atis", "decode_atis_bytes": "atis",
                 "read_events": "events", "decode_events_bytes": "events",
                 "read_aedat4": "aedat4", "decode_aedat4_bytes": "aedat4"}
TWIN = {"read_aedat3": "decode_aedat3_bytes", "decode_aedat3_bytes": "read_aedat3",
        "read_aedat2": "decode_aedat2_bytes", "decode_aedat2_bytes": "read_aedat2",
        "read_atis_bin": "decode_atis_bytes", "decode_atis_bytes": "read_atis_bin",
        "read_events": "decode_events_bytes", "decode_events_bytes": "read_events",
        "read_aedat4": "decode_aedat4_bytes", "decode_aedat4_bytes": "read_aedat4"}
KWARGS = {
    "aedat3": {"valid_only": [False, True], "on_truncated": ["warn", "error"]},
    "aedat2": {"keep_special": [False, True], "unwrap": [True, False],
               "on_truncated": ["error", "warn"]},
    "atis": {"on_truncated": ["error", "warn"], "overflow_events": [True, False],
             "unwrap": [True, False], "validate": [True, True, False]},
    "events": {"on_truncated": ["warn", "error"]},
    "aedat4": {"on_truncated": ["error", "warn"], "with_triggers": [False, True]},
}
NATURAL_EXT = {"aedat3": [".aedat"], "aedat2": [".aedat"], "atis": [".bin", ".bs2"],
               "aedat4": [".aedat4"], "foreign": [".raw", ".dat"]}
OTHER_EXT = [".aedat", ".bin", ".bs2", ".dat", "", ".raw", ".BIN", ".aedat4", ".txt"]
# Prophesee readers (scripts/fuzz_prophesee.py): formats prophesee_dat, evt2, evt21, evt3
import fuzz_prophesee as fzp  # noqa: E402

for _f, (_r, _d) in fzp.TARGETS.items():
    TARGETS += (_r, _d)
    TARGET_FORMAT.update({_r: _f, _d: _f})
    TWIN.update({_r: _d, _d: _r})
    KWARGS[_f] = dict(fzp.KWARGS)
    NATURAL_EXT[_f] = fzp.EXT[_f]
CONTAINERS = ("bytes", "bytearray", "memoryview", "ndarray", "ndarray_unaligned")

MB = 1 << 20
HANG_EXIT = 86
PROTO = b"@@FUZZ "


def mem_bound(size: int) -> int:
    """Largest allocation growth accepted for an input of ``size`` bytes."""
    return 2 * size + 64 * MB


# ------------------------------------------------------------------------------------------------
# Corpus: real recordings + synthetic files exercising every decoder branch (all deterministic)
# ------------------------------------------------------------------------------------------------

@dataclass
class Source:
    label: str
    fmt: str                      # aedat3 / aedat2 / atis / foreign
    data: bytes
    ext: str
    weight: float
    header_end: int = 0
    rec: int = 0                  # record size (aedat2: 8, atis: 5), 0 if packetised/unknown
    boundaries: List[int] = field(default_factory=list)   # packet starts (aedat3, aedat4)
    clean_cuts: bool = True       # a cut at a boundary is a valid file (not: AEDAT 4 with a table)


A3_HEADERS = [
    b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#Start-Time: 2017-06-02 11:37:20 "
    b"(TZ+0200)\r\n#!END-HEADER\r\n",
    b"#!AER-DAT3.1\n#Format: RAW\n#Source 1: DVS128\n#!END-HEADER\n",
    b"#!AER-DAT3.1\r\n#!END-HEADER\r\n",
    b"#!AER-DAT3.0\r\n#Source 1: DAVIS346\r\n#!END-HEADER\r\n",
]
A2_HEADERS = [
    b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n# Data format is int32 "
    b"address, int32 timestamp (8 bytes total), repeated for each event\r\n# Timestamps tick "
    b"is 1 us\r\n# created Thu Nov 21 2024\r\n",
    b"#!AER-DAT2.0\n# <?xml version=\"1.0\"?>\n# <preferences>\n#   <a key='1'/>\n"
    b"# </preferences>\n",
    b"#!AER-DAT2.0\r\n",
]


def a3_packet(etype, esize, cap, payload=b"", ovf=0, number=None, valid=None, source=1,
              tsoff=4):
    number = cap if number is None else number
    valid = number if valid is None else valid
    return struct.pack("<HHIIIIII", etype & 0xFFFF, source & 0xFFFF, esize & 0xFFFFFFFF,
                       tsoff & 0xFFFFFFFF, ovf & 0xFFFFFFFF, cap & 0xFFFFFFFF,
                       number & 0xFFFFFFFF, valid & 0xFFFFFFFF) + payload


def a3_polarity_payload(rng, n, valid_frac=1.0, x_max=128):
    d = np.empty((n, 2), "<u4")
    valid = (rng.random(n) < valid_frac).astype(np.uint32)
    d[:, 0] = ((rng.integers(0, x_max, n).astype(np.uint32) << 17)
               | (rng.integers(0, x_max, n).astype(np.uint32) << 2)
               | (rng.integers(0, 2, n).astype(np.uint32) << 1) | valid)
    d[:, 1] = np.sort(rng.integers(0, 2**31, n)).astype(np.uint32)
    return d.tobytes()


def _a3_file(header, packets):
    out = bytearray(header)
    starts = []
    for pk in packets:
        starts.append(len(out))
        out += pk
    return bytes(out), starts


def atis_bytes(rows):
    out = bytearray()
    for x, y, p, t in rows:
        out += bytes([x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


#: labels of the corpus's real files in formats evframes does not read (filled by build_corpus)
FOREIGN_SOURCES: set = set()


def build_corpus() -> List[Source]:
    """The seed files mutated by the campaign (deterministic: same bytes in parent and child)."""
    rng = np.random.default_rng(12345)
    out: List[Source] = []
    # --- real recordings (shared/data/real, see SOURCES.md)
    real_atis = ["nmnist_bin/tonic_sample_nmnist.bin", "nmnist_bin/slayer_NMNISTsmall_"
                 "train00001_label5.bs2", "nmnist_bin/slayer_NMNISTsmall_test60001_label7.bs2",
                 "nmnist_bin/ncaltech101_faces_easy_0001.bin",
                 "dvs_gesture/dvsgesture_clip_40bit.bs2"]
    for rel in real_atis:
        path = REAL / rel
        if path.is_file():
            data = path.read_bytes()
            out.append(Source("real:" + path.name, "atis", data, path.suffix,
                              3.0 if len(data) < 100_000 else 1.0, rec=5))
    a2 = REAL / "aedat2" / "jaer_JSpikeStack_MovingDarkBox_dvs128.aedat"
    if a2.is_file():
        data = a2.read_bytes()
        hdr = 0
        while hdr < len(data) and data[hdr:hdr + 1] == b"#":
            hdr = data.index(b"\n", hdr) + 1
        out.append(Source("real:" + a2.name, "aedat2", data, ".aedat", 0.5, header_end=hdr,
                          rec=8))
        out.append(Source("real-head:" + a2.name, "aedat2", data[:hdr + 8 * 3000], ".aedat", 3.0,
                          header_end=hdr, rec=8))
    # --- Prophesee: real DAT / EVT 2.0 / EVT 3.0, written EVT 2.0 / 2.1 / 3.0 / DAT, and the
    # foreign sources (synthetic files of formats evframes does not read)
    for src in fzp.sources(rng, REAL, lambda label, fmt, data, ext, w, end, rec: Source(
            label, fmt, data, ext, w, header_end=end, rec=rec)):
        out.append(src)
        if src.fmt == "foreign":
            FOREIGN_SOURCES.add(src.label)

    # --- synthetic AEDAT 3.1 (no real file available): plain, mixed packet types / slack /
    # invalid events / odd-size payloads (byte-wise path), and a > 1 MB one (mmap path)
    pk = []
    for k in range(12):
        n = int(rng.integers(1, 300))
        pk.append(a3_packet(1, 8, n, a3_polarity_payload(rng, n), ovf=k // 4))
    data, starts = _a3_file(A3_HEADERS[0], pk)
    out.append(Source("syn:aedat3-plain", "aedat3", data, ".aedat", 3.0,
                      header_end=len(A3_HEADERS[0]), boundaries=starts))
    pk = [
        a3_packet(1, 8, 40, a3_polarity_payload(rng, 40, 0.7), ovf=0),
        a3_packet(0, 8, 3, bytes(rng.integers(0, 256, 24, dtype=np.uint8))),    # special events
        a3_packet(1, 8, 60, a3_polarity_payload(rng, 60, 0.9), number=50, valid=45, ovf=1),
        a3_packet(2, 7, 3, bytes(rng.integers(0, 256, 21, dtype=np.uint8))),    # odd size: shift
        a3_packet(1, 8, 30, a3_polarity_payload(rng, 30), ovf=2**32 - 1),
        a3_packet(1, 8, 0, b""),
        a3_packet(5, 0, 2**32 - 1, b""),                                        # zero-size events
        a3_packet(1, 8, 25, a3_polarity_payload(rng, 25, 0.5, x_max=8192), ovf=3),
    ]
    data, starts = _a3_file(A3_HEADERS[1], pk)
    out.append(Source("syn:aedat3-mixed", "aedat3", data, ".aedat", 3.0,
                      header_end=len(A3_HEADERS[1]), boundaries=starts))
    pk = [a3_packet(1, 8, 4096, a3_polarity_payload(rng, 4096), ovf=k // 20) for k in range(40)]
    data, starts = _a3_file(A3_HEADERS[0], pk)
    out.append(Source("syn:aedat3-big", "aedat3", data, ".aedat", 0.3,
                      header_end=len(A3_HEADERS[0]), boundaries=starts))

    # --- synthetic AEDAT 2.0: XML header, special events (bit 15 / bit 31) and a wrap
    n = 2000
    addr = ((rng.integers(0, 128, n) << 8) | (rng.integers(0, 128, n) << 1)
            | rng.integers(0, 2, n)).astype(np.uint32)
    addr[rng.random(n) < 0.05] |= 0x8000
    addr[rng.random(n) < 0.02] |= 0x80000000
    ts = (np.sort(rng.integers(0, 2**32 + 10**6, n)) & 0xFFFFFFFF).astype(np.uint32)
    rec = np.empty((n, 2), ">u4")
    rec[:, 0] = addr
    rec[:, 1] = ts
    hdr = A2_HEADERS[1]
    out.append(Source("syn:aedat2-special-wrap", "aedat2", hdr + rec.tobytes(), ".aedat", 3.0,
                      header_end=len(hdr), rec=8))

    # --- synthetic ATIS: overflow markers (y == 240) and a 23-bit wrap
    rows = []
    t = 0
    for _ in range(1500):
        t = (t + int(rng.integers(0, 20000))) % (1 << 23)
        if rng.random() < 0.02:
            rows.append((0, 240, 0, 0))
        rows.append((int(rng.integers(0, 34)), int(rng.integers(0, 34)),
                     int(rng.integers(0, 2)), t))
    out.append(Source("syn:atis-overflow-wrap", "atis", atis_bytes(rows), ".bin", 3.0, rec=5))
    out.extend(aedat4_sources(rng))
    return out


def _aedat4_source(label, data, weight) -> Source:
    """A Source for an AEDAT 4 file: header end and packet starts from the reader's own scan."""
    from evframes.formats import aedat4
    f = aedat4._File(np.frombuffer(data, np.uint8), label, None)
    starts = [int(p) - 8 for p in f.pk[0]]
    return Source(label, "aedat4", data, ".aedat4", weight, header_end=f.data_start,
                  boundaries=starts, clean_cuts=f.table_pos < 0)


def aedat4_sources(rng) -> List[Source]:
    """The real DAVIS346 AEDAT 4 recording and small files of our writer: LZ4, Zstd and
    uncompressed (flatbuffer fields exposed to the mutations), one without a data table."""
    from evframes.formats.aedat4_write import write_aedat4
    out = []
    real = REAL / "aedat4" / "aestream_davis346.aedat4"
    if real.is_file():
        out.append(_aedat4_source("real:" + real.name, real.read_bytes(), 0.4))
    n = 2500
    ev = {"t": np.cumsum(rng.integers(0, 50, n)) + 10**15, "x": rng.integers(0, 64, n),
          "y": rng.integers(0, 48, n), "p": rng.integers(0, 2, n)}
    trig = np.empty(12, [("t", "<i8"), ("kind", "i1")])
    trig["t"] = np.sort(rng.integers(int(ev["t"][0]), int(ev["t"][-1]), 12))
    trig["kind"] = rng.integers(0, 10, 12)
    with tempfile.TemporaryDirectory(prefix="evframes-fuzz-corpus-") as tmp:
        for comp, w in (("lz4", 1.5), ("zstd", 1.0), ("none", 2.0)):
            path = Path(tmp) / f"{comp}.aedat4"
            write_aedat4(path, ev, sensor_size=(64, 48), compression=comp, packet_events=300,
                         triggers=trig)
            out.append(_aedat4_source(f"syn:aedat4-{comp}", path.read_bytes(), w))
    src = out[-1]                                  # uncompressed, minus its table
    f_pos = 14 + 32          # our writer's dataTablePosition field (aedat4_write.ioheader)
    from evframes.formats import aedat4
    tp = aedat4._File(np.frombuffer(src.data, np.uint8), "x", None).table_pos
    cut = bytearray(src.data[:tp])
    cut[f_pos:f_pos + 8] = struct.pack("<q", -1)
    out.append(_aedat4_source("syn:aedat4-none-notable", bytes(cut), 1.5))
    return out


_A4_FB_FIELDS = (0, 4, 14, 16, 18, 20, 24, 28, 32, 36, 40)   # size, root, vtable, table, vector


def _a4_flatbuffer(rng) -> bytes:
    """An EventPacket or TriggerPacket flatbuffer with one field pushed to an extreme value."""
    from evframes.formats.aedat4_write import event_packet, trigger_packet
    n = int(rng.integers(0, 40))
    t = np.sort(rng.integers(-5, 2**40, n))
    if rng.random() < 0.7:
        buf = bytearray(event_packet(t, rng.integers(-3, 70, n), rng.integers(-3, 52, n),
                                     rng.integers(0, 3, n)))
    else:
        buf = bytearray(trigger_packet(t, rng.integers(-128, 128, n)))
    for _ in range(int(rng.integers(0, 3))):
        at = _choice(rng, list(_A4_FB_FIELDS)) if rng.random() < 0.8 else \
            int(rng.integers(0, max(1, len(buf) - 4)))
        if at + 4 <= len(buf):
            buf[at:at + 4] = struct.pack("<I", _extreme(rng))
    if rng.random() < 0.15:
        buf = buf[:int(rng.integers(0, len(buf) + 1))]
    return bytes(buf)


def gen_extreme_aedat4(rng) -> bytes:
    """An AEDAT 4 file of hostile packets: extreme stream ids and sizes, flatbuffers with extreme
    offsets / counts, LZ4 or Zstd frames whose headers claim absurd sizes."""
    import lz4.frame
    import zstandard

    from evframes.formats.aedat4_write import description, ioheader
    comp = _choice(rng, ["none", "none", "lz4", "lz4", "zstd"])
    code = {"none": 0, "lz4": 1, "zstd": 3}[comp]
    table = -1 if rng.random() < 0.8 else _choice(rng, [0, 20, 2**31, 2**62, -2])
    head, _ = ioheader(code, description(64, 48, comp, True), table)
    out = bytearray(b"#!AER-DAT4.0\r\n" + head)
    for _ in range(int(rng.integers(1, 6))):
        sid = _choice(rng, [0, 0, 0, 1, 1, 2, -1, 2**31 - 1])
        body = _a4_flatbuffer(rng)
        if comp == "lz4":
            payload = bytearray(lz4.frame.compress(body, store_size=bool(rng.random() < 0.7)))
            r = rng.random()
            if r < 0.25 and payload[4] & 0x08:
                payload[6:14] = struct.pack("<Q", _choice(rng, [2**31, 2**40, 2**64 - 1,
                                                                 len(body) + 1]))
            elif r < 0.45:
                payload[5] = _choice(rng, [0x00, 0x30, 0x70, 0xF0, 0x7F])
            elif r < 0.65 and len(payload) > 19:
                at = 15 if payload[4] & 0x08 else 7
                payload[at:at + 4] = struct.pack("<I", _extreme(rng))
        elif comp == "zstd":
            payload = bytearray(zstandard.ZstdCompressor(
                write_content_size=bool(rng.random() < 0.7)).compress(body))
            r = rng.random()
            if r < 0.3:
                payload[4] = int(rng.integers(0, 256))
            elif r < 0.6 and len(payload) > 9:
                at = int(rng.integers(5, min(len(payload), 14)))
                payload[at] = int(rng.integers(0, 256))
        else:
            payload = bytearray(body)
        size = len(payload) if rng.random() < 0.75 else _extreme(rng)
        out += struct.pack("<iI", sid, size & 0xFFFFFFFF) + payload
    if rng.random() < 0.2:
        out += _rand_bytes(rng, rng.integers(1, 40))
    return bytes(out)


# ------------------------------------------------------------------------------------------------
# Input generation: a pure function of (seed, index, corpus)
# ------------------------------------------------------------------------------------------------

@dataclass
class Case:
    index: int
    target: str
    kind: str
    data: bytes
    ext: str
    kwargs: dict
    container: str
    threads: bool
    cross: bool
    source: str = ""

    def meta(self) -> dict:
        return {"index": self.index, "target": self.target, "kind": self.kind, "ext": self.ext,
                "kwargs": self.kwargs, "container": self.container, "threads": self.threads,
                "cross": self.cross, "source": self.source, "size": len(self.data),
                "crc32": zlib.crc32(self.data)}


def combos():
    return [(t, k) for k in KINDS for t in TARGETS]


def _choice(rng, seq, p=None):
    return seq[int(rng.choice(len(seq), p=p))]


def _pick_source(rng, corpus, fmt=None, prefer=0.75):
    pool = corpus
    if fmt in ("aedat3", "aedat2", "atis", "aedat4") + fzp.FORMATS and rng.random() < prefer:
        pool = [s for s in corpus if s.fmt == fmt] or corpus
    w = np.array([s.weight for s in pool], float)
    return pool[int(rng.choice(len(pool), p=w / w.sum()))]


def _home_format(rng, target):
    fmt = TARGET_FORMAT[target]
    if fmt == "events":
        fmt = _choice(rng, ["aedat3", "aedat2", "atis", "aedat4", *fzp.FORMATS])
    return fmt


def _pick_pos(rng, src: Source, n: int) -> int:
    """A byte position, biased to headers, packet/record boundaries and the end."""
    if n <= 0:
        return 0
    r = rng.random()
    if r < 0.3:
        return int(rng.integers(0, n))
    if r < 0.5:
        return int(rng.integers(0, min(n, src.header_end + 28 + 1)))
    if r < 0.8:
        if src.boundaries:
            b = src.boundaries[int(rng.integers(0, len(src.boundaries)))]
            return int(min(n - 1, b + rng.integers(0, 28)))
        if src.rec:
            k = int(rng.integers(0, max(1, (n - src.header_end) // src.rec + 1)))
            return int(min(n - 1, max(0, src.header_end + k * src.rec + rng.integers(-2, 3))))
        return int(rng.integers(0, n))
    return int(max(0, n - rng.integers(1, 65)))


def _rand_bytes(rng, n) -> bytes:
    return rng.integers(0, 256, int(n), dtype=np.uint8).tobytes()


_EXTREME_U32 = [0, 1, 2, 7, 8, 9, 0xFF, 0xFFFF, 0x10000, 2**24, 2**25, 2**28 // 8,
                2**28 // 8 + 1, 2**28, 10**9, 2**31 - 1, 2**31, 2**31 + 1, 2**32 - 2, 2**32 - 1]


def _extreme(rng, small_max=60) -> int:
    r = rng.random()
    if r < 0.4:
        return int(rng.integers(0, small_max + 1))
    if r < 0.85:
        return _EXTREME_U32[int(rng.integers(0, len(_EXTREME_U32)))]
    return int(rng.integers(0, 2**32))


def gen_extreme_packets(rng) -> bytes:
    out = bytearray(_choice(rng, A3_HEADERS))
    for _ in range(int(rng.integers(1, 7))):
        etype = _choice(rng, [1, 1, 1, 1, 0, 2, 3, 7, 0x7FFF, 0x8000, 0x8001, 0xFFFF])
        esize = _choice(rng, [8, 8, 8, 0, 1, 2, 4, 7, 9, 16, 2**16, 2**31 - 1, 2**31, 2**32 - 1])
        cap = _extreme(rng)
        r = rng.random()
        num = cap if r < 0.4 else (cap + 1) & 0xFFFFFFFF if r < 0.55 else _extreme(rng)
        valid = num if rng.random() < 0.6 else _extreme(rng)
        ovf = _choice(rng, [0, 0, 1, 2**31 - 1, 2**31, 2**32 - 1, int(rng.integers(0, 2**32))])
        tsoff = _choice(rng, [4, 4, 0, 2**32 - 1, int(rng.integers(0, 2**32))])
        source = _choice(rng, [1, 0, 0xFFFF, 0x8000])
        claim = cap * esize
        if claim <= 8192:
            if etype == 1 and esize == 8 and rng.random() < 0.7:
                payload = a3_polarity_payload(rng, cap, float(rng.random()), x_max=8192)
            else:
                payload = _rand_bytes(rng, claim)
            if rng.random() < 0.25:
                payload = payload[:max(0, len(payload) - int(rng.integers(1, 12)))]
        else:
            payload = _rand_bytes(rng, rng.integers(0, 300))
        out += a3_packet(etype, esize, cap, payload, ovf=ovf, number=num, valid=valid,
                         source=source, tsoff=tsoff)
    if rng.random() < 0.3:
        out += a3_packet(1, 8, 5, a3_polarity_payload(rng, 5))
    if rng.random() < 0.2:
        out += _rand_bytes(rng, rng.integers(1, 40))
    return bytes(out)


def _hash_lines(rng, total: int, mode: str) -> bytes:
    """About ``total`` bytes of '#' lines."""
    if mode == "single":                       # one ~1 MB line
        body = np.frombuffer(_rand_bytes(rng, total), np.uint8).copy()
        body[body == 10] = 32
        return b"#" + body.tobytes() + b"\r\n"
    if mode == "tiny":                         # ~500k lines of "#\n"
        return (b"#\n" if rng.random() < 0.5 else b"#\r\n") * (total // 2)
    # lines of 1..200 bytes, ~80 % CRLF, bodies of 'x' or of random bytes (no newline)
    lens = rng.integers(1, 201, total // 50 + 16)
    crlf = rng.random(lens.shape[0]) < 0.8
    full = lens + 1 + crlf
    cum = np.cumsum(full)
    k = max(1, int(np.searchsorted(cum, total, side="right")))
    lens, crlf, full, cum = lens[:k], crlf[:k], full[:k], cum[:k]
    if rng.random() < 0.5:
        buf = np.full(int(cum[-1]), ord("x"), np.uint8)
    else:
        buf = rng.integers(0, 256, int(cum[-1]), dtype=np.uint8)
        buf[buf == 10] = 32
    buf[cum - full] = ord("#")
    buf[cum - 1] = 10
    buf[(cum - 2)[crlf]] = 13
    return buf.tobytes()


def gen_huge_header(rng, fmt) -> bytes:
    total = int(rng.integers(MB - 4096, MB + 4096))
    lines = _hash_lines(rng, total, _choice(rng, ["mixed", "mixed", "single", "tiny"]))
    magic = {"aedat3": b"#!AER-DAT3.1\r\n", "aedat2": b"#!AER-DAT2.0\r\n"}.get(
        fmt, _choice(rng, [b"#!AER-DAT3.1\r\n", b"#!AER-DAT2.0\r\n", b""]))
    r = rng.random()
    if r < 0.35:
        tail = b""                                               # header never ends
    elif r < 0.5:
        tail = b"# last line without newline"
    elif r < 0.65:
        tail = b"#!END-HEADE"                                    # cut end marker
    elif r < 0.85:
        tail = b"#!END-HEADER\r\n" + a3_packet(1, 8, 3, a3_polarity_payload(rng, 3))
    else:
        n = int(rng.integers(0, 50))
        tail = np.array(rng.integers(0, 2**15, 2 * n), ">u4").tobytes()   # AEDAT 2.0 records
    return magic + lines + tail


def gen_header_only(rng, fmt, corpus=()) -> bytes:
    if fmt == "aedat4":
        src = _pick_source(rng, list(corpus), "aedat4", prefer=1.0)
        h = src.data[:src.header_end]
        return h if rng.random() < 0.5 else h[:int(rng.integers(1, len(h)))]
    if fmt == "atis":
        fmt = _choice(rng, ["aedat3", "aedat2", "none"])
    if fmt == "none":
        return b""
    if fmt == "aedat3":
        h = _choice(rng, A3_HEADERS)
        r = rng.random()
        if r < 0.5:
            return h
        if r < 0.7:
            return h.rstrip(b"\r\n")                            # END line without newline
        return h[:int(rng.integers(1, len(h)))]                 # cut inside the header
    h = _choice(rng, A2_HEADERS)
    r = rng.random()
    if r < 0.6:
        return h
    if r < 0.8:
        return h.rstrip(b"\r\n")
    return h[:int(rng.integers(1, len(h)))]


def gen_garbage_body(rng, corpus, fmt) -> bytes:
    if fmt == "aedat3":
        head = _choice(rng, A3_HEADERS)
    elif fmt == "aedat2":
        head = _choice(rng, A2_HEADERS)
    elif fmt == "aedat4":
        src = _pick_source(rng, corpus, "aedat4", prefer=1.0)
        head = src.data[:src.header_end]
    else:   # ATIS has no header: a valid prefix of records
        src = _pick_source(rng, corpus, "atis", prefer=1.0)
        head = src.data[:5 * int(rng.integers(0, 200))]
    r = rng.random()
    n = int(rng.integers(0, 4096)) if rng.random() < 0.8 else int(rng.integers(0, 65536))
    if r < 0.6:
        body = _rand_bytes(rng, n)
    elif r < 0.8:
        body = bytes([_choice(rng, [0, 0xFF, 0x23, 0x0A, 0x0D, 0x80, 0x01])]) * n
    else:
        rec = _choice(rng, [5, 8])
        body = _rand_bytes(rng, rec * (n // rec))
    return head + body


def mutate(rng, kind, src: Source, corpus) -> bytes:
    data = bytearray(src.data)
    n = len(data)
    if kind == "truncate":
        return bytes(data[:_pick_pos(rng, src, n + 1)])
    if kind == "bitflip":
        for _ in range(int(rng.integers(1, 65)) if rng.random() < 0.5 else int(rng.integers(1, 5))):
            pos = _pick_pos(rng, src, n)
            if n:
                data[pos] ^= 1 << int(rng.integers(0, 8))
        return bytes(data)
    if kind == "overwrite":
        for _ in range(int(rng.integers(1, 9))):
            pos = _pick_pos(rng, src, n)
            ln = int(rng.integers(1, 17))
            r = rng.random()
            if r < 0.5:
                val = _rand_bytes(rng, ln)
            else:
                val = bytes([_choice(rng, [0, 0xFF, 0x23, 0x0A, 0x0D, 0x80, 0x7F])]) * ln
            data[pos:pos + ln] = val[:max(0, n - pos)]
        return bytes(data)
    if kind == "splice":
        r = rng.random()
        if r < 0.3:           # insert
            pos = _pick_pos(rng, src, n + 1)
            data[pos:pos] = _rand_bytes(rng, rng.integers(1, 9))
        elif r < 0.6:         # delete
            pos = _pick_pos(rng, src, n)
            del data[pos:pos + int(rng.integers(1, 9))]
        elif r < 0.8:         # duplicate a range
            a = _pick_pos(rng, src, n)
            b = min(n, a + int(rng.integers(1, 600)))
            pos = _pick_pos(rng, src, n + 1)
            data[pos:pos] = data[a:b]
        else:                 # concatenate with (a prefix of) another file
            other = _pick_source(rng, corpus)
            data += other.data[:int(rng.integers(0, min(len(other.data), 20000) + 1))]
        return bytes(data)
    raise ValueError(kind)


def gen_case(seed: int, index: int, corpus: List[Source]) -> Case:
    """Input number ``index`` of the campaign with ``seed`` (deterministic)."""
    rng = np.random.default_rng([seed, index])
    cmb = combos()
    target, kind = cmb[index % len(cmb)]
    fmt = _home_format(rng, target)
    src_label = ""
    ext_fmt = fmt
    if kind == "random_bytes":
        n = int(rng.integers(0, 9)) if rng.random() < 0.15 else (
            int(rng.integers(0, 4096)) if rng.random() < 0.85 else int(rng.integers(0, 65536)))
        data = _rand_bytes(rng, n)
        if rng.random() < 0.2:
            magic = [b"#!AER-DAT3.1\r\n", b"#!AER-DAT2.0\r\n", b"#!AER-DAT", b"#",
                     b"#!AER-DAT4.0\r\n"]
            data = _choice(rng, magic) + data
    elif kind in ("truncate", "bitflip", "overwrite", "splice", "valid"):
        src = _pick_source(rng, corpus, fmt)
        src_label = src.label
        ext_fmt = src.fmt
        data = src.data if kind == "valid" else mutate(rng, kind, src, corpus)
    elif kind in ("garbage_body", "extreme_packet", "huge_header", "header_only") and \
            fmt in fzp.FORMATS:
        data = {"garbage_body": fzp.garbage_body, "extreme_packet": fzp.extreme,
                "huge_header": fzp.huge_header, "header_only": fzp.header_only}[kind](rng, fmt)
    elif kind == "garbage_body":
        data = gen_garbage_body(rng, corpus, fmt)
    elif kind == "extreme_packet" and fmt == "aedat4":
        data = gen_extreme_aedat4(rng)
        ext_fmt = "aedat4"
    elif kind == "extreme_packet":
        data = gen_extreme_packets(rng)
        ext_fmt = "aedat3"
    elif kind == "huge_header":
        data = gen_huge_header(rng, fmt)
    elif kind == "empty":
        data = b""
    elif kind == "header_only":
        data = gen_header_only(rng, fmt, corpus)
    else:
        raise ValueError(kind)
    if TARGET_FORMAT[target] == "events" and rng.random() < 0.25:
        ext = _choice(rng, OTHER_EXT)
    else:
        ext = _choice(rng, NATURAL_EXT.get(ext_fmt, [".aedat"]))
    kwfmt = TARGET_FORMAT[target]
    kwargs = {}
    if rng.random() < 0.6:
        for key, values in KWARGS[kwfmt].items():
            kwargs[key] = values[int(rng.integers(0, len(values)))]
    container = _choice(rng, list(CONTAINERS), p=[0.4, 0.15, 0.15, 0.15, 0.15])
    return Case(index, target, kind, bytes(data), ext, kwargs, container,
                threads=bool(rng.random() < 0.3), cross=bool(rng.random() < 0.15),
                source=src_label)


# ------------------------------------------------------------------------------------------------
# Running one input and checking the invariants
# ------------------------------------------------------------------------------------------------

def _container(data: bytes, kind: str):
    if kind == "bytes":
        return data
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(data)
    if kind == "ndarray":
        return np.frombuffer(data, np.uint8).copy()
    if kind == "ndarray_unaligned":         # a view starting at an odd address
        a = np.empty(len(data) + 1, np.uint8)
        a[1:] = np.frombuffer(data, np.uint8)
        return a[1:]
    raise ValueError(kind)


class _Threads:
    """Force the chunked multi-thread decode path (as the tests' small_chunks fixture)."""

    def __init__(self, on: bool):
        self.on = on

    def __enter__(self):
        from evframes.formats import _common, aedat3, aedat4
        self._common, self._aedat3, self._aedat4 = _common, aedat3, aedat4
        self._a4 = aedat4.PARALLEL_MIN_BYTES
        self.old = (_common.parallel_threshold, os.environ.get("EVFRAMES_NUM_THREADS"),
                    getattr(aedat3, "PREFAULT_MIN_BYTES", None))
        if self.on:
            _common.parallel_threshold = 16
            aedat4.PARALLEL_MIN_BYTES = 0
            os.environ["EVFRAMES_NUM_THREADS"] = "3"
            if self.old[2] is not None:      # page-in helper thread on small buffers too
                aedat3.PREFAULT_MIN_BYTES = 0
        else:
            os.environ["EVFRAMES_NUM_THREADS"] = "1"

    def __exit__(self, *exc):
        self._common.parallel_threshold = self.old[0]
        self._aedat4.PARALLEL_MIN_BYTES = self._a4
        if self.old[2] is not None:
            self._aedat3.PREFAULT_MIN_BYTES = self.old[2]
        if self.old[1] is None:
            os.environ.pop("EVFRAMES_NUM_THREADS", None)
        else:
            os.environ["EVFRAMES_NUM_THREADS"] = self.old[1]


def _reader(target):
    from evframes import formats
    return getattr(formats, target)


#: harness self-test: {input index: fault} set by the hidden --inject option (child only)
INJECT: Dict[int, str] = {}


def _injected(fault: str, size: int):
    """Stand-in for a reader that misbehaves in one of the ways the campaign must catch."""
    def fn(*args, **kwargs):
        if fault == "segv":
            import ctypes
            ctypes.string_at(0)
        elif fault == "hang":
            time.sleep(3600)
        elif fault == "alloc":
            blob = np.ones(mem_bound(size) + 16 * MB, np.uint8)
            del blob
        elif fault == "raise":
            raise IndexError("injected fault")
        from evframes.events import empty_events
        return empty_events()
    return fn


def _maxrss_bytes() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r) * (1 if sys.platform == "darwin" else 1024)


def _rss_now() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def check_events(ev, data_len, fmt) -> Optional[str]:
    """None if ``ev`` satisfies the Events invariants, else what is wrong."""
    from evframes.events import Events
    if not isinstance(ev, Events):
        return f"returned {type(ev).__name__}, not Events"
    if set(ev.keys()) != {"t", "x", "y", "p"}:
        return f"keys {sorted(ev.keys())}"
    arrs = {k: ev[k] for k in "txyp"}
    for k, a in arrs.items():
        if not isinstance(a, np.ndarray) or a.ndim != 1:
            return f"{k} is not a 1-D array"
    n = arrs["t"].shape[0]
    if any(a.shape[0] != n for a in arrs.values()):
        return "arrays differ in length: " + str({k: a.shape[0] for k, a in arrs.items()})
    want = {"t": np.int64, "x": np.int16, "y": np.int16, "p": np.int8}
    for k, d in want.items():
        if arrs[k].dtype != d:
            return f"{k} has dtype {arrs[k].dtype}, expected {np.dtype(d)}"
    per = 8 if fmt in ("aedat3", "aedat2") else 5
    if fmt == "aedat4":      # compressed: at most 255 x the file (LZ4), bounded by memory checks
        per = 0
    if fmt in fzp.FORMATS:
        per = 0
        if n > data_len * fzp.EVENTS_PER_BYTE[fmt]:
            return f"{n} events from {data_len} bytes (> {fzp.EVENTS_PER_BYTE[fmt]} per byte)"
    if per and n > data_len // per:
        return f"{n} events from {data_len} bytes (> 1 per {per} bytes)"
    if n:
        # touching every array also proves none of them views a closed memory map
        lim = {"aedat3": 8191, "aedat2": 127, "atis": 255, "aedat4": 32766,
               **fzp.COORD_MAX}.get(fmt, 8191)
        if int(arrs["t"].min()) < 0 and fmt != "aedat4":     # AEDAT 4 stores signed t
            return f"negative timestamp {int(arrs['t'].min())}"
        for k in "xy":
            lo, hi = int(arrs[k].min()), int(arrs[k].max())
            if lo < 0 or hi > lim:
                return f"{k} outside 0..{lim}: {lo}..{hi}"
        plo, phi = int(arrs["p"].min()), int(arrs["p"].max())
        if plo < 0 or phi > 1:
            return f"p outside 0..1: {plo}..{phi}"
    return None


def check_not_garbage(case: Case, ev, fmt: str) -> Optional[str]:
    """None unless decoded events are garbage: an unmodified foreign-format file that decoded,
    or ATIS events (default overflow / unwrap options) whose time goes backwards."""
    if case.kind == "valid" and case.source in FOREIGN_SOURCES:
        return f"{case.source} (a format evframes does not read) decoded to {len(ev)} events"
    if fmt == "atis" and case.kwargs.get("overflow_events", True) and \
            case.kwargs.get("unwrap", True) and case.kwargs.get("validate", True):
        t = np.asarray(ev["t"])
        bad = np.flatnonzero(np.diff(t) < 0)
        if bad.size:
            i = int(bad[0]) + 1
            return f"ATIS events go backwards at event {i}: {int(t[i - 1])} -> {int(t[i])} us"
    return None


def _signature(res) -> tuple:
    """Comparable summary of a result: decoded arrays' hash, or the error's offset and reason."""
    if res["outcome"] == "events":
        return ("events", res["n"], res["digest"], res["n_trunc_warn"])
    if res["outcome"] == "format_error":
        return ("format_error", res["offset"], res["reason"])
    return (res["outcome"], res.get("error"))


def _digest(ev) -> str:
    h = hashlib.blake2b(digest_size=12)
    for k in "txyp":
        h.update(np.ascontiguousarray(ev[k]).tobytes())
    return h.hexdigest()


def detect_fmt(data: bytes, ext: str) -> str:
    if data.startswith(b"#!AER-DAT4."):
        return "aedat4"
    if data.startswith(b"#!AER-DAT3."):
        return "aedat3"
    if data.startswith(b"#!AER-DAT2."):
        return "aedat2"
    if data.startswith(b"#!AER-DAT"):
        return "unknown"
    if data.startswith(b"%"):
        from evframes.formats._prophesee_header import sniff_kind
        kind = sniff_kind(data[:4096])
        return {"dat": "prophesee_dat", "": "unknown"}.get(kind, kind)
    if ext.lower() in (".bin", ".bs2"):
        return "atis"
    return "unknown"


def run_once(case: Case, target: str, threads: bool, workdir: Path, measure: bool = True,
             digest: bool = False, keep: bool = False) -> dict:
    """Run ``case.data`` through ``target``; return the outcome and any violation."""
    from evframes.errors import FormatError
    from evframes.formats import TruncatedFileWarning
    fmt = TARGET_FORMAT[target]
    if fmt == "events":
        fmt = detect_fmt(case.data, case.ext)
    size = len(case.data)
    fn = _injected(INJECT[case.index], size) if (measure and case.index in INJECT) else \
        _reader(target)
    if target.startswith("read_"):
        path = workdir / ("case" + case.ext)
        with open(path, "wb") as fh:
            fh.write(case.data)
        name = str(path)
        arg = path
    else:
        name = f"fuzz-{case.index}{case.ext}"
        arg = _container(case.data, case.container)
    res = {"outcome": None, "violation": None, "n_trunc_warn": 0, "n": 0, "fmt": fmt}
    if measure:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    rss0 = _maxrss_bytes()
    t0 = time.perf_counter()
    ev = None
    with warnings.catch_warnings(record=True) as caught, _Threads(threads):
        warnings.simplefilter("always")
        try:
            if target.startswith("read_"):
                ev = fn(arg, **case.kwargs)
            else:
                ev = fn(arg, name=name, **case.kwargs)
            if isinstance(ev, tuple):       # with_triggers=True: (events, triggers)
                ev, trig = ev
                if not (isinstance(trig, np.ndarray) and trig.ndim == 1
                        and trig.dtype.names in (("t", "kind"), ("t", "id", "value"))):
                    res["violation"] = (f"triggers are not a (t, kind) / (t, id, value) array: "
                                        f"{trig!r:.200}")
            res["outcome"] = "events"
        except FormatError as e:
            res["outcome"] = "format_error"
            msg = str(e)
            res["offset"] = e.offset
            res["reason"] = e.reason
            res["message"] = msg[:300]
            if name not in msg:
                res["violation"] = f"FormatError message does not name the file: {msg[:300]}"
            elif "byte" not in msg:
                res["violation"] = f"FormatError message has no 'byte': {msg[:300]}"
            elif not isinstance(e.offset, int) or not 0 <= e.offset <= size:
                res["violation"] = (f"FormatError offset {e.offset!r} outside the file "
                                    f"(size {size}): {msg[:300]}")
            del e
        except BaseException as e:  # noqa: BLE001 - every other exception is a finding
            if isinstance(e, KeyboardInterrupt):
                raise
            res["outcome"] = "exception"
            res["error"] = f"{type(e).__module__}.{type(e).__name__}: {str(e)[:300]}"
            res["violation"] = "unexpected exception " + res["error"]
            res["traceback"] = traceback.format_exc()[-3000:]
            del e
    elapsed = time.perf_counter() - t0
    if measure:
        res["alloc"] = tracemalloc.get_traced_memory()[1] - base
    else:
        res["alloc"] = 0
    res["rss_growth"] = _maxrss_bytes() - rss0
    res["time"] = elapsed
    for w in caught:
        if issubclass(w.category, TruncatedFileWarning):
            res["n_trunc_warn"] += 1
            msg = str(w.message)
            if (name not in msg or "byte" not in msg) and res["violation"] is None:
                res["violation"] = f"TruncatedFileWarning without file name/byte: {msg[:300]}"
        elif res["violation"] is None:
            res["violation"] = f"unexpected warning {w.category.__name__}: {str(w.message)[:300]}"
    if ev is not None:
        try:
            bad = check_events(ev, size, fmt)
        except Exception as e:  # noqa: BLE001
            bad = f"checking the result raised {type(e).__name__}: {e}"
        if bad is not None and res["violation"] is None:
            res["violation"] = "bad Events: " + bad
        if bad is None:
            res["n"] = len(ev)
            res["digest"] = _digest(ev) if digest else None
            if keep:
                res["_ev"] = ev
    if res["violation"] is None and case.kind == "valid" and res["outcome"] != "events":
        src_fmt = detect_fmt(case.data, case.ext)
        if src_fmt == fmt and fmt != "unknown" and case.source not in FOREIGN_SOURCES:
            res["violation"] = f"unmodified {fmt} file did not decode: {res.get('message')}"
    if res["violation"] is None and ev is not None:
        res["violation"] = check_not_garbage(case, ev, fmt)
    bound = mem_bound(size)
    if res["violation"] is None and res["alloc"] > bound:
        res["violation"] = (f"traced allocations peaked at {res['alloc'] / MB:.1f} MB for a "
                            f"{size} B input (bound {bound / MB:.1f} MB)")
    if res["violation"] is None and res["rss_growth"] > bound:
        res["violation"] = (f"peak RSS grew by {res['rss_growth'] / MB:.1f} MB for a {size} B "
                            f"input (bound {bound / MB:.1f} MB)")
    return res


_FULL_CACHE: Dict[tuple, dict] = {}


def _full_decode(case: Case, src: Source, fmt: str, workdir: Path) -> dict:
    """The uncut source decoded with the case's reader options (cached)."""
    key = (src.label, fmt, case.ext, tuple(sorted(case.kwargs.items())))
    if key not in _FULL_CACHE:
        if len(_FULL_CACHE) > 48:
            _FULL_CACHE.clear()
        full = Case(-1, f"decode_{'atis' if fmt == 'atis' else fmt}_bytes", "valid", src.data,
                    case.ext, case.kwargs, "bytes", False, False)
        _FULL_CACHE[key] = run_once(full, full.target, False, workdir, measure=False, keep=True)
    return _FULL_CACHE[key]


def check_truncation(case: Case, res: dict, src: Source, workdir: Path) -> Optional[str]:
    """Metamorphic checks for a valid file cut at ``len(case.data)``.

    * a cut at a record / packet boundary after the header is itself a valid file: it must
      decode, without TruncatedFileWarning;
    * whatever decodes must be a prefix of the uncut file's events (same options).
    """
    fmt = res["fmt"]
    if fmt != src.fmt or fmt not in ("aedat3", "aedat2", "atis", "aedat4") + fzp.FORMATS:
        return None
    cut = len(case.data)
    if fmt == "atis":
        clean = cut % 5 == 0
    elif fmt in fzp.FORMATS:
        clean = cut >= src.header_end and (cut - src.header_end) % src.rec == 0
    elif fmt == "aedat2":
        clean = cut >= src.header_end and (cut - src.header_end) % 8 == 0
    else:
        clean = cut >= src.header_end and (cut == src.header_end or cut in src.boundaries)
        clean = clean and src.clean_cuts
    if clean and (res["outcome"] != "events" or res["n_trunc_warn"]):
        return (f"a valid {fmt} file cut at a record/packet boundary (byte {cut}) gave "
                f"{res['outcome']} {res.get('message', '')} with {res['n_trunc_warn']} "
                "truncation warnings")
    if res["outcome"] != "events":
        return None
    full = _full_decode(case, src, fmt, workdir)
    if full["outcome"] != "events":
        why = full.get("message") or full.get("error")
        return f"uncut source {src.label} did not decode: {why}"
    ev, ref = res["_ev"], full["_ev"]
    n = len(ev)
    if n > len(ref):
        return f"cut file gave {n} events, more than the uncut file's {len(ref)}"
    for k in "txyp":
        if not np.array_equal(ev[k], ref[k][:n]):
            i = int(np.flatnonzero(ev[k] != ref[k][:n])[0])
            return (f"cut file's events are not a prefix of the uncut file's: {k}[{i}] = "
                    f"{int(ev[k][i])} vs {int(ref[k][i])}")
    return None


def run_case(case: Case, workdir: Path, time_limit: float,
             sources: Optional[Dict[str, Source]] = None) -> dict:
    src = (sources or {}).get(case.source) if case.kind == "truncate" else None
    res = run_once(case, case.target, case.threads, workdir, digest=case.cross,
                   keep=src is not None)
    if res["violation"] is None and res["time"] > time_limit:
        res["violation"] = f"took {res['time']:.2f} s (limit {time_limit} s)"
    if src is not None and res["violation"] is None:
        bad = check_truncation(case, res, src, workdir)
        if bad is not None:
            res["violation"] = bad
        res["prefix_checked"] = True
    res.pop("_ev", None)
    if case.cross and res["violation"] is None:
        # twin run: the other entry point (file <-> buffer) on the other thread path
        twin = run_once(case, TWIN[case.target], not case.threads, workdir, measure=False,
                        digest=True)
        if twin["violation"] is not None:
            res["violation"] = f"twin {TWIN[case.target]}: {twin['violation']}"
            res["traceback"] = twin.get("traceback")
        elif _signature(res) != _signature(twin):
            res["violation"] = (f"{case.target} (threads={case.threads}) and "
                                f"{TWIN[case.target]} (threads={not case.threads}) disagree: "
                                f"{_signature(res)} vs {_signature(twin)}")
        res["cross_checked"] = True
    return res


def save_case(case: Case, fail_dir: Path, seed: int, extra: dict) -> Path:
    fail_dir.mkdir(parents=True, exist_ok=True)
    stem = f"fail-s{seed}-i{case.index}-{case.target}-{case.kind}"
    (fail_dir / (stem + ".bin")).write_bytes(case.data)
    meta = dict(case.meta(), seed=seed, data_file=stem + ".bin", **extra)
    meta_path = fail_dir / (stem + ".json")
    meta_path.write_text(json.dumps(meta, indent=1, default=str))
    return meta_path


# ------------------------------------------------------------------------------------------------
# Child process: the campaign loop
# ------------------------------------------------------------------------------------------------

def _emit(line: str) -> None:
    os.write(1, PROTO + line.encode() + b"\n")


class Watchdog(threading.Thread):
    """Ends the process (exit code HANG_EXIT) when one input runs longer than ``limit`` s."""

    def __init__(self, limit: float):
        super().__init__(daemon=True, name="fuzz-watchdog")
        self.limit = limit
        self.index = -1
        self.started: Optional[float] = None

    def begin(self, index: int) -> None:
        self.index = index
        self.started = time.monotonic()

    def end(self) -> None:
        self.started = None

    def run(self) -> None:
        while True:
            time.sleep(0.1)
            st = self.started
            if st is not None and time.monotonic() - st > self.limit:
                _emit(f"H {self.index} {time.monotonic() - st:.2f}")
                faulthandler.dump_traceback(all_threads=True)
                os._exit(HANG_EXIT)


def new_summary() -> dict:
    return {"inputs": 0, "seconds": 0.0, "cross_checks": 0, "prefix_checks": 0,
            "events_decoded": 0,
            "by_target": defaultdict(int), "by_kind": defaultdict(int),
            "by_target_kind": defaultdict(lambda: defaultdict(int)),
            "outcomes": defaultdict(int),
            "outcomes_by_target": defaultdict(lambda: defaultdict(int)),
            "outcomes_by_kind": defaultdict(lambda: defaultdict(int)),
            "max_time_s": 0.0, "max_time_input": None, "total_time_s": 0.0,
            "max_alloc_bytes": 0, "max_alloc_input": None,
            "max_rss_growth_bytes": 0, "peak_rss_bytes": 0, "rss_start_bytes": 0,
            "rss_end_bytes": 0, "violations": [], "violation_count": 0, "crashes": 0,
            "hangs": 0, "children": 0, "warmup_s": 0.0}


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def warm_up(corpus: List[Source], workdir: Path) -> None:
    """Compile/load every kernel specialisation once so per-input times are decode times."""
    for src in corpus:
        if src.fmt == "foreign" or len(src.data) > 2 * MB:
            continue
        targets = [t for t in TARGETS if TARGET_FORMAT[t] in (src.fmt, "events")]
        for target in targets:
            for container in CONTAINERS:
                for threads in (False, True):
                    for kw in ({}, {k: v[-1] for k, v in
                                    KWARGS[TARGET_FORMAT[target]].items()}):
                        case = Case(-1, target, "valid", src.data, src.ext, kw, container,
                                    threads, False)
                        run_once(case, target, threads, workdir, measure=False)
                    if target.startswith("read_"):
                        break
                if target.startswith("read_"):
                    break
        # an odd-aligned AEDAT 3.1 packet stream (byte-wise kernel) and a cut last packet
        if src.fmt == "aedat3":
            for data in (src.data + b"\x01", src.data[:-5]):
                for threads in (False, True):
                    for target in ("decode_aedat3_bytes", "read_aedat3"):
                        run_once(Case(-1, target, "valid", data, ".aedat", {}, "bytes",
                                      threads, False), target, threads, workdir, measure=False)


def child_main(args) -> int:
    faulthandler.enable()
    from evframes import formats  # noqa: F401  (import before timing)
    corpus = build_corpus()
    sources = {s.label: s for s in corpus}
    summary = new_summary()
    fail_dir = Path(args.fail_dir)
    workdir = Path(args.workdir) if args.workdir else _new_workdir()
    out_path = Path(args.child_out)
    try:
        t_w = time.perf_counter()
        _emit("W warm-up")
        warm_up(corpus, workdir)
        summary["warmup_s"] = time.perf_counter() - t_w
        # a runaway allocation becomes a MemoryError (reported) instead of swapping the machine
        try:
            with open("/proc/self/statm") as fh:
                vm = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            lim = vm + args.address_space_gb * (1 << 30)
            resource.setrlimit(resource.RLIMIT_AS, (lim, resource.getrlimit(resource.RLIMIT_AS)[1]))
        except (OSError, ValueError):
            pass
        tracemalloc.start()
        summary["rss_start_bytes"] = _rss_now()
        watchdog = Watchdog(args.time_limit)
        watchdog.start()
        _emit("L loop")
        t_start = time.perf_counter()
        last_dump = t_start
        i = args.start_index
        while time.perf_counter() - t_start < args.seconds and (
                args.max_inputs <= 0 or i - args.start_index < args.max_inputs):
            case = gen_case(args.seed, i, corpus)
            _emit(f"S {i} {zlib.crc32(case.data)}")
            watchdog.begin(i)
            res = run_case(case, workdir, args.time_limit, sources)
            watchdog.end()
            record(summary, case, res)
            if res["violation"] is not None:
                extra = {"violation": res["violation"], "traceback": res.get("traceback"),
                         "outcome": res["outcome"]}
                meta = None
                if summary["violation_count"] <= args.max_saved:
                    meta = save_case(case, fail_dir, args.seed, extra)
                v = {"index": i, "target": case.target, "kind": case.kind,
                     "violation": res["violation"], "saved": str(meta) if meta else None}
                _emit("V " + json.dumps(v))
            i += 1
            now = time.perf_counter()
            if now - last_dump > 2.0:
                summary["seconds"] = now - t_start
                _dump(summary, out_path)
                last_dump = now
        summary["seconds"] = time.perf_counter() - t_start
        summary["rss_end_bytes"] = _rss_now()
        summary["peak_rss_bytes"] = _maxrss_bytes()
        summary["next_index"] = i
        summary["complete"] = True
        _dump(summary, out_path)
        _emit(f"E {i}")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _new_workdir() -> Path:
    """Scratch directory for the files the read_* targets open (tmpfs when available)."""
    return Path(tempfile.mkdtemp(prefix="evframes-fuzz-",
                                 dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None))


def _dump(summary, path: Path) -> None:
    summary["peak_rss_bytes"] = _maxrss_bytes()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_plain(summary)))
    os.replace(tmp, path)


def record(summary, case: Case, res: dict) -> None:
    summary["inputs"] += 1
    summary["by_target"][case.target] += 1
    summary["by_kind"][case.kind] += 1
    summary["by_target_kind"][case.target][case.kind] += 1
    out = res["outcome"]
    summary["outcomes"][out] += 1
    summary["outcomes_by_target"][case.target][out] += 1
    summary["outcomes_by_kind"][case.kind][out] += 1
    if res["n_trunc_warn"]:
        summary["outcomes"]["truncated_warning"] += 1
        summary["outcomes_by_target"][case.target]["truncated_warning"] += 1
        summary["outcomes_by_kind"][case.kind]["truncated_warning"] += 1
    summary["events_decoded"] += res["n"]
    summary["total_time_s"] += res["time"]
    if res.get("cross_checked"):
        summary["cross_checks"] += 1
    if res.get("prefix_checked"):
        summary["prefix_checks"] += 1
    where = {"index": case.index, "target": case.target, "kind": case.kind,
             "size": len(case.data)}
    if res["time"] > summary["max_time_s"]:
        summary["max_time_s"] = res["time"]
        summary["max_time_input"] = where
    if res["alloc"] > summary["max_alloc_bytes"]:
        summary["max_alloc_bytes"] = res["alloc"]
        summary["max_alloc_input"] = where
    summary["max_rss_growth_bytes"] = max(summary["max_rss_growth_bytes"], res["rss_growth"])
    if res["violation"] is not None:
        summary["violation_count"] += 1
        if len(summary["violations"]) < 200:
            summary["violations"].append(dict(where, violation=res["violation"]))


# ------------------------------------------------------------------------------------------------
# Parent: run children, detect crashes / hangs, merge figures
# ------------------------------------------------------------------------------------------------

def _merge(total: dict, part: dict) -> None:
    for k in ("inputs", "seconds", "cross_checks", "prefix_checks", "events_decoded",
              "total_time_s",
              "violation_count", "warmup_s"):
        total[k] += part.get(k, 0)
    for k in ("by_target", "by_kind", "outcomes"):
        for a, v in part.get(k, {}).items():
            total[k][a] += v
    for k in ("by_target_kind", "outcomes_by_target", "outcomes_by_kind"):
        for a, d in part.get(k, {}).items():
            for b, v in d.items():
                total[k][a][b] += v
    if part.get("max_time_s", 0) > total["max_time_s"]:
        total["max_time_s"] = part["max_time_s"]
        total["max_time_input"] = part.get("max_time_input")
    if part.get("max_alloc_bytes", 0) > total["max_alloc_bytes"]:
        total["max_alloc_bytes"] = part["max_alloc_bytes"]
        total["max_alloc_input"] = part.get("max_alloc_input")
    for k in ("max_rss_growth_bytes", "peak_rss_bytes"):
        total[k] = max(total[k], part.get(k, 0))
    if not total["rss_start_bytes"]:
        total["rss_start_bytes"] = part.get("rss_start_bytes", 0)
    if part.get("rss_end_bytes"):
        total["rss_end_bytes"] = part["rss_end_bytes"]
    total["violations"].extend(part.get("violations", []))


def child_env(boundscheck: bool) -> dict:
    """Environment of the campaign's child processes.

    With ``boundscheck`` the numba kernels are compiled with bounds checking
    (``NUMBA_BOUNDSCHECK=1``), so an out-of-range read or write in a kernel raises IndexError
    (a reported violation) instead of silently reading garbage. Those builds get their own cache
    directory: numba's cache key does not include the flag.
    """
    env = dict(os.environ)
    if boundscheck:
        env["NUMBA_BOUNDSCHECK"] = "1"
        env["NUMBA_CACHE_DIR"] = str(Path(os.environ["NUMBA_CACHE_DIR"]) / "boundscheck")
    else:
        env.pop("NUMBA_BOUNDSCHECK", None)
    return env


def _reader_thread(stream, q):
    for line in iter(stream.readline, b""):
        q.put(line)
    q.put(None)


def replay_subprocess(meta_path: Path, timeout: float, env: dict) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--replay", str(meta_path)]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)
        return {"returncode": p.returncode, "stderr_tail": p.stderr.decode(errors="replace")[-800:],
                "stdout_tail": p.stdout.decode(errors="replace")[-800:]}
    except subprocess.TimeoutExpired:
        return {"returncode": None, "timeout": True}


def run_campaign(seconds: float = 60.0, seed: int = 0, time_limit: float = 5.0,
                 fail_dir=None, json_out=None, log=None, max_children: int = 20,
                 address_space_gb: int = 8, max_inputs: int = 0, boundscheck: bool = True,
                 inject: str = "", replay_failures: bool = True) -> dict:
    """Run the campaign in child processes; return the merged figures (see ``--json``)."""
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    fail_dir = (Path(fail_dir) if fail_dir else
                Path(tempfile.gettempdir()) / "evframes-fuzz-failures")
    total = new_summary()
    total["seed"] = seed
    total["time_limit_s"] = time_limit
    total["memory_bound"] = "2 x input size + 64 MB"
    total["boundscheck"] = boundscheck
    env = child_env(boundscheck)
    corpus_cache: List[Source] = []
    wall0 = time.perf_counter()
    remaining = float(seconds)
    index = 0
    with tempfile.TemporaryDirectory(prefix="evframes-fuzz-parent-") as tmp:
        while remaining > 0.05 and total["children"] < max_children:
            out = Path(tmp) / f"child{total['children']}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child",
                   "--seconds", f"{remaining:.3f}", "--seed", str(seed),
                   "--start-index", str(index), "--time-limit", str(time_limit),
                   "--fail-dir", str(fail_dir), "--child-out", str(out),
                   "--address-space-gb", str(address_space_gb),
                   "--max-inputs", str(max(0, max_inputs - total["inputs"]) if max_inputs else 0)]
            if inject:
                cmd += ["--inject", inject]
            # the parent owns the child's scratch directory: a crashed child cannot clean it up
            workdir = _new_workdir()
            cmd += ["--workdir", str(workdir)]
            errf = open(Path(tmp) / f"child{total['children']}.stderr", "w+b")
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, env=env)
            total["children"] += 1
            q: "queue.Queue" = queue.Queue()
            th = threading.Thread(target=_reader_thread, args=(proc.stdout, q), daemon=True)
            th.start()
            last = None
            crc = None
            phase = "start"
            loop_t0 = None
            killed = False
            hang = None
            while True:
                silence = time_limit + 30 if phase == "loop" else 900
                try:
                    line = q.get(timeout=silence)
                except queue.Empty:
                    log(f"child silent for {silence:.0f} s (phase {phase}); killing it")
                    proc.kill()
                    killed = True
                    break
                if line is None:
                    break
                if not line.startswith(PROTO):
                    continue
                kind, _, rest = line[len(PROTO):].decode(errors="replace").strip().partition(" ")
                if kind == "S":
                    a, _, b = rest.partition(" ")
                    last, crc = int(a), int(b)
                elif kind == "L":
                    phase = "loop"
                    loop_t0 = time.perf_counter()
                elif kind == "V":
                    v = json.loads(rest)
                    log(f"VIOLATION input {v['index']} {v['target']}/{v['kind']}: "
                        f"{v['violation']}" + (f" (saved {v['saved']})" if v["saved"] else ""))
                elif kind == "H":
                    hang = rest
            rc = proc.wait()
            th.join(timeout=5)
            shutil.rmtree(workdir, ignore_errors=True)
            ran = time.perf_counter() - loop_t0 if loop_t0 else 0.0
            part = json.loads(out.read_text()) if out.exists() else {}
            _merge(total, part)
            complete = bool(part.get("complete")) and rc == 0
            if complete:
                index = part["next_index"]
                remaining = 0
                break
            # the child died: the input it was running (``last``) is the culprit
            errf.seek(0)
            err_tail = errf.read().decode(errors="replace")[-4000:]
            errf.close()
            what = ("hang" if (rc == HANG_EXIT or killed) else
                    f"crash (signal {-rc})" if rc < 0 else f"exit code {rc}")
            if last is None:
                total["violation_count"] += 1
                total["violations"].append({"violation": f"child {what} before any input",
                                            "stderr": err_tail})
                log(f"child {what} before any input:\n{err_tail}")
                break
            if not corpus_cache:
                corpus_cache.extend(build_corpus())
            case = gen_case(seed, last, corpus_cache)
            same = zlib.crc32(case.data) == crc
            extra = {"violation": what, "child_stderr_tail": err_tail,
                     "regenerated_crc_matches": same}
            meta = save_case(case, fail_dir, seed, extra)
            rep = (replay_subprocess(meta, timeout=time_limit + 120, env=env)
                   if replay_failures else {"returncode": None, "skipped": True})
            extra["replay"] = rep
            meta.write_text(json.dumps(dict(json.loads(meta.read_text()), replay=rep), indent=1))
            total["crashes" if what.startswith("crash") or what.startswith("exit") else
                  "hangs"] += 1
            total["violation_count"] += 1
            total["inputs"] += 1
            total["violations"].append({"index": last, "target": case.target, "kind": case.kind,
                                        "size": len(case.data), "violation": what,
                                        "saved": str(meta), "replay_returncode":
                                            rep.get("returncode")})
            log(f"VIOLATION input {last} {case.target}/{case.kind}: child {what}; input saved "
                f"to {meta} (replay exit code {rep.get('returncode')})\n{err_tail[-1500:]}")
            if hang is not None:
                log(f"watchdog: {hang}")
            index = last + 1
            remaining -= ran
    total["wall_s"] = time.perf_counter() - wall0
    total["next_index"] = index
    total["fail_dir"] = str(fail_dir)
    total["ok"] = total["violation_count"] == 0
    total = _plain(total)
    if json_out:
        Path(json_out).write_text(json.dumps(total, indent=1))
    return total


def format_summary(s: dict) -> str:
    buf = io.StringIO()
    p = lambda *a: print(*a, file=buf)  # noqa: E731
    p(f"evframes reader fuzz campaign: seed {s.get('seed')}, {s['inputs']} inputs in "
      f"{s['seconds']:.1f} s of fuzzing ({s['inputs'] / max(s['seconds'], 1e-9):.0f} inputs/s; "
      f"warm-up {s['warmup_s']:.1f} s; {s['children']} child process(es); "
      f"wall {s.get('wall_s', 0):.1f} s)")
    kinds = [k for k in KINDS]
    head = f"{'reader':22s}" + "".join(f"{k[:9]:>10s}" for k in kinds) + f"{'total':>8s}"
    p("\ninputs per reader x mutation kind")
    p(head)
    for t in TARGETS:
        row = s["by_target_kind"].get(t, {})
        p(f"{t:22s}" + "".join(f"{row.get(k, 0):>10d}" for k in kinds)
          + f"{s['by_target'].get(t, 0):>8d}")
    p("\noutcomes per reader (events / FormatError / other exception; truncated warnings)")
    for t in TARGETS:
        o = s["outcomes_by_target"].get(t, {})
        p(f"  {t:22s} events {o.get('events', 0):6d}   FormatError {o.get('format_error', 0):6d}"
          f"   other {o.get('exception', 0):3d}   "
          f"TruncatedFileWarning {o.get('truncated_warning', 0):5d}")
    p("\noutcomes per mutation kind")
    for k in kinds:
        o = s["outcomes_by_kind"].get(k, {})
        p(f"  {k:16s} events {o.get('events', 0):6d}   FormatError {o.get('format_error', 0):6d}"
          f"   other {o.get('exception', 0):3d}   "
          f"TruncatedFileWarning {o.get('truncated_warning', 0):5d}")
    o = s["outcomes"]
    p(f"\ntotal: events {o.get('events', 0)}, FormatError {o.get('format_error', 0)}, "
      f"other exceptions {o.get('exception', 0)}, with TruncatedFileWarning "
      f"{o.get('truncated_warning', 0)}; {s['events_decoded']} events decoded; "
      f"{s['cross_checks']} twin cross-checks, {s['prefix_checks']} truncation-prefix checks")
    p(f"max time per input {s['max_time_s'] * 1e3:.1f} ms ({s['max_time_input']}); mean "
      f"{s['total_time_s'] / max(1, s['inputs']) * 1e3:.2f} ms; limit {s.get('time_limit_s')} s")
    p(f"max traced (numpy/Python) allocation per input {s['max_alloc_bytes'] / MB:.1f} MB "
      f"({s['max_alloc_input']}); max peak-RSS growth in one input "
      f"{s['max_rss_growth_bytes'] / MB:.1f} MB; bound {s.get('memory_bound')}")
    p(f"child peak RSS {s['peak_rss_bytes'] / MB:.0f} MB; RSS at loop start / end "
      f"{s['rss_start_bytes'] / MB:.0f} / {s['rss_end_bytes'] / MB:.0f} MB")
    p(f"kernels bounds-checked: {s.get('boundscheck')}; crashes {s['crashes']}, hangs "
      f"{s['hangs']}, violations {s['violation_count']}")
    for v in s["violations"][:20]:
        p(f"  - {v}")
    return buf.getvalue()


def replay(meta_path: Path, time_limit: float = 5.0) -> int:
    """Re-run one saved input in this process; print the outcome; 1 if it still violates."""
    meta = json.loads(Path(meta_path).read_text())
    data = (Path(meta_path).parent / meta["data_file"]).read_bytes()
    case = Case(meta["index"], meta["target"], meta["kind"], data, meta["ext"], meta["kwargs"],
                meta["container"], meta["threads"], meta["cross"], meta.get("source", ""))
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        with tempfile.TemporaryDirectory(prefix="evframes-fuzz-replay-") as tmp:
            res = run_case(case, Path(tmp), time_limit, {s.label: s for s in build_corpus()})
    finally:
        if started:
            tracemalloc.stop()
    print(json.dumps(res, indent=1, default=str))
    return 1 if res["violation"] else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="fuzzing time (default 60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", dest="json_out", help="write the figures to this JSON file")
    ap.add_argument("--time-limit", type=float, default=5.0, help="seconds allowed per input")
    ap.add_argument("--fail-dir", help="where failing inputs are saved "
                                       "(default: $TMPDIR/evframes-fuzz-failures)")
    ap.add_argument("--max-inputs", type=int, default=0, help="stop after this many inputs")
    ap.add_argument("--address-space-gb", type=int, default=8,
                    help="RLIMIT_AS headroom for the child above its size after warm-up")
    ap.add_argument("--no-boundscheck", dest="boundscheck", action="store_false",
                    help="run the kernels as compiled normally (default: NUMBA_BOUNDSCHECK=1, "
                         "so out-of-range kernel accesses are reported)")
    ap.add_argument("--replay", help="re-run one saved failure (its .json) in this process")
    ap.add_argument("--inject", default="", help=argparse.SUPPRESS)  # harness self-test
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    ap.add_argument("--start-index", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--max-saved", type=int, default=50, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.replay:
        faulthandler.enable()
        return replay(Path(args.replay), args.time_limit)
    if args.child:
        for item in filter(None, args.inject.split(",")):
            fault, _, idx = item.partition("@")
            INJECT[int(idx)] = fault
        return child_main(args)
    s = run_campaign(args.seconds, args.seed, args.time_limit, args.fail_dir, args.json_out,
                     max_inputs=args.max_inputs, address_space_gb=args.address_space_gb,
                     boundscheck=args.boundscheck, inject=args.inject)
    print(format_summary(s))
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
