"""CIFAR10-DVS as a torch Dataset, named as SpikingJelly's
``spikingjelly.datasets.cifar10_dvs.CIFAR10DVS`` (raw layout: :mod:`evframes.raw.cifar10dvs`)."""
from .base import NeuromorphicDataset


class CIFAR10DVS(NeuromorphicDataset):
    """CIFAR10-DVS (10 classes, 128 x 128). Extra options: ``train_ratio=0.9``,
    ``orientation='spikingjelly'|'raw'`` (see ``evframes.raw.cifar10dvs``)."""

    raw_name = "cifar10dvs"
