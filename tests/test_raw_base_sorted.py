"""``evframes.raw.base``: the first decreasing timestamp of a recording, found block-wise.

Extraction tests every recording's ``t`` for a decrease (and then sorts it, with a warning);
the Numba test scans blocks of 4096 branch-free before it searches the bad block, so the
edges of those blocks are where it could go wrong.
"""
from __future__ import annotations

import numpy as np
import pytest

from evframes.events import Events
from evframes.raw.base import _first_decrease, ensure_sorted


def _reference(t):
    bad = np.flatnonzero(np.diff(t) < 0)
    return int(bad[0]) + 1 if bad.size else -1


@pytest.mark.parametrize("n", [0, 1, 2, 4096, 4097, 4098, 8193, 20000])
def test_first_decrease_at_block_edges(n):
    rng = np.random.default_rng(n)
    t = np.sort(rng.integers(0, 10 ** 6, n)).astype(np.int64)
    assert _first_decrease(t) == -1
    for k in sorted({1, 2, 4095, 4096, 4097, 4098, 8192, 8193, n - 1} & set(range(1, n))):
        bad = t.copy()
        bad[k] = bad[k - 1] - 1
        bad[k + 1:] = np.maximum(bad[k + 1:], bad[k])  # the one decrease is at k
        assert _first_decrease(bad) == _reference(bad) == k
    if n > 10:  # two decreases: the first is named
        bad = t.copy()
        bad[n - 3] = -5
        bad[n // 2] = -7
        assert _first_decrease(bad) == _reference(bad) == n // 2


def test_ensure_sorted_sorts_stably_and_warns():
    t = np.array([5, 3, 3, 9], np.int64)
    ev = Events({"t": t, "x": np.arange(4, dtype=np.int16), "y": np.zeros(4, np.int16),
                 "p": np.array([1, 0, 1, 0], np.int8)})
    warnings = []
    out = ensure_sorted(ev, "rec.aedat", warnings)
    assert out["t"].tolist() == [3, 3, 5, 9]
    assert out["x"].tolist() == [1, 2, 0, 3]  # stable: equal times keep their order
    assert len(warnings) == 1 and "rec.aedat" in warnings[0] and "sorted" in warnings[0]
