"""Rate models (spikerate.models.rate): construction, validation and the step protocol.

Every Jacobian is checked against central finite differences on random models with the
tanh, sigmoid, softplus and Siegert transfers, for the three model kinds, with scalar and
per-unit time constants.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikerate.models import (CurrentModel, RateModel, RateNoise, RateParams, SiegertTransfer, Tanh,
                              TwoVariableModel, TwoVariableParams, siegert)

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

EPS = np.finfo(float).eps ** (1 / 3)
KINDS = ("rate", "current", "two_variable")
GS = ("tanh", "sigmoid", "softplus", "siegert")


def random_model(kind, g, rng, *, n=4, n_in=3, per_unit_tau=False):
    """A random model whose transfer sees inputs in its interesting range, a state and an input."""
    siegert = g == "siegert"
    if siegert:
        g = SiegertTransfer(sigma=4.0)
        w = rng.normal(0.0, 0.05, (n, n))
        b = 17.0 + rng.normal(0.0, 2.0, n)
    else:
        w = rng.normal(0.0, 1.0 / np.sqrt(n), (n, n))
        b = rng.normal(0.0, 0.5, n)
    u = rng.normal(0.0, 1.0, (n, n_in))
    x = rng.normal(0.0, 1.0, n_in)
    tau = (lambda lo, hi: rng.uniform(lo, hi, n) if per_unit_tau else float(rng.uniform(lo, hi)))
    rates = rng.uniform(5.0, 40.0, n) if siegert else rng.normal(0.0, 1.0, n)
    currents = 15.0 + rng.normal(0.0, 3.0, n) if siegert else rng.normal(0.0, 1.0, n)
    if kind == "rate":
        return RateModel(w=w, u=u, b=b, tau=tau(5e-3, 20e-3), g=g), rates, x
    if kind == "current":
        return CurrentModel(w=w, u=u, b=b, tau=tau(5e-3, 20e-3), g=g), currents, x
    return (TwoVariableModel(w=w, u=u, b=b, tau_s=tau(2e-3, 8e-3), tau_m=tau(10e-3, 20e-3), g=g),
            np.concatenate([currents, rates]), x)


def fd_state(f, s, scale):
    cols = []
    for k in range(s.size):
        h = EPS * max(scale, abs(s[k]))
        e = np.zeros_like(s)
        e[k] = h
        cols.append((f(s + e) - f(s - e)) / (2 * h))
    return np.array(cols).T


def fd_params(model, f):
    """Dense d f(model') / d theta by central differences over every entry of every parameter."""
    out = {}
    for name in model.params_type.names():
        p = np.asarray(getattr(model, name), float)
        cols = []
        for k in range(max(p.size, 1)):
            h = EPS * (abs(p.ravel()[k]) if name.startswith("tau") else max(1.0, abs(p.ravel()[k])))
            plus, minus = p.copy().reshape(-1), p.copy().reshape(-1)
            plus[k] += h
            minus[k] -= h
            fp = f(model.with_params(**{name: plus.reshape(p.shape)}))
            fm = f(model.with_params(**{name: minus.reshape(p.shape)}))
            cols.append((fp - fm) / (2 * h))
        out[name] = np.array(cols).T
    return out


def assert_close(a, b, rtol=1e-6):
    scale = max(np.max(np.abs(b)), 1e-300)
    assert np.max(np.abs(a - b)) <= rtol * scale, (np.max(np.abs(a - b)), scale)


# --------------------------------------------------------------------------- construction


def test_contract_example_and_params_type():
    m = RateModel(w=[[1.0]], u=[[1.0]], b=[1.0], tau=1.0, g="linear", trainable=("w", "b"))
    assert m.trainable == ("w", "b")
    assert isinstance(m.params, RateParams)
    assert m.params.names() == ("w", "u", "b", "tau")
    # the homework model dr/dt = -r + w r + b + x
    assert m.F([0.5], [0.25]).tolist() == [-0.5 + 0.5 + 1.0 + 0.25]
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.tau = 2.0
    with pytest.raises(ValueError):
        m.w[0, 0] = 3.0  # read-only arrays
    m2 = m.with_params(w=[[2.0]])
    assert m2.w[0, 0] == 2.0 and m.w[0, 0] == 1.0 and m2.trainable == ("w", "b")
    m3 = m.with_params(m2.params)
    assert m3.w[0, 0] == 2.0
    assert isinstance(TwoVariableModel(w=np.eye(2), tau_s=1.0, tau_m=2.0).params, TwoVariableParams)


def test_defaults_identity_input_and_zero_bias():
    m = CurrentModel(w=np.zeros((3, 3)), tau=0.01)
    assert m.u.shape == (3, 3) and np.array_equal(m.u, np.eye(3)) and np.array_equal(m.b, np.zeros(3))
    assert m.n == 3 and m.n_in == 3 and m.n_state == 3
    assert TwoVariableModel(w=np.zeros((3, 3)), tau_s=1.0, tau_m=1.0).n_state == 6


def test_to_dict_is_json_safe():
    import json
    m = TwoVariableModel(w=np.eye(2), tau_s=[1.0, 2.0], tau_m=3.0, g="tanh")
    d = json.loads(json.dumps(m.to_dict()))
    assert d["model"] == "two_variable" and d["g"]["name"] == "tanh" and d["tau_s"] == [1.0, 2.0]


@pytest.mark.parametrize("kwargs, match", [
    (dict(w=[[1.0, 2.0]]), "`w`"),
    (dict(w=np.eye(2), u=np.ones((3, 1))), "`u`"),
    (dict(w=np.eye(2), b=np.ones(3)), "`b`"),
    (dict(w=np.eye(2), tau=0.0), "`tau`"),
    (dict(w=np.eye(2), tau=-1e-3), "`tau`"),
    (dict(w=np.eye(2), tau=[1.0, 2.0, 3.0]), "`tau`"),
    (dict(w=[[np.nan]]), "`w`"),
    (dict(w=np.eye(2), b=[0.0, np.nan]), "`b`"),
    (dict(w=np.eye(2), tau=np.nan), "`tau`"),
    (dict(w=np.eye(2), trainable=("w", "bias")), "`trainable`"),
    (dict(w=np.eye(2), g="tanhh"), "tanh"),
])
def test_bad_construction_names_the_argument(kwargs, match):
    kwargs = {"tau": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        RateModel(**kwargs)


def test_bad_two_variable_time_constants():
    with pytest.raises(ValueError, match="`tau_m`"):
        TwoVariableModel(w=np.eye(2), tau_s=1.0, tau_m=0.0)
    with pytest.raises(ValueError, match="`tau_s`"):
        TwoVariableModel(w=np.eye(2), tau_s=[1.0, -1.0], tau_m=1.0)
    with pytest.raises(TypeError):
        RateModel(w=np.eye(2), tau=1.0, g=42)


def test_callable_g_integrates_but_has_no_derivative():
    m = RateModel(w=0.5 * np.eye(2), tau=1.0, g=np.tanh)
    assert np.allclose(m.F([0.1, 0.2], [0.0, 1.0]), np.tanh(0.5 * np.array([0.1, 0.2]) + [0.0, 1.0]) - [0.1, 0.2])
    with pytest.raises(TypeError, match="derivative"):
        m.jacobian_state([0.1, 0.2], [0.0, 1.0])
    with pytest.raises(TypeError, match="derivative"):
        m.step_jacobians([0.1, 0.2], [0.0, 1.0], 0.1)


def test_bad_state_and_input_shapes():
    m = RateModel(w=np.eye(2), u=np.ones((2, 3)), tau=1.0)
    with pytest.raises(ValueError, match="`state`"):
        m.F([0.0], np.zeros(3))
    with pytest.raises(ValueError, match="`x`"):
        m.F([0.0, 0.0], np.zeros(2))
    with pytest.raises(ValueError, match="`method`"):
        m.step([0.0, 0.0], np.zeros(3), 0.1, method="heun")
    with pytest.raises(NotImplementedError):
        m.step_jacobians([0.0, 0.0], np.zeros(3), 0.1, method="rk4")


# --------------------------------------------------------------------------- Jacobians


@pytest.mark.parametrize("per_unit_tau", [False, True])
@pytest.mark.parametrize("g", GS)
@pytest.mark.parametrize("kind", KINDS)
def test_jacobians_match_finite_differences(kind, g, per_unit_tau):
    rng = np.random.default_rng(hash((kind, g, per_unit_tau)) % 2**32)
    model, s, x = random_model(kind, g, rng, per_unit_tau=per_unit_tau)
    scale = 1.0
    J = model.jacobian_state(s, x)
    assert J.shape == (model.n_state, model.n_state)
    assert_close(J, fd_state(lambda v: model.F(v, x), s, scale))
    dense = model.expand_jacobian_params(model.jacobian_params(s, x))
    ref = fd_params(model, lambda m: m.F(s, x))
    for name in model.params_type.names():
        assert_close(dense[name], ref[name])


@pytest.mark.parametrize("method", ["euler", "exp_euler"])
@pytest.mark.parametrize("g", ["tanh", "siegert"])
@pytest.mark.parametrize("kind", KINDS)
def test_step_jacobians_match_finite_differences(kind, g, method):
    rng = np.random.default_rng(7)
    for per_unit_tau in (False, True):
        model, s, x = random_model(kind, g, rng, per_unit_tau=per_unit_tau)
        dt = 1e-3
        A, B = model.step_jacobians(s, x, dt, method)
        assert type(B) is model.params_type
        assert_close(A, fd_state(lambda v: model.step(v, x, dt, method), s, 1.0))
        dense = model.expand_jacobian_params(B)
        ref = fd_params(model, lambda m: m.step(s, x, dt, method))
        for name in model.params_type.names():
            assert_close(dense[name], ref[name])


def test_compact_w_form_is_outer_product():
    """Rate model: dF_i/dw_ik = D_i r_k with D_i = g'(z_i)/tau_i, and dF_j/dw_ik = 0 for j != i."""
    rng = np.random.default_rng(3)
    model, r, x = random_model("rate", "tanh", rng, per_unit_tau=True)
    z = model.w @ r + model.u @ x + model.b
    D = Tanh().derivative(z) / model.tau
    C = model.jacobian_params(r, x)
    assert np.allclose(C.w, np.outer(D, r), rtol=1e-14, atol=0)
    assert np.allclose(C.b, D, rtol=1e-14, atol=0)


def test_exp_euler_step_is_exact_for_the_leak():
    m = RateModel(w=np.zeros((2, 2)), b=[1.0, -2.0], tau=[0.01, 0.02])
    s = np.array([0.5, 0.5])
    dt = 0.05
    exact = m.b + (s - m.b) * np.exp(-dt / m.tau)
    assert np.allclose(m.step(s, [0.0, 0.0], dt, "exp_euler"), exact, rtol=1e-14)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), n_in=st.integers(1, 4), kind=st.sampled_from(KINDS), seed=st.integers(0, 2**31))
