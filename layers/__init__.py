"""layers: load, validate and import the planner's data.

>>> from layers import load_dataset
>>> ds = load_dataset()            # the embedded Lishui dataset (cached; edit ds.copy())

Main entry points: :func:`load_dataset` (dataset folder → validated :class:`Dataset`),
:func:`import_facilities` / :func:`import_boundaries` (planners' spreadsheets and boundary
files → validated layers plus reject reports), :mod:`layers.crs` (WGS84 ⇄ GCJ-02 ⇄ BD-09) and
:mod:`layers.names` (unit name matching).
"""

from __future__ import annotations

from layers.crs import to_wgs84
from layers.dataset import Dataset
from layers.import_boundaries import BoundaryImport, import_boundaries
from layers.importers import FacilityImport, import_facilities
from layers.load import clear_cache, load_dataset, read_layer
from layers.manifest import read_manifest
from layers.names import UnitNameIndex, normalise_name

__all__ = [
    "BoundaryImport",
    "Dataset",
    "FacilityImport",
    "UnitNameIndex",
    "clear_cache",
    "import_boundaries",
    "import_facilities",
    "load_dataset",
    "normalise_name",
    "read_layer",
    "read_manifest",
    "to_wgs84",
]
