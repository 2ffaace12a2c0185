"""Surrogate-gradient spike functions.

Forward is the Heaviside step ``s = (x >= 0)``; backward replaces the (zero almost
everywhere) true derivative by a smooth surrogate.  Only the arctangent surrogate used by
the PLIF / SpikingJelly DVS128 Gesture recipe is provided:

    sg(x) = alpha / 2 / (1 + (pi / 2 * alpha * x) ** 2)

which is the derivative of ``arctan(pi / 2 * alpha * x) / pi + 1 / 2``.  With the default
``alpha = 2`` the peak gradient at ``x = 0`` is 1.
"""
from __future__ import annotations

import math

import torch

__all__ = ["ATan", "atan_spike", "atan_surrogate_grad", "heaviside"]


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """``1`` where ``x >= 0`` else ``0``, in ``x``'s dtype (so the threshold itself spikes)."""
    return (x >= 0).to(x.dtype)


def atan_surrogate_grad(x: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    """The ATan surrogate derivative ``alpha/2 / (1 + (pi/2*alpha*x)^2)`` evaluated at ``x``."""
    return (alpha / 2) / (1 + (math.pi / 2 * alpha * x).square())


class _ATanFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:  # type: ignore[override]
        if x.requires_grad:
            ctx.save_for_backward(x)
        ctx.alpha = alpha
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        grad_x = None
        if ctx.needs_input_grad[0]:
            (x,) = ctx.saved_tensors
            grad_x = grad_output * atan_surrogate_grad(x, ctx.alpha)
        return grad_x, None


def atan_spike(x: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    """Functional form: Heaviside forward, ATan surrogate backward."""
    return _ATanFunction.apply(x, float(alpha))


class ATan(torch.nn.Module):
    """Heaviside spike with the arctangent surrogate gradient (``alpha`` = sharpness).

    ``ATan(alpha)(x)`` returns ``(x >= 0)`` as ``x.dtype``; its gradient is
    ``alpha/2 / (1 + (pi/2*alpha*x)^2)``.  The fused LIF kernels read :attr:`alpha` and
    evaluate the same formula inline, so this is the only surrogate they accept.
    """

    def __init__(self, alpha: float = 2.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return atan_spike(x, self.alpha)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """The surrogate derivative at ``x`` (no autograd involved)."""
        return atan_surrogate_grad(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"
