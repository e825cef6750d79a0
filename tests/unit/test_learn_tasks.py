"""Synthetic tasks: shapes, dtypes, determinism, targets recomputed independently, argument checks,
read-only arrays and the get_task registry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikerate.learn.tasks import (STATIC_TASKS, TASKS, Task, circles, xor, delayed_response, flip_flop, get_task, integration,
                                   lecture_sequence, multi_sine, sine)

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

SEQUENCE_TASKS = tuple(t for t in TASKS if t not in STATIC_TASKS)

SMALL = {  # fast settings per task
    "lecture_sequence": {},
    "sine": {"T": 50, "batch": 3},
    "multi_sine": {"T": 50},
    "delayed_response": {"T": 40, "delay": 8, "batch": 5},
    "flip_flop": {"T": 60, "batch": 4, "p_flip": 0.2},
    "integration": {"T": 30, "batch": 4},
    "rate_pattern": {"T": 40, "batch": 2, "n_in": 5},
    "random_manifolds": {"T": 30, "batch": 6, "n_in": 7, "n_classes": 3},
}
SHAPES = {  # (x shape, y shape) for SMALL
    "lecture_sequence": ((10, 1), (10, 1)),
    "sine": ((3, 50, 1), (3, 50, 1)),
    "multi_sine": ((50, 1), (50, 1)),
    "delayed_response": ((5, 40, 2), (5, 40, 2)),
    "flip_flop": ((4, 60, 3), (4, 60, 3)),
    "integration": ((4, 30, 1), (4, 30, 1)),
    "rate_pattern": ((2, 40, 5), (2, 40, 2)),
    "random_manifolds": ((6, 30, 7), (6, 30, 3)),
}


def test_registry():
    assert TASKS == ("lecture_sequence", "sine", "multi_sine", "delayed_response", "flip_flop", "integration",
                     "rate_pattern", "random_manifolds", "xor", "circles")
    assert STATIC_TASKS == ("xor", "circles")


@pytest.mark.parametrize("name", SEQUENCE_TASKS)
def test_shapes_dtypes_readonly(name):
    task = get_task(name, **SMALL[name])
    assert isinstance(task, Task) and task.name == name
    assert (task.x.shape, task.y.shape) == SHAPES[name]
    assert task.x.dtype == task.y.dtype == np.float64
    assert task.n_in == task.x.shape[-1] and task.n_out == task.y.shape[-1] and task.T == task.x.shape[-2]
    assert task.batch == (task.x.shape[0] if task.x.ndim == 3 else None)
    assert isinstance(task.dt, float) and task.dt > 0
    assert isinstance(task.description, str) and task.description
    assert not task.x.flags.writeable and not task.y.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        task.x[..., 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        task.y[..., 0] = 1.0
    assert json.loads(json.dumps(task.params)) == task.params
    assert name in repr(task)


@pytest.mark.parametrize("name", SEQUENCE_TASKS)
def test_params_regenerate_the_task(name):
    task = get_task(name, **SMALL[name], seed=7)
    again = get_task(name, **task.params)
    assert np.array_equal(task.x, again.x) and np.array_equal(task.y, again.y) and task.dt == again.dt
    assert get_task({"name": name, **task.params}).params == task.params


@pytest.mark.parametrize("name", [n for n in SEQUENCE_TASKS if n not in ("sine", "multi_sine")] + ["sine"])
def test_deterministic_per_seed_and_different_across_seeds(name):
    kw = dict(SMALL[name])
    if name == "sine":
        kw["batch"] = 3  # random phases
    a, b, c = get_task(name, **kw, seed=3), get_task(name, **kw, seed=3), get_task(name, **kw, seed=4)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not (np.array_equal(a.x, c.x) and np.array_equal(a.y, c.y))
    g1 = get_task(name, **kw, seed=np.random.default_rng(3))
    assert np.array_equal(a.x, g1.x) and np.array_equal(a.y, g1.y)  # same stream as the int seed
    assert g1.params["seed"] is None


def test_task_copies_its_arrays():
    x = np.zeros((4, 1))
    task = Task(name="t", x=x, y=np.ones((4, 2)), dt=0.1)
    x[0, 0] = 5.0
    assert task.x[0, 0] == 0.0 and x.flags.writeable
    assert task.batch is None and task.T == 4 and task.n_out == 2


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"x": np.zeros(4)}, ValueError, r"`x` must have shape \(T, n\) or \(batch, T, n\); got shape \(4,\)"),
    ({"y": np.zeros((5, 1))}, ValueError, r"`x` and `y` must share their leading"),
    ({"y": np.zeros((1, 4, 1))}, ValueError, r"`x` and `y` must share their leading"),
    ({"y": [[np.inf]] * 4}, ValueError, r"`y` must be finite"),
    ({"dt": 0.0}, ValueError, r"`dt` must be > 0 \(in s\)"),
    ({"name": ""}, TypeError, r"`name` must be a non-empty string"),
    ({"description": 3}, TypeError, r"`description` must be a string"),
    ({"params": {"a": object()}}, TypeError, r"`params` must be JSON-safe"),
    ({"params": [1]}, TypeError, r"`params` must be a dict"),
])
def test_task_checks(kwargs, exc, match):
    base = {"name": "t", "x": np.zeros((4, 1)), "y": np.zeros((4, 1)), "dt": 0.1}
    with pytest.raises(exc, match=match):
        Task(**{**base, **kwargs})


# ------------------------------------------------------------------------------- lecture_sequence


def test_lecture_sequence_matches_hand_construction():
    for T, seed in [(10, 0), (25, 42)]:
        rng = np.random.default_rng(seed)
        x = rng.normal(0, 0.1, T)
        y = np.exp(np.linspace(1, 0, T)) + rng.normal(0, 0.1, T)
        task = lecture_sequence(T, seed=seed)
        assert np.array_equal(task.x[:, 0], x) and np.array_equal(task.y[:, 0], y)
        assert task.dt == 0.1 and task.batch is None


def test_lecture_sequence_without_noise():
    task = lecture_sequence(5, x_std=0.0, y_noise=0.0)
    assert np.array_equal(task.x, np.zeros((5, 1)))
    np.testing.assert_allclose(task.y[:, 0], np.exp([1.0, 0.75, 0.5, 0.25, 0.0]), rtol=1e-15)


# ------------------------------------------------------------------------------- sine


def test_sine_target():
    dt, f, a, ph = 0.005, (1.5, 4.0), (0.7, -0.2), (0.3, 2.0)
    task = sine(T=120, dt=dt, freqs=f, amplitudes=a, phases=ph)
    t = dt * np.arange(1, 121)
    expected = 0.7 * np.sin(2 * np.pi * 1.5 * t + 0.3) - 0.2 * np.sin(2 * np.pi * 4.0 * t + 2.0)
    np.testing.assert_allclose(task.y[:, 0], expected, atol=1e-14)
    assert np.array_equal(task.x, np.ones((120, 1)))
    assert sine(T=5, level=0.1).x.tolist() == [[0.1]] * 5


def test_sine_defaults():
    task = sine(T=100)
    np.testing.assert_allclose(task.y[:, 0], np.sin(2 * np.pi * 0.01 * np.arange(1, 101)), atol=1e-14)
    multi = multi_sine(T=100)
    t = 0.01 * np.arange(1, 101)
    expected = sum(np.sin(2 * np.pi * f * t) for f in (1, 2, 3)) / 3
    np.testing.assert_allclose(multi.y[:, 0], expected, atol=1e-14)
    assert multi.name == "multi_sine" and multi.params["freqs"] == [1.0, 2.0, 3.0]
    single = multi_sine(T=100, freqs=(1.0,))  # the same generator as sine
    assert np.array_equal(single.y, task.y)


def test_sine_batch_phases():
    task = sine(T=80, freqs=(2.0,), batch=6, seed=1)
    phi = np.random.default_rng(1).uniform(0, 2 * np.pi, size=(6, 1))
    t = 0.01 * np.arange(1, 81)
    np.testing.assert_allclose(task.y[:, :, 0], np.sin(2 * np.pi * 2.0 * t + phi), atol=1e-14)
    assert len({round(float(v), 9) for v in task.y[:, 0, 0]}) == 6  # different phases
    fixed = sine(T=80, freqs=(2.0,), phases=(0.5,), batch=3)
    assert np.array_equal(fixed.y[0], fixed.y[2])


# ------------------------------------------------------------------------------- delayed_response


def test_delayed_response_target():
    T, delay, dur, n_cues = 50, 7, 4, 3
    task = delayed_response(T=T, delay=delay, cue_duration=dur, n_cues=n_cues, batch=20, seed=2)
    free = T - dur - delay
    cues_seen = set()
    for x, y in zip(task.x, task.y):
        on = np.flatnonzero(x.any(axis=1))
        assert len(on) == dur and np.all(np.diff(on) == 1)  # one contiguous cue
        onset = on[0]
        assert 0 <= onset <= (free - 1) // 2
        cue = int(np.argmax(x[onset]))
        cues_seen.add(cue)
        expected_x = np.zeros((T, n_cues))
        expected_x[onset:onset + dur, cue] = 1.0
        expected_y = np.zeros((T, n_cues))
        for k in range(T):
            if k >= onset + dur + delay:
                expected_y[k, cue] = 1.0
        assert np.array_equal(x, expected_x) and np.array_equal(y, expected_y)
    assert cues_seen == {0, 1, 2}


def test_delayed_response_shortest_trial():
    task = delayed_response(T=6, delay=0, cue_duration=5, batch=None)
    assert task.x.shape == (6, 2) and task.y[:5].sum() == 0 and task.y[5].sum() == 1


# ------------------------------------------------------------------------------- flip_flop


def test_flip_flop_target_by_loop():
    task = flip_flop(T=80, n_bits=2, p_flip=0.1, batch=5, seed=9)
    assert set(np.unique(task.x)) <= {-1.0, 0.0, 1.0}
    assert np.count_nonzero(task.x == 1) > 0 and np.count_nonzero(task.x == -1) > 0
    for b in range(5):
        for i in range(2):
            state = 0.0
            for k in range(80):
                if task.x[b, k, i] != 0:
                    state = task.x[b, k, i]
                assert task.y[b, k, i] == state


def test_flip_flop_extremes():
    assert not flip_flop(T=20, p_flip=0.0, batch=2).x.any()
    full = flip_flop(T=20, p_flip=1.0, batch=2)
    assert np.all(np.abs(full.x) == 1) and np.array_equal(full.x, full.y)


# ------------------------------------------------------------------------------- integration


def test_integration_target():
    task = integration(T=40, batch=3, dt=0.02, seed=5)
    np.testing.assert_allclose(task.y, np.cumsum(task.x, axis=1) * 0.02, rtol=1e-12, atol=1e-15)
    rng = np.random.default_rng(5)
    mu = rng.normal(0, 0.1, size=(3, 1, 1))
    x = mu + 0.5 * rng.standard_normal((3, 40, 1))
    np.testing.assert_allclose(task.x, x, rtol=1e-15)
    flat = integration(T=10, noise=0.0, bias_std=0.0, batch=None)
    assert not flat.x.any() and not flat.y.any() and flat.x.shape == (10, 1)


# ------------------------------------------------------------------------------- checks


@pytest.mark.parametrize("fn, kwargs, exc, match", [
    (lecture_sequence, {"T": 0}, ValueError, r"`T` must be an integer >= 1; got 0"),
    (lecture_sequence, {"T": 2.5}, TypeError, r"`T` must be an integer; got 2.5"),
    (lecture_sequence, {"x_std": -0.1}, ValueError, r"`x_std` must be >= 0; got -0.1"),
    (lecture_sequence, {"y_noise": "a"}, TypeError, r"`y_noise` must be a real number"),
    (lecture_sequence, {"seed": -1}, ValueError, r"`seed` must be an integer >= 0; got -1"),
    (lecture_sequence, {"seed": "x"}, TypeError, r"`seed` must be an integer >= 0 or a numpy Generator"),
    (sine, {"T": -3}, ValueError, r"`T` must be an integer >= 1"),
    (sine, {"dt": -0.01}, ValueError, r"`dt` must be > 0 \(in s\)"),
    (sine, {"freqs": ()}, ValueError, r"`freqs` must be a non-empty sequence"),
    (sine, {"freqs": (1.0, -2.0)}, ValueError, r"`freqs` must be > 0 \(in Hz\); got -2.0"),
    (sine, {"freqs": (60.0,)}, ValueError, r"`freqs` must be below the Nyquist frequency 1/\(2 dt\) = 50 Hz"),
    (sine, {"freqs": [[1.0]]}, ValueError, r"`freqs` must be a non-empty sequence"),
    (sine, {"amplitudes": (1.0, 2.0)}, ValueError, r"`amplitudes` must have one value per frequency, shape \(1,\)"),
    (sine, {"phases": (np.nan,)}, ValueError, r"`phases` must be finite"),
    (sine, {"batch": 0}, ValueError, r"`batch` must be an integer >= 1; got 0"),
    (sine, {"level": None}, TypeError, r"`level` must be a real number"),
    (multi_sine, {"amplitudes": (1.0,)}, ValueError, r"`amplitudes` must have one value per frequency, shape \(3,\)"),
    (delayed_response, {"T": 25}, ValueError, r"`T` must be > cue_duration \+ delay = 25.*got T=25"),
    (delayed_response, {"delay": -1}, ValueError, r"`delay` must be an integer >= 0; got -1"),
    (delayed_response, {"n_cues": 0}, ValueError, r"`n_cues` must be an integer >= 1"),
    (delayed_response, {"cue_duration": 0}, ValueError, r"`cue_duration` must be an integer >= 1"),
    (delayed_response, {"batch": 1.5}, TypeError, r"`batch` must be an integer"),
    (delayed_response, {"dt": 0}, ValueError, r"`dt` must be > 0"),
    (delayed_response, {"seed": True}, TypeError, r"`seed` must be an integer"),
    (flip_flop, {"n_bits": 0}, ValueError, r"`n_bits` must be an integer >= 1"),
    (flip_flop, {"p_flip": 1.5}, ValueError, r"`p_flip` must be a probability in \[0, 1\]; got 1.5"),
    (flip_flop, {"T": "10"}, TypeError, r"`T` must be an integer"),
    (flip_flop, {"batch": -2}, ValueError, r"`batch` must be an integer >= 1"),
    (flip_flop, {"dt": float("inf")}, ValueError, r"`dt` must be finite"),
    (integration, {"noise": -1.0}, ValueError, r"`noise` must be >= 0; got -1.0"),
    (integration, {"bias_std": -0.5}, ValueError, r"`bias_std` must be >= 0"),
    (integration, {"T": 0}, ValueError, r"`T` must be an integer >= 1"),
    (integration, {"dt": "0.01"}, TypeError, r"`dt` must be a real number"),
])
def test_bad_arguments(fn, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fn(**kwargs)


@pytest.mark.parametrize("args, kwargs, exc, match", [
    (("flipflop",), {}, ValueError, r"`name` must be one of .*Did you mean `flip_flop`\?"),
    ((3,), {}, ValueError, r"`name` must be one of"),
    (("sine",), {"freq": (1.0,)}, ValueError, r"`freq` is not an argument of the 'sine' task.*Did you mean `freqs`\?"),
    (({"T": 5},), {}, ValueError, r"a task dict needs a `name` key"),
    (({"name": "sine", "T": 5},), {"T": 6}, ValueError, r"\['T'\] given both"),
])
def test_get_task_errors(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        get_task(*args, **kwargs)


# --------------------------------------------------------------------------- static tasks


def test_xor_labels_are_the_xor_of_the_corner_signs():
    task = xor(64, noise=0.0, seed=3)
    assert task.static and task.dt is None and task.T is None and task.batch == 64
    assert task.x.shape == (64, 2) and task.y.shape == (64, 2)
    expected = (np.sign(task.x[:, 0]) != np.sign(task.x[:, 1])).astype(int)
    np.testing.assert_array_equal(task.y.argmax(axis=1), expected)
    np.testing.assert_array_equal(xor(64, noise=0.0, seed=3).x, task.x)
    assert not np.array_equal(xor(64, seed=4).x, xor(64, seed=3).x)


def test_circles_radii_and_labels():
    task = circles(100, factor=0.4, noise=0.0, seed=1)
    radius = np.hypot(task.x[:, 0], task.x[:, 1])
    labels = task.y.argmax(axis=1)
    np.testing.assert_allclose(radius[labels == 0], 1.0)
    np.testing.assert_allclose(radius[labels == 1], 0.4)
    with pytest.raises(ValueError, match="`factor`.*must be in \\(0, 1\\)"):
        circles(factor=1.5)
    with pytest.raises(ValueError, match="static task \\(dt=None\\) has `x` of shape \\(batch, n_in\\)"):
        Task(name="bad", x=np.zeros((2, 3, 1)), y=np.zeros((2, 3, 1)), dt=None)


def test_random_manifolds_one_spike_per_channel_in_the_first_80_percent():
    from spikerate.learn.tasks import random_manifolds
    task = random_manifolds(T=50, n_in=6, batch=10, seed=2)
    np.testing.assert_array_equal(task.x.sum(axis=1), 1.0)  # one spike per channel and sample
    assert not task.x[:, int(0.8 * 50) + 1:].any()
    labels = task.y[:, 0].argmax(axis=1)
    assert np.all(task.y.argmax(axis=2) == labels[:, None])
    # samples of one class near in theta have near spike times: the manifold is smooth
    assert set(labels.tolist()) <= {0, 1}


def test_rate_pattern_targets_and_input_rate():
    from spikerate.learn.tasks import rate_pattern
    task = rate_pattern(T=400, n_in=50, n_out=3, input_rate=50.0, peak=30.0, width=0.02, batch=4, dt=1e-3, seed=1)
    rate = task.x.mean() / 1e-3
    assert abs(rate - 50.0) < 4 * np.sqrt(50.0 * 1e-3 / task.x.size) / 1e-3
    assert task.y.max() == pytest.approx(30.0, rel=1e-3)
    peaks = task.y[0].argmax(axis=0) + 1
    np.testing.assert_allclose(peaks * 1e-3, [0.1, 0.2, 0.3], atol=1e-3)
    with pytest.raises(ValueError, match="at most one spike per step"):
        rate_pattern(input_rate=2000.0, dt=1e-3)
