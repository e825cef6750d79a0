#!/usr/bin/env python
"""Fixed-point learning (:mod:`spikerate.learn.fixed_point`): cost, JAX comparison, EqProp error, memory.

The problem is ``benchmarks/peers/_fixed_point_problem.py`` (pure numpy, shared with the JAX
runner): ``r* = tanh(W r* + U x + b)``, tau = 1, W = 0.5 N(0, 1/n), loss = batch mean of
``1/2 ||r* - y||^2``, gradients w.r.t. w, u, b.  Every spikerate call is
``value_and_grad(model, x, y, method=..., r0=zeros)`` (validation included, no warm start: the
solver starts from r = 0 in every call, as JAX does).

Part ``speed`` (a): time per gradient against n for ImplicitDirect (default, i.e. with the
eigenvalue stability check, and with ``check_stability=False``), ImplicitAdjoint, EqProp
(symmetric variant, beta = 1e-3, on the symmetrised model ``W_s = (W + W^T)/2``: a different
model, reported separately) and JAX (``benchmarks/peers/jax_fixed_point.py`` in the peers
virtualenv: Newton in a ``lax.while_loop`` + ``custom_vjp`` implicit backward, jit, vmap).
Interleaved: for each n, ``--rounds`` rounds of (one JAX subprocess timing ``--calls`` calls
after its compiling one, then ``--calls`` calls of each spikerate method after a 0.3 s pause and
an untimed call); the tables give the median over rounds of each side's median.  The gradients of
spikerate and JAX are compared (max|g_sr - g_jax| / max|g_jax| over w, u, b).  A breakdown of one
ImplicitDirect call (Newton / Jacobian / eigvals / LU solve / dF/dtheta) uses the module's private
pieces.  Figure ``docs/figures/fixed_point_cost.png``: log-log time vs n, direct vs adjoint
(left), and the adjoint's relaxation length against the coupling strength of W (right).

Part ``eqprop`` (c): EqProp's relative gradient error against beta (one-sided and symmetric) on
the symmetric-W model against ImplicitDirect's symmetrised gradient ((G + G^T)/2 for w, exact for
u, b), with fitted log-log slopes; figure ``docs/figures/eqprop_error.png``.

Part ``memory`` (d): peak traced memory (tracemalloc) of one gradient call per method at n = 512.
tracemalloc sees numpy arrays (and scipy's LAPACK work arrays, which are numpy arrays), not the
work buffers numpy's own ``linalg`` mallocs internally, nor numba's.

Run from the repository root::

    PYTHONPATH=. python benchmarks/fixed_point.py                        # everything
    PYTHONPATH=. python benchmarks/fixed_point.py --blas-threads 1       # one BLAS/XLA thread, both sides
    PYTHONPATH=. python benchmarks/fixed_point.py --part speed --n 64 128 --rounds 2

On a 2-core machine shared with other processes multi-threaded BLAS is erratic (a descheduled
OpenBLAS thread stalls the other); ``--blas-threads 1`` sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS,
MKL_NUM_THREADS and NUMBA_NUM_THREADS here (before numpy is imported) and in the JAX subprocess,
plus ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`` there.
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

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO / "benchmarks" / "peers"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(PEERS))
from benchmarks._timing import median_calls  # noqa: E402

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _jax(args, n, repeats, out_npz=None):
    cmd = [args.peers_python, str(PEERS / "jax_fixed_point.py"), "--n", str(n), "--batch", str(args.batch),
           "--repeats", str(repeats)]
    if out_npz:
        cmd += ["--out-npz", out_npz]
    env = dict(os.environ)
    if args.blas_threads:
        for v in THREAD_VARS:
            env[v] = str(args.blas_threads)
        if args.blas_threads == 1:
            env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _models(p):
    from spikerate.models import RateModel
    m = RateModel(w=p["w"], u=p["u"], b=p["b"], tau=1.0, g="tanh", trainable=("w", "u", "b"))
    ws = 0.5 * (p["w"] + p["w"].T)
    msym = RateModel(w=ws, u=p["u"], b=p["b"], tau=1.0, g="tanh", trainable=("w", "u", "b"))
    return m, msym


def _methods():
    from spikerate.learn import EquilibriumPropagation, ImplicitAdjoint, ImplicitDirect
    return {"direct": ImplicitDirect(), "direct_nocheck": ImplicitDirect(check_stability=False),
            "adjoint": ImplicitAdjoint(), "eqprop": EquilibriumPropagation(beta=1e-3, variant="symmetric")}


def _rel(g, ref):
    import numpy as np
    return max(float(np.max(np.abs(g[k] - ref[k])) / np.max(np.abs(ref[k]))) for k in ("w", "u", "b"))


def _breakdown(model, p, calls):
    """Median times of the pieces of one ImplicitDirect call (batch summed), via the private
    functions of spikerate.learn.fixed_point (mirrors _implicit_one)."""
    import numpy as np
    import scipy.linalg
    from spikerate.learn import fixed_point as FP
    from spikerate.learn.gradients import _accumulate
    from spikerate.models.dynamics import _newton
    n = model.n
    tau = model._tau_rows()
    out = {}
    pieces = {}

    def prep():
        return FP.prepare_fixed_point(model, p["x"], p["y"], r0=np.zeros(n))
    out["prepare (validation)"] = median_calls(prep, calls)
    pb = prep()
    drives = [model._drive(x) for x in pb.x]
    out["newton"] = median_calls(lambda: [_newton(model, np.zeros(n), d, tau, 1e-10, 100) for d in drives], calls)
    ss = [_newton(model, np.zeros(n), d, tau, 1e-10, 100)[0] for d in drives]
    pieces["newton_iters"] = [_newton(model, np.zeros(n), d, tau, 1e-10, 100)[2] for d in drives]
    out["jacobian J"] = median_calls(lambda: [model._jac_state(s, d) for s, d in zip(ss, drives)], calls)
    Js = [model._jac_state(s, d) for s, d in zip(ss, drives)]
    out["eigvals (stability)"] = median_calls(lambda: [np.linalg.eigvals(J) for J in Js], calls)
    es = [s - y for s, y in zip(ss, pb.y)]
    out["LU solve J^T v = -e (scipy)"] = median_calls(lambda: [scipy.linalg.solve(J.T, -e) for J, e in zip(Js, es)],
                                                       calls)
    vs = [scipy.linalg.solve(J.T, -e) for J, e in zip(Js, es)]

    def params():
        g = {k: np.zeros_like(getattr(model, k)) for k in ("w", "u", "b")}
        for s, x, d, v in zip(ss, pb.x, drives, vs):
            C = model._jac_params(s, x, d)
            for k in g:
                _accumulate(model, g, k, v, getattr(C, k))
    out["dF/dtheta + outer products"] = median_calls(params, calls)
    return out, pieces


def part_speed(args):
    import numpy as np
    from _fixed_point_problem import make_fixed_point_problem

    from spikerate.learn import value_and_grad
    from spikerate.learn.fixed_point import fixed_point_value_and_grad, prepare_fixed_point

    meths = _methods()
    rows, breakdowns = [], []
    tmp = tempfile.mkdtemp(prefix="fp_bench_")
    for n in args.n:
        p = make_fixed_point_problem(n, batch=args.batch)
        m, msym = _models(p)
        zeros = np.zeros(n)
        calls = {}
        for key, meth in meths.items():
            mod = msym if key == "eqprop" else m
            calls[key] = (lambda mod=mod, meth=meth: value_and_grad(mod, p["x"], p["y"], method=meth, r0=zeros))
        # first calls (numba compilation of the relaxation kernels on the very first), gradients, diagnostics
        first, grads, iters = {}, {}, {}
        for key, meth in meths.items():
            t0 = time.perf_counter()
            _, grads[key] = calls[key]()
            first[key] = time.perf_counter() - t0
            info = {}
            pb = prepare_fixed_point(msym if key == "eqprop" else m, p["x"], p["y"], r0=zeros)
            fixed_point_value_and_grad(pb, meth, info=info)
            iters[key] = (int(np.max(info["n_iter"])), int(np.max(info["adjoint_iter"])))
        t_sr = {k: [] for k in meths}
        t_jax, compile_jax = [], []
        jax_npz = os.path.join(tmp, f"jax_{n}.npz")
        jres = None
        for r in range(args.rounds):
            if not args.skip_jax:
                jres = _jax(args, n, args.calls, jax_npz if r == 0 else None)
                t_jax.append(jres["median_s"])
                compile_jax.append(jres["compile_s"])
            for key in meths:
                t_sr[key].append(median_calls(calls[key], args.calls))
        row = dict(n=n, batch=args.batch, first=first, iters=iters,
                   **{k: statistics.median(v) for k, v in t_sr.items()}, rounds=t_sr)
        if not args.skip_jax:
            jg = dict(np.load(jax_npz))
            row.update(jax=statistics.median(t_jax), jax_compile=statistics.median(compile_jax), jax_rounds=t_jax,
                       jax_newton_iters=max(jres["newton_iters"]),
                       err_direct=_rel(grads["direct"], jg), err_direct_nocheck=_rel(grads["direct_nocheck"], jg),
                       err_adjoint=_rel(grads["adjoint"], jg))
            row["ratio"] = row["direct"] / row["jax"]
            row["ratio_nocheck"] = row["direct_nocheck"] / row["jax"]
        rows.append(row)
        msg = "  ".join(f"{k} {row[k] * 1e3:.2f} ms" for k in meths)
        if not args.skip_jax:
            msg += f"  jax {row['jax'] * 1e3:.2f} ms  ratio {row['ratio']:.2f} (no check {row['ratio_nocheck']:.2f})"
        print(f"  n={n:5d}: {msg}", flush=True)
        if n in args.breakdown_n:
            bd, pieces = _breakdown(m, p, args.calls)
            breakdowns.append((n, bd, pieces, row["direct"]))

    ms = lambda t: f"{t * 1e3:.3g}" if t < 1 else f"{t * 1e3:.0f}"  # noqa: E731
    print()
    print(f"### Fixed-point gradient, time per call (ms), batch {args.batch}, tanh, W = 0.5 N(0, 1/n); medians of "
          f"{args.rounds} interleaved rounds x {args.calls} calls; BLAS threads: "
          f"{args.blas_threads or 'default'}")
    print()
    if not args.skip_jax:
        print("| n | ImplicitDirect | ImplicitDirect (check_stability=False) | JAX (CPU, jit) | Direct / JAX | "
              "Direct (no check) / JAX | ImplicitAdjoint | Adjoint / JAX | Newton iters (sr / JAX) | "
              "adjoint steps (fwd / adj) | JAX compile |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in rows:
            print(f"| {r['n']} | {ms(r['direct'])} | {ms(r['direct_nocheck'])} | {ms(r['jax'])} | {r['ratio']:.2f} | "
                  f"{r['ratio_nocheck']:.2f} | {ms(r['adjoint'])} | {r['adjoint'] / r['jax']:.2f} | "
                  f"{r['iters']['direct'][0]} / {r['jax_newton_iters']} | "
                  f"{r['iters']['adjoint'][0]} / {r['iters']['adjoint'][1]} | {r['jax_compile']:.2f} s |")
        print()
        print("(target: ImplicitDirect / JAX <= 1.5)")
        print()
        print("### Gradient agreement with JAX: max|g_sr - g_jax| / max|g_jax| over w, u, b")
        print()
        print("| n | ImplicitDirect | ImplicitDirect (no check) | ImplicitAdjoint |")
        print("| ---: | ---: | ---: | ---: |")
        for r in rows:
            print(f"| {r['n']} | {r['err_direct']:.1e} | {r['err_direct_nocheck']:.1e} | {r['err_adjoint']:.1e} |")
    else:
        print("| n | ImplicitDirect | ImplicitDirect (no check) | ImplicitAdjoint |")
        print("| ---: | ---: | ---: | ---: |")
        for r in rows:
            print(f"| {r['n']} | {ms(r['direct'])} | {ms(r['direct_nocheck'])} | {ms(r['adjoint'])} |")
    print()
    print("### EqProp (symmetric variant, beta = 1e-3) on the symmetrised model W_s = (W + W^T)/2 (ms)")
    print()
    print("| n | EqProp | relaxation steps (all phases) |")
    print("| ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['n']} | {ms(r['eqprop'])} | {r['iters']['eqprop'][0]} |")
    print()
    print("### First call (s; includes numba compilation of the relaxation kernels on the first n)")
    print()
    print("| n | direct | direct (no check) | adjoint | eqprop |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        f = r["first"]
        print(f"| {r['n']} | {f['direct']:.3f} | {f['direct_nocheck']:.3f} | {f['adjoint']:.3f} | {f['eqprop']:.3f} |")
    if breakdowns:
        print()
        print(f"### ImplicitDirect breakdown (ms, medians of {args.calls}; batch {args.batch}; private pieces timed "
              f"separately)")
        print()
        names = list(breakdowns[0][1])
        print("| n | " + " | ".join(names) + " | sum | whole call (table above) |")
        print("| ---: " * (len(names) + 3) + "|")
        for n, bd, pieces, whole in breakdowns:
            print(f"| {n} | " + " | ".join(ms(bd[k]) for k in names) + f" | {ms(sum(bd.values()))} | {ms(whole)} |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(dict(rows=rows, breakdowns=breakdowns), indent=1, default=str))
    return rows


def _slope(xs, ys):
    import numpy as np
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def coupling_sweep(args):
    """ImplicitDirect (with/without check) vs ImplicitAdjoint at n = args.sweep_n against the
    coupling strength c of W = c N(0, 1/n) (the problem's W rescaled; 0.5 is the default)."""
    import numpy as np
    from _fixed_point_problem import make_fixed_point_problem

    from spikerate.learn import value_and_grad
    from spikerate.learn.fixed_point import fixed_point_value_and_grad, prepare_fixed_point
    meths = _methods()
    n = args.sweep_n
    out = []
    for c in args.sweep_c:
        p = make_fixed_point_problem(n, batch=args.batch)
        p["w"] = p["w"] * (c / 0.5)
        m, _ = _models(p)
        row = {"c": c}
        info = {}
        try:
            fixed_point_value_and_grad(prepare_fixed_point(m, p["x"], p["y"], r0=np.zeros(n)), meths["adjoint"],
                                       info=info)
            row["steps"] = (int(np.max(info["n_iter"])), int(np.max(info["adjoint_iter"])))
            for key in ("direct", "direct_nocheck", "adjoint"):
                row[key] = median_calls(lambda: value_and_grad(m, p["x"], p["y"], method=meths[key],
                                                                r0=np.zeros(n)), args.calls)
        except Exception as exc:  # a non-contractive W: no (stable) fixed point reached
            row["error"] = f"{type(exc).__name__}: {str(exc)[:80]}"
        out.append(row)
        print(f"  c={c}: {row}", flush=True)
    print()
    print(f"### Coupling sweep at n = {n}: W = c N(0, 1/n) (ms)")
    print()
    print("| c | ImplicitDirect | Direct (no check) | ImplicitAdjoint | relaxation steps (fwd / adjoint) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for r in out:
        if "error" in r:
            print(f"| {r['c']} | - | - | - | {r['error']} |")
        else:
            print(f"| {r['c']} | {r['direct'] * 1e3:.3g} | {r['direct_nocheck'] * 1e3:.3g} | {r['adjoint'] * 1e3:.3g} | "
                  f"{r['steps'][0]} / {r['steps'][1]} |")
    return out


def figure_cost(args, rows, sweep):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    ns = np.array([r["n"] for r in rows], float)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    ax = axes[0]
    series = [("direct", "ImplicitDirect (Newton + eigvals + LU)", "C0", "o-"),
              ("direct_nocheck", "ImplicitDirect, check_stability=False", "C0", "o--"),
              ("adjoint", "ImplicitAdjoint (relaxation, O(n^2 T))", "C1", "s-"),
              ("jax", "JAX Newton + custom_vjp (CPU)", "C2", "^:")]
    slopes = {}
    for key, label, col, style in series:
        if key not in rows[0]:
            continue
        t = np.array([r[key] for r in rows])
        slopes[key] = {lo: (_slope(ns[ns >= lo], t[ns >= lo]) if (ns >= lo).sum() >= 2 else float("nan"))
                       for lo in (128, 256)}
        ax.loglog(ns, t * 1e3, style, color=col, label=f"{label}  (slope {slopes[key][256]:.2f}, n>=256)")
    top = max(r["direct"] for r in rows) * 1e3
    for k, ls in ((2, (0, (1, 3))), (3, (0, (5, 5)))):
        ax.loglog(ns, top * (ns / ns[-1]) ** k, color="0.6", ls=ls, lw=0.8, label=f"~ n^{k}")
    ax.set_xlabel("n (units)")
    ax.set_ylabel("time per gradient (ms)")
    ax.set_title(f"W = 0.5 N(0,1/n), batch {args.batch}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    ax = axes[1]
    ok = [r for r in sweep if "error" not in r]
    if ok:
        cs = np.array([r["c"] for r in ok])
        for key, label, col, style in series[:3]:
            ax.plot(cs, [r[key] * 1e3 for r in ok], style, color=col, label=label)
        ax.set_yscale("log")
        ax2 = ax.twinx()
        ax2.plot(cs, [r["steps"][1] for r in ok], "k.:", label="adjoint steps T")
        ax2.set_ylabel("adjoint relaxation steps T")
        ax2.legend(loc="lower right", fontsize=7)
        ax.legend(loc="upper left", fontsize=7)
    ax.set_xlabel("coupling c  (W = c N(0, 1/n))")
    ax.set_ylabel("time per gradient (ms)")
    ax.set_title(f"n = {args.sweep_n}")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path = Path(args.fig_dir) / "fixed_point_cost.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print()
    print("### Log-log slopes of time vs n")
    print()
    print("| method | slope, n >= 128 | slope, n >= 256 |")
    print("| --- | ---: | ---: |")
    for k, s in slopes.items():
        print(f"| {k} | {s[128]:.2f} | {s[256]:.2f} |")
    print(f"\nfigure: {path}")
    return slopes


def part_eqprop(args):
    import numpy as np
    from _fixed_point_problem import make_fixed_point_problem

    from spikerate.learn import EquilibriumPropagation, ImplicitDirect, value_and_grad
    n = args.eqprop_n
    p = make_fixed_point_problem(n, batch=args.batch)
    _, msym = _models(p)
    zeros = np.zeros(n)
    _, G = value_and_grad(msym, p["x"], p["y"], method=ImplicitDirect(tol=1e-13), r0=zeros)
    ref = {"w": 0.5 * (G["w"] + G["w"].T), "u": G["u"], "b": G["b"]}
    ref_vec = np.concatenate([ref[k].ravel() for k in ("w", "u", "b")])
    betas = np.logspace(np.log10(args.beta_min), np.log10(args.beta_max), args.beta_points)
    errs = {"one_sided": [], "symmetric": []}
    for variant in errs:
        for beta in betas:
            meth = EquilibriumPropagation(beta=float(beta), variant=variant, tol=args.eqprop_tol)
            _, g = value_and_grad(msym, p["x"], p["y"], method=meth, r0=zeros)
            vec = np.concatenate([g[k].ravel() for k in ("w", "u", "b")])
            errs[variant].append(float(np.linalg.norm(vec - ref_vec) / np.linalg.norm(ref_vec)))
    lo, hi = args.fit_range
    sel = (betas >= lo) & (betas <= hi)
    slopes = {v: _slope(betas[sel], np.array(e)[sel]) for v, e in errs.items()}

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4.3))
    for (v, e), mk in zip(errs.items(), ("o-", "s-")):
        ax.loglog(betas, e, mk, label=f"{v} (slope {slopes[v]:.2f})")
        c = np.polyfit(np.log(betas[sel]), np.log(np.array(e)[sel]), 1)
        ax.loglog(betas[sel], np.exp(np.polyval(c, np.log(betas[sel]))), "k:", lw=1)
    ax.axvspan(lo, hi, color="0.9", zorder=0, label="fit range")
    ax.set_xlabel("beta")
    ax.set_ylabel("relative gradient error ||g_EP - g|| / ||g||")
    ax.set_title(f"EqProp vs implicit gradient (symmetric W, n = {n})", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(args.fig_dir) / "eqprop_error.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print()
    print(f"### EqProp relative gradient error vs beta (n = {n}, symmetric W_s, batch {args.batch}, relaxation tol "
          f"{args.eqprop_tol:g}; reference ImplicitDirect tol 1e-13 with w symmetrised)")
    print()
    print("| beta | one-sided | symmetric |")
    print("| ---: | ---: | ---: |")
    for i, beta in enumerate(betas):
        print(f"| {beta:.2e} | {errs['one_sided'][i]:.2e} | {errs['symmetric'][i]:.2e} |")
    print()
    print(f"fitted log-log slopes over beta in [{lo:g}, {hi:g}]: one-sided {slopes['one_sided']:.3f} (expect 1), "
          f"symmetric {slopes['symmetric']:.3f} (expect 2)")
    print(f"\nfigure: {path}")
    return errs, slopes


def part_memory(args):
    import tracemalloc

    import numpy as np
    from _fixed_point_problem import make_fixed_point_problem

    from spikerate.learn import value_and_grad
    n = args.memory_n
    p = make_fixed_point_problem(n, batch=args.batch)
    m, msym = _models(p)
    zeros = np.zeros(n)
    res = {}
    for key, meth in _methods().items():
        mod = msym if key == "eqprop" else m
        value_and_grad(mod, p["x"], p["y"], method=meth, r0=zeros)  # compile / warm
        tracemalloc.start()
        value_and_grad(mod, p["x"], p["y"], method=meth, r0=zeros)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        res[key] = peak
    print()
    print(f"### Peak traced memory of one gradient call (tracemalloc), n = {n}, batch {args.batch} "
          f"(one n x n float64 matrix = {n * n * 8 / 2**20:.2f} MiB)")
    print()
    print("| method | peak (MiB) | in n x n matrices |")
    print("| --- | ---: | ---: |")
    labels = {"direct": "ImplicitDirect", "direct_nocheck": "ImplicitDirect (check_stability=False)",
              "adjoint": "ImplicitAdjoint", "eqprop": "EquilibriumPropagation (symmetric W_s)"}
    for k, v in res.items():
        print(f"| {labels[k]} | {v / 2**20:.2f} | {v / (n * n * 8):.1f} |")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", nargs="+", default=["speed", "eqprop", "memory"], choices=["speed", "eqprop", "memory"])
    ap.add_argument("--n", type=int, nargs="+", default=[16, 32, 64, 128, 256, 512, 1024])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per n (default 3)")
    ap.add_argument("--calls", type=int, default=5, help="timed calls per round and side (default 5)")
    ap.add_argument("--peers-python", default="/work/peers-venv/bin/python", help="python with JAX")
    ap.add_argument("--skip-jax", action="store_true")
    ap.add_argument("--blas-threads", type=int, default=0, help="if > 0: pin BLAS/numba/XLA threads (see above)")
    ap.add_argument("--breakdown-n", type=int, nargs="*", default=[128, 512, 1024])
    ap.add_argument("--sweep-n", type=int, default=512)
    ap.add_argument("--sweep-c", type=float, nargs="*", default=[0.1, 0.25, 0.5, 0.75, 0.9, 0.97])
    ap.add_argument("--eqprop-n", type=int, default=64)
    ap.add_argument("--eqprop-tol", type=float, default=1e-13)
    ap.add_argument("--beta-min", type=float, default=1e-3)
    ap.add_argument("--beta-max", type=float, default=0.3)
    ap.add_argument("--beta-points", type=int, default=11)
    ap.add_argument("--fit-range", type=float, nargs=2, default=[1e-3, 3e-2])
    ap.add_argument("--memory-n", type=int, default=512)
    ap.add_argument("--fig-dir", default=str(REPO / "docs" / "figures"))
    ap.add_argument("--json-out", default=None, help="optional JSON file for the speed results")
    args = ap.parse_args(argv)
    if args.blas_threads:
        for v in THREAD_VARS:
            os.environ[v] = str(args.blas_threads)
    import numpy as np
    import scipy
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"scipy {scipy.__version__}, python {platform.python_version()}, BLAS threads "
          f"{args.blas_threads or 'default'}", flush=True)
    if "speed" in args.part:
        rows = part_speed(args)
        sweep = coupling_sweep(args) if args.sweep_c else []
        figure_cost(args, rows, sweep)
    if "eqprop" in args.part:
        part_eqprop(args)
    if "memory" in args.part:
        part_memory(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
