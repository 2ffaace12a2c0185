"""Exceptions raised by evframes.

Every error about a file names the file; format errors also name the byte offset where the
problem was found, so a user can open the file in a hex viewer and see it.
"""
from __future__ import annotations

import os
from typing import Optional


class FormatError(ValueError):
    """A file is not valid in the format it was read as.

    Attributes
    ----------
    path : str or None
        The file that failed to decode.
    offset : int or None
        Byte offset in that file where the problem was found.
    """

    def __init__(self, path, offset: Optional[int], message: str):
        self.path = None if path is None else os.fspath(path)
        self.offset = offset
        self.reason = message
        where = self.path if self.path is not None else "<buffer>"
        if offset is not None:
            where = f"{where} at byte {offset}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self):  # pickles across process pools and Dask (the default needs 1 arg)
        return (type(self), (self.path, self.offset, self.reason))


class DatasetError(ValueError):
    """A raw dataset folder or archive does not have the expected layout or content."""


class StoreError(RuntimeError):
    """An evframes HDF5 store is missing, unfinished, stale or foreign."""


class CustomFunctionError(ValueError):
    """A custom integrate function raised while integrating a sample.

    Attributes: ``function`` (its name), ``sample`` (index in the split), ``store`` (the events
    store read, or None); the function's own exception is ``__cause__``."""

    def __init__(self, function: str, sample: int, cause: BaseException,
                 store: Optional[str] = None):
        self.function, self.sample, self.store = function, int(sample), store
        self.cause = cause
        where = f"{store}: " if store else ""
        super().__init__(f"{where}sample {self.sample}: custom function {function} raised "
                         f"{type(cause).__name__}: {one_line(cause)}")
        self.__cause__ = cause

    def shifted(self, base: int, store=None) -> "CustomFunctionError":
        """The same error for a batch starting at sample ``base`` of ``store``."""
        return CustomFunctionError(self.function, self.sample + int(base), self.cause,
                                   os.fspath(store) if store is not None else self.store)

    def __reduce__(self):  # pickles across Dask / process pools
        return (CustomFunctionError, (self.function, self.sample, self.cause, self.store))


def one_line(e) -> str:
    """``str(e)`` on one line. HDF5 messages are condensed: h5py's text embeds a ctime (with a
    newline) and a dump of write-call fields; keep the operation and the C error message."""
    import re
    msg = str(e)
    m = re.search(r"^(?:\[Errno \d+\] )?(.*?) \((?:[^()]*?: )?(?:time = [^,]*, )?"
                  r".*?errno = (\d+), error message = '([^']*)'", msg, re.S)
    if m:
        name = re.search(r"\b(?:file)?name = '([^']*)'", msg)
        what = m.group(1).strip() + (f" {name.group(1)}" if name else "")
        return f"{what}: {m.group(3)} (errno {m.group(2)})"
    return " ".join(part.strip() for part in msg.splitlines() if part.strip())
