"""Brian2's CUBA example statistics: the reference the simulator must reproduce.

Source: benchmarks/peers/brian2_cuba.py (examples/CUBA.py transcribed, brian2 2.9.0,
cpp_standalone, N = 4000, p = 0.02, 1 s, seeds 1-5), statistics by
benchmarks/peers/cuba_stats.py (definitions repeated in :func:`cuba_statistics`), measured
2026-11-27 on this machine class.
"""

import numpy as np

from tests.reference.train_stats import train_statistics

#: per seed 1..5: (mean rate Hz, ISI CV, Fano factor of 100 ms counts)
BRIAN2_CUBA = np.array([
    [5.6158, 0.5152, 0.6469],
    [5.5295, 0.5284, 0.6509],
    [5.6212, 0.5231, 0.6490],
    [5.8158, 0.5238, 0.6407],
    [5.7172, 0.5299, 0.6524],
])


def cuba_statistics(i, t, n, t_stop=1.0, n_windows=10):
    """(mean rate, mean ISI CV over neurons with >= 3 spikes, mean Fano factor of the counts
    in n_windows equal windows over neurons that fired), from spikes in [0, t_stop)."""
    return train_statistics(i, t, n, t_start=0.0, t_stop=t_stop, window=t_stop / n_windows)
