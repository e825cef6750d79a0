"""LIF transfer functions: the noise-free f-I curve, the Siegert formula, Fourcaud-Brunel.

A LIF neuron ``tau_m du/dt = -(u - v_rest) + I + sigma sqrt(tau_m) xi(t)`` (spike at ``v_th``,
reset to ``v_reset``, refractory ``t_ref``) with mean input ``mu = v_rest + I`` [mV] and white
noise of strength ``sigma`` [mV] in Brunel's (2000) convention (the free membrane potential has
variance ``sigma**2 / 2``; :class:`spikerate.sim.Noise`) fires at the stationary rate [Hz]

    1/nu = t_ref + tau_m sqrt(pi) int_{(v_reset - mu)/sigma}^{(v_th - mu)/sigma} e^{u^2} (1 + erf u) du

(Siegert 1951; Brunel 2000, eq. 21).  As ``sigma -> 0`` it becomes the noise-free f-I curve

    nu = 1 / (t_ref + tau_m ln((mu - v_reset) / (mu - v_th)))   for mu > v_th, else 0.

When the noise is filtered by a synaptic time constant ``tau_s`` (coloured noise), Fourcaud &
Brunel (2002) showed that, to first order in ``sqrt(tau_s/tau_m)``, the white-noise formula holds
with threshold and reset both raised by ``sigma * alpha/2 * sqrt(tau_s/tau_m)``,
``alpha = sqrt(2) |zeta(1/2)| ~ 2.0653``.

Which function when
-------------------
* :func:`lif_rate` / :func:`lif_rate_derivatives`: no noise (``sigma = 0``), e.g. the
  suprathreshold, mean-driven regime, or a rate model's ``g`` without noise.
* :func:`siegert` / :func:`siegert_derivatives`: white noise; ``tau_s > 0`` adds the
  Fourcaud-Brunel correction (good for ``tau_s/tau_m`` up to about 0.25).
* :class:`LIFTransfer`, :class:`SiegertTransfer`: the same as transfer-function objects
  (``value(x)``, ``derivative(x)``, ``x = mu``) for rate models; see also
  :mod:`spikerate.models.nonlinearities` and :func:`~spikerate.models.get_transfer`.
* :func:`measure_transfer`: the f-I curve measured by simulating unconnected LIF neurons, with
  the theory alongside.

Numerics: the integrand is ``erfcx(-u)``; the rate is computed with ``e^{-max(b, 0)^2}`` factored
out and a closed-form asymptotic tail, so it underflows gracefully to 0 far below threshold and
tends to :func:`lif_rate` as ``sigma -> 0`` (``sigma = 0`` returns it exactly), with relative
error ~1e-13 against adaptive quadrature.  Derivatives are analytic (the integrand at the bounds).

References
----------
Siegert (1951) Phys. Rev. 81, 617, doi:10.1103/PhysRev.81.617.
Brunel (2000) J. Comput. Neurosci. 8, 183, doi:10.1023/A:1008925309027.
Fourcaud & Brunel (2002) Neural Comput. 14, 2057, doi:10.1162/089976602320264015.
"""

from __future__ import annotations

import abc
import math
import time
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import xarray as xr

from .._validation import check_int, check_positive, check_real, check_real_array, describe, warn_if_ms
from ..io.schema import make_transfer_dataset
from ..sim import Channel, Current, LIFParams, Network, Noise, PoissonInput, Population, simulate
from . import _kernels as K

#: Fourcaud-Brunel constant alpha = sqrt(2) |zeta(1/2)| ~ 2.0652
ALPHA = K.ALPHA  # sqrt(2) |zeta(1/2)|, one definition (the kernels need it too)

#: Gauss-Legendre order per panel (10 nodes give ~1e-13 relative against adaptive quadrature)
_GL_ORDER = 10
_XG, _WG = np.polynomial.legendre.leggauss(_GL_ORDER)


def fb_shift(sigma: npt.ArrayLike, *, tau_s: npt.ArrayLike, tau_m: npt.ArrayLike) -> np.ndarray:
    """Fourcaud-Brunel shift [mV] of threshold and reset: ``sigma * alpha/2 * sqrt(tau_s/tau_m)``."""
    return np.asarray(sigma, float) * (0.5 * ALPHA) * np.sqrt(np.asarray(tau_s, float) / np.asarray(tau_m, float))


