"""RGB rendering, GIFs, PNG strips and sample sheets."""
import numpy as np
import pytest
import torch
from PIL import Image

from evframes import viz
from evframes.events import make_events

BG = np.array(viz.BACKGROUND)
ON = np.clip(BG + viz.ON_COLOR, 0, 255)
OFF = np.clip(BG + viz.OFF_COLOR, 0, 255)


def close(a, b, tol=12):
    return np.abs(np.asarray(a, int) - np.asarray(b, int)).max() <= tol


def blob_frames(T=5, H=34, W=34, seed=0):
    rng = np.random.default_rng(seed)
    f = np.zeros((T, 2, H, W), np.uint16)
    for t in range(T):
        for _ in range(60):
            x = int(np.clip(rng.normal(8 + 4 * t, 2), 0, W - 1))
            y = int(np.clip(rng.normal(H / 2, 3), 0, H - 1))
            f[t, rng.integers(2), y, x] += 1
    return f


# --------------------------------------------------------------------------- frames_to_rgb

def test_frames_to_rgb_colours_and_shapes():
    f = np.zeros((2, 2, 8, 8), np.uint16)
    f[0, 1, 3, 4] = 5          # ON only
    f[0, 0, 6, 1] = 5          # OFF only
    f[1, :, 2, 2] = 5          # both
    rgb = viz.frames_to_rgb(f)
    assert rgb.shape == (2, 8, 8, 3) and rgb.dtype == np.uint8
    assert close(rgb[0, 3, 4], ON, 1) and close(rgb[0, 6, 1], OFF, 1)
    assert (rgb[1, 2, 2] >= 240).all()          # both polarities: white-ish
    assert close(rgb[0, 0, 0], BG, 1) and close(rgb[1, 7, 7], BG, 1)
    assert ON[0] > ON[2] and OFF[2] > OFF[0]    # warm ON, cool OFF
    single = viz.frames_to_rgb(f[0])
    assert single.shape == (8, 8, 3) and (single == rgb[0]).all()
    assert (viz.frames_to_rgb(torch.from_numpy(f.astype(np.float32))) == rgb).all()
    assert (viz.frames_to_rgb(np.zeros((3, 2, 4, 4))) == BG.astype(np.uint8)).all()
    with pytest.raises(ValueError, match=r"\[T, 2, H, W\]"):
        viz.frames_to_rgb(np.zeros((3, 3, 4, 4)))


def test_sparse_frames_stay_visible():
    f = np.zeros((4, 2, 128, 128), np.uint8)
    f[2, 1, 60, 70] = 1                          # a single event in the whole sequence
    rgb = viz.frames_to_rgb(f)
    assert close(rgb[2, 60, 70], ON, 1)          # full colour, not near-black
    # one hot pixel does not hide a faint scene (percentile normalisation) ...
    g = np.zeros((1, 2, 128, 128), np.uint16)
    g[0, 0, 10:30, 10:30] = 1
    g[0, 1, 100, 100] = 5000
    faint = viz.frames_to_rgb(g)[0, 20, 20]
    assert close(faint, OFF, 1)
    # ... while 'max' normalisation does dim it (gamma still keeps it above background)
    dim = viz.frames_to_rgb(g, normalize="max")[0, 20, 20]
    assert (dim.astype(int) - BG).max() > 3 and (dim.astype(int) < OFF - 100).any()
    # gamma < 1 brightens faint counts
    h = np.zeros((1, 2, 4, 4))
    h[0, 1, 0, 0], h[0, 1, 0, 1] = 1, 4
    assert viz.frames_to_rgb(h, "max", gamma=0.5)[0, 0, 0, 1] > \
        viz.frames_to_rgb(h, "max", gamma=1.0)[0, 0, 0, 1]


# --------------------------------------------------------------------------- GIF

def test_gif_frames_size_loop_and_labels(tmp_path):
    f = blob_frames(T=5, H=34, W=34)
    path = viz.play_frame(f, tmp_path / "a.gif", fps=20, label=2, class_names=list("abcd"),
                          labels=[0, 1, 2, 3, 3], title="demo")
    assert path == tmp_path / "a.gif" and path.exists()
    im = Image.open(path)
    assert im.format == "GIF" and im.n_frames == 5
    assert im.size == (34 * 8, 34 * 8)           # auto upscale to >= 256 px wide
    assert im.info.get("loop") == 0 and im.info.get("duration") == 50
    frames = []
    for i in range(im.n_frames):
        im.seek(i)
        frames.append(np.asarray(im.convert("RGB")))
    assert not all((frames[0] == fr).all() for fr in frames[1:])
    # the text boxes sit in the corners: bright text pixels near the top-left corner
    assert (frames[0][:30, :80] > 200).all(axis=-1).any()
    im.close()
    p2 = viz.play_frame(f, tmp_path / "b.gif", upscale=2)
    assert Image.open(p2).size == (68, 68)
    p3 = viz.play_frame(f, tmp_path / "c.gif", upscale=1)
    assert Image.open(p3).size == (34, 34)
    with pytest.raises(ValueError, match="labels"):
        viz.play_frame(f, tmp_path / "d.gif", labels=[1, 2])


