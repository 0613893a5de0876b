"""The city server's caches keep the store's current revision only (memory flat after warm-up).

Every edit raises the store's revision, and each worker then builds a new dataset and new
results. Before the fix the results of every older dataset stayed in the evaluation caches
(held strongly, keyed by a dead dataset) until 512 entries had piled up — about 85 MB per
worker over 15 edits, measured with /tmp probes and seen as 726 → 984 MiB in
bench/bench_server.py. These tests pin the mechanism: an old revision leaves nothing behind.
"""

from __future__ import annotations

import gc

import coverage.targets.engine as engine
import coverage.targets.index as index
from coverage.targets import evaluate, load_targets


def _keys_of(cache, ds_id: int, revision: int) -> list:
    return [k for k in cache if k[1:3] == (ds_id, revision)] if cache is engine._RESULTS else \
        [k for k in cache if k[:2] == (ds_id, revision)]


def test_results_of_a_dataset_that_is_gone_are_dropped_on_the_next_miss(_seeded_gpkg, tmp_path):
    from tests.store_helpers import gpkg_copy

    st = gpkg_copy(_seeded_gpkg, tmp_path / "inventory.gpkg")
    targets = [t for t in load_targets() if t.kind != "access"][:4]
    old = st.dataset()
    evaluate(old, targets, 2024)
    old_id, old_rev = id(old), old.revision
    assert len(_keys_of(engine._RESULTS, old_id, old_rev)) == len(targets)
    assert _keys_of(index._YEARS, old_id, old_rev)
    cc = st.facilities(2024).sort_values("facility_id").iloc[0]
    st.edit(cc["facility_id"], 2024, {"capacity": 7}, expected_version=int(cc["version"]), user="甲")
    del old
    gc.collect()
    new = st.dataset()  # the store keeps one dataset per URL: the old one is gone now
    assert new.revision == old_rev + 1
    evaluate(new, targets, 2024)
    assert _keys_of(engine._RESULTS, old_id, old_rev) == []
    assert _keys_of(index._YEARS, old_id, old_rev) == [] and _keys_of(index._UNITS, old_id, old_rev) == []
    assert len(_keys_of(engine._RESULTS, id(new), new.revision)) == len(targets)
    assert all(ref() is not None for ref, _ in engine._RESULTS.values())
    st.engine.dispose()


def test_the_store_service_keeps_one_revision_through_edits(_seeded_gpkg, tmp_path):
    from dashapp.server.store_service import StoreAppService
    from tests.store_helpers import gpkg_copy

    st = gpkg_copy(_seeded_gpkg, tmp_path / "inventory.gpkg")
    svc = StoreAppService(st)
    tid = [t.id for t in svc.targets if t.kind != "access"][0]
    fac = st.facilities(2024)
    fid = fac[fac["type"] == "childcare"].sort_values("facility_id")["facility_id"].iloc[0]
    seen: list[tuple[int, int]] = []
    for k in range(3):
        svc.evaluation(2024, (), tid)
        svc.evaluation(2024, [{"op": "close_facility", "facility_id": fid}], tid)
        ds = svc.ds
        seen.append((id(ds), ds.revision))
        del ds
        rec = st.facilities(2024).set_index("facility_id").loc[fid]
        st.edit(fid, 2024, {"capacity": 10 + k}, expected_version=int(rec["version"]), user="甲")
    svc.evaluation(2024, (), tid)
    now = (id(svc.ds), svc.ds.revision)
    assert now[1] == seen[0][1] + 3 and len(svc._datasets) == 1
    revisions = {k[2] for k in engine._RESULTS if k[1] in {i for i, _ in seen} | {now[0]}}
    assert revisions == {now[1]}, revisions  # no entry of an older revision
    # nor of a dead dataset (the scenario copies of older revisions)
    assert all(ref() is not None for ref, _ in engine._RESULTS.values())
    # the service's own caches: entries of the current dataset only
    assert all(k[0][1] == now[1] for k in svc._evals._data)
    st.engine.dispose()
