"""Glossary terms of walking access in the app: the 2SFCA context layer and the relief panel.

Kept in their own module (like :mod:`layers.glossary_workspace`) so these terms can be
added without editing the shared sections of :mod:`layers.glossary`, which merges them into
``GLOSSARY`` (a key already defined there wins). Same shape: id → ``{"zh": …, "en": …}``.
"""

from __future__ import annotations

ACCESS_TERMS: dict[str, dict[str, str]] = {
    # --- the 2SFCA context layer (dashapp/fca_layer.py)
    "fca_layer": {"zh": "托位可达性（两步移动搜索法）", "en": "Childcare places within walking reach (2SFCA)"},
    "fca_layer_toggle": {"zh": "显示托位可达性图层（每千名3岁以下儿童步行可及托位）",
                         "en": "Show childcare places per 1,000 children under 3 within walking reach"},
    "fca_context_note": {"zh": "背景信息，不是规划目标：每千名3岁以下儿童步行{m}米内可及的托位（两步移动搜索法；"
                                "增强法按距离衰减1/0.68/0.22，地图颜色取增强法）。托育机构及托位为合成演示数据，"
                                "3岁以下儿童数为估算，路网为合成路网。",
                         "en": "Context, not a plan target: childcare places per 1,000 children under 3 within a "
                               "{m} m walk (2SFCA; the enhanced method decays 1/0.68/0.22 with distance and "
                               "colours the map). Childcare facilities and places are synthetic demo data, "
                               "children under 3 are estimated, the network is synthetic."},
    "fca_no_value": {"zh": "无值（居民点距路网过远）", "en": "No value (homes far from the network)"},
    "fca_band": {"zh": "{lo}–{hi} 个/千人", "en": "{lo}–{hi} per 1,000"},
    "fca_band_top": {"zh": "{lo} 个/千人以上", "en": "over {lo} per 1,000"},
    "fca_download_xlsx": {"zh": "下载托位可达性表（xlsx）", "en": "Download places within reach (xlsx)"},
    "fca_download_csv": {"zh": "下载托位可达性表（csv）", "en": "Download places within reach (csv)"},
    "fca_panel_title": {"zh": "托位可达性（背景信息）", "en": "Childcare places within reach (context)"},
    "fca_sheet_townships": {"zh": "乡镇（街道）", "en": "Townships"},
    "fca_sheet_villages": {"zh": "村（社区）", "en": "Villages"},
    "fca_sheet_note": {"zh": "说明", "en": "Notes"},
    "fca_scenario_note": {"zh": "含当前情景的编辑", "en": "With the scenario's edits"},
    # --- the relief panel (dashapp/relief_panel.py)
    "relief_title": {"zh": "计坡度步行时间（{m}分钟）", "en": "Minutes walked on slopes ({m} min)"},
    "relief_flat": {"zh": "平地口径（路网距离）", "en": "Flat (network distance)"},
    "relief_terrain": {"zh": "计坡度（Tobler步行时间）", "en": "On slopes (Tobler walking time)"},
    "relief_covered": {"zh": "已覆盖人口", "en": "People covered"},
    "relief_share": {"zh": "覆盖率", "en": "Covered share"},
    "relief_outside_dem": {"zh": "本乡镇不在高程数据范围内：按平地步行时间计算（已标注）。",
                           "en": "This township lies outside the elevation model: flat walking time is used (flagged)."},
    "relief_partial_dem": {"zh": "本乡镇部分居民点在高程数据范围外，这些居民点按平地步行时间计算。",
                           "en": "Some homes of this township lie outside the elevation model: flat time is used for them."},
    "relief_no_dem": {"zh": "未配置高程数据，步行时间按平地计算（启动时用 covplan app --dem 文件 或环境变量 COVPLAN_DEM 指定）。",
                      "en": "No elevation model configured: walking time is flat (start with covplan app --dem FILE "
                            "or set COVPLAN_DEM)."},
    "relief_not_applicable": {"zh": "本乡镇无该目标的居民点（不适用）。", "en": "No homes of this target in the township (not applicable)."},
    "relief_source": {"zh": "高程：{dem}（SRTM，公有领域，真实数据）；路网与设施为合成演示数据。",
                      "en": "Elevation: {dem} (SRTM, public domain, real); network and facilities are synthetic demo data."},
    "relief_scenario_note": {"zh": "含当前情景的编辑。", "en": "With the scenario's edits."},
}
