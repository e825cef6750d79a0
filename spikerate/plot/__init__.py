"""Figures from result Datasets: ``plot_*(ds, *, ax=None) -> Axes``.

Labels and units come from the Datasets' attributes; pyplot is imported lazily and nothing is
shown (call ``plt.show()`` or save the figure yourself).  :func:`plot_file` writes one PNG per
stage of a result file (``spikerate plot FILE.nc -o DIR``, ``spikerate run ... --plot``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .._validation import describe


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    return plt.figure(figsize=(7, 4)).add_subplot()


def _label(da: xr.DataArray, fallback: str) -> str:
    name = da.attrs.get("long_name", fallback)
    units = da.attrs.get("units")
    return f"{name} [{units}]" if units and units != "1" else name


def _check(ds, schema_prefix: str, func: str):
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"`ds` of {func} must be an xarray.Dataset; got {describe(ds)}.")
    schema = str(ds.attrs.get("schema", ""))
    if not schema.startswith(schema_prefix):
        raise ValueError(f"`ds` of {func} must be a {schema_prefix}* Dataset; got schema {schema!r}.")


def plot_raster(ds: xr.Dataset, *, ax=None, trial: int = 0, max_neurons: int | None = 500, markersize: float = 1.0):
    """Spike raster of one trial, populations in colour; at most ``max_neurons`` neurons
    (evenly spaced through the numbering) so large networks stay readable."""
    _check(ds, "spikerate.spikes/", "plot_raster")
    ax = _axes(ax)
    n = ds.sizes["neuron"]
    keep = np.ones(n, bool)
    if max_neurons is not None and n > max_neurons:
        keep[:] = False
        keep[np.linspace(0, n - 1, max_neurons).astype(int)] = True
    sel = ds.spike_trial.values == trial
    t = ds.spike_time.values[sel]
    i = ds.spike_neuron.values[sel]
    m = keep[i]
    pops = ds.population.values
    for pop in dict.fromkeys(pops):
        mm = m & (pops[i] == pop)
        ax.plot(t[mm], i[mm], "|", markersize=markersize * 4, label=str(pop), linestyle="none")
    ax.set_xlabel(_label(ds.spike_time, "time"))
    ax.set_ylabel("neuron")
    ax.set_xlim(0, float(ds.attrs.get("duration", t.max() if t.size else 1.0)))
    ax.legend(loc="upper right", fontsize="small", markerscale=3)
    ax.set_title(ds.attrs.get("scenario", "spikes"))
    return ax


def plot_transfer(ds: xr.Dataset, *, ax=None):
    """Measured f-I curves (points with standard-error bars) against the white-noise Siegert
    rate (grey, dashed; it does not depend on tau_s) and the Siegert rate with the
    Fourcaud-Brunel shift for each tau_s (solid), one colour per tau_s, one marker per sigma."""
    _check(ds, "spikerate.transfer/", "plot_transfer")
    ax = _axes(ax)
    mu = ds.mu.values
    markers = "osD^v<>"
    colours = [f"C{k}" for k in range(10)]
    for js, sigma in enumerate(ds.sigma.values):
        for jt, tau_s in enumerate(ds.tau_s.values):
            sel = dict(sigma=js, tau_s=jt)
            c = colours[jt % 10]
            label = f"sigma {sigma:g} mV, tau_s {tau_s * 1e3:g} ms"
            ax.errorbar(mu, ds.rate[sel].values, yerr=ds.rate_sem[sel].values, fmt=markers[js % 7], color=c,
                        markersize=3, linestyle="none", label=label)
            ax.plot(mu, ds.rate_siegert_shifted[sel].values, "-", color=c, linewidth=1)
        # the white-noise Siegert rate does not depend on tau_s: once per sigma, in grey
        ax.plot(mu, ds.rate_siegert[dict(sigma=js, tau_s=0)].values, "--", color="0.45", linewidth=0.9,
                label="Siegert (white noise)" if js == 0 else None)
    ax.set_xlabel(_label(ds.mu, "mu"))
    ax.set_ylabel(_label(ds.rate, "rate"))
    ax.set_title("f-I: simulation (points), Siegert (dashed), with FB shift (solid)", fontsize="medium")
    ax.legend(fontsize="x-small", ncol=2)
    return ax


def _model_style(names, m):
    """Colour and line style of reduction model ``m``: a fitted model (``<kind>_fit``) is dashed
    in the colour of the derived one."""
    names = [str(v) for v in names]
    base = [n[:-4] if n.endswith("_fit") else n for n in names]
    kinds = list(dict.fromkeys(base))
    return f"C{kinds.index(base[m])}", ("--" if names[m].endswith("_fit") else "-")


def plot_reduction(ds: xr.Dataset, *, ax=None, population: int = 0):
    """Population rate of the spiking network (grey, with its standard error) and of each
    reduction for one population: one panel per swept tau_s (shared time axis, each with its
    own rate axis in Hz) when ``ax`` is None; on a given ``ax``, the tau_s are stacked with
    offsets.  Returns the first Axes."""
    import matplotlib.pyplot as plt
    _check(ds, "spikerate.reduction/", "plot_reduction")
    taus = ds.tau_s.values
    if ax is None:
        fig, axes = plt.subplots(len(taus), 1, figsize=(8, 1.9 * len(taus) + 0.6), sharex=True, squeeze=False)
        axes = list(axes[:, 0])
    else:
        axes = [ax] * len(taus)
    stacked = len(set(map(id, axes))) < len(axes)
    t = ds.time.values
    span = float(np.nanmax(ds.rate_snn.values) - np.nanmin(ds.rate_snn.values)) or 1.0
    pop = ds.population.values[population]
    for i, a in enumerate(axes):
        off = -1.3 * span * i if stacked else 0.0
        snn = ds.rate_snn.values[i, :, population]
        sem = ds.rate_snn_sem.values[i, :, population]
        a.fill_between(t, snn - sem + off, snn + sem + off, color="0.8", linewidth=0)
        a.plot(t, snn + off, color="0.3", linewidth=1, label="network" if i == 0 else None)
        for m, name in enumerate(ds.model.values):
            colour, style = _model_style(ds.model.values, m)
            a.plot(t, ds.rate.values[i, m, :, population] + off, color=colour, ls=style, linewidth=1,
                   label=str(name) if i == 0 else None)
        ratio = float(ds.tau_ratio.values[i, population])
        if stacked:
            a.text(t[-1], float(np.nanmean(snn)) + off, f" tau_s/tau_m = {ratio:g}", fontsize="x-small",
                   va="center")
        else:
            a.set_title(f"tau_s/tau_m = {ratio:g}", fontsize="small", loc="left")
            a.set_ylabel(f"rate {pop} [Hz]", fontsize="small")
    if stacked:
        axes[0].set_ylabel(f"rate {pop} [Hz], offset per tau_s")
    axes[-1].set_xlabel(_label(ds.time, "time"))
    axes[0].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    if not stacked:
        axes[0].figure.suptitle(f"population {pop}: the network and its reductions", fontsize="medium")
        axes[0].figure.tight_layout()
    return axes[0]


def plot_reduction_error(ds: xr.Dataset, *, ax=None, measure: str = "rmse"):
    """Error of each reduction against the network (``rmse``, ``r2``, ``correlation`` or ``lag``)
    versus tau_s / tau_m, one line per model and population."""
    _check(ds, "spikerate.reduction/", "plot_reduction_error")
    if measure not in ("rmse", "r2", "correlation", "lag"):
        from .._validation import suggest
        raise ValueError(f"`measure` must be rmse, r2, correlation or lag; got {measure!r}."
                         + suggest(str(measure), ["rmse", "r2", "correlation", "lag"]))
    ax = _axes(ax)
    for m, name in enumerate(ds.model.values):
        colour, style = _model_style(ds.model.values, m)
        for j, pop in enumerate(ds.population.values):
            ax.plot(ds.tau_ratio.values[:, j], ds[measure].values[:, m, j], ls=style, marker="os^D"[j % 4],
                    color=colour, label=f"{name}, {pop}")
    ax.set_xscale("log")
    ax.set_xlabel(_label(ds.tau_ratio, "tau_s / tau_m"))
    ax.set_ylabel(_label(ds[measure], measure))
    ax.legend(fontsize="x-small", ncol=2)
    ax.set_title("reductions vs the spiking network", fontsize="medium")
    return ax


#: schema prefix -> the plots of a stage (file name suffix -> function)
def plot_training(ds, ax=None):
    """Training: the loss per epoch (left) and, when the Dataset has them, the output before and
    after training against the target for the first sequence (right)."""
    import matplotlib.pyplot as plt
    if ax is None:
        has_trace = "output_after" in ds
        fig, axes = plt.subplots(1, 2 if has_trace else 1, figsize=(10 if has_trace else 5, 3.5), squeeze=False)
        axes = axes[0]
    else:
        axes = [ax]
    a = axes[0]
    a.semilogy(ds.epoch.values, ds.loss.values, "o-", label=ds.attrs.get("method", ""))
    for v in ds.data_vars:
        if v.startswith("loss_"):
            a.semilogy(ds.epoch.values, ds[v].values, "x--", label=v[len("loss_"):])
    a.set_xlabel("epoch")
    a.set_ylabel("loss (before the update)")
    a.legend(fontsize="small")
    if len(axes) > 1 and "sample" in ds.dims:  # a static task: the samples, by predicted class
        b = axes[1]
        x, y, o = ds["x"].values, ds["y"].values, ds["output_after"].values
        if x.shape[1] >= 2 and y.shape[1] > 1:
            pred, label = o.argmax(axis=1), y.argmax(axis=1)
            b.scatter(x[:, 0], x[:, 1], c=[f"C{k}" for k in pred], s=12)
            wrong = pred != label
            b.scatter(x[wrong, 0], x[wrong, 1], facecolors="none", edgecolors="k", s=40, label="misclassified")
            b.set_xlabel("input 0")
            b.set_ylabel("input 1")
            b.set_title(f"after training: accuracy {1 - wrong.mean():.2f}", fontsize="medium")
            if wrong.any():
                b.legend(fontsize="small")
        else:
            b.plot(y.ravel(), o.ravel(), ".", markersize=3)
            b.set_xlabel("target")
            b.set_ylabel("output at the fixed point")
    elif len(axes) > 1:
        b = axes[1]
        t = ds.step.values
        for k in range(ds.sizes["output"]):
            b.plot(t, ds.y.values[:, k], "k-", label="target" if k == 0 else None)
            b.plot(t, ds.output_before.values[:, k], ":", color="C1", label="before" if k == 0 else None)
            b.plot(t, ds.output_after.values[:, k], "-", color="C0", label="after" if k == 0 else None)
        b.set_xlabel("time [s]")
        b.set_ylabel("output")
        b.legend(fontsize="small")
    return axes[0]


def plot_ablation(ds, ax=None):
    """Surrogate x method ablation: per task (rows), the accuracy (classification) or final
    loss, and the cosine with the exact surrogate gradient; mean over seeds (bars) with each
    seed (points), grouped by surrogate.  Returns the first axes."""
    import matplotlib.pyplot as plt
    tasks = ds.task.values if "task" in ds.dims else [None]
    if ax is None:
        fig, axes = plt.subplots(len(tasks), 2, figsize=(11, 3.4 * len(tasks)), squeeze=False)
    else:
        axes = np.array([[ax, ax.twinx()]])
    surs, meths = ds.surrogate.values, ds.gradient.values
    width = 0.8 / len(meths)
    for row, task in enumerate(tasks):
        sub = ds if task is None else ds.sel(task=task)
        has_acc = "accuracy" in sub and np.isfinite(sub["accuracy"].values).any()
        for a, var in zip(axes[row], ("accuracy" if has_acc else "final_loss", "cosine")):
            for j, m in enumerate(meths):
                vals = sub[var].sel(gradient=m).values  # (surrogate, seed)
                xpos = np.arange(len(surs)) + (j - (len(meths) - 1) / 2) * width
                a.bar(xpos, np.nanmean(vals, axis=1), width, label=m, color=f"C{j}", alpha=0.7)
                for k in range(vals.shape[1]):
                    a.plot(xpos, vals[:, k], "k.", markersize=3)
            a.set_xticks(np.arange(len(surs)))
            a.set_xticklabels(surs, fontsize="small")
            a.set_ylabel(sub[var].attrs.get("long_name", var), fontsize="small")
        axes[row][0].set_title(f"{task or ds.attrs.get('task', '')}: after {ds.attrs.get('epochs', '')} epochs",
                               fontsize="medium")
    axes[0][0].legend(fontsize="small")
    return axes[0][0]


def plot_gradient_agreement(ds, ax=None):
    """How well each approximate gradient agrees with the exact surrogate gradient (an
    ablation Dataset): relative error (log scale) against the cosine, one colour per gradient
    method, one marker per surrogate, a point per task and seed.  The exact method sits at
    (1, ~1e-16); e-prop-like truncations move left and up.  Returns the axes."""
    import matplotlib.pyplot as plt
    _check(ds, "spikerate.ablation/", "plot_gradient_agreement")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    markers = "osD^v<>ph*"
    floor = 1e-16  # an exact method's relative error is rounding: drawn at the axis floor
    for j, m in enumerate(ds.gradient.values):
        for i, sur in enumerate(ds.surrogate.values):
            sel = ds.sel(gradient=m, surrogate=sur)
            cos, rel = sel["cosine"].values.ravel(), np.maximum(sel["relative_error"].values.ravel(), floor)
            ax.scatter(cos, rel, color=f"C{j}", marker=markers[i % len(markers)], s=28, alpha=0.8,
                       label=f"{m}, {sur}")
    ax.set_yscale("log")
    ax.set_xlabel(_label(ds["cosine"], "cosine"))
    ax.set_ylabel(_label(ds["relative_error"], "relative error"))
    ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_title(f"gradients vs exact ({ds.attrs.get('exact', '')}), at the initial weights", fontsize="medium")
    ax.legend(fontsize="x-small", ncol=2)
    return ax


PLOTTERS = {"spikerate.spikes/": {"": plot_raster}, "spikerate.transfer/": {"": plot_transfer},
            "spikerate.reduction/": {"": plot_reduction, "_error": plot_reduction_error},
            "spikerate.training/": {"": plot_training},
            "spikerate.ablation/": {"": plot_ablation, "_agreement": plot_gradient_agreement}}


def plot_rates(ds, ax=None, max_lines: int = 10):
    """Firing-rate estimates over time: one line per population (or per neuron, the first
    ``max_lines``), with the confidence band (``rate_low``/``rate_high``) or ±1 SEM when the
    Dataset has them; the trial mean when there is a ``trial`` dim without a band."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    rate = ds["rate"]
    if "trial" in rate.dims:
        rate = rate.mean("trial")
    t = ds["time"].values
    group = next((d for d in rate.dims if d != "time"), None)
    labels = [None] if group is None else list(rate[group].values)[:max_lines]
    for k, lab in enumerate(labels):
        sel = {} if group is None else {group: lab}
        y = rate.sel(sel).values if sel else rate.values
        line, = ax.plot(t, y, lw=1, label=None if lab is None else str(lab))
        if "rate_low" in ds and "rate_high" in ds:
            lo, hi = (ds[v].sel(sel).values if sel else ds[v].values for v in ("rate_low", "rate_high"))
            ax.fill_between(t, lo, hi, color=line.get_color(), alpha=0.25, lw=0)
        elif "rate_sem" in ds:
            sem = ds["rate_sem"].sel(sel).values if sel else ds["rate_sem"].values
            ax.fill_between(t, y - sem, y + sem, color=line.get_color(), alpha=0.25, lw=0)
    ax.set_xlabel("time [s]")
    ax.set_ylabel(f"{rate.attrs.get('long_name', 'rate')} [{rate.attrs.get('units', 'Hz')}]")
    if group is not None:
        ax.legend(fontsize="small", title=group)
    band = "CI" if "rate_low" in ds else ("± SEM" if "rate_sem" in ds else "")
    ax.set_title(f"rates ({ds.attrs.get('estimator', '')}) {band}".strip(), fontsize="medium")
    return ax


