"""Pure-NumPy twin of the LIF simulator kernel (spikerate/sim/_kernels.py).

Written from the equations, not from the kernel: the propagators come from the matrix
exponential of the linear system (scipy.linalg.expm), the potential is kept in mV (not
relative to threshold), synapses are dense matrices.  Random numbers are drawn in the
kernel's order (noise per neuron, then Poisson per drive and neuron, by inverting the CDF
computed here with scipy.stats) from the same Generator,
so for the same inputs both must give the same spikes.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.linalg import expm


def propagator(tau_m: float, tau_s: list[float], dt: float) -> np.ndarray:
    """expm(M dt) for x = [u, I_1..I_C, 1] with tau_m du/dt = -u + sum I + c (c in the last
    column, filled by the caller), tau_k dI_k/dt = -I_k."""
    c = len(tau_s)
    m = np.zeros((c + 2, c + 2))
    m[0, 0] = -1 / tau_m
    m[0, 1:c + 1] = 1 / tau_m
    m[0, c + 1] = 1 / tau_m
    for k, ts in enumerate(tau_s):
        m[k + 1, k + 1] = -1 / ts
    return expm(m * dt)


def simulate_naive(*, n_steps, dt, tau_m, v_rest, v_th, v_reset, t_ref, i_const, tau_s, w_cur, w_delta,
                   u0, rng, noise_sigma=None, poisson=(), timed=None, method="exact"):
    """Return (spike steps, spike neurons, u trace (n_steps + 1, N)).

    w_cur: dict (channel k, delay D) -> dense (N, N) [post, pre]; w_delta: dict D -> dense.
    poisson: list of (lo, hi, target k or -1, weight, lam).  timed: (n_steps, N) current or None.
    """
    n = u0.size
    c = len(tau_s)
    u = u0.astype(float).copy()
    current = np.zeros((c, n))
    release = np.zeros(n, np.int64)
    n_ref = np.rint(np.asarray(t_ref) / dt).astype(int) * np.ones(n, int)
    hist: list[np.ndarray] = []
    steps, neurons = [], []
    trace = [u.copy()]
    props = {}
    for i in range(n):
        key = float(tau_m[i])
        if key not in props:
            if method == "exact":
                props[key] = propagator(key, tau_s, dt)
            else:
                p = np.eye(c + 2)
                p[0, 0] = 1 - dt / key
                p[0, 1:] = dt / key
                for k, ts in enumerate(tau_s):
                    p[k + 1, k + 1] = 1 - dt / ts
                props[key] = p
    for step in range(n_steps):
        free = step >= release
        new_u = np.empty(n)
        new_i = np.empty((c, n))
        for i in range(n):
            p = props[float(tau_m[i])]
            drive = v_rest[i] + i_const[i]
            x = np.concatenate([[u[i]], current[:, i], [1.0]])
            x[-1] = drive  # the constant column multiplies the drive
            y = p @ x
            new_u[i] = y[0]
            new_i[:, i] = y[1:c + 1]
        u = np.where(free, new_u, u)
        current = new_i
        if timed is not None:
            cin = np.array([props[float(t)][0, -1] for t in tau_m])
            u = np.where(free, u + cin * timed[step], u)
        if noise_sigma is not None:
            for i in np.flatnonzero(noise_sigma > 0):
                xi = rng.standard_normal()
                if method == "exact":
                    coef = noise_sigma[i] * np.sqrt((1 - np.exp(-2 * dt / tau_m[i])) / 2)
                else:
                    coef = noise_sigma[i] * np.sqrt(dt / tau_m[i])
                if free[i]:
                    u[i] += coef * xi
        for lo, hi, tgt, w, lam in poisson:
            # the kernel draws Poisson counts by inverting the CDF with one uniform each
            table = stats.poisson.cdf(np.arange(int(lam + 12 * np.sqrt(lam) + 31)), lam)
            table[-1] = 1.0
            for i in range(lo, hi):
                k = int(np.searchsorted(table, rng.random(), side="left"))
                if k > 0:
                    if tgt >= 0:
                        current[tgt, i] += k * w
                    elif free[i]:
                        u[i] += k * w
        for (k, d), w in w_cur.items():
            if step - d >= 0 and hist[step - d].size:
                current[k] += w[:, hist[step - d]].sum(axis=1)
        for d, w in w_delta.items():
            if step - d >= 0 and hist[step - d].size:
                u += np.where(free, w[:, hist[step - d]].sum(axis=1), 0.0)
        spiking = np.flatnonzero(u >= v_th)
        hist.append(spiking)
        for i in spiking:
            steps.append(step + 1)
            neurons.append(i)
        u[spiking] = v_reset[spiking]
        release[spiking] = step + 1 + n_ref[spiking]
        trace.append(u.copy())
    return np.array(steps, int), np.array(neurons, int), np.array(trace)
