"""Tonic 1.7's functional representations (``tonic.functional.to_*_numpy``), same names,
parameters and values; also reachable as ``evframes.tonic.functional`` and
``evframes.tonic.transforms.functional``, as in Tonic.

Events are Tonic's structured arrays (fields ``x``, ``y``, ``t``, ``p``; ``t`` in
microseconds); ``sensor_size`` is ``(W, H, P)``. Values equal Tonic 1.7's, integers exactly
and floats bit for bit (same float type, same operations, same order of additions). Where
Tonic crashes these return what its formula means, and say so below. Deliberate differences
for every function: the caller's events are never written to (Tonic's functions overwrite
``events['p']`` in two places, named below); ``t`` must not decrease where Tonic's
``searchsorted`` or time order is used (``ValueError``; Tonic silently gives other
windows); an index outside the frame raises ``TonicIndexError`` (an ``IndexError`` and a
``ValueError``) naming the event, where Tonic's NumPy raises ``IndexError``.
"""
from __future__ import annotations

from . import _frames, _surfaces

__all__ = ["to_frame_numpy", "to_voxel_grid_numpy", "to_timesurface_numpy",
           "to_averaged_timesurface_numpy", "to_bina_rep_numpy"]


def to_frame_numpy(events, sensor_size, time_window=None, event_count=None, n_time_bins=None,
                   n_event_bins=None, overlap=0.0, include_incomplete=False, start_time=None,
                   end_time=None):
    """Count frames, int16 ``[T, P, H, W]`` (``[T, P, W]`` for events without ``y``).

    Exactly one of ``time_window`` (same unit as ``t``), ``event_count``, ``n_time_bins``,
    ``n_event_bins`` (else ``ValueError``), each slicing as Tonic's slicers (rules in
    :mod:`evframes.integrate.tonic_rules`); ``overlap``: in ``t`` units, events, or a
    fraction of a bin; ``include_incomplete`` keeps the partial last window of the first two
    rules; ``start_time`` / ``end_time`` apply to ``time_window`` only.

    Tonic's quirks, kept: counts are int16 and wrap past 32767 (``np.add.at`` on int16);
    ``n_time_bins`` never counts the last event (bins of ``span // B`` from ``t[0]``) and
    gives empty bins when the span is shorter than B; ``n_event_bins`` drops the last
    ``N % B`` events; ``time_window`` / ``event_count`` drop the incomplete tail unless
    ``include_incomplete``, and fewer events than ``event_count`` make one frame of all of
    them; ``sensor_size`` None (or empty) infers ``(x.max()+1, y.max()+1, number of distinct
    p)`` per sample; a one-polarity sensor (P = 1) counts every event in channel 0 and
    raises ``ValueError`` if ``p`` takes two values; negative indices count from the end
    (p = -1 is the last channel); ``p`` is truncated to an integer, ``x`` / ``y`` must be
    integers. Differences: Tonic writes ``p = 0`` into the caller's events for P = 1 (not
    here); empty events give int16 zeros (one frame for the window rules, B for the bin
    rules) where Tonic's ``time_window`` / ``n_time_bins`` crash; events without ``p`` are
    accepted for P = 1 (Tonic asserts ``p``); ``t`` may be absent for ``event_count`` /
    ``n_event_bins``, which never read it.
    """
    return _frames.to_frame(events, sensor_size, time_window, event_count, n_time_bins,
                            n_event_bins, overlap, include_incomplete, start_time, end_time)


def to_voxel_grid_numpy(events, sensor_size, n_time_bins=10):
    """Voxel grid (Zhu et al. 2019, bilinear in time), float64 ``[n_time_bins, 1, H, W]``.

    ``tn = (B * (float(t) - float(t[0]))) / float(t[-1] - t[0])``, ``b = int(tn)``,
    ``d = tn - b``; each event adds ``pol * (1 - d)`` to bin ``b`` and ``pol * d`` to bin
    ``b + 1``, each only if that bin is ``< B``, every cell summing its left shares in event
    order, then its right shares. ``pol`` = -1 where ``p == 0``, else ``p`` itself.
    ``sensor_size[2]`` must be 2 (``ValueError``).

    Tonic's quirks, kept: bool ``p`` (Tonic's DVSGesture / CIFAR10-DVS dtypes) gives every
    event ``pol = +1``, OFF events included (Tonic assigns -1 into a bool array, which stores
    True); events at ``t[-1]`` (``tn = B``) add nothing and the last bin's right shares are
    dropped; ``x`` / ``y`` index the flat grid (``x + y*W + b*W*H``), so an ``x`` just off
    the sensor lands on the next row, and only a flat index outside the grid raises;
    floats are truncated. Differences: one timestamp (a single event included) puts every
    event's ``pol`` in bin 0 (E2VID's convention), where Tonic divides 0 by 0 (NaN values
    or IndexError); empty events give zeros (Tonic: IndexError); unsigned ``p`` is
    supported (Tonic 1.7 with NumPy 2 raises OverflowError); the caller's ``p`` is not
    overwritten (Tonic's function writes -1 into it; its ``ToVoxelGrid`` passes a copy).
    """
    return _surfaces.voxel_grid(events, sensor_size, n_time_bins)


