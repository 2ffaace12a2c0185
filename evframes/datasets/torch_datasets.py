"""torch Datasets with SpikingJelly's constructors: switch with an import change.

>>> from evframes.datasets import DVS128Gesture
>>> train = DVS128Gesture("data/dvs128", train=True, data_type="frame", frames_number=20,
...                       split_by="number")
>>> x, y = train[0]          # float32 tensor [20, 2, 128, 128], int label 0..10
"""
from ..torch_data import NeuromorphicDataset


class DVS128Gesture(NeuromorphicDataset):
    """DVS128 Gesture (11 classes, 128 x 128). Labels are ``class - 1`` of the labels CSVs."""
    raw_name = "dvs128"


class NMNIST(NeuromorphicDataset):
    """N-MNIST (10 digits, 34 x 34)."""
    raw_name = "nmnist"


class CIFAR10DVS(NeuromorphicDataset):
    """CIFAR10-DVS (10 classes, 128 x 128). Extra options: ``train_ratio=0.9``,
    ``orientation='spikingjelly'|'raw'`` (see ``evframes.datasets.cifar10dvs``)."""
    raw_name = "cifar10dvs"
