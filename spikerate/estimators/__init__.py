"""Spike trains -> firing rates, bandwidth selection and spike-train statistics.

* :func:`estimate_rate`: kernel estimates from the exact spike times (seven kernels of unit
  area parameterised by their standard deviation, border-corrected) and histograms (PSTH),
  per neuron, per population or pooled, per trial or trial-averaged with a bootstrap band.
* :func:`optimal_bandwidth`: Shimazaki-Shinomoto bin width (2007), fixed kernel bandwidth and
  locally adaptive bandwidth (2010).
* :func:`spike_statistics`: ISI mean, CV, CV2, LV, Fano factor and count correlations.

Every function takes a spikes Dataset (from :func:`spikerate.simulate`) or plain arrays
``(times, neuron_ids[, trial_ids])`` with ``duration=``, and returns an ``xarray.Dataset``.
"""

from .bandwidth import optimal_bandwidth
from .kernels import KERNELS, kernel_pdf
from .rates import estimate_rate
from .statistics import spike_statistics

__all__ = ["KERNELS", "estimate_rate", "kernel_pdf", "optimal_bandwidth", "spike_statistics"]
