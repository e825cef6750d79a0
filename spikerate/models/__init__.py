"""Rate-model ingredients: transfer functions (nonlinearities and LIF f-I curves).

* :func:`lif_rate`, :func:`lif_rate_derivatives`: noise-free LIF f-I curve and d/dmu.
* :func:`siegert`, :func:`siegert_derivatives`: white-noise (Siegert) rate, with the
  Fourcaud-Brunel coloured-noise shift for ``tau_s > 0``, and d/dmu, d/dsigma.
* :func:`measure_transfer`: f-I curves measured by simulation, with the theory alongside.
* Transfer objects ``g`` (``value(x)``, ``derivative(x)``): :class:`Linear`,
  :class:`ThresholdLinear`, :class:`Tanh`, :class:`Sigmoid`, :class:`Softplus`,
  :class:`LIFTransfer`, :class:`SiegertTransfer`; :func:`get_transfer` looks them up by name.
* Rate models (:mod:`.rate`): :class:`RateModel` (``tau dr/dt = -r + g(W r + U x + b)``),
  :class:`CurrentModel` (``tau dI/dt = -I + W g(I) + U x + b``), :class:`TwoVariableModel`
  (both), with their parameters :class:`RateParams`, :class:`TwoVariableParams` and the step
  protocol (``F``, ``jacobian_state``, ``jacobian_params``, ``step``, ``step_jacobians``).
* :class:`RateNoise`: input noise ``sigma(r)`` and Fourcaud-Brunel shift that follow the rates
  (mean-field theory), for the rate and two-variable models' ``noise=``.
* :func:`integrate` (trajectories) and :func:`find_fixed_point` (Newton + relaxation), in
  :mod:`.dynamics`.

Units: mV for ``mu``, ``sigma``, potentials; s for times; Hz for rates.
"""

from .nonlinearities import TRANSFERS, Linear, Sigmoid, Softplus, Tanh, ThresholdLinear, get_transfer
from .dynamics import find_fixed_point, integrate
from .noise import RateNoise
from .rate import (AbstractRateModel, CurrentModel, RateModel, RateParams, TwoVariableModel,
                   TwoVariableParams)
from .transfer import (ALPHA, AbstractTransfer, LIFTransfer, SiegertTransfer, fb_shift, lif_rate,
                       lif_rate_derivatives, measure_transfer, siegert, siegert_derivatives)

__all__ = ["ALPHA", "AbstractRateModel", "AbstractTransfer", "CurrentModel", "LIFTransfer", "Linear",
           "RateModel", "RateNoise", "RateParams", "SiegertTransfer", "Sigmoid", "Softplus", "TRANSFERS", "Tanh",
           "ThresholdLinear", "TwoVariableModel", "TwoVariableParams", "fb_shift", "find_fixed_point",
           "get_transfer", "integrate", "lif_rate", "lif_rate_derivatives", "measure_transfer", "siegert",
           "siegert_derivatives"]
