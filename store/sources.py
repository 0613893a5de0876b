"""Member units (成员单位) that submit inventories, and the facility types each one keeps.

The issue names 民政 (儿童之家, 养老), 卫健 (母婴室, 托育, 妇幼), 教育 (幼儿园), 体育 (健身设施)
and 残联 (残疾人之家); the other types are assigned to the unit that usually runs them
(an assumption of this tool, shown in the preview). ``妇儿工委办`` (the office itself) may
submit any type.
"""

from __future__ import annotations

from layers.vocab import FACILITY_TYPES
from store._errors import StoreError

SOURCES: dict[str, tuple[str, ...]] = {
    "民政": ("child_home", "elderly_care_centre", "minor_protection_station", "minor_rescue_centre",
           "child_welfare_facility", "mental_health_welfare"),
    "卫健": ("mother_baby_room", "public_place", "childcare", "mch_institution",
           "childcare_guidance_centre"),
    "教育": ("kindergarten",),
    "体育": ("fitness",),
    "残联": ("disability_home",),
    "妇联": ("women_children_centre", "family_service_centre", "parent_school"),
    "文化": ("community_library",),
    "妇儿工委": FACILITY_TYPES,
}


def source_types(source: str) -> tuple[str, ...]:
    """Facility types a source may submit (``民政局``, ``市卫健委``, ``县残联`` …)."""
    text = (source or "").strip()
    for key, types in SOURCES.items():
        if key in text:
            return types
    known = "、".join(f"{k}" for k in SOURCES)
    raise StoreError(f"unknown source {source!r}; the source must name one of: {known} "
                     f"/ 报送单位须为：{known}")
