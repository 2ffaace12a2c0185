"""SpikingJelly's ``spikingjelly.datasets.utils`` names (also importable from
:mod:`evframes.datasets`): same names, signatures and values where a name is listed here.

Defined here: :func:`split_to_train_test_set`, :func:`load_npz_frames`, :func:`load_aedat_v3`,
:func:`load_ATIS_bin`, :func:`save_as_pic`. Re-exported: :func:`pad_sequence_collate`,
:func:`padded_sequence_mask` (:mod:`evframes.collate`), :func:`integrate_events_segment_to_frame`,
:func:`cal_fixed_frames_number_segment_index`, :func:`integrate_events_by_fixed_frames_number`,
:func:`integrate_events_by_fixed_duration` (:mod:`evframes.integrate.spikingjelly`) and
:func:`play_frame` (:mod:`evframes.viz`, imported on first use: it loads Pillow).

Not provided (SpikingJelly's per-sample ``.npz`` folder machinery, which the HDF5 stores
replace): ``np_savez``, ``integrate_events_file_to_frames_file_by_fixed_frames_number``,
``integrate_events_file_to_frames_file_by_fixed_duration``, ``create_same_directory_structure``,
``create_sub_dataset`` (a subset is ``torch.utils.data.Subset`` or
:func:`split_to_train_test_set`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import List, Sequence

import numpy as np
import torch

from ..collate import pad_sequence_collate, padded_sequence_mask  # noqa: F401
from ..integrate.spikingjelly import (  # noqa: F401
    cal_fixed_frames_number_segment_index,
    integrate_events_by_fixed_duration,
    integrate_events_by_fixed_frames_number,
    integrate_events_segment_to_frame,
)
from .base import NeuromorphicDataset


def _class_index(label):
    return label.item() if isinstance(label, (np.ndarray, torch.Tensor)) else label


def dataset_labels(dataset) -> List:
    """Every sample's label as ``dataset[i][1]`` would give it, reading no sample where the
    dataset exposes its labels: evframes' Datasets (their ``labels`` through
    ``target_transform``) and ``torch.utils.data.Subset`` of them; any other dataset is
    iterated, as SpikingJelly does."""
    if isinstance(dataset, torch.utils.data.Subset):
        inner = dataset_labels(dataset.dataset)
        return [inner[int(i)] for i in dataset.indices]
    if isinstance(dataset, NeuromorphicDataset):
        labels = [int(v) for v in dataset.labels]
        tt = dataset.target_transform if dataset._parts is None else \
            dataset._parts[0].target_transform
        return [_class_index(tt(v)) for v in labels] if tt is not None else labels
    return [_class_index(item[1]) for item in dataset]


def split_to_train_test_set(train_ratio: float, origin_dataset, num_classes: int,
                            random_split: bool = False):
    """``(train Subset, test Subset)`` of ``origin_dataset``: SpikingJelly's split.

    Per class (labels ``0 .. num_classes - 1``), the sample indices in dataset order; the first
    ``math.ceil(len * train_ratio)`` of each go to train, the rest to test; train and test list
    class 0's indices first, then class 1's, ... With ``random_split``, each class's list is
    first shuffled in place by ``np.random.shuffle``, class 0 first (the global NumPy RNG, so
    ``np.random.seed(s)`` gives SpikingJelly's indices for the same seed). Same indices as
    SpikingJelly for the same labels; labels come from :func:`dataset_labels` (no sample read
    for evframes' Datasets, where SpikingJelly loads every sample).

    Raises
    ------
    ValueError
        A label that is not an integer in ``[0, num_classes)`` (SpikingJelly raises IndexError,
        or files a negative label under the last classes), naming the sample index.
    """
    labels = dataset_labels(origin_dataset)
    label_idx: List[List[int]] = [[] for _ in range(int(num_classes))]
    for i, label in enumerate(labels):
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) \
                or not 0 <= label < num_classes:
            raise ValueError(f"split_to_train_test_set: sample {i} has label {label!r}, not an "
                             f"integer in [0, {num_classes}) (num_classes={num_classes})")
        label_idx[int(label)].append(i)
    if random_split:
        for indices in label_idx:
            np.random.shuffle(indices)
    train_idx: List[int] = []
    test_idx: List[int] = []
    for indices in label_idx:
        pos = math.ceil(len(indices) * train_ratio)
        train_idx.extend(indices[:pos])
        test_idx.extend(indices[pos:])
    return (torch.utils.data.Subset(origin_dataset, train_idx),
            torch.utils.data.Subset(origin_dataset, test_idx))


def load_npz_frames(file_name) -> np.ndarray:
    """The ``frames`` array of a SpikingJelly frames ``.npz`` file as float32 (as its
    ``load_npz_frames``): reads caches SpikingJelly wrote."""
    with np.load(file_name) as f:
        return f["frames"].astype(np.float32)


def load_aedat_v3(file_name) -> dict:
    """Events ``{'t','x','y','p'}`` of an AEDAT 3.1 file (SpikingJelly's ``load_aedat_v3``):
    :func:`evframes.formats.read_aedat3`, which, like it, decodes every slot of a polarity
    packet. Values equal; dtypes are evframes' (t int64 us, x/y int16, p int8)."""
    from ..formats import read_aedat3
    return read_aedat3(file_name)


def load_ATIS_bin(file_name) -> dict:  # noqa: N802 (SpikingJelly's name)
    """Events of an ATIS 40-bit ``.bin`` file decoded as SpikingJelly's ``load_ATIS_bin``
    does: overflow markers (y == 240) kept as events, no 23-bit unwrapping, no plausibility
    check (:func:`evframes.formats.read_atis_bin` with ``overflow_events=False, unwrap=False,
    validate=False``). A length that is not a multiple of 5 bytes raises ``FormatError``
    (SpikingJelly returns arrays of unequal lengths)."""
    from ..formats import read_atis_bin
    return read_atis_bin(file_name, overflow_events=False, unwrap=False, validate=False)


def save_as_pic(x, save_pic_to: str = "./", pic_first_name: str = "pic") -> List[Path]:
    """Write frames ``x`` (``[T, 2, H, W]``, numpy or torch) as ``<pic_first_name>_<t>.png``,
    one PNG per frame, into ``save_pic_to`` (SpikingJelly's ``save_as_pic``). Pixels in
    evframes' polarity colours at the sensor's size (SpikingJelly draws through matplotlib:
    green OFF, blue ON). Returns the paths."""
    from PIL import Image

    from .. import viz
    rgb = viz.frames_to_rgb(x)
    out = Path(save_pic_to)
    paths = []
    for t in range(rgb.shape[0]):
        p = out / f"{pic_first_name}_{t}.png"
        Image.fromarray(rgb[t]).save(p)
        paths.append(p)
    return paths


def play_frame(x, save_gif_to=None, **options):
    """SpikingJelly's ``play_frame(x, save_gif_to=None)``: :func:`evframes.viz.play_frame`
    (an animation, or an annotated GIF when ``save_gif_to`` is given)."""
    from .. import viz
    return viz.play_frame(x, save_gif_to, **options)


#: SpikingJelly's ``spikingjelly.datasets.utils`` names that evframes provides
SPIKINGJELLY_NAMES: Sequence[str] = (
    "save_as_pic", "play_frame", "load_aedat_v3", "load_ATIS_bin", "load_npz_frames",
    "integrate_events_segment_to_frame", "cal_fixed_frames_number_segment_index",
    "integrate_events_by_fixed_frames_number", "integrate_events_by_fixed_duration",
    "split_to_train_test_set", "pad_sequence_collate", "padded_sequence_mask")

__all__ = [*SPIKINGJELLY_NAMES, "dataset_labels"]
