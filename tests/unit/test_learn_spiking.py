"""Surrogate-gradient learning on spiking networks: the forward pass is the simulator's, exact
RTRL = BPTT, both = finite differences of the surrogate-smoothed network, and the lecture's
single-neuron example."""

from __future__ import annotations

import numpy as np
import pytest

from spikerate.learn import value_and_grad
from spikerate.learn.gradients import (BPTT, DiagonalRTRL, EProp, SurrogateBPTT, SurrogateRTRL, loss_value,
                                       prepare)
from spikerate.learn.spiking import SpikingModel
from spikerate.learn.surrogates import FastSigmoid, Sigmoid
from spikerate.sim import Channel, FromMatrix, LIFParams, Network, Population, Projection, TimedCurrent, simulate

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

CASES = [dict(tau_s=5e-3, reset="to", t_ref=2e-3), dict(tau_s=0.0, reset="to", t_ref=0.0),
         dict(tau_s=5e-3, reset="to", t_ref=0.0)]


def run_model(m, x, dt):
    s, spikes = m.initial_state(), []
    for t in range(x.shape[0]):
        spikes += [(t, int(i)) for i in np.flatnonzero(m.spikes(s))]
        s = m.step(s, x[t], dt)
    return spikes + [(x.shape[0], int(i)) for i in np.flatnonzero(m.spikes(s))]


@pytest.mark.parametrize("case", CASES)
def test_forward_pass_spikes_exactly_as_the_simulator(case):
    rng = np.random.default_rng(1)
    n, n_in, T, dt = 20, 3, 600, 1e-4
    W = rng.normal(0.0, 1.5, (n, n)) * (rng.random((n, n)) < 0.3)
    m = SpikingModel(w=W, u=rng.normal(0, 0.1, (n, n_in)), b=np.full(n, 0.02), tau_m=20e-3, v_th=1.0, v_reset=0.0,
                     **case)
    x = np.abs(rng.normal(0, 1, (T, n_in)))
    ours = run_model(m, x, dt)
    beta = np.exp(-dt / 20e-3)
    lif = LIFParams(tau_m=20e-3, v_rest=0.0, v_th=1.0, v_reset=0.0, t_ref=case["t_ref"])
    net = Network(populations=[Population(name="P", n=n, params=lif, v_init=0.0)],
                  channels=[Channel(name="syn", tau_s=case["tau_s"])],
                  projections=[Projection(pre="P", post="P", channel="syn", rule=FromMatrix(matrix=W), delay=dt)],
                  inputs=[TimedCurrent(target="P", values=(x @ m.u.T + m.b) / (1 - beta))])
    ds = simulate(net, t_stop=T * dt, dt=dt, seed=0)
    sim = sorted(zip(np.rint(ds.spike_time.values / dt).astype(int).tolist(), ds.spike_neuron.values.tolist()))
    assert len(sim) > 50
    assert sorted(ours) == sim


def problem(rng, *, smooth, n=5, n_in=3, T=30, **kw):
    m = SpikingModel(w=rng.normal(0, 0.5, (n, n)), u=rng.normal(0, 0.6, (n, n_in)), b=np.full(n, 0.1),
                     tau_m=20e-3, tau_out=10e-3, v_th=1.0, smooth=smooth, surrogate=Sigmoid(scale=5.0), **kw)
    x, y = rng.normal(0, 1, (2, T, n_in)), rng.normal(5, 2, (2, T, 2))
    return m, x, y, dict(dt=1e-3, readout=rng.normal(0, 0.1, (2, n)), trainable=("w", "u", "b", "readout"))


@pytest.mark.parametrize("kw", [dict(tau_s=5e-3, reset="to"), dict(tau_s=0.0, reset="subtract"),
                                dict(tau_s=5e-3, reset="subtract", detach_reset=True),
                                dict(tau_s=5e-3, reset="to", t_ref=2e-3)])
def test_surrogate_rtrl_equals_bptt(kw):
    m, x, y, common = problem(np.random.default_rng(2), smooth=False, **kw)
    sur = Sigmoid(scale=5.0)
    l1, g1 = value_and_grad(m, x, y, method=SurrogateRTRL(surrogate=sur), **common)
    l2, g2 = value_and_grad(m, x, y, method=SurrogateBPTT(surrogate=sur), **common)
    assert l1 == l2
    for k in g1:
        assert np.max(np.abs(g1[k] - g2[k])) <= 1e-10 * np.max(np.abs(g2[k])), k
    assert np.max(np.abs(g2["w"])) > 0


@pytest.mark.parametrize("kw", [dict(tau_s=5e-3, reset="to"), dict(tau_s=0.0, reset="subtract")])
def test_gradients_of_the_smoothed_network_match_finite_differences(kw):
    m, x, y, common = problem(np.random.default_rng(3), smooth=True, **kw)
    sur = Sigmoid(scale=5.0)
    for method in (SurrogateRTRL(surrogate=sur), SurrogateBPTT(surrogate=sur)):
        _, g = value_and_grad(m, x, y, method=method, **common)
        pb = prepare(m, x, y, **common)
        vals = pb.values()
        for k in ("w", "u", "b"):
            v = vals[k]
            fd = np.zeros(v.size)
            for i in range(v.size):
                vp, vm = v.copy(), v.copy()
                vp.flat[i] += 1e-6
                vm.flat[i] -= 1e-6
                fd[i] = (loss_value(pb.with_values({k: vp})) - loss_value(pb.with_values({k: vm}))) / 2e-6
            assert np.max(np.abs(g[k] - fd.reshape(v.shape))) <= 1e-6 * np.max(np.abs(fd)), (method.name, k)


