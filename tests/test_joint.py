"""Joint cheapest-action model: hand-worked cheapest answers, ratios, infeasibility."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from coverage._errors import SitingError
from coverage.siting import Action, JointModel, Requirement, ratio_requirement

T1 = "331102001"


def _presence_and_slots(csc_cost: float):
    """Township T1 lacks a 示范型 儿童之家 (R1 ≥ 1) and 20 托位 (R2 ≥ 20).

    upg_A: upgrade basic home A → 示范型 (10); new_demo_B: new 示范型 home (50);
    csc_C: new community service centre with a 示范型 home and a 30-slot room (csc_cost);
    slots_D: add slots at childcare D, 3 per slot, ≤ 25.
    """
    actions = [
        Action("upg_A", "upgrade", 10.0, site_id="A", unit_code=T1),
        Action("new_demo_B", "new_build", 50.0, site_id="B", unit_code=T1),
        Action("csc_C", "new_build", csc_cost, site_id="C", unit_code=T1),
        Action("slots_D", "add_capacity", 3.0, site_id="D", integer=True, upper=25, unit_code=T1),
    ]
    reqs = [Requirement("R1", "demo_child_home_per_township", T1, 1.0),
            Requirement("R2", "childcare_slots", T1, 20.0)]
    contrib = [("R1", "upg_A", 1), ("R1", "new_demo_B", 1), ("R1", "csc_C", 1), ("R2", "csc_C", 30),
               ("R2", "slots_D", 1)]
    return actions, reqs, contrib


def test_shared_site_is_cheaper_than_two_separate_actions():
    # separate: upg_A 10 + 20 slots × 3 = 70; shared csc_C = 65 → csc_C alone
    m = JointModel(*_presence_and_slots(65.0)).solve(progress=False)
    assert m.status == "optimal" and m.total_cost == pytest.approx(65.0)
    assert m.chosen["action_id"].tolist() == ["csc_C"]
    row = m.chosen.iloc[0]
    assert row["requirement_ids"] == "R1;R2"
    assert row["target_ids"] == "demo_child_home_per_township;childcare_slots"
    assert row["unit_codes"] == T1
    assert m.requirement_table()["met"].all()


def test_separate_actions_win_when_the_shared_site_is_dearer():
    # csc_C at 75 > 70: upgrade A and add exactly 20 slots at D
    m = JointModel(*_presence_and_slots(75.0)).solve(progress=False)
    assert m.total_cost == pytest.approx(70.0)
    got = dict(zip(m.chosen["action_id"], m.chosen["amount"]))
    assert got == {"upg_A": 1, "slots_D": 20}
    assert dict(zip(m.chosen["action_id"], m.chosen["requirement_ids"])) == {"upg_A": "R1", "slots_D": "R2"}


def test_upgrade_is_cheaper_than_building():
    actions, reqs, contrib = _presence_and_slots(65.0)
    m = JointModel(actions, reqs[:1], [c for c in contrib if c[0] == "R1"]).solve(progress=False)
    assert m.chosen["action_id"].tolist() == ["upg_A"] and m.total_cost == 10.0
    assert m.chosen["kind"].tolist() == ["upgrade"]


def test_ratio_requirement_coefficients_by_hand():
    # 2 示范型 of 20 homes; need ≥ 15 %: rhs = 0.15·20 − 2 = 1
    req, triples = ratio_requirement(id="ratio", target_id="demo_share", unit_code="331100", ratio=0.15,
                                     numerator={"up": 1, "newdemo": 1}, denominator={"newdemo": 1, "newbasic": 1},
                                     existing_numerator=2, existing_denominator=20)
    assert req.rhs == pytest.approx(1.0)
    assert {a: pytest.approx(v) for _, a, v in triples} == {"up": 1.0, "newdemo": 0.85, "newbasic": -0.15}


def _ratio_case(with_second_upgrade: bool):
    """Ratio 示范型 ≥ 15 % (2 of 20 now) plus township T2 lacking any 儿童之家 (R3 ≥ 1).

    E: new basic home in T2 (20) — fixes R3, lowers the ratio (−0.15);
    F: new 示范型 home in T2 (45) — fixes R3, ratio +0.85;
    A: upgrade a basic home (10), G: upgrade another (12) — ratio +1 each.
    """
    actions = [Action("E", "new_build", 20.0), Action("F", "new_build", 45.0), Action("A", "upgrade", 10.0)]
    if with_second_upgrade:
        actions.append(Action("G", "upgrade", 12.0))
    num = {"F": 1, "A": 1} | ({"G": 1} if with_second_upgrade else {})
    ratio, triples = ratio_requirement(id="ratio", target_id="demo_share", unit_code="331100", ratio=0.15,
                                       numerator=num, denominator={"E": 1, "F": 1},
                                       existing_numerator=2, existing_denominator=20)
    reqs = [ratio, Requirement("R3", "child_home_per_township", "331102002", 1.0)]
    return actions, reqs, triples + [("R3", "E", 1), ("R3", "F", 1)]


def test_ratio_coupling_hand_worked():
    # E route needs ratio ≥ 1.15 from upgrades: A + G = 2 → 20 + 10 + 12 = 42 (F + A = 55)
    m = JointModel(*_ratio_case(True)).solve(progress=False)
    assert m.total_cost == pytest.approx(42.0) and sorted(m.chosen["action_id"]) == ["A", "E", "G"]
    # without G the E route is infeasible by upgrades alone; F + A = 55
    m = JointModel(*_ratio_case(False)).solve(progress=False)
    assert m.total_cost == pytest.approx(55.0) and sorted(m.chosen["action_id"]) == ["A", "F"]


@pytest.mark.parametrize("seed", range(6))
def test_random_binary_models_match_enumeration(seed):
    rng = np.random.default_rng(seed)
    n_a, n_r = 8, 4
    cost = rng.integers(1, 30, n_a).astype(float)
    C = (rng.random((n_r, n_a)) < 0.4) * rng.integers(1, 4, (n_r, n_a))
    C[:, 0] = 3   # action 0 alone meets everything: always feasible
    rhs = rng.integers(1, 5, n_r).astype(float)
    actions = [Action(f"a{j}", "new_build", float(cost[j])) for j in range(n_a)]
    reqs = [Requirement(f"r{i}", "t", "331102001", float(rhs[i])) for i in range(n_r)]
    m = JointModel(actions, reqs, sp.csr_matrix(C.astype(float))).solve(progress=False)
    best = min(cost[list(s)].sum() for k in range(n_a + 1) for s in itertools.combinations(range(n_a), k)
               if np.all(C[:, list(s)].sum(axis=1) >= rhs))
    assert m.total_cost == pytest.approx(best)


def test_exclusive_and_requires():
    # two cheap upgrades at the same home are exclusive; capacity needs its site opened
    actions = [Action("u1", "upgrade", 1.0), Action("u2", "upgrade", 2.0), Action("u3", "upgrade", 9.0),
               Action("open", "new_build", 30.0), Action("cap", "add_capacity", 1.0, integer=True, upper=50)]
    reqs = [Requirement("two", "t", "331102001", 2.0), Requirement("slots", "s", "331102001", 10.0)]
    contrib = [("two", "u1", 1), ("two", "u2", 1), ("two", "u3", 1), ("slots", "cap", 1)]
    m = JointModel(actions, reqs, contrib, exclusive=[["u1", "u2"]], requires=[("cap", "open")]).solve(progress=False)
    # u1 + u3 = 10 (u1 + u2 = 3 is excluded); open + 10 slots = 40
    assert m.total_cost == pytest.approx(50.0)
    assert dict(zip(m.chosen["action_id"], m.chosen["amount"])) == {"u1": 1, "u3": 1, "open": 1, "cap": 10}


def test_infeasible_requirement_is_named():
    actions, reqs, contrib = _presence_and_slots(65.0)
    reqs = reqs + [Requirement("R9", "mch_institution", "331127", 1.0)]
    with pytest.raises(SitingError, match=r"R9 \(target mch_institution, unit 331127"):
        JointModel(actions, reqs, contrib).solve(progress=False)
    # 20 slots at most 25 + 30 = 55 < 60
    big = [Requirement("R1", "x", T1, 1.0), Requirement("R2", "childcare_slots", T1, 60.0)]
    with pytest.raises(SitingError, match="R2"):
        JointModel(actions, big, contrib).solve(progress=False)


def test_jointly_infeasible_requirements_are_named():
    actions = [Action("x", "new_build", 1.0), Action("y", "new_build", 1.0)]
    reqs = [Requirement("Ra", "ta", "331102001", 1.0), Requirement("Rb", "tb", "331102002", 1.0)]
    model = JointModel(actions, reqs, [("Ra", "x", 1), ("Rb", "y", 1)], exclusive=[["x", "y"]])
    with pytest.raises(SitingError, match="cannot all be met together.*R[ab] \\(target t[ab]"):
        model.solve(progress=False)


def test_bad_model_inputs():
    with pytest.raises(SitingError, match="kind"):
        Action("a", "demolish", 1.0)
    with pytest.raises(SitingError, match="binary action has upper = 1"):
        Action("a", "upgrade", 1.0, upper=3)
    with pytest.raises(SitingError, match="duplicate id 'a'"):
        JointModel([Action("a", "upgrade", 1.0), Action("a", "upgrade", 2.0)], [], [])
    with pytest.raises(SitingError, match="contribution 0: unknown action 'zz'"):
        JointModel([Action("a", "upgrade", 1.0)], [Requirement("r", "t", "331102", 1.0)], [("r", "zz", 1)])


def test_non_numeric_fields_are_rejected():
    with pytest.raises(SitingError, match="action 'a': cost 'ten' is not a number"):
        Action("a", "upgrade", "ten")
    with pytest.raises(SitingError, match="requirement 'r': rhs None is not a number"):
        Requirement("r", "t", "331102", None)
