"""The ``[training]`` stage of a scenario: build a model and a task from plain settings, train,
and record what the lecture's homework shows (loss and updates per epoch, output before and
after training against the target, and the agreement of RTRL and BPTT)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._validation import check_choice, check_int, check_real, describe, suggest
from ..io.schema import variable
from ..models import CurrentModel, RateModel, TwoVariableModel
from .gradients import get_method
from .tasks import get_task
from .train import fit, predict, trained

MODELS = {"rate": RateModel, "current": CurrentModel, "two_variable": TwoVariableModel}


def build_model(spec: dict):
    """A rate model from a dict: ``kind`` (``rate``/``current``/``two_variable``) and the model's
    own fields (``w``, ``u``, ``b``, ``tau`` or ``tau_s``/``tau_m``, ``g``, ``trainable``); or
    ``n``, ``n_in``, ``seed`` and ``gain`` for a random one (``w ~ N(0, gain^2/n)``,
    ``u ~ N(0, 1/n_in)``, ``b = 0``)."""
    if not isinstance(spec, dict):
        raise TypeError(f"`model` must be a table of model settings; got {describe(spec)}.")
    spec = dict(spec)
    kind = check_choice("model.kind", spec.pop("kind", "rate"), MODELS)
    if "n" in spec:
        n = check_int("model.n", spec.pop("n"), minimum=1)
        n_in = check_int("model.n_in", spec.pop("n_in", 1), minimum=1)
        gain = check_real("model.gain", spec.pop("gain", 0.9))
        rng = np.random.default_rng(check_int("model.seed", spec.pop("seed", 0), minimum=0))
        spec.setdefault("w", rng.normal(0.0, gain / np.sqrt(n), (n, n)))
        spec.setdefault("u", rng.normal(0.0, 1.0 / np.sqrt(n_in), (n, n_in)))
        spec.setdefault("b", np.zeros(n))
    cls = MODELS[kind]
    valid = [f for f in cls.__dataclass_fields__ if not f.startswith("_")]
    for key in spec:
        if key not in valid:
            raise ValueError(f"`model.{key}` is not a setting of {cls.__name__}; valid: {valid}." + suggest(key, valid))
    return cls(**spec)


def train_task(*, model: dict, task: dict, method: str = "bptt", optimizer=None, epochs: int = 10,
               dt: float | None = None, r0=None, step: str = "euler", loss: str = "mse", readout=None,
               online: bool = False, patience: int | None = None, check_methods=(),
               progress: bool | None = None) -> xr.Dataset:
    """Train the model described by ``model`` on the task described by ``task`` (a dict with
    ``name`` and the generator's arguments, :func:`~spikerate.learn.tasks.get_task`).

    ``r0 = "y0"`` starts from the first target (the lecture's ``r_0 = y_0``); ``dt`` defaults to
    the task's.  ``check_methods``: other gradient methods (e.g. ``["bptt"]``) trained on the same
    data from the same start; their losses are stored as ``loss_<method>`` and the largest
    relative difference of their updates from this run's as the attribute
    ``max_update_difference_<method>``.  Returns the training Dataset of :func:`fit` plus the
    task's first sequence (``x``, ``y``) and the outputs before and after training.
    """
    if not isinstance(task, dict) or "name" not in task:
        raise ValueError(f"`task` must be a table with a `name` (one of the tasks) and its arguments; got "
                         f"{describe(task)}.")
    tk = get_task(dict(task))
    m = build_model(model)
    dt = tk.dt if dt is None else dt
    if isinstance(r0, str):
        if r0 != "y0":
            raise ValueError(f"`r0` must be a list of numbers or \"y0\" (the first target); got {r0!r}.")
        y0 = np.asarray(tk.y)[(0,) * (tk.y.ndim - 2) + (0,)]
        if y0.shape != (m.n_state,):
            raise ValueError(f"`r0` = \"y0\" needs one target per state variable ({m.n_state}); the task has "
                             f"{y0.shape[0]} outputs.")
        r0 = y0
    common = dict(dt=dt, r0=r0, step=step, loss=loss, readout=readout, epochs=epochs, optimizer=optimizer,
                  patience=patience)
    method = get_method(method)
    hist = fit(m, tk.x, tk.y, method=method, online=online, progress=progress, **common)
    x1 = np.asarray(tk.x) if tk.x.ndim == 2 else np.asarray(tk.x)[0]
    y1 = np.asarray(tk.y) if tk.y.ndim == 2 else np.asarray(tk.y)[0]
    kw = dict(dt=dt, r0=r0, step=step, readout=readout)
    before = predict(m, x1, **kw)
    after = predict(trained(m, hist), x1, **kw)
    dims_in, dims_out = ("step", "input"), ("step", "output")
    hist["x"] = variable(x1, dims_in, units="1", long_name="input (first sequence)")
    hist["y"] = variable(y1, dims_out, units="1", long_name="target (first sequence)")
    hist["output_before"] = variable(before, dims_out, units="1", long_name="output before training")
    hist["output_after"] = variable(after, dims_out, units="1", long_name="output after training")
    hist = hist.assign_coords(step=np.arange(x1.shape[0]) * dt)
    hist["step"].attrs.update(units="s", long_name="time of the step's output")
    for other in check_methods:
        om = get_method(other)
        oh = fit(m, tk.x, tk.y, method=om, online=False, progress=False, **common)
        hist[f"loss_{om.name}"] = oh["loss"]
        diffs = []
        for name in [v[len("update_"):] for v in hist.data_vars if v.startswith("update_")]:
            a, b = hist[f"update_{name}"].values, oh[f"update_{name}"].values
            diffs.append(float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300)))
        hist.attrs[f"max_update_difference_{om.name}"] = max(diffs)
    hist.attrs["task"] = tk.name
    return hist
