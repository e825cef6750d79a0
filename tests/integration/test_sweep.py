"""Sweeps: every grid point equals the same scenario run by itself; failures are recorded, not
fatal; a resumed sweep runs only what is missing; a 2-worker local dask cluster gives the same."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from spikerate import load
from spikerate.scenario import apply_overrides, load_scenario, run_scenario
from spikerate.sweep import parse_grid, sweep

SMALL = ["network.n_neurons=200", "simulate.t_stop=0.05"]


def test_points_equal_single_runs(tmp_path):
    grid = {"simulate.seed": [1, 2], "network.p": [0.02, 0.05]}
    tree = sweep("cuba", grid, out=tmp_path / "s.nc", client="sync", sets=SMALL)
    sp = tree["spikes"].to_dataset()
    assert sp["spike_time"].dims[:2] == ("simulate__seed", "network__p")
    assert (tree.to_dataset()["status"].values == "ok").all()
    for seed in (1, 2):
        for p in (0.02, 0.05):
            ref = run_scenario(apply_overrides(load_scenario("cuba"), SMALL + [f"simulate.seed={seed}",
                                                                                f"network.p={p}"]))["spikes"]
            got = sp.sel(simulate__seed=seed, network__p=p)
            n = ref.sizes["spike"]
            np.testing.assert_array_equal(got["spike_time"].values[:n], ref["spike_time"].values)
            np.testing.assert_array_equal(got["spike_neuron"].values[:n], ref["spike_neuron"].values)
            assert np.all(np.isnan(got["spike_time"].values[n:]))  # padding of shorter tables
    assert load(tmp_path / "s.nc")["spikes"].sizes["simulate__seed"] == 2


def test_failures_are_recorded_and_resume_runs_only_the_rest(tmp_path):
    grid = {"network.n_neurons": [200, -5]}  # the second point fails (negative size)
    tree = sweep("cuba", grid, out=tmp_path / "f.nc", client="sync", sets=["simulate.t_stop=0.05"])
    root = tree.to_dataset()
    assert list(root["status"].values) == ["ok", "failed"]
    assert "n_neurons" in str(root["error"].values[1])
    assert root.attrs["n_failed"] == 1
    point0 = tmp_path / "f.nc.points" / "point-00000.npz"
    stamp = point0.stat().st_mtime_ns
    tree2 = sweep("cuba", grid, out=tmp_path / "f.nc", client="sync", sets=["simulate.t_stop=0.05"], resume=True)
    assert point0.stat().st_mtime_ns == stamp  # kept, not rerun
    assert list(tree2.to_dataset()["status"].values) == ["ok", "failed"]
    # the merged result from the points' files equals the one from memory
    xr.testing.assert_identical(tree2["spikes"].to_dataset(), tree["spikes"].to_dataset())
    with pytest.raises(ValueError, match="different sweep"):
        sweep("cuba", {"network.n_neurons": [300]}, out=tmp_path / "f.nc", client="sync", resume=True)


def test_local_dask_cluster_gives_the_same_result(tmp_path):
    import distributed  # a dependency of spikerate: never skipped
    grid = {"simulate.seed": [3, 4]}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        tree = sweep("cuba", grid, out=tmp_path / "d.nc", client=client, sets=SMALL)
    ref = sweep("cuba", grid, out=tmp_path / "r.nc", client="sync", sets=SMALL)
    a, b = tree["spikes"].to_dataset(), ref["spikes"].to_dataset()
    np.testing.assert_array_equal(a["spike_time"].values, b["spike_time"].values)


def test_chunks_of_points_on_a_cluster_record_each_point(tmp_path):
    """Several points per task (chunk=2): a failing point is retried and recorded on its own,
    the points beside it in the same task are kept."""
    import distributed
    grid = {"network.n_neurons": [200, -5, 100]}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        tree = sweep("cuba", grid, out=tmp_path / "c.nc", client=client, sets=["simulate.t_stop=0.05"], chunk=2)
    root = tree.to_dataset()
    assert list(root["status"].values) == ["ok", "failed", "ok"]
    assert "n_neurons" in str(root["error"].values[1])
    ref = sweep("cuba", grid, out=tmp_path / "r.nc", client="sync", sets=["simulate.t_stop=0.05"])
    def data(t):  # without the timings of each point
        ds = t["spikes"].to_dataset()
        return ds.drop_vars([v for v in ds.data_vars if v.startswith("point_attrs__") and v.endswith("_time")])
    xr.testing.assert_equal(data(tree), data(ref))
    ds = ref["spikes"].to_dataset()  # networks of different sizes: neurons padded with -1 and ""
    assert list(ds["population"].values[2, 98:102]) == ["I", "I", "", ""]
    assert list(ds["neuron"].values[2, 98:102]) == [98, 99, -1, -1]


def test_a_rerun_task_skips_the_points_it_already_wrote(tmp_path):
    """When a worker dies mid-task dask runs the task again: points whose file exists are read,
    not run twice; a point that fails is tried 1 + retries times."""
    from spikerate.sweep import _run_points
    sc = load_scenario("cuba")
    source = {"name": sc.name, "config": sc.config, "source": None}
    path = tmp_path / "p0.npz"
    first = _run_points(source, [(0, SMALL, str(path))], retries=0)
    assert first[0][1]["status"] == "ok" and first[0][1]["attempts"] == 1
    stamp = path.stat().st_mtime_ns
    again = _run_points(source, [(0, SMALL, str(path)), (1, ["network.n_neurons=-1"], str(tmp_path / "p1.npz"))],
                        retries=2)
    assert path.stat().st_mtime_ns == stamp and np.isnan(again[0][1]["wall_time"])
    assert again[1][1]["status"] == "failed" and again[1][1]["attempts"] == 3
    assert not (tmp_path / "p1.npz").exists()


def test_grid_parsing_and_bad_keys(tmp_path):
    assert parse_grid(["simulate.seed=0:3", "network.g=4.5,5"]) == {"simulate.seed": [0, 1, 2], "network.g": [4.5, 5]}
    from spikerate.errors import ScenarioError
    with pytest.raises(ScenarioError, match="unknown key `simulate.sed`"):
        sweep("cuba", {"simulate.sed": [1]}, out=tmp_path / "x.nc", client="sync")
    with pytest.raises(ValueError, match="repeats a value"):
        sweep("cuba", {"simulate.seed": [1, 1]}, out=tmp_path / "x.nc", client="sync")


def test_cli_sweep_with_the_scenario_grid(tmp_path, capsys, monkeypatch):
    """`spikerate sweep NAME` uses the scenario's [sweep] grid (list-valued keys become labels)."""
    from spikerate.cli import main
    monkeypatch.chdir(tmp_path)
    rc = main(["sweep", "sweep_reduction", "--scheduler", "sync", "--set", "network.n_neurons=200",
               "--set", "reduction.t_stop=0.1", "--grid", "reduction.tau_s=[0.002],[0.01]", "--grid",
               "reduction.seed=0:2"])
    out = capsys.readouterr().out
    assert rc == 0 and "4 points, 0 failed" in out
    tree = load(tmp_path / "sweep_reduction_sweep.nc")
    red = tree["reduction"].to_dataset()
    assert list(red["reduction__tau_s"].values) == ["[0.002]", "[0.01]"]
    assert red["rmse"].dims[:2] == ("reduction__tau_s", "reduction__seed")
    assert np.all(np.isfinite(red["rmse"].values))
    from spikerate.plot import plot_file
    names = [f.name for f in plot_file(tmp_path / "sweep_reduction_sweep.nc", tmp_path)]
    assert "sweep_reduction_sweep_reduction_sweep.png" in names


