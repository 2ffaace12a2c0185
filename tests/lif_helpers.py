"""Helpers shared by the LIF neuron tests (test_neuron.py, test_lif_kernel.py)."""
from __future__ import annotations

from evframes.train.neuron import LIFNode


def run_lif(backend, x, grad, **kw):
    """Forward ``x`` through a fresh ``LIFNode(backend, **kw)`` and backward ``grad``.

    Returns ``(spikes, dL/dx, final v)``."""
    node = LIFNode(backend=backend, **kw)
    xx = x.clone().requires_grad_(True)
    s = node(xx)
    s.backward(grad)
    return s.detach(), xx.grad, node.v


def assert_grad_close(got, ref, rel):
    """``max|got - ref| <= rel * max|ref|`` (and ``ref`` not all zero)."""
    scale = ref.abs().max().item()
    assert scale > 0
    err = (got - ref).abs().max().item()
    assert err <= rel * scale, f"max |diff| {err:.3g} > {rel:g} * max|ref| ({scale:.3g})"
