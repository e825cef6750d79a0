"""Rate models: the two limits of the LIF-derived rate dynamics and the full two-variable model.

==========================  ===============  ====================================================
class                       limit            vector field ``F(state, x)``
==========================  ===============  ====================================================
:class:`RateModel`          tau_s << tau_m   ``tau dr/dt = -r + g(W r + U x + b)``
:class:`CurrentModel`       tau_m << tau_s   ``tau dI/dt = -I + W g(I) + U x + b``, output ``r = g(I)``
:class:`TwoVariableModel`   none             ``tau_s dI/dt = -I + W r + U x + b``, ``tau_m dr/dt = -r + g(I)``
==========================  ===============  ====================================================

Shapes: ``w`` (n, n) [post, pre], ``u`` (n, n_in), ``b`` (n,), ``tau`` (and ``tau_s``,
``tau_m``) a scalar or (n,) [s].  The state is ``r`` (rate model), ``I`` (current model) or the
concatenation ``(I, r)`` of length 2n (two-variable model).  Units: s, Hz, mV (``I`` and the
input of ``g`` in mV for the LIF transfers; dimensionless for the standard nonlinearities).

The step protocol (DESIGN.md §2), written once here and used by :func:`~spikerate.models.integrate`,
:func:`~spikerate.models.find_fixed_point` and the learning methods:

* ``F(state, x)``: the vector field ``d state/dt``.
* ``jacobian_state(state, x)``: dense ``J = dF/dstate``, (n_state, n_state).
* ``jacobian_params(state, x)``: the *compact* ``dF/dtheta``, returned as the model's parameter
  type (:class:`RateParams` / :class:`TwoVariableParams`).  Every parameter acts on one block of
  state rows starting at ``model.param_rows[name]`` (0, or n for ``tau_m``), and only through the
  row of its own post-synaptic unit:

  - ``w`` (n, n): ``C[i, k] = dF_{o+i}/dw_ik`` (all ``dF_j/dw_ik`` with ``j != o+i`` are 0); for
    the rate model ``C[i, k] = g'(z_i) r_k / tau_i``, i.e. ``D_i r_k``.
  - ``u`` (n, n_in): ``C[i, k] = dF_{o+i}/du_ik``.
  - ``b`` (n,): ``C[i] = dF_{o+i}/db_i``.
  - ``tau`` per unit (n,): ``C[i] = dF_{o+i}/dtau_i``; a *scalar* ``tau`` acts on every row and
    ``C`` (n,) is the dense column ``dF_{o+i}/dtau``.

  ``expand_jacobian_params(C)`` turns it into dense (n_state, size) blocks (for tests and small
  models).
* ``step(state, x, dt, method)``: one discrete step ``Phi``; ``"euler"`` is ``s + dt F(s)``,
  ``"exp_euler"`` is ``s + h F(s)`` with ``h = tau (1 - exp(-dt/tau))`` per row (exact for the
  leak, the rest held constant over the step), ``"rk4"`` classical Runge-Kutta.
* ``step_jacobians(state, x, dt, method)``: ``(A, B)`` with ``A = dPhi/dstate`` dense and ``B =
  dPhi/dtheta`` in the same compact form as ``jacobian_params`` (Euler and exponential Euler;
  RK4 raises ``NotImplementedError``).

Parameters are a frozen dataclass (:class:`RateParams`, :class:`TwoVariableParams`) so that
gradients come back as the same type; ``model.params``, ``model.with_params(...)`` and
``trainable`` (the names a learning method updates) go with it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .._validation import check_choice, check_real_array, describe
from . import _kernels as K
from .noise import RateNoise
from .nonlinearities import Linear, Sigmoid, Softplus, Tanh, ThresholdLinear, get_transfer
from .transfer import ALPHA, LIFTransfer, SiegertTransfer

METHODS = ("euler", "exp_euler", "rk4")


# ------------------------------------------------------------------------------- parameters


def _frozen_array(value) -> np.ndarray:
    a = np.array(value, dtype=float)
    a.setflags(write=False)
    return a


class _ParamsMixin:
    """Shared behaviour of the parameter dataclasses: read-only float arrays, names, dicts."""

    __slots__ = ()

    def __post_init__(self):
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _frozen_array(getattr(self, f.name)))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Parameter names, in field order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.names()}

    def replace(self, **changes) -> Any:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, kw_only=True, eq=False, slots=True)
class RateParams(_ParamsMixin):
    """Parameters of :class:`RateModel` and :class:`CurrentModel` (also the type of their
    gradients and compact Jacobians): ``w`` (n, n), ``u`` (n, n_in), ``b`` (n,), ``tau`` [s]
    scalar or (n,).  Arrays are stored read-only; no range checks (gradients may be negative)."""
    w: np.ndarray
    u: np.ndarray
    b: np.ndarray
    tau: np.ndarray


@dataclass(frozen=True, kw_only=True, eq=False, slots=True)
class TwoVariableParams(_ParamsMixin):
    """Parameters of :class:`TwoVariableModel` (and their gradients): ``w``, ``u``, ``b`` as
    :class:`RateParams`, ``tau_s``, ``tau_m`` [s] scalar or (n,)."""
    w: np.ndarray
    u: np.ndarray
    b: np.ndarray
    tau_s: np.ndarray
    tau_m: np.ndarray


# ------------------------------------------------------------------------------- transfer


class _CallableTransfer:
    """A user callable used as ``g``: value only; a derivative raises a clear TypeError."""

    __slots__ = ("fn",)
    name = "callable"

    def __init__(self, fn):
        self.fn = fn

    def value(self, x):
        return np.asarray(self.fn(np.asarray(x, float)), dtype=float)

    def derivative(self, x):
        raise TypeError(f"`g` ({describe(self.fn)}) is a plain callable without a derivative; Jacobians, "
                        f"fixed points and learning need one. Pass an object with `value(x)` and `derivative(x)` "
                        f"(e.g. a spikerate.models transfer) instead.")

    def __repr__(self):
        return f"callable({getattr(self.fn, '__name__', repr(self.fn))})"


def _as_transfer(g):
    if isinstance(g, (str, dict)):
        return get_transfer(g)
    if callable(getattr(g, "value", None)):
        if callable(getattr(g, "derivative", None)):
            return g
        return _CallableTransfer(g.value)
    if callable(g):
        return _CallableTransfer(g)
    raise TypeError(f"`g` must be a transfer name, a dict, an object with `value` and `derivative`, or a callable; "
                    f"got {describe(g)}.")


def _g_value_derivative(g, z):
    vd = getattr(g, "value_and_derivative", None)
    if vd is not None:
        return vd(z)
    return g.value(z), g.derivative(z)


def _kernel_transfer(g) -> tuple[int, np.ndarray] | None:
    """(int code, parameter vector) of a built-in transfer for the kernels; None for others.
    A transfer defined elsewhere may offer one through a ``kernel_spec()`` method."""
    spec = getattr(g, "kernel_spec", None)
    if callable(spec):
        return spec()
    t = type(g)
    if t is Linear:
        return K.G_LINEAR, np.array([g.gain])
    if t is ThresholdLinear:
        return K.G_THRESHOLD_LINEAR, np.array([g.threshold, g.gain, g.power])
    if t is Tanh:
        return K.G_TANH, np.array([g.gain])
    if t is Sigmoid:
        return K.G_SIGMOID, np.array([g.gain, g.threshold])
    if t is Softplus:
        return K.G_SOFTPLUS, np.array([g.beta])
    if t is LIFTransfer:
        return K.G_LIF, np.array([g.tau_m, g.t_ref, g.v_th, g.v_reset])
    if t is SiegertTransfer:
        k = 0.5 * ALPHA * math.sqrt(g.tau_s / g.tau_m)
        return K.G_SIEGERT, np.array([g.sigma, g.tau_m, g.t_ref, g.v_th, g.v_reset, k])
    return None


# ------------------------------------------------------------------------------- models


class AbstractRateModel:
    """Shared machinery of the rate models (the step protocol); see the module docstring.

    Subclasses are frozen dataclasses with the parameter fields, ``g`` and ``trainable``; they
    define ``kind``, ``params_type``, ``_tau_fields`` (name -> first state row) and the
    vector-field pieces ``_field``, ``_jac_state``, ``_jac_params``.
    """

    __slots__ = ()
    kind: ClassVar[int]
    kind_name: ClassVar[str]
    params_type: ClassVar[type]
    _tau_fields: ClassVar[tuple[str, ...]]

    # --- construction -------------------------------------------------------------------

    def _validate(self):
        w = check_real_array("w", self.w)
        if w.ndim != 2 or w.shape[0] != w.shape[1]:
            raise ValueError(f"`w` must be a square (n, n) matrix [post, pre]; got shape {w.shape}.")
        n = w.shape[0]
        if n == 0:
            raise ValueError("`w` must have at least one unit; got shape (0, 0).")
        u = np.eye(n) if self.u is None else check_real_array("u", self.u)
        if u.ndim != 2 or u.shape[0] != n:
            raise ValueError(f"`u` must have shape (n, n_in) = ({n}, *) to match `w`; got shape {u.shape}.")
        b = np.zeros(n) if self.b is None else check_real_array("b", self.b)
        if b.shape != (n,):
            raise ValueError(f"`b` must have shape (n,) = ({n},) to match `w`; got shape {b.shape}.")
        object.__setattr__(self, "w", _frozen_array(w))
        object.__setattr__(self, "u", _frozen_array(u))
        object.__setattr__(self, "b", _frozen_array(b))
        for name in self._tau_fields:
            tau = check_real_array(name, getattr(self, name), unit="s", positive=True)
            if tau.shape not in ((), (n,)):
                raise ValueError(f"`{name}` must be a scalar or have shape (n,) = ({n},); got shape {tau.shape}.")
            object.__setattr__(self, name, _frozen_array(tau))
        object.__setattr__(self, "g", _as_transfer(self.g))
        self._validate_noise(n)
        trainable = (self.trainable,) if isinstance(self.trainable, str) else tuple(self.trainable)
        names = self.params_type.names()
        for t in trainable:
            check_choice("trainable", t, names)
        if len(set(trainable)) != len(trainable):
            raise ValueError(f"`trainable` must not repeat names; got {trainable}.")
        object.__setattr__(self, "trainable", trainable)

    def _validate_noise(self, n):
        if self.noise is None:
            return
        if not self._noise_allowed:
            raise ValueError(f"`noise` is not available for {type(self).__name__}: its rate r = g(I) is the output of "
                             f"g itself, so noise depending on r would make g implicit. Use TwoVariableModel (r is a "
                             f"state variable) or a transfer with a fixed sigma.")
        if not isinstance(self.noise, RateNoise):
            raise TypeError(f"`noise` must be a spikerate.models.RateNoise or None; got {describe(self.noise)}.")
        if self.noise.n != n:
            raise ValueError(f"`noise` must describe n = {n} units to match `w`; got {self.noise.n}.")
        if not getattr(self.g, "accepts_noise", False):
            raise TypeError(f"`noise` needs a transfer that depends on the noise (SiegertTransfer or a reduce(..., "
                            f"g='siegert') population transfer); got g = {self.g!r}.")

    def _g_noise(self, z, r, *, jacobian: bool = False):
        """``g(z - shift(r), sigma(r))`` for a model with ``noise``; with ``jacobian`` also
        ``dg/dz`` (n,) and the rate dependence through the noise ``dg/dr`` (n, n)."""
        if not jacobian:
            sigma, shift = self.noise.evaluate(r)
            return self.g.derivatives_noise(z - shift, sigma)[0]
        sigma, shift, dsigma, dshift = self.noise.evaluate(r, jacobian=True)
        v, d_mu, d_sigma = self.g.derivatives_noise(z - shift, sigma)
        return v, d_mu, d_sigma[..., :, None] * dsigma - d_mu[..., :, None] * dshift

    # --- sizes and parameters -----------------------------------------------------------

    @property
    def n(self) -> int:
        """Number of units."""
        return self.w.shape[0]

    @property
    def n_in(self) -> int:
        """Number of inputs (columns of ``u``)."""
        return self.u.shape[1]

    @property
    def n_state(self) -> int:
        """Length of the state vector (n, or 2n for the two-variable model)."""
        return self.n

    @property
    def params(self):
        """The parameters as a frozen dataclass (:class:`RateParams` or :class:`TwoVariableParams`)."""
        return self.params_type(**{name: getattr(self, name) for name in self.params_type.names()})

    @property
    def param_rows(self) -> dict[str, int]:
        """First state row of the block each parameter acts on (see ``jacobian_params``)."""
        return {name: 0 for name in self.params_type.names()}

    def with_params(self, params=None, /, **changes):
        """A copy with new parameters: a parameter object and/or keyword changes
        (``model.with_params(w=w2)``, ``model.with_params(new_params)``), validated again."""
        values = {}
        if params is not None:
            if not isinstance(params, self.params_type):
                raise TypeError(f"`params` must be a {self.params_type.__name__}; got {describe(params)}.")
            values.update(params.as_dict())
        values.update(changes)
        return dataclasses.replace(self, **values)

    def to_dict(self, *, arrays: bool = True) -> dict:
        """JSON-safe description: model kind, ``g`` (its ``to_dict()``), ``trainable`` and, with
        ``arrays=True``, the parameters as nested lists (result Datasets store them as variables
        and this without arrays as the ``params`` attribute)."""
        g = self.g.to_dict() if hasattr(self.g, "to_dict") else repr(self.g)
        d = {"model": self.kind_name, "g": g, "trainable": list(self.trainable)}
        if self.noise is not None:
            d["noise"] = self.noise.to_dict()
        if arrays:
            d.update({k: v.tolist() for k, v in self.params.as_dict().items()})
        return d

    def _inv_tau_rows(self) -> np.ndarray:
        """1/tau per state row."""
        n = self.n
        out = np.empty(self.n_state)
        for name in self._tau_fields:
            o = self.param_rows[name]
            out[o:o + n] = 1.0 / np.broadcast_to(getattr(self, name), (n,))
        return out

    def _tau_rows(self) -> np.ndarray:
        return 1.0 / self._inv_tau_rows()

    # --- checks of state and input ----------------------------------------------------------

    def _state(self, state) -> np.ndarray:
        s = np.asarray(state, dtype=float)
        if s.shape != (self.n_state,):
            raise ValueError(f"`state` must have shape ({self.n_state},); got shape {s.shape}.")
        return s

    def _input(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.shape != (self.n_in,):
            raise ValueError(f"`x` must have shape (n_in,) = ({self.n_in},); got shape {x.shape}.")
        return x

    def _drive(self, x) -> np.ndarray:
        return x @ self.u.T + self.b

    # --- the step protocol ----------------------------------------------------------------

    def F(self, state: npt.ArrayLike, x: npt.ArrayLike) -> np.ndarray:
        """The vector field ``d state / dt`` [state units / s], shape (n_state,)."""
        return self._field(self._state(state), self._drive(self._input(x)))

    def jacobian_state(self, state: npt.ArrayLike, x: npt.ArrayLike) -> np.ndarray:
        """Dense ``J = dF/dstate``, shape (n_state, n_state) [1/s]."""
        return self._jac_state(self._state(state), self._drive(self._input(x)))

    def jacobian_params(self, state: npt.ArrayLike, x: npt.ArrayLike):
        """Compact ``dF/dtheta`` as the parameter type (layout in the module docstring)."""
        s, x = self._state(state), self._input(x)
        return self._jac_params(s, x, self._drive(x))

    def expand_jacobian_params(self, compact) -> dict[str, np.ndarray]:
        """Dense blocks ``dF/dtheta`` (or ``dPhi/dtheta``): name -> (n_state, size of the
        parameter), columns in C order of the parameter array."""
        n, out = self.n, {}
        for name in self.params_type.names():
            c = np.asarray(getattr(compact, name))
            p = getattr(self, name)
            o = self.param_rows[name]
            dense = np.zeros((self.n_state, max(p.size, 1)))
            rows = o + np.arange(n)
            if p.ndim == 2:
                m = p.shape[1]
                for k in range(m):
                    dense[rows, np.arange(n) * m + k] = c[:, k]
            elif p.ndim == 1:
                dense[rows, np.arange(n)] = c
            else:
                dense[rows, 0] = c
            out[name] = dense
        return out

    def _step_size(self, dt: float, method: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-row step h of the Euler-type methods and dh/dtau."""
        n_state = self.n_state
        if method == "euler":
            return np.full(n_state, float(dt)), np.zeros(n_state)
        tau = self._tau_rows()
        em1 = np.expm1(-dt / tau)
        return -tau * em1, -em1 - (dt / tau) * (em1 + 1.0)

    def step(self, state: npt.ArrayLike, x: npt.ArrayLike, dt: float, method: str = "euler") -> np.ndarray:
        """One discrete step ``Phi(state, x)`` of length ``dt`` [s] (input held constant)."""
        check_choice("method", method, METHODS)
        s, drive = self._state(state), self._drive(self._input(x))
        if method == "rk4":
            k1 = self._field(s, drive)
            k2 = self._field(s + 0.5 * dt * k1, drive)
            k3 = self._field(s + 0.5 * dt * k2, drive)
            k4 = self._field(s + dt * k3, drive)
            return s + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        h, _ = self._step_size(dt, method)
        return s + h * self._field(s, drive)

    def step_jacobians(self, state: npt.ArrayLike, x: npt.ArrayLike, dt: float, method: str = "euler"):
        """``(A, B)`` of one step: ``A = dPhi/dstate`` (n_state, n_state) and ``B = dPhi/dtheta`` in
        the compact form of :meth:`jacobian_params`.  For ``Phi = s + h F(s)``: ``A = I + diag(h) J``;
        ``B = h C`` for ``w``, ``u``, ``b``; ``B = (dh/dtau - h/tau) F`` on the rows of a time
        constant (``dh/dtau = 0`` for Euler)."""
        self._check_jacobian_method(method)
        return self._step_jacobians(self._state(state), self._input(x), dt, method)

    def step_jacobians_batch(self, states: npt.ArrayLike, x: npt.ArrayLike, dt: float, method: str = "euler"):
        """:meth:`step_jacobians` at K points at once: ``states`` (K, n_state), ``x`` (K, n_in) ->
        ``A`` (K, n_state, n_state) and ``B`` with a leading K axis on every compact block
        (vectorised; what fits and learning along a known trajectory use)."""
        self._check_jacobian_method(method)
        s = np.asarray(states, dtype=float)
        xa = np.asarray(x, dtype=float)
        if s.ndim != 2 or s.shape[1] != self.n_state:
            raise ValueError(f"`states` must have shape (K, {self.n_state}); got shape {s.shape}.")
        if xa.shape != (s.shape[0], self.n_in):
            raise ValueError(f"`x` must have shape (K, n_in) = ({s.shape[0]}, {self.n_in}); got shape {xa.shape}.")
        return self._step_jacobians(s, xa, dt, method)

    @staticmethod
    def _check_jacobian_method(method):
        check_choice("method", method, METHODS)
        if method == "rk4":
            raise NotImplementedError("step Jacobians are implemented for method='euler' and 'exp_euler'; "
                                      "got 'rk4'.")

    def _step_jacobians(self, s, x, dt, method):
        drive = self._drive(x)
        h, dh = self._step_size(dt, method)
        A = np.eye(self.n_state) + h[:, None] * self._jac_state(s, drive)  # (..., n_state, n_state)
        C = self._jac_params(s, x, drive)
        f = self._field(s, drive)
        inv_tau = self._inv_tau_rows()
        n, B = self.n, {}
        for name in self.params_type.names():
            o = self.param_rows[name]
            hr = h[o:o + n]
            if name in self._tau_fields:
                B[name] = (dh[o:o + n] - hr * inv_tau[o:o + n]) * f[..., o:o + n]
            else:
                c = getattr(C, name)
                B[name] = hr[:, None] * c if c.ndim == s.ndim + 1 else hr * c
        return A, self.params_type(**B)

    def output(self, state: npt.ArrayLike) -> np.ndarray:
        """The rates ``r`` [Hz] of a state (``g(I)`` for the current model)."""
        return self._state(state)


