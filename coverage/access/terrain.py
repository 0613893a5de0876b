"""Minutes walked on real slopes: a DEM, Tobler's hiking function, a directed time graph.

Lishui is 九山半水半分田; its plans count minutes walked (10分钟健身圈). This module turns a
:class:`~coverage.access.graph.WalkNetwork` and a digital elevation model into a
:class:`~coverage.access.route.CostModel` in minutes, home → facility:

* **DEM** (:func:`read_dem`): SRTM ``.hgt`` (big-endian int16, 1201² or 3601² grid
  points, −32768 = void; read with numpy, the tile named by its south-west corner) or any
  raster rasterio/GDAL reads (GeoTIFF, …; ``pip install rasterio``). Elevations are
  sampled bilinearly between grid points. **Voids** are filled from their valid
  neighbours (onion peeling: each void cell next to valid cells takes their mean, ring
  after ring, as GDAL's ``FillNodata`` does) and counted; samples that use a filled cell
  are reported.
* **Grades along edges**: every edge is sampled every :data:`SAMPLE_M` metres along its
  geometry (long edges are not judged by their ends alone); each piece between samples
  has one grade.
* **Tobler's hiking function**, scaled so that flat ground gives the target's speed
  (``步行10分钟、1公里`` → 1000 m / 10 min = 6 km/h):
  ``v(g) = v_flat · exp(−3.5 · (|g + 0.05| − 0.05))`` (horizontal speed; Tobler 1993,
  ``6 · exp(−3.5 · |g + 0.05|)`` km/h divided by its value on the flat, ``6 · e^−0.175``).
  Uphill and downhill differ, so the time graph is **directed**.
* **Steps** (``highway=steps``) are walked at ``steps_factor × v_flat`` both ways
  (default :data:`STEPS_FACTOR`, an estimate), whatever the DEM says.
* **Partial DEM coverage**: an edge with any sample outside the DEM is timed on the
  flat (``length / v_flat``) and counted in ``edges_flat``; per unit the caller flags
  points outside the DEM (:meth:`Terrain.covers`).
* Access legs (point → street) are walked on the flat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from scipy import ndimage

from coverage._errors import NetworkError
from coverage.access.graph import WalkNetwork, _csr_from_edges, _transformer
from coverage.access.route import CostModel

#: sampling interval along edges, metres (SRTM3 cells are about 90 m)
SAMPLE_M: float = 30.0


#: speed on steps relative to the flat speed (estimate; horizontal speed on stairs)
STEPS_FACTOR: float = 0.5


#: Tobler's exponent and the grade of his fastest walk (slightly downhill)
TOBLER_K: float = 3.5


TOBLER_G0: float = 0.05


_HGT_NAME = re.compile(r"([NS])(\d{2})([EW])(\d{3})", re.IGNORECASE)


# ---------------------------------------------------------------------- Tobler
def tobler_speed(grade: np.ndarray, flat_speed: float) -> np.ndarray:
    """Walking speed on ``grade`` (rise / run), scaled so that grade 0 gives ``flat_speed``."""
    g = np.asarray(grade, dtype=float)
    return flat_speed * np.exp(-TOBLER_K * (np.abs(g + TOBLER_G0) - TOBLER_G0))


# ---------------------------------------------------------------------- DEM
@dataclass
class Dem:
    """A grid of elevations (metres) with NaN outside and in unfilled voids.

    ``z[r, c]`` is the elevation at grid point ``(x0 + c·dx, y0 − r·dy)`` in ``crs``.
    """

    z: np.ndarray
    x0: float
    y0: float
    dx: float
    dy: float
    crs: str
    source: str
    void_cells: int = 0
    filled: np.ndarray | None = field(default=None, repr=False)

    def sample(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bilinear elevation at points given in the DEM's CRS; (z, uses a filled cell).

        Points outside the grid get NaN.
        """
        fc = (np.asarray(x, dtype=float) - self.x0) / self.dx
        fr = (self.y0 - np.asarray(y, dtype=float)) / self.dy
        nr, nc = self.z.shape
        inside = (fc >= 0) & (fc <= nc - 1) & (fr >= 0) & (fr <= nr - 1)
        c0 = np.clip(np.floor(fc).astype(np.int64), 0, nc - 2)
        r0 = np.clip(np.floor(fr).astype(np.int64), 0, nr - 2)
        tc = np.where(inside, fc - c0, 0.0)
        tr = np.where(inside, fr - r0, 0.0)
        z = self.z
        val = ((1 - tr) * ((1 - tc) * z[r0, c0] + tc * z[r0, c0 + 1])
               + tr * ((1 - tc) * z[r0 + 1, c0] + tc * z[r0 + 1, c0 + 1]))
        val = np.where(inside, val, np.nan)
        if self.filled is None:
            used = np.zeros(len(val), dtype=bool)
        else:
            f = self.filled
            used = inside & (f[r0, c0] | f[r0, c0 + 1] | f[r0 + 1, c0] | f[r0 + 1, c0 + 1])
        return val, used


