"""One BLAS thread for the learning computations, so that their results are bit-identical
whatever ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` say.

A multi-threaded OpenBLAS partitions a matrix product differently with the number of threads
and rounds differently: ``(32, 400) @ (400, 400)`` or ``(6400, 400) @ (400, 400)`` change in the
last bits between 1 and 2 threads (OpenBLAS 0.3.31), and through a training run of many steps
the parameters do too.  The learning entry points (:func:`spikerate.learn.value_and_grad`,
:func:`~spikerate.learn.fit`, :func:`~spikerate.learn.predict`) therefore run with one BLAS thread
(threadpoolctl, for numba's BLAS -- SciPy's copy, which ``np.dot`` in the kernels calls -- and
NumPy's alike), as the simulator runs each trial in one thread.  On the 2-core machines this
targets it costs nothing: two BLAS threads were slower there (they spin while the other core is
busy).  The limit is process-wide while a call runs (threadpoolctl cannot do better), so calls
made concurrently from several Python threads share it.
"""

from __future__ import annotations

import functools
import importlib
import threading

_LOCK = threading.Lock()
_CONTROLLER = None


def _controller():
    """The threadpoolctl controller of the BLAS libraries loaded (SciPy's, which numba uses, is
    loaded first), built once: building it scans the process's libraries (~4 ms)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        with _LOCK:
            if _CONTROLLER is None:
                importlib.import_module("scipy.linalg.cython_blas")  # (the BLAS numba's np.dot calls)
                from threadpoolctl import ThreadpoolController
                _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def one_blas_thread(func):
    """Decorator: run ``func`` with one BLAS thread (restored afterwards; ~15 us per call)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _controller().limit(limits=1, user_api="blas"):
            return func(*args, **kwargs)
    return wrapper
