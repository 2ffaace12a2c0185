"""Tonic's ``tonic.functional`` (``import evframes.tonic.functional as functional``): the
functional representations ``to_*_numpy`` of :mod:`evframes.tonic.transforms.functional`
(also reachable as ``evframes.tonic.transforms.functional``, as in Tonic)."""
from .transforms.functional import *  # noqa: F403
from .transforms.functional import __all__  # noqa: F401
