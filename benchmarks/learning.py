#!/usr/bin/env python
"""Speed of exact gradients (:func:`spikerate.learn.value_and_grad`): BPTT against JAX, RTRL scaling.

Part 1, BPTT vs JAX.  The shared problem of ``benchmarks/peers/_learning_problem.py`` (tanh rate
model, Euler dt = 0.1, tau = 1, r0 = 0, T = 1000, batch 16, mse on the identity readout,
gradients w.r.t. w, u, b).  spikerate times ``value_and_grad(model, x, y, method=BPTT(), dt=0.1,
r0=r0)`` (validation included: what users call) and checks its loss and gradients against
``reference_loss_and_grads`` (plain numpy BPTT) to 1e-10.  JAX runs in the peers virtualenv
(``--peers-python``) as ``benchmarks/peers/jax_bptt.py --n N --repeats 7`` (jit of value_and_grad
over a lax.scan, CPU, float64; its median over 7 calls after the compiling one).  Interleaved:
for each n, ``--rounds`` rounds of (one JAX subprocess, then ``--calls`` spikerate calls); the
table gives the median over rounds of each side's median, so that load from other processes on a
shared machine hits both alike.  The H200 GPU column is the reference of
``../shared/anchors/perf.md`` (JAX, same problem, one NVIDIA H200).

Part 2, RTRL scaling.  One sequence of ``--rtrl-T`` steps, trainable ("w",): the sensitivity
update ``P <- A P + B`` is an (n x n) @ (n x n^2) product per step (2 n^4 flop), O(n^4) in all.
Interleaved with numpy's ``A @ P`` for the same shapes, the same number of times; the GFLOP/s of
RTRL are computed from its *total* time (validation, forward pass, loss and the sparse updates
included: a lower bound for the products inside), numpy's from the products alone.  Each timed
block follows a 0.3 s pause and one untimed call (numpy and numba's BLAS are two OpenBLAS copies
whose idle threads spin for a while).  The log-log
slope of the RTRL time against n (fit over n >= 32) should be close to 4; the plot goes to
``docs/figures/rtrl_scaling.png``.  Run from the repository root::

    PYTHONPATH=. python benchmarks/learning.py                  # both parts
    PYTHONPATH=. python benchmarks/learning.py --part rtrl --rtrl-n 16 32 64 128 192
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks" / "peers"))
from benchmarks._timing import median_calls  # noqa: E402

#: JAX on one NVIDIA H200 for the same problem (../shared/anchors/perf.md): n -> s per step
H200 = {32: 18e-3, 64: 20e-3, 128: 25e-3}


def _jax(peers_python, n, repeats):
    cmd = [peers_python, str(REPO / "benchmarks" / "peers" / "jax_bptt.py"), "--n", str(n), "--repeats", str(repeats)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def part_bptt(args):
    from _learning_problem import make_problem, reference_loss_and_grads

    from spikerate.learn import BPTT, value_and_grad
    from spikerate.models import RateModel

    rows = []
    for n in args.n:
        p = make_problem(n)
        model = RateModel(w=p["w"], u=p["u"], b=p["b"], tau=1.0, g="tanh", trainable=("w", "u", "b"))

        def call():
            return value_and_grad(model, p["x"], p["y"], method=BPTT(), dt=0.1, r0=p["r0"])
        t0 = time.perf_counter()
        loss, grads = call()
        first = time.perf_counter() - t0
        ref_loss, ref = reference_loss_and_grads(p)
        err = max([abs(loss - ref_loss) / abs(ref_loss)]
                  + [float(np.max(np.abs(grads[k] - ref[k])) / np.max(np.abs(ref[k]))) for k in ("w", "u", "b")])
        if err > 1e-10:
            raise SystemExit(f"n={n}: spikerate differs from the numpy reference by {err:.2e} (> 1e-10)")
        t_jax, t_sr, compile_jax = [], [], []
        for _ in range(args.rounds):
            res = _jax(args.peers_python, n, args.calls)
            t_jax.append(res["median_s"])
            compile_jax.append(res["compile_s"])
            t_sr.append(median_calls(call, args.calls))
        row = dict(n=n, spikerate_s=statistics.median(t_sr), jax_s=statistics.median(t_jax),
                   jax_compile_s=statistics.median(compile_jax), spikerate_first_call_s=first, max_rel_err=err,
                   spikerate_rounds=t_sr, jax_rounds=t_jax)
        row["ratio"] = row["spikerate_s"] / row["jax_s"]
        rows.append(row)
        print(f"  n={n:4d}: spikerate {row['spikerate_s'] * 1e3:8.2f} ms   JAX (CPU) {row['jax_s'] * 1e3:8.2f} ms   "
              f"ratio {row['ratio']:.2f}", flush=True)
    print()
    print(f"BPTT, T=1000, batch 16, tanh, Euler, grads w/u/b; medians of {args.rounds} interleaved rounds x "
          f"{args.calls} calls")
    print("|   n | spikerate (CPU) | JAX (CPU) | spikerate / JAX | JAX on H200 (perf.md) | JAX compile | "
          "spikerate 1st call | max rel. err vs numpy |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        h200 = f"{H200[r['n']] * 1e3:.0f} ms" if r["n"] in H200 else "-"
        print(f"| {r['n']} | {r['spikerate_s'] * 1e3:.1f} ms | {r['jax_s'] * 1e3:.1f} ms | {r['ratio']:.2f} | {h200} | "
              f"{r['jax_compile_s']:.2f} s | {r['spikerate_first_call_s']:.2f} s | {r['max_rel_err']:.1e} |")
    print("(target: spikerate / JAX <= 1.0)")
    return rows


def part_rtrl(args):
    from spikerate.learn import RTRL, value_and_grad
    from spikerate.models import RateModel

    T = args.rtrl_T
    rows = []
    for n in args.rtrl_n:
        rng = np.random.default_rng(0)
        model = RateModel(w=0.9 * rng.normal(0.0, 1.0 / np.sqrt(n), (n, n)), u=rng.normal(0.0, 0.5, (n, 4)),
                          b=rng.normal(0.0, 0.1, n), tau=1.0, g="tanh", trainable=("w",))
        x = rng.normal(0.0, 1.0, (T, 4))
        y = rng.normal(0.0, 0.5, (T, n))

        def call():
            return value_and_grad(model, x, y, method=RTRL(), dt=0.1)
        A = rng.normal(size=(n, n))
        P = rng.normal(size=(n, n * n))
        out = np.empty_like(P)

        def products():
            for _ in range(T):
                np.matmul(A, P, out=out)
        call()
        products()
        reps = max(1, min(args.calls, int(2.0 / max(2.0 * n ** 4 * T / 5e10, 1e-4))))
        t_r, t_n = [], []
        for _ in range(args.rounds):
            t_r.append(median_calls(call, reps))
            t_n.append(median_calls(products, reps))
        flop = 2.0 * n ** 4 * T
        row = dict(n=n, T=T, rtrl_s=statistics.median(t_r), numpy_s=statistics.median(t_n), flop=flop)
        row["rtrl_gflops"] = flop / row["rtrl_s"] / 1e9
        row["numpy_gflops"] = flop / row["numpy_s"] / 1e9
        row["fraction"] = row["rtrl_gflops"] / row["numpy_gflops"]
        rows.append(row)
        print(f"  n={n:4d}: RTRL {row['rtrl_s'] * 1e3:9.2f} ms ({row['rtrl_gflops']:6.1f} GFLOP/s)   "
              f"numpy A@P {row['numpy_s'] * 1e3:9.2f} ms ({row['numpy_gflops']:6.1f} GFLOP/s)", flush=True)
    ns = np.array([r["n"] for r in rows], float)
    ts = np.array([r["rtrl_s"] for r in rows])
    fit = ns >= 32
    slope = float(np.polyfit(np.log(ns[fit]), np.log(ts[fit]), 1)[0]) if fit.sum() >= 2 else float("nan")
    slope_all = float(np.polyfit(np.log(ns), np.log(ts), 1)[0]) if len(ns) >= 2 else float("nan")
    print()
    print(f"RTRL, trainable ('w',), one sequence of T={T} steps, tanh, Euler; medians of {args.rounds} interleaved "
          f"rounds; GFLOP/s of the J.p products (2 n^4 per step) from RTRL's total time")
    print("|   n | RTRL value_and_grad | GFLOP/s (J.p, from total time) | numpy A @ P | numpy GFLOP/s | fraction |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['n']} | {r['rtrl_s'] * 1e3:.2f} ms | {r['rtrl_gflops']:.1f} | {r['numpy_s'] * 1e3:.2f} ms | "
              f"{r['numpy_gflops']:.1f} | {r['fraction'] * 100:.0f} % |")
    print(f"log-log slope of RTRL time vs n: {slope:.2f} (n >= 32), {slope_all:.2f} (all n); expected ~4")
    print("(target: fraction >= 50 % for n >= 64)")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        path = REPO / "docs" / "figures" / "rtrl_scaling.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.loglog(ns, ts, "o-", label="RTRL value_and_grad")
        ax.loglog(ns, [r["numpy_s"] for r in rows], "s--", label=f"numpy A @ P, {T} times")
        ref = ts[-1] * (ns / ns[-1]) ** 4
        ax.loglog(ns, ref, ":", color="gray", label="slope 4")
        ax.set_xlabel("units n")
        ax.set_ylabel(f"time for T = {T} steps [s]")
        ax.set_title(f"RTRL scaling (slope {slope:.2f} for n >= 32)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        print(f"plot: {path.relative_to(REPO)}")
    return rows, slope


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("all", "bptt", "rtrl"), default="all")
    p.add_argument("--n", type=int, nargs="+", default=[32, 64, 128], help="BPTT sizes (default 32 64 128)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--calls", type=int, default=7, help="timed calls per round (default 7)")
    p.add_argument("--peers-python", default="/work/peers-venv/bin/python", help="python with JAX")
    p.add_argument("--rtrl-n", type=int, nargs="+", default=[16, 32, 64, 128, 192], help="RTRL sizes")
    p.add_argument("--rtrl-T", type=int, default=20, help="RTRL steps (default 20)")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="skip docs/figures/rtrl_scaling.png")
    p.add_argument("--json", default=None, help="optional path for the results as JSON")
    args = p.parse_args(argv)

    import numba
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"numba {numba.__version__}, python {platform.python_version()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    results = {}
    if args.part in ("all", "bptt"):
        results["bptt"] = part_bptt(args)
        print()
    if args.part in ("all", "rtrl"):
        results["rtrl"], results["rtrl_slope"] = part_rtrl(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
