"""Map layer: childcare places within walking reach (enhanced 2SFCA) per township, as context.

The layer shows, per township, 托位 per 1,000 children under 3 within walking reach of
places with room for them (:func:`coverage.access.fca.fca_for_dataset`: E2SFCA over the
walking network, 1,500 m catchment, decay 1/0.68/0.22; 2SFCA beside it in tooltips, the
panel and the export). It is **context for the target, not a plan target**, and the note
says so with the provenance (the embedded facilities are synthetic demo data).

What is sent to the browser (budget: 300 KB per callback response):

* the geometry once, when the layer is switched on or the basemap changes:
  :func:`geometry` = the township display polygons of the township layer (same outline),
  properties ``code`` only, 4 decimals (≈ 10 m);
* the values as a ``hideout`` (``colour`` and ``tip`` per township code), resent on a
  year, scenario or language change (a few kB), drawn by ``assets/covplan_access.js``.

Values follow the scenario (a childcare facility added in the app counts, with its
capacity). Tables are cached per (dataset, year, edits) in a small LRU.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from dashapp.cache import LRU
from dashapp.labels import t
from dashapp.state import edits_key

FTYPE: str = "childcare"
POPULATION: str = "pop_under3"
CATCHMENT_M: float = 1500.0

#: (upper bound per 1,000, colour) of the choropleth; no value (off the network) is grey
STYLE_BREAKS: tuple[tuple[float, str], ...] = (
    (25.0, "#f1eef6"), (75.0, "#bdc9e1"), (150.0, "#74a9cf"), (300.0, "#2b8cbe"),
    (float("inf"), "#045a8d"),
)
NO_VALUE_COLOUR = "#cccccc"
#: coordinate decimals of the layer's geometry (1e-4° ≈ 10 m; the outline is simplified by 120 m)
GEOM_DECIMALS: int = 4

_TABLES = LRU(8)
_GEOM = LRU(4)


def colour_for(value: float | None) -> str:
    """Fill colour of a township value (places per 1,000)."""
    if value is None or not np.isfinite(value):
        return NO_VALUE_COLOUR
    return next(c for bound, c in STYLE_BREAKS if value <= bound)


def legend_entries(lang: str) -> list[dict[str, Any]]:
    """Legend of the layer, in the format of :func:`dashapp.symbols.legend_entries`."""
    sec = t("fca_layer", lang)
    out, lo = [], 0.0
    for bound, colour in STYLE_BREAKS:
        if np.isfinite(bound):
            text = t("fca_band", lang).format(lo=f"{lo:.0f}", hi=f"{bound:.0f}")
        else:
            text = t("fca_band_top", lang).format(lo=f"{lo:.0f}")
        out.append({"section": sec, "label": text, "kind": "fill", "shape": "square", "color": colour})
        lo = bound
    out.append({"section": sec, "label": t("fca_no_value", lang), "kind": "fill", "shape": "square",
                "color": NO_VALUE_COLOUR})
    return out


def tables(year: Any, edits: Sequence[dict[str, Any]] = ()) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """``(villages, townships, year)`` of :func:`coverage.access.fca.fca_for_dataset` for the
    dataset shown (scenario edits applied), cached."""
    from coverage.access.fca import fca_for_dataset
    from dashapp.service import get_service

    svc = get_service()
    yr = svc.year(year)
    key = (svc._ds_key(), yr, edits_key(list(edits)))

    def compute() -> tuple[pd.DataFrame, pd.DataFrame]:
        ds, _ = svc.scenario_data(edits, yr)
        v, tw, _fac, _net = fca_for_dataset(ds, ftype=FTYPE, population=POPULATION,
                                            catchment_m=CATCHMENT_M, year=yr, network=svc._network())
        return v, tw

    v, tw = _TABLES.get_or_compute(key, compute)
    return v, tw, yr


def geometry(basemap: str = "none") -> dict[str, Any]:
    """Township outlines for the layer (those of the township layer), ``code`` only."""
    from dashapp.service import get_service

    svc = get_service()

    def compute() -> dict[str, Any]:
        src = svc.township_display(basemap)
        feats = [{"type": "Feature", "id": f["properties"]["code"],
                  "properties": {"code": f["properties"]["code"]},
                  "geometry": {"type": f["geometry"]["type"],
                               "coordinates": _round(f["geometry"]["coordinates"])}}
                 for f in src["features"]]
        return {"type": "FeatureCollection", "features": feats}

    return _GEOM.get_or_compute((svc._ds_key(), basemap), compute)


def _round(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), GEOM_DECIMALS) for c in coords]
    return [_round(c) for c in coords]


def _num(value: Any) -> str:
    from coverage.outputs.formatting import format_number

    return format_number(value, "ratio") or "—"


def hideout(year: Any, edits: Sequence[dict[str, Any]], basemap: str, lang: str) -> dict[str, Any]:
    """``{"colour": {code: fill}, "tip": {code: text}, "geom": basemap}`` of the shown data."""
    from dashapp.service import get_service

    _v, tw, _yr = tables(year, edits)
    names = get_service().township_table()["name"].to_dict()
    colour: dict[str, str] = {}
    tip: dict[str, str] = {}
    for r in tw.itertuples(index=False):
        code = str(r.township_code)
        e2 = float(r.fca_e2sfca)
        colour[code] = colour_for(e2)
        tip[code] = (f"{names.get(code, code)} · {t('fca_e2sfca', lang)} {_num(e2)} · "
                     f"{t('fca_2sfca', lang)} {_num(r.fca_2sfca)}")
    return {"colour": colour, "tip": tip, "geom": basemap, "no_value": NO_VALUE_COLOUR}


def note(edits: Sequence[dict[str, Any]], lang: str) -> str:
    """The layer's note: context, not a target; provenance; the scenario if any."""
    text = t("fca_context_note", lang).replace("{m}", f"{CATCHMENT_M:.0f}")
    return text + (f" {t('fca_scenario_note', lang)}" if edits else "")


