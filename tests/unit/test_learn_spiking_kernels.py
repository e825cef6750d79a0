"""spikerate.learn._spiking_kernels: the compiled fast path of the surrogate gradients of
SpikingModel (SurrogateBPTT, SurrogateRTRL, EProp, DiagonalRTRL) equals the generic step-protocol
path to round-off (both resets, detach_reset, t_ref > 0, delta synapses, no leak, smooth, all
seven surrogates, both losses, weights, readout and r0 trainable, several sizes), is taken when it
applies, and falls back for a user surrogate and a state that is not finite."""

from __future__ import annotations

import numpy as np
import pytest

from spikerate.learn import gradients as G
from spikerate.learn import surrogates as S
from spikerate.learn.gradients import DiagonalRTRL, EProp, SurrogateBPTT, SurrogateRTRL
from spikerate.learn.spiking import SpikingModel

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

NAMES = ("w", "u", "b", "readout", "r0")
SURROGATES = [S.FastSigmoid(scale=10.0), S.Sigmoid(scale=5.0), S.Arctan(alpha=2.0), S.Triangle(width=1.0),
              S.Gaussian(sigma=0.5), S.Exponential(scale=5.0), S.StraightThrough(width=0.5)]


def methods(sur):
    return (SurrogateBPTT(surrogate=sur), SurrogateRTRL(surrogate=sur), EProp(surrogate=sur),
            DiagonalRTRL(surrogate=sur))


def rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def make_problem(n, B, T, *, seed, loss="mse", n_in=3, n_out=2, trainable=NAMES, **kw):
    rng = np.random.default_rng(seed)
    kw = {"tau_m": 20e-3, "tau_out": 10e-3, **kw}
    m = SpikingModel(w=rng.normal(0.0, 0.8, (n, n)), u=rng.normal(0.0, 0.8, (n, n_in)),
                     b=rng.uniform(0.05, 0.25, n), v_th=1.0, **kw)
    x = rng.normal(0.5, 1.0, (B, T, n_in))
    if loss == "mse":
        y = rng.normal(5.0, 2.0, (B, T, n_out))
    else:
        y = np.eye(n_out)[rng.integers(0, n_out, (B, T))]
    # the initial state: some neurons above threshold, currents, traces (and refractory counters)
    c0 = rng.integers(0, 3, n).astype(float) if kw.get("t_ref", 0.0) > 0 else np.zeros(n)
    r0 = np.concatenate([rng.normal(0.6, 0.5, n), rng.normal(0.0, 0.2, n), rng.uniform(0.0, 1.0, n), c0])
    return G.prepare(m, x, y, dt=1e-3, readout=rng.normal(0.0, 0.1, (n_out, n)), r0=r0, loss=loss,
                     weights=rng.uniform(0.0, 2.0, T), trainable=trainable)


