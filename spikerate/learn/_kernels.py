"""Compiled kernels of :mod:`spikerate.learn`: the fast path of the exact gradients of the rate
model ``tau dr/dt = -r + g(W r + U x + b)`` under the Euler-type steps (module docstring of
:mod:`spikerate.learn.gradients` for the loss and the methods).

Plain float64 C-contiguous arrays, int codes and scalars in and out; no validation (the callers
in ``gradients.py`` build the arguments).  Layouts are time-major: ``R`` (T + 1, B, n) the states
``r_t`` of all B sequences, ``G`` (T, B, n), ``F`` (T, B, n), ``E`` (T, B, n) the state errors
``e_t = dl/dr_{t+1}``.  Per row ``i``: step ``h_i``, ``inv_tau_i = 1/tau_i``; the step is
``r' = r + h F``, ``F = (g(z) - r)/tau``, ``z = W r + U x + b``, so that

    A = dPhi/dr = diag(c) + diag(q) W,    c = 1 - h/tau,   q = h g'(z)/tau,

and the compact ``B = dPhi/dtheta``: ``w``: row i, ``q_i r_k``; ``u``: row i, ``q_i x_k``; ``b``:
``q_i``; ``tau``: ``(dh/dtau - h/tau)_i F_i`` (a dense column for a scalar tau).

* BPTT: one gemm per step forward (``R_t W^T``) and one backward (``delta_t W``, the adjoint
  ``lambda_t = c lambda'_{t+1} + W^T delta_t``, ``delta_t = q lambda'_{t+1}``, ``lambda' = lambda + e``);
  the ``delta_t`` of all steps are kept so that the caller gets ``dW``, ``dU``, ``db`` from one
  gemm each over the stacked (T B) rows.
* RTRL: the sensitivities of all trainable parameters side by side as the columns of one
  (n, n_cols) matrix ``P``, updated by one gemm per step with the (n + 1, n) matrix ``[A; e^T A]``
  (its last row gives ``e_t^T A_t P_t``, the gradient contribution, without a second pass over
  ``P``), plus the sparse ``B`` (n entries per row for ``w``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..models._kernels import (G_LIF, G_LINEAR, G_SIGMOID, G_SOFTPLUS, G_TANH, G_THRESHOLD_LINEAR, _lif_one,
                               _siegert_one)

#: loss codes
LOSS_MSE = 0
LOSS_CROSS_ENTROPY = 1


#: Cody-Waite split of ln 2 (the high part has trailing zero bits: k * LN2_HI is exact for k < 2^11)
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
LOG2E = 1.4426950408889634


@njit(cache=True)
def _tanh_value_derivative(gain, z, out_v, out_d, work):
    """out_v = tanh(gain z), out_d = gain (1 - out_v^2), in a form the compiler vectorises (libm's
    tanh is a scalar call, the cost of the forward pass): with ``a = 2 |gain z|`` (capped at 40,
    where tanh rounds to 1), ``a = k ln2 + r``, ``|r| <= ln2/2``, ``e^a - 1 = 2^k (e^r - 1) + 2^k - 1``
    with ``e^r - 1`` by its Taylor series to degree 13 (truncation below 1e-17 relative) and
    ``tanh = (e^a - 1)/(e^a + 1)``: within 2 ulp of numpy's tanh, no cancellation near 0.
    ``work`` (uint64, >= len(z)) receives the bits of 2^k."""
    m = z.shape[0]
    for i in range(m):
        x = gain * z[i]
        a = 2.0 * abs(x)
        a = a if a < 40.0 else 40.0  # (NaN -> 40: a valid exponent; the NaN is restored below)
        fk = math.floor(a * LOG2E + 0.5)
        r = (a - fk * LN2_HI) - fk * LN2_LO
        p = 1.0 / 6227020800.0
        p = 1.0 / 479001600.0 + r * p
        p = 1.0 / 39916800.0 + r * p
        p = 1.0 / 3628800.0 + r * p
        p = 1.0 / 362880.0 + r * p
        p = 1.0 / 40320.0 + r * p
        p = 1.0 / 5040.0 + r * p
        p = 1.0 / 720.0 + r * p
        p = 1.0 / 120.0 + r * p
        p = 1.0 / 24.0 + r * p
        p = 1.0 / 6.0 + r * p
        p = 0.5 + r * p
        out_v[i] = r + r * r * p
        work[i] = (np.uint64(fk) + np.uint64(1023)) << np.uint64(52)
    pow2 = work[:m].view(np.float64)
    for i in range(m):
        x = gain * z[i]
        s = pow2[i]
        em = s * out_v[i] + (s - 1.0)
        t = em / (em + 2.0)
        t = t if x >= 0.0 else -t
        t = t if x == x else x
        out_v[i] = t
        out_d[i] = gain * (1.0 - t * t)


@njit(cache=True)
def _g_value_derivative(code, gp, xg, wg, z, out_v, out_d, work):
    """out_v[i] = g(z[i]), out_d[i] = g'(z[i]) for the transfer with int ``code`` and
    parameters ``gp`` (codes of :mod:`spikerate.models._kernels`; the formulas of the
    transfers' ``value`` and ``derivative``).  ``work``: uint64 scratch of at least len(z)."""
    n = z.shape[0]
    if code == G_LINEAR:
        for i in range(n):
            out_v[i] = gp[0] * z[i]
            out_d[i] = gp[0]
    elif code == G_THRESHOLD_LINEAR:
        thr, gain, power = gp[0], gp[1], gp[2]
        for i in range(n):
            v = z[i] - thr
            if v > 0.0:
                if power == 1.0:
                    out_v[i] = gain * v
                    out_d[i] = gain
                else:
                    out_v[i] = gain * v ** power
                    out_d[i] = gain * power * v ** (power - 1.0)
            else:
                out_v[i] = 0.0
                out_d[i] = 0.0
    elif code == G_TANH:
        _tanh_value_derivative(gp[0], z, out_v, out_d, work)
    elif code == G_SIGMOID:
        gain = gp[0]
        for i in range(n):
            a = gain * (z[i] - gp[1])
            if a >= 0.0:
                e = math.exp(-a)
                s = 1.0 / (1.0 + e)
                sm = e / (1.0 + e)
            else:
                e = math.exp(a)
                s = e / (1.0 + e)
                sm = 1.0 / (1.0 + e)
            out_v[i] = s
            out_d[i] = gain * s * sm
    elif code == G_SOFTPLUS:
        beta = gp[0]
        for i in range(n):
            a = beta * z[i]
            e = math.exp(-abs(a))
            out_v[i] = (max(a, 0.0) + math.log1p(e)) / beta
            out_d[i] = 1.0 / (1.0 + e) if a >= 0.0 else e / (1.0 + e)
    elif code == G_LIF:
        for i in range(n):
            r, d = _lif_one(z[i], gp[0], gp[1], gp[2], gp[3])
            out_v[i] = r
            out_d[i] = d
    else:
        for i in range(n):
            r, d, _ = _siegert_one(z[i], gp[0], gp[1], gp[2], gp[3], gp[4], gp[5], xg, wg)
            out_v[i] = r
            out_d[i] = d


@njit(cache=True)
def _rate_forward(code, gp, xg, wg, wt, ut, bias, X, h, inv_tau, R, G, F, keep_f):
    """Forward pass of B sequences at once: ``z_t = R[t] W^T + X[t] U^T + b``, ``R[t + 1] = R[t] +
    h (g(z_t) - R[t]) / tau``; ``G[t] = g'(z_t)``; ``F[t]`` the field (only with ``keep_f``).
    Returns False (leaving the rest unfilled) as soon as a state is not finite.

    Assumes: ``wt`` = W^T (n, n), ``ut`` = U^T (n_in, n); ``X`` (T, B, n_in); ``R`` (T + 1, B, n)
    with ``R[0]`` set; ``G`` (T, B, n); ``F`` (T, B, n) if ``keep_f`` (else any shape)."""
    T, B, n_in = X.shape
    n = wt.shape[0]
    Z = np.empty((B, n))
    V = np.empty(B * n)
    D = np.empty(B * n)
    work = np.empty(B * n, np.uint64)
    for t in range(T):
        np.dot(R[t], wt, Z)
        Rt = R[t]
        Rn = R[t + 1]
        Gt = G[t]
        Xt = X[t]
        for b in range(B):
            zb = Z[b]
            for i in range(n):
                zb[i] += bias[i]
            for k in range(n_in):
                xk = Xt[b, k]
                uk = ut[k]
                for i in range(n):
                    zb[i] += xk * uk[i]
        _g_value_derivative(code, gp, xg, wg, Z.ravel(), V, D, work)
        check = 0.0  # NaN or inf in any state reaches the sum: one test per step, the loop vectorises
        for b in range(B):
            Rtb = Rt[b]
            Rnb = Rn[b]
            Gtb = Gt[b]
            for i in range(n):
                k = b * n + i
                f = (V[k] - Rtb[i]) * inv_tau[i]
                r = Rtb[i] + h[i] * f
                Rnb[i] = r
                Gtb[i] = D[k]
                check += 0.0 * r
            if keep_f:
                for i in range(n):
                    F[t, b, i] = (V[b * n + i] - Rtb[i]) * inv_tau[i]
        if not math.isfinite(check):
            return False
    return True


@njit(cache=True)
def _loss_terms(O, Y, alpha, loss, DL):
    """Loss summed over the B sequences and ``DL = dl/do`` (T, B, m) of outputs ``O`` (T, B, m)
    against targets ``Y`` (B, T, m) (the caller's layout: no transposed copy); per-step weights
    ``alpha`` (T,), ``loss`` a LOSS_* code.  Each sequence's loss is already divided by T (not by
    B).  Time-major sweep (the layout of ``O``), one accumulator per sequence."""
    T, B, m = O.shape
    seq = np.zeros(B)
    for t in range(T):
        a = alpha[t] / T
        for b in range(B):
            if loss == LOSS_MSE:
                acc = 0.0
                for k in range(m):
                    d = O[t, b, k] - Y[b, t, k]
                    acc += a * d * d
                    DL[t, b, k] = a * d
                seq[b] += acc
            else:
                mx = O[t, b, 0]
                for k in range(1, m):
                    mx = max(mx, O[t, b, k])
                s = 0.0
                for k in range(m):
                    s += math.exp(O[t, b, k] - mx)
                ls = math.log(s)
                acc = 0.0
                for k in range(m):
                    logp = (O[t, b, k] - mx) - ls
                    acc -= a * Y[b, t, k] * logp
                    DL[t, b, k] = a * (math.exp(logp) - Y[b, t, k])
                seq[b] += acc
    total = 0.0
    for b in range(B):
        total += 0.5 * seq[b] if loss == LOSS_MSE else seq[b]
    return total


@njit(cache=True)
def _rate_bptt_backward(w, h, inv_tau, E, G, F, keep_f, window, lam, acc_tau):
    """Backward pass of B sequences at once.  Overwrites ``G`` (g'(z_t)) with ``delta_t = q_t
    lambda'_{t+1}`` (T, B, n); leaves the adjoint ``lambda_0`` in ``lam`` (B, n); with ``keep_f``
    adds ``sum_t,b lambda'_{t+1} F_t`` to ``acc_tau`` (n,).  ``window`` > 0: the adjoint is reset
    where ``(t + 1) % window == 0`` (truncated BPTT); 0: never."""
    T, B, n = E.shape
    tmp = np.empty((B, n))
    for b in range(B):
        for i in range(n):
            lam[b, i] = 0.0
    for t in range(T - 1, -1, -1):
        if window > 0 and (t + 1) % window == 0:
            for b in range(B):
                for i in range(n):
                    lam[b, i] = 0.0
        Gt = G[t]
        Et = E[t]
        for b in range(B):
            for i in range(n):
                hi = h[i] * inv_tau[i]
                lp = lam[b, i] + Et[b, i]
                Gt[b, i] = hi * Gt[b, i] * lp
                if keep_f:
                    acc_tau[i] += lp * F[t, b, i]
                lam[b, i] = (1.0 - hi) * lp
        np.dot(Gt, w, tmp)
        for b in range(B):
            for i in range(n):
                lam[b, i] += tmp[b, i]


@njit(cache=True)
def _rate_rtrl(w, h, inv_tau, ctau, R, G, F, E, X, offs, tau_scalar, n_cols, grad):
    """RTRL over each of the B sequences: the sensitivities of the trainable parameters side by
    side in the columns of ``P`` (n, n_cols), ``P_{t+1} = A_t P_t + B_t``, ``grad[b] += e_t
    P_{t+1}``.  ``offs`` (5,) int: first column of w (n*n columns, row-major), u (n*n_in), b (n),
    tau (n, or 1 with ``tau_scalar``), r0 (n; P starts as the identity there); -1 if not
    trained.  ``ctau`` (n,) = dh/dtau - h/tau.  ``grad`` (B, n_cols) is overwritten.

    Assumes: ``R`` (T + 1, B, n), ``G`` = g'(z) and ``F`` (T, B, n) (F only read for tau), ``E``
    (T, B, n) the state errors, ``X`` (T, B, n_in) the inputs."""
    T, B, n = E.shape
    n_in = X.shape[2]
    ow, ou, ob, otau, or0 = offs[0], offs[1], offs[2], offs[3], offs[4]
    Ab = np.empty((n + 1, n))
    P = np.zeros((n + 1, n_cols))
    Q = np.zeros((n + 1, n_cols))
    q = np.empty(n)
    for b in range(B):
        gb = grad[b]
        for j in range(n_cols):
            gb[j] = 0.0
        for i in range(n + 1):
            for j in range(n_cols):
                P[i, j] = 0.0
        if or0 >= 0:
            for i in range(n):
                P[i, or0 + i] = 1.0
        for t in range(T):
            r = R[t, b]
            e = E[t, b]
            gt = G[t, b]
            # A = diag(c) + diag(q) W and its last row e^T A
            for i in range(n):
                hi = h[i] * inv_tau[i]
                q[i] = hi * gt[i]
                for k in range(n):
                    Ab[i, k] = q[i] * w[i, k]
                Ab[i, i] += 1.0 - hi
            for k in range(n):
                Ab[n, k] = 0.0
            for i in range(n):
                ei = e[i]
                for k in range(n):
                    Ab[n, k] += ei * Ab[i, k]
            np.dot(Ab, P[:n], Q)
            # the sparse B_t, into P_{t+1} and (times e_t) into the gradient
            if ow >= 0:
                for i in range(n):
                    c0 = ow + i * n
                    qi = q[i]
                    eq = e[i] * qi
                    for k in range(n):
                        Q[i, c0 + k] += qi * r[k]
                        gb[c0 + k] += eq * r[k]
            if ou >= 0:
                x = X[t, b]
                for i in range(n):
                    c0 = ou + i * n_in
                    qi = q[i]
                    eq = e[i] * qi
                    for k in range(n_in):
                        Q[i, c0 + k] += qi * x[k]
                        gb[c0 + k] += eq * x[k]
            if ob >= 0:
                for i in range(n):
                    Q[i, ob + i] += q[i]
                    gb[ob + i] += e[i] * q[i]
            if otau >= 0:
                for i in range(n):
                    v = ctau[i] * F[t, b, i]
                    c = otau if tau_scalar else otau + i
                    Q[i, c] += v
                    gb[c] += e[i] * v
            for j in range(n_cols):
                gb[j] += Q[n, j]
            P, Q = Q, P


# --- dense products by the same BLAS as the kernels above (numba's np.dot): the fast path never
# mixes numpy's BLAS copy with numba's in one call (two thread pools fighting over the cores)


#: the long products below (over all T x B rows of a batch) are cut into this many row blocks
#: whatever the number of threads; the blocks run in parallel, each a one-thread BLAS call, and
#: partial sums are added in block order, so the rounding depends on the shapes only and the
#: result is bit-identical across thread counts (a multi-threaded BLAS call is not)
PRODUCT_BLOCKS = 8
#: below this many multiply-adds one BLAS call is cheaper than the blocks
_BLOCK_MIN_WORK = 4_000_000


@njit(cache=True, parallel=True)
def _dot_nn(a, b, out):
    """out = a @ b, rows of ``a`` in :data:`PRODUCT_BLOCKS` parallel blocks."""
    K = a.shape[0]
    if K < PRODUCT_BLOCKS or K * a.shape[1] * b.shape[1] < _BLOCK_MIN_WORK:
        np.dot(a, b, out)
        return
    for k in prange(PRODUCT_BLOCKS):
        lo, hi = k * K // PRODUCT_BLOCKS, (k + 1) * K // PRODUCT_BLOCKS
        np.dot(a[lo:hi], b, out[lo:hi])


@njit(cache=True, parallel=True)
def _dot_tn(a, b, out):
    """out = a^T @ b: the sum over the rows of ``a`` and ``b`` in :data:`PRODUCT_BLOCKS` parallel
    partial products, added in order."""
    K = a.shape[0]
    if K < PRODUCT_BLOCKS or K * a.shape[1] * b.shape[1] < _BLOCK_MIN_WORK:
        np.dot(a.T, b, out)
        return
    parts = np.empty((PRODUCT_BLOCKS, out.shape[0], out.shape[1]))
    for k in prange(PRODUCT_BLOCKS):
        lo, hi = k * K // PRODUCT_BLOCKS, (k + 1) * K // PRODUCT_BLOCKS
        np.dot(a[lo:hi].T, b[lo:hi], parts[k])
    out[:, :] = parts[0]
    for k in range(1, PRODUCT_BLOCKS):
        out += parts[k]


@njit(cache=True, parallel=True)
def _dot_nt(a, b, out):
    """out = a @ b^T, rows of ``a`` in :data:`PRODUCT_BLOCKS` parallel blocks."""
    K = a.shape[0]
    if K < PRODUCT_BLOCKS or K * a.shape[1] * b.shape[0] < _BLOCK_MIN_WORK:
        np.dot(a, b.T, out)
        return
    for k in prange(PRODUCT_BLOCKS):
        lo, hi = k * K // PRODUCT_BLOCKS, (k + 1) * K // PRODUCT_BLOCKS
        np.dot(a[lo:hi], b.T, out[lo:hi])


# --- fixed points of rate models: Newton and the implicit gradient ------------------------------


@njit(cache=True)
def _rate_field_at(code, gp, xg, wg, w, c, inv_tau, r, z, gv, gd, work, f):
    """z = W r + c, (gv, gd) = g(z), g'(z), f = (g(z) - r) / tau; returns max |tau f|."""
    n = r.shape[0]
    np.dot(w, r, z)
    for i in range(n):
        z[i] += c[i]
    _g_value_derivative(code, gp, xg, wg, z, gv, gd, work)
    worst = 0.0
    for i in range(n):
        d = gv[i] - r[i]
        f[i] = d * inv_tau[i]
        if abs(d) > worst:
            worst = abs(d)
    return worst


@njit(cache=True)
def _rate_fixed_points(code, gp, xg, wg, w, C, inv_tau, R0, tol, max_iter, R, D, ok, iters):
    """Damped Newton (backtracking on ||tau F||) for the fixed points r = g(W r + c) of a rate
    model, one per row of ``C`` (B, n) = U x + b, from ``R0`` (B, n); the results in ``R``, the
    derivatives g'(z*) in ``D``, convergence in ``ok`` (B,) and the iterations in ``iters``.  The
    stopping rule is that of :func:`spikerate.models.dynamics._newton`: max |tau F| <= tol
    max(1, max |r|).  Converged iff ``ok``; the caller falls back to its own solver otherwise."""
    B, n = C.shape
    z = np.empty(n)
    gv = np.empty(n)
    gd = np.empty(n)
    f = np.empty(n)
    work = np.empty(n, np.uint64)
    J = np.empty((n, n))
    rn = np.empty(n)
    fn = np.empty(n)
    for b in range(B):
        r = R[b]
        for i in range(n):
            r[i] = R0[b, i]
        c = C[b]
        worst = _rate_field_at(code, gp, xg, wg, w, c, inv_tau, r, z, gv, gd, work, f)
        norm = 0.0
        for i in range(n):
            norm += (f[i] / inv_tau[i]) ** 2
        norm = math.sqrt(norm)
        ok[b] = False
        it = 0
        while it < max_iter:
            big = 1.0
            for i in range(n):
                if abs(r[i]) > big:
                    big = abs(r[i])
            if worst <= tol * big:
                ok[b] = True
                break
            # J of tau F: D W - I
            for i in range(n):
                for k in range(n):
                    J[i, k] = gd[i] * w[i, k]
                J[i, i] -= 1.0
            rhs = np.empty(n)
            for i in range(n):
                rhs[i] = -f[i] / inv_tau[i]
            step = np.linalg.solve(J, rhs)
            finite = True
            for i in range(n):
                if not math.isfinite(step[i]):
                    finite = False
            if not finite:
                break
            alpha = 1.0
            accepted = False
            while alpha >= 1e-10:
                for i in range(n):
                    rn[i] = r[i] + alpha * step[i]
                worst_n = _rate_field_at(code, gp, xg, wg, w, c, inv_tau, rn, z, gv, gd, work, fn)
                nn = 0.0
                for i in range(n):
                    nn += (fn[i] / inv_tau[i]) ** 2
                nn = math.sqrt(nn)
                if math.isfinite(nn) and nn <= (1.0 - 1e-4 * alpha) * norm:
                    accepted = True
                    break
                alpha *= 0.5
            it += 1
            if not accepted:
                break
            for i in range(n):
                r[i] = rn[i]
                f[i] = fn[i]
            worst, norm = worst_n, nn
        if not ok[b]:  # the last accepted iterate may satisfy the rule
            big = 1.0
            for i in range(n):
                if abs(r[i]) > big:
                    big = abs(r[i])
            worst = _rate_field_at(code, gp, xg, wg, w, c, inv_tau, r, z, gv, gd, work, f)
            ok[b] = worst <= tol * big
        _rate_field_at(code, gp, xg, wg, w, c, inv_tau, r, z, gv, gd, work, f)
        for i in range(n):
            D[b, i] = gd[i]
        iters[b] = it


@njit(cache=True)
def _rate_implicit_adjoint(w, inv_tau, D, E, V):
    """v_b solving J^T v = -e_b with J = diag(1/tau) (D_b W - I), for every row b (one LU each)."""
    B, n = D.shape
    J = np.empty((n, n))
    for b in range(B):
        for i in range(n):
            for k in range(n):
                J[k, i] = inv_tau[i] * D[b, i] * w[i, k]  # transposed
            J[i, i] -= inv_tau[i]
        rhs = np.empty(n)
        for i in range(n):
            rhs[i] = -E[b, i]
        v = np.linalg.solve(J, rhs)
        for i in range(n):
            V[b, i] = v[i]


@njit(cache=True)
def _rate_stability_matrix(w, d, out):
    """out = I - (D W + W^T D) / 2 for D = diag(d): positive definite iff the logarithmic norm of
    D W - I is negative, which makes every fixed point of tau dr/dt = -r + g(W r + c) with these
    slopes d stable for any positive time constants (V = r^T diag(tau) r decreases)."""
    n = w.shape[0]
    for i in range(n):
        for k in range(i, n):
            v = -0.5 * (d[i] * w[i, k] + d[k] * w[k, i])
            out[i, k] = v
            out[k, i] = v
        out[i, i] += 1.0
