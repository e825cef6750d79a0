"""Exact gradients of a discretised trajectory loss: RTRL, BPTT and truncated BPTT.

The model runs ``T`` steps of its discrete map (DESIGN.md §2, ``model.step``)::

    s_0 = r0,   s_{t+1} = Phi(s_t, x_t; theta),   o_t = R out(s_{t+1}),   t = 0 .. T-1

(``out`` = the rates: ``r``, ``g(I)`` for the current model, the ``r`` half of the two-variable
state; ``R`` the readout, identity by default) and the loss compares ``o_t`` with ``y_t``::

    mse:            l = 1/(2T) sum_t alpha_t ||o_t - y_t||^2
    cross_entropy:  l = -1/T sum_t alpha_t sum_k y_tk log softmax(o_t)_k

averaged over the sequences of a batch.  With ``A_t = dPhi/ds`` and ``B_t = dPhi/dtheta`` from
``model.step_jacobians`` and ``e_t = dl/ds_{t+1}``:

* RTRL (forward): ``p_{t+1} = A_t p_t + B_t``, ``p_0 = 0`` (identity for ``r0``),
  ``dl/dtheta = sum_t e_t p_{t+1}``; memory O(n_state x n_params), no stored trajectory.
* BPTT (backward): ``lambda_T = 0``, ``lambda_t = A_t^T (lambda_{t+1} + e_t)``,
  ``dl/dtheta = sum_t (lambda_{t+1} + e_t)^T B_t``, ``dl/dr0 = lambda_0``.
* Truncated BPTT: BPTT within consecutive windows of ``window`` steps, the adjoint not carried
  across window boundaries (the state is); exact when ``window >= T``.

Both exact methods give the gradient of the loss the code computes, to round-off; the tests
check them against each other and against central finite differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from .. import _memory
from .._blas import one_blas_thread
from .._validation import check_choice, check_int, check_real_array, describe, suggest
from ..errors import InsufficientMemoryError
from ..models.rate import AbstractRateModel

STEPS = ("euler", "exp_euler")
LOSSES = ("mse", "cross_entropy")
#: learning-level parameters besides the model's: the readout matrix and the initial state
EXTRA = ("readout", "r0")


@dataclass(frozen=True)
class RTRL:
    """Real-time recurrent learning: forward sensitivities ``p_t = ds_t/dtheta``."""
    name: ClassVar[str] = "rtrl"


@dataclass(frozen=True)
class BPTT:
    """Backpropagation through time over the stored trajectory."""
    name: ClassVar[str] = "bptt"


@dataclass(frozen=True, kw_only=True)
class TruncatedBPTT:
    """BPTT within windows of ``window`` steps (the adjoint is cut at window boundaries)."""
    name: ClassVar[str] = "truncated_bptt"
    window: int

    def __post_init__(self):
        object.__setattr__(self, "window", check_int("window", self.window, minimum=1))


@dataclass(frozen=True, kw_only=True)
class SurrogateRTRL(RTRL):
    """Exact forward sensitivities of a spiking network with ``surrogate`` in place of dH/dv."""
    name: ClassVar[str] = "surrogate_rtrl"
    surrogate: object = None
    approximation: ClassVar[str | None] = None

    def __post_init__(self):
        from .surrogates import FastSigmoid, get_surrogate
        object.__setattr__(self, "surrogate", FastSigmoid() if self.surrogate is None
                           else get_surrogate(self.surrogate))


@dataclass(frozen=True, kw_only=True)
class SurrogateBPTT(BPTT):
    """Backpropagation through the stored trajectory of a spiking network with ``surrogate``."""
    name: ClassVar[str] = "surrogate_bptt"
    surrogate: object = None

    __post_init__ = SurrogateRTRL.__post_init__


@dataclass(frozen=True, kw_only=True)
class EProp(SurrogateRTRL):
    """e-prop (Bellec et al. 2020, Nature Communications): forward eligibility traces through each
    neuron's own state only (the couplings between neurons in the state Jacobian dropped), times
    the instantaneous learning signal dl/ds_t; an approximation of the gradient."""
    name: ClassVar[str] = "eprop"
    approximation: ClassVar[str] = "local"


@dataclass(frozen=True, kw_only=True)
class DiagonalRTRL(SurrogateRTRL):
    """Element-wise RTRL approximation (RFLO-like, Murray 2019, eLife): each weight's trace is its
    presynaptic activity filtered through the postsynaptic neuron's synapse, membrane and readout
    decays and gated by the surrogate -- the couplings between neurons, the autapse and the
    derivative of the reset are dropped (e-prop keeps the last two)."""
    name: ClassVar[str] = "diagonal_rtrl"
    approximation: ClassVar[str] = "diagonal"


METHODS = {"rtrl": RTRL, "bptt": BPTT, "truncated_bptt": TruncatedBPTT}
SURROGATE_METHODS = (SurrogateRTRL, SurrogateBPTT)


def get_method(method):
    """A gradient method from an instance or a name (``"rtrl"``, ``"bptt"``, ``"implicit_direct"``,
    ``"implicit_adjoint"``, ``"eqprop"``)."""
    from .fixed_point import FIXED_POINT_METHODS
    if isinstance(method, (RTRL, BPTT, TruncatedBPTT, *FIXED_POINT_METHODS)):
        return method
    by_name = {"rtrl": RTRL, "bptt": BPTT, **{c.name: c for c in FIXED_POINT_METHODS},
               **{c.name: c for c in (SurrogateRTRL, SurrogateBPTT, EProp, DiagonalRTRL)}}
    if isinstance(method, str) and method in by_name:
        return by_name[method]()
    hint = suggest(method, list(by_name) + ["truncated_bptt"]) if isinstance(method, str) else ""
    raise ValueError(f"`method` must be RTRL(), BPTT(), TruncatedBPTT(window=k), ImplicitDirect(), "
                     f"ImplicitAdjoint(), EquilibriumPropagation(beta=...) or one of the names {sorted(by_name)}; "
                     f"got {describe(method)}.{hint}")


def is_fixed_point(method) -> bool:
    """True for the methods that differentiate a fixed point instead of a trajectory."""
    from .fixed_point import FIXED_POINT_METHODS
    return isinstance(method, FIXED_POINT_METHODS)


# ------------------------------------------------------------------------------- the problem


@dataclass(frozen=True, eq=False)
class Problem:
    """Validated data of a trajectory loss (see :func:`prepare`): ``x`` (B, T, n_in), ``y``
    (B, T, n_out), ``alpha`` (T,), ``r0`` (n_state,), ``readout`` (n_out, n) or None."""
    model: AbstractRateModel
    x: np.ndarray
    y: np.ndarray
    dt: float
    step: str
    loss: str
    alpha: np.ndarray
    r0: np.ndarray
    readout: np.ndarray | None
    trainable: tuple[str, ...]
    batched: bool

    @property
    def T(self) -> int:
        return self.x.shape[1]

    def with_values(self, values: dict[str, np.ndarray]) -> Problem:
        """The problem with new parameter values (model parameters, ``readout``, ``r0``)."""
        model_changes = {k: v for k, v in values.items() if k not in EXTRA}
        model = self.model.with_params(**model_changes) if model_changes else self.model
        return Problem(model, self.x, self.y, self.dt, self.step, self.loss, self.alpha,
                       np.asarray(values.get("r0", self.r0), float),
                       None if self.readout is None else np.asarray(values.get("readout", self.readout), float),
                       self.trainable, self.batched)

    def values(self) -> dict[str, np.ndarray]:
        """Current values of the trainable parameters."""
        out = {}
        for name in self.trainable:
            if name == "r0":
                out[name] = self.r0.copy()
            elif name == "readout":
                out[name] = self.readout.copy()
            else:
                out[name] = np.array(getattr(self.model, name), dtype=float)
        return out


def _sequence(name, a, T_name, width, width_name):
    a = check_real_array(name, a)
    if a.ndim == 1:
        if width != 1:
            raise ValueError(f"`{name}` must have shape (T, {width_name}) = (T, {width}) (a 1-D `{name}` means one "
                             f"{'input' if name == 'x' else 'output'}, but the model has {width}); got shape {a.shape}.")
        return a[None, :, None], False
    if a.ndim == 2:
        if a.shape[1] != width:
            raise ValueError(f"`{name}` must have shape (T, {width_name}) = (T, {width}); got shape {a.shape}.")
        return a[None], False
    if a.ndim == 3:
        if a.shape[2] != width:
            raise ValueError(f"`{name}` must have shape (batch, T, {width_name}) = (batch, T, {width}); "
                             f"got shape {a.shape}.")
        return a, True
    raise ValueError(f"`{name}` must have shape (T,), (T, {width_name}) or (batch, T, {width_name}); "
                     f"got shape {a.shape}.")


def prepare(model, x, y, *, dt, r0=None, step="euler", loss="mse", weights=None, readout=None,
            trainable=None) -> Problem:
    """Check the arguments of :func:`value_and_grad` / :func:`~spikerate.learn.fit`."""
    from .spiking import SpikingModel
    if not isinstance(model, (AbstractRateModel, SpikingModel)):
        raise TypeError(f"`model` must be a RateModel, CurrentModel or TwoVariableModel; got {describe(model)}.")
    from .._validation import check_positive
    if dt is None:
        raise ValueError("`dt` is required for the trajectory methods (RTRL, BPTT): the step of the discrete "
                         "map [s]; got None.")
    dt = check_positive("dt", dt, unit="s")
    check_choice("step", step, STEPS)
    check_choice("loss", loss, LOSSES)
    R, n_out = _check_readout(readout, model)
    xs, bx = _sequence("x", x, "T", model.n_in, "n_in")
    ys, by = _sequence("y", y, "T", n_out, "n_out")
    if xs.shape[1] != ys.shape[1]:
        raise ValueError(f"`x` and `y` must have the same length T; got {xs.shape[1]} and {ys.shape[1]}.")
    if bx and by and xs.shape[0] != ys.shape[0]:
        raise ValueError(f"`x` and `y` must have the same batch size; got {xs.shape[0]} and {ys.shape[0]}.")
    B = max(xs.shape[0], ys.shape[0])
    xs = np.ascontiguousarray(np.broadcast_to(xs, (B,) + xs.shape[1:]))
    ys = np.ascontiguousarray(np.broadcast_to(ys, (B,) + ys.shape[1:]))
    T = xs.shape[1]
    if T < 1:
        raise ValueError("`x` must have at least one time step; got T = 0.")
    if weights is None:
        alpha = np.ones(T)
    else:
        alpha = check_real_array("weights", weights)
        if alpha.shape != (T,):
            raise ValueError(f"`weights` must have shape (T,) = ({T},), one weight per time step; got {alpha.shape}.")
        if np.any(alpha < 0):
            raise ValueError("`weights` must be >= 0.")
    if loss == "cross_entropy":
        if np.any(ys < 0) or not np.allclose(ys.sum(axis=-1), 1.0):
            raise ValueError("`y` must hold probabilities over the outputs (>= 0, summing to 1 at every step, e.g. "
                             "one-hot) for loss='cross_entropy'.")
    if r0 is None:
        s0 = np.zeros(model.n_state)
    else:
        s0 = check_real_array("r0", r0)
        if s0.shape != (model.n_state,):
            what = "(I, r) concatenated" if model.n_state > model.n else "one value per unit"
            raise ValueError(f"`r0` must have shape ({model.n_state},) ({what}); got shape {s0.shape}.")
    names = model.params_type.names()
    if trainable is None:
        trainable = tuple(model.trainable)
    elif isinstance(trainable, str):
        trainable = (trainable,)
    trainable = tuple(trainable)
    valid = names + EXTRA
    for t in trainable:
        if not isinstance(t, str) or t not in valid:
            raise ValueError(f"`trainable` must contain names from {list(valid)}; got {describe(t)}."
                             + (suggest(t, valid) if isinstance(t, str) else ""))
    if "readout" in trainable and R is None:
        raise ValueError("`trainable` has 'readout' but no `readout` matrix was given; pass readout=... (n_out, n).")
    if len(set(trainable)) != len(trainable):
        raise ValueError(f"`trainable` must not repeat names; got {trainable}.")
    if not trainable:
        raise ValueError("`trainable` is empty: nothing to differentiate. Name parameters, e.g. trainable=('w',).")
    if hasattr(model, "g"):
        model.g.derivative(np.zeros(model.n))  # a plain callable g fails here, with a clear message
    return Problem(model, xs, ys, float(dt), step, loss, alpha, np.asarray(s0, float),
                   None if R is None else np.asarray(R, float), trainable, bool(bx or by))


# ------------------------------------------------------------------------------- pieces


def _output(model, s):
    """Rates ``out(s)`` and ``d out/ds`` (n, n_state)."""
    n = model.n
    if model.kind_name == "rate":
        return s, None
    if model.kind_name == "two_variable":
        return s[n:], None
    if model.kind_name == "spiking":
        return model.output(s), None
    gi, d = model.g.value(s), model.g.derivative(s)
    return np.asarray(gi, float), np.asarray(d, float)


def _loss_terms(pb: Problem, o, y):
    """Loss of one sequence (sum over t, already / T) and ``dl/do_t`` (T, n_out)."""
    T = o.shape[0]
    a = pb.alpha[:, None] / T
    if pb.loss == "mse":
        diff = o - y
        return 0.5 * float(np.sum(a * diff * diff)), a * diff
    z = o - o.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -float(np.sum(a * y * logp)), a * (np.exp(logp) - y)


def _state_error(pb: Problem, model, s_next, dl_do):
    """``e = dl/ds_{t+1}`` (n_state,) from ``dl/do_t``."""
    n = model.n
    d_out = dl_do if pb.readout is None else pb.readout.T @ dl_do
    e = np.zeros(model.n_state)
    if model.kind_name == "rate":
        e[:] = d_out
    elif model.kind_name == "two_variable":
        e[n:] = d_out
    elif model.kind_name == "spiking":
        e[2 * n:3 * n] = d_out / model.tau_out  # the output is the readout trace z / tau_out
    else:
        e[:] = d_out * np.asarray(model.g.derivative(s_next), float)
    return e


def _forward(pb: Problem, model, x):
    """States (T + 1, n_state) and outputs (T, n_out) of one sequence."""
    T = x.shape[0]
    S = np.empty((T + 1, model.n_state))
    S[0] = pb.r0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T):
            S[t + 1] = model.step(S[t], x[t], pb.dt, pb.step)
            if not np.all(np.isfinite(S[t + 1])):  # diverged: the loss is not finite, say so upstream
                S[t + 1:] = np.nan
                return S, None, np.full((T, pb.y.shape[2]), np.nan)
    rates = np.array([_output(model, S[t + 1])[0] for t in range(T)])
    o = rates if pb.readout is None else rates @ pb.readout.T
    return S, rates, o


def _accumulate(model, grads, name, lam, C):
    """``grads[name] += lam^T B`` for the compact ``C = B.name`` (see jacobian_params)."""
    o, n = model.param_rows[name], model.n
    lr = lam[o:o + n]
    p = getattr(model, name)
    if p.ndim == 2:
        grads[name] += lr[:, None] * C
    elif p.ndim == 1:
        grads[name] += lr * C
    else:
        grads[name] += float(lr @ C)


def _sens_update(model, p, name, A, C):
    """RTRL: ``p_{t+1} = A p_t + B`` for one parameter, ``p`` of shape (n_state, *param.shape)."""
    o, n = model.param_rows[name], model.n
    out = np.tensordot(A, p, axes=1)
    rows = o + np.arange(n)
    par = getattr(model, name)
    if par.ndim == 2:
        out[rows, np.arange(n), :] += C
    elif par.ndim == 1:
        out[rows, np.arange(n)] += C
    else:
        out[rows] += C
    return out


def _zero_grads(pb: Problem):
    return {k: np.zeros_like(v) for k, v in pb.values().items()}


# ------------------------------------------------------------------------------- methods


def _check_readout(readout, model):
    """(R, n_out): a validated readout matrix (n_out, n), or (None, n) for the identity."""
    if readout is None:
        return None, model.n
    R = check_real_array("readout", readout)
    if R.ndim != 2 or R.shape[1] != model.n:
        raise ValueError(f"`readout` must have shape (n_out, n) = (n_out, {model.n}); got shape {R.shape}.")
    return R, R.shape[0]


def _forward_and_loss(pb: Problem, x, y, grads):
    """The forward pass and the loss terms of one sequence, or None (gradients set to NaN)
    when the trajectory diverged."""
    S, rates, o = _forward(pb, pb.model, x)
    if rates is None:
        for g in grads.values():
            g += np.nan
        return None
    loss, dl_do = _loss_terms(pb, o, y)
    return S, rates, o, loss, dl_do


def _bptt_one(pb: Problem, x, y, grads, window: int | None):
    model = pb.model
    fwd = _forward_and_loss(pb, x, y, grads)
    if fwd is None:
        return math.nan
    S, rates, o, loss, dl_do = fwd
    T = x.shape[0]
    params = [k for k in pb.trainable if k not in EXTRA]
    if "readout" in pb.trainable:
        grads["readout"] += dl_do.T @ rates
    lam = np.zeros(model.n_state)
    for t in range(T - 1, -1, -1):
        if window is not None and (t + 1) % window == 0:
            lam = np.zeros(model.n_state)  # the adjoint does not cross a window boundary
        lam = lam + _state_error(pb, model, S[t + 1], dl_do[t])
        A, B = model.step_jacobians(S[t], x[t], pb.dt, pb.step)
        for name in params:
            _accumulate(model, grads, name, lam, getattr(B, name))
        lam = A.T @ lam
    if "r0" in pb.trainable:
        grads["r0"] += lam  # (truncated: the first window's adjoint, the only one that reaches s_0)
    return loss


def _approximation_mask(model, approx):
    """0/1 mask of the state Jacobian kept by an approximate forward method: the couplings
    between the state variables of the same unit (``"local"``: e-prop's eligibility traces;
    ``"diagonal"`` uses the same mask on the Jacobian of :func:`_trace_model`); None keeps
    everything (exact RTRL)."""
    if approx is None:
        return None
    n, ns = model.n, model.n_state
    unit = np.arange(ns) % n
    return (unit[:, None] == unit[None, :]).astype(float)


def _trace_model(model, approx):
    """The model whose state Jacobian the approximation follows: for ``"diagonal"`` (element-wise
    traces, RFLO-like) the neuron's own feedback is dropped too -- no derivative through its reset
    and no autapse -- so each weight's trace is its presynaptic activity filtered by the neuron's
    synapse, membrane and readout decays and gated by the surrogate."""
    if approx != "diagonal":
        return model
    import dataclasses as _dc
    w = np.array(model.w)
    np.fill_diagonal(w, 0.0)
    return _dc.replace(model, w=w, detach_reset=True)


def _rtrl_one(pb: Problem, x, y, grads, approx=None):
    model = pb.model
    fwd = _forward_and_loss(pb, x, y, grads)
    if fwd is None:
        return math.nan
    S, rates, o, loss, dl_do = fwd
    params = [k for k in pb.trainable if k not in EXTRA]
    if "readout" in pb.trainable:
        grads["readout"] += dl_do.T @ rates
    ns = model.n_state
    p = {k: np.zeros((ns,) + np.shape(getattr(model, k))) for k in params}
    if "r0" in pb.trainable:
        p["r0"] = np.eye(ns)
    mask = _approximation_mask(model, approx)
    tracer = _trace_model(model, approx)
    for t in range(x.shape[0]):
        A, B = model.step_jacobians(S[t], x[t], pb.dt, pb.step)
        if mask is not None:
            A = tracer.step_jacobians(S[t], x[t], pb.dt, pb.step)[0] * mask
        for name in params:
            p[name] = _sens_update(model, p[name], name, A, getattr(B, name))
        if "r0" in p:
            p["r0"] = A @ p["r0"]
        e = _state_error(pb, model, S[t + 1], dl_do[t])
        for name, pk in p.items():
            grads[name] += np.tensordot(e, pk, axes=1)
    return loss


def rtrl_memory(pb: Problem, method, *, online: bool = False) -> dict[str, float]:
    """Bytes RTRL's sensitivity matrices need for ``pb`` (with the method's model, see
    :func:`with_method_model`), before they are allocated: ``sensitivities`` (bytes),
    ``n_state``, ``n_params`` (their columns: the trainable parameters' entries, ``n_state`` for
    ``r0``; the readout needs none) and ``copies`` (how many ``n_state x n_params`` matrices
    are alive at once).

    The compiled paths keep ``P`` and ``A P`` ((n + 1) x n_params each, rate models) or five
    n x n_params matrices (spiking models: the v', I, z rows, the spike change and what reaches
    the synapses -- also for EProp and DiagonalRTRL, whose masks do not shrink them), plus the
    per-sequence gradients (batch x n_params); the generic path keeps ``p`` and ``A p``
    (n_state x n_params) for one sequence at a time; ``online`` (:func:`~spikerate.learn.fit`)
    keeps one ``p`` per sequence of the batch and one ``A p``.
    """
    model = pb.model
    B, n, ns = pb.x.shape[0], model.n, model.n_state
    n_params = sum(ns if k == "r0" else int(np.size(getattr(model, k))) for k in pb.trainable if k != "readout")
    if online:
        copies, extra = B + 1.0, 0.0
    elif _fast_applies(pb, method):
        copies = 5.0 * n / ns if model.kind_name == "spiking" else 2.0 * (n + 1) / ns
        extra = float(B) * n_params  # the per-sequence gradients
    else:
        copies, extra = 2.0, 0.0
    return {"sensitivities": 8.0 * (copies * ns * n_params + extra), "n_state": ns, "n_params": n_params,
            "copies": copies}


def check_rtrl_memory(pb: Problem, method, *, online: bool = False) -> None:
    """Refuse RTRL (and its approximations, which keep the same matrices) before it allocates
    sensitivities larger than the available memory (:func:`rtrl_memory`)."""
    if not isinstance(method, RTRL):
        return
    est = rtrl_memory(pb, method, online=online)
    have = _memory.available_memory()
    if est["sensitivities"] <= have:
        return
    spiking = pb.model.kind_name == "spiking"
    alt = ("method=SurrogateBPTT() (memory O(batch T n), the same gradient as SurrogateRTRL)" if spiking else
           "method=BPTT() (memory O(batch T n), the same gradient) or TruncatedBPTT(window=...)")
    weights = [k for k in pb.trainable if k != "readout" and np.ndim(getattr(pb.model, k, 0)) == 2]
    batch = f" x the {pb.x.shape[0]} sequences of the batch, online" if online else ""
    raise InsufficientMemoryError(
        f"{type(method).__name__}() needs about {_memory.gib(est['sensitivities'])} for its sensitivities "
        f"({est['n_state']} state variables x {est['n_params']} trainable parameter entries{batch}) but the machine "
        f"has {_memory.gib(have)} available. Use {alt}, or fewer trainable parameters with `trainable=`"
        + (f" (the matrices {weights} have the most entries)" if weights else "")
        + (", or a smaller batch (or online=False)" if online else "") + ".")


def loss_and_grad(pb: Problem, method) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of a prepared problem (batch mean).

    Raises :class:`~spikerate.errors.InsufficientMemoryError` for RTRL when its sensitivities
    would not fit in the available memory (:func:`check_rtrl_memory`, before any allocation,
    for the compiled paths as for the generic one)."""
    pb = with_method_model(pb, method)
    check_rtrl_memory(pb, method)
    if _fast_applies(pb, method):
        out = _fast_loss_and_grad(pb, method)
        if out is not None:
            return out
    grads = _zero_grads(pb)
    total = 0.0
    B = pb.x.shape[0]
    for b in range(B):
        if isinstance(method, RTRL):
            total += _rtrl_one(pb, pb.x[b], pb.y[b], grads, getattr(method, "approximation", None))
        else:
            window = method.window if isinstance(method, TruncatedBPTT) else None
            total += _bptt_one(pb, pb.x[b], pb.y[b], grads, window)
    return total / B, {k: v / B for k, v in grads.items()}


