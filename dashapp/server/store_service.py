"""The app's service on the city server: facilities from the store, caches keyed by its revision.

Every write to the store raises its revision (``store_meta.revision``, in the same
transaction). :class:`StoreAppService` reads the base dataset with
``FacilityStore.dataset()`` — one small query for the revision, the dataset rebuilt only when
it changed — once per request (kept on ``flask.g``, so a request sees one revision
throughout). The service's caches are keyed by ``(id(dataset), dataset.revision, …)`` and
emptied when the revision moves, so an edit saved through one worker is seen by every other
worker on its next request, and memory holds the current dataset's results only; the
workers share nothing else. The evaluation caches of ``coverage.targets`` hold their
dataset weakly and drop the entries of datasets that are gone on their next miss, so an
older revision's results go with its dataset (tests/test_server_memory.py).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import g, has_request_context

from dashapp.cache import LRU
from dashapp.service import AppService


def release_free_memory() -> bool:
    """Give the C heap's free pages back to the system (glibc ``malloc_trim``; False elsewhere).

    A revision replaces the dataset and every cached result at once: tens of MB freed in
    pieces among live objects, which glibc keeps mapped unless asked. Called once per
    revision per worker (a few ms), it keeps a worker's RSS flat across edits.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False


class StoreAppService(AppService):
    """:class:`dashapp.service.AppService` whose base dataset comes from a facility store."""

    def __init__(self, store: Any, data_dir: Path | None = None, targets_dir: Path | None = None) -> None:
        super().__init__(data_dir, targets_dir)
        self.store = store
        self._datasets = LRU(1)  # the current revision's dataset only (a request keeps its own on g)
        self._revision: int | None = None
        self._revision_lock = threading.Lock()

    def _current(self):
        """The dataset at the store's revision, built once per revision in this process even when
        several threads ask at once (the other threads wait for the first). A new revision
        empties the caches: their entries for older datasets could never be hit again, and
        would keep those datasets in memory until evicted."""
        rev = self.store.revision()
        moved = False
        with self._revision_lock:
            if rev != self._revision:
                moved, self._revision = self._revision is not None, rev
                for cache in (self._evals, self._scenarios, self._static):
                    cache.clear()
        ds = self._datasets.get_or_compute(("store", rev), lambda: self.store.dataset(self.data_dir))
        if moved:
            release_free_memory()
        return ds

    @property
    def ds(self):  # type: ignore[override]
        if has_request_context():
            ds = g.get("covplan_ds")
            if ds is None:
                ds = g.covplan_ds = self._current()
            return ds
        return self._current()
