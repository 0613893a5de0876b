"""Pure computation of plan-target coverage (never imports dash or folium).

Four subpackages, in data-flow order; each one's ``__init__`` states what it owns and
exports its public API:

* :mod:`coverage.targets`: target files, rule kinds, evaluation, roll-ups, trends;
* :mod:`coverage.access`: OSM reading, the CSR walking network, snapping, nearest-facility
  passes, service areas, 1+N linkage (and the evaluation of access/linkage kinds);
* :mod:`coverage.siting`: candidates, covering models (MCLP/LSCP), capacitated and joint
  models, proposals;
* :mod:`coverage.outputs`: the gap list model, xlsx/csv/geojson/gpkg writers, the HTML report.

Imports run one way: ``outputs`` and ``siting`` may import ``targets`` and ``access``;
``access`` imports neither; ``targets`` reaches ``access`` only through the kind dispatch of
:mod:`coverage.targets.engine`. :mod:`coverage._errors` is shared by all of them.
"""
