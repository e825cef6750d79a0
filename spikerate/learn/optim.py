"""First-order optimizers as pure functions of (parameters, gradients, state).

Parameters and gradients are dicts ``name -> np.ndarray`` (float64, any shapes, the same names
and shapes in both).  An optimizer is a frozen dataclass holding only hyperparameters; the
mutable part lives in an explicit ``state`` dict::

    opt = Adam(lr=1e-2)
    state = opt.init(params)
    for _ in range(n_steps):
        grads = gradient(params)
        params, state = opt.step(params, grads, state)

``step`` never modifies its inputs: it returns new parameter arrays and a new state.

========================  ===================================================================
class (registry name)     update (``g`` after optional clipping, ``t`` = step number from 1)
========================  ===================================================================
``SGD`` (sgd)             ``v = momentum v + g``; ``p -= lr v``
                          (Nesterov: ``p -= lr (g + momentum v)``; ``momentum = 0``: ``p -= lr g``)
``Adam`` (adam)           ``m = b1 m + (1 - b1) g``; ``s = b2 s + (1 - b2) g^2``;
                          ``p -= lr m_hat / (sqrt(s_hat) + eps)`` with
                          ``m_hat = m / (1 - b1^t)``, ``s_hat = s / (1 - b2^t)``
========================  ===================================================================

With ``clip_norm`` set, the gradients are first rescaled together by ``clip_norm / norm``
whenever their global L2 norm (all arrays taken as one vector, :func:`global_norm`) exceeds
``clip_norm`` (Pascanu et al. 2013).  :func:`get_optimizer` builds an optimizer from a name or
from the dict of a scenario file (the output of ``to_dict()``).

References
----------
Kingma & Ba (2015) Adam: a method for stochastic optimization. ICLR, arXiv:1412.6980.
Sutskever, Martens, Dahl & Hinton (2013) On the importance of initialization and momentum in
deep learning. ICML.
Pascanu, Mikolov & Bengio (2013) On the difficulty of training recurrent neural networks. ICML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from .._validation import check_positive, check_real, check_real_array, describe, from_registry, suggest

__all__ = ["Optimizer", "SGD", "Adam", "OPTIMIZERS", "get_optimizer", "global_norm", "clip_by_global_norm"]

Arrays = dict[str, np.ndarray]


# ------------------------------------------------------------------------------- checks


def _check_arrays(name: str, arrays) -> Arrays:
    """A non-empty dict ``str -> finite float64 array`` (a new dict; arrays are not copied)."""
    if not isinstance(arrays, Mapping):
        raise TypeError(f"`{name}` must be a dict mapping parameter names to arrays; got {describe(arrays)}.")
    if not arrays:
        raise ValueError(f"`{name}` must contain at least one array; got an empty dict.")
    out = {}
    for key, value in arrays.items():
        if not isinstance(key, str):
            raise TypeError(f"`{name}` keys must be parameter names (str); got key {describe(key)}.")
        out[key] = check_real_array(f"{name}[{key!r}]", value)
    return out


def _check_like(name: str, arrays, params: Arrays, ref: str = "params") -> Arrays:
    """``arrays`` with exactly the names and shapes of ``params``."""
    arrays = _check_arrays(name, arrays)
    missing = [k for k in params if k not in arrays]
    extra = [k for k in arrays if k not in params]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if extra:
            parts.append(f"unknown {extra}")
        hint = suggest(extra[0], missing) if missing and extra else ""
        raise ValueError(f"`{name}` must have the same names as `{ref}` ({list(params)}); "
                         + "; ".join(parts) + "." + hint)
    for key, p in params.items():
        if arrays[key].shape != p.shape:
            raise ValueError(f"`{name}[{key!r}]` must have the shape of `{ref}[{key!r}]`, {p.shape}; "
                             f"got shape {arrays[key].shape}.")
    return arrays


def _global_norm(arrays: Arrays) -> float:
    # scaled by the largest magnitude, so squares neither overflow nor underflow
    scale = max((float(np.max(np.abs(a))) if a.size else 0.0) for a in arrays.values())
    if scale == 0.0:
        return 0.0
    return scale * math.sqrt(sum(float(np.sum(np.square(a / scale))) for a in arrays.values()))


# ------------------------------------------------------------------------------- norms


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """The L2 norm of all arrays of ``grads`` taken together as one vector.

    Parameters
    ----------
    grads : dict of str to array_like
        Gradients (or any arrays), finite.

    Returns
    -------
    float
        ``sqrt(sum_name sum(grads[name]**2))`` (computed without overflow).

    Examples
    --------
    >>> global_norm({"a": [3.0], "b": [[4.0]]})
    5.0
    """
    return _global_norm(_check_arrays("grads", grads))


def clip_by_global_norm(grads: Mapping[str, np.ndarray], max_norm: float) -> tuple[Arrays, float]:
    """Rescale all gradients together so that their global norm is at most ``max_norm``.

    Parameters
    ----------
    grads : dict of str to array_like
        Gradients, finite.
    max_norm : float
        Largest allowed global L2 norm (> 0).

    Returns
    -------
    clipped : dict of str to np.ndarray
        A new dict: ``grads * max_norm / norm`` if ``norm > max_norm``, else the float64 input
        arrays themselves (never modified).
    norm : float
        The global norm of ``grads`` before clipping.

    Examples
    --------
    >>> clipped, norm = clip_by_global_norm({"a": [3.0, 4.0]}, 1.0)
    >>> norm, clipped["a"].tolist()
    (5.0, [0.6000000000000001, 0.8])
    """
    max_norm = check_positive("max_norm", max_norm)
    grads = _check_arrays("grads", grads)
    return _clip(grads, max_norm)


def _clip(grads: Arrays, max_norm: float) -> tuple[Arrays, float]:
    norm = _global_norm(grads)
    if norm <= max_norm:
        return dict(grads), norm
    scale = max_norm / norm
    return {k: g * scale for k, g in grads.items()}, norm


# ------------------------------------------------------------------------------- optimizers


@dataclass(frozen=True, kw_only=True)
class Optimizer:
    """Base class of the optimizers: hyperparameters ``lr`` and ``clip_norm``, and the pure
    ``init`` / ``step`` protocol.

    Subclasses set ``name``, validate their own fields in ``__post_init__`` (calling the base
    one), and implement ``_init(params)`` and ``_update(params, grads, state, t)``.

    Parameters
    ----------
    lr : float
        Learning rate (> 0).
    clip_norm : float or None
        If set (> 0), gradients whose global L2 norm exceeds it are scaled by
        ``clip_norm / norm`` before the update.
    """
    name: ClassVar[str] = "optimizer"
    lr: float
    clip_norm: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "lr", check_positive("lr", self.lr))
        if self.clip_norm is not None:
            object.__setattr__(self, "clip_norm", check_positive("clip_norm", self.clip_norm))

    # -- public protocol

    def init(self, params: Mapping[str, np.ndarray]) -> dict:
        """The initial state for ``params``.

        Parameters
        ----------
        params : dict of str to array_like
            The parameters to optimise.

        Returns
        -------
        dict
            ``{"step": 0, ...}`` plus, per optimizer, dicts of zero arrays shaped like ``params``
            (e.g. ``"velocity"`` for SGD with momentum, ``"m"`` and ``"v"`` for Adam).
        """
        params = _check_arrays("params", params)
        return {"step": 0, **self._init(params)}

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
             state: Mapping) -> tuple[Arrays, dict]:
        """One update; the inputs are left unchanged.

        Parameters
        ----------
        params : dict of str to array_like
            Current parameters.
        grads : dict of str to array_like
            Gradients of the loss with respect to ``params``: the same names and shapes.
        state : dict
            The state returned by :meth:`init` or by the previous :meth:`step`.

        Returns
        -------
        new_params : dict of str to np.ndarray
            Updated parameters (new float64 arrays).
        new_state : dict
            Updated state (new arrays; ``"step"`` incremented).

        Raises
        ------
        ValueError
            ``grads`` or ``state`` do not match ``params`` (names or shapes), non-finite values.
        TypeError
            Arguments that are not dicts of arrays.
        """
        params = _check_arrays("params", params)
        grads = _check_like("grads", grads, params)
        state = self._check_state(state, params)
        if self.clip_norm is not None:
            grads, _ = _clip(grads, self.clip_norm)
        t = state["step"] + 1
        new_params, new_state = self._update(params, grads, state, t)
        return new_params, {"step": t, **new_state}

    def to_dict(self) -> dict:
        """``{"name": ..., <hyperparameters>}``: JSON-safe, accepted by :func:`get_optimizer`."""
        return {"name": self.name, **{f.name: getattr(self, f.name) for f in fields(self)}}

    # -- for subclasses

    #: names of the state entries that are dicts of arrays shaped like the parameters
    _slots: ClassVar[tuple[str, ...]] = ()

    def _init(self, params: Arrays) -> dict:
        return {s: {k: np.zeros_like(p) for k, p in params.items()} for s in self._active_slots()}

    def _active_slots(self) -> tuple[str, ...]:
        return self._slots

    def _update(self, params: Arrays, grads: Arrays, state: dict, t: int) -> tuple[Arrays, dict]:
        raise NotImplementedError(f"{type(self).__name__} must implement `_update`; use SGD or Adam.")

    def _check_state(self, state, params: Arrays) -> dict:
        how = f"pass the state returned by {type(self).__name__}.init(params) or by the previous step"
        if not isinstance(state, Mapping):
            raise TypeError(f"`state` must be a dict; got {describe(state)}; {how}.")
        out = {}
        for key in ("step", *self._active_slots()):
            if key not in state:
                raise ValueError(f"`state` has no {key!r} entry (keys: {sorted(state)}); {how}.")
        step = state["step"]
        if isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"`state['step']` must be an integer >= 0; got {describe(step)}; {how}.")
        out["step"] = int(step)
        for key in self._active_slots():
            out[key] = _check_like(f"state[{key!r}]", state[key], params)
        return out


@dataclass(frozen=True, kw_only=True)
class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    ``v = momentum v + g; p -= lr v``, or with ``nesterov=True`` ``p -= lr (g + momentum v)``
    (``v`` after its update, as in PyTorch); with ``momentum = 0`` this is ``p -= lr g`` and
    the state holds only the step counter.

    Parameters
    ----------
    lr : float
        Learning rate (> 0).
    momentum : float
        Momentum coefficient in [0, 1).
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0``).
    clip_norm : float or None
        Global-norm gradient clipping threshold (> 0), or None for no clipping.

    Examples
    --------
    >>> opt = SGD(lr=0.1)
    >>> p, s = opt.step({"w": np.array([1.0])}, {"w": np.array([2.0])}, opt.init({"w": np.array([1.0])}))
    >>> p["w"].tolist(), s["step"]
    ([0.8], 1)
    """
    name: ClassVar[str] = "sgd"
    _slots: ClassVar[tuple[str, ...]] = ("velocity",)
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self):
        super().__post_init__()
        m = check_real("momentum", self.momentum)
        if not 0.0 <= m < 1.0:
            raise ValueError(f"`momentum` must be in [0, 1); got {m}. Use 0 for plain SGD, e.g. 0.9 for momentum.")
        object.__setattr__(self, "momentum", m)
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise TypeError(f"`nesterov` must be True or False; got {describe(self.nesterov)}.")
        object.__setattr__(self, "nesterov", bool(self.nesterov))
        if self.nesterov and m == 0.0:
            raise ValueError("`nesterov=True` needs `momentum` > 0; got momentum=0.0. "
                             "Set e.g. `momentum=0.9`, or `nesterov=False`.")

    def _active_slots(self) -> tuple[str, ...]:
        return self._slots if self.momentum > 0.0 else ()

    def _update(self, params, grads, state, t):
        if self.momentum == 0.0:
            return {k: p - self.lr * grads[k] for k, p in params.items()}, {}
        mu, lr = self.momentum, self.lr
        velocity = {k: mu * state["velocity"][k] + grads[k] for k in params}
        if self.nesterov:
            new = {k: p - lr * (grads[k] + mu * velocity[k]) for k, p in params.items()}
        else:
            new = {k: p - lr * velocity[k] for k, p in params.items()}
        return new, {"velocity": velocity}


