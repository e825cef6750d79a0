"""The memory available to a new allocation, shared by every memory estimate.

:func:`spikerate.simulate`, :func:`spikerate.estimate_rate` and the RTRL sensitivities
(:mod:`spikerate.learn.gradients`) estimate the bytes they need before allocating and compare
with :func:`available_memory`; callers look it up as ``_memory.available_memory()`` (through
the module), so a test lowers it everywhere with one monkeypatch.
"""

from __future__ import annotations

import os


def available_memory() -> int:
    """Bytes of memory available to a new allocation (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 2**63 - 1


def gib(n_bytes: float) -> str:
    """``n_bytes`` as GiB for messages (``'1.25 GiB'``)."""
    g = n_bytes / 2**30
    return f"{g:.2f} GiB" if g < 1e5 else f"{g:.3g} GiB"
