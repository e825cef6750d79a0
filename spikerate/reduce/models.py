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

``g="siegert"`` is the Siegert rate of each population.  Its noise ``sigma`` and the
Fourcaud-Brunel shift either follow the model's rates as in mean-field theory (``noise="rates"``,
the default for the rate and two-variable models: ``g(z - shift(r), sigma(r))`` with a
:class:`~spikerate.models.RateNoise`) or are frozen at the self-consistent mean-field rates
(``noise="frozen"``, the only choice for the current model, whose rate is ``g(I)`` itself).
Either way all three models have the mean-field rates as their fixed point under ``x = 0``;
``g="lif"`` is the noise-free f-I curve.  tau_s of a
population is the synaptic time constant of its recurrent input, weighted by each channel's
share of the mean input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from .._validation import check_choice, check_int, describe, suggest
from ..models import CurrentModel, RateModel, TwoVariableModel
from ..models import _kernels as _K
from ..models.transfer import _WG, _XG, AbstractTransfer, TabulatedTransfer, measure_transfer
from ..sim import Network
from .meanfield import PopulationInputs, meanfield_rates, population_inputs

KINDS = ("rate", "current", "two_variable")
TRANSFERS = ("siegert", "measured", "lif")
#: options of the f-I measurement behind g="measured" (see measured_transfer)
MEASURE_DEFAULTS = {"n_points": 25, "n_neurons": 400, "t_stop": 1.2, "t_warmup": 0.2, "dt": 1e-4, "seed": 0}
NOISE = ("rates", "frozen")


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
        check_choice("kind", self.kind, ("siegert", "lif"))
        n = None
        for f in ("sigma", "shift", "tau_m", "t_ref", "v_th", "v_reset"):
            a = np.array(getattr(self, f), dtype=float, ndmin=1)
            if n is not None and a.shape != (n,):
                raise ValueError(f"`{f}` must have one value per unit ({n}); got shape {a.shape}.")
            n = a.shape[0]
            a.setflags(write=False)
            object.__setattr__(self, f, a)

    def _units(self, mu, sigma, shift):
        """(rate, d/dmu, d/dsigma) for ``mu`` of shape (..., n): the compiled Siegert kernel on
        the already validated per-unit parameters (this sits in the inner loop of integration,
        fixed points and fits); ``sigma`` and ``shift`` broadcast against ``mu``."""
        mu = np.asarray(mu, dtype=float)
        n = self.tau_m.shape[0]
        if mu.ndim == 0 or mu.shape[-1] != n:
            raise ValueError(f"`x` must have a last axis of length n = {n} (one value per unit); got shape {mu.shape}.")
        if np.isnan(mu).any():
            raise ValueError("`x` must not contain NaN.")
        shape = mu.shape
        if shape == (n,) and np.shape(sigma) == (n,):  # the inner-loop case: no broadcasting
            flat = [mu, np.asarray(sigma, dtype=float), self.tau_m, self.t_ref, self.v_th + shift,
                    self.v_reset + shift]
        else:
            flat = [np.ascontiguousarray(np.broadcast_to(a, shape), dtype=float).ravel()
                    for a in (mu, sigma, self.tau_m, self.t_ref, self.v_th + shift, self.v_reset + shift)]
        size = flat[0].size
        out = [np.empty(size) for _ in range(3)]
        with np.errstate(all="ignore"):
            _K._siegert(*flat, np.zeros(size), _XG, _WG, *out)
        return tuple(o.reshape(shape) for o in out)

    def value(self, x: npt.ArrayLike) -> np.ndarray:
        return self.value_and_derivative(x)[0]

    def derivative(self, x: npt.ArrayLike) -> np.ndarray:
        return self.value_and_derivative(x)[1]

    def value_and_derivative(self, x: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        # kind "lif" is the sigma = 0 limit, which the kernel evaluates exactly as lif_rate
        r, d_mu, _ = self._units(x, self.sigma if self.kind == "siegert" else 0.0, self.shift)
        return r, d_mu

    @property
    def accepts_noise(self) -> bool:
        return self.kind == "siegert"

    def derivatives_noise(self, mu, sigma):
        """Siegert rate of each unit and d/dmu, d/dsigma at noise ``sigma`` (the model's
        :class:`~spikerate.models.RateNoise` supplies ``sigma`` and the shift)."""
        if self.kind != "siegert":
            return super().derivatives_noise(mu, sigma)
        return self._units(mu, sigma, 0.0)

    def kernel_spec(self, gain=None, threshold=None) -> tuple[int, np.ndarray]:
        """(code, parameters) of the compiled integration path (``G_POPULATION``), optionally
        with a gain and an input threshold per unit (see :class:`~spikerate.reduce.fit.AffineTransfer`)."""
        n = self.tau_m.shape[0]
        sigma = self.sigma if self.kind == "siegert" else np.zeros(n)
        gain = np.ones(n) if gain is None else np.broadcast_to(gain, (n,))
        threshold = np.zeros(n) if threshold is None else np.broadcast_to(threshold, (n,))
        return _K.G_POPULATION, np.concatenate([sigma, self.shift, self.tau_m, self.t_ref, self.v_th, self.v_reset,
                                                gain, threshold]).astype(float)

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


def measured_transfer(inputs: PopulationInputs, *, sigma: npt.ArrayLike, tau_s: npt.ArrayLike,
                      center: npt.ArrayLike, progress: bool | None = None, **options) -> TabulatedTransfer:
    """The f-I curve of each population measured by simulation (:func:`measure_transfer`) at
    noise ``sigma`` [mV] and synaptic time constant ``tau_s`` [s] (one per population), on
    ``n_points`` mean inputs from ``center - 4 sigma - 5`` to ``center + 4 sigma + 10`` mV, as a
    :class:`~spikerate.models.transfer.TabulatedTransfer`.  ``options``: ``n_points``,
    ``n_neurons`` (per point), ``t_stop``, ``t_warmup``, ``dt``, ``seed`` (defaults in
    ``MEASURE_DEFAULTS``)."""
    for key in options:
        if key not in MEASURE_DEFAULTS:
            raise ValueError(f"`measure` has an unknown key {key!r}; valid: {sorted(MEASURE_DEFAULTS)}."
                             + suggest(key, MEASURE_DEFAULTS))
    opts = {**MEASURE_DEFAULTS, **options}
    n_points = check_int("measure['n_points']", opts.pop("n_points"), minimum=4)
    seed = check_int("measure['seed']", opts.pop("seed"), minimum=0)
    xs, ys = [], []
    for a in range(inputs.n):
        half = 4.0 * float(sigma[a])
        grid = np.linspace(center[a] - half - 5.0, center[a] + half + 10.0, n_points)
        ds = measure_transfer(grid, float(sigma[a]), tau_s=float(tau_s[a]), tau_m=float(inputs.tau_m[a]),
                              t_ref=float(inputs.t_ref[a]), v_th=float(inputs.v_th[a]),
                              v_reset=float(inputs.v_reset[a]), seed=seed + a, progress=progress, **opts)
        xs.append(grid)
        ys.append(ds.rate.values[:, 0, 0])
    return TabulatedTransfer(x=np.array(xs), y=np.array(ys))


def reduce(network: Network | PopulationInputs, kind: str = "rate", g: str = "siegert", *,
           noise: str | None = None, nu0: npt.ArrayLike | None = None, trainable: tuple[str, ...] = (),
           measure: dict | None = None):
    """The population-level rate model of ``network`` (see the module docstring).

    Parameters
    ----------
    network : Network or PopulationInputs
        The spiking network (or its diffusion mapping from :func:`population_inputs`).
    kind : {"rate", "current", "two_variable"}
        Which reduction.  ``current`` and ``two_variable`` need synaptic time constants > 0.
    g : {"siegert", "measured", "lif"} or AbstractTransfer
        Siegert rate of each population; its f-I curve measured by simulating unconnected
        neurons at the mean-field noise and the population's tau_s (interpolated table, see
        :func:`measured_transfer`; a few seconds of simulation); the noise-free LIF f-I curve;
        or a transfer object used as is (one value per population on the last axis), e.g. the
        ``g`` of an earlier ``reduce(..., g="measured")`` model to skip measuring again.
    noise : {"rates", "frozen"}, optional
        ``g="siegert"`` only.  ``"rates"``: the noise ``sigma(r)`` and the Fourcaud-Brunel shift
        follow the model's rates as in mean-field theory (a :class:`~spikerate.models.RateNoise`
        on the model; ``rate`` and ``two_variable``).  ``"frozen"``: both fixed at their values
        at the mean-field rates.  Default: ``"rates"`` where the model allows it, ``"frozen"``
        for ``current`` (whose rate is ``g(I)`` itself).  Both have the mean-field rates as fixed
        point under ``x = 0``; ``"rates"`` has the larger (self-consistent) gain to the drive.
    nu0 : array, optional
        Starting guess [Hz] for the mean-field rates (``g="siegert"``).
    trainable : tuple of str
        Parameters a later fit or training may change (default: none).
    measure : dict, optional
        ``g="measured"`` only: options of the measurement (``n_points``, ``n_neurons``,
        ``t_stop``, ``t_warmup``, ``dt``, ``seed``).

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
    given = isinstance(g, AbstractTransfer)
    if given and noise is not None:
        raise ValueError(f"`noise` applies to g='siegert' only; got noise={noise!r} with a transfer object. "
                         f"Leave noise=None.")
    if not given:
        check_choice("g", g, TRANSFERS)
    if measure is not None and g != "measured":
        raise ValueError(f"`measure` applies to g='measured' only; got g={g!r}. Leave measure=None.")
    if measure is not None and not isinstance(measure, dict):
        raise TypeError(f"`measure` must be a dict of measurement options or None; got {describe(measure)}.")
    if noise is not None:
        check_choice("noise", noise, NOISE)
        if g != "siegert":
            raise ValueError(f"`noise` applies to g='siegert' only (the noise-free f-I curve has no noise); got "
                             f"noise={noise!r} with g={g!r}. Leave noise=None.")
        if noise == "rates" and kind == "current":
            raise ValueError("`noise`='rates' is not available for kind='current': its rate r = g(I) is the output "
                             "of g, so noise depending on r would make g implicit. Use kind='two_variable' or "
                             "noise='frozen'.")
    elif g == "siegert":
        noise = "frozen" if kind == "current" else "rates"
    if isinstance(network, Network):
        inputs = population_inputs(network)
    elif isinstance(network, PopulationInputs):
        inputs = network
    else:
        raise TypeError(f"`network` must be a spikerate.sim.Network or PopulationInputs; got {describe(network)}.")
    n = inputs.n
    tau_s = synaptic_time_constants(inputs)
    if given:
        transfer = g
    elif g == "lif":
        transfer = PopulationTransfer(kind="lif", sigma=np.zeros(n), shift=np.zeros(n), tau_m=inputs.tau_m,
                                      t_ref=inputs.t_ref, v_th=inputs.v_th, v_reset=inputs.v_reset)
    else:
        fp = meanfield_rates(inputs, nu0=nu0)
        sigma = fp["sigma"].values
        if g == "siegert":
            transfer = PopulationTransfer(kind="siegert", sigma=sigma, shift=fp["threshold_shift"].values,
                                          tau_m=inputs.tau_m, t_ref=inputs.t_ref, v_th=inputs.v_th,
                                          v_reset=inputs.v_reset)
        else:
            transfer = measured_transfer(inputs, sigma=sigma, tau_s=tau_s, center=fp["mu"].values, **(measure or {}))
    common = dict(w=inputs.mu_coupling, u=np.eye(n), b=inputs.mu_ext, g=transfer, trainable=trainable)
    if noise == "rates":
        common["noise"] = inputs.noise
    if kind == "rate":
        return RateModel(tau=inputs.tau_m, **common)
    if np.any(tau_s <= 0):
        bad = [p for p, t in zip(inputs.populations, tau_s) if t <= 0]
        raise ValueError(f"`kind` = {kind!r} needs synaptic time constants > 0, but the recurrent input of "
                         f"population(s) {bad} is all through delta synapses (tau_s = 0); use kind='rate'.")
    if kind == "current":
        return CurrentModel(tau=tau_s, **common)
    return TwoVariableModel(tau_s=tau_s, tau_m=inputs.tau_m, **common)
