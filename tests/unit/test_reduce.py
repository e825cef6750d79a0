"""reduce(): the population rate models of a network."""

import dataclasses

import numpy as np
import pytest

from spikerate.models import CurrentModel, RateModel, TwoVariableModel, find_fixed_point, integrate, measure_transfer
from spikerate.models.transfer import TabulatedTransfer
from spikerate.reduce import meanfield_rates, population_inputs, reduce, synaptic_time_constants
from spikerate.sim import brunel_network, cuba_network

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)


@pytest.mark.parametrize("kind,cls", [("rate", RateModel), ("current", CurrentModel),
                                      ("two_variable", TwoVariableModel)])
def test_fixed_point_is_the_mean_field(kind, cls):
    """Every reduction has the mean-field rates as its fixed point (noise following the rates or frozen)."""
    net = cuba_network()
    model = reduce(net, kind)
    assert isinstance(model, cls)
    fp = find_fixed_point(model, np.zeros(2))
    np.testing.assert_allclose(fp.r.values, meanfield_rates(net).rate.values, rtol=1e-8)


def test_couplings_and_drive_come_from_the_mapping():
    net = cuba_network()
    inputs = population_inputs(net)
    model = reduce(inputs, "two_variable")
    np.testing.assert_array_equal(model.params.w, inputs.mu_coupling)
    np.testing.assert_array_equal(model.params.b, inputs.mu_ext)
    np.testing.assert_array_equal(model.params.u, np.eye(2))
    # tau_s weighted by the channels' share of the mean input: E inputs (5 ms) and I inputs (10 ms)
    tau_s = synaptic_time_constants(inputs)
    k_e, k_i = 0.02 * 3200, 0.02 * 800
    share_e, share_i = k_e * 1.62 * 5e-3, k_i * 9.0 * 10e-3
    np.testing.assert_allclose(tau_s, (share_e * 5e-3 + share_i * 10e-3) / (share_e + share_i), rtol=1e-12)
    np.testing.assert_allclose(model.params.tau_s, tau_s)
    np.testing.assert_allclose(model.params.tau_m, 20e-3)


def test_constant_drive_moves_the_rate_model_along_its_transfer():
    """With x = c the rate model's steady state solves r = g(W r + b + c)."""
    model = reduce(cuba_network(), "rate", g="lif")
    x = np.array([1.0, -1.0])
    traj = integrate(model, x, dt=1e-4, t_stop=0.3)
    r = traj.r.values[-1]
    z = model.params.w @ r + model.params.b + x
    np.testing.assert_allclose(r, model.g.value(z), rtol=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="`kind`.*Did you mean `current`"):
        reduce(cuba_network(), "curent")
    with pytest.raises(ValueError, match="`g`"):
        reduce(cuba_network(), "rate", g="sigmoid")
    with pytest.raises(ValueError, match="delta synapses"):
        reduce(brunel_network(n_neurons=1000), "current")
    with pytest.raises(TypeError, match="`network`"):
        reduce("cuba")
    with pytest.raises(ValueError, match="`noise`.*Did you mean `rates`"):
        reduce(cuba_network(), "rate", noise="rate")
    with pytest.raises(ValueError, match="`noise` applies to g='siegert' only"):
        reduce(cuba_network(), "rate", g="lif", noise="frozen")
    with pytest.raises(ValueError, match="`noise`='rates' is not available for kind='current'"):
        reduce(cuba_network(), "current", noise="rates")


def test_default_noise_follows_the_rates_where_the_model_allows():
    net = cuba_network()
    assert reduce(net, "rate").noise is not None
    assert reduce(net, "two_variable").noise is not None
    assert reduce(net, "current").noise is None
    assert reduce(net, "rate", noise="frozen").noise is None
    assert reduce(net, "rate", g="lif").noise is None


@pytest.mark.parametrize("kind", ["rate", "two_variable"])
def test_noise_following_the_rates_gives_the_self_consistent_response(kind):
    """Under an extra mean input x the reduced model's fixed point is the mean-field solution of
    the network with that input added (computed independently by meanfield_rates); the frozen
    noise gives a smaller response, since it misses the extra variance of the higher rates."""
    inputs = population_inputs(cuba_network())
    x = np.array([5.0, 5.0])
    expected = meanfield_rates(dataclasses.replace(inputs, mu_ext=inputs.mu_ext + x)).rate.values
    got = find_fixed_point(reduce(inputs, kind, noise="rates"), x).r.values
    np.testing.assert_allclose(got, expected, rtol=1e-8)
    base = meanfield_rates(inputs).rate.values
    frozen = find_fixed_point(reduce(inputs, kind, noise="frozen"), x).r.values
    assert np.all(frozen - base < 0.9 * (expected - base))