PLOTTERS["spikerate.rates/"] = {"": plot_rates}


#: what a sweep heatmap shows for a stage, in order of preference
_SWEEP_VARIABLES = ("rmse", "r2", "final_loss", "accuracy", "loss", "rate")


def plot_sweep(ds, ax=None, variable: str | None = None):
    """A stage merged over a sweep grid (``sweep_dims`` attr): a heatmap of one variable
    (default the first of rmse, r2, final_loss, accuracy, loss, rate present), averaged over its
    own dims, against the first two grid dims (averaged over the others; a line for one grid
    dim).  For a spike table, the mean rate per point."""
    import json

    import matplotlib.pyplot as plt
    grid = json.loads(ds.attrs["sweep_dims"])
    if variable is None:
        variable = next((v for v in _SWEEP_VARIABLES if v in ds.data_vars), None)
    if variable is not None:
        da = ds[variable]
        label = f"{da.attrs.get('long_name', variable)} [{da.attrs.get('units', '')}]"
    elif "spike_time" in ds:  # spikes: mean rate per point
        n_spk = ds["spike_time"].notnull().sum("spike")
        da = n_spk / (ds.sizes["neuron"] * float(ds.attrs.get("duration", 1.0)) * int(ds.attrs.get("n_trials", 1)))
        label = "mean rate [Hz]"
    else:
        raise ValueError(f"plot_sweep: no variable to show among {list(ds.data_vars)}; pass `variable`.")
    da = da.astype(float).mean([d for d in da.dims if d not in grid[:2]])
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    if da.ndim == 1:
        ax.plot(np.arange(da.size), da.values, "o-")
        ax.set_xticks(np.arange(da.size))
        ax.set_xticklabels([str(v) for v in da[grid[0]].values], fontsize="small")
        ax.set_xlabel(grid[0].replace("__", "."))
        ax.set_ylabel(label)
    else:
        da = da.transpose(grid[0], grid[1])
        im = ax.imshow(da.values, origin="lower", aspect="auto", cmap="viridis")
        ax.set_yticks(np.arange(da.shape[0]))
        ax.set_yticklabels([str(v) for v in da[grid[0]].values], fontsize="small")
        ax.set_xticks(np.arange(da.shape[1]))
        ax.set_xticklabels([str(v) for v in da[grid[1]].values], fontsize="small", rotation=45)
        ax.set_ylabel(grid[0].replace("__", "."))
        ax.set_xlabel(grid[1].replace("__", "."))
        ax.figure.colorbar(im, ax=ax, label=label)
    ax.set_title(f"sweep: {label} (mean over the other dims)", fontsize="medium")
    return ax


