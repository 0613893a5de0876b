"""The facility store: open a backend, read a year's state, build a Dataset from it.

>>> from store import open_store
>>> st = open_store()                 # $COVPLAN_STORE, else data/inventory.gpkg (built if absent)
>>> st.facilities(2024)               # GeoDataFrame: that year's open facilities
>>> ds = st.dataset()                 # layers.Dataset: units from data/, facilities from the store

Every record is one state of one facility over the years ``valid_from ≤ year < valid_to``
(``valid_to`` NULL = still valid). Changes never update a record's attributes in place: they
end the old record at the year of the change and insert a new one (see :mod:`store.changes`).
"""

from __future__ import annotations

import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection

from layers.dataset import Dataset
from layers.load import coerce_layer, load_units
from layers.settings import STORAGE_CRS
from layers.vocab import FACILITY_COLUMNS
import store.changes as _changes
import store.edit as _edit
from store._errors import StoreError
from store.engine import describe, make_engine, resolve_url
from store.migrations import migrate
from store.schema import ATTRIBUTE_COLUMNS, tables_for

#: columns a store read adds to FACILITY_COLUMNS
RECORD_COLUMNS: tuple[str, ...] = ("status", "version", "fid", "batch_id", "valid_from", "valid_to")

_DATASETS: dict[tuple, Dataset] = {}
_DS_LOCK = threading.Lock()


def valid_in(t, year: int):
    """SQL condition: the record is valid in ``year``."""
    f = t.facilities.c
    return and_(f.valid_from <= year, or_(f.valid_to.is_(None), f.valid_to > year))


