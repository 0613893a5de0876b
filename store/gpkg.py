"""GeoPackage (OGC 12-128r18) support for the SQLite backend.

The facility layer of the embedded store is an ordinary GeoPackage feature table, so QGIS,
ArcGIS, ``ogrinfo`` and ``pyogrio.read_dataframe`` open it. Geometry values cross the
SQLAlchemy boundary as shapely objects; :class:`GpkgGeometry` encodes them as *GeoPackage
binary* (an 8-byte header — magic ``GP``, version, flags, SRS id — followed by the ISO WKB that
shapely writes) and decodes any header a GeoPackage writer may produce (with or without an
envelope).

Why not GeoAlchemy2's ``gpkg`` dialect: it needs SpatiaLite loaded into Python's ``sqlite3``,
which requires ``enable_load_extension`` (absent from many Python builds, including this
project's venv) plus the ``libsqlite3-mod-spatialite`` system package; the store needs no SQL
geometry function on SQLite (no spatial query runs there), so a type that only encodes and
decodes the binary format keeps ``make run`` free of system packages. PostGIS uses
GeoAlchemy2's ``Geometry`` type (see :mod:`store.schema`).
"""

from __future__ import annotations

import struct

import numpy as np
import shapely
from sqlalchemy import Column, Float, Integer, MetaData, SmallInteger, Table, Text, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.types import LargeBinary, TypeDecorator, UserDefinedType

#: PRAGMA application_id of a GeoPackage ("GPKG") and PRAGMA user_version of version 1.3.0
APPLICATION_ID = 0x47504B47
USER_VERSION = 10300

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


class _GpkgPointType(UserDefinedType):
    """The column's declared SQL type: ``POINT`` (what GDAL reads as the geometry type)."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "POINT"


class GpkgGeometry(TypeDecorator):
    """A shapely geometry stored as GeoPackage binary in a BLOB column declared ``POINT``."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, srs_id: int = 4326) -> None:
        super().__init__()
        self.srs_id = srs_id

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(_GpkgPointType())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return encode(value, self.srs_id)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return decode(bytes(value))


def encode(geom, srs_id: int = 4326) -> bytes:
    """shapely geometry → GeoPackage binary (little endian, no envelope)."""
    empty = shapely.is_empty(geom)
    flags = 0x01 | (0x10 if empty else 0)
    return b"GP" + bytes((0, flags)) + struct.pack("<i", srs_id) + shapely.to_wkb(geom, byte_order=1)


def header_length(blob: bytes) -> int:
    """Bytes before the WKB in a GeoPackage binary blob (raises on anything else)."""
    if len(blob) < 8 or blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    env = (blob[3] >> 1) & 0x07
    if env not in _ENVELOPE_BYTES:
        raise ValueError(f"bad GeoPackage envelope code {env}")
    return 8 + _ENVELOPE_BYTES[env]


def decode(blob: bytes):
    """GeoPackage binary → shapely geometry."""
    return shapely.from_wkb(blob[header_length(blob):])


def decode_many(blobs) -> np.ndarray:
    """Vectorised :func:`decode` for a column of blobs (None stays None)."""
    wkb = [None if b is None else bytes(b)[header_length(bytes(b)):] for b in blobs]
    return shapely.from_wkb(np.array(wkb, dtype=object))


# ---------------------------------------------------------------- the GeoPackage core tables
core = MetaData()

gpkg_spatial_ref_sys = Table(
    "gpkg_spatial_ref_sys", core,
    Column("srs_name", Text, nullable=False),
    Column("srs_id", Integer, primary_key=True, autoincrement=False),
    Column("organization", Text, nullable=False),
    Column("organization_coordsys_id", Integer, nullable=False),
    Column("definition", Text, nullable=False),
    Column("description", Text),
)

gpkg_contents = Table(
    "gpkg_contents", core,
    Column("table_name", Text, primary_key=True),
    Column("data_type", Text, nullable=False),
    Column("identifier", Text, unique=True),
    Column("description", Text, server_default=""),
    Column("last_change", Text, nullable=False),
    Column("min_x", Float), Column("min_y", Float), Column("max_x", Float), Column("max_y", Float),
    Column("srs_id", Integer),
)

gpkg_geometry_columns = Table(
    "gpkg_geometry_columns", core,
    Column("table_name", Text, primary_key=True),
    Column("column_name", Text, primary_key=True),
    Column("geometry_type_name", Text, nullable=False),
    Column("srs_id", Integer, nullable=False),
    Column("z", SmallInteger, nullable=False),
    Column("m", SmallInteger, nullable=False),
)

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)


def init_core(conn: Connection, now: str) -> None:
    """Create the mandatory GeoPackage tables and rows (idempotent) and stamp the file."""
    core.create_all(conn)
    if conn.execute(select(gpkg_spatial_ref_sys.c.srs_id)).first() is None:
        conn.execute(insert(gpkg_spatial_ref_sys), [
            {"srs_name": "Undefined cartesian SRS", "srs_id": -1, "organization": "NONE",
             "organization_coordsys_id": -1, "definition": "undefined",
             "description": "undefined cartesian coordinate reference system"},
            {"srs_name": "Undefined geographic SRS", "srs_id": 0, "organization": "NONE",
             "organization_coordsys_id": 0, "definition": "undefined",
             "description": "undefined geographic coordinate reference system"},
            {"srs_name": "WGS 84 geodetic", "srs_id": 4326, "organization": "EPSG",
             "organization_coordsys_id": 4326, "definition": _WGS84_WKT,
             "description": "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"},
        ])
    conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.exec_driver_sql(f"PRAGMA user_version = {USER_VERSION}")


def register_features(conn: Connection, table: str, column: str, now: str, description: str) -> None:
    """Register a point feature table (EPSG:4326) in gpkg_contents and gpkg_geometry_columns."""
    conn.execute(insert(gpkg_contents).values(
        table_name=table, data_type="features", identifier=table, description=description,
        last_change=now, srs_id=4326))
    conn.execute(insert(gpkg_geometry_columns).values(
        table_name=table, column_name=column, geometry_type_name="POINT", srs_id=4326, z=0, m=0))


def register_attributes(conn: Connection, table: str, now: str, description: str) -> None:
    """Register a non-spatial table so GIS software lists it (GeoPackage ``attributes``)."""
    conn.execute(insert(gpkg_contents).values(
        table_name=table, data_type="attributes", identifier=table, description=description,
        last_change=now))