def layer_view(on: bool, year: Any, edits: Sequence[dict[str, Any]], basemap: str, lang: str,
               shown: Any) -> dict[str, Any]:
    """What the map and legend show for the layer switch: ``data`` (None = unchanged),
    ``hideout``, ``legend`` entries and the ``note``.

    ``shown`` is the hideout the browser holds: its ``geom`` says which geometry it has, so
    a year or scenario change resends only the values.
    """
    if not on:
        return {"data": {"type": "FeatureCollection", "features": []}, "hideout": {},
                "legend": [], "note": ""}
    hide = hideout(year, edits, basemap, lang)
    same = isinstance(shown, dict) and shown.get("geom") == basemap and bool(shown.get("colour"))
    return {"data": None if same else geometry(basemap), "hideout": hide,
            "legend": legend_entries(lang), "note": note(edits, lang)}


def township_fca(code: str, year: Any, edits: Sequence[dict[str, Any]], lang: str) -> dict[str, Any] | None:
    """The township's 2SFCA values and those of its villages (for the details panel)."""
    v, tw, yr = tables(year, edits)
    row = tw[tw["township_code"].astype(str) == str(code)]
    if row.empty:
        return None
    r = row.iloc[0]
    vil = v[v["township_code"].astype(str) == str(code)].sort_values("code")
    return {
        "township": {"name": str(r["unit_name"]), "pop": _count(r["pop"]),
                     "fca_2sfca": _num(r["fca_2sfca"]), "fca_e2sfca": _num(r["fca_e2sfca"])},
        "villages": [{"name": str(x.unit_name), "pop": _count(x.pop), "fca_2sfca": _num(x.fca_2sfca),
                      "fca_e2sfca": _num(x.fca_e2sfca)} for x in vil.itertuples(index=False)],
        "year": yr, "note": note(edits, lang),
    }


def _count(value: Any) -> str:
    from coverage.outputs.formatting import format_number

    return format_number(value, "count") or "—"


def export(fmt: str, year: Any, edits: Sequence[dict[str, Any]], lang: str) -> tuple[bytes, str]:
    """The download: ``(bytes, file name)`` of the 2SFCA tables (``xlsx`` or ``csv``), as
    ``covplan fca -o`` writes them (:mod:`coverage.outputs.fca_export`)."""
    from coverage.outputs.fca_export import fca_bytes
    from dashapp.service import get_service

    svc = get_service()
    v, tw, yr = tables(year, edits)
    ds, _ = svc.scenario_data(edits, yr)
    data = fca_bytes(fmt, v, tw, ds, population=POPULATION, year=yr, lang=lang,
                     note_extra=t("fca_scenario_note", lang) if edits else "")
    return data, f"托位可达性_{yr}.{fmt.lstrip('.')}"
