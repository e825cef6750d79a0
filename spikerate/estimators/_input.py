"""Spike input of the estimators: a spikes Dataset or plain arrays, validated into one table."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr

from .. import _memory
from .._validation import check_int, check_positive, describe


class SpikeTable(NamedTuple):
    times: np.ndarray      # (S,) float64 [s], in [0, duration]
    neuron: np.ndarray     # (S,) int64 in [0, n_neurons)
    trial: np.ndarray      # (S,) int64 in [0, n_trials)
    n_neurons: int
    n_trials: int
    duration: float        # [s]
    population: np.ndarray  # (n_neurons,) str
    dt: float | None       # simulation step [s] when known
    seed: int | None       # seed of the simulation when known


def spike_table(spikes, *, duration=None, n_neurons=None, n_trials=None, population=None) -> SpikeTable:
    """Validate the spike input of an estimator.

    ``spikes`` is a spikes Dataset (``spikerate.spikes/1``; ``duration``, ``n_neurons``,
    ``n_trials`` and ``population`` then come from it and must not be passed), a tuple
    ``(times, neuron_ids)`` or ``(times, neuron_ids, trial_ids)`` of equal-length 1-D arrays,
    or a 1-D array of the spike times of one train.  Arrays need ``duration``; ``n_neurons``
    and ``n_trials`` default to the largest id + 1.
    """
    if isinstance(spikes, SpikeTable):
        return spikes
    if isinstance(spikes, xr.Dataset):
        given = [k for k, v in (("duration", duration), ("n_neurons", n_neurons), ("n_trials", n_trials),
                                ("population", population)) if v is not None]
        if given:
            raise TypeError(f"`{given[0]}` is taken from the spikes Dataset; do not pass it with a Dataset.")
        missing = [v for v in ("spike_time", "spike_neuron") if v not in spikes.variables]
        if missing or "duration" not in spikes.attrs:
            what = ", ".join(f"variable `{m}`" for m in missing) or "attribute `duration`"
            raise ValueError(f"`spikes` must be a spikes Dataset (spikerate.spikes/1); it has no {what}.")
        times = spikes["spike_time"].values
        ids = spikes["spike_neuron"].values
        trials = spikes["spike_trial"].values if "spike_trial" in spikes.variables else np.zeros(ids.shape, np.int64)
        duration = spikes.attrs["duration"]
        n_neurons = spikes.sizes.get("neuron", None)
        if n_neurons is None:
            n_neurons = int(ids.max()) + 1 if ids.size else 1
        n_trials = int(spikes.attrs.get("n_trials", 1))
        pop = spikes["population"].values.astype(str) if "population" in spikes.coords else None
        dt = spikes.attrs.get("dt")
        seed = spikes.attrs.get("seed")
        table = _check_arrays(times, ids, trials, duration, n_neurons, n_trials, pop)
        return table._replace(dt=float(dt) if dt is not None else None,
                              seed=int(seed) if seed is not None else None)
    if isinstance(spikes, (tuple, list)):
        if len(spikes) not in (2, 3):
            raise ValueError(f"`spikes` as a tuple must be (times, neuron_ids) or (times, neuron_ids, trial_ids); "
                             f"got {len(spikes)} items.")
        times, ids = spikes[0], spikes[1]
        trials = spikes[2] if len(spikes) == 3 else None
    elif isinstance(spikes, np.ndarray) or (hasattr(spikes, "__array__") and not isinstance(spikes, (str, bytes))):
        times, ids, trials = spikes, None, None
    else:
        raise TypeError(f"`spikes` must be a spikes Dataset, a tuple (times, neuron_ids[, trial_ids]) or an "
                        f"array of spike times; got {describe(spikes)}.")
    if duration is None:
        raise TypeError("`duration` [s] is required when `spikes` are arrays (spike times lie in [0, duration]).")
    t = _float_1d("times", times)
    i = np.zeros(t.shape, np.int64) if ids is None else _int_1d("neuron_ids", ids, t.size)
    k = np.zeros(t.shape, np.int64) if trials is None else _int_1d("trial_ids", trials, t.size)
    if n_neurons is None:
        n_neurons = int(i.max()) + 1 if i.size else 1
    if n_trials is None:
        n_trials = int(k.max()) + 1 if k.size else 1
    return _check_arrays(t, i, k, duration, n_neurons, n_trials, population)


def _float_1d(name, a) -> np.ndarray:
    try:
        arr = np.asarray(a)
    except Exception:  # pragma: no cover - exotic objects
        raise TypeError(f"`{name}` must be a 1-D numeric array; got {describe(a)}.") from None
    if arr.dtype.kind not in "iuf" and not (arr.dtype.kind == "O" and arr.size == 0):
        raise TypeError(f"`{name}` must be a 1-D numeric array [s]; got {describe(arr)}.")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D; got shape {arr.shape}.")
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"`{name}` must be finite; got {arr[bad]} at index {bad}.")
    return arr


def _int_1d(name, a, size) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise TypeError(f"`{name}` must be a 1-D integer array; got {describe(arr)}.")
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D; got shape {arr.shape}.")
    if arr.shape[0] != size:
        raise ValueError(f"`{name}` must have the length of `times` ({size}); got {arr.shape[0]}.")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise TypeError(f"`{name}` must hold integers; got non-integer values ({describe(arr)}).")
    return arr.astype(np.int64, copy=False)


def _check_arrays(times, ids, trials, duration, n_neurons, n_trials, population) -> SpikeTable:
    duration = check_positive("duration", duration, unit="s")
    n_neurons = check_int("n_neurons", n_neurons, minimum=1)
    n_trials = check_int("n_trials", n_trials, minimum=1)
    # per neuron: its label and a few results; per (neuron, trial) train: row pointers and counts
    need = 128.0 * n_neurons + 16.0 * n_neurons * n_trials
    have = _memory.available_memory()
    if need > have:
        from ..errors import InsufficientMemoryError
        raise InsufficientMemoryError(
            f"`n_neurons` = {n_neurons} and `n_trials` = {n_trials} need about {_memory.gib(need)} for the per-neuron "
            f"and per-train arrays but the machine has {_memory.gib(have)} available. Pass the numbers of neurons and "
            f"trials the spikes come from (the default is the largest id + 1).")
    times = _float_1d("times", times)
    ids = _int_1d("neuron_ids", ids, times.size)
    trials = _int_1d("trial_ids", trials, times.size)
    if times.size:
        lo, hi = times.min(), times.max()
        if lo < 0 or hi > duration:
            bad = int(np.flatnonzero((times < 0) | (times > duration))[0])
            raise ValueError(f"spike `times` must lie in [0, duration] = [0, {duration}] s; got {times[bad]} at "
                             f"index {bad}." + (" Times are in s; did you pass ms?" if hi > 1000 * duration / 2 else ""))
        if ids.min() < 0 or ids.max() >= n_neurons:
            raise ValueError(f"`neuron_ids` must lie in [0, n_neurons) = [0, {n_neurons}); got "
                             f"{ids.min() if ids.min() < 0 else ids.max()}.")
        if trials.min() < 0 or trials.max() >= n_trials:
            raise ValueError(f"`trial_ids` must lie in [0, n_trials) = [0, {n_trials}); got "
                             f"{trials.min() if trials.min() < 0 else trials.max()}.")
    if population is None:
        population = np.full(n_neurons, "all")
    else:
        population = np.asarray(population).astype(str)
        if population.shape != (n_neurons,):
            raise ValueError(f"`population` must hold one label per neuron, shape ({n_neurons},); "
                             f"got shape {population.shape}.")
    return SpikeTable(times, ids, trials, n_neurons, n_trials, duration, population, None, None)


def groups(table: SpikeTable, by: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group index of each neuron, group labels, neurons per group) for ``by``."""
    n = table.n_neurons
    if by == "neuron":
        return np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64), np.ones(n, np.int64)
    if by == "all":
        return np.zeros(n, np.int64), np.array(["all"]), np.array([n], np.int64)
    labels, first, inv = np.unique(table.population, return_index=True, return_inverse=True)
    order = np.argsort(first)  # populations in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    g = rank[inv].astype(np.int64)
    return g, labels[order], np.bincount(g, minlength=order.size).astype(np.int64)
