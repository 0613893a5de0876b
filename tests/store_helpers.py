"""Fixtures' helpers for the store tests: one seeded store per backend, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

from store import FacilityStore, build_store


def seeded_gpkg(tmp_root: Path) -> Path:
    """A GeoPackage store seeded from the embedded data/ (built once per session)."""
    path = tmp_root / "seed.gpkg"
    if not path.exists():
        st = build_store(path)
        st.engine.dispose()
    return path


def gpkg_copy(seed: Path, dest: Path) -> FacilityStore:
    shutil.copyfile(seed, dest)
    return FacilityStore(dest)
