"""Synthetic sequence tasks for training rate networks, generated from a seed (never downloaded).

Every generator returns a :class:`Task`: inputs ``x`` and targets ``y`` of shape ``(T, n)``
(unbatched) or ``(batch, T, n)``, float64 and read-only, with the time step ``dt`` [s] and the
generator's arguments in ``params`` (JSON-safe; ``get_task(task.name, **task.params)``
regenerates the same arrays when ``seed`` was an integer).  Step ``k`` of a sequence is the
output after ``k + 1`` updates, at time ``(k + 1) dt``.

====================  ==========  ==========  ===========================================================
name                  n_in        n_out       task
====================  ==========  ==========  ===========================================================
``lecture_sequence``  1           1           noise in, ``exp(linspace(1, 0, T))`` + noise out (unbatched)
``sine``              1           1           constant 'go' input, a sum of sines out
``multi_sine``        1           1           ``sine`` with frequencies (1, 2, 3) Hz
``delayed_response``  ``n_cues``  ``n_cues``  report a one-hot cue after a delay, and hold it
``flip_flop``         ``n_bits``  ``n_bits``  ``n_bits`` flip-flops: hold the sign of the last pulse
``integration``       1           1           integrate noisy evidence: ``y = cumsum(x) dt``
====================  ==========  ==========  ===========================================================

:func:`get_task` builds a task from its name (or a scenario dict ``{"name": ..., ...}``).

References
----------
Sussillo & Barak (2013) Opening the black box: low-dimensional dynamics in high-dimensional
recurrent neural networks. Neural Comput. 25, 626, doi:10.1162/NECO_a_00409.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .._validation import (check_choice, check_int, check_positive, check_probability, check_real,
                           check_real_array, describe, suggest)

__all__ = ["Task", "TASKS", "STATIC_TASKS", "get_task", "lecture_sequence", "sine", "multi_sine", "delayed_response",
           "flip_flop", "integration", "rate_pattern", "random_manifolds", "xor", "circles"]


# ------------------------------------------------------------------------------- Task


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class Task:
    """Inputs and targets of a sequence task, or (``dt=None``) of a static task whose samples
    are rows: ``x`` (batch, n_in), ``y`` (batch, n_out) — the inputs and targets of fixed-point
    learning.

    Parameters
    ----------
    name : str
        Task name (a :data:`TASKS` entry for the built-in generators).
    x : array_like
        Inputs, shape ``(T, n_in)`` or ``(batch, T, n_in)``.
    y : array_like
        Targets, shape ``(T, n_out)`` or ``(batch, T, n_out)`` (same ``batch`` and ``T`` as ``x``).
    dt : float or None
        Time step [s]; None for a static task.
    description : str
        One-line human-readable description.
    params : dict
        The generator's arguments (JSON-safe).

    Notes
    -----
    ``x`` and ``y`` are stored as read-only float64 copies.  Equality is identity (compare the
    arrays with ``np.array_equal``).
    """
    name: str
    x: np.ndarray
    y: np.ndarray
    dt: float
    description: str = ""
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"`name` must be a non-empty string; got {describe(self.name)}.")
        if not isinstance(self.description, str):
            raise TypeError(f"`description` must be a string; got {describe(self.description)}.")
        arrays = {}
        for key in ("x", "y"):
            a = check_real_array(key, getattr(self, key))
            if a.ndim not in (2, 3):
                raise ValueError(f"`{key}` must have shape (T, n) or (batch, T, n); got shape {a.shape}.")
            a = np.array(a, dtype=np.float64, copy=True)
            a.setflags(write=False)
            arrays[key] = a
        x, y = arrays["x"], arrays["y"]
        if x.ndim != y.ndim or x.shape[:-1] != y.shape[:-1]:
            raise ValueError(f"`x` and `y` must share their leading (batch, T) dimensions; got shapes "
                             f"{x.shape} and {y.shape}.")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        if self.dt is None:
            if x.ndim != 2:
                raise ValueError(f"a static task (dt=None) has `x` of shape (batch, n_in); got shape {x.shape}.")
        else:
            object.__setattr__(self, "dt", check_positive("dt", self.dt, unit="s"))
        if not isinstance(self.params, Mapping):
            raise TypeError(f"`params` must be a dict; got {describe(self.params)}.")
        try:
            params = json.loads(json.dumps(dict(self.params)))
        except (TypeError, ValueError) as err:
            raise TypeError(f"`params` must be JSON-safe (numbers, strings, lists, dicts, None); {err}.") from None
        object.__setattr__(self, "params", params)

    @property
    def n_in(self) -> int:
        """Number of input channels."""
        return self.x.shape[-1]

    @property
    def n_out(self) -> int:
        """Number of output channels."""
        return self.y.shape[-1]

    @property
    def static(self) -> bool:
        """True for a static task (samples, no time axis)."""
        return self.dt is None

    @property
    def T(self) -> int | None:
        """Number of time steps (None for a static task)."""
        return None if self.static else self.x.shape[-2]

    @property
    def batch(self) -> int | None:
        """Number of sequences (samples of a static task), or None for one unbatched sequence."""
        if self.static:
            return self.x.shape[0]
        return self.x.shape[0] if self.x.ndim == 3 else None

    def __repr__(self) -> str:
        b = "" if self.batch is None else f"batch={self.batch}, "
        if self.static:
            return f"Task(name={self.name!r}, static, {b}n_in={self.n_in}, n_out={self.n_out})"
        return (f"Task(name={self.name!r}, {b}T={self.T}, n_in={self.n_in}, n_out={self.n_out}, "
                f"dt={self.dt!r})")


# ------------------------------------------------------------------------------- checks


def _rng(seed) -> tuple[np.random.Generator, int | None]:
    """The generator for ``seed`` and the JSON-safe value to record (None for a Generator)."""
    if isinstance(seed, np.random.Generator):
        return seed, None
    try:
        seed = check_int("seed", seed, minimum=0)
    except TypeError:
        raise TypeError(f"`seed` must be an integer >= 0 or a numpy Generator; got {describe(seed)}.") from None
    return np.random.default_rng(seed), seed


def _batch(batch) -> int | None:
    return None if batch is None else check_int("batch", batch, minimum=1)


def _shape(batch: int | None) -> int:
    return 1 if batch is None else batch


def _make(name: str, x: np.ndarray, y: np.ndarray, batch: int | None, dt: float, description: str,
          params: dict) -> Task:
    """A Task from (b, T, n) arrays, dropping the batch axis when ``batch`` is None."""
    if batch is None:
        x, y = x[0], y[0]
    return Task(name=name, x=x, y=y, dt=dt, description=description, params=params)


# ------------------------------------------------------------------------------- generators


def lecture_sequence(T: int = 10, *, x_std: float = 0.1, y_noise: float = 0.1,
                     seed: int | np.random.Generator = 0) -> Task:
    """The homework data of the lecture the project grew from: map noise to a decaying curve.

    ``x ~ Normal(0, x_std)`` (``T`` values) and ``y = exp(linspace(1, 0, T)) + Normal(0, y_noise)``,
    drawn in that order from ``np.random.default_rng(seed)``; ``dt = 0.1`` s.

    Parameters
    ----------
    T : int
        Number of time steps (>= 1).
    x_std : float
        Standard deviation of the inputs (>= 0).
    y_noise : float
        Standard deviation of the noise added to the target (>= 0).
    seed : int or np.random.Generator
        Seed (>= 0) or generator.

    Returns
    -------
    Task
        Unbatched: ``x`` and ``y`` of shape ``(T, 1)``.

    Examples
    --------
    >>> task = lecture_sequence()
    >>> task.x.shape, task.y.shape, task.dt
    ((10, 1), (10, 1), 0.1)
    """
    T = check_int("T", T, minimum=1)
    x_std = check_positive("x_std", x_std, allow_zero=True)
    y_noise = check_positive("y_noise", y_noise, allow_zero=True)
    rng, seed_rec = _rng(seed)
    x = rng.normal(0.0, x_std, size=T)
    y = np.exp(np.linspace(1.0, 0.0, T)) + rng.normal(0.0, y_noise, size=T)
    return Task(name="lecture_sequence", x=x[:, None], y=y[:, None], dt=0.1,
                description="lecture homework: Normal(0, x_std) input, exp(linspace(1, 0, T)) + noise target",
                params={"T": T, "x_std": x_std, "y_noise": y_noise, "seed": seed_rec})


def sine(T: int = 200, *, dt: float = 0.01, freqs=(1.0,), amplitudes=None, phases=None,
         batch: int | None = None, level: float = 1.0, seed: int | np.random.Generator = 0) -> Task:
    """Generate a (sum of) sine wave(s) from a constant 'go' input.

    Input ``x_t = level`` (one channel); target ``y_t = sum_k a_k sin(2 pi f_k t + phi_k)`` at
    ``t = (step + 1) dt``, the time of the output after each step.

    Parameters
    ----------
    T : int
        Number of time steps (>= 1).
    dt : float
        Time step [s] (> 0).
    freqs : sequence of float
        Frequencies ``f_k`` [Hz], > 0 and below the Nyquist frequency ``1 / (2 dt)``.
    amplitudes : sequence of float or None
        Amplitudes ``a_k`` (one per frequency); None gives ``1 / len(freqs)`` each, so that
        ``|y| <= 1``.
    phases : sequence of float or None
        Phases ``phi_k`` [rad] (one per frequency), the same for every sequence.  None gives 0
        without ``batch``, and independent uniform phases in [0, 2 pi) per sequence with it.
    batch : int or None
        Number of sequences, or None for one unbatched sequence.
    level : float
        The constant input level.
    seed : int or np.random.Generator
        Seed (>= 0) or generator (used only for random phases).

    Returns
    -------
    Task
        ``x`` and ``y`` of shape ``(T, 1)``, or ``(batch, T, 1)`` with ``batch``.

    Examples
    --------
    >>> task = sine(T=50, freqs=(1.0,))
    >>> round(float(task.y[24, 0]), 12)  # step 24 is t = 0.25 s, a quarter period of 1 Hz
    1.0
    """
    return _sine("sine", T=T, dt=dt, freqs=freqs, amplitudes=amplitudes, phases=phases, batch=batch,
                 level=level, seed=seed)


def multi_sine(T: int = 200, *, dt: float = 0.01, freqs=(1.0, 2.0, 3.0), amplitudes=None, phases=None,
               batch: int | None = None, level: float = 1.0, seed: int | np.random.Generator = 0) -> Task:
    """:func:`sine` with several frequencies by default, (1, 2, 3) Hz with amplitudes 1/3.

    Parameters and return value as in :func:`sine`; the task is named ``"multi_sine"``.
    """
    return _sine("multi_sine", T=T, dt=dt, freqs=freqs, amplitudes=amplitudes, phases=phases, batch=batch,
                 level=level, seed=seed)


def _per_freq(name: str, value, K: int, unit: str = "") -> np.ndarray:
    arr = check_real_array(name, value, unit=unit)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.shape != (K,):
        raise ValueError(f"`{name}` must have one value per frequency, shape ({K},); got shape {arr.shape}.")
    return arr


def _sine(name, *, T, dt, freqs, amplitudes, phases, batch, level, seed) -> Task:
    T = check_int("T", T, minimum=1)
    dt = check_positive("dt", dt, unit="s")
    f = check_real_array("freqs", freqs, unit="Hz", positive=True)
    if f.ndim == 0:
        f = f[None]
    if f.ndim != 1 or f.size == 0:
        raise ValueError(f"`freqs` must be a non-empty sequence of frequencies in Hz; got {describe(freqs)}.")
    nyquist = 0.5 / dt
    if np.any(f >= nyquist):
        raise ValueError(f"`freqs` must be below the Nyquist frequency 1/(2 dt) = {nyquist:g} Hz; got "
                         f"{f.max():g} Hz. Use a smaller `dt` or lower frequencies.")
    K = f.size
    a = np.full(K, 1.0 / K) if amplitudes is None else _per_freq("amplitudes", amplitudes, K)
    ph = None if phases is None else _per_freq("phases", phases, K, unit="rad")
    batch = _batch(batch)
    level = check_real("level", level)
    rng, seed_rec = _rng(seed)
    B = _shape(batch)
    if ph is not None:
        phi = np.broadcast_to(ph, (B, K))
    elif batch is None:
        phi = np.zeros((B, K))
    else:
        phi = rng.uniform(0.0, 2.0 * np.pi, size=(B, K))
    t = (np.arange(T) + 1) * dt                                     # (T,)
    y = np.einsum("k,btk->bt", a, np.sin(2.0 * np.pi * f * t[None, :, None] + phi[:, None, :]))[..., None]
    x = np.full((B, T, 1), level)
    params = {"T": T, "dt": dt, "freqs": f.tolist(), "amplitudes": a.tolist(),
              "phases": None if ph is None else ph.tolist(), "batch": batch, "level": level, "seed": seed_rec}
    desc = "constant input, target " + " + ".join(f"{ak:g} sin(2 pi {fk:g} t + phi)" for ak, fk in zip(a, f))
    return _make(name, x, y, batch, dt, desc, params)


def delayed_response(T: int = 100, *, delay: int = 20, n_cues: int = 2, cue_duration: int = 5,
                     batch: int | None = 16, dt: float = 0.01, seed: int | np.random.Generator = 0) -> Task:
    """Remember which of ``n_cues`` cues was shown and report it after a delay.

    In each sequence a one-hot cue (channel ``c``, drawn uniformly) is on for ``cue_duration``
    steps from a random onset ``s``; the target is 0 up to step ``s + cue_duration + delay``
    (exclusive) and the one-hot of ``c`` from then to the end.  With
    ``free = T - cue_duration - delay`` the number of response steps for a cue at step 0, the
    onset is uniform on ``0 ... (free - 1) // 2`` (the first part of the trial), so every
    response lasts at least half of ``free`` steps.

    Parameters
    ----------
    T : int
        Number of time steps; must be > ``cue_duration + delay``.
    delay : int
        Steps between the end of the cue and the start of the response (>= 0).
    n_cues : int
        Number of cues, the input and output channels (>= 1).
    cue_duration : int
        Steps the cue is shown (>= 1).
    batch : int or None
        Number of sequences, or None for one unbatched sequence.
    dt : float
        Time step [s] (> 0).
    seed : int or np.random.Generator
        Seed (>= 0) or generator; cues are drawn first, then onsets.

    Returns
    -------
    Task
        ``x`` and ``y`` of shape ``(batch, T, n_cues)`` (``(T, n_cues)`` without ``batch``).

    Examples
    --------
    >>> task = delayed_response(T=40, delay=10, cue_duration=5, batch=4)
    >>> task.x.shape, task.y.shape, bool(task.y[:, :15].any())
    ((4, 40, 2), (4, 40, 2), False)
    """
    T = check_int("T", T, minimum=1)
    delay = check_int("delay", delay, minimum=0)
    n_cues = check_int("n_cues", n_cues, minimum=1)
    cue_duration = check_int("cue_duration", cue_duration, minimum=1)
    batch = _batch(batch)
    dt = check_positive("dt", dt, unit="s")
    free = T - cue_duration - delay
    if free < 1:
        raise ValueError(f"`T` must be > cue_duration + delay = {cue_duration + delay} so that a response "
                         f"follows the delay; got T={T}. Use e.g. T={2 * (cue_duration + delay) + 2} or a "
                         f"shorter `delay` or `cue_duration`.")
    rng, seed_rec = _rng(seed)
    B = _shape(batch)
    cues = rng.integers(n_cues, size=B)
    onsets = rng.integers((free - 1) // 2 + 1, size=B)
    steps = np.arange(T)[None, :]                                            # (1, T)
    on = (steps >= onsets[:, None]) & (steps < (onsets + cue_duration)[:, None])
    respond = steps >= (onsets + cue_duration + delay)[:, None]
    onehot = np.eye(n_cues)[cues][:, None, :]                                # (B, 1, n_cues)
    x = on[:, :, None] * onehot
    y = respond[:, :, None] * onehot
    params = {"T": T, "delay": delay, "n_cues": n_cues, "cue_duration": cue_duration, "batch": batch,
              "dt": dt, "seed": seed_rec}
    desc = (f"one of {n_cues} one-hot cues for {cue_duration} steps; report it {delay} steps after the cue "
            f"ends and hold it")
    return _make("delayed_response", x, y, batch, dt, desc, params)


def flip_flop(T: int = 200, *, n_bits: int = 3, p_flip: float = 0.05, batch: int | None = 16,
              dt: float = 0.01, seed: int | np.random.Generator = 0) -> Task:
    """The ``n_bits``-bit flip-flop of Sussillo & Barak (2013).

    Each input channel emits, independently at every step with probability ``p_flip``, a
    one-step pulse of +1 or -1 (equally likely); the target of each channel holds the sign of
    its last pulse, including the current step (0 before the first pulse).

    Parameters
    ----------
    T : int
        Number of time steps (>= 1).
    n_bits : int
        Number of channels (inputs and outputs, >= 1).
    p_flip : float
        Probability of a pulse per channel and step, in [0, 1].
    batch : int or None
        Number of sequences, or None for one unbatched sequence.
    dt : float
        Time step [s] (> 0).
    seed : int or np.random.Generator
        Seed (>= 0) or generator; pulse times are drawn first, then signs.

    Returns
    -------
    Task
        ``x`` and ``y`` of shape ``(batch, T, n_bits)`` (``(T, n_bits)`` without ``batch``),
        values in {-1, 0, 1}.

    Examples
    --------
    >>> task = flip_flop(T=100, n_bits=2, batch=3)
    >>> task.x.shape, sorted(set(np.unique(task.y).tolist())) <= [-1.0, 0.0, 1.0]
    ((3, 100, 2), True)
    """
    T = check_int("T", T, minimum=1)
    n_bits = check_int("n_bits", n_bits, minimum=1)
    p_flip = check_probability("p_flip", p_flip)
    batch = _batch(batch)
    dt = check_positive("dt", dt, unit="s")
    rng, seed_rec = _rng(seed)
    B = _shape(batch)
    pulse = rng.random((B, T, n_bits)) < p_flip
    sign = 2.0 * rng.integers(2, size=(B, T, n_bits)) - 1.0
    x = np.where(pulse, sign, 0.0)
    # index of the last pulse up to each step (-1 before the first), then its sign
    last = np.maximum.accumulate(np.where(pulse, np.arange(T)[None, :, None], -1), axis=1)
    y = np.where(last >= 0, np.take_along_axis(x, np.maximum(last, 0), axis=1), 0.0)
    params = {"T": T, "n_bits": n_bits, "p_flip": p_flip, "batch": batch, "dt": dt, "seed": seed_rec}
    desc = f"{n_bits}-bit flip-flop: hold the sign of the last +-1 pulse of each channel (p_flip={p_flip:g})"
    return _make("flip_flop", x, y, batch, dt, desc, params)


def integration(T: int = 100, *, noise: float = 0.5, bias_std: float = 0.1, batch: int | None = 16,
                dt: float = 0.01, seed: int | np.random.Generator = 0) -> Task:
    """Integrate noisy evidence: ``y_t = dt * sum_{s <= t} x_s``.

    ``x_t = mu + noise * N(0, 1)`` with a per-sequence drift ``mu ~ Normal(0, bias_std)``
    (drawn first, then the noise).

    Parameters
    ----------
    T : int
        Number of time steps (>= 1).
    noise : float
        Standard deviation of the per-step noise (>= 0).
    bias_std : float
        Standard deviation of the per-sequence drift ``mu`` (>= 0).
    batch : int or None
        Number of sequences, or None for one unbatched sequence.
    dt : float
        Time step [s] (> 0).
    seed : int or np.random.Generator
        Seed (>= 0) or generator.

    Returns
    -------
    Task
        ``x`` and ``y`` of shape ``(batch, T, 1)`` (``(T, 1)`` without ``batch``).

    Examples
    --------
    >>> task = integration(T=20, batch=2)
    >>> bool(np.allclose(task.y, np.cumsum(task.x, axis=1) * task.dt))
    True
    """
    T = check_int("T", T, minimum=1)
    noise = check_positive("noise", noise, allow_zero=True)
    bias_std = check_positive("bias_std", bias_std, allow_zero=True)
    batch = _batch(batch)
    dt = check_positive("dt", dt, unit="s")
    rng, seed_rec = _rng(seed)
    B = _shape(batch)
    mu = rng.normal(0.0, bias_std, size=(B, 1, 1))
    x = mu + noise * rng.standard_normal((B, T, 1))
    y = np.cumsum(x, axis=1) * dt
    params = {"T": T, "noise": noise, "bias_std": bias_std, "batch": batch, "dt": dt, "seed": seed_rec}
    desc = f"integrate evidence mu + {noise:g} N(0, 1), mu ~ Normal(0, {bias_std:g}): y = cumsum(x) dt"
    return _make("integration", x, y, batch, dt, desc, params)


# ------------------------------------------------------------------------------- spiking tasks


def rate_pattern(T: int = 200, *, n_in: int = 20, n_out: int = 2, input_rate: float = 20.0, peak: float = 40.0,
                 width: float = 0.03, batch: int | None = 8, dt: float = 1e-3,
                 seed: int | np.random.Generator = 0) -> Task:
    """Target spike-rate pattern: Poisson input spikes (0/1 per step, rate ``input_rate`` [Hz]) on
    ``n_in`` channels; each output's target is a rate [Hz] that rises to ``peak`` in a Gaussian
    bump of standard deviation ``width`` [s] at a time of its own (evenly spread over the trial),
    the same for every sequence.  For spiking networks through a leaky readout."""
    T = check_int("T", T, minimum=2)
    n_in = check_int("n_in", n_in, minimum=1)
    n_out = check_int("n_out", n_out, minimum=1)
    input_rate = check_positive("input_rate", input_rate, unit="Hz")
    peak = check_positive("peak", peak, unit="Hz")
    width = check_positive("width", width, unit="s")
    batch = _batch(batch)
    dt = check_positive("dt", dt, unit="s")
    if input_rate * dt > 1:
        raise ValueError(f"`input_rate` x `dt` must be <= 1 (at most one spike per step); got {input_rate * dt:g}.")
    rng, seed_rec = _rng(seed)
    B = _shape(batch)
    x = (rng.random((B, T, n_in)) < input_rate * dt).astype(float)
    t = (np.arange(T) + 1) * dt
    centres = (np.arange(n_out) + 1) / (n_out + 1) * T * dt
    y1 = peak * np.exp(-0.5 * ((t[:, None] - centres[None, :]) / width) ** 2)
    y = np.broadcast_to(y1, (B, T, n_out)).copy()
    params = {"T": T, "n_in": n_in, "n_out": n_out, "input_rate": input_rate, "peak": peak, "width": width,
              "batch": batch, "dt": dt, "seed": seed_rec}
    desc = f"Poisson input at {input_rate:g} Hz -> {n_out} Gaussian rate bumps peaking at {peak:g} Hz"
    return _make("rate_pattern", x, y, batch, dt, desc, params)


def random_manifolds(T: int = 100, *, n_in: int = 20, n_classes: int = 2, dim: int = 1, smoothness: float = 1.0,
                     batch: int = 32, dt: float = 1e-3, seed: int | np.random.Generator = 0) -> Task:
    """Spike-timing classification on random manifolds (after Zenke & Vogels 2021, Neural
    Computation): each class is a smooth random map from a latent point ``theta`` in [0, 1]^dim to
    one spike time per input channel (in the first 80 % of the trial); a sample draws its class
    and ``theta`` and emits those spikes (``x`` 0/1 per step).  The target is the one-hot class at
    every step (train with ``loss="cross_entropy"`` and ``weights`` on the end of the trial).
    ``smoothness`` scales the frequencies of the random maps (larger: rougher manifolds)."""
    T = check_int("T", T, minimum=5)
    n_in = check_int("n_in", n_in, minimum=1)
    n_classes = check_int("n_classes", n_classes, minimum=2)
    dim = check_int("dim", dim, minimum=1)
    smoothness = check_positive("smoothness", smoothness)
    batch = check_int("batch", batch, minimum=1)
    dt = check_positive("dt", dt, unit="s")
    rng, seed_rec = _rng(seed)
    n_freq = 3
    freq = rng.normal(0.0, smoothness, (n_classes, n_in, n_freq, dim))
    phase = rng.uniform(0.0, 2 * np.pi, (n_classes, n_in, n_freq))
    amp = rng.normal(0.0, 1.0, (n_classes, n_in, n_freq))
    labels = rng.integers(0, n_classes, batch)
    theta = rng.random((batch, dim))
    # smooth coordinates in (0, 1) per (sample, input): a logistic of a random Fourier series
    arg = np.einsum("bd,bifd->bif", theta, freq[labels]) * 2 * np.pi + phase[labels]
    u = 1.0 / (1.0 + np.exp(-np.sum(amp[labels] * np.sin(arg), axis=-1)))
    steps = np.minimum((u * 0.8 * T).astype(int), T - 1)
    x = np.zeros((batch, T, n_in))
    b_idx, i_idx = np.meshgrid(np.arange(batch), np.arange(n_in), indexing="ij")
    x[b_idx, steps, i_idx] = 1.0
    y = np.broadcast_to(np.eye(n_classes)[labels][:, None, :], (batch, T, n_classes)).copy()
    params = {"T": T, "n_in": n_in, "n_classes": n_classes, "dim": dim, "smoothness": smoothness, "batch": batch,
              "dt": dt, "seed": seed_rec}
    desc = f"{n_classes} random {dim}-d manifolds of {n_in}-channel spike-time patterns (Zenke & Vogels 2021)"
    return _make("random_manifolds", x, y, batch, dt, desc, params)


# ------------------------------------------------------------------------------- static tasks


def _classes(name, x, labels, n_classes, description, params) -> Task:
    return Task(name=name, x=x, y=np.eye(n_classes)[labels], dt=None, description=description, params=params)


def xor(n_samples: int = 200, *, noise: float = 0.2, seed: int | np.random.Generator = 0) -> Task:
    """Noisy XOR (static): corners ``(+-1, +-1)`` plus ``Normal(0, noise)``; class 1 where the
    signs differ.  ``x`` (n_samples, 2), ``y`` one-hot (n_samples, 2)."""
    n = check_int("n_samples", n_samples, minimum=4)
    noise = check_positive("noise", noise, allow_zero=True)
    rng, seed_rec = _rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    x = (2.0 * corners - 1.0) + noise * rng.standard_normal((n, 2))
    labels = corners[:, 0] ^ corners[:, 1]
    return _classes("xor", x, labels, 2, f"noisy XOR: corners (+-1, +-1) + Normal(0, {noise:g}), 2 classes",
                    {"n_samples": n, "noise": noise, "seed": seed_rec})


def circles(n_samples: int = 200, *, factor: float = 0.5, noise: float = 0.05,
            seed: int | np.random.Generator = 0) -> Task:
    """Two concentric circles (static): radius 1 (class 0) and ``factor`` (class 1), uniform
    angles, plus ``Normal(0, noise)``.  ``x`` (n_samples, 2), ``y`` one-hot (n_samples, 2)."""
    n = check_int("n_samples", n_samples, minimum=2)
    factor = check_real("factor", factor)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"`factor` (inner radius / outer radius) must be in (0, 1); got {factor}.")
    noise = check_positive("noise", noise, allow_zero=True)
    rng, seed_rec = _rng(seed)
    labels = rng.integers(0, 2, size=n)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
    radius = np.where(labels == 1, factor, 1.0)
    x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1) + noise * rng.standard_normal((n, 2))
    return _classes("circles", x, labels, 2, f"concentric circles (radii 1 and {factor:g}) + Normal(0, {noise:g})",
                    {"n_samples": n, "factor": factor, "noise": noise, "seed": seed_rec})


# ------------------------------------------------------------------------------- registry


_GENERATORS = {"lecture_sequence": lecture_sequence, "sine": sine, "multi_sine": multi_sine,
               "delayed_response": delayed_response, "flip_flop": flip_flop, "integration": integration,
               "rate_pattern": rate_pattern, "random_manifolds": random_manifolds, "xor": xor, "circles": circles}

#: names accepted by :func:`get_task`
TASKS: tuple[str, ...] = tuple(_GENERATORS)
#: the static tasks among them (samples without time, for fixed-point learning)
STATIC_TASKS: tuple[str, ...] = ("xor", "circles")


def get_task(name: str | Mapping, /, **kwargs) -> Task:
    """Generate a task by name.

    Parameters
    ----------
    name : str or dict
        One of :data:`TASKS`, or a dict ``{"name": ..., <arguments>}`` as in a scenario file.
    **kwargs
        Arguments of the generator (e.g. ``T``, ``batch``, ``seed``); unknown ones raise
        ``ValueError`` naming the nearest valid argument.

    Returns
    -------
    Task

    Raises
    ------
    ValueError
        Unknown task name or argument (with a suggestion), or invalid argument values.

    Examples
    --------
    >>> get_task("flip_flop", T=50, batch=2)
    Task(name='flip_flop', batch=2, T=50, n_in=3, n_out=3, dt=0.01)
    """
    if isinstance(name, Mapping):
        d = dict(name)
        if "name" not in d:
            raise ValueError(f"a task dict needs a `name` key (one of {list(TASKS)}); got keys {sorted(d)}.")
        task_name = d.pop("name")
        overlap = set(d) & set(kwargs)
        if overlap:
            raise ValueError(f"arguments {sorted(overlap)} given both in the dict and as keywords.")
        return get_task(task_name, **d, **kwargs)
    name = check_choice("name", name, TASKS)
    gen = _GENERATORS[name]
    valid = list(inspect.signature(gen).parameters)
    for key in kwargs:
        if key not in valid:
            raise ValueError(f"`{key}` is not an argument of the {name!r} task (valid: {valid})." + suggest(key, valid))
    return gen(**kwargs)