def plot_file(path, out_dir) -> list[Path]:
    """One PNG per stage of a result file, for every stage that has a plot; returns the paths."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..io import load
    obj = load(path)
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"`out_dir` {str(out_dir)!r} does not exist; create it first.")
    nodes = [("", obj)] if isinstance(obj, xr.Dataset) else [(n.path.strip("/"), n.to_dataset())
                                                            for n in obj.subtree]
    written = []
    stem = Path(path).stem
    for name, ds in nodes:
        schema = str(ds.attrs.get("schema", ""))
        if "sweep_dims" in ds.attrs:  # a stage merged over a sweep: one heatmap
            ax = plot_sweep(ds)
            target = out_dir / f"{stem}_{name.replace('/', '_')}_sweep.png"
            ax.figure.savefig(target, dpi=120, bbox_inches="tight")
            plt.close(ax.figure)
            written.append(target)
            continue
        for prefix, funcs in PLOTTERS.items():
            if not schema.startswith(prefix):
                continue
            for suffix, func in funcs.items():
                ax = func(ds)
                target = out_dir / f"{stem}{'_' + name.replace('/', '_') if name else ''}{suffix}.png"
                ax.figure.savefig(target, dpi=120, bbox_inches="tight")
                plt.close(ax.figure)
                written.append(target)
    return written


__all__ = ["PLOTTERS", "plot_ablation", "plot_file", "plot_gradient_agreement", "plot_rates", "plot_sweep", "plot_raster", "plot_reduction", "plot_reduction_error", "plot_training",
           "plot_transfer"]
