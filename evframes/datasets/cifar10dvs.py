"""Moved to :mod:`evframes.raw.cifar10dvs`; this name stays importable."""
import sys

from ..raw import cifar10dvs as _moved

sys.modules[__name__] = _moved
