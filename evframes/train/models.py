"""Reference spiking networks for event-camera classification, plus sizing helpers.

Tensor convention (multi-step, time first): every network takes ``x`` of shape
``[T, N, C, H, W]`` (``T`` time bins, ``N`` batch).  evframes datasets yield per-sample
frames ``[T, 2, H, W]``, so a DataLoader batch is ``[N, T, 2, H, W]``: call
:func:`to_time_first` (``x.transpose(0, 1)``) before the model.

Outputs: ``model(x)`` returns the **firing rate** ``[N, n_classes]`` (mean of the output
spikes over T, values in [0, 1]); ``model.forward_seq(x)`` returns the per-step output
``[T, N, n_classes]``.  The SpikingJelly / PLIF recipe trains with
``F.mse_loss(rate, F.one_hot(label, n_classes).float())`` and predicts ``rate.argmax(1)``.

Stateless layers (conv, BN, pooling) run on ``[T*N, ...]`` through :class:`SeqToANN`, the
:class:`~evframes.train.neuron.LIFNode` layers on ``[T, N, ...]``.  Neuron state is
re-initialised inside every forward call, so no ``reset_net`` between batches is needed.
"""
from __future__ import annotations

import copy
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from .neuron import LIFNode

__all__ = ["SeqToANN", "SharedDropout", "VotingLayer", "DVSGestureNet", "CSNN",
           "to_time_first", "count_parameters", "estimate_activation_bytes",
           "estimate_training_memory"]


def to_time_first(x: torch.Tensor) -> torch.Tensor:
    """``[N, T, ...]`` (DataLoader batch of evframes samples) -> ``[T, N, ...]``."""
    return x.transpose(0, 1)


