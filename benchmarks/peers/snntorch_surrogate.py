#!/usr/bin/env python
"""snnTorch peer runner for the surrogate-gradient benchmark: one training epoch of a recurrent LIF network.

The problem (sizes, time constants, weights, inputs, targets, loss) is that of
``_surrogate_problem.py`` beside this file, built from snnTorch's ``RSynaptic`` neurons (all-to-all
recurrent ``nn.Linear``), run with the separate peers virtualenv::

    /work/peers-venv/bin/python snntorch_surrogate.py --n 128 --repeats 5 [--dtype float64]

Network: ``cur = U x + b`` (one ``nn.Linear(n_in, n)`` over all steps at once), then per step
``spk, syn, mem = RSynaptic(alpha, beta, threshold=v_th, reset_mechanism="subtract")(cur_t, spk,
syn, mem)`` with the recurrent weights ``W`` (its ``recurrent`` ``nn.Linear``, bias 0), an explicit
readout trace ``z = kappa z + spk`` and ``o = R z / tau_out`` (``nn.Linear(n, 2, bias=False)``);
loss = mean over the batch of ``1/(2T) sum_t ||o_t - y_t||^2``; ``loss.backward()`` and one
``torch.optim.SGD`` step (``--lr``) of w, u, b, readout (and the recurrent bias) = one epoch.
``torch.set_num_threads(--threads)`` (default 2); float32 (snnTorch's default) or float64.

The surrogate: a ``torch.autograd.Function`` passed as ``spike_grad``: forward ``H(v) = (v >= 0)``,
backward ``(k/2) / (1 + k|v|)^2`` with ``k = 10`` (spikerate's unit-area ``FastSigmoid``;
snnTorch's own ``surrogate.fast_sigmoid(slope=k)`` is ``1 / (1 + k|v|)^2``, ``2/k`` times it, and
``v > 0``).  The same cost; ``--snntorch-surrogate`` uses snnTorch's own instead.

Not the same numbers as spikerate / JAX (the same sizes and cost per step, another update order):
snnTorch's ``RSynaptic`` integrates ``syn_{t+1} = alpha syn_t + cur_t + W s_t`` and ``mem_{t+1} =
beta mem_t + syn_{t+1} - v_th reset_t``: the input drive enters the synaptic current (spikerate:
the membrane), the current enters the membrane in the same step with weight 1 (spikerate: ``p
I_t``, one step later), a spike is emitted from the updated ``mem`` in the same call and the reset
signal is detached from the graph (snnTorch's ``mem_reset``; spikerate's problem keeps the
gradient through the reset).  So that the dynamics are comparable (similar firing rates), the
weights are mapped: recurrent ``p W`` (the membrane takes the whole current, spikerate's ``p`` of
it), input ``(1 - alpha) (U, b)`` (the synapse's DC gain ``1 / (1 - alpha)`` undone).

Exactly one JSON line is written to stdout.  Keys: ``engine``, ``torch_version``,
``snntorch_version``, ``dtype``, ``n``, ``T``, ``batch``, ``repeats``, ``first_s`` (the first,
untimed-in-the-median epoch), ``times_s``, ``median_s``, ``loss`` (initial parameters),
``rate_hz`` (mean firing rate of the first epoch), ``threads``, ``peak_rss_mb``.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit, peak_rss_mb  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=64, help="number of neurons")
    ap.add_argument("--T", type=int, default=500, help="number of time steps")
    ap.add_argument("--batch", type=int, default=32, help="sequences per batch")
    ap.add_argument("--repeats", type=int, default=5, help="timed epochs after the first")
    ap.add_argument("--seed", type=int, default=0, help="seed of make_problem")
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--lr", type=float, default=1e-4, help="SGD step of the epoch")
    ap.add_argument("--snntorch-surrogate", action="store_true",
                    help="snnTorch's surrogate.fast_sigmoid(slope=k) (1/(1+k|v|)^2) instead of the unit-area one")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    import snntorch
    import snntorch as snn
    import torch
    from snntorch import surrogate

    from _surrogate_problem import make_problem

    torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    torch.set_default_dtype(dtype)
    P = make_problem(args.n, T=args.T, batch=args.batch, seed=args.seed)
    k = float(P["slope"])

    class UnitFastSigmoid(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return (v >= 0).to(v.dtype)

        @staticmethod
        def backward(ctx, grad):
            (v,) = ctx.saved_tensors
            d = 1.0 / (1.0 + k * v.abs())
            return grad * (0.5 * k) * d * d

    spike_grad = surrogate.fast_sigmoid(slope=k) if args.snntorch_surrogate else UnitFastSigmoid.apply
    n, n_in = args.n, P["u"].shape[1]
    fc_in = torch.nn.Linear(n_in, n, bias=True)
    lif = snn.RSynaptic(alpha=P["alpha"], beta=P["beta"], threshold=P["v_th"], spike_grad=spike_grad,
                        reset_mechanism="subtract", all_to_all=True, linear_features=n)
    readout = torch.nn.Linear(n, 2, bias=False)
    with torch.no_grad():
        # matched drive (see the module docstring): W -> p W, (U, b) -> (1 - alpha) (U, b)
        fc_in.weight.copy_(torch.as_tensor((1.0 - P["alpha"]) * P["u"]))
        fc_in.bias.copy_(torch.as_tensor((1.0 - P["alpha"]) * P["b"]))
        lif.recurrent.weight.copy_(torch.as_tensor(P["p"] * P["w"]))
        lif.recurrent.bias.zero_()
        readout.weight.copy_(torch.as_tensor(P["readout"]))
    for mod in (fc_in, lif, readout):
        mod.to(dtype)
    params = list(fc_in.parameters()) + list(lif.recurrent.parameters()) + list(readout.parameters())
    opt = torch.optim.SGD(params, lr=args.lr)
    x = torch.as_tensor(P["x"], dtype=dtype)
    y = torch.as_tensor(P["y"], dtype=dtype)
    kappa, tau_out = P["kappa"], P["tau_out"]
    batch, T = x.shape[0], x.shape[1]

    def epoch():
        opt.zero_grad()
        cur = fc_in(x)  # (batch, T, n)
        spk, syn, mem = lif.init_rsynaptic()
        z = torch.zeros(batch, n, dtype=dtype)
        total = torch.zeros((), dtype=dtype)
        n_spk = 0.0
        for t in range(T):
            spk, syn, mem = lif(cur[:, t], spk, syn, mem)
            z = kappa * z + spk
            e = readout(z / tau_out) - y[:, t]
            total = total + (e * e).sum()
            n_spk += float(spk.detach().sum())
        loss = total / (2.0 * T * batch)
        loss.backward()
        opt.step()
        return float(loss.detach()), n_spk / (batch * n * T * P["dt"])

    t0 = time.perf_counter()
    loss0, rate = epoch()
    first = time.perf_counter() - t0
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t0)
    emit(json_out, {"engine": "snntorch", "torch_version": torch.__version__, "snntorch_version": snntorch.__version__,
                    "dtype": args.dtype, "n": n, "T": T, "batch": batch, "repeats": args.repeats, "first_s": first,
                    "times_s": times, "median_s": statistics.median(times), "loss": loss0, "rate_hz": rate,
                    "threads": torch.get_num_threads(), "peak_rss_mb": peak_rss_mb(),
                    "surrogate": "snntorch fast_sigmoid" if args.snntorch_surrogate else "unit-area fast sigmoid"})


if __name__ == "__main__":
    main()
