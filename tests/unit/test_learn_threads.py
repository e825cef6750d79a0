"""Learning results do not depend on the number of threads: value_and_grad and fit of a rate
model (BPTT, RTRL) and of a spiking model (SurrogateBPTT) give the same bits with 1 and with 2
threads of numba, OpenMP, OpenBLAS and MKL (issue 8).

The sizes are those where a 2-thread OpenBLAS rounds differently (n = 200, a batch of 32: the
(32, 200) @ (200, 200) products of the backward pass); spikerate runs its learning with one BLAS
thread (spikerate._blas), without which the BPTT and SurrogateBPTT digests differ.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_SCRIPT = """
import hashlib
import numpy as np
from spikerate.learn import BPTT, RTRL, SpikingModel, SurrogateBPTT, fit, value_and_grad
from spikerate.models import RateModel

rng = np.random.default_rng(0)
B, T, n = 32, 50, 200
out = {}

def rate(n):
    return RateModel(w=rng.normal(0, 1 / np.sqrt(n), (n, n)), u=rng.normal(0, 1, (n, 3)), b=rng.normal(0, 0.1, n),
                     tau=0.02, g="tanh", trainable=("w", "u", "b"))

m = rate(n)
x, y = rng.normal(0, 1, (B, T, 3)), rng.normal(0, 0.5, (B, T, n))
readout, y4 = rng.normal(0, 0.3, (4, n)), rng.normal(0, 0.5, (B, T, 4))
out["bptt"] = value_and_grad(m, x, y, method=BPTT(), dt=1e-3)
out["bptt_readout"] = value_and_grad(m, x, y4, method=BPTT(), dt=1e-3, readout=readout, trainable=("w", "readout"))
out["fit_bptt"] = fit(m, x, y, method=BPTT(), optimizer="adam", epochs=2, dt=1e-3, progress=False)
small = rate(20)
xs, ys = x[:8, :20], rng.normal(0, 0.5, (8, 20, 20))
out["rtrl"] = value_and_grad(small, xs, ys, method=RTRL(), dt=1e-3)
out["fit_rtrl"] = fit(small, xs, ys, method=RTRL(), optimizer="adam", epochs=2, dt=1e-3, progress=False)
sp = SpikingModel(w=rng.normal(0, 0.5, (n, n)), u=rng.normal(0, 2.0, (n, 3)), b=np.full(n, 0.5), tau_m=20e-3,
                  tau_s=5e-3, tau_out=10e-3, v_th=1.0)
xp = np.abs(rng.normal(0, 3, (B, T, 3)))
out["surrogate_bptt"] = value_and_grad(sp, xp, y, method=SurrogateBPTT(), dt=1e-3, trainable=("w", "u", "b"))
out["fit_surrogate_bptt"] = fit(sp, xp, y, method=SurrogateBPTT(), optimizer="adam", epochs=2, dt=1e-3,
                                trainable=("w",), progress=False)
for key, value in out.items():
    h = hashlib.sha256()
    if isinstance(value, tuple):  # (loss, grads)
        h.update(np.float64(value[0]).tobytes())
        arrays = [value[1][k] for k in sorted(value[1])]
    else:  # the training Dataset: losses, gradient norms, parameters and updates of every epoch
        arrays = [value[k].values for k in sorted(value.data_vars)]
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    print(key, h.hexdigest())
"""

THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def test_learning_bit_identical_whatever_the_number_of_threads():
    root = str(Path(__file__).resolve().parents[2])
    results = {}
    for threads in ("1", "2"):
        env = dict(os.environ, **{v: threads for v in THREAD_VARS})
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        out = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True,
                             timeout=300)
        results[threads] = dict(line.split() for line in out.stdout.strip().splitlines())
    assert sorted(results["1"]) == sorted(["bptt", "bptt_readout", "fit_bptt", "rtrl", "fit_rtrl", "surrogate_bptt",
                                           "fit_surrogate_bptt"])
    differ = [k for k in results["1"] if results["1"][k] != results["2"][k]]
    assert not differ, f"results differ between 1 and 2 threads: {differ}"
