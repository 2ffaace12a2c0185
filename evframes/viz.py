"""Pictures of events and frames: RGB rendering, animated GIFs, PNG strips and sample sheets.

Colours: a dark background, ON events (channel 1) warm orange-yellow, OFF events (channel 0)
cyan-blue; the two add up, so pixels with both polarities turn white-ish. Counts are normalised
per sequence (by default by the 99th percentile of the non-zero counts), so a sparse recording
stays as visible as a dense one: a single event in a 128x128 frame is drawn at full colour.

Files are written with Pillow (GIF, PNG strips) or with matplotlib's Agg canvas (sample sheets;
a ``Figure`` is drawn on its own ``FigureCanvasAgg``, so the global pyplot backend of the
caller is left alone). matplotlib is imported only when needed. Only :func:`play_frame` without
a file shows a window (``plt.show``), and only on an interactive backend; under a
non-interactive backend (``MPLBACKEND=Agg``, headless, tests) it returns without blocking.

Representations (``representation=`` of :func:`frames_to_rgb`, :func:`play_frame`,
:func:`save_gif`, :func:`save_frames_png`; the names of
:mod:`evframes.integrate.representations`): each frame's channels are laid out as a grid
(:func:`repr_to_rgb`). Signed values (``'voxel'`` bins, ``'onoff'``) use a diverging map: 0 the
background, positive towards the ON colour, negative towards the OFF colour, scaled by the
percentile of ``|value|``. Time surfaces, HATS and latest timestamps use a sequential map (dark
violet -> teal -> yellow), ``-1`` ("never") of the latest timestamp left blank. Stacked
histograms draw each bin in its polarity's colour (OFF bins on the first row, ON bins on the
second). Count frames, ``'event_image'`` and ``'binary'`` keep the polarity colours.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import numpy as np

__all__ = ["frames_to_rgb", "repr_to_rgb", "play_frame", "save_gif", "save_frames_png",
           "event_grid", "events_to_image", "BACKGROUND", "ON_COLOR", "OFF_COLOR"]

BACKGROUND = (14, 14, 20)
ON_COLOR = (255, 168, 36)    # channel 1
OFF_COLOR = (32, 160, 255)   # channel 0
MIN_WIDTH = 256              # default GIF / strip width target, pixels

PathLike = Union[str, Path]


# --------------------------------------------------------------------------- rendering

def _to_numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor
        a = a.detach().cpu()
        if a.dtype.is_floating_point or a.dtype.is_complex:
            a = a.float()
        a = a.numpy()
    return np.asarray(a)


def _as_frames(frames):
    """``([T, 2, H, W] float32 array, was_single)`` from numpy / torch ``[T,2,H,W]`` or
    ``[2,H,W]``."""
    a = _to_numpy(frames)
    single = a.ndim == 3
    if single:
        a = a[None]
    if a.ndim != 4 or a.shape[1] != 2:
        raise ValueError(f"frames must be [T, 2, H, W] or [2, H, W] (channel = polarity), got "
                         f"shape {tuple(a.shape)}")
    return a.astype(np.float32, copy=False), single


def _scale(a: np.ndarray, normalize: Optional[str], percentile: float) -> float:
    if normalize is None:
        return 1.0
    nz = a[a > 0]
    if nz.size == 0:
        return 1.0
    if normalize == "max":
        return float(nz.max())
    if normalize == "percentile":
        return max(float(np.percentile(nz, percentile)), 1e-12)
    raise ValueError(f"normalize must be 'percentile', 'max' or None, got {normalize!r}")


#: representations drawn by :func:`repr_to_rgb` (the others use the polarity colours)
SIGNED_REPRS = ("voxel", "onoff")
SEQUENTIAL_REPRS = ("time_surface", "averaged_time_surface", "latest_timestamp")
_SEQ_STOPS = np.array([(40, 12, 72), (58, 82, 139), (32, 144, 140), (94, 201, 98),
                       (253, 231, 37)], np.float32)  # viridis-like, dark to bright


def _sequential(v: np.ndarray) -> np.ndarray:
    """``[..., 3]`` float colours of intensities ``v`` in ``[0, 1]`` (NaN: background)."""
    x = np.clip(np.nan_to_num(v, nan=0.0), 0.0, 1.0) * (len(_SEQ_STOPS) - 1)
    i = np.minimum(x.astype(np.int64), len(_SEQ_STOPS) - 2)
    f = (x - i)[..., None]
    rgb = _SEQ_STOPS[i] * (1 - f) + _SEQ_STOPS[i + 1] * f
    rgb[np.isnan(v)] = BACKGROUND
    return rgb


def _grid(rgb: np.ndarray, nrows: int, gap: int = 1) -> np.ndarray:
    """``[T, C, H, W, 3]`` -> ``[T, H', W', 3]``: channels in ``nrows`` rows, ``gap``
    grey pixels between them."""
    T, C, H, W, _ = rgb.shape
    ncols = -(-C // nrows)
    out = np.full((T, nrows * H + (nrows - 1) * gap, ncols * W + (ncols - 1) * gap, 3), 60,
                  np.float32)
    for c in range(C):
        r, k = divmod(c, ncols)
        out[:, r * (H + gap):r * (H + gap) + H, k * (W + gap):k * (W + gap) + W] = rgb[:, c]
    return out


def repr_to_rgb(frames, representation: str, gamma: float = 0.5,
                percentile: float = 99.0) -> np.ndarray:
    """``uint8 [T, H', W', 3]`` (``[H', W', 3]`` for one frame ``[C, H, W]``) of a
    representation's frames ``[T, C, H, W]`` (numpy or torch), the ``C`` channels laid out as
    a grid (voxel bins in one row, or about square for many; the stacked histogram's OFF bins
    above its ON bins; time surfaces' OFF | ON side by side). Colours: see the module
    docstring; one scale for the whole sequence (``percentile`` of the non-zero magnitudes,
    then ``** gamma``)."""
    a = _to_numpy(frames)
    single = a.ndim == 3
    if single:
        a = a[None]
    if a.ndim != 4:
        raise ValueError(f"frames must be [T, C, H, W] or [C, H, W], got shape "
                         f"{tuple(a.shape)}")
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    T, C, H, W = a.shape
    bg = np.asarray(BACKGROUND, np.float32)
    if representation in SIGNED_REPRS:
        v = a.astype(np.float32)
        nz = np.abs(v[v != 0])
        s = max(float(np.percentile(nz, percentile)), 1e-12) if nz.size else 1.0
        m = np.clip(v / s, -1.0, 1.0)
        inten = (np.abs(m) ** np.float32(gamma))[..., None]
        col = np.where((m > 0)[..., None], np.asarray(ON_COLOR, np.float32),
                       np.asarray(OFF_COLOR, np.float32))
        rgb = bg * (1 - inten) + col * inten
        nrows = 1 if C <= 6 else int(math.ceil(math.sqrt(C)))
    elif representation in SEQUENTIAL_REPRS:
        v = a.astype(np.float64)
        never = v < 0 if representation == "latest_timestamp" else np.zeros(v.shape, bool)
        if representation == "latest_timestamp":
            top = float(v[~never].max()) if (~never).any() else 1.0
            x = (v / max(top, 1.0)) * 0.8 + 0.2  # the earliest event still visible
        else:
            nz = v[v > 0]
            top = float(np.percentile(nz, percentile)) if nz.size else 1.0
            x = np.clip(v / max(top, 1e-12), 0, 1) ** gamma
            never = v <= 0
        x[never] = np.nan
        rgb = _sequential(x.astype(np.float32))
        nrows = 1
    elif representation == "stacked_histogram":
        v = a.astype(np.float32)
        nz = v[v > 0]
        s = max(float(np.percentile(nz, percentile)), 1e-12) if nz.size else 1.0
        inten = (np.clip(v / s, 0, 1) ** np.float32(gamma))[..., None]
        B = max(1, C // 2)
        pol = np.where(np.arange(C) < B, 0, 1)[None, :, None, None, None]
        col = np.where(pol == 1, np.asarray(ON_COLOR, np.float32),
                       np.asarray(OFF_COLOR, np.float32))
        rgb = bg * (1 - inten) + col * inten
        nrows = 2 if C >= 2 else 1
    else:
        raise ValueError(f"repr_to_rgb draws {', '.join(SIGNED_REPRS + SEQUENTIAL_REPRS)} and "
                         f"stacked_histogram; got {representation!r} (use frames_to_rgb)")
    out = np.clip(_grid(rgb, nrows) + 0.5, 0, 255).astype(np.uint8)
    return out[0] if single else out


def frames_to_rgb(frames, normalize: Optional[str] = "percentile", gamma: float = 0.5,
                  percentile: float = 99.0, representation: Optional[str] = None
                  ) -> np.ndarray:
    """Polarity-coloured ``uint8`` images of frames.

    ``frames``: numpy or torch ``[T, 2, H, W]`` (returns ``[T, H, W, 3]``) or ``[2, H, W]``
    (returns ``[H, W, 3]``). Each pixel's intensity per channel is ``clip(count / s, 0, 1) **
    gamma`` where ``s`` is, over the whole sequence and both channels: the ``percentile``-th
    percentile of the non-zero counts (``'percentile'``, robust to a few hot pixels), their
    maximum (``'max'``), or 1 (``None``: values are taken as intensities in ``[0, 1]``).
    ``gamma < 1`` brightens faint pixels. Colour = background + ON * on_colour + OFF *
    off_colour, clipped.

    ``representation``: the frames' representation (a frames setting's ``representation``);
    voxel grids, ON-OFF frames, time surfaces, HATS, latest timestamps and stacked histograms
    are drawn by :func:`repr_to_rgb` (``normalize`` then ignored); count frames,
    ``'event_image'`` and ``'binary'`` (``[T, 2, H, W]``) as above.
    """
    if representation not in (None, "count", "event_image", "binary"):
        return repr_to_rgb(frames, representation, gamma=gamma, percentile=percentile)
    a, single = _as_frames(frames)
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    s = _scale(a, normalize, percentile)
    inten = np.clip(a / s, 0.0, 1.0)
    if gamma != 1.0:
        inten = inten ** np.float32(gamma)
    off, on = inten[:, 0, :, :, None], inten[:, 1, :, :, None]
    rgb = (np.asarray(BACKGROUND, np.float32) + on * np.asarray(ON_COLOR, np.float32)
           + off * np.asarray(OFF_COLOR, np.float32))
    out = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    return out[0] if single else out


def events_to_image(ev: Mapping, sensor_size=None) -> np.ndarray:
    """Accumulate events into one ``[2, H, W]`` count image (``sensor_size = (W, H)``; ``None``
    infers it from the largest coordinates)."""
    x = np.asarray(ev["x"], np.int64)
    y = np.asarray(ev["y"], np.int64)
    p = np.asarray(ev["p"], np.int64)
    if sensor_size is None:
        if x.size == 0:
            raise ValueError("sensor_size (W, H) is required for empty events")
        W, H = int(x.max()) + 1, int(y.max()) + 1
    else:
        W, H = int(sensor_size[0]), int(sensor_size[1])
    m = (x >= 0) & (x < W) & (y >= 0) & (y < H) & ((p == 0) | (p == 1))
    idx = (p[m] * H + y[m]) * W + x[m]
    return np.bincount(idx, minlength=2 * H * W).reshape(2, H, W)


def _auto_upscale(W: int, upscale: Optional[int], min_width: int = MIN_WIDTH) -> int:
    if upscale is None:
        return max(1, math.ceil(min_width / max(W, 1)))
    upscale = int(upscale)
    if upscale < 1:
        raise ValueError(f"upscale must be >= 1, got {upscale}")
    return upscale


def _upscale(rgb: np.ndarray, k: int) -> np.ndarray:
    """Nearest-neighbour upscaling of ``[..., H, W, 3]`` by an integer factor."""
    if k == 1:
        return rgb
    return np.repeat(np.repeat(rgb, k, axis=-3), k, axis=-2)


def _font(size: int):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 or no FreeType: fixed small bitmap font
        return ImageFont.load_default()


def _label_text(label, class_names) -> Optional[str]:
    if label is None:
        return None
    if hasattr(label, "item"):
        label = label.item()
    if class_names is not None and isinstance(label, (int, np.integer)):
        if 0 <= int(label) < len(class_names):
            return str(class_names[int(label)])
    return str(label)


def _draw_texts(img, corners: dict, font_size: int):
    """Draw ``{corner: text}`` (corners 'tl', 'tr', 'bl', 'br') on a PIL RGB image, each on a
    translucent dark box so it stays readable over events."""
    from PIL import Image, ImageDraw
    font = _font(font_size)
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(overlay)
    W, H = img.size
    pad = max(2, font_size // 5)
    boxes = []
    for corner, text in corners.items():
        if not text:
            continue
        l, t, r, b = d.textbbox((0, 0), text, font=font)
        tw, th = r - l, b - t
        x = pad if corner[1] == "l" else W - tw - 3 * pad
        y = pad if corner[0] == "t" else H - th - 3 * pad
        x, y = max(0, x), max(0, y)
        d.rectangle([x, y, x + tw + 2 * pad, y + th + 2 * pad], fill=(0, 0, 0, 150))
        boxes.append((x + pad - l, y + pad - t, text))
    for x, y, text in boxes:
        d.text((x, y), text, font=font, fill=(245, 245, 245, 255))
    return Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")


def _annotated_frames(frames, upscale, labels, label, class_names, title, normalize, gamma,
                      representation=None):
    from PIL import Image
    rgb = frames_to_rgb(frames, normalize=normalize, gamma=gamma, representation=representation)
    if rgb.ndim == 3:
        rgb = rgb[None]
    T, H, W, _ = rgb.shape
    k = _auto_upscale(W, upscale)
    rgb = _upscale(rgb, k)
    if labels is not None and len(labels) != T:
        raise ValueError(f"labels has {len(labels)} entries for {T} frames")
    font_size = max(11, round(W * k / 18))
    sample = _label_text(label, class_names)
    out = []
    for i in range(T):
        corners = {"tl": f"t={i + 1}/{T}", "tr": title, "bl": sample,
                   "br": _label_text(labels[i], class_names) if labels is not None else None}
        out.append(_draw_texts(Image.fromarray(rgb[i]), corners, font_size))
    return out


def _check_fps(fps) -> float:
    f = float(fps)
    if not (f > 0 and np.isfinite(f)):
        raise ValueError(f"fps must be a positive number of frames per second, got {fps!r}")
    return f


def save_gif(frames, path: PathLike, *, fps: float = 10, upscale: Optional[int] = None,
             labels: Optional[Sequence] = None, label=None, class_names=None,
             title: Optional[str] = None, normalize: Optional[str] = "percentile",
             gamma: float = 0.5, representation: Optional[str] = None) -> Path:
    """Write frames as an animated GIF that loops forever (see :func:`play_frame`)."""
    fps = _check_fps(fps)
    images = _annotated_frames(frames, upscale, labels, label, class_names, title, normalize,
                               gamma, representation)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    duration = max(20, int(round(1000.0 / float(fps))))  # ms; browsers clamp < 20 ms
    from PIL import Image
    # An adaptive palette per frame (no dithering): the frames hold few distinct colours.
    adaptive = getattr(Image, "Palette", Image).ADAPTIVE
    pal = [im.convert("P", palette=adaptive, colors=256) for im in images]
    pal[0].save(path, format="GIF", save_all=True, append_images=pal[1:], duration=duration,
                loop=0, optimize=False, disposal=1)
    return path


def play_frame(x, save_gif_to: Optional[PathLike] = None, *, fps: float = 10,
               upscale: Optional[int] = None, labels: Optional[Sequence] = None, label=None,
               class_names: Optional[Sequence[str]] = None, title: Optional[str] = None,
               normalize: Optional[str] = "percentile", gamma: float = 0.5,
               representation: Optional[str] = None):
    """Show frames ``x`` (``[T, 2, H, W]`` or ``[2, H, W]``, numpy or torch) as an animation, or
    save them as a GIF (SpikingJelly's ``play_frame(x, save_gif_to=None)``).

    With ``save_gif_to``: an animated GIF looping forever, ``fps`` frames per second, each frame
    upscaled (nearest neighbour) by ``upscale`` (default: the smallest integer making it at least
    256 px wide) and annotated: ``t=i/T`` top left, ``title`` top right, the sample's ``label``
    bottom left and ``labels[i]`` (a per-frame sequence, e.g. predictions) bottom right; integer
    labels are shown as ``class_names[label]`` when given. Returns the path.

    Without: a matplotlib animation shown with ``plt.show()`` on an interactive backend (no
    annotations but the title and frame counter); returns the ``FuncAnimation`` (keep it
    referenced in notebooks). On a non-interactive backend nothing blocks.

    ``representation``: what the frames are (``ds.setting.representation``): voxel grids,
    time surfaces, ... get their own colour maps and channel grids (:func:`repr_to_rgb`).
    """
    fps = _check_fps(fps)
    if save_gif_to is not None:
        return save_gif(x, save_gif_to, fps=fps, upscale=upscale, labels=labels, label=label,
                        class_names=class_names, title=title, normalize=normalize, gamma=gamma,
                        representation=representation)
    import matplotlib.pyplot as plt
    from matplotlib import animation
    rgb = frames_to_rgb(x, normalize=normalize, gamma=gamma, representation=representation)
    if rgb.ndim == 3:
        rgb = rgb[None]
    T = rgb.shape[0]
    name = _label_text(label, class_names)
    head = " | ".join(s for s in (title, name) if s)
    fig, ax = plt.subplots(facecolor="#0e0e14")
    ax.set_axis_off()
    im = ax.imshow(rgb[0], interpolation="nearest")
    txt = ax.set_title("", color="white")

    def update(i):
        im.set_data(rgb[i])
        extra = _label_text(labels[i], class_names) if labels is not None else None
        txt.set_text(" | ".join(s for s in (head, f"t={i + 1}/{T}", extra) if s))
        return im, txt

    update(0)
    anim = animation.FuncAnimation(fig, update, frames=T, interval=1000.0 / float(fps),
                                   blit=False, repeat=True)
    import matplotlib
    if matplotlib.get_backend().lower() in ("agg", "pdf", "pgf", "ps", "svg", "cairo",
                                            "template"):
        fig.canvas.draw()   # non-interactive: render once (so the animation counts as used)
        plt.close(fig)      # and never block; anim.save(...) still works
    else:
        plt.show()
    return anim


def save_frames_png(frames, path: PathLike, *, normalize: Optional[str] = "percentile",
                    gamma: float = 0.5, upscale: Optional[int] = None, ncols: Optional[int] = None,
                    gap: int = 2, numbers: bool = True,
                    representation: Optional[str] = None) -> Path:
    """One PNG of the ``T`` frames side by side (``ncols`` per row, default all in one strip),
    ``gap`` dark pixels between them, each frame upscaled by ``upscale`` (default: at least 64 px
    per frame) and numbered ``1..T`` top left when ``numbers``. All frames share one
    normalisation; ``representation`` as in :func:`frames_to_rgb`. Returns the path."""
    from PIL import Image
    rgb = frames_to_rgb(frames, normalize=normalize, gamma=gamma, representation=representation)
    if rgb.ndim == 3:
        rgb = rgb[None]
    T, H, W, _ = rgb.shape
    k = _auto_upscale(W, upscale, min_width=64)
    rgb = _upscale(rgb, k)
    h, w = H * k, W * k
    ncols = T if ncols is None else max(1, min(int(ncols), T))
    nrows = -(-T // ncols)
    sheet = np.zeros((nrows * h + (nrows - 1) * gap, ncols * w + (ncols - 1) * gap, 3), np.uint8)
    sheet[:] = (4, 4, 6)
    for i in range(T):
        r, c = divmod(i, ncols)
        sheet[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = rgb[i]
    img = Image.fromarray(sheet)
    if numbers:
        from PIL import ImageDraw
        d = ImageDraw.Draw(img)
        font = _font(max(10, min(w // 5, 16)))
        for i in range(T):
            r, c = divmod(i, ncols)
            d.text((c * (w + gap) + 3, r * (h + gap) + 2), str(i + 1), font=font,
                   fill=(200, 200, 200))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG")
    return path


def event_grid(events_or_frames_list: Sequence, labels: Optional[Sequence] = None,
               class_names: Optional[Sequence[str]] = None, ncols: Optional[int] = None,
               path: Optional[PathLike] = None, *, sensor_size=None,
               per_class: Optional[int] = None, cell_px: int = 160, title_px: int = 24,
               dpi: int = 100, suptitle: Optional[str] = None,
               normalize: Optional[str] = "percentile", gamma: float = 0.5) -> Path:
    """A sample sheet PNG: one cell per sample showing its accumulated events (sum over time,
    polarity colours, each cell normalised on its own) titled with its class name.

    Items are :class:`~evframes.events.Events` (or mappings with ``x, y, p``; ``sensor_size =
    (W, H)`` recommended, else inferred per sample), frames ``[T, 2, H, W]`` or images
    ``[2, H, W]`` (numpy or torch). ``labels`` give one label per item (titles use
    ``class_names[label]`` when given). ``per_class=k`` (needs ``labels``) keeps the first ``k``
    items of each class, ordered by class: a per-class sheet from a whole dataset. ``ncols``
    defaults to ``ceil(sqrt(n))``.

    The image is exactly ``ncols * cell_px`` by ``nrows * (cell_px + title_px)`` pixels
    (``+ title_px`` when ``suptitle``), dark theme. ``path`` defaults to ``event_grid.png`` in the
    current directory. Returns the path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    items = list(events_or_frames_list)
    if labels is not None:
        labels = [lb.item() if hasattr(lb, "item") else lb for lb in labels]
        if len(labels) != len(items):
            raise ValueError(f"{len(labels)} labels for {len(items)} items")
    if per_class is not None:
        if labels is None:
            raise ValueError("per_class needs labels")
        order, seen = [], {}
        for i in sorted(range(len(items)), key=lambda i: (labels[i], i)):
            if seen.get(labels[i], 0) < per_class:
                seen[labels[i]] = seen.get(labels[i], 0) + 1
                order.append(i)
        items = [items[i] for i in order]
        labels = [labels[i] for i in order]
    n = len(items)
    if n == 0:
        raise ValueError("event_grid needs at least one item")
    ncols = max(1, math.ceil(math.sqrt(n))) if ncols is None else max(1, min(int(ncols), n))
    nrows = -(-n // ncols)
    head = title_px if suptitle else 0
    W_px, H_px = ncols * cell_px, nrows * (cell_px + title_px) + head
    bg = tuple(c / 255 for c in BACKGROUND)
    fig = Figure(figsize=(W_px / dpi, H_px / dpi), dpi=dpi, facecolor=(0.03, 0.03, 0.05))
    FigureCanvasAgg(fig)
    fs = max(6.0, min(11.0, title_px * 0.45 * 72 / dpi))
    for i, item in enumerate(items):
        img = _grid_image(item, sensor_size)
        rgb = frames_to_rgb(img, normalize=normalize, gamma=gamma)
        r, c = divmod(i, ncols)
        pad = 4
        box_h = cell_px + title_px
        left = (c * cell_px + pad) / W_px
        bottom = 1 - (head + r * box_h + title_px + cell_px - pad) / H_px
        ax = fig.add_axes([left, bottom, (cell_px - 2 * pad) / W_px,
                           (cell_px - 2 * pad) / H_px])
        ax.imshow(rgb, interpolation="nearest")
        ax.set_facecolor(bg)
        ax.set_xticks([])
        ax.set_yticks([])
        for s in ax.spines.values():
            s.set_color((0.25, 0.25, 0.3))
        name = _label_text(labels[i], class_names) if labels is not None else f"#{i}"
        ax.set_title(name, color=(0.92, 0.92, 0.92), fontsize=fs, pad=3)
    if suptitle:
        fig.text(0.5, 1 - (head * 0.5) / H_px, suptitle, ha="center", va="center",
                 color="white", fontsize=fs * 1.15)
    path = Path("event_grid.png" if path is None else path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, facecolor=fig.get_facecolor(), format="png")
    return path


def _grid_image(item, sensor_size) -> np.ndarray:
    if isinstance(item, Mapping):
        return events_to_image(item, sensor_size)
    a = _to_numpy(item)
    if a.ndim == 4:
        return a.sum(axis=0)
    if a.ndim == 3:
        return a
    raise ValueError(f"event_grid items must be events or frames [T, 2, H, W] / [2, H, W], got "
                     f"shape {tuple(a.shape)}")
