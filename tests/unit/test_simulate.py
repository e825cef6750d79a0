"""simulate(): the Dataset it returns, trials, determinism, recording and memory."""

import os
import subprocess
import sys

import numpy as np
import pytest

from spikerate.io import validate_dataset
from spikerate.sim import cuba_network, estimate_memory, simulate

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

SMALL = dict(n_neurons=400, p=0.1)


def test_spikes_dataset_schema():
    ds = simulate(cuba_network(**SMALL), t_stop=0.1, seed=1)
    validate_dataset(ds)
    assert ds.attrs["schema"] == "spikerate.spikes/1"
    assert ds.spike_time.dtype == np.float64 and ds.spike_neuron.dtype == np.int32
    assert ds.spike_trial.dtype == np.int32
    assert ds.spike_time.attrs["units"] == "s"
    for key in ("compile_time", "build_time", "run_time", "dt", "duration", "seed", "params"):
        assert key in ds.attrs
    assert ds.attrs["duration"] == pytest.approx(0.1)
    # neurons are numbered population by population in declared order
    pops = ds.population.values
    assert (pops[:320] == "E").all() and (pops[320:] == "I").all()
    # spikes sorted by (trial, time), times on the grid in (0, t_stop]
    t = ds.spike_time.values
    assert np.all(np.diff(t) >= 0) and t.min() > 0 and t.max() <= 0.1 + 1e-12
    np.testing.assert_allclose(t / 1e-4, np.rint(t / 1e-4), atol=1e-6)


def test_spikes_cost_at_most_16_bytes():
    ds = simulate(cuba_network(**SMALL), t_stop=0.2, seed=1)
    n = ds.sizes["spike"]
    assert n > 100
    assert (ds.spike_time.nbytes + ds.spike_neuron.nbytes + ds.spike_trial.nbytes) / n <= 16
    # nothing of size (time x neuron) unless asked for
    assert all(v.size <= max(n, ds.sizes["neuron"]) for v in ds.variables.values())


def test_same_seed_same_spikes_and_trials_independent_of_count():
    net = cuba_network(**SMALL)
    a = simulate(net, t_stop=0.1, seed=5, trials=3)
    b = simulate(net, t_stop=0.1, seed=5, trials=3, n_threads=1)
    one = simulate(net, t_stop=0.1, seed=5, trials=1)
    for v in ("spike_time", "spike_neuron", "spike_trial"):
        np.testing.assert_array_equal(a[v].values, b[v].values)
    first = a.spike_trial.values == 0
    np.testing.assert_array_equal(a.spike_time.values[first], one.spike_time.values)
    np.testing.assert_array_equal(a.spike_neuron.values[first], one.spike_neuron.values)
    # trials differ from each other
    second = a.spike_trial.values == 1
    assert not np.array_equal(a.spike_neuron.values[first][:50], a.spike_neuron.values[second][:50])
    assert a.sizes["trial"] == 3
    other = simulate(net, t_stop=0.1, seed=6)
    assert not np.array_equal(other.spike_neuron.values[:50], one.spike_neuron.values[:50])


def test_none_seed_is_recorded_and_reproduces():
    net = cuba_network(**SMALL)
    a = simulate(net, t_stop=0.05, seed=None)
    b = simulate(net, t_stop=0.05, seed=a.attrs["seed"])
    np.testing.assert_array_equal(a.spike_neuron.values, b.spike_neuron.values)


_SCRIPT = """
import hashlib, numpy as np
from spikerate.sim import cuba_network, simulate
ds = simulate(cuba_network(n_neurons=400, p=0.1), t_stop=0.1, seed=3, trials=4)
h = hashlib.sha256()
for v in ("spike_time", "spike_neuron", "spike_trial"):
    h.update(np.ascontiguousarray(ds[v].values).tobytes())
print(h.hexdigest())
"""


def test_bit_identical_whatever_numba_num_threads():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    digests = set()
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        out = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_state_recording_every_k_steps():
    net = cuba_network(**SMALL)
    ds = simulate(net, t_stop=0.01, seed=2, record=[0, 5, 399], record_every=10)
    assert ds.u.dims == ("time", "recorded") and ds.u.shape == (11, 3)
    assert ds.I.dims == ("time", "channel", "recorded") and list(ds.channel.values) == ["e", "i"]
    np.testing.assert_allclose(ds.time.values, np.arange(11) * 1e-3)
    assert ds.u.attrs["units"] == "mV"
    full = simulate(net, t_stop=0.01, seed=2, record="all")
    np.testing.assert_array_equal(ds.u.values, full.u.values[::10][:, [0, 5, 399]])
    np.testing.assert_array_equal(full.spike_neuron.values, ds.spike_neuron.values)  # recording changes nothing
    trials = simulate(net, t_stop=0.01, seed=2, record="I", trials=2)
    assert trials.u.dims == ("trial", "time", "recorded") and trials.sizes["recorded"] == 80


def test_spike_buffers_grow_beyond_initial_capacity():
    """A network firing far above the initial buffer's assumed rate keeps every spike."""
    from spikerate.sim import Current, LIFParams, Network, Population
    params = LIFParams(tau_m=10e-3, v_rest=0.0, v_th=1.0, v_reset=0.0, t_ref=0.0)
    net = Network(populations=[Population(name="P", n=50, params=params)],
                  inputs=[Current(target="P", amplitude=1e4)])
    ds = simulate(net, t_stop=0.5, seed=0)
    # u jumps above threshold every step: one spike per neuron per step
    assert ds.sizes["spike"] == 50 * 5000


def test_memory_estimate_and_refusal():
    net = cuba_network()
    est = estimate_memory(net, t_stop=1.0)
    assert est["total"] == sum(v for k, v in est.items() if k != "total")
    assert est["connectivity"] > 320_000 * 8  # about 320k synapses
    big = estimate_memory(net, t_stop=1.0, trials=10, record="all", record_every=1)
    assert big["recording"] > 10 * 4000 * 10_000 * 8  # dense state only when asked
    from spikerate.errors import InsufficientMemoryError
    with pytest.raises(InsufficientMemoryError, match="GiB"):
        simulate(net, t_stop=1.0, record="all", max_memory=1e6)
