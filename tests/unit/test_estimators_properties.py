"""Property tests of the rate estimators (hypothesis): invariants over random spike sets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikerate.estimators import KERNELS, estimate_rate, spike_statistics

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

DT = 1e-3
spike_steps = st.lists(st.integers(min_value=0, max_value=1000), min_size=0, max_size=40)


@settings(max_examples=40, deadline=None, database=None)
@given(steps=spike_steps, kernel=st.sampled_from(["gaussian", "epanechnikov", "triangular", "laplacian"]),
       sigma=st.sampled_from([0.01, 0.03, 0.1]))
def test_border_corrected_rate_integrates_to_count_and_is_nonnegative(steps, kernel, sigma):
    t = np.array(steps, float) * DT
    ds = estimate_rate((t, np.zeros(t.size, int)), duration=1.0, sigma=sigma, dt=DT / 4, kernel=kernel)
    r = ds.rate.values[:, 0]
    assert np.all(r >= 0)
    assert np.trapezoid(r, dx=DT / 4) == pytest.approx(t.size, rel=1e-3, abs=1e-9)


@settings(max_examples=30, deadline=None, database=None)
@given(steps=spike_steps, ids=st.lists(st.integers(0, 3), min_size=40, max_size=40),
       perm=st.permutations(range(4)), kernel=st.sampled_from(list(KERNELS)))
def test_relabelling_permutes(steps, ids, perm, kernel):
    t = np.array(steps, float) * DT
    i = np.array(ids[:t.size], int)
    perm = np.array(perm)
    kw = dict(duration=1.0, n_neurons=4, sigma=0.02, dt=DT, kernel=kernel)
    a = estimate_rate((t, i), **kw).rate.values
    b = estimate_rate((t, perm[i]), **kw).rate.values
    np.testing.assert_array_equal(b[:, perm], a)


@settings(max_examples=30, deadline=None, database=None)
@given(steps=st.lists(st.integers(200, 600), min_size=1, max_size=30), shift=st.integers(1, 200),
       kernel=st.sampled_from(list(KERNELS)))
def test_shifting_spikes_shifts_the_rate(steps, shift, kernel):
    t = np.array(steps, float) * DT
    kw = dict(duration=1.0, sigma=0.01, dt=DT, kernel=kernel, border="none")
    a = estimate_rate(t, **kw).rate.values[:, 0]
    b = estimate_rate(t + shift * DT, **kw).rate.values[:, 0]
    np.testing.assert_allclose(b[shift:], a[:-shift], rtol=1e-9, atol=1e-9 * max(1.0, a.max()))


@settings(max_examples=30, deadline=None, database=None)
@given(steps=spike_steps, bw=st.sampled_from([0.01, 0.03, 0.3, 0.7]))
def test_histogram_counts_every_spike(steps, bw):
    t = np.array(steps, float) * DT
    ds = estimate_rate(t, duration=1.0, method="histogram", bin_width=bw)
    assert float((ds.rate * (ds.bin_end - ds.bin_start)).sum()) == pytest.approx(t.size)
    stats = spike_statistics(t, duration=1.0)
    assert stats.n_spikes.item() == t.size and stats.rate.item() == t.size