def test_shapes_and_jacobian_property(n, n_in, kind, seed):
    rng = np.random.default_rng(seed)
    model, s, x = random_model(kind, "softplus", rng, n=n, n_in=n_in)
    assert model.F(s, x).shape == (model.n_state,)
    C = model.jacobian_params(s, x)
    for name in model.params_type.names():
        assert getattr(C, name).shape == (np.shape(getattr(model, name))[:1] or (n,)) + np.shape(
            getattr(model, name))[1:]
    assert_close(model.jacobian_state(s, x), fd_state(lambda v: model.F(v, x), s, 1.0), rtol=1e-5)


# --------------------------------------------------------------------------- rate-dependent noise


def noisy_model(kind, rng, *, per_unit_tau=False, n=4):
    """A random Siegert model whose noise sigma(r) and Fourcaud-Brunel shift follow the rates."""
    model, s, x = random_model(kind, "siegert", rng, n=n, per_unit_tau=per_unit_tau)
    noise = RateNoise.coloured(var_coupling=rng.uniform(0.0, 0.5, (n, n)), var_ext=rng.uniform(5.0, 15.0, n),
                               tau_s=rng.uniform(1e-3, 5e-3, n), tau_m=20e-3)
    return dataclasses.replace(model, noise=noise), s, x


