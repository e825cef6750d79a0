"""Surrogate x method ablation for spiking networks: the ``[ablation]`` stage of a scenario.

For every surrogate, gradient method and seed, a recurrent LIF network (:class:`SpikingModel`)
is trained on a generated task; the Dataset records the final loss, the accuracy (classification
tasks), the agreement of the method's gradient with the exact surrogate gradient (cosine and
relative error at the initial weights, :func:`~spikerate.learn.gradient_agreement`) and the time
per epoch, plus every loss curve.
"""

from __future__ import annotations

import json
import time

import numpy as np
import xarray as xr

from .._validation import check_int, check_real, describe, suggest
from ..io.schema import base_attrs, variable
from .gradients import gradient_agreement, get_method, value_and_grad
from .spiking import SpikingModel
from .surrogates import get_surrogate
from .tasks import get_task
from .train import fit, predict, trained

ABLATION = "spikerate.ablation/1"
_NET_KEYS = ("n", "seed", "gain", "input_gain", "bias")


def build_spiking_model(spec: dict, n_in: int, seed: int, surrogate) -> SpikingModel:
    """A random :class:`SpikingModel`: ``n`` neurons, ``w ~ N(0, gain^2/n)``, ``u ~ N(0,
    input_gain^2/n_in)``, ``b = bias``, from ``seed``; other keys are SpikingModel fields."""
    if not isinstance(spec, dict):
        raise TypeError(f"`model` must be a table of settings; got {describe(spec)}.")
    spec = dict(spec)
    n = check_int("model.n", spec.pop("n", 50), minimum=1)
    gain = check_real("model.gain", spec.pop("gain", 1.0))
    input_gain = check_real("model.input_gain", spec.pop("input_gain", 1.0))
    bias = check_real("model.bias", spec.pop("bias", 0.0))
    spec.pop("seed", None)
    valid = [f for f in SpikingModel.__dataclass_fields__ if f not in ("w", "u", "b", "surrogate", "smooth")]
    for key in spec:
        if key not in valid:
            raise ValueError(f"`model.{key}` is not a setting of the spiking model; valid: "
                             f"{sorted(valid + list(_NET_KEYS))}." + suggest(key, valid + list(_NET_KEYS)))
    rng = np.random.default_rng(seed)
    return SpikingModel(w=rng.normal(0.0, gain / np.sqrt(n), (n, n)),
                        u=rng.normal(0.0, input_gain / np.sqrt(n_in), (n, n_in)), b=np.full(n, bias),
                        surrogate=surrogate, **spec)


def surrogate_ablation(*, model: dict, tasks, methods=("surrogate_bptt", "surrogate_rtrl", "eprop"),
                       surrogates=("fast_sigmoid", "sigmoid", "arctan"), seeds=(0, 1), epochs: int = 20,
                       optimizer=None, loss: str = "auto", weights_from: float = 0.0, exact: str = "surrogate_bptt",
                       progress: bool | None = None) -> xr.Dataset:
    """Train a spiking network on each task for every surrogate x method x seed (module docstring).

    ``tasks``: a task table (``name`` and the generator's arguments) or a list of them; a table
    may also set its own ``loss`` and ``weights_from``.  ``loss``: ``"auto"`` (cross-entropy for
    classification tasks, mse otherwise), ``"mse"`` or ``"cross_entropy"``.  ``weights_from``:
    the loss counts the steps from this fraction of the trial on (0: all; 0.8: the last 20 %, for
    classification at the end of the trial).  ``exact``: the method the others' gradients are
    compared with (default exact surrogate BPTT).  The readout is a random (n_out, n) matrix,
    trained with the network.  Returns a Dataset (schema ``spikerate.ablation/1``) with dims
    ``task``, ``surrogate``, ``gradient`` (the method), ``seed`` (and ``epoch``); ``accuracy`` is
    NaN for tasks that are not classifications.
    """
    specs = [tasks] if isinstance(tasks, dict) else list(tasks) if isinstance(tasks, (list, tuple)) else None
    if not specs or not all(isinstance(t, dict) and "name" in t for t in specs):
        raise ValueError(f"`tasks` must be a task table with a `name` (and the generator's arguments) or a "
                         f"non-empty list of them; got {describe(tasks)}.")
    parts = []
    for spec in specs:
        spec = dict(spec)
        t_loss = spec.pop("loss", loss)
        t_from = spec.pop("weights_from", weights_from)
        parts.append(_ablation_one_task(model, spec, methods, surrogates, seeds, epochs, optimizer, t_loss, t_from,
                                        exact, progress))
    out = xr.concat(parts, dim="task", coords="minimal", compat="override", combine_attrs="drop_conflicts")
    out = out.assign_coords(task=variable(np.array([p.attrs["task"] for p in parts]), ("task",), units="1",
                                          long_name="task"))
    out.attrs.update(base_attrs(ABLATION, tasks=json.dumps([p.attrs["task"] for p in parts]),
                                task_params=json.dumps([json.loads(p.attrs["task_params"]) for p in parts]),
                                losses=json.dumps([p.attrs["loss_kind"] for p in parts]),
                                weights_from=json.dumps([float(p.attrs["weights_from"]) for p in parts])))
    return out


