"""Bad input is rejected at the boundary, with a message that names the argument."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from spikerate.errors import InsufficientMemoryError, SpikerateError
from spikerate.sim import (AllToAll, Channel, Current, FixedInDegree, FixedProbability, FromMatrix, LIFParams,
                           Network, Population, Projection, TimedCurrent, cuba_network, estimate_memory,
                           simulate)

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)


def two_pop(**kw) -> Network:
    """E (8 neurons) and I (2 neurons), one exponential channel, E -> E+I all-to-all."""
    args = dict(populations=[Population(name="E", n=8), Population(name="I", n=2)],
                channels=[Channel(name="e", tau_s=5e-3)],
                projections=[Projection(pre="E", post=("E", "I"), channel="e", rule=AllToAll(), weight=0.1)])
    args.update(kw)
    return Network(**args)


# ------------------------------------------------------------------------------ LIFParams


@pytest.mark.parametrize("tau_m", [0.0, -0.01, np.array([0.02, 0.0])])
def test_lif_tau_m_not_positive(tau_m):
    with pytest.raises(ValueError, match=r"`tau_m` must be > 0"):
        LIFParams(tau_m=tau_m)


@pytest.mark.parametrize("tau_m", [np.nan, np.inf, np.array([0.02, np.nan])])
def test_lif_tau_m_not_finite(tau_m):
    with pytest.raises(ValueError, match=r"`tau_m` must be finite"):
        LIFParams(tau_m=tau_m)


def test_lif_tau_m_not_a_number():
    with pytest.raises(TypeError, match=r"`tau_m` must be a real number"):
        LIFParams(tau_m="20 ms")


def test_lif_t_ref_negative():
    with pytest.raises(ValueError, match=r"`t_ref` must be >= 0"):
        LIFParams(t_ref=-1e-3)
    assert LIFParams(t_ref=0.0).t_ref == 0.0  # zero refractoriness is allowed


@pytest.mark.parametrize("v_reset", [20.0, 25.0])
def test_lif_v_reset_not_below_threshold(v_reset):
    with pytest.raises(ValueError, match=r"`v_reset`.*below `v_th`"):
        LIFParams(v_th=20.0, v_reset=v_reset)


def test_lif_per_neuron_v_reset_above_threshold():
    with pytest.raises(ValueError, match=r"`v_reset`.*below `v_th`"):
        LIFParams(v_th=20.0, v_reset=np.array([10.0, 21.0, 10.0]))


def test_lif_per_neuron_lengths_differ():
    with pytest.raises(ValueError, match=r"same length.*\[2, 3\]"):
        LIFParams(tau_m=np.array([0.02, 0.03]), t_ref=np.array([1e-3, 2e-3, 3e-3]))


def test_lif_milliseconds_warn():
    with pytest.warns(UserWarning, match=r"`tau_m`.*ms"):
        p = LIFParams(tau_m=20)
    assert p.tau_m == 20.0  # a warning, not an error


def test_lif_seconds_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = LIFParams(tau_m=np.array([0.01, 0.02]), t_ref=2e-3)
    assert p.size == 2


# ------------------------------------------------------------------------------ Population


def test_population_empty():
    with pytest.raises(ValueError, match=r"`E\.n` must be an integer >= 1"):
        Population(name="E", n=0)


def test_population_n_not_integer():
    with pytest.raises(TypeError, match=r"`E\.n` must be an integer"):
        Population(name="E", n=2.5)


@pytest.mark.parametrize("name", ["my pop", "1E", "", "E-I", 3])
def test_population_bad_name(name):
    with pytest.raises(ValueError, match=r"`name`"):
        Population(name=name, n=3)


def test_population_params_wrong_length():
    with pytest.raises(ValueError, match=r"per-neuron parameters of population 'E' have length 3; expected n = 5"):
        Population(name="E", n=5, params=LIFParams(tau_m=np.full(3, 0.02)))


def test_population_params_wrong_type():
    with pytest.raises(TypeError, match=r"`params`"):
        Population(name="E", n=5, params={"tau_m": 0.02})


def test_population_v_init_wrong_length():
    with pytest.raises(ValueError, match=r"`v_init` of population 'E' has length 2; expected n = 5"):
        Population(name="E", n=5, v_init=np.zeros(2))


def test_population_v_init_nan():
    with pytest.raises(ValueError, match=r"v_init"):
        Population(name="E", n=5, v_init=np.nan)


# ------------------------------------------------------------------------------ Channel, rules, Projection


def test_channel_negative_tau():
    with pytest.raises(ValueError, match=r"`tau_s` of channel 'e' must be >= 0"):
        Channel(name="e", tau_s=-1e-3)
    assert Channel(name="d", tau_s=0.0).is_delta


def test_channel_bad_name():
    with pytest.raises(ValueError, match=r"channel `name`"):
        Channel(name="e i", tau_s=5e-3)


def test_projection_unknown_rule_object():
    with pytest.raises(TypeError, match=r"`rule` must be FixedProbability"):
        Projection(pre="E", post="E", channel="e", rule="fixed_probability")


def test_projection_weight_with_from_matrix():
    with pytest.raises(ValueError, match=r"`weight` must be omitted with FromMatrix"):
        Projection(pre="E", post="E", channel="e", rule=FromMatrix(np.eye(3)), weight=1.0)


@pytest.mark.parametrize("delay", [0.0, -1e-3])
def test_projection_delay_not_positive(delay):
    with pytest.raises(ValueError, match=r"`delay` must be > 0"):
        Projection(pre="E", post="E", channel="e", rule=AllToAll(), delay=delay)


def test_projection_bad_pre():
    with pytest.raises(TypeError, match=r"`pre`"):
        Projection(pre=["E", 1], post="E", channel="e", rule=AllToAll())


@pytest.mark.parametrize("p", [1.5, -0.1])
def test_fixed_probability_out_of_range(p):
    with pytest.raises(ValueError, match=r"`p` must be a probability in \[0, 1\]"):
        FixedProbability(p=p)


def test_fixed_indegree_negative():
    with pytest.raises(ValueError, match=r"`k` must be an integer >= 0; got -1"):
        FixedInDegree(k=-1)


def test_from_matrix_nan():
    m = np.ones((3, 3))
    m[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"`matrix` must be finite"):
        FromMatrix(m)


def test_from_matrix_not_2d():
    with pytest.raises(ValueError, match=r"`matrix` must have shape \(\*, \*\)"):
        FromMatrix(np.ones(3))


# ------------------------------------------------------------------------------ Network


def test_network_duplicate_population():
    with pytest.raises(ValueError, match=r"population names must be unique; 'E' appears twice"):
        Network(populations=[Population(name="E", n=2), Population(name="E", n=3)])


def test_network_duplicate_channel():
    with pytest.raises(ValueError, match=r"channel names must be unique"):
        Network(populations=[Population(name="E", n=2)], channels=[Channel(name="e"), Channel(name="e")])


def test_network_projection_unknown_population_suggests():
    proj = Projection(pre="Exc", post="E", channel="e", rule=AllToAll())
    with pytest.raises(ValueError, match=r"population 'Exc'.*Did you mean `E`\?"):
        two_pop(projections=[proj])


def test_network_projection_unknown_channel():
    proj = Projection(pre="E", post="E", channel="exc", rule=AllToAll())
    with pytest.raises(ValueError, match=r"channel 'exc'.*Did you mean `e`\?"):
        two_pop(projections=[proj])


def test_network_from_matrix_wrong_shape():
    proj = Projection(pre="E", post="I", channel="e", rule=FromMatrix(np.ones((8, 2))))
    with pytest.raises(ValueError, match=r"`matrix` of projection E->I:e must have shape .* \(2, 8\); got \(8, 2\)"):
        two_pop(projections=[proj])


def test_network_current_amplitude_wrong_length():
    with pytest.raises(ValueError, match=r"`amplitude` of Current.*length 3.*\(10\)"):
        two_pop(inputs=[Current(target=["E", "I"], amplitude=np.ones(3))])


def test_network_empty_and_wrong_types():
    with pytest.raises(ValueError, match=r"`populations`"):
        Network(populations=[])
    with pytest.raises(TypeError, match=r"`populations` must hold Population"):
        Network(populations=["E"])
    with pytest.raises(TypeError, match=r"`inputs`"):
        two_pop(inputs=[3.0])


# ------------------------------------------------------------------------------ simulate


@pytest.mark.parametrize("t_stop", [0.0, -0.1])
def test_simulate_t_stop_not_positive(small_net, t_stop):
    with pytest.raises(ValueError, match=r"`t_stop` must be > 0"):
        simulate(small_net, t_stop=t_stop)


@pytest.mark.parametrize("dt", [0.0, -1e-4])
def test_simulate_dt_not_positive(small_net, dt):
    with pytest.raises(ValueError, match=r"`dt` must be > 0"):
        simulate(small_net, t_stop=0.1, dt=dt)


def test_simulate_t_stop_not_multiple_of_dt(small_net):
    with pytest.raises(ValueError, match=r"`t_stop` must be a positive multiple of `dt`.*t_stop=0\.1"):
        simulate(small_net, t_stop=0.10005, dt=1e-4)


def test_simulate_unknown_method_suggests(small_net):
    with pytest.raises(ValueError, match=r"`method` must be one of \['exact', 'euler'\]; got 'rk4'"):
        simulate(small_net, t_stop=0.01, method="rk4")
    with pytest.raises(ValueError, match=r"Did you mean `euler`\?"):
        simulate(small_net, t_stop=0.01, method="eulr")


def test_simulate_unknown_dtype(small_net):
    with pytest.raises(ValueError, match=r"`dtype` must be one of \['float64', 'float32'\]; got 'float16'"):
        simulate(small_net, t_stop=0.01, dtype="float16")


def test_simulate_trials_zero(small_net):
    with pytest.raises(ValueError, match=r"`trials` must be an integer >= 1; got 0"):
        simulate(small_net, t_stop=0.01, trials=0)


def test_simulate_seed_negative(small_net):
    with pytest.raises(ValueError, match=r"`seed` must be an integer >= 0"):
        simulate(small_net, t_stop=0.01, seed=-1)


def test_simulate_not_a_network():
    with pytest.raises(TypeError, match=r"`network` must be a spikerate\.sim\.Network"):
        simulate({"populations": []}, t_stop=0.01)


@pytest.mark.parametrize("record", [[0, 200], np.array([-1, 3])])
def test_simulate_record_out_of_range(small_net, record):
    with pytest.raises(ValueError, match=r"`record` indices must be in \[0, 199\]"):
        simulate(small_net, t_stop=0.01, record=record)


@pytest.mark.parametrize("record", [5, np.array([0.5, 1.5]), np.zeros((2, 2), int), {"E": 1}],
                         ids=["scalar", "float", "2d", "dict"])
def test_simulate_record_wrong_type(small_net, record):
    with pytest.raises(TypeError, match=r"`record` must be None, 'all', population name\(s\)"):
        simulate(small_net, t_stop=0.01, record=record)


def test_simulate_delay_not_multiple_of_dt():
    net = two_pop(projections=[Projection(pre="E", post="I", channel="e", rule=AllToAll(), delay=1.5e-4)])
    with pytest.raises(ValueError, match=r"`delay` of projection E->I:e .*multiple of `dt`") as info:
        simulate(net, t_stop=0.01, dt=1e-4)
    assert "1.5 steps" in str(info.value)


def test_simulate_euler_dt_too_large(small_net):
    # the smallest time constant of the CUBA network is tau_e = 5 ms
    with pytest.raises(ValueError, match=r"method='euler'.*0\.005 s"):
        simulate(small_net, t_stop=0.05, dt=0.005, method="euler")


def test_simulate_max_memory_too_small():
    # one million unconnected neurons, u recorded at every step for 1 s: ~150 GiB of recording alone
    net = Network(populations=[Population(name="E", n=1_000_000)])
    kw = dict(t_stop=1.0, dt=1e-4, record="all")
    need = estimate_memory(net, **kw)["total"]
    assert need > 100 * 2**30
    with pytest.raises(InsufficientMemoryError) as info:
        simulate(net, **kw, max_memory=2**30)
    err = info.value
    assert isinstance(err, MemoryError) and isinstance(err, SpikerateError)
    msg = str(err)
    assert f"needs about {need / 2**30:.2f} GiB" in msg
    assert "max_memory allows 1.00 GiB" in msg


def test_simulate_max_memory_small_run_refused(small_net):
    with pytest.raises(InsufficientMemoryError, match=r"needs about .* GiB"):
        simulate(small_net, t_stop=0.01, max_memory=1000)


def test_simulate_fixed_indegree_too_many():
    net = two_pop(projections=[Projection(pre="I", post="E", channel="e", rule=FixedInDegree(k=3))])
    with pytest.raises(ValueError, match=r"`k` = 3 of projection I->E:e exceeds the 2 candidate"):
        simulate(net, t_stop=0.01, seed=0)


def test_simulate_fixed_indegree_without_autapses_counts_candidates():
    # E -> E without autapses leaves 7 candidates for each of the 8 neurons
    net = two_pop(projections=[Projection(pre="E", post="E", channel="e", rule=FixedInDegree(k=8),
                                          autapses=False)])
    with pytest.raises(ValueError, match=r"`k` = 8 .* 7 candidate"):
        simulate(net, t_stop=0.01, seed=0)


def test_simulate_timed_current_too_short():
    net = two_pop(inputs=[TimedCurrent(target="E", values=np.zeros(50))])
    with pytest.raises(ValueError, match=r"`values` has 50 samples .* n_steps = 100"):
        simulate(net, t_stop=0.01, dt=1e-4, seed=0)


def test_simulate_timed_current_wrong_columns():
    net = two_pop(inputs=[TimedCurrent(target="E", values=np.zeros((100, 3)))])
    with pytest.raises(ValueError, match=r"`values` must have shape \(100,\) or \(100, 8\)"):
        simulate(net, t_stop=0.01, dt=1e-4, seed=0)


def test_simulate_timed_current_callable_raises():
    def broken(t):
        raise ZeroDivisionError("oops")

    net = two_pop(inputs=[TimedCurrent(target="E", values=broken)])
    with pytest.raises(ValueError, match=r"`values` callable failed.*ZeroDivisionError: oops") as info:
        simulate(net, t_stop=0.01, dt=1e-4, seed=0)
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_simulate_timed_current_callable_nan():
    net = two_pop(inputs=[TimedCurrent(target="E", values=lambda t: np.full_like(t, np.nan))])
    with pytest.raises(ValueError, match=r"`values\(t\)` must be finite"):
        simulate(net, t_stop=0.01, dt=1e-4, seed=0)


# ------------------------------------------------------------------------------ estimate_memory


def test_estimate_memory_parts(small_net):
    est = estimate_memory(small_net, t_stop=0.1)
    assert set(est) == {"state", "connectivity", "inputs", "spikes", "recording", "total"}
    for k, v in est.items():
        assert isinstance(v, int) and v >= 0, k
    assert est["total"] == sum(v for k, v in est.items() if k != "total")
    assert est["connectivity"] > 0 and est["state"] > 0
    assert est["recording"] == 0 and est["inputs"] == 0


def test_estimate_memory_grows_with_trials_and_recording(small_net):
    one = estimate_memory(small_net, t_stop=0.1, trials=1)
    four = estimate_memory(small_net, t_stop=0.1, trials=4)
    assert four["total"] > one["total"]
    assert four["state"] > one["state"] and four["spikes"] > one["spikes"]
    assert four["connectivity"] == one["connectivity"]  # connectivity is drawn once per call
    rec = estimate_memory(small_net, t_stop=0.1, record="all")
    assert rec["recording"] > 0 and rec["total"] > one["total"]


def test_estimate_memory_validates_like_simulate(small_net):
    with pytest.raises(ValueError, match=r"`trials`"):
        estimate_memory(small_net, t_stop=0.1, trials=0)
    with pytest.raises(ValueError, match=r"`expected_rate` must be >= 0"):
        estimate_memory(small_net, t_stop=0.1, expected_rate=-1.0)


def test_estimate_memory_matches_cuba_connectivity():
    # 4000 neurons, p = 0.02: 320 000 expected synapses, a few MB of connectivity
    est = estimate_memory(cuba_network(), t_stop=1.0)
    assert 320_000 * 8 < est["connectivity"] < 320_000 * 64


# --- regressions found while writing the suite (issue 2) --------------------------------------


def test_record_unknown_population_regression_2():
    from spikerate.sim import cuba_network, simulate
    with pytest.raises(ValueError, match=r"`record`.*'Exc'.*Did you mean `E`"):
        simulate(cuba_network(n_neurons=200, p=0.1), t_stop=0.01, record="Exc")


def test_record_empty_list_regression_2():
    from spikerate.sim import cuba_network, simulate
    ds = simulate(cuba_network(n_neurons=200, p=0.1), t_stop=0.01, record=[], seed=0)
    assert "u" not in ds


def test_lifparams_length_mismatch_before_comparison_regression_2():
    with pytest.raises(ValueError, match="same length"):
        LIFParams(v_th=np.array([20.0, 20.0]), v_reset=np.array([10.0, 10.0, 10.0]))


def test_integers_reject_bools_regression_2():
    from spikerate.sim import cuba_network, simulate
    with pytest.raises(TypeError, match="`E.n`"):
        Population(name="E", n=True)
    with pytest.raises(TypeError, match="`trials`"):
        simulate(cuba_network(n_neurons=200, p=0.1), t_stop=0.01, trials=True)
