"""CIFAR10-DVS as a torch Dataset, named as SpikingJelly's
``spikingjelly.datasets.cifar10_dvs.CIFAR10DVS`` (raw layout: :mod:`evframes.raw.cifar10dvs`).

SpikingJelly's call works as it is: no ``train`` means the whole dataset (1000 recordings per
class, in SpikingJelly's order), split afterwards with
:func:`evframes.datasets.split_to_train_test_set`::

    dataset = CIFAR10DVS(root, data_type="frame", frames_number=16, split_by="number")
    train_set, test_set = split_to_train_test_set(0.9, dataset, 10)

``train=True`` / ``False`` (keyword) gives evframes' deterministic split instead: the first 90%
of each class by natural file order (``train_ratio=``).
"""
import re
from pathlib import PurePosixPath
from typing import Callable, Optional

from ..raw.cifar10dvs import CLASSES
from .base import NeuromorphicDataset

#: the class names in label order (SpikingJelly's ``CIFAR10DVS_CLASS_NAMES``)
CIFAR10DVS_CLASS_NAMES = tuple(CLASSES)


class CIFAR10DVS(NeuromorphicDataset):
    """CIFAR10-DVS (10 classes, 128 x 128).

    Positional arguments in SpikingJelly's order (``root, data_type, frames_number, split_by,
    duration, custom_integrate_function, custom_integrated_frames_dir_name, transform,
    target_transform``); ``train`` is keyword-only: None (default, SpikingJelly's) = the whole
    dataset in SpikingJelly's sample order (class, then file name sorted as a string:
    ``cifar10_airplane_0, _1, _10, _100, ...``), True / False = evframes' split. Extra options:
    ``train_ratio=0.9`` (evframes' split), ``orientation='spikingjelly'|'raw'`` (see
    ``evframes.raw.cifar10dvs``) and every option of :class:`NeuromorphicDataset`.
    """

    raw_name = "cifar10dvs"
    whole_when_train_none = True
    spikingjelly_folders = CIFAR10DVS_CLASS_NAMES

    def __init__(self, root, data_type: str = "event", frames_number: Optional[int] = None,
                 split_by: Optional[str] = None, duration: Optional[int] = None,
                 custom_integrate_function: Optional[Callable] = None,
                 custom_integrated_frames_dir_name: Optional[str] = None,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, *, train: Optional[bool] = None,
                 **options):
        if isinstance(data_type, bool):
            raise TypeError("CIFAR10DVS takes no positional train (SpikingJelly's order: root, "
                            "data_type, frames_number, split_by, ...): give train=True/False "
                            "as a keyword, or leave it out for the whole dataset")
        super().__init__(root, train, data_type, frames_number, split_by, duration,
                         custom_integrate_function, custom_integrated_frames_dir_name,
                         transform, target_transform, **options)


_NUMBER = re.compile(r"_(\d+)$")


class CIFAR10DVSTEBNSplit(CIFAR10DVS):
    """CIFAR10-DVS in the TEBN paper's split (SpikingJelly's ``CIFAR10DVSTEBNSplit``): per
    class, recordings ``cifar10_<class>_0`` .. ``_99`` (the number in the file name, in
    :attr:`TEST_NUMBERS`) are the test set, ``_100`` .. ``_999`` (:attr:`TRAIN_NUMBERS`) the
    train set; other files belong to neither. Samples in SpikingJelly's order (class, then file
    name as a string). Positional arguments in SpikingJelly's order (``root, train,
    data_type, ...``); ``train`` must be True or False.
    """

    TEST_NUMBERS = range(0, 100)
    TRAIN_NUMBERS = range(100, 1000)

    def __init__(self, root, train: bool = True, data_type: str = "event",
                 frames_number: Optional[int] = None, split_by: Optional[str] = None,
                 duration: Optional[int] = None,
                 custom_integrate_function: Optional[Callable] = None,
                 custom_integrated_frames_dir_name: Optional[str] = None,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, **options):
        if train is None or options.get("split") is not None:
            raise ValueError("CIFAR10DVSTEBNSplit: give train=True or False (its split is "
                             "fixed by the file numbers)")
        super().__init__(root, data_type, frames_number, split_by, duration,
                         custom_integrate_function, custom_integrated_frames_dir_name,
                         transform, target_transform, train=None, **options)
        numbers = self.TRAIN_NUMBERS if train else self.TEST_NUMBERS
        keep = []
        for i in range(len(self._index)):
            m = _NUMBER.search(PurePosixPath(str(self.sample_meta(i)["source"])).stem)
            if m is not None and int(m.group(1)) in numbers:
                keep.append(i)
        self._index, self.labels = self._index[keep], self.labels[keep]
        self.split = "train" if train else "test"
