"""Input noise that depends on the rates, as in mean-field theory: :class:`RateNoise`.

A population receiving Poisson spikes at rates ``r`` through jumps ``J`` sees an input whose
variance grows with the rates (Amit & Brunel 1997; Brunel 2000)::

    sigma_a(r)^2 = sum_b V_ab r_b + v_a                      [mV^2]
    shift_a(r)   = alpha/2 (sum_b Q_ab r_b + q_a) / sigma_a   [mV]

``V`` (``var_coupling``, mV^2 s) and ``v`` (``var_ext``, mV^2) give the variance; ``shift`` is the
Fourcaud-Brunel raise of threshold and reset for coloured noise, with ``Q``/``q`` the same
variances weighted by ``sqrt(tau_s/tau_m)`` of the channel they come through (for one synaptic
time constant, ``Q = V sqrt(tau_s/tau_m)`` and ``shift = sigma alpha/2 sqrt(tau_s/tau_m)``;
``Q = q = 0`` for white noise).  A model given ``noise=`` evaluates its transfer as
``g(z - shift(r), sigma(r))`` (:meth:`AbstractTransfer.derivatives_noise`), with ``z`` its mean
input, so the noise follows the rates instead of being frozen at one operating point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._validation import check_real_array
from .transfer import ALPHA


def _readonly(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, kw_only=True, eq=False)
class RateNoise:
    """Rate-dependent noise ``sigma(r)`` and Fourcaud-Brunel shift ``shift(r)`` (module docstring).

    Parameters
    ----------
    var_coupling : array_like, shape (n, n)
        ``V = d sigma^2 / d r`` [mV^2 s], >= 0.
    var_ext : array_like, shape (n,)
        Rate-independent variance ``v`` [mV^2], >= 0.
    shift_coupling : array_like, shape (n, n), optional
        ``Q`` [mV^2 s] (default 0: white noise, no shift).
    shift_ext : array_like, shape (n,), optional
        ``q`` [mV^2] (default 0).
    """
    var_coupling: npt.ArrayLike
    var_ext: npt.ArrayLike
    shift_coupling: npt.ArrayLike | None = None
    shift_ext: npt.ArrayLike | None = None

    def __post_init__(self):
        v = check_real_array("var_coupling", self.var_coupling, unit="mV^2 s")
        if v.ndim != 2 or v.shape[0] != v.shape[1]:
            raise ValueError(f"`var_coupling` must be a square (n, n) matrix [post, pre]; got shape {v.shape}.")
        n = v.shape[0]
        shapes = {"var_coupling": (n, n), "var_ext": (n,), "shift_coupling": (n, n), "shift_ext": (n,)}
        for name, shape in shapes.items():
            value = getattr(self, name)
            a = np.zeros(shape) if value is None else check_real_array(name, value)
            if a.shape != shape:
                raise ValueError(f"`{name}` must have shape {shape} to match `var_coupling`; got shape {a.shape}.")
            if name.startswith("var") and np.any(a < 0):
                raise ValueError(f"`{name}` must be >= 0 (a variance); got min {a.min():g}.")
            object.__setattr__(self, name, _readonly(a))

    @classmethod
    def coloured(cls, var_coupling: npt.ArrayLike, var_ext: npt.ArrayLike, *, tau_s: npt.ArrayLike,
                 tau_m: npt.ArrayLike) -> RateNoise:
        """Noise filtered by one synaptic time constant per population (``tau_s``, ``tau_m`` [s],
        scalars or (n,)): ``Q = V sqrt(tau_s/tau_m)``, ``q = v sqrt(tau_s/tau_m)``."""
        k = np.sqrt(check_real_array("tau_s", tau_s, unit="s", positive=True, allow_zero=True)
                    / check_real_array("tau_m", tau_m, unit="s", positive=True))
        v = np.asarray(var_coupling, dtype=float)
        k_rows = k[:, None] if k.ndim == 1 else k
        return cls(var_coupling=var_coupling, var_ext=var_ext, shift_coupling=v * k_rows,
                   shift_ext=np.asarray(var_ext, dtype=float) * k)

    @property
    def n(self) -> int:
        return self.var_coupling.shape[0]

    def evaluate(self, r: np.ndarray, *, jacobian: bool = False):
        """``(sigma, shift)`` [mV] at rates ``r`` (..., n); with ``jacobian=True`` also
        ``(dsigma/dr, dshift/dr)``, each (..., n, n) [mV s] (0 on rows where sigma = 0)."""
        var = np.maximum(self.var_ext + r @ self.var_coupling.T, 0.0)
        sigma = np.sqrt(var)
        p = self.shift_ext + r @ self.shift_coupling.T
        pos = sigma > 0
        safe = np.where(pos, sigma, 1.0)
        shift = np.where(pos, 0.5 * ALPHA * p / safe, 0.0)
        if not jacobian:
            return sigma, shift
        # d sigma_a / d r_b = V_ab / (2 sigma_a); d shift_a / d r_b = alpha/2 (Q_ab / sigma_a - p_a dsigma_ab / sigma_a^2)
        dsigma = np.where(pos[..., :, None], self.var_coupling / (2 * safe[..., :, None]), 0.0)
        dshift = np.where(pos[..., :, None], 0.5 * ALPHA * (self.shift_coupling / safe[..., :, None]
                                                            - (p / safe**2)[..., :, None] * dsigma), 0.0)
        return sigma, shift, dsigma, dshift

    def to_dict(self) -> dict:
        return {"name": "rate_noise", **{f: getattr(self, f).tolist() for f in
                                         ("var_coupling", "var_ext", "shift_coupling", "shift_ext")}}
