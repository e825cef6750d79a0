"""A fast, uncompressed file for a DataTree: NumPy's ``.npz`` with a JSON description.

Used for the points of a sweep (``<out>.points/point-00012.npz``): one is written per finished
point, so what matters is the cost per file.  NetCDF through xarray costs ~25 ms per small tree
(groups and variables are created one by one, then compressed) — a quarter of a CUBA point —
where this costs ~1 ms.  The format is NumPy's own (a zip of ``.npy`` arrays), read without
pickle (``allow_pickle=False``), so a file from elsewhere cannot run code.  Every variable's
array is one entry; the tree's layout (groups, dims, coordinates, attributes) is a JSON string in
the entry ``__tree__``.  Round trip: :func:`save_arrays` then :func:`load_arrays` gives a tree
identical to the one written (``xarray.testing.assert_identical``); attribute values that are
NumPy scalars or arrays keep their dtype.  Results for users are NetCDF (:func:`spikerate.io.save`).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import xarray as xr

from .._validation import describe
from ..errors import SchemaError
from .netcdf import atomic_write

FORMAT = "spikerate.arrays/1"


def _attr_out(value, arrays: dict):
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = _storable(value)[0]
        return {"__array__": key, "object": value.dtype == object}
    if isinstance(value, np.generic):
        return {"__scalar__": value.dtype.str, "value": value.item()}
    if isinstance(value, (list, tuple)):
        return [_attr_out(v, arrays) for v in value]
    if isinstance(value, dict):
        return {"__dict__": {k: _attr_out(v, arrays) for k, v in value.items()}}
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"attribute value {describe(value)} cannot be stored; use a string, number, list or array.")


def _attr_in(value, arrays):
    if isinstance(value, list):
        return [_attr_in(v, arrays) for v in value]
    if isinstance(value, dict):
        if "__array__" in value:
            a = arrays[value["__array__"]]
            return a.astype(object) if value["object"] else a
        if "__scalar__" in value:
            return np.dtype(value["__scalar__"]).type(value["value"])
        return {k: _attr_in(v, arrays) for k, v in value["__dict__"].items()}
    return value


def _storable(a: np.ndarray) -> tuple[np.ndarray, bool]:
    """An array .npy can hold without pickle; object arrays of strings become unicode."""
    if a.dtype != object:
        return a, False
    if all(isinstance(x, str) for x in a.flat):
        return a.astype(str), True
    raise TypeError(f"an object array of {describe(next(iter(a.flat)))} cannot be stored without pickle.")


def save_arrays(tree: xr.DataTree | xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``tree`` to ``path`` (``.npz`` + JSON layout) atomically; returns the path."""
    if isinstance(tree, xr.Dataset):
        tree = xr.DataTree(tree)
    if not isinstance(tree, xr.DataTree):
        raise TypeError(f"`tree` must be an xarray.DataTree or Dataset; got {describe(tree)}.")
    arrays: dict[str, np.ndarray] = {}
    groups = {}
    for node in tree.subtree:
        ds = node.to_dataset(inherit=False)
        variables = {}
        for name, var in ds.variables.items():
            key = f"v{len(arrays)}"
            arrays[key], was_object = _storable(np.asarray(var.values))
            variables[str(name)] = {"key": key, "dims": list(var.dims), "coord": name in ds.coords,
                                    "object": was_object, "attrs": _attr_out(dict(var.attrs), arrays)}
        groups[node.path] = {"variables": variables, "attrs": _attr_out(dict(ds.attrs), arrays)}
    layout = json.dumps({"format": FORMAT, "groups": groups})

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, __tree__=np.array(layout), **arrays)

    return atomic_write(Path(path), write)


def load_arrays(path: str | os.PathLike) -> xr.DataTree:
    """Read a file written by :func:`save_arrays` (never unpickles)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`path` {str(path)!r} does not exist or is not a file.")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        layout = json.loads(str(arrays.pop("__tree__")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise SchemaError(f"`path` {str(path)!r} is not a readable spikerate array file: {exc}") from exc
    if layout.get("format") != FORMAT:
        raise SchemaError(f"`path` {str(path)!r} holds format {layout.get('format')!r}; this version of "
                          f"spikerate reads {FORMAT!r}.")
    nodes = {}
    for group, spec in layout["groups"].items():
        data, coords = {}, {}
        for name, v in spec["variables"].items():
            a = arrays[v["key"]]
            item = (v["dims"], a.astype(object) if v["object"] else a, _attr_in(v["attrs"], arrays))
            (coords if v["coord"] else data)[name] = item
        nodes[group] = xr.Dataset(data, coords=coords, attrs=_attr_in(spec["attrs"], arrays))
    return xr.DataTree.from_dict(nodes)
