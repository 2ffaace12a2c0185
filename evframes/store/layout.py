"""Where stores live: every path rule of a dataset root, in one place.

A dataset root holds::

    <root>/events/<split>.h5                    events store of a split
    <root>/events/.partial-<id>/<job>.npz       resume shards of an interrupted extraction
    <root>/events/.extract.lock                 lock of extraction (guards the whole folder)
    <root>/events/.sources.json                 raw files' hashes last confirmed (hints)
    <root>/<setting dir>/<split>.h5             frames store of a split, e.g.
                                                ``frames_number_20_split_by_number/train.h5``
    <folder>/.<name>.lock                       lock of the store ``<folder>/<name>``
    <folder>/<name>.tmp-<host>-<pid>-<token>-<id>   temporary of ``<name>`` being written

The setting folder is the frames setting's ``FrameSetting.dir_name``: its name, with
``_downsample_<k>`` appended when coordinates are downsampled by ``k``. Temporaries are named
after the process that writes them (see :mod:`evframes.store.locking` for who may remove them).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
import uuid
from pathlib import Path
from typing import List, Optional, Tuple

EVENTS_DIR = "events"
STORE_SUFFIX = ".h5"
TMP_MARK = ".tmp-"
PARTIAL_PREFIX = ".partial-"
EXTRACT_LOCK_NAME = "extract"  # ``events/.extract.lock``: the lock of a whole extraction
HINTS_FILE = ".sources.json"  # ``events/.sources.json``: raw files' hashes confirmed last time

_WRITER: Optional[Tuple[int, str]] = None  # (pid, writer tag) of this process


# -- events and frames stores -------------------------------------------------------------------

def events_dir(root) -> Path:
    """The folder of a dataset ``root`` that holds its events stores."""
    return Path(root) / EVENTS_DIR


def events_store_path(root, split: str) -> Path:
    """Path of the events store of ``split`` under a dataset ``root``.

    Parameters
    ----------
    root : path
        The dataset root.
    split : str
        The split (``"train"``, ``"test"``).

    Returns
    -------
    Path
        ``<root>/events/<split>.h5``.
    """
    return events_dir(root) / f"{split}{STORE_SUFFIX}"


def resolve_store(path_or_root, split: str, kind_dir: str = EVENTS_DIR) -> Path:
    """``path_or_root`` itself when it is a store file (or names a ``.h5``), else the store of
    ``split`` in its ``kind_dir`` folder."""
    p = Path(path_or_root)
    if p.is_file() or p.suffix == STORE_SUFFIX:
        return p
    return p / kind_dir / f"{split}{STORE_SUFFIX}"


def setting_dir_name(setting, downsample: Optional[int] = None) -> str:
    """Folder name of a frames setting's stores: ``setting.dir_name``.

    Parameters
    ----------
    setting : FrameSetting
        The frames setting, which carries its ``downsample``.
    downsample : int, optional
        Old call style: an explicit coordinate downsampling factor, which overrides the
        setting's own.

    Returns
    -------
    str
        ``setting.name``, with ``_downsample_<k>`` appended when the downsampling ``k != 1``.
    """
    if downsample is not None and downsample != setting.downsample:
        setting = dataclasses.replace(setting, downsample=downsample)  # validated there
    return setting.dir_name


def frames_store_path(root, setting, split: str, downsample: Optional[int] = None) -> Path:
    """Path of the frames store of ``split`` for ``setting`` under a dataset ``root``.

    Parameters
    ----------
    root : path
        The dataset root.
    setting : FrameSetting
        The frames setting.
    split : str
        The split.
    downsample : int, optional
        Old call style: an explicit coordinate downsampling factor, which overrides the
        setting's own.

    Returns
    -------
    Path
        ``<root>/<setting.dir_name>/<split>.h5``; in a SpikingJelly root
        (:func:`is_spikingjelly_root`) ``<root>/<setting.dir_name>.evframes/<split>.h5``.
    """
    name = setting_dir_name(setting, downsample)
    if is_spikingjelly_root(root):
        name += SPIKINGJELLY_ROOT_SUFFIX
    return Path(root) / name / f"{split}{STORE_SUFFIX}"


#: folders SpikingJelly keeps in a dataset root (its downloads, unpacked files, sample files)
SPIKINGJELLY_FOLDERS = ("download", "extract", "events_np")
#: suffix of evframes' frames folders in a SpikingJelly root: SpikingJelly takes any existing
#: folder named after its setting (``frames_number_20_split_by_number``) as its own built
#: frames, so a folder of that exact name holding evframes' stores would break it
SPIKINGJELLY_ROOT_SUFFIX = ".evframes"


def is_spikingjelly_root(root) -> bool:
    """True when ``root`` holds one of SpikingJelly's folders (:data:`SPIKINGJELLY_FOLDERS`)."""
    return any((Path(root) / d).is_dir() for d in SPIKINGJELLY_FOLDERS)


