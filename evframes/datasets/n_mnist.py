"""N-MNIST as a torch Dataset, named as SpikingJelly's ``spikingjelly.datasets.n_mnist.NMNIST``
(raw layout: :mod:`evframes.raw.nmnist`)."""
from .base import NeuromorphicDataset


class NMNIST(NeuromorphicDataset):
    """N-MNIST (10 digits, 34 x 34)."""

    raw_name = "nmnist"
