"""The ``spikerate`` command: run / list / show, user errors (exit 2, one line, nothing written)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import spikerate
from spikerate import load
from spikerate.cli import main
from spikerate.scenario import list_scenarios

SMALL = ["--set", "network.n_neurons=200", "--set", "simulate.t_stop=0.05"]


def _error_line(capsys) -> str:
    """The single stderr line of a user error (asserting there is exactly one)."""
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected exactly one stderr line, got {err!r}"
    assert lines[0].startswith("spikerate: error: ")
    assert "Traceback" not in err
    return lines[0]


# ------------------------------------------------------------------------------ run / show / list


def test_run_writes_file_and_prints_summary(tmp_cwd, capsys):
    rc = main(["run", "cuba", "--set", "network.n_neurons=300", "--set", "simulate.t_stop=0.1", "--out", "X.nc"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert Path("X.nc").is_file()
    summary = out.splitlines()[0]
    assert summary.startswith("cuba: 300 neurons")
    for word in ("neurons", "spikes", "mean rate", "Hz"):
        assert word in summary
    tree = load("X.nc")
    sp = tree["spikes"]
    assert sp.sizes["neuron"] == 300
    assert float(sp.attrs["duration"]) == pytest.approx(0.1)
    assert f"{sp.sizes['spike']} spikes" in summary
    # the summary's rate is the file's spike count per neuron per second
    rate = sp.sizes["spike"] / (300 * 0.1)
    assert f"mean rate {rate:.2f} Hz" in summary
    assert "X.nc" in out
    assert sorted(os.listdir(tmp_cwd)) == ["X.nc"]

    rc = main(["show", "X.nc"])
    out, _ = capsys.readouterr()
    assert rc == 0
    assert "spikerate.spikes/1" in out
    assert "scenario cuba" in out
    n_e = int((sp["population"].values == "E").sum())
    n_i = int((sp["population"].values == "I").sum())
    assert (n_e, n_i) == (240, 60)
    assert "population E: 240 neurons" in out
    assert "population I: 60 neurons" in out


def test_show_plain_dataset_file(tmp_cwd, capsys, small_net):
    from spikerate import save, simulate
    ds = simulate(small_net, t_stop=0.05, seed=5, trials=2)
    save(ds, "plain.nc")
    assert main(["show", "plain.nc"]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[0] == "/  spikerate.spikes/1"
    assert f"200 neurons, 0.05 s x 2 trials, {ds.sizes['spike']} spikes" in out
    n_e_spikes = int((ds["population"].values[ds["spike_neuron"].values] == "E").sum())
    assert f"population E: 160 neurons, {n_e_spikes} spikes" in out
    assert "seed 5" in out


def test_run_default_output_name_and_quiet(tmp_cwd, capsys):
    rc = main(["run", "cuba", "--quiet", *SMALL])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert out == ""
    assert Path("cuba.nc").is_file()
    assert load("cuba.nc")["spikes"].sizes["neuron"] == 200


def test_list_shows_bundled_scenarios(capsys):
    assert main(["list"]) == 0
    out, _ = capsys.readouterr()
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert {"cuba", "brunel"} <= set(lines)
    for name, desc in list_scenarios().items():
        assert desc, f"bundled scenario {name} has no description"
        assert desc in lines[name]
    assert "CUBA" in lines["cuba"] and "Brunel" in lines["brunel"]


def test_list_in_subprocess():
    env = dict(os.environ)
    # make the package importable in the child whether it is installed or only checked out
    root = str(Path(spikerate.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-m", "spikerate.cli", "list"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines()]
    assert "cuba" in names and "brunel" in names


#: small settings per stage, so every bundled scenario runs in a second or two
SMALL_BY_SECTION = {
    "network": ["--set", "network.n_neurons=200"],
    "simulate": ["--set", "simulate.t_stop=0.05"],
    "transfer": ["--set", "transfer.n_neurons=50", "--set", "transfer.t_stop=0.3", "--set", "transfer.t_warmup=0.1"],
    "reduction": ["--set", "reduction.t_stop=0.3", "--set", "reduction.trials=1", "--set", "reduction.tau_s=[0.005]"],
    "training": ["--set", "training.epochs=4"],
    "ablation": ["--set", "ablation.epochs=2", "--set", "ablation.seeds=[0]", "--set",
                 'ablation.methods=["surrogate_bptt","eprop"]', "--set", 'ablation.surrogates=["fast_sigmoid"]',
                 "--set", "ablation.model.n=8", "--set",
                 'ablation.tasks=[{name="rate_pattern",T=30,n_in=4,batch=2},'
                 '{name="random_manifolds",T=30,n_in=4,batch=4,weights_from=0.8}]'],
}


@pytest.mark.parametrize("name", sorted(list_scenarios()))
def test_every_bundled_scenario_runs(name, tmp_cwd, capsys):
    from spikerate.scenario import load_scenario
    config = load_scenario(name).config
    simulated = "network" in config and ("simulate" in config or "reduction" not in config)
    small = [a for section, args in SMALL_BY_SECTION.items() if section in config or
             (section == "simulate" and simulated) for a in args]
    rc = main(["run", name, *small, "--out", f"{name}_small.nc"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    tree = load(f"{name}_small.nc")
    assert tree.attrs["scenario"] == name
    from spikerate.plot import plot_file
    figures = plot_file(f"{name}_small.nc", ".")  # every stage with a plot draws without error
    assert all(f.stat().st_size > 0 for f in figures)
    if simulated:
        assert out.startswith(f"{name}: 200 neurons")
        sp = tree["spikes"]
        assert sp.sizes["neuron"] == 200
        assert float(sp.attrs["duration"]) == pytest.approx(0.05)
        assert sp.sizes["spike"] > 0
    if "reduction" in config:
        red = tree["reduction"]
        assert red.attrs["schema"] == "spikerate.reduction/1"
        n_models = 6 if config["reduction"].get("fit") else 3  # derived (+ fitted)
        assert red["rate"].shape[:2] == (1, n_models) and np.all(np.isfinite(red["rmse"].values))
    if "ablation" in config:
        ab = tree["ablation"]
        assert ab.attrs["schema"] == "spikerate.ablation/1"
        assert ab["final_loss"].shape == (2, 1, 2, 1)  # the two small tasks of SMALL_BY_SECTION
        assert np.all(np.isfinite(ab["final_loss"].values))
        np.testing.assert_allclose(ab["cosine"].sel(gradient="surrogate_bptt").values, 1.0, rtol=1e-12)
        assert any(f.name.endswith("_ablation_agreement.png") for f in figures)
    if "training" in config:
        tr = tree["training"]
        assert tr.attrs["schema"] == "spikerate.training/1"
        assert np.all(np.isfinite(tr["loss"].values)) and tr["loss"].values[-1] < tr["loss"].values[0]
        assert tr.sizes["epoch"] == 4
    if "transfer" in config:
        tr = tree["transfer"]
        assert tr.attrs["schema"] == "spikerate.transfer/1"
        assert float(tr["rate"].max()) > 0


def test_same_seed_same_spikes(tmp_cwd, capsys):
    for out in ("a.nc", "b.nc", "c.nc"):
        seed = "4" if out == "c.nc" else "3"
        assert main(["run", "cuba", *SMALL, "--set", f"simulate.seed={seed}", "--out", out, "-q"]) == 0
    a, b, c = (load(f)["spikes"] for f in ("a.nc", "b.nc", "c.nc"))
    assert a.attrs["seed"] == b.attrs["seed"] == 3
    assert a.sizes["spike"] > 0
    for var in ("spike_time", "spike_neuron", "spike_trial"):
        np.testing.assert_array_equal(a[var].values, b[var].values)
    # and the seed matters
    assert c.attrs["seed"] == 4
    assert not (a.sizes["spike"] == c.sizes["spike"]
                and np.array_equal(a["spike_neuron"].values, c["spike_neuron"].values))


CUSTOM = """
description = "two populations, custom wiring"

