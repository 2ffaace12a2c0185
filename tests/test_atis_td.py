"""The ATIS td decoder (NAVGesture's .dat files): word loads at any byte offset, against a
pure-Python reading of the record layout, with and without SpikingJelly's convention."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from evframes.formats.atis_td import decode_td, record_words, td_columns


def _reference(body: bytes, sj: bool, W: int, H: int):
    """Record by record, as the format describes it: u32 t, u32 w (x 9 bits, y 8, p 1)."""
    rows, tmax, t0 = [], -1, None
    for j in range(0, len(body) - len(body) % 8, 8):
        t, w = struct.unpack_from("<II", body, j)
        x, y, p = w & 0x1FF, (w >> 9) & 0xFF, (w >> 17) & 1
        if sj:
            if t < tmax:
                continue
            tmax = t
            t0 = t if t0 is None else t0
            y = H - 1 - y
        if x < W and 0 <= y < H:
            rows.append((t, x, y, p))
    if sj and rows:
        first = struct.unpack_from("<I", body, 0)[0]
        rows = [(t - first, x, y, p) for t, x, y, p in rows]
    if not sj:
        rows.sort(key=lambda r: r[0])  # stable: equal times keep their order
    return np.array(rows, np.int64).reshape(-1, 4)


@pytest.mark.parametrize("header", [b"", b"% date\n% v 1\n\x00\x08", b"%x\n\x00\x08"])
@pytest.mark.parametrize("sj", [False, True])
def test_decode_td_at_any_offset(header, sj):
    rng = np.random.default_rng(len(header) + sj)
    n, W, H = 5000, 304, 240
    t = np.sort(rng.integers(0, 2**31, n)).astype(np.uint32)
    t[rng.integers(0, n, 40)] = rng.integers(0, 2**31, 40)  # some go back in time
    w = (rng.integers(0, 320, n) | (rng.integers(0, 256, n) << 9)
         | (rng.integers(0, 2, n) << 17) | (rng.integers(0, 256, n) << 24)).astype(np.uint32)
    body = np.column_stack([t, w]).astype("<u4").tobytes() + b"\x01\x02\x03"  # a cut record
    buf = np.frombuffer(header + body, np.uint8)
    want = _reference(body, sj, W, H)
    out, warns = td_columns(n + 3), []
    with pytest.warns(Warning, match="not a multiple of 8 bytes"):
        m = decode_td(buf, "a.dat", sj, (W, H), warns, out, 3)
    assert m == len(want) and 0 < m < n
    got = np.column_stack([out[c][3:3 + m].astype(np.int64) for c in "txyp"])
    np.testing.assert_array_equal(got, want)
    assert any("off the 304x240 sensor" in s for s in warns)
    assert any(("SpikingJelly's rule" if sj else "not monotonic") in s for s in warns)


def test_record_words_offsets():
    buf = np.frombuffer(bytes(range(1, 20)), np.uint8)
    r = record_words(buf, 3, 2)  # odd offset: an unaligned view
    assert r.dtype == np.dtype("<u4") and r.shape == (4,)
    assert int(r[0]) == int.from_bytes(bytes([4, 5, 6, 7]), "little")
    assert record_words(buf, 19, 0).shape == (0,)  # no records at the very end
