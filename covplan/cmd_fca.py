"""``covplan fca``: capacity-aware walking access (2SFCA, enhanced 2SFCA) per village and township.

``covplan fca [--type childcare] [--population pop_under3] [--catchment-m 1500]
[--network FILE] [--year Y] [--level village|township] [--json] [-o FILE.xlsx|.csv|.gpkg]``

Places (``capacity``: 托位 of 托育机构, 学位 of kindergartens) per 1,000 people of the
chosen population within the walking catchment, with distance decay for E2SFCA
(``coverage/access/fca.py``). Context for the plan's capacity targets, not a target.
``.xlsx`` (sheets 说明, 乡镇（街道）, 村（社区）) and ``.csv`` (the ``--level`` rows, UTF-8 with
BOM, the provenance note in the last column) come from :mod:`coverage.outputs.fca_export`,
the same writer as the app's download; ``.gpkg`` holds the layers ``townships`` and
``villages`` with Chinese headers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from coverage._errors import NetworkError
from layers.glossary import label

DEFAULT_CATCHMENT_M: float = 1500.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fca`` sub-command."""
    p = subparsers.add_parser("fca", help="capacity-aware access (2SFCA) / 两步移动搜索法可达性",
                              description="2SFCA and enhanced 2SFCA per village and township "
                                          "over the walking network.")
    p.add_argument("--type", default="childcare", metavar="TYPE",
                   help="facility type with a capacity (default childcare: 托位)")
    p.add_argument("--population", default="pop_under3", metavar="COLUMN",
                   help="village population column (default pop_under3)")
    p.add_argument("--catchment-m", type=float, default=DEFAULT_CATCHMENT_M, metavar="M",
                   help=f"walking catchment in metres (default {DEFAULT_CATCHMENT_M:.0f})")
    p.add_argument("--network", type=Path, metavar="FILE", help="walking network file")
    p.add_argument("--year", type=int, metavar="Y", help="inventory year (default: the latest)")
    p.add_argument("--level", default="township", choices=("village", "township"))
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write .xlsx, .csv or .gpkg")
    p.set_defaults(func=cmd_fca)


def cmd_fca(args: argparse.Namespace) -> int:
    from coverage.access import load_network
    from coverage.access.fca import fca_for_dataset
    from layers.load import load_dataset

    ds = load_dataset(args.data)
    net = load_network(args.network) if args.network is not None else None
    v, t, fac, net = fca_for_dataset(ds, ftype=args.type, population=args.population,
                                     catchment_m=args.catchment_m, year=args.year, network=net)
    shown = v if args.level == "village" else t
    if args.output is not None:
        _write(args.output, ds, v, t, level=args.level, population=args.population,
               year=args.year if args.year is not None else ds.latest_year)
    if args.json:
        print(json.dumps({"type": args.type, "population": args.population,
                          "catchment_m": args.catchment_m, "facilities": int(len(fac)),
                          "network": {"source": net.source, "provenance": net.provenance},
                          "units": json.loads(shown.drop(columns=["reachable", "snap_m"], errors="ignore")
                                              .to_json(orient="records", force_ascii=False))},
                         ensure_ascii=False, indent=1))
        return 0
    print(f"{label(args.type)} · {label('fca_2sfca')} · {args.catchment_m:.0f} m · "
          f"{label('walk_network')}: {net.source} ({label(net.provenance)})")
    print(f"{label('unit_name')}\t{label(args.population)}\t{label('fca_2sfca')}\t{label('fca_e2sfca')}")
    for r in shown.itertuples(index=False):
        a2 = "—" if not np.isfinite(r.fca_2sfca) else f"{r.fca_2sfca:.1f}"
        ae = "—" if not np.isfinite(r.fca_e2sfca) else f"{r.fca_e2sfca:.1f}"
        print(f"{r.unit_name}\t{r.pop:.0f}\t{a2}\t{ae}")
    return 0


def _write(path: Path, ds, v, t, *, level: str = "township", population: str = "pop_under3",
           year: int | None = None) -> None:
    import geopandas as gpd

    from coverage.outputs.fca_export import write_fca
    from layers.safecells import safe_frame

    def zh(df):
        return safe_frame(df.rename(columns={c: label(c) for c in df.columns if c != "geometry"}))

    suffix = path.suffix.lower()
    if suffix in (".csv", ".xlsx"):
        write_fca(path, v, t, ds, population=population, year=year, level=level)
        return
    if suffix != ".gpkg":
        raise NetworkError(f"{path}: output must be .xlsx, .csv or .gpkg")
    if path.exists():
        path.unlink()
    geo_t = ds.townships[["code", "geometry"]].merge(t, left_on="code", right_on="township_code")
    geo_v = ds.villages[["code", "geometry"]].merge(v, on="code")
    zh(gpd.GeoDataFrame(geo_t, geometry="geometry", crs=ds.townships.crs)).to_file(
        path, layer="townships", driver="GPKG")
    zh(gpd.GeoDataFrame(geo_v.drop(columns=["reachable"]), geometry="geometry",
                        crs=ds.villages.crs)).to_file(path, layer="villages", driver="GPKG")
