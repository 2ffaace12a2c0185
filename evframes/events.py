"""The event container: a dict of four equal-length 1-D numpy arrays.

Keys and dtypes (SpikingJelly's convention, so user callbacks written for it keep working):

- ``t``: int64, microseconds, non-decreasing within a sample
- ``x``: int16, pixels, ``0 <= x < W``
- ``y``: int16, pixels, ``0 <= y < H``
- ``p``: int8, polarity 0 (OFF) or 1 (ON); frames use it as the channel index

Compact signed dtypes keep memory low while ``127 - y`` style arithmetic stays correct. Cast to
int64 before computing flat indices such as ``p * H * W + y * W + x`` on large sensors.
"""
from __future__ import annotations

from typing import Mapping, Optional, Tuple

import numpy as np

T_DTYPE = np.int64
XY_DTYPE = np.int16
P_DTYPE = np.int8
KEYS = ("t", "x", "y", "p")


class Events(dict):
    """A dict ``{'t','x','y','p'}`` of equal-length numpy arrays (see module docstring)."""

    def __len__(self) -> int:  # number of events, not number of keys
        t = dict.get(self, "t")
        return 0 if t is None else int(t.shape[0])

    @property
    def n(self) -> int:
        return len(self)

    def __repr__(self) -> str:
        n = len(self)
        if n == 0:
            return "Events(n=0)"
        t = self["t"]
        return (f"Events(n={n}, t={int(t[0])}..{int(t[-1])} us, "
                f"x<= {int(self['x'].max())}, y<= {int(self['y'].max())})")

    def slice(self, i: int, j: int) -> "Events":
        """Events with indices ``[i, j)`` (views, no copy)."""
        return Events({k: self[k][i:j] for k in KEYS})


def make_events(t, x, y, p, copy: bool = False) -> Events:
    """Build an :class:`Events` with the canonical dtypes from array-likes."""
    conv = np.array if copy else np.asarray
    ev = Events(
        t=conv(t, dtype=T_DTYPE).reshape(-1),
        x=conv(x, dtype=XY_DTYPE).reshape(-1),
        y=conv(y, dtype=XY_DTYPE).reshape(-1),
        p=conv(p, dtype=P_DTYPE).reshape(-1),
    )
    n = ev["t"].shape[0]
    for k in KEYS:
        if ev[k].shape[0] != n:
            raise ValueError(f"events arrays differ in length: t has {n}, {k} has {ev[k].shape[0]}")
    return ev


def empty_events() -> Events:
    return make_events(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))


def as_events(ev: Mapping) -> Events:
    """Accept any mapping with t, x, y, p (e.g. SpikingJelly's dict or an npz) as Events."""
    if isinstance(ev, Events) and all(ev[k].dtype == d for k, d in
                                      zip(KEYS, (T_DTYPE, XY_DTYPE, XY_DTYPE, P_DTYPE))):
        return ev
    missing = [k for k in KEYS if k not in ev]
    if missing:
        raise KeyError(f"events need keys t, x, y, p; missing {missing}")
    return make_events(ev["t"], ev["x"], ev["y"], ev["p"])


def check_events(ev: Mapping, sensor_size: Optional[Tuple[int, int]] = None,
                 where: str = "events", require_sorted: bool = True) -> None:
    """Raise ValueError naming ``where`` if ``ev`` breaks an invariant.

    sensor_size is ``(W, H)`` in pixels. Checks: equal lengths, 0 <= x < W, 0 <= y < H,
    p in {0, 1}, t non-decreasing (when ``require_sorted``).
    """
    n = len(ev["t"])
    for k in KEYS:
        if len(ev[k]) != n:
            raise ValueError(f"{where}: arrays differ in length (t {n}, {k} {len(ev[k])})")
    if n == 0:
        return
    if sensor_size is not None:
        W, H = sensor_size
        x, y = ev["x"], ev["y"]
        if int(x.min()) < 0 or int(x.max()) >= W or int(y.min()) < 0 or int(y.max()) >= H:
            bad = np.flatnonzero((x < 0) | (x >= W) | (y < 0) | (y >= H))
            i = int(bad[0])
            raise ValueError(
                f"{where}: {bad.size} event(s) off the {W}x{H} sensor, first at index {i}: "
                f"x={int(x[i])}, y={int(y[i])}")
    p = ev["p"]
    if int(p.min()) < 0 or int(p.max()) > 1:
        raise ValueError(f"{where}: polarity must be 0 or 1, found {int(p.min())}..{int(p.max())}")
    if require_sorted and n > 1:
        dt = np.diff(ev["t"])
        if int(dt.min()) < 0:
            i = int(np.argmax(dt < 0))
            raise ValueError(
                f"{where}: timestamps decrease at index {i + 1} ({int(ev['t'][i])} -> "
                f"{int(ev['t'][i + 1])} us); sort the events by t first")


def concat_events(parts) -> Events:
    parts = list(parts)
    if not parts:
        return empty_events()
    return Events({k: np.concatenate([np.asarray(e[k]) for e in parts]) for k in KEYS})
