"""Resume shards of an extraction: each finished job's samples as ``<job>.npz`` in the run's
``events/.partial-<id>/`` folder (:func:`evframes.store.layout.partial_dir`), written
atomically, so an interrupted run redoes only the jobs without a shard and Dask workers can hand
their results to the client.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import numpy as np

from ..events import KEYS, Events
from ..raw.base import JobResult
from ..store import _json_default, remove_stale_temporaries
from ..store.layout import tmp_name


class _Shards:
    """Finished jobs' results as ``<job>.npz`` files (atomic), for resuming."""

    def __init__(self, folder: Path, clean: bool = True):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if clean:  # only the client cleans: pids of other hosts mean nothing here
            remove_stale_temporaries(self.folder)
        self.hits = 0

    def _path(self, name: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
        return self.folder / f"{safe}.npz"

    def load(self, name: str) -> Optional[JobResult]:
        p = self._path(name)
        if not p.exists():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                ev = Events({k: z[k] for k in KEYS})
                info = json.loads(str(z["info"]))
                res = JobResult(name=name, events=ev, offsets=z["offsets"],
                                labels=info["labels"], metas=info["metas"],
                                warnings=info["warnings"],
                                truncated=info.get("truncated", []))
        except Exception:  # a damaged shard is simply redone
            p.unlink(missing_ok=True)
            return None
        self.hits += 1
        return res

    def save(self, res: JobResult) -> None:
        p = self._path(res.name)
        tmp = tmp_name(p)  # host, pid and run token: judged under the extract lock
        info = json.dumps({"labels": res.labels, "metas": res.metas, "warnings": res.warnings,
                           "truncated": res.truncated}, default=_json_default)
        with open(tmp, "wb") as fh:
            np.savez(fh, offsets=res.offsets, info=np.array(info),
                     **{k: res.events[k] for k in KEYS})
        os.replace(tmp, p)
