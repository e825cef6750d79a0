"""Surrogate gradients for the spike nonlinearity ``s = H(v)``, ``v = u - V_th``.

The forward pass of a spiking network keeps the Heaviside step ``H``; the backward pass replaces
``dH/dv`` (a Dirac delta) by a smooth pseudo-derivative ``sigma'(v)``.  Each surrogate here also
gives ``sigma(v)``, the smooth function whose derivative is ``sigma'``: a network whose forward pass
uses ``sigma`` instead of ``H`` (the "surrogate-smoothed network") has exactly the surrogate
gradient as its true gradient, which is what finite-difference checks of training code compare to.

Normalisation convention (all surrogates)
-----------------------------------------
Every pseudo-derivative has **unit area**, ``int sigma'(v) dv = 1``, so ``sigma`` is a smoothed
Heaviside: ``sigma(-inf) = 0``, ``sigma(+inf) = 1``, ``sigma(0) = 1/2`` (all are symmetric,
``sigma(-v) = 1 - sigma(v)``) and ``sigma -> H`` as the width goes to 0.  Where a paper writes an
unnormalised form (a peak of 1, or a free prefactor), the class docstring gives the relation; to
reproduce the paper's gradient magnitude exactly, multiply the surrogate gradient by that factor
(equivalently, scale the learning rate).

===================  ================  ===========================================  ===================================
class                name              pseudo-derivative ``sigma'(v)``              smoothed step ``sigma(v)``
===================  ================  ===========================================  ===================================
``FastSigmoid``      fast_sigmoid      ``(scale/2) / (1 + scale |v|)^2``            ``(1 + scale v/(1 + scale|v|))/2``
``Sigmoid``          sigmoid           ``scale sigma (1 - sigma)``                  ``1 / (1 + exp(-scale v))``
``Arctan``           arctan            ``(alpha/2) / (1 + (pi alpha v/2)^2)``       ``1/2 + arctan(pi alpha v/2)/pi``
``Triangle``         triangle          ``max(0, 1 - |v|/width) / width``            piecewise quadratic (see class)
``Gaussian``         gaussian          ``exp(-v^2/(2 sigma^2))/(sqrt(2pi) sigma)``  ``erfc(-v/(sqrt(2) sigma))/2``
``Exponential``      exponential       ``(scale/2) exp(-scale |v|)``                Laplace CDF (see class)
``StraightThrough``  straight_through  ``1/(2 width)`` on ``|v| < width``, else 0   ``clip((v+width)/(2 width), 0, 1)``
===================  ================  ===========================================  ===================================

Defaults: ``scale=10`` (fast sigmoid), ``scale=5`` (sigmoid, exponential), ``alpha=2``,
``width=1`` (triangle), ``sigma=0.5``, ``width=0.5`` (straight-through: height 1).

All are frozen dataclasses (one keyword-only parameter, ``> 0``, validated on construction) with
``name``, ``reference``, ``derivative(v)``, ``value(v)`` (numpy, elementwise, any shape; ``v`` may
be ``+-inf``, not NaN), ``to_dict()`` and, for compiled kernels, an integer ``code`` and
``params()`` (a float64 array): :func:`surrogate_derivative` and :func:`surrogate_value` are numba
functions of ``(code, params, v)`` for a scalar ``v`` that evaluate any surrogate by its code and
agree with the numpy methods to rounding (the same formulas, written once per side).  Tails are
evaluated without cancellation on the ``v < 0`` side (``sigma(v)`` small) and without overflow.
:func:`get_surrogate` turns a name (with parameters), a dict from a scenario file, or a surrogate
into a surrogate; unknown names raise ``ValueError`` with the nearest valid name.

Examples
--------
>>> s = get_surrogate("fast_sigmoid", scale=10.0)
>>> float(s.derivative(0.0)), float(s.value(0.0))
(5.0, 0.5)
>>> code, params = s.code, s.params()
>>> surrogate_derivative(code, params, 0.0)
5.0
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from numba import njit

from .._validation import check_positive, describe, from_registry

__all__ = ["Arctan", "Exponential", "FastSigmoid", "Gaussian", "SURROGATES", "Sigmoid", "StraightThrough",
           "Surrogate", "Triangle", "get_surrogate", "surrogate_derivative", "surrogate_value"]

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# integer codes of the compiled functions (one per class; stable: scenario files do not store them)
FAST_SIGMOID, SIGMOID, ARCTAN, TRIANGLE, GAUSSIAN, EXPONENTIAL, STRAIGHT_THROUGH = range(7)


def _erfc(x: np.ndarray) -> np.ndarray:
    """``erfc`` elementwise by the C library's (``math.erfc``, as in the compiled functions:
    ``scipy.special.erfc`` differs from it by up to ~1e-14 relative in the far tail)."""
    out = np.empty(x.shape)
    _erfc_into(x.ravel(), out.reshape(-1))
    return out


@njit(cache=True)
def _erfc_into(x, out):
    for i in range(x.size):
        out[i] = math.erfc(x[i])


def _check_v(v) -> np.ndarray:
    """The membrane argument ``v = u - V_th`` as a float array; NaN is rejected (inf is allowed)."""
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`v` must be numeric; got {describe(v)}.") from None
    if np.isnan(arr).any():
        raise ValueError(f"`v` must not contain NaN; got NaN at flat index "
                         f"{np.flatnonzero(np.isnan(arr.ravel()))[0]}.")
    return arr


class Surrogate(abc.ABC):
    """A surrogate gradient of the Heaviside spike function ``s = H(v)``.

    Concrete surrogates are frozen dataclasses with one keyword-only width parameter (named as in
    their source paper).  ``derivative(v)`` is the pseudo-derivative ``sigma'(v)`` used in place
    of ``dH/dv``; ``value(v)`` is its antiderivative ``sigma(v)`` (a smoothed Heaviside, unit
    area, see the module docstring).  ``code`` and ``params()`` select the same surrogate in
    :func:`surrogate_derivative` and :func:`surrogate_value` inside numba kernels.
    """

    __slots__ = ()
    #: registry name (the ``name`` of ``to_dict``)
    name: ClassVar[str]
    #: integer code for :func:`surrogate_derivative` / :func:`surrogate_value`
    code: ClassVar[int]
    #: the source paper (authors, year, title, venue)
    reference: ClassVar[str]
    #: name of the single parameter, and what it does (for error messages)
    _param: ClassVar[str]
    _hint: ClassVar[str]

    def __post_init__(self):
        p = self._param
        try:
            value = check_positive(p, getattr(self, p))
        except (TypeError, ValueError) as err:
            raise type(err)(f"{err} {self._hint}") from None
        object.__setattr__(self, p, value)

    @abc.abstractmethod
    def derivative(self, v: npt.ArrayLike) -> np.ndarray:
        """The pseudo-derivative ``sigma'(v)`` (used for ``dH/dv`` in the backward pass)."""

    @abc.abstractmethod
    def value(self, v: npt.ArrayLike) -> np.ndarray:
        """The smoothed Heaviside ``sigma(v)``, the antiderivative of ``derivative``."""

    def __call__(self, v: npt.ArrayLike) -> np.ndarray:
        return self.derivative(v)

    def params(self) -> np.ndarray:
        """The parameter as a float64 array, the ``params`` of :func:`surrogate_derivative`."""
        return np.array([getattr(self, self._param)], dtype=np.float64)

    def to_dict(self) -> dict:
        """JSON-safe description ``{"name": ..., <parameter>: float}`` (the input of :func:`get_surrogate`)."""
        return {"name": self.name, **{f.name: float(getattr(self, f.name)) for f in fields(self)}}


