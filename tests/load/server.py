"""Start, find and watch app processes (and the nginx of scripts/serve_classroom.sh)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
MB = 1024 * 1024
# A served app does not watch its source files: the watcher reloads modules under running
# sessions when a file changes (here: colleagues editing the repository during a load run).
SERVE_ENV = {"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}


def app_command(port: int) -> list[str]:
    return [
        str(PYTHON if PYTHON.exists() else "python"),
        "-m",
        "streamlit",
        "run",
        "playground/server.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
    ]


def start_app(port: int, log_path: Path, env: dict | None = None) -> subprocess.Popen:
    """One app process on 127.0.0.1:port (cwd is the repository), logging to log_path."""
    log = open(log_path, "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        app_command(port),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **SERVE_ENV, **(env or {})},
    )


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url.rstrip("/") + "/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def wait_healthy(url: str, timeout: float = 90.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode}")
        if healthy(url):
            return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become healthy in {timeout:.0f} s")


def listener_pid(port: int) -> int | None:
    """The process listening on 127.0.0.1:port (needs permission to see its sockets)."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return conn.pid
    return None


def kill_port(port: int, sig: int = signal.SIGKILL) -> int:
    """Kill the app process listening on `port` (a fault injection); return its pid."""
    pid = listener_pid(port)
    if pid is None:
        raise RuntimeError(f"nothing listens on port {port}")
    os.kill(pid, sig)
    return pid


@dataclass
class Sample:
    t: float  # seconds since the monitor started
    rss_mb: float  # summed over the watched processes
    cpu_percent: float  # summed (100 = one core)
    alive: int
    client_cpu_percent: float = 0.0  # this load generator and its worker processes
    machine_cpu_percent: float = 0.0  # everything on the machine (100 = one core)


@dataclass
class Monitor:
    """Samples RSS and CPU of the app processes once a second in a thread."""

    pids: list[int]
    period: float = 1.0
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._procs = [psutil.Process(p) for p in self.pids]
        for p in self._procs:
            p.cpu_percent(None)
        self._client: dict[int, psutil.Process] = {}
        self._client_cpu()
        psutil.cpu_percent(None)
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> Monitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def now(self) -> float:
        return time.monotonic() - self._t0

    def sample(self) -> Sample:
        rss = cpu = 0.0
        alive = 0
        for p in self._procs:
            try:
                rss += p.memory_info().rss / MB
                cpu += p.cpu_percent(None)
                alive += 1
            except psutil.Error:
                pass
        machine = psutil.cpu_percent(None) * (psutil.cpu_count() or 1)
        s = Sample(
            round(self.now(), 2),
            round(rss, 1),
            round(cpu, 1),
            alive,
            round(self._client_cpu(), 1),
            round(machine, 1),
        )
        self.samples.append(s)
        return s

    def _client_cpu(self) -> float:
        me = psutil.Process()
        total = 0.0
        for p in [me, *me.children(recursive=True)]:
            if p.pid in self.pids:  # an app started by this client is the server, not us
                continue
            known = self._client.setdefault(p.pid, p)
            try:
                total += known.cpu_percent(None)
            except psutil.Error:
                self._client.pop(p.pid, None)
        return total

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            self.sample()

    def between(self, t0: float, t1: float) -> list[Sample]:
        return [s for s in self.samples if t0 <= s.t <= t1]