def loss_value(pb: Problem) -> float:
    """The loss alone (one forward pass per sequence)."""
    if _fast_applies(pb, BPTT()):
        out = _fast_forward(pb, keep_f=False)
        if out is not None:
            return out[0] / pb.x.shape[0]
    total = 0.0
    for b in range(pb.x.shape[0]):
        _, rates, o = _forward(pb, pb.model, pb.x[b])
        total += math.nan if rates is None else _loss_terms(pb, o, pb.y[b])[0]
    return total / pb.x.shape[0]


@one_blas_thread
def value_and_grad(model, x: npt.ArrayLike, y: npt.ArrayLike, *, method=None, dt: float | None = None,
                   r0: npt.ArrayLike | None = None, step: str = "euler", loss: str = "mse",
                   weights: npt.ArrayLike | None = None, readout: npt.ArrayLike | None = None,
                   trainable=None) -> tuple[float, dict[str, np.ndarray]]:
    """The loss of a model's trajectory and its exact gradient (module docstring).

    Parameters
    ----------
    model : RateModel, CurrentModel or TwoVariableModel
    x : array_like, shape (T,), (T, n_in) or (batch, T, n_in)
        Input held over each step (a 1-D ``x`` is one input).
    y : array_like, shape (T,), (T, n_out) or (batch, T, n_out)
        Targets for the outputs after each step.
    method : RTRL, BPTT, TruncatedBPTT, ImplicitDirect, ImplicitAdjoint or EquilibriumPropagation
        Default :class:`BPTT`.  The fixed-point methods (:mod:`spikerate.learn.fixed_point`)
        take ``x`` (n_in,) or (batch, n_in) and ``y`` (n_out,) or (batch, n_out), and the loss
        of the model's fixed point; ``dt``, ``step`` and ``weights`` do not apply to them.
    dt : float
        Step [s] (trajectory methods).
    r0 : array_like (n_state,), optional
        Initial state (``r``; ``I`` for the current model; ``(I, r)`` for the two-variable
        model); default 0.  For the fixed-point methods: the solver's starting guess.
    step : {"euler", "exp_euler"}
        The discrete map ``Phi``.
    loss : {"mse", "cross_entropy"}
    weights : array_like (T,), optional
        Per-step weights ``alpha_t`` of the loss (default 1).
    readout : array_like (n_out, n), optional
        Linear readout ``o = R out(s)`` (default identity).
    trainable : tuple of str, optional
        Names to differentiate: model parameters, ``"readout"``, ``"r0"`` (default:
        ``model.trainable``).

    Returns
    -------
    (loss, grads) : float and dict name -> array of the parameter's shape

    Raises
    ------
    ValueError, TypeError
        Invalid arguments (the message names the argument).
    spikerate.errors.InsufficientMemoryError
        RTRL's sensitivities (n_state x the trainable parameter entries) would not fit in the
        available memory; checked before they are allocated.

    Examples
    --------
    >>> from spikerate.models import RateModel
    >>> m = RateModel(w=[[1.0]], u=[[1.0]], b=[1.0], tau=1.0, g="linear", trainable=("w", "b"))
    >>> loss, grads = value_and_grad(m, [0.0, 0.0], [1.0, 1.0], method=RTRL(), dt=0.1, r0=[1.0])
    >>> round(loss, 6), sorted(grads)
    (0.0, ['b', 'w'])
    """
    method = BPTT() if method is None else get_method(method)
    if is_fixed_point(method):
        from .fixed_point import fixed_point_value_and_grad, prepare_fixed_point
        pb = prepare_fixed_point(model, x, y, loss=loss, readout=readout, trainable=trainable, r0=r0)
        return fixed_point_value_and_grad(pb, method)
    pb = prepare(model, x, y, dt=dt, r0=r0, step=step, loss=loss, weights=weights, readout=readout,
                 trainable=trainable)
    return loss_and_grad(pb, method)


