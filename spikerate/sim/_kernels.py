"""Numba kernels of the LIF network simulator (plain arrays in, plain arrays out).

Nothing here validates, warns or prints: the API in ``simulate.py`` checks everything and
prepares the arguments.  Every kernel has a pure-NumPy twin in ``tests/reference/``.

Time grid: the state at ``t_n = n dt``; one call of the step advances ``t_n -> t_{n+1}``:

1. update every neuron with the propagators (exact or Euler), ``I_k`` decays; neurons whose
   clamp has not ended (``n < release``) keep ``u`` (= ``v_reset``);
2. add time-varying currents and white noise (non-refractory neurons only);
3. external Poisson input: ``k ~ Poisson(lam)`` spikes of weight ``w`` per neuron;
4. deliver recurrent spikes emitted ``D`` steps ago (ring buffer of spike indices);
5. threshold scan on ``u(t_{n+1})``: record ``(n + 1, i)``, reset, ``release = n + 1 + n_ref``.

The kernels hold the potential relative to threshold, ``u - v_th`` (the API shifts in and
out), so the threshold test is ``u >= 0`` with no per-neuron threshold to read: it runs as a
vectorised pass writing one byte per neuron, then a scan of those bytes eight at a time.

A spike at ``t_s`` reaches its targets at ``t_s + D dt`` (D >= 1, NEST's convention), and the
neuron is clamped at ``v_reset`` on the states ``t_s .. t_s + n_ref dt``.  Inputs of delta
channels that arrive while clamped are discarded (NEST's iaf_psc_delta).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

#: target code of a synaptic bundle or Poisson drive: a current channel index >= 0, or this
#: value for a delta channel (jump of u)
TARGET_U = -1


class KernelNet(NamedTuple):
    """Read-only network arrays.  N neurons, G groups (runs of neurons sharing tau_m), C
    current channels, B synaptic bundles (one per channel and delay), S synapses."""
    group_start: np.ndarray  # (G + 1,) int64
    e_m: np.ndarray          # (G,) float  u-propagator over dt
    p_syn: np.ndarray        # (G, C) float  I_k -> u propagator over dt
    e_syn: np.ndarray        # (C,) float  I_k decay over dt
    offset: np.ndarray       # (N,) float  constant part of the update of u - v_th
    g_offset: np.ndarray     # (G,) float  the same per group, used when g_uniform (saves a read)
    g_uniform: np.ndarray    # (G,) bool  offset is the same for every neuron of the group
    g_reset: np.ndarray      # (G,) float  v_reset - v_th of the group (uniform within a group)
    g_nref: np.ndarray       # (G,) int64  refractory steps of the group (uniform within a group)
    group_of: np.ndarray     # (N,) int32  group of each neuron
    comp_u: np.ndarray       # (G, C) float  p_syn / (e_syn e_m): pre-compensation of u, see _deliver
    fast: bool               # two steps per pass allowed (no per-step inputs, groups uniform)
    v_th: np.ndarray         # (N,) float  (only to shift recorded potentials back)
    v_reset: np.ndarray      # (N,) float  v_reset - v_th
    n_ref: np.ndarray        # (N,) int64  refractory steps
    b_delay: np.ndarray      # (B,) int64  delay in steps, 1 <= D <= ring length
    b_target: np.ndarray     # (B,) int64  channel index or TARGET_U
    b_indptr: np.ndarray     # (B, N + 1) int64  CSR by presynaptic neuron
    syn_post: np.ndarray     # (S,) int32
    syn_w: np.ndarray        # (S,) float
    pd_start: np.ndarray     # (Q,) int64  Poisson drives: neuron range, target, weight, mean count
    pd_stop: np.ndarray
    pd_target: np.ndarray
    pd_w: np.ndarray         # (Q,) float
    pd_lam: np.ndarray       # (Q,) float64
    pd_cdf: np.ndarray       # (sum of table lengths,) float64  Poisson CDF tables, last entry 1.0
    pd_cdf_start: np.ndarray  # (Q + 1,) int64  table of drive q: pd_cdf[start[q]:start[q+1]] (empty: no table)
    noise_idx: np.ndarray    # (M,) int64  neurons with white noise
    noise_coef: np.ndarray   # (M,) float  std of the exact (or Euler) noise increment
    tv_idx: np.ndarray       # (P,) int64  neurons with a time-varying current
    tv_col: np.ndarray       # (P,) int64  their column in tv_values
    tv_coef: np.ndarray      # (P,) float  weight of the current over one step
    tv_values: np.ndarray    # (n_steps or 1, K) float  current samples at t_n


class KernelState(NamedTuple):
    """Mutable per-trial state (persists across chunks)."""
    u: np.ndarray         # (N,) float  membrane potential minus threshold, u - v_th
    I: np.ndarray         # (C, N) float
    release: np.ndarray   # (N,) int32  first step index whose update is free again
    ring: np.ndarray      # (L, N) int32  spike indices of the last L steps
    ring_cnt: np.ndarray  # (L,) int64
    flags: np.ndarray     # (8 * ceil(N / 8),) uint8  threshold crossings of the current step(s)


#: currents below this magnitude [mV] are flushed to zero: a channel without input would
#: otherwise decay into subnormal floats, which are ~50x slower on x86
TINY = 1e-30
#: 2**53: numpy's uniform doubles are multiples of 2**-53
TWO53 = 9007199254740992


@njit(cache=True, nogil=True)
def _update(net, st, n):
    """Step 1: propagate every neuron from t_n to t_{n+1}; branch-free inner loops.

    Each group's arrays are taken as slices into locals first: LLVM vectorises the loops only
    then (3-4x faster than indexing the NamedTuple fields or a 2-D array in the loop).
    """
    I = st.I
    group_start = net.group_start
    n_ch = I.shape[0]
    n = np.int32(n)  # same width as release: the compare vectorises with the float lanes
    for g in range(group_start.shape[0] - 1):
        lo = group_start[g]
        hi = group_start[g + 1]
        em = net.e_m[g]
        u = st.u[lo:hi]
        release = st.release[lo:hi]
        offset = net.offset[lo:hi]
        uniform = net.g_uniform[g]  # loop-invariant: LLVM unswitches the loops on it
        off0 = net.g_offset[g]
        m = hi - lo
        if n_ch == 2:
            p0 = net.p_syn[g, 0]
            p1 = net.p_syn[g, 1]
            e0 = net.e_syn[0]
            e1 = net.e_syn[1]
            I0 = I[0, lo:hi]
            I1 = I[1, lo:hi]
            for i in range(m):
                new = em * u[i] + (off0 if uniform else offset[i]) + p0 * I0[i] + p1 * I1[i]
                u[i] = new if n >= release[i] else u[i]
                a = I0[i] * e0
                I0[i] = a if abs(a) > TINY else 0.0
                b = I1[i] * e1
                I1[i] = b if abs(b) > TINY else 0.0
        elif n_ch == 1:
            p0 = net.p_syn[g, 0]
            e0 = net.e_syn[0]
            I0 = I[0, lo:hi]
            for i in range(m):
                new = em * u[i] + (off0 if uniform else offset[i]) + p0 * I0[i]
                u[i] = new if n >= release[i] else u[i]
                a = I0[i] * e0
                I0[i] = a if abs(a) > TINY else 0.0
        elif n_ch == 0:
            for i in range(m):
                new = em * u[i] + (off0 if uniform else offset[i])
                u[i] = new if n >= release[i] else u[i]
        else:
            for i in range(m):
                new = em * u[i] + (off0 if uniform else offset[i])
                u[i] = new if n >= release[i] else u[i]
            for c in range(n_ch):
                pc = net.p_syn[g, c]
                ec = net.e_syn[c]
                Ic = I[c, lo:hi]
                for i in range(m):
                    add = pc * Ic[i]
                    u[i] += add if n >= release[i] else 0.0
                    a = Ic[i] * ec
                    Ic[i] = a if abs(a) > TINY else 0.0


@njit(cache=True, nogil=True)
def _inputs(net, st, rng, n):
    """Steps 2-3: time-varying current, white noise, external Poisson spikes."""
    u = st.u
    I = st.I
    release = st.release
    tv_idx = net.tv_idx
    if tv_idx.shape[0] > 0:
        tv_values = net.tv_values
        tv_col = net.tv_col
        tv_coef = net.tv_coef
        row = n if tv_values.shape[0] > 1 else 0
        for q in range(tv_idx.shape[0]):
            i = tv_idx[q]
            if n >= release[i]:
                u[i] += tv_coef[q] * tv_values[row, tv_col[q]]
    noise_idx = net.noise_idx
    noise_coef = net.noise_coef
    for q in range(noise_idx.shape[0]):
        xi = rng.standard_normal()
        i = noise_idx[q]
        if n >= release[i]:
            u[i] += noise_coef[q] * xi
    cdf = net.pd_cdf
    for q in range(net.pd_start.shape[0]):
        lam = net.pd_lam[q]
        w = net.pd_w[q]
        tgt = net.pd_target[q]
        a = net.pd_cdf_start[q]
        table = net.pd_cdf_start[q + 1] > a
        for i in range(net.pd_start[q], net.pd_stop[q]):
            if table:  # inversion: one uniform and about lam + 1 comparisons
                x = rng.random()
                k = 0
                while x > cdf[a + k]:
                    k += 1
            else:
                k = rng.poisson(lam)
            if k > 0:
                if tgt >= 0:
                    I[tgt, i] += k * w
                elif n >= release[i]:
                    u[i] += k * w


@njit(cache=True, nogil=True)
def _deliver(net, st, n, early):
    """Step 4: spikes emitted at step n - D reach their targets at t_{n+1}.

    ``early=False``: the state is at t_{n+1}; add the jumps.  ``early=True`` (two-step pass):
    the state is still at t_n; add ``w / e_syn`` to I and subtract ``p_syn w / (e_syn e_m)``
    from u, so that the coming update lands exactly on the state with the jump at t_{n+1}
    (the dynamics are linear between spikes).  Clamped neurons need no care: ``_update2``
    holds them at their group's reset value, whatever u says.
    """
    ring = st.ring
    ring_cnt = st.ring_cnt
    L = ring.shape[0]
    u = st.u
    release = st.release
    syn_post = net.syn_post
    syn_w = net.syn_w
    b_indptr = net.b_indptr
    group_of = net.group_of
    one_group = net.e_m.shape[0] == 1
    for b in range(net.b_delay.shape[0]):
        slot = (n - net.b_delay[b] + L) % L
        cnt = ring_cnt[slot]
        tgt = net.b_target[b]
        for k in range(cnt):
            j = ring[slot, k]
            lo = b_indptr[b, j]
            hi = b_indptr[b, j + 1]
            if tgt >= 0:
                Ic = st.I[tgt]
                if early:
                    inv = 1.0 / net.e_syn[tgt]
                    if one_group:
                        comp = net.comp_u[0, tgt]
                        for s in range(lo, hi):
                            t = syn_post[s]
                            w = syn_w[s]
                            Ic[t] += w * inv
                            u[t] -= comp * w
                    else:
                        for s in range(lo, hi):
                            t = syn_post[s]
                            w = syn_w[s]
                            Ic[t] += w * inv
                            u[t] -= net.comp_u[group_of[t], tgt] * w
                else:
                    for s in range(lo, hi):
                        Ic[syn_post[s]] += syn_w[s]
            else:  # delta synapses never go early (see _update2)
                for s in range(lo, hi):
                    t = syn_post[s]
                    if n >= release[t]:
                        u[t] += syn_w[s]


@njit(cache=True, nogil=True)
def _threshold(net, st, n, spk_step, spk_neuron, n_spk):
    """Step 5: find crossings, record them, reset and start the clamp."""
    u = st.u
    flags = st.flags
    for i in range(u.shape[0]):  # vectorised: one byte per neuron
        flags[i] = u[i] >= 0.0
    return _scan(st, n, flags, False, net, spk_step, spk_neuron, n_spk)


@njit(cache=True, nogil=True)
def _update2(net, st, n, flags):
    """Steps n and n + 1 in one pass over memory (the fast path; every neuron's state stays in
    registers between the two steps, halving the memory traffic of the update).
    ``flags[i]`` gets bit 0 for a crossing at t_{n+1} (already reset here, branch-free) and
    bit 1 for a crossing at t_{n+2}.

    Valid when nothing but current synapses acts on the neurons (no noise, Poisson or timed
    input, no delta synapses): arrivals at t_{n+1} were added early by
    ``_deliver(..., early=True)``, and arrivals at t_{n+2} change I, not u(t_{n+2}).
    """
    I = st.I
    group_start = net.group_start
    n_ch = I.shape[0]
    for g in range(group_start.shape[0] - 1):
        lo = group_start[g]
        hi = group_start[g + 1]
        em = net.e_m[g]
        vr = net.g_reset[g]
        rel_a = np.int32(n + 1 + net.g_nref[g])
        n0 = np.int32(n)
        n1 = np.int32(n + 1)
        u = st.u[lo:hi]
        release = st.release[lo:hi]
        offset = net.offset[lo:hi]
        fl = flags[lo:hi]
        uniform = net.g_uniform[g]
        off0 = net.g_offset[g]
        m = hi - lo
        if n_ch == 2:
            p0 = net.p_syn[g, 0]
            p1 = net.p_syn[g, 1]
            e0 = net.e_syn[0]
            e1 = net.e_syn[1]
            I0 = I[0, lo:hi]
            I1 = I[1, lo:hi]
            for i in range(m):
                c = off0 if uniform else offset[i]
                x0 = I0[i]
                x1 = I1[i]
                r = release[i]
                v = em * u[i] + c + p0 * x0 + p1 * x1
                v = v if n0 >= r else vr  # a clamped neuron sits at its reset value
                x0 *= e0
                x1 *= e1
                sa = v >= 0.0
                v = vr if sa else v
                r = rel_a if sa else r
                w = em * v + c + p0 * x0 + p1 * x1
                w = w if n1 >= r else v
                a = x0 * e0
                b = x1 * e1
                u[i] = w
                if sa:  # a masked store: release changes only where step A crossed
                    release[i] = rel_a
                I0[i] = a if abs(a) > TINY else 0.0
                I1[i] = b if abs(b) > TINY else 0.0
                fl[i] = np.uint8(sa) | (np.uint8(w >= 0.0) << np.uint8(1))
        else:
            for i in range(m):
                c = off0 if uniform else offset[i]
                r = release[i]
                v = em * u[i] + c
                for ch in range(n_ch):
                    v += net.p_syn[g, ch] * I[ch, lo + i]
                v = v if n0 >= r else vr
                sa = v >= 0.0
                v = vr if sa else v
                r = rel_a if sa else r
                w = em * v + c
                for ch in range(n_ch):
                    x = I[ch, lo + i] * net.e_syn[ch]
                    w += net.p_syn[g, ch] * x
                    x *= net.e_syn[ch]
                    I[ch, lo + i] = x if abs(x) > TINY else 0.0
                w = w if n1 >= r else v
                u[i] = w
                release[i] = r
                fl[i] = np.uint8(sa) | (np.uint8(w >= 0.0) << np.uint8(1))


@njit(cache=True, nogil=True)
def _scan(st, n, flags, two, net, spk_step, spk_neuron, n_spk):
    """Turn the crossings marked in ``flags`` into spikes.

    One step (``two=False``): a nonzero byte is a crossing at t_{n+1}: record it (ring slot
    n), reset and clamp.  Two-step pass (``two=True``): bit 0 is a crossing at t_{n+1}
    (already reset by ``_update2``), bit 1 one at t_{n+2} (ring slot n + 1), recorded after
    all those at t_{n+1} so the spike table stays sorted by time, then reset and clamped.
    """
    ring = st.ring
    L = ring.shape[0]
    slot_a = n % L
    slot_b = (n + 1) % L
    u = st.u
    N = u.shape[0]
    words = flags.view(np.uint64)
    release = st.release
    ca = 0
    cb = 0
    n_words = words.shape[0]
    for w0 in range(0, n_words, 8):
        # crossings are rare: test 64 neurons at once, branch-free (an OR of eight words)
        if w0 + 8 <= n_words:
            if (words[w0] | words[w0 + 1] | words[w0 + 2] | words[w0 + 3] | words[w0 + 4] | words[w0 + 5]
                    | words[w0 + 6] | words[w0 + 7]) == 0:
                continue
        for i in range(8 * w0, min(8 * w0 + 64, N)):
            f = flags[i]
            if f == 0:
                continue
            if two:
                if f & 1:
                    ring[slot_a, ca] = i
                    ca += 1
                    spk_step[n_spk] = n + 1
                    spk_neuron[n_spk] = i
                    n_spk += 1
                if f & 2:
                    ring[slot_b, cb] = i
                    cb += 1
            else:
                ring[slot_a, ca] = i
                ca += 1
                spk_step[n_spk] = n + 1
                spk_neuron[n_spk] = i
                n_spk += 1
                u[i] = net.v_reset[i]
                release[i] = np.int32(n + 1 + net.n_ref[i])
    st.ring_cnt[slot_a] = ca
    if two:
        for k in range(cb):
            i = ring[slot_b, k]
            spk_step[n_spk] = n + 2
            spk_neuron[n_spk] = i
            n_spk += 1
            u[i] = net.v_reset[i]
            release[i] = np.int32(n + 2 + net.n_ref[i])
        st.ring_cnt[slot_b] = cb
    return n_spk


@njit(cache=True, nogil=True)
def _run_chunk(net, st, rng, step0, n_steps, spk_step, spk_neuron, n_spk,
               rec_idx, rec_every, rec_u, rec_I):
    """Advance one trial by up to ``n_steps`` steps from step index ``step0``.

    Stops early (before a step) when the spike buffers might overflow in that step; returns
    ``(n_spk, steps_done)`` so the caller can grow the buffers and call again.
    States ``t_m`` with ``m % rec_every == 0`` are written to row ``m // rec_every`` of
    ``rec_u`` / ``rec_I`` for the neurons ``rec_idx``.

    With ``net.fast`` and no state recording, steps run in pairs (``_update2``), bit for bit
    the same dynamics up to the round-off of the early delivery.

    Assumes: valid arrays of matching sizes; ``1 <= b_delay < ring length``.
    """
    N = st.u.shape[0]
    cap = spk_step.shape[0]
    n_rec = rec_idx.shape[0]
    n_ch = st.I.shape[0]
    fast = net.fast and n_rec == 0
    k = 0
    while k < n_steps:
        n = step0 + k
        if fast and k + 1 < n_steps:
            if cap - n_spk < 2 * N:
                return n_spk, k
            _deliver(net, st, n, True)
            _update2(net, st, n, st.flags)
            n_spk = _scan(st, n, st.flags, True, net, spk_step, spk_neuron, n_spk)
            _deliver(net, st, n + 1, False)
            k += 2
            continue
        if cap - n_spk < N:
            return n_spk, k
        k += 1
        _update(net, st, n)
        _inputs(net, st, rng, n)
        _deliver(net, st, n, False)
        n_spk = _threshold(net, st, n, spk_step, spk_neuron, n_spk)
        if n_rec > 0 and (n + 1) % rec_every == 0:
            row = (n + 1) // rec_every
            for r in range(n_rec):
                rec_u[row, r] = st.u[rec_idx[r]] + net.v_th[rec_idx[r]]
                for c in range(n_ch):
                    rec_I[row, c, r] = st.I[c, rec_idx[r]]
    return n_spk, n_steps


# ---------------------------------------------------------------------------- connectivity


@njit(cache=True, nogil=True)
def _bernoulli_pairs(rng, n_pre, n_post, p):
    """All (pre, post) pairs kept independently with probability p (0 < p < 1), by geometric
    skipping: O(number of synapses), rows in pre order, targets sorted."""
    mean = n_pre * n_post * p
    cap = int(mean + 10.0 * np.sqrt(mean + 1.0)) + 16
    pre = np.empty(cap, np.int32)
    post = np.empty(cap, np.int32)
    log_q = np.log1p(-p)
    m = 0
    for i in range(n_pre):
        j = -1
        while True:
            j += 1 + int(np.floor(np.log1p(-rng.random()) / log_q))
            if j >= n_post:
                break
            if m == pre.shape[0]:
                pre = _grow_i32(pre)
                post = _grow_i32(post)
            pre[m] = i
            post[m] = j
            m += 1
    return pre[:m], post[:m]


@njit(cache=True, nogil=True)
def _grow_i32(a):
    b = np.empty(2 * a.shape[0], np.int32)
    b[:a.shape[0]] = a
    return b


@njit(cache=True, nogil=True)
def _randint(rng, n):
    """Exactly uniform integer in [0, n) (n < 2**53) by rejection on 53-bit uniform draws;
    several times faster than Generator.integers in numba."""
    lim = TWO53 - TWO53 % n
    while True:
        m = np.int64(rng.random() * TWO53)
        if m < lim:
            return m % n


@njit(cache=True, nogil=True)
def _fixed_indegree_pairs(rng, n_pre, n_post, k, self_idx, multapses):
    """Each post neuron j gets k presynaptic partners drawn uniformly from range(n_pre),
    excluding ``self_idx[j]`` when it is >= 0; distinct (Floyd's algorithm) unless
    ``multapses``.  Assumes k <= number of candidates when not multapses."""
    pre = np.empty(n_post * k, np.int32)
    post = np.empty(n_post * k, np.int32)
    mark = np.zeros(n_pre, np.bool_)
    chosen = np.empty(k, np.int64)
    m = 0
    for j in range(n_post):
        ex = self_idx[j]
        n_cand = n_pre - 1 if ex >= 0 else n_pre
        if multapses:
            for a in range(k):
                chosen[a] = _randint(rng, n_cand)
        else:
            for a in range(k):  # Floyd: a uniform k-subset of range(n_cand)
                t = _randint(rng, n_cand - k + a + 1)
                if mark[t]:
                    t = n_cand - k + a
                mark[t] = True
                chosen[a] = t
            for a in range(k):
                mark[chosen[a]] = False
        for a in range(k):
            c = chosen[a]
            if ex >= 0 and c >= ex:
                c += 1
            pre[m] = c
            post[m] = j
            m += 1
    return pre, post


@njit(cache=True, nogil=True)
def _coo_to_csr(pre, post, w, n):
    """Counting sort of synapses by presynaptic neuron (stable): indptr (n + 1,), post, w."""
    indptr = np.zeros(n + 1, np.int64)
    for s in range(pre.shape[0]):
        indptr[pre[s] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    out_post = np.empty(pre.shape[0], np.int32)
    out_w = np.empty(pre.shape[0], w.dtype)
    for s in range(pre.shape[0]):
        d = fill[pre[s]]
        out_post[d] = post[s]
        out_w[d] = w[s]
        fill[pre[s]] += 1
    return indptr, out_post, out_w
