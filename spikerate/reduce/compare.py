"""compare_reductions: simulate a network under a time-varying drive, estimate its population
rates, run every reduction of :func:`~spikerate.reduce.reduce` under the same drive, and
measure how wrong each one is — per synaptic time constant, so that the answer to "which
reduction should I use in my regime?" is one Dataset.

The drive ``x(t)`` [mV] is added to each population's mean input: in the network as a
:class:`~spikerate.sim.TimedCurrent` per population, in the models as their input ``U x``
(``U`` = identity).  Sweeping ``tau_s`` sets every current synapse's time constant and scales
its weight by ``tau_s_old / tau_s_new``, which keeps each synapse's PSP area (its contribution
to the mean input) fixed: only the filtering changes, as in the two limits of the lecture.

Errors, over ``t >= t_warmup`` and per population: ``rmse`` [Hz], ``r2`` (1 - SS_res/SS_tot),
``correlation`` (Pearson) and ``lag`` [s], the shift of the model trace that maximises its
correlation with the network's (positive: the model lags behind).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import numpy.typing as npt
import xarray as xr

from .._validation import check_int, check_positive, check_real_array, describe
from ..estimators import estimate_rate
from ..io.schema import REDUCTION, make_reduction_dataset
from ..models import find_fixed_point, integrate
from ..sim import FromMatrix, LogNormal, Network, Normal, PoissonInput, Projection, TimedCurrent, Uniform, simulate
from ..sim.params import Channel
from .fit import fit_reduction
from .models import KINDS, reduce

#: largest lag [s] searched by the cross-correlation
MAX_LAG = 0.05


def with_tau_s(network: Network, tau_s: float) -> Network:
    """``network`` with every current synapse's time constant set to ``tau_s`` [s] and its weight
    scaled by ``tau_s_old / tau_s`` (the same PSP area, i.e. the same mean input); delta
    synapses are left alone."""
    tau_s = check_positive("tau_s", tau_s, unit="s")
    scale = {c.name: c.tau_s / tau_s for c in network.channels if not c.is_delta}
    channels = [Channel(name=c.name, tau_s=c.tau_s if c.is_delta else tau_s) for c in network.channels]
    projections = [_scaled_projection(p, scale.get(p.channel, 1.0)) for p in network.projections]
    inputs = [dataclasses.replace(i, weight=i.weight * scale.get(i.channel, 1.0)) if isinstance(i, PoissonInput)
              else i for i in network.inputs]
    return Network(populations=network.populations, channels=channels, projections=projections, inputs=inputs)


def _scaled_projection(p: Projection, s: float) -> Projection:
    if s == 1.0:
        return p
    if isinstance(p.rule, FromMatrix):
        return dataclasses.replace(p, rule=FromMatrix(p.rule.matrix * s))
    w = p.weight
    if isinstance(w, Normal):
        w = Normal(mean=w.mean * s, std=w.std * s)
    elif isinstance(w, Uniform):
        w = Uniform(low=w.low * s, high=w.high * s)
    elif isinstance(w, LogNormal):
        w = LogNormal(mean=w.mean * s, std=w.std * s)
    else:
        w = w * s
    return dataclasses.replace(p, weight=w)


def _drive_array(drive, n_steps: int, dt: float, n_pop: int) -> np.ndarray:
    if callable(drive):
        t = np.arange(n_steps) * dt
        try:
            d = np.asarray(drive(t), dtype=float)
        except Exception as exc:  # noqa: BLE001 - report the user's function failure clearly
            raise ValueError(f"`drive` callable failed on the time grid: {type(exc).__name__}: {exc}") from exc
        name = "drive(t)"
    else:
        d, name = check_real_array("drive", drive, unit="mV"), "drive"
    if d.ndim == 1:
        d = np.repeat(d[:, None], n_pop, axis=1)
    if d.shape != (n_steps, n_pop):
        raise ValueError(f"`{name}` must have shape (n_steps, n_populations) = ({n_steps}, {n_pop}) (or (n_steps,) "
                         f"for the same drive everywhere); got {d.shape}.")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"`{name}` must be finite; it has NaN or inf entries.")
    return d


def step_and_sine_drive(t: np.ndarray, *, step: float = 5.0, t_on: float = 0.2, t_off: float = 0.5,
                        amplitude: float = 4.0, frequency: float = 5.0, t_sine: float = 0.6) -> np.ndarray:
    """A test drive [mV]: a step of ``step`` on ``[t_on, t_off)``, then a sinusoid of
    ``amplitude`` and ``frequency`` [Hz] from ``t_sine`` on (the same for every population)."""
    t = np.asarray(t, float)
    return np.where((t >= t_on) & (t < t_off), step, 0.0) + np.where(
        t >= t_sine, amplitude * np.sin(2 * np.pi * frequency * (t - t_sine)), 0.0)


def trace_errors(model: np.ndarray, snn: np.ndarray, dt: float, max_lag: float = MAX_LAG):
    """(rmse, r2, correlation, lag [s]) of ``model`` against ``snn``, both (T, n) on one grid."""
    res = model - snn
    rmse = np.sqrt(np.mean(res**2, axis=0))
    ss_tot = np.sum((snn - snn.mean(axis=0)) ** 2, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = 1.0 - np.sum(res**2, axis=0) / ss_tot
    k = max(1, int(round(max_lag / dt)))
    corr = np.empty(snn.shape[1])
    lag = np.empty(snn.shape[1])
    for j in range(snn.shape[1]):  # a handful of populations
        a = model[:, j] - model[:, j].mean()
        b = snn[:, j] - snn[:, j].mean()
        den = np.sqrt((a * a).sum() * (b * b).sum())
        corr[j] = (a * b).sum() / den if den > 0 else np.nan
        best, best_l = -np.inf, 0
        for shift in range(-k, k + 1):  # model shifted back by `shift` samples
            if shift >= 0:
                x, y = a[shift:], b[:b.size - shift]
            else:
                x, y = a[:shift], b[-shift:]
            d = np.sqrt((x * x).sum() * (y * y).sum())
            c = (x * y).sum() / d if d > 0 else -np.inf
            if c > best:
                best, best_l = c, shift
        lag[j] = best_l * dt
    return rmse, r2, corr, lag


def compare_reductions(network: Network, drive, *, tau_s: npt.ArrayLike | None = None,
                       kinds: tuple[str, ...] = KINDS, g: str = "siegert", t_stop: float | None = None,
                       dt: float = 1e-4, rate_dt: float = 1e-3, sigma: float = 3e-3, trials: int = 5,
                       t_warmup: float = 0.1, fit: bool = False, seed: int | None = None,
                       progress: bool | None = None) -> xr.Dataset:
    """Simulate ``network`` under ``drive``, estimate its population rates and compare every
    reduction against them, for each synaptic time constant in ``tau_s``.

    Parameters
    ----------
    network : Network
        The spiking network (homogeneous populations; see :func:`~spikerate.reduce.population_inputs`).
    drive : array (n_steps, n_populations) or (n_steps,), or callable ``drive(t)``
        Extra mean input [mV] per population on the simulation grid ``t = k dt``
        (:func:`step_and_sine_drive` is a ready-made one).
    tau_s : array of float, optional
        Synaptic time constants [s] to sweep (every current synapse set to each, weights scaled
        to keep the PSP area); default: the network as it is.
    kinds : tuple of {"rate", "current", "two_variable"}
        The reductions to run.
    g : {"siegert", "lif"}
        Their transfer function (see :func:`~spikerate.reduce.reduce`).
    t_stop : float, optional
        Duration [s]; required for a callable drive, else ``n_steps dt``.
    dt : float
        Simulation and integration step [s].
    rate_dt : float
        Step of the compared traces [s] (population rates: Gaussian kernel of width ``sigma``
        [s], trial average).
    trials : int
        Independent trials of the network (one seed).
    t_warmup : float
        The errors ignore ``t < t_warmup`` [s] (the network's initial transient).
    fit : bool
        Also fit each reduction to the network's rates (:func:`~spikerate.reduce.fit_reduction`:
        time constants, W scale, gain and threshold of g; exponential Euler on the ``rate_dt``
        grid, ``t >= t_warmup``) and report it as model ``<kind>_fit``.

    Returns
    -------
    xarray.Dataset
        Schema ``spikerate.reduction/1``: ``rate_snn`` and ``rate_snn_sem`` (tau_s, time,
        population), ``rate`` (tau_s, model, time, population), ``rmse``, ``r2``,
        ``correlation``, ``lag`` (tau_s, model, population), ``drive`` (time, population);
        coordinates ``tau_s`` [s], ``tau_ratio`` (tau_s / tau_m), ``model``.
    """
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a spikerate.sim.Network; got {describe(network)}.")
    kinds = tuple(kinds)
    for k in kinds:
        if k not in KINDS:
            from .._validation import suggest
            raise ValueError(f"`kinds` entries must be in {list(KINDS)}; got {k!r}." + suggest(k, KINDS))
    dt = check_positive("dt", dt, unit="s")
    rate_dt = check_positive("rate_dt", rate_dt, unit="s")
    every = int(round(rate_dt / dt))
    if every < 1 or abs(every * dt - rate_dt) > 1e-9 * rate_dt:
        raise ValueError(f"`rate_dt` ({rate_dt} s) must be a multiple of `dt` ({dt} s).")
    trials = check_int("trials", trials, minimum=1)
    n_pop = len(network.populations)
    if t_stop is None:
        if callable(drive):
            raise ValueError("`t_stop` is required with a callable `drive`.")
        t_stop = np.shape(drive)[0] * dt
    t_stop = check_positive("t_stop", t_stop, unit="s")
    n_steps = int(round(t_stop / dt))
    d = _drive_array(drive, n_steps, dt, n_pop)
    tau_m = np.array([float(np.mean(p.params.tau_m)) for p in network.populations])
    if tau_s is None:
        cur = [c.tau_s for c in network.channels if not c.is_delta]
        taus = [float(np.mean(cur)) if cur else 0.0]
        nets = [network]
    else:
        taus = [float(t) for t in np.atleast_1d(check_real_array("tau_s", tau_s, unit="s", positive=True))]
        nets = [with_tau_s(network, t) for t in taus]
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))

    rate_snn, rate_sem, rates, fitted, reports = [], [], [], [], []
    for net in nets:
        driven = Network(populations=net.populations, channels=net.channels, projections=net.projections,
                         inputs=list(net.inputs) + [TimedCurrent(target=p.name, values=d[:, j])
                                                    for j, p in enumerate(net.populations)])
        spikes = simulate(driven, t_stop=t_stop, dt=dt, trials=trials, seed=seed, progress=progress)
        est = estimate_rate(spikes, by="population", trials="mean", kernel="gaussian", sigma=sigma, dt=rate_dt,
                            ci=None)
        t_grid = est.time.values
        rate_snn.append(est.rate.values)
        sem = est["rate_sem"].values if "rate_sem" in est else np.full_like(est.rate.values, np.nan)
        rate_sem.append(sem)
        per_model = []
        g_net = reduce(net, "rate", g, measure={"seed": seed % 2**31}).g if g == "measured" else g  # measure once
        for kind in kinds:
            model = reduce(net, kind, g_net)
            fp = find_fixed_point(model, d[0])
            state0 = np.concatenate([fp.I.values, fp.r.values]) if kind == "two_variable" else (
                fp.I.values if kind == "current" else fp.r.values)
            traj = integrate(model, d, dt=dt, state0=state0, record_every=every)
            r = traj.r.values
            per_model.append(np.stack([np.interp(t_grid, traj.time.values, r[:, j]) for j in range(n_pop)], axis=1))
            fitted.append(model)
        if fit:
            x_grid = d[np.minimum(np.rint(est.time.values / dt).astype(int), n_steps - 1)]
            for kind, model in zip(kinds, fitted):
                _, report = fit_reduction(model, est, x=x_grid, method="exp_euler", t_start=t_warmup)
                per_model.append(report.r_fit.values)
                reports.append((len(rates), kind, report))
        fitted.clear()
        rates.append(per_model)
    rate_snn = np.array(rate_snn)                      # (tau, time, pop)
    rates = np.array(rates)                            # (tau, model, time, pop)
    names = list(kinds) + ([f"{k}_fit" for k in kinds] if fit else [])
    keep = t_grid >= t_warmup
    errs = np.full((4, len(taus), len(names), n_pop), np.nan)
    for i in range(len(taus)):
        for m in range(len(names)):
            errs[:, i, m] = trace_errors(rates[i, m][keep], rate_snn[i][keep], rate_dt)
    drive_grid = d[np.minimum(np.rint(t_grid / dt).astype(int), n_steps - 1)]
    parameters = _fitted_parameters(reports, names, len(taus), n_pop)
    return make_reduction_dataset(
        time=t_grid, population=np.array(network.population_names), model=np.array(names), tau_s=np.array(taus),
        tau_ratio=np.array(taus)[:, None] / tau_m[None, :], rate_snn=rate_snn, rate_snn_sem=np.array(rate_sem),
        rate=rates, rmse=errs[0], r2=errs[1], correlation=errs[2], lag=errs[3], drive=drive_grid,
        parameters=parameters,
        seed=seed, dt=dt, rate_dt=rate_dt, sigma=sigma, trials=trials, t_warmup=t_warmup, g=g, fit=fit,
        params=network.to_dict())


def _fitted_parameters(reports, names, n_tau, n_pop) -> dict:
    """The fitted parameters of every ``<kind>_fit`` model and, in the row of ``<kind>``, the
    derived values the fit started from: name -> ((tau_s, model[, population]) array, NaN where
    a model has no such parameter, units, long_name)."""
    out = {}
    for i, kind, report in reports:
        for name in json.loads(report.attrs["params"]):
            fitted, initial = report[name], report[f"{name}_initial"]
            if name not in out:
                shape = (n_tau, len(names)) + ((n_pop,) if fitted.ndim else ())
                long_name = fitted.attrs["long_name"].removeprefix("fitted ")
                out[name] = (np.full(shape, np.nan), fitted.attrs["units"],
                             f"{long_name}: fitted (<kind>_fit) or derived (<kind>)")
            values = out[name][0]
            values[i, names.index(f"{kind}_fit")] = fitted.values
            values[i, names.index(kind)] = initial.values
    return out


__all__ = ["REDUCTION", "compare_reductions", "step_and_sine_drive", "trace_errors", "with_tau_s"]
