"""HDF5 stores: the only part of evframes that uses h5py.

- :mod:`~evframes.store.layout`: every path rule of a dataset root (events and frames store
  paths, the setting folder name, temporaries, locks, resume-shard folders).
- :mod:`~evframes.store.manifest`: the JSON manifest every store carries; reuse checks.
- :mod:`~evframes.store.atomic`: atomic writes (temporary + rename), storage-failure checks.
- :mod:`~evframes.store.locking`: inter-process build locks; removal of stale temporaries.
- :mod:`~evframes.store.reader`: the lazily opened handle and the reader base of both stores.
- :mod:`~evframes.store.events`: the events store (writer and :class:`EventsDataset`).
- :mod:`~evframes.store.verify`: checking a store against its manifest.

Every name of the former ``evframes/store.py`` module is importable from here.
"""
from .atomic import (
    SPACE_MARGIN,
    STORAGE_ERRNOS,
    AtomicH5,
    _errno_of,
    ensure_free_space,
    io_failure,
)
from .events import (
    _EVENT_CHUNK,
    _EVENT_DTYPES,
    _STR,
    EventsDataset,
    EventsStoreWriter,
    events_compression,
)
from .layout import (
    EVENTS_DIR,
    PARTIAL_PREFIX,
    TMP_MARK,
    dataset_roots,
    events_dir,
    events_store_path,
    extract_lock_target,
    find_extracted_roots,
    frames_store_path,
    lock_path,
    partial_dir,
    partial_dirs,
    resolve_store,
    setting_dir_name,
    store_paths,
    tmp_name,
    writer_tag,
)
from .locking import remove_stale_temporaries, store_lock
from .manifest import (
    FORMAT_VERSION,
    Manifests,
    _json_default,
    _jsonable,
    _short,
    read_manifest,
    store_status,
)
from .reader import StoreReader, _decode, _LazyH5
from .verify import dataset_crc, verify_store

__all__ = [
    "AtomicH5", "EVENTS_DIR", "EventsDataset", "EventsStoreWriter", "FORMAT_VERSION",
    "Manifests", "PARTIAL_PREFIX", "SPACE_MARGIN", "STORAGE_ERRNOS", "StoreReader", "TMP_MARK",
    "dataset_crc", "dataset_roots", "ensure_free_space", "events_compression", "events_dir",
    "events_store_path", "extract_lock_target", "find_extracted_roots", "frames_store_path",
    "io_failure", "lock_path", "partial_dir", "partial_dirs", "read_manifest",
    "remove_stale_temporaries", "resolve_store", "setting_dir_name", "store_lock",
    "store_paths", "store_status", "tmp_name", "verify_store", "writer_tag",
]
