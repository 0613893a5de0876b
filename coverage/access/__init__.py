"""Walking access: OSM reading, the CSR walking network, snapping, nearest facilities.

This subpackage owns every distance a planner reads: :mod:`~coverage.access.osm` reads OSM
files (or downloads through osmnx) and applies the walking rules,
:mod:`~coverage.access.graph` holds the :class:`WalkNetwork` (EPSG:4549 node coordinates,
a CSR matrix of edge lengths, multi-source Dijkstra), :mod:`~coverage.access.snap` snaps
points to it, :mod:`~coverage.access.nearest` runs the one-pass nearest-facility
computation and per-unit coverage, :mod:`~coverage.access.areas` draws service-area
polygons, :mod:`~coverage.access.linkage` links homes for the 1+N rule, and
:mod:`~coverage.access.evaluation` turns ``access`` targets into result rows;
:mod:`~coverage.access.route` routes snapped points (edges split virtually),
:mod:`~coverage.access.terrain` turns a DEM into directed walking minutes (Tobler) and
:mod:`~coverage.access.slopes` compares flat and terrain coverage per unit. It imports
nothing from the other coverage subpackages.
"""

from coverage.access.areas import service_areas
from coverage.access.evaluation import access_params, access_result, evaluate_access_target
from coverage.access.graph import WalkNetwork, metric_crs_for, multi_source_dijkstra, reachable_pieces
from coverage.access.linkage import evaluate_linkage_target, link_homes
from coverage.access.nearest import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_DISTANCE_M,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_SPEED_M_PER_MIN,
    METHOD_NETWORK,
    METHOD_STRAIGHT,
    NearestResult,
    coverage_by_unit,
    demand_points,
    nearest_facility,
    nearest_on_network,
    nearest_straight_line,
)
from coverage.access.osm import clear_cache, is_walkable, load_network, network_for_polygon
from coverage.access.slopes import access_with_terrain
from coverage.access.terrain import read_dem, terrain_cost, tobler_speed

__all__ = [
    "DEFAULT_DETOUR_FACTOR", "DEFAULT_DISTANCE_M", "DEFAULT_MAX_SNAP_M", "DEFAULT_SPEED_M_PER_MIN",
    "METHOD_NETWORK", "METHOD_STRAIGHT", "NearestResult", "WalkNetwork", "access_params", "access_result",
    "clear_cache", "coverage_by_unit", "demand_points", "evaluate_access_target", "evaluate_linkage_target",
    "is_walkable", "link_homes", "load_network", "metric_crs_for", "multi_source_dijkstra", "nearest_facility",
    "nearest_on_network", "nearest_straight_line", "network_for_polygon", "reachable_pieces", "service_areas",
    "access_with_terrain", "read_dem", "terrain_cost", "tobler_speed",
]
