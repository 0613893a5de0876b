/*
 * Decoder of dashapp/geopack.py: a packed layer (columnar properties, polyline-coded integer
 * coordinates of 1e-5 degree) back into the GeoJSON FeatureCollection a dash-leaflet layer
 * draws. Used by clientside callbacks (store → layer data), so the packed form is what crosses
 * the network and the full GeoJSON never does. Mirrors geopack.unpack (tested against it).
 */
(function () {
    "use strict";

    var EMPTY = {type: "FeatureCollection", features: []};
    var SEP = " · ";

    function decInts(s) {
        var out = [], i = 0, n = s.length;
        while (i < n) {
            var r = 0, sh = 0, b;
            do {
                b = s.charCodeAt(i++) - 63;
                r += (b & 0x1f) * Math.pow(2, sh);  /* no 32-bit overflow */
                sh += 5;
            } while (b >= 0x20);
            out.push(r % 2 ? -(r + 1) / 2 : r / 2);
        }
        return out;
    }

    function decRing(s, scale) {
        var ints = decInts(s), out = [], x = 0, y = 0;
        for (var i = 0; i + 1 < ints.length; i += 2) {
            x += ints[i];
            y += ints[i + 1];
            out.push([x / scale, y / scale]);
        }
        return out;
    }

    function decGeom(kind, enc, scale) {
        if (kind == null || enc == null) { return null; }
        var ring = function (s) { return decRing(s, scale); };
        var c;
        if (kind === "Point") { c = ring(enc)[0]; }
        else if (kind === "LineString" || kind === "MultiPoint") { c = ring(enc); }
        else if (kind === "Polygon" || kind === "MultiLineString") { c = enc.map(ring); }
        else { c = enc.map(function (p) { return p.map(ring); }); }
        return {type: kind, coordinates: c};
    }

    function values(col, decoded) {
        if (col.v) { return col.v.slice(); }
        var vals = col.i.map(function (i) { return col.d[i]; });
        if (col.pre) {
            var base = decoded[col.pre];
            vals = vals.map(function (t, k) { return t == null ? base[k] : base[k] + SEP + t; });
        }
        return vals;
    }

    function unpack(packed) {
        if (!packed || packed.codec !== "cpgeo1") { return EMPTY; }
        var decoded = {}, pending = Object.keys(packed.props || {}), guard = 0;
        while (pending.length && guard++ < 50) {
            pending = pending.filter(function (k) {
                var col = packed.props[k];
                if (col.pre && !(col.pre in decoded)) { return true; }
                decoded[k] = values(col, decoded);
                return false;
            });
        }
        var always = {};
        (packed.always || []).forEach(function (k) { always[k] = true; });
        var kinds = values(packed.kind, {}), ids = packed.id, keys = Object.keys(decoded), feats = [];
        for (var i = 0; i < packed.n; i++) {
            var props = {};
            for (var j = 0; j < keys.length; j++) {
                var v = decoded[keys[j]][i];
                if (always[keys[j]] || v != null) { props[keys[j]] = v; }
            }
            var f = {type: "Feature", properties: props, geometry: decGeom(kinds[i], packed.geom[i], packed.scale)};
            if (ids) { f.id = ids.from ? decoded[ids.from][i] : ids.v[i]; }
            feats.push(f);
        }
        return {type: "FeatureCollection", features: feats};
    }

    window.covplanPack = {unpack: unpack};
    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.covplan_pack = {unpack: unpack};
})();
