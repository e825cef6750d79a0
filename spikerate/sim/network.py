"""The network specification: populations, synaptic channels, projections and inputs.

Neurons are numbered population by population in the order declared (the first population's
neurons are 0 .. n-1, and so on); Datasets keep that numbering and label each neuron with its
population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import describe, suggest
from .connectivity import FromMatrix, Projection
from .inputs import INPUTS, Current, Input, Noise, PoissonInput, TimedCurrent
from .params import Channel, Population


@dataclass(frozen=True, kw_only=True, eq=False)
class Network:
    populations: tuple[Population, ...]
    channels: tuple[Channel, ...] = ()
    projections: tuple[Projection, ...] = ()
    inputs: tuple[Input, ...] = ()

    def __post_init__(self):
        for field, cls in (("populations", Population), ("channels", Channel), ("projections", Projection)):
            items = getattr(self, field)
            if isinstance(items, cls):
                items = (items,)
            items = tuple(items)
            for x in items:
                if not isinstance(x, cls):
                    raise TypeError(f"`{field}` must hold {cls.__name__} objects; got {describe(x)}.")
            object.__setattr__(self, field, items)
        inputs = self.inputs
        inputs = (inputs,) if isinstance(inputs, (Current, TimedCurrent, Noise, PoissonInput)) else tuple(inputs)
        for x in inputs:
            if not isinstance(x, (Current, TimedCurrent, Noise, PoissonInput)):
                raise TypeError(f"`inputs` must hold Current, TimedCurrent, Noise or PoissonInput objects; "
                                f"got {describe(x)}.")
        object.__setattr__(self, "inputs", inputs)
        if not self.populations:
            raise ValueError("`populations` must hold at least one Population; got none.")
        _unique([p.name for p in self.populations], "population")
        _unique([c.name for c in self.channels], "channel")
        pops = self.population_names
        chans = [c.name for c in self.channels]
        for pr in self.projections:
            for name in pr.pre + pr.post:
                _known(name, pops, "population", f"projection {pr.label}")
            _known(pr.channel, chans, "channel", f"projection {pr.label}")
            if isinstance(pr.rule, FromMatrix):
                want = (self.size_of(pr.post), self.size_of(pr.pre))
                if pr.rule.shape != want:
                    raise ValueError(f"`matrix` of projection {pr.label} must have shape (n_post, n_pre) = {want}; "
                                     f"got {pr.rule.shape}.")
        for inp in self.inputs:
            for name in inp.target:
                _known(name, pops, "population", f"input {type(inp).__name__}")
            if isinstance(inp, PoissonInput):
                _known(inp.channel, chans, "channel", "input PoissonInput")
            if isinstance(inp, Current) and np.ndim(inp.amplitude):
                if np.size(inp.amplitude) != self.size_of(inp.target):
                    raise ValueError(f"`amplitude` of Current on {list(inp.target)} has length {np.size(inp.amplitude)};"
                                     f" expected one value per target neuron ({self.size_of(inp.target)}).")

    # -- numbering ----------------------------------------------------------------------
    @property
    def population_names(self) -> list[str]:
        return [p.name for p in self.populations]

    @property
    def n_neurons(self) -> int:
        return sum(p.n for p in self.populations)

    @property
    def offsets(self) -> dict[str, int]:
        out, k = {}, 0
        for p in self.populations:
            out[p.name] = k
            k += p.n
        return out

    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise ValueError(f"the network has no population named {name!r}." + suggest(name, self.population_names))

    def size_of(self, names) -> int:
        return sum(self.population(n).n for n in names)

    def indices(self, names) -> np.ndarray:
        """Global neuron indices of the named populations, in the order given."""
        off = self.offsets
        return np.concatenate([np.arange(off[n], off[n] + self.population(n).n) for n in names]) if names \
            else np.empty(0, np.int64)

    def population_labels(self) -> np.ndarray:
        return np.repeat(np.array(self.population_names, dtype=object), [p.n for p in self.populations]).astype(str)

    def channel(self, name: str) -> Channel:
        for c in self.channels:
            if c.name == name:
                return c
        raise ValueError(f"the network has no channel named {name!r}." + suggest(name, [c.name for c in self.channels]))

    def to_dict(self) -> dict:
        return {"populations": [p.to_dict() for p in self.populations],
                "channels": [c.to_dict() for c in self.channels],
                "projections": [p.to_dict() for p in self.projections],
                "inputs": [i.to_dict() for i in self.inputs]}

    @classmethod
    def from_dict(cls, d: dict) -> "Network":
        """Build from a JSON/TOML-style dict (the inverse of :meth:`to_dict` except for arrays
        given through files and callables)."""
        allowed = ("populations", "channels", "projections", "inputs")
        for key in d:
            if key not in allowed:
                raise ValueError(f"`{key}` is not a network section." + suggest(key, allowed))
        inputs = []
        for x in d.get("inputs", ()):
            x = dict(x)
            kind = x.pop("input", None)
            if kind not in INPUTS:
                raise ValueError(f"`input` must be one of {list(INPUTS)}; got {kind!r}." + suggest(str(kind), INPUTS))
            inputs.append(INPUTS[kind](**x))
        return cls(populations=[Population.from_dict(p) for p in d.get("populations", ())],
                   channels=[Channel.from_dict(c) for c in d.get("channels", ())],
                   projections=[Projection.from_dict(p) for p in d.get("projections", ())],
                   inputs=inputs)


def _unique(names, what):
    seen = set()
    for n in names:
        if n in seen:
            raise ValueError(f"{what} names must be unique; {n!r} appears twice.")
        seen.add(n)


def _known(name, valid, what, where):
    if name not in valid:
        raise ValueError(f"{where} names {what} {name!r}, which the network does not have." + suggest(name, valid))