[network]
builder = "custom"

[[network.populations]]
name = "A"
n = 40
params = { tau_m = 0.02, v_rest = 0.0, v_th = 20.0, v_reset = 10.0, t_ref = 0.002 }
v_init = { dist = "uniform", low = 0.0, high = 20.0 }

[[network.populations]]
name = "B"
n = 10

[[network.channels]]
name = "exc"
tau_s = 0.005

[[network.channels]]
name = "d"
tau_s = 0.0

[[network.projections]]
pre = ["A"]
post = ["A", "B"]
channel = "exc"
rule = "fixed_probability"
p = 0.2
weight = 0.5
delay = 0.0015

[[network.projections]]
pre = "B"
post = "@TARGET@"
channel = "d"
rule = "fixed_indegree"
k = 3
weight = { dist = "normal", mean = -1.0, std = 0.1 }
autapses = false

[[network.inputs]]
input = "current"
target = ["A", "B"]
amplitude = 25.0

[simulate]
t_stop = 0.1
seed = 4
"""


def test_custom_scenario_file_runs(tmp_cwd, capsys):
    Path("two_pops.toml").write_text(CUSTOM.replace("@TARGET@", "A"))
    rc = main(["run", "two_pops.toml"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert out.startswith("two_pops: 50 neurons, 0.1 s")
    tree = load("two_pops.nc")
    assert tree.attrs["description"] == "two populations, custom wiring"
    sp = tree["spikes"]
    pops = sp["population"].values
    assert (pops == "A").sum() == 40 and (pops == "B").sum() == 10
    assert sp.attrs["seed"] == 4
    # A -> A+B: Binomial(40 * 50, 0.2), mean 400, sd 17.9; B -> A: in-degree exactly 3, 120 synapses
    assert abs(sp.attrs["n_synapses"] - (400 + 120)) < 5 * 17.9
    assert sp.sizes["spike"] > 0  # 25 mV drive is above the 20 mV threshold


def test_custom_scenario_with_unknown_population(tmp_cwd, capsys):
    Path("typo.toml").write_text(CUSTOM.replace("@TARGET@", "AA"))
    assert main(["run", "typo.toml"]) == 2
    line = _error_line(capsys)
    assert "'AA'" in line and "Did you mean `A`?" in line
    assert os.listdir(tmp_cwd) == ["typo.toml"]


# ------------------------------------------------------------------------------ user errors


def test_bad_key_suggests_nearest(tmp_cwd, capsys):
    assert main(["run", "cuba", "--set", "network.n_nerons=3", "--out", "X.nc"]) == 2
    line = _error_line(capsys)
    assert "n_nerons" in line
    assert "n_neurons" in line.split("n_nerons", 1)[1]
    assert os.listdir(tmp_cwd) == []


def test_bad_section_in_set(tmp_cwd, capsys):
    assert main(["run", "cuba", "--set", "simulat.t_stop=1", "--out", "X.nc"]) == 2
    line = _error_line(capsys)
    assert "simulat.t_stop" in line and "simulate.t_stop" in line
    assert os.listdir(tmp_cwd) == []


def test_bad_value_names_argument(tmp_cwd, capsys):
    assert main(["run", "cuba", "--set", "simulate.dt=-1", "--out", "X.nc"]) == 2
    line = _error_line(capsys)
    assert "`dt`" in line and "-1" in line
    assert os.listdir(tmp_cwd) == []


def test_bad_network_value(tmp_cwd, capsys):
    assert main(["run", "cuba", "--set", "network.n_neurons=1", "--out", "X.nc"]) == 2
    line = _error_line(capsys)
    assert "`n_neurons`" in line
    assert os.listdir(tmp_cwd) == []


def test_unknown_scenario_name(tmp_cwd, capsys):
    assert main(["run", "cubaa"]) == 2
    line = _error_line(capsys)
    assert "cubaa" in line and "Did you mean `cuba`?" in line
    assert os.listdir(tmp_cwd) == []


def test_missing_scenario_file(tmp_cwd, capsys):
    assert main(["run", "nothere.toml"]) == 2
    assert "nothere.toml" in _error_line(capsys)
    assert os.listdir(tmp_cwd) == []


def test_unknown_section_in_toml(tmp_cwd, capsys):
    Path("s.toml").write_text('[network]\nbuilder = "cuba"\nn_neurons = 200\n\n[simulat]\nt_stop = 0.05\n')
    assert main(["run", "s.toml"]) == 2
    line = _error_line(capsys)
    assert "simulat" in line and "Did you mean `simulate`?" in line
    assert os.listdir(tmp_cwd) == ["s.toml"]


def test_unknown_builder_key_in_toml(tmp_cwd, capsys):
    Path("s.toml").write_text('[network]\nbuilder = "brunel"\nn_neurons = 200\nepsilom = 0.1\n')
    assert main(["run", "s.toml"]) == 2
    line = _error_line(capsys)
    assert "network.epsilom" in line and "`epsilon`" in line
    assert os.listdir(tmp_cwd) == ["s.toml"]


def test_invalid_toml(tmp_cwd, capsys):
    Path("s.toml").write_text('[network\nbuilder = "cuba"\n')
    assert main(["run", "s.toml"]) == 2
    assert "not valid TOML" in _error_line(capsys)
    assert os.listdir(tmp_cwd) == ["s.toml"]


def test_set_without_equals(tmp_cwd, capsys):
    assert main(["run", "cuba", "--set", "network.n_neurons", "--out", "X.nc"]) == 2
    line = _error_line(capsys)
    assert "network.n_neurons" in line and "key=value" in line
    assert os.listdir(tmp_cwd) == []


def test_out_into_missing_directory(tmp_cwd, capsys):
    assert main(["run", "cuba", *SMALL, "--out", "missing_dir/X.nc"]) == 2
    line = _error_line(capsys)
    assert "missing_dir" in line
    assert os.listdir(tmp_cwd) == []


def test_show_missing_file(tmp_cwd, capsys):
    assert main(["show", "nothere.nc"]) == 2
    assert "nothere.nc" in _error_line(capsys)


def test_show_non_spikerate_file(tmp_cwd, capsys):
    xr.Dataset({"a": ("x", [1.0])}).to_netcdf("foreign.nc", engine="h5netcdf")
    assert main(["show", "foreign.nc"]) == 2
    assert "schema" in _error_line(capsys)


def test_debug_raises_instead(tmp_cwd):
    from spikerate.errors import ScenarioError
    with pytest.raises(ScenarioError, match="n_nerons"):
        main(["--debug", "run", "cuba", "--set", "network.n_nerons=3"])


def test_out_is_a_directory_regression_2(tmp_cwd, capsys):
    from spikerate.cli import main
    (tmp_cwd / "d").mkdir()
    code = main(["run", "cuba", "--set", "network.n_neurons=200", "--set", "simulate.t_stop=0.01", "--out", "d"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "directory" in err[0]
    assert list((tmp_cwd / "d").iterdir()) == []


def test_default_scenario_is_the_reduction():
    """`spikerate run` with no name runs the whole road so far: network, spikes, reductions."""
    from spikerate.scenario import DEFAULT, load_scenario
    assert DEFAULT == "reduction"
    config = load_scenario(DEFAULT).config
    assert {"network", "simulate", "reduction"} <= set(config)


def test_show_prints_the_reduction_errors(tmp_cwd, capsys):
    assert main(["run", "reduction", "--set", "network.n_neurons=200", "--set", "simulate.t_stop=0.05",
                 "--set", "reduction.t_stop=0.2", "--set", "reduction.trials=1", "--set", "reduction.tau_s=[0.005]",
                 "--out", "r.nc", "-q"]) == 0
    capsys.readouterr()
    assert main(["show", "r.nc"]) == 0
    out = capsys.readouterr().out
    assert "RMSE [Hz] / R^2" in out and "two_variable" in out and "tau_s   5.00 ms" in out


#: attributes that record when and how fast a run went, not what it computed (docs/datasets.md)
RUN_DEPENDENT = ("created", "compile_time", "build_time", "run_time", "wall_time")


def _without_run_dependent(tree):
    out = {}
    for node in tree.subtree:
        ds = node.to_dataset(inherit=False)
        ds.attrs = {k: v for k, v in ds.attrs.items() if k not in RUN_DEPENDENT and not k.startswith(
            ("time_per_epoch", "peak_memory"))}
        out[node.path] = ds
    return out


@pytest.mark.parametrize("name, sets", [
    ("cuba", [*SMALL, "--set", "simulate.trials=3"]),
    ("homework", []),
])
def test_same_scenario_same_file_across_runs_and_thread_counts(tmp_cwd, name, sets):
    """The same scenario and seed give the same file, whatever the number of threads (numba,
    OpenMP, OpenBLAS): every variable and every attribute except the run-dependent ones."""
    root = str(Path(__file__).resolve().parents[2])
    files = []
    for k, threads in enumerate(("1", "2", "2")):
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", ""),
               **{v: threads for v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                        "MKL_NUM_THREADS")}}
        files.append(f"{name}{k}.nc")
        run = subprocess.run([sys.executable, "-m", "spikerate", "run", name, *sets, "--out", files[-1], "-q"],
                             capture_output=True, text=True, env=env, timeout=300)
        assert run.returncode == 0, run.stderr
    first = _without_run_dependent(load(files[0]))
    for other in files[1:]:
        again = _without_run_dependent(load(other))
        assert list(again) == list(first)
        for path, ds in first.items():
            xr.testing.assert_identical(again[path], ds)


def test_run_and_sweep_one_stage(tmp_cwd, capsys):
    small = [*SMALL_BY_SECTION["network"], *SMALL_BY_SECTION["simulate"], *SMALL_BY_SECTION["reduction"],
             "--set", "reduction.fit=false"]
    assert main(["run", "reduction", *small, "--stage", "reduction", "--out", "r.nc", "-q"]) == 0
    assert list(load("r.nc").children) == ["reduction"]
    assert main(["sweep", "reduction", *small, "--stage", "reduction", "--scheduler", "sync",
                 "--grid", "reduction.seed=0:2", "--out", "s.nc"]) == 0
    assert list(load("s.nc").children) == ["reduction"]
    capsys.readouterr()
    assert main(["run", "cuba", *SMALL, "--stage", "reduction"]) == 2
    assert "`stage` 'reduction' is not a stage of scenario 'cuba'; it has ['spikes']" in _error_line(capsys)
