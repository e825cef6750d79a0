"""Parameter sweeps of a scenario on dask: :func:`sweep` and ``spikerate sweep``.

Every point of the grid (the Cartesian product of the values given per scenario key, e.g.
``{"network.n_neurons": [1000, 2000], "simulate.seed": range(20)}``) runs the scenario with
those values set (exactly as ``spikerate run NAME --set key=value ...``); a few points make one
dask task (``chunk``).  Each finished point is written at once to its own file in a directory
next to the output (``<out>.points/point-00012.npz``, atomically, :mod:`spikerate.io.arrays`),
so a killed sweep loses nothing: ``resume=True`` skips the points whose file is there.  A point
that raises is tried again ``retries`` times, then recorded as failed with its error; the other
points are never lost (a task whose worker died is rerun by dask, skipping the points it had
written).  At the end the points are merged: every stage's Dataset gets the grid keys as new
leading dimensions (coordinates named after the keys, ``network.n_neurons`` ->
``network__n_neurons``), in one DataTree with the ``status``, ``error`` and ``wall_time`` of
every point at the root.

Scheduler: ``client=None`` starts a local dask cluster sized to the machine (one process per
core, one thread each, numba's threads pinned to 1 in the workers so that the processes share
the cores instead of oversubscribing them); a ``distributed.Client`` or a scheduler address
(``tcp://host:port``) runs the same tasks on a cluster.  Compiled kernels come from numba's
on-disk cache, so workers do not recompile per task.  ``client="sync"`` runs the points one by
one in this process (tests, debugging).

Stages whose dims differ between points (a spike table's ``spike`` dimension, the neurons of
networks of different sizes) are padded to the longest point with NaN (-1 for integers, "" for
strings).
"""

from __future__ import annotations

import itertools
import json
import os
import time
import traceback
from pathlib import Path

import numpy as np
import xarray as xr

from ._validation import check_int, describe, suggest
from .errors import ScenarioError
from .io import save
from .io.arrays import load_arrays, save_arrays
from .io.schema import base_attrs
from .scenario import Scenario, apply_overrides, load_scenario, parse_value, run_scenario, scenario_stages

SWEEP = "spikerate.sweep/1"


def parse_grid(items: list[str]) -> dict[str, list]:
    """``["network.g=4,5,6", "simulate.seed=0:20"]`` -> ``{"network.g": [4, 5, 6], "simulate.seed":
    [0, ..., 19]}`` (``a:b`` is an integer range, values are TOML literals)."""
    grid = {}
    for item in items:
        if "=" not in item:
            raise ScenarioError(f"`--grid {item}` must have the form key=v1,v2,... or key=start:stop.")
        key, text = item.split("=", 1)
        text = text.strip()
        if ":" in text and all(p.strip().lstrip("-").isdigit() for p in text.split(":")):
            a, b = (int(p) for p in text.split(":"))
            values = list(range(a, b))
        else:
            values = [parse_value(v.strip()) for v in text.split(",") if v.strip()]
        if not values:
            raise ScenarioError(f"`--grid {item}` has no values.")
        grid[key.strip()] = values
    return grid


def _check_grid(sc: Scenario, grid) -> dict[str, list]:
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"`grid` must be a non-empty dict scenario key -> list of values; got {describe(grid)}.")
    out = {}
    for key, values in grid.items():
        values = list(values)
        if not values:
            raise ValueError(f"`grid[{key!r}]` has no values.")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"`grid[{key!r}]` repeats a value: {values}.")
        apply_overrides(sc, [f"{key}={_toml(values[0])}"])  # the key must exist (clear error otherwise)
        out[key] = values
    return out


def _toml(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(v.item() if hasattr(v, "item") else v)


def _run_point(scenario_source: dict, sets: list[str], path: str) -> dict:
    """One grid point (runs in a worker, or here with client="sync"): run and write ``path``
    atomically; never raises.  The result travels back with the status (``tree``), so merging
    need not read the files again.  (A worker's thread settings come from the cluster's env.)"""
    t0 = time.perf_counter()
    try:
        sc = Scenario(name=scenario_source["name"], config=scenario_source["config"],
                      source=scenario_source.get("source"))
        tree = run_scenario(apply_overrides(sc, sets), progress=False, stage=scenario_source.get("stage"))
        save_arrays(tree, path)
        return {"status": "ok", "error": "", "wall_time": time.perf_counter() - t0, "tree": tree}
    except Exception as exc:  # noqa: BLE001 - recorded per point, the sweep goes on
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=5), "wall_time": time.perf_counter() - t0}