def test_measured_transfer_is_the_simulated_f_i_curve_at_the_mean_field_noise():
    """g="measured": each population's table is measure_transfer's rate at the mean-field sigma and
    the population's tau_s (checked by an independent call with the same seed)."""
    inputs = population_inputs(cuba_network())
    opts = {"n_points": 6, "n_neurons": 40, "t_stop": 0.3, "t_warmup": 0.1, "seed": 5}
    model = reduce(inputs, "rate", "measured", measure=opts)
    assert isinstance(model.g, TabulatedTransfer) and model.noise is None
    mf = meanfield_rates(inputs)
    tau_s = synaptic_time_constants(inputs)
    a = 1
    sigma, mu = float(mf.sigma.values[a]), float(mf.mu.values[a])
    grid = np.linspace(mu - 4 * sigma - 5, mu + 4 * sigma + 10, 6)
    ref = measure_transfer(grid, sigma, tau_s=float(tau_s[a]), tau_m=0.02, t_ref=5e-3, v_th=-50.0, v_reset=-60.0,
                           n_neurons=40, t_stop=0.3, t_warmup=0.1, seed=5 + a)
    np.testing.assert_allclose(model.g.x[a], grid)
    np.testing.assert_array_equal(model.g.y[a], ref.rate.values[:, 0, 0])
    # the same table serves the other kinds without measuring again
    two = reduce(inputs, "two_variable", model.g)
    assert two.g is model.g
    fp = find_fixed_point(two, np.zeros(2))
    np.testing.assert_allclose(fp.r.values, model.g.value(model.w @ fp.r.values + model.b), rtol=1e-9)


def test_measured_bad_input():
    with pytest.raises(ValueError, match="`measure` has an unknown key 'n_neuron'.*Did you mean `n_neurons`"):
        reduce(cuba_network(), "rate", "measured", measure={"n_neuron": 10})
    with pytest.raises(ValueError, match="`measure` applies to g='measured' only"):
        reduce(cuba_network(), "rate", "siegert", measure={"n_neurons": 10})
    with pytest.raises(ValueError, match="`noise` applies to g='siegert' only"):
        reduce(cuba_network(), "rate", "measured", noise="frozen")


def test_tabulated_transfer():
    x = np.linspace(-1.0, 4.0, 11)
    y = np.array([np.exp(x), 2 * x + 3])
    g = TabulatedTransfer(x=x, y=y)
    np.testing.assert_allclose(g.value(np.stack([x, x], axis=1)), y.T, rtol=1e-14)  # through the nodes
    z = np.array([1.234, 0.5])
    h = 1e-6
    fd = (g.value(z + h) - g.value(z - h)) / (2 * h)
    np.testing.assert_allclose(g.derivative(z), fd, rtol=1e-7)
    np.testing.assert_allclose(g.value(np.array([4.0, 4.0]) + [1.0, 1.0])[1], 13.0)  # linear continuation
    assert g.value(np.array([-1.0, -10.0]))[1] == 0.0  # clipped at 0 below
    with pytest.raises(ValueError, match="`x` must be strictly increasing"):
        TabulatedTransfer(x=x[::-1], y=y)
    with pytest.raises(ValueError, match="`x` must have shape"):
        TabulatedTransfer(x=x[:5], y=y)
    with pytest.raises(ValueError, match="`x` must have a last axis of length n = 2"):
        g.value(np.zeros(3))


@pytest.mark.parametrize("kind,noise", [("rate", "rates"), ("rate", "frozen"), ("current", "frozen"),
                                        ("two_variable", "rates"), ("two_variable", "frozen")])
def test_compiled_population_path_equals_the_numpy_path(kind, noise, monkeypatch):
    """integrate() runs the reduced models (also with a fitted gain/threshold) in the compiled
    kernel; it gives the NumPy scheme's trajectory to round-off."""
    from spikerate.models import dynamics
    from spikerate.reduce.fit import AffineTransfer
    model = reduce(cuba_network(), kind, noise=noise)
    affine = dataclasses.replace(model, g=AffineTransfer(base=model.g, gain=np.array([1.1, 0.9]),
                                                         threshold=np.array([0.5, -0.3])))
    x = np.random.default_rng(0).normal(0.0, 3.0, (300, 2))
    for m in (model, affine):
        s0 = find_fixed_point(m, np.zeros(2))
        state0 = {"rate": s0.r.values, "current": s0.I.values if "I" in s0 else None,
                  "two_variable": np.concatenate([s0.I.values, s0.r.values]) if "I" in s0 else None}[kind]
        fast = integrate(m, x, dt=1e-4, method="exp_euler", state0=state0).r.values
        with monkeypatch.context() as mp:
            mp.setattr(dynamics, "_kernel_transfer", lambda g: None)
            slow = integrate(m, x, dt=1e-4, method="exp_euler", state0=state0).r.values
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)
        assert np.ptp(fast) > 0.1  # the drive moves the rates
