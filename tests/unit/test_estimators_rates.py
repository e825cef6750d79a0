"""estimate_rate: kernels, border handling, histograms, pooling, trials, naive twins, bad input."""

import math

import numpy as np
import pytest

from spikerate.estimators import KERNELS, estimate_rate, kernel_pdf
from spikerate.estimators.kernels import DEFAULT_CUTOFF
from spikerate.io import validate_dataset
from tests.reference import naive_rates as naive

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

SMOOTH = ["gaussian", "epanechnikov", "triangular", "laplacian", "alpha"]


def poisson_trains(rng, n_neurons, rate, duration, n_trials=1, dt=None):
    n = rng.poisson(rate * duration * n_neurons * n_trials)
    t = rng.uniform(0, duration, n)
    if dt is not None:
        t = np.clip(np.round(t / dt), 1, round(duration / dt)) * dt
    return t, rng.integers(0, n_neurons, n), rng.integers(0, n_trials, n)


@pytest.mark.parametrize("name", list(KERNELS))
def test_every_kernel_has_unit_area_and_sigma(name):
    sigma = 0.01
    x = np.linspace(-0.4, 0.4, 800_001)
    k = kernel_pdf(name, x, sigma=sigma)
    assert np.all(k >= 0)
    area = np.trapezoid(k, x)
    jump = (x[1] - x[0]) * k.max()  # a jump (rectangular, exponential) costs up to half a step each
    assert area == pytest.approx(1.0, abs=jump + 1e-9)
    mean = np.trapezoid(x * k, x)
    sd = math.sqrt(np.trapezoid((x - mean) ** 2 * k, x))
    assert sd == pytest.approx(sigma, rel=1e-4)
    if KERNELS[name].causal:
        assert np.all(k[x < 0] == 0)


@pytest.mark.parametrize("name", list(KERNELS))
@pytest.mark.parametrize("sigma", [0.005, 0.03])
def test_rate_integrates_to_spike_count_with_border_correction(name, sigma, rng=np.random.default_rng(3)):
    duration, dt = 1.0, sigma / 400
    times = np.concatenate([[0.0, 0.001, duration - 0.002], rng.uniform(0, duration, 7)])
    if KERNELS[name].causal:  # the kernel of a spike near the end has almost no mass inside: skip those
        times = times[times < duration - 3 * sigma]
    ds = estimate_rate((times, np.zeros(times.size, int)), duration=duration, sigma=sigma, dt=dt, kernel=name,
                       border="renormalize")
    integral = np.trapezoid(ds.rate.values[:, 0], dx=dt)
    tol = 1e-4 if name in SMOOTH else 5 * dt / sigma  # jumps (rectangular, exponential) cost O(dt)
    assert integral == pytest.approx(times.size, rel=tol)


def test_without_border_correction_mass_is_lost_at_the_edges():
    ds = estimate_rate((np.array([0.0]), np.array([0])), duration=1.0, sigma=0.05, dt=1e-4, border="none")
    assert np.trapezoid(ds.rate.values[:, 0], dx=1e-4) == pytest.approx(0.5, rel=1e-3)


@pytest.mark.parametrize("name", list(KERNELS))
@pytest.mark.parametrize("border", ["renormalize", "none"])
@pytest.mark.parametrize("grid", [None, 1e-3, 1e-4])  # off the output grid, on it, on a finer one
def test_kernel_estimate_equals_naive_twin(name, border, grid):
    rng = np.random.default_rng(11)
    t, i, k = poisson_trains(rng, 5, 8.0, 2.0, n_trials=2, dt=grid)
    t[:3] = [0.0, 2.0, 1.0]
    sigma, dt = 0.04, 1e-3
    ds = estimate_rate((t, i, k), duration=2.0, n_neurons=5, sigma=sigma, dt=dt, kernel=name, border=border)
    cutoff = None if KERNELS[name].bounded else DEFAULT_CUTOFF[name]
    ref = naive.kernel_rate(t, k * 5 + i, 10, np.ones(10), name, sigma, cutoff, dt, 2.0, border == "renormalize")
    got = ds.rate.transpose("trial", "neuron", "time").values.reshape(10, -1)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * ref.max())


