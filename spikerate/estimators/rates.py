r"""Firing-rate estimates from spike trains: kernel smoothing and histograms (PSTH).

Kernel estimate of one train, evaluated from the exact spike times (no binning first)::

    r(t) = sum_s  k_sigma(t - t_s) / m_s,      m_s = int_0^T k_sigma(t - t_s) dt   (border="renormalize")

sampled at ``t_k = k dt`` in [0, T].  Dividing each spike's kernel by its mass inside
[0, T] makes the rate integrate to the spike count over [0, T] (no loss at the borders);
``border="none"`` keeps the plain sum (m_s = 1), which for the causal exponential kernel is
the synaptic filter ``tau dr/dt = -r + rho``.  Histogram (PSTH)::

    r_j = (spikes in bin j) / (width_j * neurons * trials)

with bins tiling [0, T] (the last one may be shorter; it is divided by its own width).

Which estimator when
--------------------
* ``method="kernel"`` (default), Gaussian: smooth rates for plots and for comparing with a rate
  model; pick ``sigma`` by :func:`optimal_bandwidth` (``sigma=None`` does it for you).
* ``kernel="exponential"`` / ``"alpha"``: causal; what a downstream synapse sees.
* ``method="histogram"``: counts you can test (Poisson statistics per bin), PSTHs;
  ``bin_width=None`` picks the Shimazaki-Shinomoto optimum.
* ``by="population"`` / ``"all"``: the population rate (mean rate per neuron of the group).
* ``trials="mean"``: trial average with a standard error and a bootstrap band.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt
import xarray as xr

from .. import _memory
from .._validation import check_allow_long, check_choice, check_int, check_positive, check_real, check_work
from ..io.schema import make_rates_dataset
from . import _kernels as K
from ._input import SpikeTable, groups, spike_table
from .kernels import DEFAULT_CUTOFF, check_cutoff, get_kernel

__all__ = ["estimate_rate"]

#: ``sigma`` may be at most this many times the duration: a wider kernel gives a flat rate, and
#: its border renormalisation (a difference of two CDF values) keeps only ~1e-16 sigma / duration
#: of relative precision (3e-10 here); past ~1e16 the mass rounds to 0 and the spikes vanish
MAX_SIGMA_RATIO = 1e6


def estimate_rate(spikes, *, method: str = "kernel", kernel: str = "gaussian", sigma: float | None = None,
                  bin_width: float | None = None, dt: float | None = None, by: str = "neuron",
                  trials: str = "each", ci: float | None = 0.95, n_boot: int = 1000, seed: int | None = None,
                  border: str | None = None, cutoff: float | None = None, duration: float | None = None,
                  n_neurons: int | None = None, n_trials: int | None = None,
                  population: npt.ArrayLike | None = None, allow_long: bool = False) -> xr.Dataset:
    """Estimate firing rates [Hz] from spike trains.

    Parameters
    ----------
    spikes : xarray.Dataset or tuple of arrays or array
        A spikes Dataset (``spikerate.spikes/1``, as returned by :func:`spikerate.simulate`), or
        ``(times, neuron_ids)`` / ``(times, neuron_ids, trial_ids)`` (equal-length 1-D arrays;
        times [s] in [0, ``duration``]), or a 1-D array of the spike times [s] of one train.
    method : {"kernel", "histogram"}
        Kernel smoothing of the exact spike times, or spike counts in bins (PSTH).
    kernel : str
        ``rectangular``, ``triangular``, ``epanechnikov``, ``gaussian`` (default), ``laplacian``,
        ``exponential`` (causal) or ``alpha`` (causal); see :mod:`spikerate.estimators.kernels`.
    sigma : float, optional
        Standard deviation of the kernel [s] (for ``exponential`` it is tau), at most
        ``MAX_SIGMA_RATIO`` (1e6) times the duration.  Default: the Shimazaki-Shinomoto (2010)
        optimum of the pooled spikes (Gaussian cost).
    bin_width : float, optional
        Histogram bin width [s].  Default: the Shimazaki-Shinomoto (2007) optimum.
    dt : float, optional
        Output step of kernel estimates [s]: rates at ``t = k dt`` in [0, duration].  Default:
        the Dataset's simulation step ``dt``, or 1 ms for arrays.  A spike time within 2 ulp of
        an output time counts as at that time (so spikes stored as ``step * dt`` by a
        simulation on a finer grid land on the output grid, as the synaptic filter has them).
    by : {"neuron", "population", "all"}
        One rate per neuron, per population (mean rate per neuron of the population) or one
        pooled series (dims ``time`` only).
    trials : {"each", "mean"}
        ``each``: one rate per trial (dim ``trial`` when there is more than one trial);
        ``mean``: trial average with ``rate_sem`` and a percentile bootstrap band.
    ci : float or None
        Confidence level of the bootstrap band (``trials="mean"``); None skips the bootstrap.
    n_boot : int
        Bootstrap resamples of the trials.
    seed : int, optional
        Seed of the bootstrap (stored in ``attrs["seed"]``; None draws one when a bootstrap runs,
        i.e. ``trials="mean"`` with a ``ci``; otherwise nothing is random and no seed is stored).
    border : {"renormalize", "none"}, optional
        Border handling of kernel estimates.  Default: ``renormalize`` for symmetric kernels,
        ``none`` for the causal ones (their mass near the end of the recording tends to 0).
    cutoff : float, optional
        Truncation of unbounded kernels in standard deviations, >= 5 (default
        :data:`~spikerate.estimators.kernels.DEFAULT_CUTOFF`, tail < 1e-15; Elephant uses 5).
    duration, n_neurons, n_trials, population
        For array input only: recording length [s] (required), number of neurons and trials
        (default: largest id + 1) and a population label per neuron.
    allow_long : bool
        Compute even when the work estimate exceeds 1e13 updates (about 3 hours on one core:
        kernel samples, spikes x ``min(samples, kernel support / dt)``, plus the bootstrap's
        ``n_boot x trials x samples x rows``).  By default such a call is refused with a
        ValueError before anything is allocated, as it is most likely a slip (``dt`` in ms).

    Returns
    -------
    xarray.Dataset
        Schema ``spikerate.rates/1``: ``rate`` [Hz] with dims ``([trial,] time[, neuron |
        population])``; for ``trials="mean"`` also ``rate_sem`` (NaN with one trial),
        ``rate_low``/``rate_high``; coordinate ``time`` [s] (sample times ``k dt`` for kernels, bin
        centres for histograms, with ``bin_start``/``bin_end``); attrs ``estimator``, ``kernel``,
        ``bandwidth`` (sigma [s], NaN for histograms), ``bin_width`` (NaN for kernels), ``dt``,
        ``duration``, ``by``, ``trials``, ``border``, ``cutoff``, ``seed``.

    Raises
    ------
    ValueError, TypeError
        Invalid arguments (the message names the argument); ``sigma`` above 1e6 times the
        duration; a work estimate above 1e13 updates without ``allow_long=True``.
    InsufficientMemoryError
        The output (or the bootstrap) would not fit in the available memory (checked before
        allocating).

    Examples
    --------
    >>> import numpy as np
    >>> ds = estimate_rate((np.array([0.2, 0.5]), np.array([0, 0])), duration=1.0, sigma=0.05, dt=1e-3)
    >>> float(ds.rate.sum() * 1e-3).__round__(6)
    2.0
    """
    method = check_choice("method", method, ["kernel", "histogram"])
    by = check_choice("by", by, ["neuron", "population", "all"])
    trials = check_choice("trials", trials, ["each", "mean"])
    table = spike_table(spikes, duration=duration, n_neurons=n_neurons, n_trials=n_trials, population=population)
    if ci is not None:
        ci = check_real("ci", ci)
        if not 0.0 < ci < 1.0:
            raise ValueError(f"`ci` must be in (0, 1) or None; got {ci}.")
    n_boot = check_int("n_boot", n_boot, minimum=1)
    allow_long = check_allow_long(allow_long)
    bootstrap = trials == "mean" and ci is not None
    if seed is None and bootstrap:  # (without a bootstrap nothing is random: no seed is drawn or stored)
        seed = int(np.random.SeedSequence().entropy % (2**63))
    if seed is not None:
        seed = check_int("seed", seed, minimum=0)
    group_of, labels, n_group = groups(table, by)
    n_g = labels.size

    attrs = dict(estimator=method, by=by, trials=trials, duration=table.duration, seed=seed,
                 n_boot=n_boot if bootstrap else None, spikes_seed=table.seed)
    if method == "kernel":
        if bin_width is not None:
            raise ValueError("`bin_width` applies to method='histogram'; for kernels give `sigma` (and `dt`).")
        k = get_kernel(kernel)
        cutoff = check_cutoff(k, cutoff)
        if border is None:
            border = "none" if k.causal else "renormalize"
        border = check_choice("border", border, ["renormalize", "none"])
        if dt is None:
            dt = table.dt if table.dt is not None else 1e-3
        dt = check_positive("dt", dt, unit="s")
        if sigma is None:
            from .bandwidth import optimal_bandwidth
            sigma = float(optimal_bandwidth(table, method="kernel")["bandwidth"])
            if not math.isfinite(sigma):
                raise ValueError("`sigma` cannot be chosen from the data (there are no spikes); pass `sigma` [s].")
            attrs["bandwidth_method"] = "shimazaki2010"
        sigma = check_positive("sigma", sigma, unit="s")
        if sigma > MAX_SIGMA_RATIO * table.duration:
            raise ValueError(f"`sigma` must be at most {MAX_SIGMA_RATIO:g} x the duration ({table.duration:g} s); "
                             f"got {sigma:g} s. A kernel this much wider than the recording gives a flat rate whose "
                             f"border correction double precision cannot resolve; for the mean rate use "
                             f"method='histogram' with bin_width=duration, else a smaller `sigma`.")
        if sigma < dt:
            warnings.warn(f"`sigma` ({sigma:g} s) is below the output step `dt` ({dt:g} s): the samples miss "
                          f"most of each kernel; use dt <= sigma / 5 or method='histogram'.", UserWarning,
                          stacklevel=2)
        n_time = _grid_size(table.duration, dt, "kernel")
        boot = n_boot if bootstrap else 0
        lo, hi = k.support(cutoff)
        span = min(n_time, (hi - lo) * (sigma / dt) + 1.0)  # samples per spike (the output bounds them)
        check_work(table.times.size * span + table.n_trials * n_g * n_time * (1 + boot),
                   f"this estimate ({table.times.size} spikes x {span:.3g} samples each, on "
                   f"{table.n_trials * n_g} rows of duration / `dt` = {table.duration:g} s / {dt:g} s = "
                   f"{n_time:.3g} samples)",
                   "Use a larger `dt` or a smaller `sigma` (or `n_boot`)", allow_long=allow_long)
        _check_memory(table, n_g, n_time, trials, "dt", dt, boot)
        values, time = _kernel_rates(table, group_of, n_group, k.code, sigma, k.support(cutoff), dt, border)
        c = None if k.bounded else (DEFAULT_CUTOFF[k.name] if cutoff is None else cutoff)
        attrs.update(kernel=k.name, bandwidth=sigma, bin_width=math.nan, dt=dt, border=border,
                     cutoff=c if c is not None else math.nan)
        bounds = (None, None)
    else:
        if sigma is not None:
            raise ValueError("`sigma` applies to method='kernel'; for histograms give `bin_width`.")
        if bin_width is None:
            from .bandwidth import optimal_bandwidth
            bin_width = float(optimal_bandwidth(table, method="bin")["bandwidth"])
            if not math.isfinite(bin_width):
                raise ValueError("`bin_width` cannot be chosen from the data (there are no spikes); "
                                 "pass `bin_width` [s].")
            attrs["bandwidth_method"] = "shimazaki2007"
        bin_width = check_positive("bin_width", bin_width, unit="s")
        if bin_width > table.duration:
            raise ValueError(f"`bin_width` must be <= duration ({table.duration} s); got {bin_width}.")
        boot = n_boot if bootstrap else 0
        n_bins = _grid_size(table.duration, bin_width, "histogram")
        check_work(boot * table.n_trials * n_bins * n_g if boot else 0.0,
                   f"the bootstrap ({boot} resamples x {table.n_trials} trials x {n_bins:.3g} bins x {n_g} rows)",
                   "Use a larger `bin_width` or a smaller `n_boot`", allow_long=allow_long)
        _check_memory(table, n_g, n_bins, trials, "bin_width", bin_width, boot)
        values, time, bounds = _histogram_rates(table, group_of, n_group, bin_width)
        attrs.update(kernel="none", bandwidth=math.nan, bin_width=bin_width, dt=bin_width)
    values = values.reshape(table.n_trials, n_g, time.size).transpose(0, 2, 1)  # (trial, time, group)

    group_dim = {"neuron": "neuron", "population": "population", "all": None}[by]
    sem = low = high = None
    if trials == "mean":
        rate = values.mean(axis=0)
        if table.n_trials > 1:
            sem = values.std(axis=0, ddof=1) / math.sqrt(table.n_trials)
        else:
            sem = np.full_like(rate, np.nan)
        if ci is not None:
            low, high = _bootstrap_band(values, ci, n_boot, seed)
        dims = ("time",)
    elif table.n_trials > 1:
        rate, dims = values, ("trial", "time")
    else:
        rate, dims = values[0], ("time",)
    if group_dim is None:
        rate, sem, low, high = (None if a is None else a[..., 0] for a in (rate, sem, low, high))
    else:
        dims = dims + (group_dim,)
    return make_rates_dataset(rate=rate, dims=dims, time=time, group_dim=group_dim, group=labels, n_group=n_group,
                              n_trials=table.n_trials, rate_sem=sem, rate_low=low, rate_high=high,
                              ci=ci if trials == "mean" else None, bin_start=bounds[0], bin_end=bounds[1], **attrs)


def _grid_size(duration: float, step: float, kind: str) -> float:
    """Samples of :func:`kernel_grid` (``kind="kernel"``) or bins of :func:`histogram_edges`,
    computed without building them (a float: inf when ``duration / step`` overflows)."""
    r = duration / step
    if not math.isfinite(r) or r > 2.0**62:
        return math.inf if not math.isfinite(r) else r
    if kind == "kernel":
        return float(math.floor(r + 1e-9) + 1)
    return float(max(1, math.ceil(r - 1e-9)))


def _check_memory(table: SpikeTable, n_groups: int, n_time: float, trials: str, step_name: str, step: float,
                  n_boot: int = 0) -> None:
    """Refuse, before allocating, rates (and a bootstrap band) that need more than the available
    memory; ``step_name``/``step`` is the argument that sets ``n_time`` (``dt`` or ``bin_width``)."""
    rows = table.n_trials * n_groups
    rates = 8.0 * rows * n_time * (2 if trials == "mean" else 1)
    if step_name == "bin_width":
        rates += 8.0 * rows * n_time + 32.0 * n_time  # the counts, the edges and the bin coordinates
    band = 2 * 8.0 * n_groups * n_time if n_boot else 0.0
    # the resampling weights with their index arrays, and one chunk of resampled means
    resamples = 32.0 * n_boot * table.n_trials + 24.0 * max(2_000_000, n_boot) if n_boot else 0.0
    need = rates + band + resamples
    have = _memory.available_memory()
    if need > have:
        from ..errors import InsufficientMemoryError
        boot = (f"; the bootstrap {_memory.gib(band + resamples)} for {n_boot} resamples (`n_boot`)"
                if n_boot else "")
        raise InsufficientMemoryError(
            f"the estimate needs about {_memory.gib(need)} ({table.n_trials} trials x {n_groups} rows x {n_time:.6g} "
            f"{'times' if step_name == 'dt' else 'bins'}: duration / `{step_name}` = {table.duration:g} s / "
            f"{step:g} s{boot}) but the machine has {_memory.gib(have)} available. Use a larger `{step_name}`, "
            f"`by='population'`, fewer neurons" + (" or a smaller `n_boot`." if n_boot else "."))


def kernel_grid(duration: float, dt: float) -> np.ndarray:
    """Output times ``k dt`` in [0, duration] (a tolerance of 1e-9 dt absorbs round-off)."""
    n = int(math.floor(duration / dt + 1e-9)) + 1
    return np.arange(n) * dt


def _kernel_rates(table: SpikeTable, group_of, n_group, code, sigma, support, dt, border):
    time = kernel_grid(table.duration, dt)
    n_g = n_group.size
    rows = table.trial * n_g + group_of[table.neuron]
    scale = np.tile(1.0 / n_group, table.n_trials)
    out = np.empty((table.n_trials * n_g, time.size))  # the kernel zeroes each row in parallel
    times = table.times
    if rows.size > 1 and np.any(rows[1:] < rows[:-1]):  # the kernel takes each row's spikes together
        order = np.argsort(rows, kind="stable")
        times, rows = times[order], rows[order]
    row_ptr = np.searchsorted(rows, np.arange(out.shape[0] + 1)).astype(np.int64)
    K._kernel_rate(np.ascontiguousarray(times, float), row_ptr, scale, code, sigma, support[0], support[1], dt,
                   table.duration, border == "renormalize", out)
    return out, time


def histogram_edges(duration: float, bin_width: float) -> np.ndarray:
    """Bin edges ``0, w, 2w, ..., duration``: the last bin is shorter when ``duration`` is not a
    multiple of ``w`` (a remainder below 1e-9 w is merged into the previous bin)."""
    n = max(1, int(math.ceil(duration / bin_width - 1e-9)))
    edges = np.arange(n + 1) * bin_width
    edges[-1] = duration
    return edges


def _histogram_rates(table: SpikeTable, group_of, n_group, bin_width):
    edges = histogram_edges(table.duration, bin_width)
    n_b, n_g = edges.size - 1, n_group.size
    # bins [e_j, e_{j+1}), the last one closed on the right
    b = np.clip(np.searchsorted(edges, table.times, side="right") - 1, 0, n_b - 1)
    rows = table.trial * n_g + group_of[table.neuron]
    counts = np.bincount(rows * n_b + b, minlength=table.n_trials * n_g * n_b).reshape(-1, n_b)
    width = np.diff(edges)
    scale = np.tile(1.0 / n_group, table.n_trials)
    rate = counts * scale[:, None] / width[None, :]
    return rate, 0.5 * (edges[:-1] + edges[1:]), (edges[:-1], edges[1:])


def _bootstrap_band(values, ci, n_boot, seed):
    """Percentile bootstrap over trials of the trial mean; ``values`` (trial, time, group)."""
    n_tr = values.shape[0]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_tr, size=(n_boot, n_tr))
    weights = np.zeros((n_boot, n_tr))
    np.add.at(weights, (np.repeat(np.arange(n_boot), n_tr), idx.ravel()), 1.0 / n_tr)
    flat = values.reshape(n_tr, -1)
    q = [(1.0 - ci) / 2.0, (1.0 + ci) / 2.0]
    low = np.empty(flat.shape[1])
    high = np.empty(flat.shape[1])
    step = max(1, 2_000_000 // n_boot)
    for a in range(0, flat.shape[1], step):
        boot = weights @ flat[:, a:a + step]
        low[a:a + step], high[a:a + step] = np.quantile(boot, q, axis=0)
    return low.reshape(values.shape[1:]), high.reshape(values.shape[1:])