_STEEP = "It is a steepness (the width is ~1/{p}); pass a positive number, e.g. {p}={d}."
_WIDE = "It is the width of the pseudo-derivative in units of v; pass a positive number, e.g. {p}={d}."


@dataclass(frozen=True, kw_only=True, slots=True)
class FastSigmoid(Surrogate):
    """Fast sigmoid (SuperSpike; Zenke & Ganguli 2018).

    ``sigma'(v) = (scale/2) / (1 + scale |v|)^2`` and
    ``sigma(v) = 1/2 + (1/2) scale v / (1 + scale |v|)`` (evaluated as ``(1/2) / (1 + scale |v|)``
    for ``v < 0`` and ``1 - (1/2) / (1 + scale v)`` for ``v >= 0``).  Peak ``scale/2``.

    The paper's pseudo-derivative is ``(1 + scale |v|)^-2`` (peak 1, area ``2/scale``), the
    derivative of the fast sigmoid ``v / (1 + scale |v|)`` (range ``+-1/scale``): it equals
    ``(2/scale)`` times this one.
    """
    name: ClassVar[str] = "fast_sigmoid"
    code: ClassVar[int] = FAST_SIGMOID
    reference: ClassVar[str] = ("Zenke F. & Ganguli S. (2018). SuperSpike: supervised learning in multilayer "
                                "spiking neural networks. Neural Computation 30(6), 1514-1541.")
    _param: ClassVar[str] = "scale"
    _hint: ClassVar[str] = _STEEP.format(p="scale", d=10.0)
    scale: float = 10.0

    def derivative(self, v: npt.ArrayLike) -> np.ndarray:
        d = 1.0 / (1.0 + self.scale * np.abs(_check_v(v)))
        return 0.5 * self.scale * d * d

    def value(self, v: npt.ArrayLike) -> np.ndarray:
        v = _check_v(v)
        h = 0.5 / (1.0 + self.scale * np.abs(v))
        return np.where(v < 0.0, h, 1.0 - h)


