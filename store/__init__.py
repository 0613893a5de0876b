"""store: the facility store — inventory years, submissions, edits, audit (GeoPackage or PostGIS).

>>> from store import open_store
>>> st = open_store()            # $COVPLAN_STORE, else data/inventory.gpkg (built from data/ if absent)
>>> ds = st.dataset()            # a layers.Dataset whose facilities come from the store

The contract (tables, URL, migrations, audit, batches) is in docs/ARCHITECTURE.md,
section "Facility store".
"""

from __future__ import annotations

from pathlib import Path

from store._errors import ConflictError, StoreError, ValidationFailed
from store.core import FacilityStore
from store.engine import default_store_path, resolve_url
from store.seed import seed_from_dataset

__all__ = [
    "ConflictError",
    "FacilityStore",
    "StoreError",
    "ValidationFailed",
    "build_store",
    "default_store_path",
    "open_store",
    "resolve_url",
]


def build_store(url: str | Path | None = None, data_dir: Path | str | None = None, *,
                replace: bool = False, user: str = "covplan data build") -> FacilityStore:
    """Create (or with ``replace`` re-create, GeoPackage only) a store seeded from ``data_dir``'s files."""
    from layers.load import load_dataset

    resolved = resolve_url(url, data_dir)
    if replace and resolved.startswith("sqlite:///"):
        p = Path(resolved[len("sqlite:///"):])
        for extra in (p, p.with_name(p.name + "-journal")):
            extra.unlink(missing_ok=True)
    st = FacilityStore(resolved, data_dir)
    if st.is_empty():
        seed_from_dataset(st, load_dataset(data_dir), user=user)
    return st


def open_store(url: str | Path | None = None, data_dir: Path | str | None = None) -> FacilityStore:
    """Open a store; an absent or empty one is built from ``data_dir``'s facility files first."""
    return build_store(url, data_dir)
