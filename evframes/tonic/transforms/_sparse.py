"""Dense int16 frames -> the torch sparse COO tensor ``torch.from_numpy(d).to_sparse()``
gives (coalesced; int64 indices ``[ndim, nnz]`` of the nonzero cells in row-major order;
the dense dtype's values), built in one Numba pass instead of torch's generic conversion."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _count_nonzero(flat):
    c = 0
    for i in range(flat.shape[0]):
        c += flat[i] != 0
    return c


@njit(cache=True, nogil=True)
def _coo(flat, shape, idx, vals):
    """Row-major nonzero cells of ``flat`` (C order of ``shape``) into idx [ndim, nnz]."""
    nd = shape.shape[0]
    inner = shape[nd - 1]
    k = 0
    for start in range(0, flat.shape[0], inner):
        for j in range(inner):
            v = flat[start + j]
            if v != 0:
                vals[k] = v
                idx[nd - 1, k] = j
                k += 1
    # outer coordinates of each nonzero from its row number (divide once per row)
    k = 0
    for start in range(0, flat.shape[0], inner):
        row = start // inner
        m = 0
        for j in range(inner):
            m += flat[start + j] != 0
        if m:
            r = row
            for a in range(nd - 2, -1, -1):
                ca = r % shape[a]
                r //= shape[a]
                for q in range(k, k + m):
                    idx[a, q] = ca
            k += m


def dense_to_sparse(dense: np.ndarray):
    """``torch.from_numpy(dense).to_sparse()``, the same tensor (torch imported here)."""
    import torch

    d = np.ascontiguousarray(dense)
    if d.ndim < 2 or d.size == 0:
        return torch.from_numpy(d).to_sparse()
    flat = d.reshape(-1)
    nnz = int(_count_nonzero(flat))
    idx = np.empty((d.ndim, nnz), np.int64)
    vals = np.empty(nnz, d.dtype)
    _coo(flat, np.asarray(d.shape, np.int64), idx, vals)
    return torch.sparse_coo_tensor(torch.from_numpy(idx), torch.from_numpy(vals), d.shape,
                                   is_coalesced=True, check_invariants=False)
