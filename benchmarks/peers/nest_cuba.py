#!/usr/bin/env python
"""NEST peer runner for the Vogels-Abbott CUBA benchmark.

The same network as Brian2's ``examples/CUBA.py`` (see brian2_cuba.py),
expressed with NEST 3's ``iaf_psc_exp``.  Run it with the peers virtualenv::

    /work/peers-venv/bin/python nest_cuba.py --n 4000 --p 0.02 --t-stop 1.0 \
        --seed 1 --out-npz spikes.npz

Mapping of the Brian2 model onto iaf_psc_exp
--------------------------------------------
Brian2:  dv/dt = (ge + gi - (v - El)) / taum,  ge += we (in mV) on a spike.
NEST:    dV/dt = -(V - E_L) / tau_m + I_syn / C_m,  I_syn += w (in pA).
With C_m = 20 pF and tau_m = 20 ms, I_syn / C_m = I_syn[pA] / 20 pF equals
ge[mV] / 20 ms when I_syn[pA] = ge[mV], so the Brian2 weights carry over
numerically: w_E = 1.62 pA, w_I = -9.0 pA (negative weights go to the
inhibitory port with tau_syn_in).  Refractoriness clamps V at V_reset while
the synaptic currents keep decaying, as with Brian2's "(unless refractory)".

Differences that cannot be removed:
* NEST's minimal delay is one time step, so spikes arrive 0.1 ms later than
  with Brian2's zero-delay synapses.
* NEST stamps a spike at the end of the step in which the threshold was
  crossed (times in (0, t_stop]); Brian2 stamps it at the start of that step
  (times in [0, t_stop)).  Recorded times are saved as NEST reports them.
* Random numbers (V_m init, connectivity) come from a different generator, so
  the realisation differs from Brian2's for the same --seed.

Exactly one JSON line is written to stdout (NEST's own output is diverted to
stderr).  Keys as in brian2_cuba.py, with engine "nest":
    sim_time    wall time of nest.Simulate(t_stop) (Prepare + Run + Cleanup)
    build_time  wall time of Create + Connect (neurons, recorder, synapses)
    details     NEST's own kernel timers (time_simulate, time_communicate_prepare,
                time_construction_create/connect, ...), in seconds
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import base_parser, emit, nest_results, peak_rss_mb, quiet_nest  # noqa: E402


def parse_args(argv=None):
    ap = base_parser(__doc__.split("\n")[0], n_default=4000, seed_help="seed; NEST rng_seed = seed + 1")
    ap.add_argument("--p", type=float, default=0.02, help="connection probability")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    import numpy as np

    dt_ms = 0.1
    nest, json_out = quiet_nest(args.seed, dt_ms)

    N = args.n
    N_E = int(0.8 * N)
    p = args.p

    neuron_params = {
        "C_m": 20.0,        # pF; C_m == tau_m so that 1 pA acts like 1 mV
        "tau_m": 20.0,      # ms
        "tau_syn_ex": 5.0,  # ms (taue)
        "tau_syn_in": 10.0, # ms (taui)
        "t_ref": 5.0,       # ms
        "E_L": -49.0,       # mV
        "V_th": -50.0,      # mV
        "V_reset": -60.0,   # mV
        "I_e": 0.0,         # pA
    }
    we = 60 * 0.27 / 10     # 1.62 pA  (Brian2: mV)
    wi = -20 * 4.5 / 10     # -9.0 pA  (Brian2: mV)

    t0 = time.perf_counter()
    P = nest.Create("iaf_psc_exp", N, params=neuron_params)
    # Vr + rand() * (Vt - Vr)
    P.V_m = nest.random.uniform(min=-60.0, max=-50.0)
    spikes = nest.Create("spike_recorder")

    conn = {"rule": "pairwise_bernoulli", "p": p, "allow_autapses": True}
    nest.Connect(P[:N_E], P, conn, {"synapse_model": "static_synapse",
                                    "weight": we, "delay": dt_ms})
    nest.Connect(P[N_E:], P, conn, {"synapse_model": "static_synapse",
                                    "weight": wi, "delay": dt_ms})
    nest.Connect(P, spikes)
    t1 = time.perf_counter()

    nest.Simulate(args.t_stop * 1000.0)
    t2 = time.perf_counter()

    details, i, t = nest_results(nest, P, spikes)
    if args.out_npz:
        os.makedirs(os.path.dirname(os.path.abspath(args.out_npz)), exist_ok=True)
        np.savez(args.out_npz, i=i, t=t)

    n_spikes = int(i.size)
    result = {
        "engine": "nest",
        "n": N,
        "p": p,
        "t_stop": args.t_stop,
        "seed": args.seed,
        "sim_time": t2 - t1,
        "build_time": t1 - t0,
        "n_spikes": n_spikes,
        "mean_rate": n_spikes / (N * args.t_stop),
        "peak_rss_mb": peak_rss_mb(),
        "details": details,
    }
    emit(json_out, result)


if __name__ == "__main__":
    main()
