"""NAVGesture as torch Datasets, named as SpikingJelly's
``spikingjelly.datasets.nav_gesture.NAVGestureWalk`` / ``NAVGestureSit`` (raw layout, classes,
SpikingJelly's and Tonic's conventions: :mod:`evframes.raw.nav_gesture`).

SpikingJelly's call works as it is: no ``train`` means the whole variant in SpikingJelly's order
(gesture folders ``do, ho, le, ri, se, up``, then file names), split afterwards::

    dataset = NAVGestureWalk(root, data_type="frame", frames_number=16, split_by="number")
    train_set, test_set = split_to_train_test_set(0.9, dataset, 6)

``train=True`` / ``False`` (keyword) gives the same split directly (per gesture the first
``math.ceil(n * train_ratio)`` recordings, ``train_ratio=0.9``). Frames are
``[T, 2, 240, 304]``; events as SpikingJelly returns them (``t`` from 0, ``y`` flipped:
``orientation='raw'`` keeps the stored values). ``sample_meta(i)`` names the subject.
"""
from .n_caltech101 import WholeSetDataset


class NAVGestureWalk(WholeSetDataset):
    """NavGesture-walk (6 gestures, 304 x 240; subjects walking). See the module docstring and
    :class:`~evframes.datasets.n_caltech101.WholeSetDataset` for the arguments."""

    raw_name = "navgesture-walk"


class NAVGestureSit(NAVGestureWalk):
    """NavGesture-sit (6 gestures, 304 x 240; subjects sitting), as :class:`NAVGestureWalk`."""

    raw_name = "navgesture-sit"
