"""The nginx TLS front end in deploy/nginx/ passes ``nginx -t`` (nginx installed by ``make test``).

The config is checked as installed: the server block inside a minimal ``http {}`` with the
proxy parameters beside it, the certificate paths pointed at a throw-away self-signed pair,
logs and pid in a temporary folder. Nothing is started.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "nginx"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.mark.skipif(NGINX is None, reason="nginx not installed (make test installs it)")
def test_nginx_front_end_config_passes_nginx_t(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=planner.lishui.example", "-keyout", str(tmp_path / "covplan.key"),
                    "-out", str(tmp_path / "covplan.crt")], check=True, capture_output=True)
    (tmp_path / "logs").mkdir()
    conf = (DEPLOY / "covplan.conf").read_text(encoding="utf-8")
    assert "proxy_pass http://covplan_app" in conf and "ssl_protocols TLSv1.2 TLSv1.3" in conf
    conf = (conf.replace("/etc/nginx/tls/", f"{tmp_path}/")
            .replace("/var/log/nginx/", f"{tmp_path}/logs/")
            .replace("/etc/nginx/covplan_proxy_params", str(DEPLOY / "covplan_proxy_params")))
    (tmp_path / "covplan.conf").write_text(conf, encoding="utf-8")
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{\n  access_log {tmp_path}/logs/access.log;\n  client_body_temp_path {tmp_path}/tmp;\n"
        f"  include {tmp_path}/covplan.conf;\n}}\n", encoding="utf-8")
    out = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "test is successful" in out.stderr
