"""Timing shared by the benchmarks (run with spikerate's Python, not the peers' virtualenv)."""

from __future__ import annotations

import statistics
import time


def median_calls(fn, calls: int, *, pause: float = 0.3, warmup: bool = True) -> float:
    """Median wall time of ``calls`` calls of ``fn()``, after a pause and one untimed call: numpy
    (and scipy) and the compiled kernels use two copies of OpenBLAS, and XLA has its own pool;
    the threads of the one used last keep spinning for a while after it returns, which on 2
    cores halves the other's speed."""
    if pause:
        time.sleep(pause)
    if warmup:
        fn()
    ts = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
