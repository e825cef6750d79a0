"""Shared fixtures for the spikerate test-suite.

The package is normally installed (``pip install '.[test]'``); when it is not importable (a bare
checkout run with plain ``pytest``), the repository root is put on ``sys.path`` as a fallback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    import spikerate  # noqa: F401
except ImportError:  # pragma: no cover - only for an uninstalled checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import spikerate  # noqa: F401

from spikerate.sim import cuba_network


@pytest.fixture
def tmp_cwd(tmp_path, monkeypatch):
    """Run the test inside its own empty temporary directory (restored afterwards)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def small_net():
    """A 200-neuron CUBA network (160 E + 40 I, p = 0.1): fast to build and to simulate."""
    return cuba_network(n_neurons=200, p=0.1)