@dataclass(frozen=True, kw_only=True, eq=False)
class _OneStateModel(AbstractRateModel):
    """The fields shared by the rate and current models (one state variable per unit)."""
    w: Any
    u: Any = None
    b: Any = None
    tau: Any
    g: Any = "linear"
    trainable: Any = ("w", "u", "b")
    noise: Any = None

    def __post_init__(self):
        self._validate()


@dataclass(frozen=True, kw_only=True, eq=False)
class RateModel(_OneStateModel):
    """Rate model (``tau_s << tau_m``): ``tau dr/dt = -r + g(W r + U x + b)``.

    Parameters
    ----------
    w : array_like, shape (n, n)
        Recurrent weights [post, pre].
    u : array_like, shape (n, n_in), optional
        Input weights (default: identity, ``n_in = n``).
    b : array_like, shape (n,), optional
        Bias (default 0).
    tau : float or array_like, shape (n,)
        Time constant [s], > 0.
    g : str, dict, transfer object or callable
        Transfer function (default ``"linear"``); a callable without ``derivative`` can be
        integrated but not differentiated.
    trainable : tuple of str
        Parameter names a learning method updates (default ``("w", "u", "b")``).
    noise : RateNoise, optional
        Input noise that follows the rates (mean-field theory): ``g`` is evaluated as
        ``g(z - shift(r), sigma(r))`` with ``z = W r + U x + b``; needs a Siegert-type ``g``.

    Examples
    --------
    >>> m = RateModel(w=[[1.0]], u=[[1.0]], b=[1.0], tau=1.0, g="linear", trainable=("w", "b"))
    >>> m.F([0.5], [0.0]).tolist()
    [1.0]
    """
    kind: ClassVar[int] = K.KIND_RATE
    kind_name: ClassVar[str] = "rate"
    params_type: ClassVar[type] = RateParams
    _tau_fields: ClassVar[tuple[str, ...]] = ("tau",)

    _noise_allowed: ClassVar[bool] = True

    def _field(self, r, drive):
        z = r @ self.w.T + drive
        gz = self.g.value(z) if self.noise is None else self._g_noise(z, r)
        return (gz - r) / self.tau

    def _jac_state(self, r, drive):
        z = r @ self.w.T + drive
        inv_tau = np.broadcast_to(1.0 / self.tau, (self.n,))
        if self.noise is None:
            d = np.asarray(self.g.derivative(z), float)
            return inv_tau[:, None] * (d[..., :, None] * self.w - np.eye(self.n))
        _, d, d_r = self._g_noise(z, r, jacobian=True)
        return inv_tau[:, None] * (d[..., :, None] * self.w + d_r - np.eye(self.n))

    def _jac_params(self, r, x, drive):
        z = r @ self.w.T + drive
        if self.noise is None:
            gz, d = _g_value_derivative(self.g, z)
        else:
            gz, d, _ = self._g_noise(z, r, jacobian=True)
        inv_tau = np.broadcast_to(1.0 / self.tau, (self.n,))
        dd = d * inv_tau
        f = (gz - r) * inv_tau
        return RateParams(w=dd[..., :, None] * r[..., None, :], u=dd[..., :, None] * x[..., None, :], b=dd,
                          tau=-f * inv_tau)


