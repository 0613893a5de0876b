"""Build the example scenarios in ``scenarios/examples/`` from the embedded dataset.

``python -m scenarios.build_examples`` rewrites them; they are deterministic (the
proposals they hold come from :mod:`coverage.siting.proposals*` on the embedded data, whose
facilities are synthetic demo records). Each example is a question a planner asks first:

* ``upgrade_demo_child_homes`` — upgrade, in each township lacking a 示范型 儿童之家, the
  basic home that serves most children;
* ``childcare_weakest_county`` — add 托位 so the county with the fewest slots per 1,000
  residents reaches 4.5;
* ``stricter_childcare_standard`` — test a stricter 托位 standard of 5.5 per 1,000;
* ``population_projection_2025`` — an assumed population change per county to 2025;
* ``close_facilities`` — close the largest 托育 site of the best-served county and the only
  示范型 home of a township;
* ``fitness_new_sites_mclp`` — 10 new fitness sites maximising the residents brought within
  the 10-minute (1,000 m) walk;
* ``joint_cheapest_plan`` — the cheapest set of upgrades, new builds and 托位 meeting five
  targets together (the 10-minute fitness circle included).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


from scenarios.model import Scenario
from scenarios.store import SCENARIOS_ROOT, save_scenario

EXAMPLES_DIR: Path = SCENARIOS_ROOT / "examples"
YEAR: int = 2024

#: assumed population change 2020 → 2025 per county: ILLUSTRATIVE, not an official
#: projection (the city centre grows, the mountain counties shrink slightly)
PROJECTION_2025: dict[str, float] = {
    "331102": 1.03,   # 莲都区
    "331121": 1.00,   # 青田县
    "331122": 1.00,   # 缙云县
    "331123": 0.98,   # 遂昌县
    "331124": 0.98,   # 松阳县
    "331125": 0.99,   # 云和县
    "331126": 0.98,   # 庆元县
    "331127": 0.98,   # 景宁畲族自治县
    "331181": 0.99,   # 龙泉市
}


def _target(targets: list[Any], tid: str) -> Any:
    return next(t for t in targets if t.id == tid)


def build(ds: Any, targets: list[Any], out_dir: Path = EXAMPLES_DIR) -> list[Path]:
    """Write every example scenario; return their paths."""
    from coverage.targets import evaluate
    from coverage.siting import propose_presence
    from coverage.siting import propose_access, propose_capacity
    from coverage.siting import propose_joint

    out: list[Path] = []

    def save(stem: str, name: str, description: str, edits: list[dict[str, Any]]) -> None:
        sc = Scenario.from_edits(name, edits, year=YEAR, description=description)
        out.append(save_scenario(sc, path=out_dir / f"{stem}.toml"))

    demo = _target(targets, "demo_child_home_per_township")
    units = evaluate(ds, [demo], year=YEAR).units
    ps = propose_presence(ds, demo, units, YEAR)
    save("upgrade_demo_child_homes", "缺示范型的乡镇各升级一家儿童之家",
         "每个尚无示范型儿童之家的乡镇（街道），把服务18岁以下儿童最多的基础型儿童之家升级为示范型"
         "（covplan site 生成；设施为合成演示数据）", ps.edits())

    slots = _target(targets, "childcare_slots_per_1000")
    units = evaluate(ds, [slots], year=YEAR).units
    county = units[units["unit_level"] == "county"].sort_values("actual").iloc[0]
    ps = propose_capacity(ds, slots, units[units["unit_code"] == county["unit_code"]], YEAR)
    save("childcare_weakest_county", f"{county['unit_name']}托位达到每千人4.5个",
         f"托位最少的县（{county['unit_name']}，{county['actual']:.2f}个/千人）补足到4.5个/千人："
         "先扩容现有托育机构，再在人口加权最中心的村（社区）新建（设施为合成演示数据）", ps.edits())

    save("stricter_childcare_standard", "托位标准提高到每千人5.5个",
         "检验更严格的标准：每千人3岁以下婴幼儿托位数由4.5个提高到5.5个",
         [{"op": "override_target", "target": "childcare_slots_per_1000", "threshold": 5.5}])

    save("population_projection_2025", "2025年人口情景（假设）",
         "假设的2020→2025人口变化（莲都区+3%，山区县−1%至−2%）；仅为演示用假设，不是官方预测",
         [{"op": "scale_population", "county": c, "factor": f, "projection_year": 2025}
          for c, f in PROJECTION_2025.items() if f != 1.0])

    fac = ds.facilities_for(YEAR)
    cc = fac[fac["type"] == "childcare"]
    ratio = units[units["unit_level"] == "county"].sort_values("actual", ascending=False).iloc[0]
    big = cc[cc["county_code"] == ratio["unit_code"]].sort_values(
        ["capacity", "facility_id"], ascending=[False, True]).iloc[0]
    homes = fac[(fac["type"] == "child_home") & (fac["tier"] == "demonstration")]
    n = homes.groupby("township_code")["facility_id"].transform("size")
    only = homes[n == 1].sort_values("facility_id").iloc[0]
    save("close_facilities", "关闭两处设施",
         f"关闭{ratio['unit_name']}最大的托育机构（{big['name']}，{int(big['capacity'])}个托位）和"
         f"一个乡镇唯一的示范型儿童之家（{only['name']}），看哪些单位转为未达标",
         [{"op": "close_facility", "facility_id": str(big["facility_id"])},
          {"op": "close_facility", "facility_id": str(only["facility_id"])}])

    fit = _target(targets, "fitness_10min_circle")
    ps = propose_access(ds, fit, p=10, year=YEAR, progress=False)
    save("fitness_new_sites_mclp", "新增10处健身设施（最大覆盖）",
         "在村（社区）点位和现有公共建筑中选10处新建体育健身设施，使步行1000米内新覆盖的城镇居民最多"
         "（最大覆盖选址模型，合成步行路网）", ps.edits())

    ids = ["demo_child_home_per_township", "demo_child_home_share_15",
           "childcare_slots_per_1000", "elderly_centre_every_township", "fitness_10min_circle"]
    chosen = [_target(targets, t) for t in ids]
    units = evaluate(ds, chosen, year=YEAR).units
    ps = propose_joint(ds, chosen, units, YEAR)
    save("joint_cheapest_plan", "五项目标的最低成本方案",
         f"同时满足{', '.join(ids)}的最低成本行动组合（升级、新建、增加托位，新站点可同时容纳多项设施；"
         f"估算费用{ps.total_cost:.1f}万元，费用为示意性假设）", ps.edits())
    return out


def main() -> None:  # pragma: no cover - a maintenance command
    from coverage.targets import load_targets
    from layers.load import load_dataset

    for p in build(load_dataset(), load_targets()):
        print(p)


if __name__ == "__main__":  # pragma: no cover
    main()
