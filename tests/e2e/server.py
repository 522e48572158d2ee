"""Start the real app and find Debian's Chromium: shared by the browser tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.load.server import app_command

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not become healthy in time")


def start_app(port: int, log_path: Path, extra_env: dict | None = None) -> subprocess.Popen:
    cmd = [*app_command(port), "--browser.gatherUsageStats", "false"]
    log = open(log_path, "w")  # noqa: SIM115 (closed with the process)
    env = {**os.environ, **(extra_env or {})}
    shared = ROOT.parent / "shared" / "data"
    if "BACKPROP_PLAYGROUND_DATA" not in env and (shared / "mnist").is_dir():
        env["BACKPROP_PLAYGROUND_DATA"] = str(shared)  # the real MNIST test files, offline
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RuntimeError(
            "Debian chromium is needed for browser tests: run scripts/install_system_packages.sh"
        )
    return path


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextlib.contextmanager
def app_and_chromium():
    """A fresh `streamlit run` (logging to a temporary file) and a headless Debian Chromium,
    for the benchmarks: yields (the app's URL, its process, the browser); stops both after."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = start_app(port, Path(tempfile.mkdtemp()) / "streamlit.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                yield url, proc, browser
            finally:
                browser.close()
    finally:
        stop_app(proc)
