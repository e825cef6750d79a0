#!/usr/bin/env python
"""Summary statistics of CUBA spike trains (reference values for spikerate).

For each .npz file holding spike indices ``i`` and spike times ``t`` (in s),
computed from the spikes in [0, t_stop):

mean_rate  n_spikes / (N * t_stop), in Hz
cv_isi     mean over neurons with >= 3 spikes of std(ISI, ddof=0) / mean(ISI)
fano       spike counts per neuron in n_windows equal windows
           [0, w), [w, 2w), ..., with w = t_stop / n_windows; for every
           neuron whose mean count is > 0, var(counts, ddof=0) / mean(counts);
           the mean over those neurons

A table with one row per file is printed, followed by the mean and the sample
standard deviation (ddof=1) across files.  Only numpy is needed, so this runs
in either the peers virtualenv or spikerate's own environment::

    python cuba_stats.py                       # the five Brian2 reference files
    python cuba_stats.py --n 4000 a.npz b.npz  # any other spike files
"""

import argparse
import os
import re

import numpy as np

DEFAULT_FILES = [f"/work/peers-data/brian2_cuba_seed{s}.npz" for s in range(1, 6)]

# Spike times are multiples of dt computed in floating point (e.g. 3000 * 1e-4
# may come out as 0.30000000000000004 or 0.29999999999999999).  Shifting by a
# tolerance far below dt puts a spike lying on a window boundary into the
# window that starts there, as intended by the half-open intervals.
_EPS = 1e-9  # s


def cuba_stats(i, t, n, t_stop=1.0, n_windows=10):
    """Return dict(mean_rate, cv_isi, fano, n_spikes) for one spike train.

    i : spike indices (0..n-1), t : spike times in seconds.
    """
    i = np.asarray(i, dtype=np.int64)
    t = np.asarray(t, dtype=np.float64)
    width = t_stop / n_windows
    win = np.floor((t + _EPS) / width).astype(np.int64)
    keep = (win >= 0) & (win < n_windows)  # spikes in [0, t_stop)
    i, t, win = i[keep], t[keep], win[keep]

    n_spikes = int(i.size)
    mean_rate = n_spikes / (n * t_stop)

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

    # Fano factor of the spike counts in n_windows windows.
    counts = np.zeros((n, n_windows), dtype=np.int64)
    np.add.at(counts, (i, win), 1)
    mean_c = counts.mean(axis=1)
    active = mean_c > 0
    fano = (float(np.mean(counts[active].var(axis=1) / mean_c[active]))
            if active.any() else float("nan"))

    return {"mean_rate": mean_rate, "cv_isi": cv_isi, "fano": fano,
            "n_spikes": n_spikes}


def _label(path):
    m = re.search(r"seed(\d+)", os.path.basename(path))
    return m.group(1) if m else os.path.basename(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", default=DEFAULT_FILES,
                    help="npz files with arrays i, t (default: Brian2 seeds 1-5)")
    ap.add_argument("--n", type=int, default=4000, help="number of neurons")
    ap.add_argument("--t-stop", type=float, default=1.0, help="analysis window (s)")
    ap.add_argument("--n-windows", type=int, default=10, help="windows for the Fano factor")
    args = ap.parse_args(argv)

    keys = ("mean_rate", "cv_isi", "fano")
    rows = []
    print(f"{'seed':>6} {'n_spikes':>9} {'mean_rate':>10} {'cv_isi':>8} {'fano':>8}")
    for path in args.files:
        with np.load(path) as d:
            s = cuba_stats(d["i"], d["t"], args.n, args.t_stop, args.n_windows)
        rows.append([s[k] for k in keys])
        print(f"{_label(path):>6} {s['n_spikes']:>9d} {s['mean_rate']:>10.4f} "
              f"{s['cv_isi']:>8.4f} {s['fano']:>8.4f}")

    a = np.array(rows)
    mean = a.mean(axis=0)
    std = a.std(axis=0, ddof=1) if len(rows) > 1 else np.full(len(keys), np.nan)
    print(f"{'mean':>6} {'':>9} {mean[0]:>10.4f} {mean[1]:>8.4f} {mean[2]:>8.4f}")
    print(f"{'std':>6} {'':>9} {std[0]:>10.4f} {std[1]:>8.4f} {std[2]:>8.4f}")


if __name__ == "__main__":
    main()
