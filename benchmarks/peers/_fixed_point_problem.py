"""The shared fixed-point learning problem (pure numpy; used by ``jax_fixed_point.py`` in the peers
virtualenv and by ``benchmarks/fixed_point.py`` with spikerate, so both solve the same problem).

Rate model ``tau dr/dt = -r + tanh(W r + U x + b)`` with tau = 1; loss = mean over the batch of
``1/2 ||r* - y||^2`` at the fixed point ``r* = tanh(W r* + U x + b)``; gradients w.r.t. W, U, b.
"""

import numpy as np


def make_fixed_point_problem(n, *, n_in=8, batch=1, seed=0):
    """dict with w (n, n) = 0.5 N(0, 1/n) (spectral radius ~0.5 < 1: tanh' <= 1 makes the map
    r -> tanh(W r + d) a contraction in practice, so the fixed point is unique and stable),
    u (n, n_in) = N(0, 1/n_in), b (n,) = N(0, 0.1), x (batch, n_in) = N(0, 1),
    y (batch, n) = 0.5 N(0, 1), tau = 1.0, g = "tanh"; drawn in that order from default_rng(seed)."""
    rng = np.random.default_rng(seed)
    w = 0.5 * rng.normal(0.0, 1.0 / np.sqrt(n), (n, n))
    u = rng.normal(0.0, 1.0 / np.sqrt(n_in), (n, n_in))
    b = rng.normal(0.0, 0.1, n)
    x = rng.normal(0.0, 1.0, (batch, n_in))
    y = 0.5 * rng.normal(0.0, 1.0, (batch, n))
    return {"w": w, "u": u, "b": b, "x": x, "y": y, "tau": 1.0, "g": "tanh", "n": n, "n_in": n_in,
            "batch": batch, "seed": seed}


def reference_fixed_point(p, x, *, tol=1e-13, max_iter=200):
    """r* for one input x by plain Newton from 0 (numpy); returns (r, iterations)."""
    w, d = p["w"], p["u"] @ x + p["b"]
    r = np.zeros(p["n"])
    eye = np.eye(p["n"])
    for it in range(max_iter):
        z = w @ r + d
        f = r - np.tanh(z)
        if np.max(np.abs(f)) <= tol:
            return r, it
        J = eye - (1.0 - np.tanh(z) ** 2)[:, None] * w
        r = r - np.linalg.solve(J, f)
    return r, max_iter


def reference_loss(p, w=None, u=None, b=None):
    """The batch-mean loss by ``reference_fixed_point`` (for finite differences)."""
    q = dict(p)
    for k, v in (("w", w), ("u", u), ("b", b)):
        if v is not None:
            q[k] = v
    total = 0.0
    for x, y in zip(p["x"], p["y"]):
        r, _ = reference_fixed_point(q, x)
        total += 0.5 * float((r - y) @ (r - y))
    return total / p["batch"]