def with_method_model(pb: Problem, method) -> Problem:
    """The problem with the method's surrogate set on a spiking model (and a clear error when a
    surrogate method meets a rate model or a plain method a spiking one)."""
    spiking = pb.model.kind_name == "spiking"
    surrogate = isinstance(method, SURROGATE_METHODS)
    if spiking and not surrogate:
        raise ValueError(f"`method` {method.name!r} needs a differentiable model; a SpikingModel needs a surrogate "
                         f"method: SurrogateBPTT(surrogate=...), SurrogateRTRL(...), EProp(...) or DiagonalRTRL(...).")
    if surrogate and not spiking:
        raise ValueError(f"`method` {method.name!r} is for spiking models (SpikingModel); for a rate model use "
                         f"RTRL() or BPTT().")
    if not spiking:
        return pb
    import dataclasses as _dc
    return _dc.replace(pb, model=_dc.replace(pb.model, surrogate=method.surrogate))


# ------------------------------------------------------------------------------- compiled fast path
#
# RateModel without noise, a built-in g (an int code for the kernels), Euler or exponential Euler:
# the whole batch runs through the kernels of ``_kernels.py`` (module docstring there); the result
# equals the generic path above to round-off.  A diverging forward pass falls back to the generic
# path (which reports it as NaN).


