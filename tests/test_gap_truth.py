"""One truth on screen and in every export (issue 10's done-when tests), on the embedded
Lishui dataset (9 counties, 173 townships, every target).

* every target × the city and every county × both languages: the app's gap-table rows (the
  map callback's output) equal the downloaded csv rows of that target and scope, and the
  rows of the scope's xlsx (the app's "all targets" download, one file per county) — same
  units, values and count; the side panel's numbers for a sampled township of every county
  equal its export rows (township targets: its own row; village targets: its unmet villages;
  county targets: its county's row);
* property tests: additive shortfalls add up township → county → city, no rate gap above 100
  points, no unit twice per target in a sheet;
* a scan of rendered page states (layouts, target picker, map callback, side panel, summary
  card and page) and exports for None/nan, internal keys and words of the wrong language
  (reviewed allow-list below), and a proof that the scan catches a Chinese group header.

The app is the embedded one (``service.configure(None)``): the full evaluation of 2024 is
computed once and every callback below cuts its target from it (the service's caches), so
the whole module runs in about a minute and a half (measured: see the commit message).
"""

from __future__ import annotations

import functools
import io
import re

import openpyxl
import pandas as pd
import pytest

from coverage.outputs.display import DISPLAY_COLUMNS, display_headers
from coverage.outputs.formatting import format_number
from dashapp import exports, queries_detail, service
from dashapp.callbacks import map_cb
from layers.glossary import label

LANGS = ("zh", "en")
YEAR = 2024
_FORMAT_OF = {"0.0%": "percent", "#,##0": "count", "0.00": "ratio", "0.0": "pp"}


@pytest.fixture(scope="module", autouse=True)
def embedded_app():
    """The app on the embedded dataset, its 2024 evaluation computed once."""
    svc = service.configure(None)
    _cached_clear()
    svc.evaluation(YEAR, (), None)
    yield svc
    _cached_clear()
    service.configure(None)


def _targets() -> list[str]:
    return [tg.id for tg in service.get_service().targets]


def _counties() -> list[str]:
    return [""] + list(service.get_service().ds.counties["code"].astype(str))


@functools.lru_cache(maxsize=None)
def _view(target: str, county: str, lang: str) -> tuple:
    return map_cb.update_target_view(target, county, YEAR, None, None, "none", lang)


def _app_rows(target: str, county: str, lang: str) -> list[dict]:
    return _view(target, county, lang)[3]


def _as_header_rows(rows: list[dict], lang: str) -> list[dict]:
    heads = display_headers(lang)
    return [{heads[c]: str(r[c]) for c in DISPLAY_COLUMNS} for r in rows]


