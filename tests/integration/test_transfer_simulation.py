"""Measured f-I curves (spikerate.sim) against the Siegert formula and the Fourcaud-Brunel shift.

Tolerances come from the spike counts: ``rate_sem`` is the standard error of the mean count over
independent neurons, so |measured - theory| <= 4 SEM fails by chance with probability ~6e-5 per
point.  On top of that, one systematic effect is allowed for and justified:

Discrete time.  The simulator tests ``u >= v_th`` only on the dt grid, so white-noise excursions
above threshold between grid points are missed.  For a Gaussian random walk with step s.d. ``s``
the first passage over a level happens, to first order, as if the level were raised by
``beta * s`` with ``beta = |zeta(1/2)| / sqrt(2 pi) = 0.5826`` (Siegmund's corrected diffusion
approximation; the same zeta(1/2) as in Fourcaud-Brunel).  Here ``s = sigma sqrt(dt/tau_m)``, so
the measured rate is the Siegert rate with ``v_th + beta sigma sqrt(dt/tau_m)`` (0.2 mV, i.e. a
few % in rate, at sigma = 5 mV and dt = 0.1 ms).  The tests compare the simulation with that
shifted theory within 4 SEM, and check separately that the gap to the unshifted Siegert rate
shrinks as sqrt(dt).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import xarray as xr

from spikerate.io import load, save
from spikerate.io.schema import TRANSFER, validate_dataset
from spikerate.models import measure_transfer, siegert

NEURON = dict(tau_m=20e-3, t_ref=2e-3, v_th=20.0, v_reset=10.0)
BETA = abs(scipy.special.zeta(0.5)) / math.sqrt(2 * math.pi)
N_SEM = 4.0


def dt_shifted_siegert(ds):
    """Siegert rate with the threshold raised by the discrete-time correction (module docstring)."""
    sigma = ds.sigma.values[None, :, None]
    v_th = NEURON["v_th"] + BETA * sigma * math.sqrt(ds.attrs["dt"] / NEURON["tau_m"])
    return siegert(ds.mu.values[:, None, None], sigma, tau_m=NEURON["tau_m"], t_ref=NEURON["t_ref"],
                   v_th=v_th, v_reset=NEURON["v_reset"]) * np.ones(ds.rate.shape)


def check_white_noise(ds):
    rate, sem, theory = ds.rate.values, ds.rate_sem.values, ds.rate_siegert.values
    shifted = dt_shifted_siegert(ds)
    assert np.all(ds.n_spikes >= 100)  # enough counts for the SEM to be a standard error
    # the measured rate is the Siegert rate of the discrete-time threshold, within 4 SEM
    assert np.all(np.abs(rate - shifted) <= N_SEM * sem), (rate, shifted, theory, sem)
    return rate, sem, np.abs(theory - shifted)


def test_white_noise_cheap():
    """Two points, 1000 neurons each, 0.6 s counted; the Dataset follows the schema."""
    ds = measure_transfer([16.0, 24.0], 5.0, n_neurons=1000, t_stop=0.8, t_warmup=0.2, seed=11)
    validate_dataset(ds)
    assert ds.attrs["schema"] == TRANSFER
    assert ds.rate.dims == ("input", "sigma", "tau_s") and ds.rate.shape == (2, 1, 1)
    for v in list(ds.data_vars) + list(ds.coords):
        assert "units" in ds[v].attrs and "long_name" in ds[v].attrs
    assert ds.rate.attrs["units"] == "Hz" and ds.mu.attrs["units"] == "mV"
    np.testing.assert_array_equal(ds.rate_siegert, ds.rate_siegert_shifted)  # white noise: no shift
    # n_spikes and rate agree
    np.testing.assert_allclose(ds.n_spikes / (1000 * 0.6), ds.rate, rtol=1e-12)
    check_white_noise(ds)


def test_coloured_noise_cheap():
    """Cheap version of the slow test below: at tau_s/tau_m = 0.25 the shift moves the theory
    towards the measurement."""
    ds = measure_transfer([16.0, 20.0], 5.0, tau_s=5e-3, n_neurons=600, t_stop=0.7, t_warmup=0.2, seed=12)
    err_white = np.abs(ds.rate - ds.rate_siegert).values
    err_shift = np.abs(ds.rate - ds.rate_siegert_shifted).values
    resolvable = np.abs(ds.rate_siegert - ds.rate_siegert_shifted).values > N_SEM * ds.rate_sem.values
    assert resolvable.all()
    assert np.all(err_shift < err_white)


def test_noise_free_rate_is_the_grid_period():
    """sigma = 0: every neuron fires with the period rounded up to the dt grid; initial
    potentials spread uniformly over the orbit make the count average over phase."""
    mu = np.array([22.0, 25.0, 40.0])
    dt = 1e-4
    ds = measure_transfer(mu, 0.0, n_neurons=400, t_stop=1.2, t_warmup=0.2, seed=1, dt=dt)
    free = NEURON["tau_m"] * np.log((mu - 10.0) / (mu - 20.0))
    period = NEURON["t_ref"] + np.ceil(free / dt - 1e-9) * dt
    np.testing.assert_allclose(ds.rate.values[:, 0, 0], 1 / period, rtol=2e-3)
    np.testing.assert_allclose(ds.rate_siegert.values[:, 0, 0], 1 / (NEURON["t_ref"] + free), rtol=1e-12)


def test_below_threshold_without_noise_is_silent():
    ds = measure_transfer([5.0, 19.9], [0.0], n_neurons=50, t_stop=0.3, t_warmup=0.1, seed=2)
    assert int(ds.n_spikes.sum()) == 0 and float(ds.rate_siegert.max()) == 0.0


def test_dataset_round_trips_through_netcdf(tmp_path):
    ds = measure_transfer([16.0, 24.0], [0.0, 5.0], tau_s=[0.0, 2e-3], n_neurons=20, t_stop=0.2, t_warmup=0.1,
                          seed=3)
    save(ds, tmp_path / "fi.nc")
    xr.testing.assert_identical(load(tmp_path / "fi.nc"), ds)


def test_same_seed_same_result():
    a = measure_transfer([18.0, 25.0], [3.0], n_neurons=40, t_stop=0.3, t_warmup=0.1, seed=5)
    b = measure_transfer([18.0, 25.0], [3.0], n_neurons=40, t_stop=0.3, t_warmup=0.1, seed=5)
    np.testing.assert_array_equal(a.rate, b.rate)
    assert a.attrs["seed"] == 5
    c = measure_transfer([18.0], 3.0, n_neurons=40, t_stop=0.3, t_warmup=0.1)
    assert isinstance(c.attrs["seed"], int)


@pytest.mark.parametrize("kwargs,name", [
    (dict(mu=[[15.0]]), "mu"), (dict(mu=[]), "mu"), (dict(mu=[15.0, 15.0]), "mu"), (dict(mu=np.nan), "mu"),
    (dict(sigma=-1.0), "sigma"), (dict(tau_s=-1e-3), "tau_s"), (dict(t_warmup=2.0), "t_warmup"),
    (dict(t_stop=0.0), "t_stop"), (dict(n_neurons=1), "n_neurons"), (dict(tau_m=0.0), "tau_m"),
    (dict(v_reset=25.0), "v_reset"), (dict(dt=-1e-4), "dt"), (dict(seed=-1), "seed"),
])
def test_bad_input(kwargs, name):
    args = dict(mu=15.0, sigma=1.0, n_neurons=10, t_stop=0.1, t_warmup=0.05, seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"`{name}`"):
        measure_transfer(**args)


def test_white_noise_grid():
    """2000 neurons per point, 1 s counted, mu from subthreshold to suprathreshold, 3 sigmas."""
    mu = np.array([15.0, 17.0, 19.0, 22.0, 26.0])  # >= ~100 spikes per point at sigma = 2
    sigma = np.array([2.0, 5.0, 8.0])
    ds = measure_transfer(mu, sigma, n_neurons=2000, t_stop=1.2, t_warmup=0.2, seed=21)
    rate, sem, _ = check_white_noise(ds)
    # the first-order discrete-time correction explains the whole difference
    assert np.all(np.abs(rate - dt_shifted_siegert(ds)) <= N_SEM * sem)


def test_discrete_time_gap_shrinks_as_sqrt_dt():
    """The gap to the Siegert rate is O(sqrt(dt)): four times smaller dt, half the gap."""
    gaps = []
    for dt in (4e-4, 1e-4):
        ds = measure_transfer([18.0, 24.0], [6.0], n_neurons=2000, t_stop=1.2, t_warmup=0.2, seed=31, dt=dt)
        assert np.all(np.abs(ds.rate - dt_shifted_siegert(ds)).values <= N_SEM * ds.rate_sem.values)
        gaps.append((ds.rate_siegert - ds.rate).values.ravel())
    assert np.all(gaps[1] > 0)
    np.testing.assert_allclose(gaps[0] / gaps[1], 2.0, rtol=0.3)


@pytest.mark.slow
def test_fourcaud_brunel_shift_reduces_the_error():
    """tau_s/tau_m = 0.05, 0.1, 0.25: wherever the shift is resolvable (> 4 SEM), the shifted
    theory is closer to the measurement than the white-noise one."""
    mu = np.array([12.0, 16.0, 20.0, 24.0])
    sigma = np.array([3.0, 6.0])
    tau_s = np.array([1e-3, 2e-3, 5e-3])
    ds = measure_transfer(mu, sigma, tau_s=tau_s, n_neurons=1000, t_stop=1.2, t_warmup=0.2, seed=41)
    err_white = np.abs(ds.rate - ds.rate_siegert).values
    err_shift = np.abs(ds.rate - ds.rate_siegert_shifted).values
    resolvable = np.abs(ds.rate_siegert - ds.rate_siegert_shifted).values > N_SEM * ds.rate_sem.values
    assert resolvable.sum() >= 18
    assert np.all(err_shift[resolvable] < err_white[resolvable])
    # and it removes most of the error
    assert np.median(err_shift[resolvable] / err_white[resolvable]) < 0.25
