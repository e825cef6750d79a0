"""spikerate.learn: RTRL, BPTT and truncated BPTT against each other and against central
finite differences of the loss the code computes, for the three models, both steps, several
sizes and every parameter (model parameters, readout, initial state)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikerate.learn import BPTT, RTRL, TruncatedBPTT, value_and_grad
from spikerate.learn.gradients import loss_value, prepare
from spikerate.models import CurrentModel, RateModel, TwoVariableModel

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)


def make(kind, n, n_in, rng, per_unit_tau=True):
    tau = (lambda lo, hi: rng.uniform(lo, hi, n) if per_unit_tau else float(rng.uniform(lo, hi)))
    common = dict(w=rng.normal(0, 0.8 / np.sqrt(n), (n, n)), u=rng.normal(0, 1, (n, n_in)), b=rng.normal(0, 0.3, n),
                  g="tanh")
    if kind == "rate":
        return RateModel(tau=tau(0.5, 1.5), **common)
    if kind == "current":
        return CurrentModel(tau=tau(0.5, 1.5), **common)
    return TwoVariableModel(tau_s=tau(0.3, 0.8), tau_m=tau(0.5, 1.5), **common)


def all_names(model):
    return tuple(model.params_type.names()) + ("readout", "r0")


def fd_grads(pb):
    """Central differences of the loss, the step scaled to each entry's magnitude."""
    out = {}
    for name, v in pb.values().items():
        g = np.zeros(v.size)
        for i in range(v.size):
            h = 1e-6 * max(1.0, abs(v.flat[i]))
            vp, vm = v.copy(), v.copy()
            vp.flat[i] += h
            vm.flat[i] -= h
            g[i] = (loss_value(pb.with_values({name: vp})) - loss_value(pb.with_values({name: vm}))) / (2 * h)
        out[name] = g.reshape(v.shape)
    return out


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def problem(kind, n, step, seed, *, T=15, batch=2, n_in=2, n_out=2, per_unit_tau=True):
    rng = np.random.default_rng(seed)
    model = make(kind, n, n_in, rng, per_unit_tau)
    x = rng.normal(0, 1, (batch, T, n_in))
    y = rng.normal(0, 1, (batch, T, n_out))
    kw = dict(dt=0.1, r0=rng.normal(0, 0.5, model.n_state), step=step, readout=rng.normal(0, 1, (n_out, n)),
              trainable=all_names(model))
    return model, x, y, kw


@pytest.mark.parametrize("step", ["euler", "exp_euler"])
@pytest.mark.parametrize("kind", ["rate", "current", "two_variable"])
@pytest.mark.parametrize("n", [1, 3, 8])
def test_rtrl_equals_bptt_equals_finite_differences(kind, n, step):
    model, x, y, kw = problem(kind, n, step, seed=n)
    l1, g1 = value_and_grad(model, x, y, method=RTRL(), **kw)
    l2, g2 = value_and_grad(model, x, y, method=BPTT(), **kw)
    assert l1 == l2
    fd = fd_grads(prepare(model, x, y, **kw))
    for name in all_names(model):
        assert g1[name].shape == np.shape(fd[name])
        assert rel(g1[name], g2[name]) < 1e-10, name
        assert rel(g2[name], fd[name]) < 1e-6, name


@pytest.mark.parametrize("kind,step", [("rate", "euler"), ("current", "exp_euler"), ("two_variable", "euler")])
def test_rtrl_equals_bptt_equals_finite_differences_at_n32(kind, step):
    model, x, y, kw = problem(kind, 32, step, seed=5, T=5, batch=1, per_unit_tau=(kind != "rate"))
    _, g1 = value_and_grad(model, x, y, method=RTRL(), **kw)
    _, g2 = value_and_grad(model, x, y, method=BPTT(), **kw)
    fd = fd_grads(prepare(model, x, y, **kw))
    for name in all_names(model):
        assert rel(g1[name], g2[name]) < 1e-10, name
        assert rel(g2[name], fd[name]) < 1e-6, name


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(["rate", "current", "two_variable"]), n=st.integers(1, 5), T=st.integers(1, 12),
       batch=st.integers(1, 3), seed=st.integers(0, 2**31 - 1), step=st.sampled_from(["euler", "exp_euler"]))
