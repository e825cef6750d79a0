"""Single-neuron dynamics against analytic solutions (exact integration, refractoriness,
PSC shapes, firing period, Euler convergence order, noise statistics)."""

import math

import numpy as np
import pytest

from spikerate.sim import (Channel, Current, LIFParams, Network, Noise, PoissonInput, Population, Projection,
                           FixedProbability, simulate)

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

DT = 1e-4
TAU_M = 20e-3
#: threshold of a neuron that must not fire (PSPs here stay below 1 mV); the kernel holds
#: u - v_th, so round-off per step is about eps * V_TH_POST
V_TH_POST = 10.0


def roundoff(n_steps: int) -> float:
    """Worst-case accumulated round-off of n_steps exact updates of u - v_th."""
    return 4 * n_steps * np.finfo(float).eps * V_TH_POST


def one_neuron(*, v_init=0.0, amplitude=None, channels=(), params=None, inputs=()):
    params = params or LIFParams(tau_m=TAU_M, v_rest=0.0, v_th=20.0, v_reset=10.0, t_ref=2e-3)
    ins = list(inputs)
    if amplitude is not None:
        ins.append(Current(target="P", amplitude=amplitude))
    return Network(populations=[Population(name="P", n=1, params=params, v_init=v_init)],
                   channels=list(channels), inputs=ins)


def test_free_decay_is_exact():
    ds = simulate(one_neuron(v_init=15.0), t_stop=0.1, dt=DT, record="all", seed=0)
    t = ds.time.values
    np.testing.assert_allclose(ds.u.values[:, 0], 15.0 * np.exp(-t / TAU_M), rtol=1e-12, atol=1e-12)
    assert ds.sizes["spike"] == 0


def two_neurons(tau_s, weight, delay=1e-4):
    """Neuron 0 starts above threshold, spikes once at t = dt, and drives neuron 1 (which never fires)."""
    pre = LIFParams(tau_m=TAU_M, v_rest=0.0, v_th=20.0, v_reset=10.0, t_ref=1.0)
    post = LIFParams(tau_m=TAU_M, v_rest=0.0, v_th=V_TH_POST, v_reset=0.0, t_ref=0.0)
    return Network(populations=[Population(name="pre", n=1, params=pre, v_init=25.0),
                                Population(name="post", n=1, params=post, v_init=0.0)],
                   channels=[Channel(name="s", tau_s=tau_s)],
                   projections=[Projection(pre="pre", post="post", channel="s",
                                           rule=FixedProbability(p=1.0), weight=weight, delay=delay)])


@pytest.mark.parametrize("tau_s", [5e-3, 10e-3, TAU_M, 40e-3])
def test_psc_and_psp_shape(tau_s):
    w, delay = 2.0, 3e-4
    ds = simulate(two_neurons(tau_s, w, delay), t_stop=0.1, dt=DT, record="post", seed=0)
    assert ds.spike_time.values.tolist() == pytest.approx([DT])
    t_arr = DT + delay  # spike at t = dt, arrival one delay later
    t = ds.time.values
    s = np.clip(t - t_arr, 0, None)
    on = t >= t_arr - 1e-12
    current = np.where(on, w * np.exp(-s / tau_s), 0.0)
    if tau_s == TAU_M:
        psp = w * (s / TAU_M) * np.exp(-s / TAU_M)
    else:
        psp = w * tau_s / (tau_s - TAU_M) * (np.exp(-s / tau_s) - np.exp(-s / TAU_M))
    np.testing.assert_allclose(ds.I.values[:, 0, 0], current, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ds.u.values[:, 0], np.where(on, psp, 0.0), rtol=0, atol=roundoff(t.size))


def test_delta_synapse_jump_then_decay():
    w, delay = 1.5, 2e-4
    ds = simulate(two_neurons(0.0, w, delay), t_stop=0.05, dt=DT, record="post", seed=0)
    t = ds.time.values
    t_arr = DT + delay
    want = np.where(t >= t_arr - 1e-12, w * np.exp(-np.clip(t - t_arr, 0, None) / TAU_M), 0.0)
    np.testing.assert_allclose(ds.u.values[:, 0], want, rtol=0, atol=roundoff(t.size))
    assert "I" not in ds  # a delta channel has no current state


@pytest.mark.parametrize("mu,t_ref", [(25.0, 2e-3), (40.0, 5e-3), (20.5, 0.0)])
def test_constant_drive_period(mu, t_ref):
    params = LIFParams(tau_m=TAU_M, v_rest=0.0, v_th=20.0, v_reset=10.0, t_ref=t_ref)
    ds = simulate(one_neuron(v_init=10.0, amplitude=mu, params=params), t_stop=1.0, dt=DT, seed=0)
    isi = np.diff(ds.spike_time.values)
    period = t_ref + TAU_M * math.log((mu - 10.0) / (mu - 20.0))
    assert isi.size >= 3
    # the crossing is detected on the grid: each ISI is the period rounded up to a step
    assert np.all(np.abs(isi - period) <= DT + 1e-12)
    grid = round(t_ref / DT) * DT + math.ceil(TAU_M * math.log((mu - 10.0) / (mu - 20.0)) / DT - 1e-9) * DT
    np.testing.assert_allclose(isi, grid, atol=1e-9)


def test_no_spike_below_threshold():
    ds = simulate(one_neuron(v_init=19.0, amplitude=19.99), t_stop=2.0, dt=DT, seed=0)
    assert ds.sizes["spike"] == 0