@dataclass(frozen=True, kw_only=True)
class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias-corrected moment estimates.

    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2``,
    ``p -= lr m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - beta1^t)``,
    ``v_hat = v / (1 - beta2^t)``.  The first step moves every parameter with a non-zero
    gradient by about ``lr`` against the sign of its gradient.

    Parameters
    ----------
    lr : float
        Learning rate (step size, > 0).
    beta1, beta2 : float
        Decay rates of the first- and second-moment estimates, in [0, 1).
    eps : float
        Added to ``sqrt(v_hat)`` for numerical stability (> 0).
    clip_norm : float or None
        Global-norm gradient clipping threshold (> 0), or None for no clipping.

    Examples
    --------
    >>> opt = Adam(lr=0.01)
    >>> p, _ = opt.step({"w": np.array([1.0])}, {"w": np.array([-3.0])}, opt.init({"w": np.array([1.0])}))
    >>> round(float(p["w"][0]), 6)
    1.01
    """
    name: ClassVar[str] = "adam"
    _slots: ClassVar[tuple[str, ...]] = ("m", "v")
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        super().__post_init__()
        for key in ("beta1", "beta2"):
            b = check_real(key, getattr(self, key))
            if not 0.0 <= b < 1.0:
                raise ValueError(f"`{key}` must be in [0, 1); got {b}. The usual values are beta1=0.9, beta2=0.999.")
            object.__setattr__(self, key, b)
        object.__setattr__(self, "eps", check_positive("eps", self.eps))

    def _update(self, params, grads, state, t):
        b1, b2 = self.beta1, self.beta2
        m = {k: b1 * state["m"][k] + (1.0 - b1) * grads[k] for k in params}
        v = {k: b2 * state["v"][k] + (1.0 - b2) * np.square(grads[k]) for k in params}
        c1, c2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        new = {k: p - self.lr * (m[k] / c1) / (np.sqrt(v[k] / c2) + self.eps) for k, p in params.items()}
        return new, {"m": m, "v": v}


# ------------------------------------------------------------------------------- registry


#: name -> class
OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}


def get_optimizer(spec: str | dict | Optimizer, /, **params) -> Optimizer:
    """An optimizer from a name, a dict or an object.

    Parameters
    ----------
    spec : str, dict or Optimizer
        A registry name (``"sgd"``, ``"adam"``); a dict ``{"name": ..., <hyperparameters>}`` as
        in a scenario file (the output of ``to_dict()``); or an :class:`Optimizer`, returned
        unchanged.
    **params
        Hyperparameters of the named optimizer, e.g. ``get_optimizer("adam", lr=0.01)``; unknown
        ones raise ``ValueError`` naming the nearest valid one.

    Returns
    -------
    Optimizer

    Raises
    ------
    ValueError
        Unknown name (with a suggestion) or hyperparameter, or invalid values.
    TypeError
        ``spec`` of another type, a missing required hyperparameter (``lr`` of SGD), or
        hyperparameters given with an object.

    Examples
    --------
    >>> get_optimizer("adam")
    Adam(lr=0.001, clip_norm=None, beta1=0.9, beta2=0.999, eps=1e-08)
    >>> get_optimizer({"name": "sgd", "lr": 0.1, "momentum": 0.9}).to_dict()["momentum"]
    0.9
    """
    return from_registry("optimizer", OPTIMIZERS, spec, params, object_desc="an Optimizer",
                         is_object=lambda o: isinstance(o, Optimizer), lower=True, check=_needs_lr)


def _needs_lr(name, params):
    if "lr" not in params and OPTIMIZERS[name] is SGD:
        raise TypeError("the 'sgd' optimizer needs a learning rate: pass `lr`, e.g. get_optimizer('sgd', lr=0.01).")

