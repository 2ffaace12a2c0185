"""Where a raw dataset's files may sit under a dataset root: the root layouts, in one table.

Each raw module asks for its *items* by their canonical names (a folder or an archive, e.g.
DVS128 Gesture's ``DvsGesture/`` or ``DvsGesture.tar.gz``, N-MNIST's ``Train/`` or
``Train.zip``, CIFAR10-DVS's ``airplane/`` or ``airplane.zip``); :func:`find_item` looks for
them in every layout of :data:`LAYOUTS`, in order:

========================  ==============================  ===============================
layout                    folder item                     archive item
========================  ==============================  ===============================
``evframes``              ``<root>/<name>/``              ``<root>/<name>``
``spikingjelly``          ``<root>/extract/<name>/``      ``<root>/download/<name>``
========================  ==============================  ===============================

SpikingJelly's layout is what its datasets leave behind: the downloads in ``download/`` and
what it unpacked from them in ``extract/`` (``extract/DvsGesture/``, ``extract/Train/``,
``extract/airplane/``). Its converted copies (``events_np/``, one ``.npz`` per sample) and its
frame folders are neither read nor touched. evframes' own stores go to the same root as with
its own layout (``<root>/events/<split>.h5``, ``<root>/<setting>/<split>.h5``; a frames store
``<root>/frames_number_20_split_by_number/train.h5`` then sits beside SpikingJelly's
``train/`` folder of ``.npz`` frames in the folder of the same name).

Layouts are searched in order, each in its own preference: evframes' own layout a folder
before an archive (as before), SpikingJelly's its original download before what it unpacked
(``download/`` before ``extract/``: the download is what it verified by md5, while
``extract/`` is its copy, which it may still be writing, and preferring it would switch a
root's stores from the archive to the folder, and so rebuild them, the first time
SpikingJelly runs after evframes). Items of one dataset may come from different layouts.

Another layout is one more :class:`RootLayout` line: build it (patterns, or per-item
``overrides`` for names that differ) and pass it to :func:`register_layout`, or append it to
:data:`LAYOUTS` where it is defined. Nothing else changes: the raw modules only call
:func:`find_item`, :func:`existing_folders`, :func:`describe` and :func:`where_to_get`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

#: ``(file name, url, md5)`` of one download, as SpikingJelly's ``resource_url_md5()`` lists it
Resource = Tuple[str, str, str]


@dataclass(frozen=True)
class RootLayout:
    """One way of laying a dataset's raw items out under a root.

    Attributes
    ----------
    name : str
        Short name (``"spikingjelly"``), shown in messages.
    title : str
        Whose layout it is, for messages (``"SpikingJelly's layout"``).
    folder, archive : str or None
        Patterns of a folder / archive item's path relative to the root, with ``{name}`` the
        item's canonical name and ``{dataset}`` the registry name; None: this layout has no
        such items.
    overrides : mapping
        ``(dataset, kind, name) -> (relative path, ...)`` for items whose place does not follow
        the pattern (``kind`` is ``"folder"`` or ``"archive"``); an empty tuple: not in this
        layout.
    datasets : tuple or None
        The datasets the patterns apply to (None: all); overrides always apply.
    prefer : str
        ``"folder"`` or ``"archive"``: which kind of item this layout offers first.
    """

    name: str
    title: str
    folder: Optional[str] = "{name}"
    archive: Optional[str] = "{name}"
    overrides: Mapping[Tuple[str, str, str], Tuple[str, ...]] = field(default_factory=dict)
    datasets: Optional[Tuple[str, ...]] = None
    prefer: str = "folder"

    def candidates(self, dataset: str, kind: str, name: str) -> Tuple[str, ...]:
        """Relative paths where item ``name`` of ``kind`` (``"folder"``/``"archive"``) may be."""
        key = (dataset, kind, name)
        if key in self.overrides:
            return tuple(self.overrides[key])
        if self.datasets is not None and dataset not in self.datasets:
            return ()
        pattern = self.folder if kind == "folder" else self.archive
        return () if pattern is None else (pattern.format(name=name, dataset=dataset),)


EVFRAMES = RootLayout("evframes", "evframes' layout")
SPIKINGJELLY = RootLayout("spikingjelly", "SpikingJelly's layout", folder="extract/{name}",
                          archive="download/{name}", prefer="archive")

#: every layout, searched in this order
LAYOUTS: List[RootLayout] = [EVFRAMES, SPIKINGJELLY]


def register_layout(layout: RootLayout) -> RootLayout:
    """Add ``layout`` to :data:`LAYOUTS` (after the others; replaces one of the same name)."""
    for i, known in enumerate(LAYOUTS):
        if known.name == layout.name:
            LAYOUTS[i] = layout
            return layout
    LAYOUTS.append(layout)
    return layout


@dataclass(frozen=True)
class Found:
    """A raw item found under a root: its ``path``, whether it is an archive, which layout."""

    path: Path
    is_archive: bool
    layout: str


def _paths(root: Path, dataset: str, kind: str, name: Optional[str], layouts=None):
    if name is None:
        return
    for layout in (LAYOUTS if layouts is None else layouts):
        for rel in layout.candidates(dataset, kind, name):
            yield layout, root / rel


def find_item(root, dataset: str, folder: Optional[str] = None, archive: Optional[str] = None,
              complete: Optional[Callable[[Path], bool]] = None) -> Optional[Found]:
    """The first place of an item under ``root``: layout by layout (:data:`LAYOUTS` order),
    the kinds in the layout's ``prefer`` order, a folder ``folder`` (one that
    ``complete(path)`` accepts, when given) or an archive file ``archive``; None when there is
    neither."""
    root = Path(root)
    for layout in LAYOUTS:
        kinds = ("folder", "archive") if layout.prefer == "folder" else ("archive", "folder")
        for kind in kinds:
            for _, p in _paths(root, dataset, kind, folder if kind == "folder" else archive,
                               (layout,)):
                if kind == "archive" and p.is_file():
                    return Found(p, True, layout.name)
                if kind == "folder" and p.is_dir() and (complete is None or complete(p)):
                    return Found(p, False, layout.name)
    return None


def existing_folders(root, dataset: str, folder: str) -> List[Path]:
    """Folders named as item ``folder`` that exist under ``root`` in any layout (for the
    message about an incomplete one)."""
    return [p for _, p in _paths(Path(root), dataset, "folder", folder) if p.is_dir()]


def describe(dataset: str, folder: Optional[str] = None, archive: Optional[str] = None) -> str:
    """Where :func:`find_item` looks, relative to the root, for messages:
    ``"DvsGesture/ or DvsGesture.tar.gz (evframes' layout), extract/DvsGesture/ or
    download/DvsGesture.tar.gz (SpikingJelly's layout)"``."""
    parts = []
    for layout in LAYOUTS:
        names = [f"{rel}/" for rel in (layout.candidates(dataset, "folder", folder)
                                       if folder else ())]
        names += list(layout.candidates(dataset, "archive", archive) if archive else ())
        if names:
            parts.append(f"{' or '.join(names)} ({layout.title})")
    return ", ".join(parts)


def where_to_get(root, resources: Sequence[Resource], downloadable: bool = False,
                 files: Optional[Sequence[str]] = None, ref: str = "",
                 max_urls: int = 3) -> str:
    """One clause for an error line: evframes never downloads; where to get the ``files``
    (default: every resource) and where to put them under ``root``.

    ``downloadable``: whether SpikingJelly downloads them itself (said so: its users may
    expect it). More than ``max_urls`` files with different URLs: the URLs are left to
    ``ref`` (where the list is, e.g. ``"evframes.raw.cifar10dvs.RESOURCES"``).
    """
    want = [r for r in resources if files is None or r[0] in files]
    if not want:
        return ""
    root = Path(root)
    urls = sorted({r[1] for r in want})
    names = ", ".join(r[0] for r in want)
    if len(urls) == 1:
        src = f"from {urls[0]}"
    elif len(want) <= max_urls:
        src = "from " + ", ".join(f"{r[1]} ({r[0]})" for r in want)
    else:
        src = f"(URLs and md5 sums: {ref or 'resource_url_md5()'})"
    who = " (SpikingJelly downloads these itself)" if downloadable else ""
    return (f"evframes never downloads{who}: get {names} {src} and put "
            f"{'it' if len(want) == 1 else 'them'} in {root}/ or {root / 'download'}/ "
            f"(SpikingJelly's layout)")


__all__ = ["RootLayout", "Found", "Resource", "EVFRAMES", "SPIKINGJELLY", "LAYOUTS",
           "register_layout", "find_item", "existing_folders", "describe", "where_to_get"]
