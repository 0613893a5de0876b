"""The one glossary: English ids → Chinese (zh) and English (en) display labels.

Every label shown in the app, written into an export or printed by the CLI comes from
here (``dashapp/labels.py`` wraps it for the UI). Keys are English identifiers; add new
terms in the matching section, keeping both languages.
"""

from __future__ import annotations

GLOSSARY: dict[str, dict[str, str]] = {
    # --- units and levels
    "city": {"zh": "市", "en": "City"},
    "county": {"zh": "县（市、区）", "en": "County"},
    "township": {"zh": "乡镇（街道）", "en": "Township"},
    "village": {"zh": "村（社区）", "en": "Village / community"},
    "villagers_committee": {"zh": "村委会", "en": "Villagers' committee"},
    "residents_committee": {"zh": "居委会（社区）", "en": "Residents' committee"},
    # --- facility types
    "child_home": {"zh": "儿童之家", "en": "Children's home"},
    "mother_baby_room": {"zh": "母婴室", "en": "Mother-baby room"},
    "public_place": {"zh": "公共场所", "en": "Public place"},
    "childcare": {"zh": "托育机构", "en": "Childcare institution"},
    "fitness": {"zh": "体育健身设施", "en": "Fitness facility"},
    "disability_home": {"zh": "残疾人之家", "en": "Home for people with disabilities"},
    "elderly_care_centre": {"zh": "居家养老服务中心", "en": "Home-based elderly care centre"},
    "mch_institution": {"zh": "妇幼保健机构", "en": "Maternal and child health institution"},
    "childcare_guidance_centre": {"zh": "托育服务指导中心", "en": "Childcare guidance centre"},
    "minor_protection_station": {"zh": "未成年人保护工作站", "en": "Minor protection station"},
    "minor_rescue_centre": {"zh": "未成年人救助保护中心", "en": "Minor rescue and protection centre"},
    "child_welfare_facility": {"zh": "儿童福利设施", "en": "Child welfare facility"},
    "mental_health_welfare": {"zh": "精神卫生福利设施", "en": "Mental health welfare facility"},
    "women_children_centre": {"zh": "妇女儿童活动中心", "en": "Women and children's activity centre"},
    "family_service_centre": {"zh": "家庭综合服务中心", "en": "Family service centre"},
    "community_library": {"zh": "社区图书馆", "en": "Community library"},
    "kindergarten": {"zh": "幼儿园", "en": "Kindergarten"},
    "parent_school": {"zh": "家长学校", "en": "Parent school"},
    # --- tiers and facility levels
    "basic": {"zh": "基础型", "en": "Basic"},
    "demonstration": {"zh": "示范型", "en": "Demonstration"},
    "featured": {"zh": "特色型", "en": "Featured"},
    # --- public place kinds
    "transport_hub": {"zh": "交通枢纽", "en": "Transport hub"},
    "commercial": {"zh": "商业中心", "en": "Commercial centre"},
    "hospital": {"zh": "医院", "en": "Hospital"},
    "scenic": {"zh": "景区/文娱场所", "en": "Scenic or entertainment site"},
    "government": {"zh": "政务服务中心", "en": "Government service centre"},
    # --- statuses
    "met": {"zh": "达标", "en": "Met"},
    "not_met": {"zh": "未达标", "en": "Not met"},
    "no_data": {"zh": "无数据", "en": "No data"},
    "not_applicable": {"zh": "不适用", "en": "Not applicable"},
    # --- provenance
    "real": {"zh": "真实数据", "en": "Real"},
    "derived": {"zh": "派生数据", "en": "Derived"},
    "estimated": {"zh": "估算数据", "en": "Estimated"},
    "synthetic": {"zh": "合成演示数据", "en": "Synthetic (demo)"},
    # --- planning terms
    "plan_target": {"zh": "规划目标", "en": "Plan target"},
    "clause": {"zh": "条款", "en": "Clause"},
    "source_lines": {"zh": "规划原文行号", "en": "Plan text line"},
    "service_radius": {"zh": "服务半径", "en": "Service radius"},
    "coverage_rate": {"zh": "覆盖率", "en": "Coverage rate"},
    "gap": {"zh": "缺口", "en": "Gap"},
    "siting": {"zh": "选址", "en": "Siting"},
    "scenario": {"zh": "情景", "en": "Scenario"},
    "provenance": {"zh": "数据来源性质", "en": "Provenance"},
    # --- result / export columns
    "target_id": {"zh": "目标编号", "en": "Target id"},
    "target_label": {"zh": "规划目标", "en": "Target"},
    "unit_code": {"zh": "统计代码", "en": "Code"},
    "unit_name": {"zh": "单位名称", "en": "Unit"},
    "unit_level": {"zh": "层级", "en": "Level"},
    "township_code": {"zh": "乡镇代码", "en": "Township code"},
    "township_name": {"zh": "乡镇（街道）", "en": "Township"},
    "county_code": {"zh": "县（市、区）代码", "en": "County code"},
    "county_name": {"zh": "县（市、区）", "en": "County"},
    "year": {"zh": "年份", "en": "Year"},
    "status": {"zh": "状态", "en": "Status"},
    "required": {"zh": "目标值", "en": "Required"},
    "actual": {"zh": "现状值", "en": "Actual"},
    "shortfall": {"zh": "缺口量", "en": "Shortfall"},
    "shortfall_unit": {"zh": "缺口单位", "en": "Shortfall unit"},
    "action": {"zh": "建议措施", "en": "Suggested action"},
    "method": {"zh": "计算方法", "en": "Method"},
    "facility_id": {"zh": "设施编号", "en": "Facility id"},
    "facility_type": {"zh": "设施类型", "en": "Facility type"},
    "name": {"zh": "名称", "en": "Name"},
    "tier": {"zh": "类型等级", "en": "Tier"},
    "level": {"zh": "级别", "en": "Level"},
    "capacity": {"zh": "托位/学位", "en": "Capacity"},
    "pop_total": {"zh": "常住人口", "en": "Residents"},
    "pop_under3": {"zh": "3岁以下婴幼儿", "en": "Children under 3"},
    "pop_under18": {"zh": "18岁以下儿童", "en": "Children under 18"},
    "pop_women": {"zh": "女性人口", "en": "Women"},
    "pop_65plus": {"zh": "65岁及以上人口", "en": "Aged 65+"},
    # --- shortfall units
    "facilities": {"zh": "个设施", "en": "facilities"},
    "upgrades": {"zh": "个升级", "en": "upgrades"},
    "slots": {"zh": "个托位", "en": "childcare slots"},
    "places": {"zh": "个学位", "en": "places"},
    "people": {"zh": "人", "en": "people"},
    "pp": {"zh": "个百分点", "en": "percentage points"},
    "units": {"zh": "个单位", "en": "units"},
}


def label(key: str, lang: str = "zh") -> str:
    """Display label of ``key`` in ``lang`` (``zh`` or ``en``); the key itself if unknown."""
    entry = GLOSSARY.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["zh"]
