"""Shared pieces of the peer runners (they run in the peers virtualenv, not with spikerate)."""

import argparse
import json
import os
import resource
import sys


def peak_rss_mb():
    """max(ru_maxrss) of this process and its waited-for children, in MB."""
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(rss_self, rss_children) / 1024.0  # Linux: ru_maxrss is in KiB


def base_parser(description, *, n_default, seed_help):
    """--n, --t-stop, --seed and --out-npz, common to every runner."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--n", type=int, default=n_default, help="number of neurons")
    ap.add_argument("--t-stop", type=float, default=1.0, help="simulated time (s)")
    ap.add_argument("--seed", type=int, default=1, help=seed_help)
    ap.add_argument("--out-npz", default=None, help="optional .npz for spikes: i (int32), t (float64, s)")
    return ap


def quiet_nest(seed, dt_ms=0.1):
    """Import NEST with its stdout output diverted to stderr (so the JSON line is the only thing
    on stdout), reset the kernel (resolution, one thread, rng_seed = seed + 1) and return
    (nest, json_out)."""
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    os.environ.setdefault("PYNEST_QUIET", "1")  # suppress the import banner
    import nest
    nest.ResetKernel()
    try:  # NEST >= 3.10
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:  # older NEST 3.x
        nest.set_verbosity("M_ERROR")
    nest.SetKernelStatus({"resolution": dt_ms, "local_num_threads": 1,
                          "rng_seed": seed + 1})  # NEST requires a seed >= 1
    return nest, json_out


def emit(json_out, result):
    """Write the one JSON result line to the real stdout (see quiet_nest)."""
    sys.stdout.flush()
    json_out.write(json.dumps(result) + "\n")
    json_out.flush()


def nest_results(nest, population, recorder):
    """NEST's kernel timers (s; per-thread arrays: the max) with the connection count, and the
    recorded spikes as (i, t): 0-based int32 indices into ``population`` and times in s, sorted
    by time, then index."""
    import numpy as np
    ks = nest.GetKernelStatus()
    details = {k: float(np.max(ks[k])) for k in sorted(ks) if k.startswith("time_")}
    details["num_connections"] = int(ks["num_connections"])
    ev = recorder.get("events")
    i = (np.asarray(ev["senders"]) - population[0].global_id).astype(np.int32)
    t = np.asarray(ev["times"], dtype=np.float64) / 1000.0  # ms -> s
    order = np.lexsort((i, t))
    return details, i[order], t[order]


def time_calls(call, repeats, block):
    """The first call of ``call()`` (for JAX: tracing, compilation and one run) and ``repeats``
    timed calls after it, each up to ``block(out)`` (``jax.block_until_ready``).  Returns
    (first output, last output, first-call seconds, list of call seconds)."""
    import time
    t0 = time.perf_counter()
    first = call()
    block(first)
    first_s = time.perf_counter() - t0
    out, times = first, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = call()
        block(out)
        times.append(time.perf_counter() - t0)
    return first, out, first_s, times