def to_timesurface_numpy(events, sensor_size, dt, tau, overlap=0, include_incomplete=False):
    """Global time surfaces, float64 ``[n_slices, P, H, W]``.

    Slices as ``to_frame_numpy(time_window=dt, overlap, include_incomplete)``; a memory of
    the latest ``int(t)`` per ``(p, y, x)`` (``-inf`` before the first event) is updated by
    each slice's events in turn; slice ``i`` is ``exp(-((i + 1) * dt + t[0] - memory) /
    tau)`` (0 where the pixel has not fired; the memory carries over slices).

    Tonic's quirks, kept: the sample time is ``t[0] + (i + 1) * dt`` even with an
    ``overlap`` (not the slice's own end); events beyond the last complete slice are not
    used unless ``include_incomplete``; ``t`` is truncated to an integer in the memory but
    not in ``t[0]``; no polarity merging (P = 1 with ``p = 1`` raises). Differences: empty
    events give one all-zero surface (Tonic: IndexError); events without ``y`` use row 0
    (Tonic: ValueError); ``dt = 0`` raises ``ValueError`` (Tonic: AssertionError).
    """
    return _surfaces.time_surface(events, sensor_size, dt, tau, overlap, include_incomplete)


def to_averaged_timesurface_numpy(events, sensor_size, cell_size, surface_size, time_window,
                                  tau, decay):
    """HATS (Sironi et al. 2018), float32 ``[cells, P, S, S]``, ``S = surface_size``.

    The sensor is cut into ``cell_size`` squares, ``ceil(W/cell) * ceil(H/cell)`` cells in
    row-major order; an event's cell is ``(y // cell) * ceil(W/cell) + x // cell`` and its
    channel ``max(0, int(p))``. Per cell and channel, event ``i``'s surface is 1 at the
    centre plus, at offset ``(y_j - y_i, x_j - x_i)``, the sum over the earlier events
    ``j`` of the same cell and channel with ``|dx|, |dy| <= S // 2`` and ``t_j >= max(0,
    t_i - time_window)`` of ``exp(-(t_i - t_j) / tau)`` (``decay='exp'``) or
    ``-(t_i - t_j) / (3 * tau) + 1`` (``'lin'``); the histogram is the mean of the cell's
    surfaces. All in float32, as Tonic: timestamps rounded to float32 (exact below 2**24 us,
    16.7 s), sums in Tonic's order (bit for bit), except for ``surface_size=1``, where
    NumPy sums each one-cell stack pairwise and these sums run in event order: equal
    within float32 rounding (rtol 1e-5).

    Tonic's quirks, kept: unsigned ``x`` / ``y`` (Tonic's CIFAR10-DVS dtype) only count
    neighbours with ``x_j >= x_i`` and ``y_j >= y_i`` (Tonic's unsigned difference wraps);
    pixels of the last partial row / column of cells beyond the sensor are accepted;
    a negative cell index counts from the end. Differences: ``t`` must not decrease
    (Tonic's quadratic scan does not need it); asserts become ``ValueError``.
    """
    return _surfaces.averaged_time_surface(events, sensor_size, cell_size, surface_size,
                                           time_window, tau, decay)


def to_bina_rep_numpy(event_frames, n_frames=1, n_bits=8):
    """Bina-Rep (Barchid et al. 2022), float32 ``[n_frames, P, H, W]`` from ``n_frames *
    n_bits`` frames ``[T*B, P, H, W]``: ``frames > 0`` read as the bits of an ``n_bits``
    number (the first frame of each group the highest bit), divided by ``2**n_bits - 1``.

    Tonic's quirk, kept: a count that wrapped negative in int16 frames reads as 0.
    """
    return _surfaces.bina_rep(event_frames, n_frames, n_bits)
