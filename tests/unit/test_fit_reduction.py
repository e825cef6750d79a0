"""fit_reduction(): least-squares fit of a rate model's time constants, weight scale and
gain/threshold of g to population rates, with the analytic (RTRL) Jacobian."""

import dataclasses

import numpy as np
import pytest
import xarray as xr

from spikerate.models import CurrentModel, RateModel, TwoVariableModel, find_fixed_point, integrate
from spikerate.reduce import fit_reduction, reduce
from spikerate.reduce.fit import AffineTransfer, _Problem
from spikerate.sim import cuba_network

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

DT, T = 1e-3, 300
W = np.array([[0.5, -0.8], [0.7, -0.3]])
TAUS = {"rate": {"tau": [0.010, 0.020]}, "current": {"tau": [0.010, 0.020]},
        "two_variable": {"tau_s": [0.002, 0.004], "tau_m": [0.010, 0.020]}}
CLS = {"rate": RateModel, "current": CurrentModel, "two_variable": TwoVariableModel}
TRUE = {"w_scale": 1.2, "gain": np.array([1.5, 0.8]), "threshold": np.array([0.3, -0.4]), "tau_factor": 1.3}


def _drive(n_rows=T):
    t = np.arange(n_rows) * DT
    return np.stack([2.0 * np.sin(2 * np.pi * 5 * t) + (t > 0.1), 1.5 * np.cos(2 * np.pi * 3 * t) - (t > 0.2)], 1)


def _start_model(kind):
    return CLS[kind](w=W, b=[1.0, 0.5], g="softplus", **TAUS[kind])


def _true_model(kind):
    base = _start_model(kind)
    g = AffineTransfer(base=base.g, gain=TRUE["gain"], threshold=TRUE["threshold"])
    taus = {k: TRUE["tau_factor"] * np.array(v) for k, v in TAUS[kind].items()}
    return dataclasses.replace(base, w=TRUE["w_scale"] * W, g=g, **taus), taus


def _target(kind, method="euler"):
    """The true model's rates on the grid (T samples) under _drive(), from r0 (rate) or the fixed point."""
    model, taus = _true_model(kind)
    x = _drive()
    if kind == "rate":
        s0 = np.array([0.5, 0.7])
    else:
        fp = find_fixed_point(model, x[0], tol=1e-13)
        s0 = fp.I.values if kind == "current" else np.concatenate([fp.I.values, fp.r.values])
    r = integrate(model, x[:-1], dt=DT, method=method, state0=s0).r.values
    return r, x, taus


@pytest.mark.parametrize("kind", ["rate", "current", "two_variable"])
def test_recovers_known_parameters_noise_free(kind):
    rates, x, taus = _target(kind)
    fitted, rep = fit_reduction(_start_model(kind), rates, x=x, dt=DT)
    assert bool(rep.success)
    for name, value in taus.items():
        np.testing.assert_allclose(rep[name].values, value, rtol=1e-6)
        np.testing.assert_allclose(getattr(fitted, name), value, rtol=1e-6)
    np.testing.assert_allclose(float(rep.w_scale), TRUE["w_scale"], rtol=1e-6)
    np.testing.assert_allclose(rep.gain.values, TRUE["gain"], rtol=1e-6)
    np.testing.assert_allclose(rep.threshold.values, TRUE["threshold"], rtol=1e-6)
    np.testing.assert_allclose(fitted.w, TRUE["w_scale"] * W, rtol=1e-6)
    assert isinstance(fitted, CLS[kind]) and isinstance(fitted.g, AffineTransfer)
    assert float(rep.cost_final) < 1e-16 * float(rep.cost_initial)
    assert np.all(rep.r2_final.values > 1 - 1e-12) and np.all(rep.r2_initial.values < rep.r2_final.values)


def test_recovers_exp_euler_and_refit_starts_from_the_fit():
    rates, x, taus = _target("rate", method="exp_euler")
    fitted, rep = fit_reduction(_start_model("rate"), rates, x=x, dt=DT, method="exp_euler")
    np.testing.assert_allclose(rep.tau.values, taus["tau"], rtol=1e-6)
    np.testing.assert_allclose(rep.threshold.values, TRUE["threshold"], rtol=1e-6)
    # a fitted model (AffineTransfer g) starts again from its own gain and threshold
    _, rep2 = fit_reduction(fitted, rates, x=x, dt=DT, method="exp_euler")
    np.testing.assert_allclose(rep2.gain_initial.values, TRUE["gain"], rtol=1e-6)
    np.testing.assert_allclose(float(rep2.w_scale), 1.0, rtol=1e-6)
    assert int(rep2.n_fev) <= 3


