"""spikerate.learn._kernels: the compiled fast path of RTRL, BPTT and truncated BPTT for the rate
model equals the generic step-protocol path to round-off (every trainable name, both steps,
both losses, weights, scalar and per-unit tau, several transfers and sizes), is taken when it
applies, and is not taken for a user transfer."""

from __future__ import annotations

import numpy as np
import pytest

from spikerate.learn import BPTT, RTRL, TruncatedBPTT, value_and_grad
from spikerate.learn import gradients as G
from spikerate.learn._kernels import _tanh_value_derivative
from spikerate.models import CurrentModel, RateModel, SiegertTransfer, Tanh

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

NAMES = ("w", "u", "b", "tau", "readout", "r0")
METHODS = (BPTT(), RTRL(), TruncatedBPTT(window=3))


def rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def make_problem(g, n, B, T, step, loss, *, scalar_tau, seed, n_in=2, n_out=3):
    rng = np.random.default_rng(seed)
    if g == "siegert":  # inputs in the Siegert curve's range (as tests/unit/test_rate_models.py)
        model = RateModel(w=rng.normal(0.0, 0.05, (n, n)), u=rng.normal(0.0, 1.0, (n, n_in)),
                          b=17.0 + rng.normal(0.0, 2.0, n), g=SiegertTransfer(sigma=4.0),
                          tau=0.01 if scalar_tau else rng.uniform(5e-3, 20e-3, n))
        dt, r0 = 1e-3, rng.uniform(5.0, 40.0, n)
    else:
        model = RateModel(w=rng.normal(0.0, 1.0 / np.sqrt(n), (n, n)), u=rng.normal(0.0, 1.0, (n, n_in)),
                          b=rng.normal(0.0, 0.5, n), g=g, tau=1.0 if scalar_tau else rng.uniform(0.5, 1.5, n))
        dt, r0 = 0.1, rng.normal(0.0, 0.5, n)
    x = rng.normal(0.0, 1.0, (B, T, n_in))
    if loss == "mse":
        y = rng.normal(0.0, 1.0, (B, T, n_out))
    else:
        y = np.eye(n_out)[rng.integers(0, n_out, (B, T))]
    kw = dict(dt=dt, r0=r0, step=step, loss=loss, weights=rng.uniform(0.0, 2.0, T),
              readout=rng.normal(0.0, 1.0, (n_out, n)), trainable=NAMES)
    return G.prepare(model, x, y, **kw)


