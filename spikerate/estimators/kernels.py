"""Smoothing kernels for rate estimation, each of unit area and parameterised by its standard
deviation ``sigma`` [s] (as Elephant's ``elephant.kernels``).

============  =============================================  ===========================  =======
name          k(x), x = t - t_s                              parameters from sigma        support
============  =============================================  ===========================  =======
rectangular   1 / (2 a)                                      a = sqrt(3) sigma            |x| <= a
triangular    (a - |x|) / a^2                                a = sqrt(6) sigma            |x| <= a
epanechnikov  3 / (4 a) (1 - x^2 / a^2)                      a = sqrt(5) sigma            |x| <= a
gaussian      exp(-x^2 / (2 sigma^2)) / (sqrt(2 pi) sigma)                                |x| <= c sigma
laplacian     exp(-|x| / tau) / (2 tau)                      tau = sigma / sqrt(2)        |x| <= c sigma
exponential   exp(-x / tau) / tau  (causal)                  tau = sigma                  0 <= x <= c sigma
alpha         x / tau^2 exp(-x / tau)  (causal)              tau = sigma / sqrt(2)        0 <= x <= c sigma
============  =============================================  ===========================  =======

Unbounded kernels are cut at ``cutoff`` standard deviations (``c`` above); the defaults
(:data:`DEFAULT_CUTOFF`) leave a tail below 1e-15 of the mass, so truncation is below
round-off for every practical purpose.  ``cutoff=5`` reproduces Elephant's default.  The
causal exponential kernel with ``sigma = tau`` is the synaptic filter ``tau dr/dt = -r + rho``:
``r(t) = sum_s exp(-(t - t_s) / tau) / tau`` for ``t >= t_s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._validation import check_positive, suggest

__all__ = ["DEFAULT_CUTOFF", "KERNELS", "Kernel", "get_kernel", "kernel_pdf"]


@dataclass(frozen=True, slots=True)
class Kernel:
    """A smoothing kernel: its kernel code, support in units of sigma and whether it is causal."""
    name: str
    code: int
    causal: bool
    bounded: bool
    half_width: float  #: support half-width in units of sigma (bounded kernels), else nan
    description: str

    def support(self, cutoff: float | None = None) -> tuple[float, float]:
        """Support ``(lo, hi)`` in units of sigma (``cutoff`` applies to unbounded kernels)."""
        if self.bounded:
            return -self.half_width, self.half_width
        c = DEFAULT_CUTOFF[self.name] if cutoff is None else cutoff
        return (0.0 if self.causal else -c), c


#: default cutoff of the unbounded kernels, in standard deviations (truncated tail < 1e-15)
DEFAULT_CUTOFF = {"gaussian": 8.5, "laplacian": 26.0, "exponential": 36.0, "alpha": 28.0}

KERNELS: dict[str, Kernel] = {k.name: k for k in (
    Kernel("rectangular", 0, False, True, math.sqrt(3.0), "boxcar of width 2 sqrt(3) sigma"),
    Kernel("triangular", 1, False, True, math.sqrt(6.0), "triangle of half-width sqrt(6) sigma"),
    Kernel("epanechnikov", 2, False, True, math.sqrt(5.0), "parabola of half-width sqrt(5) sigma"),
    Kernel("gaussian", 3, False, False, math.nan, "normal density with standard deviation sigma"),
    Kernel("laplacian", 4, False, False, math.nan, "two-sided exponential, tau = sigma / sqrt(2)"),
    Kernel("exponential", 5, True, False, math.nan, "causal exponential, tau = sigma (synaptic filter)"),
    Kernel("alpha", 6, True, False, math.nan, "causal alpha function x exp(-x / tau) / tau^2, tau = sigma / sqrt(2)"),
)}


def get_kernel(name: str) -> Kernel:
    """The :class:`Kernel` called ``name``; unknown names raise ValueError with a suggestion."""
    if not isinstance(name, str):
        raise TypeError(f"`kernel` must be a kernel name (str); got {name!r} ({type(name).__name__}). "
                        f"Valid: {', '.join(KERNELS)}.")
    if name not in KERNELS:
        raise ValueError(f"`kernel` must be one of {list(KERNELS)}; got {name!r}." + suggest(name, KERNELS))
    return KERNELS[name]


def check_cutoff(kernel: Kernel, cutoff) -> float | None:
    if cutoff is None:
        return None
    c = check_positive("cutoff", cutoff, unit="standard deviations")
    if c < 5.0 and not kernel.bounded:
        raise ValueError(f"`cutoff` must be >= 5 standard deviations; got {c}. "
                         f"(Elephant uses 5; the default {DEFAULT_CUTOFF[kernel.name]} leaves < 1e-15 of the mass.)")
    return c


def kernel_pdf(kernel: str, x: npt.ArrayLike, *, sigma: float, cutoff: float | None = None) -> np.ndarray:
    """Kernel density [1/s] at lags ``x = t - t_s`` [s] (0 outside the support).

    Parameters
    ----------
    kernel : str
        One of :data:`KERNELS`.
    x : array_like
        Lags [s].
    sigma : float
        Standard deviation of the kernel [s].
    cutoff : float, optional
        Truncation of unbounded kernels in standard deviations (default :data:`DEFAULT_CUTOFF`).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1, 1, 200001)
    >>> round(float(np.trapezoid(kernel_pdf("epanechnikov", x, sigma=0.1), x)), 6)
    1.0
    """
    from ._kernels import _pdf_array
    k = get_kernel(kernel)
    sigma = check_positive("sigma", sigma, unit="s")
    lo, hi = k.support(check_cutoff(k, cutoff))
    u = np.ascontiguousarray(np.asarray(x, dtype=float) / sigma)
    out = np.empty(u.size)
    _pdf_array(k.code, u.ravel(), lo, hi, out)
    return out.reshape(u.shape) / sigma
