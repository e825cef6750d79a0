"""The simulator kernel against its pure-NumPy twin (tests/reference/naive_lif.py)."""

import numpy as np
import pytest

from spikerate.sim import (Channel, Current, FixedInDegree, FixedProbability, LIFParams, Network, Noise,
                           PoissonInput, Population, Projection, TimedCurrent, Uniform, connectivity, simulate)
from tests.reference.naive_lif import simulate_naive

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

DT = 1e-4


def mixed_network():
    """Every feature at once: two populations with different tau_m, two current channels and a
    delta channel with different delays, all four input kinds, refractoriness."""
    a = LIFParams(tau_m=20e-3, v_rest=0.0, v_th=20.0, v_reset=10.0, t_ref=2e-3)
    b = LIFParams(tau_m=10e-3, v_rest=-5.0, v_th=15.0, v_reset=0.0, t_ref=1e-3)
    return Network(
        populations=[Population(name="A", n=30, params=a, v_init=Uniform(low=0.0, high=20.0)),
                     Population(name="B", n=20, params=b, v_init=Uniform(low=-5.0, high=15.0))],
        channels=[Channel(name="e", tau_s=5e-3), Channel(name="i", tau_s=10e-3), Channel(name="d", tau_s=0.0)],
        projections=[
            Projection(pre="A", post=("A", "B"), channel="e", rule=FixedProbability(p=0.2), weight=2.0, delay=1e-4),
            Projection(pre="B", post="A", channel="i", rule=FixedInDegree(k=5), weight=-3.0, delay=3e-4,
                       autapses=False),
            Projection(pre="A", post="B", channel="d", rule=FixedProbability(p=0.1), weight=0.5, delay=2e-4)],
        inputs=[Current(target="A", amplitude=25.0),
                TimedCurrent(target="A", values=lambda t: 8.0 * np.sin(2 * np.pi * 20 * t)),
                Noise(target="B", sigma=3.0),
                PoissonInput(target="B", channel="e", rate=400.0, weight=1.0, n_inputs=10),
                PoissonInput(target="A", channel="d", rate=50.0, weight=0.3, n_inputs=4)])


def twin(net, *, seed, n_steps, method):
    root = np.random.SeedSequence(seed)
    root.spawn(1)  # the connectivity stream
    rng = np.random.default_rng(root.spawn(1)[0])
    u0 = np.concatenate([p.sample_v_init(rng) for p in net.populations])
    cols = {f: np.concatenate([p.params.per_neuron(p.n)[f] for p in net.populations])
            for f in ("tau_m", "v_rest", "v_th", "v_reset", "t_ref")}
    n = net.n_neurons
    conn = connectivity(net, seed=seed)
    i_const = np.zeros(n)
    i_const[net.indices(["A"])] = 25.0
    timed = np.zeros((n_steps, n))
    timed[:, net.indices(["A"])] = 8.0 * np.sin(2 * np.pi * 20 * np.arange(n_steps) * DT)[:, None]
    sigma = np.zeros(n)
    sigma[net.indices(["B"])] = 3.0
    poisson = [(30, 50, 0, 1.0, 10 * 400.0 * DT), (0, 30, -1, 0.3, 4 * 50.0 * DT)]
    return simulate_naive(
        n_steps=n_steps, dt=DT, i_const=i_const, tau_s=[5e-3, 10e-3],
        w_cur={(0, 1): conn["e"].toarray(), (1, 3): conn["i"].toarray()}, w_delta={2: conn["d"].toarray()},
        u0=u0, rng=rng, noise_sigma=sigma, poisson=poisson, timed=timed, method=method, **cols)


@pytest.mark.parametrize("method", ["exact", "euler"])
def test_kernel_matches_naive_twin(method):
    net = mixed_network()
    n_steps = 1000
    ds = simulate(net, t_stop=n_steps * DT, dt=DT, seed=7, method=method, record="all")
    steps, neurons, trace = twin(net, seed=7, n_steps=n_steps, method=method)
    assert steps.size > 50, "the comparison needs spikes in every population"
    assert set(np.unique(neurons)) & set(range(30)) and set(np.unique(neurons)) & set(range(30, 50))
    np.testing.assert_array_equal(ds.spike_neuron.values, neurons)
    np.testing.assert_allclose(ds.spike_time.values, steps * DT, rtol=0, atol=1e-15)
    # the kernel integrates u - v_th; both are exact in their own rounding
    np.testing.assert_allclose(ds.u.values, trace, rtol=0, atol=1e-9)


def test_float32_follows_float64_before_divergence():
    """float32 state gives the same trajectory to float32 accuracy over a short run."""
    net = mixed_network()
    d64 = simulate(net, t_stop=0.005, seed=3, record="all")
    d32 = simulate(net, t_stop=0.005, seed=3, record="all", dtype="float32")
    assert d32.attrs["dtype"] == "float32"
    np.testing.assert_allclose(d32.u.values, d64.u.values, atol=2e-3)


