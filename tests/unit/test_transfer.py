"""LIF transfer functions: Siegert against adaptive quadrature, the noise-free limit, analytic
derivatives against finite differences, broadcasting, extremes, bad input, the FB shift."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import scipy.integrate
import scipy.special

from spikerate.models import (ALPHA, LIFTransfer, SiegertTransfer, fb_shift, get_transfer, lif_rate,
                              lif_rate_derivatives, siegert, siegert_derivatives)

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

NEURON = dict(tau_m=20e-3, t_ref=2e-3, v_th=20.0, v_reset=10.0)
#: central finite-difference step relative to the local scale (STYLE.md §9)
FD_EPS = np.finfo(float).eps ** (1 / 3)


# ------------------------------------------------------------------------------ reference


def quad_rate(mu, sigma, *, tau_m, t_ref, v_th, v_reset):
    """Siegert rate by adaptive quadrature (scipy.integrate.quad) of e^{u^2}(1 + erf u) with
    e^{-max(b,0)^2} factored out, on pieces short enough for quad to reach 1e-13."""
    a = (v_reset - mu) / sigma
    b = (v_th - mu) / sigma
    e2 = max(b, 0.0) ** 2

    def f(u):  # e^{u^2 - E} (1 + erf u) without overflow
        if u <= 0.0:
            return scipy.special.erfcx(-u) * math.exp(-e2)
        return math.exp(u * u - e2) * scipy.special.erfc(-u)

    cuts = {a, b}
    if a < 0.0 < b:
        cuts.add(0.0)
    if b > 1.0:  # the integrand decays away from b on the scale 1/(2b)
        cuts.update(x for x in b - np.array([0.5, 2.0, 8.0, 30.0]) / b if x > a)
    if a < -1.0:  # erfcx(|u|) ~ 1/|u|: geometric pieces
        hi = min(b, -1.0)
        cuts.update(-np.geomspace(-hi, -a, 2 + int(np.log2(a / hi))))
    pts = sorted(cuts)
    total = sum(scipy.integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-13, limit=200)[0]
                for lo, hi in zip(pts[:-1], pts[1:]))
    scale = math.exp(-e2)
    return scale / (t_ref * scale + tau_m * math.sqrt(math.pi) * total)


def siegert_grid():
    """(mu, sigma) from far below threshold (rate ~1e-300) to far above (rate ~1/t_ref)."""
    out = []
    for sigma in (0.05, 0.5, 2.0, 5.0, 20.0, 300.0):
        for b in np.concatenate([np.linspace(-300.0, -12.0, 5), np.linspace(-12.0, 26.0, 39),
                                 [-1e-3, 0.0, 1e-3, 9.99, 10.0, 10.01]]):
            out.append((NEURON["v_th"] - b * sigma, sigma))
    return out


# ------------------------------------------------------------------------------ accuracy


def test_siegert_matches_adaptive_quadrature():
    pts = siegert_grid()
    mu = np.array([p[0] for p in pts])
    sigma = np.array([p[1] for p in pts])
    got = siegert(mu, sigma, **NEURON)
    want = np.array([quad_rate(m, s, **NEURON) for m, s in pts])
    ok = want > 1e-300  # normal numbers (subnormals carry fewer digits)
    assert ok.sum() > 250
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-8, atol=0)
    assert np.all(got[~ok] <= 1e-300)


@pytest.mark.parametrize("t_ref,v_reset", [(0.0, 10.0), (5e-3, -5.0), (2e-3, 19.0)])
def test_siegert_matches_quadrature_other_neurons(t_ref, v_reset):
    p = dict(NEURON, t_ref=t_ref, v_reset=v_reset)
    mu = np.array([-30.0, 5.0, 15.0, 19.5, 20.0, 21.0, 30.0, 100.0])
    for sigma in (0.3, 4.0, 50.0):
        want = np.array([quad_rate(m, sigma, **p) for m in mu])
        ok = want > 1e-300
        np.testing.assert_allclose(siegert(mu, sigma, **p)[ok], want[ok], rtol=1e-8, atol=0)


def test_sigma_zero_is_lif_rate_exactly():
    mu = np.array([-5.0, 10.0, 19.0, 20.0, 20.0 + 1e-9, 20.5, 25.0, 100.0, 1e6])
    np.testing.assert_array_equal(siegert(mu, 0.0, **NEURON), lif_rate(mu, **NEURON))
    r, d_mu, d_sigma = siegert_derivatives(mu, 0.0, **NEURON)
    np.testing.assert_array_equal(r, lif_rate(mu, **NEURON))
    np.testing.assert_array_equal(d_mu, lif_rate_derivatives(mu, **NEURON)[1])
    np.testing.assert_array_equal(d_sigma, 0.0)


def test_lif_rate_formula():
    mu = np.array([5.0, 20.0, 20.5, 25.0, 40.0])
    want = np.zeros_like(mu)
    up = mu > 20.0
    want[up] = 1.0 / (2e-3 + 20e-3 * np.log((mu[up] - 10.0) / (mu[up] - 20.0)))
    np.testing.assert_allclose(lif_rate(mu, **NEURON), want, rtol=1e-14)
    # the period rounded to the dt grid is what the simulator reproduces (tests/unit/test_simulate_analytic)
    assert float(lif_rate(25.0, **NEURON)) == pytest.approx(1 / (2e-3 + 20e-3 * math.log(3.0)), rel=1e-15)


@pytest.mark.parametrize("mu", [20.5, 22.0, 25.0, 40.0, 1e3])
def test_siegert_tends_to_lif_rate_as_sigma_vanishes(mu):
    lif = float(lif_rate(mu, **NEURON))
    errs = [abs(float(siegert(mu, s, **NEURON)) / lif - 1.0) for s in (1e-1, 1e-2, 1e-3, 1e-5)]
    assert errs[-1] < 1e-8
    # the correction is O(sigma^2): each factor 10 in sigma gains about 100 (until round-off)
    assert errs[1] < errs[0] / 50 and errs[2] < max(errs[1] / 50, 1e-12)


def test_siegert_below_threshold_vanishes_as_sigma_vanishes():
    assert float(siegert(15.0, 1e-3, **NEURON)) == 0.0  # b = 5000: exp(-b^2) underflows
    assert 0.0 < float(siegert(15.0, 0.25, **NEURON)) < 1e-150


# ------------------------------------------------------------------------------ derivatives


def fd_step(mu, sigma):
    """cbrt(eps) times the scale on which the rate varies: sigma/(1 + b) below threshold, where
    the rate is ~exp(-b^2); sigma (1 + |b|) = |mu - v_th| + sigma above, where it depends on
    log((mu - v_reset)/(mu - v_th))."""
    b = (NEURON["v_th"] - mu) / sigma
    return FD_EPS * sigma * ((1.0 + abs(b)) if b < 0 else 1.0 / (1.0 + b))


def derivative_points():
    out = []
    for sigma in (0.5, 2.0, 5.0, 20.0):
        for b in np.concatenate([np.linspace(-60.0, 15.0, 31), [-10.0, -9.99, 0.0, 0.3]]):
            for tau_s in (0.0, 2e-3):
                out.append((NEURON["v_th"] - b * sigma, sigma, tau_s))
    return out


@pytest.mark.parametrize("mu,sigma,tau_s", derivative_points())
def test_siegert_derivatives_match_finite_differences(mu, sigma, tau_s):
    p = dict(NEURON, tau_s=tau_s)
    r, d_mu, d_sigma = (float(x) for x in siegert_derivatives(mu, sigma, **p))
    h = fd_step(mu, sigma)
    fd_mu = (siegert(mu + h, sigma, **p) - siegert(mu - h, sigma, **p)) / (2 * h)
    fd_sigma = (siegert(mu, sigma + h, **p) - siegert(mu, sigma - h, **p)) / (2 * h)
    assert d_mu == pytest.approx(fd_mu, rel=1e-6, abs=1e-6 * r / sigma)
    assert d_sigma == pytest.approx(fd_sigma, rel=1e-6, abs=1e-6 * r / sigma)


@pytest.mark.parametrize("mu", [20.01, 20.5, 21.0, 25.0, 40.0, 200.0])
def test_lif_derivative_matches_finite_differences(mu):
    h = FD_EPS * (mu - NEURON["v_th"])
    r, d = lif_rate_derivatives(mu, **NEURON)
    fd = (lif_rate(mu + h, **NEURON) - lif_rate(mu - h, **NEURON)) / (2 * h)
    assert float(d) == pytest.approx(float(fd), rel=1e-6)
    assert float(r) == float(lif_rate(mu, **NEURON))


def test_lif_derivative_is_zero_at_and_below_threshold():
    r, d = lif_rate_derivatives(np.array([0.0, 19.9, 20.0]), **NEURON)
    np.testing.assert_array_equal(r, 0.0)
    np.testing.assert_array_equal(d, 0.0)


# ------------------------------------------------------------------------------ broadcasting, types


def test_broadcasting_matches_elementwise():
    mu = np.linspace(0.0, 40.0, 7)[:, None]
    sigma = np.array([0.0, 1.0, 5.0, 10.0])
    v_th = np.array([18.0, 20.0, 22.0, 25.0])
    r, d_mu, d_sigma = siegert_derivatives(mu, sigma, tau_m=20e-3, t_ref=2e-3, v_th=v_th, v_reset=10.0,
                                           tau_s=np.array([[0.0], [1e-3], [2e-3], [0.0], [5e-3], [0.0], [1e-3]]))
    assert r.shape == d_mu.shape == d_sigma.shape == (7, 4)
    tau_s = [0.0, 1e-3, 2e-3, 0.0, 5e-3, 0.0, 1e-3]
    for i in range(7):
        for j in range(4):
            one = siegert_derivatives(float(mu[i, 0]), float(sigma[j]), tau_m=20e-3, t_ref=2e-3,
                                      v_th=float(v_th[j]), v_reset=10.0, tau_s=tau_s[i])
            assert (r[i, j], d_mu[i, j], d_sigma[i, j]) == one


def test_scalar_in_scalar_out_and_lists():
    r = siegert(15.0, 5.0, **NEURON)
    assert np.ndim(r) == 0 and isinstance(float(r), float)
    np.testing.assert_array_equal(siegert([15.0, 25.0], [5.0, 5.0], **NEURON),
                                  [siegert(15.0, 5.0, **NEURON), siegert(25.0, 5.0, **NEURON)])
    assert siegert(np.empty((0, 3)), 1.0, **NEURON).shape == (0, 3)


def test_shapes_that_do_not_broadcast_are_rejected():
    with pytest.raises(ValueError, match="broadcast"):
        siegert(np.zeros(3), np.ones(4), **NEURON)


# ------------------------------------------------------------------------------ extremes


def test_no_warnings_nan_or_overflow_at_extremes():
    mu = np.array([-1e12, -1e6, -1e3, 0.0, 10.0, 19.999999, 20.0, 20.000001, 25.0, 1e3, 1e6, 1e12])[:, None]
    sigma = np.array([0.0, 5e-324, 1e-300, 1e-12, 1e-3, 0.1, 1.0, 10.0, 1e3, 1e6, 1e12])[None, :]
    for t_ref in (0.0, 2e-3):
        for tau_s in (0.0, 5e-3):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                r, d_mu, d_sigma = siegert_derivatives(mu, sigma, tau_m=20e-3, t_ref=t_ref, v_th=20.0,
                                                       v_reset=10.0, tau_s=tau_s)
            assert not np.isnan(r).any() and not np.isnan(d_mu).any() and not np.isnan(d_sigma).any()
            assert np.all(np.isfinite(r)) and np.all(r >= 0)
            if t_ref > 0:
                assert np.all(r <= 1 / t_ref * (1 + 1e-12))
            # far below threshold the rate underflows to 0, far above it saturates at 1/t_ref
            assert np.all(r[:3, :7] == 0.0)
            if t_ref > 0:
                np.testing.assert_allclose(r[-1, :-1], 1 / t_ref, rtol=1e-9)
    # a derivative can be infinite only where the true one overflows: at threshold with sigma -> 0
    r, d_mu, d_sigma = siegert_derivatives(mu, sigma[:, 2:], **NEURON)
    assert np.all(np.isfinite(d_mu)) and np.all(np.isfinite(d_sigma))


def test_rate_is_monotone_in_mu():
    mu = np.linspace(-20.0, 60.0, 2001)
    for sigma in (0.0, 0.1, 1.0, 5.0, 30.0):
        r = siegert(mu, sigma, **NEURON)
        assert np.all(np.diff(r) >= 0)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("kwargs,name", [
    (dict(sigma=-1.0), "sigma"),
    (dict(sigma=np.array([1.0, np.nan])), "sigma"),
    (dict(mu=np.nan), "mu"),
    (dict(mu=[1.0, np.inf]), "mu"),
    (dict(tau_m=0.0), "tau_m"),
    (dict(tau_m=-0.02), "tau_m"),
    (dict(t_ref=-1e-3), "t_ref"),
    (dict(v_reset=20.0), "v_reset"),
    (dict(v_reset=25.0), "v_reset"),
    (dict(v_th=np.nan), "v_th"),
    (dict(tau_s=-1e-3), "tau_s"),
    (dict(tau_s=np.nan), "tau_s"),
])
def test_bad_input_names_the_argument(kwargs, name):
    args = dict(mu=15.0, sigma=5.0, **NEURON)
    args.update(kwargs)
    mu, sigma = args.pop("mu"), args.pop("sigma")
    with pytest.raises(ValueError, match=f"`{name}`"):
        siegert(mu, sigma, **args)
    with pytest.raises(ValueError, match=f"`{name}`"):
        siegert_derivatives(mu, sigma, **args)


def test_bad_input_lif_rate():
    with pytest.raises(ValueError, match="`v_reset` must be below `v_th`"):
        lif_rate(25.0, tau_m=20e-3, t_ref=2e-3, v_th=10.0, v_reset=10.0)
    with pytest.raises(ValueError, match="`mu`"):
        lif_rate(np.nan, **NEURON)
    with pytest.raises(TypeError, match="`mu`"):
        lif_rate("high", **NEURON)
    with pytest.raises(TypeError):
        lif_rate(25.0, 20e-3, 2e-3, 20.0, 10.0)  # keyword-only parameters


# ------------------------------------------------------------------------------ Fourcaud-Brunel


def test_alpha_constant():
    assert ALPHA == pytest.approx(math.sqrt(2) * abs(scipy.special.zeta(0.5)), rel=1e-15)
    assert ALPHA == pytest.approx(2.0652531522312, rel=1e-12)


@pytest.mark.parametrize("tau_s", [1e-3, 2e-3, 5e-3])
def test_fb_shift_raises_threshold_and_reset(tau_s):
    mu = np.linspace(0.0, 40.0, 41)
    sigma = 4.0
    shift = sigma * ALPHA / 2 * math.sqrt(tau_s / NEURON["tau_m"])
    assert float(fb_shift(sigma, tau_s=tau_s, tau_m=NEURON["tau_m"])) == pytest.approx(shift, rel=1e-15)
    p = dict(NEURON)
    shifted = siegert(mu, sigma, tau_s=tau_s, **p)
    p.update(v_th=p["v_th"] + shift, v_reset=p["v_reset"] + shift)
    np.testing.assert_allclose(shifted, siegert(mu, sigma, **p), rtol=1e-13)
    # raising the threshold lowers the rate
    assert np.all(shifted <= siegert(mu, sigma, **NEURON))
    # the mu-derivative is that of the shifted white-noise formula
    np.testing.assert_allclose(siegert_derivatives(mu, sigma, tau_s=tau_s, **NEURON)[1],
                               siegert_derivatives(mu, sigma, **p)[1], rtol=1e-12)


def test_fb_shift_is_zero_without_noise():
    mu = np.array([15.0, 25.0])
    np.testing.assert_array_equal(siegert(mu, 0.0, tau_s=5e-3, **NEURON), lif_rate(mu, **NEURON))


# ------------------------------------------------------------------------------ transfer objects


def test_transfer_objects_match_functions():
    x = np.linspace(0.0, 40.0, 17)
    g = LIFTransfer(**NEURON)
    np.testing.assert_array_equal(g.value(x), lif_rate(x, **NEURON))
    np.testing.assert_array_equal(g.derivative(x), lif_rate_derivatives(x, **NEURON)[1])
    np.testing.assert_array_equal(g(x), g.value(x))
    s = SiegertTransfer(sigma=5.0, tau_s=2e-3, **NEURON)
    r, d_mu, _ = siegert_derivatives(x, 5.0, tau_s=2e-3, **NEURON)
    np.testing.assert_array_equal(s.value(x), r)
    np.testing.assert_array_equal(s.derivative(x), d_mu)
    v, d = s.value_and_derivative(x)
    np.testing.assert_array_equal(v, r)
    np.testing.assert_array_equal(d, d_mu)
    assert g.name == "lif" and s.name == "siegert"


def test_transfer_objects_are_frozen_and_round_trip():
    s = SiegertTransfer(sigma=5.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.sigma = 1.0
    assert get_transfer(s.to_dict()) == s
    assert get_transfer(LIFTransfer(v_th=15.0).to_dict()) == LIFTransfer(v_th=15.0)
    assert dataclasses.replace(s, sigma=2.0).sigma == 2.0


@pytest.mark.parametrize("kwargs,name", [
    (dict(sigma=-1.0), "sigma"), (dict(sigma=5.0, tau_m=0.0), "tau_m"), (dict(sigma=5.0, t_ref=-1.0), "t_ref"),
    (dict(sigma=5.0, v_reset=30.0), "v_reset"), (dict(sigma=5.0, tau_s=-1e-3), "tau_s"),
    (dict(sigma=float("nan")), "sigma"),
])
def test_transfer_object_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        SiegertTransfer(**kwargs)


def test_transfer_object_rejects_nan_input():
    with pytest.raises(ValueError, match="`x`"):
        LIFTransfer().value([1.0, np.nan])


def test_milliseconds_are_suspected():
    with pytest.warns(UserWarning, match="did you pass ms"):
        siegert(15.0, 5.0, tau_m=20.0, t_ref=2e-3, v_th=20.0, v_reset=10.0)
    with pytest.warns(UserWarning, match="did you pass ms"):
        LIFTransfer(t_ref=20.0)