def _fast_applies(pb: Problem, method) -> bool:
    """Whether the compiled kernels cover this problem and method."""
    from ..models.rate import RateModel, _kernel_transfer
    model = pb.model
    if model.kind_name == "spiking":
        return _fast_spiking_applies(pb, method)
    return (type(model) is RateModel and model.noise is None and pb.step in STEPS
            and isinstance(method, (RTRL, BPTT, TruncatedBPTT)) and _kernel_transfer(model.g) is not None)


def _fast_forward(pb: Problem, *, keep_f: bool):
    """Forward pass and loss terms of the whole batch: ``(loss summed over the batch, dl/do (T, B,
    n_out), the errors e (T, B, n), R (T + 1, B, n), g'(z) (T, B, n), F (T, B, n) or empty, the
    inputs (T, B, n_in))``, or None if the trajectory diverged."""
    from ..models.rate import _kernel_transfer
    from ..models.transfer import _WG, _XG
    from . import _kernels as LK
    model = pb.model
    if model.kind_name == "spiking":
        return _fast_spiking_forward(pb)
    code, gp = _kernel_transfer(model.g)
    B, T, n_in = pb.x.shape
    n = model.n
    xt = _workspace("xt", (T, B, n_in))  # (writable C arrays: one kernel signature)
    np.copyto(xt, pb.x.transpose(1, 0, 2))
    h, _ = model._step_size(pb.dt, pb.step)
    R = _workspace("R", (T + 1, B, n))
    R[0] = pb.r0
    G = _workspace("G", (T, B, n))
    F = _workspace("F", (T, B, n)) if keep_f else np.empty((0, 0, 0))
    ok = LK._rate_forward(code, gp, _XG, _WG, np.array(model.w.T, order="C"), np.array(model.u.T, order="C"),
                          np.array(model.b), xt, h, model._inv_tau_rows(), R, G, F, keep_f)
    if not ok:
        return None
    rates = R[1:]
    total, DL = _fast_loss(pb, rates)
    if pb.readout is None:
        E = DL
    else:
        E = _workspace("E", (T, B, n))
        LK._dot_nn(DL.reshape(T * B, -1), np.array(pb.readout), E.reshape(T * B, n))
    return total, DL, E, R, G, F, xt


