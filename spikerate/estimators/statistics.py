r"""Spike-train statistics per neuron: ISI mean, CV, CV2, LV, Fano factor, count correlations.

With the interspike intervals ``I_1 .. I_m`` of a neuron (consecutive spikes of the same
trial; the ISIs of all trials pooled)::

    CV  = std(I) / mean(I)                                    (population std, as scipy.stats.variation)
    CV2 = mean_i 2 |I_{i+1} - I_i| / (I_{i+1} + I_i)          Holt et al. (1996), doi:10.1152/jn.1996.75.5.1806
    LV  = 3 / (m - 1) sum_i ((I_i - I_{i+1}) / (I_i + I_{i+1}))^2
                                                              Shinomoto et al. (2003), doi:10.1162/089976603322518759

(CV2 and LV use pairs of consecutive ISIs within one trial.)  A regular train has CV = CV2 = LV
= 0, a Poisson train CV = CV2 = LV = 1 (in expectation).  The Fano factor is
``var(N) / mean(N)`` of the spike counts ``N`` in consecutive windows of ``fano_window``
tiling [0, duration) (a last partial window is dropped), over all windows and trials, with the
unbiased variance (ddof = 1).  Count correlations are Pearson coefficients of two neurons'
counts in the same windows, for a seeded random sample of distinct pairs.

NaN marks what is undefined, and only that: ``isi_mean`` with no ISI; ``isi_cv`` with fewer
than 2 ISIs (or all ISIs 0); ``cv2`` and ``lv`` without two consecutive ISIs in one trial
(pairs of two zero ISIs, from coincident spikes, are skipped as 0/0); ``fano`` with fewer
than 2 windows or no spike; ``count_correlation`` when either neuron's count has zero variance.
``rate`` and ``n_spikes`` are always defined (0 for an empty train).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import xarray as xr

from .. import _memory
from .._validation import check_int, check_positive
from ..io.schema import make_statistics_dataset
from . import _kernels as K
from ._input import spike_table

__all__ = ["spike_statistics"]


def spike_statistics(spikes, *, fano_window: float = 0.1, n_pairs: int = 100, seed: int | None = None,
                     duration: float | None = None, n_neurons: int | None = None, n_trials: int | None = None,
                     population: npt.ArrayLike | None = None) -> xr.Dataset:
    """ISI and count statistics of every neuron, and count correlations of sampled pairs.

    Parameters
    ----------
    spikes : xarray.Dataset or tuple of arrays or array
        As for :func:`estimate_rate`.
    fano_window : float
        Counting window [s] for the Fano factor and the count correlations.
    n_pairs : int
        Number of distinct neuron pairs (i < j) drawn at random for count correlations (all
        pairs when there are fewer); 0 skips them.
    seed : int, optional
        Seed of the pair sample (stored in ``attrs["seed"]``; None draws one).
    duration, n_neurons, n_trials, population
        For array input (see :func:`estimate_rate`).

    Returns
    -------
    xarray.Dataset
        Schema ``spikerate.statistics/1``: per ``neuron``: ``n_spikes``, ``rate`` [Hz] (spikes /
        (duration * trials)), ``n_isi``, ``isi_mean`` [s], ``isi_cv``, ``cv2``, ``lv``, ``fano``;
        per ``pair``: ``count_correlation`` with coords ``pair_i``, ``pair_j`` (sorted pairs).

    References
    ----------
    Holt GR, Softky WR, Koch C, Douglas RJ (1996) J Neurophysiol 75:1806-1814.
    https://doi.org/10.1152/jn.1996.75.5.1806

    Shinomoto S, Shima K, Tanji J (2003) Neural Comput 15:2823-2842.
    https://doi.org/10.1162/089976603322518759
    """
    table = spike_table(spikes, duration=duration, n_neurons=n_neurons, n_trials=n_trials, population=population)
    fano_window = check_positive("fano_window", fano_window, unit="s")
    n_pairs = check_int("n_pairs", n_pairs, minimum=0)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    seed = check_int("seed", seed, minimum=0)
    n, n_tr = table.n_neurons, table.n_trials
    _check_counts_memory(table, fano_window, min(n_pairs, n * (n - 1) // 2))

    row = table.neuron * n_tr + table.trial
    order = np.lexsort((table.times, row))
    times = np.ascontiguousarray(table.times[order])
    row_ptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=n * n_tr))]).astype(np.int64)
    n_isi = np.zeros(n, np.int64)
    isi_mean, cv, cv2, lv = (np.empty(n) for _ in range(4))
    K._isi_stats(times, row_ptr, n_tr, n_isi, isi_mean, cv, cv2, lv)
    n_spikes = np.bincount(table.neuron, minlength=n).astype(np.int64)
    rate = n_spikes / (table.duration * n_tr)

    counts = _spike_counts(table, fano_window)  # (neuron, trial * window)
    n_win = counts.shape[1]
    if n_win >= 2:
        mean = counts.mean(axis=1)
        var = counts.var(axis=1, ddof=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            fano = np.where(mean > 0, var / np.where(mean > 0, mean, 1.0), np.nan)
    else:
        fano = np.full(n, np.nan)

    pi, pj = _sample_pairs(n, n_pairs, seed)
    corr = _pair_correlations(counts, pi, pj) if n_win >= 2 else np.full(pi.size, np.nan)
    return make_statistics_dataset(n_spikes=n_spikes, rate=rate, isi_mean=isi_mean, isi_cv=cv, cv2=cv2, lv=lv,
                                   fano=fano, n_isi=n_isi, population=table.population, pair_i=pi, pair_j=pj,
                                   count_correlation=corr, duration=table.duration, n_trials=n_tr,
                                   fano_window=fano_window, n_windows=n_win // n_tr if n_tr else 0,
                                   n_pairs=int(pi.size), seed=seed, spikes_seed=table.seed)


def _check_counts_memory(table, window: float, n_pairs: int) -> None:
    """Refuse, before counting, window counts that do not fit: an int64 per (neuron, trial,
    window), and four float64 copies per sampled pair for the correlations."""
    r = table.duration / window
    n_win = math.floor(r + 1e-9) if r < 2.0**62 else math.inf
    per_seq = float(table.n_trials) * n_win
    need = 8.0 * table.n_neurons * per_seq * 2 + 32.0 * n_pairs * per_seq
    have = _memory.available_memory()
    if need > have:
        from ..errors import InsufficientMemoryError
        raise InsufficientMemoryError(
            f"the window counts need about {_memory.gib(need)} ({table.n_neurons} neurons x {table.n_trials} trials x "
            f"{float(n_win):.3g} windows: duration / `fano_window` = {table.duration:g} s / {window:g} s, and "
            f"{n_pairs} pairs) but the machine has {_memory.gib(have)} available. Use a larger `fano_window`, "
            f"fewer neurons or a smaller `n_pairs`.")


def _spike_counts(table, window: float) -> np.ndarray:
    """Spike counts ``(neuron, trial * n_windows)`` in windows ``[k w, (k + 1) w)`` (edges
    ``k * w`` in floating point, as the histogram bins) tiling [0, duration) (a last partial
    window is dropped; a spike at exactly ``duration`` falls in the last window when
    ``duration`` is a multiple of ``w``)."""
    n_win = int(math.floor(table.duration / window + 1e-9))
    if n_win == 0:
        return np.zeros((table.n_neurons, 0), np.int64)
    edges = np.arange(n_win + 1) * window  # windows [e_k, e_{k+1}), as the histogram bins
    closed = abs(edges[-1] - table.duration) <= 1e-9 * window
    if closed:
        edges[-1] = table.duration
    b = np.searchsorted(edges, table.times, side="right") - 1
    if closed:
        b = np.where(table.times == table.duration, n_win - 1, b)
    keep = b < n_win
    flat = (table.neuron[keep] * table.n_trials + table.trial[keep]) * n_win + b[keep]
    c = np.bincount(flat, minlength=table.n_neurons * table.n_trials * n_win)
    return c.reshape(table.n_neurons, table.n_trials * n_win)


def _sample_pairs(n: int, n_pairs: int, seed: int):
    total = n * (n - 1) // 2
    if n_pairs == 0 or total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rng = np.random.default_rng(seed)
    if n_pairs >= total:
        flat = np.arange(total, dtype=np.int64)
    else:
        flat = np.sort(rng.choice(total, size=n_pairs, replace=False))
    # flat index over pairs (i < j) in row-major order -> (i, j)
    i = (2 * n - 1 - np.sqrt((2 * n - 1) ** 2 - 8.0 * flat)) // 2
    i = i.astype(np.int64)
    start = i * (2 * n - i - 1) // 2
    i = np.where(start > flat, i - 1, i)  # guard against sqrt round-off
    start = i * (2 * n - i - 1) // 2
    i = np.where(flat - start >= n - 1 - i, i + 1, i)
    start = i * (2 * n - i - 1) // 2
    j = flat - start + i + 1
    return i, j


def _pair_correlations(counts, pi, pj):
    x = counts[pi].astype(np.float64)
    y = counts[pj].astype(np.float64)
    x -= x.mean(axis=1, keepdims=True)
    y -= y.mean(axis=1, keepdims=True)
    sxy = np.sum(x * y, axis=1)
    den = np.sqrt(np.sum(x * x, axis=1) * np.sum(y * y, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, sxy / np.where(den > 0, den, 1.0), np.nan)
