"""Fill an empty store from a dataset folder's facility files (``covplan data build``).

Each facility's consecutive inventory years with identical attributes and position become one
record: present in 2020, 2022 and 2024 unchanged → one record ``[2020, ∞)``; changed in 2022
→ ``[2020, 2022)`` and ``[2022, ∞)``; gone in 2024 → ``valid_to = 2024``. The whole load is one
batch of kind ``migration``.
"""

from __future__ import annotations

from sqlalchemy import insert

from layers.dataset import Dataset
from store.changes import new_batch
from store.schema import ATTRIBUTE_COLUMNS, db_value

_CHUNK = 2000


def _state(row: dict, geom) -> tuple:
    return (tuple(db_value(c, row[c]) for c in ATTRIBUTE_COLUMNS),
            None if geom is None else (round(geom.x, 9), round(geom.y, 9)))


def seed_from_dataset(st, ds: Dataset, user: str = "covplan data build",
                      note: str = "") -> int:
    """Load every facility year of ``ds`` into an empty store; return the batch id."""
    if not st.is_empty():
        raise ValueError(f"{st!r} already holds facilities; seed only an empty store")
    years = ds.years
    runs: dict[str, list] = {}          # facility_id → [[valid_from, valid_to, state, row, geom]]
    for k, y in enumerate(years):
        fy = ds.facilities_for(y)
        recs = fy[list(ATTRIBUTE_COLUMNS) + ["facility_id"]].to_dict("records")
        geoms = fy.geometry.to_numpy()
        for rec, g in zip(recs, geoms):
            s = _state(rec, g)
            fid = rec["facility_id"]
            lst = runs.setdefault(fid, [])
            last = lst[-1] if lst else None
            if last is not None and last[1] is None and last[2] == s and last[5] == k - 1:
                last[5] = k
                continue
            if last is not None and last[1] is None:
                last[1] = y
            lst.append([y, None, s, rec, g, k])
        # facilities absent this year end here
        present = set(fy["facility_id"])
        for fid, lst in runs.items():
            if fid not in present and lst[-1][1] is None and lst[-1][5] == k - 1:
                lst[-1][1] = y
    with st.engine.begin() as conn:
        for y in years:
            st.ensure_year(conn, y, note="migrated from the dataset folder / 由数据文件迁移")
        bid = new_batch(conn, st, "migration", user, note=note or f"seeded from {ds.root}")
        rows = []
        for fid, lst in runs.items():
            for version, (vf, vt, s, rec, g, _k) in enumerate(lst, start=1):
                row = {c: db_value(c, rec[c]) for c in ATTRIBUTE_COLUMNS}
                row.update(facility_id=fid, valid_from=int(vf), valid_to=None if vt is None else int(vt),
                           status="open", version=version, batch_id=bid, geom=st.t.geom_value(g))
                rows.append(row)
        for i in range(0, len(rows), _CHUNK):
            conn.execute(insert(st.t.facilities), rows[i:i + _CHUNK])
        from sqlalchemy import update
        conn.execute(update(st.t.batches).where(st.t.batches.c.batch_id == bid)
                     .values(n_new=len(runs)))
        st.bump(conn)
    return bid


