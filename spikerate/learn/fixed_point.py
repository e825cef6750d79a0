"""Learning at a fixed point (the lecture's "fixed point representation").

The loss depends on the equilibrium ``s*`` of the model, ``0 = F(s*, x; theta)``, through its
output ``o* = R out(s*)``: ``l = 1/2 ||o* - y||^2`` (or the cross-entropy of ``softmax(o*)``),
averaged over a batch of inputs.  By the implicit function theorem::

    dl/dtheta = -dl/ds* J^{-1} dF/dtheta,   J = dF/ds at s*

computed three ways:

* :class:`ImplicitDirect`: solve ``J^T v = -(dl/ds*)^T`` by LU, then ``dl/dtheta = v^T dF/dtheta``
  (O(n^3 + n m)); the fixed point by damped Newton.
* :class:`ImplicitAdjoint`: the same ``v`` as the limit of the adjoint relaxation ``dv/dt = v J +
  dl/ds*`` (integrated with the model's own exponential-Euler step, O(n^2) per step, so O(n^2 T)
  in all), with a tolerance and an iteration cap; the fixed point by relaxation.
* :class:`EquilibriumPropagation`: for the squared loss, relax a free phase and a nudged phase
  ``r = g(W r + U x + b - beta dl/dr)`` and read the gradient off the difference (Scellier &
  Bengio 2017).  For symmetric ``W`` the rate dynamics are the gradient flow of the Hopfield
  (Cohen-Grossberg) energy ``E(r) = -1/2 r^T W r - (U x + b)^T r + sum_i int_0^{r_i} g^{-1}``
  (:func:`energy`), and EqProp's ``dl/dW ~ -(r_b r_b^T - r* r*^T)/(2 beta)`` converges to the
  *symmetric part* ``(G + G^T)/2`` of the gradient ``G`` (the gradient for a symmetric
  parameterisation of ``W``); ``u`` and ``b`` converge to their exact gradients.  Error O(beta)
  one-sided, O(beta^2) with the symmetric ``+-beta`` variant.  A warning is issued when ``W`` is
  not symmetric (the estimate is then not a gradient).

All three apply to the rate, current and two-variable models (their fixed points in ``r`` all
solve ``r = g(W r + U x + b)``).  Unstable fixed points (an eigenvalue of ``J`` with positive real
part) are reported, never used.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._validation import check_choice, check_int, check_positive, check_real_array, describe, suggest
from ..errors import ConvergenceError
from ..models import RateModel
from ..models.dynamics import _advance, _newton, _scaled_residual
from ..models.rate import AbstractRateModel
from .gradients import _accumulate, _check_readout

LOSSES = ("mse", "cross_entropy")


@dataclass(frozen=True, kw_only=True)
class _FixedPointMethod:
    """Shared settings: ``tol`` (scaled residual of the fixed point), ``max_iter`` (Newton
    iterations, or relaxation steps), ``throw`` (raise ConvergenceError on failure; with False
    the failed samples give NaN gradients and ``info`` says which)."""
    tol: float = 1e-10
    max_iter: int = 100
    throw: bool = True

    def __post_init__(self):
        object.__setattr__(self, "tol", check_positive("tol", self.tol))
        object.__setattr__(self, "max_iter", check_int("max_iter", self.max_iter, minimum=1))
        if not isinstance(self.throw, bool):
            raise TypeError(f"`throw` must be True or False; got {describe(self.throw)}.")


@dataclass(frozen=True, kw_only=True)
class ImplicitDirect(_FixedPointMethod):
    """Implicit differentiation by one LU solve at the fixed point (found by Newton).
    ``check_stability``: refuse unstable fixed points -- certified stable by one Cholesky
    factorisation of the negated symmetric part of ``J`` (a negative logarithmic norm), the
    eigenvalues computed only when that fails; about a quarter of the cost of a gradient at
    large n.  Switch it off when the fixed points are known to be stable."""
    name: ClassVar[str] = "implicit_direct"
    check_stability: bool = True

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.check_stability, bool):
            raise TypeError(f"`check_stability` must be True or False; got {describe(self.check_stability)}.")


@dataclass(frozen=True, kw_only=True)
class ImplicitAdjoint(_FixedPointMethod):
    """Implicit differentiation by relaxing the adjoint ``dv/dt = v J + dl/ds*`` (the fixed point
    itself by relaxation); ``max_iter`` caps the relaxation steps of each phase."""
    name: ClassVar[str] = "implicit_adjoint"
    max_iter: int = 100_000


@dataclass(frozen=True, kw_only=True)
class EquilibriumPropagation(_FixedPointMethod):
    """Equilibrium propagation with nudging strength ``beta`` (> 0); ``variant`` ``"symmetric"``
    (phases at +-beta, error O(beta^2)) or ``"one_sided"`` (free and +beta, error O(beta))."""
    name: ClassVar[str] = "eqprop"
    beta: float = 1e-3
    variant: str = "symmetric"
    max_iter: int = 100_000

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "beta", check_positive("beta", self.beta))
        check_choice("variant", self.variant, ("symmetric", "one_sided"))


FIXED_POINT_METHODS = (ImplicitDirect, ImplicitAdjoint, EquilibriumPropagation)


# ------------------------------------------------------------------------------- the problem


@dataclass(eq=False)
class FixedPointProblem:
    """Validated inputs: ``x`` (B, n_in), ``y`` (B, n_out), warm starts ``s0`` (B, n_state)."""
    model: AbstractRateModel
    x: np.ndarray
    y: np.ndarray
    loss: str
    readout: np.ndarray | None
    trainable: tuple[str, ...]
    s0: np.ndarray
    batched: bool

    def values(self) -> dict[str, np.ndarray]:
        return {k: (self.readout.copy() if k == "readout" else np.array(getattr(self.model, k), dtype=float))
                for k in self.trainable}

    def with_values(self, values) -> FixedPointProblem:
        changes = {k: v for k, v in values.items() if k != "readout"}
        model = self.model.with_params(**changes) if changes else self.model
        R = values.get("readout", self.readout)
        return FixedPointProblem(model, self.x, self.y, self.loss, None if R is None else np.asarray(R, float),
                                 self.trainable, self.s0, self.batched)


def _rows(name, a, width, what):
    a = check_real_array(name, a)
    if a.ndim == 1:
        if a.shape[0] != width:
            raise ValueError(f"`{name}` must have shape ({what},) = ({width},) or (batch, {width}); got shape {a.shape}.")
        return a[None], False
    if a.ndim == 2 and a.shape[1] == width:
        return a, True
    raise ValueError(f"`{name}` must have shape ({what},) = ({width},) or (batch, {width}); got shape {a.shape}.")


def prepare_fixed_point(model, x, y, *, loss="mse", readout=None, trainable=None, r0=None) -> FixedPointProblem:
    if not isinstance(model, AbstractRateModel):
        raise TypeError(f"`model` must be a RateModel, CurrentModel or TwoVariableModel; got {describe(model)}.")
    check_choice("loss", loss, LOSSES)
    R, n_out = _check_readout(readout, model)
    xs, bx = _rows("x", x, model.n_in, "n_in")
    ys, by = _rows("y", y, n_out, "n_out")
    if bx and by and xs.shape[0] != ys.shape[0]:
        raise ValueError(f"`x` and `y` must have the same batch size; got {xs.shape[0]} and {ys.shape[0]}.")
    B = max(xs.shape[0], ys.shape[0])
    xs = np.ascontiguousarray(np.broadcast_to(xs, (B, model.n_in)))
    ys = np.ascontiguousarray(np.broadcast_to(ys, (B, n_out)))
    if loss == "cross_entropy" and (np.any(ys < 0) or not np.allclose(ys.sum(axis=1), 1.0)):
        raise ValueError("`y` must hold probabilities over the outputs (>= 0, summing to 1, e.g. one-hot) for "
                         "loss='cross_entropy'.")
    names = model.params_type.names()
    trainable = tuple(model.trainable) if trainable is None else ((trainable,) if isinstance(trainable, str)
                                                                   else tuple(trainable))
    valid = names + ("readout",)
    for t in trainable:
        if not isinstance(t, str) or t not in valid:
            raise ValueError(f"`trainable` must contain names from {list(valid)} (a fixed point has no initial "
                             f"state to train); got {describe(t)}." + (suggest(t, valid) if isinstance(t, str) else ""))
    if "readout" in trainable and R is None:
        raise ValueError("`trainable` has 'readout' but no `readout` matrix was given; pass readout=... (n_out, n).")
    if not trainable:
        raise ValueError("`trainable` is empty: nothing to differentiate. Name parameters, e.g. trainable=('w',).")
    if r0 is None:
        s0 = np.zeros((B, model.n_state))
    else:
        s0 = check_real_array("r0", r0)
        if s0.shape == (model.n_state,):
            s0 = np.broadcast_to(s0, (B, model.n_state)).copy()
        elif s0.shape != (B, model.n_state):
            raise ValueError(f"`r0` (a starting guess for the fixed point) must have shape ({model.n_state},) or "
                             f"({B}, {model.n_state}); got shape {s0.shape}.")
    model.g.derivative(np.zeros(model.n))  # a plain callable g fails here, with a clear message
    return FixedPointProblem(model, xs, ys, loss, None if R is None else np.asarray(R, float), trainable,
                             np.array(s0, dtype=float), bx or by)


# ------------------------------------------------------------------------------- pieces


def _loss_at(pb: FixedPointProblem, rates, y):
    """(loss, dl/d rates) of one sample."""
    o = rates if pb.readout is None else pb.readout @ rates
    if pb.loss == "mse":
        d = o - y
        l, dl_do = 0.5 * float(d @ d), d
    else:
        z = o - o.max()
        logp = z - math.log(float(np.exp(z).sum()))
        l, dl_do = -float(y @ logp), np.exp(logp) - y
    return l, dl_do, (dl_do if pb.readout is None else pb.readout.T @ dl_do)


def _state_grad(model, s, dl_dr):
    """dl/ds from dl/d(rates) at state s."""
    n = model.n
    e = np.zeros(model.n_state)
    if model.kind_name == "rate":
        e[:] = dl_dr
    elif model.kind_name == "two_variable":
        e[n:] = dl_dr
    else:
        e[:] = dl_dr * np.asarray(model.g.derivative(s), float)
    return e


def _rates(model, s):
    n = model.n
    if model.kind_name == "rate":
        return s
    if model.kind_name == "two_variable":
        return s[n:]
    return np.asarray(model.g.value(s), float)


def _relax(model, s, drive, tol, max_steps):
    """Exponential-Euler relaxation (step = the smallest time constant) in compiled chunks until
    the scaled residual is below ``tol``; returns (state, converged, steps)."""
    tau = model._tau_rows()
    dt = float(np.min(tau))
    steps, chunk = 0, 10  # residual checked every 10 steps: at most 9 steps too many
    drive1 = drive[None, :].copy()
    while steps < max_steps:
        k = min(chunk, max_steps - steps)
        _, s = _advance(model, s, drive1, 0, 0, dt, "exp_euler", k, k)
        steps += k
        if not np.all(np.isfinite(s)):
            return s, False, steps
        if _scaled_residual(model, s, drive, tau) <= tol:
            return s, True, steps
    return s, False, steps


def _fixed_point(model, x, s0, method, info, b):
    """The fixed point for one input (Newton for ImplicitDirect, relaxation otherwise), its
    stability checked; returns the state or None (failure recorded in ``info``)."""
    drive = model._drive(x)
    if isinstance(method, ImplicitDirect):
        tau = model._tau_rows()
        s, ok, it = _newton(model, s0.copy(), drive, tau, method.tol, method.max_iter)
        if not ok:  # fall back to relaxation from the start point, then polish
            s, ok, steps = _relax(model, s0.copy(), drive, 1e-6, 100_000)
            if ok:
                s, ok, it2 = _newton(model, s, drive, tau, method.tol, method.max_iter)
                it += it2 + steps
    else:
        s, ok, it = _relax(model, s0.copy(), drive, method.tol, method.max_iter)
    info["n_iter"][b] = it
    info["converged"][b] = ok
    return s if ok else None


def _stable(J) -> tuple[bool, float]:
    """(stable, largest real part of an eigenvalue of J, or NaN when certified without them).
    First the cheap, rigorous sufficient test: the logarithmic norm mu_2(J) = lambda_max((J +
    J^T)/2) is negative iff -(J + J^T)/2 is positive definite, which one Cholesky factorisation
    decides (n^3/3 flops; then every eigenvalue of J lies in the left half-plane).  When it is not,
    the eigenvalues themselves decide (non-normal J: stable but with a positive log-norm)."""
    try:
        np.linalg.cholesky(-0.5 * (J + J.T))
        return True, math.nan
    except np.linalg.LinAlgError:
        top = float(np.max(np.linalg.eigvals(J).real))
        return top < 0.0, top


def _fail(method, info, b, why):
    info["converged"][b] = False
    if method.throw:
        raise ConvergenceError(f"{method.name}: sample {b}: {why} Try another starting guess `r0`, a larger "
                               f"`max_iter`, or throw=False to get NaN gradients and the diagnostics.")


# ------------------------------------------------------------------------------- methods


def _implicit_one(pb, method, b, grads, info):
    model = pb.model
    s = _fixed_point(model, pb.x[b], pb.s0[b], method, info, b)
    if s is None:
        _fail(method, info, b, f"the fixed point was not found ({info['n_iter'][b]} iterations).")
        return None
    pb.s0[b] = s  # warm start for the next call
    drive = model._drive(pb.x[b])
    J = model._jac_state(s, drive)
    if isinstance(method, ImplicitDirect) and method.check_stability:
        stable, top = _stable(J)
        info["max_eigenvalue"][b] = top
        if not stable:
            info["stable"][b] = False
            _fail(method, info, b, f"the fixed point is unstable (largest eigenvalue real part {top:.3g} 1/s).")
            return None
    l, dl_do, dl_dr = _loss_at(pb, _rates(model, s), pb.y[b])
    e = _state_grad(model, s, dl_dr)
    if isinstance(method, ImplicitDirect):
        v = np.linalg.solve(J.T, -e)
    else:
        v = _adjoint(model, J, e, method, info, b)
        if v is None:
            return None
    C = model._jac_params(s, pb.x[b], drive)
    for name in pb.trainable:
        if name == "readout":
            grads["readout"] += np.outer(dl_do, _rates(model, s))
        else:
            _accumulate(model, grads, name, v, getattr(C, name))
    return l


def _adjoint(model, J, e, method, info, b):
    """v with J^T v = -e as the limit of u <- u A + e, A = I + diag(h) J (the model's exponential
    Euler step at dt = min tau), v = u diag(h): converges iff the relaxation does."""
    tau = model._tau_rows()
    h, _ = model._step_size(float(np.min(tau)), "exp_euler")
    A = np.eye(model.n_state) + h[:, None] * J
    u = e.copy()
    scale = float(np.max(np.abs(e))) or 1.0
    for it in range(method.max_iter):
        u_new = u @ A + e
        if not np.all(np.isfinite(u_new)):
            break
        if float(np.max(np.abs(u_new - u))) <= method.tol * max(scale, float(np.max(np.abs(u_new)))):
            info["adjoint_iter"][b] = it + 1
            return u_new * h  # u* = -e J^{-1} diag(h)^{-1}, so v = u* diag(h) solves v J = -e
        u = u_new
    info["adjoint_iter"][b] = method.max_iter
    _fail(method, info, b, f"the adjoint relaxation did not converge in {method.max_iter} steps (is the fixed "
                           f"point stable?).")
    return None


def _eqprop_one(pb, method, b, grads, info):
    """Free phase and nudged phase(s) on the fixed-point equation r = g(W r + U x + b - beta dl/dr)
    (mse: the nudge is linear in r, so the nudged system is a rate model with W - beta R^T R and
    b + beta R^T y)."""
    model = pb.model
    R = pb.readout
    base = RateModel(w=model.w, u=model.u, b=model.b, tau=1.0, g=model.g, trainable=())
    x, y = pb.x[b], pb.y[b]
    r0 = _rates(model, pb.s0[b]) if np.any(pb.s0[b]) else np.zeros(model.n)

    RtR = np.eye(model.n) if pb.readout is None else R.T @ R  # once per sample, not per phase
    Rty = y if pb.readout is None else R.T @ y

    def phase(beta, start):
        m = base if beta == 0.0 else base.with_params(w=model.w - beta * RtR, b=model.b + beta * Rty)
        r, ok, it = _relax(m, start.copy(), m._drive(x), method.tol, method.max_iter)
        info["n_iter"][b] += it
        return r if ok else None

    info["n_iter"][b] = 0
    free = phase(0.0, r0)
    beta = method.beta
    # the nudged phases start from the free equilibrium (as in Scellier & Bengio 2017): with
    # several attractors they stay on the free phase's one, which the estimate is about
    plus = phase(beta, free) if free is not None else None
    minus = phase(-beta, free) if (plus is not None and method.variant == "symmetric") else free
    if free is None or plus is None or minus is None:
        info["converged"][b] = False
        _fail(method, info, b, "a phase of the relaxation did not converge.")
        return None
    info["converged"][b] = True
    l, dl_do, _ = _loss_at(pb, free, y)
    span = 2.0 * beta if method.variant == "symmetric" else beta
    lo = minus
    dr = (plus - lo) / span
    for name in pb.trainable:
        if name == "readout":
            grads["readout"] += np.outer(dl_do, free)
        elif name == "w":
            grads["w"] += -0.5 * (np.outer(plus, plus) - np.outer(lo, lo)) / span
        elif name == "u":
            grads["u"] += -np.outer(dr, x)
        elif name == "b":
            grads["b"] += -dr
        # time constants do not move a fixed point: their gradient is 0
    if model.kind_name == "rate":
        pb.s0[b] = free
    return l


def fixed_point_value_and_grad(pb: FixedPointProblem, method, *, info=None):
    """Loss and gradients of a prepared fixed-point problem (batch mean); ``info`` (a dict)
    receives per-sample diagnostics."""
    B = pb.x.shape[0]
    diag = {"converged": np.zeros(B, bool), "stable": np.ones(B, bool), "n_iter": np.zeros(B, np.int64),
            "adjoint_iter": np.zeros(B, np.int64), "max_eigenvalue": np.full(B, np.nan)}
    if isinstance(method, EquilibriumPropagation):
        if pb.loss != "mse":
            raise ValueError("EquilibriumPropagation is implemented for loss='mse' (its nudge is then linear in r); "
                             f"got loss={pb.loss!r}. Use ImplicitDirect or ImplicitAdjoint.")
        if pb.model.noise is not None:
            raise ValueError("EquilibriumPropagation needs a model without rate-dependent `noise` (no energy).")
        if not np.allclose(pb.model.w, pb.model.w.T, rtol=1e-12, atol=1e-12):
            warnings.warn("EquilibriumPropagation: `w` is not symmetric, so the dynamics have no energy and the "
                          "estimate is not a gradient; symmetrise w (e.g. (w + w.T) / 2) for EqProp.", stacklevel=3)
    if isinstance(method, ImplicitDirect):
        fast = _implicit_direct_fast(pb, method, diag)
        if fast is not None:
            if info is not None:
                info.update(diag)
            return fast
    grads = {k: np.zeros_like(v) for k, v in pb.values().items()}
    total = 0.0
    one = _eqprop_one if isinstance(method, EquilibriumPropagation) else _implicit_one
    for b in range(B):
        gb = {k: np.zeros_like(v) for k, v in grads.items()}
        l = one(pb, method, b, gb, diag)
        if l is None:
            total = math.nan
            for g in grads.values():
                g += np.nan
            continue
        total += l
        for k in grads:
            grads[k] += gb[k]
    if info is not None:
        info.update(diag)
    return total / B, {k: v / B for k, v in grads.items()}


def _implicit_direct_fast(pb: FixedPointProblem, method, diag):
    """ImplicitDirect for a rate model with a built-in transfer, compiled: Newton for every
    sample, the stability check, one LU solve per sample and the parameter gradients as products
    over the batch.  None when it does not apply or a sample needs the generic path (a Newton
    failure: the generic path retries by relaxation and reports)."""
    from ..models.rate import _kernel_transfer
    from ..models.transfer import _WG, _XG
    from . import _kernels as LK
    model = pb.model
    if type(model) is not RateModel or model.noise is not None:
        return None
    spec = _kernel_transfer(model.g)
    if spec is None:
        return None
    code, gp = spec
    B, n = pb.x.shape[0], model.n
    w = np.ascontiguousarray(model.w)
    inv_tau = np.ascontiguousarray(model._inv_tau_rows())
    C = np.ascontiguousarray(pb.x @ model.u.T + model.b)
    R = np.empty((B, n))
    D = np.empty((B, n))
    ok = np.zeros(B, np.bool_)
    iters = np.zeros(B, np.int64)
    with np.errstate(all="ignore"):
        LK._rate_fixed_points(code, np.asarray(gp, float), _XG, _WG, w, C, inv_tau, np.ascontiguousarray(pb.s0),
                              float(method.tol), int(method.max_iter), R, D, ok, iters)
    if not ok.all():
        return None
    diag["converged"][:] = True
    diag["n_iter"][:] = iters
    if method.check_stability:
        from scipy.linalg.lapack import dpotrf
        S = np.empty((n, n))
        for b in range(B):
            LK._rate_stability_matrix(w, D[b], S)
            if dpotrf(S.T, lower=0, clean=0, overwrite_a=1)[1] == 0:  # Cholesky: certified stable
                continue
            J = inv_tau[:, None] * (D[b][:, None] * w - np.eye(n))
            stable, top = _stable(J)
            diag["max_eigenvalue"][b] = top
            if not stable:
                diag["stable"][b] = False
                return None  # the generic path reports it (error or NaN with throw=False)
    pb.s0[:] = R  # warm starts
    O = R if pb.readout is None else R @ pb.readout.T
    if pb.loss == "mse":
        dl_do = O - pb.y
        loss = 0.5 * float(np.sum(dl_do * dl_do))
    else:
        z = O - O.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -float(np.sum(pb.y * logp))
        dl_do = np.exp(logp) - pb.y
    E = np.ascontiguousarray(dl_do if pb.readout is None else dl_do @ pb.readout)
    V = np.empty((B, n))
    LK._rate_implicit_adjoint(w, inv_tau, D, E, V)
    dd = V * D * inv_tau  # v_i g'_i / tau_i: the compact dF/dtheta contracted with v
    grads = {}
    for name in pb.trainable:
        if name == "w":
            grads[name] = dd.T @ R / B
        elif name == "u":
            grads[name] = dd.T @ pb.x / B
        elif name == "b":
            grads[name] = dd.sum(axis=0) / B
        elif name == "tau":  # dF/dtau = -F/tau, and F = 0 at the fixed point up to the tolerance
            Gz = np.asarray(model.g.value(R @ w.T + C), float)
            c_tau = -(Gz - R) * inv_tau * inv_tau
            g = (V * c_tau).sum(axis=0) / B
            grads[name] = np.float64(g.sum()) if np.ndim(model.tau) == 0 else g
        elif name == "readout":
            grads[name] = dl_do.T @ R / B
    return loss / B, grads


def fixed_point_loss(pb: FixedPointProblem, method) -> float:
    """The loss at the fixed points alone (for finite-difference checks)."""
    B = pb.x.shape[0]
    diag = {"converged": np.zeros(B, bool), "n_iter": np.zeros(B, np.int64)}
    total = 0.0
    for b in range(B):
        s = _fixed_point(pb.model, pb.x[b], pb.s0[b], method, diag, b)
        if s is None:
            return math.nan
        total += _loss_at(pb, _rates(pb.model, s), pb.y[b])[0]
    return total / B


def fixed_point_outputs(model, x, *, readout=None, method=None) -> np.ndarray:
    """The outputs ``o* = R out(s*)`` at the fixed points for inputs ``x`` (n_in,) or (batch,
    n_in); ``method`` sets the solver (default ImplicitDirect()); a failed solve raises."""
    method = ImplicitDirect() if method is None else method
    if isinstance(method, EquilibriumPropagation):  # its free phase is a relaxation
        method = ImplicitAdjoint(tol=method.tol, max_iter=method.max_iter)
    xa = np.asarray(x, dtype=float)
    n_out = model.n if readout is None else np.shape(readout)[0]
    pb = prepare_fixed_point(model, xa, np.zeros(xa.shape[:-1] + (n_out,)), readout=readout,
                             trainable=(model.params_type.names()[0],))
    B = pb.x.shape[0]
    diag = {"converged": np.zeros(B, bool), "n_iter": np.zeros(B, np.int64)}
    out = np.empty((B, n_out))
    for b in range(B):
        s = _fixed_point(model, pb.x[b], pb.s0[b], method, diag, b)
        if s is None:
            raise ConvergenceError(f"fixed_point_outputs: no fixed point for sample {b}.")
        r = _rates(model, s)
        out[b] = r if pb.readout is None else pb.readout @ r
    return out if pb.batched else out[0]


# ------------------------------------------------------------------------------- models


def energy(model, r, x) -> float:
    """Hopfield (Cohen-Grossberg) energy of a rate model with symmetric ``w`` at rates ``r``
    (n,) and input ``x`` (n_in,): ``E = -1/2 r^T W r - (U x + b)^T r + sum_i G(r_i)`` with
    ``G' = g^{-1}`` (tanh, sigmoid and linear ``g``); ``tau dr/dt = -r + g(W r + U x + b)``
    decreases it and its minima are the stable fixed points."""
    from ..models import Linear, Sigmoid, Tanh
    g = model.g
    r = np.asarray(r, dtype=float)
    if isinstance(g, Tanh):
        if np.any(np.abs(r) >= 1):
            return math.inf
        G = (r * np.arctanh(r) + 0.5 * np.log1p(-r * r)) / g.gain
    elif isinstance(g, Sigmoid):
        if np.any((r <= 0) | (r >= 1)):
            return math.inf
        G = (r * np.log(r) + (1 - r) * np.log1p(-r)) / g.gain + g.threshold * r
    elif isinstance(g, Linear):
        G = 0.5 * r * r / g.gain
    else:
        raise TypeError(f"energy() needs an invertible g (tanh, sigmoid or linear); got {g!r}.")
    return float(-0.5 * r @ model.w @ r - (model._drive(np.asarray(x, float))) @ r + G.sum())


def feedforward_model(weights, *, g="tanh", biases=None, trainable=("w", "u", "b")) -> RateModel:
    """The lecture's feedforward network as a fixed point: layers ``r_1 = g(w_1 x + b_1)``,
    ``r_k = g(w_k r_{k-1} + b_k)`` in one :class:`RateModel` whose ``W`` is block
    lower-triangular (so ``J`` is lower triangular and the fixed point is the forward pass), ``U``
    feeds the input to the first layer.  ``weights``: list of (n_k, n_{k-1}) arrays (the first
    (n_1, n_in)).  Returns the model; the last layer's units are the last ``n_K`` units."""
    ws = [check_real_array(f"weights[{k}]", w) for k, w in enumerate(weights)]
    if not ws or any(w.ndim != 2 for w in ws):
        raise ValueError("`weights` must be a non-empty list of 2-D arrays (n_k, n_{k-1}).")
    for k in range(1, len(ws)):
        if ws[k].shape[1] != ws[k - 1].shape[0]:
            raise ValueError(f"`weights[{k}]` must have {ws[k - 1].shape[0]} columns to follow weights[{k - 1}]; "
                             f"got shape {ws[k].shape}.")
    sizes = [w.shape[0] for w in ws]
    n = sum(sizes)
    start = np.concatenate([[0], np.cumsum(sizes)])
    W = np.zeros((n, n))
    U = np.zeros((n, ws[0].shape[1]))
    U[:sizes[0]] = ws[0]
    for k in range(1, len(ws)):
        W[start[k]:start[k + 1], start[k - 1]:start[k]] = ws[k]
    b = np.zeros(n) if biases is None else np.concatenate([check_real_array(f"biases[{k}]", v)
                                                          for k, v in enumerate(biases)])
    return RateModel(w=W, u=U, b=b, tau=1.0, g=g, trainable=trainable)
