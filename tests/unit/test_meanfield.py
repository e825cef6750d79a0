"""spikerate.reduce.meanfield: the diffusion mapping and the self-consistent rates."""

import numpy as np
import pytest
import scipy.sparse as sp

from spikerate.errors import ConvergenceError
from spikerate.io import validate_dataset
from spikerate.models import ALPHA, siegert
from spikerate.reduce import meanfield_rates, population_inputs
from spikerate.sim import (AllToAll, Channel, Current, FixedInDegree, FixedProbability, FromMatrix, LIFParams,
                           Network, Noise, Normal, PoissonInput, Population, Projection, TimedCurrent, Uniform,
                           brunel_network, cuba_network)

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

NEURON = dict(tau_m=20e-3, t_ref=2e-3, v_th=20.0, v_reset=10.0)


def two_pops(projections=(), inputs=(), channels=(Channel(name="d", tau_s=0.0),), n=(100, 50), params=None):
    params = params or LIFParams(**NEURON)
    return Network(populations=[Population(name="A", n=n[0], params=params),
                                Population(name="B", n=n[1], params=params)],
                   channels=channels, projections=projections, inputs=inputs)


# ---------------------------------------------------------------------------- the mapping


def test_brunel_mapping_by_hand():
    g, eta, J = 5.0, 2.0, 0.1
    m = population_inputs(brunel_network(g=g, eta=eta, J=J))
    c_e, c_i, tau = 1000, 250, 20e-3
    nu_thr = 20.0 / (J * c_e * tau)
    assert m.in_degree[:, :, 0].tolist() == [[c_e, c_i], [c_e, c_i]]
    nu = np.array([7.0, 11.0])
    mu = c_e * J * tau * eta * nu_thr + tau * (c_e * J * nu[0] - c_i * g * J * nu[1])
    var = c_e * J**2 * tau * eta * nu_thr + tau * (c_e * J**2 * nu[0] + c_i * (g * J) ** 2 * nu[1])
    np.testing.assert_allclose(m.mu(nu), [mu, mu], rtol=1e-14)
    np.testing.assert_allclose(m.sigma(nu), np.sqrt([var, var]), rtol=1e-14)
    np.testing.assert_array_equal(m.shift(nu), 0.0)  # delta synapses: white noise


def test_cuba_mapping_by_hand():
    """Exponential synapses: effective jump w tau_s / tau_m; the shift of one channel is
    Fourcaud-Brunel's sigma alpha/2 sqrt(tau_s/tau_m)."""
    m = population_inputs(cuba_network())  # 3200 E + 800 I, p = 0.02, autapses allowed
    k_e, k_i = 0.02 * 3200, 0.02 * 800
    np.testing.assert_allclose(m.in_degree[0], [[k_e, 0], [0, k_i]])
    np.testing.assert_allclose(m.jump[0], [[1.62 * 5 / 20, 0], [0, -9 * 10 / 20]])
    nu = np.array([4.0, 6.0])
    mu = -49.0 + k_e * 1.62 * 5e-3 * nu[0] - k_i * 9 * 10e-3 * nu[1]
    v_e, v_i = k_e * (1.62 * 0.25) ** 2 * 20e-3 * nu[0], k_i * 4.5**2 * 20e-3 * nu[1]
    np.testing.assert_allclose(m.mu(nu), mu, rtol=1e-13)
    np.testing.assert_allclose(m.sigma(nu), np.sqrt(v_e + v_i), rtol=1e-13)
    shift = ALPHA / 2 * (v_e * np.sqrt(5 / 20) + v_i * np.sqrt(10 / 20)) / np.sqrt(v_e + v_i)
    np.testing.assert_allclose(m.shift(nu), shift, rtol=1e-13)
    # one channel only: exactly the Fourcaud-Brunel shift
    np.testing.assert_allclose(m.shift(np.array([4.0, 0.0])),
                               ALPHA / 2 * np.sqrt(v_e) * np.sqrt(5 / 20), rtol=1e-13)


