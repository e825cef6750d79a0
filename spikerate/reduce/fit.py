"""Fit a reduced rate model to a spiking network's population rates: :func:`fit_reduction`.

The model's output trajectory ``y_t(theta)`` (integrated with ``method`` on the rates' time grid
``t_k = t_0 + k dt`` under the drive ``x``) is matched to the measured rates ``nu_t`` by
nonlinear least squares (``scipy.optimize.least_squares``, trust-region reflective)::

    min_theta  1/2 sum_{t >= t_start} sum_a (y_ta(theta) - nu_ta)^2         [Hz^2]

over a chosen subset ``theta`` of

=============  ===============  ==========================================================
name           size             meaning
=============  ===============  ==========================================================
``tau``        n (per pop.)     time constant of the rate / current model [s]; for the
                                two-variable model an alias of ``("tau_s", "tau_m")``
``tau_s``      n (per pop.)     synaptic time constant of the two-variable model [s]
``tau_m``      n (per pop.)     rate time constant of the two-variable model [s]
``w_scale``    1 (shared)       ``W -> w_scale W`` (all recurrent weights scaled together)
``gain``       n (per pop.)     ``g_fit(z) = gain g(z - threshold)`` (see :class:`AffineTransfer`)
``threshold``  n (per pop.)     shift of the input of ``g`` [mV]
=============  ===============  ==========================================================

Initial state: the first rate sample for :class:`~spikerate.models.RateModel`; the fixed point
under ``x[0]`` (of the model with the current ``theta``) for the current and two-variable models.

The Jacobian ``dy/dtheta`` is analytic: forward (RTRL-style) sensitivities ``p_t = ds_t/dtheta``
of the discrete step ``s_{t+1} = Phi(s_t, x_t; theta)``, chained as
``p_{t+1} = A_t p_t + B_t`` with ``(A_t, B_t)`` from the model's ``step_jacobians`` (``tau``,
``w`` through ``w_scale``) and the derivatives of ``g_fit`` for ``gain`` and ``threshold``; the
fixed-point start contributes ``p_0 = -J^{-1} dF/dtheta`` (implicit function theorem).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import scipy.optimize
import xarray as xr

from .._validation import check_choice, check_positive, check_real, check_real_array, describe, suggest
from ..errors import ConvergenceError
from ..io.schema import make_reduction_fit_dataset, variable
from ..models import TwoVariableModel
from ..models.dynamics import find_fixed_point, integrate
from ..models.rate import AbstractRateModel
from ..models.transfer import AbstractTransfer

#: methods with step Jacobians (RK4 has none)
FIT_METHODS = ("euler", "exp_euler")
#: least_squares settings: tolerances on cost, step and gradient, and evaluation budget
_TOL = 1e-10
_MAX_NFEV = 200

_UNITS = {"tau": "s", "tau_s": "s", "tau_m": "s", "w_scale": "1", "gain": "1", "threshold": "mV"}
_LONG = {"tau": "time constant", "tau_s": "synaptic time constant", "tau_m": "rate time constant",
         "w_scale": "scale factor of the recurrent weights", "gain": "gain of the transfer g",
         "threshold": "threshold shift of the input of g"}


@dataclass(frozen=True, kw_only=True, eq=False)
class AffineTransfer(AbstractTransfer):
    """``g_fit(z) = gain * base(z - threshold)``, one ``gain`` and ``threshold`` [mV] per unit
    (arrays of shape (n,), broadcast against the last axis of ``z``); frozen."""
    name: ClassVar[str] = "affine"
    base: object
    gain: np.ndarray
    threshold: np.ndarray

    def __post_init__(self):
        for f in ("gain", "threshold"):
            a = np.array(getattr(self, f), dtype=float)
            a.setflags(write=False)
            object.__setattr__(self, f, a)

    @property
    def accepts_noise(self) -> bool:
        return bool(getattr(self.base, "accepts_noise", False))

    def base_value_and_derivative(self, x: npt.ArrayLike, sigma: npt.ArrayLike | None = None
                                  ) -> tuple[np.ndarray, np.ndarray]:
        """``(base(x - threshold), base'(x - threshold))``; with ``sigma``, the base at that noise
        (``derivatives_noise``) and its derivative in the mean input."""
        z = np.asarray(x, dtype=float) - self.threshold
        if sigma is not None:
            v, d, _ = self.base.derivatives_noise(z, sigma)
            return np.asarray(v, float), np.asarray(d, float)
        vd = getattr(self.base, "value_and_derivative", None)
        if vd is not None:
            v, d = vd(z)
        else:
            v, d = self.base.value(z), self.base.derivative(z)
        return np.asarray(v, float), np.asarray(d, float)

    def value(self, x: npt.ArrayLike) -> np.ndarray:
        return self.gain * np.asarray(self.base.value(np.asarray(x, dtype=float) - self.threshold), float)

    def derivative(self, x: npt.ArrayLike) -> np.ndarray:
        return self.value_and_derivative(x)[1]

    def value_and_derivative(self, x: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        v, d = self.base_value_and_derivative(x)
        return self.gain * v, self.gain * d

    def kernel_spec(self):
        """The base's compiled path with this gain and threshold, when the base has one that
        takes them (the population transfer of :func:`~spikerate.reduce.reduce`); else None."""
        spec = getattr(self.base, "kernel_spec", None)
        if spec is None:
            return None
        return spec(gain=self.gain, threshold=self.threshold)

    def derivatives_noise(self, mu, sigma):
        v, d, d_sigma = self.base.derivatives_noise(np.asarray(mu, dtype=float) - self.threshold, sigma)
        return self.gain * v, self.gain * d, self.gain * d_sigma

    def to_dict(self) -> dict:
        base = self.base.to_dict() if hasattr(self.base, "to_dict") else repr(self.base)
        return {"name": self.name, "base": base, "gain": self.gain.tolist(), "threshold": self.threshold.tolist()}


# ------------------------------------------------------------------------------- validation


def _check_model(model) -> AbstractRateModel:
    if not isinstance(model, AbstractRateModel):
        raise TypeError(f"`model` must be a RateModel, CurrentModel or TwoVariableModel; got {describe(model)}.")
    return model


def _tau_names(model) -> tuple[str, ...]:
    return ("tau_s", "tau_m") if isinstance(model, TwoVariableModel) else ("tau",)


def _check_params(model, params) -> tuple[str, ...]:
    if isinstance(params, str):
        params = (params,)
    try:
        params = tuple(params)
    except TypeError:
        raise TypeError(f"`params` must be a name or a sequence of names; got {describe(params)}.") from None
    if not params:
        raise ValueError("`params` must name at least one parameter; got an empty sequence.")
    taus = _tau_names(model)
    valid = (*taus, "w_scale", "gain", "threshold")
    accepted = (*valid, "tau") if len(taus) == 2 else valid
    out = []
    for p in params:
        if not isinstance(p, str) or p not in accepted:
            hint = suggest(p, accepted) if isinstance(p, str) else ""
            raise ValueError(f"`params` must contain names from {list(accepted)} for a {type(model).__name__}; "
                             f"got {describe(p)}.{hint}")
        out.extend(taus if p == "tau" else (p,))
    if len(set(out)) != len(out):
        raise ValueError(f"`params` must not repeat a parameter; got {params} (expanded: {tuple(out)}).")
    return tuple(n for n in valid if n in out)  # canonical order


def _check_rates(rates, dt, n):
    """(values (T, n), time (T,), dt, population labels)."""
    labels = None
    if isinstance(rates, xr.Dataset):
        if "rate" not in rates:
            raise ValueError(f"`rates` must have a variable `rate`; got variables {list(rates.data_vars)}.")
        da = rates["rate"]
        if "trial" in da.dims:
            raise ValueError("`rates` must be trial-averaged; got a `trial` dim. Use estimate_rate(..., "
                             "trials='mean') or rates.mean('trial').")
        if set(da.dims) != {"time", "population"}:
            raise ValueError(f"`rates` must have `rate(time, population)` (estimate_rate(by='population')); "
                             f"got dims {da.dims}.")
        da = da.transpose("time", "population")
        values = check_real_array("rates", da.values, unit="Hz")
        time = check_real_array("rates.time", da["time"].values, unit="s")
        if time.size < 2:
            raise ValueError(f"`rates` must have at least 2 time samples; got {time.size}.")
        step = np.diff(time)
        dt_data = float(np.mean(step))
        if np.any(np.abs(step - dt_data) > 1e-6 * dt_data):
            raise ValueError("`rates` must be on a uniform time grid; got uneven steps "
                             f"(from {step.min():g} to {step.max():g} s).")
        if dt is None:
            dt = dt_data
        else:
            dt = check_positive("dt", dt, unit="s")
            if abs(dt - dt_data) > 1e-6 * dt_data:
                raise ValueError(f"`dt` must equal the time step of `rates` ({dt_data:g} s) or be None; got {dt:g} s.")
        labels = da["population"].values
    else:
        if dt is None:
            raise ValueError("`dt` is required when `rates` is an array (T, n); got None.")
        dt = check_positive("dt", dt, unit="s")
        values = check_real_array("rates", rates, unit="Hz")
        if values.ndim == 1 and n == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[0] < 2:
            raise ValueError(f"`rates` must have shape (T, n) with T >= 2; got shape {values.shape}.")
        time = np.arange(values.shape[0]) * dt
    if values.shape[1] != n:
        raise ValueError(f"`rates` must have one column per population of the model (n = {n}); "
                         f"got {values.shape[1]}.")
    if labels is None:
        labels = np.arange(n)
    return values, time, dt, labels


def _check_x(x, T, n_in):
    if x is None:
        return np.zeros((T, n_in))
    xa = check_real_array("x", x, unit="mV")
    if xa.ndim == 1 and n_in == 1:
        xa = xa[:, None]
    if xa.ndim != 2 or xa.shape[1] != n_in or xa.shape[0] not in (T, T - 1):
        raise ValueError(f"`x` must have shape (T, n_in) = ({T}, {n_in}) on the time grid of `rates` "
                         f"(or ({T - 1}, {n_in}), one row per step); got shape {xa.shape}.")
    return xa


# ------------------------------------------------------------------------------- the problem


class _Problem:
    """Parameter vector <-> model, residuals and their RTRL Jacobian."""

    def __init__(self, model, names, target, xs, dt, method, mask):
        self.names, self.target, self.xs, self.dt, self.method, self.mask = names, target, xs, dt, method, mask
        self.kind = model.kind_name
        n = model.n
        self.n = n
        g = model.g
        if isinstance(g, AffineTransfer):
            base, gain0, th0 = g.base, np.broadcast_to(g.gain, (n,)), np.broadcast_to(g.threshold, (n,))
        else:
            base, gain0, th0 = g, np.ones(n), np.zeros(n)
        self.base, self.w0 = base, model.w
        self.fixed = {"w_scale": np.array([1.0]), "gain": np.array(gain0, float), "threshold": np.array(th0, float)}
        for t in _tau_names(model):
            self.fixed[t] = np.broadcast_to(getattr(model, t), (n,)).astype(float)
        self.sizes = {k: (1 if k == "w_scale" else n) for k in names}
        self.model0 = model
        self.theta0 = np.concatenate([self.fixed[k] for k in names])
        self._cache = None
        self._fp_state0 = None

    def split(self, theta) -> dict[str, np.ndarray]:
        out, k = dict(self.fixed), 0
        for name in self.names:
            out[name] = np.asarray(theta[k:k + self.sizes[name]], float)
            k += self.sizes[name]
        return out

    def model(self, theta):
        v = self.split(theta)
        g = AffineTransfer(base=self.base, gain=v["gain"], threshold=v["threshold"])
        changes = {t: v[t] for t in _tau_names(self.model0)}
        return dataclasses.replace(self.model0, w=float(v["w_scale"][0]) * self.w0, g=g, **changes)

    def state0(self, m):
        if self.kind == "rate":
            return self.target[0].copy()
        ds = find_fixed_point(m, self.xs[0], state0=self._fp_state0, tol=1e-13, throw=False)
        if not ds.attrs["converged"]:
            return None
        if self.kind == "two_variable":
            return np.concatenate([ds["I"].values, ds["r"].values])
        return ds["I"].values

    def trajectory(self, theta):
        """States (T, n_state) and outputs (T, n), or None if the trajectory is not finite."""
        key = np.asarray(theta, float).tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        m = self.model(theta)
        out = None
        try:
            s0 = self.state0(m)
            if s0 is not None:
                with np.errstate(all="ignore"):
                    ds = integrate(m, self.xs[:-1] if len(self.xs) == len(self.target) else self.xs,
                                   dt=self.dt, method=self.method, state0=s0)
                r = ds["r"].values
                if self.kind == "rate":
                    states = r
                elif self.kind == "current":
                    states = ds["I"].values
                else:
                    states = np.concatenate([ds["I"].values, r], axis=1)
                if np.all(np.isfinite(states)) and np.all(np.isfinite(r)):
                    out = (m, states, r)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            out = None
        self._cache = (key, out)
        return out

    def residuals(self, theta) -> np.ndarray:
        tr = self.trajectory(theta)
        if tr is None:
            return np.full(int(self.mask.sum()) * self.n, np.inf)
        return (tr[2] - self.target)[self.mask].ravel()

    # --- analytic Jacobian ----------------------------------------------------------------

    @staticmethod
    def _base(m, z, r):
        """The fitted transfer's base and its derivative at mean input ``z`` and rates ``r``."""
        if m.noise is None:
            return m.g.base_value_and_derivative(z)
        sigma, shift = m.noise.evaluate(r)
        return m.g.base_value_and_derivative(z - shift, sigma)

    def _dF_gain_threshold(self, m, s, drive):
        """Dense dF/dgain and dF/dthreshold at K points ``s`` (K, n_state): each (K, n_state, n)."""
        n, g = self.n, m.g
        K, ns = s.shape[0], m.n_state
        dgain, dth = np.zeros((K, ns, n)), np.zeros((K, ns, n))
        k = np.arange(n)
        if self.kind == "rate":
            gb, db = self._base(m, s @ m.w.T + drive, s)
            it = 1.0 / np.broadcast_to(m.tau, (n,))
            dgain[:, k, k] = gb * it
            dth[:, k, k] = -g.gain * db * it
        elif self.kind == "current":
            gb, db = g.base_value_and_derivative(s)
            it = 1.0 / np.broadcast_to(m.tau, (n,))
            dgain[:] = (it[:, None] * m.w)[None] * gb[:, None, :]
            dth[:] = -(it[:, None] * m.w)[None] * (g.gain * db)[:, None, :]
        else:
            gb, db = self._base(m, s[:, :n], s[:, n:])
            it = 1.0 / np.broadcast_to(m.tau_m, (n,))
            dgain[:, n + k, k] = gb * it
            dth[:, n + k, k] = -g.gain * db * it
        return dgain, dth

    def _columns(self, m, s, x, compact, scale_rows):
        """Dense (K, n_state, p) derivative w.r.t. theta at K points from a compact params object
        with a leading K axis (``dF`` or ``B``); ``scale_rows`` multiplies the gain/threshold
        columns (h per row for a step, 1 for dF)."""
        n, ns, K = self.n, m.n_state, s.shape[0]
        cols = []
        if "gain" in self.names or "threshold" in self.names:
            dgain, dth = self._dF_gain_threshold(m, s, x @ m.u.T + m.b)
        k = np.arange(n)
        for name in self.names:
            if name == "w_scale":
                c = np.zeros((K, ns, 1))
                o = m.param_rows["w"]
                c[:, o:o + n, 0] = np.sum(np.asarray(compact.w) * self.w0, axis=-1)
            elif name in ("gain", "threshold"):
                c = scale_rows[:, None] * (dgain if name == "gain" else dth)
            else:
                c = np.zeros((K, ns, n))
                o = m.param_rows[name]
                c[:, o + k, k] = np.asarray(getattr(compact, name))
            cols.append(c)
        return np.concatenate(cols, axis=-1)

    def _output_jacobian(self, m, s, p):
        """dy/dtheta (K, n, p) from the state sensitivities p (K, n_state, p) at states s (K, n_state)."""
        n = self.n
        if self.kind == "rate":
            return p
        if self.kind == "two_variable":
            return p[:, n:]
        gb, db = m.g.base_value_and_derivative(s)
        out = (m.g.gain * db)[..., None] * p
        j, k = 0, np.arange(n)
        for name in self.names:
            if name == "gain":
                out[:, k, j + k] += gb
            elif name == "threshold":
                out[:, k, j + k] -= m.g.gain * db
            j += self.sizes[name]
        return out

    def jacobian(self, theta) -> np.ndarray:
        tr = self.trajectory(theta)
        n_p = self.theta0.size
        if tr is None:
            return np.zeros((int(self.mask.sum()) * self.n, n_p))
        m, states, _ = tr
        T = states.shape[0]
        if self.kind == "rate":
            p = np.zeros((m.n_state, n_p))
        else:  # fixed point start: p0 = -J^{-1} dF/dtheta
            s0, x0 = states[:1], self.xs[:1]
            dF = self._columns(m, s0, x0, m._jac_params(s0, x0, m._drive(x0)), np.ones(m.n_state))[0]
            p = -np.linalg.solve(m.jacobian_state(s0[0], x0[0]), dF)
        h, _ = m._step_size(self.dt, self.method)
        # every step's Jacobians at once along the known trajectory, then the chain p_{t+1} = A_t p_t + C_t
        A, B = m.step_jacobians_batch(states[:-1], self.xs[:T - 1], self.dt, self.method)
        C = self._columns(m, states[:-1], self.xs[:T - 1], B, h)
        P = np.empty((T, m.n_state, n_p))
        P[0] = p
        for t in range(T - 1):
            P[t + 1] = A[t] @ P[t] + C[t]
        return self._output_jacobian(m, states, P)[self.mask].reshape(-1, n_p)


# ------------------------------------------------------------------------------- bounds


def _bounds(problem, bounds, dt, method):
    n_p = problem.theta0.size
    lb, ub = np.full(n_p, -np.inf), np.full(n_p, np.inf)
    tau_lo = 0.5 * dt * (1.0 + 1e-6) if method == "euler" else 1e-3 * dt
    defaults = {"w_scale": (-np.inf, np.inf), "gain": (0.0, np.inf), "threshold": (-np.inf, np.inf)}
    for t in ("tau", "tau_s", "tau_m"):
        defaults[t] = (tau_lo, np.inf)
    user = {}
    if bounds is not None:
        if not isinstance(bounds, dict):
            raise TypeError(f"`bounds` must be a dict name -> (low, high); got {describe(bounds)}.")
        for name, lohi in bounds.items():
            if name not in problem.names:
                raise ValueError(f"`bounds` has a key {name!r} that is not a fitted parameter {list(problem.names)}."
                                 + suggest(str(name), problem.names))
            try:
                lo, hi = lohi
            except (TypeError, ValueError):
                raise TypeError(f"`bounds[{name!r}]` must be a pair (low, high); got {describe(lohi)}.") from None
            user[name] = (lo, hi)
    k = 0
    for name in problem.names:
        size = problem.sizes[name]
        lo, hi = user.get(name, defaults[name])
        lo = np.broadcast_to(np.asarray(lo, float), (size,))
        hi = np.broadcast_to(np.asarray(hi, float), (size,))
        if np.any(np.isnan(lo)) or np.any(np.isnan(hi)) or np.any(lo >= hi):
            raise ValueError(f"`bounds[{name!r}]` must have low < high (no NaN); got ({lo}, {hi}).")
        if name in ("tau", "tau_s", "tau_m") and np.any(lo < tau_lo):
            raise ValueError(f"`bounds[{name!r}]` low must be >= {tau_lo:g} s (dt / 2 for Euler stability, "
                             f"> 0 for exp_euler); got {lo}.")
        x0 = problem.theta0[k:k + size]
        if np.any(x0 <= lo) or np.any(x0 >= hi):
            raise ValueError(f"`bounds[{name!r}]` must contain the initial value {x0} strictly; got ({lo}, {hi}).")
        lb[k:k + size], ub[k:k + size] = lo, hi
        k += size
    return lb, ub


# ------------------------------------------------------------------------------- public


def _scores(y, target, mask):
    d = (y - target)[mask]
    rmse = np.sqrt(np.mean(d ** 2, axis=0))
    tgt = target[mask]
    ss_tot = np.sum((tgt - tgt.mean(axis=0)) ** 2, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - np.sum(d ** 2, axis=0) / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
    return rmse, r2


def fit_reduction(model: AbstractRateModel, rates, *, x: npt.ArrayLike | None = None,
                  params=("tau", "w_scale", "gain", "threshold"), dt: float | None = None, t_start: float = 0.0,
                  bounds: dict | None = None, method: str = "euler") -> tuple[AbstractRateModel, xr.Dataset]:
    """Fit time constants, a weight scale and the gain/threshold of ``g`` of a rate model to
    measured population rates (see the module docstring for the cost and the Jacobian).

    Parameters
    ----------
    model : RateModel, CurrentModel or TwoVariableModel
        The starting model (e.g. from :func:`~spikerate.reduce.reduce`); its ``g`` needs a
        derivative.  If ``g`` is an :class:`AffineTransfer` (a fitted model), the fit starts from
        its gain and threshold.
    rates : xarray.Dataset or array_like, shape (T, n)
        Population rates [Hz]: a rates Dataset with ``rate(time, population)`` (as from
        ``estimate_rate(spikes, by="population", trials="mean")``; uniform time grid) or an array
        with ``dt``.
    x : array_like, shape (T, n_in) or (T - 1, n_in), optional
        The drive [mV] on the same grid (row k held over ``[t_k, t_k + dt)``); default 0.
    params : sequence of str
        Parameters to fit, from ``tau`` (``tau_s`` and ``tau_m`` for the two-variable model;
        ``tau`` is an alias of both there), ``w_scale``, ``gain``, ``threshold``.  Time constants,
        gains and thresholds are fitted per population; ``w_scale`` is one shared scalar.
    dt : float, optional
        Time step [s] (> 0); required for an array, else must match the Dataset's grid.
    t_start : float
        Only samples with ``t >= t_start`` [s] enter the cost (the trajectory starts at ``t_0``).
    bounds : dict, optional
        ``name -> (low, high)`` (scalars or arrays of the parameter's size).  Defaults: time
        constants ``> dt/2`` (Euler stability; ``> 1e-3 dt`` for ``exp_euler``), ``gain > 0``,
        the rest free.
    method : {"euler", "exp_euler"}
        Discretisation of the model (the grid step is ``dt``).

    Returns
    -------
    fitted_model : same type as ``model``
        ``w`` scaled by ``w_scale``, fitted time constants (arrays of shape (n,)), and ``g``
        wrapped as ``AffineTransfer(base=g, gain=..., threshold=...)`` when gain or threshold
        are fitted.
    report : xarray.Dataset
        Per fitted parameter ``<name>``, ``<name>_initial`` and ``<name>_stderr`` (standard error
        from the final Jacobian and the residual variance); ``cost_initial``, ``cost_final``
        [Hz^2] (1/2 sum of squares); ``rmse_initial``, ``rmse_final`` [Hz] and ``r2_initial``,
        ``r2_final`` per population; ``n_fev``, ``n_jev``, ``success``; the trajectories
        ``rate`` (target), ``r_initial``, ``r_fit`` (time, population).  Attrs ``params`` (JSON
        list of the fitted names), ``message``, ``method``, ``jacobian``, ``model``, ``dt``,
        ``t_start``.

    Raises
    ------
    ValueError
        Unknown parameter names (with the nearest valid name), shapes of ``rates``/``x`` not
        matching the model, NaN, non-positive or inconsistent ``dt``, no samples after
        ``t_start``, bad ``bounds``, unknown ``method``.
    TypeError
        ``model`` is not a rate model; ``g`` has no derivative.
    spikerate.errors.ConvergenceError
        The initial model has no finite trajectory (or fixed point) to start from.
    """
    model = _check_model(model)
    method = check_choice("method", method, FIT_METHODS)
    names = _check_params(model, params)
    target, time, dt, labels = _check_rates(rates, dt, model.n)
    xs = _check_x(x, target.shape[0], model.n_in)
    t_start = check_real("t_start", t_start, unit="s")
    mask = time >= t_start - 1e-9 * dt
    if not np.any(mask):
        raise ValueError(f"`t_start` must leave at least one sample of `rates` (last at {time[-1]:g} s); "
                         f"got {t_start:g} s.")
    model.g.derivative(np.zeros(model.n))  # a callable without a derivative fails here, clearly
    problem = _Problem(model, names, target, xs, dt, method, mask)
    lb, ub = _bounds(problem, bounds, dt, method)
    integrate(problem.model(problem.theta0), np.zeros((1, model.n_in)), dt=dt, method=method)  # `dt` stability
    tr0 = problem.trajectory(problem.theta0)
    if tr0 is None:
        raise ConvergenceError("fit_reduction: the initial model has no finite trajectory"
                               + ("" if model.kind_name == "rate" else " (or no fixed point under x[0])")
                               + "; check the model and the drive `x`.")
    if problem.kind != "rate":
        problem._fp_state0 = tr0[1][0].copy()  # warm start of later fixed-point solves
    r_initial = tr0[2]
    res = scipy.optimize.least_squares(problem.residuals, problem.theta0, jac=problem.jacobian, bounds=(lb, ub),
                                       method="trf", x_scale="jac", ftol=_TOL, xtol=_TOL, gtol=_TOL,
                                       max_nfev=_MAX_NFEV)
    cost0 = 0.5 * float(np.sum(problem.residuals(problem.theta0) ** 2))
    theta = res.x
    if res.cost > cost0:  # never worse than the start (trf does not accept uphill steps; guard anyway)
        theta = problem.theta0
    tr = problem.trajectory(theta)
    fm, r_fit = tr[0], tr[2]
    cost1 = 0.5 * float(np.sum(((r_fit - target)[mask]) ** 2))
    # standard errors: cov = s^2 (J^T J)^-1, s^2 = sum r^2 / (m - p)
    J = problem.jacobian(theta)
    m_obs, n_p = J.shape
    dof = max(m_obs - n_p, 1)
    try:
        cov = np.linalg.pinv(J.T @ J) * (2.0 * cost1 / dof)
        stderr = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    except np.linalg.LinAlgError:
        stderr = np.full(n_p, np.nan)

    if "gain" not in names and "threshold" not in names and not isinstance(model.g, AffineTransfer):
        fm = dataclasses.replace(fm, g=model.g)
    rmse0, r20 = _scores(r_initial, target, mask)
    rmse1, r21 = _scores(r_fit, target, mask)
    pop = ("population", labels, {"units": "1", "long_name": "population"})
    data = {}
    v0, v1, se = problem.split(problem.theta0), problem.split(theta), problem.split(stderr)
    for name in names:
        dims = () if name == "w_scale" else ("population",)
        conv = (lambda a: float(a[0])) if name == "w_scale" else (lambda a: a)
        u, ln = _UNITS[name], _LONG[name]
        data[name] = variable(conv(v1[name]), dims, units=u, long_name=f"fitted {ln}")
        data[f"{name}_initial"] = variable(conv(v0[name]), dims, units=u, long_name=f"initial {ln}")
        data[f"{name}_stderr"] = variable(conv(se[name]), dims, units=u, long_name=f"standard error of the {ln}")
    data.update(
        cost_initial=variable(cost0, (), units="Hz^2", long_name="initial cost (1/2 sum of squared residuals)"),
        cost_final=variable(cost1, (), units="Hz^2", long_name="final cost (1/2 sum of squared residuals)"),
        rmse_initial=variable(rmse0, ("population",), units="Hz", long_name="RMSE before the fit"),
        rmse_final=variable(rmse1, ("population",), units="Hz", long_name="RMSE after the fit"),
        r2_initial=variable(r20, ("population",), units="1", long_name="R^2 before the fit"),
        r2_final=variable(r21, ("population",), units="1", long_name="R^2 after the fit"),
        n_fev=variable(np.int64(res.nfev), (), units="1", long_name="number of function evaluations"),
        n_jev=variable(np.int64(res.njev or 0), (), units="1", long_name="number of Jacobian evaluations"),
        success=variable(bool(res.success), (), units="1", long_name="least_squares success flag"),
        rate=variable(target, ("time", "population"), units="Hz", long_name="target population rate"),
        r_initial=variable(r_initial, ("time", "population"), units="Hz", long_name="initial model rate"),
        r_fit=variable(r_fit, ("time", "population"), units="Hz", long_name="fitted model rate"),
    )
    coords = {"population": pop, "time": ("time", time, {"units": "s", "long_name": "time"})}
    return fm, make_reduction_fit_dataset(
        variables=data, coords=coords, params=json.dumps(list(names)), message=str(res.message), method=method,
        jacobian="analytic (RTRL forward sensitivities)", model=model.kind_name, dt=dt, t_start=t_start,
        status=int(res.status))


__all__ = ["AffineTransfer", "fit_reduction"]
