"""Surrogate gradients: derivative = d value / dv by finite differences, unit area, limits and the
Heaviside limit, the compiled functions against the numpy methods, validation and the registry."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import scipy.integrate

from spikerate.learn.surrogates import (SURROGATES, Arctan, Exponential, FastSigmoid, Gaussian, Sigmoid,
                                        StraightThrough, Surrogate, Triangle, get_surrogate, surrogate_derivative,
                                        surrogate_value)

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

FD_EPS = np.finfo(float).eps ** (1 / 3)
CLASSES = [FastSigmoid, Sigmoid, Arctan, Triangle, Gaussian, Exponential, StraightThrough]


def param_name(cls) -> str:
    (field,) = dataclasses.fields(cls)
    return field.name


def width(s: Surrogate) -> float:
    """The characteristic width in units of v (the parameter or its inverse)."""
    p = getattr(s, param_name(type(s)))
    if isinstance(s, Arctan):
        return 2.0 / (math.pi * p)
    return 1.0 / p if isinstance(s, (FastSigmoid, Sigmoid, Exponential)) else p


def with_width(cls, w: float) -> Surrogate:
    """The surrogate of class ``cls`` whose characteristic width is ``w``."""
    unit = width(cls(**{param_name(cls): 1.0}))  # width at parameter 1
    steep = cls in (FastSigmoid, Sigmoid, Exponential, Arctan)
    return cls(**{param_name(cls): unit / w if steep else w})


def kinks(s: Surrogate) -> list[float]:
    """Points where the derivative is not differentiable (or is discontinuous)."""
    w = getattr(s, "width", None)
    if isinstance(s, Triangle):
        return [-w, 0.0, w]
    if isinstance(s, StraightThrough):
        return [-w, w]
    return [0.0] if isinstance(s, Exponential) else []


CASES = [with_width(cls, w) for cls in CLASSES for w in (0.05, 0.4, 2.0)] + [cls() for cls in CLASSES]


@pytest.mark.parametrize("s", CASES, ids=repr)
def test_derivative_matches_finite_differences_of_value(s):
    w = width(s)
    v = w * (np.linspace(-8.0, 8.0, 321) + 0.0123)  # off round numbers, well into the tails
    for k in kinks(s):
        v = v[np.abs(v - k) > 1e-3 * w]
    h = FD_EPS * w
    fd = (s.value(v + h) - s.value(v - h)) / (2 * h)
    d = s.derivative(v)
    peak = float(s.derivative(0.0))
    # sigma(v) near 1 (v > 0) carries an absolute rounding error ~ eps/h in the difference
    np.testing.assert_allclose(d, fd, rtol=1e-7, atol=1e-9 * peak)
    # v < 0 is evaluated without cancellation: purely relative agreement, deep into the tail
    neg = v < 0
    np.testing.assert_allclose(d[neg], fd[neg], rtol=1e-7, atol=0.0)


@pytest.mark.parametrize("s", CASES, ids=repr)
def test_unit_area_limits_and_symmetry(s):
    w = width(s)
    f = lambda x: float(s.derivative(x))  # noqa: E731
    pieces = [(-np.inf, -w), (-w, 0.0), (0.0, w), (w, np.inf)]  # every kink is a breakpoint
    area = sum(scipy.integrate.quad(f, a, b, epsabs=1e-13, epsrel=1e-12, limit=200)[0] for a, b in pieces)
    assert abs(area - 1.0) < 1e-6
    assert s.value(-np.inf) == 0.0 and s.value(np.inf) == 1.0
    assert s.derivative(-np.inf) == 0.0 and s.derivative(np.inf) == 0.0
    assert s.value(0.0) == 0.5
    v = w * np.linspace(0.0, 10.0, 101) + 1e-3 * w
    np.testing.assert_allclose(s.value(-v) + s.value(v), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(s.derivative(-v), s.derivative(v))
    assert np.all(np.diff(s.value(np.linspace(-10 * w, 10 * w, 201))) >= 0.0)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_value_tends_to_heaviside_as_width_shrinks(cls):
    v = np.linspace(-5.0, 5.0, 1001)
    v = v[np.abs(v) > 0.1]
    heaviside = (v > 0).astype(float)
    errors = [np.max(np.abs(with_width(cls, w).value(v) - heaviside)) for w in (1.0, 1e-1, 1e-2, 1e-3, 1e-4)]
    assert all(b <= a for a, b in zip(errors, errors[1:]))
    assert errors[0] > 1e-3 and errors[-1] < 1e-3


@pytest.mark.parametrize("s", CASES, ids=repr)
def test_compiled_functions_equal_numpy_methods(s):
    w = width(s)
    v = np.concatenate([w * (np.linspace(-40.0, 40.0, 161) + 0.0071), np.array(kinks(s) + [-w, w]),
                        [0.0, -0.0, np.inf, -np.inf, 1e300, -1e300, 5e-324]])
    code, params = s.code, s.params()
    assert params.dtype == np.float64 and params.shape == (1,)
    d = np.array([surrogate_derivative(code, params, x) for x in v])
    val = np.array([surrogate_value(code, params, x) for x in v])
    np.testing.assert_allclose(d, s.derivative(v), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(val, s.value(v), rtol=1e-14, atol=1e-300)


def test_compiled_functions_reject_unknown_code():
    with pytest.raises(ValueError, match="unknown surrogate code"):
        surrogate_derivative(99, np.array([1.0]), 0.0)
    with pytest.raises(ValueError, match="unknown surrogate code"):
        surrogate_value(-1, np.array([1.0]), 0.0)


def test_codes_names_references_and_known_values():
    assert sorted(cls.code for cls in CLASSES) == list(range(len(CLASSES)))
    assert {SURROGATES[cls.name] for cls in CLASSES} == set(CLASSES)
    assert set(SURROGATES.values()) == set(CLASSES)
    for cls in CLASSES:
        assert isinstance(cls.reference, str) and any(str(y) in cls.reference for y in (2013, 2016, 2018, 2021))
    # peaks and a few closed-form values
    assert FastSigmoid(scale=10.0).derivative(0.0) == 5.0
    assert FastSigmoid(scale=10.0).derivative(0.1) == pytest.approx(5.0 / 4.0, rel=1e-15)
    assert Sigmoid(scale=4.0).derivative(0.0) == 1.0
    assert Arctan(alpha=2.0).derivative(0.0) == 1.0
    assert Arctan(alpha=2.0).value(1.0 / math.pi) == pytest.approx(0.75, rel=1e-15)
    assert Triangle(width=2.0).derivative([0.0, 1.0, 2.0, 3.0]).tolist() == [0.5, 0.25, 0.0, 0.0]
    assert Triangle(width=2.0).value([-2.0, -1.0, 1.0, 2.0]).tolist() == [0.0, 0.125, 0.875, 1.0]
    assert Gaussian(sigma=1.0).derivative(0.0) == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-15)
    assert Gaussian(sigma=2.0).value(2.0) == pytest.approx(0.8413447460685429, rel=1e-14)
    assert Exponential(scale=2.0).value(-1.0) == pytest.approx(0.5 * math.exp(-2.0), rel=1e-15)
    assert StraightThrough().derivative([-0.6, -0.4, 0.0, 0.5]).tolist() == [0.0, 1.0, 1.0, 0.0]
    assert StraightThrough().value([-1.0, 0.25, 1.0]).tolist() == [0.0, 0.75, 1.0]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_shapes_and_nan(cls):
    s = cls()
    v = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    assert s.derivative(v).shape == (2, 3) and s.value(v).shape == (2, 3)
    assert np.ndim(s.value(0.3)) == 0 and np.ndim(s.derivative(0.3)) == 0
    assert s.value(v.T).shape == (3, 2)  # non-contiguous input
    np.testing.assert_array_equal(s.value(v.T), s.value(np.ascontiguousarray(v.T)))
    assert s(v).shape == (2, 3)
    with pytest.raises(ValueError, match="`v` must not contain NaN"):
        s.derivative([0.0, np.nan])
    with pytest.raises(TypeError, match="`v` must be numeric"):
        s.value("abc")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_parameter_validation(cls):
    p = param_name(cls)
    for bad in (0.0, -1.0, np.inf):
        with pytest.raises(ValueError, match=rf"`{p}` must be .*got .*{p}="):
            cls(**{p: bad})
    for bad in ("1", True, None):
        with pytest.raises(TypeError, match=f"`{p}` must be a real number"):
            cls(**{p: bad})
    s = cls(**{p: 3})
    assert type(getattr(s, p)) is float and getattr(s, p) == 3.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(s, p, 1.0)
    with pytest.raises(TypeError):
        cls(3.0)  # keyword-only


def test_get_surrogate():
    assert get_surrogate("fast_sigmoid") == FastSigmoid()
    assert get_surrogate("superspike", scale=3.0) == FastSigmoid(scale=3.0)
    assert get_surrogate("atan") == Arctan() and get_surrogate("ste") == StraightThrough()
    assert get_surrogate({"name": "gaussian", "sigma": 0.25}) == Gaussian(sigma=0.25)
    assert get_surrogate({"name": "triangle"}, width=2.0) == Triangle(width=2.0)
    s = Exponential(scale=7.0)
    assert get_surrogate(s) is s
    with pytest.raises(ValueError, match="`surrogate` must be one of .*Did you mean `fast_sigmoid`"):
        get_surrogate("fastsigmoid")
    with pytest.raises(ValueError, match="`surrogate` must be one of .*Did you mean `gaussian`"):
        get_surrogate("gausian")
    with pytest.raises(ValueError, match="`scal` is not a parameter of the 'sigmoid' surrogate.*Did you mean `scale`"):
        get_surrogate("sigmoid", scal=2.0)
    with pytest.raises(ValueError, match="`alpha` must be > 0"):
        get_surrogate({"name": "arctan", "alpha": -2.0})
    with pytest.raises(ValueError, match="needs a `name` key"):
        get_surrogate({"scale": 2.0})
    with pytest.raises(ValueError, match=r"\['scale'\] given both"):
        get_surrogate({"name": "sigmoid", "scale": 2.0}, scale=3.0)
    with pytest.raises(TypeError, match="cannot be applied to a surrogate object"):
        get_surrogate(s, scale=1.0)
    with pytest.raises(TypeError, match=r"`surrogate` must be a name \(\[.arctan., .*\]\), a dict or a Surrogate"):
        get_surrogate(3.0)


@pytest.mark.parametrize("s", CASES, ids=repr)
def test_to_dict_round_trips(s):
    d = s.to_dict()
    assert d["name"] == s.name and set(d) == {"name", param_name(type(s))}
    back = get_surrogate(json.loads(json.dumps(d)))
    assert back == s and type(back) is type(s)
