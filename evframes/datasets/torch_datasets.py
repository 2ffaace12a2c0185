"""torch Datasets with SpikingJelly's constructors (old module name; each class now lives in a
module named as SpikingJelly's: :mod:`.dvs128_gesture`, :mod:`.n_mnist`, :mod:`.cifar10_dvs`).

>>> from evframes.datasets import DVS128Gesture
>>> train = DVS128Gesture("data/dvs128", train=True, data_type="frame", frames_number=20,
...                       split_by="number")
>>> x, y = train[0]          # float32 tensor [20, 2, 128, 128], int label 0..10
"""
from .base import NeuromorphicDataset
from .cifar10_dvs import CIFAR10DVS
from .dvs128_gesture import DVS128Gesture
from .n_mnist import NMNIST

__all__ = ["NeuromorphicDataset", "DVS128Gesture", "NMNIST", "CIFAR10DVS"]
