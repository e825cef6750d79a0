"""Fixed-point learning: implicit differentiation (direct, adjoint) and equilibrium propagation
against finite differences, BPTT through a long relaxation, and backpropagation."""

from __future__ import annotations

import numpy as np
import pytest

from spikerate.errors import ConvergenceError
from spikerate.learn import (BPTT, SGD, EquilibriumPropagation, ImplicitAdjoint, ImplicitDirect, energy,
                             feedforward_model, fit, value_and_grad)
from spikerate.learn.fixed_point import fixed_point_loss, fixed_point_value_and_grad, prepare_fixed_point
from spikerate.models import CurrentModel, RateModel, TwoVariableModel, integrate

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

KINDS = {"rate": (RateModel, dict(tau=0.02)), "current": (CurrentModel, dict(tau=0.01)),
         "two_variable": (TwoVariableModel, dict(tau_s=0.005, tau_m=0.02))}


def model_of(kind, rng, n=5, n_in=2, symmetric=False):
    cls, taus = KINDS[kind]
    w = rng.normal(0, 0.5 / np.sqrt(n), (n, n))
    if symmetric:
        w = (w + w.T) / 2
    return cls(w=w, u=rng.normal(0, 1, (n, n_in)), b=rng.normal(0, 0.3, n), g="tanh", **taus)


def fd(pb, names):
    out = {}
    vals = pb.values()
    for k in names:
        v = vals[k]
        g = np.zeros(v.size)
        for i in range(v.size):
            h = 1e-6 * max(1.0, abs(v.flat[i]))
            vp, vm = v.copy(), v.copy()
            vp.flat[i] += h
            vm.flat[i] -= h
            g[i] = (fixed_point_loss(pb.with_values({k: vp}), ImplicitDirect(tol=1e-13))
                    - fixed_point_loss(pb.with_values({k: vm}), ImplicitDirect(tol=1e-13))) / (2 * h)
        out[k] = g.reshape(v.shape)
    return out


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("method", [ImplicitDirect(tol=1e-13), ImplicitAdjoint(tol=1e-13)])
def test_implicit_gradients_match_finite_differences(kind, method):
    rng = np.random.default_rng(len(kind))
    model = model_of(kind, rng)
    x, y, R = rng.normal(0, 1, (3, 2)), rng.normal(0, 0.5, (3, 2)), rng.normal(0, 1, (2, 5))
    names = ("w", "u", "b", "readout")
    loss, grads = value_and_grad(model, x, y, method=method, readout=R,
                                 trainable=names + tuple(n for n in model.params_type.names() if n.startswith("tau")))
    ref = fd(prepare_fixed_point(model, x, y, readout=R, trainable=names), names)
    for k in names:
        assert np.max(np.abs(grads[k] - ref[k])) <= 1e-6 * np.max(np.abs(ref[k])), k
    for k in model.params_type.names():
        if k.startswith("tau"):  # a fixed point does not depend on the time constants
            assert np.max(np.abs(grads[k])) <= 1e-9 * np.max(np.abs(grads["b"]))


def test_cross_entropy_loss_matches_finite_differences():
    rng = np.random.default_rng(9)
    model = model_of("rate", rng)
    x = rng.normal(0, 1, (4, 2))
    y = np.eye(3)[[0, 2, 1, 2]]
    R = rng.normal(0, 1, (3, 5))
    _, grads = value_and_grad(model, x, y, method=ImplicitDirect(tol=1e-13), readout=R, loss="cross_entropy",
                              trainable=("w", "b", "readout"))
    ref = fd(prepare_fixed_point(model, x, y, readout=R, loss="cross_entropy", trainable=("w", "b", "readout")),
             ("w", "b", "readout"))
    for k in ref:
        assert np.max(np.abs(grads[k] - ref[k])) <= 1e-6 * np.max(np.abs(ref[k])), k


@pytest.mark.parametrize("kind", ["rate", "two_variable"])
def test_implicit_equals_bptt_through_a_long_relaxation(kind):
    """BPTT of the loss after 40 tau of relaxation (Euler, dt = tau/20) from rest equals the
    implicit gradient to 1e-6: the transient's memory of the start has decayed."""
    rng = np.random.default_rng(4)
    model = model_of(kind, rng)
    x, y = rng.normal(0, 1, 2), rng.normal(0, 0.5, 5)
    _, imp = value_and_grad(model, x, y, method=ImplicitDirect(tol=1e-13), trainable=("w", "u", "b"))
    tau = float(np.max(model._tau_rows()))
    dt = float(np.min(model._tau_rows())) / 20
    T = int(40 * tau / dt)
    weights = np.zeros(T)
    weights[-1] = T  # l = 1/(2T) sum_t alpha_t ||o_t - y||^2 = 1/2 ||o_T - y||^2
    _, bptt = value_and_grad(model, np.tile(x, (T, 1)), np.tile(y, (T, 1)), method=BPTT(), dt=dt,
                             weights=weights, trainable=("w", "u", "b"))
    for k in imp:
        assert np.max(np.abs(imp[k] - bptt[k])) <= 1e-6 * np.max(np.abs(imp[k])), k


