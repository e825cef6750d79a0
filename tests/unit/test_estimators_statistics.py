"""spike_statistics: hand-computed values, regular and Poisson trains, naive twin, empty input."""

import itertools
import math

import numpy as np
import pytest

from spikerate.estimators import spike_statistics
from spikerate.estimators.statistics import _sample_pairs
from spikerate.io import validate_dataset
from tests.reference import naive_rates as naive

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)


def test_tiny_example_by_hand():
    t = np.array([0.0, 0.1, 0.3, 0.6])  # ISIs 0.1, 0.2, 0.3
    ds = spike_statistics((t, np.zeros(4, int)), duration=1.0, fano_window=0.25, seed=0)
    validate_dataset(ds)
    assert ds.isi_mean.item() == pytest.approx(0.2, rel=1e-12)
    assert ds.isi_cv.item() == pytest.approx(math.sqrt(0.02 / 3) / 0.2, rel=1e-12)
    assert ds.cv2.item() == pytest.approx((2 * 0.1 / 0.3 + 2 * 0.1 / 0.5) / 2, rel=1e-12)
    assert ds.lv.item() == pytest.approx(3 / 2 * ((0.1 / 0.3) ** 2 + (0.1 / 0.5) ** 2), rel=1e-12)
    # counts in [0, .25), [.25, .5), [.5, .75), [.75, 1): 2, 1, 1, 0 -> var (ddof 1) / mean
    c = np.array([2, 1, 1, 0])
    assert ds.fano.item() == pytest.approx(c.var(ddof=1) / c.mean(), rel=1e-12)
    assert ds.rate.item() == 4.0 and ds.n_spikes.item() == 4 and ds.n_isi.item() == 3


def test_regular_train_has_zero_variability():
    t = (np.arange(1000) + 0.5) * 0.01  # 100 Hz, away from the window edges: 10 spikes per window
    ds = spike_statistics((t, np.zeros(t.size, int)), duration=10.0, fano_window=0.1)
    assert abs(ds.isi_cv.item()) < 1e-10 and abs(ds.cv2.item()) < 1e-10 and abs(ds.lv.item()) < 1e-10
    assert ds.isi_mean.item() == pytest.approx(0.01, rel=1e-12)
    assert ds.fano.item() == pytest.approx(0.0, abs=1e-12)


def test_poisson_train_is_irregular_within_sampling_error():
    rng = np.random.default_rng(1)
    rate, duration, n = 50.0, 200.0, 4
    t = rng.uniform(0, duration, rng.poisson(rate * duration * n))
    ids = rng.integers(0, n, t.size)
    ds = spike_statistics((t, ids), duration=duration, fano_window=0.2, n_pairs=6, seed=0)
    m = ds.n_isi.values.min()  # ~10000 ISIs per neuron
    # standard errors: CV of exponential ISIs ~ 1/sqrt(m); LV, CV2 similar; Fano: sqrt(2 / windows)
    for name in ("isi_cv", "lv", "cv2"):
        np.testing.assert_allclose(ds[name].values, 1.0, atol=5 * 1.5 / math.sqrt(m))
    np.testing.assert_allclose(ds.fano.values, 1.0, atol=5 * math.sqrt(2 / (duration / 0.2)))
    np.testing.assert_allclose(ds.rate.values, rate, atol=5 * math.sqrt(rate / duration))
    # independent trains: correlations ~ N(0, 1/windows)
    assert np.all(np.abs(ds.count_correlation.values) < 5 / math.sqrt(duration / 0.2))


