"""spikerate: from spiking LIF networks to the rate models that explain them and the
gradients that train them, on a CPU.

Units everywhere: time in s, rates in Hz, potentials and input currents in mV.
"""

__version__ = "0.1.0"

from . import estimators, io, models, sim  # noqa: E402
from .estimators import estimate_rate, optimal_bandwidth, spike_statistics  # noqa: E402
from .io import load, save  # noqa: E402
from .models import lif_rate, measure_transfer, siegert  # noqa: E402
from .sim import simulate  # noqa: E402

__all__ = ["__version__", "estimate_rate", "estimators", "io", "lif_rate", "load", "measure_transfer", "models",
           "optimal_bandwidth", "save", "siegert", "sim", "simulate", "spike_statistics"]
