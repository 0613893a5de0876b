"""Glossary terms of the planner's workspace (map-first layout, search, print, URL view).

Kept in their own module so the workspace can add terms without editing the shared
sections of :mod:`layers.glossary`; ``layers.glossary`` merges them into ``GLOSSARY`` (a
key already defined there wins). Same shape: English id → ``{"zh": …, "en": …}``.
"""

from __future__ import annotations

WORKSPACE_TERMS: dict[str, dict[str, str]] = {
    # --- drawer and panels
    "tab_target": {"zh": "目标", "en": "Target"},
    "tab_scenario": {"zh": "情景", "en": "Scenario"},
    "tab_siting": {"zh": "选址", "en": "Siting"},
    "tab_io": {"zh": "导入/导出", "en": "Import/Export"},
    "toggle_tools": {"zh": "工具栏", "en": "Tools"},
    "toggle_details": {"zh": "详情", "en": "Details"},
    "target_summary": {"zh": "目标概况", "en": "Target summary"},
    "back_to_summary": {"zh": "返回目标概况", "en": "Back to the target summary"},
    "loading_year": {"zh": "正在计算…", "en": "Computing…"},
    # --- symbols and legend
    "legend_township_status": {"zh": "乡镇（街道）达标状态", "en": "Township status"},
    "legend_counts": {"zh": "数字 = 乡镇内显示的设施数（缩放至11级以上显示各设施）",
                      "en": "Number = facilities shown in the township (zoom to 11+ for each facility)"},
    "legend_added": {"zh": "情景新增（带＋）", "en": "Scenario addition (with +)"},
    "legend_proposal": {"zh": "建议选址（虚线圈）", "en": "Proposed site (dashed ring)"},
    "legend_service_area": {"zh": "服务范围", "en": "Service area"},
    "legend_uncovered": {"zh": "未覆盖人口（圆越大人越多）", "en": "Uncovered people (larger = more)"},
    "legend_county_outline": {"zh": "县（市、区）界", "en": "County outline"},
    # --- search
    "search_placeholder": {"zh": "搜索乡镇、村（社区）或设施名称", "en": "Search a township, village or facility"},
    "search_no_match": {"zh": "无匹配结果", "en": "No match"},
    "kind_township": {"zh": "乡镇", "en": "Township"},
    "kind_village": {"zh": "村（社区）", "en": "Village"},
    "kind_facility": {"zh": "设施", "en": "Facility"},
    # --- target summary
    "trend_criterion": {
        "zh": "“预计达标困难”的判定：对每个单位，按各清单年度（2020、2022、2024）的实际值拟合最小二乘直线，"
              "外推到规划期末（2025年）；最新年度为达标或未达标、且外推值低于要求值（或超出要求区间）的，"
              "判定为预计达标困难。少于两个年度有数值的不作判定（数据不足）。",
        "en": "\"Expected to miss\": for each unit a least-squares line is fitted to its actual values in the "
              "inventory years (2020, 2022, 2024) and projected to the plan horizon (2025); a unit whose latest "
              "status is met or not met and whose projection is below the requirement (or outside the band) is "
              "flagged. Units with values in fewer than two years are not judged (too few years).",
    },
    "units_at_risk": {"zh": "预计达标困难单位数", "en": "Units expected to miss"},
    "total_shortfall": {"zh": "缺口合计", "en": "Total shortfall"},
    "layer_labels": {"zh": "乡镇名称与设施数", "en": "Township names and counts"},
    "basemap_tile_failed": {"zh": "底图瓦片加载失败（可能离线，或密钥、瓦片地址有误）；专题图层不受影响，可改选“无底图（离线）”。",
                            "en": "Basemap tiles failed to load (offline, or a wrong key or tile URL); the thematic layers are unaffected."},
    "scenario_kept_version": {"zh": "同名情景已存在，未覆盖，另存为新版本", "en": "A scenario of that name exists; kept as a new version"},
    "download_scenario": {"zh": "下载情景文件（.toml）", "en": "Download the scenario (.toml)"},
    # --- print layout and atlas (coverage/outputs/atlas.py)
    "no_gaps": {"zh": "本县无缺口", "en": "No gaps in this county"},
    "mapping_unit": {"zh": "制图单位", "en": "Map by"},
    "map_date": {"zh": "制图日期", "en": "Date"},
    "author_unset": {"zh": "（未填写）", "en": "(not given)"},
    "atlas_title": {"zh": "规划目标缺口图集", "en": "Plan target gap atlas"},
    "atlas_cover_note": {"zh": "每页一项规划目标：乡镇（街道）达标状态图与缺口清单。",
                         "en": "One page per plan target: township status map and gap list."},
    "paper": {"zh": "纸张", "en": "Paper"},
    "print_map": {"zh": "打印当前地图（PDF）", "en": "Print this map (PDF)"},
    "print_atlas": {"zh": "打印县域图集（PDF）", "en": "Print the county atlas (PDF)"},
    "print_needs_county": {"zh": "请先在“目标”页选择一个县（市、区）", "en": "Choose a county on the Target tab first"},
    "print_section": {"zh": "打印与PDF", "en": "Print and PDF"},
    "atlas_more_rows": {"zh": "另有 {n} 行未列出，完整清单见缺口清单导出（covplan gaps）",
                        "en": "{n} more rows: see the full gap list (covplan gaps)"},
    # --- basemap settings (dashapp/basemaps.py)
    "basemap_xyz": {"zh": "自定义瓦片（XYZ）", "en": "Custom tiles (XYZ)"},
    "basemap_settings": {"zh": "底图设置（天地图密钥、内网瓦片地址）", "en": "Basemap settings (Tianditu key, intranet tiles)"},
    "basemap_tianditu_key": {"zh": "天地图密钥（tk）", "en": "Tianditu key (tk)"},
    "basemap_xyz_url": {"zh": "瓦片地址模板（含 {z} {x} {y}）", "en": "Tile URL template (with {z} {x} {y})"},
    "basemap_stored_locally": {"zh": "只保存在本浏览器中，不上传服务器", "en": "Kept in this browser only, never sent to be stored"},
    "basemap_key_needed": {"zh": "请在“底图设置”中填写天地图密钥", "en": "Enter a Tianditu key under Basemap settings"},
    "basemap_xyz_needed": {"zh": "请在“底图设置”中填写以 http(s):// 开头、含 {z} {x} {y} 的瓦片地址",
                           "en": "Enter an http(s):// tile URL with {z} {x} {y} under Basemap settings"},
    "projection": {"zh": "外推至2025年", "en": "Projection to 2025"},
    "summary_click_hint": {"zh": "点击县（市、区）柱形图打开该县地图；点击下表中的目标打开该目标的地图。",
                           "en": "Click a county bar to open its map; click a target in the table to open its map."},
    # --- village view (dashapp/village_view.py)
    "villages_lacking": {"zh": "未达标的村（社区）", "en": "Villages lacking it"},
    "villages_lacking_count": {"zh": "{target}：本乡镇{total}个村（社区）中{n}个未达标或无数据",
                               "en": "{target}: {n} of the township's {total} villages not met or without data"},
    "village_pick_hint": {"zh": "在地图上定位该村（社区）", "en": "Show this village on the map"},
}
