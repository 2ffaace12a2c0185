"""DVS128 Gesture as a torch Dataset, named as SpikingJelly's
``spikingjelly.datasets.dvs128_gesture.DVS128Gesture`` (raw layout: :mod:`evframes.raw.dvs128`).

>>> from evframes.datasets import DVS128Gesture
>>> train = DVS128Gesture("data/dvs128", train=True, data_type="frame", frames_number=20,
...                       split_by="number")
>>> x, y = train[0]          # float32 tensor [20, 2, 128, 128], int label 0..10
"""
from .base import NeuromorphicDataset


class DVS128Gesture(NeuromorphicDataset):
    """DVS128 Gesture (11 classes, 128 x 128). Labels are ``class - 1`` of the labels CSVs."""

    raw_name = "dvs128"
