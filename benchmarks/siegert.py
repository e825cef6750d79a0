#!/usr/bin/env python
"""Speed (and accuracy) of the Siegert formula: evaluations per second on random points.

Random (mu, sigma) with mu uniform in [-10, 40] mV and sigma log-uniform in [0.1, 30] mV
(Brunel's neuron: tau_m = 20 ms, t_ref = 2 ms, v_th = 20 mV, v_reset = 10 mV), so the points
range from far below threshold (rate ~1e-300 Hz) to far above.  Each timing is the median of
``--reps`` runs on the same array after one warm-up call (which loads or compiles the kernel;
its time is reported separately).  For scale, ``scipy.integrate.quad`` of the Siegert integral
is timed on a few hundred points, and the maximum relative difference to it on those points is
reported.  Run from the repository root::

    PYTHONPATH=. python benchmarks/siegert.py
    PYTHONPATH=. python benchmarks/siegert.py --sizes 100000 --reps 3
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._timing import median_calls  # noqa: E402

NEURON = dict(tau_m=20e-3, t_ref=2e-3, v_th=20.0, v_reset=10.0)


def points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-10.0, 40.0, n), 10 ** rng.uniform(-1.0, math.log10(30.0), n)


def quad_rate(mu: float, sigma: float) -> float:
    """Adaptive-quadrature reference (scipy.integrate.quad), overflow-safe."""
    import scipy.integrate
    import scipy.special
    a = (NEURON["v_reset"] - mu) / sigma
    b = (NEURON["v_th"] - mu) / sigma
    e2 = max(b, 0.0) ** 2

    def f(u):
        if u <= 0.0:
            return scipy.special.erfcx(-u) * math.exp(-e2)
        return math.exp(u * u - e2) * scipy.special.erfc(-u)

    cuts = sorted({a, b, *([0.0] if a < 0.0 < b else []),
                   *([x for x in b - np.array([0.5, 2.0, 8.0, 30.0]) / b if x > a] if b > 1.0 else [])})
    total = sum(scipy.integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-13, limit=200)[0]
                for lo, hi in zip(cuts[:-1], cuts[1:]))
    s = math.exp(-e2)
    return s / (NEURON["t_ref"] * s + NEURON["tau_m"] * math.sqrt(math.pi) * total)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quad-points", type=int, default=300)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    from spikerate.models import lif_rate, siegert, siegert_derivatives
    siegert(15.0, 5.0, **NEURON)
    first = time.perf_counter() - t0
    print(f"# Siegert benchmark  ({platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"Python {platform.python_version()}, numpy {np.__version__})")
    print(f"import + first call (kernel load or compile): {first:.2f} s")
    print(f"{'function':<24}{'n':>10}{'median s':>12}{'evals/s':>14}")
    for n in args.sizes:
        mu, sigma = points(n)
        for name, f in (("siegert", lambda: siegert(mu, sigma, **NEURON)),
                        ("siegert (tau_s=2 ms)", lambda: siegert(mu, sigma, tau_s=2e-3, **NEURON)),
                        ("siegert_derivatives", lambda: siegert_derivatives(mu, sigma, **NEURON)),
                        ("lif_rate", lambda: lif_rate(mu, **NEURON))):
            t = median_calls(f, args.reps, pause=0.0, warmup=False)
            print(f"{name:<24}{n:>10}{t:>12.4f}{n / t:>14.3g}")

    m = args.quad_points
    mu, sigma = points(m, seed=1)
    ref = np.empty(m)
    t = median_calls(lambda: ref.__setitem__(slice(None), [quad_rate(x, s) for x, s in zip(mu, sigma)]), 1,
                     pause=0.0, warmup=False)
    print(f"{'scipy quad (reference)':<24}{m:>10}{t:>12.4f}{m / t:>14.3g}")
    got = siegert(mu, sigma, **NEURON)
    ok = ref > 1e-300
    err = np.max(np.abs(got[ok] / ref[ok] - 1.0))
    print(f"max relative difference to quad on {int(ok.sum())} points (rate > 1e-300 Hz): {err:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