class FacilityStore:
    """One store (GeoPackage file or PostGIS database); thread-safe, cheap to share.

    Parameters
    ----------
    url : str or path, optional
        See :func:`store.engine.resolve_url`.
    data_dir : path, optional
        The dataset folder whose units the store's facilities belong to (default: data/).
    """

    def __init__(self, url: str | Path | None = None, data_dir: Path | str | None = None) -> None:
        self.url = resolve_url(url, data_dir)
        self.data_dir = data_dir
        self.engine = make_engine(self.url)
        self.t = tables_for(self.engine.dialect.name)
        try:
            migrate(self.engine)
        except StoreError:
            self.engine.dispose()
            raise
        except Exception as exc:
            self.engine.dispose()
            raise StoreError(f"cannot open store {describe(self.url)}: {exc}") from exc

    # ------------------------------------------------------------------ basics
    @property
    def backend(self) -> str:
        """``"geopackage"`` or ``"postgis"``."""
        return "postgis" if self.t.dialect == "postgresql" else "geopackage"

    @property
    def path(self) -> Path | None:
        """The GeoPackage file (None for PostGIS)."""
        return Path(self.url[len("sqlite:///"):]) if self.backend == "geopackage" else None

    def __repr__(self) -> str:
        return f"FacilityStore({describe(self.url)!r})"

    def revision(self, conn: Connection | None = None) -> int:
        """Counter bumped by every write transaction (cache key of :meth:`dataset`)."""
        q = select(self.t.store_meta.c.value).where(self.t.store_meta.c.key == "revision")
        if conn is not None:
            return int(conn.execute(q).scalar_one())
        with self.engine.connect() as c:
            return int(c.execute(q).scalar_one())

    def bump(self, conn: Connection) -> None:
        """Increase the revision inside a write transaction (every writer calls it)."""
        m = self.t.store_meta.c
        cur = int(conn.execute(select(m.value).where(m.key == "revision")).scalar_one())
        conn.execute(update(self.t.store_meta).where(m.key == "revision").values(value=str(cur + 1)))

    def is_empty(self) -> bool:
        with self.engine.connect() as c:
            return c.execute(select(func.count()).select_from(self.t.facilities)).scalar_one() == 0

    def years(self) -> list[int]:
        """Inventory years held by the store, sorted."""
        with self.engine.connect() as c:
            return sorted(int(y) for y in c.execute(select(self.t.inventory_years.c.year)).scalars())

    def ensure_year(self, conn: Connection, year: int, note: str = "") -> None:
        from store.migrations import now_iso
        y = self.t.inventory_years
        if conn.execute(select(y.c.year).where(y.c.year == int(year))).first() is None:
            conn.execute(y.insert().values(year=int(year), created_at=now_iso(), note=note))

    # ------------------------------------------------------------------ reading
    def _frame(self, where, conn: Connection | None = None) -> gpd.GeoDataFrame:
        f = self.t.facilities.c
        cols = [f.fid, f.facility_id, f.valid_from, f.valid_to, f.status, f.version, f.batch_id,
                *[f[c] for c in ATTRIBUTE_COLUMNS], self.t.geom_select()]
        q = select(*cols).where(where).order_by(f.fid)
        if conn is None:
            with self.engine.connect() as c:
                rows = c.execute(q).all()
        else:
            rows = conn.execute(q).all()
        names = [c.name for c in cols]
        df = pd.DataFrame.from_records(rows, columns=names)
        df["valid_to"] = pd.array(df["valid_to"].tolist(), dtype="Int64")
        for col in ("fid", "valid_from", "version", "batch_id"):
            df[col] = df[col].astype("int64")
        geoms = self.t.decode_geoms(df.pop("geom_wkb").to_numpy(dtype=object)) if len(df) else []
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, index=df.index, crs=STORAGE_CRS),
                                crs=STORAGE_CRS)

    def records(self, facility_id: str | None = None, county: str | None = None) -> gpd.GeoDataFrame:
        """Every record (all years, superseded ones too) of a facility / county / the store."""
        f = self.t.facilities.c
        cond = and_(True, *([f.facility_id == facility_id] if facility_id else []),
                    *([f.county_code == county] if county else []))
        return self._frame(cond)

    def facilities(self, year: int, statuses: tuple[str, ...] | None = ("open",),
                   county: str | None = None, conn: Connection | None = None) -> gpd.GeoDataFrame:
        """That year's state: FACILITY_COLUMNS (``year`` = ``year``) + RECORD_COLUMNS.

        ``statuses`` None → every status; the default counts open facilities only (closed
        and planned ones are not part of the year's inventory for evaluation).
        """
        f = self.t.facilities.c
        cond = valid_in(self.t, int(year))
        if statuses is not None:
            cond = and_(cond, f.status.in_(list(statuses)))
        if county:
            cond = and_(cond, f.county_code == county)
        df = self._frame(cond, conn)
        df["year"] = np.int64(year)
        df = coerce_layer(df, "facilities")
        return df[[*FACILITY_COLUMNS, *RECORD_COLUMNS, "geometry"]]

    def record_at(self, conn: Connection, facility_id: str, year: int) -> dict | None:
        """The record of ``facility_id`` valid in ``year`` (any status), as a dict, or None."""
        df = self._frame(and_(valid_in(self.t, int(year)), self.t.facilities.c.facility_id == facility_id),
                         conn)
        if df.empty:
            return None
        row = df.iloc[-1]
        return {k: (None if (not isinstance(v, str) and v is not None and pd.isna(v)) else v)
                for k, v in row.items()}

    # ------------------------------------------------------------------ writing
    def edit(self, facility_id: str, year: int, updates: dict, *, expected_version: int,
             user: str, reason: str = "") -> dict:
        """Change a facility in ``year``; see :func:`store.edit.edit_facility`."""
        return _edit.edit_facility(self, self.units(), facility_id, int(year), updates,
                                   expected_version=expected_version, user=user, reason=reason)

    def add(self, year: int, values: dict, *, user: str, reason: str = "",
            facility_id: str | None = None) -> str:
        """Add a facility from ``year`` on; returns its id (:func:`store.edit.add_facility`)."""
        return _edit.add_facility(self, self.units(), int(year), values, user=user, reason=reason,
                                  facility_id=facility_id)

    def delete(self, facility_id: str, year: int, *, expected_version: int, user: str,
               reason: str = "") -> None:
        """Remove a facility from ``year`` on (:func:`store.edit.delete_facility`)."""
        _edit.delete_facility(self, facility_id, int(year), expected_version=expected_version,
                              user=user, reason=reason)

    def rollback(self, batch_id: int, *, user: str, reason: str = "") -> int:
        """Undo a batch as a whole; returns the rollback batch id (:func:`store.changes.rollback`)."""
        return _changes.rollback(self, int(batch_id), user, reason)

    def write_audit(self, *, user: str, action: str, outcome: str = "ok", reason: str = "",
                    facility_id: str = "", year: int | None = None, old: dict | None = None,
                    new: dict | None = None, batch_id: int | None = None) -> int:
        """Append an audit row in its own transaction (e.g. ``outcome="forbidden"``)."""
        with self.engine.begin() as conn:
            return _changes.write_audit(conn, self, user=user, action=action, outcome=outcome,
                                        reason=reason, facility_id=facility_id, year=year, old=old,
                                        new=new, batch_id=batch_id)

    def history(self, facility_id: str) -> pd.DataFrame:
        """Audit entries of one facility, oldest first (:func:`store.edit.history`)."""
        return _edit.history(self, facility_id)

    def audit_log(self, limit: int | None = None) -> pd.DataFrame:
        """Every audit row, newest first."""
        a = self.t.audit.c
        q = select(self.t.audit).order_by(a.audit_id.desc())
        if limit:
            q = q.limit(int(limit))
        with self.engine.connect() as c:
            rows = c.execute(q).mappings().all()
        return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in self.t.audit.columns])

    def batches(self) -> pd.DataFrame:
        """Every batch, oldest first."""
        with self.engine.connect() as c:
            rows = c.execute(select(self.t.batches).order_by(self.t.batches.c.batch_id)).mappings().all()
        return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in self.t.batches.columns])

    def county_provenance(self, year: int) -> dict[str, str]:
        """County code → ``real`` (every open record real), ``partial`` (some) or ``synthetic``."""
        ds = self.dataset()
        df = ds.facilities_for(int(year)) if int(year) in ds.years else self.facilities(year)
        out: dict[str, str] = {}
        for code in sorted(self.units().counties["code"]):
            p = df.loc[df["county_code"] == code, "provenance"]
            n_real = int((p == "real").sum())
            out[code] = "synthetic" if n_real == 0 else ("real" if n_real == len(p) else "partial")
        return out

    def _submissions(self) -> dict[int, dict[str, object]]:
        """Applied submission batches: batch id → ``source``, ``year``, ``county_code``, ``created_at``."""
        b = self.t.batches.c
        q = select(b.batch_id, b.source, b.year, b.county_code, b.created_at).where(
            and_(b.kind == "submission", b.status == "applied"))
        with self.engine.connect() as c:
            return {int(r.batch_id): {"source": str(r.source or ""), "year": int(r.year) if r.year is not None else None,
                                      "county_code": str(r.county_code or ""), "created_at": str(r.created_at or "")}
                    for r in c.execute(q)}

    def units(self) -> Dataset:
        """Units of the store's dataset folder (cached :func:`layers.load.load_units`)."""
        return load_units(self.data_dir)

    # ------------------------------------------------------------------ datasets
    def dataset(self, data_dir: Path | str | None = None, years: list[int] | None = None) -> Dataset:
        """A :class:`layers.Dataset`: units/indicators/network from ``data_dir``, facilities
        (open, every inventory year or ``years``) from the store.

        Cached per (store, revision, folder, years): a repeated call while nothing was written
        returns the same object — edit ``ds.copy()``, never the result.
        """
        data_dir = data_dir if data_dir is not None else self.data_dir
        units = load_units(data_dir)
        rev = self.revision()
        ys = tuple(years) if years is not None else tuple(self.years())
        key = (self.url, rev, id(units), ys)
        with _DS_LOCK:
            hit = _DATASETS.get(key)
        if hit is not None:
            return hit
        frames = [self.facilities(y) for y in ys]
        fac = pd.concat(frames, ignore_index=True) if frames else self.facilities(0)
        fac = gpd.GeoDataFrame(fac, geometry="geometry", crs=STORAGE_CRS)
        ds = units.copy()
        ds.facilities = fac
        subs = self._submissions()
        for y in ys:
            ds.layer_provenance[f"facilities_{y}"] = _worst(fac.loc[fac["year"] == y, "provenance"])
            used = set(fac.loc[fac["year"] == y, "batch_id"].dropna().astype(int)) if "batch_id" in fac else set()
            # the submission batches the year's records come from (per-county data status)
            ds.layer_info[f"facilities_{y}"] = {"kind": "facilities", "year": y,
                                                "file": describe(self.url), "store": True,
                                                "submissions": {b: v for b, v in subs.items() if b in used}}
        ds.revision = rev
        with _DS_LOCK:
            for k in [k for k in _DATASETS if k[0] == self.url]:
                del _DATASETS[k]
            _DATASETS[key] = ds
        return ds


_ORDER = ("synthetic", "estimated", "derived", "real")


def _worst(values: pd.Series) -> str:
    vals = set(values)
    for p in _ORDER:
        if p in vals:
            return p
    return "synthetic"
