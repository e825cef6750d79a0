#!/usr/bin/env python
"""Brian2 peer runner for the Vogels-Abbott CUBA benchmark.

The model is a line-by-line transcription of Brian2's ``examples/CUBA.py``
(Vogels & Abbott 2005, current-based synapses), parameterised by the network
size N and the connection probability p.  It is meant to be run with the
separate peers virtualenv, not with spikerate's own environment::

    /work/peers-venv/bin/python brian2_cuba.py --n 4000 --p 0.02 --t-stop 1.0 \
        --seed 1 --mode standalone --build-dir /tmp/b2_cuba --out-npz spikes.npz

Exactly one JSON line is written to stdout (everything Brian2, make or the
generated binary print is diverted to stderr).  Keys:

engine       "brian2_standalone" or "brian2_runtime"
n, p, t_stop, seed   echo of the arguments (t_stop in seconds)
sim_time     seconds spent in the time-step loop only (see below)
build_time   seconds for network construction + code generation + compilation
             (+ in standalone mode the set-up done inside the compiled binary
             before the loop, i.e. drawing the synapses and initialising v)
n_spikes     total number of spikes recorded by the SpikeMonitor
mean_rate    n_spikes / (N * t_stop), in Hz
peak_rss_mb  max(ru_maxrss of RUSAGE_SELF, RUSAGE_CHILDREN) in MB.  In
             standalone mode the children include the C++ compiler, so this is
             usually the compiler's peak; ``details.binary_peak_rss_mb`` is the
             simulation binary's own peak.
details      a dict with the individual timing components (all in seconds)

How the times are measured
--------------------------
standalone (cpp_standalone, single thread, no OpenMP):
    construct_py      Python-side construction (NeuronGroup, Synapses,
                      connect, monitor, run() -- in standalone mode these only
                      record what the binary has to do)
    codegen_compile   device.build(compile=True, run=False): code generation
                      plus ``make clean && make`` (project is always rebuilt
                      from scratch)
    binary_setup      wall time inside main() from before the first
                      construction statement up to the network run call
                      (synapse creation, v initialisation), measured by C++
                      code injected with device.insert_code
    loop_wall         wall time around the network run call in main()
                      (includes the spike-queue preparation that precedes
                      Brian2's own loop timer)
    loop_brian2       Brian2's own ``device._last_run_time``: time of the
                      time-step while-loop of Network::run().  Without OpenMP
                      Brian2 measures it with std::clock(), i.e. process CPU
                      time, which equals wall time for this single-threaded,
                      non-I/O-bound loop.
    binary_wall       wall time of the whole ``./main`` process as seen from
                      Python (includes process start and writing results)
    sim_time   = loop_brian2
    build_time = construct_py + codegen_compile + binary_setup

runtime (Cython code generation, executed from Python):
    construct_py      Python-side construction.  In runtime mode this already
                      generates, compiles (Cython) and executes the code for
                      v initialisation and for Synapses.connect.
    run_total         wall time of the single run(t_stop) call
    loop_brian2       ``device._last_run_time`` set by Network.run(): wall time
                      of the Python time-step loop only (after before_run(),
                      which generates and compiles all remaining code objects)
    sim_time   = loop_brian2
    build_time = construct_py + (run_total - loop_brian2)
    The Cython cache is placed in BUILD_DIR/cython_cache and wiped before the
    run, so the compilation cost is always included.
"""

import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import base_parser, emit, peak_rss_mb  # noqa: E402


