#!/usr/bin/env python
"""Summary statistics of Brunel (2000) model-A spike trains.

For spike indices ``i`` (0-based, E neurons first: 0..n_e-1, then I) and spike
times ``t`` (in s), using only the spikes in [t_start, t_stop) (the initial
transient before t_start is discarded):

mean_rate  n_spikes / (n * (t_stop - t_start)), in Hz
rate_e     the same over the n_e excitatory neurons
rate_i     the same over the n - n_e inhibitory neurons
cv_isi     mean over neurons with >= 3 spikes in the window of
           std(ISI, ddof=0) / mean(ISI)
fano       spike counts per neuron in consecutive windows of length ``window``
           starting at t_start (only complete windows are used); for every
           neuron with at least one spike in them, var(counts, ddof=0) /
           mean(counts); the mean over those neurons

Only numpy is needed, so this runs in either the peers virtualenv or
spikerate's own environment::

    python brunel_stats.py a.npz b.npz          # files with arrays i, t
"""

import argparse
import os
import re

import numpy as np

# Spike times are multiples of dt computed in floating point (e.g. 2000 * 1e-4
# may come out as 0.19999999999999998).  Shifting by a tolerance far below dt
# puts a spike lying on a window boundary into the window that starts there.
_EPS = 1e-9  # s


def brunel_stats(i, t, n, n_e, t_start=0.2, t_stop=1.0, window=0.05):
    """Return dict(mean_rate, rate_e, rate_i, cv_isi, fano, n_spikes).

    i : spike indices (0..n-1, E neurons are 0..n_e-1), t : spike times in s.
    """
    i = np.asarray(i, dtype=np.int64)
    t = np.asarray(t, dtype=np.float64)
    duration = t_stop - t_start
    if duration <= 0:
        raise ValueError("t_stop must be larger than t_start")
    keep = (t + _EPS >= t_start) & (t + _EPS < t_stop)  # spikes in [t_start, t_stop)
    i, t = i[keep], t[keep]
    if i.size and (i.min() < 0 or i.max() >= n):
        raise ValueError("spike index out of range 0..n-1")

    n_spikes = int(i.size)
    n_i = n - n_e
    n_spk_e = int(np.count_nonzero(i < n_e))
    mean_rate = n_spikes / (n * duration)
    rate_e = n_spk_e / (n_e * duration) if n_e > 0 else float("nan")
    rate_i = (n_spikes - n_spk_e) / (n_i * duration) if n_i > 0 else float("nan")

    # CV of the inter-spike intervals, per neuron, neurons with >= 3 spikes.
    order = np.lexsort((t, i))  # group by neuron, time-ordered within
    i_s, t_s = i[order], t[order]
    cvs = []
    bounds = np.flatnonzero(np.diff(i_s)) + 1
    for ts in np.split(t_s, bounds):
        if ts.size >= 3:
            isi = np.diff(ts)
            cvs.append(isi.std() / isi.mean())
    cv_isi = float(np.mean(cvs)) if cvs else float("nan")

    # Fano factor of the spike counts in complete windows of length `window`.
    n_windows = int(np.floor(duration / window + 1e-9))
    fano = float("nan")
    if n_windows >= 1:
        win = np.floor((t - t_start + _EPS) / window).astype(np.int64)
        ok = (win >= 0) & (win < n_windows)
        counts = np.zeros((n, n_windows), dtype=np.int64)
        np.add.at(counts, (i[ok], win[ok]), 1)
        mean_c = counts.mean(axis=1)
        active = mean_c > 0
        if active.any():
            fano = float(np.mean(counts[active].var(axis=1) / mean_c[active]))

    return {"mean_rate": mean_rate, "rate_e": rate_e, "rate_i": rate_i,
            "cv_isi": cv_isi, "fano": fano, "n_spikes": n_spikes}


def _label(path):
    m = re.search(r"seed(\d+)", os.path.basename(path))
    return m.group(1) if m else os.path.basename(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", help="npz files with arrays i, t")
    ap.add_argument("--n", type=int, default=12500, help="number of neurons")
    ap.add_argument("--n-e", type=int, default=None, help="excitatory neurons (default 0.8 n)")
    ap.add_argument("--t-start", type=float, default=0.2, help="start of the analysis window (s)")
    ap.add_argument("--t-stop", type=float, default=1.0, help="end of the analysis window (s)")
    ap.add_argument("--window", type=float, default=0.05, help="Fano counting window (s)")
    args = ap.parse_args(argv)
    n_e = args.n_e if args.n_e is not None else int(round(0.8 * args.n))

    keys = ("mean_rate", "rate_e", "rate_i", "cv_isi", "fano")
    rows = []
    print(f"{'seed':>6} {'n_spikes':>9} " + " ".join(f"{k:>10}" for k in keys))
    for path in args.files:
        with np.load(path) as d:
            s = brunel_stats(d["i"], d["t"], args.n, n_e, args.t_start, args.t_stop, args.window)
        rows.append([s[k] for k in keys])
        print(f"{_label(path):>6} {s['n_spikes']:>9d} " + " ".join(f"{s[k]:>10.4f}" for k in keys))
    a = np.array(rows)
    mean = a.mean(axis=0)
    std = a.std(axis=0, ddof=1) if len(rows) > 1 else np.full(len(keys), np.nan)
    print(f"{'mean':>6} {'':>9} " + " ".join(f"{v:>10.4f}" for v in mean))
    print(f"{'std':>6} {'':>9} " + " ".join(f"{v:>10.4f}" for v in std))


if __name__ == "__main__":
    main()
