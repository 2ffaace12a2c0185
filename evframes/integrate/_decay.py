"""``exp(z)`` for the time surface's decay, written so that LLVM vectorises it.

The time surface evaluates ``exp(-(te - t_mem) / tau)`` for every cell of every window
(``n * 2 * H * W`` values, 655 360 for 20 windows of 128 x 128): with libm's scalar ``exp``
(one call per cell, which Numba cannot vectorise) that is most of the representation's time.
Here the same value is computed with plain float64 arithmetic that Numba's LLVM turns into
SIMD code (about 3x faster on AVX2/AVX-512 machines), and :mod:`evframes.integrate.torch_repr`
repeats the identical operation sequence on tensors, so the CPU results are bit-equal.

Algorithm (Cody-Waite range reduction, degree-11 Taylor polynomial):

- ``z = (t_mem - te) * (1 / tau)``, clamped to ``[ZMIN, ZMAX] = [-104, 89]``: every
  ``exp(z)`` below ``-104`` rounds to float32 0 and above ``89`` to float32 inf, so the
  clamp changes no stored value (a pixel that never fired has ``t_mem = -inf``: 0);
- ``n = floor(z * log2(e) + 0.5)``, ``r = (z - n * LN2_HI) - n * LN2_LO`` (``LN2_HI`` has
  32 trailing zero bits, so ``n * LN2_HI`` is exact), ``|r| <= ln(2) / 2``;
- ``exp(r)`` by Horner's rule on ``sum_k r**k / k!``, ``k <= 11`` (truncation below
  ``7e-15`` relative), times ``2**n`` built from its IEEE-754 bits.

The result is within a few float64 ulp of ``exp(z)``; stored as float32 it equals the
correctly rounded float32 of the exact value except where that lies within ~1e-14 relative of
a float32 rounding boundary (none in 10**6 random arguments; the tests compare with a
``math.exp`` reference). ``(t_mem - te) * (1 / tau)`` replaces Tonic's ``-(te - t_mem) / tau``:
at most one float64 ulp apart in ``z``.
"""
from __future__ import annotations

import math

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # ln 2, upper bits (fdlibm's split)
LN2_LO = 1.90821492927058770002e-10  # ln 2 - LN2_HI
ZMIN, ZMAX = -104.0, 89.0
EXP_BIAS = 1023  # IEEE-754 float64 exponent bias; 2**n has bits (n + 1023) << 52
TAYLOR = tuple(1.0 / math.factorial(k) for k in range(12))  # 1/k!, k = 0..11 (Horner: last first)
