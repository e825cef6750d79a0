#!/usr/bin/env python
"""Rate estimation and spike statistics: spikerate vs Elephant on the same spike trains.

1000 Poisson trains x 10 s at 10 Hz, spike times on the 1 ms output grid (``m * 1e-3``), saved
to one .npz; spikerate runs in this (system) python, Elephant in the peers virtualenv
(``--peers-python``, default /work/peers-venv/bin/python) via ``--worker elephant``.
Elephant is never a spikerate dependency.  Each measurement is the median of ``--reps`` (5)
calls after one warm-up call; Elephant's conversion to neo objects is timed separately and
excluded from the ratios.  Run from the repository root::

    PYTHONPATH=. python benchmarks/rates.py            # full benchmark, writes benchmarks/results/rates.{json,md}
    PYTHONPATH=. python benchmarks/rates.py --n 100    # quick check

What is compared (and where the definitions agree):

* instantaneous rate, Gaussian sigma = 50 ms, output every 1 ms, cutoff 5 sigma, no border
  correction: Elephant bins the spikes into 1 ms bins (left edges) and convolves the counts
  with the kernel sampled on the same grid; spikerate evaluates the kernel at the exact spike
  times.  For spike times on the grid the two are the same sum, so they agree to round-off
  (Elephant's FFT) at the 10000 common samples ``t = k ms``, k < 10000 (spikerate also returns
  ``t = 10 s``).  For off-grid times Elephant moves each spike to the left edge of its bin.
* time histogram, 10 ms bins, pooled rate (``output='rate'``): same bins [k w, (k + 1) w).
* CV (ISI std / mean, ddof 0), CV2, LV per train: the same formulas.
* Fano factor: Elephant's ``fanofactor`` takes one count per train; spikerate's is per neuron
  over windows.  We feed Elephant each neuron's 100 ms windows [k W, (k + 1) W) (sliced
  beforehand with neo's ``time_slice``, which is closed at both ends, hence the stop at
  the float just below ``(k + 1) W``; excluded from the timing as conversion); Elephant's variance has ddof 0, spikerate's ddof 1, so the
  comparison multiplies Elephant's by n / (n - 1).
"""

from __future__ import annotations

import argparse
import json
import statistics as _stats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SIGMA = 0.05
DT = 1e-3
BIN = 0.01
FANO_WINDOW = 0.1
DURATION = 10.0
RATE = 10.0
TARGET_RATE = 20.0   # spikerate >= 20x faster than Elephant for instantaneous rates
TARGET_STATS = 10.0  # >= 10x for the statistics


def make_spikes(n: int, seed: int):
    rng = np.random.default_rng(seed)
    n_grid = int(round(DURATION / DT))
    counts = rng.poisson(RATE * DURATION, n)
    steps = np.concatenate([np.sort(rng.choice(n_grid, c, replace=False)) for c in counts])
    neuron = np.repeat(np.arange(n), counts)
    return steps * DT, neuron.astype(np.int64)


def median_time(fn, reps):
    """Median wall time of ``reps`` calls after a warm-up call; the previous result is dropped
    before each call (for both engines): a large result kept alive makes the next 80 MB
    allocation wait for transparent-huge-page compaction on this kernel (~100 ms stalls that
    have nothing to do with either library)."""
    out = fn()  # warm-up (compilation, caches)
    ts = []
    for _ in range(reps):
        out = None
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return _stats.median(ts), out


# ------------------------------------------------------------------------------ workers