def test_a_merged_sweep_plots_as_heatmaps(tmp_path):
    from spikerate.plot import plot_file
    sweep("cuba", {"simulate.seed": [1, 2], "network.p": [0.02, 0.05]}, out=tmp_path / "s.nc", client="sync",
          sets=SMALL)
    figures = plot_file(tmp_path / "s.nc", tmp_path)
    assert [f.name for f in figures] == ["s_spikes_sweep.png"] and figures[0].stat().st_size > 0
    from spikerate.plot import plot_sweep  # the grid values label the axes (they live at the root of the file)
    ax = plot_sweep(load(tmp_path / "s.nc")["spikes"].to_dataset())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.02", "0.05"]


def test_grid_order_is_kept_and_differing_attributes_are_per_point(tmp_path, capsys):
    """Unsorted grid values keep their order; an attribute that differs between points (the
    seed, the network size, timings) is a variable on the grid dims, never the first point's."""
    tree = sweep("cuba", {"simulate.seed": [2, 1], "network.n_neurons": [200, -5, 100]}, out=tmp_path / "o.nc",
                 client="sync", sets=["simulate.t_stop=0.05"])
    ds = load(tmp_path / "o.nc")["spikes"].to_dataset()  # and the file validates
    assert list(ds["network__n_neurons"].values) == [200, -5, 100] and list(ds["simulate__seed"].values) == [2, 1]
    np.testing.assert_array_equal(ds["point_attrs__seed"].values, [[2, np.nan, 2], [1, np.nan, 1]])
    np.testing.assert_array_equal(ds["point_attrs__n_neurons"].values, [[200, np.nan, 100]] * 2)
    assert "seed" not in ds.attrs and "seed" in ds.attrs["point_attrs"] and ds.attrs["dt"] == 1e-4
    assert list(tree.to_dataset()["status"].values[0]) == ["ok", "failed", "ok"]
    assert (ds["neuron"].values[:, 2, 100:] == -1).all()  # the 100-neuron points are padded
    from spikerate.cli import main  # `spikerate show` summarises every point
    capsys.readouterr()
    assert main(["show", str(tmp_path / "o.nc")]) == 0
    out = capsys.readouterr().out
    n = int(np.isfinite(ds["spike_time"].values[0, 0]).sum())
    assert f"simulate.seed=2, network.n_neurons=200: 200 neurons, {n} spikes, {n / (200 * 0.05):.2f} Hz" in out
    assert "simulate.seed=1, network.n_neurons=-5: no result (failed point)" in out


