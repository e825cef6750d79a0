"""CUBA at N = 4000 reproduces Brian2's example statistics within the seed-to-seed spread."""

import numpy as np
import pytest

from spikerate.sim import cuba_network, simulate
from tests.reference.cuba_brian2 import BRIAN2_CUBA, cuba_statistics


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cuba_statistics_match_brian2(dtype):
    net = cuba_network()
    dt = 1e-4
    ours = []
    for seed in range(1, 6):
        ds = simulate(net, t_stop=1.0, dt=dt, seed=seed, dtype=dtype)
        # Brian2 stamps a spike with the start of the step that detected it; we stamp its end
        ours.append(cuba_statistics(ds.spike_neuron.values, ds.spike_time.values - dt, 4000))
    ours = np.array(ours)
    # Welch-type comparison of two 5-seed samples: the means may differ by at most
    # 4 standard errors of their difference
    se = np.sqrt(ours.var(axis=0, ddof=1) / 5 + BRIAN2_CUBA.var(axis=0, ddof=1) / 5)
    diff = np.abs(ours.mean(axis=0) - BRIAN2_CUBA.mean(axis=0))
    assert np.all(diff < 4 * se), dict(ours=ours.mean(axis=0), brian2=BRIAN2_CUBA.mean(axis=0), se=se)
