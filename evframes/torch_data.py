"""Moved: :class:`NeuromorphicDataset` to :mod:`evframes.datasets.base`, the frame_dtype check to
:mod:`evframes.datasets.frame_dtype`, the pad/mask collation to :mod:`evframes.collate`; the old
names stay importable from here."""
from .collate import pad_sequence_collate, pad_sequence_collate_time_first, padded_sequence_mask
from .datasets.base import NeuromorphicDataset
from .datasets.frame_dtype import (
                                   _SCAN_BYTES,
                                   _digits,
                                   _dtype_holds,
                                   _fitting_dtype,
                                   check_exact_conversion,
)

__all__ = ["NeuromorphicDataset", "check_exact_conversion", "pad_sequence_collate",
           "pad_sequence_collate_time_first", "padded_sequence_mask", "_SCAN_BYTES", "_digits",
           "_dtype_holds", "_fitting_dtype"]
