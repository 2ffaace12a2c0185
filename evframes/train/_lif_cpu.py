"""Fused multi-step LIF forward / backward kernels for the CPU (Numba).

Layout: every array is 2-D ``[T, N]`` (time major, C-contiguous), ``N`` = neurons.  The
kernels run ``prange`` over blocks of ``_BLOCK`` neurons; inside a block the T loop is the
outer loop and the neuron loop the inner one, so each time step streams one contiguous
row slice (SIMD friendly) while the per-neuron state (``v`` forward, ``dL/dh`` backward)
stays in a block-sized buffer that lives in L1/L2.

All scalar parameters are passed already cast to the array dtype (``np.float32`` or
``np.float64``) and the kernels use no float literals, so float32 inputs are computed in
float32 with the same operation order as the torch reference backend (``fastmath`` off, no
FMA contraction): the forward spikes are bit-identical to :class:`LIFNode` with
``backend='torch'``.

Mode flags (Python ``bool`` -> compiled as runtime booleans; the branches are loop
invariant and LLVM unswitches them):

``hard``         hard reset to ``v_reset`` (else soft reset: subtract ``v_th``)
``decay_input``  ``h = v + decay*(x - (v - v_reset))`` (else ``h = v - decay*(v - v_reset) + x``)
``detach``       the reset does not propagate gradient (``dv/dh = 1 - s`` / ``1``)

For soft reset the caller passes ``v_reset = 0`` (it only enters the charge equation).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

_BLOCK = 2048


@njit(parallel=True, cache=True, nogil=True)
def lif_forward(x, s_out, h_out, v_state, decay, v_th, v_reset, hard, decay_input, save_h):
    """x, s_out, h_out: [T, N]; v_state: [N] (initialised here, holds the last v on exit)."""
    T, N = x.shape
    nblocks = (N + _BLOCK - 1) // _BLOCK
    zero = v_th - v_th
    one = decay / decay
    for b in prange(nblocks):
        lo = b * _BLOCK
        hi = min(lo + _BLOCK, N)
        for j in range(lo, hi):
            v_state[j] = v_reset
        for t in range(T):
            for j in range(lo, hi):
                v = v_state[j]
                if decay_input:
                    h = v + decay * (x[t, j] - (v - v_reset))
                else:
                    h = v - decay * (v - v_reset) + x[t, j]
                spike = h - v_th >= zero
                if save_h:
                    h_out[t, j] = h
                if spike:
                    s_out[t, j] = one
                    if hard:
                        v_state[j] = v_reset
                    else:
                        v_state[j] = h - v_th
                else:
                    s_out[t, j] = zero
                    v_state[j] = h


@njit(parallel=True, cache=True, nogil=True)
def lif_backward(grad_s, h_seq, grad_x, scratch, decay, v_th, v_reset, half_alpha, pi2_alpha,
                 hard, decay_input, detach):
    """grad_s, h_seq, grad_x: [T, N]; scratch: [N] work buffer (dL/dh of the next step).

    ``half_alpha = alpha/2``, ``pi2_alpha = pi/2*alpha`` (ATan surrogate), both pre-cast.
    """
    T, N = grad_s.shape
    nblocks = (N + _BLOCK - 1) // _BLOCK
    zero = v_th - v_th
    one = decay / decay
    keep = one - decay  # dh[t+1]/dv[t]
    for b in prange(nblocks):
        lo = b * _BLOCK
        hi = min(lo + _BLOCK, N)
        for j in range(lo, hi):
            scratch[j] = zero
        for t in range(T - 1, -1, -1):
            for j in range(lo, hi):
                h = h_seq[t, j]
                u = h - v_th
                a = pi2_alpha * u
                sg = half_alpha / (one + a * a)
                s = one if u >= zero else zero
                if hard:
                    if detach:
                        dv_dh = one - s
                    else:
                        dv_dh = one - s + (v_reset - h) * sg
                else:
                    if detach:
                        dv_dh = one
                    else:
                        dv_dh = one - v_th * sg
                gh = grad_s[t, j] * sg + (scratch[j] * keep) * dv_dh
                scratch[j] = gh
                if decay_input:
                    grad_x[t, j] = gh * decay
                else:
                    grad_x[t, j] = gh