def test_causal_exponential_is_the_discrete_synaptic_filter():
    rng = np.random.default_rng(5)
    dt, tau, duration = 1e-4, 0.02, 1.0
    steps = rng.choice(np.arange(1, 10001), 40, replace=False)
    steps = np.concatenate([steps, steps[:5]])  # two spikes in the same step
    times = steps * dt
    ds = estimate_rate((times, np.zeros(times.size, int)), duration=duration, kernel="exponential",
                       sigma=tau, dt=dt)
    assert ds.attrs["border"] == "none"
    ref = naive.exponential_filter(times, duration, dt, tau)
    np.testing.assert_allclose(ds.rate.values[:, 0], ref, rtol=1e-12, atol=1e-12)


def test_simulated_spikes_dataset_and_exponential_filter(small_net):
    from spikerate.sim import simulate
    sp = simulate(small_net, t_stop=0.1, seed=2)
    ds = estimate_rate(sp, kernel="exponential", sigma=0.01)
    validate_dataset(ds)
    assert ds.attrs["dt"] == sp.attrs["dt"] and ds.sizes["time"] == round(0.1 / sp.attrs["dt"]) + 1
    sel = sp.spike_neuron.values == int(np.bincount(sp.spike_neuron.values).argmax())
    ref = naive.exponential_filter(sp.spike_time.values[sel], 0.1, sp.attrs["dt"], 0.01)
    n = int(np.bincount(sp.spike_neuron.values).argmax())
    np.testing.assert_allclose(ds.rate.sel(neuron=n).values, ref, rtol=1e-12, atol=1e-12)
    pop = estimate_rate(sp, kernel="exponential", sigma=0.01, by="population")
    assert list(pop.population.values) == ["E", "I"]
    e = sp.population.values == "E"
    np.testing.assert_allclose(pop.rate.sel(population="E").values, ds.rate.values[:, e].mean(axis=1), rtol=1e-12)


def test_histogram_counts_and_short_last_bin():
    times = np.array([0.0, 0.05, 0.1, 0.1, 0.25, 0.999, 1.0])
    ids = np.array([0, 1, 0, 0, 1, 0, 1])
    ds = estimate_rate((times, ids), duration=1.0, method="histogram", bin_width=0.3)
    validate_dataset(ds)
    np.testing.assert_allclose(ds.bin_end - ds.bin_start, [0.3, 0.3, 0.3, 0.1], rtol=1e-12)
    np.testing.assert_allclose(ds.time, [0.15, 0.45, 0.75, 0.95], rtol=1e-12)
    counts = naive.histogram(times, ids, 2, np.array([0, 0.3, 0.6, 0.9, 1.0]))
    np.testing.assert_allclose(ds.rate.values.T, counts / np.array([0.3, 0.3, 0.3, 0.1]), rtol=1e-12)
    # every spike counted: sum(rate * width) = count
    assert float((ds.rate * (ds.bin_end - ds.bin_start)).sum()) == pytest.approx(times.size)
    pooled = estimate_rate((times, ids), duration=1.0, method="histogram", bin_width=0.3, by="all")
    assert pooled.rate.dims == ("time",)
    np.testing.assert_allclose(pooled.rate, ds.rate.mean("neuron"), rtol=1e-12)


def test_histogram_per_trial_normalisation():
    t = np.array([0.1, 0.1, 0.6])
    ds = estimate_rate((t, np.array([0, 1, 0]), np.array([0, 1, 1])), duration=1.0, method="histogram",
                       bin_width=0.5, by="all", trials="mean", ci=None)
    # counts / (width * neurons * trials)
    np.testing.assert_allclose(ds.rate, [2 / (0.5 * 2 * 2), 1 / (0.5 * 2 * 2)])


