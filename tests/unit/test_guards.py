"""Guards against absurd inputs (issue 8): a run that would take hours or more memory than the
machine has is refused at once, with the argument named, instead of running or crashing with a
NumPy/numba error.  Every test here finishes in well under a second (after compilation): the
refusals happen before anything big is allocated or computed."""

from __future__ import annotations

import numpy as np
import pytest

from spikerate import _memory, estimate_rate, optimal_bandwidth, spike_statistics
from spikerate.errors import InsufficientMemoryError
from spikerate.sim import cuba_network, simulate

pytestmark = pytest.mark.nojit


@pytest.fixture(scope="module")
def net():
    return cuba_network(n_neurons=50)


@pytest.fixture
def spikes():
    rng = np.random.default_rng(0)
    return np.sort(rng.uniform(0.0, 1.0, 200)), rng.integers(0, 10, 200)


@pytest.fixture
def low_memory(monkeypatch):
    """The machine has 1 MiB available (every estimate reads it through spikerate._memory)."""
    monkeypatch.setattr(_memory, "available_memory", lambda: 2**20)


# ------------------------------------------------------------------------------- simulate


@pytest.mark.filterwarnings("ignore:`t_stop`.*did you pass ms")
@pytest.mark.parametrize("t_stop, dt", [(1.0, 1e-12), (1e8, 1e-4)])
def test_simulate_refuses_more_steps_than_one_run_holds(net, t_stop, dt):
    with pytest.raises(ValueError, match=r"`t_stop` / `dt`.*steps"):
        simulate(net, t_stop=t_stop, dt=dt, seed=1)


@pytest.mark.filterwarnings("ignore:`t_stop`.*did you pass ms")
@pytest.mark.parametrize("t_stop, dt", [(1e300, 1e-10), (1.0, 5e-324)])
def test_simulate_step_count_beyond_the_float_range_is_a_value_error(net, t_stop, dt):
    """t_stop / dt = inf used to raise OverflowError from round()."""
    with pytest.raises(ValueError, match=r"`t_stop` / `dt`.*inf steps"):
        simulate(net, t_stop=t_stop, dt=dt, seed=1)


def test_simulate_refuses_hours_of_work_unless_allow_long(net):
    # 1e4 steps x (50 neurons + 1000 per step) x 1e6 trials = 1e13 neuron updates and more
    with pytest.raises(ValueError, match=r"`t_stop` / `dt`.*10000 steps.*1000000 trials.*allow_long=True"):
        simulate(net, t_stop=1.0, seed=1, trials=10**6)
    # allowed, it gets as far as the memory estimate (1 byte here), without running
    with pytest.raises(InsufficientMemoryError, match="trials"):
        simulate(net, t_stop=1.0, seed=1, trials=10**6, allow_long=True, max_memory=1)


def test_simulate_long_but_not_absurd_run_passes_the_work_guard(net):
    # 1e9 steps of 50 neurons: ~1e12 updates, about 20 minutes: not refused as a slip
    with pytest.raises(InsufficientMemoryError), pytest.warns(UserWarning, match="did you pass ms"):
        simulate(net, t_stop=1e5, seed=1, max_memory=1)


def test_simulate_allow_long_must_be_a_bool(net):
    with pytest.raises(TypeError, match="`allow_long`"):
        simulate(net, t_stop=0.01, seed=1, allow_long="yes")


def test_simulate_record_every_beyond_the_run_records_the_initial_state(net):
    """A record_every above int64 (found by the fuzz test) used to fail in numba's typing."""
    ds = simulate(net, t_stop=0.01, seed=1, record=[0, 3], record_every=1e300)
    ref = simulate(net, t_stop=0.01, seed=1, record=[0, 3], record_every=100)
    assert ds.sizes["time"] == 1
    np.testing.assert_array_equal(ds.u.values, ref.u.values[:1])
    np.testing.assert_array_equal(ds.spike_time.values, ref.spike_time.values)


def test_allow_long_is_a_simulate_key_of_scenarios():
    from spikerate.scenario import section_keys
    assert "allow_long" in section_keys("simulate", {})


# ------------------------------------------------------------------------------- estimators


def test_estimate_rate_refuses_a_kernel_far_wider_than_the_recording(spikes):
    with pytest.raises(ValueError, match=r"`sigma` must be at most 1e\+06 x the duration"):
        estimate_rate(spikes, duration=1.0, sigma=1e300)