def test_rtrl_equals_bptt_any_shape(kind, n, T, batch, seed, step):
    model, x, y, kw = problem(kind, n, step, seed, T=T, batch=batch)
    _, g1 = value_and_grad(model, x, y, method=RTRL(), **kw)
    _, g2 = value_and_grad(model, x, y, method=BPTT(), **kw)
    for name in all_names(model):
        assert np.allclose(g1[name], g2[name], rtol=1e-10, atol=1e-12 * max(1.0, np.max(np.abs(g2[name])))), name


def test_truncated_bptt_is_exact_for_long_windows_and_cuts_the_adjoint_otherwise():
    model, x, y, kw = problem("rate", 3, "euler", seed=1, T=12, batch=1)
    _, full = value_and_grad(model, x, y, method=BPTT(), **kw)
    _, same = value_and_grad(model, x, y, method=TruncatedBPTT(window=12), **kw)
    for name in full:
        np.testing.assert_array_equal(same[name], full[name])
    # window = 1: each step's loss sees only its own step: dl/db_i = sum_t e_t[i] * dPhi/db at s_t
    _, one = value_and_grad(model, x, y, method=TruncatedBPTT(window=1), **kw)
    pb = prepare(model, x, y, **kw)
    from spikerate.learn.gradients import _forward, _loss_terms, _state_error
    S, _, o = _forward(pb, model, x[0])
    _, dl_do = _loss_terms(pb, o, y[0])
    ref = np.zeros(3)
    for t in range(12):
        e = _state_error(pb, model, S[t + 1], dl_do[t])
        _, B = model.step_jacobians(S[t], x[0, t], 0.1, "euler")
        ref += e * B.b
    np.testing.assert_allclose(one["b"], ref, rtol=1e-12)
    assert rel(one["b"], full["b"]) > 1e-3


def test_cross_entropy_and_weights_match_finite_differences():
    rng = np.random.default_rng(3)
    model = make("rate", 3, 2, rng)
    x = rng.normal(0, 1, (10, 2))
    labels = rng.integers(0, 2, 10)
    y = np.eye(2)[labels]
    kw = dict(dt=0.1, loss="cross_entropy", weights=rng.uniform(0, 2, 10), readout=rng.normal(0, 1, (2, 3)),
              trainable=("w", "u", "b", "tau", "readout"))
    _, g1 = value_and_grad(model, x, y, method=RTRL(), **kw)
    _, g2 = value_and_grad(model, x, y, method=BPTT(), **kw)
    fd = fd_grads(prepare(model, x, y, **kw))
    for name in g1:
        assert rel(g1[name], g2[name]) < 1e-10
        assert rel(g2[name], fd[name]) < 1e-6


def test_bad_input_names_the_argument():
    m = RateModel(w=[[1.0]], u=[[1.0]], b=[1.0], tau=1.0, g="linear", trainable=("w", "b"))
    x, y = np.zeros(5), np.zeros(5)
    with pytest.raises(ValueError, match="`x` and `y` must have the same length T; got 5 and 4"):
        value_and_grad(m, x, y[:4], dt=0.1)
    with pytest.raises(ValueError, match="`trainable`.*Did you mean `tau`"):
        value_and_grad(m, x, y, dt=0.1, trainable=("tua",))
    with pytest.raises(ValueError, match="`y`.*NaN|`y` must be finite"):
        value_and_grad(m, x, np.full(5, np.nan), dt=0.1)
    with pytest.raises(ValueError, match="`step`.*Did you mean `euler`"):
        value_and_grad(m, x, y, dt=0.1, step="eulr")
    with pytest.raises(ValueError, match="`method`"):
        value_and_grad(m, x, y, dt=0.1, method="backprop")
    with pytest.raises(ValueError, match="`r0` must have shape \\(1,\\)"):
        value_and_grad(m, x, y, dt=0.1, r0=[1.0, 2.0])
    with pytest.raises(ValueError, match="`x` must have shape \\(T, n_in\\) = \\(T, 1\\)"):
        value_and_grad(m, np.zeros((5, 2)), y, dt=0.1)
    with pytest.raises(ValueError, match="'readout' but no `readout`"):
        value_and_grad(m, x, y, dt=0.1, trainable=("readout",))
    with pytest.raises(ValueError, match="`window` must be an integer >= 1; got 0"):
        TruncatedBPTT(window=0)
