#!/usr/bin/env python
"""NEST peer runner for Brunel's (2000) model A (spikerate scenario ``brunel``).

The same network as ``spikerate.sim.brunel_network`` expressed with NEST 3's
``iaf_psc_delta``.  Run it with the peers virtualenv::

    PYNEST_QUIET=1 /work/peers-venv/bin/python nest_brunel.py --n 12500 \
        --t-stop 1.0 --seed 1 --g 5 --eta 2 --out-npz spikes.npz

Model
-----
N neurons, N_E = 0.8 N excitatory (created first) and N_I = N - N_E inhibitory.
Every neuron receives C_E = round(0.1 N_E) excitatory inputs of J = 0.1 mV and
C_I = round(0.1 N_I) inhibitory inputs of -g J, drawn with NEST's
``fixed_indegree`` rule (allow_autapses=False, allow_multapses=False), all with
a delay of 1.5 ms.  External drive: one ``poisson_generator`` at rate
C_E * nu_ext, nu_ext = eta * nu_thr, nu_thr = V_th / (J C_E tau_m), connected
to every neuron with weight J; NEST's poisson_generator sends an independent
realisation to each target, which is equivalent to C_E independent Poisson
inputs of rate nu_ext.  The generator's delay is one time step (0.1 ms), so the
drive starts at once, as in spikerate.

iaf_psc_delta: tau_m = 20 ms, C_m = 1 pF (irrelevant here: a delta input of
weight w makes V_m jump by w mV), E_L = 0, V_th = 20 mV, V_reset = 10 mV,
t_ref = 2 ms, I_e = 0, refractory_input = False (inputs arriving during the
refractory period are discarded), V_min unset (-inf).  V_m starts uniformly
in [0, 20] mV (nest.random.uniform).  resolution 0.1 ms, 1 thread,
rng_seed = seed + 1.  NEST stamps a spike at the end of the step in which the
threshold was crossed, as spikerate does.

Exactly one JSON line is written to stdout (NEST's own output is diverted to
stderr):  engine, n, n_e, t_stop, seed, g, eta, sim_time (wall time of
nest.Simulate), build_time (wall time of Create + Connect), n_spikes (all
spikes in (0, t_stop]), rate_e, rate_i, mean_rate, cv_isi, fano (the
statistics of brunel_stats.brunel_stats over [0.2 s, t_stop)), stats_n_spikes,
peak_rss_mb and NEST's kernel timers in ``details``.  The spike file, if
asked for, holds i (int32, 0-based, E then I) and t (float64, s).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import base_parser, emit, nest_results, peak_rss_mb, quiet_nest  # noqa: E402


def parse_args(argv=None):
    ap = base_parser(__doc__.split("\n")[0], n_default=12500, seed_help="seed; NEST rng_seed = seed + 1")
    ap.add_argument("--g", type=float, default=5.0, help="relative inhibitory strength")
    ap.add_argument("--eta", type=float, default=2.0, help="nu_ext / nu_thr")
    ap.add_argument("--t-start-stats", type=float, default=0.2,
                    help="transient discarded by the statistics (s)")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    import numpy as np

    dt_ms = 0.1
    nest, json_out = quiet_nest(args.seed, dt_ms)
    from brunel_stats import brunel_stats

    N = args.n
    N_E = int(round(0.8 * N))
    N_I = N - N_E
    C_E = max(1, int(round(0.1 * N_E)))
    C_I = max(1, int(round(0.1 * N_I)))
    J = 0.1          # mV
    g = args.g
    eta = args.eta
    tau_m = 20.0     # ms
    V_th = 20.0      # mV
    delay = 1.5      # ms
    nu_thr = V_th / (J * C_E * tau_m) * 1000.0  # Hz (10 Hz for C_E = 1000)
    nu_ext = eta * nu_thr                       # Hz per external input

    neuron_params = {
        "C_m": 1.0,         # pF; irrelevant for delta synapses (weight = jump in mV)
        "tau_m": tau_m,     # ms
        "t_ref": 2.0,       # ms
        "E_L": 0.0,         # mV
        "V_th": V_th,       # mV
        "V_reset": 10.0,    # mV
        "I_e": 0.0,         # pA
        "refractory_input": False,  # discard inputs arriving while refractory
    }

    t0 = time.perf_counter()
    P = nest.Create("iaf_psc_delta", N, params=neuron_params)  # E = P[:N_E], I = P[N_E:]
    P.V_m = nest.random.uniform(min=0.0, max=V_th)
    noise = nest.Create("poisson_generator", params={"rate": C_E * nu_ext})
    spikes = nest.Create("spike_recorder")

    def indeg(k):
        return {"rule": "fixed_indegree", "indegree": k,
                "allow_autapses": False, "allow_multapses": False}

    nest.Connect(P[:N_E], P, indeg(C_E),
                 {"synapse_model": "static_synapse", "weight": J, "delay": delay})
    nest.Connect(P[N_E:], P, indeg(C_I),
                 {"synapse_model": "static_synapse", "weight": -g * J, "delay": delay})
    nest.Connect(noise, P, "all_to_all",
                 {"synapse_model": "static_synapse", "weight": J, "delay": dt_ms})
    nest.Connect(P, spikes)
    t1 = time.perf_counter()

    nest.Simulate(args.t_stop * 1000.0)
    t2 = time.perf_counter()

    details, i, t = nest_results(nest, P, spikes)
    if args.out_npz:
        os.makedirs(os.path.dirname(os.path.abspath(args.out_npz)), exist_ok=True)
        np.savez(args.out_npz, i=i, t=t)

    st = brunel_stats(i, t, N, N_E, t_start=args.t_start_stats, t_stop=args.t_stop)
    result = {
        "engine": "nest",
        "n": N,
        "n_e": N_E,
        "t_stop": args.t_stop,
        "seed": args.seed,
        "g": g,
        "eta": eta,
        "sim_time": t2 - t1,
        "build_time": t1 - t0,
        "n_spikes": int(i.size),
        "rate_e": st["rate_e"],
        "rate_i": st["rate_i"],
        "mean_rate": st["mean_rate"],
        "cv_isi": st["cv_isi"],
        "fano": st["fano"],
        "stats_n_spikes": st["n_spikes"],
        "stats_t_start": args.t_start_stats,
        "peak_rss_mb": peak_rss_mb(),
        "details": details,
    }
    emit(json_out, result)


if __name__ == "__main__":
    main()