@pytest.mark.parametrize("kernel", ["gaussian", "rectangular", "epanechnikov"])
def test_estimate_rate_kernel_as_wide_as_allowed_gives_the_mean_rate(spikes, kernel):
    """sigma = 1e6 x duration: the table of the kernel on the output grid used to take
    1.7e10 entries (MemoryError); renormalised at the borders the rate is each neuron's mean."""
    t, i = spikes
    ds = estimate_rate((t, i), duration=1.0, sigma=1e6, kernel=kernel, n_neurons=10)
    mean = np.bincount(i, minlength=10) / 1.0
    np.testing.assert_allclose(ds.rate.values, np.broadcast_to(mean, ds.rate.shape), rtol=1e-9)


@pytest.mark.parametrize("kernel", ["gaussian", "laplacian", "exponential", "alpha"])
def test_estimate_rate_huge_cutoff_is_the_untruncated_kernel(spikes, kernel):
    """A cutoff of 1e300 sigma used to overflow the sample indices (an endless loop); the tail
    beyond the default cutoff is below 1e-15 of the mass."""
    kw = dict(duration=1.0, sigma=0.01, dt=1e-3, kernel=kernel)
    np.testing.assert_allclose(estimate_rate(spikes, cutoff=1e300, **kw).rate.values,
                               estimate_rate(spikes, **kw).rate.values, rtol=1e-12,
                               atol=1e-9)  # Hz: rates far from any spike are ~0, where rtol means nothing


@pytest.mark.parametrize("dt", [1e-300, 5e-324])
def test_estimate_rate_refuses_a_tiny_dt_before_allocating(spikes, dt):
    with pytest.raises(ValueError, match=r"Use a larger `dt`.*allow_long=True"):
        estimate_rate(spikes, duration=1.0, sigma=0.01, dt=dt)
    with pytest.raises(InsufficientMemoryError, match=r"duration / `dt` = 1 s / .*Use a larger `dt`"):
        estimate_rate(spikes, duration=1.0, sigma=0.01, dt=dt, allow_long=True)


def test_estimate_rate_refuses_a_huge_duration_before_allocating(spikes):
    with pytest.raises(InsufficientMemoryError, match=r"duration / `dt` = 1e\+300 s"):
        estimate_rate(spikes, duration=1e300, sigma=0.01, dt=1e-3, allow_long=True)
    with pytest.raises(InsufficientMemoryError, match=r"duration / `bin_width` = 1e\+300 s"):
        estimate_rate(spikes, duration=1e300, method="histogram", bin_width=1.0)


@pytest.mark.parametrize("bin_width", [1e-300, 1e-10])
def test_estimate_rate_refuses_a_tiny_bin_width_before_allocating(spikes, bin_width):
    with pytest.raises(InsufficientMemoryError, match=r"`bin_width`"):
        estimate_rate(spikes, duration=1.0, method="histogram", bin_width=bin_width)


def test_estimate_rate_refuses_a_bootstrap_larger_than_memory():
    t = (np.array([0.1, 0.2]), np.array([0, 0]), np.array([0, 1]))
    kw = dict(duration=1.0, sigma=0.01, trials="mean", n_boot=10**12)
    with pytest.raises(ValueError, match=r"`n_boot`.*allow_long=True"):  # 1e12 x 2 trials x 1001 samples
        estimate_rate(t, **kw)
    with pytest.raises(InsufficientMemoryError, match=r"1000000000000 resamples \(`n_boot`\)"):
        estimate_rate(t, allow_long=True, **kw)


def test_estimate_rate_refuses_hours_of_kernel_samples_unless_allow_long(spikes, monkeypatch):
    monkeypatch.setattr(_memory, "available_memory", lambda: 2**60)  # only the work guard applies
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0.0, 1.0, 200_000))
    # 2e5 spikes x 1e8 samples each (sigma = 1 s over a 1 s recording at dt = 10 ns)
    with pytest.raises(ValueError, match=r"200000 spikes x 1e\+08 samples.*Use a larger `dt`.*allow_long=True"):
        estimate_rate(t, duration=1.0, sigma=1.0, dt=1e-8, by="all")
    monkeypatch.setattr(_memory, "available_memory", lambda: 2**20)
    with pytest.raises(InsufficientMemoryError, match="`dt`"):  # past the work guard: the memory check
        estimate_rate(t, duration=1.0, sigma=1.0, dt=1e-8, by="all", allow_long=True)


def test_array_input_refuses_more_neurons_than_memory_holds(spikes):
    with pytest.raises(InsufficientMemoryError, match=r"`n_neurons` = 1000000000000"):
        estimate_rate(spikes, duration=1.0, sigma=0.01, n_neurons=10**12)
    with pytest.raises(InsufficientMemoryError, match=r"`n_trials`"):
        spike_statistics(spikes, duration=1.0, n_neurons=10**6, n_trials=10**9)