@functools.lru_cache(maxsize=None)
def _csv(target: str, county: str, lang: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    data, _ = exports.gap_file("csv", YEAR, county or None, target, (), lang)
    df = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return tuple(tuple(r.items()) for r in df.to_dict("records"))


def _csv_rows(target: str, county: str, lang: str, *, statement: bool = False) -> list[dict]:
    rows = [dict(r) for r in _csv(target, county, lang)]
    if not statement:  # the dataset provenance statement (last column)
        for r in rows:
            r.pop(list(r)[-1])
    return rows


def _cell_text(cell) -> str:
    v = cell.value
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and cell.number_format in _FORMAT_OF:
        return format_number(v, _FORMAT_OF[cell.number_format])
    return str(v)


@functools.lru_cache(maxsize=None)
def _xlsx(county: str, lang: str) -> bytes:
    """The scope's gap list of every target (the app's 全部目标 download), as bytes."""
    data, _ = exports.gap_file("xlsx", YEAR, county or None, None, (), lang)
    return data


def _xlsx_rows(county: str, lang: str) -> tuple[list[dict], list[dict]]:
    """(unit rows, 合计 rows) of the three level sheets, cells as the app shows them."""
    wb = openpyxl.load_workbook(io.BytesIO(_xlsx(county, lang)))
    heads = display_headers(lang)
    section = ("county", "township", "village")
    units, totals = [], []
    for i, name in enumerate(wb.sheetnames[1:4]):
        ws = wb[name]
        head = [c.value for c in ws[1]]
        for r in ws.iter_rows(min_row=2):
            rec = {h: _cell_text(c) for h, c in zip(head, r)}
            rec[heads["section"]] = section[i]
            (totals if rec[heads["row_kind"]] else units).append(rec)
    return units, totals


def _cached_clear() -> None:
    for fn in (_view, _csv, _xlsx):
        fn.cache_clear()


@pytest.mark.parametrize("lang", LANGS)
def test_app_rows_equal_csv_and_xlsx_rows_for_every_target_and_county(lang):
    heads = display_headers(lang)
    cols = [heads[c] for c in DISPLAY_COLUMNS if c != "section"]
    key = [heads["unit_code"], heads["target_id"], heads["unit_level"]]
    n_compared, scopes_with_rows = 0, set()
    for county in _counties():
        app_all: dict[tuple, dict] = {}
        for target in _targets():
            app = _as_header_rows(_app_rows(target, county, lang), lang)
            assert app == _csv_rows(target, county, lang), (target, county, lang)
            for row in app:
                k = tuple(row[c] for c in key)
                assert k not in app_all, (target, county, lang, k)  # no unit twice per target
                app_all[k] = row
            n_compared += len(app)
        xlsx, totals = _xlsx_rows(county, lang)
        assert len(xlsx) == len(app_all), (county, lang)
        for row in xlsx:
            mine = app_all[tuple(row[c] for c in key)]
            assert {c: row[c] for c in cols} == {c: mine[c] for c in cols}, (county, lang, row[heads["unit_code"]])
        if county:  # a county's file holds its own rows and its units' rows only, never another's
            assert {r[heads["county_code"]] for r in xlsx} <= {county}
            assert {r[heads["unit_code"]] for r in totals} <= {county}
        scopes_with_rows |= {county} if app_all else set()
    # every scope has gaps on the embedded (demo) data, and thousands of rows were compared
    assert scopes_with_rows == set(_counties()) and n_compared > 2000


def _number_of(text: str) -> str:
    m = re.match(r"[\d,.]+", text or "")
    return m.group(0) if m else ""


def _sample_townships() -> list[str]:
    """One township per county: the one with the most unmet township-level rows (ties: code)."""
    svc = service.get_service()
    u = svc.evaluation(YEAR, (), None).units
    t = u[u["unit_level"] == "township"]
    bad = t[t["status"] == "not_met"].groupby("unit_code").size()
    towns = svc.ds.townships[["code", "county_code"]].astype(str)
    towns = towns.assign(n=towns["code"].map(bad).fillna(0)).sort_values(["county_code", "n", "code"],
                                                                         ascending=[True, False, True])
    return towns.groupby("county_code")["code"].first().tolist()


@pytest.mark.parametrize("lang", LANGS)
def test_side_panel_numbers_equal_the_export_rows(lang):
    from coverage.outputs.levels import map_level

    svc = service.get_service()
    heads = display_headers(lang)
    units = svc.evaluation(YEAR, (), None).units
    levels = {tg.id: map_level(tg, units) for tg in svc.targets}
    counties = dict(zip(svc.ds.counties["code"].astype(str), svc.ds.counties["name"].astype(str)))
    checked = {"township": 0, "village": 0, "county": 0}
    for code in _sample_townships():
        county = code[:6]
        detail = queries_detail.township_detail(code, YEAR, (), lang)
        for d in detail["targets"]:
            level = levels[d["target_id"]]
            rows = _csv_rows(d["target_id"], county, lang)
            if level == "township":
                mine = [r for r in rows if r[heads["unit_code"]] == code]
                assert d["unit_name"] == detail["name"]
                if d["status"] != "not_met":
                    assert mine == [], (code, d["target_id"])
                    continue
                (row,) = mine
                assert (d["actual"], d["required"]) == (row[heads["actual"]], row[heads["required"]])
                assert _number_of(d["shortfall_text"]) == row[heads["shortfall"]] != ""
            elif level == "village":
                # the panel counts met / evaluated villages; the export lists the unmet ones
                mine = [r for r in rows if r[heads["township_code"]] == code
                        and r[heads["unit_level"]] == label("village", lang)]
                n_met, n_all = int(d["actual"].replace(",", "")), int(d["required"].replace(",", ""))
                assert len(mine) == n_all - n_met, (code, d["target_id"])
                assert (d["status"] == "met") == (n_met == n_all)
            elif level == "county":
                assert d["unit_name"] == counties[county]
                mine = [r for r in rows if r[heads["unit_code"]] == county]
                if d["status"] != "not_met":
                    assert mine == [], (code, d["target_id"])
                    continue
                (row,) = mine
                assert (d["actual"], d["required"]) == (row[heads["actual"]], row[heads["required"]])
                assert _number_of(d["shortfall_text"]) == row[heads["shortfall"]]
            checked[level] += 1
    # every county's sample township was checked at all three levels
    assert min(checked.values()) >= 9, checked


# --------------------------------------------------------------------------- property tests
@pytest.fixture(scope="module")
def embedded():
    from coverage.outputs import county_totals, township_gaps
    from coverage.targets import evaluate, load_targets
    from layers.load import load_dataset

    ds, targets = load_dataset(), load_targets()
    res = evaluate(ds, targets)
    gaps = township_gaps(res, ds, targets=targets)
    return ds, targets, res, gaps, county_totals(gaps, res, ds)


def test_additive_shortfalls_add_up_township_to_county_to_city(embedded):
    from coverage.outputs.formatting import ADDITIVE_UNITS

    ds, targets, res, gaps, totals = embedded
    u = res.units
    checked = 0
    for tg in targets:
        rows = u[u["target_id"] == tg.id]
        unit = str(rows["shortfall_unit"].iloc[0])
        if unit not in ADDITIVE_UNITS or tg.kind in ("capacity_ratio", "unit_share", "facility_share"):
            continue  # own ratios per level (see data/targets/README.md): no sum across units
        for fine, coarse in (("township", "county"), ("county", "city")):
            f, c = rows[rows["unit_level"] == fine], rows[rows["unit_level"] == coarse]
            if f.empty:
                continue
            key = f["county_code"] if coarse == "county" else pd.Series("331100", index=f.index)
            sums = f["shortfall"].astype(float).groupby(key).sum()
            if not c.empty and tg.kind not in ("access", "linkage"):
                continue  # a presence rule at two levels (市、县两级) is two requirements, not a sum
            if c.empty:  # no evaluated parent row: the 合计 row is the independent roll-up's sum
                ev = res.rollup[(res.rollup["target_id"] == tg.id) & (res.rollup["level"] == coarse)]
                want = ev.set_index("unit_code")["shortfall"].astype(float).fillna(0.0)  # none unmet: 0
            else:
                want = c.set_index("unit_code")["shortfall"].astype(float)
            for code, total in sums.items():
                assert total == pytest.approx(want[code]), (tg.id, fine, coarse, code)
                checked += 1
    assert checked > 50
    # the 合计 rows of the township sheet are the same sums
    town_tot = totals[(totals["section"] == "township") & (totals["target_id"] == "demo_child_home_per_township")]
    own = gaps[(gaps["section"] == "township") & (gaps["target_id"] == "demo_child_home_per_township")]
    assert town_tot.set_index("unit_code")["shortfall"].to_dict() == own.groupby("county_code")["shortfall"].sum().to_dict()


def test_no_rate_gap_above_100_points_and_no_unit_twice(embedded):
    ds, targets, res, gaps, totals = embedded
    pp = gaps[gaps["shortfall_unit"] == "pp"]
    assert len(pp) > 100 and (pp["shortfall"] <= 100).all() and (pp["shortfall"] > 0).all()
    assert pp["shortfall"].notna().all()
    # rate roll-ups never add points
    assert totals.loc[totals["shortfall_unit"] == "pp", "shortfall"].isna().all()
    assert not gaps.duplicated(["section", "unit_code", "target_id"]).any()
    assert not totals.duplicated(["section", "unit_code", "target_id"]).any()
    # and what the app shows: formatted points with one decimal, never more than 100.0
    from coverage.outputs.display import gap_display_frame

    shown = gap_display_frame(pp.head(300), "zh")["shortfall"].astype(float)
    assert (shown <= 100.0).all()


# --------------------------------------------------------------------------- scan
#: reviewed allow-list. ASCII words a zh page/file may show: ids a planner traces a row by
#: (target ids in the 目标编号 column), plan line numbers (L721), names of formats and
#: coordinate systems, and the language switch's own name (English)
_ZH_ALLOWED = re.compile(r"^(L\d+|[a-z0-9_]+_[a-z0-9_]+|Leaflet|BSD|CSV|xlsx|csv|geojson|gpkg|toml|GCJ|WGS|pp|"
                         r"Excel|GeoJSON|HTML|PDF|WGS84|GPS|XYZ|CGCS2000|English|OSM|OpenStreetMap)$")
_INTERNAL = re.compile(r"\b(None|nan|NaN|NaT|facilities=|population=|network=|indicators=|village_points|"
                       r"not_met|not_applicable|no_data|upgrades_links|heuristic)\b")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
#: component properties a person reads besides ``children``
_TEXT_PROPS = ("placeholder", "title", "label", "headerName", "tooltip")


def _visible(component) -> list[str]:
    """Every text a person reads in a Dash component tree, a figure or an AG Grid definition:
    children, option labels, placeholders, titles, tab labels, column headers, axis titles."""
    out: list[str] = []
    stack = [component]
    while stack:
        c = stack.pop()
        if c is None or isinstance(c, bool):
            continue
        if isinstance(c, (str, int, float)):
            out.append(str(c))
        elif isinstance(c, (list, tuple)):
            stack.extend(c)
        elif isinstance(c, dict):
            for k, v in c.items():
                if k in ("text", "name", "label", "headerName", "title", "placeholder") and isinstance(v, str):
                    out.append(v)
                elif isinstance(v, (dict, list, tuple)) and k not in ("data", "customdata", "x", "y", "z"):
                    stack.append(v)
        else:
            stack.append(getattr(c, "children", None))
            for prop in _TEXT_PROPS:
                v = getattr(c, prop, None)
                if isinstance(v, str):
                    out.append(v)
            for prop in ("options", "columnDefs", "figure", "dashGridOptions"):
                v = getattr(c, prop, None)
                if v is not None:
                    stack.append(v)
    return out


def _texts_zh(values) -> list[str]:
    bad = []
    for v in values:
        if str(v).startswith(("http://", "https://")):  # a URL (the tile-URL placeholder)
            continue
        for word in re.findall(r"[A-Za-z][A-Za-z_0-9]{2,}", str(v)):
            if not _ZH_ALLOWED.match(word):
                bad.append(f"{word!r} in {v[:160]!r}")
    return bad


@functools.lru_cache(maxsize=1)
def _en_allowed() -> tuple[frozenset[str], tuple[str, ...]]:
    """Reviewed allow-list of Chinese in the English UI: place names (city, counties,
    townships, villages), facility names (user data) and the plan's clause quotations."""
    from dashapp.labels import target_clause

    svc = service.get_service()
    ds = svc.ds
    names = ["丽水市", "中文"]  # "中文": the language switch names its language in that language
    for layer in (ds.counties, ds.townships, ds.villages, ds.facilities):
        names += layer["name"].astype(str).tolist()
    runs = frozenset(r for n in names for r in _HAN_RUN.findall(n))
    clauses = sorted({c for tg in svc.targets for c in (target_clause(tg), tg.clause) if c}, key=len, reverse=True)
    return runs, tuple(clauses)


def _texts_en(values) -> list[str]:
    """Chinese in English text, outside place/facility names and clause quotations."""
    runs, clauses = _en_allowed()
    bad = []
    for v in values:
        text = str(v)
        for clause in clauses:
            text = text.replace(clause, " ")
        for run in _HAN_RUN.findall(text):
            if run not in runs:
                bad.append(f"{run!r} in {str(v)[:160]!r}")
    return bad


def _scan(where: str, texts, lang: str) -> list[str]:
    problems = []
    for text in texts:
        for m in _INTERNAL.findall(str(text)):
            problems.append(f"{where}/{lang}: internal {m!r} in {str(text)[:120]!r}")
    bad = _texts_zh(texts) if lang == "zh" else _texts_en(texts)
    return problems + [f"{where}/{lang}: {p}" for p in bad]


@pytest.fixture(scope="module")
def pages():
    """The app object (registers the pages) on the embedded data."""
    from dashapp.app import create_app

    return create_app(None)


def _page_texts(lang: str) -> list[str]:
    """Every registered page's layout in ``lang`` (read from Dash's page registry: importing
    ``dashapp.pages.*`` here would register the pages a second time under another module
    name) and the target picker's options."""
    import dash

    from dashapp.queries import target_options

    layouts = [p["layout"](lang=lang) for p in dash.page_registry.values() if callable(p.get("layout"))]
    assert len(layouts) >= 2  # the map and the summary page
    return [t for lay in layouts for t in _visible(lay)] + _visible(target_options(lang))


def test_scan_pages_and_exports_for_raw_values_and_wrong_language(pages):
    from dashapp import views, views_workspace, workspace
    from dashapp.callbacks import summary_cb

    heads = {lang: display_headers(lang) for lang in LANGS}
    #: export columns whose Chinese is a place name or a plan quotation (allowed in en)
    chinese_ok = {heads["en"][c] for c in ("unit_name", "county_name", "township_name", "clause")}
    towns = _sample_townships()
    problems: list[str] = []
    for lang in LANGS:
        problems += _scan("pages", _page_texts(lang), lang)
        problems += _scan("summary page", _visible(summary_cb.update_summary(YEAR, None, lang)), lang)
        for code in towns[:3]:
            panel = views.township_panel(queries_detail.township_detail(code, YEAR, (), lang), lang)
            problems += _scan(f"panel {code}", _visible(panel), lang)
        for target in _targets():
            for county in ("", towns[0][:6]):
                hide, county_h, counts, rows = _view(target, county, lang)[:4]
                texts = list(hide["tip"].values()) + list(county_h["tip"].values()) + _visible(counts)
                for r in rows:
                    texts += [str(r[c]) for c in DISPLAY_COLUMNS
                              if c not in ("target_id", "unit_name", "county_name", "township_name", "clause")]
                problems += _scan(f"{target}|{county}", texts, lang)
                card = views_workspace.target_summary(workspace.target_summary(target, county, YEAR, (), lang), lang)
                problems += _scan(f"card {target}|{county}", _visible(card), lang)
            for rec in _csv_rows(target, "", lang, statement=True):
                for col, value in rec.items():
                    if col == heads[lang]["target_id"] or (lang == "en" and col in chinese_ok):
                        problems += [p for p in _scan(f"{target} csv {col}", [value], lang) if "internal" in p]
                    else:
                        problems += _scan(f"{target} csv {col}", [value, col], lang)
        units, totals = _xlsx_rows(towns[0][:6], lang)
        for rec in units + totals:
            for col, value in rec.items():
                if col not in (heads[lang]["target_id"], heads[lang]["section"]) and not (
                        lang == "en" and col in chinese_ok):
                    problems += _scan(f"xlsx {col}", [value, col], lang)
    assert problems == [], "\n".join(sorted(set(problems))[:400])


def test_scan_catches_a_chinese_group_header_in_english(pages, monkeypatch):
    """The scan is not blind: with one chapter heading missing from the glossary, the English
    target picker shows it in Chinese and the scan reports exactly that heading."""
    from layers.glossary import GLOSSARY

    assert _scan("pages", _visible(__import__("dashapp.queries", fromlist=["x"]).target_options("en")), "en") == []
    monkeypatch.delitem(GLOSSARY, "二、（四）儿童与福利")
    problems = _scan("pages", _page_texts("en"), "en")
    assert problems and all("儿童与福利" in p for p in problems), problems
    # and a Chinese status label in an English gap row is caught too
    rows = _app_rows("demo_child_home_per_township", "", "en")
    assert _scan("rows", [rows[0]["shortfall"] + " 个设施"], "en")


def test_every_chapter_heading_has_an_english_label():
    from dashapp.labels import chapter_label

    for tg in service.get_service().targets:
        en = chapter_label(tg.chapter, "en")
        assert en and not _HAN_RUN.search(en.replace("Women's plan", "").replace("Children's plan", "")), (tg.id, en)
        assert chapter_label(tg.chapter, "zh") == str(tg.chapter).strip()