def _fast_loss(pb: Problem, rates: np.ndarray):
    """Outputs ``o = R rates`` (rates (T, B, n), time-major), the loss summed over the batch and
    ``dl/do`` (T, B, n_out), for both compiled paths."""
    from . import _kernels as LK
    T, B, n = rates.shape
    if pb.readout is None:
        O = rates
    else:
        O = _workspace("O", (T, B, pb.readout.shape[0]))
        LK._dot_nt(rates.reshape(T * B, n), np.array(pb.readout), O.reshape(T * B, -1))
    DL = _workspace("DL", O.shape)
    loss_code = LK.LOSS_MSE if pb.loss == "mse" else LK.LOSS_CROSS_ENTROPY
    return LK._loss_terms(O, pb.y, np.array(pb.alpha, dtype=float), loss_code, DL), DL


_WORKSPACES = __import__("threading").local()


def _workspace(name: str, shape: tuple, dtype=np.float64) -> np.ndarray:
    """A float64 scratch array of ``shape`` for the compiled paths, kept per thread and reused
    by the next call of the same shape: the intermediates of a BPTT pass are several MB, and
    fresh pages cost as much as the arithmetic at moderate n (first-touch page faults).  Never
    returned to the caller: gradients are computed into new arrays."""
    cache = getattr(_WORKSPACES, "arrays", None)
    if cache is None:
        cache = _WORKSPACES.arrays = {}
    a = cache.get(name)
    if a is None or a.shape != shape or a.dtype != dtype:
        a = cache[name] = np.empty(shape, dtype)
    return a


