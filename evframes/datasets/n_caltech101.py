"""N-Caltech101 as a torch Dataset, named as SpikingJelly's
``spikingjelly.datasets.n_caltech101.NCaltech101`` (raw layout, classes, sensor size policy and
the peers' differences: :mod:`evframes.raw.ncaltech101`).

SpikingJelly's call works as it is: no ``train`` means the whole dataset in SpikingJelly's
order (class folders sorted as strings, then file names), split afterwards with
:func:`evframes.datasets.split_to_train_test_set`::

    dataset = NCaltech101(root, data_type="frame", frames_number=16, split_by="number")
    train_set, test_set = split_to_train_test_set(0.9, dataset, 101)

``train=True`` / ``False`` (keyword) gives the same split directly (per class the first
``math.ceil(n * train_ratio)`` recordings, ``train_ratio=0.9``), stored once per split.
Frames are ``[T, 2, 180, 240]`` (the fixed 240 x 180 sensor; recordings smaller than it leave
the rest empty).
"""
from typing import Callable, Optional

import numpy as np

from .base import NeuromorphicDataset


class WholeSetDataset(NeuromorphicDataset):
    """Base of SpikingJelly's datasets without an official split (N-Caltech101, ASL-DVS):
    SpikingJelly's positional order without ``train`` (``root, data_type, frames_number,
    split_by, duration, custom_integrate_function, custom_integrated_frames_dir_name,
    transform, target_transform``); ``train`` is keyword-only: None (default) = the whole
    dataset in SpikingJelly's sample order, True / False = the per-class ratio split
    (``train_ratio=``). Labels already are SpikingJelly's (class folders sorted as strings),
    so ``label_order='spikingjelly'`` changes nothing. Every option of
    :class:`NeuromorphicDataset` applies."""

    whole_when_train_none = True

    def __init__(self, root, data_type: str = "event", frames_number: Optional[int] = None,
                 split_by: Optional[str] = None, duration: Optional[int] = None,
                 custom_integrate_function: Optional[Callable] = None,
                 custom_integrated_frames_dir_name: Optional[str] = None,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, *, train: Optional[bool] = None,
                 **options):
        if isinstance(data_type, bool):
            raise TypeError(f"{type(self).__name__} takes no positional train (SpikingJelly's "
                            f"order: root, data_type, frames_number, split_by, ...): give "
                            f"train=True/False as a keyword, or leave it out for the whole "
                            f"dataset")
        super().__init__(root, train, data_type, frames_number, split_by, duration,
                         custom_integrate_function, custom_integrated_frames_dir_name,
                         transform, target_transform, **options)

    @classmethod
    def _spikingjelly_map(cls, n: int) -> np.ndarray:
        return np.arange(n, dtype=np.int64)  # our labels are SpikingJelly's


class NCaltech101(WholeSetDataset):
    """N-Caltech101 (101 classes: 100 objects and ``BACKGROUND_Google``; 240 x 180 sensor).
    See the module docstring and :class:`WholeSetDataset` for the arguments."""

    raw_name = "ncaltech101"