def test_optimal_bandwidth_refuses_bins_far_below_the_duration(spikes):
    """A 1e-300 s candidate used to overflow the bin count (ZeroDivisionError in the kernel)."""
    with pytest.raises(ValueError, match=r"wider `candidates`.*allow_long=True"):
        optimal_bandwidth(spikes, duration=1.0, method="bin", candidates=[1e-300, 0.1])
    with pytest.raises(InsufficientMemoryError, match=r"narrowest of `candidates` \(1e-300 s"):
        optimal_bandwidth(spikes, duration=1.0, method="bin", candidates=[1e-300, 0.1], allow_long=True)


def test_kernel_bandwidth_candidate_far_out_is_costed(spikes):
    """8 sqrt(2) w / resolution overflowed to inf (OverflowError) for w ~ 1e303 (fuzz test)."""
    from spikerate.estimators.bandwidth import kernel_cost
    t = spikes[0]
    far = kernel_cost(t, [1e303], duration=1.0, resolution=1e-3)
    wide = kernel_cost(t, [1e3], duration=1.0, resolution=1e-3)
    assert np.isfinite(far).all() and np.isfinite(wide).all()
    ds = optimal_bandwidth(spikes, duration=1.0, candidates=[1e303, 0.05], resolution=1e-3)
    assert float(ds.bandwidth) in (0.05, 1e303)


def test_optimal_bandwidth_refuses_endless_shifts(spikes):
    with pytest.raises(ValueError, match=r"`n_shifts`.*allow_long=True"):
        optimal_bandwidth(spikes, duration=1.0, method="bin", n_shifts=10**12)


@pytest.mark.parametrize("widest", [1e8, 775.0])
def test_adaptive_bandwidth_refuses_candidates_wider_than_the_recording(spikes, widest):
    """Its FFTs are padded by 8 x the widest candidate: 775 s for a 1 s recording took 6 GB
    and minutes (found by the fuzz test); 1e8 s needed terabytes."""
    with pytest.raises(ValueError, match=r"`candidates` must be at most the duration \(1 s\) for method='adaptive'"):
        optimal_bandwidth(spikes, duration=1.0, method="adaptive", candidates=[1e-2, widest], resolution=1e-3)


def test_optimal_bandwidth_refuses_hours_of_per_neuron_ffts():
    n = 200_000  # one spike per neuron, an FFT of 2**21 points each
    t = np.linspace(0.0, 1.0, n)
    with pytest.raises(ValueError, match=r"200000 rows.*coarser `resolution`.*allow_long=True"):
        optimal_bandwidth((t, np.arange(n)), duration=1.0, per="neuron", resolution=1e-6)


@pytest.mark.parametrize("kw", [dict(fano_window=1e-300), dict(fano_window=1e-9), dict(duration=1e300)])
def test_spike_statistics_refuses_window_counts_beyond_memory(spikes, kw):
    kw = dict(dict(duration=1.0), **kw)
    with pytest.raises(InsufficientMemoryError, match=r"duration / `fano_window`"):
        spike_statistics(spikes, **kw)


# ------------------------------------------------------------------------------- RTRL memory


def _rate_problem(n, model="rate", batch=2, T=5):
    from spikerate.models import CurrentModel, RateModel
    rng = np.random.default_rng(0)
    cls = RateModel if model == "rate" else CurrentModel
    m = cls(w=rng.normal(0, 0.1, (n, n)), u=rng.normal(0, 1, (n, 2)), b=np.zeros(n), tau=1.0, g="tanh",
            trainable=("w", "b"))
    return m, rng.normal(0, 1, (batch, T, 2)), rng.normal(0, 1, (batch, T, n))


def _spiking_problem(n, batch=2, T=5):
    from spikerate.learn.spiking import SpikingModel
    rng = np.random.default_rng(0)
    m = SpikingModel(w=rng.normal(0, 0.5, (n, n)), u=rng.normal(0, 0.6, (n, 2)), b=np.full(n, 0.1), tau_m=20e-3,
                     tau_out=10e-3, v_th=1.0)
    return m, rng.normal(0, 1, (batch, T, 2)), rng.normal(0, 1, (batch, T, n))


