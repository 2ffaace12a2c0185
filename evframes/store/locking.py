"""Store locks and the temporaries written under them.

Every store is built under an exclusive lock (``.<name>.lock`` beside it, taken with the
``filelock`` package on ``flock``), and written as a temporary ``<name>.tmp-<writer>-<id>``
that is renamed over the final name when complete. ``<writer>`` is ``<host>-<pid>-<token>``:
the host (several machines may share an NFS root), the process id, and a random token drawn
once per process, so a reused pid never passes for the process that wrote a file.

Who may delete a temporary is decided under the lock, not by probing pids: a temporary of a
final name F is only ever written by a holder of F's lock, so while this process holds that
lock, every temporary of F not written by this process belongs to a run that is gone (killed,
crashed, on whatever host) and is removed, whatever its pid. Without the lock only temporaries
of this host whose process no longer exists are removed; another host's are left alone.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..errors import StoreError
from .layout import TMP_MARK, _host, _parse, lock_path, tmp_name, writer_tag  # noqa: F401

_HELD: Dict[Tuple[str, str, bool], int] = {}  # (folder, name prefix, recursive) -> depth


def _covered(folder: Path, name: str) -> bool:
    """Whether this process holds the lock that guards ``folder / name``."""
    f = str(folder)
    for (g, prefix, recursive) in _HELD:
        if (g == f and name.startswith(prefix)) or (recursive and f.startswith(g + os.sep)):
            return True
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder, stem: str = "") -> List[Path]:
    """Delete temporaries of dead writers in ``folder`` (names starting with ``stem``).

    Under the lock guarding them (see :func:`store_lock`): every temporary not written by this
    process. Otherwise: only this host's temporaries whose process is gone."""
    removed: List[Path] = []
    folder = Path(folder).absolute()
    if not folder.is_dir():
        return removed
    mine, host = writer_tag(), _host()
    for f in folder.iterdir():
        name = f.name
        if TMP_MARK not in name or not name.startswith(stem):
            continue
        who = _parse(name)
        if who is None or who[2] == mine:
            continue
        if not _covered(folder, name):
            if who[0] != host or _pid_alive(who[1]):
                continue  # maybe live: another host's (pids mean nothing here) or a live pid
        try:
            if f.is_dir():
                import shutil
                shutil.rmtree(f)
            else:
                f.unlink()
            removed.append(f)
        except OSError:
            pass
    return removed


def _file_lock(path: Path):
    import filelock
    try:  # never a soft lock (a marker file that a SIGKILLed holder would leave behind)
        return filelock.FileLock(str(path), fallback_to_soft=False)
    except TypeError:  # filelock 3.x has no soft fallback
        return filelock.FileLock(str(path))


@contextlib.contextmanager
def store_lock(final, timeout: Optional[float] = None, what: str = "store",
               guards_folder: bool = False, optional: bool = False):
    """Exclusive inter-process lock for building ``final`` (``.<name>.lock`` beside it).

    A second run on the same store waits here (saying so once on stderr), then finds the store
    complete and reuses it; ``timeout`` seconds without the lock raise :class:`StoreError`. On
    entry the temporaries the lock guards are cleaned up (see the module docstring): those of
    ``final``, or with ``guards_folder`` every temporary in its folder and subfolders (the
    events folder: stores, resume shards). The lock file stays (removing it would race with a
    waiting run); the lock itself is released by the OS when its holder exits, even on SIGKILL.
    Yields True; with ``optional``, a lock that cannot be created (read-only folder) yields
    False instead of raising (for read-only checks).
    """
    import filelock
    final = Path(final).absolute()
    final.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(final)
    lock = _file_lock(path)
    t0 = time.monotonic()
    try:
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            if timeout is not None and timeout <= 0:
                raise
            print(f"waiting for another evframes process building {final} ...", file=sys.stderr)
            left = -1 if timeout is None else max(0.0, timeout - (time.monotonic() - t0))
            lock.acquire(timeout=left, poll_interval=0.2)
    except filelock.Timeout:
        raise StoreError(f"{final}: another evframes process is building this {what} (lock "
                         f"{path} held for {timeout:.0f} s)") from None
    except OSError as e:
        if not optional:
            raise StoreError(f"cannot create lock {path}: {e.strerror or e}") from None
        yield False
        return
    key = (str(final.parent), "" if guards_folder else final.name + TMP_MARK, guards_folder)
    _HELD[key] = _HELD.get(key, 0) + 1
    try:
        if guards_folder:
            remove_stale_temporaries(final.parent)
            for sub in final.parent.iterdir():
                if sub.is_dir() and not sub.is_symlink():
                    remove_stale_temporaries(sub)
        else:
            remove_stale_temporaries(final.parent, final.name)
        yield True
    finally:
        _HELD[key] -= 1
        if not _HELD[key]:
            del _HELD[key]
        lock.release()
