/*
 * Clientside callbacks of the workspace (no server round trip): drawer tabs and collapse,
 * the per-township facility counts, the busy indicator, the view in the URL and the
 * warning before leaving a page with unsaved scenario edits.
 */
(function () {
    "use strict";

    var busy = {map: false, fac: false};
    window.covplanWorkspace = {dirty: false};

    window.addEventListener("beforeunload", function (e) {
        if (window.covplanWorkspace.dirty) {
            e.preventDefault();
            e.returnValue = "";
            return "";
        }
        return undefined;
    });

    function triggered() {
        var ctx = window.dash_clientside && window.dash_clientside.callback_context;
        return ctx && ctx.triggered && ctx.triggered.length ? ctx.triggered.map(function (t) { return t.prop_id; }) : [];
    }

    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.covplan = {
            /* one visible tab panel; the others stay in the page, hidden */
            tabs: function (value) {
                var ids = ["tab-target", "tab-scenario", "tab-siting", "tab-io"];
                return ids.map(function (id) { return id === value ? {} : {display: "none"}; });
            },
            /* collapse / open the drawer and the details panel; a new selection opens details */
            work: function (nDrawer, nDetails, selection, cls) {
                var c = (cls || "cp-work").split(" ").filter(Boolean);
                var has = function (k) { return c.indexOf(k) >= 0; };
                var toggle = function (k) { c = has(k) ? c.filter(function (x) { return x !== k; }) : c.concat([k]); };
                triggered().forEach(function (p) {
                    if (p.indexOf("drawer-toggle") === 0) { toggle("cp-no-drawer"); }
                    if (p.indexOf("details-toggle") === 0) { toggle("cp-no-details"); }
                    if (p.indexOf("store-selection") === 0 && selection && (selection.township_code || selection.facility_id)) {
                        c = c.filter(function (x) { return x !== "cp-no-details"; });
                    }
                });
                return c.join(" ");
            },
            /* facilities of the shown types per township → the count badges of the label layer */
            counts: function (fac, added, labels) {
                var counts = {};
                (labels && labels.features || []).forEach(function (f) { counts[f.properties.code] = 0; });
                [fac, added].forEach(function (fc) {
                    (fc && fc.features || []).forEach(function (f) {
                        var code = f.properties.township_code;
                        if (code in counts) { counts[code] += 1; }
                    });
                });
                var any = (fac && fac.features && fac.features.length) || (added && added.features && added.features.length);
                return {counts: any ? counts : {}};
            },
            /* the busy indicator: on when the year, target, county or scenario changes, off when
               both the township colours and the facilities of that change have arrived */
            busy: function () {
                triggered().forEach(function (p) {
                    if (p.indexOf("year-dropdown") === 0 || p.indexOf("store-scenario") === 0) { busy.map = true; busy.fac = true; }
                    if (p.indexOf("target-dropdown") === 0 || p.indexOf("county-dropdown") === 0) { busy.map = true; }
                    if (p.indexOf("map-timing") === 0) { busy.map = false; }
                    if (p.indexOf("edits-layer") === 0) { busy.fac = false; }
                });
                return (busy.map || busy.fac) ? "cp-busy cp-busy-on" : "cp-busy";
            },
            /* scenario mode as a class of the map wrapper (add mode lets clicks through markers) */
            mode: function (mode) {
                return "cp-mapwrap cp-mode-" + (mode || "view");
            },
            /* the view in the address bar (replaceState: no page reload, no history spam) */
            url: function (query) {
                if (typeof query === "string" && query && window.location.search !== query) {
                    window.history.replaceState(window.history.state, "", window.location.pathname + query);
                }
                return "";
            },
            /* unsaved edits: warn before unload */
            dirty: function (scenario, saved) {
                var edits = (scenario && scenario.edits) || [];
                window.covplanWorkspace.dirty = edits.length > 0 && JSON.stringify(edits) !== JSON.stringify(saved || []);
                return window.covplanWorkspace.dirty ? "dirty" : "clean";
            }
    };
})();