# ------------------------------------------------------------------------------- checks


def _check_neuron(tau_m, t_ref, v_th, v_reset) -> dict[str, np.ndarray]:
    out = {"tau_m": check_real_array("tau_m", tau_m, unit="s", positive=True),
           "t_ref": check_real_array("t_ref", t_ref, unit="s", positive=True, allow_zero=True),
           "v_th": check_real_array("v_th", v_th, unit="mV"),
           "v_reset": check_real_array("v_reset", v_reset, unit="mV")}
    for name in ("tau_m", "t_ref"):
        if out[name].size:
            warn_if_ms(name, float(np.max(out[name])), limit=10.0)
    try:
        vt, vr = np.broadcast_arrays(out["v_th"], out["v_reset"])
    except ValueError:
        raise ValueError(f"`v_th` and `v_reset` must broadcast together; got shapes {out['v_th'].shape} and "
                         f"{out['v_reset'].shape}.") from None
    bad = ~(vr < vt)
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        where = f" at flat index {i}" if vt.ndim else ""
        raise ValueError(f"`v_reset` must be below `v_th`; got v_reset={vr.ravel()[i]} mV and "
                         f"v_th={vt.ravel()[i]} mV{where}.")
    return out


def _broadcast(**arrays) -> tuple[tuple[int, ...], dict[str, np.ndarray]]:
    arrays = {k: np.asarray(a, dtype=np.float64) for k, a in arrays.items()}
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {a.shape}" for k, a in arrays.items() if a.ndim)
        raise ValueError(f"the arguments must broadcast to one shape; got shapes {shapes}.") from None
    flat = {k: np.ascontiguousarray(np.broadcast_to(a, shape), dtype=np.float64).reshape(-1)
            for k, a in arrays.items()}
    return shape, flat


def _evaluate(mu, sigma, tau_m, t_ref, v_th, v_reset, tau_s):
    """Rate, d/dmu, d/dsigma of already validated float arrays (broadcast here)."""
    shift = (0.5 * ALPHA) * np.sqrt(np.asarray(tau_s, float) / np.asarray(tau_m, float))
    # (the shift array is keyed `tau_s` so that a broadcasting error names the user's argument)
    shape, f = _broadcast(mu=mu, sigma=sigma, tau_m=tau_m, t_ref=t_ref, v_th=v_th, v_reset=v_reset, tau_s=shift)
    n = f["mu"].size
    rate, d_mu, d_sigma = np.empty(n), np.empty(n), np.empty(n)
    with np.errstate(all="ignore"):  # compiled kernels never warn; this keeps NUMBA_DISABLE_JIT=1 alike
        K._siegert(f["mu"], f["sigma"], f["tau_m"], f["t_ref"], f["v_th"], f["v_reset"], f["tau_s"], _XG, _WG,
                   rate, d_mu, d_sigma)
    return rate.reshape(shape)[()], d_mu.reshape(shape)[()], d_sigma.reshape(shape)[()]


def _checked(mu, sigma, tau_m, t_ref, v_th, v_reset, tau_s):
    args = _check_neuron(tau_m, t_ref, v_th, v_reset)
    args["mu"] = check_real_array("mu", mu, unit="mV")
    args["sigma"] = check_real_array("sigma", sigma, unit="mV", positive=True, allow_zero=True)
    args["tau_s"] = check_real_array("tau_s", tau_s, unit="s", positive=True, allow_zero=True)
    return args


# ------------------------------------------------------------------------------- functions


def lif_rate(mu: npt.ArrayLike, *, tau_m: npt.ArrayLike, t_ref: npt.ArrayLike, v_th: npt.ArrayLike,
             v_reset: npt.ArrayLike) -> np.ndarray | float:
    """Noise-free LIF f-I curve [Hz].

    ``nu = 1 / (t_ref + tau_m ln((mu - v_reset) / (mu - v_th)))`` for ``mu > v_th``, else 0.

    Parameters
    ----------
    mu : array_like
        Asymptotic mean membrane potential ``v_rest + I`` [mV].
    tau_m : array_like
        Membrane time constant [s], > 0.
    t_ref : array_like
        Absolute refractory period [s], >= 0.
    v_th, v_reset : array_like
        Threshold and reset [mV], ``v_reset < v_th``.

    All arguments broadcast together.

    Returns
    -------
    ndarray or float
        The rate [Hz], of the broadcast shape (a NumPy scalar for scalar input).

    Raises
    ------
    ValueError
        Non-finite values, ``tau_m <= 0``, ``t_ref < 0``, ``v_reset >= v_th``, shapes that do
        not broadcast (the message names the argument).

    Examples
    --------
    >>> round(float(lif_rate(25.0, tau_m=20e-3, t_ref=2e-3, v_th=20.0, v_reset=10.0)), 3)
    41.715
    """
    return lif_rate_derivatives(mu, tau_m=tau_m, t_ref=t_ref, v_th=v_th, v_reset=v_reset)[0]