@pytest.mark.parametrize("model", ["rate", "current"])  # the compiled path and the generic one
def test_rtrl_refuses_sensitivities_beyond_memory(low_memory, model):
    from spikerate.learn import RTRL, value_and_grad
    m, x, y = _rate_problem(60, model)  # 60 x 3660 sensitivities: 3.4 MiB (two of them)
    with pytest.raises(InsufficientMemoryError,
                       match=r"RTRL\(\) needs about .* \(60 state variables x 3660 trainable parameter entries\) but "
                             r"the machine has 0.00 GiB available. Use method=BPTT\(\).*`trainable=` \(the matrices "
                             r"\['w'\]"):
        value_and_grad(m, x, y, method=RTRL(), dt=0.1)
    loss, grads = value_and_grad(m, x, y, method="bptt", dt=0.1)  # BPTT keeps no sensitivities
    assert np.isfinite(loss) and grads["w"].shape == (60, 60)


def test_rtrl_small_problem_still_runs_with_little_memory(low_memory):
    from spikerate.learn import BPTT, RTRL, value_and_grad
    m, x, y = _rate_problem(4)
    loss, grads = value_and_grad(m, x, y, method=RTRL(), dt=0.1)
    ref_loss, ref = value_and_grad(m, x, y, method=BPTT(), dt=0.1)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grads["w"], ref["w"], rtol=1e-9, atol=1e-14)


def test_rtrl_check_comes_before_the_compiled_path_allocates(low_memory, monkeypatch):
    from spikerate.learn import RTRL, SurrogateRTRL, gradients, value_and_grad

    def allocated(*args, **kwargs):
        raise AssertionError("a workspace was allocated before the memory check")
    monkeypatch.setattr(gradients, "_workspace", allocated)
    m, x, y = _rate_problem(60)
    with pytest.raises(InsufficientMemoryError):
        value_and_grad(m, x, y, method=RTRL(), dt=0.1)
    m, x, y = _spiking_problem(60)
    with pytest.raises(InsufficientMemoryError):
        value_and_grad(m, x, y, method=SurrogateRTRL(), dt=1e-3, trainable=("w",))


@pytest.mark.parametrize("method", ["surrogate_rtrl", "eprop", "diagonal_rtrl"])
def test_surrogate_rtrl_refuses_sensitivities_beyond_memory(low_memory, method):
    """e-prop and the diagonal approximation keep the same n x n_params matrices here."""
    from spikerate.learn import value_and_grad
    m, x, y = _spiking_problem(60)  # 5 matrices of 60 x 3600: 8.2 MiB
    with pytest.raises(InsufficientMemoryError, match=r"needs about 0.01 GiB.*Use method=SurrogateBPTT\(\)"):
        value_and_grad(m, x, y, method=method, dt=1e-3, trainable=("w",))
    loss, grads = value_and_grad(m, x, y, method="surrogate_bptt", dt=1e-3, trainable=("w",))
    assert np.isfinite(loss) and grads["w"].shape == (60, 60)


def test_fit_refuses_rtrl_beyond_memory_before_the_first_epoch(low_memory):
    from spikerate.learn import RTRL, SurrogateRTRL, fit
    m, x, y = _rate_problem(60)
    with pytest.raises(InsufficientMemoryError, match=r"RTRL\(\) needs"):
        fit(m, x, y, method=RTRL(), epochs=3, dt=0.1, progress=False)
    m, x, y = _spiking_problem(60)
    with pytest.raises(InsufficientMemoryError, match=r"SurrogateRTRL\(\) needs.*SurrogateBPTT\(\)"):
        fit(m, x, y, method=SurrogateRTRL(), epochs=3, dt=1e-3, trainable=("w",), progress=False)


def test_fit_online_rtrl_counts_one_sensitivity_per_sequence(monkeypatch):
    """Online RTRL keeps a sensitivity per sequence of the batch: what fits offline may not."""
    from spikerate.learn import RTRL, fit
    from spikerate.learn.gradients import prepare, rtrl_memory
    m, x, y = _rate_problem(20, "current", batch=8)
    pb = prepare(m, x, y, dt=0.1)
    offline = rtrl_memory(pb, RTRL())["sensitivities"]
    online = rtrl_memory(pb, RTRL(), online=True)["sensitivities"]
    assert online == pytest.approx(offline * 9 / 2)  # (batch + 1) n x n_params instead of 2
    monkeypatch.setattr(_memory, "available_memory", lambda: int((offline + online) / 2))
    h = fit(m, x, y, method=RTRL(), epochs=1, dt=0.1, progress=False)
    assert h.sizes["epoch"] == 1
    with pytest.raises(InsufficientMemoryError, match=r"x the 8 sequences of the batch, online.*smaller batch"):
        fit(m, x, y, method=RTRL(), online=True, epochs=1, dt=0.1, progress=False)
