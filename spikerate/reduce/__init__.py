"""From spiking networks to population (rate) descriptions.

* :func:`population_inputs`: the diffusion (Amit-Brunel) mapping of a network to its
  populations: mean input ``mu(nu)`` and noise ``sigma(nu)`` as functions of the rates.
* :func:`meanfield_rates`: the self-consistent stationary rates ``nu = Phi(nu)`` (Siegert
  transfer with the Fourcaud-Brunel shift), with the stability of the linearised rate dynamics.

Units: Hz for rates, mV for ``mu``, ``sigma`` and potentials, s for times.
"""

from .meanfield import PopulationInputs, meanfield_rates, population_inputs

__all__ = ["PopulationInputs", "meanfield_rates", "population_inputs"]
