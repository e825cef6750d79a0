"""spikerate.io: NetCDF save/load round trips, atomic writes, schema validation on load."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from spikerate import load, save
from spikerate.errors import SchemaError
from spikerate.io import validate_dataset
from spikerate.scenario import apply_overrides, load_scenario, run_scenario
from spikerate.sim import simulate


@pytest.fixture
def spikes(small_net):
    ds = simulate(small_net, t_stop=0.1, seed=7)
    assert ds.sizes["spike"] > 0, "the fixture network must spike for the round trip to mean something"
    return ds


@pytest.fixture
def tree():
    sc = apply_overrides(load_scenario("cuba"), ["network.n_neurons=200", "simulate.t_stop=0.05"])
    return run_scenario(sc, progress=False)


# ------------------------------------------------------------------------------ round trips


def test_dataset_round_trip_is_identical(spikes, tmp_path):
    path = tmp_path / "spikes.nc"
    assert save(spikes, path) == path
    back = load(path)
    assert isinstance(back, xr.Dataset)
    xr.testing.assert_identical(back, spikes)
    assert back["spike_time"].dtype == np.float64
    assert back["spike_neuron"].dtype == np.int32
    assert back["spike_trial"].dtype == np.int32
    assert back.attrs["schema"] == "spikerate.spikes/1"


def test_dataset_round_trip_with_trials_and_recorded_state(small_net, tmp_path):
    ds = simulate(small_net, t_stop=0.05, seed=2, trials=2, record=[0, 5, 199], record_every=10)
    assert {"u", "I", "trial", "time", "channel"} <= set(ds.variables)
    path = save(ds, tmp_path / "rec.nc")
    back = load(path)
    xr.testing.assert_identical(back, ds)
    assert back["u"].dims == ("trial", "time", "recorded")
    assert back["u"].dtype == np.float64


def test_save_accepts_str_path_and_overwrites(spikes, small_net, tmp_cwd):
    save(spikes, "out.nc")
    other = simulate(small_net, t_stop=0.05, seed=8)
    save(other, "out.nc")  # replacing an existing file with a complete new one
    xr.testing.assert_identical(load("out.nc"), other)
    assert sorted(os.listdir(tmp_cwd)) == ["out.nc"]


def test_load_reads_into_memory_and_closes(spikes, small_net, tmp_path):
    path = save(spikes, tmp_path / "s.nc")
    first = load(path)
    save(simulate(small_net, t_stop=0.05, seed=9), path)  # replace the file under the loaded object
    os.remove(path)
    np.testing.assert_array_equal(first["spike_time"].values, spikes["spike_time"].values)
    np.testing.assert_array_equal(first["spike_neuron"].values, spikes["spike_neuron"].values)


def test_datatree_round_trip(tree, tmp_path):
    path = save(tree, tmp_path / "tree.nc")
    back = load(path)
    assert isinstance(back, xr.DataTree)
    assert sorted(n.path for n in back.subtree) == sorted(n.path for n in tree.subtree) == ["/", "/spikes"]
    for node in tree.subtree:
        xr.testing.assert_identical(back[node.path].to_dataset(inherit=False), node.to_dataset(inherit=False))
    sp = back["spikes"]
    assert sp["spike_time"].dtype == np.float64
    assert sp["spike_neuron"].dtype == np.int32
    assert sp.sizes["neuron"] == 200
    assert back.attrs["scenario"] == "cuba"


# ------------------------------------------------------------------------------ atomicity


def _failing_writer(original):
    """A to_netcdf that writes a (partial) file at the temporary path, then crashes."""

    def to_netcdf(self, path=None, *args, **kwargs):
        assert path is not None
        original(self, path, *args, **kwargs)
        with open(path, "r+b") as f:  # leave it half-written, as a crash would
            f.truncate(100)
        raise RuntimeError("disk on fire")

    return to_netcdf


def test_failed_save_creates_nothing(spikes, tmp_path, monkeypatch):
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _failing_writer(xr.Dataset.to_netcdf))
    target = tmp_path / "new.nc"
    with pytest.raises(RuntimeError, match="disk on fire"):
        save(spikes, target)
    assert not target.exists()
    assert os.listdir(tmp_path) == [], "no temporary file may be left behind"


def test_failed_save_keeps_existing_file(spikes, tmp_path, monkeypatch):
    target = tmp_path / "old.nc"
    old = b"previous complete result"
    target.write_bytes(old)
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _failing_writer(xr.Dataset.to_netcdf))
    with pytest.raises(RuntimeError, match="disk on fire"):
        save(spikes, target)
    assert target.read_bytes() == old
    assert os.listdir(tmp_path) == ["old.nc"]


def test_failed_datatree_save_creates_nothing(tree, tmp_path, monkeypatch):
    monkeypatch.setattr(xr.DataTree, "to_netcdf", _failing_writer(xr.DataTree.to_netcdf))
    target = tmp_path / "tree.nc"
    with pytest.raises(RuntimeError, match="disk on fire"):
        save(tree, target)
    assert os.listdir(tmp_path) == []


def test_interrupted_save_cleans_up(spikes, tmp_path, monkeypatch):
    """Ctrl-C (a BaseException, not an Exception) during the write must clean up too."""

    def interrupted(self, path=None, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"\x89HDF partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(spikes, tmp_path / "x.nc")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------ load errors


def test_load_names_missing_variable(spikes, tmp_path):
    path = tmp_path / "broken.nc"
    spikes.drop_vars("spike_neuron").to_netcdf(path, engine="h5netcdf")
    with pytest.raises(SchemaError, match="spike_neuron") as info:
        load(path)
    msg = str(info.value)
    assert "broken.nc" in msg
    # only what is missing is reported
    assert "spike_time" not in msg and "spike_trial" not in msg


def test_load_without_schema_attribute(tmp_path):
    path = tmp_path / "foreign.nc"
    xr.Dataset({"a": ("x", np.arange(3))}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(SchemaError, match="schema"):
        load(path)
    # validate=False reads it anyway
    assert load(path, validate=False)["a"].values.tolist() == [0, 1, 2]


def test_load_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.nc"):
        load(tmp_path / "nothere.nc")


def test_load_directory_is_not_a_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a file"):
        load(tmp_path)


@pytest.mark.parametrize("content", [b"hello, I am not NetCDF\n", b""], ids=["text", "empty"])
def test_load_non_netcdf_file(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(SchemaError, match="not a readable NetCDF-4 file"):
        load(path)


def test_load_validates_groups_of_a_tree(tree, tmp_path):
    bad = tree.copy()
    bad["spikes"] = xr.DataTree(tree["spikes"].to_dataset().drop_vars("spike_time"))
    path = tmp_path / "bad_tree.nc"
    bad.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(SchemaError, match="spike_time") as info:
        load(path)
    assert "/spikes" in str(info.value)


# ------------------------------------------------------------------------------ validate_dataset


def test_validate_dataset_returns_good_dataset(spikes):
    assert validate_dataset(spikes) is spikes


def test_validate_dataset_names_variable_without_units(spikes):
    ds = spikes.copy(deep=True)
    del ds["spike_trial"].attrs["units"]
    with pytest.raises(SchemaError, match=r"`units` attribute on `spike_trial`") as info:
        validate_dataset(ds)
    assert "spike_time" not in str(info.value)


def test_validate_dataset_unknown_schema_version(spikes):
    ds = spikes.copy()
    ds.attrs["schema"] = "spikerate.spikes/99"
    with pytest.raises(SchemaError, match=r"spikerate\.spikes/99.*reads spikerate\.spikes/1"):
        validate_dataset(ds)


def test_validate_dataset_wrong_dims(spikes):
    ds = spikes.rename_dims(spike="event")
    with pytest.raises(SchemaError, match="spike_time"):
        validate_dataset(ds)


def test_validate_dataset_rejects_non_dataset(spikes):
    with pytest.raises(TypeError, match="Dataset"):
        validate_dataset(spikes["spike_time"])


# ------------------------------------------------------------------------------ save errors


def test_save_into_missing_directory(spikes, tmp_path):
    target = tmp_path / "no_such_dir" / "out.nc"
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        save(spikes, target)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("obj", [{"spike_time": [0.1]}, np.zeros(3), None], ids=["dict", "array", "None"])
def test_save_rejects_non_dataset(obj, tmp_path):
    with pytest.raises(TypeError, match="Dataset"):
        save(obj, tmp_path / "out.nc")
    assert os.listdir(tmp_path) == []


def test_save_rejects_dataarray(spikes, tmp_path):
    with pytest.raises(TypeError, match="DataArray"):
        save(spikes["spike_time"], tmp_path / "out.nc")


def test_saved_file_mode_follows_umask_and_existing_file_regression_2(tmp_path):
    import os
    import stat

    from spikerate.io import save
    from spikerate.sim import cuba_network, simulate
    ds = simulate(cuba_network(n_neurons=200, p=0.1), t_stop=0.01, seed=0)
    old = os.umask(0o022)
    try:
        p = save(ds, tmp_path / "new.nc")
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o644
        os.chmod(p, 0o640)
        save(ds, p)
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    finally:
        os.umask(old)


def test_save_to_directory_is_refused_regression_2(tmp_path):
    from spikerate.io import save
    from spikerate.sim import cuba_network, simulate
    ds = simulate(cuba_network(n_neurons=200, p=0.1), t_stop=0.01, seed=0)
    with pytest.raises(IsADirectoryError, match="directory"):
        save(ds, tmp_path)


# ---- the sweep points' array files (spikerate.io.arrays) ----

def test_array_file_round_trip_is_identical(tree, spikes, tmp_path):
    from spikerate.io.arrays import load_arrays, save_arrays
    save_arrays(tree, tmp_path / "t.npz")
    xr.testing.assert_identical(load_arrays(tmp_path / "t.npz"), tree)
    save_arrays(spikes, tmp_path / "s.npz")  # a Dataset is stored as the root of a tree
    xr.testing.assert_identical(load_arrays(tmp_path / "s.npz").to_dataset(), spikes)


def test_array_file_keeps_attribute_types_and_string_arrays(tmp_path):
    from spikerate.io.arrays import load_arrays, save_arrays
    ds = xr.Dataset({"name": ("k", np.array(["a", "bc"], dtype=object)), "x": ("k", np.array([1, 2], np.int32))},
                    coords={"k": [0.5, 1.5]},
                    attrs={"f32": np.float32(0.25), "arr": np.arange(3, dtype=np.int16), "flag": True,
                           "nested": {"a": [1, np.float64(2.0)]}, "none": None, "nan": float("nan")})
    save_arrays(ds, tmp_path / "a.npz")
    back = load_arrays(tmp_path / "a.npz").to_dataset()
    assert back["name"].dtype == object and list(back["name"].values) == ["a", "bc"]
    assert back["x"].dtype == np.int32 and back.attrs["f32"].dtype == np.float32
    assert back.attrs["arr"].dtype == np.int16 and back.attrs["nested"] == {"a": [1, 2.0]}
    assert back.attrs["none"] is None and np.isnan(back.attrs["nan"])


def test_array_file_refuses_pickles_truncation_and_other_formats(tmp_path):
    from spikerate.io.arrays import load_arrays, save_arrays
    with pytest.raises(TypeError, match="without pickle"):
        save_arrays(xr.Dataset({"o": ("k", np.array([{}, 1], dtype=object))}), tmp_path / "o.npz")
    assert not list(tmp_path.iterdir())  # nothing half-written
    save_arrays(xr.Dataset({"x": ("k", np.arange(1000.0))}), tmp_path / "x.npz")
    data = (tmp_path / "x.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(SchemaError, match="not a readable spikerate array file"):
        load_arrays(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", __tree__=np.array('{"format": "x/9", "groups": {}}'))
    with pytest.raises(SchemaError, match="this version of spikerate reads"):
        load_arrays(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError, match="`path`"):
        load_arrays(tmp_path / "missing.npz")
