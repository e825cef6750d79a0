#!/usr/bin/env python
"""CUBA performance benchmark: spikerate vs Brian2 (cpp_standalone, runtime) and NEST.

The Vogels-Abbott CUBA network (Brian2's ``examples/CUBA.py``) with N neurons and
connection probability p = 80 / N (p = 0.02 at N = 4000), T = 1 s, dt = 0.1 ms.
Every measurement runs in a fresh process, so peak memory (ru_maxrss) and compile/cache
loading are per run.  Engines are interleaved per repetition (rep 1: all engines, rep 2:
all engines, ...) so that machine noise hits them alike; medians over the repetitions
are reported.  Run from the repository root::

    PYTHONPATH=. python benchmarks/cuba.py                         # full benchmark
    PYTHONPATH=. python benchmarks/cuba.py --n 4000 --reps 1       # quick check

Peers run with the peers virtualenv (``--peers-python``, default
/work/peers-venv/bin/python) through benchmarks/peers/brian2_cuba.py and nest_cuba.py.

Worker mode (used internally, one spikerate measurement, one JSON line on stdout)::

    PYTHONPATH=. python benchmarks/cuba.py --worker spikerate --n 4000 --dtype float64 --seed 1
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO / "benchmarks" / "peers"
ALL_ENGINES = ("spikerate", "brian2_standalone", "brian2_runtime", "nest")
T_STOP = 1.0
DT = 1e-4
N_STEPS = int(round(T_STOP / DT))
#: targets (float64): spikerate sim time <= 0.5 x Brian2 cpp_standalone and <= 0.05 x NEST
TARGET_B2 = 0.5
TARGET_NEST = 0.05
SPIKE_VARS = ("spike_time", "spike_neuron", "spike_trial")


def p_of(n: int) -> float:
    """Connection probability: 80 expected inputs per neuron (0.02 at N = 4000)."""
    return min(1.0, 80.0 / n)


# ------------------------------------------------------------------------------- worker


def worker_spikerate(n: int, dtype: str, seed: int) -> dict:
    """One spikerate run in this (fresh) process; returns the result dict."""
    import resource
    t0 = time.perf_counter()
    from spikerate.sim import cuba_network, simulate
    t_import = time.perf_counter() - t0
    p = p_of(n)
    t0 = time.perf_counter()
    net = cuba_network(n_neurons=n, p=p)
    t_net = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds = simulate(net, t_stop=T_STOP, seed=seed, dtype=dtype, progress=False)
    t_sim_call = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    n_spikes = int(ds.sizes["spike"])
    spike_bytes = int(sum(ds[v].nbytes for v in SPIKE_VARS))
    run_time = float(ds.attrs["run_time"])
    return {
        "engine": f"spikerate_{dtype}", "n": n, "p": p, "t_stop": T_STOP, "seed": seed,
        "sim_time": run_time,
        "build_time": float(ds.attrs["build_time"]),
        "compile_time": float(ds.attrs["compile_time"]),
        "n_spikes": n_spikes,
        "mean_rate": n_spikes / (n * T_STOP),
        "peak_rss_mb": rss_mb,
        "bytes_per_spike": spike_bytes / n_spikes if n_spikes else None,
        "spike_bytes": spike_bytes,
        "neuron_updates_per_s": n * N_STEPS / run_time,
        "details": {"import": t_import, "cuba_network": t_net, "simulate_call": t_sim_call,
                    "n_synapses": int(ds.attrs["n_synapses"]), "dtype": ds.attrs.get("dtype")},
    }


# ------------------------------------------------------------------------------- runners


def _env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def _last_json(stdout: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line on stdout")


def _run_json(cmd: list[str], *, env=None, timeout=None, cwd=None) -> dict:
    """Run cmd, return its JSON line plus the wall time seen from outside (or an error dict)."""
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return {"error": f"timeout after {timeout} s", "stderr_tail": err[-2000:], "timeout": True,
                "process_wall": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        return {"error": f"exit code {r.returncode}", "stderr_tail": r.stderr[-2000:], "process_wall": wall}
    try:
        res = _last_json(r.stdout)
    except ValueError as exc:
        return {"error": str(exc), "stderr_tail": r.stderr[-2000:], "process_wall": wall}
    res["process_wall"] = wall
    return res


def run_spikerate(n, dtype, seed, timeout):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "spikerate", "--n", str(n),
           "--dtype", dtype, "--seed", str(seed)]
    return _run_json(cmd, env=_env(), timeout=timeout, cwd=REPO)


def run_brian2(n, seed, mode, peers_python, timeout):
    tmp = tempfile.mkdtemp(prefix=f"cuba_b2_{mode}_")
    try:
        cmd = [peers_python, str(PEERS / "brian2_cuba.py"), "--n", str(n), "--p", repr(p_of(n)),
               "--t-stop", repr(T_STOP), "--seed", str(seed), "--mode", mode,
               "--build-dir", os.path.join(tmp, "build")]
        res = _run_json(cmd, timeout=timeout, cwd=tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if "error" not in res:
        if mode == "standalone":
            # the peer's peak_rss_mb is max(self, children) = usually the C++ compiler;
            # the simulation binary's own peak is the comparable figure
            res["peak_rss_mb_process"] = res["peak_rss_mb"]
            res["peak_rss_mb"] = res["details"]["binary_peak_rss_mb"]
        res["neuron_updates_per_s"] = n * N_STEPS / res["sim_time"]
    return res


def run_nest(n, seed, peers_python, timeout):
    cmd = [peers_python, str(PEERS / "nest_cuba.py"), "--n", str(n), "--p", repr(p_of(n)),
           "--t-stop", repr(T_STOP), "--seed", str(seed)]
    res = _run_json(cmd, timeout=timeout, cwd=tempfile.gettempdir())
    if "error" not in res:
        res["neuron_updates_per_s"] = n * N_STEPS / res["sim_time"]
    return res


# ------------------------------------------------------------------------------- CLI timing


def _file_attrs(path: str) -> dict:
    code = ("import json, sys; from spikerate.io import load; t = load(sys.argv[1]); "
            "a = t['spikes'].attrs; print(json.dumps({k: float(a[k]) for k in "
            "('compile_time', 'build_time', 'run_time')} | {'n_spikes': int(t['spikes'].sizes['spike'])}))")
    r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, env=_env(), cwd=REPO)
    if r.returncode != 0:
        return {"error": r.stderr[-2000:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def _cli_once(out: str, env: dict) -> dict:
    cmd = [sys.executable, "-m", "spikerate.cli", "run", "cuba", "--out", out, "-q"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - t0
    res = {"wall": wall, "returncode": r.returncode}
    if r.returncode != 0:
        res["stderr_tail"] = r.stderr[-2000:]
    else:
        res.update(_file_attrs(out))
    return res


def cli_timing(reps: int) -> dict:
    tmp = tempfile.mkdtemp(prefix="cuba_cli_")
    try:
        out = os.path.join(tmp, "x.nc")
        warm_env = _env()
        warmup = _cli_once(out, warm_env)  # fills the numba cache (if not already)
        runs = [_cli_once(out, warm_env) for _ in range(reps)]
        cache = os.path.join(tmp, "numba_cache")
        os.makedirs(cache)
        cold = _cli_once(out, _env(NUMBA_CACHE_DIR=cache))  # empty cache: full compilation
        ok = [r["wall"] for r in runs if r["returncode"] == 0]
        return {"command": "PYTHONPATH=<repo> python -m spikerate.cli run cuba --out /tmp/x.nc -q",
                "warmup": warmup, "runs": runs, "median_wall": statistics.median(ok) if ok else None,
                "median_compile_time": statistics.median([r["compile_time"] for r in runs if "compile_time" in r])
                if ok else None,
                "cold_cache": cold}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------- machine info


def machine_info(peers_python: str) -> dict:
    info = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "hostname": platform.node(), "platform": platform.platform(),
            "nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "loadavg_start": os.getloadavg()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            info["mem_total_gb"] = int(f.readline().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    code = ("import json, numba, numpy, xarray, spikerate; print(json.dumps({'numba': numba.__version__, "
            "'numpy': numpy.__version__, 'xarray': xarray.__version__, 'spikerate': spikerate.__version__}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=REPO)
    if r.returncode == 0:
        info.update(json.loads(r.stdout.strip().splitlines()[-1]))
    code = ("import os, json, platform; os.environ['PYNEST_QUIET'] = '1'; import numpy, brian2; "
            "d = {'peers_python': platform.python_version(), 'peers_numpy': numpy.__version__, "
            "'brian2': brian2.__version__}\n"
            "try:\n import nest; d['nest'] = nest.__version__\n"
            "except Exception as e:\n d['nest'] = 'unavailable: %s' % e\n"
            "print(json.dumps(d))")
    r = subprocess.run([peers_python, "-c", code], capture_output=True, text=True)
    if r.returncode == 0 and r.stdout.strip():
        info.update(_last_json(r.stdout))
    else:
        info["peers_error"] = r.stderr[-500:]
    r = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=REPO)
    info["git_commit"] = r.stdout.strip() if r.returncode == 0 else None
    r = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                       cwd=REPO)
    info["git_dirty"] = bool(r.stdout.strip()) if r.returncode == 0 else None  # tracked files modified
    return info


# ------------------------------------------------------------------------------- summary


def _med(rs, key, sub=None):
    vals = [(r[key] if sub is None else r[key].get(sub)) for r in rs]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def summarise(runs: list[dict], ns: list[int], engines: list[str]) -> dict:
    summary = {}
    for n in ns:
        for eng in engines:
            rs = [r for r in runs if r.get("n") == n and r.get("engine") == eng and "error" not in r]
            if not rs:
                continue
            s = {"n_runs": len(rs), "sim_time": _med(rs, "sim_time"), "build_time": _med(rs, "build_time"),
                 "mean_rate": _med(rs, "mean_rate"), "n_spikes": _med(rs, "n_spikes"),
                 "peak_rss_mb": _med(rs, "peak_rss_mb"),
                 "sim_times": [r["sim_time"] for r in rs]}
            s["neuron_updates_per_s"] = n * N_STEPS / s["sim_time"]
            if eng.startswith("spikerate"):
                s["compile_time"] = _med(rs, "compile_time")
                s["bytes_per_spike"] = _med(rs, "bytes_per_spike")
            summary[f"{eng}@{n}"] = s
    # ratios: ratio of medians, and the median of the per-repetition (paired) ratios
    ratios = {}
    for n in ns:
        for eng in ("spikerate_float64", "spikerate_float32"):
            for peer in ("brian2_standalone", "nest"):
                a, b = summary.get(f"{eng}@{n}"), summary.get(f"{peer}@{n}")
                if not a or not b:
                    continue
                paired = []
                for rep in sorted({r["rep"] for r in runs}):
                    x = [r["sim_time"] for r in runs if r.get("rep") == rep and r.get("n") == n
                         and r.get("engine") == eng and "error" not in r]
                    y = [r["sim_time"] for r in runs if r.get("rep") == rep and r.get("n") == n
                         and r.get("engine") == peer and "error" not in r]
                    if x and y:
                        paired.append(x[0] / y[0])
                ratios[f"{eng}/{peer}@{n}"] = {
                    "ratio_of_medians": a["sim_time"] / b["sim_time"],
                    "median_paired_ratio": statistics.median(paired) if paired else None,
                    "paired_ratios": paired}
    targets = {}
    for peer, lim in (("brian2_standalone", TARGET_B2), ("nest", TARGET_NEST)):
        per_n = {}
        for n in ns:
            r = ratios.get(f"spikerate_float64/{peer}@{n}")
            per_n[n] = None if r is None else {"ratio": r["ratio_of_medians"],
                                               "met": r["ratio_of_medians"] <= lim}
        vals = [v for v in per_n.values() if v is not None]
        targets[peer] = {"limit": lim, "per_n": per_n,
                         "met_at_every_n": bool(vals) and len(vals) == len(ns) and all(v["met"] for v in vals)}
    return {"summary": summary, "ratios": ratios, "targets": targets}


def _f(x, fmt="{:.3g}"):
    return "—" if x is None else fmt.format(x)


def markdown(result: dict) -> str:
    info, ns, engines = result["machine"], result["config"]["n"], result["config"]["engine_rows"]
    S, R, T = result["summary"], result["ratios"], result["targets"]
    L = []
    L.append(f"CUBA benchmark, T = {T_STOP:g} s, dt = 0.1 ms, p = 80/N, medians of {result['config']['reps']} "
             f"runs (seeds 1..{result['config']['reps']}), {info.get('date', '')}")
    L.append("")
    L.append(f"Machine: {info.get('cpu', '?')}, nproc {info.get('nproc')}, "
             f"{_f(info.get('mem_total_gb'), '{:.0f}')} GB; Python {info.get('python')}, numba {info.get('numba')}, "
             f"numpy {info.get('numpy')}; peers: Python {info.get('peers_python')}, Brian2 {info.get('brian2')}, "
             f"NEST {info.get('nest')}, numpy {info.get('peers_numpy')}; spikerate {info.get('spikerate')} "
             f"(git {str(info.get('git_commit'))[:10]}{', dirty' if info.get('git_dirty') else ''}); "
             f"load average at start {', '.join(f'{x:.2f}' for x in info.get('loadavg_start', ()))}, "
             f"at end {', '.join(f'{x:.2f}' for x in info.get('loadavg_end', ()))}")
    L.append("")
    L.append("| engine | N | sim time [s] | build / compile [s] | rate [Hz] | neuron-updates/s | peak RSS [MB] "
             "| ratio vs Brian2 standalone | ratio vs NEST |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in ns:
        b2, ne = S.get(f"brian2_standalone@{n}"), S.get(f"nest@{n}")
        for eng in engines:
            s = S.get(f"{eng}@{n}")
            if s is None:
                note = result["skipped"].get(f"{eng}@{n}")
                if note:
                    L.append(f"| {eng} | {n} | skipped: {note} | | | | | | |")
                continue
            bc = _f(s["build_time"], "{:.3f}")
            if "compile_time" in s:
                bc += " / " + _f(s["compile_time"], "{:.3f}")
            rb = _f(s["sim_time"] / b2["sim_time"], "{:.3f}") if b2 else "—"
            rn = _f(s["sim_time"] / ne["sim_time"], "{:.4f}") if ne else "—"
            L.append(f"| {eng} | {n} | {s['sim_time']:.4f} | {bc} | {s['mean_rate']:.2f} | "
                     f"{s['neuron_updates_per_s']:.3g} | {s['peak_rss_mb']:.0f} | {rb} | {rn} |")
    L.append("")
    L.append("Ratios of spikerate sim time to the peer's (ratio of medians; in brackets the median of the "
             "per-repetition ratios, which pairs runs made next to each other):")
    L.append("")
    L.append("| N | f64 / Brian2 standalone | f32 / Brian2 standalone | f64 / NEST | f32 / NEST |")
    L.append("|---:|---:|---:|---:|---:|")
    for n in ns:
        cells = []
        for eng, peer in (("spikerate_float64", "brian2_standalone"), ("spikerate_float32", "brian2_standalone"),
                          ("spikerate_float64", "nest"), ("spikerate_float32", "nest")):
            r = R.get(f"{eng}/{peer}@{n}")
            cells.append("—" if r is None else f"{r['ratio_of_medians']:.3f} ({_f(r['median_paired_ratio'], '{:.3f}')})")
        L.append(f"| {n} | " + " | ".join(cells) + " |")
    L.append("")
    for peer, name in (("brian2_standalone", "Brian2 cpp_standalone"), ("nest", "NEST")):
        t = T[peer]
        per = ", ".join(f"N={n}: {_f(v and v['ratio'], '{:.3f}')} {'met' if v and v['met'] else 'NOT met'}"
                        for n, v in t["per_n"].items())
        fails = [str(n) for n, v in t["per_n"].items() if not (v and v["met"])]
        verdict = "MET at every N" if t["met_at_every_n"] else f"NOT MET (fails at N = {', '.join(fails)})"
        L.append(f"- Target float64 sim time ≤ {t['limit']} × {name}: {verdict}; ratios {per}")
    sr = [(n, S.get(f"spikerate_{d}@{n}"), d) for n in ns for d in ("float64", "float32")]
    sr = [x for x in sr if x[1]]
    if sr:
        L.append("")
        L.append("spikerate details (medians): " + "; ".join(
            f"N={n} {d}: {s['n_spikes']:.0f} spikes, {_f(s['bytes_per_spike'], '{:.1f}')} B/spike in the Dataset"
            for n, s, d in sr))
    cli = result.get("cli")
    if cli:
        L.append("")
        L.append(f"`spikerate run cuba` (N=4000, whole process, measured from outside): second and later runs "
                 f"(warm numba cache) median wall {_f(cli['median_wall'], '{:.2f}')} s over {len(cli['runs'])} runs "
                 f"(compile_time in the file {_f(cli['median_compile_time'], '{:.3f}')} s); "
                 f"first run with a cold cache: wall {_f(cli['cold_cache'].get('wall'), '{:.2f}')} s, "
                 f"compile_time {_f(cli['cold_cache'].get('compile_time'), '{:.2f}')} s.")
    errs = [r for r in result["runs"] if "error" in r]
    if errs or result["skipped"]:
        L.append("")
        for k, v in result["skipped"].items():
            L.append(f"- skipped {k}: {v}")
        for r in errs:
            L.append(f"- FAILED {r.get('engine')} N={r.get('n')} seed={r.get('seed')}: {r['error']}")
    return "\n".join(L)


# ------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[4000, 16000, 64000], help="network sizes")
    ap.add_argument("--reps", type=int, default=3, help="repetitions per engine and N (seeds 1..reps)")
    ap.add_argument("--engines", default=",".join(ALL_ENGINES),
                    help=f"comma-separated subset of {','.join(ALL_ENGINES)}")
    ap.add_argument("--dtypes", default="float64,float32", help="spikerate dtypes")
    ap.add_argument("--out", default="benchmarks/results/cuba.json", help="JSON file for all raw results")
    ap.add_argument("--md", default=None, help="Markdown summary file (default: --out with .md)")
    ap.add_argument("--peers-python", default="/work/peers-venv/bin/python")
    ap.add_argument("--runtime-limit", type=float, default=150.0,
                    help="skip Brian2 runtime at an N when a run there takes (or, extrapolated linearly in N "
                         "from the previous N, would take) longer than this many seconds")
    ap.add_argument("--timeout", type=float, default=1800.0, help="timeout of any single run [s]")
    ap.add_argument("--cli-reps", type=int, default=3, help="warm `spikerate run cuba` runs (0: skip)")
    ap.add_argument("--worker", choices=["spikerate"], help=argparse.SUPPRESS)
    ap.add_argument("--dtype", default="float64", help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        res = worker_spikerate(args.n[0], args.dtype, args.seed)
        print(json.dumps(res), flush=True)
        return 0

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    bad = [e for e in engines if e not in ALL_ENGINES]
    if bad:
        ap.error(f"unknown engine(s) {bad}; choose from {ALL_ENGINES}")
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    rows = []
    for e in engines:
        rows += [f"spikerate_{d}" for d in dtypes] if e == "spikerate" else [e]
    out = Path(args.out)
    if not out.is_absolute():
        out = Path.cwd() / out
    out.parent.mkdir(parents=True, exist_ok=True)
    md_path = Path(args.md) if args.md else out.with_suffix(".md")

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    info = machine_info(args.peers_python)
    log(f"machine: {info.get('cpu')}, nproc {info.get('nproc')}, brian2 {info.get('brian2')}, "
        f"nest {info.get('nest')}, numba {info.get('numba')}")
    result = {"config": {"n": args.n, "p": {n: p_of(n) for n in args.n}, "reps": args.reps, "engines": engines,
                         "engine_rows": rows, "dtypes": dtypes, "t_stop": T_STOP, "dt": DT,
                         "runtime_limit": args.runtime_limit, "argv": sys.argv},
              "machine": info, "warmup": [], "runs": [], "skipped": {}}

    def save():
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=1, default=str))
        tmp.replace(out)

    # make sure the numba cache is filled, so compile_time in the measured runs is cache loading
    if "spikerate" in engines:
        for d in dtypes:
            w = run_spikerate(4000, d, 0, args.timeout)
            result["warmup"].append(w)
            log(f"warm-up spikerate {d}: compile {w.get('compile_time', w.get('error'))}")

    t_start = time.perf_counter()
    runtime_wall: dict[int, float] = {}
    for n in args.n:
        # Brian2 runtime: predict from the previous N whether a run fits in the limit
        if "brian2_runtime" in engines and runtime_wall:
            n_prev = max(runtime_wall)
            est = runtime_wall[n_prev] * n / n_prev
            if est > args.runtime_limit:
                result["skipped"][f"brian2_runtime@{n}"] = (
                    f"estimated {est:.0f} s per run (from {runtime_wall[n_prev]:.0f} s at N={n_prev}) "
                    f"> limit {args.runtime_limit:.0f} s")
        for rep in range(1, args.reps + 1):
            seed = rep
            for eng in rows:
                if f"{eng}@{n}" in result["skipped"]:
                    continue
                log(f"N={n} rep {rep} {eng} ...")
                if eng.startswith("spikerate_"):
                    res = run_spikerate(n, eng.split("_", 1)[1], seed, args.timeout)
                elif eng == "brian2_standalone":
                    res = run_brian2(n, seed, "standalone", args.peers_python, args.timeout)
                elif eng == "brian2_runtime":
                    res = run_brian2(n, seed, "runtime", args.peers_python,
                                     min(args.timeout, max(args.runtime_limit, 1.0)))
                else:
                    res = run_nest(n, seed, args.peers_python, args.timeout)
                res.update(engine=eng, n=n, seed=seed, rep=rep)
                result["runs"].append(res)
                if "error" in res:
                    log(f"  FAILED: {res['error']}\n{res.get('stderr_tail', '')[-800:]}")
                    if eng == "brian2_runtime" and res.get("timeout"):
                        result["skipped"][f"{eng}@{n}"] = (f"a run took over {args.runtime_limit:.0f} s "
                                                          f"(timed out); remaining repetitions skipped")
                else:
                    log(f"  sim {res['sim_time']:.4f} s, build {res['build_time']:.3f} s, "
                        f"rate {res['mean_rate']:.2f} Hz, RSS {res['peak_rss_mb']:.0f} MB, "
                        f"process {res['process_wall']:.1f} s")
                    if eng == "brian2_runtime":
                        runtime_wall[n] = max(runtime_wall.get(n, 0.0), res["process_wall"])
                save()
    result["engines_wall"] = time.perf_counter() - t_start

    if args.cli_reps > 0:
        log("timing `spikerate run cuba` (warm, then cold numba cache) ...")
        result["cli"] = cli_timing(args.cli_reps)
        log(f"  warm median wall {result['cli']['median_wall']}, cold {result['cli']['cold_cache']}")

    info["loadavg_end"] = os.getloadavg()
    result.update(summarise(result["runs"], args.n, rows))
    result["markdown"] = markdown(result)
    save()
    md_path.write_text(result["markdown"] + "\n")
    print(result["markdown"])
    log(f"wrote {out} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
