"""The brunel scenario reproduces NEST's statistics within the seed-to-seed spread."""

import numpy as np
import pytest

from spikerate.sim import brunel_network, simulate
from tests.reference.brunel_nest import NEST_BRUNEL
from tests.reference.train_stats import train_statistics


@pytest.mark.slow  # 5 runs of 12500 neurons for 1 s: about 25 s
def test_brunel_statistics_match_nest():
    net = brunel_network()
    ours = []
    for seed in range(1, 6):
        ds = simulate(net, t_stop=1.0, seed=seed)
        ours.append(train_statistics(ds.spike_neuron.values, ds.spike_time.values, 12500,
                                     t_start=0.2, t_stop=1.0, window=0.05))
    ours = np.array(ours)
    # Welch-type comparison of two 5-seed samples: within 4 standard errors of the difference
    se = np.sqrt(ours.var(axis=0, ddof=1) / 5 + NEST_BRUNEL.var(axis=0, ddof=1) / 5)
    diff = np.abs(ours.mean(axis=0) - NEST_BRUNEL.mean(axis=0))
    assert np.all(diff < 4 * se), dict(ours=ours.mean(axis=0), nest=NEST_BRUNEL.mean(axis=0), se=se)
