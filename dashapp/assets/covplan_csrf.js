/* City server (covplan serve): send the session's CSRF token with every same-origin POST
   (the double-submit pattern: the server compares the X-CSRF-Token header with the token
   kept in the signed session), and go to the login page when the session has expired.
   Under `covplan app` there is no covplan_csrf cookie and this changes nothing. */
(function () {
    "use strict";
    var realFetch = window.fetch;
    if (!realFetch) { return; }
    function token() {
        var m = document.cookie.match(/(?:^|;\s*)covplan_csrf=([^;]+)/);
        return m ? decodeURIComponent(m[1]) : null;
    }
    function sameOrigin(url) {
        return !/^[a-z][a-z0-9+.-]*:/i.test(url) || url.indexOf(window.location.origin + "/") === 0;
    }
    window.fetch = function (input, init) {
        var t = token();
        init = init || {};
        var isRequest = typeof Request !== "undefined" && input instanceof Request;
        var url = typeof input === "string" ? input : (isRequest ? input.url : String(input));
        var method = String(init.method || (isRequest ? input.method : "GET")).toUpperCase();
        if (t && method !== "GET" && method !== "HEAD" && sameOrigin(url)) {
            var headers = new Headers(init.headers || (isRequest ? input.headers : undefined));
            headers.set("X-CSRF-Token", t);
            init.headers = headers;
        }
        return realFetch.call(this, input, init).then(function (resp) {
            if (t && resp.status === 401 && sameOrigin(url)) { window.location.assign("/login"); }
            return resp;
        });
    };
})();
