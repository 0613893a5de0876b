"""Map symbols of the workspace: one colour per facility type, one shape per tier.

The same spec drives the map (``shape``/``color`` in each facility feature's properties,
drawn by ``assets/covplan_map.js`` as a small CSS shape) and the legend, so the two can
never disagree. Shapes are CSS ``clip-path`` figures (``assets/covplan_workspace.css``).

* 儿童之家: 示范型 a star, 特色型 a diamond, 基础型 a circle (the plan's tiers at a glance);
* every other type: a shape of its own from :data:`TYPE_SHAPES` and its own colour;
* scenario additions: the facility's symbol with a "+" badge; proposals: a dashed ring.
"""

from __future__ import annotations

from typing import Any, Iterable

from dashapp.labels import STATUSES, t
from dashapp.maps import FACILITY_COLORS, STATUS_COLORS, TIER_SHAPES, TYPE_SHAPES, shape_of  # noqa: F401
from layers.vocab import CHILD_HOME_TIERS, FACILITY_TYPES

PROPOSAL_COLOR = "#e7298a"
SERVICE_AREA_COLOR = "#a6d96a"
UNCOVERED_COLOR = "#762a83"
COUNTY_OUTLINE_COLOR = "#303030"


def color_of(ftype: str) -> str:
    return FACILITY_COLORS.get(str(ftype), "#333333")


def legend_entries(
    types: Iterable[str],
    lang: str,
    *,
    access: bool = False,
    added: bool = False,
    proposals: bool = False,
) -> list[dict[str, Any]]:
    """Legend of what the map shows: ``[{"section", "label", "kind", "shape", "color"}]``.

    ``kind`` is ``fill`` (a status colour), ``symbol`` (a facility shape), ``count`` (the
    per-township number badge), ``added``, ``proposal``, ``area``, ``uncovered`` or
    ``outline``. Entries appear only for the layers shown: the chosen facility types, the
    access layers of an access target, scenario additions and proposals when there are any.
    """
    sec_status = t("legend_township_status", lang)
    out: list[dict[str, Any]] = [
        {"section": sec_status, "label": t(s, lang), "kind": "fill", "shape": "square", "color": STATUS_COLORS[s]}
        for s in STATUSES
    ]
    out.append({"section": sec_status, "label": t("legend_county_outline", lang), "kind": "outline",
                "shape": "square", "color": COUNTY_OUTLINE_COLOR})
    sec_fac = t("layer_facilities", lang)
    types = [ft for ft in FACILITY_TYPES if ft in set(types)]
    for ft in types:
        if ft == "child_home":
            for tier in ("demonstration", "featured", "basic"):
                if tier in CHILD_HOME_TIERS:
                    out.append({"section": sec_fac, "label": f"{t(ft, lang)} · {t(tier, lang)}", "kind": "symbol",
                                "shape": shape_of(ft, tier), "color": color_of(ft)})
        else:
            out.append({"section": sec_fac, "label": t(ft, lang), "kind": "symbol", "shape": shape_of(ft),
                        "color": color_of(ft)})
    if types:
        out.append({"section": sec_fac, "label": t("legend_counts", lang), "kind": "count", "shape": "count",
                    "color": "#ffffff"})
    if added:
        out.append({"section": sec_fac, "label": t("legend_added", lang), "kind": "added", "shape": "circle",
                    "color": "#ffffff"})
    if proposals:
        out.append({"section": sec_fac, "label": t("legend_proposal", lang), "kind": "proposal", "shape": "ring",
                    "color": PROPOSAL_COLOR})
    if access:
        out.append({"section": t("layer_service_areas", lang), "label": t("legend_service_area", lang),
                    "kind": "area", "shape": "square", "color": SERVICE_AREA_COLOR})
        out.append({"section": t("layer_service_areas", lang), "label": t("legend_uncovered", lang),
                    "kind": "uncovered", "shape": "circle", "color": UNCOVERED_COLOR})
    return out