def test_lecture_single_neuron_rtrl_by_hand():
    """du/dt = -V_th s + w s + x with s = H(u - V_th) (dt = 1, no leak, an autapse as delta
    synapse, reset by subtracting V_th); p = du/dw obeys p_{t+1} = p_t + (w - V_th) s'(u_t) p_t + s_t,
    and the gradient of the loss on the readout trace follows from it."""
    V, w, T = 1.0, 0.4, 25
    sur = FastSigmoid(scale=4.0)
    rng = np.random.default_rng(4)
    x = rng.uniform(0.0, 0.6, T)
    y = rng.uniform(0.0, 1.0, T)
    m = SpikingModel(w=[[w]], u=[[1.0]], b=[0.0], tau_m=np.inf, tau_s=0.0, tau_out=1.0, v_rest=0.0, v_th=V,
                     v_reset=0.0, reset="subtract", surrogate=sur, trainable=("w",))
    loss, g = value_and_grad(m, x, y, method=SurrogateRTRL(surrogate=sur), dt=1.0)
    kappa = np.exp(-1.0)
    u, p, z, dz, grad, total = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    for t in range(T):
        s = float(u >= V)
        ds = float(sur.derivative(u - V))
        z, dz = kappa * z + s, kappa * dz + ds * p  # the readout trace and its sensitivity
        u, p = u - V * s + w * s + x[t], p + (w - V) * ds * p + s
        total += 0.5 * (z - y[t]) ** 2 / T
        grad += (z - y[t]) * dz / T
    assert loss == pytest.approx(total, rel=1e-12)
    assert g["w"].item() == pytest.approx(grad, rel=1e-12)


def test_approximations_are_reported_against_the_exact_gradient():
    from spikerate.learn.gradients import gradient_agreement
    m, x, y, common = problem(np.random.default_rng(5), smooth=False, tau_s=5e-3)
    sur = Sigmoid(scale=5.0)
    exact = value_and_grad(m, x, y, method=SurrogateBPTT(surrogate=sur), **common)[1]
    for method in (EProp(surrogate=sur), DiagonalRTRL(surrogate=sur)):
        approx = value_and_grad(m, x, y, method=method, **common)[1]
        rep = gradient_agreement(approx, exact)
        assert 0.0 < rep["cosine"] <= 1.0 + 1e-12 and rep["relative_error"] >= 0.0
        for k in ("w", "u", "b"):  # the traces reach the readout: every weight learns
            assert np.max(np.abs(approx[k])) > 1e-3 * np.max(np.abs(exact[k])), (method.name, k)
    same = gradient_agreement(exact, exact)
    assert same["cosine"] == pytest.approx(1.0) and same["relative_error"] == 0.0


def test_bad_input():
    m = SpikingModel(w=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="needs a surrogate method"):
        value_and_grad(m, np.zeros((3, 2)), np.zeros((3, 2)), method=BPTT(), dt=1e-3)
    from spikerate.models import RateModel
    with pytest.raises(ValueError, match="is for spiking models"):
        value_and_grad(RateModel(w=np.zeros((2, 2)), tau=1.0), np.zeros((3, 2)), np.zeros((3, 2)),
                       method=SurrogateBPTT(), dt=1e-3)
    with pytest.raises(ValueError, match="`reset`.*Did you mean `subtract`"):
        SpikingModel(w=np.zeros((2, 2)), reset="substract")
    with pytest.raises(ValueError, match="`v_reset` must be below `v_th`"):
        SpikingModel(w=np.zeros((2, 2)), v_reset=2.0)
    with pytest.raises(ValueError, match="needs t_ref = 0"):
        SpikingModel(w=np.zeros((2, 2)), smooth=True, t_ref=1e-3)
    with pytest.raises(ValueError, match="tau_m.*inf.*delta synapses"):
        SpikingModel(w=np.zeros((2, 2)), tau_m=np.inf, tau_s=5e-3)


def test_online_training_and_determinism():
    from spikerate.learn import SGD, fit
    m, x, y, common = problem(np.random.default_rng(6), smooth=False, tau_s=5e-3, T=20)
    sur = Sigmoid(scale=5.0)
    runs = [fit(m, x, y, method=method, optimizer=SGD(lr=1e-5), epochs=3, online=True, progress=False, **common)
            for method in (SurrogateRTRL(surrogate=sur), SurrogateRTRL(surrogate=sur), EProp(surrogate=sur))]
    np.testing.assert_array_equal(runs[0].loss.values, runs[1].loss.values)  # same seed, same result
    assert np.all(np.isfinite(runs[2].loss.values)) and runs[0].loss.values[-1] < runs[0].loss.values[0]
    assert not np.array_equal(runs[0].update_w.values, runs[2].update_w.values)  # e-prop's own traces online
