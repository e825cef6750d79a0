"""Figures: Axes out, labels from attrs, PNG files from the CLI."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from spikerate.cli import main  # noqa: E402
from spikerate.plot import plot_raster  # noqa: E402
from spikerate.sim import cuba_network, simulate  # noqa: E402


def test_plot_raster_returns_labelled_axes():
    ds = simulate(cuba_network(n_neurons=200, p=0.1), t_stop=0.05, seed=1)
    ax = plot_raster(ds, max_neurons=50)
    assert ax.get_xlabel() == "spike time [s]"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"E", "I"}
    plotted = sum(len(line.get_xdata()) for line in ax.get_lines())
    assert 0 < plotted < ds.sizes["spike"]  # a subset of 50 neurons


def test_plot_rejects_other_datasets():
    import xarray as xr
    with pytest.raises(ValueError, match="spikerate.spikes"):
        plot_raster(xr.Dataset(attrs={"schema": "spikerate.rates/1"}))


def test_cli_plot_and_run_plot(tmp_cwd, capsys):
    assert main(["run", "cuba", "--set", "network.n_neurons=200", "--set", "simulate.t_stop=0.05", "--out", "r.nc",
                 "--plot"]) == 0
    assert (tmp_cwd / "r_spikes.png").stat().st_size > 1000
    (tmp_cwd / "figs").mkdir()
    assert main(["plot", "r.nc", "-o", "figs"]) == 0
    assert (tmp_cwd / "figs" / "r_spikes.png").is_file()
    assert main(["plot", "r.nc", "-o", "missing"]) == 2


def test_reduction_plots():
    from spikerate.plot import plot_reduction, plot_reduction_error
    from spikerate.reduce import compare_reductions, step_and_sine_drive
    ds = compare_reductions(cuba_network(n_neurons=200, p=0.1), step_and_sine_drive, t_stop=0.1,
                            tau_s=[2e-3, 10e-3], trials=1, seed=1)
    ax = plot_reduction(ds)
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"network", "rate", "current", "two_variable"}
    ax = plot_reduction_error(ds, measure="r2")
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 3 * 2
    with pytest.raises(ValueError, match="`measure`.*Did you mean `rmse`"):
        plot_reduction_error(ds, measure="rmsd")


def test_plot_ablation_draws_every_method(tmp_path):
    import numpy as np
    import xarray as xr

    from spikerate.plot import plot_ablation
    dims = ("task", "surrogate", "gradient", "seed")
    rng = np.random.default_rng(0)
    ds = xr.Dataset({v: (dims, rng.random((2, 2, 3, 2))) for v in ("accuracy", "cosine", "final_loss")},
                    coords={"task": ["t1", "t2"], "surrogate": ["a", "b"], "gradient": ["x", "y", "z"],
                            "seed": [0, 1]}, attrs={"epochs": 1})
    ax = plot_ablation(ds)
    assert len(ax.patches) == 6 and [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y", "z"]


def test_plot_gradient_agreement_places_every_point():
    import numpy as np
    import xarray as xr

    from spikerate.plot import plot_gradient_agreement
    dims = ("task", "surrogate", "gradient", "seed")
    cos = np.broadcast_to(np.array([1.0, 0.9, 0.5])[None, None, :, None], (2, 2, 3, 2)).copy()
    rel = np.broadcast_to(np.array([0.0, 0.3, 0.8])[None, None, :, None], (2, 2, 3, 2)).copy()
    ds = xr.Dataset({"cosine": (dims, cos, {"units": "1", "long_name": "cosine"}),
                     "relative_error": (dims, rel, {"units": "1", "long_name": "relative error"})},
                    coords={"task": ["t1", "t2"], "surrogate": ["a", "b"], "gradient": ["exact", "y", "z"],
                            "seed": [0, 1]}, attrs={"schema": "spikerate.ablation/1", "exact": "exact"})
    ax = plot_gradient_agreement(ds)
    assert len(ax.collections) == 3 * 2  # a marker set per method and surrogate
    offsets = np.concatenate([c.get_offsets() for c in ax.collections])
    assert offsets.shape == (24, 2) and ax.get_yscale() == "log"
    np.testing.assert_allclose(sorted(set(offsets[:, 0])), [0.5, 0.9, 1.0])
    assert offsets[:, 1].min() == 1e-16  # the exact method's zero error drawn at the floor
    with pytest.raises(ValueError, match="spikerate.ablation"):
        plot_gradient_agreement(ds.assign_attrs(schema="spikerate.spikes/1"))


def test_plot_rates_draws_a_band_per_population(tmp_path):
    from spikerate import estimate_rate
    from spikerate.plot import plot_rates
    spikes = simulate(cuba_network(n_neurons=200), t_stop=0.2, seed=1, trials=3)
    rates = estimate_rate(spikes, by="population", trials="mean", kernel="gaussian", sigma=5e-3, dt=1e-3)
    ax = plot_rates(rates)
    assert len(ax.lines) == 2 and len(ax.collections) == 2  # a line and a band per population
    assert ax.get_xlabel() == "time [s]"