def _run_points(scenario_source: dict, items: list, retries: int) -> list:
    """Task body: the points ``items`` = [(index, sets, path), ...] one after the other, each
    tried up to ``1 + retries`` times; returns [(index, result), ...].  A point whose file exists
    was written by an earlier attempt of this task (its worker died and dask ran the task again):
    it is not run twice, the merge reads its file.  Never raises for a failing point, so dask's
    own ``retries`` are left for lost workers."""
    out = []
    for index, sets, path in items:
        if Path(path).exists():
            out.append((index, {"status": "ok", "error": "", "wall_time": float("nan")}))
            continue
        for attempt in range(retries + 1):
            result = _run_point(scenario_source, sets, path)
            if result["status"] == "ok":
                break
        result["attempts"] = attempt + 1
        out.append((index, result))
    return out


def _chunk_size(chunk, n_points: int, n_workers: int) -> int:
    """Points per task: given, or enough tasks per worker (8) to balance the load while the
    per-task overhead (~ms) is shared by up to 4 points."""
    if chunk is not None:
        return check_int("chunk", chunk, minimum=1)
    return max(1, min(4, n_points // (8 * max(n_workers, 1))))


def _client(client):
    if client is None:
        from distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None, env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                                                            "OPENBLAS_NUM_THREADS": "1"})
        return Client(cluster), True
    if isinstance(client, str):
        from distributed import Client
        return Client(client), True
    return client, False


