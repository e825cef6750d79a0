"""Nonlinearities: values, derivatives against finite differences at many points, overflow-free
evaluation, parameter checks and the get_transfer registry."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest

from spikerate.models import (TRANSFERS, AbstractTransfer, LIFTransfer, Linear, Sigmoid, SiegertTransfer, Softplus,
                              Tanh, ThresholdLinear, get_transfer)

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

FD_EPS = np.finfo(float).eps ** (1 / 3)

TRANSFER_CASES = [
    Linear(), Linear(gain=-2.5),
    ThresholdLinear(), ThresholdLinear(threshold=0.7, gain=3.0), ThresholdLinear(threshold=-1.0, gain=0.5, power=2.0),
    ThresholdLinear(power=3.5),
    Tanh(), Tanh(gain=0.3), Tanh(gain=-2.0),
    Sigmoid(), Sigmoid(gain=4.0, threshold=1.0), Sigmoid(gain=-0.5),
    Softplus(), Softplus(beta=0.2), Softplus(beta=5.0),
]


def kink(g):
    return getattr(g, "threshold", 0.0) if isinstance(g, ThresholdLinear) else None


@pytest.mark.parametrize("g", TRANSFER_CASES, ids=repr)
def test_derivative_matches_finite_differences(g):
    x = np.linspace(-6.0, 6.0, 241) + 0.0123  # many points, off the grid of round numbers
    k = kink(g)
    if k is not None:
        x = x[np.abs(x - k) > 1e-3]  # the kink itself is not differentiable
    h = FD_EPS * np.maximum(1.0, np.abs(x))
    fd = (g.value(x + h) - g.value(x - h)) / (2 * h)
    np.testing.assert_allclose(g.derivative(x), fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("g", [LIFTransfer(), SiegertTransfer(sigma=3.0), SiegertTransfer(sigma=6.0, tau_s=5e-3)],
                         ids=repr)
def test_lif_transfers_derivative_matches_finite_differences(g):
    x = np.linspace(12.0, 40.0, 57) + 0.013
    x = x[np.abs(x - 20.0) > 0.05]  # the noise-free curve has a vertical tangent at threshold
    h = FD_EPS * np.abs(x - 20.0) if isinstance(g, LIFTransfer) else FD_EPS * np.ones_like(x)
    fd = (g.value(x + h) - g.value(x - h)) / (2 * h)
    np.testing.assert_allclose(g.derivative(x), fd, rtol=1e-6, atol=1e-9)


def test_values_at_known_points():
    assert ThresholdLinear().value([-1.0, 0.0, 2.5]).tolist() == [0.0, 0.0, 2.5]
    assert ThresholdLinear(threshold=1.0, gain=2.0, power=2.0).value([0.0, 3.0]).tolist() == [0.0, 8.0]
    assert ThresholdLinear().derivative([-1.0, 0.0, 1.0]).tolist() == [0.0, 0.0, 1.0]
    assert Linear(gain=2.0).value([1.5]).tolist() == [3.0]
    assert Linear(gain=2.0).derivative([1.5, -7.0]).tolist() == [2.0, 2.0]
    assert float(Sigmoid(threshold=3.0, gain=5.0).value(3.0)) == 0.5
    assert float(Sigmoid(threshold=3.0, gain=5.0).derivative(3.0)) == 1.25
    assert float(Softplus(beta=2.0).value(0.0)) == pytest.approx(math.log(2.0) / 2.0, rel=1e-15)
    assert float(Softplus().derivative(0.0)) == 0.5
    assert float(Tanh(gain=2.0).value(0.5)) == pytest.approx(math.tanh(1.0), rel=1e-15)
    assert float(Tanh(gain=2.0).derivative(0.0)) == 2.0


@pytest.mark.parametrize("g", TRANSFER_CASES, ids=repr)
def test_shapes_are_preserved(g):
    x = np.arange(12.0).reshape(3, 4) - 6.0
    assert g.value(x).shape == g.derivative(x).shape == (3, 4)
    v, d = g.value_and_derivative(x)
    np.testing.assert_array_equal(v, g.value(x))
    np.testing.assert_array_equal(d, g.derivative(x))
    np.testing.assert_array_equal(g(x), g.value(x))
    assert np.ndim(g.value(1.0)) == 0


@pytest.mark.parametrize("g", TRANSFER_CASES, ids=repr)
def test_no_overflow_at_extreme_inputs(g):
    x = np.array([-1e300, -1e4, -745.0, -50.0, 0.0, 50.0, 745.0, 1e4])
    if isinstance(g, ThresholdLinear) and g.power > 1:
        x = x[np.abs(x) < 1e4]  # x^power itself overflows for huge x
    if isinstance(g, Linear):
        x = x[np.abs(x) < 1e300]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v, d = g.value(x), g.derivative(x)
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(d))


def test_sigmoid_and_softplus_limits():
    assert Sigmoid().value(1e3) == 1.0 and Sigmoid().value(-1e3) == 0.0
    assert Softplus().value(1e3) == 1e3 and Softplus().value(-1e3) == 0.0
    assert Softplus(beta=10.0).value(-1.0) == pytest.approx(math.log1p(math.exp(-10.0)) / 10.0, rel=1e-14)


# ------------------------------------------------------------------------------ parameters


@pytest.mark.parametrize("make,name", [
    (lambda: ThresholdLinear(power=0.5), "power"),
    (lambda: ThresholdLinear(threshold=float("nan")), "threshold"),
    (lambda: Softplus(beta=0.0), "beta"),
    (lambda: Softplus(beta=-1.0), "beta"),
    (lambda: Tanh(gain=float("inf")), "gain"),
    (lambda: Sigmoid(threshold=float("nan")), "threshold"),
    (lambda: Linear(gain=float("nan")), "gain"),
])
def test_bad_parameters_name_the_parameter(make, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        make()


def test_bad_parameter_type():
    with pytest.raises(TypeError, match="`gain`"):
        Tanh(gain="2")


def test_parameters_are_keyword_only_and_frozen():
    with pytest.raises(TypeError):
        Sigmoid(2.0)
    g = Sigmoid(gain=2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.gain = 3.0


def test_nan_input_is_rejected():
    for g in TRANSFER_CASES:
        with pytest.raises(ValueError, match="`x`"):
            g.value([0.0, np.nan])
        with pytest.raises(ValueError, match="`x`"):
            g.derivative(np.nan)


# ------------------------------------------------------------------------------ registry


def test_get_transfer_names():
    assert get_transfer("linear") == Linear()
    assert get_transfer("relu") == ThresholdLinear()
    assert get_transfer("threshold_linear", power=2.0) == ThresholdLinear(power=2.0)
    assert get_transfer("tanh", gain=2.0) == Tanh(gain=2.0)
    assert get_transfer("sigmoid") == Sigmoid()
    assert get_transfer("softplus", beta=3.0) == Softplus(beta=3.0)
    assert get_transfer("lif") == LIFTransfer()
    assert get_transfer("siegert", sigma=4.0, tau_s=2e-3) == SiegertTransfer(sigma=4.0, tau_s=2e-3)
    for name, cls in TRANSFERS.items():
        assert issubclass(cls, AbstractTransfer)
        if name not in ("relu", "siegert"):
            assert cls().name == name


def test_get_transfer_dicts_and_objects():
    for g in TRANSFER_CASES + [LIFTransfer(tau_m=10e-3), SiegertTransfer(sigma=2.0)]:
        assert get_transfer(g) is g
        assert get_transfer(g.to_dict()) == g
    assert get_transfer({"name": "sigmoid"}, gain=3.0) == Sigmoid(gain=3.0)

    class Custom:  # duck-typed transfers pass through
        def value(self, x):
            return x

        def derivative(self, x):
            return 1.0
    c = Custom()
    assert get_transfer(c) is c


@pytest.mark.parametrize("name,suggestion", [("sigmod", "sigmoid"), ("Relu", "relu"), ("tan_h", "tanh"),
                                             ("softpluss", "softplus"), ("threshold-linear", "threshold_linear")])
def test_get_transfer_unknown_name_suggests(name, suggestion):
    with pytest.raises(ValueError, match=f"Did you mean `{suggestion}`"):
        get_transfer(name)


def test_get_transfer_errors():
    with pytest.raises(ValueError, match="`gian`.*Did you mean `gain`"):
        get_transfer("sigmoid", gian=2.0)
    with pytest.raises(ValueError, match="`name`"):
        get_transfer({"gain": 2.0})
    with pytest.raises(ValueError, match="both"):
        get_transfer({"name": "tanh", "gain": 2.0}, gain=3.0)
    with pytest.raises(TypeError, match="`transfer`"):
        get_transfer(3.0)
    with pytest.raises(TypeError, match="replace"):
        get_transfer(Tanh(), gain=2.0)
    with pytest.raises(ValueError, match="`beta`"):
        get_transfer("softplus", beta=-1.0)
