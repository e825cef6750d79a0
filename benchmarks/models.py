#!/usr/bin/env python
"""Speed of :func:`spikerate.models.integrate`: a dense RateModel against bare numpy matvecs.

One Euler step of a RateModel costs one dense ``W @ r`` (BLAS gemv, inside the compiled kernel)
plus O(n) work for ``g`` and the update.  The reference is the cheapest possible loop that does
the matvec alone in numpy, ``for t in range(n_steps): y = W @ r``; the target is a ratio
(integrate / matvecs) of at most 2.  Both are measured in the same run, interleaved: the steps
are split into ``--chunks`` pieces and each piece is timed for the model and then for numpy, so
that load from other processes on a shared machine hits both sides alike (on 2 cores a busy
core slows multi-threaded BLAS several-fold).  One warm-up call loads or compiles the kernel;
its time is reported separately.  Run from the repository root::

    PYTHONPATH=. python benchmarks/models.py                    # n = 1000, 1e4 steps
    PYTHONPATH=. python benchmarks/models.py --steps 100000
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/models.py     # both sides single-threaded
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="units (default 1000)")
    p.add_argument("--steps", type=int, default=10_000, help="Euler steps (default 1e4)")
    p.add_argument("--chunks", type=int, default=10, help="interleaved pieces (default 10)")
    p.add_argument("--g", default="tanh", help="transfer name (default tanh)")
    args = p.parse_args(argv)

    from spikerate.models import RateModel, integrate

    rng = np.random.default_rng(0)
    n = args.n
    w = rng.normal(0.0, 1.0 / np.sqrt(n), (n, n))
    model = RateModel(w=w, u=np.eye(n, 1), b=np.zeros(n), tau=10e-3, g=args.g)
    x = np.array([1.0])
    dt = 1e-4

    t0 = time.perf_counter()
    integrate(model, x, dt=dt, t_stop=10 * dt)
    warm = time.perf_counter() - t0

    W = np.ascontiguousarray(w)
    r = rng.normal(size=n)
    chunk = max(args.steps // args.chunks, 1)
    t_model = t_np = 0.0
    state = None
    for _ in range(args.chunks):
        t = time.perf_counter()
        ds = integrate(model, x, dt=dt, t_stop=chunk * dt, state0=state, record_every=chunk)
        t_model += time.perf_counter() - t
        state = ds.r.values[-1]
        t = time.perf_counter()
        for _ in range(chunk):
            W @ r
        t_np += time.perf_counter() - t
    steps = chunk * args.chunks
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, python {platform.python_version()}")
    print(f"RateModel n={n}, g={args.g}, {steps} Euler steps in {args.chunks} interleaved chunks "
          f"(warm-up/compile call {warm:.2f} s)")
    print(f"  integrate (numba kernel, BLAS W@r): {t_model:8.3f} s  ({t_model / steps * 1e6:7.2f} us/step)")
    print(f"  numpy matvecs only (y = W @ r)   : {t_np:8.3f} s  ({t_np / steps * 1e6:7.2f} us/step)")
    print(f"  ratio integrate / matvecs        : {t_model / t_np:8.2f}  (target <= 2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
