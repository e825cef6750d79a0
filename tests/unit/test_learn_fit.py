"""spikerate.learn.fit and the lecture's homework."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikerate.errors import TrainingError
from spikerate.learn import RTRL, SGD, Adam, BPTT, fit, predict, tasks, trained, value_and_grad
from spikerate.models import RateModel

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)


def homework_reference(x, y, w, b, dt, eta, epochs):
    """The lecture's loop written out by hand for the scalar model: r += dt((w - 1) r + b + x),
    p_w += dt((w - 1) p_w + r) and p_b += dt((w - 1) p_b + 1) with the *old* r (the exact
    sensitivity of the Euler map), loss = mean((r_seq - y)^2)/2, dw = -eta/T sum (r - y) p_w."""
    out = []
    T = len(x)
    for _ in range(epochs):
        r, pw, pb = y[0], 0.0, 0.0
        rs, pws, pbs = [], [], []
        for t in range(T):
            pw, pb = pw + dt * ((w - 1) * pw + r), pb + dt * ((w - 1) * pb + 1)
            r = r + dt * ((w - 1) * r + b + x[t])
            rs.append(r), pws.append(pw), pbs.append(pb)
        rs, pws, pbs = map(np.array, (rs, pws, pbs))
        loss = np.mean((rs - y) ** 2) / 2
        dw = -eta / T * np.sum((rs - y) * pws)
        db = -eta / T * np.sum((rs - y) * pbs)
        out.append((loss, dw, db, w))
        w, b = w + dw, b + db
    return out


def homework_model():
    return RateModel(w=[[1.0]], u=[[1.0]], b=[1.0], tau=1.0, g="linear", trainable=("w", "b"))


@pytest.mark.parametrize("method", [RTRL(), BPTT()])
def test_homework_matches_the_hand_computed_loop(method):
    task = tasks.lecture_sequence(T=10, seed=0)
    x, y = task.x[:, 0], task.y[:, 0]
    ref = homework_reference(x, y, 1.0, 1.0, 0.1, 0.1, 10)
    h = fit(homework_model(), task.x, task.y, method=method, optimizer=SGD(lr=0.1), epochs=10, dt=0.1, r0=[y[0]],
            progress=False)
    assert h.sizes["epoch"] == 10
    for k, (loss, dw, db, w) in enumerate(ref):
        np.testing.assert_allclose(float(h.loss[k]), loss, rtol=1e-12)
        np.testing.assert_allclose(h.update_w.values[k].item(), dw, rtol=1e-12)
        np.testing.assert_allclose(h.update_b.values[k].item(), db, rtol=1e-12)
        np.testing.assert_allclose(h.w.values[k].item(), w, rtol=1e-12)
    assert h.loss.values[-1] < 0.05 * h.loss.values[0]


def test_homework_scenario_runs_and_rtrl_equals_bptt(tmp_path, capsys):
    from spikerate.cli import main
    out = tmp_path / "hw.nc"
    assert main(["run", "homework", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "epoch 0: loss=1.48577, dw=-0.319886, db=-0.106631, w=0.680114" in text
    assert "rtrl vs bptt: largest relative difference of the updates" in text
    from spikerate import load
    ds = load(out)["training"].to_dataset()
    assert ds.attrs["max_update_difference_bptt"] < 1e-10
    np.testing.assert_allclose(ds.loss_bptt.values, ds.loss.values, rtol=1e-12)
    assert np.mean((ds.output_after - ds.y) ** 2) < np.mean((ds.output_before - ds.y) ** 2) / 10


def test_sine_task_is_learned_deterministically():
    """A 16-unit tanh network learns a 1 Hz sine (from a constant input) below loss 0.02 in 150
    Adam epochs; the run is deterministic."""
    task = tasks.sine(T=100, dt=0.01, freqs=(1.0,))
    rng = np.random.default_rng(0)
    n = 16
    model = RateModel(w=rng.normal(0, 1.2 / np.sqrt(n), (n, n)), u=rng.normal(0, 1, (n, 1)), b=np.zeros(n),
                      tau=0.05, g="tanh", trainable=("w", "u", "b"))
    readout = rng.normal(0, 1 / np.sqrt(n), (1, n))
    kw = dict(method=BPTT(), optimizer=Adam(lr=0.02), epochs=150, dt=0.01, readout=readout,
              trainable=("w", "u", "b", "readout"), progress=False)
    h = fit(model, task.x, task.y, **kw)
    assert float(h.loss[0]) > 0.1
    assert float(h.loss[-1]) < 0.02
    h2 = fit(model, task.x, task.y, **kw)
    np.testing.assert_array_equal(h.loss.values, h2.loss.values)
    y_hat = predict(trained(model, h), task.x, dt=0.01, readout=h.readout_final.values)
    assert y_hat.shape == task.y.shape


def test_online_rtrl_updates_every_step():
    task = tasks.lecture_sequence(T=10, seed=0)
    m = homework_model()
    h = fit(m, task.x, task.y, method=RTRL(), online=True, optimizer=SGD(lr=0.1), epochs=5, dt=0.1,
            r0=task.y[0], progress=False)
    assert h.attrs["online"] == 1
    assert h.loss.values[-1] < h.loss.values[0]
    # one epoch with T = 1: online and batch updates coincide
    h1 = fit(m, task.x[:1], task.y[:1], method=RTRL(), online=True, optimizer=SGD(lr=0.1), epochs=1, dt=0.1,
             r0=task.y[0], progress=False)
    _, g = value_and_grad(m, task.x[:1], task.y[:1], method=RTRL(), dt=0.1, r0=task.y[0])
    np.testing.assert_allclose(h1.update_w.values[0], -0.1 * g["w"], rtol=1e-12)
    with pytest.raises(ValueError, match="`online`=True needs method=RTRL"):
        fit(m, task.x, task.y, method=BPTT(), online=True, epochs=1, dt=0.1)


def test_early_stopping_and_divergence():
    task = tasks.lecture_sequence(T=10, seed=0)
    m = homework_model()
    h = fit(m, task.x, task.y, optimizer=SGD(lr=1e-12), epochs=50, dt=0.1, patience=3, min_delta=1e-3,
            progress=False)
    assert h.attrs["stopped"] == "early_stopping" and h.sizes["epoch"] == 4
    with pytest.raises(TrainingError, match="diverged at epoch") as err:
        fit(m, task.x, task.y, optimizer=SGD(lr=1e6), epochs=50, dt=0.1, progress=False)
    hist = err.value.history
    assert np.all(np.isfinite(hist.loss.values)) and np.isfinite(hist.w_final.values).all()
    assert json.loads(hist.attrs["trainable"]) == ["w", "b"]
