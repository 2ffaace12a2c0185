"""Moved to :mod:`evframes.store.locking`; this name stays importable."""
import sys

from .store import locking as _moved

sys.modules[__name__] = _moved
