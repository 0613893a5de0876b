"""The store-level backstop of county rights (dashapp/server/write_guard.py) on a real store.

Whatever code path writes the store during a signed-in user's request, a county editor can
change only their county's records and a viewer nothing; the refused change leaves no trace
in the store (same transaction). Checked on the GeoPackage store here; the live server tests
run the same listener on PostGIS.
"""

from __future__ import annotations

import pytest

from dashapp.server import write_guard
from dashapp.server.roles import AccessDenied, Actor

CURRENT: list[Actor | None] = [None]


@pytest.fixture()
def guarded_store(_seeded_gpkg, tmp_path):
    from tests.store_helpers import gpkg_copy

    write_guard.install(lambda: CURRENT[0])
    st = gpkg_copy(_seeded_gpkg, tmp_path / "inventory.gpkg")
    yield st
    CURRENT[0] = None
    st.engine.dispose()


def _first(st, county: str, fid: str | None = None) -> dict:
    fac = st.facilities(2024, county=county)
    row = fac[fac["facility_id"] == fid].iloc[0] if fid else fac[fac["type"] == "childcare"].iloc[0]
    return {"fid": row["facility_id"], "version": int(row["version"]), "capacity": float(row["capacity"]),
            "lon": round(row.geometry.x, 6), "lat": round(row.geometry.y, 6)}


def test_county_editor_writes_only_their_county(guarded_store):
    st = guarded_store
    own, other = _first(st, "331102"), _first(st, "331127")
    n_batches = len(st.batches())
    CURRENT[0] = Actor("ed", "county-editor", "331102")
    st.edit(own["fid"], 2024, {"capacity": own["capacity"] + 1}, expected_version=own["version"], user="ed")
    with pytest.raises(AccessDenied, match="county 331127"):
        st.edit(other["fid"], 2024, {"capacity": 1}, expected_version=other["version"], user="ed")
    with pytest.raises(AccessDenied):  # moving one's own facility into another county
        st.edit(own["fid"], 2024, {"lon": other["lon"], "lat": other["lat"]}, expected_version=own["version"] + 1,
                user="ed")
    CURRENT[0] = None
    assert len(st.batches()) == n_batches + 1  # the refused changes left no batch
    assert _first(st, "331127", other["fid"]) == other
    assert _first(st, "331102", own["fid"])["capacity"] == own["capacity"] + 1


def test_viewer_writes_nothing_and_admin_anything(guarded_store):
    st = guarded_store
    other = _first(st, "331127")
    CURRENT[0] = Actor("look", "viewer")
    with pytest.raises(AccessDenied, match="viewer"):
        st.edit(other["fid"], 2024, {"capacity": 3}, expected_version=other["version"], user="look")
    CURRENT[0] = Actor("admin", "city-admin")
    st.edit(other["fid"], 2024, {"capacity": 3}, expected_version=other["version"], user="admin")
    CURRENT[0] = None
    assert _first(st, "331127", other["fid"])["capacity"] == 3
