"""From spiking networks to population (rate) descriptions.

* :func:`population_inputs`: the diffusion (Amit-Brunel) mapping of a network to its
  populations: mean input ``mu(nu)`` and noise ``sigma(nu)`` as functions of the rates.
* :func:`meanfield_rates`: the self-consistent stationary rates ``nu = Phi(nu)`` (Siegert
  transfer with the Fourcaud-Brunel shift), with the stability of the linearised rate dynamics.
* :func:`reduce`: the population rate model (``rate``, ``current`` or ``two_variable``) of a
  network, whose fixed point is the mean-field rates.

Units: Hz for rates, mV for ``mu``, ``sigma`` and potentials, s for times.
"""

from .meanfield import PopulationInputs, meanfield_rates, population_inputs
from .compare import compare_reductions, step_and_sine_drive, with_tau_s
from .fit import fit_reduction
from .models import PopulationTransfer, measured_transfer, reduce, synaptic_time_constants

__all__ = ["PopulationInputs", "PopulationTransfer", "compare_reductions", "fit_reduction", "meanfield_rates",
           "measured_transfer", "population_inputs", "reduce", "step_and_sine_drive", "synaptic_time_constants", "with_tau_s"]
