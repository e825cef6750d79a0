#!/usr/bin/env python
"""How far the reductions' step responses are from the network's, per tau_s/tau_m and choice of g.

CUBA (4000 neurons) under ``step_and_sine_drive`` (5 mV step on [0.2, 0.5) s, then a 5 Hz sinusoid
of 4 mV), ``trials`` trials, for each tau_s in ``--tau-s``; for every g in ``--g``
(``siegert``: noise following the rates in the rate and two-variable models, frozen in the
current model; ``measured``: simulated f-I curves; ``lif``).  Prints, per population E, the mean
rate before the step (0.1-0.2 s) -> during it (0.3-0.5 s) of the network and of each model, and
the RMSE / R^2 over the whole trace.  Run from the repository root::

    PYTHONPATH=. python benchmarks/reductions.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tau-s", type=float, nargs="+", default=[1e-3, 5e-3, 20e-3, 100e-3])
    p.add_argument("--g", nargs="+", default=["siegert", "measured"])
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    from spikerate.reduce import compare_reductions, step_and_sine_drive
    from spikerate.sim import cuba_network

    net = cuba_network()
    before, during = slice(100, 200), slice(300, 500)
    for g in args.g:
        t0 = time.perf_counter()
        ds = compare_reductions(net, step_and_sine_drive, t_stop=1.0, tau_s=args.tau_s, trials=args.trials,
                                seed=args.seed, g=g, progress=False)
        print(f"\ng = {g}  ({time.perf_counter() - t0:.1f} s)")
        print("| tau_s/tau_m | network | " + " | ".join(ds.model.values) + " |")
        for k, ts in enumerate(ds.tau_s.values):
            snn = ds.rate_snn.isel(tau_s=k).sel(population="E").values
            cells = [f"{snn[before].mean():.1f} → {snn[during].mean():.1f}"]
            for m in ds.model.values:
                r = ds.rate.isel(tau_s=k).sel(model=m, population="E").values
                e = ds.sel(model=m, population="E").isel(tau_s=k)
                cells.append(f"{r[before].mean():.1f} → {r[during].mean():.1f} "
                             f"({float(e.rmse):.1f} Hz, R² {float(e.r2):.2f})")
            print(f"| {ts / 0.02:g} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
