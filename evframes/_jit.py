"""Numba for evframes' kernels, with a cache that is served only while all of evframes'
sources are unchanged.

Numba serves a cached kernel while the file that defines it is unchanged (its content hash;
modification time and size before Numba 0.68). evframes' kernels call kernels of other modules
(``integrate._kernels`` calls ``integrate._t_pass`` and ``integrate._prefetch``, the Tonic
transforms call ``integrate`` ...), and a callee's machine code is compiled into the caller's
cache entry. So after a change to the callee's file alone (a ``git pull`` in the editable
checkout the README sets up, a local edit), Numba would go on serving the caller with the old
callee: the old values, without a word (Numba's documentation lists the limitation under
"Cache invalidation").

Here every evframes kernel's cache stamp is that file's own plus one digest of all evframes
source files (:func:`sources_digest`), so a change anywhere in the package recompiles evframes'
kernels at their next use (``python -m evframes.warmup`` does it at set-up); other packages'
caches are untouched. Every evframes module that compiles kernels takes ``njit`` (``prange``,
``types``) from here, so the locators are in place before its first ``@njit(cache=True)``;
tests/test_numba_cache.py checks both.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from numba import njit, prange, types  # noqa: F401  (re-exported for the kernel modules)
from numba.core import caching

_ROOT = os.path.dirname(os.path.abspath(__file__))


@functools.lru_cache(maxsize=None)
def sources_digest(root: str = _ROOT) -> str:
    """SHA-256 over the relative paths and contents of every ``.py`` file under ``root`` (the
    evframes package; about 5 ms), computed once per process."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                h.update(os.path.relpath(path, root).encode() + b"\0")
                try:
                    h.update(Path(path).read_bytes() + b"\0")
                except OSError as e:  # an unreadable file: its name and the error stand in
                    h.update(f"{type(e).__name__}\0".encode())
    return h.hexdigest()


def _inside(py_file, root: str) -> bool:
    try:
        return os.path.commonpath([os.path.abspath(py_file), root]) == root
    except ValueError:  # another drive
        return False


def package_locator(base, root: str = _ROOT):
    """A subclass of Numba's cache locator ``base`` for the kernels defined under ``root``
    (None elsewhere, so Numba's own locators take the rest): the same cache directory, with
    the stamp extended by :func:`sources_digest` of ``root``."""
    class PackageLocator(base):
        @classmethod
        def from_function(cls, py_func, py_file):
            if not _inside(py_file, root):
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            return (super().get_source_stamp(), sources_digest(root))

    PackageLocator.__name__ = PackageLocator.__qualname__ = "Package" + base.__name__
    return PackageLocator


def install(root: str = _ROOT) -> None:
    """Put :func:`package_locator` versions of Numba's file-backed locators (a
    ``NUMBA_CACHE_DIR``, the module's ``__pycache__``, the user-wide cache, in Numba's order)
    in front of Numba's list; idempotent."""
    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # _CacheImpl before 0.59
    old = [c for c in impl._locator_classes if getattr(c, "_evframes_root", None) != root]
    names = ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")
    ours = []
    for name in names:  # Numba < 0.59 named them with a leading underscore
        base = getattr(caching, name, None) or getattr(caching, "_" + name)
        loc = package_locator(base, root)
        loc._evframes_root = root
        ours.append(loc)
    impl._locator_classes = ours + old


install()
