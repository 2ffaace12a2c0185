"""Is a dataset root sound and current? The rules behind ``evframes verify`` and the "nothing to
do" checks of ``extract`` / ``integrate``.

:func:`verify_root` checks every store of a root against its manifest (structure, checksums:
:func:`evframes.store.verify.verify_store`) and its staleness: an events store against the raw
files it was decoded from, a frames store against the events store it was built from.
:func:`extract_current` and :func:`frames_current` say whether a run would only reuse stores.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Sequence

from ..integrate.fingerprint import verify_note
from ..raw.truncation import store_note
from ..store.layout import events_store_path, frames_store_path, store_paths
from ..store.manifest import Manifests, manifests_or_new
from ..store.verify import verify_store


@dataclass
class StoreCheck:
    """The verdict on one store: ``problems`` (empty = sound and current) and, for a sound
    store, a ``note`` on what could not be checked (truncated recordings, custom functions)."""

    path: Path
    rel: Path
    problems: List[str] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        """The line ``evframes verify`` prints for this store."""
        if self.problems:
            return f"  BAD  {self.rel}: " + "; ".join(self.problems)
        return f"  ok   {self.rel}{self.note}"


def store_problems(path, root, manifests: Optional[Manifests] = None) -> List[str]:
    """Problems of the store ``path`` of dataset ``root``: its own (:func:`verify_store`), then
    staleness: an events store against the raw data (when present), a frames store against its
    events store (missing, or rebuilt since). ``manifests``: the operation's memo."""
    from .frames import events_store_identity
    from .sources import events_store_staleness
    manifests = manifests_or_new(manifests)
    problems = verify_store(path, manifests)
    if not problems:
        man = manifests.read(path)
        if man.get("kind") == "events":
            why = events_store_staleness(path, manifests=manifests)  # None without raw data
            if why:
                problems.append(f"stale against the raw data: {why}")
        elif man.get("kind") == "frames":
            ev = events_store_path(root, man["split"])
            if not ev.exists():
                problems.append(f"its events store {ev} is missing")
            elif events_store_identity(manifests.read(ev)) != man.get("events_store"):
                problems.append("stale: built from an older events store")
    return problems


def check_store(path, root, manifests: Optional[Manifests] = None) -> StoreCheck:
    """:class:`StoreCheck` of the store ``path`` inside dataset ``root`` (``manifests``: the
    operation's memo)."""
    manifests = manifests_or_new(manifests)
    path, root = Path(path), Path(root)
    check = StoreCheck(path, path.relative_to(root), store_problems(path, root, manifests))
    if check.ok:
        man = manifests.read(path)
        note = verify_note(man)  # what verify cannot check (custom functions)
        check.note = store_note(man) + (f" ({note})" if note else "")
    return check


def verify_root(root) -> Iterator[StoreCheck]:
    """One :class:`StoreCheck` per store of the dataset ``root`` (sorted by path), checked as
    the iteration reaches it."""
    manifests = Manifests()  # each manifest read once (events stores are asked by frames too)
    for path in store_paths(root):
        yield check_store(path, root, manifests)


def extract_current(ds) -> bool:
    """True when every split's events store of the raw dataset ``ds`` is complete and current
    (an extraction would only reuse them); False otherwise or when that cannot be told."""
    try:
        from .sources import stores_status
        return stores_status(ds) is None
    except Exception:
        return False


def frames_current(root, setting, splits: Sequence[str],
                   downsample: Optional[int] = None) -> bool:
    """True when the frames stores of ``setting`` for ``splits`` under ``root`` are current
    (an integration would only reuse them); False otherwise or when that cannot be told.
    ``downsample``: the setting's own unless given (old call style; must agree)."""
    try:
        from ..integrate.setting import with_downsample
        from .frames import expected_frames_manifest
        setting = with_downsample(setting, downsample)
        mans = Manifests()
        return all(mans.status(frames_store_path(root, setting, s),
                               expected_frames_manifest(root, s, setting,
                                                        manifests=mans)) is None
                   for s in splits)
    except Exception:
        return False
