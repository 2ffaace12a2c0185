"""POKER-DVS as a torch Dataset with SpikingJelly's constructor (SpikingJelly has no POKER-DVS;
raw layout, classes and Tonic's conventions: :mod:`evframes.raw.poker_dvs`).

>>> from evframes.datasets import POKERDVS
>>> train = POKERDVS("data/pokerdvs", train=True, data_type="frame", frames_number=10,
...                  split_by="number")
>>> x, y = train[0]          # float32 tensor [10, 2, 35, 35], int label 0..3 (cl, he, di, sp)
"""
from .base import NeuromorphicDataset


class POKERDVS(NeuromorphicDataset):
    """POKER-DVS (4 suits, 35 x 35; Tonic's train / test split). Positional arguments in
    SpikingJelly's order (``root, train, data_type, frames_number, split_by, duration,
    custom_integrate_function, custom_integrated_frames_dir_name, transform,
    target_transform``); ``train`` must be True or False."""

    raw_name = "pokerdvs"
