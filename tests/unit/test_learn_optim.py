"""Optimizers: SGD / momentum / Nesterov / Adam against independent references, clipping, purity,
argument checks, the registry and convergence on a quadratic."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from spikerate.learn.optim import SGD, Adam, Optimizer, clip_by_global_norm, get_optimizer, global_norm

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)


def make_params(seed=0):
    rng = np.random.default_rng(seed)
    return {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4), "s": np.array(0.7)}


def grad_sequence(params, n, seed=1):
    rng = np.random.default_rng(seed)
    return [{k: rng.normal(size=np.shape(v)) for k, v in params.items()} for _ in range(n)]


def run(opt, params, grads_seq):
    state = opt.init(params)
    for g in grads_seq:
        params, state = opt.step(params, g, state)
    return params, state


# ------------------------------------------------------------------------------- SGD


def test_sgd_one_step_is_exact():
    params = make_params()
    grads = grad_sequence(params, 1)[0]
    new, state = SGD(lr=0.3).step(params, grads, SGD(lr=0.3).init(params))
    for k in params:
        assert np.array_equal(new[k], params[k] - 0.3 * grads[k])
        assert new[k].dtype == np.float64 and new[k].shape == params[k].shape
    assert state["step"] == 1


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_reference(nesterov):
    params = make_params()
    seq = grad_sequence(params, 6)
    lr, mu = 0.05, 0.8
    got, state = run(SGD(lr=lr, momentum=mu, nesterov=nesterov), params, seq)
    for k in params:  # an independent, per-element reference
        p = params[k].ravel().tolist()
        v = [0.0] * len(p)
        for g in seq:
            gk = g[k].ravel().tolist()
            for i in range(len(p)):
                v[i] = mu * v[i] + gk[i]
                p[i] -= lr * (gk[i] + mu * v[i]) if nesterov else lr * v[i]
        np.testing.assert_allclose(got[k].ravel(), p, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(state["velocity"][k].ravel(), v, rtol=1e-13, atol=1e-15)
    assert state["step"] == 6


def test_sgd_without_momentum_has_no_velocity():
    state = SGD(lr=0.1).init(make_params())
    assert state == {"step": 0}


# ------------------------------------------------------------------------------- Adam


def test_adam_matches_reference():
    params = make_params()
    seq = grad_sequence(params, 7)
    lr, b1, b2, eps = 0.02, 0.8, 0.95, 1e-6
    got, state = run(Adam(lr=lr, beta1=b1, beta2=b2, eps=eps), params, seq)
    for k in params:
        p = params[k].ravel().tolist()
        m = [0.0] * len(p)
        v = [0.0] * len(p)
        for t, g in enumerate(seq, start=1):
            gk = g[k].ravel().tolist()
            for i in range(len(p)):
                m[i] = b1 * m[i] + (1 - b1) * gk[i]
                v[i] = b2 * v[i] + (1 - b2) * gk[i] ** 2
                mhat = m[i] / (1 - b1 ** t)
                vhat = v[i] / (1 - b2 ** t)
                p[i] -= lr * mhat / (math.sqrt(vhat) + eps)
        np.testing.assert_allclose(got[k].ravel(), p, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(state["m"][k].ravel(), m, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(state["v"][k].ravel(), v, rtol=1e-12, atol=1e-15)
    assert state["step"] == 7


def test_adam_first_step_moves_by_lr_times_sign():
    params = make_params()
    rng = np.random.default_rng(5)  # gradients of very different magnitudes, 1e-3 to 1e3
    grads = {k: np.sign(rng.normal(size=np.shape(v))) * 10.0 ** rng.uniform(-3, 3, size=np.shape(v))
             for k, v in params.items()}
    opt = Adam(lr=0.01)
    new, _ = opt.step(params, grads, opt.init(params))
    for k in params:
        np.testing.assert_allclose(new[k] - params[k], -0.01 * np.sign(grads[k]), rtol=1e-4)


# ------------------------------------------------------------------------------- clipping


def test_global_norm():
    assert global_norm({"a": [3.0], "b": [[4.0]]}) == 5.0
    assert global_norm({"a": np.zeros(3)}) == 0.0
    assert math.isclose(global_norm({"a": [3e200], "b": [4e200]}), 5e200)  # no overflow


def test_clip_by_global_norm_scales_to_exactly_max_norm():
    grads = grad_sequence(make_params(), 1)[0]
    norm0 = math.sqrt(sum(float(np.sum(g ** 2)) for g in grads.values()))
    clipped, norm = clip_by_global_norm(grads, 0.5)
    assert math.isclose(norm, norm0, rel_tol=1e-14)
    assert math.isclose(global_norm(clipped), 0.5, rel_tol=1e-14)
    for k in grads:  # same direction
        np.testing.assert_allclose(clipped[k], grads[k] * 0.5 / norm0, rtol=1e-14)
    same, _ = clip_by_global_norm(grads, 10 * norm0)  # below the threshold: unchanged
    for k in grads:
        assert np.array_equal(same[k], grads[k])


def test_clip_norm_in_step():
    params = make_params()
    grads = {k: 100.0 * g for k, g in grad_sequence(params, 1)[0].items()}
    new, _ = SGD(lr=1.0, clip_norm=2.0).step(params, grads, {"step": 0})
    delta = {k: params[k] - new[k] for k in params}
    assert math.isclose(global_norm(delta), 2.0, rel_tol=1e-12)
    small = {k: 1e-3 * g for k, g in grads.items()}
    new2, _ = SGD(lr=1.0, clip_norm=2.0).step(params, small, {"step": 0})
    for k in params:
        assert np.array_equal(new2[k], params[k] - small[k])


# ------------------------------------------------------------------------------- purity


@pytest.mark.parametrize("opt", [SGD(lr=0.1), SGD(lr=0.1, momentum=0.9, nesterov=True, clip_norm=0.1),
                                 Adam(lr=0.1, clip_norm=0.5)], ids=repr)
def test_inputs_unchanged(opt):
    params = make_params()
    grads = grad_sequence(params, 1)[0]
    state = opt.init(params)
    _, state = opt.step(params, grads, state)  # a non-trivial state
    copies = [{k: v.copy() for k, v in d.items()} for d in (params, grads)]
    state_copy = {k: ({kk: vv.copy() for kk, vv in v.items()} if isinstance(v, dict) else v)
                  for k, v in state.items()}
    new, new_state = opt.step(params, grads, state)
    for d, c in zip((params, grads), copies):
        assert all(np.array_equal(d[k], c[k]) for k in c)
    for k, v in state_copy.items():
        if isinstance(v, dict):
            assert all(np.array_equal(state[k][kk], vv) for kk, vv in v.items())
            assert all(new_state[k][kk] is not state[k][kk] for kk in v)
        else:
            assert state[k] == v
    assert all(new[k] is not params[k] for k in params)


def test_int_params_are_converted():
    new, _ = SGD(lr=0.5).step({"w": np.array([1, 2])}, {"w": [1, 1]}, {"step": 0})
    assert new["w"].dtype == np.float64 and new["w"].tolist() == [0.5, 1.5]


# ------------------------------------------------------------------------------- convergence


@pytest.mark.parametrize("opt", [SGD(lr=0.1), SGD(lr=0.05, momentum=0.9), SGD(lr=0.05, momentum=0.9, nesterov=True),
                                 Adam(lr=0.05), Adam(lr=0.1, clip_norm=1.0)], ids=repr)
def test_minimises_quadratic(opt):
    # f(p) = 0.5 sum_i a_i (p_i - c_i)^2 + 0.5 |W - C|^2
    a = np.array([1.0, 3.0, 0.5])
    c = np.array([1.0, -2.0, 0.5])
    C = np.arange(6.0).reshape(2, 3) / 6
    params = {"p": np.zeros(3), "W": np.ones((2, 3))}
    state = opt.init(params)
    for _ in range(600):
        grads = {"p": a * (params["p"] - c), "W": params["W"] - C}
        params, state = opt.step(params, grads, state)
    np.testing.assert_allclose(params["p"], c, atol=1e-3)
    np.testing.assert_allclose(params["W"], C, atol=1e-3)


# ------------------------------------------------------------------------------- checks


@pytest.mark.parametrize("cls, kwargs, exc, match", [
    (SGD, {"lr": -1.0}, ValueError, r"`lr` must be > 0; got -1.0"),
    (SGD, {"lr": 0}, ValueError, r"`lr` must be > 0"),
    (SGD, {"lr": "0.1"}, TypeError, r"`lr` must be a real number"),
    (SGD, {"lr": float("nan")}, ValueError, r"`lr` must be finite"),
    (SGD, {"lr": 0.1, "momentum": 1.0}, ValueError, r"`momentum` must be in \[0, 1\); got 1.0"),
    (SGD, {"lr": 0.1, "momentum": -0.1}, ValueError, r"`momentum` must be in \[0, 1\)"),
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": "yes"}, TypeError, r"`nesterov` must be True or False"),
    (SGD, {"lr": 0.1, "nesterov": True}, ValueError, r"`nesterov=True` needs `momentum` > 0"),
    (SGD, {"lr": 0.1, "clip_norm": 0.0}, ValueError, r"`clip_norm` must be > 0; got 0.0"),
    (SGD, {"lr": 0.1, "clip_norm": True}, TypeError, r"`clip_norm` must be a real number"),
    (Adam, {"lr": -0.1}, ValueError, r"`lr` must be > 0"),
    (Adam, {"beta1": 1.0}, ValueError, r"`beta1` must be in \[0, 1\); got 1.0"),
    (Adam, {"beta2": -0.5}, ValueError, r"`beta2` must be in \[0, 1\)"),
    (Adam, {"eps": 0.0}, ValueError, r"`eps` must be > 0"),
    (Adam, {"clip_norm": -2}, ValueError, r"`clip_norm` must be > 0"),
])
def test_bad_hyperparameters(cls, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cls(**kwargs)


def test_sgd_needs_lr_and_is_keyword_only():
    with pytest.raises(TypeError, match="lr"):
        SGD()
    with pytest.raises(TypeError):
        SGD(0.1)


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Adam().lr = 1.0


@pytest.mark.parametrize("params, grads, exc, match", [
    ({"w": np.zeros(2)}, {"v": np.zeros(2)}, ValueError,
     r"`grads` must have the same names as `params`.*missing \['w'\]"),
    ({"w": np.zeros(2)}, {"w": np.zeros(2), "b": np.zeros(1)}, ValueError, r"`grads`.*unknown \['b'\]"),
    ({"w": np.zeros(2)}, {"w": np.zeros(3)}, ValueError,
     r"`grads\['w'\]` must have the shape of `params\['w'\]`, \(2,\); got shape \(3,\)"),
    ({"w": np.zeros(2)}, {"w": [0.0, np.nan]}, ValueError, r"`grads\['w'\]` must be finite"),
    ({"w": np.zeros(2)}, [np.zeros(2)], TypeError, r"`grads` must be a dict"),
    ({"w": ["a", "b"]}, {"w": np.zeros(2)}, TypeError, r"`params\['w'\]` must be numeric"),
    ({}, {}, ValueError, r"`params` must contain at least one array"),
    ({1: np.zeros(2)}, {1: np.zeros(2)}, TypeError, r"`params` keys must be parameter names"),
])
def test_bad_step_arguments(params, grads, exc, match):
    opt = SGD(lr=0.1)
    with pytest.raises(exc, match=match):
        opt.step(params, grads, {"step": 0})


def test_bad_state():
    params = {"w": np.zeros(2)}
    grads = {"w": np.ones(2)}
    adam = Adam()
    with pytest.raises(ValueError, match=r"`state` has no 'm' entry.*Adam.init"):
        adam.step(params, grads, SGD(lr=0.1).init(params))
    with pytest.raises(TypeError, match=r"`state` must be a dict"):
        adam.step(params, grads, None)
    with pytest.raises(ValueError, match=r"`state\['step'\]` must be an integer >= 0"):
        adam.step(params, grads, {**adam.init(params), "step": -1})
    with pytest.raises(ValueError, match=r"`state\['v'\]\['w'\]` must have the shape"):
        adam.step(params, grads, {**adam.init(params), "v": {"w": np.zeros(3)}})
    with pytest.raises(ValueError, match=r"`state\['velocity'\]` must have the same names"):
        SGD(lr=0.1, momentum=0.5).step(params, grads, {"step": 0, "velocity": {"x": np.zeros(2)}})


def test_clip_and_norm_checks():
    with pytest.raises(ValueError, match=r"`max_norm` must be > 0; got -1.0"):
        clip_by_global_norm({"a": np.ones(2)}, -1.0)
    with pytest.raises(TypeError, match=r"`grads` must be a dict"):
        global_norm(np.ones(3))


def test_base_class_has_no_update():
    opt = Optimizer(lr=0.1)
    with pytest.raises(NotImplementedError, match="_update"):
        opt.step({"w": np.zeros(1)}, {"w": np.zeros(1)}, opt.init({"w": np.zeros(1)}))


# ------------------------------------------------------------------------------- registry


@pytest.mark.parametrize("opt", [SGD(lr=0.1), SGD(lr=0.2, momentum=0.9, nesterov=True, clip_norm=1.0),
                                 Adam(), Adam(lr=0.01, beta1=0.5, eps=1e-6, clip_norm=3.0)], ids=repr)
def test_to_dict_roundtrip(opt):
    d = opt.to_dict()
    assert d["name"] == opt.name
    assert json.loads(json.dumps(d)) == d
    assert get_optimizer(d) == opt
    assert get_optimizer(json.loads(json.dumps(d))) == opt


def test_get_optimizer():
    assert get_optimizer("adam") == Adam()
    assert get_optimizer("Adam", lr=0.01) == Adam(lr=0.01)
    assert get_optimizer("sgd", lr=0.1, momentum=0.9) == SGD(lr=0.1, momentum=0.9)
    assert get_optimizer({"name": "sgd", "lr": 0.1}, momentum=0.5) == SGD(lr=0.1, momentum=0.5)
    opt = Adam(lr=0.3)
    assert get_optimizer(opt) is opt


@pytest.mark.parametrize("spec, kwargs, exc, match", [
    ("adma", {}, ValueError, r"`optimizer` must be one of \['adam', 'sgd'\]; got 'adma'\. Did you mean `adam`\?"),
    ("rmsprop", {}, ValueError, r"`optimizer` must be one of"),
    ("adam", {"betta1": 0.9}, ValueError, r"`betta1` is not a parameter of the 'adam' optimizer.*Did you mean `beta1`"),
    ("sgd", {}, TypeError, r"needs a learning rate: pass `lr`"),
    ({"lr": 0.1}, {}, ValueError, r"needs a `name` key"),
    ({"name": "sgd", "lr": 0.1}, {"lr": 0.2}, ValueError, r"\['lr'\] given both"),
    (Adam(), {"lr": 0.1}, TypeError, r"cannot be applied to an optimizer object"),
    (3, {}, TypeError, r"`optimizer` must be a name"),
])
def test_get_optimizer_errors(spec, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        get_optimizer(spec, **kwargs)
