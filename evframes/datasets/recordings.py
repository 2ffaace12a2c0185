"""Users' own recordings as a torch Dataset (raw layout: :mod:`evframes.raw.recordings`).

>>> from evframes.datasets import Recordings
>>> train = Recordings("my_recordings", train=True, data_type="frame", frames_number=16,
...                    split_by="number")
>>> x, y = train[0]          # float32 tensor [16, 2, H, W], int label (train.classes[y])

``root`` is the recordings folder (class folders, or ``labels.csv``) and where the stores go;
``recordings=DIR`` reads the recordings from another folder. Options not given are those of the
existing events stores (those of ``evframes extract --recordings ...``), so a Dataset opened
later, or by ``evframes integrate`` / ``play``, checks the stores against the same recordings,
labels file, split and sensor size they were built with; an option given that differs
(``split_ratio=0.5``) rebuilds them.
"""
from typing import Callable, Optional

from .base import NeuromorphicDataset

#: the raw options, with their defaults (:class:`~evframes.raw.recordings.RecordingsRaw`)
RAW_OPTIONS = {"recordings": None, "labels": None, "split_ratio": 0.8, "seed": 0,
               "sensor_size": None}


class Recordings(NeuromorphicDataset):
    """A folder of the user's recordings in any supported format (see the module docstring).

    Positional arguments as :class:`~evframes.datasets.DVS128Gesture` (``root, train,
    data_type, frames_number, split_by, duration, custom_integrate_function,
    custom_integrated_frames_dir_name, transform, target_transform``); raw options
    ``recordings``, ``labels``, ``split_ratio`` (0.8), ``seed`` (0), ``sensor_size`` ((W, H))
    as :class:`~evframes.raw.recordings.RecordingsRaw`; every other option of
    :class:`~evframes.datasets.base.NeuromorphicDataset`. ``classes`` are the class folder
    names (or labels), ``sensor_size`` is ``(W, H)`` from the recordings' headers.
    """

    raw_name = "recordings"

    def __init__(self, root, train: Optional[bool] = True, data_type: str = "event",
                 frames_number: Optional[int] = None, split_by: Optional[str] = None,
                 duration: Optional[int] = None,
                 custom_integrate_function: Optional[Callable] = None,
                 custom_integrated_frames_dir_name: Optional[str] = None,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, **options):
        unknown = set(options) & {"train_ratio", "orientation"}
        if unknown:
            raise TypeError(f"Recordings takes split_ratio=, not {', '.join(sorted(unknown))}")
        given = {k: options.pop(k) for k in list(options) if k in RAW_OPTIONS}
        raw = self._stored_options(root)      # what the stores were built with, then the
        raw.update(given)                     # options given here
        if raw.get("sensor_size") is not None:
            raw["sensor_size"] = tuple(int(v) for v in raw["sensor_size"])
        super().__init__(root, train, data_type, frames_number, split_by, duration,
                         custom_integrate_function, custom_integrated_frames_dir_name,
                         transform, target_transform, **options, **raw)

    @staticmethod
    def _stored_options(root) -> dict:
        """The raw options recorded in the root's events store manifest (defaults if none)."""
        from ..errors import StoreError
        from ..store import events_store_path, read_manifest
        out = dict(RAW_OPTIONS)
        p = events_store_path(root, "train")
        if p.exists():
            try:
                man = read_manifest(p)
            except StoreError:
                return out
            if man.get("dataset") == "recordings":
                out.update({k: v for k, v in (man.get("options") or {}).items()
                            if k in RAW_OPTIONS})
        return out

    def get_H_W(self):
        """``(H, W)`` of this dataset's sensor in pixels (from its recordings)."""
        W, H = self.sensor_size
        return H, W
