"""Which event windows a representation kernel may validate itself (one pass instead of two),
and the checks of caller-given windows, for :mod:`evframes.integrate.representations`."""
from __future__ import annotations

import numpy as np

_I64 = np.int64

_FUSED = ("voxel", "stacked_histogram")  # kernels that validate their windows' events
SELF_VALIDATING = _FUSED + ("time_surface",)  # kinds whose kernel may validate every event


def _kernel_checks(kind, t, starts, ends) -> bool:
    """True if the kernel of ``kind`` validates every event itself on these windows: the
    ``_FUSED`` kinds when the windows are :func:`_covered`; ``time_surface``, which scans
    events ``[0, max(ends))`` in order, when the ends reach all ``N`` events."""
    n = t.shape[0]
    if kind == "time_surface":
        return n > 0 and ends.shape[0] > 0 and int(ends.max()) == n
    return kind in _FUSED and _covered(t, starts, ends)


def _covered(t, starts, ends) -> bool:
    """True if the windows (inside ``[0, N]``, ``starts <= ends``) hold every event and ``t``
    does not decrease where one window starts: a kernel that checks the events of each
    window (x, y, p, and t sorted within the window) then validates all ``N`` events."""
    n = t.shape[0]
    if n == 0 or starts.shape[0] == 0 or int(starts.min()) < 0 or int(ends.max()) > n:
        return False
    o = np.argsort(starts, kind="stable")
    s = starts[o]
    reach = np.maximum.accumulate(ends[o])
    if s[0] != 0 or reach[-1] < n or bool(np.any(s[1:] > reach[:-1])):
        return False
    j = starts[starts > 0]
    return not bool(np.any(t[j - 1] > t[j]))


def _windows(starts, ends, n):
    if starts is None or ends is None:
        raise ValueError("give both starts and ends (or neither: one window of all events)")
    starts = np.ascontiguousarray(starts, dtype=_I64).reshape(-1)
    ends = np.ascontiguousarray(ends, dtype=_I64).reshape(-1)
    if starts.shape != ends.shape:
        raise ValueError(f"starts and ends differ in length ({starts.size} vs {ends.size})")
    if starts.size and (int(starts.min()) < 0 or int(ends.max()) > n):
        raise ValueError(f"windows must lie within [0, {n}] event indices")
    return starts, np.maximum(ends, starts)  # inverted: empty
