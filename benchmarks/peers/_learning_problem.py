"""The learning benchmark problem shared by the peer runners and spikerate's own benchmark.

Pure numpy, no spikerate import: it is imported both from the peers virtualenv (e.g. by
``jax_bptt.py``) and from spikerate's environment.

The model
---------
A continuous-time rate network of ``n`` units driven by ``n_in`` inputs,

    tau dr/dt = -r + tanh(W r + U x + b),

integrated with forward Euler at step ``dt``:

    r_{t+1} = r_t + (dt/tau) * (-r_t + tanh(W r_t + U x_t + b)),   t = 0, ..., T-1,

starting from r_0 = ``r0`` (the same initial state for every sequence of the batch).
Here W = ``w`` (n, n), U = ``u`` (n, n_in), b = ``b`` (n,), x_t = ``x[k, t]`` (n_in,) for
sequence k of the batch.

The output at step t is o_t = r_{t+1} (the state *after* the update that consumed x_t),
compared with the target y_t = ``y[k, t]`` (n,).  The loss is

    L = (1/batch) * sum_k  1/(2T) * sum_{t=0}^{T-1} || o_t^{(k)} - y_t^{(k)} ||^2

(squared norm = sum over the n units), i.e. the mean over the batch of the per-sequence loss.
The benchmark computes L and its gradients dL/dW, dL/dU, dL/db (``r0``, ``tau`` and ``dt``
are fixed, not trained).

The arrays are drawn with ``rng = np.random.default_rng(seed)`` in exactly this order:

    w = 0.9 * rng.normal(0, 1/sqrt(n), (n, n))
    u = rng.normal(0, 1/sqrt(n_in), (n, n_in))
    b = rng.normal(0, 0.1, n)
    x = rng.normal(0, 1, (batch, T, n_in))
    y = rng.normal(0, 0.5, (batch, T, n))

and r0 = zeros(n), tau = 1.0, dt = 0.1.  All arrays are float64.

``reference_loss_and_grads`` is a plain-numpy backprop-through-time implementation used to
cross-check the engines; running this file (``python _learning_problem.py``) checks it against
central finite differences on a tiny problem.
"""

import numpy as np


def make_problem(n, *, T=1000, batch=16, n_in=4, seed=0):
    """The benchmark problem (see the module docstring) as a dict: float64 arrays ``w``,
    ``u``, ``b``, ``x``, ``y``, ``r0`` and the float scalars ``tau``, ``dt``."""
    n, T, batch, n_in = int(n), int(T), int(batch), int(n_in)
    rng = np.random.default_rng(seed)
    w = 0.9 * rng.normal(0.0, 1.0 / np.sqrt(n), (n, n))
    u = rng.normal(0.0, 1.0 / np.sqrt(n_in), (n, n_in))
    b = rng.normal(0.0, 0.1, n)
    x = rng.normal(0.0, 1.0, (batch, T, n_in))
    y = rng.normal(0.0, 0.5, (batch, T, n))
    return {
        "w": np.asarray(w, dtype=np.float64),
        "u": np.asarray(u, dtype=np.float64),
        "b": np.asarray(b, dtype=np.float64),
        "x": np.asarray(x, dtype=np.float64),
        "y": np.asarray(y, dtype=np.float64),
        "r0": np.zeros(n, dtype=np.float64),
        "tau": 1.0,
        "dt": 0.1,
    }


def reference_loss(problem):
    """The loss L alone (forward pass only), in plain numpy."""
    w, u, b = problem["w"], problem["u"], problem["b"]
    x, y = problem["x"], problem["y"]
    a = problem["dt"] / problem["tau"]
    batch, T, _ = x.shape
    r = np.broadcast_to(problem["r0"], (batch, w.shape[0])).copy()
    total = 0.0
    for t in range(T):
        r = r + a * (-r + np.tanh(r @ w.T + x[:, t] @ u.T + b))
        total += np.sum((r - y[:, t]) ** 2)
    return total / (2.0 * T * batch)


def reference_loss_and_grads(problem):
    """(loss, {"w": dL/dW, "u": dL/dU, "b": dL/db}) by straightforward backprop through time
    (a Python loop over time, vectorised over the batch)."""
    w, u, b = problem["w"], problem["u"], problem["b"]
    x, y = problem["x"], problem["y"]
    a = problem["dt"] / problem["tau"]
    batch, T, _ = x.shape
    n = w.shape[0]

    # Forward: keep r_0..r_T and tanh(z_t) for t = 0..T-1.
    rs = np.empty((T + 1, batch, n))
    hs = np.empty((T, batch, n))
    rs[0] = problem["r0"]
    for t in range(T):
        hs[t] = np.tanh(rs[t] @ w.T + x[:, t] @ u.T + b)
        rs[t + 1] = rs[t] + a * (-rs[t] + hs[t])
    err = rs[1:] - np.transpose(y, (1, 0, 2))  # (T, batch, n): o_t - y_t
    loss = float(np.sum(err ** 2) / (2.0 * T * batch))

    # Backward: lam = dL/dr_{t+1} (total), starting with lam_T = direct term of o_{T-1}.
    scale = 1.0 / (T * batch)
    gw = np.zeros_like(w)
    gu = np.zeros_like(u)
    gb = np.zeros_like(b)
    lam = scale * err[T - 1]
    for t in range(T - 1, -1, -1):
        g = a * lam * (1.0 - hs[t] ** 2)  # dL/dz_t, (batch, n)
        gw += g.T @ rs[t]
        gu += g.T @ x[:, t]
        gb += g.sum(axis=0)
        lam = (1.0 - a) * lam + g @ w  # dL/dr_t through the dynamics
        if t >= 1:
            lam = lam + scale * err[t - 1]  # r_t is also the output o_{t-1}
    return loss, {"w": gw, "u": gu, "b": gb}


def _finite_difference_check(eps=1e-6):
    """Max relative error of reference_loss_and_grads against central differences on a tiny
    problem (n=3, T=20, batch=2)."""
    prob = make_problem(3, T=20, batch=2, seed=1)
    loss, grads = reference_loss_and_grads(prob)
    assert abs(loss - reference_loss(prob)) <= 1e-14 * abs(loss)
    worst = 0.0
    for name in ("w", "u", "b"):
        p = prob[name]
        fd = np.empty_like(p)
        for idx in np.ndindex(p.shape):
            orig = p[idx]
            p[idx] = orig + eps
            lp = reference_loss(prob)
            p[idx] = orig - eps
            lm = reference_loss(prob)
            p[idx] = orig
            fd[idx] = (lp - lm) / (2.0 * eps)
        rel = np.max(np.abs(fd - grads[name])) / np.max(np.abs(grads[name]))
        print(f"{name}: max |fd - bptt| / max |bptt| = {rel:.2e}")
        worst = max(worst, rel)
    return worst


if __name__ == "__main__":
    worst = _finite_difference_check()
    print(f"worst relative error {worst:.2e}")
    assert worst < 1e-7, worst
