"""Moved to :mod:`evframes.raw.tarstream`; this name stays importable."""
import sys

from ..raw import tarstream as _moved

sys.modules[__name__] = _moved
