"""Compiled kernels of :mod:`spikerate.models`: the Siegert formula and its derivatives.

Plain arrays and scalars in and out; no validation (the API in ``transfer.py`` checks).

Siegert integral.  With ``a = (v_reset' - mu)/sigma``, ``b = (v_th' - mu)/sigma`` (primes: the
Fourcaud-Brunel shifted potentials ``v + sigma * shift``)::

    1/nu = t_ref + tau_m * I,    I = sqrt(pi) * int_a^b erfcx(-u) du      (erfcx(-u) = e^{u^2}(1 + erf u))

``I`` is evaluated as ``I = e^{E} * It`` with ``E = max(b, 0)^2`` so that nothing overflows:

* ``u > 0`` part (only when ``b > 0``): ``e^{-b^2} int_c^b erfcx(-u) du = int_0^{b-c} e^{-s(2b-s)}
  erfc(s - b) ds`` (``s = b - u``, ``c = max(a, 0)``); the integrand is bounded by 2 and decays
  like ``e^{-2bs}``, integrated by Gauss-Legendre on panels ``[0, h], [h, 2h], [2h, 4h], ...``
  with ``h = 1/(2b)`` up to where it is below ``e^{-45}``.
* ``u <= 0`` part: ``int_{y0}^{y1} erfcx(y) dy`` with ``y = -u >= 0``; Gauss-Legendre on fixed
  panels of ``[0, 10]`` (``erfcx(y) = exp(y^2) erfc(y)`` there) and, beyond ``y = 10``, the
  integral of the asymptotic series ``sqrt(pi) y erfcx(y) = sum_k (-1)^k (2k-1)!! / (2y^2)^k``
  (11 terms: error below 1e-15 for ``y >= 10``), written with ``1/y = sigma / (mu - v)`` so that
  ``sigma -> 0`` gives the noise-free LIF rate without overflow.
* ``b > B_ZERO``: ``e^{-b^2}`` is below the smallest double, the rate is exactly 0.

Derivatives: ``dI/dmu = sqrt(pi)/sigma (f(a) - f(b))`` and ``dI/dsigma = sqrt(pi)/sigma ((a-k) f(a)
- (b-k) f(b))`` with ``f = erfcx(-.)``, ``k`` the shift; ``d nu = -tau_m nu^2 dI``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SQRT_PI = math.sqrt(math.pi)
#: Fourcaud-Brunel constant alpha = sqrt(2) |zeta(1/2)| (zeta(1/2) = -1.4603545088095868...)
ALPHA = math.sqrt(2.0) * 1.4603545088095868
#: erfcx by its asymptotic series (and its integral in closed form) above this argument
Y_ASYM = 10.0
#: number of terms of the asymptotic series after the leading one
N_ASYM = 10
#: above this b = (v_th - mu)/sigma, exp(-b^2) underflows: the rate is 0
B_ZERO = 27.3
#: the u > 0 integrand is below exp(-TAIL) beyond s = TAIL / b
TAIL = 45.0
#: panel edges of the Gauss-Legendre rule for erfcx on [0, Y_ASYM]
ERFCX_EDGES = np.array([0.0, 0.75, 1.75, 3.25, 5.5, Y_ASYM])


@njit(cache=True)
def _asym_gm1(x):
    """g(y) - 1, g(y) = sqrt(pi) y erfcx(y) = 1 - h + 3h^2 - 15h^3 + ..., h = x/2, x = 1/y^2 <= 0.01
    (the asymptotic series, summed by Horner's rule without forming 1 + ... - 1)."""
    h = 0.5 * x
    t = 1.0
    for k in range(N_ASYM, 1, -1):
        t = 1.0 - (2 * k - 1) * h * t
    return -h * t


@njit(cache=True)
def _asym_g(x):
    """sqrt(pi) y erfcx(y) as the asymptotic series in x = 1/y^2 (x <= 0.01)."""
    return 1.0 + _asym_gm1(x)


@njit(cache=True)
def _asym_h(x):
    """H(y) = sum_{k>=1} (-1)^k (2k-1)!!/(2k) (1/(2y^2))^k in x = 1/y^2, so that
    sqrt(pi) int_{y1}^{y2} erfcx = ln(y2/y1) + H(y1) - H(y2) for y1, y2 >= Y_ASYM."""
    h = 0.5 * x
    term = 1.0
    s = 0.0
    for k in range(1, N_ASYM + 1):
        term *= -(2 * k - 1) * h
        s += term / (2 * k)
    return s


@njit(cache=True)
def _erfcx(y):
    """erfcx(y) = exp(y^2) erfc(y) for y >= 0 (relative error ~1e-14)."""
    if y < Y_ASYM:
        return math.exp(y * y) * math.erfc(y)
    return _asym_g(1.0 / (y * y)) / (y * SQRT_PI)


@njit(cache=True)
def _y_erfcx(y):
    """y erfcx(y) for y >= 0, finite at y = inf (1/sqrt(pi))."""
    if y < Y_ASYM:
        return y * math.exp(y * y) * math.erfc(y)
    return _asym_g(1.0 / (y * y)) / SQRT_PI


@njit(cache=True)
def _gl_erfcx(y0, y1, xg, wg):
    """int_{y0}^{y1} erfcx(y) dy for 0 <= y0 <= y1 <= Y_ASYM (Gauss-Legendre on fixed panels)."""
    total = 0.0
    for p in range(ERFCX_EDGES.shape[0] - 1):
        lo = max(y0, ERFCX_EDGES[p])
        hi = min(y1, ERFCX_EDGES[p + 1])
        if hi <= lo:
            continue
        half = 0.5 * (hi - lo)
        mid = 0.5 * (hi + lo)
        s = 0.0
        for j in range(xg.shape[0]):
            y = mid + half * xg[j]
            s += wg[j] * math.exp(y * y) * math.erfc(y)
        total += half * s
    return total


@njit(cache=True)
def _gl_positive(b, length, xg, wg):
    """int_0^length exp(-s (2b - s)) erfc(s - b) ds for b > 0, 0 < length <= b; panels
    [0, h], [h, 2h], [2h, 4h], ... with h = 1/(2b), cut where the integrand is below exp(-TAIL)."""
    end = min(length, TAIL / b)
    h = min(end, 0.5 / b)
    lo = 0.0
    hi = h
    total = 0.0
    while lo < end:
        hi = min(hi, end)
        half = 0.5 * (hi - lo)
        mid = 0.5 * (hi + lo)
        s = 0.0
        for j in range(xg.shape[0]):
            x = mid + half * xg[j]
            s += wg[j] * math.exp(-x * (2.0 * b - x)) * math.erfc(x - b)
        total += half * s
        lo = hi
        hi = 2.0 * hi
    return total


@njit(cache=True)
def _neg_integral(y0, y1, mu, sigma, vr, xg, wg):
    """sqrt(pi) int_{y0}^{y1} erfcx(y) dy for 0 <= y0 <= Y_ASYM, y0 <= y1 = (mu - vr)/sigma."""
    if y1 <= Y_ASYM:
        return SQRT_PI * _gl_erfcx(y0, y1, xg, wg)
    # ln(y1 / Y_ASYM) with y1 written without the division by sigma (no overflow as sigma -> 0)
    x1 = (sigma / (mu - vr)) ** 2
    log_ratio = math.log(mu - vr) - math.log(sigma) - math.log(Y_ASYM)
    tail = log_ratio + _asym_h(1.0 / (Y_ASYM * Y_ASYM)) - _asym_h(x1)
    return SQRT_PI * _gl_erfcx(y0, Y_ASYM, xg, wg) + tail


@njit(cache=True)
def _lif_one(mu, tau_m, t_ref, v_th, v_reset):
    """Noise-free LIF rate and d rate / d mu."""
    if not mu > v_th:
        return 0.0, 0.0
    x = mu - v_th
    gap = v_th - v_reset
    if x > 1e-300 * gap:
        lg = math.log1p(gap / x)
    else:
        lg = math.log(gap + x) - math.log(x)
    rate = 1.0 / (t_ref + tau_m * lg)
    d_mu = rate * rate * tau_m * (gap / (mu - v_reset)) / x
    return rate, d_mu


@njit(cache=True)
def _siegert_one(mu, sigma, tau_m, t_ref, v_th, v_reset, k, xg, wg):
    """(rate, d rate/d mu, d rate/d sigma) of one point; k = alpha/2 sqrt(tau_s/tau_m)."""
    if sigma == 0.0:
        rate, d_mu = _lif_one(mu, tau_m, t_ref, v_th, v_reset)
        return rate, d_mu, 0.0
    vt = v_th + sigma * k
    vr = v_reset + sigma * k
    b = (vt - mu) / sigma
    if b > B_ZERO:
        return 0.0, 0.0, 0.0
    a = (vr - mu) / sigma
    if b <= -Y_ASYM:
        # both bounds in the asymptotic range: closed form in sigma / (mu - v)
        xt = mu - vt
        xr = mu - vr
        qt = (sigma / xt) ** 2
        qr = (sigma / xr) ** 2
        it = math.log1p((v_th - v_reset) / xt) + _asym_h(qt) - _asym_h(qr)
        ht = _asym_gm1(qt)
        hr = _asym_gm1(qr)
        j_mu = (1.0 + hr) / xr - (1.0 + ht) / xt
        # ((a-k) f(a) - (b-k) f(b)) sqrt(pi)/sigma without the cancellation of the leading terms
        j_sig = k * (1.0 / xt - 1.0 / xr) + (ht - hr) / sigma + k * (ht / xt - hr / xr)
        d = t_ref + tau_m * it
        rate = 1.0 / d
        return rate, -tau_m * rate * j_mu / d, -tau_m * rate * j_sig / d
    if b > 0.0:
        e = math.exp(-b * b)
        c = max(a, 0.0)
        it = SQRT_PI * _gl_positive(b, b - c, xg, wg)
        fb = math.erfc(-b)  # erfcx(-b) e^{-b^2}
        if a >= 0.0:
            fa = math.exp((a - b) * (a + b)) * math.erfc(-a)
            afa = (a - k) * fa
        else:
            ya = -a
            it += e * _neg_integral(0.0, ya, mu, sigma, vr, xg, wg)
            fa = e * _erfcx(ya)
            afa = -e * (_y_erfcx(ya) + k * _erfcx(ya))
    else:
        e = 1.0
        yb = -b
        ya = -a
        it = _neg_integral(yb, ya, mu, sigma, vr, xg, wg)
        fb = _erfcx(yb)
        fa = _erfcx(ya)
        afa = -(_y_erfcx(ya) + k * fa)
    j_mu = SQRT_PI / sigma * (fa - fb)
    j_sig = SQRT_PI / sigma * (afa - (b - k) * fb)
    d = t_ref * e + tau_m * it
    rate = e / d
    return rate, -tau_m * rate * j_mu / d, -tau_m * rate * j_sig / d


@njit(cache=True)
def _siegert(mu, sigma, tau_m, t_ref, v_th, v_reset, shift, xg, wg, out_rate, out_d_mu, out_d_sigma):
    """Siegert rate and derivatives of flat, equally long arrays into the out_* arrays."""
    for i in range(mu.shape[0]):
        r, dm, ds = _siegert_one(mu[i], sigma[i], tau_m[i], t_ref[i], v_th[i], v_reset[i], shift[i], xg, wg)
        out_rate[i] = r
        out_d_mu[i] = dm
        out_d_sigma[i] = ds


# --- rate models (spikerate.models.rate / dynamics) ---------------------------------------------
#
# State layouts: rate model s = r (n); current model s = I (n); two-variable model s = (I, r) (2n).
# ``drive`` rows are U x + b (n).  ``inv_tau`` holds 1/tau per state row.  The transfer g is an int
# code plus a parameter vector ``gp`` (see G_* below and rate._kernel_transfer).

#: transfer codes: parameters in ``gp``
G_LINEAR = 0            # gain
G_THRESHOLD_LINEAR = 1  # threshold, gain, power
G_TANH = 2              # gain
G_SIGMOID = 3           # gain, threshold
G_SOFTPLUS = 4          # beta
G_LIF = 5               # tau_m, t_ref, v_th, v_reset
G_SIEGERT = 6           # sigma, tau_m, t_ref, v_th, v_reset, k (Fourcaud-Brunel shift per unit sigma)
G_POPULATION = 7        # per unit i of n (gp has 8 n entries, block j at j*n): sigma, shift, tau_m, t_ref,
#                         v_th, v_reset, gain, threshold: gain * siegert(z - threshold; sigma, v + shift)
#: number of per-unit parameter blocks of G_POPULATION
POP_BLOCKS = 8

#: model kinds
KIND_RATE = 0
KIND_CURRENT = 1
KIND_TWO_VARIABLE = 2

#: integration methods: s += h F(s) (Euler, h = dt; exponential Euler, h = tau (1 - e^{-dt/tau})), RK4
M_EULER = 0
M_RK4 = 1


@njit(cache=True)
def _g_value(code, gp, xg, wg, z, out):
    """out[i] = g(z[i]) for the transfer with int ``code`` and parameters ``gp``."""
    n = z.shape[0]
    if code == G_LINEAR:
        for i in range(n):
            out[i] = gp[0] * z[i]
    elif code == G_THRESHOLD_LINEAR:
        for i in range(n):
            v = z[i] - gp[0]
            if v > 0.0:
                out[i] = gp[1] * (v if gp[2] == 1.0 else v ** gp[2])
            else:
                out[i] = 0.0
    elif code == G_TANH:
        for i in range(n):
            out[i] = math.tanh(gp[0] * z[i])
    elif code == G_SIGMOID:
        for i in range(n):
            a = gp[0] * (z[i] - gp[1])
            if a >= 0.0:
                out[i] = 1.0 / (1.0 + math.exp(-a))
            else:
                e = math.exp(a)
                out[i] = e / (1.0 + e)
    elif code == G_SOFTPLUS:
        for i in range(n):
            a = gp[0] * z[i]
            out[i] = (max(a, 0.0) + math.log1p(math.exp(-abs(a)))) / gp[0]
    elif code == G_LIF:
        for i in range(n):
            out[i] = _lif_one(z[i], gp[0], gp[1], gp[2], gp[3])[0]
    elif code == G_POPULATION:
        for i in range(n):
            sh = gp[n + i]
            out[i] = gp[6 * n + i] * _siegert_one(z[i] - gp[7 * n + i], gp[i], gp[2 * n + i], gp[3 * n + i],
                                                  gp[4 * n + i] + sh, gp[5 * n + i] + sh, 0.0, xg, wg)[0]
    else:
        for i in range(n):
            out[i] = _siegert_one(z[i], gp[0], gp[1], gp[2], gp[3], gp[4], gp[5], xg, wg)[0]


@njit(cache=True)
def _noise_into(gp, n, r, nv, nvc, nq, nqc):
    """Rate-dependent noise (spikerate.models.noise.RateNoise) written into the sigma and shift
    blocks of a G_POPULATION parameter vector: sigma = sqrt(max(V r + v, 0)),
    shift = alpha/2 (Q r + q) / sigma (0 where sigma = 0)."""
    var = np.dot(nvc, r)
    p = np.dot(nqc, r)
    for i in range(n):
        v = var[i] + nv[i]
        sig = math.sqrt(v) if v > 0.0 else 0.0
        gp[i] = sig
        gp[n + i] = 0.5 * ALPHA * (p[i] + nq[i]) / sig if sig > 0.0 else 0.0


@njit(cache=True)
def _rate_field(kind, code, gp, xg, wg, w, inv_tau, n, s, drive, gbuf, out, noise, nv, nvc, nq, nqc):
    """out = F(s) of a rate (0), current (1) or two-variable (2) model; W products by BLAS.
    With ``noise`` (G_POPULATION only) sigma and shift follow the rates ``r`` of the state."""
    if noise:
        _noise_into(gp, n, s[n:] if kind == KIND_TWO_VARIABLE else s, nv, nvc, nq, nqc)
    if kind == KIND_RATE:
        z = np.dot(w, s)
        for i in range(n):
            z[i] += drive[i]
        _g_value(code, gp, xg, wg, z, gbuf)
        for i in range(n):
            out[i] = (gbuf[i] - s[i]) * inv_tau[i]
    elif kind == KIND_CURRENT:
        _g_value(code, gp, xg, wg, s, gbuf)
        z = np.dot(w, gbuf)
        for i in range(n):
            out[i] = (z[i] + drive[i] - s[i]) * inv_tau[i]
    else:
        z = np.dot(w, s[n:])
        for i in range(n):
            out[i] = (z[i] + drive[i] - s[i]) * inv_tau[i]
        _g_value(code, gp, xg, wg, s[:n], gbuf)
        for i in range(n):
            out[n + i] = (gbuf[i] - s[n + i]) * inv_tau[n + i]


@njit(cache=True)
def _integrate_rate(kind, code, gp, xg, wg, w, inv_tau, n, h, dt, method, drive, dstep, mid, n_steps,
                    record_every, s, out, noise, nv, nvc, nq, nqc):
    """Integrate ``n_steps`` steps from ``s`` (updated in place), recording every
    ``record_every``-th state into ``out`` (row 0: the initial state).

    Euler-type methods: ``s += h * F(s)`` with the per-row step ``h``.  RK4 with step ``dt``; its
    stages read the drive rows ``t*dstep``, ``t*dstep + mid`` (twice) and ``t*dstep + 2*mid``.
    Assumes: ``drive`` has ``(n_steps - 1) * dstep + 2 * mid + 1`` rows (or 1 row and dstep = 0).
    """
    ns = s.shape[0]
    k1 = np.empty(ns)
    k2 = np.empty(ns)
    k3 = np.empty(ns)
    k4 = np.empty(ns)
    tmp = np.empty(ns)
    gbuf = np.empty(n)
    out[0, :] = s
    rec = 1
    for t in range(n_steps):
        row = t * dstep
        if method == M_EULER:
            _rate_field(kind, code, gp, xg, wg, w, inv_tau, n, s, drive[row], gbuf, k1, noise, nv, nvc, nq, nqc)
            for i in range(ns):
                s[i] += h[i] * k1[i]
        else:
            _rate_field(kind, code, gp, xg, wg, w, inv_tau, n, s, drive[row], gbuf, k1, noise, nv, nvc, nq, nqc)
            for i in range(ns):
                tmp[i] = s[i] + 0.5 * dt * k1[i]
            _rate_field(kind, code, gp, xg, wg, w, inv_tau, n, tmp, drive[row + mid], gbuf, k2, noise, nv, nvc, nq, nqc)
            for i in range(ns):
                tmp[i] = s[i] + 0.5 * dt * k2[i]
            _rate_field(kind, code, gp, xg, wg, w, inv_tau, n, tmp, drive[row + mid], gbuf, k3, noise, nv, nvc, nq, nqc)
            for i in range(ns):
                tmp[i] = s[i] + dt * k3[i]
            _rate_field(kind, code, gp, xg, wg, w, inv_tau, n, tmp, drive[row + 2 * mid], gbuf, k4, noise, nv, nvc, nq, nqc)
            for i in range(ns):
                s[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
        if (t + 1) % record_every == 0:
            out[rec, :] = s
            rec += 1