def test_statistics_equal_the_naive_twin_with_trials():
    rng = np.random.default_rng(7)
    n, n_tr, dur = 6, 3, 2.0
    t = rng.uniform(0, dur, 150)
    i = rng.integers(0, n - 1, 150)  # neuron n-1 stays empty
    k = rng.integers(0, n_tr, 150)
    i[:2], k[:2] = 0, 0
    ds = spike_statistics((t, i, k), duration=dur, n_neurons=n, fano_window=0.5, n_pairs=100, seed=3)
    for nrn in range(n):
        trains = [np.sort(t[(i == nrn) & (k == tr)]) for tr in range(n_tr)]
        ref = naive.isi_stats(trains)
        got = [ds[v].values[nrn] for v in ("isi_mean", "isi_cv", "cv2", "lv")]
        np.testing.assert_allclose(got, ref, rtol=1e-12, equal_nan=True)
    assert ds.rate.values[-1] == 0 and ds.n_spikes.values[-1] == 0
    assert np.isnan(ds.isi_cv.values[-1]) and np.isnan(ds.fano.values[-1])
    assert ds.sizes["pair"] == n * (n - 1) // 2  # all pairs when fewer than asked
    # correlation of neuron pairs from explicit count vectors
    counts = np.zeros((n, n_tr * 4))
    for tt, nn, kk in zip(t, i, k):
        counts[nn, kk * 4 + int(tt // 0.5)] += 1
    for p in range(ds.sizes["pair"]):
        a, b = ds.pair_i.values[p], ds.pair_j.values[p]
        ref = np.corrcoef(counts[a], counts[b])[0, 1] if counts[b].std() > 0 else np.nan
        np.testing.assert_allclose(ds.count_correlation.values[p], ref, rtol=1e-12, equal_nan=True)


def test_coincident_spikes_do_not_divide_by_zero():
    ds = spike_statistics(np.array([0.0, 0.0, 0.0, 0.5, 0.5]), duration=1.0)
    assert ds.isi_mean.item() == pytest.approx(0.125) and np.isfinite(ds.isi_cv.item())
    assert ds.cv2.item() == pytest.approx(2.0) and ds.lv.item() == pytest.approx(3.0)  # pairs (0, .5), (.5, 0)
    zero = spike_statistics(np.array([0.3, 0.3, 0.3]), duration=1.0)
    assert zero.isi_mean.item() == 0 and np.isnan(zero.isi_cv.item()) and np.isnan(zero.cv2.item())


def test_identical_trains_are_fully_correlated():
    t = np.array([0.05, 0.31, 0.33, 0.72])
    ds = spike_statistics((np.r_[t, t], np.r_[np.zeros(4, int), np.ones(4, int)]), duration=1.0, fano_window=0.1)
    assert ds.count_correlation.item() == pytest.approx(1.0, rel=1e-12)


def test_pair_sampling_is_seeded_and_covers_valid_pairs():
    for n in (2, 3, 7, 50):
        i, j = _sample_pairs(n, 10**6, 0)
        assert list(zip(i, j)) == list(itertools.combinations(range(n), 2))
    i, j = _sample_pairs(1000, 300, 5)
    assert np.all(i < j) and np.all(j < 1000) and len(set(zip(i, j))) == 300
    i2, j2 = _sample_pairs(1000, 300, 5)
    assert np.array_equal(i, i2) and np.array_equal(j, j2)


def test_empty_input_and_single_spikes():
    ds = spike_statistics((np.array([]), np.array([], int)), duration=1.0, n_neurons=3, fano_window=0.1)
    assert np.all(ds.rate.values == 0) and np.all(ds.n_spikes.values == 0)
    assert np.all(np.isnan(ds.isi_mean.values)) and np.all(np.isnan(ds.fano.values))
    assert np.all(np.isnan(ds.count_correlation.values))
    one = spike_statistics(np.array([0.5]), duration=1.0)
    assert one.rate.item() == 1.0 and np.isnan(one.isi_cv.item()) and one.sizes["pair"] == 0
    two = spike_statistics(np.array([0.2, 0.5]), duration=1.0)
    assert two.isi_mean.item() == pytest.approx(0.3) and np.isnan(two.isi_cv.item()) and np.isnan(two.lv.item())


def test_simulated_dataset(small_net):
    from spikerate.sim import simulate
    sp = simulate(small_net, t_stop=0.2, seed=3, trials=2)
    ds = spike_statistics(sp, fano_window=0.05, n_pairs=20, seed=1)
    validate_dataset(ds)
    assert ds.sizes["neuron"] == 200 and ds.sizes["pair"] == 20
    np.testing.assert_allclose(ds.rate.values, np.bincount(sp.spike_neuron.values, minlength=200) / 0.4)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(fano_window=-0.1), ValueError, "`fano_window`"),
    (dict(fano_window="0.1"), TypeError, "`fano_window`"),
    (dict(n_pairs=-1), ValueError, "`n_pairs`"),
    (dict(seed=1.5), TypeError, "`seed`"),
])
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        spike_statistics((np.array([0.1]), np.array([0])), duration=1.0, **kwargs)
