"""Neuron, population and synaptic-channel parameters (frozen, validated on construction).

Leaky integrate-and-fire neuron with exponential current synapses (DESIGN.md §1)::

    tau_m du/dt   = -(u - v_rest) + sum_k I_k + I_ext(t)     u >= v_th: spike, u -> v_reset,
                                                             clamped there for t_ref
    tau_s,k dI_k/dt = -I_k + sum_i w_ik rho_i(t)              rho_i = sum_j delta(t - t_i^j)

Times in s, potentials and currents in mV (R·I).  A weight ``w`` is the jump of ``I_k`` per
presynaptic spike (Brian2's ``ge += we``, NEST's iaf_psc_exp weight), so its stationary mean
contribution is ``w * tau_s * rate``; for a delta channel (``tau_s = 0``) ``w`` is the jump of
``u`` itself (NEST's iaf_psc_delta), and inputs arriving during refractoriness are discarded.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .._validation import check_int, check_real, check_real_array, describe, warn_if_ms
from .distributions import Distribution, dist_from_dict, dist_to_dict, is_distribution

_NEURON_FIELDS = ("tau_m", "v_rest", "v_th", "v_reset", "t_ref")


def _scalar_or_array(name, value, *, positive=False, allow_zero=False, unit=""):
    """Keep scalars as float; arrays become read-only float64 (per-neuron values)."""
    if np.ndim(value) == 0:
        v = check_real(name, value, unit=unit)
        if positive and (v < 0 or (v == 0 and not allow_zero)):
            raise ValueError(f"`{name}` must be {'>= 0' if allow_zero else '> 0'} {unit}; got {v}.")
        return v
    arr = check_real_array(name, value, shape=(None,), unit=unit, positive=positive, allow_zero=allow_zero)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, kw_only=True, eq=False)
class LIFParams:
    """Leaky integrate-and-fire neuron parameters; each a scalar or one value per neuron.

    Defaults are Brunel's (2000) model A neuron.
    """
    tau_m: float | np.ndarray = 20e-3   #: membrane time constant [s]
    v_rest: float | np.ndarray = 0.0    #: resting potential [mV]
    v_th: float | np.ndarray = 20.0     #: spike threshold [mV]
    v_reset: float | np.ndarray = 10.0  #: reset potential [mV]
    t_ref: float | np.ndarray = 2e-3    #: absolute refractory period [s]

    def __post_init__(self):
        units = {"tau_m": "s", "t_ref": "s"}
        for f in _NEURON_FIELDS:
            pos = f in units
            v = _scalar_or_array(f, getattr(self, f), positive=pos, allow_zero=(f == "t_ref"),
                                 unit=units.get(f, "mV"))
            object.__setattr__(self, f, v)
        for f in ("tau_m", "t_ref"):
            warn_if_ms(f, float(np.max(getattr(self, f))), limit=10.0)
        sizes = {f: np.size(getattr(self, f)) for f in _NEURON_FIELDS if np.ndim(getattr(self, f))}
        if len(set(sizes.values())) > 1:
            detail = ", ".join(f"{k}: {v}" for k, v in sizes.items())
            raise ValueError(f"per-neuron LIFParams arrays must all have the same length; got lengths "
                             f"{sorted(set(sizes.values()))} ({detail}).")
        if np.any(np.asarray(self.v_reset) >= np.asarray(self.v_th)):
            raise ValueError(f"`v_reset` ({_short(self.v_reset)} mV) must be below `v_th` "
                             f"({_short(self.v_th)} mV) for every neuron.")

    @property
    def size(self) -> int | None:
        """Number of neurons the per-neuron arrays describe, or None if all are scalars."""
        for f in _NEURON_FIELDS:
            if np.ndim(getattr(self, f)):
                return int(np.size(getattr(self, f)))
        return None

    def per_neuron(self, n: int) -> dict[str, np.ndarray]:
        return {f: np.broadcast_to(np.asarray(getattr(self, f), float), (n,)) for f in _NEURON_FIELDS}

    def to_dict(self) -> dict:
        return {f: _jsonable(getattr(self, f)) for f in _NEURON_FIELDS}

    @classmethod
    def from_dict(cls, d: dict) -> "LIFParams":
        return cls(**_only_fields(cls, d, "neuron"))


@dataclass(frozen=True, kw_only=True, eq=False)
class Population:
    """``n`` LIF neurons sharing a name; ``v_init`` is a value [mV], one per neuron, or a
    distribution drawn independently in each trial (default: ``v_rest``)."""
    name: str
    n: int
    params: LIFParams = LIFParams()
    v_init: float | np.ndarray | Distribution | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"population `name` must be an identifier-like string; got {describe(self.name)}.")
        object.__setattr__(self, "n", check_int(f"{self.name}.n", self.n, minimum=1))
        if not isinstance(self.params, LIFParams):
            raise TypeError(f"`params` of population {self.name!r} must be LIFParams; got {describe(self.params)}.")
        if self.params.size not in (None, self.n):
            raise ValueError(f"per-neuron parameters of population {self.name!r} have length {self.params.size}; "
                             f"expected n = {self.n}.")
        v = self.v_init
        if v is not None and not is_distribution(v):
            v = _scalar_or_array(f"{self.name}.v_init", v, unit="mV")
            if np.ndim(v) and np.size(v) != self.n:
                raise ValueError(f"`v_init` of population {self.name!r} has length {np.size(v)}; expected n = {self.n}.")
            object.__setattr__(self, "v_init", v)

    def sample_v_init(self, rng: np.random.Generator) -> np.ndarray:
        if self.v_init is None:
            return np.broadcast_to(np.asarray(self.params.v_rest, float), (self.n,)).copy()
        if is_distribution(self.v_init):
            return self.v_init.sample(rng, self.n)
        return np.broadcast_to(np.asarray(self.v_init, float), (self.n,)).copy()

    def to_dict(self) -> dict:
        v = self.v_init
        return {"name": self.name, "n": self.n, "params": self.params.to_dict(),
                "v_init": dist_to_dict(v) if is_distribution(v) else _jsonable(v)}

    @classmethod
    def from_dict(cls, d: dict) -> "Population":
        d = _only_fields(cls, d, "population")
        if isinstance(d.get("params"), dict):
            d["params"] = LIFParams.from_dict(d["params"])
        if isinstance(d.get("v_init"), dict):
            d["v_init"] = dist_from_dict(d["v_init"], name="v_init")
        return cls(**d)


@dataclass(frozen=True, kw_only=True, slots=True)
class Channel:
    """A synaptic channel: exponential current with time constant ``tau_s`` [s], or a delta
    synapse (``tau_s = 0``) that makes the membrane potential jump."""
    name: str
    tau_s: float = 5e-3

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"channel `name` must be an identifier-like string; got {describe(self.name)}.")
        v = check_real(f"{self.name}.tau_s", self.tau_s, unit="s")
        if v < 0:
            raise ValueError(f"`tau_s` of channel {self.name!r} must be >= 0 s (0 = delta synapse); got {v}.")
        warn_if_ms("tau_s", v, limit=10.0)
        object.__setattr__(self, "tau_s", v)

    @property
    def is_delta(self) -> bool:
        return self.tau_s == 0.0

    def to_dict(self) -> dict:
        return {"name": self.name, "tau_s": self.tau_s}

    @classmethod
    def from_dict(cls, d: dict) -> "Channel":
        return cls(**_only_fields(cls, d, "channel"))


def _short(v) -> str:
    return f"{v:g}" if np.ndim(v) == 0 else f"array, e.g. {np.asarray(v).ravel()[0]:g}"


def _jsonable(v):
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v


def _only_fields(cls, d: dict, what: str) -> dict:
    from .._validation import suggest
    names = [f.name for f in fields(cls)]
    for key in d:
        if key not in names:
            raise ValueError(f"`{key}` is not a {what} parameter." + suggest(key, names))
    return dict(d)