def _fast_loss_and_grad(pb: Problem, method):
    """:func:`loss_and_grad` by the compiled kernels (None: diverged, use the generic path)."""
    from . import _kernels as LK
    model = pb.model
    if model.kind_name == "spiking":
        return _fast_spiking_loss_and_grad(pb, method)
    train = pb.trainable
    fwd = _fast_forward(pb, keep_f="tau" in train)
    if fwd is None:
        return None
    total, DL, E, R, G, F, xt = fwd
    T, B, n = E.shape
    h, dh = model._step_size(pb.dt, pb.step)
    inv_tau = model._inv_tau_rows()
    ctau = dh - h * inv_tau
    tau_scalar = np.ndim(model.tau) == 0
    grads = {}
    if "readout" in train:
        grads["readout"] = np.empty((DL.shape[2], n))
        LK._dot_tn(DL.reshape(T * B, -1), R[1:].reshape(T * B, n), grads["readout"])
    if isinstance(method, RTRL):
        sizes = {"w": n * n, "u": n * model.n_in, "b": n, "tau": 1 if tau_scalar else n, "r0": n}
        offs = np.full(5, -1, dtype=np.int64)
        n_cols = 0
        for k, name in enumerate(("w", "u", "b", "tau", "r0")):
            if name in train:
                offs[k] = n_cols
                n_cols += sizes[name]
        per_seq = np.empty((B, n_cols))
        LK._rate_rtrl(np.array(model.w), h, inv_tau, ctau, R, G, F, E, xt, offs, bool(tau_scalar), n_cols, per_seq)
        flat = per_seq.sum(axis=0)
        for k, name in enumerate(("w", "u", "b", "tau", "r0")):
            if offs[k] >= 0:
                shape = np.shape(pb.r0) if name == "r0" else np.shape(getattr(model, name))
                grads[name] = flat[offs[k]:offs[k] + sizes[name]].reshape(shape)
    else:
        window = method.window if isinstance(method, TruncatedBPTT) else 0
        lam = np.empty((B, n))
        acc = np.zeros(n)
        LK._rate_bptt_backward(np.array(model.w), h, inv_tau, E, G, F, "tau" in train, window, lam, acc)
        delta = G.reshape(T * B, n)
        if "w" in train:
            grads["w"] = np.empty((n, n))
            LK._dot_tn(delta, R[:T].reshape(T * B, n), grads["w"])
        if "u" in train:
            grads["u"] = np.empty((n, xt.shape[2]))
            LK._dot_tn(delta, xt.reshape(T * B, -1), grads["u"])
        if "b" in train:
            grads["b"] = delta.sum(axis=0)
        if "tau" in train:
            grads["tau"] = np.array(ctau @ acc) if tau_scalar else ctau * acc
        if "r0" in train:
            grads["r0"] = lam.sum(axis=0)
    return total / B, {k: grads[k] / B for k in train}


