"""Read a dataset folder's ``manifest.toml`` into typed layer specifications.

A manifest names the dataset and lists its layers::

    name = "lishui"
    title_zh = "丽水市内置数据集"
    [layers.counties]
    file = "boundaries/counties.geojson"
    id = "code"
    crs = "EPSG:4326"
    kind = "counties"
    provenance = "real"
    description = "…"

``kind`` is one of :data:`LAYER_KINDS`; facility layers also carry ``year``. Problems in the
manifest itself are collected and raised together as one :class:`LayerValidationError`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layers._errors import LayerValidationError
from layers.crs_check import parse_crs
from layers.vocab import PROVENANCE_VALUES

__all__ = ["LAYER_KINDS", "REQUIRED_KINDS", "LayerSpec", "Manifest", "read_manifest"]

#: layer kinds a manifest may list
LAYER_KINDS: tuple[str, ...] = (
    "counties",
    "townships",
    "villages",
    "facilities",
    "indicators",
    "network",
)
#: kinds every dataset must have (exactly one layer each)
REQUIRED_KINDS: tuple[str, ...] = ("counties", "townships", "villages")
_SINGLE_KINDS = ("counties", "townships", "villages", "indicators", "network")
_DEFAULT_ID = {"counties": "code", "townships": "code", "villages": "code", "facilities": "facility_id"}


@dataclass(frozen=True)
class LayerSpec:
    """One ``[layers.<name>]`` table of a manifest.

    Attributes
    ----------
    name : str
        Layer name (the table key, e.g. ``facilities_2024``).
    kind : str
        One of :data:`LAYER_KINDS`.
    path : Path
        Absolute path of the layer file.
    file : str
        Path as written in the manifest (relative to the dataset folder).
    id : str or None
        Id column (unique per layer).
    crs : str or None
        CRS declared in the manifest; the file's own CRS wins when both exist.
    provenance : str
        ``real`` / ``derived`` / ``estimated`` / ``synthetic``.
    year : int or None
        Inventory year of a facility layer.
    description : str
        Free text shown by ``covplan info``.
    extra : dict
        Any other keys of the table, kept verbatim.
    """

    name: str
    kind: str
    path: Path
    file: str
    id: str | None
    crs: str | None
    provenance: str
    year: int | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The manifest table as a plain dict (for :attr:`Dataset.layer_info`)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "file": self.file,
            "id": self.id,
            "crs": self.crs,
            "provenance": self.provenance,
            "description": self.description,
        }
        if self.year is not None:
            out["year"] = self.year
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Manifest:
    """A parsed ``manifest.toml``."""

    root: Path
    path: Path
    name: str
    title_zh: str
    layers: dict[str, LayerSpec]
    meta: dict[str, Any]

    def of_kind(self, kind: str) -> list[LayerSpec]:
        """Layers of one kind, facility layers ordered by year."""
        specs = [s for s in self.layers.values() if s.kind == kind]
        return sorted(specs, key=lambda s: (s.year or 0, s.name))

    def files(self) -> list[Path]:
        """Every file the manifest refers to (for cache signatures)."""
        return [s.path for s in self.layers.values()]


def read_manifest(data_dir: Path | str) -> Manifest:
    """Parse and check ``data_dir/manifest.toml``.

    Raises
    ------
    LayerValidationError
        Listing every problem: missing manifest, TOML syntax, unknown kind, missing ``file``,
        bad provenance, missing required layers, facility layers without a year, files that
        do not exist.
    """
    root = Path(data_dir).expanduser().resolve()
    path = root / "manifest.toml"
    if not path.is_file():
        msg = f"{path}: no manifest.toml in the dataset folder / 数据目录缺少 manifest.toml"
        raise LayerValidationError(msg)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LayerValidationError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise LayerValidationError(f"{path}: not valid TOML: nested too deeply") from exc

    problems: list[str] = []
    tables = raw.get("layers")
    if not isinstance(tables, dict) or not tables:
        raise LayerValidationError(f"{path}: no [layers.*] tables / 未列出任何图层")

    specs: dict[str, LayerSpec] = {}
    for name, table in tables.items():
        where = f"{path}: [layers.{name}]"
        if not isinstance(table, dict):
            problems.append(f"{where}: not a table")
            continue
        kind = table.get("kind")
        if kind not in LAYER_KINDS:
            problems.append(f"{where}: field 'kind' = {kind!r}, expected one of {', '.join(LAYER_KINDS)}")
            continue
        file = table.get("file")
        if not isinstance(file, str) or not file:
            problems.append(f"{where}: field 'file' missing")
            continue
        prov = table.get("provenance")
        if prov not in PROVENANCE_VALUES:
            problems.append(
                f"{where}: field 'provenance' = {prov!r}, expected one of {', '.join(PROVENANCE_VALUES)}"
            )
        year = table.get("year")
        if kind == "facilities" and not isinstance(year, int):
            problems.append(f"{where}: field 'year' must be an integer for a facility layer")
            year = None
        layer_path = (root / file).resolve()
        if Path(file).is_absolute() or not layer_path.is_relative_to(root):
            # never read (nor quote) a file outside the dataset folder: .., absolute, symlinks
            problems.append(f"{where}: field 'file' = {file!r} leaves the dataset folder; layer files must lie "
                            "inside it (no absolute paths, '..' or links out) / 图层文件必须位于数据目录内")
            continue
        if not layer_path.is_file():
            problems.append(f"{where}: field 'file': {layer_path} does not exist / 文件不存在")
        crs = table.get("crs")
        if crs is not None:
            try:
                parse_crs(crs)
            except ValueError as exc:
                problems.append(f"{where}: field 'crs' = {crs!r} is not a coordinate reference system "
                                f"(e.g. \"EPSG:4326\"): {exc} / 坐标系无效")
        known = {"kind", "file", "id", "crs", "provenance", "year", "description"}
        specs[name] = LayerSpec(
            name=name,
            kind=kind,
            path=layer_path,
            file=file,
            id=table.get("id", _DEFAULT_ID.get(kind)),
            crs=table.get("crs"),
            provenance=prov if prov in PROVENANCE_VALUES else "synthetic",
            year=year if isinstance(year, int) else None,
            description=str(table.get("description", "")),
            extra={k: v for k, v in table.items() if k not in known},
        )

    kinds = [s.kind for s in specs.values()]
    for kind in REQUIRED_KINDS:
        if kind not in kinds:
            problems.append(f"{path}: required layer of kind {kind!r} is missing / 缺少必需图层")
    for kind in _SINGLE_KINDS:
        if kinds.count(kind) > 1:
            problems.append(f"{path}: more than one layer of kind {kind!r}")
    years = [s.year for s in specs.values() if s.kind == "facilities" and s.year is not None]
    if len(years) != len(set(years)):
        problems.append(f"{path}: two facility layers declare the same year")
    if problems:
        head = f"{len(problems)} problem(s) in manifest {path}:"
        raise LayerValidationError("\n".join([head, *problems]))

    meta = {k: v for k, v in raw.items() if k != "layers"}
    return Manifest(
        root=root,
        path=path,
        name=str(raw.get("name", root.name)),
        title_zh=str(raw.get("title_zh", "")),
        layers=specs,
        meta=meta,
    )