def test_shifting_spikes_shifts_the_rate():
    rng = np.random.default_rng(2)
    dt = 1e-3
    steps = rng.integers(300, 600, 30)
    a = estimate_rate(steps * dt, duration=1.0, sigma=0.01, dt=dt, border="none")
    b = estimate_rate((steps + 100) * dt, duration=1.0, sigma=0.01, dt=dt, border="none")
    np.testing.assert_allclose(b.rate.values[100:], a.rate.values[:-100], rtol=1e-9, atol=1e-9)


def test_relabelling_neurons_permutes_the_rates():
    rng = np.random.default_rng(4)
    t, i, _ = poisson_trains(rng, 6, 10.0, 1.0)
    perm = rng.permutation(6)
    a = estimate_rate((t, i), duration=1.0, n_neurons=6, sigma=0.02, dt=1e-3)
    b = estimate_rate((t, perm[i]), duration=1.0, n_neurons=6, sigma=0.02, dt=1e-3)
    np.testing.assert_array_equal(b.rate.values[:, perm], a.rate.values)


def test_rates_are_nonnegative_and_empty_trains_are_zero():
    ds = estimate_rate((np.array([0.5]), np.array([2])), duration=1.0, n_neurons=4, sigma=0.05, dt=1e-3)
    assert np.all(ds.rate.values >= 0)
    assert np.all(ds.rate.sel(neuron=[0, 1, 3]).values == 0)
    empty = estimate_rate((np.array([]), np.array([], int)), duration=1.0, n_neurons=3, sigma=0.05, dt=1e-2)
    assert empty.rate.shape == (101, 3) and not np.any(empty.rate.values)
    h = estimate_rate((np.array([]), np.array([], int)), duration=1.0, n_neurons=3, method="histogram",
                      bin_width=0.1, by="all", trials="mean")
    assert not np.any(h.rate.values) and np.all(np.isnan(h.rate_sem.values))


def test_trials_each_and_mean_with_bootstrap_band():
    rng = np.random.default_rng(8)
    t, i, k = poisson_trains(rng, 3, 20.0, 1.0, n_trials=12)
    kw = dict(duration=1.0, n_neurons=3, sigma=0.05, dt=1e-2)
    each = estimate_rate((t, i, k), trials="each", **kw)
    assert each.rate.dims == ("trial", "time", "neuron") and each.sizes["trial"] == 12
    mean = estimate_rate((t, i, k), trials="mean", seed=1, n_boot=400, **kw)
    validate_dataset(mean)
    np.testing.assert_allclose(mean.rate, each.rate.mean("trial"), rtol=1e-12)
    np.testing.assert_allclose(mean.rate_sem, each.rate.std("trial", ddof=1) / math.sqrt(12), rtol=1e-12)
    assert np.all(mean.rate_low <= mean.rate + 1e-12) and np.all(mean.rate_high >= mean.rate - 1e-12)
    # the 95% percentile band is about +-1.96 SEM wide (bootstrap SE uses ddof=0: factor sqrt(11/12))
    width = float(((mean.rate_high - mean.rate_low) / mean.rate_sem).median())
    assert 2 * 1.96 * math.sqrt(11 / 12) * 0.85 < width < 2 * 1.96 * 1.1
    again = estimate_rate((t, i, k), trials="mean", seed=1, n_boot=400, **kw)
    assert again.rate_low.equals(mean.rate_low)


def test_population_and_all_pooling_and_save_load(tmp_path):
    import spikerate as sr
    t = np.array([0.1, 0.2, 0.3])
    ds = estimate_rate((t, np.array([0, 1, 2])), duration=0.5, n_neurons=3, population=["E", "E", "I"],
                       sigma=0.02, dt=1e-3, by="population")
    assert list(ds.population.values) == ["E", "I"] and list(ds.n_neurons.values) == [2, 1]
    per = estimate_rate((t, np.array([0, 1, 2])), duration=0.5, n_neurons=3, sigma=0.02, dt=1e-3)
    np.testing.assert_allclose(ds.rate.sel(population="E"), per.rate.sel(neuron=[0, 1]).mean("neuron"), rtol=1e-12)
    sr.save(ds, tmp_path / "r.nc")
    back = sr.load(tmp_path / "r.nc")
    np.testing.assert_array_equal(back.rate.values, ds.rate.values)
    assert back.attrs["estimator"] == "kernel" and math.isnan(back.attrs["bin_width"])


