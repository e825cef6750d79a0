"""Summary statistics of spike trains, as the peers' reference numbers define them
(benchmarks/peers/cuba_stats.py and brunel_stats.py): numpy only, independent of spikerate."""

import numpy as np


def train_statistics(i, t, n, *, t_start=0.0, t_stop=1.0, window=0.1):
    """(mean rate Hz, mean ISI CV over neurons with >= 3 spikes, mean Fano factor of the counts
    in complete windows of ``window`` s over neurons that fired), from spikes in [t_start, t_stop)."""
    i = np.asarray(i, np.int64)
    t = np.asarray(t, float)
    keep = (t + 1e-9 >= t_start) & (t + 1e-9 < t_stop)
    i, t = i[keep], t[keep]
    rate = i.size / (n * (t_stop - t_start))
    order = np.lexsort((t, i))
    i_s, t_s = i[order], t[order]
    cvs = [np.diff(ts).std() / np.diff(ts).mean()
           for ts in np.split(t_s, np.flatnonzero(np.diff(i_s)) + 1) if ts.size >= 3]
    n_windows = int(np.floor((t_stop - t_start) / window + 1e-9))
    win = np.floor((t - t_start + 1e-9) / window).astype(np.int64)
    ok = win < n_windows
    counts = np.zeros((n, n_windows))
    np.add.at(counts, (i[ok], win[ok]), 1)
    m = counts.mean(axis=1)
    fano = (counts[m > 0].var(axis=1) / m[m > 0]).mean()
    return rate, float(np.mean(cvs)), float(fano)
