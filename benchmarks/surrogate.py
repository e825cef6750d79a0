#!/usr/bin/env python
"""Speed of surrogate-gradient training of a recurrent LIF network: spikerate vs JAX and snnTorch.

Part 1, one training epoch.  The shared problem of ``benchmarks/peers/_surrogate_problem.py``
(recurrent current-based LIF, n = 64, 128, 256, 20 Bernoulli(0.05) input spike trains, batch 32,
T = 500 steps of 1 ms, tau_m = 20 ms, tau_s = 5 ms, reset by subtraction, unit-area fast-sigmoid
surrogate with k = 10, leaky readout of 20 ms onto 2 outputs, mse against two sines; gradients
w.r.t. w, u, b, readout).  One epoch = loss, gradients and one full-batch SGD step:

* spikerate: ``value_and_grad(SpikingModel(...), x, y, method=SurrogateBPTT(surrogate=FastSigmoid(
  scale=10)), dt=1e-3, readout=R, trainable=("w", "u", "b", "readout"))`` (validation included),
  ``SGD.step`` and ``model.with_params``; float64.
* JAX (``peers/jax_surrogate.py``): jit of value_and_grad over a lax.scan plus the SGD update, the
  same discrete map (custom_jvp surrogate), float64 and float32; compile time separate.
* snnTorch (``peers/snntorch_surrogate.py``): ``RSynaptic`` neurons, forward + ``loss.backward()``
  + ``torch.optim.SGD`` step, ``torch.set_num_threads(2)``, float32 and float64 (its update order
  differs: see that file).

Interleaved: for each n, ``--rounds`` rounds of (each peer subprocess with ``--repeats`` epochs
after a first one, then ``--repeats`` spikerate epochs after a pause and one untimed epoch); the
table gives the median over rounds of each side's median.  The H200 column is the reference of
``../shared/anchors/perf.md`` (PyTorch recurrent LIF, the computation snnTorch does, one H200).

Part 2, cross-check: spikerate's loss and gradients against JAX's (float64) on a small case and
on the full n = 64 problem.

Part 3, SurrogateRTRL scaling: one sequence of ``--rtrl-T`` steps of the same network, trainable
("w",): the sensitivity update is an (n x n) @ (n x n^2) product per step, O(n^4); the log-log
slope of the time against n goes to ``docs/figures/surrogate_rtrl_scaling.png``.  The generic
(uncompiled) RTRL is timed beside it for small n.  Run from the repository root::

    PYTHONPATH=. python benchmarks/surrogate.py                 # all parts
    PYTHONPATH=. python benchmarks/surrogate.py --part epoch --n 64 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO / "benchmarks" / "peers"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(PEERS))
from benchmarks._timing import median_calls  # noqa: E402

#: PyTorch recurrent LIF on one NVIDIA H200, same problem class (../shared/anchors/perf.md): n -> s per step
H200 = {64: 0.37, 128: 0.33, 256: 0.35, 512: 0.35}
TRAIN = ("w", "u", "b", "readout")


def _peer(python, script, args):
    out = subprocess.run([python, str(PEERS / script), *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def spikerate_model(P):
    from spikerate.learn import SpikingModel
    from spikerate.learn.surrogates import FastSigmoid
    return SpikingModel(w=P["w"], u=P["u"], b=P["b"], tau_m=P["tau_m"], tau_s=P["tau_s"], tau_out=P["tau_out"],
                        v_rest=0.0, v_th=P["v_th"], v_reset=0.0, reset="subtract",
                        surrogate=FastSigmoid(scale=P["slope"]), trainable=("w", "u", "b"))


def spikerate_grads(P):
    from spikerate.learn import SurrogateBPTT, value_and_grad
    from spikerate.learn.surrogates import FastSigmoid
    return value_and_grad(spikerate_model(P), P["x"], P["y"], method=SurrogateBPTT(surrogate=FastSigmoid(
        scale=P["slope"])), dt=P["dt"], readout=P["readout"], trainable=TRAIN)


def make_epoch(P, lr):
    """One training epoch of spikerate (value_and_grad + SGD step), carrying the parameters."""
    from spikerate.learn import SGD, SurrogateBPTT, value_and_grad
    from spikerate.learn.surrogates import FastSigmoid
    method = SurrogateBPTT(surrogate=FastSigmoid(scale=P["slope"]))
    opt = SGD(lr=lr)
    st = {"model": spikerate_model(P), "readout": np.array(P["readout"])}
    st["params"] = {k: np.array(P[k]) for k in TRAIN}
    st["opt"] = opt.init(st["params"])

    def epoch():
        loss, grads = value_and_grad(st["model"], P["x"], P["y"], method=method, dt=P["dt"], readout=st["readout"],
                                     trainable=TRAIN)
        st["params"], st["opt"] = opt.step(st["params"], grads, st["opt"])
        st["model"] = st["model"].with_params(w=st["params"]["w"], u=st["params"]["u"], b=st["params"]["b"])
        st["readout"] = st["params"]["readout"]
        return loss
    return epoch


def cold_compile_seconds():
    """First value_and_grad of a small problem in a fresh process with an empty numba cache."""
    code = ("import time, sys; sys.path.insert(0, %r); t0 = time.perf_counter(); import benchmarks.surrogate as S; "
            "from _surrogate_problem import make_problem; S.spikerate_grads(make_problem(8, T=20, batch=2)); "
            "print(time.perf_counter() - t0)") % str(PEERS)
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d, PYTHONPATH=str(REPO))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                             cwd=str(REPO))
    return float(out.stdout.strip().splitlines()[-1])


def part_epoch(args):
    from _surrogate_problem import make_problem, reference_loss
    rows = []
    cold = cold_compile_seconds()
    print(f"  spikerate: import + compile + first call with an empty numba cache: {cold:.1f} s", flush=True)
    for n in args.n:
        P = make_problem(n)
        loss, _ = spikerate_grads(P)
        ref, rate = reference_loss(P, return_rate=True)
        assert abs(loss - ref) <= 1e-12 * abs(ref), (loss, ref)
        epoch = make_epoch(P, args.lr)
        t0 = time.perf_counter()
        epoch()
        first = time.perf_counter() - t0
        peers = {"jax64": ("jax_surrogate.py", ["--dtype", "float64"]),
                 "jax32": ("jax_surrogate.py", ["--dtype", "float32"]),
                 "torch32": ("snntorch_surrogate.py", ["--dtype", "float32"]),
                 "torch64": ("snntorch_surrogate.py", ["--dtype", "float64"])}
        if not args.all_dtypes:
            peers = {k: v for k, v in peers.items() if k in ("jax64", "torch32")}
        t = {k: [] for k in (*peers, "sr")}
        extra = {k: [] for k in peers}
        info = {}
        for _ in range(args.rounds):
            for k, (script, a) in peers.items():
                res = _peer(args.peers_python, script, ["--n", n, "--repeats", args.repeats, "--lr", args.lr, *a])
                t[k].append(res["median_s"])
                extra[k].append(res.get("compile_s", res.get("first_s")))
                info[k] = res
            t["sr"].append(median_calls(epoch, args.repeats))
        row = dict(n=n, rate_hz=rate, spikerate_first_s=first, rounds=t,
                   **{f"{k}_s": statistics.median(v) for k, v in t.items()},
                   **{f"{k}_first_s": statistics.median(v) for k, v in extra.items()},
                   torch_rate_hz=info["torch32"]["rate_hz"])
        rows.append(row)
        print(f"  n={n:4d}: spikerate {row['sr_s'] * 1e3:8.1f} ms   JAX f64 {row['jax64_s'] * 1e3:8.1f} ms   "
              f"snnTorch f32 {row['torch32_s'] * 1e3:8.1f} ms", flush=True)
    print()
    print(f"One training epoch (loss + surrogate BPTT gradients of w, u, b, readout + SGD step), T=500, batch 32, "
          f"n_in=20; medians of {args.rounds} interleaved rounds x {args.repeats} epochs; 2 cores")
    print("| n | rate | spikerate f64 | JAX f64 | JAX f32 | snnTorch f32 | snnTorch f64 | spikerate / snnTorch f32 | "
          "spikerate / JAX f64 | PyTorch on H200 (perf.md) | spikerate / H200 |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

    def ms(r, k):
        return f"{r[k] * 1e3:.1f} ms" if k in r else "-"
    for r in rows:
        h = H200.get(r["n"])
        print(f"| {r['n']} | {r['rate_hz']:.0f} Hz | {ms(r, 'sr_s')} | {ms(r, 'jax64_s')} | {ms(r, 'jax32_s')} | "
              f"{ms(r, 'torch32_s')} | {ms(r, 'torch64_s')} | {r['sr_s'] / r['torch32_s']:.3f} | "
              f"{r['sr_s'] / r['jax64_s']:.2f} | {h * 1e3:.0f} ms | {r['sr_s'] / h:.2f} |")
    print("(targets: spikerate / snnTorch <= 1/3, spikerate / JAX <= 1.0, spikerate <= 0.5 x H200 for n <= 256)")
    print()
    print("| n | spikerate first epoch (cached kernels) | JAX f64 compile + 1st | JAX f32 compile + 1st | "
          "snnTorch f32 1st epoch | snnTorch firing rate |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        def s(k):
            return f"{r[k]:.2f} s" if k in r else "-"
        print(f"| {r['n']} | {r['spikerate_first_s']:.2f} s | {s('jax64_first_s')} | {s('jax32_first_s')} | "
              f"{s('torch32_first_s')} | {r['torch_rate_hz']:.0f} Hz |")
    print(f"spikerate cold start (import + numba compile of the kernels + first call, empty cache): {cold:.1f} s")
    return {"rows": rows, "cold_compile_s": cold}


def part_check(args):
    from _surrogate_problem import make_problem
    out = []
    print("Cross-check, spikerate vs JAX (float64), loss and gradients at the initial parameters")
    print("| problem | loss rel. diff | w | u | b | readout |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for n, T, batch in ((16, 100, 4), (64, 500, 32)):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.npz")
            _peer(args.peers_python, "jax_surrogate.py", ["--n", n, "--T", T, "--batch", batch, "--repeats", 1,
                                                          "--out-npz", path])
            J = dict(np.load(path))
        loss, g = spikerate_grads(make_problem(n, T=T, batch=batch))
        errs = {k: float(np.max(np.abs(g[k] - J[k])) / np.max(np.abs(g[k]))) for k in TRAIN}
        errs["loss"] = abs(loss - float(J["loss"])) / abs(loss)
        out.append(dict(n=n, T=T, batch=batch, **errs))
        print(f"| n={n}, T={T}, batch {batch} | {errs['loss']:.1e} | {errs['w']:.1e} | {errs['u']:.1e} | "
              f"{errs['b']:.1e} | {errs['readout']:.1e} |")
    print("(max |g_spikerate - g_jax| / max |g_spikerate| per parameter)")
    return out


def part_rtrl(args):
    from _surrogate_problem import make_problem

    from spikerate.learn import SurrogateRTRL, value_and_grad
    from spikerate.learn import gradients as G
    from spikerate.learn.surrogates import FastSigmoid
    T = args.rtrl_T
    rows = []
    for n in args.rtrl_n:
        P = make_problem(n, T=T, batch=1)
        m = spikerate_model(P)
        method = SurrogateRTRL(surrogate=FastSigmoid(scale=P["slope"]))

        def call():
            return value_and_grad(m, P["x"], P["y"], method=method, dt=P["dt"], readout=P["readout"],
                                  trainable=("w",))
        call()
        reps = 3 if n >= 128 else 7
        t_fast = statistics.median([median_calls(call, reps) for _ in range(args.rounds)])
        t_gen = None
        if n <= args.rtrl_generic_max:
            orig = G._fast_applies
            G._fast_applies = lambda pb, method: False
            try:
                t_gen = median_calls(call, 1 if n >= 32 else 3)
            finally:
                G._fast_applies = orig
        rows.append(dict(n=n, T=T, rtrl_s=t_fast, generic_s=t_gen, gflops=2.0 * n ** 4 * T / t_fast / 1e9))
        print(f"  n={n:4d}: SurrogateRTRL {t_fast * 1e3:9.2f} ms" +
              (f"   generic {t_gen * 1e3:9.1f} ms" if t_gen else ""), flush=True)
    ns = np.array([r["n"] for r in rows], float)
    ts = np.array([r["rtrl_s"] for r in rows])
    fit = ns >= 32
    slope = float(np.polyfit(np.log(ns[fit]), np.log(ts[fit]), 1)[0]) if fit.sum() >= 2 else float("nan")
    slope_all = float(np.polyfit(np.log(ns), np.log(ts), 1)[0])
    print()
    print(f"SurrogateRTRL, trainable ('w',), one sequence of T={T} steps; medians of {args.rounds} rounds")
    print("| n | compiled SurrogateRTRL | GFLOP/s of W (sg P_v) (2 n^4 per step, from total time) | generic path |")
    print("| ---: | ---: | ---: | ---: |")
    for r in rows:
        gen = f"{r['generic_s'] * 1e3:.1f} ms" if r["generic_s"] else "-"
        print(f"| {r['n']} | {r['rtrl_s'] * 1e3:.2f} ms | {r['gflops']:.1f} | {gen} |")
    print(f"log-log slope of the time vs n: {slope:.2f} (n >= 32), {slope_all:.2f} (all n); expected ~4")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        path = REPO / "docs" / "figures" / "surrogate_rtrl_scaling.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.loglog(ns, ts, "o-", label="SurrogateRTRL (compiled)")
        gen = [(r["n"], r["generic_s"]) for r in rows if r["generic_s"]]
        if gen:
            ax.loglog(*zip(*gen), "s--", label="generic step-protocol path")
        ax.loglog(ns, ts[-1] * (ns / ns[-1]) ** 4, ":", color="gray", label="slope 4")
        ax.set_xlabel("neurons n")
        ax.set_ylabel(f"time for T = {T} steps [s]")
        ax.set_title(f"Surrogate RTRL of a LIF network (slope {slope:.2f}, n >= 32)", fontsize=10)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        print(f"plot: {path.relative_to(REPO)}")
    return {"rows": rows, "slope": slope, "slope_all": slope_all}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("all", "epoch", "check", "rtrl"), default="all")
    p.add_argument("--n", type=int, nargs="+", default=[64, 128, 256], help="network sizes (default 64 128 256)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--repeats", type=int, default=5, help="timed epochs per round and engine (default 5)")
    p.add_argument("--lr", type=float, default=1e-4, help="SGD step of an epoch")
    p.add_argument("--no-all-dtypes", dest="all_dtypes", action="store_false",
                   help="only JAX float64 and snnTorch float32")
    p.add_argument("--peers-python", default="/work/peers-venv/bin/python", help="python with JAX and snnTorch")
    p.add_argument("--rtrl-n", type=int, nargs="+", default=[16, 32, 64, 128], help="RTRL sizes")
    p.add_argument("--rtrl-T", type=int, default=10, help="RTRL steps (default 10)")
    p.add_argument("--rtrl-generic-max", type=int, default=64, help="largest n for the generic RTRL timing")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="skip docs/figures/surrogate_rtrl_scaling.png")
    p.add_argument("--json", default=None, help="optional path for the results as JSON")
    args = p.parse_args(argv)

    import numba
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"numba {numba.__version__}, python {platform.python_version()}")
    results = {}
    if args.part in ("all", "epoch"):
        results["epoch"] = part_epoch(args)
        print()
    if args.part in ("all", "check"):
        results["check"] = part_check(args)
        print()
    if args.part in ("all", "rtrl"):
        results["rtrl"] = part_rtrl(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
