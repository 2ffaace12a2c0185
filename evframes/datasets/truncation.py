"""Moved to :mod:`evframes.raw.truncation`; this name stays importable."""
import sys

from ..raw import truncation as _moved

sys.modules[__name__] = _moved
