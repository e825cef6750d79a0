"""The ``spikerate`` command.

::

    spikerate run [NAME|FILE.toml] [--out PATH] [--set key=value ...] [--plot]
    spikerate list
    spikerate show RESULT.nc
    spikerate plot RESULT.nc [-o DIR]

A user error (unknown scenario key, bad value, missing file) prints one line on stderr and
exits with status 2, writing nothing; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ..errors import SchemaError, ScenarioError

USER_ERRORS = (ScenarioError, SchemaError, ValueError, TypeError, FileNotFoundError, IsADirectoryError,
               MemoryError)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spikerate", description="Spiking networks, rate models and their training.")
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a scenario (default: reduction) and write a NetCDF file")
    r.add_argument("scenario", nargs="?", default=None, help="bundled scenario name or a .toml file")
    r.add_argument("--out", "-o", default=None, help="output file (default: NAME.nc in the current directory)")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario value, e.g. --set network.n_neurons=1000 (repeatable)")
    r.add_argument("--quiet", "-q", action="store_true", help="no summary and no progress bar")
    r.add_argument("--plot", action="store_true", help="also write a PNG per stage next to the output file")
    r.add_argument("--stage", default=None, help="run only this stage (e.g. reduction; /rates also runs /spikes) "
                                                  "and write it alone")
    sw = sub.add_parser("sweep", help="run a scenario over a grid of values on dask and merge the results")
    sw.add_argument("scenario", help="bundled scenario name or a .toml file")
    sw.add_argument("--grid", "-g", action="append", default=[], metavar="KEY=V1,V2,...",
                    help="a swept key and its values (or start:stop for integers), e.g. --grid simulate.seed=0:20 "
                         "(repeatable: the grid is the product)")
    sw.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="a fixed override for every point (repeatable)")
    sw.add_argument("--scheduler", default=None,
                    help="dask scheduler address (tcp://host:port); default: a local cluster, one process per core; "
                         "'sync' runs the points here one by one")
    sw.add_argument("--out", "-o", default=None, help="merged result (default: NAME_sweep.nc); points go to OUT.points/")
    sw.add_argument("--resume", action="store_true", help="keep the points already in OUT.points/ and run the rest")
    sw.add_argument("--retries", type=int, default=None,
                    help="retries of a failing point (default: the scenario's [sweep] retries, else 1)")
    sw.add_argument("--stage", default=None, help="run and merge only this stage of the scenario at each point")
    sw.add_argument("--chunk", type=int, default=None,
                    help="points per dask task (default: up to 4, at least 8 tasks per worker)")
    sub.add_parser("list", help="list the bundled scenarios")
    s = sub.add_parser("show", help="summarise a result file")
    s.add_argument("file")
    pl = sub.add_parser("plot", help="write a PNG per stage of a result file")
    pl.add_argument("file")
    pl.add_argument("--out-dir", "-o", default=".", help="directory for the PNG files (default: current)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "list":
            return _list()
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "plot":
            return _plot(args.file, args.out_dir)
        return _show(args.file)
    except USER_ERRORS as exc:
        if args.debug:
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"spikerate: error: {msg}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from ..io import save
    from ..scenario import DEFAULT, apply_overrides, load_scenario, run_scenario
    sc = load_scenario(args.scenario or DEFAULT)
    if args.sets:
        sc = apply_overrides(sc, args.sets)
    out = Path(args.out) if args.out else Path(f"{sc.name}.nc")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise FileNotFoundError(f"`--out` {str(out)!r}: directory {str(out.parent)!r} does not exist.")
    if out.is_dir():
        raise IsADirectoryError(f"`--out` {str(out)!r} is a directory; give a file name such as {str(out / (sc.name + '.nc'))!r}.")
    t0 = time.perf_counter()
    tree = run_scenario(sc, progress=False if args.quiet else None, stage=args.stage)
    save(tree, out)
    wall = time.perf_counter() - t0
    if not args.quiet:
        for name, node in tree.children.items():
            ds = node.to_dataset()
            if name == "spikes":
                print(summary_line(ds, name=sc.name))
                print(f"  simulation: compile {ds.attrs['compile_time']:.2f} s, build {ds.attrs['build_time']:.2f} s, "
                      f"run {ds.attrs['run_time']:.2f} s")
            else:
                print(f"{sc.name}: /{name} " + ", ".join(f"{k}={v}" for k, v in ds.sizes.items()))
            if name == "training":
                for line in training_lines(ds):
                    print("  " + line)
        print(f"  wall time {wall:.2f} s -> {out}")
    if args.plot:
        _plot(out, out.parent if str(out.parent) else ".", quiet=args.quiet)
    return 0


def _sweep(args) -> int:
    from ..scenario import load_scenario
    from ..sweep import parse_grid, sweep
    sc = load_scenario(args.scenario)
    table = sc.config.get("sweep", {})
    if not args.grid and not table.get("grid"):
        raise ValueError("`spikerate sweep` needs at least one --grid KEY=V1,V2,... (e.g. --grid simulate.seed=0:4) "
                         "or a scenario with a [sweep] grid.")
    grid = parse_grid(args.grid) if args.grid else dict(table["grid"])
    out = Path(args.out) if args.out else Path(f"{sc.name}_sweep.nc")

    def setting(name, default):  # the command line, else the scenario's [sweep] table
        value = getattr(args, name)
        return table.get(name, default) if value is None else value

    t0 = time.perf_counter()
    tree = sweep(sc, grid, out=out, client=args.scheduler, retries=setting("retries", 1), resume=args.resume,
                 sets=args.sets, chunk=setting("chunk", None), stage=setting("stage", None))
    root = tree.to_dataset()
    n, failed = int(root.attrs["n_points"]), int(root.attrs["n_failed"])
    print(f"{sc.name}: {n} points, {failed} failed, wall time {time.perf_counter() - t0:.1f} s -> {out}")
    for idx in zip(*np.nonzero(root["status"].values != "ok")):
        print(f"  failed {dict(zip(root['status'].dims, idx))}: {root['error'].values[idx]}")
    return 0 if failed == 0 else 1


def _plot(file, out_dir, *, quiet: bool = False) -> int:
    from ..plot import plot_file
    for path in plot_file(file, out_dir):
        if not quiet:
            print(f"  figure -> {path}")
    return 0


def training_lines(ds) -> list[str]:
    """Per epoch, as the lecture's loop prints it: the loss, each parameter's update and, for
    scalar parameters, the value after the update; then the agreement of other methods."""
    names = [v[len("update_"):] for v in ds.data_vars if v.startswith("update_")]

    def fmt(a):
        a = np.asarray(a)
        return f"{a.item():.6g}" if a.size == 1 else f"|{np.sqrt(np.sum(a * a)):.3g}|"

    lines = []
    for k in range(ds.sizes["epoch"]):
        parts = [f"epoch {k}: loss={float(ds.loss[k]):.6g}"]
        parts += [f"d{n}={fmt(ds[f'update_{n}'].values[k])}" for n in names]
        parts += [f"{n}={fmt(ds[n].values[k] + ds[f'update_{n}'].values[k])}" for n in names
                  if ds[n].values[k].size == 1]
        lines.append(", ".join(parts))
    for key, value in ds.attrs.items():
        if key.startswith("max_update_difference_"):
            lines.append(f"{ds.attrs['method']} vs {key[len('max_update_difference_'):]}: largest relative "
                         f"difference of the updates {value:.2g}")
    return lines


def summary_line(ds, *, name: str = "") -> str:
    n = ds.sizes["neuron"]
    trials = int(ds.attrs.get("n_trials", 1))
    dur = float(ds.attrs["duration"])
    spikes = ds.sizes["spike"]
    rate = spikes / (n * dur * trials)
    head = f"{name}: " if name else ""
    return (f"{head}{n} neurons, {dur:g} s x {trials} trial{'s' if trials > 1 else ''}, {spikes} spikes, "
            f"mean rate {rate:.2f} Hz")


def _list() -> int:
    from ..scenario import list_scenarios
    items = list_scenarios()
    width = max(map(len, items), default=0)
    for name, desc in items.items():
        print(f"{name:<{width}}  {desc}")
    return 0


def _point_value(ds, name, index, default):
    """An attribute of one point of a merged stage: the attribute, or its per-point variable."""
    if f"point_attrs__{name}" in ds:
        return ds[f"point_attrs__{name}"].values[index]
    return ds.attrs.get(name, default)


def _swept_spike_lines(ds, most: int = 12) -> list[str]:
    """Per point of a swept spike table: the grid values, the spikes and the mean rate."""
    grid = json.loads(ds.attrs["sweep_dims"])
    shape = tuple(ds.sizes[d] for d in grid)
    times = ds["spike_time"].values
    lines = []
    for flat in range(int(np.prod(shape))):
        index = np.unravel_index(flat, shape)
        if flat == most:
            lines.append(f"... {int(np.prod(shape)) - most} more points")
            break
        label = ", ".join(f"{d.replace('__', '.')}={ds[d].values[i]}" for d, i in zip(grid, index))
        spikes = int(np.isfinite(times[index]).sum())
        neurons = (int((ds["neuron"].values[index] >= 0).sum()) if ds["neuron"].ndim > 1
                   else ds.sizes["neuron"])
        duration = float(_point_value(ds, "duration", index, np.nan))
        trials = float(_point_value(ds, "n_trials", index, 1))
        if not np.isfinite(duration) or neurons == 0:
            lines.append(f"{label}: no result (failed point)")
            continue
        lines.append(f"{label}: {neurons} neurons, {spikes} spikes, {spikes / (neurons * duration * trials):.2f} Hz")
    return lines


def _show(file: str) -> int:
    import xarray as xr

    from ..io import load
    obj = load(file)
    nodes = [("/", obj)] if isinstance(obj, xr.Dataset) else [(n.path, n.to_dataset())  # (with the grid coords)
                                                             for n in obj.subtree]
    for path, ds in nodes:
        if not ds.data_vars and not ds.attrs:
            continue
        schema = ds.attrs.get("schema", "")
        print(f"{path}  {schema}")
        if path == "/" and "scenario" in ds.attrs:
            print(f"  scenario {ds.attrs['scenario']}: {ds.attrs.get('description', '')}")
        dims = ", ".join(f"{k}={v}" for k, v in ds.sizes.items())
        if dims:
            print(f"  dims: {dims}")
        if "sweep_dims" in ds.attrs:  # a stage merged over a sweep grid
            print(f"  swept over {', '.join(json.loads(ds.attrs['sweep_dims']))} (select a point with "
                  f"xarray .sel to summarise it)")
            if schema.startswith("spikerate.spikes/"):
                for line in _swept_spike_lines(ds):
                    print("    " + line)
            continue
        if schema.startswith("spikerate.sweep/"):
            st = ds["status"].values
            print(f"  {st.size} points, {int((st != 'ok').sum())} failed")
        if schema.startswith("spikerate.spikes/"):
            print("  " + summary_line(ds))
            pops = ds["population"].values
            for pop in dict.fromkeys(pops):
                sel = (pops[ds["spike_neuron"].values] == pop).sum()
                n = int((pops == pop).sum())
                r = sel / (n * float(ds.attrs["duration"]) * int(ds.attrs.get("n_trials", 1)))
                print(f"    population {pop}: {n} neurons, {int(sel)} spikes, {r:.2f} Hz")
            print(f"  seed {ds.attrs.get('seed')}, dt {ds.attrs.get('dt')} s, method {ds.attrs.get('method')}, "
                  f"dtype {ds.attrs.get('dtype')}, spikerate {ds.attrs.get('spikerate_version')}")
        if schema.startswith("spikerate.reduction/"):
            pops = [str(p) for p in ds.population.values]
            print("  RMSE [Hz] / R^2 per population (" + ", ".join(pops) + "):")
            for i, tau in enumerate(ds.tau_s.values):
                for m, model in enumerate(ds.model.values):
                    vals = "  ".join(f"{ds.rmse.values[i, m, j]:6.2f} / {ds.r2.values[i, m, j]:5.2f}"
                                     for j in range(len(pops)))
                    print(f"    tau_s {tau * 1e3:6.2f} ms  {str(model):<18} {vals}")
    return 0
