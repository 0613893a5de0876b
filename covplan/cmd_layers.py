"""``covplan info`` and ``covplan import facilities|boundaries``.

``info`` prints each layer's record count and provenance (Chinese and English labels from
the glossary), facilities by type and year, and says plainly which layers are real,
estimated or synthetic. ``import`` runs :func:`layers.importers.import_facilities` or
:func:`layers.import_boundaries.import_boundaries` against the dataset chosen with the global
``--data DIR`` and writes the layer plus its reports.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from pathlib import Path
from typing import Any

from covplan._args import metres
from layers.dataset import Dataset
from layers.glossary import label
from layers.load import load_dataset
from layers.vocab import FACILITY_TYPES

__all__ = ["dataset_info", "format_info", "register"]

_KIND_KEY = {
    "counties": "county",
    "townships": "township",
    "villages": "village",
    "facilities": "facility",
    "indicators": "indicator",
    "network": "walk_network",
}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _ljust(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _rjust(text: str, width: int) -> str:
    return " " * max(0, width - _width(text)) + text


def _both(key: str) -> str:
    return f"{label(key, 'zh')} / {label(key, 'en')}"


def _count(ds: Dataset, name: str, info: dict[str, Any]) -> int | None:
    kind = info.get("kind")
    if kind == "counties":
        return len(ds.counties)
    if kind == "townships":
        return len(ds.townships)
    if kind == "villages":
        return len(ds.villages)
    if kind == "facilities":
        return int((ds.facilities["year"] == info.get("year")).sum())
    if kind == "indicators":
        return len(ds.indicators)
    return None


def dataset_info(ds: Dataset) -> dict[str, Any]:
    """Counts and provenance of every layer of ``ds`` as a JSON-ready dict."""
    layers = {}
    for name, info in ds.layer_info.items():
        prov = ds.layer_provenance.get(name, "")
        layers[name] = {
            "kind": info.get("kind"),
            "file": info.get("file"),
            "year": info.get("year"),
            "count": _count(ds, name, info),
            "provenance": prov,
            "provenance_zh": label(prov, "zh"),
            "description": info.get("description", ""),
            "repairs": len(info.get("repairs", [])),
        }
    by_type: dict[str, dict[str, int]] = {}
    if not ds.facilities.empty:
        table = ds.facilities.groupby(["year", "type"]).size()
        for (year, ftype), n in table.items():
            by_type.setdefault(str(int(year)), {})[ftype] = int(n)
    records: dict[str, dict[str, int]] = {}
    for key, frame in (("counties", ds.counties), ("townships", ds.townships),
                       ("villages", ds.villages), ("facilities", ds.facilities),
                       ("indicators", ds.indicators)):
        if "provenance" in frame.columns and len(frame):
            records[key] = {str(k): int(v) for k, v in frame["provenance"].value_counts().sort_index().items()}
    population: dict[str, dict[str, int]] = {}
    for key, frame in (("counties", ds.counties), ("townships", ds.townships), ("villages", ds.villages)):
        if "pop_provenance" in frame.columns and len(frame):
            population[key] = {str(k): int(v) for k, v in frame["pop_provenance"].value_counts().sort_index().items()}
    grouped: dict[str, list[str]] = {}
    for name, prov in ds.layer_provenance.items():
        grouped.setdefault(prov, []).append(name)
    return {
        "name": ds.name,
        "title_zh": ds.title_zh,
        "root": str(ds.root),
        "years": ds.years,
        "latest_year": ds.latest_year,
        "city": ds.city,
        "layers": layers,
        "facilities_by_year_and_type": by_type,
        "record_provenance": records,
        "population_provenance": population,
        "layers_by_provenance": grouped,
    }


def format_info(info: dict[str, Any]) -> str:
    """Human-readable, bilingual rendering of :func:`dataset_info`."""
    out = [f"{_both('dataset')}: {info['name']}  {info['title_zh']}", f"  {info['root']}", ""]
    out.append(_ljust("图层 / Layer", 30) + _rjust("数量 / Count", 14) + "  " + _both("provenance"))
    for name, lay in info["layers"].items():
        kind_label = label(_KIND_KEY.get(lay["kind"], lay["kind"]), "zh")
        title = f"{name} ({kind_label})"
        count = "-" if lay["count"] is None else f"{lay['count']:,}"
        prov = f"{lay['provenance_zh']} / {label(lay['provenance'], 'en')}"
        out.append(_ljust(title, 30) + _rjust(count, 14) + "  " + prov)
        if lay["description"]:
            out.append(f"{'':<6}{lay['description']}")
        if lay["repairs"]:
            out.append(f"{'':<6}{lay['repairs']} geometry repair(s) when loading / 几何已修复")
    years = sorted(info["facilities_by_year_and_type"])
    if years:
        out += ["", f"{_both('facility_type')} × {_both('year')}:"]
        out.append("  " + " " * 46 + "".join(f"{y:>8}" for y in years))
        for ftype in FACILITY_TYPES:
            counts = [info["facilities_by_year_and_type"][y].get(ftype, 0) for y in years]
            if any(counts):
                name = f"{label(ftype, 'zh')} {ftype}"
                out.append("  " + _ljust(name, 46) + "".join(f"{c:>8,}" for c in counts))
    out += ["", f"{_both('record_provenance')}:"]
    for key, counts in info["record_provenance"].items():
        parts = ", ".join(f"{label(p, 'zh')}/{p} {n:,}" for p, n in counts.items())
        out.append(f"  {key}: {parts}")
    if info.get("population_provenance"):
        out += ["", f"{_both('pop_total')} — {_both('provenance')}:"]
        for key, counts in info["population_provenance"].items():
            parts = ", ".join(f"{label(p, 'zh')}/{p} {n:,}" for p, n in counts.items())
            out.append(f"  {key}: {parts}")
    out.append("")
    for prov in ("real", "derived", "estimated", "synthetic"):
        names = info["layers_by_provenance"].get(prov)
        if names:
            out.append(f"{label(prov, 'zh')} / {label(prov, 'en')}: {', '.join(names)}")
    if "synthetic" in info["layers_by_provenance"]:
        out.append("合成演示数据不是真实统计，仅供演示 / Synthetic layers are demo data, not real records.")
    return "\n".join(out)


def _cmd_info(args: argparse.Namespace) -> int:
    ds = load_dataset(args.data)
    info = dataset_info(ds)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2, default=str))
    else:
        print(format_info(info))
    return 0


def _cmd_import_facilities(args: argparse.Namespace) -> int:
    from layers.importers import import_facilities

    ds = load_dataset(args.data)
    result = import_facilities(
        args.file, ds, crs=args.crs, facility_type=args.type, year=args.year,
        provenance=args.provenance, sheet=args.sheet, tolerance_m=args.tolerance_m,
        prefer_point=args.prefer_point,
    )
    paths = result.write(args.output)
    print(result.summary())
    print(f"  输出 / layer: {paths['layer']}")
    print(f"  拒绝报告 / rejects report: {paths['rejects']} ({result.n_rejected})")
    print(f"  标记报告 / flags report: {paths['flags']} ({result.n_flagged})")
    return 0 if result.n_imported else 1


def _cmd_import_boundaries(args: argparse.Namespace) -> int:
    from layers.import_boundaries import import_boundaries

    ds = load_dataset(args.data)
    result = import_boundaries(args.file, ds, args.level, crs=args.crs, provenance=args.provenance,
                               layer=args.layer, encoding=args.encoding)
    paths = result.write(args.output, units=ds.units(args.level) if args.merge else None)
    print(result.summary())
    kind = "完整单位图层 / full unit layer" if args.merge else "输出 / layer"
    print(f"  {kind}: {paths['layer']}")
    print(f"  报告 / report: {paths['report']}")
    return 0 if len(result.boundaries) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``info`` and ``import`` to the ``covplan`` parser."""
    p = subparsers.add_parser("info", help="数据集各图层数量与数据性质 / layer counts and provenance")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_info)

    imp = subparsers.add_parser("import", help="导入设施清单或边界 / import an inventory or boundaries")
    isub = imp.add_subparsers(dest="what", metavar="WHAT")
    isub.required = True
    crs_choices = ["wgs84", "cgcs2000", "gcj02", "bd09"]

    f = isub.add_parser("facilities", help="设施清单 (.xlsx/.csv) → facility layer + rejects report")
    f.add_argument("file", type=Path, help=".xlsx or .csv inventory")
    f.add_argument("--crs", default="wgs84", choices=crs_choices,
                   help="coordinate system of the file (gcj02 = 高德, bd09 = 百度); default wgs84")
    f.add_argument("--type", default=None, help="facility type for rows without one (e.g. child_home or 儿童之家)")
    f.add_argument("--year", type=int, default=None, help="inventory year for rows without one (default: latest)")
    f.add_argument("--provenance", default="real", choices=["real", "derived", "estimated", "synthetic"],
                   help="provenance of the imported records (default: real)")
    f.add_argument("--sheet", default=None,
                   help="worksheet name (default: the first sheet with a header row, else the only one)")
    f.add_argument("--tolerance-m", type=metres, default=50.0,
                   help="metres a point may lie outside its stated township (default 50)")
    f.add_argument("--prefer-point", action="store_true",
                   help="when a point and its stated township disagree, keep the point (flagged)")
    f.add_argument("-o", "--output", type=Path, required=True, help="output .geojson or .gpkg")
    f.set_defaults(func=_cmd_import_facilities)

    b = isub.add_parser("boundaries", help="边界 (GeoJSON/GeoPackage/Shapefile) → matched unit polygons")
    b.add_argument("file", type=Path)
    b.add_argument("--level", required=True, choices=["county", "township", "village"])
    b.add_argument("--crs", default=None, metavar="CRS",
                   help="wgs84|cgcs2000|gcj02|bd09 (needed if the file has no CRS; gcj02/bd09 convert the "
                        "vertices to WGS84), or an EPSG code such as EPSG:4549 replacing a wrong .prj")
    b.add_argument("--provenance", default="real", choices=["real", "derived", "estimated", "synthetic"],
                   help="provenance of the imported boundaries (default: real)")
    b.add_argument("--layer", default=None, help="layer of a GeoPackage (default: the first)")
    b.add_argument("--encoding", default=None, help="attribute encoding of a Shapefile (default: detect)")
    b.add_argument("--merge", action="store_true",
                   help="write the dataset's whole unit layer with the imported polygons in place "
                        "(ready to replace boundaries/<level>.geojson in a copy of the dataset)")
    b.add_argument("-o", "--output", type=Path, required=True, help="output .geojson or .gpkg")
    b.set_defaults(func=_cmd_import_boundaries)