@pytest.mark.parametrize("autapses", [True, False])
def test_in_degrees_of_each_rule(autapses):
    ch = (Channel(name="d", tau_s=0.0),)
    prs = [Projection(pre=("A", "B"), post="A", channel="d", rule=FixedInDegree(k=30), weight=0.2, autapses=autapses),
           Projection(pre="A", post=("A", "B"), channel="d", rule=FixedProbability(p=0.1), weight=0.5,
                      autapses=autapses),
           Projection(pre="B", post="B", channel="d", rule=AllToAll(), weight=Uniform(low=0.0, high=0.4),
                      autapses=autapses)]
    m = population_inputs(two_pops(prs, channels=ch))
    s = 0 if autapses else 1
    k = m.in_degree[:, :, 0]
    fid_a = 30 * (100 - s) / (150 - s)
    fid_b = 30 * 50 / (150 - s)
    np.testing.assert_allclose(k, [[fid_a + 0.1 * (100 - s), fid_b], [0.1 * 100, 50 - s]], rtol=1e-14)
    # mean jump per pair: in-degree-weighted mean of the weights
    np.testing.assert_allclose(m.jump[1, 1, 0], 0.2)
    # sigma^2 uses the second moment of the weight: Uniform(0, 0.4): 0.04 + 0.16/12
    nu = np.array([0.0, 10.0])
    np.testing.assert_allclose(m.sigma(nu)[1] ** 2, (50 - s) * (0.04 + 0.16 / 12) * 20e-3 * 10, rtol=1e-13)


def test_from_matrix_row_means_and_autapses():
    rng = np.random.default_rng(3)
    w = rng.normal(0.3, 0.1, (150, 150)) * (rng.random((150, 150)) < 0.2)
    for autapses, mat in [(True, w), (False, w), (False, sp.csr_matrix(w))]:
        net = two_pops([Projection(pre=("A", "B"), post=("A", "B"), channel="d", rule=FromMatrix(mat),
                                   autapses=autapses)])
        m = population_inputs(net)
        ww = w.copy()
        if not autapses:
            np.fill_diagonal(ww, 0.0)
        nu = np.array([3.0, 5.0])
        rate = np.repeat(nu, [100, 50])
        per_neuron_mu = ww @ rate * 20e-3
        per_neuron_var = (ww**2) @ rate * 20e-3
        np.testing.assert_allclose(m.mu(nu), [per_neuron_mu[:100].mean(), per_neuron_mu[100:].mean()], rtol=1e-12)
        np.testing.assert_allclose(m.sigma(nu) ** 2, [per_neuron_var[:100].mean(), per_neuron_var[100:].mean()],
                                   rtol=1e-12)
        np.testing.assert_allclose(m.in_degree[0, 0, 0], np.count_nonzero(ww[:100, :100]) / 100)


def test_external_inputs():
    ch = (Channel(name="d", tau_s=0.0), Channel(name="s", tau_s=4e-3))
    inputs = [Current(target="A", amplitude=3.0), Current(target=("A", "B"), amplitude=np.arange(150.0)),
              Noise(target="B", sigma=2.0),
              PoissonInput(target="A", channel="d", rate=100.0, weight=0.3, n_inputs=20),
              PoissonInput(target="B", channel="s", rate=50.0, weight=1.0, n_inputs=10)]
    m = population_inputs(two_pops(inputs=inputs, channels=ch, params=LIFParams(v_rest=-1.0)))
    j_s = 1.0 * 4 / 20
    np.testing.assert_allclose(m.mu_ext, [-1 + 3 + 49.5 + 20 * 0.3 * 100 * 0.02, -1 + 124.5 + 10 * j_s * 50 * 0.02])
    var_b = 2.0**2 + 10 * j_s**2 * 50 * 0.02
    np.testing.assert_allclose(m.sigma(np.zeros(2)), np.sqrt([20 * 0.09 * 100 * 0.02, var_b]))
    np.testing.assert_allclose(m.shift(np.zeros(2))[1],
                               ALPHA / 2 * 10 * j_s**2 * 50 * 0.02 * np.sqrt(4 / 20) / np.sqrt(var_b))


# ---------------------------------------------------------------------------- the fixed point


def test_unconnected_populations_match_siegert_exactly():
    inputs = [Current(target="A", amplitude=18.0), Current(target="B", amplitude=24.0),
              Noise(target="A", sigma=4.0), Noise(target="B", sigma=1.5)]
    ds = meanfield_rates(two_pops(inputs=inputs))
    want = siegert([18.0, 24.0], [4.0, 1.5], **NEURON)
    np.testing.assert_allclose(ds.rate.values, want, rtol=1e-8)
    assert ds.attrs["converged"] == 1 and ds.attrs["stable"] == 1
    np.testing.assert_allclose(ds.eigenvalue_real.values, -1 / 20e-3)  # no coupling: -1/tau_m


