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
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brunel_stats import brunel_stats  # noqa: E402

DEFAULT_FILES = [f"/work/peers-data/brian2_cuba_seed{s}.npz" for s in range(1, 6)]



def cuba_stats(i, t, n, t_stop=1.0, n_windows=10):
    """Return dict(mean_rate, cv_isi, fano, n_spikes) for one spike train.

    i : spike indices (0..n-1), t : spike times in seconds.  The definitions are those of
    brunel_stats (module docstring there) over [0, t_stop) with n_windows equal windows.
    """
    s = brunel_stats(i, t, n, n, t_start=0.0, t_stop=t_stop, window=t_stop / n_windows)
    return {k: s[k] for k in ("mean_rate", "cv_isi", "fano", "n_spikes")}


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