@dataclass(frozen=True, kw_only=True, slots=True)
class Sigmoid(Surrogate):
    """Derivative of the logistic sigmoid (Zenke & Vogels 2021).

    ``sigma(v) = 1 / (1 + exp(-scale v))`` and ``sigma'(v) = scale sigma(v) (1 - sigma(v))``
    (evaluated with ``e = exp(-scale |v|)`` as ``scale e / (1 + e)^2``).  Peak ``scale/4``; unit
    area as in the paper.
    """
    name: ClassVar[str] = "sigmoid"
    code: ClassVar[int] = SIGMOID
    reference: ClassVar[str] = ("Zenke F. & Vogels T. P. (2021). The remarkable robustness of surrogate gradient "
                                "learning for instilling complex function in spiking neural networks. Neural "
                                "Computation 33(4), 899-925.")
    _param: ClassVar[str] = "scale"
    _hint: ClassVar[str] = _STEEP.format(p="scale", d=5.0)
    scale: float = 5.0

    def derivative(self, v: npt.ArrayLike) -> np.ndarray:
        e = np.exp(-self.scale * np.abs(_check_v(v)))
        d = 1.0 / (1.0 + e)
        return self.scale * e * d * d

    def value(self, v: npt.ArrayLike) -> np.ndarray:
        v = _check_v(v)
        e = np.exp(-self.scale * np.abs(v))
        return np.where(v < 0.0, e / (1.0 + e), 1.0 / (1.0 + e))


@dataclass(frozen=True, kw_only=True, slots=True)
class Arctan(Surrogate):
    """Arctangent surrogate (Fang et al. 2021, ICCV), exactly the paper's form (unit area).

    ``sigma(v) = 1/2 + arctan(pi alpha v / 2) / pi`` and
    ``sigma'(v) = (alpha/2) / (1 + (pi alpha v / 2)^2)``.  Peak ``alpha/2``; the tails decay only
    like ``1/v^2``.  For ``v < 0``, ``sigma`` is evaluated as ``arctan(-1 / x) / pi`` with
    ``x = pi alpha v / 2`` (no cancellation).
    """
    name: ClassVar[str] = "arctan"
    code: ClassVar[int] = ARCTAN
    reference: ClassVar[str] = ("Fang W., Yu Z., Chen Y., Masquelier T., Huang T. & Tian Y. (2021). Incorporating "
                                "learnable membrane time constant to enhance learning of spiking neural networks. "
                                "ICCV 2021, 2661-2671.")
    _param: ClassVar[str] = "alpha"
    _hint: ClassVar[str] = _STEEP.format(p="alpha", d=2.0)
    alpha: float = 2.0

    def derivative(self, v: npt.ArrayLike) -> np.ndarray:
        x = (0.5 * math.pi * self.alpha) * _check_v(v)
        with np.errstate(over="ignore"):
            return (0.5 * self.alpha) / (1.0 + x * x)

    def value(self, v: npt.ArrayLike) -> np.ndarray:
        x = (0.5 * math.pi * self.alpha) * _check_v(v)
        neg = x < 0.0
        low = np.arctan(-1.0 / np.where(neg, x, -1.0)) / math.pi
        return np.where(neg, low, 0.5 + np.arctan(x) / math.pi)