def lif_rate_derivatives(mu: npt.ArrayLike, *, tau_m: npt.ArrayLike, t_ref: npt.ArrayLike,
                         v_th: npt.ArrayLike, v_reset: npt.ArrayLike) -> tuple:
    """Noise-free LIF rate [Hz] and its derivative with respect to ``mu`` [Hz/mV].

    ``d nu/d mu = nu^2 tau_m (v_th - v_reset) / ((mu - v_th)(mu - v_reset))`` for ``mu > v_th``,
    0 below (and at) threshold, where the curve has a vertical tangent from the right.
    Arguments as :func:`lif_rate`.

    Returns
    -------
    (rate, d_mu) : tuple of ndarray or float
    """
    a = _checked(mu, 0.0, tau_m, t_ref, v_th, v_reset, 0.0)
    rate, d_mu, _ = _evaluate(a["mu"], 0.0, a["tau_m"], a["t_ref"], a["v_th"], a["v_reset"], 0.0)
    return rate, d_mu


def siegert(mu: npt.ArrayLike, sigma: npt.ArrayLike, *, tau_m: npt.ArrayLike, t_ref: npt.ArrayLike,
            v_th: npt.ArrayLike, v_reset: npt.ArrayLike, tau_s: npt.ArrayLike = 0.0) -> np.ndarray | float:
    """Stationary rate [Hz] of a LIF neuron driven by white (or, with ``tau_s``, coloured) noise.

    ``1/nu = t_ref + tau_m sqrt(pi) int_{(v_reset-mu)/sigma}^{(v_th-mu)/sigma} e^{u^2}(1 + erf u) du``
    (Brunel 2000, eq. 21).  With ``tau_s > 0`` threshold and reset are both raised by
    ``sigma * alpha/2 * sqrt(tau_s/tau_m)``, ``alpha = sqrt(2)|zeta(1/2)|`` (Fourcaud & Brunel
    2002).  ``sigma = 0`` gives :func:`lif_rate` exactly.

    Parameters
    ----------
    mu : array_like
        Mean input, the asymptotic mean membrane potential ``v_rest + I`` [mV].
    sigma : array_like
        Noise strength [mV], >= 0, Brunel's convention ``tau_m du/dt = -(u - mu) + sigma
        sqrt(tau_m) xi(t)``: the free membrane potential has variance ``sigma**2 / 2``.
    tau_m : array_like
        Membrane time constant [s], > 0.
    t_ref : array_like
        Absolute refractory period [s], >= 0.
    v_th, v_reset : array_like
        Threshold and reset [mV], ``v_reset < v_th``.
    tau_s : array_like
        Synaptic time constant filtering the noise [s], >= 0 (default 0: white noise).

    All arguments broadcast together.

    Returns
    -------
    ndarray or float
        The rate [Hz] (0 where it underflows, far below threshold).

    Raises
    ------
    ValueError
        NaN or infinite values, ``sigma < 0``, ``tau_m <= 0``, ``t_ref < 0``, ``tau_s < 0``,
        ``v_reset >= v_th``, shapes that do not broadcast (the message names the argument).

    Examples
    --------
    >>> nu = siegert([10.0, 15.0, 25.0], 5.0, tau_m=20e-3, t_ref=2e-3, v_th=20.0, v_reset=10.0)
    >>> [round(float(x), 3) for x in nu]
    [0.882, 9.461, 47.217]
    """
    return siegert_derivatives(mu, sigma, tau_m=tau_m, t_ref=t_ref, v_th=v_th, v_reset=v_reset, tau_s=tau_s)[0]