def test_weakly_coupled_fixed_point_by_hand():
    """nu = siegert(mu(nu), sigma(nu)) with mu, sigma written out independently."""
    prs = [Projection(pre="A", post=("A", "B"), channel="d", rule=FixedInDegree(k=40), weight=0.15),
           Projection(pre="B", post=("A", "B"), channel="d", rule=FixedInDegree(k=20), weight=-0.4)]
    inputs = [Current(target=("A", "B"), amplitude=17.0), Noise(target="A", sigma=3.0), Noise(target="B", sigma=4.0)]
    ds = meanfield_rates(two_pops(prs, inputs))
    nu = ds.rate.values
    mu = 17.0 + 20e-3 * (40 * 0.15 * nu[0] - 20 * 0.4 * nu[1])
    sig = np.sqrt(np.array([9.0, 16.0]) + 20e-3 * (40 * 0.15**2 * nu[0] + 20 * 0.4**2 * nu[1]))
    np.testing.assert_allclose(nu, siegert(mu, sig, **NEURON), rtol=1e-9)
    assert ds.attrs["method"] == "newton" and ds.attrs["n_iter"] < 10


@pytest.mark.parametrize("net", [brunel_network(g=5.0, eta=2.0), brunel_network(g=3.0, eta=2.0), cuba_network(),
                                 brunel_network(g=4.5, eta=0.9)], ids=["brunel_AI", "brunel_SR", "cuba", "brunel_SI"])
def test_solution_satisfies_equations(net):
    ds = meanfield_rates(net, tol=1e-10)
    validate_dataset(ds)
    m = population_inputs(net)
    nu = ds.rate.values
    assert np.max(np.abs(nu - m.transfer(nu))) <= 1e-10 * max(1.0, nu.max())
    np.testing.assert_allclose(ds.mu.values, m.mu(nu))
    np.testing.assert_allclose(ds.sigma.values, m.sigma(nu))
    assert ds.attrs["converged"] == 1
    assert ds.rate.attrs["units"] == "Hz" and ds.eigenvalue_real.attrs["units"] == "1/s"


@pytest.mark.parametrize("net", [brunel_network(g=6.0, eta=3.0), cuba_network(),
                                 two_pops([Projection(pre="A", post=("A", "B"), channel="s", rule=FixedInDegree(k=40),
                                                      weight=Normal(mean=1.0, std=0.3)),
                                           Projection(pre="B", post="A", channel="d", rule=FixedInDegree(k=20),
                                                      weight=-0.5)],
                                          [Current(target=("A", "B"), amplitude=15.0), Noise(target="A", sigma=2.0),
                                           PoissonInput(target="B", channel="s", rate=500.0, weight=2.0)],
                                          channels=(Channel(name="d", tau_s=0.0), Channel(name="s", tau_s=3e-3)))],
                         ids=["brunel", "cuba", "mixed"])
def test_jacobian_matches_finite_differences(net):
    m = population_inputs(net)
    nu = np.array([6.0, 9.0])
    _, jac = m.transfer(nu, jacobian=True)
    eps = 1e-5 * np.maximum(nu, 1.0)
    fd = np.column_stack([(m.transfer(nu + e) - m.transfer(nu - e)) / (2 * e[i])
                          for i, e in enumerate(np.diag(eps))])
    np.testing.assert_allclose(jac, fd, rtol=1e-6, atol=1e-9)


def test_stability_eigenvalues_are_those_of_the_linearised_dynamics():
    ds = meanfield_rates(brunel_network(g=5.0, eta=2.0))
    lin = (ds.jacobian.values - np.eye(2)) / 20e-3
    want = np.sort_complex(np.linalg.eigvals(lin))
    got = np.sort_complex(ds.eigenvalue_real.values + 1j * ds.eigenvalue_imag.values)
    np.testing.assert_allclose(got, want)
    assert ds.attrs["stable"] == int(np.all(want.real < 0))