@dataclass(frozen=True, kw_only=True, slots=True)
class Triangle(Surrogate):
    """Piecewise-linear (triangle) pseudo-derivative (Bellec et al. 2018; Esser et al. 2016).

    ``sigma'(v) = max(0, 1 - |v|/width) / width`` (unit area, peak ``1/width``) and, with
    ``t = max(0, 1 - |v|/width)``, ``sigma(v) = t^2 / 2`` for ``v < 0`` and ``1 - t^2 / 2`` for
    ``v >= 0`` (0 below ``-width``, 1 above ``width``).  Not differentiable at ``0, +-width``.

    Bellec et al. use ``gamma max(0, 1 - |v|/V_th)`` (dampening ``gamma = 0.3``, ``v``
    normalised by the threshold ``V_th``): that is ``gamma width`` times this one with
    ``width = V_th``.  Esser et al.'s ``max(0, 1 - |v|)`` is this one with ``width = 1``.
    """
    name: ClassVar[str] = "triangle"
    code: ClassVar[int] = TRIANGLE
    reference: ClassVar[str] = ("Bellec G., Salaj D., Subramoney A., Legenstein R. & Maass W. (2018). Long "
                                "short-term memory and learning-to-learn in networks of spiking neurons. NeurIPS 31; "
                                "Esser S. K. et al. (2016). Convolutional networks for fast, energy-efficient "
                                "neuromorphic computing. PNAS 113(41), 11441-11446.")
    _param: ClassVar[str] = "width"
    _hint: ClassVar[str] = _WIDE.format(p="width", d=1.0)
    width: float = 1.0

    def derivative(self, v: npt.ArrayLike) -> np.ndarray:
        return np.maximum(0.0, 1.0 - np.abs(_check_v(v)) / self.width) / self.width

    def value(self, v: npt.ArrayLike) -> np.ndarray:
        v = _check_v(v)
        t = np.maximum(0.0, 1.0 - np.abs(v) / self.width)
        h = 0.5 * t * t
        return np.where(v < 0.0, h, 1.0 - h)


@dataclass(frozen=True, kw_only=True, slots=True)
class Gaussian(Surrogate):
    """Gaussian pseudo-derivative (Yin, Corradi & Bohte 2021; also Wu et al. 2018).

    ``sigma'(v) = exp(-v^2 / (2 sigma^2)) / (sqrt(2 pi) sigma)``, the normal density (unit area,
    peak ``1 / (sqrt(2 pi) sigma)``), and ``sigma(v) = Phi(v / sigma) = erfc(-v / (sqrt(2)
    sigma)) / 2``, the normal CDF (the "erfc" surrogate).  Yin et al.'s multi-Gaussian is a
    combination of such terms.
    """
    name: ClassVar[str] = "gaussian"
    code: ClassVar[int] = GAUSSIAN
    reference: ClassVar[str] = ("Yin B., Corradi F. & Bohte S. M. (2021). Accurate and efficient time-domain "
                                "classification with adaptive spiking recurrent neural networks. Nature Machine "
                                "Intelligence 3, 905-913.")
    _param: ClassVar[str] = "sigma"
    _hint: ClassVar[str] = ("It is the standard deviation of the pseudo-derivative in units of v; "
                            "pass a positive number, e.g. sigma=0.5.")
    sigma: float = 0.5

    def derivative(self, v: npt.ArrayLike) -> np.ndarray:
        z = _check_v(v) / self.sigma
        with np.errstate(over="ignore"):
            return np.exp(-0.5 * (z * z)) * (_INV_SQRT_2PI / self.sigma)

    def value(self, v: npt.ArrayLike) -> np.ndarray:
        z = -_check_v(v) / (_SQRT2 * self.sigma)
        return 0.5 * _erfc(z)


