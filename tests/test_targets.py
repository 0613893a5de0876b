"""Target files: the embedded set, the loader's validation and overrides."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coverage._errors import TargetSpecError
from coverage.targets import evaluate
from coverage.targets import DEFAULT_TARGETS_DIR, load_targets, parse_target_file
from layers import vocab
from tests.test_rules import T1, T2, T3, T4, toy_dataset

BAD = Path(__file__).parent / "data" / "targets_bad"
PLAN_TEXT = Path(__file__).resolve().parents[2] / "shared" / "plan" / "lishui-14th-fyp-women-and-children.txt"

#: every target of ../shared/PLAN_TARGETS.md sections A–F plus the mother-baby room rule
EXPECTED_IDS = {
    # A
    "child_home_every_village", "demo_child_home_per_township", "fitness_every_village", "sports_four_levels",
    "disability_home_township_10k", "mental_health_welfare_city", "elderly_centre_every_township",
    "mch_institution_city_county", "childcare_guidance_centre", "minor_protection_station",
    "minor_rescue_centre", "regional_child_welfare", "child_social_worker_township",
    # B
    "urban_community_childcare_50", "women_children_centre_counties_70", "family_service_centre",
    # C
    "demo_child_home_share_15", "library_parent_child_reading_90", "mother_baby_room_public_places",
    # D
    "childcare_slots_per_1000", "kindergarten_places_added",
    # E
    "fitness_10min_circle", "child_home_1_plus_n",
    # F
    "immunisation_rate_township_90", "women_village_committee_30", "women_community_committee_50",
    "civilised_family_rate_85", "elderly_women_health_mgmt_75", "developmental_screening_80",
    "preschool_enrolment_97",
}


@pytest.fixture(scope="module")
def targets():
    return {t.id: t for t in load_targets()}


def test_every_plan_target_has_a_file(targets):
    assert set(targets) == EXPECTED_IDS


def test_clauses_are_quoted_verbatim_from_the_cited_lines(targets):
    if not PLAN_TEXT.is_file():
        pytest.fail(f"plan text not found at {PLAN_TEXT}")
    lines = PLAN_TEXT.read_text(encoding="utf-8").split("\n")
    for t in targets.values():
        cited = [lines[n - 1] for n in t.source.lines]
        assert any(t.source.clause in line for line in cited), t.id
        # the women's plan is lines 1–481, the children's plan 482 onward
        first = t.source.lines[0]
        assert (first <= 481) == (t.plan == "women"), t.id


def test_key_values_of_the_embedded_targets(targets):
    assert targets["demo_child_home_share_15"].threshold == 0.15
    assert targets["demo_child_home_share_15"].plan_levels == ("county", "city")
    assert targets["childcare_slots_per_1000"].threshold == 4.5
    assert targets["childcare_slots_per_1000"].plan_levels == ("county", "city")
    assert targets["kindergarten_places_added"].baseline_year == 2020
    assert targets["kindergarten_places_added"].threshold == 16740
    assert targets["women_community_committee_50"].band == (0.4, 0.6)
    assert targets["family_service_centre"].report_only
    assert (targets["regional_child_welfare"].threshold, targets["regional_child_welfare"].max_count) == (1, 2)
    assert targets["disability_home_township_10k"].condition.text == "pop_total >= 10000"
    assert targets["fitness_10min_circle"].access.distance_m == 1000
    assert dict(targets["fitness_10min_circle"].access)["demand"] == "urban"
    assert targets["sports_four_levels"].unit_levels == ("city", "county", "township", "village")
    assert targets["sports_four_levels"].unit_level == "village"
    for t in targets.values():
        if t.facility is not None:
            assert t.facility.type in vocab.FACILITY_TYPES


@pytest.mark.parametrize(
    "name, key",
    [
        ("unknown_key", "colour"),
        ("missing_clause", "source.clause"),
        ("missing_source", "source"),
        ("unknown_kind", "kind"),
        ("unknown_facility_type", "facility.type"),
        ("bad_unit_level", "unit_level"),
        ("bad_tier", "facility.tier"),
        ("bad_level", "facility.level"),
        ("percent_not_fraction", "threshold"),
        ("syntax_error", "TOML syntax error"),
        ("id_mismatch", "id"),
        ("bad_condition", "condition"),
        ("bad_band", "band"),
        ("bad_lines", "source.lines"),
    ],
)
def test_malformed_file_is_rejected_naming_file_and_key(name, key):
    with pytest.raises(TargetSpecError) as info:
        parse_target_file(BAD / f"{name}.toml")
    msg = str(info.value)
    assert msg.startswith(f"{name}.toml:")
    assert key in msg


def test_percentage_error_suggests_the_fraction():
    with pytest.raises(TargetSpecError, match=r"write 0\.15 for 15%"):
        parse_target_file(BAD / "percent_not_fraction.toml")


def test_syntax_error_names_the_line():
    with pytest.raises(TargetSpecError, match=r"line 4"):
        parse_target_file(BAD / "syntax_error.toml")


def test_load_targets_stops_at_a_bad_file_in_a_folder(tmp_path):
    shutil.copy(DEFAULT_TARGETS_DIR / "elderly_centre_every_township.toml", tmp_path)
    shutil.copy(BAD / "bad_tier.toml", tmp_path)
    with pytest.raises(TargetSpecError, match=r"^bad_tier\.toml: key 'facility\.tier'"):
        load_targets(tmp_path)


def test_a_copied_file_cannot_duplicate_an_id(tmp_path):
    """Ids must equal the file stem, so a copy of a target file under another name (the
    way a duplicate id arises in practice) is rejected, naming the copy."""
    text = (DEFAULT_TARGETS_DIR / "elderly_centre_every_township.toml").read_text(encoding="utf-8")
    (tmp_path / "elderly_centre_every_township.toml").write_text(text, encoding="utf-8")
    (tmp_path / "copy.toml").write_text(text, encoding="utf-8")
    with pytest.raises(TargetSpecError, match="copy.toml: key 'id'"):
        load_targets(tmp_path)


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(TargetSpecError, match="no target files"):
        load_targets(tmp_path)
    with pytest.raises(TargetSpecError, match="not found"):
        load_targets(tmp_path / "nope")


def test_a_new_target_of_an_existing_kind_needs_only_a_new_file(tmp_path):
    text = (DEFAULT_TARGETS_DIR / "elderly_centre_every_township.toml").read_text(encoding="utf-8")
    text = (text.replace('id = "elderly_centre_every_township"', 'id = "disability_home_every_township"')
                .replace('type = "elderly_care_centre"', 'type = "disability_home"'))
    (tmp_path / "disability_home_every_township.toml").write_text(text, encoding="utf-8")
    [t] = load_targets(tmp_path)
    assert t.id == "disability_home_every_township" and t.path.parent == tmp_path
    rows = evaluate(toy_dataset(), t).units.set_index("unit_code")
    # 残疾人之家 in the toy data: one recorded in T2 (on the T1|T2 boundary), one in T4
    assert rows["actual"].to_dict() == {T1: 0, T2: 1, T3: 0, T4: 1}
    assert rows["status"].to_dict() == {T1: "not_met", T2: "met", T3: "not_met", T4: "met"}


def test_with_overrides(targets):
    t = targets["childcare_slots_per_1000"]
    t2 = t.with_overrides(threshold=5.5)
    assert t2.threshold == 5.5 and t.threshold == 4.5 and t2 != t
    with pytest.raises(TargetSpecError, match="threshold"):
        targets["demo_child_home_share_15"].with_overrides(threshold=15)
    with pytest.raises(TargetSpecError, match="unknown key"):
        t.with_overrides(colour="red")
    b = targets["women_community_committee_50"].with_overrides(band=[0.45, 0.55])
    assert b.band == (0.45, 0.55)
    with pytest.raises(TargetSpecError, match="band"):
        targets["women_community_committee_50"].with_overrides(band=(0.6, 0.4))


def test_condition_override_is_parsed_and_checked(targets):
    t = targets["disability_home_township_10k"].with_overrides(condition="pop_total >= 5000")
    assert t.condition.text == "pop_total >= 5000" and t.condition.fields == {"pop_total"}
    with pytest.raises(TargetSpecError, match="unknown field 'population'"):
        targets["disability_home_township_10k"].with_overrides(condition="population >= 5000")


def test_load_targets_rereads_a_changed_file(tmp_path):
    src = (DEFAULT_TARGETS_DIR / "childcare_slots_per_1000.toml").read_text(encoding="utf-8")
    path = tmp_path / "childcare_slots_per_1000.toml"
    path.write_text(src, encoding="utf-8")
    assert load_targets(tmp_path)[0].threshold == 4.5
    path.write_text(src.replace("threshold = 4.5", "threshold = 5.25"), encoding="utf-8")
    assert load_targets(tmp_path)[0].threshold == 5.25


def _access_variant(tmp_path: Path, extra: str) -> Path:
    text = (DEFAULT_TARGETS_DIR / "fitness_10min_circle.toml").read_text(encoding="utf-8")
    text = text.replace('demand = "urban"', f'demand = "urban"\n{extra}')
    path = tmp_path / "fitness_10min_circle.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_access_time_and_snap_settings_are_accepted(tmp_path):
    from coverage.access import access_params

    target = parse_target_file(_access_variant(tmp_path, "time_min = 12\nmax_snap_m = 300\ndetour_factor = 1.5"))
    params = access_params(target)
    assert params["distance_m"] == pytest.approx(12 * 80)  # 12 min × 80 m/min
    assert params["max_snap_m"] == 300
    assert params["detour_factor"] == 1.5


@pytest.mark.parametrize("extra, key", [("detour_factor = 0.8", "detour_factor"),
                                        ("time_min = -5", "time_min"),
                                        ("max_snap_m = 0", "max_snap_m")])
def test_bad_access_settings_are_rejected(tmp_path, extra, key):
    with pytest.raises(TargetSpecError, match=key):
        parse_target_file(_access_variant(tmp_path, extra))
