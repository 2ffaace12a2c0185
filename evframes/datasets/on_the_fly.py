"""Frames integrated on the fly, in the DataLoader worker, from the events store.

``NeuromorphicDataset(..., data_type='frame', on_the_fly=True, event_transform=f)`` writes no
frames store: each ``ds[i]`` reads sample ``i``'s events (from the events store, or from shared
memory with ``in_memory=True``), applies ``event_transform`` (an events -> events callable, e.g.
``transforms.Compose([RandomFlip(sensor_size=(128, 128)), DropEvents(0.1)])``), pools the
coordinates by the setting's ``downsample``, and integrates with the same
:class:`~evframes.integrate.FrameSetting` through the single-sample entry point
:func:`evframes.integrate.integrate` (which gives what the frames store's
:func:`~evframes.integrate.integrate_batch` gives for that sample), so every rule, overlap,
custom function and representation gives what the store would hold. Without ``event_transform`` the
frames equal the stored frames bit for bit (after the same ``frame_dtype`` conversion).

Order of operations: events (full sensor resolution, ``events_store.sensor_size``) ->
``event_transform`` -> ``downsample`` -> integrate -> ``frame_dtype`` -> ``transform``.

``frame_dtype``: the stored frames are checked once at construction; frames made on the fly
are checked per sample (free when the integrated dtype fits, e.g. uint16 counts to float32;
otherwise one min/max pass over the sample), and a value the dtype would not hold raises a
ValueError naming the sample.

Random event transforms of :mod:`evframes.transforms` seed their generator per DataLoader
worker (from the worker's torch seed), so each epoch and each worker draws new augmentations;
a plain function should do the same (``torch.utils.data.get_worker_info().seed``).

Why not ``integrate_batch`` here: its histogram pass is a Numba ``parallel=True`` region, and
with Numba's OpenMP threading layer a forked DataLoader worker that enters one after the parent
process did (building a frames store, or reading ``ds[i]`` before the loader starts) is killed
("fork() called from a process already using GNU OpenMP"). The single-sample kernels are
serial, so workers never touch a thread pool; each worker is one core, as a DataLoader wants.
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional, Tuple

import numpy as np
import torch

from ..integrate import FrameSetting, integrate
from ..integrate.core import downsample_coords, downsampled_size
from .frame_dtype import check_exact_conversion


class OnTheFlyFrames:
    """Integrates one sample's events into frames in the calling process.

    Parameters
    ----------
    setting : FrameSetting
        The frames setting (any rule, custom function or representation).
    sensor_size : (W, H)
        The events store's sensor, in pixels (before ``downsample``).
    event_transform : callable, optional
        ``f(events) -> events`` applied before integration; its events must stay on the
        ``sensor_size`` sensor and sorted by time (integration refuses others).
    frame_dtype : torch.dtype
        dtype of the returned tensor.
    where : str
        Names the dataset in messages.
    """

    def __init__(self, setting: FrameSetting, sensor_size: Tuple[int, int],
                 event_transform: Optional[Callable], frame_dtype: torch.dtype, where: str):
        if event_transform is not None and not callable(event_transform):
            raise ValueError("event_transform must be a callable events -> events")
        self.setting = setting
        self.event_transform = event_transform
        self.frame_dtype = frame_dtype
        self.where = where
        self.W, self.H = downsampled_size(sensor_size, setting.downsample)

    @property
    def sensor_size(self) -> Tuple[int, int]:
        """``(W, H)`` of the frames (after ``downsample``), as the frames store records."""
        return self.W, self.H

    def frames_array(self, ev: Mapping) -> np.ndarray:
        """The integrated frames ``[T, C, H, W]`` (numpy, the integrator's dtype) of one
        sample's events, after ``event_transform`` and ``downsample``."""
        if self.event_transform is not None:
            ev = self.event_transform(ev)
        t, x, y, p = (np.asarray(ev[k]) for k in ("t", "x", "y", "p"))
        x, y = downsample_coords(x, y, self.setting.downsample)
        return integrate({"t": t, "x": x, "y": y, "p": p}, self.setting, self.H, self.W)

    def __call__(self, ev: Mapping, i: int) -> torch.Tensor:
        """Frames of sample ``i`` (events ``ev``) as a ``frame_dtype`` tensor."""
        try:
            arr = self.frames_array(ev)
        except ValueError as e:
            raise ValueError(f"{self.where}: sample {i} on the fly: {e}") from None
        # frame offsets that put every frame in sample i, so a refusal names sample i
        offs = np.zeros(i + 2, np.int64)
        offs[-1] = arr.shape[0]
        check_exact_conversion(arr, offs, self.frame_dtype, f"{self.where} (on the fly)")
        return torch.from_numpy(np.ascontiguousarray(arr)).to(self.frame_dtype)
