"""Random distributions for weights and initial potentials.

Each is a frozen value with ``sample(rng, n)``; they serialise with ``to_dict`` so scenario
files can name them: ``{dist = "uniform", low = -60.0, high = -50.0}``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .._validation import check_choice, check_positive, check_real, suggest


@dataclass(frozen=True, kw_only=True, slots=True)
class Uniform:
    """Uniform on [low, high)."""
    low: float
    high: float

    def __post_init__(self):
        check_real("low", self.low)
        check_real("high", self.high)
        if not self.high > self.low:
            raise ValueError(f"`high` must be > `low`; got low={self.low}, high={self.high}.")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)

    @property
    def mean(self) -> float:
        return 0.5 * (self.low + self.high)


@dataclass(frozen=True, kw_only=True, slots=True)
class Normal:
    """Gaussian with mean and standard deviation."""
    mean: float
    std: float

    def __post_init__(self):
        check_real("mean", self.mean)
        check_positive("std", self.std, allow_zero=True)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.normal(self.mean, self.std, n)


@dataclass(frozen=True, kw_only=True, slots=True)
class LogNormal:
    """Log-normal with the given mean and standard deviation *of the value itself*; a negative
    ``mean`` draws ``-X`` with ``X`` log-normal of mean ``|mean|`` (inhibitory weights keep
    their sign)."""
    mean: float
    std: float

    def __post_init__(self):
        check_real("mean", self.mean)
        if self.mean == 0:
            raise ValueError("`mean` of LogNormal must be nonzero; got 0.0.")
        check_positive("std", self.std)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        m = abs(self.mean)
        s2 = np.log1p((self.std / m) ** 2)
        return np.sign(self.mean) * rng.lognormal(np.log(m) - s2 / 2, np.sqrt(s2), n)


DISTRIBUTIONS = {"uniform": Uniform, "normal": Normal, "lognormal": LogNormal}
Distribution = Uniform | Normal | LogNormal


def dist_to_dict(d: Distribution) -> dict:
    name = {v: k for k, v in DISTRIBUTIONS.items()}[type(d)]
    return {"dist": name, **asdict(d)}


def dist_from_dict(d: dict, *, name: str = "value") -> Distribution:
    d = dict(d)
    kind = d.pop("dist", None)
    check_choice(f"{name}.dist", kind, DISTRIBUTIONS)
    cls = DISTRIBUTIONS[kind]
    fields = cls.__dataclass_fields__
    for key in d:
        if key not in fields:
            raise ValueError(f"`{name}.{key}` is not a parameter of {cls.__name__}." + suggest(key, fields))
    return cls(**d)


def is_distribution(x) -> bool:
    return isinstance(x, (Uniform, Normal, LogNormal))
