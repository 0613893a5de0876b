"""Siting: candidates, covering models, capacitated and joint models, and proposals.

This subpackage owns every "where to build" answer: :mod:`~coverage.siting.covering` holds
the covering models (:class:`MCLP`, :class:`LSCP`, solved with ``scipy.optimize.milp``/HiGHS
after the reductions of the private ``_reduce``/``_covering``/``_milp`` modules),
:mod:`~coverage.siting.capacitated` and :mod:`~coverage.siting.joint` the models with
capacities and several targets at once, and the ``proposals*`` modules turn failing units
of a target into a :class:`ProposalSet` of new builds and upgrades
(:func:`propose_for_target` dispatches per rule kind; :func:`propose_joint` plans several
targets together). It reads :mod:`coverage.targets` and :mod:`coverage.access`, never the
other way round.
"""

from coverage.siting.capacitated import CapacitySite, capacity_siting
from coverage.siting.covering import LSCP, MCLP, ReductionStats, coverage_from_cost_matrix, coverage_from_points
from coverage.siting.joint import Action, JointModel, Requirement, ratio_requirement
from coverage.siting.proposals import SITED_KINDS, merge_sets, propose_for_target, propose_presence
from coverage.siting.proposals_access import (
    access_instance, access_settings, network_coverage, node_candidates, propose_access, propose_capacity,
)
from coverage.siting.proposals_common import (
    ACTION_COLUMNS, COSTS_FILE, ProposalSet, build_cost, children_served, fitout_cost, load_costs, matching,
    selector, upgrade_cost, weighted_median_sites,
)
from coverage.siting.proposals_joint import JOINT_KINDS, propose_joint
from coverage.siting.proposals_share import propose_facility_share, propose_unit_share

__all__ = [
    "ACTION_COLUMNS", "COSTS_FILE", "JOINT_KINDS", "LSCP", "MCLP", "SITED_KINDS", "Action", "CapacitySite",
    "JointModel", "ProposalSet", "ReductionStats", "Requirement", "access_instance", "access_settings",
    "build_cost", "capacity_siting", "children_served", "coverage_from_cost_matrix", "coverage_from_points",
    "fitout_cost", "load_costs", "matching", "merge_sets", "network_coverage", "node_candidates",
    "propose_access", "propose_capacity", "propose_facility_share", "propose_for_target", "propose_joint",
    "propose_presence", "propose_unit_share", "ratio_requirement", "selector", "upgrade_cost",
    "weighted_median_sites",
]