@dataclass(frozen=True, kw_only=True, slots=True)
class Exponential(Surrogate):
    """Exponential (Laplace) pseudo-derivative (SLAYER; Shrestha & Orchard 2018).

    ``sigma'(v) = (scale/2) exp(-scale |v|)`` (unit area, peak ``scale/2``) and ``sigma`` the
    Laplace CDF: ``exp(scale v) / 2`` for ``v < 0``, ``1 - exp(-scale v) / 2`` for ``v >= 0``.
    SLAYER's spike-escape density is ``alpha exp(-beta |v|)`` with a free prefactor (area
    ``2 alpha / beta``): this is it with ``beta = scale``, ``alpha = scale/2``.
    """
    name: ClassVar[str] = "exponential"
    code: ClassVar[int] = EXPONENTIAL
    reference: ClassVar[str] = ("Shrestha S. B. & Orchard G. (2018). SLAYER: spike layer error reassignment in "
                                "time. NeurIPS 31, 1412-1421.")
    _param: ClassVar[str] = "scale"
    _hint: ClassVar[str] = _STEEP.format(p="scale", d=5.0)
    scale: float = 5.0

    def derivative(self, v: npt.ArrayLike) -> np.ndarray:
        return (0.5 * self.scale) * np.exp(-self.scale * np.abs(_check_v(v)))

    def value(self, v: npt.ArrayLike) -> np.ndarray:
        v = _check_v(v)
        h = 0.5 * np.exp(-self.scale * np.abs(v))
        return np.where(v < 0.0, h, 1.0 - h)


@dataclass(frozen=True, kw_only=True, slots=True)
class StraightThrough(Surrogate):
    """Straight-through estimator, rectangular window (Bengio, Leonard & Courville 2013).

    ``sigma'(v) = 1 / (2 width)`` for ``|v| < width``, else 0 (unit area) and
    ``sigma(v) = clip((v + width) / (2 width), 0, 1)``.  Not differentiable at ``+-width`` (the
    derivative there is taken as 0).  The classic estimator passes the gradient through
    unchanged (``dH/dv := 1``); with the default ``width = 0.5`` the window has exactly height 1,
    and the unnormalised window ``1{|v| < width}`` is ``2 width`` times this one.
    """
    name: ClassVar[str] = "straight_through"
    code: ClassVar[int] = STRAIGHT_THROUGH
    reference: ClassVar[str] = ("Bengio Y., Leonard N. & Courville A. (2013). Estimating or propagating gradients "
                                "through stochastic neurons for conditional computation. arXiv:1308.3432.")
    _param: ClassVar[str] = "width"
    _hint: ClassVar[str] = ("It is the half-width of the window |v| < width in units of v; pass a positive number, "
                            "e.g. width=0.5.")
    width: float = 0.5

    def derivative(self, v: npt.ArrayLike) -> np.ndarray:
        return np.where(np.abs(_check_v(v)) < self.width, 0.5 / self.width, 0.0)

    def value(self, v: npt.ArrayLike) -> np.ndarray:
        return np.clip((_check_v(v) + self.width) / (2.0 * self.width), 0.0, 1.0)


# ------------------------------------------------------------------------------------ compiled forms

@njit(cache=True)
def surrogate_derivative(code, params, v):
    """The pseudo-derivative ``sigma'(v)`` of the surrogate ``code`` (a class's ``code``) with
    parameters ``params`` (its ``params()``) at a scalar ``v``; the same formulas as the numpy
    ``derivative`` methods.  Raises ``ValueError`` for an unknown code."""
    p = params[0]
    if code == FAST_SIGMOID:
        d = 1.0 / (1.0 + p * abs(v))
        return 0.5 * p * d * d
    elif code == SIGMOID:
        e = math.exp(-p * abs(v))
        d = 1.0 / (1.0 + e)
        return p * e * d * d
    elif code == ARCTAN:
        x = (0.5 * math.pi * p) * v
        return (0.5 * p) / (1.0 + x * x)
    elif code == TRIANGLE:
        return max(0.0, 1.0 - abs(v) / p) / p
    elif code == GAUSSIAN:
        z = v / p
        return math.exp(-0.5 * (z * z)) * (_INV_SQRT_2PI / p)
    elif code == EXPONENTIAL:
        return (0.5 * p) * math.exp(-p * abs(v))
    elif code == STRAIGHT_THROUGH:
        return 0.5 / p if abs(v) < p else 0.0
    raise ValueError("unknown surrogate code (valid: 0-6, the `code` of a Surrogate class)")


