"""Browser timings of the map-first app: Playwright driving Debian's chromium (1280×720).

Starts ``covplan app`` (embedded dataset) with its background warm-up, waits for the line
``covplan app: caches warm``, then measures each interaction of issue 11's table as the
median of N repetitions, from the user's action to the repainted map:

* first page load → interactive map (township colours applied, counts shown), fresh context;
* target switch (dropdown option clicked → colours, counts, point layers and facilities of the
  new target: every response that repaints the map has arrived and been painted);
* click-to-add in scenario mode → township repainted and the counts updated (then undo);
* year switch on the walking-access target (the first switch after start-up, then repeats),
  up to the service areas and facilities of the new year;
* search → flown to and selected (option clicked → panel shows the township, map settled).

For every Dash callback response it records the JSON payload size per output, and for each
interaction splits the time into server (request sent → first byte of the callback
responses), transfer (first → last byte) and render (the rest: the browser's unpacking,
drawing and callback chaining), each the union over every response of the action, so parallel
requests count once and chained ones add up. A village target's page is
opened once (untimed) so its payload is recorded too. Goals: load < 2 s, other
interactions < 300 ms, year switch < 1.5 s, payload < 300 KB per response.

Usage: ``python bench/bench_browser.py [--reps 20] [--json OUT]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("COVPLAN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TARGET = "demo_child_home_per_township"
OTHER = "elderly_centre_every_township"
ACCESS = "fitness_10min_circle"
VILLAGE = "child_home_every_village"
GOALS_MS = {"page_load": 2000, "target_switch": 300, "click_add": 300, "year_switch_first": 1500,
            "year_switch": 1500, "search": 300}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(log: Path) -> tuple[subprocess.Popen, str, float]:
    port = _port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", COVPLAN_APP_WARM="1")
    fh = open(log, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "covplan", "app", "--port", str(port)], cwd=REPO,
                            stdout=fh, stderr=subprocess.STDOUT, env=env)
    t0 = time.perf_counter()
    try:
        while b"caches warm" not in log.read_bytes():
            if proc.poll() is not None or time.perf_counter() - t0 > 900:
                raise SystemExit(f"app did not warm up:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
    except BaseException:
        proc.terminate()
        proc.wait(timeout=30)
        raise
    return proc, f"http://127.0.0.1:{port}", time.perf_counter() - t0


class Recorder:
    """Dash callback responses of a page: output ids, payload bytes and timing; pending requests."""

    def __init__(self, page) -> None:
        self.rows: list[dict] = []
        self.pending = 0
        page.on("request", self._sent)
        page.on("requestfinished", self._done)
        page.on("requestfailed", self._failed)

    @staticmethod
    def _dash(request) -> bool:
        return "_dash-update-component" in request.url or "_dash-layout" in request.url

    def _sent(self, request) -> None:
        if self._dash(request):
            self.pending += 1

    def _failed(self, request) -> None:
        if self._dash(request):
            self.pending -= 1

    def _done(self, request) -> None:
        if not self._dash(request):
            return
        self.pending -= 1
        try:
            body = request.post_data_json or {} if request.method == "POST" else {"output": "_dash-layout"}
            resp = request.response()
            size = len(resp.body()) if resp else 0
        except Exception:  # noqa: BLE001 - a page closed mid-request
            return
        t = request.timing  # milliseconds after t["startTime"] (epoch ms), -1 when unknown
        base = t.get("startTime", 0.0)
        self.rows.append({"output": str(body.get("output", ""))[:120], "bytes": size,
                          "start": base + t.get("requestStart", -1), "first": base + t.get("responseStart", -1),
                          "end": base + t.get("responseEnd", -1), "ok": min(t.get("requestStart", -1),
                                                                           t.get("responseStart", -1),
                                                                           t.get("responseEnd", -1)) >= 0,
                          "wall": time.perf_counter()})

    def since(self, t0: float) -> list[dict]:
        return [r for r in self.rows if r["wall"] >= t0]

    def wait_for(self, page, part: str, t0: float, timeout_s: float = 120.0) -> None:
        """Until a callback response whose outputs name ``part`` has arrived after ``t0``."""
        end = time.perf_counter() + timeout_s
        while not any(part in r["output"] for r in self.since(t0)):
            if time.perf_counter() > end:
                raise TimeoutError(f"no response with {part} within {timeout_s:.0f} s")
            page.wait_for_timeout(5)

    def wait_idle(self, page, quiet_ms: int = 300, timeout_s: float = 120.0) -> None:
        """Until no Dash request has been pending for ``quiet_ms`` (between timed steps)."""
        end = time.perf_counter() + timeout_s
        quiet_since = None
        while time.perf_counter() < end:
            if self.pending <= 0:
                quiet_since = quiet_since or time.perf_counter()
                if (time.perf_counter() - quiet_since) * 1000 >= quiet_ms:
                    return
            else:
                quiet_since = None
            page.wait_for_timeout(20)
        raise TimeoutError("Dash requests still pending")


def _ready(page, timeout=120_000) -> None:
    page.wait_for_selector("path.cp-township", timeout=timeout)
    page.wait_for_function("() => document.querySelector('#map-timing')?.innerText.length > 0", timeout=timeout)


#: the responses that repaint the map: colours and counts (``map-timing`` is their last output),
#: service areas / village points, facilities (target and year) or scenario additions (a click)
SWITCH_PARTS = ("map-timing", "pack-service-areas", "pack-facilities")
ADD_PARTS = ("map-timing", "pack-service-areas", "edits-layer")


def _repainted(page, rec: Recorder, t0: float, parts=SWITCH_PARTS, timeout=120_000) -> None:
    """Every response of this action that repaints the map has arrived, the busy indicator is
    off and the browser has painted twice since."""
    for part in parts:
        rec.wait_for(page, part, t0, timeout / 1000)
    page.wait_for_function("() => !document.querySelector('.cp-busy-on')", timeout=timeout)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _union_ms(spans: list[tuple[float, float]]) -> float:
    """Length of the union of time spans (parallel requests are not counted twice)."""
    total, cur_a, cur_b = 0.0, None, None
    for a, b in sorted(spans):
        if cur_b is None or a > cur_b:
            total += (cur_b - cur_a) if cur_b is not None else 0.0
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    return total + ((cur_b - cur_a) if cur_b is not None else 0.0)


def _split(rows: list[dict], total_ms: float) -> dict:
    """Server (request sent → first byte), transfer (first → last byte) and render (the rest:
    the browser's work between and after the responses), over every callback response of the
    action, chained ones included; overlapping requests are counted once."""
    rows = [r for r in rows if r.get("ok")]
    if not rows:
        return {"server_ms": 0.0, "transfer_ms": 0.0, "render_ms": total_ms}
    server = _union_ms([(r["start"], r["first"]) for r in rows])
    transfer = _union_ms([(r["first"], r["end"]) for r in rows])
    return {"server_ms": server, "transfer_ms": transfer, "render_ms": max(total_ms - server - transfer, 0.0)}


def bench(reps: int, app_url: str | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        if app_url:  # an app already running (its warm-up is not measured)
            proc, url, warm_s = None, app_url, 0.0
        else:
            proc, url, warm_s = start_app(Path(tmp) / "app.log")
        out: dict = {"warm_up_s": round(warm_s, 1), "reps": reps, "interactions": {}, "payload_bytes": {}}
        samples: dict[str, list[float]] = {k: [] for k in GOALS_MS}
        splits: dict[str, list[dict]] = {k: [] for k in GOALS_MS}
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                # page load, fresh context each time
                for _ in range(reps):
                    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
                    page = ctx.new_page()
                    page.set_default_timeout(120_000)
                    t0 = time.perf_counter()
                    page.goto(f"{url}/?lang=zh&target={TARGET}")
                    _ready(page)
                    samples["page_load"].append((time.perf_counter() - t0) * 1000)
                    ctx.close()
                ctx = browser.new_context(viewport={"width": 1280, "height": 720})
                page = ctx.new_page()
                page.set_default_timeout(120_000)
                rec = Recorder(page)
                page.goto(f"{url}/?lang=zh&target={TARGET}")
                _ready(page)
                # target switch
                for i in range(reps):
                    tid = OTHER if i % 2 == 0 else TARGET
                    rec.wait_idle(page)
                    page.locator("#target-dropdown").click()
                    opt = page.locator(f"[role=option]:has(input[value='{tid}'])")
                    opt.wait_for()
                    t0 = time.perf_counter()
                    opt.click()
                    _repainted(page, rec, t0)
                    ms = (time.perf_counter() - t0) * 1000
                    samples["target_switch"].append(ms)
                    splits["target_switch"].append(_split(rec.since(t0), ms))
                if reps % 2:  # back to the default target (not timed)
                    rec.wait_idle(page)
                    t0 = time.perf_counter()
                    page.locator("#target-dropdown").click()
                    page.locator(f"[role=option]:has(input[value='{TARGET}'])").click()
                    _repainted(page, rec, t0)
                # click-to-add (then undo) in a township of the default target
                page.locator("#drawer-tabs label", has_text="情景").click()
                page.locator("#scenario-mode label", has_text="点击地图添加设施").click()
                page.wait_for_selector("#map-wrap.cp-mode-add")  # the mode is in the page's state
                rec.wait_idle(page)
                code = page.evaluate("() => document.querySelector('path.cp-status-not_met').getAttribute('class')"
                                     ".match(/cp-code-(\\d+)/)[1]")
                for rep in range(reps):
                    # a different point each time: the map's clickData must change to fire again
                    box = page.locator(f"path.cp-code-{code}").bounding_box()
                    pt = page.evaluate("""([c, k]) => { const el = document.querySelector('path.cp-code-' + c),
                        r = el.getBoundingClientRect(), hits = [];
                        for (let i = 1; i < 20; i++) for (let j = 1; j < 20; j++) {
                          const x = r.left + r.width * i / 20, y = r.top + r.height * j / 20;
                          if (document.elementFromPoint(x, y) === el) hits.push([x, y]); }
                        return hits.length ? hits[(k * 7) % hits.length] : null; }""", [code, rep]) \
                        or [box["x"] + box["width"] / 2 + rep, box["y"] + box["height"] / 2]
                    rec.wait_idle(page)
                    t0 = time.perf_counter()
                    page.mouse.click(*pt)
                    try:
                        page.wait_for_selector(f"path.cp-code-{code}.cp-status-met")
                    except Exception:
                        page.screenshot(path=str(Path(tmp) / "fail.png"))
                        (REPO / "test-artifacts").mkdir(exist_ok=True)
                        page.screenshot(path=str(REPO / "test-artifacts" / "bench-add-failed.png"))
                        raise
                    _repainted(page, rec, t0, ADD_PARTS)
                    ms = (time.perf_counter() - t0) * 1000
                    samples["click_add"].append(ms)
                    splits["click_add"].append(_split(rec.since(t0), ms))
                    rec.wait_idle(page)
                    t1 = time.perf_counter()
                    page.locator("#undo-edit").click()
                    page.wait_for_selector(f"path.cp-code-{code}.cp-status-not_met")
                    _repainted(page, rec, t1, ADD_PARTS)
                rec.wait_idle(page)
                page.locator("#scenario-mode label", has_text="浏览").click()
                page.locator("#drawer-tabs label", has_text="目标").click()
                # a village target (untimed): its payload (villages coloured by status) is recorded
                page.goto(f"{url}/?lang=zh&target={VILLAGE}")
                _ready(page)
                rec.wait_idle(page)
                # year switch on the walking-access target: the first one after start-up, then repeats
                page.goto(f"{url}/?lang=zh&target={ACCESS}")
                _ready(page)
                years = [2020, 2022, 2024]
                for i in range(reps + 1):
                    y = years[i % 3]
                    rec.wait_idle(page)
                    page.locator("#year-dropdown").click()
                    opt = page.locator("[role=option]", has_text=str(y)).first
                    opt.wait_for()
                    t0 = time.perf_counter()
                    opt.click()
                    _repainted(page, rec, t0)
                    ms = (time.perf_counter() - t0) * 1000
                    key = "year_switch_first" if i == 0 else "year_switch"
                    samples[key].append(ms)
                    splits[key].append(_split(rec.since(t0), ms))
                # search → flown to and selected
                for i in range(reps):
                    q, name = (("垵口", "垵口乡"), ("大港头", "大港头镇"))[i % 2]
                    rec.wait_idle(page)
                    page.locator("#search").click()
                    page.locator("input.dash-dropdown-search").fill(q)
                    opt = page.locator("[role=option]", has_text=f"{name} · 乡镇")
                    opt.wait_for()
                    t0 = time.perf_counter()
                    opt.click()
                    page.wait_for_function("n => document.querySelector('#side-panel h3')?.innerText.startsWith(n)",
                                           arg=name)
                    page.wait_for_function("""() => new Promise(r => { const m = window.covplanMap.map;
                        if (!m._animatingZoom && !m._panAnim?._inProgress) { setTimeout(() => r(true), 0); }
                        else { m.once('moveend', () => r(true)); } })""")
                    ms = (time.perf_counter() - t0) * 1000
                    samples["search"].append(ms)
                    splits["search"].append(_split(rec.since(t0), ms))
                by_output: dict[str, list[int]] = {}
                for r in rec.rows:
                    by_output.setdefault(r["output"], []).append(r["bytes"])
                out["payload_bytes"] = {k: {"max": max(v), "median": int(statistics.median(v)), "n": len(v)}
                                        for k, v in sorted(by_output.items(), key=lambda kv: -max(kv[1]))}
                browser.close()
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
    for key, vals in samples.items():
        if not vals:
            continue
        med = statistics.median(vals)
        part = {}
        if splits[key]:
            part = {k: round(statistics.median(s[k] for s in splits[key]), 1)
                    for k in ("server_ms", "transfer_ms", "render_ms")}
        out["interactions"][key] = {"median_ms": round(med, 1), "n": len(vals), "goal_ms": GOALS_MS[key],
                                    "ratio_to_goal": round(med / GOALS_MS[key], 2), **part}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--url", help="measure an app already running at this URL instead of starting one")
    args = ap.parse_args(argv)
    res = bench(args.reps, args.url)
    print(f"warm-up in the background: {res['warm_up_s']} s (app start to 'caches warm')")
    print(f"{'interaction':<20}{'median ms':>10}{'goal':>8}{'ratio':>7}{'server':>8}{'transfer':>9}{'render':>8}  n")
    for k, v in res["interactions"].items():
        print(f"{k:<20}{v['median_ms']:>10.0f}{v['goal_ms']:>8}{v['ratio_to_goal']:>7.2f}"
              f"{v.get('server_ms', 0):>8.0f}{v.get('transfer_ms', 0):>9.0f}{v.get('render_ms', 0):>8.0f}  {v['n']}")
    print("callback responses (JSON bytes, max / median over the run):")
    for k, v in list(res["payload_bytes"].items()):
        flag = "  OVER 300 KB" if v["max"] > 300_000 else ""
        print(f"  {v['max']:>9,} / {v['median']:>9,}  {k}{flag}")
    if args.json:
        args.json.write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