def _fill_voids(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN cells from valid neighbours, ring by ring (mean of the 8 neighbours)."""
    void = np.isnan(z)
    filled = void.copy()
    if not void.any() or void.all():
        return z, filled if void.any() else np.zeros_like(void)
    z = z.copy()
    kernel = np.ones((3, 3))
    while void.any():
        valid = ~void
        s = ndimage.convolve(np.where(valid, z, 0.0), kernel, mode="constant")
        n = ndimage.convolve(valid.astype(float), kernel, mode="constant")
        ring = void & (n > 0)
        z[ring] = s[ring] / n[ring]
        void &= ~ring
    return z, filled


def read_dem(path: str | Path) -> Dem:
    """Read a DEM: SRTM ``.hgt`` (numpy) or any raster rasterio opens (GeoTIFF …).

    Raises
    ------
    NetworkError
        Missing file, a ``.hgt`` whose size or name is not SRTM's, or rasterio missing
        for another format.
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"{path}: DEM file not found")
    if path.suffix.lower() == ".hgt":
        raw = _read_hgt(path)
        z, x0, y0, d, crs = raw
        dx = dy = d
    else:
        z, x0, y0, dx, dy, crs = _read_raster(path)
    void = np.isnan(z)
    n_void = int(void.sum())
    if n_void == z.size:
        raise NetworkError(f"{path}: the DEM holds no valid elevation")
    z, filled = _fill_voids(z)
    return Dem(z=z, x0=x0, y0=y0, dx=dx, dy=dy, crs=crs, source=str(path),
               void_cells=n_void, filled=filled)


def _read_hgt(path: Path) -> tuple[np.ndarray, float, float, float, str]:
    m = _HGT_NAME.search(path.stem)
    if m is None:
        raise NetworkError(f"{path}: an SRTM .hgt file must be named like N27E119.hgt "
                           "(its south-west corner)")
    size = path.stat().st_size
    n = {1201 * 1201 * 2: 1201, 3601 * 3601 * 2: 3601}.get(size)
    if n is None:
        raise NetworkError(f"{path}: {size} bytes is not an SRTM tile (1201² or 3601² "
                           "16-bit samples)")
    z = np.fromfile(path, dtype=">i2").reshape(n, n).astype(float)
    z[z == -32768] = np.nan
    lat = int(m.group(2)) * (1 if m.group(1).upper() == "N" else -1)
    lon = int(m.group(4)) * (1 if m.group(3).upper() == "E" else -1)
    return z, float(lon), float(lat + 1), 1.0 / (n - 1), "EPSG:4326"


def _read_raster(path: Path) -> tuple[np.ndarray, float, float, float, float, str]:
    try:
        import rasterio
    except ImportError as exc:
        raise NetworkError(f"{path}: reading this DEM format needs rasterio "
                           "(pip install rasterio), or supply SRTM .hgt tiles") from exc
    try:
        with rasterio.open(path) as src:
            band = src.read(1, masked=True)
            t = src.transform
            crs = src.crs.to_string() if src.crs else None
    except rasterio.errors.RasterioIOError as exc:
        raise NetworkError(f"{path}: not a readable raster ({exc})") from exc
    if crs is None:
        raise NetworkError(f"{path}: the DEM has no CRS")
    if t.b != 0 or t.d != 0:
        raise NetworkError(f"{path}: rotated rasters are not supported")
    z = band.astype(float).filled(np.nan)
    # grid points at the pixel centres
    return z, t.c + t.a / 2, t.f + t.e / 2, float(t.a), float(-t.e), crs


# ---------------------------------------------------------------------- terrain cost
@dataclass
class Terrain:
    """A minutes :class:`CostModel` for a network plus what the DEM said about it.

    Attributes
    ----------
    cost : CostModel
        Directed minutes; ``cost.graph[i, j]`` = minutes from node i to node j.
    flat_speed_m_per_min : float
    node_z : ndarray
        Elevation of every node (NaN outside the DEM), metres.
    edge_flat : ndarray of bool
        Edges timed on the flat because the DEM does not cover them.
    edge_void : ndarray of bool
        Edges with at least one sample on a filled void cell.
    samples, samples_void : int
        Elevation samples taken along the edges, and those using filled void cells.
    """

    cost: CostModel
    flat_speed_m_per_min: float
    dem: Dem
    net_crs: str
    node_z: np.ndarray
    edge_flat: np.ndarray
    edge_void: np.ndarray
    samples: int
    samples_void: int
    seg_grade: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def covers(self, xy: np.ndarray) -> np.ndarray:
        """Whether points (network CRS, metres) lie inside the DEM."""
        x, y = _to_dem(self.dem, self.net_crs, np.asarray(xy, dtype=float).reshape(-1, 2))
        z, _ = self.dem.sample(x, y)
        return np.isfinite(z)

    def summary(self) -> dict:
        return {"dem": self.dem.source, "dem_void_cells": self.dem.void_cells,
                "flat_speed_m_per_min": self.flat_speed_m_per_min,
                "edges": int(len(self.edge_flat)), "edges_flat_fallback": int(self.edge_flat.sum()),
                "edges_with_void": int(self.edge_void.sum()), "samples": self.samples,
                "samples_on_filled_voids": self.samples_void}


