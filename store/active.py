"""Which inventory the CLI and the app read: the store when there is one, else the files.

A store is in use when a URL is given (``--store``), when ``$COVPLAN_STORE`` is set, or when
``<data dir>/inventory.gpkg`` exists (``covplan data build`` / ``covplan store init`` write
it; ``make run`` runs the latter). Opened stores are shared per (URL, data folder), so the
app's threads use one engine.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from layers.dataset import Dataset
from layers.load import load_dataset
from store.core import FacilityStore
from store.engine import default_store_path, resolve_url

_STORES: dict[tuple[str, str], FacilityStore] = {}
_LOCK = threading.Lock()


def active_store(data_dir: Path | str | None = None, url: str | Path | None = None) -> FacilityStore | None:
    """The store in use for ``data_dir`` (None: read the facility files)."""
    if url is None or str(url) == "":
        url = os.environ.get("COVPLAN_STORE") or None
    if url is None:
        path = default_store_path(data_dir)
        if not path.exists():
            return None
        url = path
    resolved = resolve_url(url, data_dir)
    key = (resolved, str(Path(data_dir).resolve()) if data_dir is not None else "")
    with _LOCK:
        st = _STORES.get(key)
        if st is None:
            from store import open_store

            st = _STORES[key] = open_store(resolved, data_dir)
        return st


def forget_stores() -> None:
    """Dispose every shared store (tests)."""
    with _LOCK:
        for st in _STORES.values():
            st.engine.dispose()
        _STORES.clear()


def load_inventory(data_dir: Path | str | None = None, url: str | Path | None = None) -> Dataset:
    """The dataset to evaluate: facilities from the active store, else from the files."""
    st = active_store(data_dir, url)
    return st.dataset(data_dir) if st is not None else load_dataset(data_dir)
