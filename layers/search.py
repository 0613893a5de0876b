"""Find a township, village (community) or facility by name: prefix and partial matches.

:class:`PlaceIndex` is built once per dataset and year from the unit and facility tables;
:meth:`PlaceIndex.search` answers a query in a few milliseconds (a scan of ~4,000 short
names). Names are compared after :func:`layers.names.clean_text` (NFKC, trimmed) and
case-folded, so full-width letters and stray spaces do not matter. Ranking: an exact name
first, then names starting with the query, then names containing it; within a rank
townships before villages before facilities, shorter names first.

Every hit carries its point (lon/lat degrees, EPSG:4326) and its bounds, so a caller can
fly to it; townships and villages also carry their township code so they can be selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from layers.names import clean_text

#: rank of the kinds within one match quality (lower first)
KIND_ORDER: dict[str, int] = {"township": 0, "village": 1, "facility": 2}
#: answers at most this many hits by default
DEFAULT_LIMIT: int = 20


@dataclass(frozen=True)
class Place:
    """One searchable place."""

    kind: str  # township | village | facility
    key: str  # township/village code or facility id
    name: str
    context: str  # county (and township) names, for telling equal names apart
    township_code: str
    lon: float
    lat: float
    bounds: tuple[float, float, float, float]  # minx, miny, maxx, maxy (degrees)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "name": self.name, "context": self.context,
                "township_code": self.township_code, "lon": self.lon, "lat": self.lat,
                "bounds": [[self.bounds[1], self.bounds[0]], [self.bounds[3], self.bounds[2]]]}


def _fold(text: Any) -> str:
    return clean_text(text).replace(" ", "").casefold()


class PlaceIndex:
    """Searchable names of one dataset (units) and one inventory year (facilities).

    Parameters
    ----------
    ds : layers.Dataset
        The dataset (townships, villages, facilities in EPSG:4326).
    year : int, optional
        Inventory year of the facilities (None: the latest).
    """

    def __init__(self, ds: Any, year: int | None = None) -> None:
        year = ds.latest_year if year is None else int(year)
        tw = ds.townships
        county_of = dict(zip(ds.counties["code"].astype(str), ds.counties["name"].astype(str)))
        town_name = dict(zip(tw["code"].astype(str), tw["name"].astype(str)))
        places: list[Place] = []
        pts = tw.geometry.representative_point()
        for code, name, cc, geom, pt in zip(tw["code"].astype(str), tw["name"].astype(str),
                                             tw["county_code"].astype(str), tw.geometry, pts):
            places.append(Place("township", code, name, county_of.get(cc, ""), code, float(pt.x), float(pt.y),
                                tuple(float(v) for v in geom.bounds)))
        vil = ds.villages
        for code, name, tc, cc, geom in zip(vil["code"].astype(str), vil["name"].astype(str),
                                            vil["township_code"].astype(str), vil["county_code"].astype(str),
                                            vil.geometry):
            x, y = float(geom.x), float(geom.y)
            places.append(Place("village", code, name, f"{county_of.get(cc, '')} {town_name.get(tc, '')}", tc,
                                x, y, (x - 0.01, y - 0.01, x + 0.01, y + 0.01)))
        fac = ds.facilities_for(year)
        for fid, name, tc, cc, geom in zip(fac["facility_id"].astype(str), fac["name"].astype(str),
                                           fac["township_code"].astype(str), fac["county_code"].astype(str),
                                           fac.geometry):
            if geom is None or geom.is_empty:
                continue
            x, y = float(geom.x), float(geom.y)
            places.append(Place("facility", fid, name, f"{county_of.get(cc, '')} {town_name.get(tc, '')}", tc,
                                x, y, (x - 0.005, y - 0.005, x + 0.005, y + 0.005)))
        self.year = year
        self.places = places
        self._folded = [_fold(p.name) for p in places]

    def __len__(self) -> int:
        return len(self.places)

    def search(self, query: Any, limit: int = DEFAULT_LIMIT) -> list[Place]:
        """Places whose name equals, starts with or contains ``query`` (ranked, at most ``limit``).

        An empty or blank query returns no place.
        """
        q = _fold(query)
        if not q:
            return []
        hits: list[tuple[int, int, int, int]] = []
        for i, name in enumerate(self._folded):
            if q not in name:
                continue
            quality = 0 if name == q else (1 if name.startswith(q) else 2)
            hits.append((quality, KIND_ORDER[self.places[i].kind], len(name), i))
        hits.sort()
        return [self.places[i] for *_, i in hits[: max(0, int(limit))]]


def search_places(ds: Any, query: Any, year: int | None = None, limit: int = DEFAULT_LIMIT) -> pd.DataFrame:
    """:meth:`PlaceIndex.search` as a table (``kind``, ``key``, ``name``, ``context``, …)."""
    hits = PlaceIndex(ds, year).search(query, limit)
    cols = ["kind", "key", "name", "context", "township_code", "lon", "lat", "bounds"]
    return pd.DataFrame([h.as_dict() for h in hits], columns=cols)