@dataclass(frozen=True, kw_only=True, eq=False)
class CurrentModel(_OneStateModel):
    """Current model (``tau_m << tau_s``): ``tau dI/dt = -I + W g(I) + U x + b``, rates ``r = g(I)``.

    Parameters as :class:`RateModel` (``tau`` is the synaptic time constant; ``I`` in the units
    of the input of ``g``, mV for the LIF transfers).
    """
    kind: ClassVar[int] = K.KIND_CURRENT
    kind_name: ClassVar[str] = "current"
    params_type: ClassVar[type] = RateParams
    _tau_fields: ClassVar[tuple[str, ...]] = ("tau",)
    _noise_allowed: ClassVar[bool] = False

    def _field(self, i, drive):
        return (np.asarray(self.g.value(i), float) @ self.w.T + drive - i) / self.tau

    def _jac_state(self, i, drive):
        d = np.asarray(self.g.derivative(i), float)
        inv_tau = np.broadcast_to(1.0 / self.tau, (self.n,))
        return inv_tau[:, None] * (self.w * d[..., None, :] - np.eye(self.n))

    def _jac_params(self, i, x, drive):
        gi = np.asarray(self.g.value(i), float)
        inv_tau = np.broadcast_to(1.0 / self.tau, (self.n,))
        f = (gi @ self.w.T + drive - i) * inv_tau
        return RateParams(w=inv_tau[:, None] * gi[..., None, :], u=inv_tau[:, None] * x[..., None, :],
                          b=np.broadcast_to(inv_tau, f.shape).copy(), tau=-f * inv_tau)

    def output(self, state):
        return np.asarray(self.g.value(self._state(state)), float)


