"""External inputs of a network.

* :class:`Current` ``(target, amplitude)``: constant current [mV], scalar or one per neuron.
* :class:`TimedCurrent` ``(target, values)``: a current sampled on the simulation grid,
  ``values[n]`` held over ``[n dt, (n + 1) dt)``; an array of shape ``(n_steps,)`` (same for
  every target neuron) or ``(n_steps, n_target)``, or a callable ``f(t)`` of the time array
  ``t = n dt`` [s] returning either shape.
* :class:`Noise` ``(target, sigma)``: Gaussian white noise in Brunel's (2000) convention,
  ``tau_m du/dt = -(u - mu) + sigma sqrt(tau_m) xi(t)``, so that the free membrane potential
  has variance ``sigma**2 / 2`` [mV²]; integrated exactly (an Ornstein–Uhlenbeck increment).
* :class:`PoissonInput` ``(target, channel, rate, weight, n_inputs)``: each target neuron
  receives ``n_inputs`` independent Poisson spike trains of ``rate`` [Hz] through ``channel``,
  i.e. ``k ~ Poisson(n_inputs * rate * dt)`` spikes of ``weight`` [mV] per step.

``target`` is a population name or a list of names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_positive, check_real, check_real_array, describe
from .connectivity import _names


@dataclass(frozen=True, kw_only=True, eq=False)
class Current:
    target: str | tuple[str, ...]
    amplitude: float | np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "target", _names(self.target, "target"))
        if np.ndim(self.amplitude) == 0:
            object.__setattr__(self, "amplitude", check_real("amplitude", self.amplitude, unit="mV"))
        else:
            a = check_real_array("amplitude", self.amplitude, shape=(None,), unit="mV")
            a.setflags(write=False)
            object.__setattr__(self, "amplitude", a)

    def to_dict(self) -> dict:
        a = self.amplitude
        return {"input": "current", "target": list(self.target),
                "amplitude": a.tolist() if isinstance(a, np.ndarray) else a}


@dataclass(frozen=True, kw_only=True, eq=False)
class TimedCurrent:
    target: str | tuple[str, ...]
    values: np.ndarray | Callable

    def __post_init__(self):
        object.__setattr__(self, "target", _names(self.target, "target"))
        if not callable(self.values):
            v = check_real_array("values", self.values, unit="mV")
            if v.ndim not in (1, 2):
                raise ValueError(f"`values` must have shape (n_steps,) or (n_steps, n_target); got shape {v.shape}.")
            v.setflags(write=False)
            object.__setattr__(self, "values", v)

    def sample(self, n_steps: int, dt: float, n_target: int) -> np.ndarray:
        """The current on the grid as an array (n_steps, 1) or (n_steps, n_target)."""
        if callable(self.values):
            t = np.arange(n_steps) * dt
            try:
                v = np.asarray(self.values(t), dtype=float)
            except Exception as exc:  # noqa: BLE001 - report the user's function failure clearly
                raise ValueError(f"`values` callable failed on the time grid (t array of shape {t.shape}): "
                                 f"{type(exc).__name__}: {exc}") from exc
            name = "values(t)"
        else:
            v, name = self.values, "values"
            if v.shape[0] < n_steps:
                raise ValueError(f"`{name}` has {v.shape[0]} samples but the run has n_steps = {n_steps} "
                                 f"(t_stop / dt); give at least {n_steps} samples.")
            v = v[:n_steps]
        if v.ndim == 1:
            v = v[:, None]
        if v.ndim != 2 or v.shape[0] != n_steps or v.shape[1] not in (1, n_target):
            raise ValueError(f"`{name}` must have shape ({n_steps},) or ({n_steps}, {n_target}); got {v.shape}.")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"`{name}` must be finite; it has NaN or inf entries.")
        return v

    def to_dict(self) -> dict:
        if callable(self.values):
            return {"input": "timed_current", "target": list(self.target),
                    "values": f"callable {getattr(self.values, '__qualname__', type(self.values).__name__)}"}
        return {"input": "timed_current", "target": list(self.target), "values_shape": list(self.values.shape)}


@dataclass(frozen=True, kw_only=True, slots=True)
class Noise:
    target: str | tuple[str, ...]
    sigma: float

    def __post_init__(self):
        object.__setattr__(self, "target", _names(self.target, "target"))
        object.__setattr__(self, "sigma", check_positive("sigma", self.sigma, unit="mV", allow_zero=True))

    def to_dict(self) -> dict:
        return {"input": "noise", "target": list(self.target), "sigma": self.sigma}


@dataclass(frozen=True, kw_only=True, slots=True)
class PoissonInput:
    target: str | tuple[str, ...]
    channel: str
    rate: float
    weight: float
    n_inputs: int = 1

    def __post_init__(self):
        object.__setattr__(self, "target", _names(self.target, "target"))
        if not isinstance(self.channel, str):
            raise TypeError(f"`channel` must be a channel name; got {describe(self.channel)}.")
        object.__setattr__(self, "rate", check_positive("rate", self.rate, unit="Hz", allow_zero=True))
        object.__setattr__(self, "weight", check_real("weight", self.weight, unit="mV"))
        object.__setattr__(self, "n_inputs", check_int("n_inputs", self.n_inputs, minimum=1))

    def to_dict(self) -> dict:
        return {"input": "poisson", "target": list(self.target), "channel": self.channel, "rate": self.rate,
                "weight": self.weight, "n_inputs": self.n_inputs}


Input = Current | TimedCurrent | Noise | PoissonInput
INPUTS = {"current": Current, "timed_current": TimedCurrent, "noise": Noise, "poisson": PoissonInput}
