"""Standard transfer functions ``g`` of rate models, each with its derivative.

========================  ===========================================  ==============================
class (registry names)    g(x)                                         g'(x)
========================  ===========================================  ==============================
``Linear`` (linear)       ``gain x``                                   ``gain``
``ThresholdLinear``       ``gain max(x - threshold, 0)^power``         ``gain power max(x - threshold, 0)^(power-1)``
(threshold_linear, relu)                                               (0 at and below threshold)
``Tanh`` (tanh)           ``tanh(gain x)``                             ``gain (1 - tanh^2(gain x))``
``Sigmoid`` (sigmoid)     ``1 / (1 + exp(-gain (x - threshold)))``     ``gain g (1 - g)``
``Softplus`` (softplus)   ``log(1 + exp(beta x)) / beta``              ``1 / (1 + exp(-beta x))``
``LIFTransfer`` (lif)     noise-free LIF f-I curve [Hz] of ``x = mu``  see :mod:`.transfer`
``SiegertTransfer``       Siegert rate [Hz] of ``x = mu`` at fixed     see :mod:`.transfer`
(siegert)                 ``sigma`` (``tau_s``: Fourcaud-Brunel)
========================  ===========================================  ==============================

All are frozen dataclasses (keyword-only parameters, validated on construction) with a
``name``, ``value(x)``, ``derivative(x)`` and ``value_and_derivative(x)``; ``x`` is array-like and
the results have its shape.  :func:`get_transfer` turns a name (with parameters), a dict from a
scenario file, or an object into a transfer; unknown names raise ``ValueError`` with the nearest
valid name.  The sigmoid and softplus are evaluated in overflow-free forms (``scipy.special.expit``,
``numpy.logaddexp``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import scipy.special

from .._validation import check_positive, check_real, from_registry
from .transfer import AbstractTransfer, LIFTransfer, SiegertTransfer, check_x


@dataclass(frozen=True, kw_only=True, slots=True)
class Linear(AbstractTransfer):
    """``g(x) = gain x``."""
    name: ClassVar[str] = "linear"
    gain: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "gain", check_real("gain", self.gain))

    def value(self, x: npt.ArrayLike) -> np.ndarray:
        return self.gain * check_x(x)

    def derivative(self, x: npt.ArrayLike) -> np.ndarray:
        return np.full_like(check_x(x), self.gain)


@dataclass(frozen=True, kw_only=True, slots=True)
class ThresholdLinear(AbstractTransfer):
    """``g(x) = gain max(x - threshold, 0)^power`` (relu for the defaults; ``power > 1`` is the
    supralinear power law of stabilised supralinear networks).  The derivative at the threshold
    is taken as 0 (for ``power = 1`` the one-sided limit from the left)."""
    name: ClassVar[str] = "threshold_linear"
    threshold: float = 0.0
    gain: float = 1.0
    power: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "threshold", check_real("threshold", self.threshold))
        object.__setattr__(self, "gain", check_real("gain", self.gain))
        p = check_real("power", self.power)
        if p < 1.0:
            raise ValueError(f"`power` must be >= 1 (the derivative is unbounded at the threshold below 1); "
                             f"got {p}.")
        object.__setattr__(self, "power", p)

    def value(self, x: npt.ArrayLike) -> np.ndarray:
        z = np.maximum(check_x(x) - self.threshold, 0.0)
        return self.gain * (z if self.power == 1.0 else z ** self.power)

    def derivative(self, x: npt.ArrayLike) -> np.ndarray:
        z = check_x(x) - self.threshold
        above = z > 0.0
        if self.power == 1.0:
            return np.where(above, self.gain, 0.0)
        return np.where(above, self.gain * self.power * np.maximum(z, 0.0) ** (self.power - 1.0), 0.0)


@dataclass(frozen=True, kw_only=True, slots=True)
class Tanh(AbstractTransfer):
    """``g(x) = tanh(gain x)``."""
    name: ClassVar[str] = "tanh"
    gain: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "gain", check_real("gain", self.gain))

    def value(self, x: npt.ArrayLike) -> np.ndarray:
        return np.tanh(self.gain * check_x(x))

    def derivative(self, x: npt.ArrayLike) -> np.ndarray:
        t = np.tanh(self.gain * check_x(x))
        return self.gain * (1.0 - t * t)


@dataclass(frozen=True, kw_only=True, slots=True)
class Sigmoid(AbstractTransfer):
    """``g(x) = 1 / (1 + exp(-gain (x - threshold)))`` (logistic, values in (0, 1))."""
    name: ClassVar[str] = "sigmoid"
    gain: float = 1.0
    threshold: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "gain", check_real("gain", self.gain))
        object.__setattr__(self, "threshold", check_real("threshold", self.threshold))

    def value(self, x: npt.ArrayLike) -> np.ndarray:
        return scipy.special.expit(self.gain * (check_x(x) - self.threshold))

    def derivative(self, x: npt.ArrayLike) -> np.ndarray:
        z = self.gain * (check_x(x) - self.threshold)
        # g (1 - g) = expit(z) expit(-z): no cancellation in 1 - g for large z
        return self.gain * scipy.special.expit(z) * scipy.special.expit(-z)


@dataclass(frozen=True, kw_only=True, slots=True)
class Softplus(AbstractTransfer):
    """``g(x) = log(1 + exp(beta x)) / beta``, a smooth relu (sharper for larger ``beta``)."""
    name: ClassVar[str] = "softplus"
    beta: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "beta", check_positive("beta", self.beta))

    def value(self, x: npt.ArrayLike) -> np.ndarray:
        return np.logaddexp(0.0, self.beta * check_x(x)) / self.beta

    def derivative(self, x: npt.ArrayLike) -> np.ndarray:
        return scipy.special.expit(self.beta * check_x(x))


#: name -> class; "relu" is ThresholdLinear with its defaults
TRANSFERS: dict[str, type[AbstractTransfer]] = {
    "linear": Linear, "relu": ThresholdLinear, "threshold_linear": ThresholdLinear, "tanh": Tanh,
    "sigmoid": Sigmoid, "softplus": Softplus, "lif": LIFTransfer, "siegert": SiegertTransfer,
}


def get_transfer(spec: str | dict | AbstractTransfer, /, **params) -> AbstractTransfer:
    """A transfer function from a name, a dict or an object.

    Parameters
    ----------
    spec : str, dict or transfer object
        A registry name (``"linear"``, ``"relu"``, ``"threshold_linear"``, ``"tanh"``,
        ``"sigmoid"``, ``"softplus"``, ``"lif"``, ``"siegert"``); a dict ``{"name": ..., <params>}``
        as in a scenario file (the output of ``to_dict()``); or an object with callable ``value``
        and ``derivative``, returned unchanged.
    **params
        Parameters of the named transfer, e.g. ``get_transfer("sigmoid", gain=2.0)``; unknown
        ones raise ``ValueError`` naming the nearest valid parameter.

    Returns
    -------
    AbstractTransfer
        A transfer with ``value(x)`` and ``derivative(x)``.

    Raises
    ------
    ValueError
        Unknown name (with a suggestion) or parameter, or invalid parameter values.
    TypeError
        ``spec`` of another type, or parameters given with an object.

    Examples
    --------
    >>> get_transfer("relu").value([-1.0, 2.0]).tolist()
    [0.0, 2.0]
    >>> get_transfer({"name": "softplus", "beta": 2.0})
    Softplus(beta=2.0)
    """
    return from_registry("transfer", TRANSFERS, spec, params, object_desc="an object with `value` and `derivative`",
                         is_object=lambda o: callable(getattr(o, "value", None)) and callable(getattr(o, "derivative", None)))

