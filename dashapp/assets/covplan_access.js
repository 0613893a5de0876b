/*
 * Browser-side style and tooltip of the 2SFCA context layer (dashapp/fca_layer.py).
 *
 * The layer's data are the township outlines (properties.code only), sent once; the values
 * arrive in its hideout: {colour: {code: fill}, tip: {code: text}, no_value: fill}. Tooltips
 * are DOM elements whose text is set with textContent (names are never parsed as HTML).
 */
(function () {
    "use strict";

    function hideoutOf(context) {
        return (context && context.hideout) || {};
    }

    window.covplanAccess = {
        fcaStyle: function (feature, context) {
            var h = hideoutOf(context);
            var code = feature.properties.code;
            return {
                fillColor: (h.colour && h.colour[code]) || h.no_value || "#cccccc",
                fillOpacity: 1.0,  /* the legend colours exactly: the status fills below do not show through */
                color: "#555555",
                weight: 0.6,
                opacity: 1
            };
        },
        fcaEach: function (feature, layer, context) {
            var h = hideoutOf(context);
            var code = String(feature.properties.code).replace(/[^0-9A-Za-z_-]/g, "_");
            layer.options.className = "cp-fca cp-fca-code-" + code;
            var text = (h.tip && h.tip[feature.properties.code]) || "";
            if (text) {
                layer.bindTooltip(function () {
                    var el = document.createElement("div");
                    el.className = "cp-tooltip";
                    el.textContent = String(text);
                    return el;
                }, {sticky: true});
            }
        }
    };
})();
