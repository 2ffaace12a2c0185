"""Fused multi-step LIF forward / backward kernels for the CPU (Numba).

Layout: every array is 2-D ``[T, N]`` (time major, C-contiguous), ``N`` = neurons.  The
kernels run ``prange`` over blocks of neurons; inside a block the T loop is the outer loop
and the neuron loop the inner one, so each time step streams one contiguous row slice
(the inner loop is SIMD-vectorised: no data-dependent branches, only selects) while the
per-neuron state stays in a block-sized buffer in L1/L2.

Memory traffic is the minimum for a recompute scheme:

* forward reads ``x`` and writes the spikes (and ``v`` of the last step); nothing else is
  stored -- autograd keeps ``x`` for backward instead of the charged potential ``h``
  (same size, and ``x`` usually is a view of the caller's tensor, so it costs nothing);
* backward re-runs the (cheap) forward recurrence of one block of neurons into a
  block-local ``[T, block]`` buffer that stays in cache, then sweeps time backwards,
  reading ``dL/ds`` and writing ``dL/dx``.

All scalar parameters are passed already cast to the array dtype (``np.float32`` or
``np.float64``) and the kernels contain no float literals, so float32 inputs are computed
in float32 with the same operation order as the torch reference backend (``fastmath`` off,
no FMA contraction): the forward spikes are bit-identical to :class:`LIFNode` with
``backend='torch'``.

Mode flags are runtime booleans (so each kernel compiles once per dtype, cached on disk
by Numba); they are loop invariant and LLVM unswitches them, the vectorised inner loops
are as fast as per-mode specialisations:

``hard``         hard reset to ``v_reset`` (else soft reset: subtract ``v_th``)
``decay_input``  ``h = v + decay*(x - (v - v_reset))`` (else ``h = v - decay*(v - v_reset) + x``)
``detach``       the reset does not propagate gradient (``dv/dh = 1 - s`` / ``1``)

For soft reset the caller passes ``v_reset = 0`` (it then only enters the charge).
"""
from __future__ import annotations

import numpy as np

from .._jit import njit, prange

__all__ = ["lif_forward", "lif_backward", "block_size"]

_CACHE_BYTES = 256 * 1024  # target size of the backward's per-block h buffer


def block_size(T: int, itemsize: int) -> int:
    """Neurons per block: the backward's ``[T, block]`` buffer ~ 256 KiB, multiple of 64."""
    b = _CACHE_BYTES // max(1, T * itemsize)
    return int(min(4096, max(64, b - b % 64)))


@njit(parallel=True, cache=True, nogil=True)
def lif_forward(x, s_out, v_state, decay, v_th, v_reset, block, hard, decay_input):
    """x, s_out: [T, N]; v_state: [N] (initialised here, holds the last v on exit)."""
    T, N = x.shape
    nblocks = (N + block - 1) // block
    zero = v_th - v_th
    one = decay / decay
    for b in prange(nblocks):
        lo = b * block
        hi = min(lo + block, N)
        n = hi - lo
        v = v_state[lo:hi]
        for j in range(n):
            v[j] = v_reset
        for t in range(T):
            xr = x[t, lo:hi]
            sr = s_out[t, lo:hi]
            for j in range(n):
                vj = v[j]
                if decay_input:
                    h = vj + decay * (xr[j] - (vj - v_reset))
                else:
                    h = vj - decay * (vj - v_reset) + xr[j]
                spike = h - v_th >= zero
                sr[j] = one if spike else zero
                if hard:
                    v[j] = v_reset if spike else h
                else:
                    v[j] = h - v_th if spike else h



@njit(parallel=True, cache=True, nogil=True)
def lif_backward(x, grad_s, grad_x, decay, v_th, v_reset, half_alpha, pi2_alpha, block, hard,
             decay_input, detach):
    """x (forward input), grad_s, grad_x: [T, N].

    ``half_alpha = alpha/2``, ``pi2_alpha = pi/2*alpha`` (ATan surrogate), pre-cast.
    """
    T, N = x.shape
    nblocks = (N + block - 1) // block
    zero = v_th - v_th
    one = decay / decay
    keep = one - decay  # dh[t+1]/dv[t]
    for b in prange(nblocks):
        lo = b * block
        hi = min(lo + block, N)
        n = hi - lo
        hbuf = np.empty((T, n), dtype=x.dtype)
        v = np.empty(n, dtype=x.dtype)
        for j in range(n):
            v[j] = v_reset
        # 1. recompute h[t] for this block (identical arithmetic to lif_forward)
        for t in range(T):
            xr = x[t, lo:hi]
            hr = hbuf[t]
            for j in range(n):
                vj = v[j]
                if decay_input:
                    h = vj + decay * (xr[j] - (vj - v_reset))
                else:
                    h = vj - decay * (vj - v_reset) + xr[j]
                hr[j] = h
                spike = h - v_th >= zero
                if hard:
                    v[j] = v_reset if spike else h
                else:
                    v[j] = h - v_th if spike else h
        # 2. reverse sweep; v now carries dL/dh[t+1]
        for j in range(n):
            v[j] = zero
        for t in range(T - 1, -1, -1):
            hr = hbuf[t]
            gsr = grad_s[t, lo:hi]
            gxr = grad_x[t, lo:hi]
            for j in range(n):
                h = hr[j]
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
                gh = gsr[j] * sg + (v[j] * keep) * dv_dh
                v[j] = gh
                if decay_input:
                    gxr[j] = gh * decay
                else:
                    gxr[j] = gh
