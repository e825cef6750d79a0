#!/usr/bin/env python
"""Throughput of :func:`spikerate.sweep.sweep` on the default local dask cluster.

A sweep of the ``cuba`` scenario (4000 neurons, T = 1 s) over ``--points`` seeds, against the
ideal ``points x single-run time / cores``.  The single-run time is the median of ``--single``
in-process runs of one point (scenario + writing its file, warm kernels) -- what a worker does per
task.  Machine load during the sweep is read from ``/proc/stat`` (busy = not idle/iowait, all
cores).  The sweep time includes starting the cluster and merging the points into one file;
both are also reported.  Targets (issue 8): cores >= 85 % busy, sweep <= 1.2 x ideal.  Run from
the repository root::

    PYTHONPATH=. python benchmarks/sweep.py                # 200 points
    PYTHONPATH=. python benchmarks/sweep.py --points 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def cpu_times():
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields), idle


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=200)
    p.add_argument("--single", type=int, default=5)
    args = p.parse_args(argv)
    from spikerate.io import save
    from spikerate.scenario import apply_overrides, load_scenario, run_scenario
    from spikerate.sweep import sweep

    cores = os.cpu_count() or 1
    sc = load_scenario("cuba")
    with tempfile.TemporaryDirectory() as tmp:
        run_scenario(apply_overrides(sc, ["simulate.seed=1"]), progress=False)  # warm the kernels
        times = []
        for k in range(args.single):
            t0 = time.perf_counter()
            save(run_scenario(apply_overrides(sc, [f"simulate.seed={k}"]), progress=False), Path(tmp) / f"s{k}.nc")
            times.append(time.perf_counter() - t0)
        single = statistics.median(times)
        ideal = args.points * single / cores
        tot0, idle0 = cpu_times()
        t0 = time.perf_counter()
        tree = sweep(sc, {"simulate.seed": list(range(args.points))}, out=Path(tmp) / "sweep.nc")
        wall = time.perf_counter() - t0
        tot1, idle1 = cpu_times()
        root = tree.to_dataset()
        busy = 1.0 - (idle1 - idle0) / (tot1 - tot0)
        point_time = float(root["wall_time"].median())
        failed = int(root.attrs["n_failed"])
        root.attrs.update(tree.attrs)
    print(f"machine: {cores} cores; cuba (4000 neurons, 1 s) per point: {single:.3f} s in-process "
          f"(median of {args.single}), {point_time:.3f} s in a worker (median)")
    print("| points | sweep wall time | ideal (points x single / cores) | ratio | cores busy | failed |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {args.points} | {wall:.1f} s | {ideal:.1f} s | {wall / ideal:.2f} | {100 * busy:.0f} % | {failed} |")
    print("(targets: ratio <= 1.2, cores busy >= 85 %)")
    rest = wall - root.attrs["startup_time"] - root.attrs["run_time"] - root.attrs["merge_time"]
    print(f"phases: cluster start {root.attrs['startup_time']:.1f} s, points {root.attrs['run_time']:.1f} s, "
          f"merge {root.attrs['merge_time']:.1f} s, writing the merged file and the rest {rest:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
