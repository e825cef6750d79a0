"""Connectivity rules and projections.

A :class:`Projection` connects the neurons of one or more presynaptic populations to those of
one or more postsynaptic populations through one synaptic channel, with one delay.  Rules:

* :class:`FixedProbability` ``(p)``: each pair independently with probability p (NEST's
  ``pairwise_bernoulli``, Brian2's ``connect(p=...)``).
* :class:`FixedInDegree` ``(k)``: each postsynaptic neuron gets exactly k inputs chosen
  uniformly (distinct unless ``multapses=True``).
* :class:`AllToAll`.
* :class:`FromMatrix` ``(w)``: a user matrix, dense or scipy.sparse, shape ``(n_post, n_pre)``;
  its nonzero entries are the synapses and their weights.

Weights are the jump of the channel's current per spike [mV] (see :mod:`spikerate.sim.params`):
a scalar, or a distribution drawn per synapse.  ``autapses=False`` removes i -> i synapses.
Connectivity is drawn when the network is built for a simulation, from the run's seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import (check_int, check_probability, check_real, check_real_array, describe,
                           suggest, warn_if_ms)
from .distributions import Distribution, dist_from_dict, dist_to_dict, is_distribution


@dataclass(frozen=True, kw_only=True, slots=True)
class FixedProbability:
    p: float

    def __post_init__(self):
        object.__setattr__(self, "p", check_probability("p", self.p))

    def expected_synapses(self, n_pre: int, n_post: int) -> float:
        return self.p * n_pre * n_post


@dataclass(frozen=True, kw_only=True, slots=True)
class FixedInDegree:
    k: int
    multapses: bool = False

    def __post_init__(self):
        object.__setattr__(self, "k", check_int("k", self.k, minimum=0))

    def expected_synapses(self, n_pre: int, n_post: int) -> float:
        return float(self.k * n_post)


@dataclass(frozen=True, kw_only=True, slots=True)
class AllToAll:
    def expected_synapses(self, n_pre: int, n_post: int) -> float:
        return float(n_pre * n_post)


@dataclass(frozen=True, eq=False)
class FromMatrix:
    """Synapses and weights from a matrix of shape ``(n_post, n_pre)`` (dense or sparse)."""
    matrix: object

    def __post_init__(self):
        m = self.matrix
        if _is_sparse(m):
            data = np.asarray(m.data, float)
            if not np.all(np.isfinite(data)):
                raise ValueError("`matrix` must be finite; it has NaN or inf entries.")
        else:
            m = check_real_array("matrix", m, shape=(None, None), unit="mV")
            m.setflags(write=False)
            object.__setattr__(self, "matrix", m)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.matrix.shape)

    def expected_synapses(self, n_pre: int, n_post: int) -> float:
        m = self.matrix
        return float(m.nnz if _is_sparse(m) else np.count_nonzero(m))


Rule = FixedProbability | FixedInDegree | AllToAll | FromMatrix
RULES = {"fixed_probability": FixedProbability, "fixed_indegree": FixedInDegree, "all_to_all": AllToAll}


def _is_sparse(m) -> bool:
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover - scipy is a dependency
        return False
    return sp.issparse(m)


def _names(x, what: str) -> tuple[str, ...]:
    if isinstance(x, str):
        return (x,)
    if isinstance(x, (list, tuple)) and x and all(isinstance(s, str) for s in x):
        return tuple(x)
    raise TypeError(f"`{what}` must be a population name or a list of names; got {describe(x)}.")


@dataclass(frozen=True, kw_only=True, eq=False)
class Projection:
    """Synapses from ``pre`` to ``post`` (population names) on ``channel``.

    ``weight``: scalar [mV] or a distribution (:class:`~spikerate.sim.distributions.Normal`, ...);
    must be omitted for :class:`FromMatrix`.  ``delay`` [s]: one per projection, a multiple of
    the simulation's ``dt`` and >= dt; ``None`` means one time step.
    """
    pre: str | tuple[str, ...]
    post: str | tuple[str, ...]
    channel: str
    rule: Rule
    weight: float | Distribution | None = None
    delay: float | None = None
    autapses: bool = True

    def __post_init__(self):
        object.__setattr__(self, "pre", _names(self.pre, "pre"))
        object.__setattr__(self, "post", _names(self.post, "post"))
        if not isinstance(self.channel, str):
            raise TypeError(f"`channel` must be a channel name; got {describe(self.channel)}.")
        if not isinstance(self.rule, (FixedProbability, FixedInDegree, AllToAll, FromMatrix)):
            raise TypeError(f"`rule` must be FixedProbability, FixedInDegree, AllToAll or FromMatrix; "
                            f"got {describe(self.rule)}.")
        if isinstance(self.rule, FromMatrix):
            if self.weight is not None:
                raise ValueError("`weight` must be omitted with FromMatrix: the weights are the matrix entries.")
        elif self.weight is None:
            object.__setattr__(self, "weight", 1.0)
        elif not is_distribution(self.weight):
            object.__setattr__(self, "weight", check_real("weight", self.weight, unit="mV"))
        if self.delay is not None:
            d = check_real("delay", self.delay, unit="s")
            if d <= 0:
                raise ValueError(f"`delay` must be > 0 s (at least one time step); got {d}.")
            warn_if_ms("delay", d, limit=10.0)
            object.__setattr__(self, "delay", d)
        if not isinstance(self.autapses, (bool, np.bool_)):
            raise TypeError(f"`autapses` must be True or False; got {describe(self.autapses)}.")

    @property
    def label(self) -> str:
        return f"{'+'.join(self.pre)}->{'+'.join(self.post)}:{self.channel}"

    def to_dict(self) -> dict:
        rule = self.rule
        if isinstance(rule, FromMatrix):
            rd = {"rule": "from_matrix", "shape": list(rule.shape)}
        else:
            name = {v: k for k, v in RULES.items()}[type(rule)]
            rd = {"rule": name, **{f: getattr(rule, f) for f in rule.__dataclass_fields__}}
        w = self.weight
        return {"pre": list(self.pre), "post": list(self.post), "channel": self.channel, **rd,
                "weight": dist_to_dict(w) if is_distribution(w) else w, "delay": self.delay,
                "autapses": bool(self.autapses)}

    @classmethod
    def from_dict(cls, d: dict) -> "Projection":
        d = dict(d)
        kind = d.pop("rule", None)
        if kind not in RULES:
            raise ValueError(f"`rule` must be one of {list(RULES)}; got {kind!r}." + suggest(str(kind), RULES))
        rcls = RULES[kind]
        rule_args = {k: d.pop(k) for k in list(d) if k in rcls.__dataclass_fields__}
        names = ("pre", "post", "channel", "weight", "delay", "autapses")
        for key in d:
            if key not in names:
                raise ValueError(f"`{key}` is not a projection parameter."
                                 + suggest(key, names + tuple(rcls.__dataclass_fields__)))
        if isinstance(d.get("weight"), dict):
            d["weight"] = dist_from_dict(d["weight"], name="weight")
        return cls(rule=rcls(**rule_args), **d)
