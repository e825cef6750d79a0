"""Rate-model ingredients: transfer functions (nonlinearities and LIF f-I curves).

* :func:`lif_rate`, :func:`lif_rate_derivatives`: noise-free LIF f-I curve and d/dmu.
* :func:`siegert`, :func:`siegert_derivatives`: white-noise (Siegert) rate, with the
  Fourcaud-Brunel coloured-noise shift for ``tau_s > 0``, and d/dmu, d/dsigma.
* :func:`measure_transfer`: f-I curves measured by simulation, with the theory alongside.
* Transfer objects ``g`` (``value(x)``, ``derivative(x)``): :class:`Linear`,
  :class:`ThresholdLinear`, :class:`Tanh`, :class:`Sigmoid`, :class:`Softplus`,
  :class:`LIFTransfer`, :class:`SiegertTransfer`; :func:`get_transfer` looks them up by name.

Units: mV for ``mu``, ``sigma``, potentials; s for times; Hz for rates.
"""

from .nonlinearities import TRANSFERS, Linear, Sigmoid, Softplus, Tanh, ThresholdLinear, get_transfer
from .transfer import (ALPHA, AbstractTransfer, LIFTransfer, SiegertTransfer, fb_shift, lif_rate,
                       lif_rate_derivatives, measure_transfer, siegert, siegert_derivatives)

__all__ = ["ALPHA", "TRANSFERS", "AbstractTransfer", "LIFTransfer", "Linear", "Sigmoid", "SiegertTransfer", "Softplus",
           "Tanh", "ThresholdLinear", "fb_shift", "get_transfer", "lif_rate", "lif_rate_derivatives",
           "measure_transfer", "siegert", "siegert_derivatives"]