def _to_dem(dem: Dem, crs: str, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if crs == dem.crs:
        return xy[:, 0], xy[:, 1]
    return _transformer(crs, dem.crs).transform(xy[:, 0], xy[:, 1])


def edge_samples(net: WalkNetwork, sample_m: float = SAMPLE_M) -> tuple[np.ndarray, np.ndarray]:
    """Sample positions along every edge: (edge index, metres from ``edge_u``), ends included."""
    L = net.edge_length_m
    n_seg = np.maximum(1, np.ceil(L / sample_m).astype(np.int64))
    edge = np.repeat(np.arange(net.n_edges), n_seg + 1)
    first = np.cumsum(n_seg + 1) - (n_seg + 1)
    k = np.arange(len(edge)) - np.repeat(first, n_seg + 1)
    pos = k * np.repeat(L / n_seg, n_seg + 1)
    return edge, np.minimum(pos, L[edge])


def terrain_cost(net: WalkNetwork, dem: Dem, flat_speed_m_per_min: float, *,
                 sample_m: float = SAMPLE_M, steps_factor: float = STEPS_FACTOR) -> Terrain:
    """Directed walking minutes on ``net`` over ``dem`` (see the module docstring)."""
    if not flat_speed_m_per_min > 0 or not steps_factor > 0:
        raise NetworkError("terrain: the flat speed and the steps factor must be positive")
    edge, pos = edge_samples(net, sample_m)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(net.edge_geometry[edge], pos))
    x, y = _to_dem(dem, net.crs, xy)
    z, void = dem.sample(x, y)
    nz, _ = dem.sample(*_to_dem(dem, net.crs, net.node_xy))
    # pieces between consecutive samples of the same edge
    same = edge[1:] == edge[:-1]
    seg_e = edge[:-1][same]
    ds = (pos[1:] - pos[:-1])[same]
    dz = (z[1:] - z[:-1])[same]
    with np.errstate(invalid="ignore", divide="ignore"):
        grade = np.where(ds > 0, dz / ds, 0.0)
    v = flat_speed_m_per_min
    missing = ~np.isfinite(grade)
    edge_flat = np.zeros(net.n_edges, dtype=bool)
    edge_flat[seg_e[missing]] = True
    edge_void = np.zeros(net.n_edges, dtype=bool)
    edge_void[edge[void]] = True
    flat_piece = edge_flat[seg_e]
    steps = (net.edge_steps[seg_e] if net.edge_steps is not None
             else np.zeros(len(seg_e), dtype=bool))
    g = np.where(flat_piece | steps, 0.0, grade)
    t_fwd = ds / tobler_speed(g, v)
    t_bwd = ds / tobler_speed(-g, v)
    t_fwd = np.where(flat_piece & ~steps, ds / v, t_fwd)
    t_bwd = np.where(flat_piece & ~steps, ds / v, t_bwd)
    t_fwd = np.where(steps, ds / (v * steps_factor), t_fwd)
    t_bwd = np.where(steps, ds / (v * steps_factor), t_bwd)
    fwd = np.bincount(seg_e, weights=t_fwd, minlength=net.n_edges)
    bwd = np.bincount(seg_e, weights=t_bwd, minlength=net.n_edges)
    # cumulative profiles on one global coordinate (edge_start + position)
    edge_start = np.concatenate([[0.0], np.cumsum(net.edge_length_m)[:-1]])
    cum_pos = edge_start[edge] + pos
    cum_fwd = np.concatenate([[0.0], np.cumsum(np.where(same, np.r_[t_fwd, 0][_seg_index(same)], 0.0))])
    cum_bwd = np.concatenate([[0.0], np.cumsum(np.where(same, np.r_[t_bwd, 0][_seg_index(same)], 0.0))])
    cost = CostModel(graph=_csr_from_edges(net.n_nodes, net.edge_u, net.edge_v, fwd, bwd),
                     unit="min", leg_per_m=1.0 / v, directed=True, cum_pos=cum_pos,
                     cum_fwd=cum_fwd, cum_bwd=cum_bwd, edge_start=edge_start)
    return Terrain(cost=cost, flat_speed_m_per_min=v, dem=dem, net_crs=net.crs, node_z=nz,
                   edge_flat=edge_flat, edge_void=edge_void, samples=int(len(z)),
                   samples_void=int(void.sum()), seg_grade=grade)


def _seg_index(same: np.ndarray) -> np.ndarray:
    """For each gap between consecutive samples: its piece index (or -1 between edges)."""
    idx = np.cumsum(same) - 1
    return np.where(same, idx, -1)
