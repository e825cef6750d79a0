"""optimal_bandwidth: costs against brute force, sensible optima on an inhomogeneous Poisson process."""

import math

import numpy as np
import pytest

from spikerate.estimators import estimate_rate, optimal_bandwidth
from spikerate.estimators.bandwidth import bin_cost, kernel_cost
from spikerate.io import validate_dataset
from tests.reference import naive_rates as naive

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

DUR = 4.0


def rate_fn(t):
    return 20.0 + 15.0 * np.sin(2 * np.pi * 1.0 * t)


def inhomogeneous_poisson(rng, n_trials, dt=None):
    """Thinning of a 35 Hz Poisson process; trial ids; optionally on a dt grid."""
    n = rng.poisson(35.0 * DUR * n_trials)
    t = rng.uniform(0, DUR, n)
    keep = rng.uniform(0, 35.0, n) < rate_fn(t)
    t, k = t[keep], rng.integers(0, n_trials, keep.sum())
    if dt is not None:
        t = np.round(t / dt) * dt
    return t, k


@pytest.mark.parametrize("n_shifts", [1, 5])
def test_bin_cost_equals_brute_force_histograms(n_shifts):
    rng = np.random.default_rng(0)
    t, _ = inhomogeneous_poisson(rng, 3)
    widths = DUR / np.arange(2, 60)
    got = bin_cost(t, widths, duration=DUR, n_seq=3, n_shifts=n_shifts)
    ref = naive.bin_cost(t, widths, DUR, 3, n_shifts)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_kernel_cost_equals_brute_force_pair_sum():
    rng = np.random.default_rng(1)
    dt = 1e-3
    t, _ = inhomogeneous_poisson(rng, 2, dt=dt)
    widths = np.geomspace(0.005, 1.0, 25)
    got = kernel_cost(t, widths, duration=DUR, n_seq=2, resolution=dt)
    ref = naive.kernel_cost_pairs(t, widths, 2)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())


def test_bin_width_optimum_is_the_cost_minimum_and_sensible():
    rng = np.random.default_rng(2)
    n_tr = 20
    t, k = inhomogeneous_poisson(rng, n_tr)
    res = optimal_bandwidth((t, np.zeros(t.size, int), k), duration=DUR, method="bin")
    validate_dataset(res)
    widths = res.candidate.values
    brute = naive.bin_cost(t, widths, DUR, n_tr)
    assert res.bandwidth.item() == widths[np.argmin(brute)]
    # the expected L2 error of the PSTH with known rate: integrated bias^2 + variance
    fine = np.linspace(0, DUR, 40001)
    lam = rate_fn(fine)

    def mise(d):
        nb = int(round(DUR / d))
        idx = np.minimum((fine / d).astype(int), nb - 1)
        means = np.bincount(idx, lam, nb) / np.bincount(idx, None, nb)
        return np.trapezoid((lam - means[idx]) ** 2, fine) + np.sum(means) / n_tr
    true = np.array([mise(d) for d in widths])
    chosen = mise(res.bandwidth.item())
    assert chosen < 1.5 * true.min()  # close to the true optimum (one realisation)


def test_kernel_bandwidth_gives_near_minimal_error():
    rng = np.random.default_rng(3)
    n_tr, dt = 10, 1e-3
    t, k = inhomogeneous_poisson(rng, n_tr, dt=dt)
    spikes = (t, np.zeros(t.size, int), k)
    res = optimal_bandwidth(spikes, duration=DUR, method="kernel", resolution=dt)
    w_opt = res.bandwidth.item()
    assert res.cost.values.argmin() == list(res.candidate.values).index(w_opt)

    def ise(w):
        r = estimate_rate(spikes, duration=DUR, sigma=w, dt=dt, trials="mean", ci=None)
        return np.trapezoid((r.rate.values[:, 0] - rate_fn(r.time.values)) ** 2, dx=dt)
    grid = np.geomspace(0.01, 1.0, 15)
    errors = np.array([ise(w) for w in grid])
    assert ise(w_opt) < 1.5 * errors.min()
    assert 0.03 < w_opt < 0.5


def test_per_neuron_bandwidths_and_empty_neurons():
    rng = np.random.default_rng(4)
    t, k = inhomogeneous_poisson(rng, 4)
    ids = np.where(rng.uniform(size=t.size) < 0.5, 0, 1)
    for method in ("bin", "kernel"):
        res = optimal_bandwidth((t, ids, k), duration=DUR, n_neurons=3, method=method, per="neuron",
                                resolution=1e-3)
        validate_dataset(res)
        assert res.bandwidth.dims == ("neuron",) and res.cost.dims == ("neuron", "candidate")
        assert np.all(res.bandwidth.values[:2] > 0) and np.isnan(res.bandwidth.values[2])
        single = optimal_bandwidth(t[ids == 1], duration=DUR, method=method, candidates=res.candidate.values,
                                   resolution=1e-3)
        np.testing.assert_allclose(single.cost.values, res.cost.values[1] * 4**2, rtol=1e-9)


def test_adaptive_bandwidth_follows_the_rate():
    rng = np.random.default_rng(5)
    # a slow background with a sharp 100 ms burst: the adaptive width shrinks at the burst
    t = np.concatenate([rng.uniform(0, DUR, 400), rng.uniform(2.0, 2.1, 300)])
    res = optimal_bandwidth(t, duration=DUR, method="adaptive", resolution=1e-3)
    validate_dataset(res)
    w = res.bandwidth
    assert w.dims == ("time",) and np.all(w.values > 0)
    assert float(w.sel(time=2.05, method="nearest")) < 0.5 * float(w.sel(time=0.5, method="nearest"))
    assert np.trapezoid(res.rate.values, res.time.values) == pytest.approx(t.size, rel=0.05)


def test_bad_arguments():
    t = np.array([0.1, 0.5])
    with pytest.raises(ValueError, match="Did you mean `kernel`"):
        optimal_bandwidth(t, duration=1.0, method="kernal")
    with pytest.raises(ValueError, match="`candidates`"):
        optimal_bandwidth(t, duration=1.0, candidates=[0.1, -0.2])
    with pytest.raises(ValueError, match="`per`"):
        optimal_bandwidth(t, duration=1.0, method="adaptive", per="neuron")
    with pytest.raises(ValueError, match="`n_shifts`"):
        optimal_bandwidth(t, duration=1.0, method="bin", n_shifts=0)
    assert math.isfinite(optimal_bandwidth(t, duration=1.0).bandwidth.item())