def generic(pb, method, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(G, "_fast_applies", lambda pb, method: False)
        return G.loss_and_grad(pb, method), G.loss_value(pb)


def check_equal(pb, monkeypatch, tol=1e-12):
    for method in METHODS:
        l_fast, g_fast = G.loss_and_grad(pb, method)
        (l_ref, g_ref), v_ref = generic(pb, method, monkeypatch)
        assert abs(l_fast - l_ref) <= tol * abs(l_ref)
        assert abs(G.loss_value(pb) - v_ref) <= tol * abs(v_ref)
        assert list(g_fast) == list(g_ref)
        for name in g_ref:
            assert np.shape(g_fast[name]) == np.shape(g_ref[name]), name
            assert type(g_fast[name]) is type(g_ref[name]), name
            assert rel(g_fast[name], g_ref[name]) <= tol, (type(method).__name__, name)


@pytest.mark.parametrize("g", ["tanh", "softplus", "siegert", "linear"])
@pytest.mark.parametrize("step", ["euler", "exp_euler"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("scalar_tau", [True, False])
def test_fast_path_equals_generic_path(g, step, loss, scalar_tau, monkeypatch):
    for k, (n, B, T) in enumerate([(1, 1, 1), (1, 3, 7), (3, 1, 7), (3, 3, 1), (8, 3, 7), (8, 1, 1)]):
        pb = make_problem(g, n, B, T, step, loss, scalar_tau=scalar_tau, seed=100 * k + len(g))
        check_equal(pb, monkeypatch)


@pytest.mark.parametrize("g", ["sigmoid", "relu", {"name": "threshold_linear", "threshold": 0.1, "power": 2.0},
                               {"name": "lif", "v_th": 0.5, "v_reset": 0.0, "tau_m": 0.5}])
def test_fast_path_other_transfers(g, monkeypatch):
    pb = make_problem(g, 4, 2, 6, "exp_euler", "mse", scalar_tau=False, seed=7)
    if isinstance(g, dict) and g["name"] == "lif":  # drive above threshold: a nonzero rate
        pb = pb.with_values({"b": np.full(4, 2.0)})
    check_equal(pb, monkeypatch)


@pytest.mark.parametrize("subset", [("w",), ("u", "tau"), ("b", "r0"), ("tau",), ("readout",), ("r0", "w")])
def test_fast_path_any_subset_of_trainables(subset, monkeypatch):
    pb = make_problem("tanh", 3, 2, 5, "euler", "mse", scalar_tau=True, seed=3)
    pb = G.Problem(pb.model, pb.x, pb.y, pb.dt, pb.step, pb.loss, pb.alpha, pb.r0, pb.readout, subset, pb.batched)
    check_equal(pb, monkeypatch)


def test_fast_path_without_readout_and_unit_weights(monkeypatch):
    rng = np.random.default_rng(5)
    m = RateModel(w=rng.normal(0, 0.5, (4, 4)), u=rng.normal(0, 1, (4, 2)), b=rng.normal(0, 0.3, 4), tau=0.7,
                  g="tanh", trainable=("w", "u", "b", "tau"))
    pb = G.prepare(m, rng.normal(0, 1, (2, 9, 2)), rng.normal(0, 1, (2, 9, 4)), dt=0.05, r0=rng.normal(0, 1, 4),
                   trainable=("w", "u", "b", "tau", "r0"))
    check_equal(pb, monkeypatch)


def test_fast_path_is_taken(monkeypatch):
    pb = make_problem("tanh", 3, 2, 5, "euler", "mse", scalar_tau=False, seed=1)

    def boom(*args, **kwargs):
        raise AssertionError("generic path used")
    monkeypatch.setattr(G, "_bptt_one", boom)
    monkeypatch.setattr(G, "_rtrl_one", boom)
    monkeypatch.setattr(G, "_forward", boom)
    for method in METHODS:
        loss, grads = G.loss_and_grad(pb, method)
        assert np.isfinite(loss) and set(grads) == set(NAMES)
    assert np.isfinite(G.loss_value(pb))


class UserTanh:
    """A transfer object the kernels do not know."""

    def value(self, x):
        return np.tanh(np.asarray(x, float))

    def derivative(self, x):
        return 1.0 - np.tanh(np.asarray(x, float)) ** 2


def test_user_transfer_and_other_models_fall_back(monkeypatch):
    calls = []
    orig = G._bptt_one

    def spy(*args, **kwargs):
        calls.append(1)
        return orig(*args, **kwargs)
    monkeypatch.setattr(G, "_bptt_one", spy)
    rng = np.random.default_rng(2)
    w, u, b = rng.normal(0, 0.5, (3, 3)), rng.normal(0, 1, (3, 2)), rng.normal(0, 0.3, 3)
    x, y = rng.normal(0, 1, (6, 2)), rng.normal(0, 1, (6, 3))
    user = RateModel(w=w, u=u, b=b, tau=1.0, g=UserTanh())
    builtin = RateModel(w=w, u=u, b=b, tau=1.0, g=Tanh())
    l_user, g_user = value_and_grad(user, x, y, dt=0.1)
    assert calls
    calls.clear()
    l_fast, g_fast = value_and_grad(builtin, x, y, dt=0.1)
    assert not calls
    assert abs(l_user - l_fast) <= 1e-13 * l_fast
    for name in g_fast:
        assert rel(g_fast[name], g_user[name]) < 1e-12
    value_and_grad(CurrentModel(w=w, u=u, b=b, tau=1.0, g="tanh"), x, y, dt=0.1)
    assert calls


def test_diverging_trajectory_falls_back_to_nan():
    m = RateModel(w=[[50.0]], u=[[1.0]], b=[0.0], tau=1.0, g="linear", trainable=("w", "b"))
    for method in METHODS:
        loss, grads = value_and_grad(m, np.ones(400), np.zeros(400), dt=0.1, r0=[1.0], method=method)
        assert np.isnan(loss) and all(np.all(np.isnan(v)) for v in grads.values())


def test_vectorised_tanh_within_two_ulp_of_numpy():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(0, 3, 10000), np.logspace(-300, 3, 500), -np.logspace(-300, 3, 500),
                        [0.0, -0.0, np.inf, -np.inf, 1e308]])
    for gain in (1.0, 0.3):
        v, d = np.empty_like(z), np.empty_like(z)
        _tanh_value_derivative(gain, z, v, d, np.empty(z.size, np.uint64))
        ref = np.tanh(gain * z)
        assert np.all(np.abs(v - ref) <= 2.5 * np.spacing(np.abs(ref)) + 1e-300)
        np.testing.assert_allclose(d, gain * (1 - ref ** 2), rtol=1e-14, atol=1e-15)
    v, d = np.empty(1), np.empty(1)
    _tanh_value_derivative(1.0, np.array([np.nan]), v, d, np.empty(1, np.uint64))
    assert np.isnan(v[0])


def test_batch_and_large_n_rtrl_equals_bptt():
    pb = make_problem("tanh", 24, 3, 6, "exp_euler", "mse", scalar_tau=False, seed=11)
    _, g1 = G.loss_and_grad(pb, RTRL())
    _, g2 = G.loss_and_grad(pb, BPTT())
    for name in NAMES:
        assert rel(g1[name], g2[name]) < 1e-12, name
