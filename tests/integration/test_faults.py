"""Faults: a writer killed mid-way leaves the previous result intact and no partial file under
the result's name; truncated and newer-schema files are refused with a message that says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spikerate import load, save
from spikerate.errors import SchemaError
from spikerate.io.schema import base_attrs, variable

ROOT = Path(__file__).resolve().parents[2]


def small_dataset(value: float) -> xr.Dataset:
    return xr.Dataset({"loss": variable(np.full(3, value), ("epoch",), units="1", long_name="loss"),
                       "grad_norm": variable(np.zeros(3), ("epoch",), units="1", long_name="norm")},
                      coords={"epoch": variable(np.arange(3), ("epoch",), units="1", long_name="epoch")},
                      attrs=base_attrs("spikerate.training/1", method="bptt", optimizer="{}", model="{}",
                                       trainable="[]", epochs=3, stopped="completed", step="euler",
                                       loss_kind="mse", online=0))


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no SIGKILL to kill the writer with")
def test_a_killed_writer_leaves_the_previous_result(tmp_path):
    target = tmp_path / "result.nc"
    save(small_dataset(1.0), target)
    script = textwrap.dedent(f"""
        import numpy as np, sys
        sys.path.insert(0, {str(ROOT)!r})
        import xarray as xr
        from spikerate import save
        from spikerate.io.schema import base_attrs, variable
        big = np.random.default_rng(0).random(40_000_000)  # 320 MB: the write takes a while
        ds = xr.Dataset({{"loss": variable(big, ("epoch",), units="1", long_name="loss"),
                          "grad_norm": variable(big, ("epoch",), units="1", long_name="n")}},
                        attrs=base_attrs("spikerate.training/1"))
        print("writing", flush=True)
        save(ds, {str(target)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    deadline = time.time() + 30
    while time.time() < deadline and not any(p.suffix == ".tmp" for p in tmp_path.iterdir()):
        time.sleep(0.005)
    time.sleep(0.05)  # mid-way through the temporary file
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    ds = load(target)  # the previous result, whole
    np.testing.assert_array_equal(ds["loss"].values, 1.0)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["result.nc"]


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "t.nc"
    save(small_dataset(2.0), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SchemaError, match="is not a readable NetCDF-4 file"):
        load(path)


def test_newer_schema_version_is_named(tmp_path):
    ds = small_dataset(3.0)
    ds.attrs["schema"] = "spikerate.training/2"
    path = tmp_path / "n.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(SchemaError, match="spikerate.training/2.*does not know. This version reads "
                                          "spikerate.training/1"):
        load(path)


def test_ctrl_c_keeps_the_finished_part_of_a_simulation(monkeypatch):
    from spikerate.sim import cuba_network, simulate
    from spikerate.sim import simulation as S
    real, calls = S.K._run_chunk, []

    def chunk_then_interrupt(*args):
        calls.append(1)
        if len(calls) == 4:  # the warm-up call, two chunks, then Ctrl-C during the third
            raise KeyboardInterrupt
        return real(*args)

    net = cuba_network(n_neurons=400)
    full = simulate(net, t_stop=0.6, seed=3)
    monkeypatch.setattr(S.K, "_run_chunk", chunk_then_interrupt)
    part = simulate(net, t_stop=0.6, seed=3)
    assert part.attrs["interrupted"] == 1
    dur = part.attrs["duration"]
    assert 0 < dur < 0.6  # the steps finished before the Ctrl-C
    n = part.sizes["spike"]
    assert 0 < n < full.sizes["spike"]
    np.testing.assert_array_equal(part["spike_time"].values, full["spike_time"].values[:n])
    assert np.all(full["spike_time"].values[n:] > dur - 1e-12)  # nothing finished is missing


def test_ctrl_c_keeps_the_finished_epochs_of_a_training(monkeypatch):
    from spikerate.learn import SGD, fit, tasks
    from spikerate.learn import train as TR
    from spikerate.models import RateModel
    real, calls = TR.loss_and_grad, []

    def grad_then_interrupt(*args):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(TR, "loss_and_grad", grad_then_interrupt)
    task = tasks.lecture_sequence()
    h = fit(RateModel(w=[[1.0]], u=[[1.0]], b=[1.0], tau=1.0, trainable=("w", "b")), task.x, task.y,
            optimizer=SGD(lr=0.1), epochs=10, dt=0.1, r0=task.y[0], progress=False)
    assert h.attrs["interrupted"] == 1 and h.attrs["stopped"] == "interrupted"
    assert h.sizes["epoch"] == 3 and np.all(np.isfinite(h.loss.values))
