"""NEST's statistics for the brunel scenario: the reference the simulator must reproduce.

Source: benchmarks/peers/nest_brunel.py (NEST 3.10 iaf_psc_delta, Brunel 2000 model A, g = 5,
eta = 2, N = 12500, fixed in-degree without autapses or multapses, delay 1.5 ms, dt 0.1 ms,
1 s, seeds 1-5), statistics over [0.2, 1.0) s with 50 ms Fano windows
(benchmarks/peers/brunel_stats.py, definitions in tests/reference/train_stats.py), measured
2026-11-27 on this machine class.
"""

import numpy as np

#: per seed 1..5: (mean rate Hz, ISI CV, Fano factor of 50 ms counts)
NEST_BRUNEL = np.array([
    [38.0578, 0.3968, 0.2299],
    [38.0053, 0.3997, 0.2363],
    [38.6153, 0.3963, 0.2331],
    [37.8548, 0.3979, 0.2398],
    [38.0321, 0.3964, 0.2378],
])
