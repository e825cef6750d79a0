"""reduce(): the population rate models of a network."""

import numpy as np
import pytest

from spikerate.models import CurrentModel, RateModel, TwoVariableModel, find_fixed_point, integrate
from spikerate.reduce import meanfield_rates, population_inputs, reduce, synaptic_time_constants
from spikerate.sim import brunel_network, cuba_network


@pytest.mark.parametrize("kind,cls", [("rate", RateModel), ("current", CurrentModel),
                                      ("two_variable", TwoVariableModel)])
def test_fixed_point_is_the_mean_field(kind, cls):
    """The noise is frozen at the mean-field rates, so every reduction has them as its fixed point."""
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
