"""Numba kernels of the rate estimators and spike statistics (plain arrays in, plain arrays out).

Nothing here validates, warns or prints: ``rates.py``, ``bandwidth.py`` and ``statistics.py``
check everything and prepare the arguments.  Every kernel has a pure-NumPy twin in
``tests/reference/naive_rates.py``.

Kernels are evaluated in units of their standard deviation: ``u = (t - t_s) / sigma``, density
``pdf(u) / sigma``.  Codes (``kernels.KERNEL_CODES``):

====  ============  =========================================  ==============
code  name          pdf(u) on its support                       support (u)
====  ============  =========================================  ==============
0     rectangular   1 / (2 a),                 a = sqrt(3)      [-a, a]
1     triangular    (a - |u|) / a^2,           a = sqrt(6)      [-a, a]
2     epanechnikov  3 / (4 a) (1 - u^2 / a^2), a = sqrt(5)      [-a, a]
3     gaussian      exp(-u^2 / 2) / sqrt(2 pi)                  [-c, c]
4     laplacian     exp(-|u| / b) / (2 b),     b = 1 / sqrt(2)  [-c, c]
5     exponential   exp(-u)  (causal, tau = sigma)              [0, c]
6     alpha         u / b^2 exp(-u / b),       b = 1 / sqrt(2)  [0, c]
====  ============  =========================================  ==============

(``c`` is the cutoff of an unbounded kernel, in units of sigma.)  The pdf is 0 outside the
support, so callers may over-cover the support with sample indices.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

RECTANGULAR, TRIANGULAR, EPANECHNIKOV, GAUSSIAN, LAPLACIAN, EXPONENTIAL, ALPHA = range(7)

_SQRT3 = math.sqrt(3.0)
_SQRT5 = math.sqrt(5.0)
_SQRT6 = math.sqrt(6.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
_B = 1.0 / math.sqrt(2.0)  # scale of the laplacian and alpha kernels in units of sigma


@njit(cache=True)
def _pdf(code, u, lo, hi):
    """Kernel density at ``u`` (units of sigma; multiply by 1/sigma for 1/s); 0 outside [lo, hi]."""
    if u < lo or u > hi:
        return 0.0
    if code == GAUSSIAN:
        return _INV_SQRT2PI * math.exp(-0.5 * u * u)
    if code == RECTANGULAR:
        return 0.5 / _SQRT3
    if code == TRIANGULAR:
        return (_SQRT6 - abs(u)) / 6.0
    if code == EPANECHNIKOV:
        return 0.75 / _SQRT5 * (1.0 - u * u / 5.0)
    if code == LAPLACIAN:
        return math.exp(-abs(u) / _B) / (2.0 * _B)
    if code == EXPONENTIAL:
        return math.exp(-u)
    # ALPHA
    return u / (_B * _B) * math.exp(-u / _B)


@njit(cache=True)
def _pdf_array(code, u, lo, hi, out):
    """``out[i] = _pdf(code, u[i], lo, hi)``."""
    for i in range(u.shape[0]):
        out[i] = _pdf(code, u[i], lo, hi)


@njit(cache=True)
def _cdf(code, u):
    """Cumulative distribution of the untruncated kernel at ``u`` (units of sigma)."""
    if code == GAUSSIAN:
        return 0.5 * math.erfc(-u / math.sqrt(2.0))
    if code == RECTANGULAR:
        if u <= -_SQRT3:
            return 0.0
        if u >= _SQRT3:
            return 1.0
        return (u + _SQRT3) / (2.0 * _SQRT3)
    if code == TRIANGULAR:
        a = _SQRT6
        if u <= -a:
            return 0.0
        if u >= a:
            return 1.0
        if u <= 0.0:
            return (u + a) * (u + a) / (2.0 * a * a)
        return 1.0 - (a - u) * (a - u) / (2.0 * a * a)
    if code == EPANECHNIKOV:
        a = _SQRT5
        if u <= -a:
            return 0.0
        if u >= a:
            return 1.0
        return 0.5 + 0.75 / a * (u - u * u * u / (3.0 * a * a))
    if code == LAPLACIAN:
        if u < 0.0:
            return 0.5 * math.exp(u / _B)
        return 1.0 - 0.5 * math.exp(-u / _B)
    if u <= 0.0:
        return 0.0
    if code == EXPONENTIAL:
        return -math.expm1(-u)
    # ALPHA
    v = u / _B
    return 1.0 - (1.0 + v) * math.exp(-v)


@njit(cache=True)
def _spike_mass(code, t_s, sigma, lo, hi, duration):
    """Mass of the (truncated) kernel of a spike at ``t_s`` that lies inside [0, duration]."""
    a = max(-t_s / sigma, lo)
    b = min((duration - t_s) / sigma, hi)
    if b <= a:
        return 0.0
    return _cdf(code, b) - _cdf(code, a)


@njit(cache=True, parallel=True)
def _kernel_rate(times, row_ptr, row_scale, code, sigma, lo, hi, dt, duration, border, out):
    """Add every spike's kernel into its output row, sampled at ``t_k = k dt``.

    times (S,) float [s], sorted by output row; row_ptr (R + 1,) int64: the spikes of row r are
    times[row_ptr[r]:row_ptr[r + 1]]; row_scale (R,) float factor of each row (1 / neurons
    pooled into it); lo, hi: support in units of sigma; border: renormalise each spike by its
    kernel mass inside [0, duration]; out (R, K) float, overwritten (np.empty is fine).
    Spikes whose mass inside is 0 are skipped.  The samples of a spike are those with
    lo <= u_k <= hi, u_k = (k dt - t_s) / sigma (the same expression as the twin's); for a
    spike on the output grid (t_s = g dt to 2 ulp) u_k is taken as (k - g) dt / sigma, from a
    table.  Rows are independent and run in parallel (each row by one thread, spikes in
    order, so the result does not depend on the number of threads).
    Work: O(S * (hi - lo) sigma / dt).
    """
    n_out = out.shape[1]
    # the kernel at the grid offsets j dt (j = jlo..jhi): spikes on the output grid add this
    # table (a vectorised loop) instead of evaluating the kernel; offsets beyond +-n_out reach
    # no output sample, so a kernel wider than the output gives a table of at most 2 n_out + 3
    jlo = _first_at_or_above(0.0, sigma, dt, lo, -n_out, n_out + 1)
    jhi = _first_at_or_above(0.0, sigma, dt, hi, -n_out, n_out + 1) - 1
    if ((jhi + 1) * dt) / sigma <= hi:
        jhi += 1
    table = np.empty(max(0, jhi - jlo + 1))
    for j in range(jlo, jhi + 1):
        table[j - jlo] = _pdf(code, (j * dt) / sigma, lo, hi)
    for r in prange(out.shape[0]):
        row = out[r]
        for k in range(n_out):  # zeroed here, by the thread that fills the row: fresh pages
            row[k] = 0.0        # fault in parallel and the row is in cache for the spikes
        w0 = row_scale[r] / sigma
        for s in range(row_ptr[r], row_ptr[r + 1]):
            _add_spike(row, times[s], w0, code, sigma, lo, hi, dt, duration, border, table, jlo, jhi, n_out)


@njit(cache=True)
def _add_spike(row, ts, w, code, sigma, lo, hi, dt, duration, border, table, jlo, jhi, n_out):
    """One spike's kernel samples into ``row`` (see _kernel_rate)."""
    if border:
        m = _spike_mass(code, ts, sigma, lo, hi, duration)
        if m <= 0.0:
            return
        w /= m
    g = int(math.floor(ts / dt + 0.5))
    if abs(g * dt - ts) <= 4.5e-16 * ts:  # on the grid to 2 ulp: t_k - t_s = (k - g) dt
        a = max(jlo, -g)
        b = min(jhi, n_out - 1 - g)
        if b >= a:
            _axpy(row, np.uint64(g + a), table, np.uint64(a - jlo), np.uint64(b - a + 1), w)
        return
    ka = _first_at_or_above(ts, sigma, dt, lo, 0, n_out)
    kb = _first_at_or_above(ts, sigma, dt, hi, 0, n_out) - 1
    if kb + 1 <= n_out - 1 and ((kb + 1) * dt - ts) / sigma <= hi:
        kb += 1  # u == hi exactly: the support is closed
    if kb < ka:
        return
    if code == GAUSSIAN:
        _add_gaussian(row, ka, kb, ts, sigma, dt, w)
    elif code == EXPONENTIAL or code == LAPLACIAN or code == ALPHA:
        _add_exp_family(row, ka, kb, ts, sigma, dt, w, code)
    else:
        for k in range(ka, kb + 1):
            row[k] += w * _pdf(code, (k * dt - ts) / sigma, lo, hi)


@njit(cache=True)
def _axpy(flat, base, tab, t0, n, w):
    """flat[base:base + n] += w * tab[t0:t0 + n]; unsigned indices (no wrap-around test), so
    the loop vectorises."""
    for j in range(n):
        flat[base + j] += w * tab[t0 + j]


@njit(cache=True)
def _first_at_or_above(ts, sigma, dt, bound, kmin, kmax):
    """Smallest k in [kmin, kmax) with (k dt - ts) / sigma >= bound, or kmax if there is none
    (the estimate, clamped to [kmin, kmax] before it becomes an integer -- a kernel far wider
    than the output would overflow int64 -- then corrected exactly)."""
    x = (ts + bound * sigma) / dt
    if x <= kmin:
        k = kmin
    elif x >= kmax:
        k = kmax
    else:
        k = int(math.ceil(x))
    while k > kmin and ((k - 1) * dt - ts) / sigma >= bound:
        k -= 1
    while k < kmax and (k * dt - ts) / sigma < bound:
        k += 1
    return k


@njit(cache=True)
def _add_gaussian(row, ka, kb, ts, sigma, dt, w):
    """Gaussian samples k = ka..kb by the recurrence g_{k+1} = g_k q_k, q_{k+1} = q_k e^{-h^2}
    (h = dt / sigma), restarted from exact values every 16 samples (error ~ 1e-15 relative)."""
    h = dt / sigma
    qq = math.exp(-h * h)
    c = w * _INV_SQRT2PI
    k = ka
    while k <= kb:
        u = (k * dt - ts) / sigma
        g = c * math.exp(-0.5 * u * u)
        q = math.exp(-h * u - 0.5 * h * h)
        stop = min(kb, k + 15)
        while k <= stop:
            row[k] += g
            g *= q
            q *= qq
            k += 1


@njit(cache=True)
def _add_exp_family(row, ka, kb, ts, sigma, dt, w, code):
    """Laplacian, causal exponential and alpha samples k = ka..kb: the factor exp(-|u| / b)
    follows exp(-|u + h| / b) = exp(-|u| / b) exp(-+h / b) on each side of the spike,
    restarted from exact values every 16 samples (error ~ 1e-15 relative)."""
    b = 1.0 if code == EXPONENTIAL else _B
    if code == LAPLACIAN:
        pre = w / (2.0 * b)
    elif code == EXPONENTIAL:
        pre = w
    else:
        pre = w / (b * b)
    kz = _first_at_or_above(ts, sigma, dt, 0.0, ka, kb + 1)  # first sample at or after the spike
    up = math.exp(dt / (sigma * b))
    k = ka
    while k < kz:  # rising side (laplacian only: the causal kernels have ka >= kz)
        g = pre * math.exp(((k * dt - ts) / sigma) / b)
        stop = min(kz - 1, k + 15)
        while k <= stop:
            row[k] += g
            g *= up
            k += 1
    down = math.exp(-dt / (sigma * b))
    k = kz
    while k <= kb:
        u = (k * dt - ts) / sigma
        g = pre * math.exp(-u / b)
        stop = min(kb, k + 15)
        if code == ALPHA:
            while k <= stop:
                row[k] += g * ((k * dt - ts) / sigma)
                g *= down
                k += 1
        else:
            while k <= stop:
                row[k] += g
                g *= down
                k += 1


@njit(cache=True)
def _isi_stats(times, row_ptr, n_trials, out_n_isi, out_mean, out_cv, out_cv2, out_lv):
    """ISI statistics per neuron, pooling the ISIs of its trains in every trial.

    times: spike times sorted by (neuron, trial, time); row_ptr (N * n_trials + 1,) start of
    each (neuron, trial) train.  Outputs (N,): number of ISIs, ISI mean [s], CV (population
    std / mean), CV2 (mean of 2|I_{i+1} - I_i| / (I_{i+1} + I_i)), LV (3 * mean of
    ((I_i - I_{i+1}) / (I_i + I_{i+1}))^2).  NaN where undefined (mean: < 1 ISI; CV: < 2 ISIs
    or mean 0; CV2, LV: no pair of consecutive ISIs in one train with a positive sum; pairs
    of two zero ISIs, from coincident spikes, are skipped).
    """
    n = out_mean.shape[0]
    for i in range(n):
        cnt = 0
        tot = 0.0
        for tr in range(n_trials):
            r = i * n_trials + tr
            for j in range(row_ptr[r] + 1, row_ptr[r + 1]):
                tot += times[j] - times[j - 1]
                cnt += 1
        out_n_isi[i] = cnt
        if cnt == 0:
            out_mean[i] = np.nan
            out_cv[i] = np.nan
            out_cv2[i] = np.nan
            out_lv[i] = np.nan
            continue
        mean = tot / cnt
        out_mean[i] = mean
        ss = 0.0
        c2 = 0.0
        lv = 0.0
        npair = 0
        for tr in range(n_trials):
            r = i * n_trials + tr
            for j in range(row_ptr[r] + 1, row_ptr[r + 1]):
                d = times[j] - times[j - 1] - mean
                ss += d * d
                if j >= row_ptr[r] + 2:
                    a = times[j - 1] - times[j - 2]
                    b = times[j] - times[j - 1]
                    if a + b <= 0.0:  # two zero ISIs (coincident spikes): undefined, skipped
                        continue
                    c2 += 2.0 * abs(b - a) / (a + b)
                    x = (a - b) / (a + b)
                    lv += x * x
                    npair += 1
        if cnt < 2 or mean <= 0.0:
            out_cv[i] = np.nan
        else:
            out_cv[i] = math.sqrt(ss / cnt) / mean
        if npair == 0:
            out_cv2[i] = np.nan
            out_lv[i] = np.nan
        else:
            out_cv2[i] = c2 / npair
            out_lv[i] = 3.0 * lv / npair


@njit(cache=True)
def _bin_cost(times, row_ptr, n_seq, duration, widths, n_shifts, out):
    """Shimazaki-Shinomoto (2007) histogram cost C(D) = (2 k - v) / (n D)^2 per row and width.

    times sorted within each row (a set of ``n_seq[r]`` sequences pooled); widths (W,) [s],
    each giving N = round(duration / D) bins; with n_shifts > 1 the bin edges are shifted by
    s D / n_shifts (s = 0 .. n_shifts - 1), spikes beyond the last edge dropped, and the costs
    averaged (Shimazaki's sshist).  v is the biased variance (1/N) of the bin counts.
    out (R, W).
    """
    n_rows = row_ptr.shape[0] - 1
    max_bins = 1
    for w in range(widths.shape[0]):
        nb = int(round(duration / widths[w]))
        if nb > max_bins:
            max_bins = nb
    counts = np.zeros(max_bins, np.float64)
    for r in range(n_rows):
        for w in range(widths.shape[0]):
            d = widths[w]
            nb = max(1, int(round(duration / d)))
            acc = 0.0
            for sh in range(n_shifts):
                phi = sh * d / n_shifts
                for b in range(nb):
                    counts[b] = 0.0
                for j in range(row_ptr[r], row_ptr[r + 1]):
                    x = (times[j] - phi) / d
                    if x < 0.0:
                        continue
                    b = int(x)
                    if b >= nb:
                        if times[j] - phi <= nb * d and b == nb:  # right edge is closed
                            b = nb - 1
                        else:
                            continue
                    counts[b] += 1.0
                mean = 0.0
                for b in range(nb):
                    mean += counts[b]
                mean /= nb
                var = 0.0
                for b in range(nb):
                    var += (counts[b] - mean) ** 2
                var /= nb
                acc += (2.0 * mean - var) / (n_seq[r] * d) ** 2
            out[r, w] = acc / n_shifts
