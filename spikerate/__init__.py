"""spikerate: from spiking LIF networks to the rate models that explain them and the
gradients that train them, on a CPU.

Units everywhere: time in s, rates in Hz, potentials and input currents in mV.
"""

__version__ = "0.1.0"

from . import io, sim  # noqa: E402
from .io import load, save  # noqa: E402
from .sim import simulate  # noqa: E402

__all__ = ["__version__", "io", "load", "save", "sim", "simulate"]
