"""Tables of the facility store (SQLAlchemy Core), the same columns on both backends.

``tables_for(dialect)`` returns the :class:`Tables` of one backend: the only difference is the
type of ``facilities.geom`` — GeoAlchemy2 ``Geometry("POINT", 4326)`` on PostGIS (GiST
index), :class:`store.gpkg.GpkgGeometry` on GeoPackage. Columns are documented in
docs/ARCHITECTURE.md ("Facility store").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely
from geoalchemy2 import Geometry
from geoalchemy2 import functions as gfunc
from geoalchemy2.shape import from_shape
from sqlalchemy import (Boolean, Column, Float, Index, Integer, MetaData, Table, Text,
                        type_coerce)
from sqlalchemy.types import LargeBinary

from store.gpkg import GpkgGeometry, decode_many

#: facility attributes kept on every record (FACILITY_COLUMNS without ``year``)
ATTRIBUTE_COLUMNS: tuple[str, ...] = (
    "type", "name", "tier", "level", "capacity", "is_inclusive", "has_reading_area",
    "place_kind", "building_area_m2", "daily_visitors", "serves_place_id", "county_code",
    "township_code", "village_code", "address", "location_precision", "provenance",
)
FLOAT_ATTRS = ("capacity", "building_area_m2", "daily_visitors")
BOOL_ATTRS = ("is_inclusive", "has_reading_area")

#: record status: counted in evaluation only when ``open``
STATUSES: tuple[str, ...] = ("open", "closed", "planned")


def db_value(col: str, v):
    """A facility attribute as stored: floats/bools nullable, text never NULL."""
    if col in FLOAT_ATTRS:
        if v is None or v is pd.NA:
            return None
        fv = float(v)
        return None if math.isnan(fv) else fv
    if col in BOOL_ATTRS:
        return None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else bool(v)
    return "" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v)


@dataclass(frozen=True)
class Tables:
    metadata: MetaData
    facilities: Table
    batches: Table
    audit: Table
    inventory_years: Table
    store_meta: Table
    schema_migrations: Table
    dialect: str

    def geom_value(self, geom):
        """A shapely point as the bind value of ``facilities.geom`` on this backend."""
        if geom is None:
            return None
        return from_shape(geom, srid=4326) if self.dialect == "postgresql" else geom

    def geom_select(self):
        """Expression selecting ``facilities.geom`` as bytes for :meth:`decode_geoms`."""
        g = self.facilities.c.geom
        if self.dialect == "postgresql":
            return gfunc.ST_AsBinary(g).label("geom_wkb")
        return type_coerce(g, LargeBinary).label("geom_wkb")

    def decode_geoms(self, values) -> np.ndarray:
        """Column of :meth:`geom_select` values → shapely geometries."""
        if self.dialect == "postgresql":
            return shapely.from_wkb(np.array([None if v is None else bytes(v) for v in values],
                                             dtype=object))
        return decode_many(values)


def _facility_columns(geom_type) -> list[Column]:
    cols = [
        Column("fid", Integer, primary_key=True, autoincrement=True),
        Column("facility_id", Text, nullable=False),
        Column("valid_from", Integer, nullable=False),
        Column("valid_to", Integer, nullable=True),
        Column("status", Text, nullable=False, server_default="open"),
        Column("version", Integer, nullable=False),
        Column("batch_id", Integer, nullable=False),
    ]
    for name in ATTRIBUTE_COLUMNS:
        if name in FLOAT_ATTRS:
            cols.append(Column(name, Float, nullable=True))
        elif name in BOOL_ATTRS:
            cols.append(Column(name, Boolean, nullable=True))
        else:
            cols.append(Column(name, Text, nullable=False, server_default=""))
    cols.append(Column("geom", geom_type, nullable=True))
    return cols


@lru_cache(maxsize=None)
def tables_for(dialect: str) -> Tables:
    """The store's tables for ``"sqlite"`` (GeoPackage) or ``"postgresql"`` (PostGIS)."""
    md = MetaData()
    if dialect == "postgresql":
        geom_type = Geometry("POINT", srid=4326, spatial_index=True)
    else:
        geom_type = GpkgGeometry(4326)
    facilities = Table("facilities", md, *_facility_columns(geom_type))
    Index("ix_facilities_facility_id", facilities.c.facility_id)
    Index("ix_facilities_years", facilities.c.valid_from, facilities.c.valid_to)
    Index("ix_facilities_county", facilities.c.county_code)
    batches = Table(
        "batches", md,
        Column("batch_id", Integer, primary_key=True, autoincrement=True),
        Column("kind", Text, nullable=False),          # migration|submission|edit|scenario|rollback
        Column("year", Integer, nullable=True),
        Column("source", Text, nullable=False, server_default=""),
        Column("county_code", Text, nullable=False, server_default=""),
        Column("file_name", Text, nullable=False, server_default=""),
        Column("file_sha256", Text, nullable=False, server_default=""),
        Column("submitted_by", Text, nullable=False),
        Column("created_at", Text, nullable=False),    # ISO 8601 UTC
        Column("status", Text, nullable=False, server_default="applied"),  # applied|rolled_back
        Column("rolled_back_by", Integer, nullable=True),
        Column("n_new", Integer, nullable=False, server_default="0"),
        Column("n_changed", Integer, nullable=False, server_default="0"),
        Column("n_closed", Integer, nullable=False, server_default="0"),
        Column("note", Text, nullable=False, server_default=""),
    )
    audit = Table(
        "audit", md,
        Column("audit_id", Integer, primary_key=True, autoincrement=True),
        Column("batch_id", Integer, nullable=True),
        Column("at", Text, nullable=False),            # ISO 8601 UTC
        Column("user_name", Text, nullable=False),
        Column("action", Text, nullable=False),
        Column("outcome", Text, nullable=False, server_default="ok"),  # ok|refused|forbidden
        Column("facility_id", Text, nullable=False, server_default=""),
        Column("year", Integer, nullable=True),
        Column("old_fid", Integer, nullable=True),
        Column("new_fid", Integer, nullable=True),
        Column("old_valid_to", Integer, nullable=True),
        Column("old_values", Text, nullable=False, server_default=""),   # JSON
        Column("new_values", Text, nullable=False, server_default=""),   # JSON
        Column("reason", Text, nullable=False, server_default=""),
    )
    Index("ix_audit_facility", audit.c.facility_id)
    Index("ix_audit_batch", audit.c.batch_id)
    inventory_years = Table(
        "inventory_years", md,
        Column("year", Integer, primary_key=True, autoincrement=False),
        Column("created_at", Text, nullable=False),
        Column("note", Text, nullable=False, server_default=""),
    )
    store_meta = Table(
        "store_meta", md,
        Column("key", Text, primary_key=True),
        Column("value", Text, nullable=False),
    )
    schema_migrations = Table(
        "schema_migrations", md,
        Column("version", Integer, primary_key=True, autoincrement=False),
        Column("name", Text, nullable=False),
        Column("applied_at", Text, nullable=False),
    )
    return Tables(md, facilities, batches, audit, inventory_years, store_meta,
                  schema_migrations, "postgresql" if dialect == "postgresql" else "sqlite")