def sweep(scenario: str | Scenario, grid: dict, *, out: str | os.PathLike, client=None, retries: int = 1,
          resume: bool = False, sets: list[str] | None = None, chunk: int | None = None,
          stage: str | None = None) -> xr.DataTree:
    """Run ``scenario`` at every point of ``grid`` on dask and merge the results (module docstring).

    Parameters
    ----------
    scenario : str or Scenario
        Bundled name, a .toml path, or a loaded scenario.
    grid : dict
        Scenario key (``section.key``) -> list of values.
    out : path
        The merged result (NetCDF); the points go to ``<out>.points/``.
    client : None, "sync", str or distributed.Client
        Local cluster (default), run here one by one, a scheduler address, or a client.
    retries : int
        Attempts after the first for a failing point (and for a task whose worker was lost).
    resume : bool
        Keep the points already written in ``<out>.points/`` and run only the others.
    sets : list of str, optional
        Fixed ``key=value`` overrides for every point.
    chunk : int, optional
        Points per dask task (each still written as it finishes).  Default: up to 4, keeping at
        least 8 tasks per worker, which shares the per-task overhead without unbalancing the end.
    stage : str, optional
        Run (and merge) only this stage of the scenario at each point, e.g. ``"reduction"``
        (``run_scenario(..., stage=...)``); checked before any point runs.

    Returns
    -------
    xarray.DataTree
        Each stage's group with the grid keys as leading dims; the root has ``status`` and
        ``error`` per point and the grid as attributes.  Also written to ``out``.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if sets:
        sc = apply_overrides(sc, sets)
    grid = _check_grid(sc, grid)
    retries = check_int("retries", retries, minimum=0)
    out = Path(out)
    points_dir = out.with_name(out.name + ".points")
    points_dir.mkdir(parents=True, exist_ok=True)
    keys = list(grid)
    combos = list(itertools.product(*(grid[k] for k in keys)))
    paths = [points_dir / f"point-{i:05d}.npz" for i in range(len(combos))]
    manifest = points_dir / "grid.json"
    spec = json.dumps({"scenario": sc.name, "grid": {k: [_toml(v) for v in vs] for k, vs in grid.items()},
                       "sets": list(sets or []), "config": sc.config, "stage": stage}, sort_keys=True,
                      default=str)
    if manifest.exists() and resume and manifest.read_text() != spec:
        raise ValueError(f"`resume`: {points_dir} holds the points of a different sweep (scenario, grid or "
                         f"settings changed); use another `out` or resume=False.")
    tmp = manifest.with_suffix(".json.tmp")
    tmp.write_text(spec)
    tmp.replace(manifest)
    todo = [i for i, p in enumerate(paths) if not (resume and p.exists())]
    if not resume:
        for p in paths:
            p.unlink(missing_ok=True)
    if stage is not None and stage not in scenario_stages(sc):
        have = scenario_stages(sc)
        raise ScenarioError(f"`stage` {stage!r} is not a stage of scenario {sc.name!r}; it has {have}."
                            + suggest(str(stage), have))
    source = {"name": sc.name, "config": sc.config, "source": str(sc.source) if sc.source else None,
              "stage": stage}
    point_sets = [[f"{k}={_toml(v)}" for k, v in zip(keys, combo)] for combo in combos]
    results = {i: {"status": "ok", "error": "", "wall_time": float("nan")} for i in range(len(combos))
               if i not in todo}
    items = [(i, point_sets[i], str(paths[i])) for i in todo]
    timing = {"startup_time": 0.0, "run_time": 0.0}
    if todo and client == "sync":
        t0 = time.perf_counter()
        results.update(_run_points(source, items, retries))
        timing["run_time"] = time.perf_counter() - t0
    elif todo:
        t0 = time.perf_counter()
        cl, owned = _client(client)
        timing["startup_time"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            size = _chunk_size(chunk, len(items), len(cl.scheduler_info().get("workers", {})))
            stamp = time.time_ns()
            futures = [(part, cl.submit(_run_points, source, part, retries, retries=retries, pure=False,
                                        key=f"spikerate-points-{part[0][0]}-{stamp}"))
                       for part in (items[k:k + size] for k in range(0, len(items), size))]
            for part, fut in futures:
                try:
                    results.update(fut.result())
                except Exception as exc:  # noqa: BLE001 - a lost task's points are recorded, not fatal
                    for i, _, path in part:
                        results[i] = ({"status": "ok", "error": "", "wall_time": float("nan")} if Path(path).exists()
                                      else {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                                            "wall_time": float("nan")})
            timing["run_time"] = time.perf_counter() - t0
        finally:
            if owned:
                cluster = getattr(cl, "cluster", None)
                cl.close()
                if cluster is not None:
                    cluster.close()
    t0 = time.perf_counter()
    tree = merge_points(paths, keys, combos, results, name=sc.name)
    timing["merge_time"] = time.perf_counter() - t0
    tree.attrs["description"] = sc.description
    tree.attrs.update(timing)
    save(tree, out)
    return tree


def _coord_value(v):
    """A grid value as a coordinate label: scalars as they are, lists and tables as their TOML."""
    return v if np.isscalar(v) else _toml(v)


def _coord_name(key: str) -> str:
    return key.replace(".", "__")


def merge_points(paths, keys, combos, results, *, name: str) -> xr.DataTree:
    """Stack the points' DataTrees along the grid keys (missing or failed points: NaN)."""
    combos = [tuple(_coord_value(v) for v in c) for c in combos]
    shape = tuple(len(dict.fromkeys(c[k] for c in combos)) for k in range(len(keys)))
    values = [list(dict.fromkeys(c[k] for c in combos)) for k in range(len(keys))]
    trees = [(results[i].get("tree") or load_arrays(p)) if results[i]["status"] == "ok" else None
             for i, p in enumerate(paths)]
    groups = sorted({g for t in trees if t is not None for g in t.children})
    dims = [_coord_name(k) for k in keys]
    coords = {d: (d, np.asarray(v)) for d, v in zip(dims, values)}
    out = {}
    for g in groups:
        parts = [t[g].to_dataset() if t is not None and g in t.children else None for t in trees]
        template = next(p for p in parts if p is not None)
        present = [p for p in parts if p is not None]
        # a dimension coordinate whose labels change from point to point (e.g. the tau_s values of
        # a swept reduction) is stacked by position: it becomes a variable with the grid dims
        varying = [d for d in template.dims if d in template.coords and any(
            p.sizes.get(d) != template.sizes[d] or not np.array_equal(p[d].values, template[d].values)
            for p in present)]
        if varying:  # with every coordinate along such a dim (e.g. `population` along `neuron`)
            along = [c for c in template.coords if set(template[c].dims) & set(varying)]
            hidden = {d: f"__{d}__" for d in varying}  # a variable named as its dim would become an index again
            parts = [None if p is None else p.drop_indexes(varying).reset_coords(along).rename_vars(hidden)
                     for p in parts]
            template = next(p for p in parts if p is not None)
        sizes = {d: max(p.sizes.get(d, 0) for p in parts if p is not None) for d in template.dims}
        filled = [_pad(p if p is not None else _empty_like(template), sizes) for p in parts]
        stacked = xr.concat(filled, dim="point", coords="minimal", compat="override", join="outer",
                            combine_attrs="drop_conflicts")
        index = {d: ("point", np.asarray([c[k] for c in combos])) for k, d in enumerate(dims)}
        stacked = stacked.assign_coords(index)
        if len(dims) == 1:
            stacked = stacked.swap_dims({"point": dims[0]})
        else:
            stacked = stacked.set_index(point=dims).unstack("point")
            stacked = stacked.reindex({d: values[k] for k, d in enumerate(dims)})  # unstack sorts: grid order
        if varying:
            stacked = stacked.rename_vars({v: d for d, v in hidden.items()}).set_coords(along)
        stacked = stacked.transpose(*dims, ...)
        merged_attrs = _point_attrs(stacked, parts, dims, shape)  # (adds variables: attrs after)
        stacked.attrs.update(merged_attrs)
        stacked.attrs["sweep_dims"] = json.dumps(dims)
        for v in list(stacked.data_vars) + list(stacked.coords):  # every variable keeps (or gets) units
            stacked[v].attrs.setdefault("units", "1")
        out[f"/{g}"] = stacked
    status = np.array([results[i]["status"] for i in range(len(combos))]).reshape(shape)
    error = np.array([results[i]["error"] for i in range(len(combos))]).reshape(shape)
    wall = np.array([results[i].get("wall_time", np.nan) for i in range(len(combos))], float).reshape(shape)
    root = xr.Dataset({"status": (dims, status), "error": (dims, error), "wall_time": (dims, wall)}, coords=coords,
                      attrs=base_attrs(SWEEP, scenario=name, grid=json.dumps({k: [str(v) for v in vs]
                                                                               for k, vs in zip(keys, values)}),
                                       n_points=len(combos), n_failed=int(np.sum(status != "ok"))))
    root["wall_time"].attrs.update(units="s", long_name="wall time of the point")
    for v in ("status", "error"):
        root[v].attrs.update(units="1", long_name=f"{v} of the point")
    for d in dims:
        root[d].attrs.update(units="1", long_name=f"swept scenario key {d.replace('__', '.')}")
    return xr.DataTree.from_dict({"/": root, **out})