def test_feedforward_as_fixed_point_equals_backpropagation():
    rng = np.random.default_rng(5)
    w1, w2 = rng.normal(0, 1, (4, 3)), rng.normal(0, 1, (2, 4))
    b1, b2 = rng.normal(0, 0.2, 4), rng.normal(0, 0.2, 2)
    model = feedforward_model([w1, w2], biases=[b1, b2], g="tanh")
    x, y = rng.normal(0, 1, 3), rng.normal(0, 1, 2)
    R = np.zeros((2, 6))
    R[:, 4:] = np.eye(2)  # the output is the last layer
    loss, grads = value_and_grad(model, x, y, method=ImplicitDirect(tol=1e-14), readout=R,
                                 trainable=("w", "u", "b"))
    # ordinary backpropagation
    h1 = np.tanh(w1 @ x + b1)
    h2 = np.tanh(w2 @ h1 + b2)
    d2 = (h2 - y) * (1 - h2 ** 2)
    d1 = (w2.T @ d2) * (1 - h1 ** 2)
    assert loss == pytest.approx(0.5 * np.sum((h2 - y) ** 2), rel=1e-12)
    np.testing.assert_allclose(grads["w"][4:, :4], np.outer(d2, h1), rtol=1e-10)
    np.testing.assert_allclose(grads["u"][:4], np.outer(d1, x), rtol=1e-10)
    np.testing.assert_allclose(grads["b"], np.concatenate([d1, d2]), rtol=1e-10)
    J = model.jacobian_state(np.concatenate([h1, h2]), x)
    assert np.allclose(np.triu(J, 1), 0.0)  # the lecture's lower-triangular J


def test_eqprop_converges_to_the_symmetric_part_with_the_stated_orders():
    rng = np.random.default_rng(6)
    model = model_of("rate", rng, symmetric=True)
    x, y = rng.normal(0, 1, 2), rng.normal(0, 0.5, 5)
    _, G = value_and_grad(model, x, y, method=ImplicitDirect(tol=1e-14))
    target = {"w": (G["w"] + G["w"].T) / 2, "u": G["u"], "b": G["b"]}
    betas = np.array([0.04, 0.02, 0.01, 0.005])
    for variant, order in (("one_sided", 1.0), ("symmetric", 2.0)):
        errs = []
        for beta in betas:
            _, E = value_and_grad(model, x, y, method=EquilibriumPropagation(beta=beta, variant=variant, tol=1e-15))
            errs.append(max(np.max(np.abs(E[k] - target[k])) / np.max(np.abs(target[k])) for k in target))
        slope = np.polyfit(np.log(betas), np.log(errs), 1)[0]
        assert abs(slope - order) < 0.15, (variant, slope, errs)


def test_eqprop_warns_for_a_non_symmetric_w_and_needs_the_squared_loss():
    rng = np.random.default_rng(7)
    model = model_of("rate", rng)
    with pytest.warns(UserWarning, match="not symmetric"):
        value_and_grad(model, np.zeros(2), np.zeros(5), method=EquilibriumPropagation())
    with pytest.raises(ValueError, match="loss='mse'"):
        value_and_grad(model_of("rate", rng, symmetric=True), np.zeros(2), np.eye(5)[0],
                       method=EquilibriumPropagation(), loss="cross_entropy")


def test_unstable_fixed_points_are_reported_not_used():
    model = RateModel(w=[[2.0]], u=[[1.0]], b=[0.0], tau=0.01, g="tanh")  # r = 0 is unstable (gain 2 > 1)
    with pytest.raises(ConvergenceError, match="unstable"):
        value_and_grad(model, [0.0], [0.5], method=ImplicitDirect())
    pb = prepare_fixed_point(model, [0.0], [0.5])
    info = {}
    loss, grads = fixed_point_value_and_grad(pb, ImplicitDirect(throw=False), info=info)
    assert not info["stable"][0] and info["max_eigenvalue"][0] > 0
    assert np.isnan(loss) and np.all(np.isnan(grads["w"]))


def test_training_at_fixed_points_lowers_the_loss_with_each_method():
    rng = np.random.default_rng(8)
    model = model_of("rate", rng, symmetric=True)
    x = rng.normal(0, 1, (6, 2))
    y = 0.5 * np.tanh(x @ rng.normal(0, 1, (2, 5)))
    for method in (ImplicitDirect(), ImplicitAdjoint(), EquilibriumPropagation(beta=1e-3)):
        h = fit(model, x, y, method=method, optimizer=SGD(lr=0.5), epochs=8, progress=False,
                trainable=("u", "b"))
        assert h.attrs["method"] == method.name
        assert h.loss.values[-1] < 0.8 * h.loss.values[0], method.name


