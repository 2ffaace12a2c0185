"""SpikingJelly's dataset modules and classes that evframes does not have (yet), and the one
clear error importing them gives.

``import evframes.datasets.hardvs`` (and ``from evframes.datasets import HARDVS``)
raise :class:`ModuleNotFoundError` (an ``ImportError``, what a missing module raises, so code
probing for optional datasets keeps working) saying that evframes has no such dataset and
where it is planned, instead of Python's bare "No module named ...". A stub module of each name
exists only to say so; when a dataset arrives its stub becomes the real module.
"""
from __future__ import annotations

from typing import Dict, NoReturn, Tuple

#: SpikingJelly module -> (dataset title, its public names (classes first), where planned)
MISSING: Dict[str, Tuple[str, Tuple[str, ...], str]] = {
    "bullying10k": ("Bullying10K", ("Bullying10kClassification", "BULLYING10K_CATEGORY_LABEL"),
                    ""),
    "es_imagenet": ("ES-ImageNet", ("ESImageNet",), ""),
    "hardvs": ("HARDVS", ("HARDVS",), ""),
    "speechcommands": ("Speech Commands", ("SpeechCommands", "SPEECHCOMMANDS"), ""),
}

#: SpikingJelly's public name -> its module
MISSING_NAMES: Dict[str, str] = {c: m for m, (_, names, _) in MISSING.items() for c in names}


def message(module: str, name: str = "") -> str:
    """The one-line message for SpikingJelly's ``module`` (or its public ``name``)."""
    title, _names, plan = MISSING[module]
    what = name or f"evframes.datasets.{module}"
    when = f"yet (planned in {plan})" if plan else "(not planned yet)"
    return (f"evframes has no {title} dataset {when}: {what} (spikingjelly.datasets.{module}) "
            f"is not available; evframes has {', '.join(_have())}")


def _have():
    from ..raw import REGISTRY
    return [e.torch_class for e in REGISTRY.values()]


def refuse(module_name: str) -> NoReturn:
    """Raise the error of the stub module ``module_name`` (``evframes.datasets.<module>``)."""
    module = module_name.rsplit(".", 1)[-1]
    raise ModuleNotFoundError(message(module), name=module_name)


def refuse_name(name: str) -> NoReturn:
    """Raise the error for SpikingJelly's public ``name`` asked of :mod:`evframes.datasets`
    (an ImportError: ``from evframes.datasets import NCaltech101`` shows this message)."""
    raise ImportError(message(MISSING_NAMES[name], name), name="evframes.datasets")
