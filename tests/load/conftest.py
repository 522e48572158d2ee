"""Fixtures for the load tests: a real app process, or several behind nginx."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.load import server as S

NGINX = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")


def free_ports(count: int) -> list[int]:
    """`count` consecutive free ports on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count > 65000:
            continue
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return list(range(base, base + count))
        except OSError:
            continue
    raise RuntimeError("no consecutive free ports")


def assert_no_traceback(log: Path) -> None:
    text = log.read_text(errors="replace") if log.exists() else ""
    assert "Traceback" not in text, f"{log.name} has a traceback:\n{text[-4000:]}"


@pytest.fixture
def app_url(tmp_path):
    port = free_ports(1)[0]
    log = tmp_path / "streamlit.log"
    proc = S.start_app(port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        S.wait_healthy(url, proc=proc)
        yield url
    finally:
        S.stop(proc)
        assert_no_traceback(log)


@pytest.fixture
def classroom(tmp_path):
    """scripts/serve_classroom.sh 2 on free ports: (url, [app ports]); stopped afterwards."""
    if not Path(NGINX).exists():
        pytest.fail(f"nginx is required for the hosting test (apt-get install nginx): {NGINX}")
    listen, *apps = free_ports(3)
    env = {
        **os.environ,
        "RUN_DIR": str(tmp_path / "run"),
        "LISTEN_PORT": str(listen),
        "FIRST_APP_PORT": str(apps[0]),
        "NGINX_BIN": NGINX,
    }
    root = S.ROOT
    try:
        subprocess.run(
            ["bash", "scripts/serve_classroom.sh", "2"], cwd=root, env=env, check=True, timeout=150
        )
        yield f"http://127.0.0.1:{listen}", apps
    finally:
        subprocess.run(["bash", "scripts/stop_classroom.sh"], cwd=root, env=env, timeout=60)
        for port in apps:
            assert_no_traceback(tmp_path / "run" / f"app-{port}.log")
