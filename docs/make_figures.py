"""Make the figures of docs/scenarios.md: run every bundled scenario and plot its result.

    PYTHONPATH=. python docs/make_figures.py                      # every scenario (about 4 min on 2 cores)
    PYTHONPATH=. python docs/make_figures.py cuba transfer        # some of them
    PYTHONPATH=. python docs/make_figures.py --results /tmp/sr    # keep the result files there, and
                                                                  # reuse the ones already there

Each scenario runs as ``spikerate run NAME`` does (``run_scenario``, then ``save``) into
``<results>/scenario_<NAME>.nc``, and ``spikerate.plot.plot_file`` writes one PNG per stage into
docs/figures/ as ``scenario_<NAME>_<stage>[_<suffix>].png``.  ``sweep_reduction`` runs the reduced
grid ``SWEEP_GRID`` below (60 points instead of the scenario's 300) through
``spikerate.sweep.sweep`` on a local dask cluster, like ``spikerate sweep sweep_reduction --grid ...``,
and draws ``spikerate.plot.plot_sweep`` once per reduced model.  The run time of each scenario is
printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
FIGURES = DOCS / "figures"
sys.path.insert(0, str(DOCS.parent))  # run from a checkout without installing

#: the scenarios, in the order of docs/scenarios.md
SCENARIOS = ("cuba", "brunel", "transfer", "reduction", "sweep_reduction", "homework", "fixed_point", "surrogate")

#: the reduced grid of the sweep_reduction figure: 4 seeds instead of the scenario's 20 (60 points, not 300)
SWEEP_GRID = {"reduction.tau_s": [[0.001], [0.002], [0.005], [0.02], [0.1]], "network.we": [1.2, 1.62, 2.0],
              "reduction.seed": [0, 1, 2, 3]}


def run(name: str, results: Path, *, reuse: bool) -> tuple[Path, float | None]:
    """The result file of scenario ``name`` (run now unless ``reuse`` and it exists) and the
    wall time of the run in s (None when reused)."""
    from spikerate.io import save
    from spikerate.scenario import load_scenario, run_scenario
    from spikerate.sweep import sweep

    path = results / f"scenario_{name}.nc"
    if reuse and path.exists():
        return path, None
    t0 = time.perf_counter()
    if name == "sweep_reduction":
        sweep(name, SWEEP_GRID, out=path)
    else:
        save(run_scenario(load_scenario(name), progress=False), path)
    return path, time.perf_counter() - t0


def plot_sweep_models(path: Path) -> Path:
    """The sweep's RMSE heatmap (tau_s x we, mean over seeds and populations), one panel per
    reduced model.  (``plot_file`` reads each group without the root's coordinates, so its sweep
    heatmap would label the axes 0, 1, 2, ... instead of the swept values.)"""
    import matplotlib.pyplot as plt

    from spikerate.io import load
    from spikerate.plot import plot_sweep
    ds = load(path)["reduction"].to_dataset()  # with the grid coordinates of the root
    models = [str(m) for m in ds.model.values]
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        plot_sweep(ds.sel(model=model), ax=ax, variable="rmse")
        ax.set_title(f"{model} model: RMSE vs the network, mean of {ds.sizes['reduction__seed']} seeds",
                     fontsize="medium")
    fig.tight_layout()
    target = FIGURES / f"{path.stem}_reduction_sweep.png"
    fig.savefig(target, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(SCENARIOS), help="scenarios (default: all)")
    parser.add_argument("--results", default=None,
                        help="directory for the result files; existing scenario_NAME.nc files there are reused "
                             "(default: a temporary directory, everything runs)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}")

    import matplotlib
    matplotlib.use("Agg")
    from spikerate.plot import plot_file

    FIGURES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(args.results) if args.results else Path(tmp)
        results.mkdir(parents=True, exist_ok=True)
        for name in args.names:
            path, wall = run(name, results, reuse=args.results is not None)
            took = "reused" if wall is None else f"ran in {wall:.1f} s"
            print(f"{name}: {took} -> {path}")
            pngs = [plot_sweep_models(path)] if name == "sweep_reduction" else plot_file(path, FIGURES)
            for png in pngs:
                print(f"  figure -> {png.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
