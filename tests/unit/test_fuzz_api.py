"""Hardening: random, invalid and extreme values thrown at the public entry points get a
ValueError/TypeError (with the argument named) or a valid result -- never another exception."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.text(max_size=5), st.lists(st.floats(-1e3, 1e3), max_size=4),
    st.sampled_from([np.array([]), np.zeros((2, 3)), np.full(3, np.nan), np.array([1.0, -1.0]), {"a": 1}, object()]),
)
OK_ERRORS = (ValueError, TypeError, MemoryError)  # MemoryError: InsufficientMemoryError, with the estimate
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: invalid values, or valid ones of a size that keeps a run short
SMALL_OR_INVALID = ANY.filter(lambda v: not (isinstance(v, (int, float)) and not isinstance(v, bool)
                                             and (0 < abs(v) < 1e-6 or abs(v) > 1e3)))
#: magnitudes far out -- times of 1e12 s and more (up to the largest double), or 1e-14 s and less
#: (down to the smallest subnormal), counts of 1e12 and more: the guards refuse them at once (more
#: than 2**31 steps, hours of work, more memory than any machine has) or the result is quick.
#: (Between these and the small values lie valid runs of minutes to hours -- t_stop = 1e5 s is
#: ~20 minutes of a 50-neuron network, below the 1e13-update guard -- a long computation, not a
#: bug, and not drawn here.)
EXTREME = st.builds(lambda v, sign: sign * v,
                    st.one_of(st.floats(1e12, 1.7976931348623157e308), st.floats(5e-324, 1e-14),
                              st.sampled_from([1e300, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]),
                              st.sampled_from([10**12, 2**62, 2**63 + 1])),
                    st.sampled_from([1, -1]))
SMALL_INVALID_OR_EXTREME = st.one_of(SMALL_OR_INVALID, EXTREME)


def call_ok(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = fn(*args, **kwargs)
        except OK_ERRORS as exc:
            assert str(exc), "an error must say what is wrong"
            return None
    return out


@FUZZ
@given(name=st.sampled_from(["tau_m", "v_rest", "v_th", "v_reset", "t_ref"]), value=ANY)
def test_lif_params(name, value):
    from spikerate.sim import LIFParams
    kw = dict(tau_m=20e-3, v_rest=0.0, v_th=20.0, v_reset=10.0, t_ref=2e-3)
    kw[name] = value
    call_ok(LIFParams, **kw)


@FUZZ
@given(name=st.sampled_from(["w", "u", "b", "tau", "g", "trainable"]), value=ANY)
def test_rate_model(name, value):
    from spikerate.models import RateModel
    kw = dict(w=np.eye(2) * 0.5, u=np.eye(2), b=np.zeros(2), tau=0.01, g="tanh", trainable=("w",))
    kw[name] = value
    m = call_ok(RateModel, **kw)
    if m is not None:
        out = call_ok(m.F, np.zeros(2), np.zeros(2))
        assert out is None or out.shape == (2,)


@FUZZ
@given(name=st.sampled_from(["x", "y", "dt", "r0", "step", "loss", "weights", "readout", "trainable", "method"]),
       value=ANY)
def test_value_and_grad(name, value):
    from spikerate.learn import value_and_grad
    from spikerate.models import RateModel
    m = RateModel(w=np.eye(2) * 0.5, u=np.eye(2), b=np.zeros(2), tau=1.0, g="tanh", trainable=("w",))
    kw = dict(x=np.zeros((4, 2)), y=np.zeros((4, 2)), dt=0.1, r0=None, step="euler", loss="mse", weights=None,
              readout=None, trainable=None, method="bptt")
    kw[name] = value
    out = call_ok(value_and_grad, m, kw.pop("x"), kw.pop("y"), **kw)
    if out is not None:
        loss, grads = out
        assert math.isfinite(loss) or np.isnan(loss)


@FUZZ
@given(name=st.sampled_from(["t_stop", "dt", "seed", "trials", "method", "dtype", "record_every", "allow_long"]),
       value=SMALL_INVALID_OR_EXTREME)
def test_simulate(name, value):
    from spikerate.sim import cuba_network, simulate
    kw = dict(t_stop=0.01, dt=1e-4, seed=1, trials=1, method="exact", dtype="float64", progress=False)
    kw[name] = value
    call_ok(simulate, cuba_network(n_neurons=50), **kw)


@FUZZ
@given(name=st.sampled_from(["kernel", "sigma", "dt", "by", "trials", "cutoff", "n_boot", "border"]),
       value=SMALL_INVALID_OR_EXTREME)
def test_estimate_rate(name, value):
    from spikerate import estimate_rate
    spikes = _spikes()
    kw = dict(kernel="gaussian", sigma=5e-3, dt=1e-3, by="population", trials="mean", n_boot=20)
    kw[name] = value
    call_ok(estimate_rate, spikes, **kw)


@FUZZ
@given(name=st.sampled_from(["bin_width", "n_boot", "ci", "by"]), value=SMALL_INVALID_OR_EXTREME)
def test_estimate_rate_histogram(name, value):
    from spikerate import estimate_rate
    kw = dict(method="histogram", bin_width=5e-3, by="population", trials="mean", n_boot=20)
    kw[name] = value
    call_ok(estimate_rate, _spikes(), **kw)


@FUZZ
@given(name=st.sampled_from(["duration", "n_neurons", "n_trials", "sigma", "dt"]), value=SMALL_INVALID_OR_EXTREME)
def test_estimate_rate_arrays(name, value):
    from spikerate import estimate_rate
    kw = dict(duration=1.0, n_neurons=3, n_trials=2, sigma=0.01, dt=1e-3)
    kw[name] = value
    spikes = (np.array([0.0, 0.25, 0.5, 1.0]), np.array([0, 1, 2, 0]), np.array([0, 1, 0, 1]))
    call_ok(estimate_rate, spikes, **kw)


@FUZZ
@given(method=st.sampled_from(["bin", "kernel", "adaptive"]),
       name=st.sampled_from(["candidates", "resolution", "n_shifts"]),
       value=st.one_of(SMALL_INVALID_OR_EXTREME, st.lists(EXTREME, min_size=1, max_size=3),
                       st.lists(EXTREME, min_size=1, max_size=2).map(lambda v: v + [0.01])))
def test_optimal_bandwidth(method, name, value):
    from spikerate import optimal_bandwidth
    kw = {name: value}
    call_ok(optimal_bandwidth, _spikes(), method=method, **kw)


@FUZZ
@given(name=st.sampled_from(["fano_window", "n_pairs", "seed"]), value=SMALL_INVALID_OR_EXTREME)
def test_spike_statistics(name, value):
    from spikerate import spike_statistics
    call_ok(spike_statistics, _spikes(), **{name: value})


_CACHE = {}


def _spikes():
    if "s" not in _CACHE:
        from spikerate.sim import cuba_network, simulate
        _CACHE["s"] = simulate(cuba_network(n_neurons=100), t_stop=0.05, seed=1)
    return _CACHE["s"]


@FUZZ
@given(name=st.sampled_from(["w", "u", "b", "tau_m", "tau_s", "v_th", "v_reset", "t_ref", "reset", "surrogate"]),
       value=ANY)
def test_spiking_model(name, value):
    from spikerate.learn import SpikingModel
    kw = dict(w=np.zeros((2, 2)), u=np.eye(2), b=np.zeros(2), tau_m=20e-3, tau_s=5e-3, v_th=1.0, v_reset=0.0,
              t_ref=0.0, reset="to", surrogate="fast_sigmoid")
    kw[name] = value
    m = call_ok(SpikingModel, **kw)
    if m is not None:
        s = m.step(m.initial_state(), np.zeros(m.n_in), 1e-3)
        assert s.shape == (m.n_state,)


def test_extreme_but_valid_values_give_finite_results():
    from spikerate.models import siegert
    assert np.isfinite(siegert(np.array([-1e6, 1e6, 0.0]), np.array([1e-12, 1e6, 5.0]), tau_m=0.02, t_ref=0.002,
                               v_th=20.0, v_reset=10.0)).all()
