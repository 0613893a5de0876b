"""Glossary terms of the facility store and its editor (merged into layers.glossary.GLOSSARY)."""

from __future__ import annotations

INVENTORY_TERMS: dict[str, dict[str, str]] = {
    "inventory_editor": {"zh": "台账编辑（设施库）", "en": "Inventory editor (facility store)"},
    "inventory_editor_off": {"zh": "未启用设施库：运行 covplan store init 后可在此修改台账",
                             "en": "No facility store: run covplan store init to edit the inventory here"},
    "inv_open_facility": {"zh": "打开", "en": "Open"},
    "inv_save": {"zh": "保存修改", "en": "Save"},
    "inv_delete": {"zh": "删除设施", "en": "Delete facility"},
    "inv_add": {"zh": "按以上内容新增设施", "en": "Add a facility with these values"},
    "inv_reason": {"zh": "修改原因", "en": "Reason for the change"},
    "inv_status": {"zh": "运营状态", "en": "Status"},
    "inv_status_open": {"zh": "运营中", "en": "Open"},
    "inv_status_closed": {"zh": "已关闭", "en": "Closed"},
    "inv_status_planned": {"zh": "规划中", "en": "Planned"},
    "inv_history": {"zh": "修改记录", "en": "History"},
    "inv_no_history": {"zh": "暂无修改记录（自数据迁移以来未改动）", "en": "No changes since the data were migrated"},
    "inv_version": {"zh": "版本", "en": "Version"},
    "inv_saved": {"zh": "已保存", "en": "Saved"},
    "inv_added": {"zh": "已新增设施", "en": "Facility added"},
    "inv_deleted": {"zh": "已从本年度起删除", "en": "Deleted from this year on"},
    "inv_conflict": {"zh": "保存被拒绝：他人已先修改此设施", "en": "Not saved: someone else changed this facility first"},
    "inv_invalid": {"zh": "未保存，数据未通过校验", "en": "Not saved: the values failed the checks"},
    "inv_need_reason": {"zh": "请填写修改原因", "en": "Enter a reason for the change"},
    "inv_not_found": {"zh": "该年度无此设施", "en": "No such facility in this year"},
    "inv_forbidden": {"zh": "无权修改该县的设施", "en": "You may not change facilities of this county"},
    "inv_drag_hint": {"zh": "拖动地图上的蓝色定位标记可调整位置，再点保存",
                      "en": "Drag the blue pin on the map to move it, then save"},
    "inv_year_note": {"zh": "修改只影响所选年度及以后，不改变以前年度",
                      "en": "A change applies from the selected year on; earlier years never change"},
    "inv_county_provenance": {"zh": "各县台账来源", "en": "Inventory provenance per county"},
    "partial": {"zh": "部分真实", "en": "Partly real"},
    "inv_action_create": {"zh": "新增", "en": "Added"},
    "inv_action_update": {"zh": "修改", "en": "Changed"},
    "inv_action_delete": {"zh": "删除", "en": "Deleted"},
    "inv_action_close": {"zh": "关闭", "en": "Closed"},
    "inv_action_rollback": {"zh": "撤销批次", "en": "Batch rolled back"},
    "inv_action_plan_update": {"zh": "规划调整", "en": "Planned change"},
    "inv_action_plan_close": {"zh": "规划关闭", "en": "Planned closure"},
    "inv_submit": {"zh": "报送台账（预览后写入批次）", "en": "Submit a list (preview, then write a batch)"},
    "inv_submit_upload": {"zh": "选择 .xlsx / .csv 台账", "en": "Choose an .xlsx / .csv list"},
    "inv_submit_source": {"zh": "报送单位", "en": "Submitting unit"},
    "inv_submit_county": {"zh": "县（市、区）（可选）", "en": "County (optional)"},
    "inv_submit_crs": {"zh": "坐标系", "en": "Coordinates"},
    "inv_submit_close": {"zh": "名单中缺失的设施标为已关闭", "en": "Mark facilities missing from the list as closed"},
    "inv_submit_apply": {"zh": "确认写入批次", "en": "Write this batch"},
    "inv_submit_done": {"zh": "已写入批次", "en": "Batch written"},
    "inv_new": {"zh": "新增", "en": "New"},
    "inv_changed": {"zh": "变更（匹配度）", "en": "Changed (match score)"},
    "inv_missing": {"zh": "名单中缺失（是否已关闭？）", "en": "Missing from the list (closed?)"},
    "inv_rejected": {"zh": "拒绝", "en": "Rejected"},
    "accept_scenario": {"zh": "采纳情景：写入规划设施", "en": "Accept: write as planned facilities"},
    "accept_scenario_confirm": {"zh": "确认采纳本情景？新增设施写入设施库（状态：规划中）；对现有设施的升级、"
                                      "托位调整和关闭记为规划调整（不改变现状台账，可整批撤销）。",
                                "en": "Accept this scenario? New facilities are written as planned; upgrades, "
                                      "capacity changes and closures of existing ones are recorded as planned "
                                      "changes (the current inventory is unchanged; the batch can be rolled back)."},
    "accept_scenario_done": {"zh": "已写入规划设施批次", "en": "Planned-facility batch written"},
    # member units that submit lists (store.sources.SOURCES keys, by their English ids)
    "source_civil_affairs": {"zh": "民政", "en": "Civil affairs"},
    "source_health": {"zh": "卫健", "en": "Health"},
    "source_education": {"zh": "教育", "en": "Education"},
    "source_sport": {"zh": "体育", "en": "Sport"},
    "source_disabled_persons": {"zh": "残联", "en": "Disabled Persons' Federation"},
    "source_womens_federation": {"zh": "妇联", "en": "Women's Federation"},
    "source_culture": {"zh": "文化", "en": "Culture"},
    "source_office": {"zh": "妇儿工委办", "en": "Women and Children's Committee office"},
    "crs_wgs84": {"zh": "WGS84（GPS）", "en": "WGS84 (GPS)"},
    "crs_gcj02": {"zh": "GCJ-02（高德、腾讯）", "en": "GCJ-02 (Amap, Tencent)"},
    "crs_bd09": {"zh": "BD-09（百度）", "en": "BD-09 (Baidu)"},
}

#: the Chinese name a submitting unit is known by (``store.sources.SOURCES`` keys) → English id
SOURCE_IDS: dict[str, str] = {
    "民政": "civil_affairs", "卫健": "health", "教育": "education", "体育": "sport", "残联": "disabled_persons",
    "妇联": "womens_federation", "文化": "culture", "妇儿工委": "office",
}


def source_label(source: str, lang: str = "zh") -> str:
    """Display name of a submitting unit: zh as written (``民政局``), en by the known unit it
    names (``Civil affairs``); an unknown name stays as written."""
    text = str(source or "").strip()
    if lang == "zh":
        return text
    for key, sid in SOURCE_IDS.items():
        if key in text:
            return INVENTORY_TERMS[f"source_{sid}"]["en"]
    return text
