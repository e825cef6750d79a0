"""LIF network simulation: parameters, connectivity, inputs and :func:`simulate`.

Build a :class:`Network` from :class:`Population` s of LIF neurons (:class:`LIFParams`),
synaptic :class:`Channel` s (exponential currents, or delta synapses with ``tau_s = 0``),
:class:`Projection` s with a connectivity rule, and inputs; :func:`simulate` returns the spikes
Dataset.  :func:`cuba_network` and :func:`brunel_network` build the two classic benchmarks.
"""

from .connectivity import AllToAll, FixedInDegree, FixedProbability, FromMatrix, Projection
from .distributions import LogNormal, Normal, Uniform
from .inputs import Current, Noise, PoissonInput, TimedCurrent
from .network import Network
from .networks import brunel_network, cuba_network
from .params import Channel, LIFParams, Population
from .simulation import connectivity, estimate_memory, simulate

__all__ = ["AllToAll", "Channel", "Current", "FixedInDegree", "FixedProbability", "FromMatrix", "LIFParams",
           "LogNormal", "Network", "Noise", "Normal", "PoissonInput", "Population", "Projection",
           "TimedCurrent", "Uniform", "brunel_network", "connectivity", "cuba_network", "estimate_memory", "simulate"]
