"""integrate and find_fixed_point (spikerate.models.dynamics).

References: the exact solution of the linear ODE (scipy.linalg.expm) with measured convergence
orders; the NumPy scheme (model.step) for the compiled kernel; scipy.optimize.root for fixed
points; the two limits of the two-variable model; a known unstable fixed point.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize

from spikerate.errors import ConvergenceError
from spikerate.io.schema import validate_dataset
from spikerate.models import (CurrentModel, RateModel, SiegertTransfer, Tanh, TwoVariableModel, find_fixed_point,
                              integrate)

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)


class MyTanh:
    """A user transfer (value and derivative, not a built-in): takes the NumPy path."""

    def value(self, x):
        return np.tanh(x)

    def derivative(self, x):
        return 1.0 - np.tanh(x) ** 2


def linear_model(seed=0, n=3):
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.4, (n, n))
    return RateModel(w=w, u=rng.normal(size=(n, 2)), b=rng.normal(size=n), tau=rng.uniform(0.5, 1.5, n)), rng


def exact_linear(model, x, r0, t):
    """r(t) of tau dr/dt = -r + W r + U x + b: r* + expm(A t)(r0 - r*), A = (W - I)/tau."""
    A = (model.w - np.eye(model.n)) / model.tau[:, None]
    c = (model.u @ x + model.b) / model.tau
    r_star = -np.linalg.solve(A, c)
    return r_star + scipy.linalg.expm(A * t) @ (r0 - r_star)


def slope(dts, errors):
    return np.polyfit(np.log(dts), np.log(errors), 1)[0]


# --------------------------------------------------------------------------- integrate


@pytest.mark.parametrize("method, dts, order", [
    ("euler", [0.02, 0.01, 0.005, 0.0025], 1.0),
    ("exp_euler", [0.02, 0.01, 0.005, 0.0025], 1.0),
    ("rk4", [0.1, 0.05, 0.025, 0.0125], 4.0),
])
def test_linear_model_against_expm_convergence_order(method, dts, order):
    model, rng = linear_model()
    x = rng.normal(size=2)
    r0 = rng.normal(size=3)
    t_stop = 2.0
    ref = exact_linear(model, x, r0, t_stop)
    errors = []
    for dt in dts:
        ds = integrate(model, x, dt=dt, t_stop=t_stop, method=method, state0=r0)
        assert ds.time.values[-1] == pytest.approx(t_stop)
        errors.append(np.max(np.abs(ds.r.values[-1] - ref)))
    p = slope(dts, errors)
    assert abs(p - order) < 0.15, (p, errors)
    if method == "rk4":
        assert errors[-1] < 1e-7


def test_linear_model_whole_trajectory_against_expm():
    model, rng = linear_model(1)
    x = rng.normal(size=2)
    ds = integrate(model, x, dt=0.01, t_stop=1.0, method="rk4", record_every=10)
    assert ds.sizes["time"] == 11
    for k, t in enumerate(ds.time.values):
        assert np.allclose(ds.r.values[k], exact_linear(model, x, np.zeros(3), t), rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ["euler", "exp_euler", "rk4"])
@pytest.mark.parametrize("cls", [RateModel, CurrentModel, TwoVariableModel])
def test_kernel_matches_numpy_step_and_fallback(cls, method):
    rng = np.random.default_rng(5)
    n = 4
    kw = dict(tau_s=0.004, tau_m=0.01) if cls is TwoVariableModel else dict(tau=0.01)
    common = dict(w=rng.normal(0, 0.5, (n, n)), u=rng.normal(size=(n, 2)), b=rng.normal(size=n), **kw)
    fast, slow = cls(**common, g=Tanh()), cls(**common, g=MyTanh())
    xs = rng.normal(size=(200, 2))
    s0 = rng.normal(size=fast.n_state)
    ds_fast = integrate(fast, xs, dt=1e-3, method=method, state0=s0)
    ds_slow = integrate(slow, xs, dt=1e-3, method=method, state0=s0)
    s = s0.copy()
    for k in range(200):
        s = fast.step(s, xs[k], 1e-3, method)
    assert np.allclose(ds_fast.r.values[-1], fast.output(s), rtol=1e-12, atol=1e-13)
    assert np.allclose(ds_fast.r.values, ds_slow.r.values, rtol=1e-12, atol=1e-13)
    if cls is not RateModel:
        assert ds_fast.I.dims == ("time", "unit")
    validate_dataset(ds_fast)


def test_siegert_kernel_matches_numpy_step():
    n = 3
    rng = np.random.default_rng(2)
    g = SiegertTransfer(sigma=4.0, tau_s=5e-3)
    m = RateModel(w=rng.normal(0, 0.05, (n, n)), b=17.0 + rng.normal(0, 2.0, n), tau=0.01, g=g)
    ds = integrate(m, np.zeros(n), dt=1e-3, t_stop=0.05, state0=np.full(n, 10.0))
    s = np.full(n, 10.0)
    for _ in range(50):
        s = m.step(s, np.zeros(n), 1e-3)
    assert np.allclose(ds.r.values[-1], s, rtol=1e-12)
    assert np.all(ds.r.values[-1] > 1.0)


def test_callable_input_matches_sampled_array():
    model, _ = linear_model(2)

    def x_of_t(t):
        return np.array([np.sin(5 * t), np.cos(3 * t)])

    dt, n_steps = 0.01, 100
    xs = np.array([x_of_t(k * dt) for k in range(n_steps)])
    a = integrate(model, x_of_t, dt=dt, t_stop=n_steps * dt)
    b = integrate(model, xs, dt=dt)
    assert np.array_equal(a.r.values, b.r.values)
    assert np.allclose(a.x.values[:-1], xs)
    # RK4 with a smooth callable input keeps fourth order
    errs = []
    ref = integrate(model, x_of_t, dt=0.0025, t_stop=1.0, method="rk4").r.values[-1]
    for dt in (0.1, 0.05, 0.025):
        errs.append(np.max(np.abs(integrate(model, x_of_t, dt=dt, t_stop=1.0, method="rk4").r.values[-1] - ref)))
    assert slope([0.1, 0.05, 0.025], errs) > 3.5


def test_record_every_subsamples_the_trajectory():
    model, rng = linear_model(3)
    xs = rng.normal(size=(60, 2))
    full = integrate(model, xs, dt=0.01)
    sub = integrate(model, xs, dt=0.01, record_every=20)
    assert np.array_equal(sub.r.values, full.r.values[::20])
    assert np.allclose(sub.time.values, [0.0, 0.2, 0.4, 0.6])


def tanh_net(n=3, seed=11, gain=0.8):
    rng = np.random.default_rng(seed)
    w = gain * rng.normal(0, 1 / np.sqrt(n), (n, n))
    return w, rng.normal(size=(n, 1)), rng.normal(0, 0.5, n), rng.normal(size=1)


def test_two_variable_tends_to_rate_model_as_tau_s_to_0():
    w, u, b, x = tanh_net()
    rate = RateModel(w=w, u=u, b=b, tau=1.0, g="tanh")
    errors, ratios = [], (0.04, 0.02, 0.01)
    for eps in ratios:
        dt = eps / 8
        ref = integrate(rate, x, dt=dt, t_stop=2.0, method="rk4").r.values
        two = TwoVariableModel(w=w, u=u, b=b, tau_s=eps, tau_m=1.0, g="tanh")
        s0 = np.concatenate([u @ x + b, np.zeros(3)])  # I on its slow manifold at t = 0
        r = integrate(two, x, dt=dt, t_stop=2.0, method="rk4", state0=s0).r.values
        errors.append(np.max(np.abs(r - ref)))
    assert errors[0] > errors[1] > errors[2]
    assert abs(slope(ratios, errors) - 1.0) < 0.2, errors


def test_two_variable_tends_to_current_model_as_tau_m_to_0():
    w, u, b, x = tanh_net(seed=12)
    cur = CurrentModel(w=w, u=u, b=b, tau=1.0, g="tanh")
    i0 = np.full(3, 0.3)
    errors, ratios = [], (0.04, 0.02, 0.01)
    for eps in ratios:
        dt = eps / 8
        ref = integrate(cur, x, dt=dt, t_stop=2.0, method="rk4", state0=i0).r.values
        two = TwoVariableModel(w=w, u=u, b=b, tau_s=1.0, tau_m=eps, g="tanh")
        r = integrate(two, x, dt=dt, t_stop=2.0, method="rk4", state0=np.concatenate([i0, np.tanh(i0)])).r.values
        errors.append(np.max(np.abs(r - ref)))
    assert errors[0] > errors[1] > errors[2]
    assert abs(slope(ratios, errors) - 1.0) < 0.2, errors


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(dt=0.0, t_stop=1.0), ValueError, "`dt`"),
    (dict(dt=3.0, t_stop=10.0), ValueError, "`dt`"),
    (dict(dt=0.01), ValueError, "`t_stop`"),
    (dict(dt=0.01, t_stop=1.0, method="heun"), ValueError, "`method`"),
    (dict(dt=0.01, t_stop=1.0, state0=[0.0]), ValueError, "`state0`"),
    (dict(dt=0.01, t_stop=1.0, state0=[0.0, np.nan, 0.0]), ValueError, "`state0`"),
    (dict(dt=0.01, t_stop=1.0, record_every=0), ValueError, "`record_every`"),
])
def test_integrate_bad_input(kwargs, err, match):
    model, _ = linear_model()
    with pytest.raises(err, match=match):
        integrate(model, [0.0, 0.0], **kwargs)


def test_integrate_bad_x():
    model, _ = linear_model()
    with pytest.raises(ValueError, match="`x`"):
        integrate(model, [0.0, 0.0, 0.0], dt=0.01, t_stop=1.0)
    with pytest.raises(ValueError, match="`x`"):
        integrate(model, np.zeros((10, 3)), dt=0.01)
    with pytest.raises(ValueError, match="`x`"):
        integrate(model, [0.0, np.nan], dt=0.01, t_stop=1.0)
    with pytest.raises(ValueError, match="`t_stop`"):
        integrate(model, np.zeros((10, 2)), dt=0.01, t_stop=0.2)
    with pytest.raises(TypeError, match="`model`"):
        integrate("rate", [0.0, 0.0], dt=0.01, t_stop=1.0)
    # exponential Euler has no stability limit on the leak
    integrate(model, [0.0, 0.0], dt=3.0, t_stop=30.0, method="exp_euler")


# --------------------------------------------------------------------------- fixed points


@pytest.mark.parametrize("g", ["tanh", "sigmoid", "softplus"])
@pytest.mark.parametrize("cls", [RateModel, CurrentModel, TwoVariableModel])
def test_fixed_point_matches_scipy_root(cls, g):
    w, u, b, x = tanh_net(n=5, seed=21, gain=1.5)
    kw = dict(tau_s=0.005, tau_m=0.02) if cls is TwoVariableModel else dict(tau=0.01)
    m = cls(w=w, u=u, b=b, g=g, **kw)
    ds = find_fixed_point(m, x)
    validate_dataset(ds)
    assert ds.attrs["converged"] == 1 and ds.attrs["method_used"] == "newton"
    s = np.concatenate([ds.I.values, ds.r.values]) if cls is TwoVariableModel else (
        ds.I.values if cls is CurrentModel else ds.r.values)
    sol = scipy.optimize.root(lambda v: m.F(v, x), np.zeros(m.n_state), jac=lambda v: m.jacobian_state(v, x),
                              tol=1e-13)
    assert sol.success
    assert np.allclose(s, sol.x, rtol=1e-9, atol=1e-11)
    assert np.max(np.abs(ds.residual.values)) < 1e-7
    ev = np.linalg.eigvals(m.jacobian_state(s, x))
    assert np.allclose(np.sort(ev.real), np.sort(ds.eigenvalue_real.values))
    assert ds.attrs["stable"] == int(np.max(ev.real) < 0)


def test_siegert_fixed_point_self_consistent():
    n = 4
    rng = np.random.default_rng(4)
    g = SiegertTransfer(sigma=5.0)
    m = RateModel(w=rng.normal(0.05, 0.05, (n, n)), b=np.full(n, 15.0), tau=0.01, g=g)
    ds = find_fixed_point(m, np.zeros(n), state0=np.full(n, 5.0))
    r = ds.r.values
    assert np.allclose(r, g.value(m.w @ r + m.b), rtol=1e-10)
    assert ds.attrs["stable"] == 1


def test_unstable_fixed_point_and_complex_eigenvalues():
    # dr/dt = -r + 2 r + b: fixed point r* = -b, eigenvalue +1 (unstable); Newton still finds it
    ds = find_fixed_point(RateModel(w=[[2.0]], b=[0.5], tau=1.0), [0.0])
    assert ds.r.values[0] == pytest.approx(-0.5)
    assert ds.attrs["stable"] == 0 and ds.eigenvalue_real.values[0] == pytest.approx(1.0)
    # a stable focus: J = W - I has eigenvalues -0.5 +- 2i
    ds = find_fixed_point(RateModel(w=[[0.5, -2.0], [2.0, 0.5]], b=[1.0, 0.0], tau=1.0), [0.0, 0.0])
    assert ds.attrs["stable"] == 1
    assert np.allclose(ds.eigenvalue_real.values, -0.5)
    assert np.allclose(ds.eigenvalue_imag.values, [2.0, -2.0])
    # a saddle: eigenvalues 0.5 and -1.5
    ds = find_fixed_point(RateModel(w=[[0.5, 1.0], [1.0, 0.5]], tau=1.0), [0.0, 0.0])
    assert ds.attrs["stable"] == 0
    assert np.allclose(ds.eigenvalue_real.values, [0.5, -1.5])


def test_relaxation_fallback():
    # bistable r = sigmoid(12 r - 6): one Newton iteration is not enough, so relaxation takes the
    # state to the stable fixed point on its side of the unstable one (0.5) and Newton finishes
    m = RateModel(w=[[12.0]], b=[-6.0], tau=1.0, g="sigmoid")
    for s0, side in ((0.6, 1), (0.45, 0)):
        ds = find_fixed_point(m, [0.0], state0=[s0], max_iter=1)
        r = ds.r.values[0]
        assert ds.attrs["method_used"].startswith("relaxation") and ds.attrs["n_relax_steps"] > 0
        assert ds.attrs["converged"] == 1 and ds.attrs["stable"] == 1
        assert abs(m.F([r], [0.0])[0]) < 1e-9 and (r > 0.5) == side
    # Newton alone (enough iterations) lands on the unstable middle one from nearby
    ds = find_fixed_point(m, [0.0], state0=[0.501])
    assert ds.attrs["method_used"] == "newton" and ds.r.values[0] == pytest.approx(0.5) and ds.attrs["stable"] == 0


def test_homework_model_without_fixed_point():
    """dr/dt = -r + w r + b + x with w = 1 and b = 1: F = 1 everywhere, no fixed point."""
    m = RateModel(w=[[1.0]], u=[[1.0]], b=[1.0], tau=1.0, g="linear", trainable=("w", "b"))
    with pytest.raises(ConvergenceError, match="did not converge"):
        find_fixed_point(m, [0.0], max_iter=5)
    ds = find_fixed_point(m, [0.0], max_iter=5, throw=False)
    assert ds.attrs["converged"] == 0
    # with w = 0.5 the fixed point is (b + x) / (1 - w)
    assert find_fixed_point(m.with_params(w=[[0.5]]), [1.0]).r.values[0] == pytest.approx(4.0)


def test_fixed_point_bad_input():
    m = RateModel(w=np.eye(2) * 0.5, tau=1.0, g=np.tanh)
    with pytest.raises(TypeError, match="derivative"):
        find_fixed_point(m, [0.0, 0.0])
    m = RateModel(w=np.eye(2) * 0.5, tau=1.0)
    with pytest.raises(ValueError, match="`x`"):
        find_fixed_point(m, [0.0])
    with pytest.raises(ValueError, match="`tol`"):
        find_fixed_point(m, [0.0, 0.0], tol=0.0)
    with pytest.raises(ValueError, match="`max_iter`"):
        find_fixed_point(m, [0.0, 0.0], max_iter=0)
    with pytest.raises(ValueError, match="`state0`"):
        find_fixed_point(m, [0.0, 0.0], state0=[1.0])


@pytest.mark.parametrize("cls", [RateModel, CurrentModel, TwoVariableModel])
def test_results_round_trip_through_netcdf(cls, tmp_path):
    import json

    import xarray as xr

    from spikerate.io.netcdf import load, save
    kw = dict(tau_s=0.005, tau_m=0.02) if cls is TwoVariableModel else dict(tau=0.01)
    m = cls(w=0.3 * np.eye(2), g="tanh", **kw)
    for k, ds in enumerate((integrate(m, [0.5, 0.0], dt=1e-3, t_stop=0.01), find_fixed_point(m, [0.5, 0.0]))):
        validate_dataset(ds)
        for v in list(ds.data_vars) + list(ds.coords):
            assert "units" in ds[v].attrs and "long_name" in ds[v].attrs, v
        assert np.array_equal(ds.w.values, m.w) and ds.w.dims == ("unit", "pre")
        assert ds.u.dims == ("unit", "input") and "w" not in json.loads(ds.attrs["params"])
        path = save(ds, tmp_path / f"{cls.__name__}{k}.nc")
        xr.testing.assert_identical(load(path), ds)


@pytest.mark.parametrize("g", ["linear", "relu", {"name": "threshold_linear", "threshold": 0.2, "power": 2.0},
                               {"name": "tanh", "gain": 2.0}, {"name": "sigmoid", "gain": 3.0, "threshold": 0.1},
                               {"name": "softplus", "beta": 2.0}, "lif", {"name": "siegert", "sigma": 3.0}])
@pytest.mark.parametrize("cls", [RateModel, CurrentModel, TwoVariableModel])
def test_every_builtin_transfer_kernel_matches_numpy(cls, g):
    """The kernel's int-coded g (value only) against the transfer objects, through model.step."""
    rng = np.random.default_rng(8)
    n = 4
    lif = isinstance(g, str) and g == "lif" or isinstance(g, dict) and g["name"] == "siegert"
    scale, offset = (0.1, 22.0) if lif else (0.5, 0.0)
    kw = dict(tau_s=0.004, tau_m=0.01) if cls is TwoVariableModel else dict(tau=0.01)
    m = cls(w=rng.normal(0, scale, (n, n)), b=offset + rng.normal(0, 1.0, n), g=g, **kw)
    s0 = np.concatenate([np.full(n, offset), np.zeros(n)])[:m.n_state] if lif else rng.normal(size=m.n_state)
    xs = rng.normal(size=(50, n))
    ds = integrate(m, xs, dt=1e-3, method="rk4", state0=s0)
    s = s0.copy()
    for k in range(50):
        s = m.step(s, xs[k], 1e-3, "rk4")
    assert np.allclose(ds.r.values[-1], m.output(s), rtol=1e-11, atol=1e-12)
    if lif:
        assert np.max(ds.r.values[-1]) > 1.0  # the test sees a firing network
