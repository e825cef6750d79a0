"""The surrogate-gradient benchmark problem shared by the peer runners and spikerate's benchmark.

Pure numpy, no spikerate import: it is imported both from the peers virtualenv (by
``jax_surrogate.py`` and ``snntorch_surrogate.py``) and from spikerate's environment.

The model
---------
A recurrent network of ``n`` current-based LIF neurons driven by ``n_in`` input spike trains, on a
grid of step ``dt``: exactly the discrete map of ``spikerate.learn.SpikingModel`` (reset by
subtraction, no refractory period, v_rest = v_reset = 0), for sequence k of the batch::

    s_t      = H(v'_t - v_th)                                   spikes of step t (H(0) = 1)
    v_t      = v'_t - v_th s_t                                  reset by subtraction
    v'_{t+1} = beta v_t + p I_t + U x_t + b                     membrane [mV]
    I_{t+1}  = alpha I_t + W s_t                                synaptic current [mV]
    z_{t+1}  = kappa z_t + s_t                                  leaky readout trace
    o_t      = R z_{t+1} / tau_out                              output [Hz], t = 0 .. T-1

from v'_0 = I_0 = z_0 = 0, with ``beta = exp(-dt/tau_m)``, ``alpha = exp(-dt/tau_s)``,
``kappa = exp(-dt/tau_out)`` and ``p = tau_s/(tau_s - tau_m) (alpha - beta)`` (the exact
propagator of the current into the membrane over one step).  A spike of step t reaches its
targets' ``I`` at t + 1 and their membrane at t + 2.

The loss is the mean over the batch of ``1/(2T) sum_t ||o_t - y_t||^2``; its gradients w.r.t.
W = ``w`` (n, n), U = ``u`` (n, n_in), b = ``b`` (n,) and R = ``readout`` (2, n) use the
surrogate ``sigma'(v) = (k/2) / (1 + k |v|)^2`` at ``v = v' - v_th`` in place of dH/dv (the
fast sigmoid of SuperSpike, Zenke & Ganguli 2018, with slope ``k``, normalised to unit area as
spikerate's ``FastSigmoid(scale=k)``: SuperSpike's and snnTorch's ``fast_sigmoid(slope=k)`` is
``1 / (1 + k |v|)^2``, i.e. ``2/k`` times this one; the peers here multiply theirs by ``k/2``).
The gradient flows through the reset (not detached).

Parameters: n_in = 20, batch = 32, T = 500, dt = 1 ms, tau_m = 20 ms, tau_s = 5 ms,
tau_out = 20 ms, v_th = 1 mV, k = 10.  The arrays are drawn with
``rng = np.random.default_rng(seed)`` in exactly this order::

    w       = rng.normal(0, 2/sqrt(n), (n, n))
    u       = rng.normal(0.06, 0.03, (n, n_in))
    b       = rng.normal(0.0, 0.005, n)
    readout = rng.normal(0, 1/sqrt(n), (2, n))
    x       = (rng.random((batch, T, n_in)) < p_in).astype(float64)      p_in = 0.05: input spikes
    phase   = rng.uniform(0, 2 pi, (batch, 2))

and the target ``y[k, t, j] = 20 + 10 sin(2 pi f_j (t + 1) dt + phase[k, j])`` [Hz] with
``f = (4, 6)`` Hz: two sines.  All arrays are float64.  ``reference_loss`` is the forward pass in
plain numpy (loss only).
"""

import math

import numpy as np

DEFAULTS = dict(T=500, batch=32, n_in=20, dt=1e-3, tau_m=20e-3, tau_s=5e-3, tau_out=20e-3, v_th=1.0, slope=10.0,
                p_in=0.05)


def make_problem(n, *, T=500, batch=32, n_in=20, seed=0, p_in=0.05):
    """The benchmark problem (module docstring) as a dict: float64 arrays ``w``, ``u``, ``b``,
    ``readout``, ``x`` (batch, T, n_in), ``y`` (batch, T, 2) and the float constants ``dt``,
    ``tau_m``, ``tau_s``, ``tau_out``, ``v_th``, ``slope`` and the propagators ``beta``,
    ``alpha``, ``p``, ``kappa``."""
    n, T, batch, n_in = int(n), int(T), int(batch), int(n_in)
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 2.0 / np.sqrt(n), (n, n))
    u = rng.normal(0.06, 0.03, (n, n_in))
    b = rng.normal(0.0, 0.005, n)
    readout = rng.normal(0.0, 1.0 / np.sqrt(n), (2, n))
    x = (rng.random((batch, T, n_in)) < p_in).astype(np.float64)
    phase = rng.uniform(0.0, 2.0 * np.pi, (batch, 2))
    c = dict(DEFAULTS, T=T, batch=batch, n_in=n_in, p_in=p_in)
    tt = (np.arange(T) + 1) * c["dt"]
    f = np.array([4.0, 6.0])
    y = 20.0 + 10.0 * np.sin(2.0 * np.pi * f[None, None, :] * tt[None, :, None] + phase[:, None, :])
    out = {"w": w, "u": u, "b": b, "readout": readout, "x": x, "y": np.ascontiguousarray(y)}
    out.update({k: float(c[k]) for k in ("dt", "tau_m", "tau_s", "tau_out", "v_th", "slope")})
    out.update(propagators(c["dt"], c["tau_m"], c["tau_s"], c["tau_out"]))
    return out


def propagators(dt, tau_m, tau_s, tau_out):
    """``beta``, ``alpha``, ``p``, ``kappa`` (module docstring; as SpikingModel's)."""
    beta = math.exp(-dt / tau_m)
    alpha = math.exp(-dt / tau_s)
    p = tau_s / (tau_s - tau_m) * (alpha - beta)
    return {"beta": beta, "alpha": alpha, "p": p, "kappa": math.exp(-dt / tau_out)}


def surrogate_derivative(v, slope):
    """``(k/2) / (1 + k |v|)^2`` (unit area; module docstring)."""
    d = 1.0 / (1.0 + slope * np.abs(v))
    return 0.5 * slope * d * d


def reference_loss(problem, return_rate=False):
    """The loss (module docstring) by a plain numpy forward pass; with ``return_rate`` also the
    mean firing rate [Hz]."""
    P = problem
    w, u, b, R, x, y = P["w"], P["u"], P["b"], P["readout"], P["x"], P["y"]
    batch, T, _ = x.shape
    n = w.shape[0]
    vp, I, z = np.zeros((batch, n)), np.zeros((batch, n)), np.zeros((batch, n))
    total, n_spk = 0.0, 0.0
    for t in range(T):
        s = (vp >= P["v_th"]).astype(float)
        n_spk += s.sum()
        v = vp - P["v_th"] * s
        vp = P["beta"] * v + P["p"] * I + x[:, t] @ u.T + b
        I = P["alpha"] * I + s @ w.T
        z = P["kappa"] * z + s
        o = (z / P["tau_out"]) @ R.T
        total += np.sum((o - y[:, t]) ** 2)
    loss = total / (2.0 * T * batch)
    if return_rate:
        return loss, n_spk / (batch * n * T * P["dt"])
    return loss