@one_blas_thread
def gradient_agreement(approx: dict, exact: dict) -> dict:
    """How close an approximate gradient is to the exact one: cosine similarity and relative
    error ``||a - e|| / ||e||`` over all the parameters together (and per parameter)."""
    names = [k for k in exact if k in approx]
    a = np.concatenate([np.ravel(approx[k]) for k in names])
    e = np.concatenate([np.ravel(exact[k]) for k in names])
    ne, na = float(np.linalg.norm(e)), float(np.linalg.norm(a))
    out = {"cosine": float(a @ e) / (na * ne) if na > 0 and ne > 0 else math.nan,
           "relative_error": float(np.linalg.norm(a - e)) / ne if ne > 0 else math.nan}
    for k in names:
        ek = float(np.linalg.norm(exact[k]))
        out[f"relative_error_{k}"] = float(np.linalg.norm(np.ravel(approx[k]) - np.ravel(exact[k]))) / ek \
            if ek > 0 else math.nan
    return out


# ------------------------------------------------------------------------------- compiled fast path, spiking
#
# SpikingModel with a built-in surrogate (its int code), any reset, detach_reset, t_ref, tau_s (also
# delta synapses) and tau_m, smooth or not; SurrogateBPTT, SurrogateRTRL, EProp and DiagonalRTRL: the
# whole batch runs through the kernels of ``_spiking_kernels.py`` (module docstring there); the result
# equals the generic path above to round-off.  A state that is not finite falls back to the generic path.


def _fast_spiking_applies(pb: Problem, method) -> bool:
    """Whether the compiled spiking kernels cover this problem and method."""
    from . import surrogates as SG
    from .spiking import SpikingModel
    builtin = (SG.FastSigmoid, SG.Sigmoid, SG.Arctan, SG.Triangle, SG.Gaussian, SG.Exponential,
               SG.StraightThrough)
    return (type(pb.model) is SpikingModel and type(pb.model.surrogate) in builtin
            and isinstance(method, (RTRL, BPTT)) and getattr(method, "approximation", None) in (None, "local",
                                                                                                "diagonal"))


