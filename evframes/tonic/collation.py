"""Tonic's collate function (``tonic.collation``, Tonic 1.7).

``PadTensors(batch_first=True)`` pads every sample of a batch with zeros along its first
dimension (time) to the longest sample's length and stacks them: ``[B, T_max, ...]`` with
``batch_first=True``, ``[T_max, B, ...]`` with ``batch_first=False``. It returns
``(samples, targets)``, no lengths (use :func:`evframes.collate.pad_sequence_collate` for those).

Tonic's behaviour, kept on purpose:

- numpy samples become tensors (``torch.tensor``: a copy, the dtype kept), then are
  concatenated with ``torch.zeros`` padding, whose float32 dtype takes part in type promotion:
  integer or bool samples (ToFrame's int16 frames) come out **float32**, float64 stays float64;
  the longest sample too (its padding is empty).
- sparse samples are resized in place to ``T_max`` (no copy).
- targets: scalars (and one-element vectors) become one tensor ``[B]`` of their dtype (int64
  for Python ints); targets with two or more dimensions are stacked (dim 0, or the last dim
  with ``batch_first=False``).

Where Tonic crashes, this returns what it would have meant: vectors of several elements as
targets (Tonic raises in ``torch.tensor``) are stacked like the higher-dimensional ones; an
empty batch raises a ValueError saying so.
"""
from __future__ import annotations

import torch

__all__ = ["PadTensors"]


class PadTensors:
    """Collate ``[(sample, target), ...]`` into ``(padded samples, targets)`` (Tonic's).

    Parameters
    ----------
    batch_first : bool, default True
        Batch dimension first (``[B, T, ...]``) or second (``[T, B, ...]``, snnTorch's layout).
    """

    def __init__(self, batch_first: bool = True):
        self.batch_first = batch_first

    def __call__(self, batch):
        if len(batch) == 0:
            raise ValueError("PadTensors: empty batch (no samples to pad)")
        pairs = [(s if isinstance(s, torch.Tensor) else torch.tensor(s),
                  t if isinstance(t, torch.Tensor) else torch.tensor(t)) for s, t in batch]
        longest = max(s.shape[0] for s, _ in pairs)
        samples = []
        for s, _ in pairs:
            if s.is_sparse:
                s.sparse_resize_((longest, *s.shape[1:]), s.sparse_dim(), s.dense_dim())
            else:
                pad = torch.zeros(longest - s.shape[0], *s.shape[1:], device=s.device)
                s = torch.cat((s, pad))
            samples.append(s)
        out = torch.stack(samples, 0 if self.batch_first else 1)
        targets = [t for _, t in pairs]
        if targets[0].dim() > 1 or (targets[0].dim() == 1
                                    and any(t.numel() != 1 for t in targets)):
            tgt = torch.stack(targets, 0 if self.batch_first else -1)
        else:  # scalars (and one-element vectors, as Tonic): one tensor [B], dtype kept
            tgt = torch.tensor(targets, device=targets[-1].device)
        return out, tgt
