"""Results on disk: the Dataset schema, NetCDF-4 save/load and scenario files."""

from .netcdf import load, save
from .schema import SCHEMAS, validate_dataset

__all__ = ["SCHEMAS", "load", "save", "validate_dataset"]