def test_gif_on_pixel_colour_upscaled(tmp_path):
    T, H, W = 3, 32, 32
    f = np.zeros((T, 2, H, W), np.uint8)
    f[:, 1, 16, 20] = 3                          # only ON events at (x=20, y=16)
    f[1, 0, 10, 8] = 3                           # and OFF events in frame 1
    path = viz.play_frame(torch.from_numpy(f), tmp_path / "on.gif")
    im = Image.open(path)
    k = 8                                        # 32 px -> 256 px
    assert im.size == (W * k, H * k) and im.n_frames == T
    im.seek(1)
    a = np.asarray(im.convert("RGB")).astype(int)
    block = a[16 * k:17 * k, 20 * k:21 * k]      # the upscaled pixel: all ON colour
    assert all(close(px, ON) for px in block.reshape(-1, 3))
    assert close(a[10 * k + 3, 8 * k + 3], OFF)
    centre = a[H * k // 4:3 * H * k // 4, W * k // 4:3 * W * k // 4]
    lit = np.abs(centre - BG).max(axis=-1) > 12
    assert lit.sum() == 2 * k * k                # exactly the two event blocks are lit
    assert close(a[5 * k, 26 * k], BG)


# --------------------------------------------------------------------------- PNGs

def test_event_grid_png(tmp_path):
    rng = np.random.default_rng(0)
    items, labels = [], []
    for c in range(4):
        for _ in range(3):
            n = 500
            items.append(make_events(np.sort(rng.integers(0, 10 ** 6, n)),
                                     np.clip(rng.normal(10 + 10 * c, 3, n), 0, 47),
                                     rng.integers(0, 48, n), rng.integers(0, 2, n)))
            labels.append(c)
    names = ["clap", "wave", "drum", "guitar"]
    p = viz.event_grid(items, labels, class_names=names, path=tmp_path / "g.png",
                       sensor_size=(48, 48), per_class=1, cell_px=120, title_px=20)
    assert p.exists()
    im = np.asarray(Image.open(p).convert("RGB"))
    assert im.shape == (2 * (120 + 20), 2 * 120, 3)  # 4 samples -> 2 x 2
    assert np.median(im) < 40                       # dark theme
    # frames and [2, H, W] images, torch or numpy, are accepted too
    fr = [torch.from_numpy(blob_frames(seed=s).astype(np.float32)) for s in range(3)]
    p2 = viz.event_grid(fr + [blob_frames().sum(0)], ncols=4, path=tmp_path / "h.png",
                        cell_px=100, title_px=20, suptitle="samples")
    assert Image.open(p2).size == (4 * 100, 1 * (100 + 20) + 20)
    with pytest.raises(ValueError, match="per_class needs labels"):
        viz.event_grid(items, per_class=1, path=tmp_path / "x.png")


def test_save_frames_png(tmp_path):
    f = blob_frames(T=4, H=16, W=16)
    p = viz.save_frames_png(f, tmp_path / "s.png", gap=2)
    assert Image.open(p).size == (4 * 64 + 3 * 2, 64)   # auto upscale to >= 64 px a frame
    p = viz.save_frames_png(torch.from_numpy(f.astype(np.int32)), tmp_path / "t.png",
                            upscale=1, ncols=2, gap=1, numbers=False)
    a = np.asarray(Image.open(p).convert("RGB"))
    assert a.shape == (2 * 16 + 1, 2 * 16 + 1, 3)
    np.testing.assert_array_equal(a[:16, :16], viz.frames_to_rgb(f)[0])
    np.testing.assert_array_equal(a[17:, 17:], viz.frames_to_rgb(f)[3])


def test_play_frame_without_file_does_not_block():
    import matplotlib
    matplotlib.use("Agg")
    anim = viz.play_frame(blob_frames(T=3), label="x")
    assert anim is not None
