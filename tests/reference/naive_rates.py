"""Pure-NumPy twins of the estimator kernels (spikerate/estimators/_kernels.py).

Written from the textbook formulas in time units (tau, half-widths in s), not from the kernels:
dense (spikes x samples) evaluation, no recurrences, no truncation tricks beyond the stated
support; statistics by direct loops over trains.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

SQ2 = math.sqrt(2.0)


def kernel(name: str, x: np.ndarray, sigma: float, cutoff: float | None) -> np.ndarray:
    """Kernel density [1/s] at lags x [s]; unbounded kernels truncated at cutoff * sigma."""
    x = np.asarray(x, float)
    if name == "rectangular":
        a = math.sqrt(3) * sigma
        return np.where(np.abs(x) <= a, 1 / (2 * a), 0.0)
    if name == "triangular":
        a = math.sqrt(6) * sigma
        return np.where(np.abs(x) <= a, (a - np.abs(x)) / a**2, 0.0)
    if name == "epanechnikov":
        a = math.sqrt(5) * sigma
        return np.where(np.abs(x) <= a, 3 / (4 * a) * (1 - (x / a) ** 2), 0.0)
    c = cutoff * sigma
    if name == "gaussian":
        return np.where(np.abs(x) <= c, np.exp(-x**2 / (2 * sigma**2)) / (math.sqrt(2 * math.pi) * sigma), 0.0)
    if name == "laplacian":
        tau = sigma / SQ2
        return np.where(np.abs(x) <= c, np.exp(-np.abs(x) / tau) / (2 * tau), 0.0)
    if name == "exponential":
        tau = sigma
        return np.where((x >= 0) & (x <= c), np.exp(-np.maximum(x, 0) / tau) / tau, 0.0)
    if name == "alpha":
        tau = sigma / SQ2
        return np.where((x >= 0) & (x <= c), x / tau**2 * np.exp(-np.maximum(x, 0) / tau), 0.0)
    raise ValueError(name)


def mass_inside(name: str, ts: np.ndarray, sigma: float, cutoff: float | None, duration: float) -> np.ndarray:
    """Mass in [0, duration] of the (truncated) kernel of spikes at ts."""
    def cdf(x):  # CDF of the untruncated kernel at lag x [s]
        if name == "gaussian":
            return ndtr(x / sigma)
        if name == "rectangular":
            a = math.sqrt(3) * sigma
            return np.clip((x + a) / (2 * a), 0, 1)
        if name == "triangular":
            a = math.sqrt(6) * sigma
            xc = np.clip(x, -a, a)
            return np.where(xc <= 0, (xc + a) ** 2 / (2 * a * a), 1 - (a - xc) ** 2 / (2 * a * a))
        if name == "epanechnikov":
            a = math.sqrt(5) * sigma
            z = np.clip(x / a, -1, 1)
            return 0.5 + 0.75 * (z - z**3 / 3)
        if name == "laplacian":
            tau = sigma / SQ2
            return np.where(x < 0, 0.5 * np.exp(np.minimum(x, 0) / tau), 1 - 0.5 * np.exp(-np.maximum(x, 0) / tau))
        if name == "exponential":
            return np.where(x <= 0, 0.0, 1 - np.exp(-np.maximum(x, 0) / sigma))
        tau = sigma / SQ2
        v = np.maximum(x, 0) / tau
        return np.where(x <= 0, 0.0, 1 - (1 + v) * np.exp(-v))

    bounded = {"rectangular": math.sqrt(3), "triangular": math.sqrt(6), "epanechnikov": math.sqrt(5)}
    if name in bounded:
        lo, hi = -bounded[name] * sigma, bounded[name] * sigma
    else:
        lo, hi = (0.0 if name in ("exponential", "alpha") else -cutoff * sigma), cutoff * sigma
    a = np.maximum(-ts, lo)
    b = np.minimum(duration - ts, hi)
    return np.where(b > a, cdf(b) - cdf(a), 0.0)


def kernel_rate(times, rows, n_rows, row_scale, name, sigma, cutoff, dt, duration, border):
    """(n_rows, K) rates: every spike's kernel on t_k = k dt, dense."""
    n_out = int(math.floor(duration / dt + 1e-9)) + 1
    t = np.arange(n_out) * dt
    out = np.zeros((n_rows, n_out))
    if len(times) == 0:
        return out
    w = row_scale[rows]
    # a spike within 2 ulp of an output time t_g counts as at t_g (the kernel's convention)
    g = np.round(times / dt)
    at = np.where(np.abs(g * dt - times) <= 4.5e-16 * times, g * dt, times)
    if border:
        m = mass_inside(name, times, sigma, cutoff, duration)
        w = np.where(m > 0, w / np.where(m > 0, m, 1.0), 0.0)
    vals = kernel(name, t[None, :] - at[:, None], sigma, cutoff) * w[:, None]
    np.add.at(out, rows, vals)
    return out


