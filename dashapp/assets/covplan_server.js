/* City server (covplan serve): send the session's CSRF token with every same-origin POST
   (the double-submit pattern: the server compares the X-CSRF-Token header with the token
   kept in the signed session), and go to the login page when the session has expired.
   Also shows who is signed in, with a logout button (names set with textContent only).
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
    function userBar() {
        if (!token() || document.getElementById("cp-user-bar")) { return; }
        realFetch.call(window, "/api/me", {credentials: "same-origin"}).then(function (r) {
            return r.ok ? r.json() : null;
        }).then(function (me) {
            if (!me || document.getElementById("cp-user-bar")) { return; }
            var bar = document.createElement("div");
            bar.id = "cp-user-bar";
            bar.className = "cp-user-bar";
            bar.style.cssText = "position:fixed;right:8px;bottom:8px;z-index:2000;background:#fff;" +
                "border:1px solid #ccc;border-radius:4px;padding:2px 6px;font-size:12px;display:flex;gap:6px";
            var who = document.createElement("span");
            who.textContent = me.name + "（" + me.role_zh + (me.county ? " · " + me.county : "") + "）";
            var out = document.createElement("button");
            out.type = "button";
            out.textContent = "退出 / Log out";
            out.addEventListener("click", function () {
                window.fetch("/logout", {method: "POST", credentials: "same-origin"}).then(function () {
                    window.location.assign("/login");
                });
            });
            bar.appendChild(who);
            bar.appendChild(out);
            document.body.appendChild(bar);
        });
    }
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", userBar);
    } else {
        userBar();
    }
})();