def _fast_spiking_forward(pb: Problem):
    """Forward pass and loss terms of the whole batch of a spiking problem: ``(loss summed over the
    batch, dl/do (T, B, n_out), the errors e of the z rows (T, B, n), the rates z / tau_out
    (T + 1, B, n; row 0 the initial state's), SPK, SG, AD (T, B, n), FR (T, B, n; uint8), the inputs
    (T, B, n_in))``, or None if a state is not finite.  (Few big arrays: at T B n of several
    million, fresh pages cost as much as the arithmetic.)"""
    from . import _kernels as LK
    from . import _spiking_kernels as SK
    model = pb.model
    B, T, n_in = pb.x.shape
    n = model.n
    beta, alpha, p, kappa, n_ref = model._constants(pb.dt)
    xt = _workspace("xt", (T, B, n_in))
    np.copyto(xt, pb.x.transpose(1, 0, 2))
    D = _workspace("D", (T, B, n))
    LK._dot_nt(xt.reshape(T * B, n_in), np.array(model.u), D.reshape(T * B, n))
    Z = _workspace("Z", (T + 1, B, n))
    SPK, SGd, AD = (_workspace(k, (T, B, n)) for k in ("SPK", "SG", "AD"))
    FR = _workspace("FR", (T, B, n), np.uint8)
    sur = model.surrogate
    ok = SK._spiking_forward(int(sur.code), sur.params(), bool(model.smooth), model.reset == "to",
                             bool(model.detach_reset), int(n_ref), float(model.v_rest), float(model.v_th),
                             float(model.v_reset), float(beta), float(alpha), float(p), float(kappa),
                             model.tau_s == 0, np.array(model.w.T, order="C"), D, np.array(model.b),
                             np.array(pb.r0, dtype=float), Z, SPK, SGd, AD, FR)
    if not ok:
        return None
    np.divide(Z, model.tau_out, out=Z)
    rates = Z[1:]
    total, DL = _fast_loss(pb, rates)
    E = D  # (the input drive is used up: its memory takes the errors)
    if pb.readout is None:
        np.divide(DL, model.tau_out, out=E)
    else:
        LK._dot_nn(DL.reshape(T * B, -1), np.array(pb.readout), E.reshape(T * B, n))
        np.divide(E, model.tau_out, out=E)
    return total, DL, E, Z, SPK, SGd, AD, FR, xt


def _fast_spiking_loss_and_grad(pb: Problem, method):
    """:func:`loss_and_grad` of a spiking problem by the compiled kernels (None: not finite, use
    the generic path)."""
    from . import _kernels as LK
    from . import _spiking_kernels as SK
    model = pb.model
    train = pb.trainable
    fwd = _fast_spiking_forward(pb)
    if fwd is None:
        return None
    total, DL, E, Z, SPK, SGd, AD, FR, xt = fwd
    T, B, n = E.shape
    n_in = xt.shape[2]
    beta, alpha, p, kappa, _ = model._constants(pb.dt)
    delta_syn = model.tau_s == 0
    w = np.array(model.w)
    grads = {}
    if "readout" in train:
        grads["readout"] = np.empty((DL.shape[2], n))
        LK._dot_tn(DL.reshape(T * B, -1), Z[1:].reshape(T * B, n), grads["readout"])
    if isinstance(method, RTRL):
        mode = {None: SK.RTRL_EXACT, "local": SK.RTRL_LOCAL, "diagonal": SK.RTRL_DIAGONAL}[
            getattr(method, "approximation", None)]
        sizes = {"w": n * n, "u": n * n_in, "b": n, "r0": 3 * n}
        offs = np.full(4, -1, dtype=np.int64)
        n_cols = 0
        for k, name in enumerate(("w", "u", "b", "r0")):
            if name in train:
                offs[k] = n_cols
                n_cols += sizes[name]
        per_seq = np.empty((B, n_cols))
        SK._spiking_rtrl(w, float(p), float(alpha), float(kappa), delta_syn, mode, E, SPK, SGd, AD, FR, xt, offs,
                         n_cols, per_seq, float(beta), model.reset == "to")
        flat = per_seq.sum(axis=0)
        for k, name in enumerate(("w", "u", "b")):
            if offs[k] >= 0:
                grads[name] = flat[offs[k]:offs[k] + sizes[name]].reshape(np.shape(getattr(model, name)))
        if "r0" in train:
            grads["r0"] = np.concatenate([flat[offs[3]:offs[3] + 3 * n], np.zeros(n)])
    else:
        lam = np.empty((B, 3 * n))
        SK._spiking_bptt_backward(w, float(p), float(alpha), float(kappa), delta_syn, E, SGd, AD, FR, lam)
        DEL, EPS = SGd, AD  # (overwritten in place: delta_t and eps_t)
        if "w" in train:
            grads["w"] = np.empty((n, n))
            spikes = SPK.reshape(T * B, n)
            if not model.smooth and float(spikes.mean()) < 0.125:  # 0/1 spikes, sparse: sum over them
                SK._spike_weight_gradient(DEL.reshape(T * B, n), spikes, grads["w"])
            else:
                LK._dot_tn(DEL.reshape(T * B, n), spikes, grads["w"])
        if "u" in train:
            grads["u"] = np.empty((n, n_in))
            LK._dot_tn(EPS.reshape(T * B, n), xt.reshape(T * B, n_in), grads["u"])
        if "b" in train:
            grads["b"] = EPS.reshape(T * B, n).sum(axis=0)
        if "r0" in train:
            grads["r0"] = np.concatenate([lam.sum(axis=0), np.zeros(n)])
    return total / B, {k: grads[k] / B for k in train}