def synaptic_network():
    """Only current synapses act (so the two-steps-per-pass kernel runs): two groups with
    different tau_m and reset, three channels (one with tau_s = tau_m of A), delays of 1, 2 and
    3 steps, per-neuron drive."""
    a = LIFParams(tau_m=20e-3, v_rest=0.0, v_th=20.0, v_reset=10.0, t_ref=2e-3)
    b = LIFParams(tau_m=10e-3, v_rest=-5.0, v_th=15.0, v_reset=0.0, t_ref=1e-3)
    drive = np.linspace(19.0, 26.0, 60)
    return Network(
        populations=[Population(name="A", n=60, params=a, v_init=Uniform(low=0.0, high=20.0)),
                     Population(name="B", n=40, params=b, v_init=Uniform(low=-5.0, high=15.0))],
        channels=[Channel(name="e", tau_s=5e-3), Channel(name="i", tau_s=10e-3), Channel(name="s", tau_s=20e-3)],
        projections=[
            Projection(pre="A", post=("A", "B"), channel="e", rule=FixedProbability(p=0.2), weight=1.5, delay=1e-4),
            Projection(pre="B", post="A", channel="i", rule=FixedInDegree(k=5), weight=-2.0, delay=3e-4,
                       autapses=False),
            Projection(pre="A", post="B", channel="s", rule=FixedProbability(p=0.2), weight=0.4, delay=2e-4)],
        inputs=[Current(target="A", amplitude=drive), Current(target="B", amplitude=21.0)])


def twin_synaptic(net, *, seed, n_steps, method):
    root = np.random.SeedSequence(seed)
    root.spawn(1)
    rng = np.random.default_rng(root.spawn(1)[0])
    u0 = np.concatenate([p.sample_v_init(rng) for p in net.populations])
    cols = {f: np.concatenate([p.params.per_neuron(p.n)[f] for p in net.populations])
            for f in ("tau_m", "v_rest", "v_th", "v_reset", "t_ref")}
    conn = connectivity(net, seed=seed)
    i_const = np.concatenate([np.linspace(19.0, 26.0, 60), np.full(40, 21.0)])
    return simulate_naive(n_steps=n_steps, dt=DT, i_const=i_const, tau_s=[5e-3, 10e-3, 20e-3],
                          w_cur={(0, 1): conn["e"].toarray(), (1, 3): conn["i"].toarray(),
                                 (2, 2): conn["s"].toarray()},
                          w_delta={}, u0=u0, rng=rng, method=method, **cols)


@pytest.mark.parametrize("method", ["exact", "euler"])
@pytest.mark.parametrize("n_steps", [1000, 1001])  # odd: the last step runs alone
def test_two_step_kernel_matches_twin(method, n_steps):
    net = synaptic_network()
    ds = simulate(net, t_stop=n_steps * DT, dt=DT, seed=4, method=method)
    assert ds.attrs["kernel_path"] == "two-step"
    steps, neurons, _ = twin_synaptic(net, seed=4, n_steps=n_steps, method=method)
    assert steps.size > 100 and np.unique(neurons).size > 50
    np.testing.assert_array_equal(ds.spike_neuron.values, neurons)
    np.testing.assert_allclose(ds.spike_time.values, steps * DT, rtol=0, atol=1e-15)


def test_delta_synapses_use_the_one_step_kernel():
    """A delta jump arriving at t_{n+2} moves u(t_{n+2}) itself: no two-step pass then."""
    lif = LIFParams(tau_m=20e-3, v_rest=0.0, v_th=20.0, v_reset=10.0, t_ref=2e-3)
    net = Network(populations=[Population(name="A", n=80, params=lif, v_init=Uniform(low=0.0, high=20.0))],
                  channels=[Channel(name="d", tau_s=0.0)],
                  projections=[Projection(pre="A", post="A", channel="d", rule=FixedProbability(p=0.2),
                                          weight=0.8, delay=1e-4)],
                  inputs=[Current(target="A", amplitude=22.0)])
    ds = simulate(net, t_stop=0.1, seed=1)
    assert ds.attrs["kernel_path"] == "one-step"
    lif_cols = {f: np.full(80, v) for f, v in lif.to_dict().items()}
    root = np.random.SeedSequence(1)
    root.spawn(1)
    rng = np.random.default_rng(root.spawn(1)[0])
    u0 = net.populations[0].sample_v_init(rng)
    steps, neurons, _ = simulate_naive(n_steps=1000, dt=DT, i_const=np.full(80, 22.0), tau_s=[], w_cur={},
                                       w_delta={1: connectivity(net, seed=1)["d"].toarray()}, u0=u0, rng=rng,
                                       **lif_cols)
    assert steps.size > 100
    np.testing.assert_array_equal(ds.spike_neuron.values, neurons)


def test_two_step_and_one_step_paths_agree(monkeypatch):
    """The early (pre-compensated) delivery only changes round-off: same spikes in a CUBA run
    crossing a chunk boundary."""
    import spikerate.sim.simulation as simulation
    from spikerate.sim import cuba_network
    net = cuba_network(n_neurons=800, p=0.05)
    fast = simulate(net, t_stop=0.25, seed=2)
    monkeypatch.setattr(simulation, "FAST_PATH", False)
    slow = simulate(net, t_stop=0.25, seed=2)
    assert fast.attrs["kernel_path"] == "two-step" and slow.attrs["kernel_path"] == "one-step"
    assert fast.sizes["spike"] > 1000
    np.testing.assert_array_equal(fast.spike_neuron.values, slow.spike_neuron.values)
    np.testing.assert_array_equal(fast.spike_time.values, slow.spike_time.values)