def exponential_filter(times, duration, dt, tau):
    """r_{n+1} = r_n e^{-dt/tau} + (spikes in (t_n, t_{n+1}]) / tau on t_n = n dt; r_0 counts spikes at 0."""
    n_out = int(math.floor(duration / dt + 1e-9)) + 1
    steps = np.rint(np.asarray(times) / dt).astype(int)
    inc = np.bincount(steps, minlength=n_out)[:n_out] / tau
    r = np.zeros(n_out)
    e = math.exp(-dt / tau)
    acc = 0.0
    for n in range(n_out):
        acc = acc * e + inc[n]
        r[n] = acc
    return r


def histogram(times, neuron, n_neurons, edges):
    """(n_neurons, n_bins) counts with bins [e_j, e_{j+1}), the last closed."""
    n_b = len(edges) - 1
    out = np.zeros((n_neurons, n_b), int)
    for t, i in zip(times, neuron):
        for j in range(n_b):
            if edges[j] <= t < edges[j + 1] or (j == n_b - 1 and t == edges[-1]):
                out[i, j] += 1
                break
    return out


def isi_stats(trains_per_trial):
    """(mean, cv, cv2, lv) of one neuron from its trains (list of sorted arrays, one per trial)."""
    isis = [np.diff(np.asarray(t, float)) for t in trains_per_trial]
    allisi = np.concatenate(isis) if isis else np.zeros(0)
    mean = allisi.mean() if allisi.size else np.nan
    cv = allisi.std() / allisi.mean() if allisi.size >= 2 and allisi.mean() > 0 else np.nan
    c2, lv = [], []
    for d in isis:
        for a, b in zip(d[:-1], d[1:]):
            if a + b <= 0:
                continue
            c2.append(2 * abs(b - a) / (a + b))
            lv.append(3 * ((a - b) / (a + b)) ** 2)
    return mean, cv, (np.mean(c2) if c2 else np.nan), (np.mean(lv) if lv else np.nan)


def bin_cost(times, widths, duration, n_seq, n_shifts=1):
    """Shimazaki-Shinomoto (2007) cost per width with np.histogram on explicit edges."""
    out = []
    for d in widths:
        nb = max(1, int(round(duration / d)))
        cs = []
        for s in range(n_shifts):
            edges = s * d / n_shifts + np.arange(nb + 1) * d
            k, _ = np.histogram(times, edges)
            cs.append((2 * k.mean() - k.var()) / (n_seq * d) ** 2)
        out.append(np.mean(cs))
    return np.array(out)


def kernel_cost_pairs(times, widths, n_seq):
    """Shimazaki-Shinomoto (2010) Gaussian L2 cost from all pairs, brute force."""
    t = np.asarray(times, float)
    d = t[:, None] - t[None, :]
    off = ~np.eye(t.size, dtype=bool)
    out = []
    for w in widths:
        g2 = np.exp(-d**2 / (4 * w * w)) / (2 * math.sqrt(math.pi) * w)
        g1 = np.exp(-d**2 / (2 * w * w)) / (math.sqrt(2 * math.pi) * w)
        out.append((g2.sum() - 2 * g1[off].sum()) / n_seq**2)
    return np.array(out)
