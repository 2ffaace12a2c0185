"""The pipeline: raw dataset -> events stores -> frames stores.

- :mod:`~evframes.pipeline.extract`: :func:`extract` (decode, split, store; reuse when current).
- :mod:`~evframes.pipeline.dask`: extraction's tasks on a Dask cluster.
- :mod:`~evframes.pipeline.frames`: :func:`build_frames` (events store -> frames store).
- :mod:`~evframes.pipeline.plan`: batches within a memory budget; settings that cannot fit.
- :mod:`~evframes.pipeline.executor`: the one bounded-window scheduler (pool, Dask).
- :mod:`~evframes.pipeline.sources`: content fingerprints of the raw files; staleness.
- :mod:`~evframes.pipeline.inspect`: soundness and currency of a dataset root (``verify``).

The pipeline reads and writes stores only through :mod:`evframes.store`; it never opens HDF5
itself.
"""
