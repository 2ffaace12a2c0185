"""Fingerprints of what a custom integration function computes.

A frames store built by ``f(events, H, W)`` records ``function_fingerprint(f)``; a different
fingerprint rebuilds the store, so an edited function never serves old frames. The digest
(sha256, deterministic across processes and ``PYTHONHASHSEED``) covers:

- Python functions: the code object (bytecode, constants recursively, nested code objects of
  inner functions / lambdas / comprehensions, names, argument layout), ``__defaults__``,
  ``__kwdefaults__``, closure cell values, the content of the defining module's source file
  (when it is a file), and the values of the module globals the code names (other user
  functions recursively, constants, arrays, configuration objects);
- ``functools.partial``: the function, ``args`` and ``keywords``; bound methods: the function
  and the instance; Numba dispatchers: their Python function;
- callable instances: the class (its methods' code, its module's source) and the instance's
  attributes;
- functions and classes of installed packages, the standard library and evframes itself: their
  qualified name and their module's source file (not their globals), so upgrading them also
  rebuilds;
- user modules the code names (``import mylib; mylib.f()``): their source file's content;
- the Python version (bytecode differs between versions).

Values are hashed by type and content (numpy arrays by dtype, shape and bytes; sets and dicts
independently of their order); other objects by their attributes, or else by their pickle.
Where that is impossible (a lock, an open file, a C function as the integrator itself),
:func:`function_fingerprint` returns ``(None, why)``: the caller then warns and rebuilds rather
than serve frames it cannot vouch for.
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import types
from typing import Optional, Tuple

import numpy as np

__all__ = ["function_fingerprint", "setting_fingerprint", "verify_note"]


class Unfingerprintable(Exception):
    pass


def function_fingerprint(f) -> Tuple[Optional[str], Optional[str]]:
    """``(hex digest, None)``, or ``(None, reason)`` when no fingerprint can be taken."""
    h = _Hasher()
    try:
        h.feed("python", sys.implementation.name, f"{sys.version_info[0]}.{sys.version_info[1]}")
        h.callable(f, "the function")
    except Unfingerprintable as e:
        return None, str(e)
    except RecursionError:
        return None, "its values nest too deeply to fingerprint"
    return h.hexdigest(), None


def setting_fingerprint(setting):
    """(digest, None) for a custom function, (None, why) when none can be taken (warned:
    the store is then rebuilt), (None, None) for rule-based settings."""
    if setting.function is None:
        return None, None
    digest, why = function_fingerprint(setting.function)
    if digest is None:
        import warnings
        warnings.warn(f"custom function {setting.name!r}: no fingerprint can be taken ({why}); "
                      f"its frames store cannot be checked against the function, so it is "
                      f"rebuilt on every run rather than served", UserWarning, stacklevel=3)
    return digest, why


def verify_note(man: dict) -> Optional[str]:
    """What ``evframes verify`` cannot check about a frames store (a custom function's)."""
    s = man.get("setting") or {}
    if s.get("kind") != "function":
        return None
    fp = man.get("function_fingerprint")
    built = f"built with fingerprint {fp}" if fp else "built without a fingerprint"
    return (f"custom function {s.get('name')}: frames not checked against the function "
            f"(verify does not have its code; {built}; integrate and the Datasets rebuild "
            f"when it changes)")


@functools.lru_cache(maxsize=1)
def _library_dirs() -> Tuple[str, ...]:
    import site
    import sysconfig
    dirs = set()
    for k in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(k)
        if p:
            dirs.add(os.path.realpath(p))
    try:
        dirs.update(os.path.realpath(p) for p in site.getsitepackages())
        dirs.add(os.path.realpath(site.getusersitepackages()))
    except Exception:  # pragma: no cover - some embedded interpreters lack these
        pass
    # evframes itself: the package above evframes/integrate/
    dirs.add(os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    return tuple(d.rstrip(os.sep) + os.sep for d in dirs)


def _is_library_file(path: Optional[str]) -> bool:
    if not path or not os.path.isabs(path):
        return False
    p = os.path.realpath(path)
    return p.startswith(_library_dirs())


def _module_file(modname) -> Optional[str]:
    m = sys.modules.get(modname) if isinstance(modname, str) else None
    return getattr(m, "__file__", None) if m is not None else None


def _code_names(co) -> set:
    names = set(co.co_names)
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            names |= _code_names(c)
    return names


_BUILTIN_TYPES = (types.BuiltinFunctionType, types.BuiltinMethodType, types.WrapperDescriptorType,
                  types.MethodWrapperType, types.MethodDescriptorType,
                  types.ClassMethodDescriptorType, np.ufunc)


class _Hasher:
    def __init__(self):
        self._h = hashlib.sha256()
        self._seen = {}        # id(obj) -> order of first visit (cycles, shared references)
        self._keep = []        # keep visited objects alive so ids stay unique
        self._files = {}
        self._where = []

    def hexdigest(self) -> str:
        return self._h.hexdigest()[:32]

    def feed(self, *parts):
        for p in parts:
            b = p if isinstance(p, bytes) else str(p).encode("utf-8", "surrogatepass")
            self._h.update(len(b).to_bytes(8, "little"))
            self._h.update(b)

    def _fail(self, what: str):
        where = " in ".join(reversed(self._where)) if self._where else "the function"
        raise Unfingerprintable(f"{what} ({where})")

    def _visit(self, obj) -> bool:
        """False (and a back reference fed) when ``obj`` was seen before."""
        k = id(obj)
        if k in self._seen:
            self.feed("ref", self._seen[k])
            return False
        self._seen[k] = len(self._seen)
        self._keep.append(obj)
        return True

    def file(self, path: Optional[str]):
        if not path or not os.path.isfile(path):
            self.feed("nofile")
            return
        if path not in self._files:
            try:
                with open(path, "rb") as fh:
                    self._files[path] = hashlib.sha256(fh.read()).hexdigest()
            except OSError:
                self._files[path] = "unreadable"
        self.feed("file", self._files[path])

    def _sub(self, fn, *a) -> bytes:
        """Digest of one element on its own (for order-independent sets and dicts)."""
        h, self._h = self._h, hashlib.sha256()
        seen = dict(self._seen)  # elements' iteration order must not number what they visit
        try:
            fn(*a)
            return self._h.digest()
        finally:
            self._h, self._seen = h, seen

    # -- callables -----------------------------------------------------------------------
    def callable(self, f, where: str):
        self._where.append(where)
        try:
            self._callable(f)
        finally:
            self._where.pop()

    def _callable(self, f):
        if isinstance(f, functools.partial):
            self.feed("partial")
            self.callable(f.func, "the partial's function")
            self.value(f.args, "the partial's args")
            self.value(f.keywords or {}, "the partial's keywords")
        elif isinstance(f, types.FunctionType):
            self.function(f)
        elif isinstance(f, types.MethodType):
            self.feed("method")
            self.callable(f.__func__, "the method's function")
            self.value(f.__self__, "the method's instance")
        elif isinstance(f, type):
            self.cls(f)
        elif isinstance(getattr(f, "py_func", None), types.FunctionType):  # Numba dispatcher
            self.feed("numba")
            self.function(f.py_func)
        elif isinstance(f, _BUILTIN_TYPES):
            name = getattr(f, "__qualname__", None) or getattr(f, "__name__", repr(f))
            self._fail(f"{name} is a built-in (C) function: its code cannot be read")
        elif callable(f):
            if not self._visit(f):
                return
            self.feed("instance")
            self.cls(type(f))
            self.state(f)
        else:
            self._fail(f"{f!r} is not callable")

    def function(self, f: types.FunctionType):
        if not self._visit(f):
            return
        co = f.__code__
        if _is_library_file(co.co_filename):
            self.feed("libfn", f.__module__, f.__qualname__)
            self.file(co.co_filename)
            return
        self.feed("fn", f.__qualname__)
        self.code(co)
        self.value(f.__defaults__, f"the defaults of {f.__qualname__}")
        self.value(f.__kwdefaults__, f"the keyword defaults of {f.__qualname__}")
        for name, cell in zip(co.co_freevars, f.__closure__ or ()):
            try:
                v = cell.cell_contents
            except ValueError:
                self.feed("emptycell", name)
                continue
            self.feed("cell", name)
            self.value(v, f"closure variable {name!r} of {f.__qualname__}")
        self.file(co.co_filename)
        g = f.__globals__
        for name in sorted(_code_names(co)):
            if name in g:
                self.feed("global", name)
                self.value(g[name], f"global {name!r} used by {f.__qualname__}")

    def code(self, co: types.CodeType):
        self.feed("code", co.co_name, co.co_argcount, co.co_posonlyargcount,
                  co.co_kwonlyargcount, co.co_flags, co.co_code,
                  getattr(co, "co_exceptiontable", b""), *co.co_names, "|", *co.co_varnames,
                  "|", *co.co_freevars, "|", *co.co_cellvars, "|", len(co.co_consts))
        for c in co.co_consts:
            if isinstance(c, types.CodeType):
                self.code(c)
            else:
                self.value(c, "a constant")

    def cls(self, c: type):
        if not self._visit(c):
            return
        path = _module_file(c.__module__)
        if _is_library_file(path) or not c.__flags__ & _HEAPTYPE:  # installed or C types
            self.feed("libtype", c.__module__, c.__qualname__)
            self.file(path)
            return
        self.feed("type", c.__module__, c.__qualname__)
        self.file(path)
        for b in c.__mro__[1:]:
            if b is not object:
                self.cls(b)
        for name in sorted(c.__dict__):
            if name in ("__dict__", "__weakref__", "__doc__", "__module__", "__qualname__",
                        "_abc_impl", "__slotnames__"):
                continue
            attr = c.__dict__[name]
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            self.feed("attr", name)
            if isinstance(attr, property):
                for acc in (attr.fget, attr.fset, attr.fdel):
                    self.value(acc, f"property {c.__qualname__}.{name}")
            else:
                self.value(attr, f"{c.__qualname__}.{name}")

    def state(self, obj):
        d = getattr(obj, "__dict__", None)
        slots = [s for k in type(obj).__mro__ for s in getattr(k, "__slots__", ())
                 if isinstance(s, str)]
        if d is None and not slots:
            self._pickle(obj)
            return
        self.value(dict(d or {}), f"the attributes of a {type(obj).__qualname__}")
        for s in slots:
            if hasattr(obj, s):
                self.feed("slot", s)
                self.value(getattr(obj, s), f"slot {s!r} of a {type(obj).__qualname__}")

    def _pickle(self, obj):
        try:
            b = pickle.dumps(obj, protocol=4)
        except Exception as e:
            t = type(obj)
            self._fail(f"a value of type {t.__module__}.{t.__qualname__} cannot be "
                       f"fingerprinted (not picklable: {e})")
        self.feed("pickle", b)

    # -- values --------------------------------------------------------------------------
    def value(self, v, where: str = "a value"):
        self._where.append(where)
        try:
            self._value(v)
        finally:
            self._where.pop()

    def _value(self, v):
        t = type(v)
        if v is None or v is Ellipsis or t in (bool, int, float, complex, str):
            self.feed(t.__name__, repr(v))
        elif t is bytes or t is bytearray:
            self.feed(t.__name__, bytes(v))
        elif t in (tuple, list):
            self.feed(t.__name__, len(v))
            for x in v:
                self._value(x)
        elif t in (set, frozenset):
            self.feed(t.__name__, len(v), *sorted(self._sub(self._value, x) for x in v))
        elif t is dict or t is types.MappingProxyType:
            self.feed("dict", len(v), *sorted(self._sub(self._pair, k, x) for k, x in v.items()))
        elif isinstance(v, np.ndarray):
            self.feed("ndarray", v.dtype.str, v.shape)
            if v.dtype.hasobject:
                for x in v.reshape(-1):
                    self._value(x)
            else:
                self.feed(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, np.generic):
            self.feed("npscalar", v.dtype.str, np.asarray(v).tobytes())
        elif isinstance(v, np.dtype):
            self.feed("dtype", v.str)
        elif isinstance(v, types.ModuleType):
            self.feed("module", v.__name__)
            path = getattr(v, "__file__", None)
            if path and not _is_library_file(path):
                self.file(path)  # a user module the function calls into: its source
        elif isinstance(v, _BUILTIN_TYPES):
            self.feed("builtin", getattr(v, "__module__", None) or "",
                      getattr(v, "__qualname__", None) or getattr(v, "__name__", repr(v)))
        elif isinstance(v, (types.FunctionType, functools.partial, types.MethodType, type)) or \
                isinstance(getattr(v, "py_func", None), types.FunctionType):
            self._callable(v)
        elif isinstance(v, types.CodeType):
            self.code(v)
        elif _is_torch_tensor(v):
            a = v.detach().cpu()
            self.feed("tensor", str(a.dtype), tuple(a.shape))
            import torch
            self.feed(a.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
                      if a.numel() else b"")
        else:
            if not self._visit(v):
                return
            self.cls(t)
            if _default_reduce(t):
                self.state(v)
            else:
                self._pickle(v)

    def _pair(self, k, v):
        self._value(k)
        self._value(v)


_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: classes defined in Python (not static C types)


def _default_reduce(t: type) -> bool:
    """True when ``t`` pickles the default way (its state is its attributes)."""
    og = getattr(object, "__getstate__", None)
    return (t.__reduce_ex__ is object.__reduce_ex__ and t.__reduce__ is object.__reduce__
            and getattr(t, "__getstate__", og) is og)


def _is_torch_tensor(v) -> bool:
    t = type(v)
    return t.__module__.startswith("torch") and hasattr(v, "detach") and hasattr(v, "numel") \
        and t.__name__ in ("Tensor", "Parameter")
