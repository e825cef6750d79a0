"""Rate models derived from a spiking network: :func:`reduce`.

The diffusion mapping of :func:`~spikerate.reduce.population_inputs` gives each population's
mean input as a linear function of the population rates, ``mu = W nu + b`` (``W`` =
in-degree x effective jump x tau_m, ``b`` = rest + constant currents + external Poisson
mean), and its noise ``sigma(nu)``.  :func:`reduce` turns that into one of the three models
of :mod:`spikerate.models`, one unit per population, with the external drive ``x`` [mV] added
to the mean input (``U`` = identity):

============== ================================================================
``rate``        tau_m dr/dt = -r + g(W r + x + b)                 (tau_s << tau_m)
``current``     tau_s dI/dt = -I + W g(I) + x + b,  r = g(I)      (tau_m << tau_s)
``two_variable`` tau_s dI/dt = -I + W r + x + b,  tau_m dr/dt = -r + g(I)
============== ================================================================

``g="siegert"`` is the Siegert rate of each population with the noise ``sigma`` and the
Fourcaud-Brunel shift frozen at the self-consistent mean-field rates (so all three models have
the mean-field rates as their fixed point); ``g="lif"`` is the noise-free f-I curve.  tau_s of a
population is the synaptic time constant of its recurrent input, weighted by each channel's
share of the mean input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from .._validation import check_choice, describe
from ..models import CurrentModel, RateModel, TwoVariableModel
from ..models.transfer import AbstractTransfer, lif_rate, lif_rate_derivatives, siegert, siegert_derivatives
from ..sim import Network
from .meanfield import PopulationInputs, meanfield_rates, population_inputs

KINDS = ("rate", "current", "two_variable")
TRANSFERS = ("siegert", "lif")


@dataclass(frozen=True, kw_only=True, eq=False)
class PopulationTransfer(AbstractTransfer):
    """One LIF transfer per population (unit): the Siegert rate at fixed noise ``sigma`` with
    threshold and reset raised by ``shift``, or (``kind="lif"``) the noise-free f-I curve.
    Parameters are arrays of one value per unit; ``x`` is the mean input [mV]."""
    name: ClassVar[str] = "population_lif"
    kind: str
    sigma: np.ndarray
    shift: np.ndarray
    tau_m: np.ndarray
    t_ref: np.ndarray
    v_th: np.ndarray
    v_reset: np.ndarray

    def __post_init__(self):
        check_choice("kind", self.kind, TRANSFERS)
        n = None
        for f in ("sigma", "shift", "tau_m", "t_ref", "v_th", "v_reset"):
            a = np.array(getattr(self, f), dtype=float, ndmin=1)
            if n is not None and a.shape != (n,):
                raise ValueError(f"`{f}` must have one value per unit ({n}); got shape {a.shape}.")
            n = a.shape[0]
            a.setflags(write=False)
            object.__setattr__(self, f, a)

    def _lif(self):
        return dict(tau_m=self.tau_m, t_ref=self.t_ref, v_th=self.v_th + self.shift,
                    v_reset=self.v_reset + self.shift)

    def value(self, x: npt.ArrayLike) -> np.ndarray:
        if self.kind == "lif":
            return lif_rate(x, **self._lif())
        return siegert(x, self.sigma, **self._lif())

    def derivative(self, x: npt.ArrayLike) -> np.ndarray:
        return self.value_and_derivative(x)[1]

    def value_and_derivative(self, x: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "lif":
            return lif_rate_derivatives(x, **self._lif())
        r, d_mu, _ = siegert_derivatives(x, self.sigma, **self._lif())
        return r, d_mu

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind,
                **{f: getattr(self, f).tolist() for f in ("sigma", "shift", "tau_m", "t_ref", "v_th", "v_reset")}}


def synaptic_time_constants(inputs: PopulationInputs) -> np.ndarray:
    """tau_s [s] of each population: the channels' time constants weighted by their share of
    the population's recurrent mean input (|K w tau_s| summed over presynaptic populations);
    0 where all recurrent input is through delta synapses."""
    tau = inputs.tau_s[None, None, :]
    share = np.abs(inputs.in_degree * inputs.weight) * tau  # mean-input weight of each (a, b, channel)
    total = share.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (share * tau).sum(axis=(1, 2)) / np.where(total > 0, total, 1.0), 0.0)


def reduce(network: Network | PopulationInputs, kind: str = "rate", g: str = "siegert", *,
           nu0: npt.ArrayLike | None = None, trainable: tuple[str, ...] = ()):
    """The population-level rate model of ``network`` (see the module docstring).

    Parameters
    ----------
    network : Network or PopulationInputs
        The spiking network (or its diffusion mapping from :func:`population_inputs`).
    kind : {"rate", "current", "two_variable"}
        Which reduction.  ``current`` and ``two_variable`` need synaptic time constants > 0.
    g : {"siegert", "lif"}
        Siegert rate with noise and Fourcaud-Brunel shift frozen at the mean-field rates, or the
        noise-free LIF f-I curve.
    nu0 : array, optional
        Starting guess [Hz] for the mean-field rates (``g="siegert"``).
    trainable : tuple of str
        Parameters a later fit or training may change (default: none).

    Returns
    -------
    RateModel, CurrentModel or TwoVariableModel
        One unit per population, in the network's order; ``x`` is an extra mean input [mV]
        per population.

    Raises
    ------
    ValueError
        Unknown ``kind`` or ``g``; ``current``/``two_variable`` for a population whose recurrent
        input is all through delta synapses.
    spikerate.errors.ConvergenceError
        The mean-field rates were not found (``g="siegert"``).
    """
    check_choice("kind", kind, KINDS)
    check_choice("g", g, TRANSFERS)
    if isinstance(network, Network):
        inputs = population_inputs(network)
    elif isinstance(network, PopulationInputs):
        inputs = network
    else:
        raise TypeError(f"`network` must be a spikerate.sim.Network or PopulationInputs; got {describe(network)}.")
    n = inputs.n
    if g == "siegert":
        fp = meanfield_rates(inputs, nu0=nu0)
        sigma, shift = fp["sigma"].values, fp["threshold_shift"].values
    else:
        sigma, shift = np.zeros(n), np.zeros(n)
    transfer = PopulationTransfer(kind=g, sigma=sigma, shift=shift, tau_m=inputs.tau_m, t_ref=inputs.t_ref,
                                  v_th=inputs.v_th, v_reset=inputs.v_reset)
    common = dict(w=inputs.mu_coupling, u=np.eye(n), b=inputs.mu_ext, g=transfer, trainable=trainable)
    if kind == "rate":
        return RateModel(tau=inputs.tau_m, **common)
    tau_s = synaptic_time_constants(inputs)
    if np.any(tau_s <= 0):
        bad = [p for p, t in zip(inputs.populations, tau_s) if t <= 0]
        raise ValueError(f"`kind` = {kind!r} needs synaptic time constants > 0, but the recurrent input of "
                         f"population(s) {bad} is all through delta synapses (tau_s = 0); use kind='rate'.")
    if kind == "current":
        return CurrentModel(tau=tau_s, **common)
    return TwoVariableModel(tau_s=tau_s, tau_m=inputs.tau_m, **common)
