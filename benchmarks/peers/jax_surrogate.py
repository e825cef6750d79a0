#!/usr/bin/env python
"""JAX peer runner for the surrogate-gradient benchmark: one training epoch of a recurrent LIF network.

The problem (model, surrogate, loss, data) is defined in ``_surrogate_problem.py`` beside this
file: exactly the discrete map of spikerate's ``SpikingModel`` (spikes from ``v'`` at the start of
the step, reset by subtraction, ``v'_{t+1} = beta v_t + p I_t + U x_t + b``, ``I_{t+1} = alpha I_t
+ W s_t``, ``z_{t+1} = kappa z_t + s_t``, output ``R z_{t+1} / tau_out``), loss = mean over the
batch of ``1/(2T) sum_t ||o_t - y_t||^2``.  The Heaviside is a ``jax.custom_jvp`` whose tangent is
the unit-area fast sigmoid ``(k/2) / (1 + k|v|)^2`` (spikerate's ``FastSigmoid(scale=k)``).  Run
with the separate peers virtualenv (JAX is not a spikerate dependency)::

    /work/peers-venv/bin/python jax_surrogate.py --n 128 --repeats 5 [--dtype float32] [--out-npz g.npz]

One epoch = ``jit``-compiled ``value_and_grad`` of the loss over a ``lax.scan`` w.r.t. (w, u, b,
readout) plus a plain SGD update (``--lr``) of those parameters, all in one compiled call; the
epochs carry the updated parameters.  The input drive ``x U^T`` of all steps is one einsum before
the scan.  CPU, float64 by default (``--dtype float32`` also supported).

Exactly one JSON line is written to stdout (anything else goes to stderr).  Keys: ``engine``,
``jax_version``, ``dtype``, ``n``, ``T``, ``batch``, ``repeats``, ``compile_s`` (the first call:
tracing + XLA compilation + one execution), ``times_s`` (each following epoch up to
``block_until_ready``), ``median_s``, ``loss`` (of the initial parameters, from the first call),
``threads`` (os.cpu_count and XLA_FLAGS as set), ``peak_rss_mb``.  With ``--out-npz FILE`` the
loss and the gradients ``w``, ``u``, ``b``, ``readout`` at the initial parameters are saved (for
the cross-check against spikerate).
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit, peak_rss_mb, time_calls  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=64, help="number of neurons")
    ap.add_argument("--T", type=int, default=500, help="number of time steps")
    ap.add_argument("--batch", type=int, default=32, help="sequences per batch")
    ap.add_argument("--repeats", type=int, default=5, help="timed epochs after the first call")
    ap.add_argument("--seed", type=int, default=0, help="seed of make_problem")
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    ap.add_argument("--lr", type=float, default=1e-4, help="SGD step of the epoch")
    ap.add_argument("--out-npz", default=None, help="optional .npz for loss, w, u, b, readout (gradients)")
    return ap.parse_args(argv)


def make_train_step(jax, jnp, P, dtype):
    """jit of (params, x, y) -> (loss, grads, new params); params = (w, u, b, readout)."""
    beta, alpha, p, kappa = (dtype(P[k]) for k in ("beta", "alpha", "p", "kappa"))
    v_th, tau_out, k = dtype(P["v_th"]), dtype(P["tau_out"]), dtype(P["slope"])

    @jax.custom_jvp
    def spike(v):
        return (v >= 0).astype(v.dtype)

    @spike.defjvp
    def spike_jvp(primals, tangents):
        (v,), (dv,) = primals, tangents
        d = 1.0 / (1.0 + k * jnp.abs(v))
        return spike(v), (0.5 * k) * d * d * dv

    def loss_fn(params, x, y):
        w, u, b, R = params
        batch, T, _ = x.shape
        n = w.shape[0]
        drive = jnp.einsum("btk,nk->tbn", x, u)  # U x_t, (T, batch, n)
        y_t = jnp.swapaxes(y, 0, 1)
        zero = jnp.zeros((batch, n), x.dtype)

        def step(carry, inp):
            vp, I, z, acc = carry
            d, yt = inp
            s = spike(vp - v_th)
            v = vp - v_th * s
            vp = beta * v + p * I + d + b
            I = alpha * I + s @ w.T
            z = kappa * z + s
            e = (z / tau_out) @ R.T - yt
            return (vp, I, z, acc + jnp.sum(e * e)), None

        (_, _, _, total), _ = jax.lax.scan(step, (zero, zero, zero, jnp.zeros((), x.dtype)), (drive, y_t))
        return total / (2.0 * T * batch)

    vg = jax.value_and_grad(loss_fn)

    def train_step(params, x, y, lr):
        loss, grads = vg(params, x, y)
        new = tuple(q - lr * g for q, g in zip(params, grads))
        return loss, grads, new

    return jax.jit(train_step)


def main(argv=None):
    args = parse_args(argv)
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    os.environ["JAX_PLATFORMS"] = "cpu"
    import numpy as np
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", args.dtype == "float64")

    from _surrogate_problem import make_problem

    P = make_problem(args.n, T=args.T, batch=args.batch, seed=args.seed)
    dt = jnp.float64 if args.dtype == "float64" else jnp.float32
    npdt = np.float64 if args.dtype == "float64" else np.float32
    cpu = jax.devices("cpu")[0]
    params = tuple(jax.device_put(jnp.asarray(P[k], dtype=dt), cpu) for k in ("w", "u", "b", "readout"))
    x = jax.device_put(jnp.asarray(P["x"], dtype=dt), cpu)
    y = jax.device_put(jnp.asarray(P["y"], dtype=dt), cpu)
    lr = jnp.asarray(args.lr, dtype=dt)
    train_step = make_train_step(jax, jnp, P, npdt)

    state = {"params": params}

    def epoch():  # one SGD step; the next epoch starts from its parameters
        out = train_step(state["params"], x, y, lr)
        state["params"] = out[2]
        return out

    first, out, compile_s, times = time_calls(epoch, args.repeats, jax.block_until_ready)
    loss0, grads0, _ = first

    result = {"engine": "jax", "jax_version": jax.__version__, "dtype": args.dtype, "n": args.n, "T": args.T,
              "batch": args.batch, "repeats": args.repeats, "compile_s": compile_s, "times_s": times,
              "median_s": statistics.median(times), "loss": float(loss0),
              "threads": {"cpu_count": os.cpu_count(), "XLA_FLAGS": os.environ.get("XLA_FLAGS")},
              "peak_rss_mb": peak_rss_mb()}
    if args.out_npz:
        np.savez(args.out_npz, loss=np.float64(loss0),
                 **{k: np.asarray(g, dtype=np.float64) for k, g in zip(("w", "u", "b", "readout"), grads0)})
    emit(json_out, result)


if __name__ == "__main__":
    main()
