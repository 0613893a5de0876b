"""layers: load, validate and import the planner's data.

>>> from layers import load_dataset
>>> ds = load_dataset()            # the embedded Lishui dataset (cached; edit ds.copy())

Main entry points: :func:`load_dataset` (dataset folder → validated :class:`Dataset`),
:func:`import_facilities` / :func:`import_boundaries` (planners' spreadsheets and boundary
files → validated layers plus reject reports), :mod:`layers.crs` (WGS84 ⇄ GCJ-02 ⇄ BD-09) and
:mod:`layers.names` (unit name matching).
"""

from __future__ import annotations

from layers.dataset import Dataset
from layers.load import clear_cache, load_dataset, read_layer
from layers.manifest import read_manifest

__all__ = [
    "Dataset",
    "clear_cache",
    "load_dataset",
    "read_layer",
    "read_manifest",
]
