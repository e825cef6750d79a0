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
    ``u ~ N(0, 1/n_in)``, ``b = 0``; ``symmetric = true`` symmetrises ``w``, as equilibrium
    propagation needs)."""
    if not isinstance(spec, dict):
        raise TypeError(f"`model` must be a table of model settings; got {describe(spec)}.")
    spec = dict(spec)
    kind = check_choice("model.kind", spec.pop("kind", "rate"), MODELS)
    if "n" in spec:
        n = check_int("model.n", spec.pop("n"), minimum=1)
        n_in = check_int("model.n_in", spec.pop("n_in", 1), minimum=1)
        gain = check_real("model.gain", spec.pop("gain", 0.9))
        symmetric = spec.pop("symmetric", False)
        rng = np.random.default_rng(check_int("model.seed", spec.pop("seed", 0), minimum=0))
        w = rng.normal(0.0, gain / np.sqrt(n), (n, n))
        spec.setdefault("w", (w + w.T) / np.sqrt(2.0) if symmetric else w)
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
               trainable=None, online: bool = False, patience: int | None = None, check_methods=(),
               progress: bool | None = None) -> xr.Dataset:
    """Train the model described by ``model`` on the task described by ``task`` (a dict with
    ``name`` and the generator's arguments, :func:`~spikerate.learn.tasks.get_task`).

    Sequence tasks train along trajectories; static tasks (``xor``, ``circles``) at fixed points
    (``method`` ``implicit_direct``, ``implicit_adjoint`` or ``eqprop``).  ``r0 = "y0"`` starts
    from the first target (the lecture's ``r_0 = y_0``); ``dt`` defaults to the task's.
    ``readout``: a matrix (n_out, n), ``"random"`` (N(0, 1/n), seeded) or None (identity).
    ``check_methods``: other gradient methods trained on the same data from the same start; per
    method the Dataset gets ``loss_<method>(epoch)`` and the attributes
    ``max_update_difference_<method>`` (largest relative difference of the updates from this
    run's), ``time_per_epoch_<method>`` [s], ``peak_memory_<method>`` [bytes, one gradient,
    tracemalloc] and, for classification, ``accuracy_<method>``.  Returns the training Dataset
    of :func:`fit` plus the first sequence (``x``, ``y``, outputs before and after training) or,
    for a static task, every sample with the outputs at the fixed points before and after.
    """
    import time
    import tracemalloc

    from .fixed_point import fixed_point_outputs
    from .gradients import is_fixed_point, value_and_grad
    if not isinstance(task, dict) or "name" not in task:
        raise ValueError(f"`task` must be a table with a `name` (one of the tasks) and its arguments; got "
                         f"{describe(task)}.")
    tk = get_task(dict(task))
    m = build_model(model)
    method = get_method(method)
    if tk.static != is_fixed_point(method):
        kind = "static" if tk.static else "sequence"
        want = "a fixed-point method (implicit_direct, implicit_adjoint, eqprop)" if tk.static else \
            "a trajectory method (rtrl, bptt)"
        raise ValueError(f"`method` {method.name!r} does not fit the {kind} task {tk.name!r}: use {want}.")
    dt = tk.dt if dt is None else dt
    if isinstance(r0, str):
        if r0 != "y0" or tk.static:
            raise ValueError(f"`r0` must be a list of numbers or \"y0\" (the first target of a sequence task); "
                             f"got {r0!r}.")
        y0 = np.asarray(tk.y)[(0,) * (tk.y.ndim - 2) + (0,)]
        if y0.shape != (m.n_state,):
            raise ValueError(f"`r0` = \"y0\" needs one target per state variable ({m.n_state}); the task has "
                             f"{y0.shape[0]} outputs.")
        r0 = y0
    if isinstance(readout, str):
        if readout != "random":
            raise ValueError(f"`readout` must be a matrix, \"random\" or absent; got {readout!r}.")
        seed = int(model.get("seed", 0)) if isinstance(model, dict) else 0
        readout = np.random.default_rng(seed + 1).normal(0.0, 1.0 / np.sqrt(m.n), (tk.n_out, m.n))
    if trainable is not None:
        trainable = tuple(trainable)
    common = dict(dt=dt, r0=r0, step=step, loss=loss, readout=readout, epochs=epochs, optimizer=optimizer,
                  patience=patience, trainable=trainable)
    classify = bool(np.all((tk.y == 0) | (tk.y == 1)) and np.all(tk.y.sum(axis=-1) == 1) and tk.n_out > 1)

    def outputs(mod, R):
        if tk.static:
            return fixed_point_outputs(mod, tk.x, readout=R, method=method)
        x1 = np.asarray(tk.x) if tk.x.ndim == 2 else np.asarray(tk.x)[0]
        return predict(mod, x1, dt=dt, r0=r0, step=step, readout=R)

    def accuracy(o):
        y = tk.y if tk.static else (tk.y if tk.y.ndim == 2 else tk.y[0])
        return float(np.mean(o.argmax(axis=-1) == y.argmax(axis=-1)))

    def run(meth, *, online_):
        t0 = time.perf_counter()
        h = fit(m, tk.x, tk.y, method=meth, online=online_, progress=progress if meth is method else False,
                **common)
        per_epoch = (time.perf_counter() - t0) / max(h.sizes["epoch"], 1)
        R_after = h["readout_final"].values if "readout_final" in h else readout
        after = outputs(trained(m, h), R_after)
        tracemalloc.start()
        try:
            value_and_grad(m, tk.x, tk.y, method=meth, dt=dt, r0=r0, step=step, loss=loss, readout=readout,
                           trainable=trainable)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return h, after, per_epoch, peak

    hist, after, per_epoch, peak = run(method, online_=online)
    before = outputs(m, readout)
    hist.attrs.update({f"time_per_epoch_{method.name}": per_epoch, f"peak_memory_{method.name}": peak})
    if classify:
        hist.attrs["accuracy_before"] = accuracy(before)
        hist.attrs[f"accuracy_{method.name}"] = accuracy(after)
    if tk.static:
        dims_in, dims_out = ("sample", "input"), ("sample", "output")
        x1, y1 = np.asarray(tk.x), np.asarray(tk.y)
    else:
        dims_in, dims_out = ("step", "input"), ("step", "output")
        x1 = np.asarray(tk.x) if tk.x.ndim == 2 else np.asarray(tk.x)[0]
        y1 = np.asarray(tk.y) if tk.y.ndim == 2 else np.asarray(tk.y)[0]
    what = "sample" if tk.static else "first sequence"
    hist["x"] = variable(x1, dims_in, units="1", long_name=f"input ({what})")
    hist["y"] = variable(y1, dims_out, units="1", long_name=f"target ({what})")
    hist["output_before"] = variable(before, dims_out, units="1", long_name="output before training")
    hist["output_after"] = variable(after, dims_out, units="1", long_name="output after training")
    if not tk.static:
        hist = hist.assign_coords(step=np.arange(x1.shape[0]) * dt)
        hist["step"].attrs.update(units="s", long_name="time of the step's output")
    for other in check_methods:
        om = get_method(other)
        oh, o_after, o_epoch, o_peak = run(om, online_=False)
        hist[f"loss_{om.name}"] = oh["loss"]
        diffs = []
        for name in [v[len("update_"):] for v in hist.data_vars if v.startswith("update_")]:
            a, b = hist[f"update_{name}"].values, oh[f"update_{name}"].values
            diffs.append(float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300)))
        hist.attrs[f"max_update_difference_{om.name}"] = max(diffs)
        hist.attrs[f"time_per_epoch_{om.name}"] = o_epoch
        hist.attrs[f"peak_memory_{om.name}"] = o_peak
        if classify:
            hist.attrs[f"accuracy_{om.name}"] = accuracy(o_after)
    hist.attrs["task"] = tk.name
    return hist
