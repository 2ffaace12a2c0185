"""ASL-DVS as a torch Dataset, named as SpikingJelly's ``spikingjelly.datasets.asl_dvs.ASLDVS``
(raw layout, orientation and the peers' differences: :mod:`evframes.raw.asl_dvs`).

As :class:`~evframes.datasets.NCaltech101`: no ``train`` = the whole dataset in SpikingJelly's
order (letters ``a`` ... ``y`` without ``j``, labels 0..23, then file names), for
``split_to_train_test_set(ratio, dataset, 24)``; ``train=True`` / ``False`` (keyword) = the same
per-letter ratio split (``train_ratio=0.9``). Coordinates as SpikingJelly's
(``orientation='spikingjelly'``: both axes flipped; ``'tonic'``, ``'raw'``). Frames are
``[T, 2, 180, 240]``.
"""
from .n_caltech101 import WholeSetDataset


class ASLDVS(WholeSetDataset):
    """ASL-DVS (24 letters, 240 x 180). See the module docstring."""

    raw_name = "asldvs"