@dataclass(frozen=True, kw_only=True, eq=False)
class TwoVariableModel(AbstractRateModel):
    """Two-variable model: ``tau_s dI/dt = -I + W r + U x + b``, ``tau_m dr/dt = -r + g(I)``;
    state ``(I, r)`` of length 2n.

    Parameters as :class:`RateModel`, with ``tau_s`` (synaptic) and ``tau_m`` (rate) time
    constants [s] instead of ``tau``; with ``noise`` (:class:`RateNoise`) the rate equation reads
    ``tau_m dr/dt = -r + g(I - shift(r), sigma(r))``.
    """
    kind: ClassVar[int] = K.KIND_TWO_VARIABLE
    kind_name: ClassVar[str] = "two_variable"
    params_type: ClassVar[type] = TwoVariableParams
    _tau_fields: ClassVar[tuple[str, ...]] = ("tau_s", "tau_m")
    _noise_allowed: ClassVar[bool] = True

    w: Any
    u: Any = None
    b: Any = None
    tau_s: Any
    tau_m: Any
    g: Any = "linear"
    trainable: Any = ("w", "u", "b")
    noise: Any = None

    def __post_init__(self):
        self._validate()

    @property
    def n_state(self) -> int:
        return 2 * self.n

    @property
    def param_rows(self) -> dict[str, int]:
        return {"w": 0, "u": 0, "b": 0, "tau_s": 0, "tau_m": self.n}

    def _field(self, s, drive):
        n = self.n
        i, r = s[..., :n], s[..., n:]
        return np.concatenate([(r @ self.w.T + drive - i) / self.tau_s, (self._g_rate(i, r) - r) / self.tau_m],
                              axis=-1)

    def _g_rate(self, i, r):
        return self.g.value(i) if self.noise is None else self._g_noise(i, r)

    def _jac_state(self, s, drive):
        n = self.n
        a = np.broadcast_to(1.0 / self.tau_s, (n,))
        c = np.broadcast_to(1.0 / self.tau_m, (n,))
        J = np.zeros(s.shape[:-1] + (2 * n, 2 * n))
        k = np.arange(n)
        J[..., k, k] = -a
        J[..., :n, n:] = a[:, None] * self.w
        J[..., n + k, n + k] = -c
        if self.noise is None:
            d = np.asarray(self.g.derivative(s[..., :n]), float)
        else:
            _, d, d_r = self._g_noise(s[..., :n], s[..., n:], jacobian=True)
            J[..., n:, n:] += c[:, None] * d_r
        J[..., n + k, k] = c * d
        return J

    def _jac_params(self, s, x, drive):
        n = self.n
        i, r = s[..., :n], s[..., n:]
        a = np.broadcast_to(1.0 / self.tau_s, (n,))
        c = np.broadcast_to(1.0 / self.tau_m, (n,))
        fi = (r @ self.w.T + drive - i) * a
        fr = (np.asarray(self._g_rate(i, r), float) - r) * c
        return TwoVariableParams(w=a[:, None] * r[..., None, :], u=a[:, None] * x[..., None, :],
                                 b=np.broadcast_to(a, fi.shape).copy(), tau_s=-fi * a, tau_m=-fr * c)

    def output(self, state):
        return self._state(state)[self.n:].copy()
