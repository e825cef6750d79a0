#!/usr/bin/env python
"""JAX peer runner for the learning benchmark: loss and BPTT gradients of a rate network.

The problem (model, loss, data) is defined in ``_learning_problem.py`` beside this file:
forward-Euler rate network r_{t+1} = r_t + (dt/tau)(-r_t + tanh(W r_t + U x_t + b)),
loss = mean over the batch of 1/(2T) sum_t ||r_{t+1} - y_t||^2, gradients w.r.t. W, U, b.
It is meant to be run with the separate peers virtualenv (JAX is not a spikerate dependency)::

    /work/peers-venv/bin/python jax_bptt.py --n 64 --T 1000 --batch 16 --repeats 7 \
        --seed 0 --out-npz grads.npz

JAX runs on the CPU in float64.  The time loop is ``jax.lax.scan``; the batch is handled by
batched matmuls (``r @ W.T`` with r of shape (batch, n)); the input drive U x_t + b is computed
for all steps at once before the scan.  ``jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))``
gives the loss and the gradients w.r.t. (W, U, b) in one compiled call.

Exactly one JSON line is written to stdout (anything else goes to stderr).  Keys:

engine        "jax"
jax_version, jaxlib_version
n, T, batch, n_in, seed, repeats   echo of the problem / arguments
compile_s     wall time of the first call (tracing + XLA compilation + one execution),
              up to ``block_until_ready()`` of all outputs
times_s       wall time of each of the ``--repeats`` following calls, each up to
              ``block_until_ready()`` of all outputs (same inputs every call)
median_s      median of times_s
loss          the loss (float)
threads       what governs XLA's CPU threads: this runner pins nothing; XLA uses its own
              thread pool sized from the machine unless XLA_FLAGS says otherwise (e.g.
              ``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"``
              for one thread).  Reported: cpu_count (os.cpu_count()), affinity (CPUs this
              process may run on), and the environment variables XLA_FLAGS, OMP_NUM_THREADS
              and NUMBA_NUM_THREADS as set (null when unset).
peak_rss_mb   max(ru_maxrss) of this process, in MB
reference     only with --check-reference: max relative errors of the JAX loss and gradients
              against ``reference_loss_and_grads`` (plain numpy BPTT); for each gradient
              max|g_jax - g_ref| / max|g_ref|.  Meant for small problems.

With ``--out-npz FILE`` the loss (0-d) and the gradients ``w``, ``u``, ``b`` (float64) are
saved so that another process can compare.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit, peak_rss_mb, time_calls  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=64, help="number of rate units")
    ap.add_argument("--T", type=int, default=1000, help="number of time steps")
    ap.add_argument("--batch", type=int, default=16, help="sequences per batch")
    ap.add_argument("--n-in", type=int, default=4, help="number of inputs")
    ap.add_argument("--repeats", type=int, default=7, help="timed calls after the first")
    ap.add_argument("--seed", type=int, default=0, help="seed of make_problem")
    ap.add_argument("--out-npz", default=None, help="optional .npz for loss, w, u, b (gradients)")
    ap.add_argument("--check-reference", action="store_true",
                    help="also compare with the numpy reference BPTT (small problems only)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    return args


def _threads_info():
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = None
    info = {"cpu_count": os.cpu_count(), "affinity": affinity}
    for var in ("XLA_FLAGS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        info[var] = os.environ.get(var)
    return info


def make_value_and_grad(jax, jnp, dt, tau):
    """jit(value_and_grad(loss)) with loss(w, u, b, x, y, r0); x (batch, T, n_in),
    y (batch, T, n), r0 (n,).  Gradients w.r.t. (w, u, b)."""
    a = dt / tau

    def loss(w, u, b, x, y, r0):
        batch, T, _ = x.shape
        drive = jnp.einsum("btk,nk->tbn", x, u) + b  # U x_t + b, (T, batch, n)
        y_t = jnp.swapaxes(y, 0, 1)  # (T, batch, n)
        r_init = jnp.broadcast_to(r0, (batch, r0.shape[0]))

        def step(carry, inp):
            r, acc = carry
            d, yt = inp
            r = r + a * (-r + jnp.tanh(r @ w.T + d))
            e = r - yt
            return (r, acc + jnp.sum(e * e)), None

        (_, total), _ = jax.lax.scan(step, (r_init, jnp.zeros((), r0.dtype)), (drive, y_t))
        return total / (2.0 * T * batch)

    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))


def main(argv=None):
    args = parse_args(argv)

    # Anything JAX/XLA might print goes to stderr; the JSON line is the only stdout output.
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    os.environ["JAX_PLATFORMS"] = "cpu"  # force the CPU backend
    import numpy as np
    import jax
    import jax.numpy as jnp
    import jaxlib
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", True)

    from _learning_problem import make_problem, reference_loss_and_grads

    prob = make_problem(args.n, T=args.T, batch=args.batch, n_in=args.n_in, seed=args.seed)
    cpu = jax.devices("cpu")[0]
    dev = {k: jax.device_put(jnp.asarray(prob[k], dtype=jnp.float64), cpu)
           for k in ("w", "u", "b", "x", "y", "r0")}
    inputs = (dev["w"], dev["u"], dev["b"], dev["x"], dev["y"], dev["r0"])
    vg = make_value_and_grad(jax, jnp, float(prob["dt"]), float(prob["tau"]))

    _, out, compile_s, times = time_calls(lambda: vg(*inputs), args.repeats, jax.block_until_ready)

    loss_val, (gw, gu, gb) = out
    loss = float(loss_val)
    grads = {"w": np.asarray(gw), "u": np.asarray(gu), "b": np.asarray(gb)}

    result = {
        "engine": "jax",
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib.__version__,
        "n": args.n,
        "T": args.T,
        "batch": args.batch,
        "n_in": args.n_in,
        "seed": args.seed,
        "repeats": args.repeats,
        "compile_s": compile_s,
        "times_s": times,
        "median_s": statistics.median(times),
        "loss": loss,
        "threads": _threads_info(),
        "peak_rss_mb": peak_rss_mb(),
    }

    if args.check_reference:
        ref_loss, ref_grads = reference_loss_and_grads(prob)
        rel = {"loss": abs(loss - ref_loss) / abs(ref_loss)}
        for k in ("w", "u", "b"):
            rel[k] = float(np.max(np.abs(grads[k] - ref_grads[k])) / np.max(np.abs(ref_grads[k])))
        result["reference"] = rel

    if args.out_npz:
        out_dir = os.path.dirname(os.path.abspath(args.out_npz))
        os.makedirs(out_dir, exist_ok=True)
        np.savez(args.out_npz, loss=np.float64(loss), **grads)

    emit(json_out, result)


if __name__ == "__main__":
    main()