def siegert_derivatives(mu: npt.ArrayLike, sigma: npt.ArrayLike, *, tau_m: npt.ArrayLike,
                        t_ref: npt.ArrayLike, v_th: npt.ArrayLike, v_reset: npt.ArrayLike,
                        tau_s: npt.ArrayLike = 0.0) -> tuple:
    """Siegert rate [Hz] and its partial derivatives with respect to ``mu`` and ``sigma`` [Hz/mV].

    Analytic: with ``I`` the integral term, ``a``, ``b`` its bounds and ``f(u) = e^{u^2}(1 +
    erf u)``, ``dI/dmu = sqrt(pi)/sigma (f(a) - f(b))``, ``dI/dsigma = sqrt(pi)/sigma ((a - k) f(a)
    - (b - k) f(b))`` (``k = alpha/2 sqrt(tau_s/tau_m)``, the shift per unit sigma) and
    ``d nu = -tau_m nu^2 dI``.  At ``sigma = 0`` they are the noise-free derivative and 0.
    Arguments as :func:`siegert`.

    Returns
    -------
    (rate, d_mu, d_sigma) : tuple of ndarray or float
    """
    a = _checked(mu, sigma, tau_m, t_ref, v_th, v_reset, tau_s)
    return _evaluate(a["mu"], a["sigma"], a["tau_m"], a["t_ref"], a["v_th"], a["v_reset"], a["tau_s"])


# ------------------------------------------------------------------------------- transfer objects


