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
    variables: dict[str, tuple[str, ...]]  # name -> dims (required)
    coords: dict[str, tuple[str, ...]]
    attrs: tuple[str, ...]


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
    for var, dims in spec.variables.items():
        if var not in ds.data_vars:
            missing.append(f"variable `{var}`{dims}")
        elif ds[var].dims != dims:
            missing.append(f"variable `{var}` with dims {dims} (has {ds[var].dims})")
    for c, dims in spec.coords.items():
        if c not in ds.coords:
            missing.append(f"coordinate `{c}`{dims}")
    for a in spec.attrs:
        if a not in ds.attrs:
            missing.append(f"attribute `{a}`")
    for v in list(ds.data_vars) + list(ds.coords):
        if "units" not in ds[v].attrs:
            missing.append(f"`units` attribute on `{v}`")
    if missing:
        raise SchemaError(f"{where} ({name}) is missing: " + "; ".join(missing) + ".")
    return ds