def test_one_stage_of_a_scenario(tmp_path):
    """stage= runs only that group (and what it needs) at each point and merges it alone."""
    from spikerate.errors import ScenarioError
    from spikerate.scenario import run_scenario, scenario_stages
    sc = apply_overrides(load_scenario("reduction"), ["network.n_neurons=200", "reduction.t_stop=0.2",
                                                       "reduction.tau_s=[0.005]", "reduction.fit=false",
                                                       "simulate.t_stop=0.05"])
    assert scenario_stages(sc) == ["spikes", "reduction"]
    alone = run_scenario(sc, progress=False, stage="reduction")
    assert list(alone.children) == ["reduction"]
    full = run_scenario(sc, progress=False)
    np.testing.assert_array_equal(alone["reduction"]["rmse"].values, full["reduction"]["rmse"].values)
    with pytest.raises(ScenarioError, match="`stage` 'reductoin'.*Did you mean `reduction`"):
        run_scenario(sc, stage="reductoin")
    tree = sweep(sc, {"reduction.seed": [0, 1]}, out=tmp_path / "st.nc", client="sync", stage="reduction")
    assert list(tree.children) == ["reduction"] and tree["reduction"]["rmse"].dims[0] == "reduction__seed"
    with pytest.raises(ScenarioError, match="not a stage of scenario"):
        sweep(sc, {"reduction.seed": [0]}, out=tmp_path / "x.nc", client="sync", stage="training")
