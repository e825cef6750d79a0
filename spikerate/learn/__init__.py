"""Training rate models along trajectories (the lecture's "trajectory representation").

* :func:`value_and_grad`: the loss of a model's discretised trajectory and its exact gradient
  for every trainable parameter (``w``, ``u``, ``b``, time constants, a linear ``readout``,
  the initial state ``r0``), by :class:`RTRL` (forward sensitivities), :class:`BPTT`
  (backward adjoint) or :class:`TruncatedBPTT`; written once against the models' step protocol,
  so it serves :class:`~spikerate.models.RateModel`, :class:`~spikerate.models.CurrentModel`
  and :class:`~spikerate.models.TwoVariableModel` alike.
* Fixed-point learning (:mod:`.fixed_point`): :class:`ImplicitDirect`, :class:`ImplicitAdjoint`
  and :class:`EquilibriumPropagation` as ``method=`` of the same functions, for losses of the
  model's equilibrium; :func:`energy` (Hopfield energy) and :func:`feedforward_model`.
* Spiking networks (:class:`SpikingModel`, the simulator's step on the same grid) trained with
  surrogate gradients (:mod:`.surrogates`): :class:`SurrogateRTRL`, :class:`SurrogateBPTT`
  (exact for the surrogate), :class:`EProp` and :class:`DiagonalRTRL` (approximations;
  :func:`gradient_agreement` compares them with the exact gradient).
* :func:`fit`: the training loop (epochs, online RTRL, early stopping, divergence check),
  returning the training Dataset; :func:`trained` and :func:`predict` use its result.
* Optimizers :class:`SGD` (momentum, Nesterov) and :class:`Adam`, with global-norm clipping.
* :mod:`spikerate.learn.tasks`: generated tasks (the lecture's sequence, sines, delayed
  response, flip-flop, integration).
"""

from . import surrogates, tasks
from .fixed_point import EquilibriumPropagation, ImplicitAdjoint, ImplicitDirect, energy, feedforward_model
from .gradients import (BPTT, RTRL, DiagonalRTRL, EProp, SurrogateBPTT, SurrogateRTRL, TruncatedBPTT,
                        gradient_agreement, value_and_grad)
from .spiking import SpikingModel
from .optim import SGD, Adam, Optimizer, clip_by_global_norm, get_optimizer, global_norm
from .train import fit, predict, trained

__all__ = ["Adam", "BPTT", "DiagonalRTRL", "EProp", "EquilibriumPropagation", "SpikingModel", "SurrogateBPTT",
           "SurrogateRTRL", "gradient_agreement", "surrogates", "ImplicitAdjoint", "ImplicitDirect", "Optimizer", "RTRL", "SGD",
           "TruncatedBPTT", "clip_by_global_norm", "energy", "feedforward_model", "fit", "get_optimizer",
           "global_norm", "predict", "tasks", "trained", "value_and_grad"]
