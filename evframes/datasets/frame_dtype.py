"""Whether the stored frames convert to a requested torch ``frame_dtype`` exactly.

:class:`~evframes.datasets.base.NeuromorphicDataset` refuses, at construction, a ``frame_dtype``
that would change a stored value (uint8 for a count of 266, float16 for a large count, ...);
:func:`check_exact_conversion` decides it from the stored dtype alone when it can, else reads
the frames once in steps of about 64 MB.
"""
from __future__ import annotations

import numpy as np
import torch

_SCAN_BYTES = 64 << 20  # frames read per step when checking a frame_dtype conversion


def _digits(dt: torch.dtype) -> int:
    """Significand bits of a torch float dtype (integers up to 2**digits are exact)."""
    return int(round(1 - np.log2(torch.finfo(dt).eps)))


def _dtype_holds(src: np.dtype, dt: torch.dtype) -> bool:
    """True when every value of numpy dtype ``src`` converts to torch ``dt`` exactly."""
    if dt == torch.bool:
        return src.kind == "b"
    if src.kind == "b":
        return True
    if dt.is_floating_point:
        if src.kind in "iu":
            info = np.iinfo(src)
            return max(-int(info.min), int(info.max)) <= 2 ** _digits(dt)
        if src.kind == "f":
            fi, ft = np.finfo(src), torch.finfo(dt)
            return _digits(dt) >= int(fi.nmant) + 1 and ft.max >= float(fi.max) and \
                ft.tiny <= float(fi.smallest_normal)
        return False
    if dt.is_complex or src.kind not in "iu":
        return False
    si, ti = np.iinfo(src), torch.iinfo(dt)
    return ti.min <= int(si.min) and int(si.max) <= ti.max


def _fitting_dtype(lo, hi) -> str:
    for dt in (torch.uint8, torch.int8, torch.int16, torch.int32):
        info = torch.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return str(dt)
    return "torch.int64"


def check_exact_conversion(frames, frame_offsets, dt: torch.dtype, where) -> None:
    """Raise ValueError unless every value of ``frames`` (an h5py dataset or array
    ``[sum T, 2, H, W]``) converts to torch dtype ``dt`` exactly.

    Free when the stored dtype alone guarantees it (a uint8 store for any dtype but bool and
    int8); otherwise the frames are read once, in steps of about 64 MB. The error names the
    largest (or smallest) count, its sample, and a dtype that holds the values."""
    src = np.dtype(frames.dtype)
    if _dtype_holds(src, dt):
        return
    n = int(frames.shape[0])
    per = max(1, _SCAN_BYTES // max(1, src.itemsize * int(np.prod(frames.shape[1:]))))
    lo_v = hi_v = None
    lo_i = hi_i = 0
    bad = None  # (frame index, value) of the first value that does not round-trip
    for a in range(0, n, per):
        block = np.asarray(frames[a:a + per])
        if block.size == 0:
            continue
        flat = block.reshape(block.shape[0], -1)
        if src.kind in "biu" and not dt.is_floating_point:
            mn, mx = flat.min(axis=1), flat.max(axis=1)
            j, k = int(np.argmin(mn)), int(np.argmax(mx))
            if lo_v is None or mn[j] < lo_v:
                lo_v, lo_i = mn[j].item(), a + j
            if hi_v is None or mx[k] > hi_v:
                hi_v, hi_i = mx[k].item(), a + k
            continue
        ref = block.astype(np.float64)  # exact for counts (integers up to 2**53) and floats
        back = torch.from_numpy(ref).to(dt).to(torch.float64).numpy()
        same = (back == ref) | (np.isnan(back) & np.isnan(ref) if dt.is_floating_point
                                else False)
        if not same.all():
            idx = int(np.flatnonzero(~same.reshape(-1))[0])
            bad = (a + idx // flat.shape[1], block.reshape(-1)[idx].item())
            break
    if lo_v is not None:
        info = torch.iinfo(dt) if dt != torch.bool else None
        tmin, tmax = (info.min, info.max) if info else (0, 1)
        if tmin <= lo_v and hi_v <= tmax:
            return
        if hi_v > tmax:
            v, f, side = hi_v, hi_i, f"above {tmax}"
            what = "largest count"
        else:
            v, f, side = lo_v, lo_i, f"below {tmin}"
            what = "smallest value"
        s = int(np.searchsorted(frame_offsets, f, side="right")) - 1
        raise ValueError(f"{where}: frame_dtype={dt} would not hold the stored frames exactly: "
                         f"the {what} is {v} (sample {s}), {side}; use frame_dtype="
                         f"{_fitting_dtype(lo_v, hi_v)} or the default torch.float32")
    if bad is not None:
        s = int(np.searchsorted(frame_offsets, bad[0], side="right")) - 1
        raise ValueError(f"{where}: frame_dtype={dt} would not hold the stored {src} frames "
                         f"exactly: {bad[1]!r} (sample {s}) changes in the conversion; use a "
                         f"wider frame_dtype (torch.float64 holds every stored value)")