def test_refractory_clamp_is_exact_on_grid():
    t_ref = 3e-3
    params = LIFParams(tau_m=TAU_M, v_rest=0.0, v_th=20.0, v_reset=10.0, t_ref=t_ref)
    ds = simulate(one_neuron(v_init=10.0, amplitude=40.0, params=params), t_stop=0.1, dt=DT, record="all", seed=0)
    u = ds.u.values[:, 0]
    n_ref = round(t_ref / DT)
    for ts in ds.spike_time.values[:-1]:
        k = int(round(ts / DT))
        assert np.all(u[k:k + n_ref + 1] == 10.0)  # clamped on t_s .. t_s + t_ref
        assert u[k + n_ref + 1] > 10.0  # free again one step later
        # and the first free step is the exact free evolution from v_reset
        assert u[k + n_ref + 1] == pytest.approx(40.0 + (10.0 - 40.0) * math.exp(-DT / TAU_M), rel=1e-12)


def test_euler_converges_to_exact_with_order_one():
    """u at t = 20 ms after a PSC: exact is dt-independent; Euler's error shrinks as dt^1."""
    tau_s, w = 5e-3, 2.0
    errors, dts = [], [1e-4, 5e-5, 2.5e-5, 1.25e-5]
    exact_values = []
    for dt in dts:
        net = two_neurons(tau_s, w, delay=dt)
        res = {}
        for method in ("exact", "euler"):
            ds = simulate(net, t_stop=0.02, dt=dt, record="post", method=method, seed=0)
            t_arr = dt + dt
            t_end = 0.02 - t_arr
            res[method] = ds.u.values[-1, 0]
            analytic = w * tau_s / (tau_s - TAU_M) * (math.exp(-t_end / tau_s) - math.exp(-t_end / TAU_M))
        exact_values.append(res["exact"] - analytic)
        errors.append(abs(res["euler"] - analytic))
    assert max(map(abs, exact_values)) < roundoff(round(0.02 / min(dts)))
    slopes = np.diff(np.log(errors)) / np.diff(np.log(dts))
    # the measured order approaches 1 from below as dt shrinks (pre-asymptotic at coarse dt)
    assert np.all(np.diff(slopes) > 0) and abs(slopes[-1] - 1) < 0.05, slopes


@pytest.mark.parametrize("method", ["exact", "euler"])
def test_white_noise_stationary_variance(method):
    """Brunel's convention: free membrane variance sigma**2 / 2 around the mean drive."""
    sigma, mu, n = 4.0, 5.0, 4000
    params = LIFParams(tau_m=TAU_M, v_rest=0.0, v_th=100.0, v_reset=0.0, t_ref=0.0)
    net = Network(populations=[Population(name="P", n=n, params=params, v_init=mu)],
                  inputs=[Current(target="P", amplitude=mu), Noise(target="P", sigma=sigma)])
    ds = simulate(net, t_stop=0.2, dt=DT, record="all", record_every=2000, seed=11, method=method)
    u = ds.u.values[-1]  # after 10 tau_m, across independent neurons
    var = sigma**2 / 2
    if method == "euler":  # Euler-Maruyama's stationary variance of the AR(1) map
        a = 1 - DT / TAU_M
        var = sigma**2 * (DT / TAU_M) / (1 - a**2)
    # start at variance 0: after 10 tau_m the remaining deficit is var * exp(-20) (negligible)
    se_var = var * math.sqrt(2 / (n - 1))
    assert abs(u.var(ddof=1) - var) < 4 * se_var
    assert abs(u.mean() - mu) < 4 * math.sqrt(var / n)


def test_poisson_drive_mean_current():
    """Shot noise: E[I] = n_inputs * rate * weight * tau_s (Campbell's theorem)."""
    n, k, rate, w, tau_s = 3000, 20, 50.0, 0.5, 5e-3
    params = LIFParams(tau_m=TAU_M, v_rest=0.0, v_th=100.0, v_reset=0.0, t_ref=0.0)
    net = Network(populations=[Population(name="P", n=n, params=params)],
                  channels=[Channel(name="e", tau_s=tau_s)],
                  inputs=[PoissonInput(target="P", channel="e", rate=rate, weight=w, n_inputs=k)])
    ds = simulate(net, t_stop=0.1, dt=DT, record="all", record_every=1000, seed=5)
    current = ds.I.values[-1, 0]
    mean = k * rate * w * tau_s
    var = k * rate * w**2 * tau_s / 2  # Campbell: lambda * integral of (w e^{-t/tau})^2
    assert abs(current.mean() - mean) < 4 * math.sqrt(var / n)
    assert abs(current.var(ddof=1) - var) < 6 * var * math.sqrt(2 / n) + 0.05 * var  # discrete-grid kicks


@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.5, 2.0, 12.0, 30.0])
def test_poisson_cdf_table(lam):
    from scipy import stats

    from spikerate.sim.simulation import poisson_cdf_table
    table = poisson_cdf_table(lam)
    k = np.arange(table.size)
    np.testing.assert_allclose(table[:-1], stats.poisson.cdf(k[:-1], lam), rtol=1e-13, atol=1e-15)
    assert table[-1] == 1.0 and stats.poisson.sf(k[-1], lam) < 2.0**-54  # the tail cut is below a uniform's resolution
    assert poisson_cdf_table(31.0).size == 0  # large means use the general sampler
