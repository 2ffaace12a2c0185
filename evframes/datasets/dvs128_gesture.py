"""DVS128 Gesture as a torch Dataset, named as SpikingJelly's
``spikingjelly.datasets.dvs128_gesture.DVS128Gesture`` (raw layout: :mod:`evframes.raw.dvs128`).

>>> from evframes.datasets import DVS128Gesture
>>> train = DVS128Gesture("data/dvs128", train=True, data_type="frame", frames_number=20,
...                       split_by="number")
>>> x, y = train[0]          # float32 tensor [20, 2, 128, 128], int label 0..10

Labels: ``class - 1`` of the labels CSVs (0 hand clapping ... 10 other gestures). SpikingJelly
stores samples in folders ``'0'..'10'`` that its DatasetFolder sorts as strings, so its label
of our ``L`` is the position of ``str(L)`` in ``'0','1','10','2',...,'9'``: 0->0, 1->1, 10->2,
2->3, 3->4, ..., 9->10. ``label_order='spikingjelly'`` returns those (``classes`` reordered to
match), so checkpoints trained with SpikingJelly evaluate correctly.
"""
from .base import NeuromorphicDataset


class DVS128Gesture(NeuromorphicDataset):
    """DVS128 Gesture (11 classes, 128 x 128). Labels are ``class - 1`` of the labels CSVs
    (``label_order='spikingjelly'``: SpikingJelly's scrambled ones, see the module docstring).
    Positional arguments in SpikingJelly's order (``root, train, data_type, frames_number,
    split_by, duration, custom_integrate_function, custom_integrated_frames_dir_name,
    transform, target_transform``); ``train`` must be True or False."""

    raw_name = "dvs128"
