"""Tonic's plotting helpers (``tonic.utils``, Tonic 1.7), with matplotlib.

- ``plot_event_grid(events, axis_array=(1, 3), plot_frame_number=False)``: the events cut
  into ``rows * cols`` frames by :class:`~evframes.tonic.transforms.ToFrame` with
  ``n_time_bins`` (Tonic's binning: the last event is never in a frame), on a sensor of
  ``(max x + 1, max y + 1, number of polarities)``; each panel shows ``ON - OFF`` counts.
  Events without ``y`` (audio: channels ``x`` over time) are shown as one channels x time
  image of ``2 * channels`` time bins. Calls ``plt.show()``; returns None.
- ``plot_animation(frames, figsize=(5, 5))``: an animation of frames ``[T, C, H, W]`` (numpy or
  tensor), 100 ms per frame: two channels shown as green (channel 0) and blue (channel 1),
  one or three channels as they are. Calls ``plt.show()``; returns the
  ``matplotlib.animation.FuncAnimation`` (keep a reference; ``anim.to_jshtml()`` in a
  notebook, ``anim.save("x.gif")``; for annotated GIFs of dataset samples see
  :mod:`evframes.viz`).

Where Tonic raises, these show what it meant: a grid of one column, ``(rows, 1)`` (Tonic
reshapes its axes to one row and runs out of them), is drawn; events of one polarity (Tonic
indexes a second channel that is not there) show that polarity's counts; one-channel frames
and tensors of one or three channels (Tonic hands them to ``imshow`` / ``np.moveaxis`` as they
are and fails) are converted to images first.
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot_event_grid", "plot_animation"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - matplotlib is a dependency
        raise ImportError("plotting events needs the matplotlib package") from err
    return plt


def event_grid_frames(events: np.ndarray, axis_array=(1, 3)) -> np.ndarray:
    """The frames ``[rows * cols, P, H, W]`` that :func:`plot_event_grid` shows."""
    from .transforms import ToFrame
    if len(events) == 0:
        raise ValueError("plot_event_grid: no events to plot")
    sensor_size = (int(events["x"].max()) + 1, int(events["y"].max()) + 1,
                   len(np.unique(events["p"])))
    return ToFrame(sensor_size=sensor_size, n_time_bins=int(np.prod(axis_array)))(events)


def plot_event_grid(events: np.ndarray, axis_array=(1, 3), plot_frame_number: bool = False):
    """Plot ``events`` (a structured array) as a ``rows x cols`` grid of frames (Tonic's)."""
    plt = _pyplot()
    if "y" not in events.dtype.names:
        from .transforms import ToFrame
        channels = int(events["x"].max()) + 1
        frames = ToFrame(sensor_size=(channels, 1, 1), n_time_bins=channels * 2)(events)
        plt.imshow(np.asarray(frames).squeeze().T)
        plt.xlabel("Time")
        plt.ylabel("Channels")
        return None
    rows, cols = (int(v) for v in axis_array)
    frames = event_grid_frames(events, axis_array)
    _, axes = plt.subplots(rows, cols)
    axes = np.asarray(axes).reshape(rows, cols)
    for i in range(rows):
        for j in range(cols):
            k = i * cols + j
            frame = frames[k]
            ax = axes[i, j]
            ax.imshow(frame[1] - frame[0] if frame.shape[0] > 1 else frame[0])
            ax.axis("off")
            if plot_frame_number:
                ax.title.set_text(str(k))
    plt.tight_layout()
    plt.show()
    return None


def animation_images(frames) -> np.ndarray:
    """The images ``[T, H, W]`` or ``[T, H, W, 3]`` that :func:`plot_animation` shows."""
    frames = np.asarray(frames.detach().cpu() if hasattr(frames, "detach") else frames)
    if frames.ndim != 4:
        raise ValueError(f"plot_animation: frames must be [T, C, H, W], got shape "
                         f"{list(frames.shape)}")
    if frames.shape[1] == 2:  # Tonic: channel 0 green, channel 1 blue
        rgb = np.zeros((frames.shape[0], 3, *frames.shape[2:]))
        rgb[:, 1:] = frames
        frames = rgb
    if frames.shape[1] == 1:
        return frames[:, 0]
    if frames.shape[1] == 3:
        return np.moveaxis(frames, 1, 3)
    return frames


def plot_animation(frames, figsize=(5, 5)):
    """Animate frames ``[T, C, H, W]``; returns the FuncAnimation (Tonic's)."""
    plt = _pyplot()
    from matplotlib import animation
    images = animation_images(frames)
    fig = plt.figure(figsize=figsize)
    ax = plt.imshow(images[0])
    plt.axis("off")

    def animate(image):
        ax.set_data(image)
        return ax

    anim = animation.FuncAnimation(fig, animate, frames=images, interval=100)
    plt.show()
    return anim