def migrate_spikingjelly_frames(root, setting, splits) -> List[Path]:
    """Move frames stores that earlier evframes versions wrote into ``<root>/<setting>/`` of a
    SpikingJelly root to :func:`frames_store_path`, and remove that folder when nothing else
    is left in it, so SpikingJelly can build its own frames there. A folder holding anything
    else (SpikingJelly's ``train/`` / ``test/``) keeps it. Returns the stores moved."""
    if not is_spikingjelly_root(root):
        return []
    old_dir = Path(root) / setting_dir_name(setting)
    moved = []
    for split in splits:
        old = old_dir / f"{split}{STORE_SUFFIX}"
        new = frames_store_path(root, setting, split)
        if old.is_file() and not new.exists():
            new.parent.mkdir(parents=True, exist_ok=True)
            os.replace(old, new)
            moved.append(new)
    if old_dir.is_dir():
        rest = [p for p in old_dir.iterdir() if not p.name.endswith(".lock")]
        if not rest:
            for p in old_dir.iterdir():
                p.unlink(missing_ok=True)
            old_dir.rmdir()
    return moved


def store_paths(root) -> List[Path]:
    """Every store file directly in a folder of ``root`` (events and frames), sorted."""
    return sorted(Path(root).glob(f"*/*{STORE_SUFFIX}"))


def dataset_roots(base) -> List[Path]:
    """``[base]`` when ``base`` is a dataset root (it has an events folder), else the dataset
    roots directly under ``base``, sorted (none when ``base`` is not a folder)."""
    base = Path(base)
    if events_dir(base).is_dir():
        return [base]
    return sorted(p for p in base.iterdir() if events_dir(p).is_dir()) if base.is_dir() else []


def find_extracted_roots(base="data") -> List[Path]:
    """Dataset roots under ``base`` that hold an events store.

    Parameters
    ----------
    base : path, default "data"
        A folder of dataset roots.

    Returns
    -------
    list of Path
        The folders directly in ``base`` with ``events/train.h5``, sorted; ``[]`` when
        ``base`` is not a folder.
    """
    base = Path(base)
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if events_store_path(p, "train").exists())


# -- extraction's folders -----------------------------------------------------------------------

def extract_lock_target(root) -> Path:
    """The name whose lock (``events/.extract.lock``) guards a whole extraction of ``root``."""
    return events_dir(root) / EXTRACT_LOCK_NAME


def source_hints_path(root) -> Path:
    """The file remembering the raw files' content hashes last confirmed for ``root``."""
    return events_dir(root) / HINTS_FILE


def partial_dir(root, key: str) -> Path:
    """Resume-shard folder of one extraction, named by a digest of ``key`` (what it decodes)."""
    return events_dir(root) / (PARTIAL_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16])


def partial_dirs(root) -> List[Path]:
    """Every resume-shard folder under ``root``'s events folder (of any extraction)."""
    return list(events_dir(root).glob(PARTIAL_PREFIX + "*"))


# -- locks and temporaries ----------------------------------------------------------------------

def lock_path(final) -> Path:
    """The lock file of the store (or lock target) ``final``: ``.<name>.lock`` beside it."""
    final = Path(final)
    return final.parent / f".{final.name}.lock"


def _host() -> str:
    h = socket.gethostname() or "localhost"
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in h)


def writer_tag() -> str:
    """``<host>-<pid>-<token>`` of this process (a forked child draws its own token)."""
    global _WRITER
    pid = os.getpid()
    if _WRITER is None or _WRITER[0] != pid:
        _WRITER = (pid, f"{_host()}-{pid}-{uuid.uuid4().hex[:8]}")
    return _WRITER[1]


def tmp_name(final) -> Path:
    """A fresh temporary name for ``final`` in its folder, owned by this process."""
    final = Path(final)
    return final.with_name(f"{final.name}{TMP_MARK}{writer_tag()}-{uuid.uuid4().hex[:6]}")


def _parse(name: str):
    """``(host, pid, tag)`` of a temporary's writer; host None for the old ``<pid>-<id>``
    names; None when ``name`` is not a temporary's name."""
    tail = name.split(TMP_MARK, 1)[1]
    parts = tail.rsplit("-", 3)
    if len(parts) == 4 and parts[1].isdigit() and parts[0]:
        return parts[0], int(parts[1]), "-".join(parts[:3])
    old = tail.split("-")
    if len(old) == 2 and old[0].isdigit():
        return None, int(old[0]), None
    return None