def test_recovers_within_the_noise_derived_tolerance():
    """Gaussian noise sigma on every sample: estimates within 5 standard errors, where the standard
    error is sigma sqrt(diag (J^T J)^-1) with J the analytic Jacobian at the truth."""
    sigma = 0.02
    rates, x, taus = _target("two_variable")
    noisy = rates + sigma * np.random.default_rng(3).standard_normal(rates.shape)
    _, rep = fit_reduction(_start_model("two_variable"), noisy, x=x, dt=DT)
    names = ("tau_s", "tau_m", "w_scale", "gain", "threshold")
    truth = np.concatenate([taus["tau_s"], taus["tau_m"], [TRUE["w_scale"]], TRUE["gain"], TRUE["threshold"]])
    prob = _Problem(_start_model("two_variable"), names, rates, x, DT, "euler", np.ones(T, bool))
    J = prob.jacobian(truth)
    se = sigma * np.sqrt(np.diag(np.linalg.inv(J.T @ J)))
    est = np.concatenate([np.atleast_1d(rep[k].values) for k in names])
    assert np.all(np.abs(est - truth) <= 5 * se), (est - truth) / se
    assert np.all(np.abs(est - truth) > 0)  # the noise does move the estimates
    # the reported standard errors use the residual variance: close to the true ones
    rep_se = np.concatenate([np.atleast_1d(rep[f"{k}_stderr"].values) for k in names])
    np.testing.assert_allclose(rep_se, se, rtol=0.2)
    np.testing.assert_allclose(rep.rmse_final.values, sigma, rtol=0.2)


@pytest.mark.parametrize("kind", ["rate", "current", "two_variable"])
@pytest.mark.parametrize("method", ["euler", "exp_euler"])
def test_jacobian_matches_central_differences(kind, method):
    rates, x, _ = _target(kind)
    names = (*TAUS[kind], "w_scale", "gain", "threshold")
    prob = _Problem(_start_model(kind), names, rates, x[:120], DT, method, np.arange(120) >= 10)
    prob.target = rates[:120]
    theta = prob.theta0 * (1 + 0.1 * np.random.default_rng(1).standard_normal(prob.theta0.size))
    theta[-2:] = [0.2, -0.1]  # threshold (starts at 0)
    J = prob.jacobian(theta)
    Jfd = np.empty_like(J)
    for i in range(theta.size):
        h = np.cbrt(np.finfo(float).eps) * max(abs(theta[i]), 1e-2)
        e = np.zeros_like(theta)
        e[i] = h
        Jfd[:, i] = (prob.residuals(theta + e) - prob.residuals(theta - e)) / (2 * h)
    np.testing.assert_allclose(J, Jfd, atol=1e-6 * np.max(np.abs(J)))


def test_fit_never_makes_the_cost_worse():
    """A misspecified fit (only w_scale, target from a model with other tau, gain, threshold)
    still lowers the cost; starting at the optimum keeps it."""
    rates, x, _ = _target("rate")
    _, rep = fit_reduction(_start_model("rate"), rates, x=x, dt=DT, params=("w_scale",), t_start=0.05)
    assert float(rep.cost_final) <= float(rep.cost_initial)
    assert np.all(rep.rmse_final.values <= rep.rmse_initial.values + 1e-12) or float(rep.cost_final) < float(
        rep.cost_initial)
    true_model, _ = _true_model("rate")
    _, rep = fit_reduction(true_model, rates, x=x, dt=DT)
    assert float(rep.cost_final) <= float(rep.cost_initial) < 1e-20