def _point_attrs(stacked: xr.Dataset, parts: list, dims: list, shape: tuple) -> dict:
    """The attributes of a merged stage: those equal at every point; one that differs (the seed,
    the timings, a swept parameter) becomes the variable ``point_attrs__<name>`` on the grid
    dims (NaN or "" at a failed point) and is listed in the attribute ``point_attrs``."""
    present = [p for p in parts if p is not None]
    keys = list(dict.fromkeys(k for p in present for k in p.attrs))
    same, varying = {}, []
    for k in keys:
        values = [p.attrs.get(k) for p in present]
        if all(k in p.attrs for p in present) and all(_same(v, values[0]) for v in values[1:]):
            same[k] = values[0]
        else:
            varying.append(k)
    for k in varying:
        vals = [None if p is None else p.attrs.get(k) for p in parts]
        numeric = all(v is None or (np.isscalar(v) and isinstance(v, (int, float, np.number))
                                    and not isinstance(v, (bool, np.bool_))) for v in vals)
        arr = (np.array([np.nan if v is None else float(v) for v in vals]) if numeric
               else np.array(["" if v is None else str(v) for v in vals]))
        stacked[f"point_attrs__{k}"] = (dims, arr.reshape(shape), {"units": "1", "long_name": f"attribute {k} "
                                                                   f"of each point"})
    if varying:
        same["point_attrs"] = json.dumps(varying)
    return same


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    return bool(a == b) if type(a) is type(b) else False


def _fill_value(dtype: np.dtype):
    """Missing value of a padded or failed point: NaN, -1 (integers), "" (strings), False."""
    return {"f": np.nan, "c": np.nan, "i": -1, "u": -1, "b": False}.get(dtype.kind, "")


def _empty_like(ds: xr.Dataset) -> xr.Dataset:
    return xr.Dataset({k: (v.dims, np.full(v.shape, _fill_value(v.dtype), dtype=v.dtype if v.dtype.kind in "fciubU"
                                           else str)) for k, v in ds.data_vars.items()},
                      coords=ds.coords, attrs=ds.attrs)


def _pad(ds: xr.Dataset, sizes: dict) -> xr.Dataset:
    """``ds`` grown to ``sizes`` along the dims where it is shorter, filled with
    :func:`_fill_value` (strings: ""); coordinates along a padded dim are dropped (the caller
    stacks varying ones as variables first).  Built from numpy arrays directly: xarray's pad and
    assign_coords, point by point, cost more than the whole merge."""
    pad = {d for d in sizes if ds.sizes.get(d, 0) < sizes[d]}
    if not pad:
        return ds
    data, coords = {}, {}
    for k, v in ds.variables.items():
        is_coord = k in ds.coords
        if not pad.intersection(v.dims):
            (coords if is_coord else data)[k] = v
            continue
        if is_coord:
            continue
        values = np.asarray(v.values)
        if values.dtype.kind not in "fciub":
            values = values.astype(str)
        out = np.full(tuple(sizes[d] if d in pad else n for d, n in zip(v.dims, v.shape)),
                      _fill_value(values.dtype), dtype=values.dtype)
        out[tuple(slice(0, n) for n in v.shape)] = values
        data[k] = xr.Variable(v.dims, out, v.attrs)
    return xr.Dataset(data, coords=coords, attrs=ds.attrs)
