"""Exceptions raised by spikerate.

Every public function raises :class:`ValueError` or :class:`TypeError` for bad input, at the
boundary, with a message that names the argument, the value and the fix.  The classes below
specialise those for the cases a caller may want to catch separately.
"""

from __future__ import annotations


class SpikerateError(Exception):
    """Base class of the errors that are specific to spikerate."""


class ScenarioError(SpikerateError, ValueError):
    """A scenario file or a ``--set`` override has an unknown key or a bad value."""


class SchemaError(SpikerateError, ValueError):
    """A Dataset or file does not follow the spikerate schema (what is missing is named)."""


class InsufficientMemoryError(SpikerateError, MemoryError):
    """The memory estimate of a run exceeds what the machine (or ``max_memory``) allows."""


class ConvergenceError(SpikerateError, RuntimeError):
    """An iterative solver did not converge (raised under ``throw=True``)."""


class TrainingError(SpikerateError, FloatingPointError):
    """Training stopped because the loss or a gradient became non-finite; ``history`` holds the
    training Dataset up to the last epoch with finite values."""

    def __init__(self, message: str, history=None):
        super().__init__(message)
        self.history = history
