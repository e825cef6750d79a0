"""Compiled kernels of :mod:`spikerate.learn`: the fast path of the surrogate gradients of
:class:`~spikerate.learn.spiking.SpikingModel` (its module docstring defines the discrete map;
:mod:`spikerate.learn.gradients` the loss and the methods).

Plain float64 C-contiguous arrays, int codes and scalars in and out; no validation (the callers
in ``gradients.py`` build the arguments).  Layouts are time-major, all B sequences of a batch at
once: ``SPK``, ``SG``, ``AD`` (T, B, n) and ``FR`` (T, B, n; uint8) hold per step the spikes ``s_t``, the surrogate
``sigma'(v'_t - v_th)``, the diagonal ``a_t = dv'_{t+1}/dv'_t`` of the state Jacobian (leak times
the reset's ``dv/dv'``) and ``free_t`` (1 for a neuron that is not clamped, else 0); ``Z``
(T + 1, B, n) the readout traces.  With ``lambda'`` the adjoint plus the state error at ``t + 1``
(only the ``z`` rows get an error), the transposed step is::

    lambda_v = a lambda'_v + sg (W^T delta + lambda'_z),    delta = lambda'_I    (current synapses)
                                                                  = free lambda'_v (delta synapses)
    lambda_I = free p lambda'_v + alpha lambda'_I,   lambda_z = kappa lambda'_z,   lambda_c = 0

and the parameter gradients are ``dW = sum_t delta_t^T s_t``, ``dU = sum_t eps_t^T x_t``,
``db = sum_t eps_t`` with ``eps = free lambda'_v``: the caller gets them from one gemm each over
the stacked (T B) rows of the ``delta_t``, ``eps_t`` kept here.

* Forward: one gemm per step (``s_t W^T``, the recurrent input of all sequences), or, when at most
  one neuron in 8 spikes (0/1 spikes, not the smooth network), the sum of the spiking neurons'
  columns of ``W`` (the same terms, a fraction of the work).
* BPTT: one gemm per step (``delta_t W``).
* RTRL: per sequence, the sensitivities of the ``v'``, ``I`` and ``z`` rows to all trainable
  parameters side by side as the columns of three (n, n_cols) matrices, one gemm per step
  (``W (sg P_v)``, exact method) plus elementwise updates; the approximations (e-prop's local
  traces; the element-wise traces, which also drop the autapse and the reset's derivative) drop
  the couplings between neurons and need no product.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .surrogates import FAST_SIGMOID, surrogate_derivative, surrogate_value

#: RTRL modes: the full state Jacobian, the couplings within each neuron (e-prop), the diagonal
RTRL_EXACT = 0
RTRL_LOCAL = 1
RTRL_DIAGONAL = 2


@njit(cache=True)
def _spiking_forward(code, sp, smooth, reset_to, detach, n_ref, v_rest, v_th, v_reset, beta, alpha, p, kappa,
                     delta_syn, wt, D, bias, s0, Z, SPK, SG, AD, FR):
    """Forward pass of B sequences at once (the map of ``SpikingModel.step``): fills ``Z`` (T + 1,
    B, n) with the readout traces and, per step, ``SPK``, ``SG``, ``AD``, ``FR`` (T, B, n; module
    docstring).  Returns False (leaving the rest unfilled) as soon as a state is not finite.

    Assumes: ``code``/``sp`` a surrogate's code and params; ``wt`` = W^T (n, n); ``D`` (T, B, n)
    the input increments ``x_t U^T`` (without ``b``); ``s0`` (4n,) the initial state ``(v', I,
    z, c)`` of every sequence."""
    T, B, n = D.shape
    vp = np.empty((B, n))
    cur = np.empty((B, n))
    cnt = np.empty((B, n))
    v = np.empty((B, n))
    clamp = np.empty((B, n))
    rec = np.empty((B, n))
    idx = np.empty((B, n), np.int64)
    cnt_spk = np.empty(B, np.int64)
    dv_reset = v_th - v_reset
    fn_ref = float(n_ref)
    for b in range(B):
        for i in range(n):
            vp[b, i] = s0[i]
            cur[b, i] = s0[n + i]
            Z[0, b, i] = s0[2 * n + i]
            cnt[b, i] = s0[3 * n + i]
    for t in range(T):
        St = SPK[t]
        Gt = SG[t]
        At = AD[t]
        Ft = FR[t]
        total = 0
        for b in range(B):
            Gb = Gt[b]
            vb = vp[b]
            if code == FAST_SIGMOID:  # (the common case, in a loop the compiler vectorises)
                k = sp[0]
                for i in range(n):
                    d = 1.0 / (1.0 + k * abs(vb[i] - v_th))
                    Gb[i] = 0.5 * k * d * d
            else:
                for i in range(n):
                    Gb[i] = surrogate_derivative(code, sp, vb[i] - v_th)
            m = 0
            for i in range(n):
                u = vb[i]
                if smooth:
                    s = surrogate_value(code, sp, u - v_th)
                else:
                    s = 1.0 if u >= v_th else 0.0
                g = Gb[i]
                if reset_to:
                    v[b, i] = u - s * (u - v_reset)
                    dv = (1.0 - s) - (0.0 if detach else (u - v_reset) * g)
                else:
                    v[b, i] = u - dv_reset * s
                    dv = 1.0 - (0.0 if detach else dv_reset * g)
                c1 = fn_ref if s >= 1.0 else cnt[b, i]
                clamped = c1 > 0.0
                clamp[b, i] = c1 - 1.0 if clamped else -1.0  # the next counter, or -1: free
                St[b, i] = s
                At[b, i] = dv if clamped else beta * dv
                Ft[b, i] = 0 if clamped else 1
                if s != 0.0:
                    idx[b, m] = i
                    m += 1
            cnt_spk[b] = m
            total += m
        if smooth or 8 * total > B * n:
            np.dot(St, wt, rec)
        else:  # few spikes (0/1): the same sum of the spiking neurons' columns of W, without the gemm
            for b in range(B):
                rb = rec[b]
                for i in range(n):
                    rb[i] = 0.0
                for j in range(cnt_spk[b]):
                    wk = wt[idx[b, j]]
                    for i in range(n):
                        rb[i] += wk[i]
        Dt = D[t]
        Zo = Z[t]
        Zn = Z[t + 1]
        finite = True
        for b in range(B):
            for i in range(n):
                c1m = clamp[b, i]
                if c1m >= 0.0:
                    vn = v[b, i]
                    cnt[b, i] = c1m
                else:
                    vn = v_rest + beta * (v[b, i] - v_rest) + p * cur[b, i] + Dt[b, i] + bias[i]
                    if delta_syn:
                        vn = vn + rec[b, i]
                    cnt[b, i] = 0.0
                if not delta_syn:
                    cur[b, i] = alpha * cur[b, i] + rec[b, i]
                zn = kappa * Zo[b, i] + St[b, i]
                vp[b, i] = vn
                Zn[b, i] = zn
                if not (math.isfinite(vn) and math.isfinite(zn) and math.isfinite(cur[b, i])):
                    finite = False
        if not finite:
            return False
    return True


@njit(cache=True)
def _spiking_bptt_backward(w, p, alpha, kappa, delta_syn, E, SG, AD, FR, lam):
    """Backward pass of B sequences at once (module docstring).  Overwrites ``SG`` with
    ``delta_t`` and ``AD`` with ``eps_t = free lambda'_v`` (T, B, n); leaves the adjoint of the
    initial state in ``lam`` (B, 3n: the ``v'``, ``I``, ``z`` rows; the counter's is 0).

    Assumes: ``E`` (T, B, n) the state errors of the ``z`` rows; ``SG``, ``AD``, ``FR`` from
    :func:`_spiking_forward`."""
    T, B, n = E.shape
    lv = np.zeros((B, n))
    li = np.zeros((B, n))
    lz = np.zeros((B, n))
    g = np.empty((B, n))
    a = np.empty((B, n))
    tmp = np.empty((B, n))
    for t in range(T - 1, -1, -1):
        Et = E[t]
        Gt = SG[t]
        At = AD[t]
        Ft = FR[t]
        for b in range(B):
            for i in range(n):
                g[b, i] = Gt[b, i]
                a[b, i] = At[b, i]
                lz[b, i] += Et[b, i]
                e = lv[b, i] if Ft[b, i] != 0 else 0.0 * lv[b, i]
                At[b, i] = e
                Gt[b, i] = e if delta_syn else li[b, i]
        np.dot(Gt, w, tmp)
        for b in range(B):
            for i in range(n):
                lvp = lv[b, i]
                lzp = lz[b, i]
                lv[b, i] = a[b, i] * lvp + g[b, i] * (tmp[b, i] + lzp)
                if delta_syn:
                    li[b, i] = 0.0
                else:
                    li[b, i] = (p * lvp if Ft[b, i] != 0 else 0.0 * lvp) + alpha * li[b, i]
                lz[b, i] = kappa * lzp
    for b in range(B):
        for i in range(n):
            lam[b, i] = lv[b, i]
            lam[b, n + i] = li[b, i]
            lam[b, 2 * n + i] = lz[b, i]


@njit(cache=True)
def _spiking_rtrl(w, p, alpha, kappa, delta_syn, mode, E, SPK, SG, AD, FR, X, offs, n_cols, grad, beta, reset_to):
    """RTRL over each of the B sequences: the sensitivities of the ``v'``, ``I``, ``z`` rows to
    the trainable parameters in the columns of ``Pv``, ``Pi``, ``Pz`` (n, n_cols), ``P_{t+1} =
    A_t P_t + B_t`` (``A_t`` masked by ``mode``: RTRL_EXACT, RTRL_LOCAL or RTRL_DIAGONAL),
    ``grad[b] += e_t Pz_{t+1}``.  ``offs`` (4,) int: first column of w (n*n columns, row-major),
    u (n*n_in), b (n), r0 (3n: the ``v'``, ``I``, ``z`` entries; P starts as the identity
    there); -1 if not trained.  ``grad`` (B, n_cols) is overwritten.

    Assumes: ``E`` (T, B, n) the state errors of the ``z`` rows, ``SPK``, ``SG``, ``AD``, ``FR``
    from :func:`_spiking_forward`, ``X`` (T, B, n_in) the inputs."""
    T, B, n = E.shape
    n_in = X.shape[2]
    ow, ou, ob, or0 = offs[0], offs[1], offs[2], offs[3]
    Pv = np.zeros((n, n_cols))
    Pi = np.zeros((n, n_cols))
    Pz = np.zeros((n, n_cols))
    M = np.zeros((n, n_cols))
    Q = np.zeros((n, n_cols))
    wd = np.empty(n)
    for i in range(n):
        wd[i] = w[i, i]
    for b in range(B):
        gb = grad[b]
        for j in range(n_cols):
            gb[j] = 0.0
        for i in range(n):
            for j in range(n_cols):
                Pv[i, j] = 0.0
                Pi[i, j] = 0.0
                Pz[i, j] = 0.0
        if or0 >= 0:
            for i in range(n):
                Pv[i, or0 + i] = 1.0
                Pi[i, or0 + n + i] = 1.0
                Pz[i, or0 + 2 * n + i] = 1.0
        for t in range(T):
            s = SPK[t, b]
            g = SG[t, b]
            a = AD[t, b]
            f = FR[t, b].astype(np.float64)
            e = E[t, b]
            # M = sg P_v (the change of the spikes), Q = W M (what reaches the synapses)
            for i in range(n):
                gi = g[i]
                for j in range(n_cols):
                    M[i, j] = gi * Pv[i, j]
            if mode == RTRL_EXACT:
                np.dot(w, M, Q)
            else:
                for i in range(n):
                    wi = wd[i]
                    for j in range(n_cols):
                        Q[i, j] = wi * M[i, j]
            for i in range(n):
                ai = a[i]
                fi = f[i]
                ei = e[i]
                if mode == RTRL_DIAGONAL:  # no reset derivative: leak (free) or hold (clamped) times 1 - s
                    ai = (beta if fi > 0.0 else 1.0) * ((1.0 - s[i]) if reset_to else 1.0)
                if delta_syn:
                    if mode == RTRL_DIAGONAL:  # no autapse either
                        for j in range(n_cols):
                            Pv[i, j] = ai * Pv[i, j]
                    else:
                        for j in range(n_cols):
                            Pv[i, j] = ai * Pv[i, j] + fi * Q[i, j]
                    for j in range(n_cols):
                        Pi[i, j] = 0.0
                else:
                    fp = fi * p
                    for j in range(n_cols):
                        pv = Pv[i, j]
                        Pv[i, j] = ai * pv + fp * Pi[i, j]
                    if mode == RTRL_DIAGONAL:
                        for j in range(n_cols):
                            Pi[i, j] = alpha * Pi[i, j]
                    else:
                        for j in range(n_cols):
                            Pi[i, j] = Q[i, j] + alpha * Pi[i, j]
                for j in range(n_cols):
                    Pz[i, j] = M[i, j] + kappa * Pz[i, j]
            # the sparse B_t (rows v' or I), then the gradient e_t Pz_{t+1}
            if ow >= 0:
                for i in range(n):
                    c0 = ow + i * n
                    if delta_syn:
                        fi = f[i]
                        for k in range(n):
                            Pv[i, c0 + k] += fi * s[k]
                    else:
                        for k in range(n):
                            Pi[i, c0 + k] += s[k]
            if ou >= 0:
                x = X[t, b]
                for i in range(n):
                    c0 = ou + i * n_in
                    fi = f[i]
                    for k in range(n_in):
                        Pv[i, c0 + k] += fi * x[k]
            if ob >= 0:
                for i in range(n):
                    Pv[i, ob + i] += f[i]
            for i in range(n):
                ei = e[i]
                if ei != 0.0:
                    for j in range(n_cols):
                        gb[j] += ei * Pz[i, j]


@njit(cache=True)
def _spike_weight_gradient(delta, spk, out):
    """``out = delta^T spk`` for 0/1 spikes (R rows; ``out`` (n, n)) as a sum over the spikes
    only: ``out[:, k] += delta[r]`` for every spike ``spk[r, k] = 1`` -- a few % of the dense
    product's work at cortical rates.  Accumulated transposed (contiguous rows), then copied."""
    R, n = delta.shape
    acc = np.zeros((n, n))
    for r in range(R):
        d = delta[r]
        s = spk[r]
        for k in range(n):
            if s[k] != 0.0:
                a = acc[k]
                for i in range(n):
                    a[i] += d[i]
    for i in range(n):
        for k in range(n):
            out[i, k] = acc[k, i]