class SeqToANN(nn.Sequential):
    """Apply stateless modules to ``[T, N, ...]`` by folding T into the batch dimension."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        T, N = x.shape[:2]
        y = super().forward(x.flatten(0, 1))
        return y.view(T, N, *y.shape[1:])


class SharedDropout(nn.Module):
    """Dropout whose mask is sampled once per forward and shared by all T time steps.

    Input ``[T, N, ...]``; the mask has shape ``[1, N, ...]`` (a dropped unit stays
    silent for the whole sample, as in SpikingJelly's multi-step ``layer.Dropout``).
    Kept units are scaled by ``1 / (1 - p)``.  Identity in eval mode or with ``p = 0``.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        self.last_mask: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty((1,) + tuple(x.shape[1:]), dtype=x.dtype, device=x.device)
        mask = mask.bernoulli_(keep).div_(keep)
        self.last_mask = mask
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


class VotingLayer(nn.Module):
    """Average each consecutive group of ``voting`` outputs: ``[..., C*voting] -> [..., C]``.

    Same as ``AvgPool1d(voting, voting)`` over the last dimension.
    """

    def __init__(self, voting: int = 10):
        super().__init__()
        self.voting = int(voting)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.voting:
            raise ValueError(f"last dim {x.shape[-1]} not divisible by voting={self.voting}")
        return x.unflatten(-1, (x.shape[-1] // self.voting, self.voting)).mean(-1)

    def extra_repr(self) -> str:
        return f"voting={self.voting}"


def _lif(backend: str, **lif_kwargs) -> LIFNode:
    kw = dict(tau=2.0, detach_reset=True, store_v=False)
    kw.update(lif_kwargs)
    return LIFNode(backend=backend, **kw)


class _SpikingClassifier(nn.Module):
    """Shared plumbing: input checks, firing-rate output."""

    in_channels: int
    input_hw: Tuple[int, int]
    n_classes: int

    def _check_input(self, x: torch.Tensor) -> None:
        # [N, T, C, H, W] has the same rank and channel position: it cannot be detected
        # here, the caller must transpose (see to_time_first).
        if x.dim() != 5 or x.shape[2] != self.in_channels or tuple(x.shape[3:]) != self.input_hw:
            raise ValueError(
                f"{type(self).__name__} expects time-first [T, N, {self.in_channels}, "
                f"{self.input_hw[0]}, {self.input_hw[1]}], got {tuple(x.shape)}")

    def forward_seq(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, N, C, H, W]`` -> output spikes/votes per step ``[T, N, n_classes]``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, N, C, H, W]`` -> firing rate ``[N, n_classes]`` (mean over T)."""
        return self.forward_seq(x).mean(0)


class DVSGestureNet(_SpikingClassifier):
    """PLIF-paper DVS128 Gesture network (SpikingJelly ``DVSGestureNet`` layout).

    ``k`` x [Conv2d(c_in, channels, 3, padding=1, bias=False), BatchNorm2d, LIF,
    MaxPool2d(2)] with ``k = log2(input_size / 4)`` (5 for 128x128) so the feature map
    ends at 4x4, then Flatten, SharedDropout(0.5), Linear(channels*16, 512), LIF,
    SharedDropout(0.5), Linear(512, n_classes*voting), LIF, VotingLayer(voting).

    ``input_size`` must be a power of two >= 8 (e.g. 32, 64, 128 for downsampled frames).
    ``backend`` is passed to every :class:`LIFNode`; ``lif_kwargs`` (tau, detach_reset,
    v_threshold, store_v, ...) too.  Defaults match SpikingJelly's example: tau=2, ATan(2),
    detach_reset=True, hard reset to 0 (and ``store_v=False``: no per-layer copy of the
    last membrane potential is kept between calls).
    """

    def __init__(self, channels: int = 128, input_size: int = 128, backend: str = "torch",
                 in_channels: int = 2, n_classes: int = 11, voting: int = 10,
                 dropout: float = 0.5, hidden: int = 512, **lif_kwargs):
        super().__init__()
        if input_size < 8 or input_size & (input_size - 1):
            raise ValueError(f"input_size must be a power of two >= 8, got {input_size}")
        n_blocks = int(round(math.log2(input_size // 4)))
        self.channels, self.in_channels, self.n_classes = channels, in_channels, n_classes
        self.input_hw = (input_size, input_size)
        self.n_blocks = n_blocks
        layers = []
        c_in = in_channels
        for _ in range(n_blocks):
            layers += [
                SeqToANN(nn.Conv2d(c_in, channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(channels)),
                _lif(backend, **lif_kwargs),
                SeqToANN(nn.MaxPool2d(2, 2)),
            ]
            c_in = channels
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(2),
            SharedDropout(dropout),
            nn.Linear(channels * 4 * 4, hidden),
            _lif(backend, **lif_kwargs),
            SharedDropout(dropout),
            nn.Linear(hidden, n_classes * voting),
            _lif(backend, **lif_kwargs),
        )
        self.voting = VotingLayer(voting)

    def forward_seq(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return self.voting(self.classifier(self.features(x)))


def _pair(v: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    a, b = v
    return (int(a), int(b))


class CSNN(_SpikingClassifier):
    """Small convolutional SNN for N-MNIST (34x34): ``12C5-MP2-32C5-MP2-800FC10``.

    Each conv block is Conv2d(c_in, c, 5, padding=0, bias=False), BatchNorm2d, LIF,
    MaxPool2d(2) (floor).  Without padding the spatial size goes 34 -> 30 -> 15 -> 11 -> 5,
    so the FC sees 32*5*5 = 800 features; ``fc_in`` is computed from ``input_size``,
    ``kernel_size`` and ``padding`` (any size that survives the two blocks works).  The FC
    layer Linear(fc_in, n_classes) is followed by a LIF; the output is its firing rate.
    ``dropout`` > 0 inserts a :class:`SharedDropout` before the FC (off by default).
    """

    def __init__(self, channels: Sequence[int] = (12, 32), input_size=34, in_channels: int = 2,
                 n_classes: int = 10, kernel_size: int = 5, padding: int = 0,
                 backend: str = "torch", dropout: float = 0.0, **lif_kwargs):
        super().__init__()
        self.in_channels, self.n_classes = in_channels, n_classes
        self.input_hw = _pair(input_size)
        layers = []
        c_in = in_channels
        h, w = self.input_hw
        for c in channels:
            layers += [
                SeqToANN(nn.Conv2d(c_in, c, kernel_size, padding=padding, bias=False),
                         nn.BatchNorm2d(c)),
                _lif(backend, **lif_kwargs),
                SeqToANN(nn.MaxPool2d(2, 2)),
            ]
            h = (h + 2 * padding - kernel_size + 1) // 2
            w = (w + 2 * padding - kernel_size + 1) // 2
            if h < 1 or w < 1:
                raise ValueError(f"input {self.input_hw} too small for {len(channels)} "
                                 f"conv{kernel_size}-pool2 blocks")
            c_in = c
        self.fc_in = c_in * h * w
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(2),
            SharedDropout(dropout),
            nn.Linear(self.fc_in, n_classes),
            _lif(backend, **lif_kwargs),
        )

    def forward_seq(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return self.classifier(self.features(x))


# --------------------------------------------------------------------------------------
# sizing helpers (for ``evframes train --dry-run``)
# --------------------------------------------------------------------------------------
def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameter elements."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def estimate_activation_bytes(model: nn.Module, T: int, N: int, input_shape: Sequence[int],
                              dtype: torch.dtype = torch.float32,
                              breakdown: bool = False):
    """Bytes autograd keeps for backward in one training forward of ``[T, N, *input_shape]``.

    The model is deep-copied to the ``meta`` device (no memory, no compute) and run in
    train mode under ``torch.autograd.graph.saved_tensors_hooks``; every distinct saved
    tensor that is not a parameter/buffer (or a view of one) is counted at full size, so
    the figure is exact for the given ``T`` and ``N`` up to allocator rounding.  LIF
    layers are counted as their configured backend saves (``cpu``/``auto``: the input in
    its compute dtype; ``cupy``: ``h`` in float32, whatever the input dtype; ``torch``:
    the per-step autograd tensors).  The model itself is unchanged.

    Returns the total (``int``), or ``(total, {module_name: bytes})`` with ``breakdown``.
    """
    meta = copy.deepcopy(model).to(device="meta", dtype=dtype)
    meta.train()
    fixed = set()
    for t in list(meta.parameters()) + list(meta.buffers()):
        fixed.add(id(t))
    seen: Dict[int, torch.Tensor] = {}
    per_module: Dict[str, int] = {}
    current = ["<input>"]

    def pack(t: torch.Tensor):
        base = t._base if t._base is not None else t
        if id(t) in fixed or id(base) in fixed or id(t) in seen:
            return t
        seen[id(t)] = t  # keep alive so ids stay unique
        nbytes = t.numel() * t.element_size()
        per_module[current[0]] = per_module.get(current[0], 0) + nbytes
        return t

    handles = []
    for name, mod in meta.named_modules():
        if len(list(mod.children())) == 0 or isinstance(mod, (LIFNode, SeqToANN)):
            def pre(m, inp, name=name):
                current[0] = name
            handles.append(mod.register_forward_pre_hook(pre))
    x = torch.empty((T, N) + tuple(input_shape), device="meta", dtype=dtype,
                    requires_grad=False)
    fixed.add(id(x))  # the input batch is reported separately
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            meta(x)
    finally:
        for h in handles:
            h.remove()
    total = sum(per_module.values())
    return (total, per_module) if breakdown else total


def estimate_training_memory(model: nn.Module, T: int, N: int, input_shape: Sequence[int],
                             dtype: torch.dtype = torch.float32,
                             optimizer_states: int = 2) -> Dict[str, int]:
    """Training memory in bytes: ``parameter_bytes`` (incl. buffers), ``gradient_bytes``,
    ``optimizer_bytes`` (``optimizer_states`` tensors per parameter: 2 for Adam, 1 for
    SGD+momentum), ``activation_bytes`` (:func:`estimate_activation_bytes`),
    ``input_bytes`` (the ``[T, N, *input_shape]`` batch) and ``total_bytes``.  Excludes
    allocator overhead, transient forward/backward buffers and the CUDA context."""
    p_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    b_bytes = sum(b.numel() * b.element_size() for b in model.buffers())
    act = estimate_activation_bytes(model, T, N, input_shape, dtype)
    inp = T * N * math.prod(input_shape) * torch.empty((), dtype=dtype).element_size()
    out = {
        "parameter_bytes": p_bytes + b_bytes,
        "gradient_bytes": trainable,
        "optimizer_bytes": trainable * optimizer_states,
        "activation_bytes": act,
        "input_bytes": inp,
    }
    out["total_bytes"] = sum(out.values())
    return out
