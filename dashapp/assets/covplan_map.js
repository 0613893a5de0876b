/*
 * Browser-side style, symbol and tooltip functions of the covplan map (dash-leaflet function props).
 *
 * Every tooltip and label is built as a DOM element whose text is set with textContent: names
 * from the data (facility or unit names) are never parsed as HTML.
 *
 * Zoom classes: on every zoom the map container gets `cp-z-low` (below FACILITY_MIN_ZOOM: each
 * township shows a count badge, single facilities are hidden) or `cp-z-high` (single symbols,
 * sized by the zoom through the CSS variable --cp-s), and `cp-labels-on` from LABEL_MIN_ZOOM.
 * Badges and labels never take a click (pointer-events: none), so the township polygons stay
 * clickable under them.
 */
(function () {
    "use strict";

    var FACILITY_MIN_ZOOM = 11;
    var LABEL_MIN_ZOOM = 10;

    function textTooltip(text) {
        return function () {
            var el = document.createElement("div");
            el.className = "cp-tooltip";
            el.textContent = text == null ? "" : String(text);
            return el;
        };
    }

    function hideoutOf(context) {
        return (context && context.hideout) || {};
    }

    function safeClass(value) {
        return String(value == null ? "" : value).replace(/[^A-Za-z0-9_-]/g, "_");
    }

    function symbolSize(zoom) {
        if (zoom < FACILITY_MIN_ZOOM) { return 8; }
        return Math.min(22, 8 + (zoom - FACILITY_MIN_ZOOM) * 3);
    }

    function applyZoom(map) {
        var el = map.getContainer();
        var z = map.getZoom();
        el.classList.toggle("cp-z-low", z < FACILITY_MIN_ZOOM);
        el.classList.toggle("cp-z-high", z >= FACILITY_MIN_ZOOM);
        el.classList.toggle("cp-labels-on", z >= LABEL_MIN_ZOOM);
        el.style.setProperty("--cp-s", symbolSize(z) + "px");
    }

    /* a view in the first URL wins over fitting the city (decided before the page writes the URL) */
    var fit = {bounds: null, done: new URLSearchParams(window.location.search).has("zoom")};

    /* the first view: the whole city, unless the URL asks for a zoom */
    function fitCity(map) {
        if (fit.done || !fit.bounds) { return; }
        fit.done = true;
        map.invalidateSize({pan: false});
        map.fitBounds(fit.bounds, {padding: [6, 6], animate: false});
        fit.view = map.getZoom() + "|" + map.getCenter().toString();
    }

    /* while the view is still the fitted city, a resize (layout settling, drawer or panel
       toggled) fits the city again; once the planner has moved the map it stays put */
    function refitIfUntouched(map) {
        if (fit.view && fit.view === map.getZoom() + "|" + map.getCenter().toString()) {
            fit.done = false;
            fitCity(map);
        }
    }

    function hook(map) {
        if (!map || map._covplanHooked) { return; }
        map._covplanHooked = true;
        window.covplanMap.map = map;
        setTimeout(function () { fitCity(map); }, 0);
        map.on("zoomend", function () { applyZoom(map); });
        applyZoom(map);
        if (window.ResizeObserver) {  /* the drawer and the details panel resize the map */
            new ResizeObserver(function () {
                map.invalidateSize({pan: false});
                refitIfUntouched(map);
            }).observe(map.getContainer());
        }
    }

    /* a small CSS shape (clip-path) with an outline, as a Leaflet divIcon */
    function symbolIcon(shape, color, extraClass) {
        var outer = document.createElement("div");
        outer.className = "cp-shape cp-shape-" + safeClass(shape || "circle");
        var inner = document.createElement("i");
        inner.style.background = color || "#333333";
        outer.appendChild(inner);
        return L.divIcon({html: outer, className: "cp-sym " + (extraClass || ""), iconSize: null});
    }

    window.covplanMap = {
        map: null,
        /* basemap tiles: a failed tile shows the message of #tile-message (text only), a loaded one clears it */
        tileError: function () {
            var el = document.getElementById("tile-message");
            if (el && !el.textContent) { el.textContent = el.getAttribute("data-msg") || "tile error"; }
        },
        tileLoad: function () {
            var el = document.getElementById("tile-message");
            if (el && el.textContent) { el.textContent = ""; }
        },
        fitCity: function () { fit.done = false; fitCity(window.covplanMap.map); },
        onZoom: function (e) {
            hook(e.target);
            applyZoom(e.target);
        },
        /* township polygons: colour from hideout.status[code] */
        townshipStyle: function (feature, context) {
            var h = hideoutOf(context);
            var code = feature.properties.code;
            var status = (h.status && h.status[code]) || "no_data";
            var colors = h.colors || {};
            var dim = h.county && feature.properties.county_code !== h.county;
            var selected = h.selected && h.selected === code;
            /* a county or city target is drawn on the counties: townships are outlines only */
            var drawn = !h.level || h.level === "township" || h.level === "village";
            return {
                fillColor: colors[status] || "#9e9e9e",
                fillOpacity: !drawn ? 0.0 : (dim ? 0.15 : 0.6),
                color: selected ? "#000000" : "#ffffff",
                weight: selected ? 3 : 0.6,
                opacity: 1
            };
        },
        townshipEach: function (feature, layer, context) {
            var h = hideoutOf(context);
            var code = feature.properties.code;
            var status = (h.status && h.status[code]) || "no_data";
            if (!fit.done) {
                var b = layer.getBounds();
                fit.bounds = fit.bounds ? fit.bounds.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast());
            }
            if (context && context.map) { hook(context.map); }
            /* set before the layer is added, so Leaflet puts it on the SVG path */
            layer.options.className = "cp-township cp-status-" + status + " cp-code-" + code;
            var tip = (h.tip && h.tip[code]) || feature.properties.name;
            layer.bindTooltip(textTooltip(tip), {sticky: true});
        },
        /* county outlines; filled by status when the target is judged per county */
        countyStyle: function (feature, context) {
            var h = hideoutOf(context);
            var status = h.status && h.status[feature.properties.code];
            if (!status) {
                return {color: "#303030", weight: 2, fill: false, opacity: 0.9, interactive: false};
            }
            return {color: "#303030", weight: 2, opacity: 0.9, fill: true,
                    fillColor: (h.colors || {})[status] || "#9e9e9e", fillOpacity: 0.6,
                    className: "cp-county cp-status-" + status + " cp-code-" + feature.properties.code};
        },
        countyEach: function (feature, layer, context) {
            var h = hideoutOf(context);
            var tip = h.tip && h.tip[feature.properties.code];
            if (tip) { layer.bindTooltip(textTooltip(tip), {sticky: true}); }
        },
        /* township name (from LABEL_MIN_ZOOM) and count badge (below FACILITY_MIN_ZOOM) */
        labelPoint: function (feature, latlng, context) {
            var h = hideoutOf(context);
            var code = feature.properties.code;
            var n = h.counts ? h.counts[code] : undefined;
            var box = document.createElement("div");
            var name = document.createElement("span");
            name.className = "cp-label";
            name.textContent = feature.properties.name || "";
            box.appendChild(name);
            if (n !== undefined && n !== null) {
                var badge = document.createElement("span");
                badge.className = "cp-count" + (n === 0 ? " cp-count-zero" : "");
                badge.textContent = String(n);
                box.appendChild(badge);
            }
            return L.marker(latlng, {
                icon: L.divIcon({html: box, className: "cp-labelbox cp-lcode-" + safeClass(code), iconSize: null}),
                interactive: false, keyboard: false, pane: "tooltipPane"
            });
        },
        /* facility symbols: colour by type, shape by tier (properties.shape / .color) */
        facilityPoint: function (feature, latlng) {
            var p = feature.properties;
            var cls = "cp-fac cp-ftype-" + safeClass(p.type) + (p.scenario ? " cp-scenario" : "")
                + " cp-fid-" + safeClass(p.facility_id);
            return L.marker(latlng, {icon: symbolIcon(p.shape, p.color, cls), riseOnHover: true});
        },
        addedPoint: function (feature, latlng) {
            var p = feature.properties;
            var cls = "cp-fac cp-added cp-scenario cp-ftype-" + safeClass(p.type) + " cp-fid-" + safeClass(p.facility_id);
            return L.marker(latlng, {icon: symbolIcon(p.shape, p.color, cls), zIndexOffset: 1000});
        },
        facilityEach: function (feature, layer) {
            if (feature.properties.cluster) { return; }
            layer.bindTooltip(textTooltip(feature.properties.label || feature.properties.name));
        },
        /* generic: points and areas with a plain-text label */
        labelEach: function (feature, layer) {
            if (feature.properties && feature.properties.label) {
                layer.bindTooltip(textTooltip(feature.properties.label));
            }
        },
        serviceAreaStyle: function () {
            return {color: "#1a9641", weight: 1, fillColor: "#a6d96a", fillOpacity: 0.25, interactive: false};
        },
        uncoveredPoint: function (feature, latlng) {
            if (feature.properties.color) {  /* a village of a village-level target, by status */
                return L.circleMarker(latlng, {
                    pane: "markerPane", radius: 4, fillColor: feature.properties.color, color: "#333333",
                    weight: 0.5, fillOpacity: 0.9, interactive: false,  /* townships stay clickable */
                    className: "cp-village cp-status-" + feature.properties.status
                });
            }
            var v = feature.properties.value || 0;
            var r = Math.max(2, Math.min(10, Math.sqrt(v) / 5));
            return L.circleMarker(latlng, {
                radius: r, fillColor: "#762a83", color: "#40004b", weight: 0.5, fillOpacity: 0.55,
                interactive: false, className: "cp-uncovered"
            });
        },
        /* the village picked in the village view: a ring over its point (takes no click) */
        villageMark: function (feature, latlng) {
            var code = safeClass(feature.properties.code);
            return L.circleMarker(latlng, {
                pane: "tooltipPane", radius: 11, fill: false, color: "#000000", weight: 3, interactive: false,
                className: "cp-village-mark cp-vmark-" + code
            });
        },
        proposalPoint: function (feature, latlng) {
            var box = document.createElement("div");
            box.className = "cp-ring";
            return L.marker(latlng, {
                icon: L.divIcon({html: box, className: "cp-sym cp-proposal", iconSize: null}),
                zIndexOffset: 900
            });
        }
    };
})();