def generic(pb, method, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(G, "_fast_applies", lambda pb, method: False)
        return G.loss_and_grad(pb, method), G.loss_value(pb)


def check_equal(pb, monkeypatch, sur, tol=1e-12):
    for method in methods(sur):
        l_fast, g_fast = G.loss_and_grad(pb, method)
        (l_ref, g_ref), v_ref = generic(pb, method, monkeypatch)
        assert abs(l_fast - l_ref) <= tol * abs(l_ref)
        assert abs(G.loss_value(pb) - v_ref) <= tol * abs(v_ref)
        assert list(g_fast) == list(g_ref)
        for name in g_ref:
            assert np.shape(g_fast[name]) == np.shape(g_ref[name]), name
            assert type(g_fast[name]) is type(g_ref[name]), name
            assert rel(g_fast[name], g_ref[name]) <= tol, (method.name, name)


def n_spikes(pb):
    """Spikes of the batch's forward pass (the tests must exercise the reset and the clamp)."""
    fwd = G._fast_spiking_forward(pb)
    return int(fwd[4].sum()) if not pb.model.smooth else -1


CASES = [
    dict(reset="to", tau_s=5e-3),
    dict(reset="subtract", tau_s=5e-3),
    dict(reset="to", tau_s=5e-3, detach_reset=True),
    dict(reset="subtract", tau_s=0.0, detach_reset=True),
    dict(reset="to", tau_s=5e-3, t_ref=2e-3),
    dict(reset="subtract", tau_s=0.0, t_ref=3e-3),
    dict(reset="to", tau_s=0.0),
    dict(reset="subtract", tau_s=0.0, tau_m=np.inf),
    dict(reset="to", tau_s=5e-3, smooth=True),
    dict(reset="subtract", tau_s=0.0, smooth=True, tau_m=np.inf),
    dict(reset="to", tau_s=20e-3),  # tau_s = tau_m: the limit of the propagator
]


@pytest.mark.parametrize("k", range(len(CASES)))
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_fast_path_equals_generic_path(k, loss, monkeypatch):
    case = CASES[k]
    for j, (n, B, T) in enumerate([(1, 1, 1), (4, 3, 17), (9, 3, 17), (9, 1, 1), (1, 3, 17)]):
        sur = SURROGATES[(k + j) % len(SURROGATES)]
        pb = make_problem(n, B, T, seed=100 * k + j, loss=loss, surrogate=sur, **case)
        if (n, T) == (9, 17):
            assert n_spikes(pb) != 0
        check_equal(pb, monkeypatch, sur)


@pytest.mark.parametrize("sur", SURROGATES, ids=lambda s: s.name)
@pytest.mark.parametrize("smooth", [False, True])
def test_every_surrogate(sur, smooth, monkeypatch):
    pb = make_problem(4, 3, 17, seed=7, reset="subtract", smooth=smooth, surrogate=S.FastSigmoid())
    check_equal(pb, monkeypatch, sur)  # the method's surrogate replaces the model's


@pytest.mark.parametrize("subset", [("w",), ("u",), ("b", "r0"), ("readout",), ("r0", "w"), ("u", "readout")])
def test_any_subset_of_trainables(subset, monkeypatch):
    for tau_s in (5e-3, 0.0):
        pb = make_problem(4, 2, 9, seed=3, trainable=subset, tau_s=tau_s)
        check_equal(pb, monkeypatch, S.Sigmoid())


def test_without_readout_and_unit_weights(monkeypatch):
    rng = np.random.default_rng(5)
    m = SpikingModel(w=rng.normal(0, 0.8, (4, 4)), u=rng.normal(0, 1, (4, 2)), b=np.full(4, 0.2), tau_m=10e-3)
    pb = G.prepare(m, rng.normal(0.5, 1, (2, 15, 2)), rng.normal(0, 5, (2, 15, 4)), dt=1e-3,
                   trainable=("w", "u", "b", "r0"))
    check_equal(pb, monkeypatch, S.FastSigmoid())


def test_fast_path_is_taken(monkeypatch):
    pb = make_problem(4, 3, 17, seed=1, reset="subtract", t_ref=2e-3)

    def boom(*args, **kwargs):
        raise AssertionError("generic path used")
    monkeypatch.setattr(G, "_bptt_one", boom)
    monkeypatch.setattr(G, "_rtrl_one", boom)
    monkeypatch.setattr(G, "_forward", boom)
    for method in methods(S.FastSigmoid()):
        loss, grads = G.loss_and_grad(pb, method)
        assert np.isfinite(loss) and set(grads) == set(NAMES)
    assert np.isfinite(G.loss_value(pb))
    from spikerate.learn import value_and_grad
    rng = np.random.default_rng(0)
    m = SpikingModel(w=rng.normal(0, 0.5, (3, 3)), u=np.ones((3, 1)), b=np.full(3, 0.2))
    loss, grads = value_and_grad(m, rng.random((2, 10, 1)), rng.random((2, 10, 3)), dt=1e-3,
                                 method=SurrogateBPTT())
    assert np.isfinite(loss) and set(grads) == {"w", "u", "b"}


class UserFastSigmoid(S.FastSigmoid):
    """A user surrogate (a subclass: its code may not describe its formulas)."""

    def derivative(self, v):
        return 2.0 * S.FastSigmoid.derivative(self, v)


def test_user_surrogate_falls_back(monkeypatch):
    calls = []
    orig = G._bptt_one

    def spy(*args, **kwargs):
        calls.append(1)
        return orig(*args, **kwargs)
    monkeypatch.setattr(G, "_bptt_one", spy)
    pb = make_problem(3, 2, 8, seed=4)
    user = G.loss_and_grad(pb, SurrogateBPTT(surrogate=UserFastSigmoid()))
    assert calls
    calls.clear()
    fast = G.loss_and_grad(pb, SurrogateBPTT(surrogate=S.FastSigmoid()))
    assert not calls
    assert user[0] == pytest.approx(fast[0], rel=1e-12)
    assert rel(user[1]["w"], 2.0 * fast[1]["w"]) > 0.0  # (not a rescaling: the adjoint passes several surrogates)


def test_state_not_finite_falls_back_to_nan():
    m = SpikingModel(w=[[0.0, 1e308], [1e308, 0.0]], u=np.ones((2, 1)), b=[1.0, 1.0], tau_m=np.inf, tau_s=0.0,
                     reset="subtract")
    pb = G.prepare(m, np.full((5, 1), 1e308), np.zeros((5, 2)), dt=1e-3)
    assert G._fast_spiking_forward(pb) is None
    for method in methods(S.FastSigmoid()):
        loss, grads = G.loss_and_grad(pb, method)
        assert np.isnan(loss) and all(np.all(np.isnan(v)) for v in grads.values())


def test_larger_batch_rtrl_equals_bptt():
    pb = make_problem(20, 4, 30, seed=11, tau_s=5e-3, reset="subtract", surrogate=S.Gaussian())
    assert n_spikes(pb) > 10
    _, g1 = G.loss_and_grad(pb, SurrogateRTRL(surrogate=S.Gaussian()))
    _, g2 = G.loss_and_grad(pb, SurrogateBPTT(surrogate=S.Gaussian()))
    for name in NAMES:
        assert rel(g1[name], g2[name]) < 1e-12, name
