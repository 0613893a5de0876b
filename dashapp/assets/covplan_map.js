/*
 * Browser-side style and tooltip functions of the covplan map (dash-leaflet function props).
 *
 * Every tooltip is built as a DOM element whose text is set with textContent: names from the
 * data (facility or unit names) are never parsed as HTML.
 */
(function () {
    "use strict";

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

    window.covplanMap = {
        /* township polygons: colour from hideout.status[code] */
        townshipStyle: function (feature, context) {
            var h = hideoutOf(context);
            var code = feature.properties.code;
            var status = (h.status && h.status[code]) || "no_data";
            var colors = h.colors || {};
            var dim = h.county && feature.properties.county_code !== h.county;
            var selected = h.selected && h.selected === code;
            return {
                fillColor: colors[status] || "#9e9e9e",
                fillOpacity: dim ? 0.15 : 0.6,
                color: selected ? "#000000" : "#ffffff",
                weight: selected ? 3 : 0.8,
                opacity: 1
            };
        },
        townshipEach: function (feature, layer, context) {
            var h = hideoutOf(context);
            var code = feature.properties.code;
            var status = (h.status && h.status[code]) || "no_data";
            /* set before the layer is added, so Leaflet puts it on the SVG path */
            layer.options.className = "cp-township cp-status-" + status + " cp-code-" + code;
            var tip = (h.tip && h.tip[code]) || feature.properties.name;
            layer.bindTooltip(textTooltip(tip), {sticky: true});
        },
        countyStyle: function () {
            return {color: "#303030", weight: 2, fill: false, opacity: 0.9, interactive: false};
        },
        /* facility points: small circles coloured by type */
        facilityPoint: function (feature, latlng, context) {
            var p = feature.properties;
            var h = hideoutOf(context);
            var radius = h.radius || 6;
            return L.circleMarker(latlng, {
                pane: "markerPane",  /* above the township polygons, which are re-added on restyle */
                radius: p.scenario ? radius + 2 : radius,
                fillColor: p.color || "#333333",
                color: p.scenario ? "#000000" : "#333333",
                weight: p.scenario ? 2.5 : 1,
                fillOpacity: 0.9,
                className: "cp-facility cp-ftype-" + p.type + (p.scenario ? " cp-scenario" : "")
                    + " cp-fid-" + String(p.facility_id).replace(/[^A-Za-z0-9_-]/g, "_")
            });
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
            return {color: "#1a9641", weight: 1, fillColor: "#a6d96a", fillOpacity: 0.25};
        },
        uncoveredPoint: function (feature, latlng) {
            var v = feature.properties.value || 0;
            var r = Math.max(3, Math.min(14, Math.sqrt(v) / 4));
            return L.circleMarker(latlng, {
                pane: "markerPane",
                radius: r, fillColor: "#762a83", color: "#40004b", weight: 1, fillOpacity: 0.6,
                className: "cp-uncovered"
            });
        },
        proposalPoint: function (feature, latlng) {
            return L.circleMarker(latlng, {
                pane: "markerPane",
                radius: 9, fillColor: "#ffff33", color: "#000000", weight: 2, fillOpacity: 0.9,
                className: "cp-proposal"
            });
        }
    };
})();
