"""The Dataset schema (DESIGN.md §3): builders for each stage and the validator.

Only the ``make_*`` functions here build result Datasets, so names, units and attributes stay
the same everywhere.  ``validate_dataset`` checks a Dataset against the schema named in its
``schema`` attribute and says exactly what is missing; ``load`` and the tests use it.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import SchemaError

SPIKES = "spikerate.spikes/1"

COMMON_ATTRS = ("schema", "spikerate_version", "created")


@dataclass(frozen=True)
class SchemaSpec:
    """Required variables (name -> dims, or a tuple of allowed dims layouts when a variable
    comes in several, e.g. with or without ``trial``), coordinates and attributes."""
    variables: dict[str, tuple]
    coords: dict[str, tuple[str, ...]]
    attrs: tuple[str, ...]

    def layouts(self, var: str) -> tuple[tuple[str, ...], ...]:
        dims = self.variables[var]
        return dims if dims and isinstance(dims[0], tuple) else (dims,)


SCHEMAS: dict[str, SchemaSpec] = {
    SPIKES: SchemaSpec(
        variables={"spike_time": ("spike",), "spike_neuron": ("spike",), "spike_trial": ("spike",)},
        coords={"population": ("neuron",)},
        attrs=COMMON_ATTRS + ("seed", "dt", "duration", "n_trials", "compile_time", "build_time", "run_time",
                              "params"),
    ),
}


def version() -> str:
    from .. import __version__
    return __version__


def base_attrs(schema: str, **attrs) -> dict:
    """Attributes every Dataset carries, plus the given ones made netCDF-safe."""
    out = {"schema": schema, "spikerate_version": version(),
           "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    for k, v in attrs.items():
        if v is None:
            continue
        out[k] = netcdf_attr(v)
    return out


def netcdf_attr(v):
    """str/int/float for netCDF attributes; bools become 0/1, dicts and lists JSON strings."""
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (int, float, str)):
        return v
    return json.dumps(v, default=_json_default)


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.integer, np.floating, np.bool_)):
        return o.item()
    return repr(o)


def variable(data, dims, *, units: str, long_name: str, **attrs) -> xr.Variable:
    return xr.Variable(dims, data, attrs={"units": units, "long_name": long_name, **attrs})


def make_spikes_dataset(*, spike_time: np.ndarray, spike_neuron: np.ndarray, spike_trial: np.ndarray,
                        population: np.ndarray, n_trials: int, state: dict | None = None,
                        **attrs) -> xr.Dataset:
    """Spikes as an event table on the ``spike`` dimension (DESIGN.md §3).

    ``state`` optionally holds ``time`` (s), ``recorded_neuron``, ``u`` (trial, time, recorded)
    and ``I`` (trial, time, channel, recorded) with ``channel`` names.
    """
    n = population.shape[0]
    data_vars = {
        "spike_time": variable(spike_time, ("spike",), units="s", long_name="spike time"),
        "spike_neuron": variable(spike_neuron, ("spike",), units="1", long_name="neuron index"),
        "spike_trial": variable(spike_trial, ("spike",), units="1", long_name="trial index"),
    }
    coords = {
        "neuron": variable(np.arange(n, dtype=np.int64), ("neuron",), units="1", long_name="neuron index"),
        "population": variable(population.astype(str), ("neuron",), units="1", long_name="population"),
    }
    if n_trials > 1:
        coords["trial"] = variable(np.arange(n_trials, dtype=np.int64), ("trial",), units="1", long_name="trial")
    if state is not None:
        lead = ("trial",) if n_trials > 1 else ()
        sq = (lambda a: a) if n_trials > 1 else (lambda a: a[0])
        coords["time"] = variable(state["time"], ("time",), units="s", long_name="time")
        coords["recorded_neuron"] = variable(state["recorded_neuron"], ("recorded",), units="1",
                                             long_name="index of the recorded neuron")
        data_vars["u"] = variable(sq(state["u"]), lead + ("time", "recorded"), units="mV",
                                  long_name="membrane potential")
        if state["channel"]:
            coords["channel"] = variable(np.array(state["channel"], dtype=str), ("channel",), units="1",
                                         long_name="synaptic channel")
            data_vars["I"] = variable(sq(state["I"]), lead + ("time", "channel", "recorded"), units="mV",
                                      long_name="synaptic current (R I)")
    return xr.Dataset(data_vars, coords=coords, attrs=base_attrs(SPIKES, n_trials=n_trials, **attrs))


def validate_dataset(ds: xr.Dataset, *, where: str = "Dataset") -> xr.Dataset:
    """Check ``ds`` against the schema its ``schema`` attribute names; raise SchemaError listing
    everything that is missing.  Unknown schemas with a ``spikerate.`` prefix are rejected."""
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"`ds` must be an xarray.Dataset; got {type(ds).__name__}.")
    name = ds.attrs.get("schema")
    if name is None:
        raise SchemaError(f"{where} has no `schema` attribute; it was not written by spikerate "
                          f"(expected one of {sorted(SCHEMAS)}).")
    if name not in SCHEMAS:
        base = str(name).rsplit("/", 1)[0]
        known = [s for s in SCHEMAS if s.rsplit("/", 1)[0] == base]
        hint = f" This version reads {known[0]}." if known else ""
        raise SchemaError(f"{where} has schema {name!r}, which this spikerate version does not know.{hint}")
    spec = SCHEMAS[name]
    missing = []
    # a stage merged by spikerate.sweep carries the grid as leading dims, named in `sweep_dims`
    lead = tuple(json.loads(ds.attrs["sweep_dims"])) if "sweep_dims" in ds.attrs else ()
    for var in spec.variables:
        allowed = spec.layouts(var)
        want = " or ".join(map(str, allowed))
        dims = ds[var].dims[len(lead):] if var in ds.data_vars and ds[var].dims[:len(lead)] == lead else None
        if var not in ds.data_vars:
            missing.append(f"variable `{var}` {want}")
        elif dims not in allowed:
            missing.append(f"variable `{var}` with dims {want} (has {ds[var].dims})")
    for c, dims in spec.coords.items():
        if c not in ds.coords:
            missing.append(f"coordinate `{c}` {dims}")
    # ... and an attribute that differs between its points as the variable point_attrs__<name>
    per_point = set(json.loads(ds.attrs["point_attrs"])) if lead and "point_attrs" in ds.attrs else set()
    for a in spec.attrs:
        if a not in ds.attrs and not (a in per_point and f"point_attrs__{a}" in ds.data_vars):
            missing.append(f"attribute `{a}`")
    for v in list(ds.data_vars) + list(ds.coords):
        if "units" not in ds[v].attrs:
            missing.append(f"`units` attribute on `{v}`")
    if missing:
        raise SchemaError(f"{where} ({name}) is missing: " + "; ".join(missing) + ".")
    return ds


# --- rate estimates, spike statistics and bandwidths (spikerate.estimators) -------------------

RATES = "spikerate.rates/1"
STATISTICS = "spikerate.statistics/1"
BANDWIDTH = "spikerate.bandwidth/1"


_RATE_LAYOUTS = tuple(lead + ("time",) + grp for lead in ((), ("trial",))
                      for grp in (("neuron",), ("population",), ()))

SCHEMAS[RATES] = SchemaSpec(
    variables={"rate": _RATE_LAYOUTS},
    coords={"time": ("time",)},
    attrs=COMMON_ATTRS + ("estimator", "kernel", "bandwidth", "bin_width", "dt", "duration", "by", "trials",
                          "n_trials"),
)
SCHEMAS[STATISTICS] = SchemaSpec(
    variables={"n_spikes": ("neuron",), "rate": ("neuron",), "isi_mean": ("neuron",), "isi_cv": ("neuron",),
               "cv2": ("neuron",), "lv": ("neuron",), "fano": ("neuron",), "count_correlation": ("pair",)},
    coords={"neuron": ("neuron",), "population": ("neuron",), "pair_i": ("pair",), "pair_j": ("pair",)},
    attrs=COMMON_ATTRS + ("duration", "n_trials", "fano_window", "seed"),
)
SCHEMAS[BANDWIDTH] = SchemaSpec(
    variables={"bandwidth": ((), ("neuron",), ("time",))},
    coords={},
    attrs=COMMON_ATTRS + ("method", "per", "duration", "reference"),
)


def make_rates_dataset(*, rate: np.ndarray, dims: tuple[str, ...], time: np.ndarray, group_dim: str | None,
                       group: np.ndarray | None, n_group: np.ndarray | None, n_trials: int,
                       rate_sem: np.ndarray | None = None, rate_low: np.ndarray | None = None,
                       rate_high: np.ndarray | None = None, ci: float | None = None,
                       bin_start: np.ndarray | None = None, bin_end: np.ndarray | None = None,
                       **attrs) -> xr.Dataset:
    """Rate estimates (DESIGN.md §3): ``rate`` [Hz] with dims ``dims`` (``time`` and, as
    applicable, ``trial`` and ``neuron`` / ``population``); optional trial-average band
    ``rate_sem``, ``rate_low``, ``rate_high`` (same dims as ``rate``); histogram bin bounds."""
    data_vars = {"rate": variable(rate, dims, units="Hz", long_name="firing rate")}
    if rate_sem is not None:
        data_vars["rate_sem"] = variable(rate_sem, dims, units="Hz",
                                         long_name="standard error of the trial-averaged rate")
    if rate_low is not None:
        pct = f"{100 * ci:g}%" if ci is not None else "CI"
        data_vars["rate_low"] = variable(rate_low, dims, units="Hz",
                                         long_name=f"lower bound of the {pct} bootstrap band")
        data_vars["rate_high"] = variable(rate_high, dims, units="Hz",
                                          long_name=f"upper bound of the {pct} bootstrap band")
    coords = {"time": variable(np.asarray(time, np.float64), ("time",), units="s", long_name="time")}
    if bin_start is not None:
        coords["bin_start"] = variable(bin_start, ("time",), units="s", long_name="bin start")
        coords["bin_end"] = variable(bin_end, ("time",), units="s", long_name="bin end")
    if group_dim == "neuron":
        coords["neuron"] = variable(np.asarray(group, np.int64), ("neuron",), units="1", long_name="neuron index")
    elif group_dim == "population":
        coords["population"] = variable(np.asarray(group).astype(str), ("population",), units="1",
                                        long_name="population")
        coords["n_neurons"] = variable(np.asarray(n_group, np.int64), ("population",), units="1",
                                       long_name="neurons in the population")
    if "trial" in dims:
        coords["trial"] = variable(np.arange(n_trials, dtype=np.int64), ("trial",), units="1", long_name="trial")
    return xr.Dataset(data_vars, coords=coords, attrs=base_attrs(RATES, n_trials=n_trials, ci=ci, **attrs))


def make_statistics_dataset(*, n_spikes, rate, isi_mean, isi_cv, cv2, lv, fano, n_isi, population,
                            pair_i, pair_j, count_correlation, **attrs) -> xr.Dataset:
    """Spike-train statistics per neuron (dim ``neuron``) and per sampled pair (dim ``pair``)."""
    nd = ("neuron",)
    data_vars = {
        "n_spikes": variable(np.asarray(n_spikes, np.int64), nd, units="1", long_name="number of spikes"),
        "rate": variable(rate, nd, units="Hz", long_name="mean firing rate"),
        "n_isi": variable(np.asarray(n_isi, np.int64), nd, units="1", long_name="number of interspike intervals"),
        "isi_mean": variable(isi_mean, nd, units="s", long_name="mean interspike interval"),
        "isi_cv": variable(isi_cv, nd, units="1", long_name="coefficient of variation of the ISIs"),
        "cv2": variable(cv2, nd, units="1", long_name="local coefficient of variation CV2"),
        "lv": variable(lv, nd, units="1", long_name="local variation LV"),
        "fano": variable(fano, nd, units="1", long_name="Fano factor of spike counts"),
        "count_correlation": variable(count_correlation, ("pair",), units="1",
                                     long_name="spike-count correlation coefficient"),
    }
    n = len(population)
    coords = {
        "neuron": variable(np.arange(n, dtype=np.int64), nd, units="1", long_name="neuron index"),
        "population": variable(np.asarray(population).astype(str), nd, units="1", long_name="population"),
        "pair_i": variable(np.asarray(pair_i, np.int64), ("pair",), units="1", long_name="first neuron of the pair"),
        "pair_j": variable(np.asarray(pair_j, np.int64), ("pair",), units="1", long_name="second neuron of the pair"),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=base_attrs(STATISTICS, **attrs))


def make_bandwidth_dataset(*, bandwidth, dims: tuple[str, ...], candidate=None, cost=None, cost_dims=None,
                           time=None, rate=None, neuron=None, **attrs) -> xr.Dataset:
    """Optimal bandwidths [s] (scalar, per ``neuron`` or per ``time``) with the cost curve over
    the ``candidate`` bandwidths and, for adaptive selection, the rate estimate it gives."""
    data_vars = {"bandwidth": variable(np.asarray(bandwidth, np.float64), dims, units="s",
                                       long_name="optimal bandwidth")}
    coords = {}
    if candidate is not None:
        coords["candidate"] = variable(np.asarray(candidate, np.float64), ("candidate",), units="s",
                                       long_name="candidate bandwidth")
        data_vars["cost"] = variable(np.asarray(cost, np.float64), cost_dims, units="Hz^2",
                                     long_name="estimated L2 risk (up to a constant)")
    if time is not None:
        coords["time"] = variable(np.asarray(time, np.float64), ("time",), units="s", long_name="time")
    if rate is not None:
        data_vars["rate"] = variable(np.asarray(rate, np.float64), ("time",), units="Hz",
                                     long_name="adaptive kernel rate estimate")
    if neuron is not None:
        coords["neuron"] = variable(np.asarray(neuron, np.int64), ("neuron",), units="1", long_name="neuron index")
    return xr.Dataset(data_vars, coords=coords, attrs=base_attrs(BANDWIDTH, **attrs))


# --- transfer functions / f-I curves (spikerate.models.measure_transfer) ---------------------

TRANSFER = "spikerate.transfer/1"

_TRANSFER_DIMS = ("input", "sigma", "tau_s")

SCHEMAS[TRANSFER] = SchemaSpec(
    variables={"rate": _TRANSFER_DIMS},
    coords={"mu": ("input",), "sigma": ("sigma",), "tau_s": ("tau_s",)},
    attrs=COMMON_ATTRS + ("params",),
)

_TRANSFER_VARS = {  # name -> (units, long_name)
    "rate": ("Hz", "firing rate"),
    "rate_sem": ("Hz", "standard error of the firing rate"),
    "rate_siegert": ("Hz", "Siegert rate (white noise)"),
    "rate_siegert_shifted": ("Hz", "Siegert rate with the Fourcaud-Brunel shift"),
    "n_spikes": ("1", "spike count"),
}


def make_transfer_dataset(*, mu: np.ndarray, sigma: np.ndarray, tau_s: np.ndarray, rate: np.ndarray,
                          rate_sem: np.ndarray | None = None, rate_siegert: np.ndarray | None = None,
                          rate_siegert_shifted: np.ndarray | None = None, n_spikes: np.ndarray | None = None,
                          **attrs) -> xr.Dataset:
    """f-I curves on the grid ``input`` (mean input ``mu`` [mV]) x ``sigma`` [mV] x ``tau_s`` [s].

    ``rate`` and the optional ``rate_sem``, ``rate_siegert``, ``rate_siegert_shifted`` [Hz] and
    ``n_spikes`` have dims ``(input, sigma, tau_s)``; ``attrs`` become Dataset attributes.
    """
    given = {"rate": rate, "rate_sem": rate_sem, "rate_siegert": rate_siegert,
             "rate_siegert_shifted": rate_siegert_shifted, "n_spikes": n_spikes}
    data_vars = {}
    for name, values in given.items():
        if values is None:
            continue
        units, long_name = _TRANSFER_VARS[name]
        dtype = np.int64 if name == "n_spikes" else np.float64
        data_vars[name] = variable(np.asarray(values, dtype), _TRANSFER_DIMS, units=units, long_name=long_name)
    coords = {
        "mu": variable(np.asarray(mu, np.float64), ("input",), units="mV",
                       long_name="mean input (asymptotic mean membrane potential)"),
        "sigma": variable(np.asarray(sigma, np.float64), ("sigma",), units="mV",
                          long_name="noise strength (free membrane s.d. sigma/sqrt(2))"),
        "tau_s": variable(np.asarray(tau_s, np.float64), ("tau_s",), units="s",
                          long_name="synaptic time constant of the noise"),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=base_attrs(TRANSFER, **attrs))


# --- mean-field fixed points (spikerate.reduce.meanfield_rates) ------------------------------

MEANFIELD = "spikerate.meanfield/1"

SCHEMAS[MEANFIELD] = SchemaSpec(
    variables={"rate": ("population",), "mu": ("population",), "sigma": ("population",),
               "residual": ("population",), "eigenvalue_real": ("mode",), "eigenvalue_imag": ("mode",)},
    coords={"population": ("population",)},
    attrs=COMMON_ATTRS + ("converged", "n_iter", "stable", "method", "message"),
)


def make_meanfield_dataset(*, population: np.ndarray, rate: np.ndarray, mu: np.ndarray, sigma: np.ndarray,
                           residual: np.ndarray, eigenvalues: np.ndarray, shift: np.ndarray | None = None,
                           jacobian: np.ndarray | None = None, converged: bool, n_iter: int, stable: bool,
                           **attrs) -> xr.Dataset:
    """Mean-field stationary state per ``population``: ``rate`` [Hz], ``mu``, ``sigma``, ``threshold_shift``
    [mV], ``residual`` [Hz], ``jacobian(population, source)`` (dPhi_a/dnu_b, dimensionless), and
    the eigenvalues [1/s] of the linearised rate dynamics on ``mode``."""
    pd = ("population",)
    eig = np.asarray(eigenvalues, complex)
    data_vars = {
        "rate": variable(np.asarray(rate, np.float64), pd, units="Hz", long_name="mean-field stationary rate"),
        "mu": variable(np.asarray(mu, np.float64), pd, units="mV",
                       long_name="mean input (asymptotic mean membrane potential)"),
        "sigma": variable(np.asarray(sigma, np.float64), pd, units="mV",
                          long_name="input noise strength (free membrane s.d. sigma/sqrt(2))"),
        "residual": variable(np.asarray(residual, np.float64), pd, units="Hz", long_name="rate - Phi(rate)"),
        "eigenvalue_real": variable(eig.real.astype(np.float64), ("mode",), units="1/s",
                                    long_name="real part of the eigenvalues of the linearised rate dynamics"),
        "eigenvalue_imag": variable(eig.imag.astype(np.float64), ("mode",), units="1/s",
                                    long_name="imaginary part of the eigenvalues of the linearised rate dynamics"),
    }
    if shift is not None:
        data_vars["threshold_shift"] = variable(np.asarray(shift, np.float64), pd, units="mV",
                                      long_name="Fourcaud-Brunel threshold and reset shift")
    if jacobian is not None:
        data_vars["jacobian"] = variable(np.asarray(jacobian, np.float64), ("population", "source"), units="1",
                                         long_name="transfer Jacobian dPhi/drate")
    names = np.asarray(population).astype(str)
    coords = {
        "population": variable(names, pd, units="1", long_name="population"),
        "mode": variable(np.arange(eig.size, dtype=np.int64), ("mode",), units="1", long_name="eigenmode index"),
    }
    if jacobian is not None:
        coords["source"] = variable(names, ("source",), units="1", long_name="presynaptic population")
    return xr.Dataset(data_vars, coords=coords,
                      attrs=base_attrs(MEANFIELD, converged=bool(converged), n_iter=int(n_iter),
                                       stable=bool(stable), **attrs))


# --- rate-model trajectories and fixed points (spikerate.models.integrate / find_fixed_point) ---

TRAJECTORY = "spikerate.trajectory/1"
FIXED_POINT = "spikerate.fixed_point/1"

SCHEMAS[TRAJECTORY] = SchemaSpec(
    variables={"r": ("time", "unit"), "x": ("time", "input")},
    coords={"time": ("time",), "unit": ("unit",), "input": ("input",)},
    attrs=COMMON_ATTRS + ("model", "method", "dt", "t_stop", "record_every", "params"),
)
SCHEMAS[FIXED_POINT] = SchemaSpec(
    variables={"r": ("unit",), "residual": ("state",), "eigenvalue_real": ("mode",),
               "eigenvalue_imag": ("mode",)},
    coords={"unit": ("unit",), "state": ("state",)},
    attrs=COMMON_ATTRS + ("model", "converged", "n_iter", "method_used", "stable", "tol", "params"),
)


def _model_coords(n: int, n_state: int | None = None) -> dict:
    coords = {"unit": variable(np.arange(n, dtype=np.int64), ("unit",), units="1", long_name="unit index")}
    if n_state is not None:
        coords["state"] = variable(np.arange(n_state, dtype=np.int64), ("state",), units="1",
                                   long_name="index into the state vector")
        kind = np.array(["I"] * (n_state - n) + ["r"] * n if n_state > n else ["state"] * n, dtype=str)
        coords["state_variable"] = variable(kind, ("state",), units="1", long_name="state variable")
    return coords


_MODEL_PARAMS = {  # name -> (units, long_name)
    "w": ("1", "recurrent weight [post, pre]"), "u": ("1", "input weight [unit, input]"), "b": ("mV", "bias"),
    "tau": ("s", "time constant"), "tau_s": ("s", "synaptic time constant"),
    "tau_m": ("s", "rate (membrane) time constant"),
}


def _model_param_vars(model_params: dict | None) -> dict:
    """Model parameter arrays as variables: ``w`` (unit, pre), ``u`` (unit, input), vectors on
    ``unit``, scalars 0-d (DESIGN.md §3: arrays as variables, not JSON)."""
    out = {}
    for name, value in (model_params or {}).items():
        a = np.asarray(value, np.float64)
        dims = {0: (), 1: ("unit",), 2: ("unit", "input" if name == "u" else "pre")}[a.ndim]
        units, long_name = _MODEL_PARAMS.get(name, ("1", name))
        out[name] = variable(a, dims, units=units, long_name=long_name)
    return out


def make_trajectory_dataset(*, time: np.ndarray, r: np.ndarray, x: np.ndarray, I: np.ndarray | None = None,
                            I_units: str = "mV", model_params: dict | None = None, **attrs) -> xr.Dataset:
    """A rate-model trajectory: ``r`` (time, unit) [Hz], input ``x`` (time, input) and, for the
    current and two-variable models, ``I`` (time, unit); ``model_params`` (name -> array) become
    variables (``w`` on (unit, pre), ``u`` on (unit, input), vectors on unit); ``attrs`` become
    Dataset attributes."""
    data_vars = {"r": variable(np.asarray(r, np.float64), ("time", "unit"), units="Hz", long_name="rate"),
                 "x": variable(np.asarray(x, np.float64), ("time", "input"), units="mV", long_name="input")}
    if I is not None:
        data_vars["I"] = variable(np.asarray(I, np.float64), ("time", "unit"), units=I_units,
                                  long_name="input current (R I)")
    data_vars.update(_model_param_vars(model_params))
    coords = {"time": variable(np.asarray(time, np.float64), ("time",), units="s", long_name="time"),
              "input": variable(np.arange(np.shape(x)[1], dtype=np.int64), ("input",), units="1",
                                long_name="input index"),
              **_model_coords(np.shape(r)[1])}
    if "w" in data_vars:
        coords["pre"] = variable(np.arange(np.shape(r)[1], dtype=np.int64), ("pre",), units="1",
                                 long_name="presynaptic unit index")
    return xr.Dataset(data_vars, coords=coords, attrs=base_attrs(TRAJECTORY, **attrs))


def make_fixed_point_dataset(*, r: np.ndarray, residual: np.ndarray, eigenvalues: np.ndarray,
                             I: np.ndarray | None = None, I_units: str = "mV", model_params: dict | None = None,
                             input: np.ndarray | None = None, **attrs) -> xr.Dataset:
    """A fixed point: ``r`` (unit) [Hz], optional ``I`` (unit), ``residual`` = F at the solution
    (state) [per s], eigenvalues of the state Jacobian there as ``eigenvalue_real`` and
    ``eigenvalue_imag`` (mode) [1/s], sorted by decreasing real part; the constant ``input``
    ``x`` (input) and ``model_params`` as in :func:`make_trajectory_dataset`."""
    ev = np.asarray(eigenvalues, complex)
    n_state = np.shape(residual)[0]
    data_vars = {
        "r": variable(np.asarray(r, np.float64), ("unit",), units="Hz", long_name="fixed-point rate"),
        "residual": variable(np.asarray(residual, np.float64), ("state",), units="1/s",
                             long_name="vector field F at the solution"),
        "eigenvalue_real": variable(ev.real.copy(), ("mode",), units="1/s",
                                    long_name="real part of the Jacobian eigenvalue"),
        "eigenvalue_imag": variable(ev.imag.copy(), ("mode",), units="1/s",
                                    long_name="imaginary part of the Jacobian eigenvalue"),
    }
    if I is not None:
        data_vars["I"] = variable(np.asarray(I, np.float64), ("unit",), units=I_units,
                                  long_name="fixed-point input current (R I)")
    data_vars.update(_model_param_vars(model_params))
    coords = {"mode": variable(np.arange(ev.shape[0], dtype=np.int64), ("mode",), units="1",
                               long_name="eigenmode index"),
              **_model_coords(np.shape(r)[0], n_state)}
    if input is not None:
        data_vars["x"] = variable(np.asarray(input, np.float64), ("input",), units="mV", long_name="input")
        coords["input"] = variable(np.arange(np.shape(input)[0], dtype=np.int64), ("input",), units="1",
                                   long_name="input index")
    if "w" in data_vars:
        coords["pre"] = variable(np.arange(np.shape(r)[0], dtype=np.int64), ("pre",), units="1",
                                 long_name="presynaptic unit index")
    return xr.Dataset(data_vars, coords=coords, attrs=base_attrs(FIXED_POINT, **attrs))


# --- reductions compared against the spiking network (spikerate.reduce.compare_reductions) -----

REDUCTION = "spikerate.reduction/1"

SCHEMAS[REDUCTION] = SchemaSpec(
    variables={"rate_snn": ("tau_s", "time", "population"), "rate": ("tau_s", "model", "time", "population"),
               "rmse": ("tau_s", "model", "population"), "r2": ("tau_s", "model", "population"),
               "correlation": ("tau_s", "model", "population"), "lag": ("tau_s", "model", "population")},
    coords={"tau_s": ("tau_s",), "model": ("model",), "time": ("time",), "population": ("population",)},
    attrs=COMMON_ATTRS + ("seed", "dt", "trials", "t_warmup", "g", "params"),
)


def make_reduction_dataset(*, time, population, model, tau_s, tau_ratio, rate_snn, rate_snn_sem, rate, rmse, r2,
                           correlation, lag, drive, parameters=None, **attrs) -> xr.Dataset:
    """The network's population rates next to each reduction's, with the errors (DESIGN.md §3);
    ``parameters`` (optional): name -> (array with dims (tau_s, model[, population]), units,
    long_name), written as ``param_<name>``."""
    tp = ("tau_s", "time", "population")
    mp = ("tau_s", "model", "population")
    data_vars = {
        "rate_snn": variable(rate_snn, tp, units="Hz", long_name="population rate of the spiking network"),
        "rate_snn_sem": variable(rate_snn_sem, tp, units="Hz", long_name="standard error over trials"),
        "rate": variable(rate, ("tau_s", "model", "time", "population"), units="Hz",
                         long_name="population rate of the reduced model"),
        "rmse": variable(rmse, mp, units="Hz", long_name="root-mean-square error"),
        "r2": variable(r2, mp, units="1", long_name="coefficient of determination R^2"),
        "correlation": variable(correlation, mp, units="1", long_name="Pearson correlation"),
        "lag": variable(lag, mp, units="s", long_name="lag of the model behind the network"),
        "drive": variable(drive, ("time", "population"), units="mV", long_name="external drive (mean input)"),
    }
    for name, (values, units, long_name) in (parameters or {}).items():
        values = np.asarray(values, float)
        data_vars[f"param_{name}"] = variable(values, mp[:values.ndim], units=units, long_name=long_name)
    coords = {
        "time": variable(np.asarray(time, float), ("time",), units="s", long_name="time"),
        "population": variable(np.asarray(population).astype(str), ("population",), units="1",
                               long_name="population"),
        "model": variable(np.asarray(model).astype(str), ("model",), units="1", long_name="reduction"),
        "tau_s": variable(np.asarray(tau_s, float), ("tau_s",), units="s", long_name="synaptic time constant"),
        "tau_ratio": variable(np.asarray(tau_ratio, float), ("tau_s", "population"), units="1",
                              long_name="tau_s / tau_m"),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=base_attrs(REDUCTION, **attrs))


# --- a reduction fitted to network rates (spikerate.reduce.fit_reduction) ------------------------

REDUCTION_FIT = "spikerate.reduction_fit/1"

SCHEMAS[REDUCTION_FIT] = SchemaSpec(
    variables={"cost_initial": (), "cost_final": (), "rmse_initial": ("population",),
               "rmse_final": ("population",), "r2_initial": ("population",), "r2_final": ("population",),
               "rate": ("time", "population"), "r_initial": ("time", "population"), "r_fit": ("time", "population")},
    coords={"population": ("population",), "time": ("time",)},
    attrs=COMMON_ATTRS + ("params", "method", "model", "dt", "t_start"),
)


def make_reduction_fit_dataset(*, variables: dict, coords: dict, **attrs) -> xr.Dataset:
    """The report of a fit: fitted parameters (``<name>``, ``<name>_initial``, ``<name>_stderr``),
    costs, RMSE and R^2 per population before and after, and the traces; every variable built
    with :func:`variable` (units and long_name)."""
    return xr.Dataset(variables, coords=coords, attrs=base_attrs(REDUCTION_FIT, **attrs))


# ------------------------------------------------------------------------------- training

TRAINING = "spikerate.training/1"
SCHEMAS[TRAINING] = SchemaSpec(
    variables={"loss": ("epoch",), "grad_norm": ("epoch",)},
    coords={"epoch": ("epoch",)},
    attrs=COMMON_ATTRS + ("method", "optimizer", "model", "trainable", "epochs", "stopped", "step", "loss_kind",
                          "online"),
)


def make_training_dataset(*, loss: np.ndarray, grad_norm: np.ndarray, params: dict[str, np.ndarray],
                          updates: dict[str, np.ndarray], final: dict[str, np.ndarray], **attrs) -> xr.Dataset:
    """A training run (dim ``epoch``): ``loss`` and ``grad_norm`` before each update, each
    trainable parameter before the update (``<name>(epoch, ...)``), the update applied
    (``update_<name>``) and the values after the last one (``<name>_final``)."""
    n_epoch = np.shape(loss)[0]

    def dims(name, a):
        a = np.asarray(a)
        return tuple(f"{name}_dim{k}" for k in range(a.ndim))

    data_vars = {"loss": variable(np.asarray(loss, np.float64), ("epoch",), units="1", long_name="loss"),
                 "grad_norm": variable(np.asarray(grad_norm, np.float64), ("epoch",), units="1",
                                       long_name="global L2 norm of the gradient")}
    for name, values in params.items():
        d = dims(name, final[name])
        data_vars[name] = variable(np.asarray(values, np.float64).reshape((n_epoch,) + np.shape(final[name])),
                                   ("epoch",) + d, units="1", long_name=f"{name} before the update")
        data_vars[f"update_{name}"] = variable(
            np.asarray(updates[name], np.float64).reshape((n_epoch,) + np.shape(final[name])), ("epoch",) + d,
            units="1", long_name=f"update of {name} applied in the epoch")
        data_vars[f"{name}_final"] = variable(np.asarray(final[name], np.float64), d, units="1",
                                              long_name=f"{name} after training")
    coords = {"epoch": variable(np.arange(n_epoch, dtype=np.int64), ("epoch",), units="1", long_name="epoch")}
    return xr.Dataset(data_vars, coords=coords, attrs=base_attrs(TRAINING, **attrs))


SCHEMAS["spikerate.ablation/1"] = SchemaSpec(
    variables={"final_loss": ("task", "surrogate", "gradient", "seed"),
               "cosine": ("task", "surrogate", "gradient", "seed"),
               "time_per_epoch": ("task", "surrogate", "gradient", "seed")},
    coords={"task": ("task",), "surrogate": ("surrogate",), "gradient": ("gradient",), "seed": ("seed",)},
    attrs=COMMON_ATTRS + ("tasks", "epochs", "exact"),
)


#: the root group of a scenario's result file (spikerate.scenario.run_scenario): no variables
SCENARIO = "spikerate.scenario/1"
SCHEMAS[SCENARIO] = SchemaSpec(variables={}, coords={},
                               attrs=COMMON_ATTRS + ("scenario", "description", "config", "wall_time"))


SCHEMAS["spikerate.sweep/1"] = SchemaSpec(
    variables={}, coords={}, attrs=COMMON_ATTRS + ("scenario", "grid", "n_points", "n_failed"),
)
