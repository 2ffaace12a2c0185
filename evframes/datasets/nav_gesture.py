"""Stub of SpikingJelly's ``spikingjelly.datasets.nav_gesture``: importing it raises
ModuleNotFoundError saying evframes has no such dataset (see :mod:`evframes.datasets._missing`)."""
from ._missing import refuse

refuse(__name__)