def parse_args(argv=None):
    ap = base_parser(__doc__.split("\n")[0], n_default=4000, seed_help="Brian2 seed()")
    ap.add_argument("--p", type=float, default=0.02, help="connection probability")
    ap.add_argument("--mode", choices=["standalone", "runtime"], default="standalone")
    ap.add_argument("--build-dir", required=True,
                    help="standalone project directory / Cython cache parent; "
                         "wiped before use (only if empty or made by this script)")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    # Everything below may print (Brian2 warnings, make, the binary, ...).
    # Point fd 1 at stderr so that the JSON line is the only thing on stdout.
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    import numpy as np
    import brian2 as b2
    from brian2 import ms, mV, second

    # Always start from an empty build directory so that the full compilation
    # is timed.  To avoid deleting anything else, an existing non-empty
    # directory is only wiped if it carries the marker left by this script.
    build_dir = os.path.abspath(args.build_dir)
    marker = os.path.join(build_dir, ".brian2_cuba_build")
    if os.path.isdir(build_dir) and os.listdir(build_dir):
        if not os.path.exists(marker):
            sys.exit(f"error: --build-dir {build_dir} is not empty and was not "
                     "created by brian2_cuba.py; refusing to wipe it")
        shutil.rmtree(build_dir)
    os.makedirs(build_dir, exist_ok=True)
    open(marker, "w").close()

    standalone = args.mode == "standalone"
    if standalone:
        b2.prefs.devices.cpp_standalone.openmp_threads = 0  # single thread
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
        device = b2.get_device()
        # <sys/resource.h> for getrusage() in the injected timing code.
        device.headers.append("<sys/resource.h>")
        # Start of the in-binary set-up timer: the first statement of main()'s
        # body, before any group is initialised or synapse created.
        device.insert_code(
            "main",
            "struct timespec _cuba_t0, _cuba_t1, _cuba_t2;\n"
            "clock_gettime(CLOCK_MONOTONIC, &_cuba_t0);",
        )
    else:
        b2.prefs.codegen.target = "cython"
        b2.prefs.codegen.runtime.cython.cache_dir = os.path.join(build_dir, "cython_cache")
        device = b2.get_device()

    t_construct0 = time.perf_counter()

    # ------------------------------------------------------------------
    # The model, exactly as Brian2's examples/CUBA.py (with N and p free)
    # ------------------------------------------------------------------
    b2.seed(args.seed)
    b2.defaultclock.dt = 0.1 * ms

    N = args.n
    N_E = int(0.8 * N)
    p = args.p

    taum = 20 * ms
    taue = 5 * ms
    taui = 10 * ms
    Vt = -50 * mV
    Vr = -60 * mV
    El = -49 * mV

    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """

    P = b2.NeuronGroup(N, eqs, threshold="v>Vt", reset="v = Vr",
                       refractory=5 * ms, method="exact")
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = 0 * mV
    P.gi = 0 * mV

    we = (60 * 0.27 / 10) * mV  # excitatory synaptic weight (voltage)
    wi = (-20 * 4.5 / 10) * mV  # inhibitory synaptic weight
    Ce = b2.Synapses(P, P, on_pre="ge += we")
    Ci = b2.Synapses(P, P, on_pre="gi += wi")
    Ce.connect("i<N_E", p=p)
    Ci.connect("i>=N_E", p=p)

    s_mon = b2.SpikeMonitor(P)

    details = {}
    if standalone:
        # End of set-up / start of the run: stamp before the network run call.
        device.insert_code("main", "clock_gettime(CLOCK_MONOTONIC, &_cuba_t1);")
        b2.run(args.t_stop * second)
        # After the run: stamp and write the timings + the binary's peak RSS.
        device.insert_code(
            "main",
            "clock_gettime(CLOCK_MONOTONIC, &_cuba_t2);\n"
            "{\n"
            "    struct rusage _cuba_ru;\n"
            "    getrusage(RUSAGE_SELF, &_cuba_ru);\n"
            "    std::ofstream _cuba_f(brian::results_dir + \"cuba_timing.txt\");\n"
            "    _cuba_f.precision(9);\n"
            "    _cuba_f << (_cuba_t1.tv_sec - _cuba_t0.tv_sec) + 1e-9 * (_cuba_t1.tv_nsec - _cuba_t0.tv_nsec) << \" \"\n"
            "            << (_cuba_t2.tv_sec - _cuba_t1.tv_sec) + 1e-9 * (_cuba_t2.tv_nsec - _cuba_t1.tv_nsec) << \" \"\n"
            "            << _cuba_ru.ru_maxrss << std::endl;\n"
            "}",
        )
        t_construct1 = time.perf_counter()

        # Code generation + compilation (no run).
        device.build(directory=build_dir, compile=True, run=False, clean=True,
                     with_output=False)
        t_built = time.perf_counter()

        # Run the compiled binary.
        device.run(directory=build_dir, with_output=False)

        with open(os.path.join(device.results_dir, "cuba_timing.txt")) as f:
            setup_s, loop_wall_s, bin_rss_kib = f.read().split()
        details.update(
            construct_py=t_construct1 - t_construct0,
            codegen_compile=t_built - t_construct1,
            make=device.timers["compile"]["make"],
            binary_setup=float(setup_s),
            loop_wall=float(loop_wall_s),
            loop_brian2=float(device._last_run_time),
            binary_wall=float(device.timers["run_binary"]),
            binary_peak_rss_mb=float(bin_rss_kib) / 1024.0,
        )
        sim_time = details["loop_brian2"]
        build_time = (details["construct_py"] + details["codegen_compile"]
                      + details["binary_setup"])
    else:
        t_construct1 = time.perf_counter()
        b2.run(args.t_stop * second)
        t_run = time.perf_counter()
        details.update(
            construct_py=t_construct1 - t_construct0,
            run_total=t_run - t_construct1,
            loop_brian2=float(device._last_run_time),
        )
        sim_time = details["loop_brian2"]
        build_time = details["construct_py"] + (details["run_total"] - sim_time)

    # Spikes (read from disk in standalone mode; not part of any timing).
    i = np.asarray(s_mon.i[:], dtype=np.int32)
    t = np.asarray(s_mon.t[:] / second, dtype=np.float64)
    if args.out_npz:
        out_dir = os.path.dirname(os.path.abspath(args.out_npz))
        os.makedirs(out_dir, exist_ok=True)
        np.savez(args.out_npz, i=i, t=t)

    n_spikes = int(i.size)
    result = {
        "engine": "brian2_" + args.mode,
        "n": N,
        "p": p,
        "t_stop": args.t_stop,
        "seed": args.seed,
        "sim_time": sim_time,
        "build_time": build_time,
        "n_spikes": n_spikes,
        "mean_rate": n_spikes / (N * args.t_stop),
        "peak_rss_mb": peak_rss_mb(),
        "details": details,
    }
    emit(json_out, result)


if __name__ == "__main__":
    main()
