"""``evframes info FILE``: what one event file or store holds, as printable lines.

For an event file (any supported format): the format, sensor size (and where it comes from),
event count, first / last time and duration (us and s), mean rate (events per second), polarity
balance (ON and OFF counts), the pixel range of the events and the file size. The counts come
from one pass over the file in chunks (:func:`~evframes.formats.iter_events`), so any file
size fits in memory; ``quick=True`` prints only what the format's probe knows without that
pass (AEDAT 4 and Prophesee: count and times from the packet / word headers).

For an ``.h5`` store: the store summary of ``evframes info`` (kind, samples, events or frames,
setting, samples per class).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List

from ..formats import iter_events, probe_events
from ..store.summary import describe_store
from .convert import is_store_path

__all__ = ["describe_file"]


def _us(t) -> str:
    return "-" if t is None else f"{int(t):,} us"


def _stats(path, total, progress) -> dict:
    from tqdm import tqdm
    n = on = 0
    xr = [None, None]
    yr = [None, None]
    with tqdm(total=total, unit=" ev", unit_scale=True, disable=not progress, leave=False,
              file=sys.stderr, desc=f"info {Path(path).name}") as bar:
        for ev in iter_events(path):
            k = len(ev)
            if not k:
                continue
            n += k
            on += int(ev["p"].sum(dtype="int64"))
            for r, c in ((xr, ev["x"]), (yr, ev["y"])):
                lo, hi = int(c.min()), int(c.max())
                r[0] = lo if r[0] is None else min(r[0], lo)
                r[1] = hi if r[1] is None else max(r[1], hi)
            bar.update(k)
    return {"events": n, "on": on, "x": xr, "y": yr}


def describe_file(path, quick: bool = False, progress: bool = False) -> List[str]:
    """The lines ``evframes info FILE`` prints for ``path`` (see the module docstring).

    Raises FormatError / StoreError (naming the file) when it is neither a readable event
    file of a supported format nor an evframes store.
    """
    path = Path(path)
    if is_store_path(path):
        return [str(path)] + describe_store(path, path.parent).lines()
    info = probe_events(path)
    st = None if quick else _stats(path, info.get("events"), progress)
    n = info["events"] if st is None else st["events"]
    w, h = info.get("width"), info.get("height")
    size = f"{w}x{h} pixels ({info.get('size_source') or 'header'})" if w and h else \
        "not in the file"
    if st is not None and st["x"][0] is not None and not (w and h):
        size += f"; events span x {st['x'][0]}..{st['x'][1]}, y {st['y'][0]}..{st['y'][1]}"
    dur = info.get("duration_us")
    lines = [str(path),
             f"  format     {info['title']} ({info['format']})",
             f"  sensor     {size}",
             f"  events     {n:,}" + ("" if info.get("events_exact", True) or st else
                                      " (estimated)"),
             f"  time       {_us(info.get('t_first'))} .. {_us(info.get('t_last'))}",
             "  duration   " + ("-" if dur is None else f"{dur:,} us ({dur / 1e6:.3f} s)")]
    if dur:
        rate = n / (dur / 1e6)
        lines.append(f"  rate       {rate:,.0f} events/s ({rate / 1e6:.3f} M events/s)")
    if st is not None and n:
        on = st["on"]
        lines.append(f"  polarity   ON {on:,} ({100 * on / n:.1f}%), OFF {n - on:,} "
                     f"({100 * (n - on) / n:.1f}%)")
        if w and h:
            lines.append(f"  pixels     x {st['x'][0]}..{st['x'][1]}, y {st['y'][0]}.."
                         f"{st['y'][1]}")
    if info.get("triggers"):
        lines.append(f"  triggers   {int(info['triggers']):,} (apart from the events)")
    fb = info["file_bytes"]
    lines.append(f"  file       {fb:,} bytes ({fb / 2**20:.2f} MiB)")
    return lines
