"""Saved scenarios: validated names, atomic writes, never outside ``scenarios/``.

The Dash app and ``covplan site --save-scenario`` save scenarios here. A save writes a
temporary file in the destination folder and renames it into place with
:func:`os.replace`, so a reader never sees a half-written file. Every destination is
resolved (symlinks followed) and must lie inside the scenarios root; names are checked
against :data:`NAME_PATTERN`.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from scenarios._errors import ScenarioError
from scenarios._toml import dumps
from scenarios.model import Scenario, load_scenario, loads_toml

#: the scenarios package folder: nothing is ever written outside it
SCENARIOS_ROOT: Path = Path(__file__).resolve().parent
#: sub-folder for saved scenarios
SAVED_SUBDIR: str = "saved"
#: longest file stem accepted
MAX_NAME_LENGTH: int = 64
#: letters, digits, ``_``, ``-`` and CJK ideographs; must not start with ``-``
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_\u3400-\u4dbf\u4e00-\u9fff][A-Za-z0-9_\-\u3400-\u4dbf\u4e00-\u9fff]*$")


def validate_name(name: str) -> str:
    """Check a saved-scenario name (the file stem); return it.

    Raises
    ------
    ScenarioError
        Empty, too long, or containing anything but letters, digits, ``_``, ``-`` and
        Chinese characters (so no path separators, dots, ``..`` or spaces).
    """
    if not isinstance(name, str) or not name:
        raise ScenarioError("scenario name: empty name")
    if len(name) > MAX_NAME_LENGTH:
        raise ScenarioError(f"scenario name {name[:20]!r}…: longer than {MAX_NAME_LENGTH} characters")
    if not NAME_PATTERN.match(name):
        raise ScenarioError(
            f"scenario name {name!r}: use letters, digits, '_', '-' or Chinese characters "
            "only (no path separators, dots or spaces)"
        )
    return name


def _root(root: str | Path | None) -> Path:
    return Path(root).resolve() if root is not None else SCENARIOS_ROOT


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def resolve_destination(path: str | Path, root: str | Path | None = None) -> Path:
    """Check a user-given destination (``scenarios/NAME.toml``) and return it resolved.

    A relative path is taken relative to the root's parent (the repository), so
    ``scenarios/x.toml`` and ``scenarios/saved/x.toml`` both work; a path whose
    resolved location (symlinks followed) is outside the root is refused, as is an
    existing symlink at the destination.
    """
    base = _root(root)
    raw = Path(path)
    if ".." in raw.parts:
        raise ScenarioError(f"{path}: '..' is not allowed in a scenario path")
    if raw.is_absolute():
        candidate = raw
    elif raw.parts and raw.parts[0] == base.name:
        candidate = base.parent / raw
    else:
        candidate = base / SAVED_SUBDIR / raw
    if candidate.suffix.lower() != ".toml":
        raise ScenarioError(f"{path}: a saved scenario must end in .toml")
    validate_name(candidate.stem)
    if candidate.is_symlink():
        raise ScenarioError(f"{path}: refusing to write through a symlink")
    resolved = candidate.resolve()
    if not _inside(resolved, base):
        raise ScenarioError(f"{path}: scenarios are only saved under {base}")
    return resolved


def scenario_to_toml(scenario: Scenario) -> str:
    """The scenario as TOML text (read back identically by :func:`load_scenario`)."""
    header = (
        "# covplan scenario: what-if edits to a dataset, never the data itself.\n"
        "# Facilities added here are hypothetical (provenance = synthetic).\n"
    )
    return header + dumps(scenario.to_dict())


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_scenario(
    scenario: Scenario,
    name: str | None = None,
    *,
    path: str | Path | None = None,
    root: str | Path | None = None,
    overwrite: bool = True,
) -> Path:
    """Save a scenario atomically under ``scenarios/`` and return the file path.

    Parameters
    ----------
    scenario : Scenario
    name : str, optional
        File stem under ``scenarios/saved/``; validated by :func:`validate_name`.
        Defaults to the scenario's name.
    path : str or Path, optional
        Instead of ``name``: a destination such as ``scenarios/my_plan.toml`` (must
        resolve inside the scenarios root).
    root : str or Path, optional
        The scenarios root (tests use a temporary folder); default the package folder.
    overwrite : bool
        If False, an existing file is an error.

    Raises
    ------
    ScenarioError
        Bad name, a destination outside the root, or an existing file without overwrite.
    """
    base = _root(root)
    if path is not None:
        dest = resolve_destination(path, root=base)
    else:
        stem = validate_name(name if name is not None else scenario.name)
        candidate = base / SAVED_SUBDIR / f"{stem}.toml"
        dest = resolve_destination(candidate, root=base)
    if dest.exists() and not overwrite:
        raise ScenarioError(f"{dest}: a saved scenario of that name exists")
    text = scenario_to_toml(scenario)
    # the text must read back to the same scenario before anything is replaced
    Scenario.from_dict(loads_toml(text, str(dest)), source=str(dest))  # size and nesting limits too
    _atomic_write(dest, text)
    return dest


def list_saved(root: str | Path | None = None) -> list[dict[str, Any]]:
    """Saved scenarios, sorted by file name.

    Returns
    -------
    list of dict
        ``name`` (file stem), ``path``, ``title`` (the scenario's name), ``description``,
        ``year``, ``n_edits``, and ``error`` (None, or why the file does not load).
    """
    folder = _root(root) / SAVED_SUBDIR
    out: list[dict[str, Any]] = []
    if not folder.is_dir():
        return out
    for file in sorted(folder.glob("*.toml")):
        if file.is_symlink() or not NAME_PATTERN.match(file.stem):
            continue
        entry: dict[str, Any] = {"name": file.stem, "path": file, "error": None}
        try:
            sc = load_scenario(file)
        except ScenarioError as exc:
            entry.update(title=file.stem, description="", year=None, n_edits=0, error=str(exc))
        else:
            entry.update(
                title=sc.name, description=sc.description, year=sc.year, n_edits=len(sc.edits)
            )
        out.append(entry)
    return out


def load_saved(name: str, root: str | Path | None = None) -> Scenario:
    """Load ``scenarios/saved/<name>.toml`` (name validated; no paths)."""
    stem = validate_name(name)
    base = _root(root)
    file = base / SAVED_SUBDIR / f"{stem}.toml"
    if file.is_symlink() or not _inside(file.resolve(), base):
        raise ScenarioError(f"{file}: refusing to read a saved scenario outside {base}")
    if not file.is_file():
        raise ScenarioError(f"{file}: no saved scenario named {stem!r}")
    return load_scenario(file)
