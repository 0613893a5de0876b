"""Controlled vocabularies of the data model (English ids; labels in layers/glossary.py).

Importers map Chinese spellings onto these ids; validation rejects anything else.
"""

from __future__ import annotations

UNIT_LEVELS: tuple[str, ...] = ("city", "county", "township", "village")

PROVENANCE_VALUES: tuple[str, ...] = ("real", "derived", "estimated", "synthetic")

FACILITY_TYPES: tuple[str, ...] = (
    "child_home",
    "mother_baby_room",
    "public_place",
    "childcare",
    "fitness",
    "disability_home",
    "elderly_care_centre",
    "mch_institution",
    "childcare_guidance_centre",
    "minor_protection_station",
    "minor_rescue_centre",
    "child_welfare_facility",
    "mental_health_welfare",
    "women_children_centre",
    "family_service_centre",
    "community_library",
    "kindergarten",
    "parent_school",
)

#: tiers of 儿童之家
CHILD_HOME_TIERS: tuple[str, ...] = ("basic", "demonstration", "featured")

#: administrative level that runs a facility (fitness, 妇幼保健机构, …)
FACILITY_LEVELS: tuple[str, ...] = ("city", "county", "township", "village")

PUBLIC_PLACE_KINDS: tuple[str, ...] = (
    "transport_hub",
    "commercial",
    "hospital",
    "scenic",
    "government",
)

LOCATION_PRECISIONS: tuple[str, ...] = ("exact", "village", "township")

COMMITTEE_TYPES: tuple[str, ...] = ("villagers_committee", "residents_committee")

INDICATORS: dict[str, str] = {
    # indicator id → unit level it is reported for
    "immunisation_rate": "township",
    "women_share_village_committee": "village",
    "women_share_community_committee": "village",
    "civilised_family_rate": "township",
    "elderly_women_health_mgmt_rate": "county",
    "developmental_screening_share": "county",
    "preschool_gross_enrolment": "county",
    "child_social_workers": "township",
}

#: every column a facility layer carries (geometry aside)
FACILITY_COLUMNS: tuple[str, ...] = (
    "facility_id",
    "year",
    "type",
    "name",
    "tier",
    "level",
    "capacity",
    "is_inclusive",
    "has_reading_area",
    "place_kind",
    "building_area_m2",
    "daily_visitors",
    "serves_place_id",
    "county_code",
    "township_code",
    "village_code",
    "address",
    "location_precision",
    "provenance",
)
