#!/usr/bin/env python
"""JAX peer runner for the fixed-point benchmark: loss and implicit gradients at a fixed point.

The problem is defined in ``_fixed_point_problem.py`` beside this file (shared with
``benchmarks/fixed_point.py``): ``r* = tanh(W r* + U x + b)``, loss = mean over the batch of
``1/2 ||r* - y||^2``, gradients w.r.t. W, U, b.  Run it with the peers virtualenv (JAX is not a
spikerate dependency)::

    /work/peers-venv/bin/python jax_fixed_point.py --n 256 --batch 1 --repeats 7 --out-npz g.npz
    /work/peers-venv/bin/python jax_fixed_point.py --n 12 --check-fd      # finite-difference check

JAX on the CPU in float64.  Forward: Newton from r = 0 on ``f(r) = r - tanh(W r + U x + b)``,
one ``jnp.linalg.solve`` per iteration, in a ``lax.while_loop`` until ``max|f| <= tol *
max(1, max|r|)`` (spikerate's criterion; default tol 1e-10) or ``--max-iter`` iterations; with
``--fixed-iters K`` a ``lax.fori_loop`` of exactly K iterations instead.  Backward: a
``jax.custom_vjp`` on the fixed-point map (implicit function theorem): solve
``(I - D W)^T v = dl/dr*`` (D = diag(tanh'(z*)), ``jnp.linalg.solve``), then
``dW = (D v) r*^T``, ``dU = (D v) x^T``, ``db = D v``.  The per-sample loss is ``jax.vmap``-ed
over the batch; ``jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))`` is timed.

Exactly one JSON line on stdout.  Keys: engine, jax_version, jaxlib_version, n, batch, n_in,
seed, repeats, tol, max_iter, fixed_iters, compile_s (first call: trace + compile + run),
times_s, median_s (of the --repeats calls after it, each up to block_until_ready), loss,
newton_iters (per sample, from a separate jitted forward call), threads, peak_rss_mb, and with
--check-fd ``fd`` (max relative error of the gradient against central differences of the plain
numpy loss, over random entries of w, u, b and one random direction).  With ``--out-npz FILE``
the loss and the gradients w, u, b are saved.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit, peak_rss_mb, time_calls  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=256, help="number of rate units")
    ap.add_argument("--batch", type=int, default=1, help="inputs per batch")
    ap.add_argument("--n-in", type=int, default=8, help="number of inputs")
    ap.add_argument("--seed", type=int, default=0, help="seed of make_fixed_point_problem")
    ap.add_argument("--repeats", type=int, default=7, help="timed calls after the first")
    ap.add_argument("--tol", type=float, default=1e-10, help="Newton tolerance (scaled max residual)")
    ap.add_argument("--max-iter", type=int, default=100, help="Newton iteration cap (while_loop)")
    ap.add_argument("--fixed-iters", type=int, default=0,
                    help="if > 0: exactly this many Newton iterations (fori_loop) instead of the while_loop")
    ap.add_argument("--out-npz", default=None, help="optional .npz for loss, w, u, b (gradients)")
    ap.add_argument("--check-fd", action="store_true", help="check against central differences (small n)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    return args


def _threads_info():
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    info = {"cpu_count": os.cpu_count(), "affinity": affinity}
    for var in ("XLA_FLAGS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        info[var] = os.environ.get(var)
    return info


def build(jax, jnp, *, tol, max_iter, fixed_iters):
    """(value_and_grad, forward) both jitted; value_and_grad(w, u, b, x, y) -> (loss, (gw, gu, gb));
    forward(w, u, b, x) -> (r* (batch, n), Newton iterations (batch,))."""
    lax = jax.lax

    def newton(w, d):
        n = d.shape[0]
        eye = jnp.eye(n, dtype=d.dtype)

        def resid(r):
            return r - jnp.tanh(w @ r + d)

        def step(r):
            t = jnp.tanh(w @ r + d)
            J = eye - (1.0 - t * t)[:, None] * w
            return r - jnp.linalg.solve(J, r - t)

        r0 = jnp.zeros_like(d)
        if fixed_iters > 0:
            r = lax.fori_loop(0, fixed_iters, lambda i, r: step(r), r0)
            return r, jnp.asarray(fixed_iters)

        def cond(c):
            r, f, it = c
            return (jnp.max(jnp.abs(f)) > tol * jnp.maximum(1.0, jnp.max(jnp.abs(r)))) & (it < max_iter)

        def body(c):
            r, _, it = c
            r = step(r)
            return r, resid(r), it + 1

        r, _, it = lax.while_loop(cond, body, (r0, resid(r0), jnp.asarray(0)))
        return r, it

    @jax.custom_vjp
    def fixed_point(w, u, b, x):
        return newton(w, u @ x + b)[0]

    def fp_fwd(w, u, b, x):
        r = newton(w, u @ x + b)[0]
        return r, (w, u, b, x, r)

    def fp_bwd(res, g):
        w, u, b, x, r = res
        z = w @ r + u @ x + b
        t = jnp.tanh(z)
        dd = 1.0 - t * t
        A = jnp.eye(r.shape[0], dtype=r.dtype) - dd[:, None] * w
        v = jnp.linalg.solve(A.T, g)
        q = dd * v
        return jnp.outer(q, r), jnp.outer(q, x), q, u.T @ q

    fixed_point.defvjp(fp_fwd, fp_bwd)

    def sample_loss(w, u, b, x, y):
        e = fixed_point(w, u, b, x) - y
        return 0.5 * jnp.sum(e * e)

    def loss(w, u, b, x, y):
        return jnp.mean(jax.vmap(sample_loss, in_axes=(None, None, None, 0, 0))(w, u, b, x, y))

    vg = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))
    fwd = jax.jit(jax.vmap(lambda w, u, b, x: newton(w, u @ x + b), in_axes=(None, None, None, 0)))
    return vg, fwd


def fd_check(p, grads, *, n_entries=6, eps=1e-6, seed=123):
    """Max relative error of the gradient against central differences of the numpy loss: a few
    random entries of each of w, u, b (relative to max|grad| of that parameter) and one random
    direction over all three (relative to the directional derivative)."""
    import numpy as np
    from _fixed_point_problem import reference_loss
    rng = np.random.default_rng(seed)
    errs = {}
    for k in ("w", "u", "b"):
        g = grads[k]
        worst = 0.0
        for _ in range(n_entries):
            idx = tuple(int(rng.integers(s)) for s in g.shape)
            plus, minus = p[k].copy(), p[k].copy()
            plus[idx] += eps
            minus[idx] -= eps
            fd = (reference_loss(p, **{k: plus}) - reference_loss(p, **{k: minus})) / (2 * eps)
            worst = max(worst, abs(fd - g[idx]) / np.max(np.abs(g)))
        errs[k] = float(worst)
    dirs = {k: rng.normal(size=p[k].shape) for k in ("w", "u", "b")}
    fd = (reference_loss(p, **{k: p[k] + eps * dirs[k] for k in dirs})
          - reference_loss(p, **{k: p[k] - eps * dirs[k] for k in dirs})) / (2 * eps)
    an = sum(float(np.sum(grads[k] * dirs[k])) for k in dirs)
    errs["direction"] = float(abs(fd - an) / abs(an))
    return errs


def main(argv=None):
    args = parse_args(argv)
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    os.environ["JAX_PLATFORMS"] = "cpu"
    import numpy as np
    import jax
    import jax.numpy as jnp
    import jaxlib
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", True)

    from _fixed_point_problem import make_fixed_point_problem

    p = make_fixed_point_problem(args.n, n_in=args.n_in, batch=args.batch, seed=args.seed)
    cpu = jax.devices("cpu")[0]
    dev = {k: jax.device_put(jnp.asarray(p[k], dtype=jnp.float64), cpu) for k in ("w", "u", "b", "x", "y")}
    inputs = (dev["w"], dev["u"], dev["b"], dev["x"], dev["y"])
    vg, fwd = build(jax, jnp, tol=args.tol, max_iter=args.max_iter, fixed_iters=args.fixed_iters)

    _, out, compile_s, times = time_calls(lambda: vg(*inputs), args.repeats, jax.block_until_ready)

    loss_val, (gw, gu, gb) = out
    grads = {"w": np.asarray(gw), "u": np.asarray(gu), "b": np.asarray(gb)}
    r, iters = fwd(dev["w"], dev["u"], dev["b"], dev["x"])
    r = np.asarray(r)
    resid = float(np.max(np.abs(r - np.tanh(r @ p["w"].T + p["x"] @ p["u"].T + p["b"]))))

    result = {
        "engine": "jax", "jax_version": jax.__version__, "jaxlib_version": jaxlib.__version__,
        "n": args.n, "batch": args.batch, "n_in": args.n_in, "seed": args.seed, "repeats": args.repeats,
        "tol": args.tol, "max_iter": args.max_iter, "fixed_iters": args.fixed_iters,
        "compile_s": compile_s, "times_s": times, "median_s": statistics.median(times),
        "loss": float(loss_val), "newton_iters": [int(i) for i in np.asarray(iters)],
        "max_residual": resid, "threads": _threads_info(), "peak_rss_mb": peak_rss_mb(),
    }
    if args.check_fd:
        result["fd"] = fd_check(p, grads)
    if args.out_npz:
        os.makedirs(os.path.dirname(os.path.abspath(args.out_npz)), exist_ok=True)
        np.savez(args.out_npz, loss=np.float64(float(loss_val)), **grads)
    emit(json_out, result)


if __name__ == "__main__":
    main()
