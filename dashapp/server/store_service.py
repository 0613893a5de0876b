"""The app's service on the city server: facilities from the store, caches keyed by its revision.

Every write to the store raises its revision (``store_meta.revision``, in the same
transaction). :class:`StoreAppService` reads the base dataset with
``FacilityStore.dataset()`` — one small query for the revision, the dataset rebuilt only when
it changed — once per request (kept on ``flask.g``, so a request sees one revision
throughout). The service's caches are keyed by ``(id(dataset), dataset.revision, …)``, so an
edit saved through one worker is seen by every other worker on its next request; the
workers share nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import g, has_request_context

from dashapp.service import AppService


class StoreAppService(AppService):
    """:class:`dashapp.service.AppService` whose base dataset comes from a facility store."""

    def __init__(self, store: Any, data_dir: Path | None = None, targets_dir: Path | None = None) -> None:
        super().__init__(data_dir, targets_dir)
        self.store = store

    @property
    def ds(self):  # type: ignore[override]
        if has_request_context():
            ds = g.get("covplan_ds")
            if ds is None:
                ds = g.covplan_ds = self.store.dataset(self.data_dir)
            return ds
        return self.store.dataset(self.data_dir)