@njit(cache=True)
def surrogate_value(code, params, v):
    """The smoothed Heaviside ``sigma(v)`` of the surrogate ``code`` with parameters ``params`` at a
    scalar ``v``; the same formulas as the numpy ``value`` methods.  Raises ``ValueError`` for an
    unknown code."""
    p = params[0]
    if code == FAST_SIGMOID:
        h = 0.5 / (1.0 + p * abs(v))
        return h if v < 0.0 else 1.0 - h
    elif code == SIGMOID:
        e = math.exp(-p * abs(v))
        return e / (1.0 + e) if v < 0.0 else 1.0 / (1.0 + e)
    elif code == ARCTAN:
        x = (0.5 * math.pi * p) * v
        if x < 0.0:
            return math.atan(-1.0 / x) / math.pi
        return 0.5 + math.atan(x) / math.pi
    elif code == TRIANGLE:
        t = max(0.0, 1.0 - abs(v) / p)
        h = 0.5 * t * t
        return h if v < 0.0 else 1.0 - h
    elif code == GAUSSIAN:
        return 0.5 * math.erfc(-v / (_SQRT2 * p))
    elif code == EXPONENTIAL:
        h = 0.5 * math.exp(-p * abs(v))
        return h if v < 0.0 else 1.0 - h
    elif code == STRAIGHT_THROUGH:
        return min(1.0, max(0.0, (v + p) / (2.0 * p)))
    raise ValueError("unknown surrogate code (valid: 0-6, the `code` of a Surrogate class)")


# ----------------------------------------------------------------------------------------- registry

#: name -> class (``superspike``, ``atan`` and ``ste`` are aliases; ``to_dict`` uses the main names)
SURROGATES: dict[str, type[Surrogate]] = {
    "fast_sigmoid": FastSigmoid, "superspike": FastSigmoid, "sigmoid": Sigmoid, "arctan": Arctan, "atan": Arctan,
    "triangle": Triangle, "gaussian": Gaussian, "exponential": Exponential, "straight_through": StraightThrough,
    "ste": StraightThrough,
}


def get_surrogate(spec: str | dict | Surrogate, /, **params) -> Surrogate:
    """A surrogate gradient from a name, a dict or a surrogate.

    Parameters
    ----------
    spec : str, dict or Surrogate
        A registry name (``"fast_sigmoid"`` or ``"superspike"``, ``"sigmoid"``, ``"arctan"`` or
        ``"atan"``, ``"triangle"``, ``"gaussian"``, ``"exponential"``, ``"straight_through"`` or
        ``"ste"``); a dict ``{"name": ..., <parameter>: ...}`` as in a scenario file (the output
        of ``to_dict()``); or a :class:`Surrogate`, returned unchanged.
    **params
        The parameter of the named surrogate, e.g. ``get_surrogate("sigmoid", scale=2.0)``;
        unknown ones raise ``ValueError`` naming the valid parameter.

    Returns
    -------
    Surrogate
        A surrogate with ``derivative(v)``, ``value(v)``, ``code`` and ``params()``.

    Raises
    ------
    ValueError
        Unknown name (with a suggestion) or parameter, or an invalid parameter value.
    TypeError
        ``spec`` of another type, or parameters given with a surrogate object.

    Examples
    --------
    >>> get_surrogate("arctan")
    Arctan(alpha=2.0)
    >>> get_surrogate({"name": "gaussian", "sigma": 0.25})
    Gaussian(sigma=0.25)
    """
    return from_registry("surrogate", SURROGATES, spec, params, object_desc="a Surrogate",
                         is_object=lambda o: isinstance(o, Surrogate),
                         example=", e.g. {'name': 'fast_sigmoid', 'scale': 10.0}")

