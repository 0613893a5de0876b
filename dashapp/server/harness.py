"""Start ``covplan serve`` on a loopback port and drive it as a browser would (tests, bench).

:class:`ServerProcess` runs the real gunicorn server in a subprocess and reads its
workers' pids and memory from ``/proc``; :class:`Client` logs in with a ``requests``
session and sends Dash callback requests built from the server's own
``/_dash-dependencies`` (with the CSRF header the browser's asset script adds).
Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class ServerProcess:
    """``covplan serve`` on a free loopback port; ``start()`` waits until it answers ``/readyz``."""

    def __init__(self, store_url: str, log_path: Path, *, workers: int = 2, threads: int = 4,
                 data: str | Path | None = None, extra_env: dict[str, str] | None = None,
                 extra_args: list[str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store_url = store_url
        self.log_path = Path(log_path)
        self.workers = workers
        cmd = [sys.executable, "-m", "covplan"]
        if data is not None:
            cmd += ["--data", str(data)]
        cmd += ["serve", "--store", store_url, "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
                "--threads", str(threads), *(extra_args or [])]
        self.cmd = cmd
        self.env = dict(os.environ, PYTHONUNBUFFERED="1", COVPLAN_APP_WARM="0", **(extra_env or {}))
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 240.0) -> "ServerProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as fh:
            self.proc = subprocess.Popen(self.cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, env=self.env,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout_s
        first_ready: float | None = None
        ready_pids: set[int] = set()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"covplan serve exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            try:
                r = requests.get(self.url + "/readyz", timeout=30)
                if r.status_code == 200:
                    ready_pids.add(int(r.json()["pid"]))
                    first_ready = first_ready or time.monotonic()
            except requests.RequestException:
                pass
            # ready: every worker has answered, or one has and the others had 60 s more
            if first_ready is not None and (len(ready_pids) >= self.workers or time.monotonic() - first_ready > 60):
                return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"covplan serve did not get ready in {timeout_s:.0f} s:\n{self.log()[-4000:]}")
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    @property
    def master_pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        return _children(self.master_pid)

    def memory_kib(self) -> dict[str, int]:
        workers = {pid: rss_kib(pid) for pid in self.worker_pids()}
        return {"master": rss_kib(self.master_pid), "workers": sum(workers.values()), "n_workers": len(workers)}

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class Client:
    """One simulated browser: a cookie session, the CSRF header, Dash callback requests."""

    def __init__(self, base_url: str, host: str | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        if host:
            self.http.headers["Host"] = host
        self._deps: list[dict[str, Any]] | None = None

    def get(self, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 120)
        return self.http.get(self.base + path, allow_redirects=False, **kw)

    def csrf(self) -> str | None:
        return self.http.cookies.get("covplan_csrf")

    def post(self, path: str, *, csrf: bool = True, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if csrf and self.csrf():
            headers["X-CSRF-Token"] = self.csrf()
        kw.setdefault("timeout", 120)
        return self.http.post(self.base + path, headers=headers, allow_redirects=False, **kw)

    def login(self, name: str, password: str) -> requests.Response:
        page = self.get("/login")
        m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        token = m.group(1) if m else ""
        return self.http.post(self.base + "/login", data={"username": name, "password": password,
                                                          "csrf_token": token},
                              allow_redirects=False, timeout=60)

    def deps(self) -> list[dict[str, Any]]:
        if self._deps is None:
            r = self.get("/_dash-dependencies")
            r.raise_for_status()
            self._deps = r.json()
        return self._deps

    def callback(self, output_contains: str, values: dict[str, Any], changed: list[str], *,
                 csrf: bool = True) -> requests.Response:
        """POST one Dash callback: the one whose output names ``output_contains``.

        ``values`` maps ``"component-id.property"`` to what the browser would send (missing
        ones are sent as None); ``changed`` lists the triggering ``id.property``.
        """
        matches = [d for d in self.deps() if output_contains in d["output"]]
        if len(matches) > 1 and changed:  # outputs shared by several callbacks: pick by trigger
            matches = [d for d in matches if any(f"{i['id']}.{i['property']}" in changed for i in d["inputs"])]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} callbacks have an output with {output_contains!r}")
        dep = matches[0]
        out = dep["output"]
        parts = out[2:-2].split("...") if out.startswith("..") else [out]
        outputs = [{"id": p.split(".", 1)[0], "property": p.split(".", 1)[1]} for p in parts]

        def spec(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                    for i in items]

        body = {"output": out, "outputs": outputs if out.startswith("..") else outputs[0],
                "inputs": spec(dep["inputs"]), "state": spec(dep["state"]), "changedPropIds": changed}
        return self.post("/_dash-update-component", json=body, csrf=csrf)
