r"""Data-driven choice of the histogram bin width and of the kernel bandwidth.

Bin width (Shimazaki & Shinomoto 2007, https://doi.org/10.1162/neco.2007.19.6.1503): for
``n`` sequences (trials, or neurons x trials when pooled) and bins of width ``D`` with total
counts ``k_i``, minimise::

    C(D) = (2 kbar - v) / (n D)^2,     kbar = mean_i k_i,   v = (1/N) sum_i (k_i - kbar)^2

optionally averaged over ``n_shifts`` shifted bin positions (the ``sshist`` reference code).

Kernel bandwidth (Shimazaki & Shinomoto 2010, https://doi.org/10.1007/s10827-009-0180-4):
the L2 risk of the Gaussian kernel estimate, up to a constant::

    C(w) = (1/n^2) [ sum_{i,j} k_{sqrt(2) w}(t_i - t_j)  -  2 sum_{i != j} k_w(t_i - t_j) ]

evaluated exactly from the pair differences (spike times binned on a grid of ``resolution``,
which is exact for spikes on a simulation grid: the default resolution is the simulation step).
The locally adaptive bandwidth (same paper) minimises the local cost
``c_w(t) = yhat_w(t)^2 - 2 yhat_w(t) y(t) + 2 k_w(0) y(t)`` smoothed by a Gaussian window,
and picks the window that minimises the global cost of the resulting variable-bandwidth
estimate (``ssvkernel``'s structure, without its bootstrap).

Which method when: ``bin`` for PSTHs; ``kernel`` for a fixed smoothing width (the default of
:func:`estimate_rate` when ``sigma`` is None); ``adaptive`` when the rate changes on very
different time scales (e.g. sharp onset transients on a slow background).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import xarray as xr

from .. import _memory
from .._validation import check_allow_long, check_choice, check_int, check_real_array, check_work
from ..io.schema import make_bandwidth_dataset
from . import _kernels as K
from ._input import SpikeTable, spike_table

__all__ = ["optimal_bandwidth", "bin_cost", "kernel_cost"]

REF_2007 = "Shimazaki & Shinomoto (2007) Neural Comput 19:1503, doi:10.1162/neco.2007.19.6.1503"
REF_2010 = "Shimazaki & Shinomoto (2010) J Comput Neurosci 29:171, doi:10.1007/s10827-009-0180-4"
_MAX_GRID = 2_000_000
_MAX_GRID_ADAPTIVE = 20_000


def optimal_bandwidth(spikes, *, method: str = "kernel", per: str = "pooled",
                      candidates: npt.ArrayLike | None = None, n_shifts: int = 1,
                      resolution: float | None = None, duration: float | None = None,
                      n_neurons: int | None = None, n_trials: int | None = None,
                      allow_long: bool = False) -> xr.Dataset:
    """Optimal histogram bin width or kernel bandwidth [s] (Shimazaki & Shinomoto).

    Parameters
    ----------
    spikes : xarray.Dataset or tuple of arrays or array
        As for :func:`estimate_rate`: a spikes Dataset, ``(times, neuron_ids[, trial_ids])`` or
        the spike times [s] of one train.
    method : {"bin", "kernel", "adaptive"}
        Histogram bin width (2007), fixed Gaussian kernel bandwidth (2010, its sigma) or the
        locally adaptive bandwidth (2010; pooled only), one per time.
    per : {"pooled", "neuron"}
        One value for all spikes pooled (the trains as ``n_neurons * n_trials`` sequences), or
        one per neuron (its trials as the sequences; NaN for a neuron without spikes).
    candidates : array_like, optional
        Candidate widths [s] (for ``adaptive`` at most the duration).  Default: ``duration / N`` for N = 2 .. 500 bins (``bin``; not
        below the resolution), else 100 values log-spaced from ``max(2 resolution,
        1e-4 duration)`` to ``duration / 2``.
    n_shifts : int
        ``bin`` only: average the cost over this many shifted bin positions (1: no shifts).
    resolution : float, optional
        Grid [s] on which pair differences are taken (``kernel``, ``adaptive``).  Default: the
        simulation step of a Dataset, else ``min(candidates) / 50`` (``1e-5 duration`` with
        the default candidates); at most 2e6 grid points (2e4 for ``adaptive``).  The work of
        ``kernel`` is one FFT of this grid per train (``per="neuron"``) or for the pool, so a
        coarser resolution makes per-neuron selection on many neurons cheaper.
    duration, n_neurons, n_trials
        For array input (see :func:`estimate_rate`).
    allow_long : bool
        Compute even when the work estimate exceeds 1e13 updates (about 3 hours on one core:
        ``bin``: ``n_shifts`` x (rows x the bins of every candidate + spikes x candidates);
        ``kernel``: an FFT of the resolution grid per row).  By default such a call is refused
        with a ValueError, as it is most likely a slip (a candidate or ``n_shifts`` far out).

    Returns
    -------
    xarray.Dataset
        Schema ``spikerate.bandwidth/1``: ``bandwidth`` [s] (scalar, per ``neuron``, or per
        ``time`` for ``adaptive``), ``cost`` over ``candidate`` (``bin``, ``kernel``; per neuron
        for ``per="neuron"``; for ``adaptive`` the global cost per candidate window), ``rate``
        [Hz] (``adaptive``: the variable-bandwidth estimate, mean rate per train).

    References
    ----------
    Shimazaki H, Shinomoto S (2007) A method for selecting the bin size of a time histogram.
    Neural Comput 19:1503-1527. https://doi.org/10.1162/neco.2007.19.6.1503

    Shimazaki H, Shinomoto S (2010) Kernel bandwidth optimization in spike rate estimation.
    J Comput Neurosci 29:171-182. https://doi.org/10.1007/s10827-009-0180-4

    Raises
    ------
    ValueError, TypeError
        Invalid arguments (the message names the argument); a work estimate above 1e13 updates
        without ``allow_long=True``.
    InsufficientMemoryError
        The bin counts of the narrowest candidate (``bin``) would not fit in the available
        memory.
    """
    method = check_choice("method", method, ["bin", "kernel", "adaptive"])
    per = check_choice("per", per, ["pooled", "neuron"])
    n_shifts = check_int("n_shifts", n_shifts, minimum=1)
    allow_long = check_allow_long(allow_long)
    table = spike_table(spikes, duration=duration, n_neurons=n_neurons, n_trials=n_trials)
    dur = table.duration
    if candidates is not None:
        candidates = np.unique(check_real_array("candidates", candidates, shape=(None,), unit="s", positive=True))
        if candidates.size == 0:
            raise ValueError("`candidates` must hold at least one width [s]; got an empty array.")
    if resolution is not None:
        resolution = float(check_real_array("resolution", resolution, shape=(), unit="s", positive=True))
    if method == "adaptive" and per != "pooled":
        raise ValueError("`per` must be 'pooled' for method='adaptive'.")
    if method == "adaptive" and candidates is not None and candidates.max() > dur:
        # (the estimates are FFTs padded by 8 times the widest candidate, as a Gaussian cannot be
        # cut shorter without wrapping around: a width of 1e4 durations would need 1e5 times the grid)
        raise ValueError(f"`candidates` must be at most the duration ({dur:g} s) for method='adaptive' (a bandwidth "
                         f"wider than the recording is not local); got {float(candidates.max()):g} s. Use "
                         f"method='kernel' for one fixed bandwidth.")
    if per == "pooled":
        row = np.zeros(table.times.size, np.int64)
        n_rows, n_seq = 1, np.array([table.n_neurons * table.n_trials], np.float64)
    else:
        row = table.neuron
        n_rows, n_seq = table.n_neurons, np.full(table.n_neurons, float(table.n_trials))
    order = np.lexsort((table.times, row))
    times = np.ascontiguousarray(table.times[order])
    row_ptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=n_rows))]).astype(np.int64)
    common = dict(method=method, duration=dur, n_trials=table.n_trials, n_neurons=table.n_neurons)

    if method == "bin":
        if candidates is None:
            res = table.dt if table.dt is not None else 0.0
            nb = np.arange(2, 501)
            candidates = dur / nb[dur / nb >= res]
            candidates = np.sort(candidates) if candidates.size else np.array([dur / 2])
        with np.errstate(over="ignore"):
            n_bins = np.maximum(1.0, np.round(dur / candidates))  # (inf for a candidate far below dur)
        check_work(n_shifts * (n_rows * float(n_bins.sum()) + times.size * candidates.size),
                   f"the bin costs ({n_shifts} shifts (`n_shifts`) x {n_rows} rows x {float(n_bins.sum()):.3g} bins "
                   f"over the {candidates.size} `candidates`)",
                   "Use fewer `n_shifts` or wider `candidates`", allow_long=allow_long)
        _check_fits(8.0 * float(n_bins.max()) + 8.0 * n_rows * candidates.size,
                    f"the bin counts of the narrowest of `candidates` ({candidates.min():g} s: "
                    f"{float(n_bins.max()):.3g} bins of duration {dur:g} s)", "Use wider `candidates`")
        cost = np.zeros((n_rows, candidates.size))
        K._bin_cost(times, row_ptr, n_seq, dur, candidates, n_shifts, cost)
        best = _argmin_rows(cost, candidates, row_ptr)
        return _wrap(best, per, candidates, cost, table, n_shifts=n_shifts, reference=REF_2007, **common)

    if resolution is not None:
        h = resolution
    elif table.dt is not None:
        h = table.dt
    else:
        h = candidates.min() / 50 if candidates is not None else 1e-5 * dur
    h = max(h, dur / (_MAX_GRID if method == "kernel" else _MAX_GRID_ADAPTIVE))
    if candidates is None:
        candidates = np.geomspace(max(3 * h, 1e-4 * dur), dur / 2, 100 if method == "kernel" else 50)
    if method == "kernel":
        m = int(math.floor(dur / h + 1e-9)) + 1
        n_lag = min(m - 1, math.ceil(min(8.0 * math.sqrt(2.0) * float(candidates.max()) / h, 2.0**62)))
        size = 1 << int(math.ceil(math.log2(max(2, m + n_lag + 1))))
        busy = int(np.count_nonzero(np.diff(row_ptr)))
        check_work(busy * (3.0 * size * math.log2(size) + candidates.size * (n_lag + 1.0)),
                   f"the kernel costs ({busy} rows x an FFT of {size} points for `resolution` {h:g} s)",
                   "Use a coarser `resolution`, per='pooled' or fewer neurons", allow_long=allow_long)
        cost = np.full((n_rows, candidates.size), np.nan)
        for r in range(n_rows):  # one FFT per train (per="neuron"); vectorised over candidates
            t = times[row_ptr[r]:row_ptr[r + 1]]
            if t.size:
                cost[r] = kernel_cost(t, candidates, n_seq=n_seq[r], duration=dur, resolution=h)
        best = _argmin_rows(cost, candidates, row_ptr)
        return _wrap(best, per, candidates, cost, table, resolution=h, reference=REF_2010, **common)
    return _adaptive(times, n_seq[0], dur, candidates, h, table, common)


def _check_fits(need: float, what: str, fix: str) -> None:
    have = _memory.available_memory()
    if need > have:
        from ..errors import InsufficientMemoryError
        raise InsufficientMemoryError(f"{what} need about {_memory.gib(need)} but the machine has {_memory.gib(have)} "
                                      f"available. {fix}.")


def _argmin_rows(cost, candidates, row_ptr):
    best = np.full(cost.shape[0], np.nan)
    for r in range(cost.shape[0]):
        if row_ptr[r + 1] > row_ptr[r] and np.any(np.isfinite(cost[r])):
            best[r] = candidates[int(np.nanargmin(cost[r]))]
    return best


def _wrap(best, per, candidates, cost, table: SpikeTable, **attrs):
    attrs["per"] = per
    if per == "pooled":
        return make_bandwidth_dataset(bandwidth=best[0], dims=(), candidate=candidates, cost=cost[0],
                                      cost_dims=("candidate",), **attrs)
    return make_bandwidth_dataset(bandwidth=best, dims=("neuron",), candidate=candidates, cost=cost,
                                  cost_dims=("neuron", "candidate"), neuron=np.arange(table.n_neurons), **attrs)


def bin_cost(times: npt.ArrayLike, widths: npt.ArrayLike, *, duration: float, n_seq: int = 1,
             n_shifts: int = 1) -> np.ndarray:
    """Shimazaki-Shinomoto (2007) cost ``(2 kbar - v) / (n D)^2`` [Hz^2] of each bin width [s]
    for the pooled spike ``times`` [s] of ``n_seq`` sequences over [0, duration]."""
    t = np.sort(np.asarray(times, np.float64))
    w = np.asarray(widths, np.float64)
    out = np.zeros((1, w.size))
    K._bin_cost(t, np.array([0, t.size], np.int64), np.array([float(n_seq)]), float(duration), w,
                int(n_shifts), out)
    return out[0]


def kernel_cost(times: npt.ArrayLike, widths: npt.ArrayLike, *, duration: float, n_seq: float = 1,
                resolution: float) -> np.ndarray:
    """Shimazaki-Shinomoto (2010) L2 cost [Hz^2] of the Gaussian kernel of each width [s]:
    ``(sum_{i,j} k_{sqrt2 w}(t_i - t_j) - 2 sum_{i != j} k_w(t_i - t_j)) / n^2``, from the pair
    differences of the times binned on the ``resolution`` grid (exact for times on that grid)."""
    t = np.asarray(times, np.float64)
    w = np.asarray(widths, np.float64)
    m = int(math.floor(duration / resolution + 1e-9)) + 1
    idx = np.clip(np.rint(t / resolution).astype(np.int64), 0, m - 1)
    counts = np.bincount(idx, minlength=m).astype(np.float64)
    n_lag = min(m - 1, math.ceil(min(8.0 * math.sqrt(2.0) * w.max() / resolution, 2.0**62)))  # (inf: w far out)
    acf = _autocorrelation(counts, n_lag)  # acf[l] = sum_a c_a c_{a+l}, l = 0..n_lag
    nz = np.flatnonzero(acf)  # only lags that occur (sparse for few spikes)
    lags = nz * resolution
    mult = np.where(nz == 0, 1.0, 2.0) * acf[nz]  # both signs of each lag
    n_spk = t.size
    out = np.empty(w.size)
    for j, wj in enumerate(w):  # vectorised over lags; the lags beyond 8 sqrt(2) w contribute < 1e-13
        m_j = np.searchsorted(lags, 8.0 * math.sqrt(2.0) * wj, side="right")
        lj, mj = lags[:m_j], mult[:m_j]
        with np.errstate(over="ignore"):  # (w w = inf for a width far out: the Gaussians are flat, exp(-0))
            g2 = np.exp(-lj**2 / (4 * wj * wj)) / (2.0 * math.sqrt(math.pi) * wj)
            g1 = np.exp(-lj**2 / (2 * wj * wj)) / (math.sqrt(2 * math.pi) * wj)
        cross = mj @ g1 - n_spk / (math.sqrt(2 * math.pi) * wj)
        out[j] = (mj @ g2 - 2.0 * cross) / n_seq**2
    return out


def _autocorrelation(c, n_lag):
    n = c.size
    size = 1 << int(math.ceil(math.log2(max(2, n + n_lag + 1))))
    f = np.fft.rfft(c, size)
    acf = np.fft.irfft(f * np.conj(f), size)[:n_lag + 1]
    return np.rint(acf)  # integer counts: remove the FFT round-off exactly


def _gauss_smooth(y, widths, h, pad, self_term=False):
    """Rows of ``y`` (J, M) convolved with Gaussians of standard deviation ``widths`` [s] (J,)
    or one width; zero-padded (linear convolution), via the analytic Fourier transform.  With
    ``self_term`` also return the response at lag 0 to a unit impulse [1/s] per width (the
    discrete counterpart of the kernel's peak 1 / (sqrt(2 pi) w))."""
    m = y.shape[-1]
    size = 1 << int(math.ceil(math.log2(m + pad)))
    f = np.fft.rfftfreq(size, d=h)
    w = np.atleast_1d(widths)[:, None]
    tf = np.exp(-2.0 * (math.pi * f[None, :] * w) ** 2)
    out = np.fft.irfft(np.fft.rfft(y, size, axis=-1) * tf, size, axis=-1)[..., :m]
    if self_term:
        return out, np.fft.irfft(tf, size, axis=-1)[:, 0] / h
    return out


def _adaptive(times, n_seq, dur, candidates, h, table, common):
    m = int(math.floor(dur / h + 1e-9)) + 1
    grid = np.arange(m) * h
    idx = np.clip(np.rint(times / h).astype(np.int64), 0, m - 1)
    y = np.bincount(idx, minlength=m) / (n_seq * h)  # spike density per sequence [Hz]
    w = candidates
    pad = int(math.ceil(8 * w.max() / h))
    # fixed-bandwidth estimates and their self-contribution per spike (the leave-one-out term)
    yh, k0 = _gauss_smooth(np.broadcast_to(y, (w.size, m)), w, h, pad, self_term=True)
    local = yh**2 - 2 * yh * y[None, :] + 2 * k0[:, None] * y[None, :] / n_seq
    windows = np.geomspace(max(5 * w[0], 2 * h), dur, 12)
    log_w = np.log(w)
    costs = np.empty(windows.size)
    best = None
    for k, win in enumerate(windows):
        pad_w = int(math.ceil(8 * win / h))
        c_loc = _gauss_smooth(local, np.full(w.size, win), h, pad_w)
        w_opt = w[np.argmin(c_loc, axis=0)]
        # smooth the chosen bandwidths (in log) with the same window
        w_t = np.exp(_gauss_smooth(np.log(w_opt)[None, :], win, h, pad_w)[0]
                     / _gauss_smooth(np.ones((1, m)), win, h, pad_w)[0])
        pos = np.clip(np.interp(np.log(w_t), log_w, np.arange(w.size)), 0, w.size - 1)
        j0 = np.minimum(pos.astype(np.int64), w.size - 2) if w.size > 1 else np.zeros(m, np.int64)
        frac = pos - j0 if w.size > 1 else np.zeros(m)
        cols = np.arange(m)
        j1 = np.minimum(j0 + 1, w.size - 1)
        yv = (1 - frac) * yh[j0, cols] + frac * yh[j1, cols]
        kv = (1 - frac) * k0[j0] + frac * k0[j1]
        cost = (np.sum(yv**2) - 2 * np.sum(yv * y) + 2 * np.sum(kv * y) / n_seq) * h
        costs[k] = cost
        if best is None or cost < costs[best[0]]:
            best = (k, w_t, yv)
    _, w_t, yv = best
    return make_bandwidth_dataset(bandwidth=w_t, dims=("time",), time=grid, rate=yv,
                                  candidate=windows, cost=costs, cost_dims=("candidate",),
                                  window=float(windows[best[0]]), resolution=h, reference=REF_2010, per="pooled",
                                  **common)
