"""What extraction does with a recording that ends inside a record or packet (a cut download,
a full disk while copying, ...).

Jobs always decode the complete part of such a file and list it in ``JobResult.truncated``
(see :func:`truncation`); the policy is applied by extraction when the job's samples are
written, so resume shards hold the same thing whatever the policy:

* ``on_truncated="error"`` (default): the extraction fails with :class:`FormatError` naming the
  file and the byte offset of the incomplete record; no store is committed.
* ``on_truncated="keep"``: the complete part is kept. Samples the cut left without events are
  dropped (never stored) and listed, with those shortened by the cut, in the summary and in the
  events store's manifest (``dropped_samples``, ``truncated_recordings``); ``evframes verify``
  reports them as a note.

A sample that is empty for another reason (a labels window over a gap in an intact recording,
an empty file) is kept as an empty sample with a warning, as before: only the cut is a reason
to drop. A file cut exactly at a record or packet boundary is a valid, shorter file and cannot be
told from one: it is not a truncation.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..errors import FormatError
from ..events import Events

POLICIES = ("error", "keep")
#: ``reason`` of a dropped sample in summaries and manifests
REASON = "truncated recording"
HINT = ("pass on_truncated='keep' (evframes extract --keep-truncated) to keep the complete "
        "part and drop the samples it leaves without events")


def check_policy(value: str) -> str:
    if value not in POLICIES:
        raise ValueError(f"on_truncated must be one of {POLICIES}, got {value!r}")
    return value


def truncation(caught, recording: str, samples: Sequence[int]) -> List[Dict[str, Any]]:
    """``JobResult.truncated`` entries from recorded warnings (TruncatedFileWarning only)."""
    from ..formats import TruncatedFileWarning
    return [{"recording": recording, "path": w.message.path, "offset": w.message.offset,
             "reason": w.message.reason, "events_kept": w.message.kept,
             "samples": list(samples)}
            for w in caught if isinstance(w.message, TruncatedFileWarning)]


def other_warnings(caught) -> List[str]:
    """The messages of recorded warnings other than TruncatedFileWarning."""
    from ..formats import TruncatedFileWarning
    return [str(w.message) for w in caught if not isinstance(w.message, TruncatedFileWarning)]


def truncation_error(entry: Mapping, note: str = "") -> FormatError:
    return FormatError(entry["path"], entry["offset"], f"{entry['reason']}{note}; {HINT}")


class TruncationLog:
    """Applies the policy to job results as they are written and keeps, per split, what was
    kept of truncated recordings and which samples were dropped."""

    def __init__(self, policy: str, splits: Sequence[str]):
        self.policy = check_policy(policy)
        self.dropped: Dict[str, List[dict]] = {s: [] for s in splits}
        self.truncated: Dict[str, List[dict]] = {s: [] for s in splits}

    def admit(self, res, split: str, classes: Sequence[str]):
        """``res`` ready to write: unchanged, or without the samples its cut left empty.
        Raises FormatError under the default policy."""
        if not res.truncated:
            return res
        if self.policy == "error":
            raise truncation_error(res.truncated[0])
        gone = {}
        for entry in res.truncated:
            self.truncated[split].append({k: v for k, v in entry.items() if k != "samples"})
            for i in entry["samples"]:
                if res.offsets[i + 1] == res.offsets[i]:
                    gone[i] = entry
        if not gone:
            return res
        keep = [i for i in range(res.n_samples) if i not in gone]
        for i in sorted(gone):
            meta, label = res.metas[i], int(res.labels[i])
            item = {"recording": meta.get("source", gone[i]["recording"]), "label": label,
                    "class": classes[label] if 0 <= label < len(classes) else None}
            item.update({k: meta[k] for k in ("row", "start", "end") if k in meta})
            item.update({"reason": REASON, "path": gone[i]["path"],
                         "offset": gone[i]["offset"]})
            self.dropped[split].append(item)
        return _select(res, keep)

    def manifest(self, split: str) -> dict:
        return {"dropped_samples": self.dropped[split],
                "truncated_recordings": self.truncated[split]}

    def load(self, split: str, man: Mapping) -> None:
        """Fill from a reused store's manifest."""
        self.dropped[split] = list(man.get("dropped_samples") or [])
        self.truncated[split] = list(man.get("truncated_recordings") or [])

    def all_truncated(self) -> List[dict]:
        return [dict(e, split=s) for s, es in self.truncated.items() for e in es]

    def lines(self, limit: int = 10) -> List[str]:
        cut = self.all_truncated()
        gone = [dict(e, split=s) for s, es in self.dropped.items() for e in es]
        if not cut:
            return []
        out = [f"  kept the complete part of {len(cut)} truncated recording(s) "
               "(on_truncated='keep'):"]
        out += [f"    {e['path']} at byte {e['offset']}: {e['events_kept']} events kept"
                for e in cut[:limit]]
        out += [f"    ... and {len(cut) - limit} more"] if len(cut) > limit else []
        out.append(f"  dropped {len(gone)} sample(s) the cut left without events (manifest "
                   "key dropped_samples)" + (":" if gone else ""))
        for e in gone[:limit]:
            window = f", {e['start']}..{e['end']} us" if "start" in e else ""
            out.append(f"    {e['split']}: {e['recording']} label {e['label']} "
                       f"({e['class']}{window})")
        out += [f"    ... and {len(gone) - limit} more"] if len(gone) > limit else []
        return out


def _select(res, keep: List[int]):
    """A copy of JobResult ``res`` holding only the samples ``keep`` (indices, in order)."""
    off = res.offsets
    idx = np.concatenate([np.arange(off[i], off[i + 1]) for i in keep]) if keep else \
        np.zeros(0, np.int64)
    lens = np.array([off[i + 1] - off[i] for i in keep], np.int64)
    offsets = np.zeros(len(keep) + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    ev = Events({k: np.asarray(res.events[k])[idx] for k in ("t", "x", "y", "p")})
    return dataclasses.replace(res, events=ev, offsets=offsets,
                               labels=[res.labels[i] for i in keep],
                               metas=[res.metas[i] for i in keep],
                               warnings=list(res.warnings), truncated=list(res.truncated))


def reuse_refusal(manifests: Mapping[str, Mapping], policy: str) -> Optional[FormatError]:
    """Under the default policy, current stores built with ``keep`` from a truncated recording
    are not silently reused: the error the build would raise (the stores are left as they are).
    """
    if policy != "error":
        return None
    for man in manifests.values():
        cut = man.get("truncated_recordings") or []
        if cut:
            n = sum(len(m.get("dropped_samples") or []) for m in manifests.values())
            return truncation_error(cut[0], f"; the current events stores were built with "
                                            f"on_truncated='keep' and dropped {n} sample(s)")
    return None


def store_note(man: Mapping) -> str:
    """`` (note: ...)`` for ``evframes verify`` when an events store was built from truncated
    recordings, else ``""``."""
    cut = man.get("truncated_recordings") or []
    if man.get("kind") != "events" or not cut:
        return ""
    n = len(man.get("dropped_samples") or [])
    return (f"  (note: built with --keep-truncated from {len(cut)} truncated recording(s); "
            f"{n} sample(s) dropped, listed in the manifest's dropped_samples)")
