"""N-CARS as a torch Dataset with SpikingJelly's constructor (SpikingJelly has no N-CARS; the
name is Tonic's ``NCARS``). Raw layout, classes, the sensor size policy and Tonic's
conventions: :mod:`evframes.raw.ncars`.

>>> from evframes.datasets import NCARS
>>> train = NCARS("data/ncars", train=True, data_type="frame", frames_number=10,
...               split_by="number")
>>> x, y = train[0]          # float32 tensor [10, 2, 100, 120], int label 0 background, 1 cars

Frames are ``[T, 2, 100, 120]``: one fixed 120 x 100 sensor (the largest crop) for every
sample; events keep their recorded coordinates, so a smaller crop fills the top left part.
"""
from .base import NeuromorphicDataset


class NCARS(NeuromorphicDataset):
    """N-CARS (2 classes: background, cars; crops of at most 120 x 100; the official train /
    test split). Positional arguments in SpikingJelly's order (``root, train, data_type,
    frames_number, split_by, duration, custom_integrate_function,
    custom_integrated_frames_dir_name, transform, target_transform``); ``train`` must be True
    or False."""

    raw_name = "ncars"
