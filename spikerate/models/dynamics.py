"""Dynamics of the rate models: :func:`integrate` (trajectories) and :func:`find_fixed_point`.

Which method when
-----------------
* ``method="euler"``: ``s_{t+1} = s_t + dt F(s_t, x_t)``, the discretisation the lecture and the
  learning methods (RTRL, BPTT) use; first order, stable for ``dt < 2 tau`` on the leak.
* ``method="exp_euler"``: ``s_{t+1} = s_t + tau (1 - e^{-dt/tau}) F(s_t, x_t)``; the leak is
  integrated exactly, so it is stable for any ``dt`` on the leak (first order otherwise); the
  choice for stiff models (``tau_s << tau_m``) and for relaxation to a fixed point.
* ``method="rk4"``: classical Runge-Kutta, fourth order for smooth ``g`` and smooth input.

Input ``x``: an array (T, n_in) held constant over each step (zero-order hold: ``T`` steps), a
constant (n_in,), or a callable ``x(t) -> (n_in,)`` (sampled at the step starts and, for RK4,
at the mid-points).  Built-in transfers run in one compiled kernel (``W r`` by BLAS); other
``g`` run the same scheme in NumPy.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import xarray as xr

from .._validation import check_choice, check_int, check_positive, check_real_array, describe
from ..errors import ConvergenceError
from ..io.schema import make_fixed_point_dataset, make_trajectory_dataset
from . import _kernels as K
from .rate import METHODS, AbstractRateModel, _kernel_transfer
from .transfer import _WG, _XG

#: largest dt / min(tau) for which the leak is stable under each explicit method
_STABLE_DT = {"euler": 2.0, "rk4": 2.78}


def _check_model(model) -> AbstractRateModel:
    if not isinstance(model, AbstractRateModel):
        raise TypeError(f"`model` must be a RateModel, CurrentModel or TwoVariableModel; got {describe(model)}.")
    return model


def _check_state0(model, state0) -> np.ndarray:
    if state0 is None:
        return np.zeros(model.n_state)
    s = check_real_array("state0", state0)
    if s.shape != (model.n_state,):
        what = "(I, r) concatenated" if model.n_state > model.n else "one value per unit"
        raise ValueError(f"`state0` must have shape ({model.n_state},) ({what}); got shape {s.shape}.")
    return s.copy()


def _check_dt(model, dt, method) -> float:
    dt = check_positive("dt", dt, unit="s")
    limit = _STABLE_DT.get(method)
    tau_min = float(np.min(model._tau_rows()))
    if limit is not None and dt > limit * tau_min:
        raise ValueError(f"`dt` must be below {limit:g} x the smallest time constant ({tau_min:g} s) for "
                         f"method={method!r} to be stable; got dt={dt:g} s. Use a smaller dt or method='exp_euler'.")
    return dt


def _advance(model, s, drive, dstep, mid, dt, method, n_steps, record_every):
    """Run the scheme from ``s``; returns the recorded states (n_rec, n_state) and the end state."""
    n_rec = n_steps // record_every + 1
    out = np.empty((n_rec, model.n_state))
    h, _ = model._step_size(dt, "euler" if method == "rk4" else method)
    code = _kernel_transfer(model.g)
    noise = model.noise
    if noise is not None and (code is None or code[0] != K.G_POPULATION):
        code = None  # rate-dependent noise is compiled for the population transfer only
    m = K.M_RK4 if method == "rk4" else K.M_EULER
    if code is not None:
        n = model.n
        if noise is None:
            nv, nvc, nq, nqc = np.zeros(n), np.zeros((n, n)), np.zeros(n), np.zeros((n, n))
        else:
            nv, nvc, nq, nqc = (np.ascontiguousarray(a, dtype=float) for a in
                                (noise.var_ext, noise.var_coupling, noise.shift_ext, noise.shift_coupling))
        with np.errstate(all="ignore"):
            K._integrate_rate(model.kind, code[0], np.array(code[1], dtype=float), _XG, _WG,
                              np.ascontiguousarray(model.w), model._inv_tau_rows(), n, h, float(dt), m, drive,
                              dstep, mid, n_steps, record_every, s, out, noise is not None, nv, nvc, nq, nqc)
        return out, s
    out[0] = s
    rec = 1
    f = model._field
    for t in range(n_steps):
        row = t * dstep
        if m == K.M_EULER:
            s = s + h * f(s, drive[row])
        else:
            k1 = f(s, drive[row])
            k2 = f(s + 0.5 * dt * k1, drive[row + mid])
            k3 = f(s + 0.5 * dt * k2, drive[row + mid])
            k4 = f(s + dt * k3, drive[row + 2 * mid])
            s = s + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if (t + 1) % record_every == 0:
            out[rec] = s
            rec += 1
    return out, s


def integrate(model: AbstractRateModel, x, *, dt: float, t_stop: float | None = None, method: str = "euler",
              state0: npt.ArrayLike | None = None, record_every: int = 1) -> xr.Dataset:
    """Integrate a rate model from ``state0`` under the input ``x``.

    Parameters
    ----------
    model : RateModel, CurrentModel or TwoVariableModel
    x : array_like (T, n_in) or (n_in,), or callable
        Input [mV]: one row per step (``T`` steps, zero-order hold), a constant, or ``x(t)``
        returning (n_in,) for ``t`` in s.
    dt : float
        Step [s], > 0 (below 2 tau for Euler, 2.78 tau for RK4).
    t_stop : float, optional
        Duration [s]; required for constant or callable input, must equal ``T dt`` if given
        with an array.
    method : {"euler", "exp_euler", "rk4"}
    state0 : array_like (n_state,), optional
        Initial state (``r``, ``I``, or ``(I, r)``); default 0.
    record_every : int
        Record every k-th step (the initial state is always recorded).

    Returns
    -------
    xarray.Dataset
        Schema ``spikerate.trajectory/1``: ``r`` (time, unit) [Hz], ``x`` (time, input) (the
        input held over ``[t, t + dt)``; for array input the last row is repeated at ``t_stop``)
        and, for the current and two-variable models, ``I`` (time, unit); the model parameters
        as variables (``w`` (unit, pre), ``u`` (unit, input), ``b``, time constants) and the
        rest (model kind, ``g``, ``trainable``) as the JSON attribute ``params``.

    Raises
    ------
    ValueError
        Bad shapes, NaN, non-positive or unstable ``dt``, unknown ``method``, missing or
        inconsistent ``t_stop``.

    Examples
    --------
    >>> from spikerate.models import RateModel
    >>> m = RateModel(w=[[0.5]], u=[[1.0]], b=[0.0], tau=1.0)
    >>> ds = integrate(m, [1.0], dt=0.01, t_stop=40.0)
    >>> round(float(ds.r[-1, 0]), 6)   # fixed point 1 / (1 - 0.5)
    2.0
    """
    model = _check_model(model)
    method = check_choice("method", method, METHODS)
    dt = _check_dt(model, dt, method)
    record_every = check_int("record_every", record_every, minimum=1)
    s = _check_state0(model, state0)
    n_in = model.n_in
    if callable(x):
        if t_stop is None:
            raise ValueError("`t_stop` is required when `x` is a callable of t.")
        n_steps = _n_steps(t_stop, dt)
        sub = 2 if method == "rk4" else 1
        ts = np.arange(n_steps * sub + 1) * (dt / sub)
        xs = np.empty((ts.size, n_in))
        for k, t in enumerate(ts):
            xs[k] = check_real_array("x(t)", x(float(t)), shape=(n_in,))
        drive = xs @ model.u.T + model.b
        dstep, mid = sub, sub - 1
        x_rec = xs[::sub][::record_every]
    else:
        xa = check_real_array("x", x)
        if xa.ndim == 1:
            if xa.shape != (n_in,):
                raise ValueError(f"`x` must have shape (n_in,) = ({n_in},) or (T, {n_in}); got shape {xa.shape}.")
            if t_stop is None:
                raise ValueError("`t_stop` is required when `x` is constant (shape (n_in,)).")
            n_steps = _n_steps(t_stop, dt)
            drive = (model.u @ xa + model.b)[None, :]
            dstep, mid = 0, 0
            x_rec = np.broadcast_to(xa, (n_steps // record_every + 1, n_in))
        elif xa.ndim == 2 and xa.shape[1] == n_in and xa.shape[0] > 0:
            n_steps = xa.shape[0]
            if t_stop is not None:
                t_stop = check_positive("t_stop", t_stop, unit="s")
                if abs(t_stop - n_steps * dt) > 1e-9 * max(t_stop, dt):
                    raise ValueError(f"`t_stop` must equal T * dt = {n_steps} * {dt:g} = {n_steps * dt:g} s for an "
                                     f"input array of {n_steps} rows; got {t_stop:g} s.")
            drive = np.ascontiguousarray(xa @ model.u.T + model.b)
            dstep, mid = 1, 0
            idx = np.minimum(np.arange(0, n_steps + 1, record_every), n_steps - 1)
            x_rec = xa[idx]
        else:
            raise ValueError(f"`x` must have shape (T, n_in) = (T, {n_in}) or (n_in,) = ({n_in},); "
                             f"got shape {xa.shape}.")
    out, _ = _advance(model, s, np.ascontiguousarray(drive, dtype=float), dstep, mid, dt, method, n_steps,
                      record_every)
    n = model.n
    time = np.arange(out.shape[0]) * (record_every * dt)
    I = None
    if model.kind == K.KIND_RATE:
        r = out
    elif model.kind == K.KIND_CURRENT:
        I = out
        r = np.asarray(model.g.value(out), float)
    else:
        I, r = out[:, :n], out[:, n:]
    return make_trajectory_dataset(time=time, r=r, x=x_rec, I=I, model=model.kind_name, method=method, dt=dt,
                                   t_stop=n_steps * dt, record_every=record_every, params=model.to_dict(arrays=False),
                                   model_params=model.params.as_dict())


def _n_steps(t_stop, dt) -> int:
    t_stop = check_positive("t_stop", t_stop, unit="s")
    n = int(round(t_stop / dt))
    if n < 1:
        raise ValueError(f"`t_stop` must be at least one step dt = {dt:g} s; got {t_stop:g} s.")
    return n


# ------------------------------------------------------------------------------- fixed points


def _scaled_residual(model, s, drive, tau) -> float:
    """max |tau F| / max(1, max |s|): the residual in state units, relative for large states."""
    return float(np.max(np.abs(tau * model._field(s, drive)))) / max(1.0, float(np.max(np.abs(s))))


def _newton(model, s, drive, tau, tol, max_iter):
    """Damped Newton with backtracking on ||tau F||; returns (state, converged, iterations)."""
    f = tau * model._field(s, drive)
    norm = float(np.linalg.norm(f))
    for it in range(max_iter):
        if float(np.max(np.abs(f))) <= tol * max(1.0, float(np.max(np.abs(s)))):
            return s, True, it
        J = tau[:, None] * model._jac_state(s, drive)
        try:
            d = np.linalg.solve(J, -f)
        except np.linalg.LinAlgError:
            return s, False, it
        if not np.all(np.isfinite(d)):
            return s, False, it
        alpha = 1.0
        while True:
            s_new = s + alpha * d
            with np.errstate(all="ignore"):
                f_new = tau * model._field(s_new, drive)
            n_new = float(np.linalg.norm(f_new))
            if np.isfinite(n_new) and n_new <= (1.0 - 1e-4 * alpha) * norm:
                break
            alpha *= 0.5
            if alpha < 1e-10:
                return s, False, it + 1
        s, f, norm = s_new, f_new, n_new
    ok = float(np.max(np.abs(f))) <= tol * max(1.0, float(np.max(np.abs(s))))
    return s, ok, max_iter


def find_fixed_point(model: AbstractRateModel, x: npt.ArrayLike, *, state0: npt.ArrayLike | None = None,
                     tol: float = 1e-10, max_iter: int = 100, throw: bool = True) -> xr.Dataset:
    """A fixed point ``F(state, x) = 0`` of a rate model under constant input ``x``.

    Newton's method with the analytic Jacobian and a backtracking line search on ``||tau F||``;
    when it fails (singular Jacobian, no descent, or ``max_iter`` reached), the dynamics are
    relaxed (exponential Euler, ``dt = tau_min / 2``, up to ``100 max_iter`` steps) and Newton is
    tried again from there.  Converged means ``max|tau F| <= tol * max(1, max|state|)``.

    Parameters
    ----------
    model : RateModel, CurrentModel or TwoVariableModel
        Its ``g`` needs a derivative.
    x : array_like, shape (n_in,)
        Constant input [mV].
    state0 : array_like, shape (n_state,), optional
        Starting point (default 0).
    tol : float
        Tolerance on the scaled residual, > 0.
    max_iter : int
        Newton iterations per attempt, >= 1.
    throw : bool
        Raise :class:`~spikerate.errors.ConvergenceError` when nothing converges (default);
        otherwise return the last iterate with ``converged = 0``.

    Returns
    -------
    xarray.Dataset
        Schema ``spikerate.fixed_point/1``: ``r`` (unit) [Hz], ``I`` (unit) for the current and
        two-variable models, ``residual`` (state) = F at the solution, ``eigenvalue_real`` and
        ``eigenvalue_imag`` (mode) of ``J = dF/dstate`` there (sorted by decreasing real part);
        attrs ``converged`` (0/1), ``n_iter`` (Newton iterations), ``n_relax_steps``,
        ``method_used`` (``"newton"``, ``"relaxation"`` or ``"relaxation+newton"``), ``stable``
        (1 if the largest real part is < 0); the input ``x`` and the model parameters as
        variables, as in :func:`integrate`.

    Examples
    --------
    >>> from spikerate.models import RateModel
    >>> ds = find_fixed_point(RateModel(w=[[0.5]], tau=1.0), [1.0])
    >>> float(ds.r[0]), int(ds.stable)
    (2.0, 1)
    """
    model = _check_model(model)
    xa = check_real_array("x", x)
    if xa.shape != (model.n_in,):
        raise ValueError(f"`x` must have shape (n_in,) = ({model.n_in},); got shape {xa.shape}.")
    tol = check_positive("tol", tol)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    s0 = _check_state0(model, state0)
    model.g.derivative(np.zeros(model.n))  # a callable without derivative fails here, with a clear message
    drive = model.u @ xa + model.b
    tau = model._tau_rows()
    s, ok, n_iter = _newton(model, s0, drive, tau, tol, max_iter)
    method_used, n_relax = "newton", 0
    if not ok:
        # relaxation from the start point: exponential Euler, chunks of 10 max_iter steps
        dt = 0.5 * float(np.min(tau))
        s = s0.copy()
        method_used = "relaxation"
        for _ in range(10):
            _, s = _advance(model, s, drive[None, :].copy(), 0, 0, dt, "exp_euler", 10 * max_iter, 10 * max_iter)
            n_relax += 10 * max_iter
            if not np.all(np.isfinite(s)):
                break
            if _scaled_residual(model, s, drive, tau) <= tol:
                ok = True
                break
            s2, ok2, it2 = _newton(model, s, drive, tau, tol, max_iter)
            n_iter += it2
            if ok2:
                s, ok, method_used = s2, True, "relaxation+newton"
                break
    finite = bool(np.all(np.isfinite(s)))
    if not ok and throw:
        res = _scaled_residual(model, s, drive, tau) if finite else math.inf
        raise ConvergenceError(f"find_fixed_point did not converge: scaled residual {res:.3g} > tol={tol:g} after "
                               f"{n_iter} Newton iterations and {n_relax} relaxation steps. Try another `state0`, "
                               f"a larger `max_iter`, or throw=False to inspect the last iterate.")
    if finite:
        residual = model._field(s, drive)
        ev = np.linalg.eigvals(model._jac_state(s, drive))
        ev = ev[np.lexsort((-ev.imag, -ev.real))]
    else:
        residual = np.full(model.n_state, np.nan)
        ev = np.full(model.n_state, np.nan + 0j)
    stable = bool(finite and np.max(ev.real) < 0.0)
    n = model.n
    I = None
    if model.kind == K.KIND_RATE:
        r = s
    elif model.kind == K.KIND_CURRENT:
        I, r = s, np.asarray(model.g.value(s), float)
    else:
        I, r = s[:n], s[n:]
    return make_fixed_point_dataset(r=r, residual=residual, eigenvalues=ev, I=I, model=model.kind_name,
                                    converged=bool(ok), n_iter=n_iter, n_relax_steps=n_relax, method_used=method_used,
                                    stable=stable, tol=tol, params=model.to_dict(arrays=False),
                                    model_params=model.params.as_dict(), input=xa)
