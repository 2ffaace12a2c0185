"""Render docs/representations.png: one panel per representation of one sample of a small
synthetic DVS128 Gesture replica (the last of 4 windows split by number), drawn by
:func:`evframes.viz.frames_to_rgb` with each representation's colour map.

Usage: ``python scripts/make_repr_pictures.py [OUT.png]``."""
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from evframes import synth
from evframes.datasets import open_raw
from evframes.extract import extract
from evframes.integrate import FrameSetting, integrate
from evframes.integrate.representations import represent_setting
from evframes.store import EventsDataset, events_store_path
from evframes.viz import _font, _upscale, frames_to_rgb

PANELS = [("count", {}), ("event_image", {}), ("binary", {}), ("onoff", {}),
          ("voxel", {"bins": 4}), ("stacked_histogram", {"bins": 3}),
          ("time_surface", {"tau": 100000}),
          ("averaged_time_surface", {"tau": 100000, "cell": 8, "radius": 3}),
          ("latest_timestamp", {})]


def main(out="docs/representations.png"):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        synth.fake_dvs128(root, recordings=2, scale=0.05, seed=3, archive=True, workers=1)
        extract(open_raw("dvs128", root), workers=1, progress=False, warn=False)
        ev = EventsDataset(events_store_path(root, "train"))
        W, H = ev.sensor_size
        e, _ = ev[0]
        panels = []
        for rep, ps in PANELS:
            s = FrameSetting.from_options("number", 4, representation=rep, repr_params=ps)
            if rep == "count":
                fr = np.asarray(integrate(e, s, H, W))[-1]
            else:
                fr = represent_setting(e["t"], e["x"], e["y"], e["p"], s, H, W)[-1]
            rgb = frames_to_rgb(fr, representation=rep)
            k = max(1, 256 // rgb.shape[0])
            rgb = _upscale(rgb[None], k)[0]
            label = rep + "".join(f" {a}={b}" for a, b in ps.items())
            panels.append((label, rgb, fr.shape))
    pad, head = 8, 34
    cols = 3
    rows = -(-len(panels) // cols)
    cws = [max(p[1].shape[1] for p in panels[c::cols]) for c in range(cols)]
    xs = np.concatenate([[pad], pad + np.cumsum([w + pad for w in cws])])
    ch = max(p[1].shape[0] for p in panels)
    sheet = Image.new("RGB", (int(xs[-1]), rows * (ch + head + pad) + pad), (4, 4, 6))
    d = ImageDraw.Draw(sheet)
    font = _font(14)
    for n, (label, rgb, shape) in enumerate(panels):
        r, c = divmod(n, cols)
        x0, y0 = int(xs[c]), pad + r * (ch + head + pad)
        d.text((x0, y0), label, font=font, fill=(230, 230, 230))
        d.text((x0, y0 + 16), f"[{', '.join(map(str, shape))}] per window", font=font,
               fill=(150, 150, 150))
        sheet.paste(Image.fromarray(np.ascontiguousarray(rgb)), (x0, y0 + head))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, format="PNG", optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
