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


class DatasetError(ValueError):
    """A raw dataset folder or archive does not have the expected layout or content."""


class StoreError(RuntimeError):
    """An evframes HDF5 store is missing, unfinished, stale or foreign."""
