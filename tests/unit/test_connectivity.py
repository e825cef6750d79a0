"""Connectivity builders: statistics within binomial tolerance, autapses, exact matrices."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from spikerate.sim import (AllToAll, Channel, FixedInDegree, FixedProbability, FromMatrix, LIFParams, Network,
                           Normal, Population, Projection, connectivity, simulate)

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)


def net_with(rule, *, n_pre=300, n_post=None, autapses=True, weight=None, same=False):
    pops = [Population(name="A", n=n_pre)]
    if not same:
        pops.append(Population(name="B", n=n_post or n_pre))
    post = "A" if same else "B"
    return Network(populations=pops, channels=[Channel(name="e", tau_s=5e-3)],
                   projections=[Projection(pre="A", post=post, channel="e", rule=rule, weight=weight,
                                           autapses=autapses)])


def test_fixed_probability_count_and_indegree():
    n, p = 400, 0.05
    w = connectivity(net_with(FixedProbability(p=p), n_pre=n, n_post=n), seed=1)["e"]
    m = n * n
    count = w.nnz
    assert abs(count - p * m) < 5 * math.sqrt(m * p * (1 - p))
    indeg = np.diff(w[n:, :n].tocsr().indptr)  # post B rows, pre A columns
    # in-degrees are Binomial(n, p): mean and variance within their sampling error
    assert abs(indeg.mean() - n * p) < 5 * math.sqrt(n * p * (1 - p) / n)
    var = n * p * (1 - p)
    assert abs(indeg.var(ddof=1) - var) < 5 * var * math.sqrt(2 / (n - 1))


def test_fixed_probability_pairs_are_uniform():
    """Every (pre, post) pair is equally likely: counts per pre neuron pass a chi-square test."""
    n, p = 200, 0.1
    total = np.zeros(n)
    for seed in range(5):
        w = connectivity(net_with(FixedProbability(p=p), n_pre=n, n_post=n), seed=seed)["e"].tocsc()
        total += np.diff(w[n:, :n].tocsc().indptr)
    chi2 = ((total - total.mean()) ** 2 / total.mean()).sum()
    assert stats.chi2.sf(chi2, n - 1) > 1e-4


@pytest.mark.parametrize("autapses", [True, False])
def test_autapses(autapses):
    n = 100
    w = connectivity(net_with(FixedProbability(p=0.5), n_pre=n, same=True, autapses=autapses), seed=3)["e"]
    diag = w.diagonal()
    if autapses:
        assert np.count_nonzero(diag) > 25  # about 50 expected
    else:
        assert np.count_nonzero(diag) == 0


@pytest.mark.parametrize("autapses,multapses", [(True, False), (False, False), (False, True)])
def test_fixed_indegree(autapses, multapses):
    n, k = 150, 20
    net = Network(populations=[Population(name="A", n=n)], channels=[Channel(name="e", tau_s=5e-3)],
                  projections=[Projection(pre="A", post="A", channel="e", rule=FixedInDegree(k=k, multapses=multapses),
                                          weight=1.0, autapses=autapses)])
    w = connectivity(net, seed=2)["e"].tocsr()
    np.testing.assert_allclose(np.asarray(w.sum(axis=1)).ravel(), k)  # weight 1: summed multapses count
    if not multapses:
        assert np.all(np.diff(w.indptr) == k)  # k distinct partners
    if not autapses:
        assert np.count_nonzero(w.diagonal()) == 0
    # presynaptic choice is uniform: chi-square over out-degrees
    out = np.asarray(w.sum(axis=0)).ravel()
    expected = k  # each neuron is a candidate for n (or n - 1) posts, each choosing k of n (or n - 1)
    chi2 = ((out - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, n - 1) > 1e-4


def test_fixed_indegree_too_large_is_rejected():
    with pytest.raises(ValueError, match="`k`"):
        net = Network(populations=[Population(name="A", n=10)], channels=[Channel(name="e")],
                      projections=[Projection(pre="A", post="A", channel="e", rule=FixedInDegree(k=10),
                                              autapses=False)])
        connectivity(net, seed=0)


def test_all_to_all():
    w = connectivity(net_with(AllToAll(), n_pre=7, same=True, autapses=False, weight=0.5), seed=0)["e"]
    want = 0.5 * (np.ones((7, 7)) - np.eye(7))
    np.testing.assert_array_equal(w.toarray(), want)


@pytest.mark.parametrize("sparse", [False, True])
def test_from_matrix_round_trip(sparse):
    rng = np.random.default_rng(0)
    m = rng.normal(size=(5, 8)) * (rng.random((5, 8)) < 0.4)
    rule = FromMatrix(sp.csr_matrix(m) if sparse else m)
    w = connectivity(net_with(rule, n_pre=8, n_post=5), seed=0)["e"].toarray()
    np.testing.assert_allclose(w[8:, :8], m)


def test_weight_distribution_moments():
    n = 300
    w = connectivity(net_with(FixedProbability(p=0.2), n_pre=n, n_post=n, weight=Normal(mean=1.0, std=0.3)),
                     seed=4)["e"]
    vals = w.data
    assert abs(vals.mean() - 1.0) < 5 * 0.3 / math.sqrt(vals.size)
    assert abs(vals.std(ddof=1) - 0.3) < 5 * 0.3 / math.sqrt(2 * (vals.size - 1))


def test_simulate_uses_the_same_connectivity():
    """connectivity(seed) is what simulate(seed) runs: a neuron's spikes drive exactly its targets."""
    pre = LIFParams(tau_m=20e-3, v_rest=0.0, v_th=20.0, v_reset=10.0, t_ref=1.0)
    post = LIFParams(tau_m=20e-3, v_rest=0.0, v_th=50.0, v_reset=0.0, t_ref=0.0)
    net = Network(populations=[Population(name="A", n=20, params=pre, v_init=np.r_[25.0, np.zeros(19)]),
                               Population(name="B", n=30, params=post)],
                  channels=[Channel(name="e", tau_s=5e-3)],
                  projections=[Projection(pre="A", post="B", channel="e", rule=FixedProbability(p=0.3),
                                          weight=1.0)])
    ds = simulate(net, t_stop=0.002, seed=9, record="B")
    assert ds.spike_neuron.values.tolist() == [0]
    w = connectivity(net, seed=9)["e"].toarray()
    received = ds.I.values[-1, 0] > 0
    np.testing.assert_array_equal(received, w[20:, 0] > 0)
