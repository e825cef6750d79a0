"""NetCDF-4 files (h5netcdf engine, compressed), written atomically, read with validation.

``save`` writes a Dataset or a DataTree (one group per stage: ``/spikes``, ``/rates``, ...) to
a temporary file beside the target and renames it, so a crash never leaves a half-written
result and an existing file is replaced only by a complete one.  ``load`` reads it back
(into memory, closing the file) and checks every group against the schema.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import xarray as xr

from .._validation import describe
from ..errors import SchemaError
from .schema import validate_dataset

ENGINE = "h5netcdf"


def _encoding(ds: xr.Dataset) -> dict:
    """gzip level 1 with the shuffle filter on every numeric array: on spike tables it writes
    ~25 % faster than level 4 for 2.5 % more bytes (and 3x smaller than no compression)."""
    enc = {}
    for name, var in ds.variables.items():
        if var.dtype.kind in "fiub" and var.ndim > 0 and var.size > 0:
            enc[name] = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    return enc


def _file_mode(path: Path) -> int:
    """Mode of the file being replaced, or what a new file gets under the process umask
    (mkstemp's private 0600 would otherwise leak into results)."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save(obj: xr.Dataset | xr.DataTree, path: str | os.PathLike) -> Path:
    """Write ``obj`` to ``path`` (NetCDF-4) atomically; returns the path.

    Raises
    ------
    TypeError
        ``obj`` is not a Dataset or DataTree.
    FileNotFoundError
        The directory of ``path`` does not exist.
    """
    if not isinstance(obj, (xr.Dataset, xr.DataTree)):
        raise TypeError(f"`obj` must be an xarray.Dataset or DataTree; got {describe(obj)}.")
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"`path` {str(path)!r}: directory {str(folder)!r} does not exist; create it first.")
    if path.is_dir():
        raise IsADirectoryError(f"`path` {str(path)!r} is a directory; give a file name, e.g. {str(path / 'result.nc')!r}.")
    if isinstance(obj, xr.Dataset):
        return atomic_write(path, lambda tmp: obj.to_netcdf(tmp, engine=ENGINE, encoding=_encoding(obj),
                                                              invalid_netcdf=False))
    enc = {node.path: _encoding(node.to_dataset(inherit=False)) for node in obj.subtree}
    return atomic_write(path, lambda tmp: obj.to_netcdf(tmp, engine=ENGINE, encoding=enc))


def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp)`` for a temporary file beside ``path``, then rename it to ``path``:
    a crash leaves the previous file (or none), never a partial one.  The file gets the mode of
    the file it replaces, or the process umask's."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    os.chmod(tmp, _file_mode(path))
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def load(path: str | os.PathLike, *, validate: bool = True) -> xr.Dataset | xr.DataTree:
    """Read a file written by :func:`save`: a Dataset, or a DataTree when it has groups.

    Every group holding variables is checked against the schema named in its ``schema``
    attribute; a :class:`~spikerate.errors.SchemaError` says what is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`path` {str(path)!r} does not exist or is not a file.")
    try:
        with xr.open_datatree(path, engine=ENGINE) as tree:
            tree = tree.load()
    except (OSError, ValueError) as exc:
        raise SchemaError(f"`path` {str(path)!r} is not a readable NetCDF-4 file: {exc}") from exc
    if len(tree.children) == 0:
        ds = tree.to_dataset()
        if validate:
            validate_dataset(ds, where=f"file {path.name}")
        return ds
    if validate:
        for node in tree.subtree:
            ds = node.to_dataset(inherit=False)
            if ds.data_vars or "schema" in ds.attrs:  # (a scenario's root holds attributes only)
                validate_dataset(ds, where=f"group {node.path!r} of {path.name}")
    return tree
