"""Numba's cache is served only while all of evframes' sources are unchanged (evframes._jit).

Numba checks a cached kernel against its own file only; a kernel calling a kernel of another
file keeps the callee's old machine code after that file changes. The first test shows that
on a two-module package, with and without evframes' locators; the second that every cached
kernel in evframes gets them.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import evframes
from evframes import _jit

CALLER = """
from evframes._jit import njit
from .b import callee

@njit(cache=True)
def caller(x):
    return callee(x)
"""
CALLEE = """
from evframes._jit import njit

@njit(cache=True)
def callee(x):
    return x + {k}
"""
INIT_WITH = """
import os
from evframes import _jit
_jit.install(os.path.dirname(os.path.abspath(__file__)))
"""


def _run(where: Path, env: dict) -> int:
    out = subprocess.run([sys.executable, "-c", "from pkg.a import caller; print(caller(1))"],
                         cwd=where, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


def _package(where: Path, locators: bool) -> Path:
    pkg = where / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(INIT_WITH if locators else "")
    (pkg / "a.py").write_text(textwrap.dedent(CALLER))
    (pkg / "b.py").write_text(textwrap.dedent(CALLEE.format(k=1)))
    return pkg


@pytest.mark.parametrize("cache_dir", [False, True], ids=["in-tree", "NUMBA_CACHE_DIR"])
def test_a_changed_callee_file_recompiles_its_callers(tmp_path, cache_dir):
    env = dict(os.environ)
    env.pop("NUMBA_CACHE_DIR", None)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(evframes.__file__).parents[1]),
                                         env.get("PYTHONPATH", "")])
    results = {}
    for locators in (False, True):
        where = tmp_path / ("ours" if locators else "numba")
        if cache_dir:
            env["NUMBA_CACHE_DIR"] = str(where / "cache")
        pkg = _package(where, locators)
        first = _run(where, env)
        time.sleep(0.05)
        (pkg / "b.py").write_text(textwrap.dedent(CALLEE.format(k=100)))
        results[locators] = (first, _run(where, env))
    # Numba's own locators: the caller keeps the old callee (if this fails, Numba now tracks
    # callees, and evframes._jit is no longer needed)
    assert results[False] == (2, 2)
    assert results[True] == (2, 101)  # evframes' locators: recompiled with the new callee


def _kernel_modules():
    for info in pkgutil.walk_packages(evframes.__path__, "evframes."):
        try:
            src = Path(importlib.util.find_spec(info.name).origin).read_text()
        except (AttributeError, TypeError, OSError):
            continue
        if "cache=True" in src:
            yield info.name


def test_every_cached_evframes_kernel_gets_the_package_stamp():
    from numba.core.dispatcher import Dispatcher
    seen = 0
    for name in _kernel_modules():
        mod = importlib.import_module(name)
        for obj in vars(mod).values():
            if isinstance(obj, Dispatcher) and obj.__module__ == name and obj._cache is not None \
                    and hasattr(obj._cache, "_impl"):
                loc = obj._cache._impl.locator
                assert type(loc).__name__.startswith("Package"), (name, obj.__name__)
                stamp = loc.get_source_stamp()
                assert stamp[1] == _jit.sources_digest()
                seen += 1
    assert seen > 100  # every kernel module was found (164 kernels on 3 December)


def test_sources_digest_follows_every_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub" / "b.py").write_text("y = 1\n")
    d0 = _jit.sources_digest.__wrapped__(str(tmp_path))
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    d1 = _jit.sources_digest.__wrapped__(str(tmp_path))
    (tmp_path / "sub" / "notes.txt").write_text("not a source")
    assert d0 != d1 and _jit.sources_digest.__wrapped__(str(tmp_path)) == d1


def test_no_kernel_module_takes_njit_from_numba_directly():
    root = Path(evframes.__file__).parent
    bad = [str(p.relative_to(root)) for p in root.rglob("*.py")
           if p.name != "_jit.py" and "from numba import" in p.read_text()]
    assert not bad, f"take njit / prange / types from evframes._jit: {bad}"
