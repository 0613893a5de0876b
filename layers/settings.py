"""Typed module-level settings shared by every package.

STORAGE_CRS
    CRS in which every layer is stored and exchanged: WGS84 lon/lat (CGCS2000 agrees to
    centimetres here).
WORKING_CRS
    CRS for every distance and area: CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549).
REPO_ROOT
    The checkout that holds ``data/``.
DEFAULT_DATA_DIR
    The embedded Lishui dataset.
SHARED_DATA_DIR
    The read-only public source data beside the checkout (``../shared/data``), used only by
    ``covplan data build`` and by tests that compare against the sources.
LISHUI_BBOX
    lon/lat bounding box of Lishui with a small margin, for "outside Lishui" checks.
MAX_UPLOAD_BYTES
    Cap for any file imported from the browser or the CLI (size on disk).
MAX_IMPORT_ROWS, MAX_IMPORT_COLUMNS, MAX_IMPORT_CELLS
    Caps for one imported table (.xlsx sheet or .csv): rows below the header (blank rows
    included), columns in use, and rows × columns; above them the import stops with a
    clear error before any row is processed.
XLSX_MAX_INFLATED_BYTES, XLSX_MAX_SHARED_STRINGS_BYTES, XLSX_MAX_RATIO, XLSX_MAX_MEMBERS
    Zip-bomb caps of an .xlsx, checked on the zip directory *before* anything is parsed and
    again while inflating: total inflated size of all parts, inflated size of the shared
    strings part, inflated/compressed ratio of any part above 1 MB, number of parts.
"""

from __future__ import annotations

import os
from pathlib import Path

STORAGE_CRS: str = "EPSG:4326"
WORKING_CRS: str = "EPSG:4549"
CITY_CODE: str = "331100"
CITY_NAME: str = "丽水市"

REPO_ROOT: Path = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR: Path = Path(os.environ.get("COVPLAN_DATA", REPO_ROOT / "data"))
SHARED_DATA_DIR: Path = Path(
    os.environ.get("COVPLAN_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")
)
CACHE_DIR: Path = Path(os.environ.get("COVPLAN_CACHE", REPO_ROOT / ".cache"))

# (min lon, min lat, max lon, max lat)
LISHUI_BBOX: tuple[float, float, float, float] = (118.65, 27.35, 120.55, 28.95)

MAX_UPLOAD_BYTES: int = 20 * 1024 * 1024

MAX_IMPORT_ROWS: int = 50_000
MAX_IMPORT_COLUMNS: int = 200
MAX_IMPORT_CELLS: int = 1_000_000

XLSX_MAX_INFLATED_BYTES: int = 64 * 1024 * 1024
XLSX_MAX_SHARED_STRINGS_BYTES: int = 16 * 1024 * 1024
XLSX_MAX_RATIO: float = 200.0
XLSX_MAX_MEMBERS: int = 2_000
