"""Moved to :mod:`evframes.integrate.dtypes`; this name stays importable."""
import sys

from .integrate import dtypes as _moved

sys.modules[__name__] = _moved
