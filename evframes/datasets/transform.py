"""SpikingJelly's ``spikingjelly.datasets.transform``: random deletion of time steps.

Transforms on events and frames of evframes itself: :mod:`evframes.transforms`.
"""
from __future__ import annotations

import numpy as np
import torch


def random_temporal_delete(x_seq, T_remain: int, batch_first: bool):
    """Keep ``T_remain`` time steps of ``x_seq`` (numpy or torch; ``[T, ...]``, or ``[N, T,
    ...]`` when ``batch_first``), drawn without replacement by ``np.random.choice`` and kept in
    time order: SpikingJelly's values for the same NumPy RNG state. Raises ValueError when
    ``T_remain`` exceeds the time steps."""
    axis = 1 if batch_first else 0
    T = x_seq.shape[axis]
    if not 0 <= T_remain <= T:
        raise ValueError(f"random_temporal_delete: T_remain={T_remain} not in [0, {T}] "
                         f"(time steps of x_seq, axis {axis})")
    keep = np.sort(np.random.choice(T, T_remain, replace=False))
    return x_seq[:, keep] if batch_first else x_seq[keep]


class RandomTemporalDelete(torch.nn.Module):
    """:func:`random_temporal_delete` as a module (SpikingJelly's ``RandomTemporalDelete``)."""

    def __init__(self, T_remain: int, batch_first: bool):
        super().__init__()
        self.T_remain = T_remain
        self.batch_first = batch_first

    def forward(self, x_seq):
        return random_temporal_delete(x_seq, self.T_remain, self.batch_first)


__all__ = ["random_temporal_delete", "RandomTemporalDelete"]