def test_default_bandwidths_are_chosen_by_shimazaki():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 2.0, 200))
    ds = estimate_rate(t, duration=2.0, dt=1e-3)
    assert ds.attrs["bandwidth_method"] == "shimazaki2010" and 0 < ds.attrs["bandwidth"] <= 1.0
    h = estimate_rate(t, duration=2.0, method="histogram")
    assert h.attrs["bandwidth_method"] == "shimazaki2007" and 0 < h.attrs["bin_width"] <= 1.0


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(sigma=-0.1), ValueError, "`sigma`"),
    (dict(sigma=0.1, dt=0.0), ValueError, "`dt`"),
    (dict(method="histogram", bin_width=-1.0), ValueError, "`bin_width`"),
    (dict(sigma=0.1, kernel="gausian"), ValueError, "Did you mean `gaussian`"),
    (dict(sigma=0.1, kernel=3), TypeError, "`kernel`"),
    (dict(sigma=0.1, method="kde"), ValueError, "`method`"),
    (dict(sigma=0.1, by="neurons"), ValueError, "Did you mean `neuron`"),
    (dict(sigma=0.1, trials="avg"), ValueError, "`trials`"),
    (dict(sigma=0.1, ci=1.5, trials="mean"), ValueError, "`ci`"),
    (dict(sigma=0.1, border="reflect"), ValueError, "`border`"),
    (dict(sigma=0.1, cutoff=1.0), ValueError, "`cutoff`"),
    (dict(sigma=0.1, bin_width=0.1), ValueError, "`bin_width`"),
    (dict(method="histogram", sigma=0.1, bin_width=0.1), ValueError, "`sigma`"),
])
def test_bad_arguments_name_the_argument(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        estimate_rate((np.array([0.1]), np.array([0])), duration=1.0, **kwargs)


@pytest.mark.parametrize("spikes, kwargs, exc, match", [
    ((np.array([0.1, np.nan]), np.array([0, 0])), dict(duration=1.0), ValueError, "finite"),
    ((np.array([0.1, 1.5]), np.array([0, 0])), dict(duration=1.0), ValueError, r"\[0, duration\]"),
    ((np.array([-0.1]), np.array([0])), dict(duration=1.0), ValueError, r"\[0, duration\]"),
    ((np.array([0.1, 0.2]), np.array([0])), dict(duration=1.0), ValueError, "`neuron_ids` must have the length"),
    ((np.array([0.1]), np.array([0]), np.array([0, 1])), dict(duration=1.0), ValueError, "`trial_ids`"),
    ((np.array([0.1]), np.array([0.5])), dict(duration=1.0), TypeError, "`neuron_ids` must hold integers"),
    ((np.array([0.1]), np.array([3])), dict(duration=1.0, n_neurons=2), ValueError, "`neuron_ids` must lie"),
    ((np.array(["a"]), np.array([0])), dict(duration=1.0), TypeError, "`times`"),
    ((np.array([0.1]), np.array([0])), dict(), TypeError, "`duration`"),
    ((np.array([0.1]), np.array([0])), dict(duration=-1.0), ValueError, "`duration`"),
    ("spikes.nc", dict(duration=1.0), TypeError, "`spikes`"),
    ((np.array([0.1]),), dict(duration=1.0), ValueError, "`spikes`"),
])
def test_bad_spike_input(spikes, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        estimate_rate(spikes, sigma=0.1, **kwargs)


def test_dataset_input_refuses_array_options(small_net):
    from spikerate.sim import simulate
    sp = simulate(small_net, t_stop=0.02, seed=1)
    with pytest.raises(TypeError, match="`duration`"):
        estimate_rate(sp, sigma=0.01, duration=1.0)


def test_output_larger_than_memory_is_refused_before_allocating(monkeypatch):
    from spikerate.errors import InsufficientMemoryError
    from spikerate import _memory
    monkeypatch.setattr(_memory, "available_memory", lambda: 10_000)
    with pytest.raises(InsufficientMemoryError, match="larger `dt`"):
        estimate_rate((np.array([0.1]), np.array([0])), duration=1.0, n_neurons=10, sigma=0.01, dt=1e-3)


def test_rates_schema_accepts_each_layout_and_rejects_others():
    from spikerate.errors import SchemaError
    t = (np.array([0.1, 0.2]), np.array([0, 1]), np.array([0, 1]))
    kw = dict(duration=0.5, sigma=0.02, dt=1e-2)
    for by in ("neuron", "population", "all"):
        for trials in ("each", "mean"):
            validate_dataset(estimate_rate(t, by=by, trials=trials, n_boot=10, **kw))
    bad = estimate_rate(t, **kw)
    bad["rate"] = bad.rate.transpose("neuron", "trial", "time")
    with pytest.raises(SchemaError, match="rate"):
        validate_dataset(bad)
    with pytest.raises(SchemaError, match="rate"):
        validate_dataset(bad.drop_vars("rate"))


def test_kernel_narrower_than_the_output_step_warns():
    with pytest.warns(UserWarning, match="below the output step"):
        estimate_rate(np.array([0.5]), duration=1.0, sigma=1e-4, dt=1e-3)


def test_no_spikes_and_no_width_is_a_clear_error():
    with pytest.raises(ValueError, match="`sigma` cannot be chosen"):
        estimate_rate(np.array([]), duration=1.0)
    with pytest.raises(ValueError, match="`bin_width` cannot be chosen"):
        estimate_rate(np.array([]), duration=1.0, method="histogram")


_THREADS_SCRIPT = """
import hashlib, numpy as np
from spikerate.estimators import estimate_rate
rng = np.random.default_rng(0)
t = np.sort(rng.uniform(0, 2.0, 3000)); i = rng.integers(0, 50, 3000)
ds = estimate_rate((t, i), duration=2.0, n_neurons=50, sigma=0.02, dt=1e-3)
print(hashlib.sha256(np.ascontiguousarray(ds.rate.values).tobytes()).hexdigest())
"""


def test_kernel_rates_bit_identical_whatever_numba_num_threads():
    """Rows run in parallel, each row by one thread: the result cannot depend on the threads."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = str(Path(__file__).resolve().parents[2])
    digests = set()
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        out = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT], env=env, capture_output=True, text=True,
                             check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_a_seed_is_drawn_and_stored_only_when_a_bootstrap_runs():
    from spikerate.scenario import Scenario, run_scenario
    from spikerate.sim import cuba_network, simulate
    spikes = simulate(cuba_network(n_neurons=200, p=0.1), t_stop=0.1, seed=2, trials=2)
    plain = estimate_rate(spikes, by="population", sigma=5e-3, dt=1e-3)  # trials="each": nothing random
    assert "seed" not in plain.attrs
    boot = estimate_rate(spikes, by="population", trials="mean", sigma=5e-3, dt=1e-3, n_boot=50)
    assert isinstance(boot.attrs["seed"], int)
    # in a scenario the bootstrap follows the simulation's seed: the same scenario, the same bands
    config = {"network": {"builder": "cuba", "n_neurons": 200, "p": 0.1},
              "simulate": {"t_stop": 0.1, "seed": 4, "trials": 2},
              "rates": {"by": "population", "trials": "mean", "sigma": 5e-3, "dt": 1e-3, "n_boot": 50}}
    a, b = (run_scenario(Scenario(name="r", config=config), progress=False)["rates"].to_dataset() for _ in range(2))
    assert a.attrs["seed"] == 4
    np.testing.assert_array_equal(a["rate_low"].values, b["rate_low"].values)
