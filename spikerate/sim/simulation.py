"""Simulate a LIF network: validate, build the kernel arrays, run trials, wrap the spikes.

Integration (DESIGN.md §1): ``method="exact"`` uses the exponential propagators of the linear
sub-threshold system (NEST's iaf_psc_exp, Brian2's ``method='exact'``), so results do not
drift with dt; ``method="euler"`` is forward Euler (Euler–Maruyama for the noise), for
comparison and for the lecture's discretisation.  Refractoriness is exact on the dt grid.

Trials are independent realisations (initial potentials, noise and Poisson input) of the same
network (connectivity is drawn once per call); they run in parallel threads, each with its own
random stream spawned from ``seed``, so results do not depend on the number of threads.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .. import _memory
from .._validation import (check_allow_long, check_choice, check_int, check_positive, check_work, describe, suggest,
                           warn_if_ms)
from ..errors import InsufficientMemoryError
from ..io.schema import make_spikes_dataset
from . import _kernels as K
from .connectivity import AllToAll, FixedInDegree, FixedProbability, _is_sparse
from .distributions import is_distribution
from .inputs import Current, Noise, PoissonInput, TimedCurrent
from .network import Network

METHODS = ("exact", "euler")
DTYPES = {"float64": np.float64, "float32": np.float32}
#: steps per kernel call; the progress bar advances once per chunk
CHUNK_STEPS = 2000
#: allow the two-steps-per-pass kernel (tests switch it off to compare with the one-step path)
FAST_PATH = True
#: bytes per recorded spike while running (int32 step + int32 neuron)
_RUN_BYTES_PER_SPIKE = 8
#: bytes per spike in the returned Dataset (float64 time + int32 neuron + int32 trial)
DATASET_BYTES_PER_SPIKE = 16
#: most steps of one run (spike steps are int32 in the kernels)
MAX_STEPS = 2**31 - 2
# A run estimated above _validation.MAX_WORK = 1e13 neuron updates is refused unless
# ``allow_long=True``: about 3 hours on one core at the 0.7-0.8e9 updates/s measured for CUBA
# with 4000 to 20000 neurons.
#: a step costs about this many neuron updates whatever the network size (~1 us: ring buffer
#: and chunk bookkeeping, measured with 5 to 500 neurons)
STEP_WORK = 1000
#: the firing rate [Hz] assumed for the synaptic events of the work estimate (as for memory)
WORK_RATE = 20.0


# ------------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class _RunSpec:
    dt: float
    n_steps: int
    method: str
    dtype: type
    trials: int
    record: np.ndarray
    record_every: int


def _check_run(network, t_stop, dt, method, dtype, trials, record, record_every) -> _RunSpec:
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a spikerate.sim.Network; got {describe(network)}.")
    dt = check_positive("dt", dt, unit="s")
    t_stop = check_positive("t_stop", t_stop, unit="s")
    warn_if_ms("t_stop", t_stop, limit=1000.0)
    if dt > 0.01:
        warn_if_ms("dt", dt, limit=0.01)
    ratio = t_stop / dt
    if not ratio < MAX_STEPS + 0.5:  # (also inf: t_stop / dt beyond the float range)
        raise ValueError(f"`t_stop` / `dt` = {t_stop} s / {dt} s = {ratio:.3g} steps exceeds the {MAX_STEPS} steps of "
                         f"one run (int32 step counters); use a larger `dt` or a shorter `t_stop`, or split the run.")
    n_steps = int(round(ratio))
    if n_steps < 1 or abs(n_steps * dt - t_stop) > 1e-9 * max(t_stop, dt):
        raise ValueError(f"`t_stop` must be a positive multiple of `dt`; got t_stop={t_stop} s, dt={dt} s "
                         f"(ratio {t_stop / dt:.6g}). Use t_stop={max(n_steps, 1) * dt:.12g}.")
    check_choice("method", method, METHODS)
    check_choice("dtype", dtype, DTYPES)
    trials = check_int("trials", trials, minimum=1)
    # (every value above n_steps records t = 0 only, as n_steps + 1 does; the kernel takes an int64)
    record_every = min(check_int("record_every", record_every, minimum=1), n_steps + 1)
    rec = _record_indices(network, record)
    taus = [float(np.min(p.params.tau_m)) for p in network.populations]
    taus += [c.tau_s for c in network.channels if not c.is_delta]
    if method == "euler" and dt >= min(taus):
        raise ValueError(f"`dt` = {dt} s is too large for method='euler': it must be below the smallest time "
                         f"constant ({min(taus)} s), and well below for accuracy. Use method='exact' or a smaller dt.")
    return _RunSpec(dt, n_steps, method, DTYPES[dtype], trials, rec, record_every)


def _record_indices(network: Network, record) -> np.ndarray:
    """None -> nothing; "all"; a population name or list of names; or neuron indices."""
    n = network.n_neurons
    if record is None:
        return np.empty(0, np.int64)
    if isinstance(record, str) and record == "all":
        return np.arange(n, dtype=np.int64)
    names = [record] if isinstance(record, str) else record
    if isinstance(names, (list, tuple)) and names and all(isinstance(r, str) for r in names):
        for name in names:
            if name not in network.population_names:
                raise ValueError(f"`record` names population {name!r}, which the network does not have."
                                 + suggest(name, network.population_names + ["all"]))
        return network.indices(names).astype(np.int64)
    if isinstance(record, (list, tuple)) and len(record) == 0:
        return np.empty(0, np.int64)
    idx = np.asarray(record)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"`record` must be None, 'all', population name(s) or a 1-D array of neuron indices; "
                        f"got {describe(record)}.")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"`record` indices must be in [0, {n - 1}]; got min {idx.min()}, max {idx.max()}.")
    return idx.astype(np.int64)


# ------------------------------------------------------------------------------- memory


def estimate_memory(network: Network, *, t_stop: float, dt: float = 1e-4, trials: int = 1,
                    record=None, record_every: int = 1, dtype: str = "float64",
                    method: str = "exact", expected_rate: float = 20.0) -> dict[str, int]:
    """Bytes a :func:`simulate` call would need, by part, before running it.

    Spike storage depends on the firing rate, which is unknown before the run:
    ``expected_rate`` [Hz] per neuron is assumed (the buffers grow if it is exceeded).
    Returns a dict with ``state``, ``connectivity``, ``inputs``, ``spikes``, ``recording``
    and ``total`` (bytes).
    """
    spec = _check_run(network, t_stop, dt, method, dtype, trials, record, record_every)
    return _estimate(network, spec, check_positive("expected_rate", expected_rate, unit="Hz", allow_zero=True))


def _estimate(network: Network, spec: _RunSpec, expected_rate: float = 20.0) -> dict[str, int]:
    n = network.n_neurons
    isz = np.dtype(spec.dtype).itemsize
    n_cur = sum(1 for c in network.channels if not c.is_delta)
    ring = max([1] + [_delay_steps(p.delay, spec.dt, p.label) for p in network.projections]) + 1
    state = spec.trials * n * ((1 + n_cur) * isz + 4 + 1 + 4 * ring)  # u, I, release, flags, ring
    params = n * (3 * isz + 8)
    n_syn = 0.0
    for p in network.projections:
        n_syn += p.rule.expected_synapses(network.size_of(p.pre), network.size_of(p.post))
    # generation holds (pre, post, w) triples and the CSR copy at the same time
    conn = int(n_syn * (4 + 4 + 8 + 4 + isz)) + 8 * (n + 1) * max(1, len(network.projections))
    inputs = 0
    for inp in network.inputs:
        if isinstance(inp, TimedCurrent):
            cols = inp.values.shape[1] if (not callable(inp.values) and inp.values.ndim == 2) else 1
            inputs += spec.n_steps * cols * 8 * 2
    exp_spikes = expected_rate * n * spec.n_steps * spec.dt * spec.trials
    spikes = int(exp_spikes * (2 * _RUN_BYTES_PER_SPIKE + DATASET_BYTES_PER_SPIKE)) + spec.trials * n * 16
    rec = spec.record.size * (spec.n_steps // spec.record_every + 1) * (1 + n_cur) * spec.trials * 8 * 2
    parts = {"state": int(state + params), "connectivity": conn, "inputs": int(inputs), "spikes": spikes,
             "recording": int(rec)}
    parts["total"] = sum(parts.values())
    return parts


def _work(network: Network, spec: _RunSpec) -> float:
    """Estimated cost of a run in neuron updates: every neuron every step, a fixed cost per step
    (:data:`STEP_WORK`) and one per synaptic event at :data:`WORK_RATE` [Hz]."""
    n_syn = sum(p.rule.expected_synapses(network.size_of(p.pre), network.size_of(p.post))
                for p in network.projections)
    per_trial = spec.n_steps * (network.n_neurons + STEP_WORK) + n_syn * WORK_RATE * spec.n_steps * spec.dt
    return float(spec.trials) * per_trial


def _check_work(network: Network, spec: _RunSpec, allow_long: bool) -> None:
    check_work(_work(network, spec),
               f"this run (`t_stop` / `dt` = {spec.n_steps * spec.dt:g} s / {spec.dt:g} s = {spec.n_steps} steps x "
               f"{network.n_neurons} neurons x {spec.trials} trials)",
               "Use a larger `dt`, a shorter `t_stop` or fewer `trials`", allow_long=allow_long)


def _delay_steps(delay, dt, label) -> int:
    if delay is None:
        return 1
    steps = int(round(delay / dt))
    if steps < 1 or abs(steps * dt - delay) > 1e-6 * dt:
        raise ValueError(f"`delay` of projection {label} ({delay} s) must be a positive multiple of `dt` "
                         f"({dt} s); got {delay / dt:.6g} steps. Use a delay of {max(steps, 1) * dt:.12g} s "
                         f"or a dt that divides it.")
    return steps


# ------------------------------------------------------------------------------- build


def _propagators(tau_m, tau_s, dt, method):
    """(e_m, p_syn per channel, e_syn per channel, c_in, noise factor per unit sigma)."""
    tau_m = np.asarray(tau_m, float)
    tau_s = np.asarray(tau_s, float)
    if method == "exact":
        e_m = np.exp(-dt / tau_m)
        c_in = -np.expm1(-dt / tau_m)
        e_s = np.exp(-dt / tau_s)
        # P = tau_s / (tau_s - tau_m) (e_s - e_m), written stably (tau_s -> tau_m gives dt/tau_m e_m)
        h = dt / tau_m[:, None] - dt / tau_s[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(h == 0.0, 1.0, np.expm1(h) / np.where(h == 0.0, 1.0, h))
        p = e_m[:, None] * ratio * (dt / tau_m[:, None])
        noise = np.sqrt(-np.expm1(-2.0 * dt / tau_m) / 2.0)
    else:
        e_m = 1.0 - dt / tau_m
        c_in = dt / tau_m
        e_s = 1.0 - dt / tau_s
        p = np.repeat((dt / tau_m)[:, None], tau_s.size, axis=1)
        noise = np.sqrt(dt / tau_m)
    return e_m, p, e_s, c_in, noise


@dataclass
class _Built:
    net: K.KernelNet
    n_synapses: int
    ring_len: int
    current_channels: list[str]
    v_init_pops: list


def _build(network: Network, spec: _RunSpec, conn_rng_seq: np.random.SeedSequence) -> _Built:
    dt, n = spec.dt, network.n_neurons
    ft = spec.dtype
    cols = {f: np.concatenate([p.params.per_neuron(p.n)[f] for p in network.populations])
            for f in ("tau_m", "v_rest", "v_th", "v_reset", "t_ref")}
    # groups: runs of neurons with equal tau_m, v_reset - v_th and t_ref (one set of
    # propagators, one reset and one clamp length each)
    tau_m = cols["tau_m"]
    n_ref = np.rint(cols["t_ref"] / dt).astype(np.int64)
    reset = cols["v_reset"] - cols["v_th"]
    cut = np.flatnonzero((np.diff(tau_m) != 0) | (np.diff(reset) != 0) | (np.diff(n_ref) != 0)) + 1
    group_start = np.concatenate([[0], cut, [n]]).astype(np.int64)
    g_tau = tau_m[group_start[:-1]]
    cur = [c for c in network.channels if not c.is_delta]
    cur_index = {c.name: i for i, c in enumerate(cur)}
    e_m, p_syn, e_syn, c_in, noise_f = _propagators(g_tau, [c.tau_s for c in cur] or [1.0], dt, spec.method)
    if not cur:
        p_syn, e_syn = np.zeros((g_tau.size, 0)), np.zeros(0)
    group_of = np.repeat(np.arange(g_tau.size), np.diff(group_start))

    # inputs
    i_const = np.zeros(n)
    sigma2 = np.zeros(n)
    tv_idx, tv_col, tv_cols = [], [], []
    pd = []
    for inp in network.inputs:
        idx = network.indices(inp.target)
        if isinstance(inp, Current):
            i_const[idx] += inp.amplitude
        elif isinstance(inp, Noise):
            sigma2[idx] += inp.sigma ** 2
        elif isinstance(inp, TimedCurrent):
            v = inp.sample(spec.n_steps, dt, idx.size)
            base = sum(c.shape[1] for c in tv_cols)
            tv_cols.append(v)
            tv_idx.append(idx)
            tv_col.append(base + (np.arange(idx.size) if v.shape[1] > 1 else np.zeros(idx.size, np.int64)))
        elif isinstance(inp, PoissonInput):
            ch = network.channel(inp.channel)
            tgt = K.TARGET_U if ch.is_delta else cur_index[ch.name]
            lam = inp.n_inputs * inp.rate * dt
            for name in inp.target:  # populations are contiguous ranges
                lo = network.offsets[name]
                pd.append((lo, lo + network.population(name).n, tgt, inp.weight, lam))
    # the kernel integrates u - v_th: its constant drive is c_in (v_rest + I) - c_in v_th
    offset = c_in[group_of] * (cols["v_rest"] + i_const - cols["v_th"])
    g_offset = offset[group_start[:-1]]
    g_uniform = np.array([np.all(offset[a:b] == offset[a]) for a, b in zip(group_start[:-1], group_start[1:])])
    noise_idx = np.flatnonzero(sigma2 > 0).astype(np.int64)
    noise_coef = np.sqrt(sigma2[noise_idx]) * noise_f[group_of[noise_idx]]
    if tv_cols:
        tv_idx_a = np.concatenate(tv_idx).astype(np.int64)
        tv_col_a = np.concatenate(tv_col).astype(np.int64)
        tv_values = np.concatenate(tv_cols, axis=1)
    else:
        tv_idx_a = np.empty(0, np.int64)
        tv_col_a = np.empty(0, np.int64)
        tv_values = np.zeros((1, 1))
    tv_coef = c_in[group_of[tv_idx_a]]

    # connectivity: one bundle per (target, delay)
    bundles: dict[tuple[int, int], list] = {}
    for pr, (pre_g, post_g, w) in zip(network.projections, _draw_projections(network, conn_rng_seq)):
        ch = network.channel(pr.channel)
        key = (K.TARGET_U if ch.is_delta else cur_index[ch.name], _delay_steps(pr.delay, dt, pr.label))
        bundles.setdefault(key, []).append((pre_g, post_g, w))
    keys = sorted(bundles)
    b_indptr = np.zeros((len(keys), n + 1), np.int64)
    posts, ws = [], []
    start = 0
    for b, key in enumerate(keys):
        parts = bundles.pop(key)
        pre = np.concatenate([p[0] for p in parts])
        post = np.concatenate([p[1] for p in parts])
        w = np.concatenate([p[2] for p in parts]).astype(ft)
        del parts
        indptr, post_s, w_s = K._coo_to_csr(pre, post, w, n)
        b_indptr[b] = indptr + start
        start += post_s.size
        posts.append(post_s)
        ws.append(w_s)
    syn_post = np.concatenate(posts) if posts else np.empty(0, np.int32)
    syn_w = np.concatenate(ws) if ws else np.empty(0, ft)
    # one slot more than the longest delay: a two-step pass writes two slots before it reads
    ring_len = max([1] + [k[1] for k in keys]) + 1
    # two steps per pass when only current synapses act on the neurons and groups are large
    # enough for the per-group loop to pay off
    n_groups = group_start.size - 1
    # (a delta synapse arriving at t_{n+2} changes u(t_{n+2}) itself, which a two-step pass
    # cannot see before its second threshold test)
    fast = (not pd and not noise_idx.size and not tv_idx_a.size and all(k[0] != K.TARGET_U for k in keys)
            and (n_groups <= 8 or n >= 32 * n_groups))

    f = lambda a: np.ascontiguousarray(a, dtype=ft)  # noqa: E731
    i64 = lambda a: np.ascontiguousarray(a, dtype=np.int64)  # noqa: E731
    pd_a = np.array(pd, dtype=float).reshape(-1, 5)
    tables = [poisson_cdf_table(row[4]) for row in pd_a]
    pd_cdf = np.concatenate([np.zeros(0)] + tables)
    pd_cdf_start = np.concatenate([[0], np.cumsum([t.size for t in tables])]).astype(np.int64)
    net = K.KernelNet(
        group_start=group_start, e_m=f(e_m), p_syn=f(p_syn), e_syn=f(e_syn), offset=f(offset), g_offset=f(g_offset), g_uniform=g_uniform,
        g_reset=f(reset[group_start[:-1]]), g_nref=n_ref[group_start[:-1]].copy(),
        group_of=group_of.astype(np.int32), comp_u=f(p_syn / (e_syn[None, :] * e_m[:, None])),
        fast=bool(fast and FAST_PATH),
        v_th=f(cols["v_th"]), v_reset=f(cols["v_reset"] - cols["v_th"]), n_ref=n_ref,
        b_delay=i64([k[1] for k in keys]), b_target=i64([k[0] for k in keys]), b_indptr=b_indptr,
        syn_post=np.ascontiguousarray(syn_post, np.int32), syn_w=f(syn_w),
        pd_start=i64(pd_a[:, 0]), pd_stop=i64(pd_a[:, 1]), pd_target=i64(pd_a[:, 2]), pd_w=f(pd_a[:, 3]),
        pd_lam=np.ascontiguousarray(pd_a[:, 4], np.float64), pd_cdf=pd_cdf, pd_cdf_start=pd_cdf_start,
        noise_idx=noise_idx, noise_coef=f(noise_coef),
        tv_idx=tv_idx_a, tv_col=tv_col_a, tv_coef=f(tv_coef), tv_values=f(tv_values))
    return _Built(net, int(syn_post.size), ring_len, [c.name for c in cur], list(network.populations))


#: Poisson counts with a mean up to this are drawn by inverting a CDF table (much faster than
#: a general Poisson sampler); above it, by numba's Generator.poisson
POISSON_TABLE_MAX_LAM = 30.0


def poisson_cdf_table(lam: float) -> np.ndarray:
    """CDF of Poisson(lam) at k = 0, 1, ... up to the first k whose upper tail is below 2**-54
    (less than the resolution of a uniform draw), that last entry set to 1.0 so inversion of a
    uniform in [0, 1) always ends; empty above POISSON_TABLE_MAX_LAM.  The upper half of the CDF
    is computed as 1 - tail, summed from the top, so it keeps full relative accuracy."""
    if lam > POISSON_TABLE_MAX_LAM:
        return np.zeros(0)
    if lam == 0.0:
        return np.ones(1)
    k = np.arange(int(lam + 12.0 * np.sqrt(lam) + 40.0))
    pmf = np.exp(-lam + k * np.log(lam) - np.array([math.lgamma(x + 1.0) for x in k]))
    tail = np.append(np.cumsum(pmf[::-1])[::-1][1:], 0.0)  # P(K > k)
    head = np.cumsum(pmf)
    cdf = np.where(head < 0.5, head, 1.0 - tail)
    last = int(np.argmax(tail < 2.0**-54))
    cdf = cdf[:last + 1].copy()
    cdf[-1] = 1.0
    return cdf


def _draw_projections(network: Network, conn_seq: np.random.SeedSequence):
    """(pre, post, weight) of every projection, each from its own stream spawned from conn_seq."""
    for pr, ss in zip(network.projections, conn_seq.spawn(len(network.projections))):
        yield _connect(network, pr, np.random.default_rng(ss))


def connectivity(network: Network, *, seed: int) -> dict:
    """The synapses :func:`simulate` draws for ``seed``, as one ``scipy.sparse.csr_matrix`` of
    shape ``(n_neurons, n_neurons)`` (post, pre) per channel, weights [mV] summed over multapses.

    The same seed gives the same connectivity as ``simulate(network, seed=seed, ...)``.
    """
    import scipy.sparse as sp
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a spikerate.sim.Network; got {describe(network)}.")
    seed = check_int("seed", seed, minimum=0)
    _warm_connectivity(network, np.float64)
    conn_seq = np.random.SeedSequence(seed).spawn(1)[0]
    n = network.n_neurons
    out = {c.name: sp.csr_matrix((n, n)) for c in network.channels}
    for pr, (pre, post, w) in zip(network.projections, _draw_projections(network, conn_seq)):
        out[pr.channel] = out[pr.channel] + sp.csr_matrix((w, (post, pre)), shape=(n, n))
    return out


def _connect(network: Network, pr, rng: np.random.Generator):
    """Global (pre, post) indices (int32) and weights (float64) of one projection."""
    pre_ids = network.indices(pr.pre)
    post_ids = network.indices(pr.post)
    n_pre, n_post = pre_ids.size, post_ids.size
    rule = pr.rule
    weights = None
    if isinstance(rule, FixedProbability):
        if rule.p == 0.0:
            pre, post = np.empty(0, np.int32), np.empty(0, np.int32)
        elif rule.p == 1.0:
            pre, post = _all_pairs(n_pre, n_post)
        else:
            pre, post = K._bernoulli_pairs(rng, n_pre, n_post, rule.p)
    elif isinstance(rule, AllToAll):
        pre, post = _all_pairs(n_pre, n_post)
    elif isinstance(rule, FixedInDegree):
        pos = np.full(network.n_neurons, -1, np.int64)
        pos[pre_ids] = np.arange(n_pre)
        self_idx = np.full(n_post, -1, np.int64) if pr.autapses else pos[post_ids]
        n_cand = n_pre - (1 if np.any(self_idx >= 0) else 0)
        if not rule.multapses and rule.k > n_cand:
            raise ValueError(f"`k` = {rule.k} of projection {pr.label} exceeds the {n_cand} candidate presynaptic "
                             f"neurons; use a smaller k or multapses=True.")
        if rule.k > 0 and n_cand == 0:
            raise ValueError(f"projection {pr.label} has no candidate presynaptic neurons for `k` = {rule.k}.")
        pre, post = K._fixed_indegree_pairs(rng, n_pre, n_post, rule.k, self_idx, bool(rule.multapses))
    else:  # FromMatrix, shape (n_post, n_pre)
        m = rule.matrix
        if _is_sparse(m):
            coo = m.tocoo()
            post, pre, weights = coo.row, coo.col, np.asarray(coo.data, float)
            keep = weights != 0
            post, pre, weights = post[keep], pre[keep], weights[keep]
        else:
            post, pre = np.nonzero(m)
            weights = m[post, pre]
        order = np.lexsort((post, pre))
        pre, post, weights = pre[order].astype(np.int32), post[order].astype(np.int32), weights[order]
    pre_g = pre_ids[pre].astype(np.int32)
    post_g = post_ids[post].astype(np.int32)
    if not pr.autapses and not isinstance(rule, FixedInDegree):
        keep = pre_g != post_g
        pre_g, post_g = pre_g[keep], post_g[keep]
        if weights is not None:
            weights = weights[keep]
    if weights is None:
        if is_distribution(pr.weight):
            weights = pr.weight.sample(rng, pre_g.size)
        else:
            weights = np.full(pre_g.size, pr.weight)
    return pre_g, post_g, weights


def _all_pairs(n_pre, n_post):
    return (np.repeat(np.arange(n_pre, dtype=np.int32), n_post),
            np.tile(np.arange(n_post, dtype=np.int32), n_pre))


def _warm_connectivity(network: Network, ft) -> None:
    """Compile (or load from cache) the connectivity kernels this network needs, on tiny
    inputs, so that their compilation is not counted as build time."""
    rng = np.random.default_rng(0)
    rules = {type(p.rule) for p in network.projections}
    if FixedProbability in rules:
        K._bernoulli_pairs(rng, 2, 2, 0.5)
    if FixedInDegree in rules:
        K._fixed_indegree_pairs(rng, 3, 2, 1, np.full(2, -1, np.int64), False)
    K._coo_to_csr(np.zeros(1, np.int32), np.zeros(1, np.int32), np.zeros(1, ft), 1)


# ------------------------------------------------------------------------------- run


def simulate(network: Network, *, t_stop: float, dt: float = 1e-4, method: str = "exact",
             trials: int = 1, seed: int | None = None, record=None, record_every: int = 1,
             dtype: str = "float64", progress: bool | None = None, max_memory: float | None = None,
             n_threads: int | None = None, allow_long: bool = False) -> xr.Dataset:
    """Simulate ``network`` for ``t_stop`` seconds and return the spikes Dataset.

    Parameters
    ----------
    network : Network
        Populations, channels, projections and inputs.
    t_stop : float
        Duration [s]; a multiple of ``dt``.
    dt : float
        Time step [s] (default 0.1 ms).  Delays must be multiples of it.
    method : {"exact", "euler"}
        Exponential propagators (default) or forward Euler.
    trials : int
        Independent trials of the same network, run in parallel threads.
    seed : int, optional
        Seeds connectivity, initial potentials, noise and Poisson input.  Same seed, same
        spikes, bit for bit, whatever the number of threads.  None draws a fresh seed, which
        is stored in ``attrs["seed"]``.
    record : None, "all", population name(s) or array of neuron indices
        Neurons whose state ``u`` and ``I`` to record (nothing by default).
    record_every : int
        Record the state every this many steps (``t = 0`` included).
    dtype : {"float64", "float32"}
        Precision of the state and the synaptic weights.
    progress : bool, optional
        Show a progress bar; default: only on a terminal and only for runs longer than 2 s.
    max_memory : float, optional
        Refuse to run when the memory estimate exceeds this many bytes (default: the memory
        the machine has available).
    n_threads : int, optional
        Threads for parallel trials (default: ``numba.config.NUMBA_NUM_THREADS``).
    allow_long : bool
        Run even when the work estimate exceeds 1e13 neuron updates (about
        3 hours on one core: ``t_stop / dt`` steps x (neurons + 1000 per step) x ``trials``,
        plus synaptic events at 20 Hz).  By default such a run is refused with a ValueError
        before anything is built, as it is most likely a slip (``dt`` or ``t_stop`` in ms).

    Returns
    -------
    xarray.Dataset
        Schema ``spikerate.spikes/1``: ``spike_time`` [s], ``spike_neuron``, ``spike_trial`` on
        dimension ``spike`` (sorted by trial, time, neuron), coordinate ``population(neuron)``,
        optional ``u`` / ``I``; attrs include ``dt``, ``duration``, ``seed``, ``params`` (JSON),
        ``compile_time``, ``build_time`` and ``run_time`` [s].

    Raises
    ------
    ValueError, TypeError
        Invalid arguments (the message names the argument); more than :data:`MAX_STEPS` steps; a
        work estimate above 1e13 neuron updates without ``allow_long=True``.
    InsufficientMemoryError
        The estimate exceeds ``max_memory``.
    """
    spec = _check_run(network, t_stop, dt, method, dtype, trials, record, record_every)
    _check_work(network, spec, check_allow_long(allow_long))
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    seed = check_int("seed", seed, minimum=0)
    est = _estimate(network, spec)
    limit = _memory.available_memory() if max_memory is None else check_positive("max_memory", max_memory, unit="bytes")
    if est["total"] > limit:
        parts = ", ".join(f"{k} {v / 2**30:.2f} GiB" for k, v in est.items() if k != "total")
        raise InsufficientMemoryError(
            f"this run needs about {est['total'] / 2**30:.2f} GiB ({parts}) but "
            f"{'max_memory allows' if max_memory is not None else 'the machine has'} {limit / 2**30:.2f} GiB. "
            f"Reduce `trials`, `t_stop`, the neurons in `record` or `record_every`, or the network size.")
    if n_threads is None:
        import numba
        n_threads = numba.config.NUMBA_NUM_THREADS
    n_threads = check_int("n_threads", n_threads, minimum=1)

    t0 = time.perf_counter()
    _warm_connectivity(network, spec.dtype)
    compile_time = time.perf_counter() - t0

    t0 = time.perf_counter()
    root = np.random.SeedSequence(seed)
    conn_seq = root.spawn(1)[0]
    trial_seqs = root.spawn(spec.trials)
    built = _build(network, spec, conn_seq)
    states, rngs = [], []
    n, n_cur = network.n_neurons, len(built.current_channels)
    for ss in trial_seqs:
        rng = np.random.default_rng(ss)
        u0 = np.concatenate([p.sample_v_init(rng) for p in built.v_init_pops])
        states.append(K.KernelState(u=(u0 - built.net.v_th).astype(spec.dtype), I=np.zeros((n_cur, n), spec.dtype),
                                    release=np.zeros(n, np.int32), ring=np.zeros((built.ring_len, n), np.int32),
                                    ring_cnt=np.zeros(built.ring_len, np.int64), flags=np.zeros(-(-n // 8) * 8, np.uint8)))
        rngs.append(rng)
    rec_idx = spec.record
    n_rows = spec.n_steps // spec.record_every + 1 if rec_idx.size else 0
    recs = [(np.zeros((n_rows, rec_idx.size)), np.zeros((n_rows, n_cur, rec_idx.size))) for _ in states]
    for st, (ru, rI) in zip(states, recs):
        if n_rows:
            ru[0] = st.u[rec_idx] + built.net.v_th[rec_idx]
            rI[0] = st.I[:, rec_idx]
    build_time = time.perf_counter() - t0

    t0 = time.perf_counter()
    cap0 = max(n + 1024, int(5.0 * n * spec.n_steps * spec.dt) + n)  # grows when exceeded
    dummy_s, dummy_n = np.empty(cap0, np.int32), np.empty(cap0, np.int32)
    K._run_chunk(built.net, states[0], rngs[0], 0, 0, dummy_s, dummy_n, 0, rec_idx, spec.record_every,
                 recs[0][0], recs[0][1])
    compile_time += time.perf_counter() - t0

    bar = _progress_bar(progress, spec.n_steps * spec.trials)

    stop = threading.Event()  # Ctrl-C: every trial stops after its current chunk, the finished part is kept

    def run_trial(k):
        return _run_trial(built.net, states[k], rngs[k], spec, cap0, rec_idx, recs[k], bar, stop)

    t0 = time.perf_counter()
    try:
        if spec.trials == 1 or n_threads == 1:
            results = [run_trial(k) for k in range(spec.trials)]
        else:
            with ThreadPoolExecutor(max_workers=min(n_threads, spec.trials)) as ex:
                futures = [ex.submit(run_trial, k) for k in range(spec.trials)]
                try:
                    results = [f.result() for f in futures]
                except KeyboardInterrupt:
                    stop.set()
                    results = [f.result() for f in futures]
    finally:
        if bar is not None:
            bar.close()
    run_time = time.perf_counter() - t0
    reached = min(r[2] for r in results)  # the steps every trial completed
    if reached < spec.n_steps:  # interrupted: keep the common finished part of every trial
        results = [(st[st <= reached], ne[st <= reached], reached) for st, ne, _ in results]

    counts = [r[0].size for r in results]
    total = int(sum(counts))
    spike_time = np.empty(total, np.float64)
    spike_neuron = np.empty(total, np.int32)
    spike_trial = np.empty(total, np.int32)
    pos = 0
    for k, (steps, neurons, _) in enumerate(results):
        m = steps.size
        np.multiply(steps, spec.dt, out=spike_time[pos:pos + m])
        spike_neuron[pos:pos + m] = neurons
        spike_trial[pos:pos + m] = k
        pos += m
    del results
    state = None
    if rec_idx.size:
        n_keep = min(n_rows, reached // spec.record_every + 1)  # (fewer rows after a Ctrl-C)
        state = {"time": np.arange(n_keep) * spec.record_every * spec.dt, "recorded_neuron": rec_idx,
                 "u": np.stack([r[0][:n_keep] for r in recs]), "I": np.stack([r[1][:n_keep] for r in recs]),
                 "channel": built.current_channels}
    return make_spikes_dataset(
        spike_time=spike_time, spike_neuron=spike_neuron, spike_trial=spike_trial,
        population=network.population_labels(), n_trials=spec.trials, state=state,
        seed=seed, dt=spec.dt, duration=reached * spec.dt, method=spec.method,
        interrupted=1 if reached < spec.n_steps else None,
        dtype=np.dtype(spec.dtype).name, n_neurons=n, n_synapses=built.n_synapses,
        record_every=spec.record_every if rec_idx.size else None,
        kernel_path="two-step" if built.net.fast and not rec_idx.size else "one-step",
        compile_time=compile_time, build_time=build_time, run_time=run_time, params=network.to_dict())


def _run_trial(net, st, rng, spec: _RunSpec, cap0, rec_idx, rec, bar, stop):
    """Run one trial in chunks; returns (spike steps, neurons, steps done).  Ctrl-C (here, or
    ``stop`` set by the main thread) ends it after the current chunk with what is done."""
    n = st.u.shape[0]
    spk_step = np.empty(cap0, np.int32)
    spk_neuron = np.empty(cap0, np.int32)
    n_spk = 0
    step = 0
    try:
        while step < spec.n_steps and not stop.is_set():
            todo = min(CHUNK_STEPS, spec.n_steps - step)
            n_spk, done = K._run_chunk(net, st, rng, step, todo, spk_step, spk_neuron, n_spk,
                                       rec_idx, spec.record_every, rec[0], rec[1])
            step += done
            if bar is not None and done:
                bar.update(done)
            if done < todo:  # buffers nearly full: grow geometrically
                new = max(2 * spk_step.size, n_spk + 2 * n)
                spk_step = _grown(spk_step, new, n_spk)
                spk_neuron = _grown(spk_neuron, new, n_spk)
    except KeyboardInterrupt:
        stop.set()
    return spk_step[:n_spk], spk_neuron[:n_spk], step


def _grown(a, size, used):
    b = np.empty(size, a.dtype)
    b[:used] = a[:used]
    return b


def _progress_bar(progress, total):
    import sys
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit="step", delay=2.0, desc="simulate", leave=False)
