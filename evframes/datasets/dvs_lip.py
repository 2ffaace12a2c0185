"""DVS-Lip as a torch Dataset, named as SpikingJelly's ``spikingjelly.datasets.dvs_lip.DVSLip``
(raw layout, classes and the peers' conventions: :mod:`evframes.raw.dvs_lip`).

>>> from evframes.datasets import DVSLip
>>> train = DVSLip("data/dvslip", train=True, data_type="frame", frames_number=30,
...                split_by="number")
>>> x, y = train[0]          # float32 tensor [30, 2, 128, 128], int label 0..99 (the words)

As SpikingJelly, ``train`` must be True or False (``train=None`` raises a ValueError); labels are
SpikingJelly's and Tonic's (the word's position in the sorted list).
"""
from .base import NeuromorphicDataset


class DVSLip(NeuromorphicDataset):
    """DVS-Lip (100 words, 128 x 128; the official train / test split). Positional arguments in
    SpikingJelly's order (``root, train, data_type, frames_number, split_by, duration,
    custom_integrate_function, custom_integrated_frames_dir_name, transform,
    target_transform``)."""

    raw_name = "dvslip"