class AbstractTransfer(abc.ABC):
    """A transfer function ``g`` with its derivative, for rate models.

    Concrete transfers are frozen dataclasses with a ``name`` and two methods that take an
    array-like ``x`` and return arrays of the same shape: ``value(x)`` and ``derivative(x)``
    (``dg/dx``).  Calling the object is ``value``.
    """

    __slots__ = ()
    name: ClassVar[str]

    @abc.abstractmethod
    def value(self, x: npt.ArrayLike) -> np.ndarray:
        """g(x)."""

    @abc.abstractmethod
    def derivative(self, x: npt.ArrayLike) -> np.ndarray:
        """dg/dx."""

    def value_and_derivative(self, x: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """(g(x), dg/dx) in one call."""
        return self.value(x), self.derivative(x)

    def __call__(self, x: npt.ArrayLike) -> np.ndarray:
        return self.value(x)

    #: True for transfers that depend on the input noise and so can serve a model with ``noise``
    accepts_noise: ClassVar[bool] = False

    def derivatives_noise(self, mu: npt.ArrayLike, sigma: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(g, dg/dmu, dg/dsigma)`` at mean input ``mu`` and noise ``sigma`` [mV], the threshold
        shift already in ``mu`` (used by models with a :class:`~spikerate.models.RateNoise`)."""
        raise TypeError(f"the transfer {self.name!r} does not depend on the input noise; a model with `noise` needs "
                        f"a Siegert-type g (SiegertTransfer, or reduce(..., g='siegert')).")

    def to_dict(self) -> dict:
        """JSON-safe description: ``{"name": ..., <parameters>}`` (the input of ``get_transfer``)."""
        return {"name": self.name, **{f.name: getattr(self, f.name) for f in fields(self)}}


def check_x(x) -> np.ndarray:
    """The input of a transfer function as a float array; NaN is rejected (inf is allowed)."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`x` must be numeric; got {describe(x)}.") from None
    if np.isnan(arr).any():
        raise ValueError(f"`x` must not contain NaN; got NaN at flat index {np.flatnonzero(np.isnan(arr.ravel()))[0]}.")
    return arr


def _check_lif_fields(obj) -> None:
    for name in ("tau_m", "t_ref", "v_th", "v_reset"):
        object.__setattr__(obj, name, check_real(name, getattr(obj, name), unit="s" if name.startswith("t") else "mV"))
    check_positive("tau_m", obj.tau_m, unit="s")
    check_positive("t_ref", obj.t_ref, unit="s", allow_zero=True)
    warn_if_ms("tau_m", obj.tau_m, limit=10.0)
    warn_if_ms("t_ref", obj.t_ref, limit=10.0)
    if not obj.v_reset < obj.v_th:
        raise ValueError(f"`v_reset` must be below `v_th`; got v_reset={obj.v_reset} mV and v_th={obj.v_th} mV.")


@dataclass(frozen=True, kw_only=True, slots=True)
class LIFTransfer(AbstractTransfer):
    """Noise-free LIF f-I curve as a transfer function of ``x = mu`` [mV] -> rate [Hz]
    (:func:`lif_rate`).  Defaults: Brunel's (2000) neuron."""
    name: ClassVar[str] = "lif"
    tau_m: float = 20e-3   #: membrane time constant [s]
    t_ref: float = 2e-3    #: refractory period [s]
    v_th: float = 20.0     #: threshold [mV]
    v_reset: float = 10.0  #: reset [mV]

    def __post_init__(self):
        _check_lif_fields(self)

    def value(self, x):
        return self.value_and_derivative(x)[0]

    def derivative(self, x):
        return self.value_and_derivative(x)[1]

    def value_and_derivative(self, x):
        r, d, _ = _evaluate(check_x(x), 0.0, self.tau_m, self.t_ref, self.v_th, self.v_reset, 0.0)
        return r, d


@dataclass(frozen=True, kw_only=True, slots=True)
class SiegertTransfer(AbstractTransfer):
    """Siegert rate at fixed noise ``sigma`` as a transfer function of ``x = mu`` [mV] -> rate
    [Hz] (:func:`siegert`; ``tau_s > 0`` adds the Fourcaud-Brunel shift)."""
    name: ClassVar[str] = "siegert"
    sigma: float           #: noise strength [mV], Brunel's convention
    tau_m: float = 20e-3   #: membrane time constant [s]
    t_ref: float = 2e-3    #: refractory period [s]
    v_th: float = 20.0     #: threshold [mV]
    v_reset: float = 10.0  #: reset [mV]
    tau_s: float = 0.0     #: synaptic time constant of coloured noise [s] (0: white)

    def __post_init__(self):
        _check_lif_fields(self)
        object.__setattr__(self, "sigma", check_positive("sigma", self.sigma, unit="mV", allow_zero=True))
        object.__setattr__(self, "tau_s", check_positive("tau_s", self.tau_s, unit="s", allow_zero=True))

    def value(self, x):
        return self.value_and_derivative(x)[0]

    def derivative(self, x):
        return self.value_and_derivative(x)[1]

    def value_and_derivative(self, x):
        r, d, _ = _evaluate(check_x(x), self.sigma, self.tau_m, self.t_ref, self.v_th, self.v_reset, self.tau_s)
        return r, d

    accepts_noise: ClassVar[bool] = True

    def derivatives_noise(self, mu, sigma):
        """Siegert rate and d/dmu, d/dsigma at noise ``sigma`` (replacing the field ``sigma``; the
        Fourcaud-Brunel shift comes from the model's :class:`~spikerate.models.RateNoise`)."""
        return siegert_derivatives(check_x(mu), sigma, tau_m=self.tau_m, t_ref=self.t_ref, v_th=self.v_th,
                                   v_reset=self.v_reset)


@dataclass(frozen=True, kw_only=True, eq=False)
class TabulatedTransfer(AbstractTransfer):
    """A transfer given by a table, one per unit: monotone cubic (PCHIP) interpolation of
    ``y`` over ``x`` with its exact derivative; outside the table, linear continuation with the
    end slope, clipped at 0 (rates).  Built from measured f-I curves by
    ``reduce(..., g="measured")``.

    Parameters
    ----------
    x : array_like, shape (n_points,) or (n, n_points)
        Strictly increasing inputs [mV] (one row per unit, or one grid for all).
    y : array_like, shape (n, n_points)
        Values [Hz] (one row per unit; the last axis of the model's input).
    """
    name: ClassVar[str] = "tabulated"
    x: np.ndarray
    y: np.ndarray

    def __post_init__(self):
        y = check_real_array("y", self.y)
        if y.ndim == 1:
            y = y[None, :]
        if y.ndim != 2 or y.shape[1] < 2:
            raise ValueError(f"`y` must have shape (n, n_points) with n_points >= 2; got shape {y.shape}.")
        x = check_real_array("x", self.x)
        if x.ndim == 1 and x.shape[0] == y.shape[1]:
            x = np.broadcast_to(x, y.shape)
        if x.shape != y.shape:
            raise ValueError(f"`x` must have shape (n_points,) or {y.shape} to match `y`; got shape {x.shape}.")
        if np.any(np.diff(x, axis=1) <= 0):
            raise ValueError("`x` must be strictly increasing along the table.")
        import scipy.interpolate
        splines = tuple(scipy.interpolate.PchipInterpolator(xi, yi, extrapolate=False) for xi, yi in zip(x, y))
        for f, a in (("x", x), ("y", y)):
            a = np.array(a, dtype=float)
            a.setflags(write=False)
            object.__setattr__(self, f, a)
        object.__setattr__(self, "_splines", splines)

    def value_and_derivative(self, x):
        z = np.asarray(check_x(x), dtype=float)
        n = self.y.shape[0]
        if n > 1 and (z.ndim == 0 or z.shape[-1] != n):
            raise ValueError(f"`x` must have a last axis of length n = {n} (one value per unit); got shape {z.shape}.")
        zb = np.broadcast_to(z, z.shape if z.ndim else (1,))
        v, d = np.empty(zb.shape), np.empty(zb.shape)
        for k, spl in enumerate(self._splines):
            col = (...,) if n == 1 else (..., k)
            zk = zb[col]
            lo, hi = self.x[k, 0], self.x[k, -1]
            inside = (zk >= lo) & (zk <= hi)
            vk = np.where(inside, spl(np.clip(zk, lo, hi)), 0.0)
            dk = np.where(inside, spl(np.clip(zk, lo, hi), 1), 0.0)
            for edge, mask in ((lo, zk < lo), (hi, zk > hi)):
                slope = float(spl(edge, 1))
                ext = float(spl(edge)) + slope * (zk - edge)
                vk = np.where(mask, np.maximum(ext, 0.0), vk)
                dk = np.where(mask, np.where(ext > 0.0, slope, 0.0), dk)
            v[col], d[col] = vk, dk
        return (v, d) if z.ndim else (v[0], d[0])

    def value(self, x):
        return self.value_and_derivative(x)[0]

    def derivative(self, x):
        return self.value_and_derivative(x)[1]

    def to_dict(self) -> dict:
        return {"name": self.name, "x": self.x.tolist(), "y": self.y.tolist()}


# ------------------------------------------------------------------------------- measured f-I curves

#: coloured noise: each shot-noise jump is this fraction of sigma (J = 0.02 sigma; see measure_transfer)
COLOURED_JUMP = 0.02


def measure_transfer(mu: npt.ArrayLike, sigma: npt.ArrayLike = 0.0, *, tau_s: npt.ArrayLike = 0.0,
                     tau_m: float = 20e-3, t_ref: float = 2e-3, v_th: float = 20.0, v_reset: float = 10.0,
                     n_neurons: int = 2000, t_stop: float = 1.2, t_warmup: float = 0.2, seed: int | None = None,
                     dt: float = 1e-4, progress: bool | None = None) -> xr.Dataset:
    """f-I curves measured by simulating unconnected LIF neurons, with the theory alongside.

    Every grid point ``(mu, sigma, tau_s)`` gets ``n_neurons`` neurons (``v_rest = 0``, a constant
    current ``mu``), all simulated in one :func:`spikerate.sim.simulate` call; spikes are counted
    in ``(t_warmup, t_stop]``.

    * ``tau_s == 0``: white noise, :class:`spikerate.sim.Noise` (Brunel's convention).
    * ``tau_s > 0``: coloured noise.  The simulator has no Ornstein-Uhlenbeck current, so it is
      built from Poisson shot noise through an exponential current synapse of time constant
      ``tau_s``: an excitatory and an inhibitory train, each of rate ``R/2``, with weights
      ``+w`` and ``-w`` (the mean input they add is 0, and so is their third cumulant).  A
      current jump ``w`` gives a PSP of area ``w tau_s``, i.e. the same charge as a delta jump
      ``J = w tau_s / tau_m``, so in the diffusion limit the input is white noise of strength
      ``sigma^2 = J^2 R tau_m`` filtered by ``tau_s``.  ``J = COLOURED_JUMP * sigma`` (2 % of
      sigma) fixes ``R = 1/(tau_m COLOURED_JUMP^2)`` (125 kHz for ``tau_m = 20 ms``) and ``w``;
      the shot-noise corrections to the Gaussian limit are of relative order ``J^2/sigma^2``.

    Initial potentials spread the neurons of each point over the phases of their noise-free
    orbit (uniformly in time), so that even noise-free points average over phase.

    Parameters
    ----------
    mu : array_like, shape (n_input,)
        Mean inputs [mV] (asymptotic mean membrane potential).
    sigma : array_like, shape (n_sigma,)
        Noise strengths [mV], >= 0, Brunel's convention (free variance ``sigma**2 / 2``).
    tau_s : array_like, shape (n_tau_s,)
        Synaptic time constants of the noise [s], >= 0 (0: white noise).
    tau_m, t_ref, v_th, v_reset : float
        Neuron parameters [s, s, mV, mV].
    n_neurons : int
        Neurons per grid point (>= 2).
    t_stop : float
        Simulated time [s]; spikes are counted over ``t_stop - t_warmup``.
    t_warmup : float
        Initial transient discarded [s], >= 0 and below ``t_stop``.
    seed : int, optional
        Seed of the simulation (None draws one, stored in ``attrs["seed"]``).
    dt : float
        Time step [s].  White-noise threshold crossings between grid points are missed, which
        lowers the measured rate by about the effect of raising ``v_th`` by ``0.58 sigma
        sqrt(dt/tau_m)`` (Siegmund's random-walk correction).
    progress : bool, optional
        Progress bar (default: only on a terminal for long runs).

    Returns
    -------
    xarray.Dataset
        Schema ``spikerate.transfer/1``: dims ``input`` (coordinate ``mu``), ``sigma``,
        ``tau_s`` (always present, length 1 for a scalar); variables ``rate`` (measured),
        ``rate_sem`` (standard error of the mean over the neurons' spike counts, which accounts
        for non-Poisson count statistics), ``n_spikes``, ``rate_siegert`` (white-noise theory,
        :func:`siegert` with ``tau_s = 0``) and ``rate_siegert_shifted`` (with the
        Fourcaud-Brunel shift for ``tau_s``), all [Hz].

    Raises
    ------
    ValueError, TypeError
        Invalid arguments (the message names the argument).

    Examples
    --------
    >>> ds = measure_transfer([15.0, 25.0], [0.0, 4.0], n_neurons=200, t_stop=0.5, seed=1)
    >>> ds.rate.dims
    ('input', 'sigma', 'tau_s')
    """
    mu = _grid("mu", mu, unit="mV")
    sigma = _grid("sigma", sigma, unit="mV", nonnegative=True)
    tau_s = _grid("tau_s", tau_s, unit="s", nonnegative=True)
    neuron = LIFParams(tau_m=tau_m, v_rest=0.0, v_th=v_th, v_reset=v_reset, t_ref=t_ref)  # validates
    tau_m, t_ref, v_th, v_reset = neuron.tau_m, neuron.t_ref, neuron.v_th, neuron.v_reset
    if np.ndim(tau_m) or np.ndim(t_ref) or np.ndim(v_th) or np.ndim(v_reset):
        raise ValueError("`tau_m`, `t_ref`, `v_th` and `v_reset` must be scalars in measure_transfer.")
    n_neurons = check_int("n_neurons", n_neurons, minimum=2)
    t_stop = check_positive("t_stop", t_stop, unit="s")
    t_warmup = check_positive("t_warmup", t_warmup, unit="s", allow_zero=True)
    warn_if_ms("t_stop", t_stop, limit=1000.0)
    if not t_warmup < t_stop:
        raise ValueError(f"`t_warmup` must be below `t_stop`; got t_warmup={t_warmup} s, t_stop={t_stop} s.")
    dt = check_positive("dt", dt, unit="s")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    seed = check_int("seed", seed, minimum=0)

    # independent trials run in parallel threads; a fixed split keeps results thread-count free
    trials = next(k for k in (4, 2, 1) if n_neurons % k == 0)
    m = n_neurons // trials
    v0 = np.concatenate([_phase_potentials(x, m, tau_m=tau_m, t_ref=t_ref, v_th=v_th, v_reset=v_reset)
                         for x in mu])
    amplitude = np.repeat(mu, m)  # v_rest = 0, so the current is mu
    rate_in = 1.0 / (tau_m * COLOURED_JUMP**2)
    pops, channels, inputs = [], [], []
    for j, s in enumerate(sigma):
        for k_, ts in enumerate(tau_s):
            name = f"grid_s{j}_t{k_}"
            pops.append(Population(name=name, n=mu.size * m, params=neuron, v_init=v0))
            inputs.append(Current(target=name, amplitude=amplitude))
            if s == 0.0:
                continue
            if ts == 0.0:
                inputs.append(Noise(target=name, sigma=float(s)))
            else:
                ch = f"noise_t{k_}"
                if ch not in [c.name for c in channels]:
                    channels.append(Channel(name=ch, tau_s=float(ts)))
                w = COLOURED_JUMP * s * tau_m / ts  # current jump of J = COLOURED_JUMP sigma
                inputs.append(PoissonInput(target=name, channel=ch, rate=rate_in / 2, weight=float(w)))
                inputs.append(PoissonInput(target=name, channel=ch, rate=rate_in / 2, weight=-float(w)))
    net = Network(populations=pops, channels=channels, inputs=inputs)
    t0 = time.perf_counter()
    spikes = simulate(net, t_stop=t_stop, dt=dt, seed=seed, trials=trials, progress=progress)
    wall = time.perf_counter() - t0

    n_net = net.n_neurons
    keep = spikes.spike_time.values > t_warmup + 0.5 * dt
    idx = spikes.spike_trial.values[keep].astype(np.int64) * n_net + spikes.spike_neuron.values[keep]
    counts = np.bincount(idx, minlength=trials * n_net).reshape(trials, sigma.size, tau_s.size, mu.size, m)
    counts = np.moveaxis(counts, (3, 1, 2), (0, 1, 2)).reshape(mu.size, sigma.size, tau_s.size, n_neurons)
    window = t_stop - t_warmup
    rate = counts.mean(axis=-1) / window
    sem = counts.std(axis=-1, ddof=1) / np.sqrt(n_neurons) / window
    g = dict(tau_m=tau_m, t_ref=t_ref, v_th=v_th, v_reset=v_reset)
    theory = siegert(mu[:, None, None], sigma[None, :, None], **g) * np.ones_like(rate)
    shifted = siegert(mu[:, None, None], sigma[None, :, None], tau_s=tau_s[None, None, :], **g)
    params = {"tau_m": tau_m, "t_ref": t_ref, "v_th": v_th, "v_reset": v_reset, "v_rest": 0.0,
              "n_neurons": n_neurons, "t_stop": t_stop, "t_warmup": t_warmup, "dt": dt,
              "coloured_noise": {"input_rate": rate_in, "jump_over_sigma": COLOURED_JUMP}}
    return make_transfer_dataset(
        mu=mu, sigma=sigma, tau_s=tau_s, rate=rate, rate_sem=sem, rate_siegert=theory,
        rate_siegert_shifted=shifted, n_spikes=counts.sum(axis=-1),
        seed=seed, dt=dt, t_stop=t_stop, t_warmup=t_warmup, n_neurons=n_neurons, tau_m=tau_m, t_ref=t_ref,
        v_th=v_th, v_reset=v_reset, v_rest=0.0, coloured_input_rate=rate_in, coloured_jump=COLOURED_JUMP,
        trials=trials, run_time=float(spikes.attrs["run_time"]), compile_time=float(spikes.attrs["compile_time"]),
        wall_time=wall, params=params)


def _grid(name: str, value, *, unit: str, nonnegative: bool = False) -> np.ndarray:
    arr = check_real_array(name, value, unit=unit, positive=nonnegative, allow_zero=nonnegative)
    if arr.ndim > 1:
        raise ValueError(f"`{name}` must be a scalar or a 1-D array; got shape {arr.shape}.")
    arr = arr.reshape(-1)
    if arr.size == 0:
        raise ValueError(f"`{name}` must hold at least one value; got an empty array.")
    if np.unique(arr).size != arr.size:
        raise ValueError(f"`{name}` values must be distinct; got {arr.tolist()}.")
    return arr


def _phase_potentials(mu: float, n: int, *, tau_m, t_ref, v_th, v_reset) -> np.ndarray:
    """Initial potentials [mV] of n neurons spread uniformly in time over the noise-free orbit
    at mean input mu (those that would be refractory start at v_reset); mu at the resting value
    for mu < v_th."""
    if mu < v_th:
        return np.full(n, mu)
    if mu == v_th:
        return np.full(n, v_reset)
    t_free = tau_m * math.log((mu - v_reset) / (mu - v_th))
    phase = (np.arange(n) + 0.5) / n * (t_ref + t_free)  # time to the next spike
    v = mu - (mu - v_th) * np.exp(np.minimum(phase, t_free) / tau_m)
    return np.clip(v, v_reset, np.nextafter(v_th, -np.inf))
