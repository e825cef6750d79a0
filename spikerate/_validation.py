"""Argument checks shared by every public function.

Messages follow one pattern: "`arg` must be <expectation>; got <value> (<type/shape>). <fix>."
Only the API layer calls these; kernels assume their inputs are valid.
"""

from __future__ import annotations

import difflib
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import fields

import numpy as np


def describe(value) -> str:
    """Short description of a value for error messages: the value and its type or shape."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"{type(value).__name__} of length {len(value)}"
    return f"{value!r} ({type(value).__name__})"


def suggest(name: str, valid: Iterable[str]) -> str:
    """' Did you mean `x`?' for the nearest valid name, or a list of the valid names."""
    valid = list(valid)
    close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.5)
    if close:
        return f" Did you mean `{close[0]}`?"
    return " Valid: " + ", ".join(f"`{v}`" for v in valid) + "." if valid else ""


def from_registry(what: str, registry: Mapping[str, type], spec, params: dict, *, is_object, object_desc: str,
                  example: str = "", lower: bool = False, check=None):
    """What a ``get_<what>(spec, **params)`` returns (transfers, surrogates, optimizers): an
    object (``is_object(spec)``) unchanged; a registry name built with ``params`` (each checked
    against the class's fields, then by ``check(name, params)``); or a dict ``{"name": ...,
    <params>}`` as in a scenario file (the objects' ``to_dict()``)."""
    article = "an" if what[0] in "aeiou" else "a"
    if is_object(spec):
        if params:
            raise TypeError(f"parameters {sorted(params)} cannot be applied to {article} {what} object; "
                            f"use dataclasses.replace(obj, ...) instead.")
        return spec
    if isinstance(spec, Mapping):
        d = dict(spec)
        if "name" not in d:
            raise ValueError(f"{article} {what} dict needs a `name` key; got keys {sorted(d)}{example}." + suggest("", registry))
        name = d.pop("name")
        overlap = set(d) & set(params)
        if overlap:
            raise ValueError(f"parameters {sorted(overlap)} given both in the dict and as keywords; give each once.")
        return from_registry(what, registry, name, {**d, **params}, is_object=is_object, object_desc=object_desc,
                             example=example, lower=lower, check=check)
    if isinstance(spec, str):
        key = spec.lower() if lower else spec
        if key not in registry:
            raise ValueError(f"`{what}` must be one of {sorted(registry)}; got {spec!r}." + suggest(key, registry))
        cls = registry[key]
        valid = [f.name for f in fields(cls)]
        for k in params:
            if k not in valid:
                raise ValueError(f"`{k}` is not a parameter of the {key!r} {what} (valid: {valid})." + suggest(k, valid))
        if check is not None:
            check(key, params)
        return cls(**params)
    raise TypeError(f"`{what}` must be a name ({sorted(registry)}), a dict or {object_desc}; got {describe(spec)}.")


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}; got {describe(value)}."
                         + (suggest(value, choices) if isinstance(value, str) else ""))
    return value


def check_real(name: str, value, *, unit: str = "") -> float:
    """A finite real scalar (bool is rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        else:
            raise TypeError(f"`{name}` must be a real number{_in(unit)}; got {describe(value)}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite{_in(unit)}; got {value}.")
    return value


def check_positive(name: str, value, *, unit: str = "", allow_zero: bool = False) -> float:
    value = check_real(name, value, unit=unit)
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be {bound}{_in(unit)}; got {value}.")
    return value


def check_probability(name: str, value) -> float:
    value = check_real(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"`{name}` must be a probability in [0, 1]; got {value}.")
    return value


def check_int(name: str, value, *, minimum: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be an integer; got {describe(value)}.")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"`{name}` must be an integer; got {describe(value)}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value}.")
    return value


def check_real_array(name: str, value, *, shape: tuple | None = None, unit: str = "",
                     positive: bool = False, allow_zero: bool = False) -> np.ndarray:
    """A finite float64 array, optionally of a given shape (None entries are free)."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be numeric{_in(unit)}; got {describe(value)}.") from None
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"`{name}` must have shape {want}; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr.ravel()))[0]
        raise ValueError(f"`{name}` must be finite{_in(unit)}; got {arr.ravel()[bad]} at flat index {bad}.")
    if positive:
        bad = arr <= 0 if not allow_zero else arr < 0
        if np.any(bad):
            i = np.flatnonzero(bad.ravel())[0]
            raise ValueError(f"`{name}` must be {'>= 0' if allow_zero else '> 0'}{_in(unit)}; "
                             f"got {arr.ravel()[i]} at flat index {i}.")
    return arr


#: a work estimate above this many elementary updates (a neuron step, a kernel sample, a bin
#: count) is refused unless the caller passes ``allow_long=True``: about 3 hours on one core at
#: ~1e9 updates/s, so only a slip (ms for s, a zero too many) meets it
MAX_WORK = 1e13


def check_allow_long(value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`allow_long` must be True or False; got {describe(value)}.")
    return bool(value)


def check_work(work: float, what: str, fix: str, *, allow_long: bool) -> None:
    """Refuse a computation of more than :data:`MAX_WORK` updates (``what`` says which, ``fix``
    how to make it smaller), unless ``allow_long``."""
    if allow_long or work <= MAX_WORK:  # (NaN, from inf x 0, is refused)
        return
    raise ValueError(f"{what} would take about {work:.2g} updates, roughly {work / 1e9 / 3600:.3g} hours at 1e9 "
                     f"updates/s (estimates above {MAX_WORK:.0e} are refused as a likely slip; times are in s). {fix}, "
                     f"or pass allow_long=True to run it anyway.")


def warn_if_ms(name: str, value: float, *, limit: float = 100.0) -> None:
    """Times are in seconds: a large value is probably milliseconds (brian2-style hint)."""
    if value > limit:
        warnings.warn(f"`{name}` = {value} s is over {limit:g} s; times are in seconds: did you pass ms? "
                      f"(use e.g. `{name}={value / 1000:g}`).", UserWarning, stacklevel=3)


def _in(unit: str) -> str:
    return f" (in {unit})" if unit else ""