@pytest.mark.parametrize("per_unit_tau", [False, True])
@pytest.mark.parametrize("kind", ["rate", "two_variable"])
def test_noise_jacobians_match_finite_differences(kind, per_unit_tau):
    rng = np.random.default_rng(11 + per_unit_tau)
    model, s, x = noisy_model(kind, rng, per_unit_tau=per_unit_tau)
    assert_close(model.jacobian_state(s, x), fd_state(lambda v: model.F(v, x), s, 1.0))
    dense = model.expand_jacobian_params(model.jacobian_params(s, x))
    ref = fd_params(model, lambda m: m.F(s, x))
    for name in model.params_type.names():
        assert_close(dense[name], ref[name])
    for method in ("euler", "exp_euler"):
        A, B = model.step_jacobians(s, x, 1e-3, method)
        assert_close(A, fd_state(lambda v: model.step(v, x, 1e-3, method), s, 1.0))
        dense = model.expand_jacobian_params(B)
        ref = fd_params(model, lambda m: m.step(s, x, 1e-3, method))
        for name in model.params_type.names():
            assert_close(dense[name], ref[name])


def test_noise_field_is_the_siegert_rate_at_the_rates_noise():
    """F of the noisy rate model, written out independently with siegert(..., tau_s=...)."""
    rng = np.random.default_rng(3)
    n, tau_s = 3, 4e-3
    V, v0 = rng.uniform(0.1, 0.4, (n, n)), rng.uniform(5.0, 10.0, n)
    g = SiegertTransfer(sigma=1.0)  # its own sigma is replaced by the model's noise
    model = RateModel(w=rng.normal(0, 0.05, (n, n)), b=np.full(n, 17.0), tau=0.02, g=g,
                      noise=RateNoise.coloured(var_coupling=V, var_ext=v0, tau_s=tau_s, tau_m=g.tau_m))
    r, x = rng.uniform(5.0, 30.0, n), rng.normal(0.0, 1.0, n)
    sigma = np.sqrt(V @ r + v0)
    expected = siegert(model.w @ r + x + model.b, sigma, tau_m=g.tau_m, t_ref=g.t_ref, v_th=g.v_th,
                       v_reset=g.v_reset, tau_s=tau_s)
    np.testing.assert_allclose(model.F(r, x), (expected - r) / 0.02, rtol=1e-12)


