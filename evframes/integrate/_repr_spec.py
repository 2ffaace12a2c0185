"""The representations' names, parameters, channels, frame sizes and dtypes (no arrays).

Shared by :class:`~evframes.integrate.setting.FrameSetting` (which validates a setting's
``representation`` and ``repr_params``) and :mod:`evframes.integrate.representations` (which
computes them); the formulas are documented there.
"""
from __future__ import annotations

import math
from typing import Mapping, Optional, Tuple

import numpy as np

REPRESENTATIONS = ("voxel", "time_surface", "averaged_time_surface", "stacked_histogram",
                   "onoff", "event_image", "binary", "latest_timestamp")

# Bumped when a formula changes: frames manifests record it (FrameSetting.to_dict), so stores
# built by an older formula are no longer current.
REPR_VERSION = 1

_REQUIRED = object()

# kind -> ((name, type, default), ...) in the order of the folder name. type: "int" (>= 1),
# "int0" (>= 0), "pos" (a positive finite number; integral values become int).
_SPECS = {
    "voxel": (("bins", "int", _REQUIRED),),
    "time_surface": (("tau", "pos", _REQUIRED),),
    "averaged_time_surface": (("cell", "int", 10), ("radius", "int0", 2),
                              ("tau", "pos", _REQUIRED)),
    "stacked_histogram": (("bins", "int", _REQUIRED), ("clip", "int", 255)),
    "onoff": (),
    "event_image": (),
    "binary": (),
    "latest_timestamp": (),
}

_DTYPES = {"voxel": np.float32, "time_surface": np.float32,
           "averaged_time_surface": np.float32, "stacked_histogram": np.uint8,
           "onoff": np.int16, "event_image": None, "binary": np.uint8,
           "latest_timestamp": np.int64}


def _value(kind: str, name: str, typ: str, v):
    bad = ValueError(f"representation {kind!r}: {name} must be "
                     + {"int": "a positive integer", "int0": "a non-negative integer",
                        "pos": "a positive number"}[typ] + f", got {v!r}")
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                             np.floating)):
        raise bad
    f = float(v)
    if not math.isfinite(f):
        raise bad
    if typ == "pos":
        if f <= 0:
            raise bad
        return int(f) if f.is_integer() else f
    if not f.is_integer() or f < (1 if typ == "int" else 0):
        raise bad
    return int(f)


def check_repr(kind: Optional[str], params=None) -> Tuple[str, Tuple[Tuple[str, object], ...]]:
    """``(kind, ((name, value), ...))``: a representation and its parameters validated, in
    the order of :data:`_SPECS` with defaults filled in.

    Parameters
    ----------
    kind : str or None
        One of :data:`REPRESENTATIONS`, or ``'count'`` / None (count frames, no parameters).
    params : mapping or sequence of (name, value) pairs, optional
        The representation's parameters.

    Returns
    -------
    tuple
        The normalised ``(kind, params)``.

    Raises
    ------
    ValueError
        An unknown kind, an unknown, missing or invalid parameter.
    """
    kind = "count" if kind is None else kind
    if isinstance(params, Mapping):
        given = dict(params)
    else:
        given = {}
        for pair in (params or ()):
            k, v = pair
            if k in given:
                raise ValueError(f"representation {kind!r}: parameter {k!r} given twice")
            given[k] = v
    if kind == "count":
        if given:
            raise ValueError(f"count frames take no representation parameters, got "
                             f"{sorted(given)}")
        return kind, ()
    if not isinstance(kind, str) or kind not in _SPECS:
        raise ValueError(f"unknown representation {kind!r}; expected 'count' or one of "
                         f"{', '.join(REPRESENTATIONS)}")
    spec = _SPECS[kind]
    names = [s[0] for s in spec]
    unknown = sorted(set(given) - set(names))
    if unknown:
        takes = f"takes {', '.join(names)}" if names else "takes no parameters"
        raise ValueError(f"representation {kind!r} {takes}; unknown {', '.join(unknown)}")
    out = []
    for name, typ, default in spec:
        if name in given and given[name] is not None:
            out.append((name, _value(kind, name, typ, given[name])))
        elif default is _REQUIRED:
            raise ValueError(f"representation {kind!r} needs {name}")
        else:
            out.append((name, default))
    d = dict(out)
    if kind == "averaged_time_surface" and 2 * d["radius"] + 1 > d["cell"]:
        raise ValueError(f"representation 'averaged_time_surface': the surface "
                         f"(2*radius+1 = {2 * d['radius'] + 1} pixels) must fit in a cell "
                         f"(cell = {d['cell']} pixels)")
    if kind == "stacked_histogram" and d["clip"] > 255:
        raise ValueError(f"representation 'stacked_histogram': clip must be <= 255 (uint8 "
                         f"counts), got {d['clip']}")
    return kind, tuple(out)


def repr_channels(kind: str, **params) -> int:
    """Channels ``C`` of one frame of ``kind``: ``bins`` (voxel), ``2 * bins`` (stacked
    histogram), 1 (onoff), 2 otherwise."""
    kind, ps = check_repr(kind, params)
    d = dict(ps)
    if kind == "voxel":
        return d["bins"]
    if kind == "stacked_histogram":
        return 2 * d["bins"]
    if kind == "onoff":
        return 1
    return 2


def repr_shape(kind: str, H: int, W: int, **params) -> Tuple[int, int, int]:
    """``(C, H', W')`` of one frame of ``kind`` for a sensor of ``H x W`` pixels:
    ``(repr_channels, H, W)``, except the averaged time surface's grid of cell histograms,
    ``(2, ceil(H / cell) * (2*radius+1), ceil(W / cell) * (2*radius+1))``."""
    kind, ps = check_repr(kind, params)
    H, W = int(H), int(W)
    if kind == "averaged_time_surface":
        d = dict(ps)
        S = 2 * d["radius"] + 1
        return 2, -(-H // d["cell"]) * S, -(-W // d["cell"]) * S
    return repr_channels(kind, **dict(ps)), H, W


def repr_dtype(kind: str, **params) -> Optional[np.dtype]:
    """The dtype of ``kind``: float32 (voxel, time surfaces), uint8 (stacked histogram,
    binary), int16 (onoff), int64 (latest timestamp); None for count frames and the event
    image (the count frames' dtype: uint16, int32 when a frame could exceed 65535 events)."""
    kind, _ = check_repr(kind, params)
    dt = _DTYPES.get(kind)
    return None if dt is None else np.dtype(dt)
