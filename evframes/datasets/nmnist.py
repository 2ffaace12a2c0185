"""Moved to :mod:`evframes.raw.nmnist`; this name stays importable."""
import sys

from ..raw import nmnist as _moved

sys.modules[__name__] = _moved