def test_noise_bad_input():
    rng = np.random.default_rng(0)
    noise = RateNoise(var_coupling=np.ones((2, 2)), var_ext=np.ones(2))
    w = np.zeros((2, 2))
    with pytest.raises(ValueError, match="`noise` is not available for CurrentModel.*TwoVariableModel"):
        CurrentModel(w=w, tau=0.01, g=SiegertTransfer(sigma=1.0), noise=noise)
    with pytest.raises(TypeError, match="`noise` needs a transfer that depends on the noise"):
        RateModel(w=w, tau=0.01, g="tanh", noise=noise)
    with pytest.raises(ValueError, match="`noise` must describe n = 3 units"):
        RateModel(w=np.zeros((3, 3)), tau=0.01, g=SiegertTransfer(sigma=1.0), noise=noise)
    with pytest.raises(TypeError, match="`noise` must be a spikerate.models.RateNoise"):
        RateModel(w=w, tau=0.01, g=SiegertTransfer(sigma=1.0), noise={"var": 1})
    with pytest.raises(ValueError, match="`var_ext` must be >= 0"):
        RateNoise(var_coupling=np.ones((2, 2)), var_ext=[1.0, -1.0])
    with pytest.raises(ValueError, match="`shift_coupling` must have shape \\(2, 2\\)"):
        RateNoise(var_coupling=np.ones((2, 2)), var_ext=np.ones(2), shift_coupling=np.ones(2))
    with pytest.raises(ValueError, match="`var_coupling` must be a square"):
        RateNoise(var_coupling=rng.random((2, 3)), var_ext=np.ones(2))
    with pytest.raises(TypeError, match="does not depend on the input noise"):
        Tanh().derivatives_noise(0.0, 1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_step_jacobians_batch_equals_one_at_a_time(kind):
    rng = np.random.default_rng(21)
    model, s, x = (noisy_model(kind, rng) if kind != "current" else random_model(kind, "siegert", rng))
    states = s[None] + rng.normal(0.0, 1.0, (6, s.size))
    xs = x[None] + rng.normal(0.0, 1.0, (6, x.size))
    for method in ("euler", "exp_euler"):
        A, B = model.step_jacobians_batch(states, xs, 1e-3, method)
        for k in range(6):
            a, b = model.step_jacobians(states[k], xs[k], 1e-3, method)
            np.testing.assert_allclose(A[k], a, rtol=1e-13, atol=1e-13 * np.abs(a).max())
            for name in model.params_type.names():
                ref = getattr(b, name)
                np.testing.assert_allclose(getattr(B, name)[k], ref, rtol=1e-13, atol=1e-13 * np.abs(ref).max())
    with pytest.raises(ValueError, match="`states` must have shape \\(K, "):
        model.step_jacobians_batch(states[0], xs, 1e-3)
    with pytest.raises(ValueError, match="`x` must have shape \\(K, n_in\\)"):
        model.step_jacobians_batch(states, xs[:2], 1e-3)