def test_dataset_input_t_start_and_report_attrs():
    rates, x, taus = _target("current")
    time = 0.5 + np.arange(T) * DT
    ds = xr.Dataset({"rate": (("population", "time"), rates.T, {"units": "Hz"})},
                    coords={"time": time, "population": ["E", "I"]})
    _, rep = fit_reduction(_start_model("current"), ds, x=x[:-1], t_start=0.6, params=("tau", "gain"))
    assert list(rep.population.values) == ["E", "I"]
    assert rep.attrs["params"] == '["tau", "gain"]' and rep.attrs["dt"] == pytest.approx(DT)
    assert "w_scale" not in rep and "threshold" not in rep
    for name, var in {**rep.data_vars, **rep.coords}.items():
        assert "units" in var.attrs and "long_name" in var.attrs, name
    assert isinstance(rep.attrs["message"], str) and rep.success.dtype == bool
    assert int(rep.n_fev) >= 1
    # the cost counts only t >= t_start
    mask = time >= 0.6
    np.testing.assert_allclose(float(rep.cost_initial),
                               0.5 * np.sum((rep.r_initial.values - rates)[mask] ** 2), rtol=1e-12)


def test_fits_a_reduced_network_model():
    """A reduce() model (per-population Siegert transfer, in mV and Hz): w_scale and threshold
    from a target made with other values, starting at the fixed point."""
    model = reduce(cuba_network(), "rate", g="siegert")
    x = np.zeros((200, 2))
    x[50:] = 1.0
    true = dataclasses.replace(model, w=0.9 * model.w,
                               g=AffineTransfer(base=model.g, gain=[1.0, 1.0], threshold=[0.5, -0.5]))
    fp = find_fixed_point(true, x[0])
    rates = integrate(true, x[:-1], dt=DT, state0=fp.r.values).r.values
    fitted, rep = fit_reduction(model, rates, x=x, dt=DT, params=("w_scale", "threshold"))
    np.testing.assert_allclose(float(rep.w_scale), 0.9, rtol=1e-6)
    np.testing.assert_allclose(rep.threshold.values, [0.5, -0.5], rtol=1e-6)
    assert rep.threshold.attrs["units"] == "mV" and "tau" not in rep
    assert fitted.g.base is model.g


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(params=("tua",)), ValueError, "Did you mean `tau`"),
    (dict(params=("tau_m",)), ValueError, "`params`"),
    (dict(params=()), ValueError, "`params`"),
    (dict(params=("gain", "gain")), ValueError, "repeat"),
    (dict(dt=0.0), ValueError, "`dt`"),
    (dict(dt=-1e-3), ValueError, "`dt`"),
    (dict(dt=None), ValueError, "`dt`"),
    (dict(x=np.zeros((T, 3))), ValueError, "`x`"),
    (dict(x=np.zeros((T + 5, 2))), ValueError, "`x`"),
    (dict(x=np.full((T, 2), np.nan)), ValueError, "`x`"),
    (dict(method="rk4"), ValueError, "`method`"),
    (dict(bounds={"tau": (0.5, 1.0)}), ValueError, "bounds"),
    (dict(bounds={"w_scal": (0.0, 2.0)}), ValueError, "Did you mean `w_scale`"),
    (dict(bounds={"tau": (1e-6, 1.0)}), ValueError, "dt / 2"),
    (dict(t_start=10.0), ValueError, "`t_start`"),
])
def test_bad_input_raises_naming_the_argument(kwargs, exc, match):
    rates, x, _ = _target("rate")
    args = dict(x=x, dt=DT)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        fit_reduction(_start_model("rate"), rates, **args)


def test_bad_rates_raise():
    rates, x, _ = _target("rate")
    model = _start_model("rate")
    with pytest.raises(ValueError, match="`rates`.*population"):
        fit_reduction(model, rates[:, :1], x=x, dt=DT)
    bad = rates.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="`rates` must be finite"):
        fit_reduction(model, bad, x=x, dt=DT)
    ds = xr.Dataset({"rate": (("trial", "time", "population"), rates[None])},
                    coords={"time": np.arange(T) * DT})
    with pytest.raises(ValueError, match="trial"):
        fit_reduction(model, ds, x=x)
    ds = xr.Dataset({"rate": (("time", "population"), rates)}, coords={"time": np.arange(T) * DT})
    with pytest.raises(ValueError, match="`dt` must equal"):
        fit_reduction(model, ds, x=x, dt=2 * DT)
    with pytest.raises(TypeError, match="`model`"):
        fit_reduction("rate", rates, x=x, dt=DT)


def test_diverging_initial_model_raises_convergence_error():
    from spikerate.errors import ConvergenceError
    model = RateModel(w=[[50.0]], tau=0.01, g="linear")
    with pytest.raises(ConvergenceError, match="no finite trajectory"):
        fit_reduction(model, np.ones((1000, 1)), dt=DT, params=("tau",))
