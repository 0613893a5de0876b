"""The 2SFCA map layer (dashapp/fca_layer.py) on the embedded dataset."""

from __future__ import annotations

import numpy as np
import pytest

from dashapp.fca_layer import NO_VALUE_COLOUR, colour_for, fca_geojson
from dashapp.service import AppService


def test_colour_breaks() -> None:
    assert colour_for(None) == colour_for(float("nan")) == NO_VALUE_COLOUR
    assert colour_for(10.0) != colour_for(200.0)


def test_fca_layer_matches_the_township_table() -> None:
    from coverage.access.fca import fca_for_dataset

    svc = AppService(None, None)
    gj = fca_geojson(svc, 2024)
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == len(svc.ds.townships)
    _v, t, _f, _n = fca_for_dataset(svc.ds, ftype="childcare", population="pop_under3",
                                    catchment_m=1500.0, year=2024)
    expect = dict(zip(t["township_code"], t["fca_e2sfca"]))
    codes = svc.ds.townships["code"].astype(str).tolist()
    for code, feat in zip(codes, gj["features"]):
        val = feat["properties"]["value"]
        e = expect.get(code, np.nan)
        if val is None:
            assert not np.isfinite(e)
        else:
            assert val == pytest.approx(e, abs=0.051)
        assert "增强两步移动搜索法可达性" in feat["properties"]["label"]
    assert fca_geojson(svc, 2024) is not None  # cached second call
