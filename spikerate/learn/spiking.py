"""A recurrent LIF network in the step protocol, for surrogate-gradient learning.

The discrete map is the foundation simulator's exact step on the same grid (identical spikes,
tested), written for one current channel (or delta synapses) and per-step input increments::

    s_t      = H(v'_t - v_th)                                  spikes of step t
    v_t      = v_reset            (reset="to")                 after a spike (s_t = 1)
             = v'_t - (v_th - v_reset) s_t   (reset="subtract")
    clamped  : the neuron spiked within the last n_ref steps (counter c)
    v'_{t+1} = v_t                                              if clamped
             = v_rest + beta (v_t - v_rest) + p I_t + U x_t + b  otherwise   (+ W s_t for delta synapses)
    I_{t+1}  = alpha I_t + W s_t                                (current synapses)
    z_{t+1}  = kappa z_t + s_t                                  leaky readout trace

with ``beta = exp(-dt/tau_m)``, ``alpha = exp(-dt/tau_s)``, ``p`` the exact current-to-potential
propagator over one step and ``kappa = exp(-dt/tau_out)``.  ``U x_t + b`` is the increment of
``v`` per step [mV] (a current ``A`` held over the step gives ``(1 - beta) A``).  The state is
``(v', I, z, c)`` (4n); the model's output, the rate estimate ``z / tau_out`` [Hz], is what the
loss's readout sees.  A spike emitted at step t reaches its targets one step later, as in the
simulator with a delay of one step.

Gradients: ``dH/dv`` is replaced by a surrogate ``sigma'(v' - v_th)`` (:mod:`.surrogates`);
``detach_reset=True`` stops the gradient through the reset (the reset still happens).  The
refractory counter carries no gradient.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .._validation import check_choice, check_positive, check_real, check_real_array, describe
from ..models.rate import _frozen_array, _ParamsMixin
from .surrogates import FastSigmoid, get_surrogate

RESETS = ("to", "subtract")


@dataclass(frozen=True, kw_only=True, eq=False, slots=True)
class SpikingParams(_ParamsMixin):
    """Trainable parameters of :class:`SpikingModel` (and their gradients): ``w`` (n, n)
    recurrent jumps [mV] (into ``I``, or into ``v`` for delta synapses), ``u`` (n, n_in) and ``b``
    (n,) per-step increments of ``v`` [mV]."""
    w: np.ndarray
    u: np.ndarray
    b: np.ndarray


@dataclass(frozen=True, kw_only=True, eq=False)
class SpikingModel:
    """Recurrent LIF network for surrogate-gradient training (module docstring).

    Parameters
    ----------
    w, u, b : array_like
        Recurrent weights (n, n) [post, pre], input weights (n, n_in), bias (n,) [mV].
    tau_m : float
        Membrane time constant [s] (``inf``: no leak, delta synapses only).
    tau_s : float
        Synaptic time constant [s]; 0 for delta synapses (jumps of ``v``).
    tau_out : float
        Time constant of the leaky readout trace [s].
    v_rest, v_th, v_reset : float
        Potentials [mV].
    t_ref : float
        Refractory period [s] (rounded to steps of ``dt`` when stepping).
    reset : {"to", "subtract"}
        Reset to ``v_reset`` (as the simulator) or subtract ``v_th - v_reset`` (the lecture's form).
    detach_reset : bool
        Stop the gradient through the reset.
    surrogate : Surrogate, name or dict
        Pseudo-derivative of H (default :class:`~spikerate.learn.surrogates.FastSigmoid`).
    smooth : bool
        The surrogate-smoothed network: spikes are ``sigma(v' - v_th)`` (the smooth function
        whose derivative is the surrogate) instead of ``H``, so the surrogate gradient is its
        exact gradient (for finite-difference checks; needs ``t_ref = 0``).
    trainable : tuple of str
    """
    kind_name: ClassVar[str] = "spiking"
    params_type: ClassVar[type] = SpikingParams
    _tau_fields: ClassVar[tuple[str, ...]] = ()

    w: Any
    u: Any = None
    b: Any = None
    tau_m: float = 20e-3
    tau_s: float = 5e-3
    tau_out: float = 20e-3
    v_rest: float = 0.0
    v_th: float = 1.0
    v_reset: float = 0.0
    t_ref: float = 0.0
    reset: str = "to"
    detach_reset: bool = False
    surrogate: Any = None
    smooth: bool = False
    trainable: Any = ("w", "u", "b")

    def __post_init__(self):
        w = check_real_array("w", self.w)
        if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] == 0:
            raise ValueError(f"`w` must be a square (n, n) matrix [post, pre] with n >= 1; got shape {w.shape}.")
        n = w.shape[0]
        u = np.eye(n) if self.u is None else check_real_array("u", self.u)
        if u.ndim != 2 or u.shape[0] != n:
            raise ValueError(f"`u` must have shape (n, n_in) = ({n}, *) to match `w`; got shape {u.shape}.")
        b = np.zeros(n) if self.b is None else check_real_array("b", self.b)
        if b.shape != (n,):
            raise ValueError(f"`b` must have shape (n,) = ({n},) to match `w`; got shape {b.shape}.")
        for f, a in (("w", w), ("u", u), ("b", b)):
            object.__setattr__(self, f, _frozen_array(a))
        tau_m = check_real("tau_m", self.tau_m, unit="s") if not (isinstance(self.tau_m, float) and
                                                                  math.isinf(self.tau_m)) else math.inf
        if not tau_m > 0:
            raise ValueError(f"`tau_m` must be > 0 (or inf for no leak) [s]; got {self.tau_m}.")
        object.__setattr__(self, "tau_m", float(tau_m))
        object.__setattr__(self, "tau_s", check_positive("tau_s", self.tau_s, unit="s", allow_zero=True))
        if math.isinf(self.tau_m) and self.tau_s > 0:
            raise ValueError("`tau_m` = inf (no leak) needs delta synapses (tau_s = 0): a current synapse into a "
                             "membrane without leak has no finite propagator.")
        object.__setattr__(self, "tau_out", check_positive("tau_out", self.tau_out, unit="s"))
        for f in ("v_rest", "v_th", "v_reset"):
            object.__setattr__(self, f, check_real(f, getattr(self, f), unit="mV"))
        if not self.v_reset < self.v_th:
            raise ValueError(f"`v_reset` must be below `v_th`; got v_reset={self.v_reset}, v_th={self.v_th} mV.")
        object.__setattr__(self, "t_ref", check_positive("t_ref", self.t_ref, unit="s", allow_zero=True))
        check_choice("reset", self.reset, RESETS)
        if not isinstance(self.detach_reset, bool):
            raise TypeError(f"`detach_reset` must be True or False; got {describe(self.detach_reset)}.")
        object.__setattr__(self, "surrogate", FastSigmoid() if self.surrogate is None
                           else get_surrogate(self.surrogate))
        if not isinstance(self.smooth, bool):
            raise TypeError(f"`smooth` must be True or False; got {describe(self.smooth)}.")
        if self.smooth and self.t_ref > 0:
            raise ValueError("`smooth`=True needs t_ref = 0: a refractory clamp is triggered by discrete spikes.")
        trainable = (self.trainable,) if isinstance(self.trainable, str) else tuple(self.trainable)
        for t in trainable:
            check_choice("trainable", t, SpikingParams.names())
        object.__setattr__(self, "trainable", trainable)

    # --- protocol -------------------------------------------------------------------------

    @property
    def n(self) -> int:
        return self.w.shape[0]

    @property
    def n_in(self) -> int:
        return self.u.shape[1]

    @property
    def n_state(self) -> int:
        return 4 * self.n

    @property
    def params(self) -> SpikingParams:
        return SpikingParams(w=self.w, u=self.u, b=self.b)

    @property
    def param_rows(self) -> dict[str, int]:
        """w acts on the ``I`` rows (the ``v'`` rows for delta synapses), u and b on ``v'``."""
        return {"w": self.n if self.tau_s > 0 else 0, "u": 0, "b": 0}

    def with_params(self, params=None, /, **changes):
        values = {} if params is None else params.as_dict()
        values.update(changes)
        return dataclasses.replace(self, **values)

    def to_dict(self, *, arrays: bool = True) -> dict:
        d = {"model": self.kind_name, "surrogate": self.surrogate.to_dict(), "trainable": list(self.trainable),
             **{f: getattr(self, f) for f in ("tau_m", "tau_s", "tau_out", "v_rest", "v_th", "v_reset", "t_ref",
                                              "reset", "detach_reset")}}
        if math.isinf(d["tau_m"]):
            d["tau_m"] = "inf"
        if arrays:
            d.update({k: v.tolist() for k, v in self.params.as_dict().items()})
        return d

    def _constants(self, dt):
        beta = 0.0 if self.tau_m == 0 else math.exp(-dt / self.tau_m)
        if self.tau_s > 0:
            alpha = math.exp(-dt / self.tau_s)
            if abs(self.tau_s - self.tau_m) > 1e-12 * self.tau_m:
                p = self.tau_s / (self.tau_s - self.tau_m) * (alpha - beta)
            else:  # tau_s = tau_m: the limit
                p = dt / self.tau_m * beta
        else:
            alpha, p = 0.0, 0.0
        kappa = math.exp(-dt / self.tau_out)
        n_ref = int(round(self.t_ref / dt))
        return beta, alpha, p, kappa, n_ref

    def initial_state(self, v0: npt.ArrayLike | None = None) -> np.ndarray:
        """The state ``(v', I, z, c)`` with ``v' = v0`` (default ``v_rest``) and the rest 0."""
        s = np.zeros(self.n_state)
        s[:self.n] = self.v_rest if v0 is None else np.broadcast_to(np.asarray(v0, float), (self.n,))
        return s

    def _split(self, s):
        n = self.n
        return s[..., :n], s[..., n:2 * n], s[..., 2 * n:3 * n], s[..., 3 * n:]

    def spikes(self, state) -> np.ndarray:
        """``s_t = H(v'_t - v_th)`` of a state (0/1 floats; ``sigma(v'_t - v_th)`` when smooth)."""
        return self._spikes(self._split(np.asarray(state, float))[0])

    def _spikes(self, vp):
        if self.smooth:
            return np.asarray(self.surrogate.value(vp - self.v_th), dtype=float)
        return (vp >= self.v_th).astype(float)

    def step(self, state, x, dt, method="exact"):
        """One step of the network (``method`` is ignored: the step is exact)."""
        s = np.asarray(state, dtype=float)
        x = np.asarray(x, dtype=float)
        beta, alpha, p, kappa, n_ref = self._constants(dt)
        vp, I, z, c = self._split(s)
        spk = self._spikes(vp)
        v = vp - spk * (vp - self.v_reset) if self.reset == "to" else vp - (self.v_th - self.v_reset) * spk
        c1 = np.where(spk >= 1.0, float(n_ref), c)
        clamped = c1 > 0
        rec = spk @ self.w.T
        free = self.v_rest + beta * (v - self.v_rest) + p * I + x @ self.u.T + self.b
        if self.tau_s == 0:
            free = free + rec
        vn = np.where(clamped, v, free)
        In = alpha * I + rec if self.tau_s > 0 else I
        zn = kappa * z + spk
        cn = np.where(clamped, c1 - 1.0, 0.0)
        return np.concatenate([vn, In, zn, cn], axis=-1)

    def output(self, state) -> np.ndarray:
        """The readout rate ``z / tau_out`` [Hz]."""
        return self._split(np.asarray(state, float))[2] / self.tau_out

    def step_jacobians(self, state, x, dt, method="exact"):
        """``(A, B)``: ``A = dPhi/dstate`` (4n, 4n) with the surrogate in place of dH/dv, and ``B``
        in compact form (``w``: ``C[i, k] = s_k`` on the rows of ``param_rows["w"]``; ``u``:
        ``x_k``, ``b``: 1 on the ``v'`` row of unit i, for free neurons)."""
        s = np.asarray(state, dtype=float)
        x = np.asarray(x, dtype=float)
        n = self.n
        beta, alpha, p, kappa, n_ref = self._constants(dt)
        vp, I, z, c = self._split(s)
        spk = self._spikes(vp)
        sg = np.asarray(self.surrogate.derivative(vp - self.v_th), dtype=float)  # ds/dv'
        c1 = np.where(spk >= 1.0, float(n_ref), c)
        free = (c1 <= 0).astype(float)
        # dv/dv' of the reset
        if self.reset == "to":
            dv = (1.0 - spk) - (0.0 if self.detach_reset else (vp - self.v_reset) * sg)
        else:
            dv = 1.0 - (0.0 if self.detach_reset else (self.v_th - self.v_reset) * sg)
        A = np.zeros((4 * n, 4 * n))
        k = np.arange(n)
        # v' rows: clamped -> v, free -> beta v + p I (+ W s for delta)
        A[k, k] = np.where(free > 0, beta, 1.0) * dv
        if self.tau_s > 0:
            A[k, n + k] = free * p
            A[n:2 * n, :n] = self.w * sg[None, :]
            A[n + k, n + k] = alpha
        else:
            A[:n, :n] += free[:, None] * self.w * sg[None, :]
        A[2 * n + k, k] = sg
        A[2 * n + k, 2 * n + k] = kappa
        B = SpikingParams(w=np.broadcast_to(spk, (n, n)) * (1.0 if self.tau_s > 0 else free[:, None]),
                          u=free[:, None] * x[None, :], b=free)
        return A, B
