"""compare_reductions: one call from a network to every reduction and its error."""

import numpy as np
import pytest

from spikerate.io import validate_dataset
from spikerate.reduce import compare_reductions, population_inputs, step_and_sine_drive, with_tau_s
from spikerate.reduce.compare import trace_errors
from spikerate.sim import cuba_network

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)


def test_with_tau_s_keeps_the_mean_input():
    net = cuba_network(n_neurons=400, p=0.1)
    for tau in (1e-3, 50e-3):
        slow = with_tau_s(net, tau)
        assert all(c.tau_s == tau for c in slow.channels)
        np.testing.assert_allclose(population_inputs(slow).mu_coupling, population_inputs(net).mu_coupling,
                                   rtol=1e-12)


def test_trace_errors_on_known_signals():
    dt = 1e-3
    t = np.arange(0, 1, dt)
    snn = np.sin(2 * np.pi * 3 * t)[:, None]
    rmse, r2, corr, lag = trace_errors(snn.copy(), snn, dt)
    assert rmse[0] == 0 and r2[0] == 1 and corr[0] == pytest.approx(1)
    late = np.sin(2 * np.pi * 3 * (t - 0.02))[:, None]  # the model lags by 20 ms
    assert trace_errors(late, snn, dt)[3][0] == pytest.approx(0.02)
    assert trace_errors(snn + 1.0, snn, dt)[0][0] == pytest.approx(1.0)


def test_compare_reductions_dataset():
    net = cuba_network(n_neurons=400, p=0.1)
    ds = compare_reductions(net, step_and_sine_drive, t_stop=0.3, tau_s=[2e-3, 10e-3], trials=2, seed=3)
    validate_dataset(ds)
    assert ds.rate.dims == ("tau_s", "model", "time", "population")
    assert list(ds.model.values) == ["rate", "current", "two_variable"]
    np.testing.assert_allclose(ds.tau_ratio.values[:, 0], [0.1, 0.5])
    assert np.all(np.isfinite(ds.rate.values)) and np.all(ds.rate.values >= 0)
    assert np.all(np.isfinite(ds.rmse.values)) and np.all(ds.rmse.values > 0)
    assert np.all(np.abs(ds.correlation.values) <= 1)
    # the drive is what the models received: the step shows in their rates
    on = (ds.time.values > 0.25) & (ds.time.values < 0.3)
    off = ds.time.values < 0.19
    assert np.all(ds.rate.values[:, :, on, 0].mean(axis=-1) > ds.rate.values[:, :, off, 0].mean(axis=-1))
    again = compare_reductions(net, step_and_sine_drive, t_stop=0.3, tau_s=[2e-3, 10e-3], trials=2, seed=3)
    np.testing.assert_array_equal(again.rate_snn.values, ds.rate_snn.values)


def test_bad_input():
    net = cuba_network(n_neurons=400, p=0.1)
    with pytest.raises(ValueError, match="`drive`"):
        compare_reductions(net, np.zeros((10, 3)), trials=1)
    with pytest.raises(ValueError, match="`t_stop`"):
        compare_reductions(net, step_and_sine_drive)
    with pytest.raises(ValueError, match="`kinds`.*Did you mean `rate`"):
        compare_reductions(net, np.zeros(100), kinds=("rat",))
    with pytest.raises(ValueError, match="`tau_s`"):
        compare_reductions(net, np.zeros(100), tau_s=[-1e-3])


def test_fit_option_adds_fitted_models_that_do_not_fit_worse():
    net = cuba_network(n_neurons=400, p=0.1)
    ds = compare_reductions(net, step_and_sine_drive, t_stop=0.25, tau_s=[5e-3], kinds=("rate",), g="siegert",
                            rate_dt=2e-3, trials=2, seed=2, t_warmup=0.05, fit=True)
    assert list(ds.model.values) == ["rate", "rate_fit"]
    derived, fitted = ds.rmse.values[0, 0], ds.rmse.values[0, 1]
    assert np.all(fitted <= derived + 1e-9)  # least squares from the derived model never does worse
    # the fitted parameters, next to the derived values the fit started from
    assert ds["param_tau"].dims == ("tau_s", "model", "population") and ds["param_tau"].attrs["units"] == "s"
    np.testing.assert_allclose(ds["param_tau"].values[0, 0], 20e-3)  # derived: the membrane time constant
    assert ds["param_w_scale"].values[0, 0] == 1.0 and ds["param_gain"].values[0, 0].tolist() == [1.0, 1.0]
    assert np.all(np.isfinite(ds["param_tau"].values[0, 1])) and np.all(ds["param_tau"].values[0, 1] > 0)
    validate_dataset(ds)
