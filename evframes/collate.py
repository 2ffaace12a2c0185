"""SpikingJelly's pad/mask collation for variable-length frame sequences.

- :func:`pad_sequence_collate`: ``batch -> (x [N, T_max, ...], y [N], lengths [N])``.
- :func:`padded_sequence_mask`: ``lengths [N] -> bool [T, N]``, True where ``t < length``.
- :func:`collate_events`: ``(events, label)`` samples -> the flat batch ``(t, x, y, p,
  offsets, labels)`` that :func:`evframes.integrate.torch.frames_by_setting` integrates on
  any device (defined there).
"""
from __future__ import annotations

from typing import Optional

import torch

from .integrate.torch import collate_events


def pad_sequence_collate(batch, time_first: bool = False):
    """Collate ``[(x [T_i, ...], y), ...]`` of varying ``T_i`` (SpikingJelly's semantics).

    Returns ``(x, y, lengths)``: ``x`` ``[N, T_max, ...]`` zero-padded at the end
    (``[T_max, N, ...]`` when ``time_first``), ``y`` a tensor of the targets, ``lengths``
    int64 ``[N]`` holding each ``T_i``.
    """
    xs, ys, lens = [], [], []
    for x, y in batch:
        x = torch.as_tensor(x)
        xs.append(x)
        lens.append(x.shape[0])
        ys.append(y)
    x = torch.nn.utils.rnn.pad_sequence(xs, batch_first=not time_first)
    return x, torch.as_tensor(ys), torch.as_tensor(lens, dtype=torch.long)


def pad_sequence_collate_time_first(batch):
    """:func:`pad_sequence_collate` with ``x`` as ``[T_max, N, ...]``."""
    return pad_sequence_collate(batch, time_first=True)


def padded_sequence_mask(sequence_len, T: Optional[int] = None) -> torch.Tensor:
    """Bool mask ``[T, N]``, True where ``t < sequence_len[n]`` (SpikingJelly's semantics).

    ``T`` defaults to ``max(sequence_len)``."""
    lens = torch.as_tensor(sequence_len)
    if T is None:
        T = int(lens.max()) if lens.numel() else 0
    t = torch.arange(T, device=lens.device).unsqueeze(1)
    return t < lens.unsqueeze(0)


__all__ = ["collate_events", "pad_sequence_collate", "pad_sequence_collate_time_first",
           "padded_sequence_mask"]
