"""Dense int16 frames -> the torch sparse COO tensor ``torch.from_numpy(d).to_sparse()``
gives (coalesced; int64 indices ``[ndim, nnz]`` of the nonzero cells in row-major order;
the dense dtype's values), built in one Numba pass instead of torch's generic conversion."""
from __future__ import annotations

import numpy as np

from ..._jit import njit


@njit(cache=True, nogil=True)
def _count_nonzero(flat):
    c = 0
    for i in range(flat.shape[0]):
        c += flat[i] != 0
    return c


@njit(cache=True, nogil=True)
def _coo(flat, shape, idx, last, vals):
    """Row-major nonzero cells of ``flat`` (C order of ``shape``) into ``idx [ndim, nnz]``
    and ``vals [nnz + 1]``; ``last`` is ``idx``'s last row plus one scratch element after it
    (the same memory). Branch-free: every cell's inner coordinate and value are written at
    the next free position, which advances only past a nonzero one."""
    nd = shape.shape[0]
    inner = shape[nd - 1]
    coord = np.zeros(nd, np.int64)
    k = 0
    for start in range(0, flat.shape[0], inner):
        r = start // inner
        for a in range(nd - 2, -1, -1):  # the row's outer coordinates
            coord[a] = r % shape[a]
            r //= shape[a]
        k0 = k
        for j in range(inner):
            v = flat[start + j]
            vals[k] = v
            last[k] = j
            k += v != 0
        for a in range(nd - 1):  # the row's nonzeros share its outer coordinates
            row = idx[a]
            c = coord[a]
            for q in range(k0, k):
                row[q] = c


def dense_to_sparse(dense: np.ndarray):
    """``torch.from_numpy(dense).to_sparse()``, the same tensor (torch imported here). The
    indices are one contiguous ``[ndim, nnz]`` block (torch would copy a strided one: 16 MB
    for 1 M events in 20 frames)."""
    import torch

    d = np.ascontiguousarray(dense)
    if d.ndim < 2 or d.size == 0:
        return torch.from_numpy(d).to_sparse()
    flat = d.reshape(-1)
    nnz = int(_count_nonzero(flat))
    nd = d.ndim
    block = np.empty(nd * nnz + 1, np.int64)  # + the last row's scratch element
    idx = block[:nd * nnz].reshape(nd, nnz)
    vals = np.empty(nnz + 1, d.dtype)
    _coo(flat, np.asarray(d.shape, np.int64), idx, block[(nd - 1) * nnz:], vals)
    return torch.sparse_coo_tensor(torch.from_numpy(idx), torch.from_numpy(vals[:nnz]),
                                   d.shape, is_coalesced=True, check_invariants=False)