def worker_elephant(path: str, reps: int, out_path: str) -> dict:
    import quantities as pq
    import neo
    import elephant
    from elephant import kernels, statistics as es

    d = np.load(path)
    times, neuron, n = d["times"], d["neuron"], int(d["n"])
    t0 = time.perf_counter()
    order = np.argsort(neuron, kind="stable")
    bounds = np.searchsorted(neuron[order], np.arange(n + 1))
    trains = [neo.SpikeTrain(times[order[bounds[i]:bounds[i + 1]]], t_start=0.0, t_stop=DURATION, units="s")
              for i in range(n)]
    t_convert = time.perf_counter() - t0
    res = {"engine": f"elephant {elephant.__version__}", "convert_time": t_convert}

    kern = kernels.GaussianKernel(sigma=SIGMA * pq.s)
    res["rate_time"], rate = median_time(lambda: es.instantaneous_rate(
        trains, sampling_period=DT * pq.s, kernel=kern, cutoff=5.0, border_correction=False), reps)
    res["hist_time"], hist = median_time(lambda: es.time_histogram(trains, bin_size=BIN * pq.s, output="rate"), reps)
    isis = None

    def cvs():
        nonlocal isis
        isis = [es.isi(st.magnitude) for st in trains]
        return np.array([es.cv(v) if v.size >= 2 else np.nan for v in isis])
    res["cv_time"], cv = median_time(cvs, reps)
    res["cv2_time"], cv2 = median_time(lambda: np.array([es.cv2(v) if v.size >= 2 else np.nan for v in isis]), reps)
    res["lv_time"], lv = median_time(lambda: np.array([es.lv(v) if v.size >= 2 else np.nan for v in isis]), reps)
    t0 = time.perf_counter()
    n_win = int(round(DURATION / FANO_WINDOW))
    # half-open windows [k W, (k + 1) W) as spikerate's, edges k * W in floating point (neo's
    # time_slice is closed at both ends, which would count a spike on an edge twice)
    stops = np.nextafter(np.arange(1, n_win + 1) * FANO_WINDOW, 0.0)  # [k W, (k + 1) W): just below the edge
    windows = [[st.time_slice(k * FANO_WINDOW * pq.s, stops[k] * pq.s) for k in range(n_win)] for st in trains]
    res["fano_slice_time"] = time.perf_counter() - t0
    res["fano_time"], fano = median_time(lambda: np.array([es.fanofactor(w) for w in windows]), reps)
    res["stats_time"] = res["cv_time"] + res["cv2_time"] + res["lv_time"] + res["fano_time"]
    np.savez(out_path, rate=np.asarray(rate.magnitude), hist=np.asarray(hist.magnitude)[:, 0], cv=cv, cv2=cv2,
             lv=lv, fano=fano)
    return res


def run_spikerate(times, neuron, n, reps):
    from spikerate.estimators import estimate_rate, spike_statistics
    spikes = (times, neuron)
    kw = dict(duration=DURATION, n_neurons=n)
    res = {"engine": "spikerate"}
    t0 = time.perf_counter()
    estimate_rate(spikes, sigma=SIGMA, dt=DT, border="none", cutoff=5.0000001, **kw)  # first call: compile/cache
    res["first_call_time"] = time.perf_counter() - t0
    res["rate_time"], rate = median_time(
        lambda: estimate_rate(spikes, sigma=SIGMA, dt=DT, border="none", cutoff=5.0000001, **kw), reps)
    res["hist_time"], hist = median_time(
        lambda: estimate_rate(spikes, method="histogram", bin_width=BIN, by="all", **kw), reps)
    res["stats_time"], st = median_time(
        lambda: spike_statistics(spikes, fano_window=FANO_WINDOW, n_pairs=100, seed=0, **kw), reps)
    out = {"rate": rate.rate.values, "hist": hist.rate.values, "cv": st.isi_cv.values, "cv2": st.cv2.values,
           "lv": st.lv.values, "fano": st.fano.values}
    return res, out


def rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    both = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return float("inf")
    scale = np.max(np.abs(b[both])) if both.any() else 1.0
    return float(np.max(np.abs(a[both] - b[both])) / scale) if both.any() else 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--peers-python", default="/work/peers-venv/bin/python")
    ap.add_argument("--worker", choices=["elephant"])
    ap.add_argument("--data")
    ap.add_argument("--out")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args(argv)
    if a.worker == "elephant":
        print(json.dumps(worker_elephant(a.data, a.reps, a.out)))
        return 0

    times, neuron = make_spikes(a.n, a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        data, el_out = Path(tmp) / "spikes.npz", Path(tmp) / "elephant.npz"
        np.savez(data, times=times, neuron=neuron, n=a.n)
        proc = subprocess.run([a.peers_python, __file__, "--worker", "elephant", "--data", str(data),
                               "--reps", str(a.reps), "--out", str(el_out)], capture_output=True, text=True)
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            return 1
        el = json.loads(proc.stdout.strip().splitlines()[-1])
        ref = dict(np.load(el_out))
    sr, ours = run_spikerate(times, neuron, a.n, a.reps)
    n_el = ref["rate"].shape[0]
    fano_fix = (100 - 1) / 100  # Elephant ddof 0 -> ddof 1: var_1 = var_0 * n / (n - 1)
    agree = {
        "rate": rel_err(ours["rate"][:n_el], ref["rate"]),
        "hist": rel_err(ours["hist"], ref["hist"]),
        "cv": rel_err(ours["cv"], ref["cv"]),
        "cv2": rel_err(ours["cv2"], ref["cv2"]),
        "lv": rel_err(ours["lv"], ref["lv"]),
        "fano": rel_err(ours["fano"] * fano_fix, ref["fano"]),
    }
    result = {"n_trains": a.n, "duration": DURATION, "rate_hz": RATE, "n_spikes": int(times.size), "reps": a.reps,
              "spikerate": sr, "elephant": el, "max_rel_diff": agree,
              "speedup": {"instantaneous_rate": el["rate_time"] / sr["rate_time"],
                          "time_histogram": el["hist_time"] / sr["hist_time"],
                          "statistics": el["stats_time"] / sr["stats_time"],
                          "statistics_without_fano": (el["cv_time"] + el["cv2_time"] + el["lv_time"])
                          / sr["stats_time"]}}
    lines = [f"# rates benchmark: {a.n} trains x {DURATION:g} s at {RATE:g} Hz ({times.size} spikes), "
             f"median of {a.reps}", "",
             "| task | spikerate (s) | Elephant (s) | speed-up | max rel. diff |", "| --- | --- | --- | --- | --- |",
             f"| instantaneous rate, Gaussian 50 ms, 1 ms grid | {sr['rate_time']:.4f} | {el['rate_time']:.4f} | "
             f"{result['speedup']['instantaneous_rate']:.1f}x | {agree['rate']:.1e} |",
             f"| time histogram 10 ms, pooled | {sr['hist_time']:.4f} | {el['hist_time']:.4f} | "
             f"{result['speedup']['time_histogram']:.1f}x | {agree['hist']:.1e} |",
             f"| statistics (spikerate: all of spike_statistics; Elephant: cv + cv2 + lv + fanofactor) | "
             f"{sr['stats_time']:.4f} | {el['stats_time']:.4f} | {result['speedup']['statistics']:.1f}x | "
             f"cv {agree['cv']:.1e}, cv2 {agree['cv2']:.1e}, lv {agree['lv']:.1e}, fano {agree['fano']:.1e} |",
             f"| statistics without the Fano factor (Elephant: cv + cv2 + lv; spikerate: all of "
             f"spike_statistics) | {sr['stats_time']:.4f} | {el['cv_time'] + el['cv2_time'] + el['lv_time']:.4f} | "
             f"{result['speedup']['statistics_without_fano']:.1f}x | |",
             "",
             f"Targets: instantaneous rate >= {TARGET_RATE:g}x, statistics >= {TARGET_STATS:g}x.",
             "",
             f"Elephant per statistic: cv {el['cv_time']:.4f} s, cv2 {el['cv2_time']:.4f} s, lv {el['lv_time']:.4f} s, "
             f"fanofactor {el['fano_time']:.4f} s.  Excluded: neo conversion {el['convert_time']:.3f} s, "
             f"window slicing for the Fano factor {el['fano_slice_time']:.3f} s.  spikerate first call "
             f"(cache load) {sr['first_call_time']:.3f} s."]
    text = "\n".join(lines)
    print(text)
    if not a.no_write:
        out_dir = REPO / "benchmarks" / "results"
        out_dir.mkdir(exist_ok=True)
        (out_dir / "rates.json").write_text(json.dumps(result, indent=2) + "\n")
        (out_dir / "rates.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