def test_unstable_fixed_point_is_reported():
    """A strongly self-exciting population has three fixed points; Newton started in the
    middle finds the unstable one and says so."""
    net = Network(populations=[Population(name="A", n=100, params=LIFParams(**NEURON))],
                  channels=[Channel(name="d", tau_s=0.0)],
                  projections=[Projection(pre="A", post="A", channel="d", rule=FixedInDegree(k=100), weight=0.5)],
                  inputs=[Current(target="A", amplitude=10.0), Noise(target="A", sigma=3.0)])
    rates = {}
    for nu0 in (0.0, 5.0, 400.0):
        ds = meanfield_rates(net, nu0=[nu0])
        rates[nu0] = (float(ds.rate[0]), ds.attrs["stable"])
    low, mid, high = rates[0.0], rates[5.0], rates[400.0]
    assert low[0] < mid[0] < high[0]
    assert (low[1], mid[1], high[1]) == (1, 0, 1)


def test_newton_failure_raises_or_reports(monkeypatch):
    import spikerate.reduce.meanfield as mf
    monkeypatch.setattr(mf, "_RELAX_ROUNDS", 0)  # one Newton step, no relaxation: cannot converge
    net = brunel_network(g=3.0, eta=2.0)
    with pytest.raises(ConvergenceError, match="no fixed point"):
        meanfield_rates(net, max_iter=1)
    ds = meanfield_rates(net, max_iter=1, throw=False)
    assert ds.attrs["converged"] == 0 and "no fixed point" in ds.attrs["message"]


def test_accepts_a_mapping_and_nu0():
    net = brunel_network()
    a = meanfield_rates(population_inputs(net), nu0=[30.0, 30.0])
    b = meanfield_rates(net, nu0=30.0)
    np.testing.assert_allclose(a.rate, b.rate, rtol=1e-12)


# ---------------------------------------------------------------------------- bad input


def test_heterogeneous_parameters_are_rejected():
    params = LIFParams(v_th=np.linspace(19, 21, 100))
    net = Network(populations=[Population(name="A", n=100, params=params)])
    with pytest.raises(ValueError, match="per-neuron .heterogeneous. `v_th`"):
        population_inputs(net)


@pytest.mark.parametrize("bad", [brunel_network, {"populations": []}, None, "brunel"])
def test_unknown_network_type(bad):
    with pytest.raises(TypeError, match="`network` must be a spikerate.sim.Network"):
        meanfield_rates(bad)


def test_timed_current_is_rejected():
    net = two_pops(inputs=[TimedCurrent(target="A", values=np.zeros(10))])
    with pytest.raises(ValueError, match="TimedCurrent"):
        population_inputs(net)


@pytest.mark.parametrize("kwargs, match", [({"nu0": [1.0, 2.0, 3.0]}, "shape"), ({"nu0": [-1.0, 1.0]}, ">= 0"),
                                           ({"tol": 0.0}, "tol"), ({"max_iter": 0}, "max_iter"),
                                           ({"nu0": [np.nan, 1.0]}, "nu"), ({"throw": "yes"}, "throw")])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        meanfield_rates(brunel_network(), **kwargs)


def test_dataset_round_trips_through_netcdf(tmp_path):
    import xarray as xr

    from spikerate import load, save
    ds = meanfield_rates(cuba_network())
    back = load(save(ds, tmp_path / "mf.nc"))
    xr.testing.assert_identical(back, ds)
    assert back.attrs["schema"] == "spikerate.meanfield/1"


def test_per_population_neuron_parameters():
    """Each population has its own tau_m etc.; unconnected, the modes decay at -1/tau_m."""
    pa, pb = LIFParams(tau_m=10e-3, t_ref=1e-3), LIFParams(tau_m=30e-3, v_th=15.0, v_reset=0.0)
    net = Network(populations=[Population(name="A", n=10, params=pa), Population(name="B", n=10, params=pb)],
                  inputs=[Current(target=("A", "B"), amplitude=16.0), Noise(target=("A", "B"), sigma=3.0)])
    ds = meanfield_rates(net)
    want = [siegert(16.0, 3.0, tau_m=10e-3, t_ref=1e-3, v_th=20.0, v_reset=10.0),
            siegert(16.0, 3.0, tau_m=30e-3, t_ref=2e-3, v_th=15.0, v_reset=0.0)]
    np.testing.assert_allclose(ds.rate.values, want, rtol=1e-10)
    np.testing.assert_allclose(np.sort(ds.eigenvalue_real.values), [-100.0, -1 / 30e-3])
