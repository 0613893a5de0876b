"""The synthetic facility inventory follows its documented rules (README / module docstrings).

Expected counts are recomputed here from the documented formulas and the county strength
table; the shipped files are read directly.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from layers.build.facilities import COUNTY_STRENGTH, draw_year
from layers.build.facility_capacity import KINDERGARTEN_ADDED_SHARE, KINDERGARTEN_PLAN_ADDED

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def f2024() -> gpd.GeoDataFrame:
    f = gpd.read_file(DATA / "facilities" / "facilities_2024.geojson")
    for col in ("county_code", "township_code", "village_code"):
        f[col] = f[col].fillna("").astype(str)
    return f


@pytest.fixture(scope="module")
def townships() -> gpd.GeoDataFrame:
    t = gpd.read_file(DATA / "boundaries" / "townships.geojson")
    t["code"] = t["code"].astype(str)
    t["county_code"] = t["county_code"].astype(str)
    return t


class _FixedRng:
    def __init__(self, u: float) -> None:
        self.u = u

    def random(self) -> float:
        return self.u


@pytest.mark.parametrize(("u", "year"), [(0.0, 2020), (0.59, 2020), (0.6, 2022), (0.84, 2022), (0.85, 2024)])
def test_draw_year_splits_at_the_shares(u, year):
    assert draw_year(_FixedRng(u), 0.6, 0.85) == year


@pytest.mark.parametrize(("ftype", "formula"), [
    ("elderly_care_centre", lambda s: 0.88 + 0.12 * s),
    ("minor_protection_station", lambda s: 0.70 + 0.30 * s),
    ("family_service_centre", lambda s: 0.25 + 0.40 * s),
])
def test_township_services_reach_their_documented_share(f2024, townships, ftype, formula):
    have = set(f2024.loc[f2024["type"] == ftype, "township_code"])
    for county, sub in townships.groupby("county_code"):
        expected = int(round(formula(COUNTY_STRENGTH[county]) * len(sub)))
        assert sub["code"].isin(have).sum() == expected, (ftype, county)


def test_demonstration_homes_per_county(f2024, townships):
    ch = f2024[f2024["type"] == "child_home"]
    demo_towns = set(ch.loc[ch["tier"] == "demonstration", "township_code"])
    with_home = set(ch["township_code"])
    for county, sub in townships.groupby("county_code"):
        n = sub["code"].isin(with_home).sum()
        expected = int(round((0.50 + 0.35 * COUNTY_STRENGTH[county]) * n))
        assert sub["code"].isin(demo_towns).sum() == expected, county
        homes = ch[ch["county_code"] == county]
        share = (homes["tier"] == "demonstration").mean()
        target = 0.09 + 0.10 * COUNTY_STRENGTH[county]
        # at least one 示范型 per chosen township; extra ones only up to the county target
        assert share == pytest.approx(max(target, expected / len(homes)), abs=1.0 / len(homes))


def test_childcare_slots_follow_the_county_ratio(f2024):
    counties = gpd.read_file(DATA / "boundaries" / "counties.geojson")
    pop = dict(zip(counties["code"].astype(str), counties["pop_total"]))
    cc = f2024[f2024["type"] == "childcare"]
    for county, sub in cc.groupby("county_code"):
        ratio = sub["capacity"].sum() / pop[county] * 1000
        # each institution's 托位 is rounded to an integer: at most 0.5 per institution off
        tol = 0.5 * len(sub) / pop[county] * 1000
        assert abs(ratio - (2.7 + 2.2 * COUNTY_STRENGTH[county])) <= tol + 1e-9, county


def test_kindergarten_places_added_as_documented():
    cap = {}
    for year in (2020, 2024):
        f = gpd.read_file(DATA / "facilities" / f"facilities_{year}.geojson")
        cap[year] = f[f["type"] == "kindergarten"].set_index("facility_id")["capacity"]
    added = cap[2024].sum() - cap[2020].sum()
    n_changed = int((cap[2024].reindex(cap[2020].index) != cap[2020]).sum()
                    + len(cap[2024].index.difference(cap[2020].index)))
    goal = KINDERGARTEN_PLAN_ADDED * KINDERGARTEN_ADDED_SHARE
    # every addition is rounded to a multiple of 30 places: at most 15 off per addition
    assert abs(added - goal) <= 15 * n_changed
    assert added < KINDERGARTEN_PLAN_ADDED
    assert (cap[2024] % 30 == 0).all()


def test_mother_baby_rooms_sit_at_the_place_they_serve(f2024):
    places = f2024[f2024["type"] == "public_place"].set_index("facility_id")
    rooms = f2024[f2024["type"] == "mother_baby_room"]
    assert len(rooms) > 0
    at = places.loc[rooms["serves_place_id"]]
    assert np.allclose(rooms.geometry.x.to_numpy(), at.geometry.x.to_numpy())
    assert (rooms["township_code"].to_numpy() == at["township_code"].to_numpy()).all()
    assert rooms["serves_place_id"].is_unique