def _ablation_one_task(model, task, methods, surrogates, seeds, epochs, optimizer, loss, weights_from, exact,
                       progress) -> xr.Dataset:
    tk = get_task(dict(task))
    if tk.static:
        raise ValueError(f"`task` {tk.name!r} is static; a spiking network is trained on sequences.")
    epochs = check_int("epochs", epochs, minimum=1)
    weights_from = check_real("weights_from", weights_from)
    if not 0.0 <= weights_from < 1.0:
        raise ValueError(f"`weights_from` must be in [0, 1) (a fraction of the trial); got {weights_from}.")
    T = tk.T
    alpha = (np.arange(T) >= int(weights_from * T)).astype(float)
    surs = [get_surrogate(s) for s in surrogates]
    meths = [get_method(m) for m in methods]
    exact_m = get_method(exact)
    seeds = [check_int("seeds", s, minimum=0) for s in seeds]
    opt = optimizer or {"name": "adam", "lr": 0.01}
    classify = bool(np.all((tk.y == 0) | (tk.y == 1)) and np.all(tk.y.sum(axis=-1) == 1) and tk.n_out > 1)
    if loss == "auto":
        loss = "cross_entropy" if classify else "mse"
    shape = (len(surs), len(meths), len(seeds))
    final, acc, cos, rel, per_epoch = (np.full(shape, np.nan) for _ in range(5))
    curves = np.full(shape + (epochs,), np.nan)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=int(np.prod(shape)), desc="ablation", leave=False)
    for i, sur in enumerate(surs):
        for k, seed in enumerate(seeds):
            base = build_spiking_model(model, tk.n_in, seed, sur)
            readout = np.random.default_rng(seed + 10_000).normal(0.0, 1.0 / np.sqrt(base.n), (tk.n_out, base.n))
            common = dict(dt=tk.dt, loss=loss, weights=alpha, readout=readout,
                          trainable=("w", "u", "b", "readout"))
            _, g_exact = value_and_grad(base, tk.x, tk.y, method=_with(exact_m, sur), **common)
            for j, m in enumerate(meths):
                meth = _with(m, sur)
                _, g = value_and_grad(base, tk.x, tk.y, method=meth, **common)
                agree = gradient_agreement(g, g_exact)
                cos[i, j, k], rel[i, j, k] = agree["cosine"], agree["relative_error"]
                t0 = time.perf_counter()
                h = fit(base, tk.x, tk.y, method=meth, optimizer=opt, epochs=epochs, progress=False, **common)
                per_epoch[i, j, k] = (time.perf_counter() - t0) / h.sizes["epoch"]
                curves[i, j, k, :h.sizes["epoch"]] = h.loss.values
                final[i, j, k] = _loss_after(h, base, tk, meth, common)
                if classify:
                    o = predict(trained(base, h), tk.x, dt=tk.dt, readout=h["readout_final"].values)
                    score = (o * alpha[:, None]).sum(axis=-2)
                    acc[i, j, k] = float(np.mean(score.argmax(-1) == tk.y[..., 0, :].argmax(-1)))
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()
    coords = {"surrogate": variable(np.array([s.name for s in surs]), ("surrogate",), units="1",
                                    long_name="surrogate gradient"),
              "gradient": variable(np.array([m.name for m in meths]), ("gradient",), units="1",
                                   long_name="gradient method"),
              "seed": variable(np.array(seeds, dtype=np.int64), ("seed",), units="1", long_name="seed"),
              "epoch": variable(np.arange(epochs, dtype=np.int64), ("epoch",), units="1", long_name="epoch")}
    dims = ("surrogate", "gradient", "seed")  # not "method": it would clash with DataArray.sel(method=...)
    data = {"final_loss": variable(final, dims, units="1", long_name="loss after training"),
            "cosine": variable(cos, dims, units="1", long_name="cosine with the exact surrogate gradient"),
            "relative_error": variable(rel, dims, units="1", long_name="relative error of the gradient"),
            "time_per_epoch": variable(per_epoch, dims, units="s", long_name="time per training epoch"),
            "loss": variable(curves, dims + ("epoch",), units="1", long_name="loss before each update"),
            "accuracy": variable(acc, dims, units="1", long_name="classification accuracy after training")}
    attrs = dict(task=tk.name, task_params=json.dumps(tk.params), model=json.dumps(model), epochs=epochs,
                 optimizer=json.dumps(opt if isinstance(opt, dict) else opt.to_dict()), loss_kind=loss,
                 weights_from=weights_from, exact=exact_m.name)
    return xr.Dataset(data, coords=coords, attrs=base_attrs(ABLATION, **attrs))


def _with(method, surrogate):
    import dataclasses
    return dataclasses.replace(method, surrogate=surrogate)


def _loss_after(h, model, tk, method, common):
    """The loss of the trained network (one more forward pass)."""
    from .gradients import loss_value, prepare, with_method_model
    pb = prepare(trained(model, h), tk.x, tk.y, **dict(common, readout=h["readout_final"].values))
    return float(loss_value(with_method_model(pb, method)))
