"""The training loop: :func:`fit` (epochs of gradient steps) and :func:`trained`.

Each epoch computes the loss and its exact gradient over all sequences (RTRL, BPTT or truncated
BPTT, :mod:`.gradients`) and applies one optimizer step; entry ``k`` of the returned Dataset is
the loss, gradient norm and parameters *before* the k-th update, and ``update_<name>`` the
change it applied (the lecture's loop prints exactly these).  ``online=True`` (RTRL only)
updates the parameters after every time step instead, from the gradient of that step's loss
term through the running sensitivities, as real-time recurrent learning allows.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import xarray as xr

from .._blas import one_blas_thread
from .._validation import check_int, check_real, describe
from ..errors import TrainingError
from ..io.schema import make_training_dataset
from .fixed_point import fixed_point_value_and_grad, prepare_fixed_point
from .gradients import (EXTRA, RTRL, BPTT, Problem, _approximation_mask, _forward, _output, _sens_update,
                        _state_error, _trace_model, check_rtrl_memory, get_method,
                        is_fixed_point, loss_and_grad, prepare, with_method_model)
from .optim import SGD, Optimizer, get_optimizer, global_norm


def _finite(loss, grads) -> bool:
    return math.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads.values())


def _online_epoch(pb: Problem, opt: Optimizer, state: dict, approx=None):
    """One pass over the sequences (in lockstep over the batch) with an update after every step.
    Returns (problem after the pass, summed loss, summed gradient, optimizer state)."""
    B, T = pb.x.shape[0], pb.T
    model = pb.model
    ns = model.n_state
    params = [k for k in pb.trainable if k not in EXTRA]
    S = np.repeat(pb.r0[None], B, axis=0)
    p = [{k: np.zeros((ns,) + np.shape(getattr(model, k))) for k in params} for _ in range(B)]
    if "r0" in pb.trainable:
        for pk in p:
            pk["r0"] = np.eye(ns)
    total_loss = 0.0
    total_grad = {k: np.zeros_like(v) for k, v in pb.values().items()}
    for t in range(T):
        grads = {k: np.zeros_like(v) for k, v in total_grad.items()}
        loss_t = 0.0
        for b in range(B):
            s, x, y = S[b], pb.x[b, t], pb.y[b, t]
            A, Bj = model.step_jacobians(s, x, pb.dt, pb.step)
            if approx is not None:  # e-prop / element-wise traces, online as offline
                A = _trace_model(model, approx).step_jacobians(s, x, pb.dt, pb.step)[0] * \
                    _approximation_mask(model, approx)
            with np.errstate(over="ignore", invalid="ignore"):
                s_next = model.step(s, x, pb.dt, pb.step)
            if not np.all(np.isfinite(s_next)):
                return None, math.nan, grads, state
            for name in params:
                p[b][name] = _sens_update(model, p[b][name], name, A, getattr(Bj, name))
            if "r0" in p[b]:
                p[b]["r0"] = A @ p[b]["r0"]
            rates = _output(model, s_next)[0]
            o = rates if pb.readout is None else pb.readout @ rates
            a = pb.alpha[t] / T
            if pb.loss == "mse":
                loss_t += 0.5 * a * float(np.sum((o - y) ** 2))
                dl_do = a * (o - y)
            else:
                z = o - o.max()
                logp = z - np.log(np.exp(z).sum())
                loss_t -= a * float(y @ logp)
                dl_do = a * (np.exp(logp) - y)
            if "readout" in pb.trainable:
                grads["readout"] += np.outer(dl_do, rates)
            e = _state_error(pb, model, s_next, dl_do)
            for name, pk in p[b].items():
                grads[name] += np.tensordot(e, pk, axes=1)
            S[b] = s_next
        grads = {k: v / B for k, v in grads.items()}
        loss_t /= B
        if not _finite(loss_t, grads):
            return None, loss_t, grads, state
        total_loss += loss_t
        for k in total_grad:
            total_grad[k] += grads[k]
        values, state = opt.step(pb.values(), grads, state)
        pb = pb.with_values(values)
        model = pb.model
    return pb, total_loss, total_grad, state


@one_blas_thread
def fit(model, x, y, *, method=None, optimizer: Optimizer | str | dict | None = None, epochs: int,
        dt: float | None = None,
        r0=None, step: str = "euler", loss: str = "mse", weights=None, readout=None, trainable=None,
        online: bool = False, patience: int | None = None, min_delta: float = 0.0,
        progress: bool | None = None) -> xr.Dataset:
    """Train a rate model on sequences by gradient descent.

    Parameters
    ----------
    model, x, y, dt, r0, step, loss, weights, readout, trainable
        As :func:`~spikerate.learn.value_and_grad`.
    method : optional
        Gradient method (default BPTT; RTRL for ``online``); with a fixed-point method
        (ImplicitDirect, ImplicitAdjoint, EquilibriumPropagation) the loss is that of the fixed
        points, each solve warm-started from the previous epoch's solution.
    optimizer : Optimizer, name or dict, optional
        Default ``SGD(lr=0.01)``.
    epochs : int
        Number of updates (>= 1); the Dataset has exactly this many entries unless early
        stopping ends the run sooner.
    online : bool
        RTRL only: update after every time step (the loss of an entry is then the sum of the
        step losses seen during the pass).
    patience : int, optional
        Early stopping: stop when the loss has not improved on its best by more than
        ``min_delta`` for this many epochs.
    progress : bool, optional
        Progress bar (default: on a terminal).

    Returns
    -------
    xarray.Dataset
        Schema ``spikerate.training/1``: ``loss(epoch)``, ``grad_norm(epoch)``, each trainable
        parameter per epoch (before its update), ``update_<name>(epoch, ...)`` and
        ``<name>_final``; attrs ``method``, ``optimizer``, ``stopped`` (``"completed"``,
        ``"early_stopping"`` or, after Ctrl-C, ``"interrupted"`` with ``interrupted = 1``: the
        epochs finished so far).  :func:`trained` gives the trained model.

    Raises
    ------
    spikerate.errors.TrainingError
        The loss or a gradient became non-finite; ``err.history`` holds the Dataset up to the
        last finite epoch.
    spikerate.errors.InsufficientMemoryError
        RTRL's sensitivities (one per sequence with ``online``) would not fit in the available
        memory; checked before the first epoch.

    Examples
    --------
    >>> from spikerate.models import RateModel
    >>> from spikerate.learn import fit, RTRL, SGD
    >>> m = RateModel(w=[[0.5]], u=[[1.0]], b=[0.0], tau=1.0, g="linear", trainable=("b",))
    >>> h = fit(m, [0.0] * 5, [1.0] * 5, method=RTRL(), optimizer=SGD(lr=1.0), epochs=3, dt=0.1, progress=False)
    >>> h.loss.dims, bool(h.loss[-1] < h.loss[0])
    (('epoch',), True)
    """
    epochs = check_int("epochs", epochs, minimum=1)
    if method is None:
        method = RTRL() if online else BPTT()
    method = get_method(method)
    if online and not isinstance(method, RTRL):
        raise ValueError(f"`online`=True needs method=RTRL() (forward sensitivities are available at every step); "
                         f"got method={type(method).__name__}.")
    opt = SGD(lr=0.01) if optimizer is None else get_optimizer(optimizer)
    if patience is not None:
        patience = check_int("patience", patience, minimum=1)
    min_delta = check_real("min_delta", min_delta)
    if min_delta < 0:
        raise ValueError(f"`min_delta` must be >= 0; got {min_delta}.")
    fixed = is_fixed_point(method)
    if fixed:
        if online:
            raise ValueError("`online`=True applies to RTRL on trajectories, not to fixed-point methods.")
        pb = prepare_fixed_point(model, x, y, loss=loss, readout=readout, trainable=trainable, r0=r0)
    else:
        pb = with_method_model(prepare(model, x, y, dt=dt, r0=r0, step=step, loss=loss, weights=weights,
                                       readout=readout, trainable=trainable), method)
        check_rtrl_memory(pb, method, online=online)  # before the first epoch (again in every offline epoch)
    if progress is None:
        progress = sys.stderr.isatty()
    state = opt.init(pb.values())
    losses, norms, params, updates = [], [], {k: [] for k in pb.trainable}, {k: [] for k in pb.trainable}
    best, since_best, stopped = math.inf, 0, "completed"
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs, desc="fit", unit="epoch", leave=False)

    def history(final_values):
        attrs = dict(method=method.name, optimizer=json.dumps(opt.to_dict()), model=json.dumps(
            pb.model.to_dict(arrays=False)), trainable=json.dumps(list(pb.trainable)), epochs=epochs,
            stopped=stopped, dt=getattr(pb, "dt", None), step=getattr(pb, "step", "fixed_point"), loss_kind=pb.loss,
            online=int(bool(online)), window=getattr(method, "window", None), beta=getattr(method, "beta", None),
            batch=pb.x.shape[0], T=getattr(pb, "T", None))
        m = min([len(losses), len(norms)] + [len(v) for v in params.values()] + [len(v) for v in updates.values()])
        return make_training_dataset(loss=np.array(losses[:m]), grad_norm=np.array(norms[:m]),
                                     params={k: np.array(v[:m]) for k, v in params.items()},
                                     updates={k: np.array(v[:m]) for k, v in updates.items()}, final=final_values,
                                     **attrs)

    try:
        for epoch in range(epochs):
            before = pb.values()
            if online:
                new_pb, loss_e, grads, new_state = _online_epoch(pb, opt, state,
                                                                 getattr(method, "approximation", None))
                if new_pb is None:
                    _raise(epoch, loss_e, grads, history, before)
                after = new_pb.values()
            else:
                loss_e, grads = (fixed_point_value_and_grad(pb, method) if fixed else loss_and_grad(pb, method))
                if not _finite(loss_e, grads):
                    _raise(epoch, loss_e, grads, history, before)
                after, new_state = opt.step(before, grads, state)
                new_pb = pb.with_values(after)
            losses.append(loss_e)
            norms.append(global_norm(grads))
            for k in pb.trainable:
                params[k].append(before[k])
                updates[k].append(after[k] - before[k])
            pb, state = new_pb, new_state
            if bar is not None:
                bar.set_postfix(loss=f"{loss_e:.4g}")
                bar.update()
            if patience is not None:
                if loss_e < best - min_delta:
                    best, since_best = loss_e, 0
                else:
                    since_best += 1
                    if since_best >= patience:
                        stopped = "early_stopping"
                        break
    except KeyboardInterrupt:  # Ctrl-C: the epochs finished so far are the result
        stopped = "interrupted"
    finally:
        if bar is not None:
            bar.close()
    result = history(pb.values())
    if stopped == "interrupted":
        result.attrs["interrupted"] = 1
    return result


def _raise(epoch, loss_e, grads, history, last_values):
    bad = [k for k, g in grads.items() if not np.all(np.isfinite(g))]
    what = f"loss = {loss_e}" if not math.isfinite(loss_e) else f"gradient of {bad}"
    raise TrainingError(f"training diverged at epoch {epoch}: {what} is not finite. The last finite parameters are "
                        f"in `err.history` (the `<name>_final` variables). Lower the learning rate, clip the gradient "
                        f"(optimizer clip_norm=...), or shorten dt.", history=history(last_values))


def trained(model, history: xr.Dataset, *, epoch: int | None = None):
    """The model with the parameters of a training Dataset: after training (default) or before
    the update of entry ``epoch``.  Only the model's own parameters are set (``readout`` and
    ``r0``, if trained, are the ``readout_final`` / ``r0_final`` variables)."""
    if not isinstance(history, xr.Dataset) or "loss" not in history:
        raise TypeError(f"`history` must be the Dataset returned by fit; got {describe(history)}.")
    names = [k for k in json.loads(history.attrs["trainable"]) if k not in EXTRA]
    if epoch is None:
        values = {k: history[f"{k}_final"].values for k in names}
    else:
        epoch = check_int("epoch", epoch, minimum=0)
        if epoch >= history.sizes["epoch"]:
            raise ValueError(f"`epoch` must be below the number of entries ({history.sizes['epoch']}); got {epoch}.")
        values = {k: history[k].values[epoch] for k in names}
    return model.with_params(**values)


@one_blas_thread
def predict(model, x, *, dt: float, r0=None, step: str = "euler", readout=None) -> np.ndarray:
    """The outputs ``o_t`` (after each step) of a model for inputs ``x`` shaped as for
    :func:`~spikerate.learn.value_and_grad`: (T, n_out) or (batch, T, n_out)."""
    xa = np.asarray(x, dtype=float)
    T = xa.shape[-2] if xa.ndim >= 2 else xa.shape[0]
    n_out = model.n if readout is None else np.shape(readout)[0]
    y = np.zeros(xa.shape[:-1] + (n_out,)) if xa.ndim >= 2 else np.zeros((T, n_out))
    pb = prepare(model, x, y, dt=dt, r0=r0, step=step, readout=readout, trainable=(model.params_type.names()[0],))
    out = np.array([_forward(pb, pb.model, pb.x[b])[2] for b in range(pb.x.shape[0])])
    return out if pb.batched else out[0]