def test_energy_decreases_along_the_dynamics_and_is_minimal_at_the_fixed_point():
    rng = np.random.default_rng(10)
    model = model_of("rate", rng, symmetric=True)
    x = rng.normal(0, 1, 2)
    traj = integrate(model, x, dt=1e-3, t_stop=0.3, state0=np.full(5, 0.3))
    E = [energy(model, r, x) for r in traj.r.values]
    assert np.all(np.diff(E) <= 1e-12)
    r_star = traj.r.values[-1]
    for _ in range(5):
        assert energy(model, np.clip(r_star + rng.normal(0, 1e-3, 5), -0.999, 0.999), x) > E[-1]
    with pytest.raises(TypeError, match="invertible g"):
        energy(RateModel(w=np.zeros((2, 2)), tau=1.0, g="relu"), np.zeros(2), np.zeros(2))


def test_bad_input():
    model = RateModel(w=np.zeros((2, 2)), tau=1.0, g="tanh")
    with pytest.raises(ValueError, match="`x` must have shape \\(n_in,\\) = \\(2,\\)"):
        value_and_grad(model, np.zeros(3), np.zeros(2), method=ImplicitDirect())
    with pytest.raises(ValueError, match="`trainable`.*no initial state"):
        value_and_grad(model, np.zeros(2), np.zeros(2), method=ImplicitDirect(), trainable=("r0",))
    with pytest.raises(ValueError, match="`beta` must be > 0"):
        EquilibriumPropagation(beta=0.0)
    with pytest.raises(ValueError, match="`variant`.*Did you mean `symmetric`"):
        EquilibriumPropagation(variant="symetric")
    with pytest.raises(ValueError, match="`method`.*Did you mean `implicit_direct`"):
        value_and_grad(model, np.zeros(2), np.zeros(2), method="implicit_drect")
    with pytest.raises(ValueError, match="`dt` is required for the trajectory methods"):
        value_and_grad(model, np.zeros((3, 2)), np.zeros((3, 2)), method=BPTT())


def test_stability_check_certifies_by_the_logarithmic_norm_and_falls_back_to_eigenvalues():
    from spikerate.learn.fixed_point import _stable
    rng = np.random.default_rng(11)
    n = 200
    J = -np.eye(n) + 0.3 * rng.normal(0, 1 / np.sqrt(n), (n, n))
    ok, top = _stable(J)
    assert ok and np.isnan(top)  # certified by the logarithmic norm, no eigenvalues computed
    assert np.linalg.eigvalsh(0.5 * (J + J.T))[-1] < 0
    # stable but not certified by the logarithmic norm: a strongly non-normal J
    K = -np.eye(n) + np.diag(np.full(n - 1, 5.0), 1)
    ok, top = _stable(K)
    assert ok and top == pytest.approx(-1.0)
    ok, top = _stable(-K.T + 2.5 * np.eye(n))  # eigenvalues 1 + 2.5 ... unstable
    assert not ok and top > 0


@pytest.mark.parametrize("g", ["tanh", "sigmoid", "softplus"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_compiled_implicit_direct_equals_the_generic_path(g, loss, monkeypatch):
    from spikerate.learn import fixed_point as FP
    rng = np.random.default_rng(12)
    n = 7
    model = RateModel(w=rng.normal(0, 0.5 / np.sqrt(n), (n, n)), u=rng.normal(0, 1, (n, 3)), b=rng.normal(0, 0.3, n),
                      tau=rng.uniform(0.01, 0.03, n), g=g, trainable=("w", "u", "b", "tau"))
    x = rng.normal(0, 1, (4, 3))
    y = np.eye(2)[[0, 1, 1, 0]] if loss == "cross_entropy" else rng.normal(0, 0.5, (4, 2))
    kw = dict(method=ImplicitDirect(tol=1e-13), readout=rng.normal(0, 1, (2, n)), loss=loss,
              trainable=("w", "u", "b", "tau", "readout"))
    calls = []
    original = FP._implicit_direct_fast
    monkeypatch.setattr(FP, "_implicit_direct_fast", lambda *a: calls.append(1) or original(*a))
    l1, g1 = value_and_grad(model, x, y, **kw)
    assert calls  # the compiled path ran
    monkeypatch.setattr(FP, "_implicit_direct_fast", lambda *a: None)
    l2, g2 = value_and_grad(model, x, y, **kw)
    assert l1 == pytest.approx(l2, rel=1e-12)
    for k in g2:
        scale = max(np.max(np.abs(g2[k])), 1e-300)
        if k == "tau":  # zero up to the solver tolerance on both paths
            assert np.max(np.abs(g1[k] - g2[k])) <= 1e-9 * np.max(np.abs(g2["b"]))
        else:
            assert np.max(np.abs(g1[k] - g2[k])) <= 1e-10 * scale, k
