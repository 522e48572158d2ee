"""A classroom of simulated students training at once against the running app.

    python -m tests.load.classroom --students 30 --seconds 30 --ramp 5 --start-app
    python -m tests.load.classroom --students 30 --seconds 30 --ramp 5 --lesson --start-app
    python -m tests.load.classroom --students 30 --seconds 30 --url http://127.0.0.1:8600 \
        --app-ports 8601,8602          # behind scripts/serve_classroom.sh

Each student is a browser tab (`tests/load/student.py`, `tests/load/browser.py`): it fetches
the page and its static files as a browser does (index.html, the scripts, styles and fonts
it names and their imports, then the frontend chunk of each element the first run drew),
opens a real websocket session speaking Streamlit's protocol, clicks Play as soon as the
page is usable (or, with --lesson, once every student's page has loaded), draws and acks
each frame of the closed-loop live view as the browser does (`tests/load/liveview.py`; only
an ack trains the next tick; --draw-ms simulates the browser's drawing time), trains for
--seconds, clicks Pause and leaves. A student told "the server is busy" (the admission cap)
keeps its page open without training. Students open the page evenly over --ramp seconds.
A redraw counts when a drawn frame delivered a new "Steps" value. One idle "probe" tab
connects first so that the per-session memory excludes the app's one-off imports: per
session = (RSS while all train - RSS with the probe only) / N.

Traffic goes to 127.0.0.1 only and every run is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.load import server as S
from tests.load.student import (
    Behaviour,
    Probe,
    StudentResult,
    route_upstream,
    run_students,
    run_students_blocking,
)

LOCAL_HOSTS = ("127.0.0.1", "localhost")


@dataclass
class Plan:
    url: str
    students: int
    seconds: float
    ramp: float = 0.0  # students join evenly over this many seconds
    app_ports: tuple[int, ...] = ()  # app processes to watch (default: the URL's port)
    processes: int = 1  # client processes (the load generator itself)
    linger: float = 5.0  # seconds to keep sampling memory after everyone left
    kill_port: int | None = None  # fault: SIGKILL the app on this port ...
    kill_after: float = 0.0  # ... this many seconds after the first student joined
    late: int = 0  # students who join after the kill (they must reach a survivor)
    late_seconds: float = 0.0
    restart_after: float = 0.0  # seconds after the kill: start the app on that port again
    routes: tuple[str, ...] = ()  # affinity cookies the students arrive with (see balanced)
    query: str = ""  # the link the students open, e.g. "preset=digits"
    poke: bool = False  # after lingering, one tab comes and goes (see --poke)
    lesson: bool = False  # everyone loads the page, then all press Play together
    behaviour: Behaviour = field(default_factory=Behaviour)


def check_local(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"load tests only talk to 127.0.0.1, not {host!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_plan(plan: Plan) -> dict:
    """`run(plan)` to completion in its own thread and event loop, so that it also works where
    the calling thread already runs a loop (e.g. Playwright's sync API in the same pytest run)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run(plan)).result()


def balanced_routes(url: str, processes: int = 2, tries: int = 40) -> tuple[str, ...]:
    """The proxy's affinity cookies, one per app process: students arrive with them in turn,
    to compare one process with several at a known, even split.

    The proxy names the process that answered in its cookie; fresh health checks are spread
    over the processes, so a few of them find every name.
    """
    found: dict[str, None] = {}
    for _ in range(tries):
        found[route_upstream(url, "")] = None
        if len(found) >= processes:
            break
    return tuple(sorted(found))


def watched_pids(plan: Plan) -> list[int]:
    ports = plan.app_ports or (urlsplit(plan.url).port or 80,)
    pids = []
    for port in ports:
        pid = S.listener_pid(port)
        if pid is None:
            raise RuntimeError(f"no process listens on port {port}")
        if "streamlit" not in " ".join(S.psutil.Process(pid).cmdline()):
            raise RuntimeError(f"port {port} is not an app process: pass --app-ports")
        pids.append(pid)
    return pids


# --- running ------------------------------------------------------------------------------


async def _students(plan: Plan, indices: list[int], total: int, seconds: float, ramp: float):
    """Run these students in this loop, or spread over client processes."""
    args = (plan.routes, plan.query, plan.behaviour, plan.lesson)
    if plan.processes <= 1:
        return await run_students(plan.url, indices, total, seconds, ramp, *args)
    # Lesson style then waits for every page per client process, not across them.
    batches = [indices[k :: plan.processes] for k in range(plan.processes)]
    ctx = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(plan.processes, mp_context=ctx) as pool:
        futures = [
            loop.run_in_executor(
                pool, run_students_blocking, plan.url, b, total, seconds, ramp, *args
            )
            for b in batches
            if b
        ]
        parts = await asyncio.gather(*futures)
    return sorted((r for part in parts for r in part), key=lambda r: r.index)


async def _fault(
    plan: Plan, monitor: S.Monitor, events: dict, restarted: list
) -> list[StudentResult]:
    """Kill one app process mid-run, send in late students, and restart it if asked."""
    if plan.kill_port is None:
        return []
    await asyncio.sleep(plan.kill_after)
    events["killed_pid"] = S.kill_port(plan.kill_port)
    events["killed_at"] = monitor.now()
    events["killed_wall"] = time.time()
    late, restart = [], None
    if plan.restart_after:
        restart = asyncio.ensure_future(_restart(plan, monitor, events, restarted))
    if plan.late:
        await asyncio.sleep(2.0)
        first = plan.students
        indices = list(range(first, first + plan.late))
        late = await run_students(
            plan.url, indices, first + plan.late, plan.late_seconds, 0.0, (), plan.query
        )
    if restart is not None:
        await restart
    return late


async def _restart(plan: Plan, monitor: S.Monitor, events: dict, restarted: list) -> None:
    """The killed process comes back on its port (stopped again at the end of the run)."""
    await asyncio.sleep(plan.restart_after)
    log = Path(tempfile.mkdtemp(prefix="restarted-")) / "streamlit.log"
    proc = S.start_app(plan.kill_port, log)
    restarted.append(proc)
    url = f"http://127.0.0.1:{plan.kill_port}"
    await asyncio.to_thread(S.wait_healthy, url, 90.0, proc)
    events["restarted_at"] = monitor.now()


async def run(plan: Plan) -> dict:
    check_local(plan.url)
    S.wait_healthy(plan.url)
    monitor = S.Monitor(watched_pids(plan)).start()
    t_wall0 = time.time() - monitor.now()
    events: dict = {}
    restarted: list = []
    try:
        await asyncio.sleep(2.0)
        rss_idle = monitor.sample().rss_mb
        # One idle tab per app process, so each has imported the app before we measure.
        probe_urls = [f"http://127.0.0.1:{p}" for p in plan.app_ports] or [plan.url]
        probes = [Probe(u, plan.query).start() for u in probe_urls]
        for probe in probes:
            loaded = asyncio.ensure_future(probe.loaded.wait())
            await asyncio.wait([loaded, probe.task], timeout=120, return_when="FIRST_COMPLETED")
            loaded.cancel()
            if not probe.loaded.is_set():
                raise RuntimeError(f"a probe tab did not load: {probe.student.result.errors}")
        await asyncio.sleep(1.0)
        rss_one = monitor.sample().rss_mb
        t_start = monitor.now()
        main = _students(plan, list(range(plan.students)), plan.students, plan.seconds, plan.ramp)
        results, late = await asyncio.gather(main, _fault(plan, monitor, events, restarted))
        t_end = monitor.now()
        for probe in probes:
            await probe.leave()
        left_at = monitor.now()
        await asyncio.sleep(plan.linger)
        monitor.sample()
        if plan.poke:
            events["poked_at"] = round(monitor.now() - left_at, 1)
            visitor = Probe(plan.url).start()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(visitor.loaded.wait(), 30)
            await visitor.leave()
            await asyncio.sleep(10.0)
            monitor.sample()
    finally:
        monitor.stop()
        for proc in restarted:
            S.stop(proc)
    return report(
        plan, results, late, monitor, t_wall0, rss_idle, rss_one, t_start, t_end, left_at, events
    )


# --- reporting ----------------------------------------------------------------------------


def _stats(values: list[float]) -> dict:
    if not values:
        return {"min": 0.0, "median": 0.0, "mean": 0.0, "max": 0.0}
    return {
        "min": round(min(values), 2),
        "median": round(statistics.median(values), 2),
        "mean": round(statistics.fmean(values), 2),
        "max": round(max(values), 2),
    }


def _mean(values) -> float:
    return round(statistics.fmean(values), 1)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _summary(results: list[StudentResult]) -> dict:
    """Rates and gaps over the students who trained (not those told the server is busy)."""
    played = [r for r in results if r.played]
    runs = [t for r in played for t in r.run_seconds]
    answers = [t for r in played for t in r.answer_seconds]
    firsts = [r.first_redraw_seconds for r in played if r.first_redraw_seconds is not None]
    return {
        "students": len(results),
        "played": len(played),
        "told_busy": sum(r.told_busy for r in results),
        "with_errors": sum(bool(r.errors) for r in results),
        "error_count": sum(r.error_count for r in results),
        "run_seconds": {"median": _percentile(runs, 0.5), "p95": _percentile(runs, 0.95)},
        "answer_seconds": {"median": _percentile(answers, 0.5), "p95": _percentile(answers, 0.95)},
        "acks_per_second": _stats(
            [r.acks / r.trained_seconds for r in played if r.trained_seconds]
        ),
        "watchdog_acks": sum(r.watchdog_acks for r in results),
        "preempted_runs_per_second": _stats(
            [r.preempted / r.trained_seconds for r in played if r.trained_seconds]
        ),
        "redraws_per_second": _stats([r.redraws_per_second for r in played]),
        "steps_per_second": _stats([r.steps_per_second for r in played]),
        "load_seconds": _stats([r.load_seconds for r in results if r.load_seconds is not None]),
        "play_seconds": _stats([r.play_seconds for r in results if r.play_seconds is not None]),
        "plotly_seconds": _stats([r.plotly_seconds for r in results if r.plotly_seconds]),
        "page_files": _stats([r.page_files for r in results]),
        "page_mb": _stats([r.page_bytes / 1e6 for r in results]),
        "page_files_by_proxy": sum(r.page_by_proxy for r in results),
        "first_redraw_seconds": _stats(firsts),
        "max_gap_seconds": max((r.max_gap for r in played), default=0.0),
        "students_with_gap_over_3s": sum(r.max_gap > 3.0 for r in played),
        "max_gap_after_first_seconds": max((r.max_gap_after_first for r in played), default=0.0),
        "students_with_gap_over_3s_after_first": sum(r.max_gap_after_first > 3.0 for r in played),
    }


def report(
    plan, results, late, monitor, t_wall0, rss_idle, rss_one, t_start, t_end, left_at, events
) -> dict:
    trained = [r for r in results if r.play_at and r.stop_at]
    # The window in which every student trained (or the middle of the run if ramp > seconds).
    w0 = max((r.play_at for r in trained), default=0) - t_wall0
    w1 = min((r.stop_at for r in trained), default=0) - t_wall0
    if "killed_at" in events:
        w1 = min(w1, events["killed_at"])
    if w1 - w0 < 2:
        w0, w1 = t_start + plan.ramp, t_end
    window = monitor.between(w0, w1) or monitor.samples[-1:]
    rss_training = statistics.median(s.rss_mb for s in window)
    n = max(1, len(results))
    after = [(round(s.t - left_at, 1), s.rss_mb) for s in monitor.samples if s.t >= left_at]
    by_upstream: dict[str, list[StudentResult]] = {}
    for r in results + late:
        by_upstream.setdefault(r.upstream or "direct", []).append(r)
    return {
        "plan": asdict(plan),
        "server": {
            "pids": monitor.pids,
            "rss_idle_mb": rss_idle,
            "rss_one_tab_mb": rss_one,
            "rss_training_mb": round(rss_training, 1),
            "rss_peak_mb": max(s.rss_mb for s in monitor.samples),
            "rss_per_session_mb": round((rss_training - rss_one) / n, 2),
            "cpu_percent_training": _mean(s.cpu_percent for s in window),
            "client_cpu_percent": _mean(s.client_cpu_percent for s in window),
            "machine_cpu_percent": _mean(s.machine_cpu_percent for s in window),
            "cores": S.psutil.cpu_count(),
            "loadavg_at_end": [round(x, 2) for x in S.os.getloadavg()],
            "window_seconds": [round(w0, 1), round(w1, 1)],
            "rss_after_leaving": after[:: max(1, len(after) // 12)] + after[-1:],
        },
        "all": _summary(results),
        "by_upstream": {k: _summary(v) for k, v in sorted(by_upstream.items())},
        "late": _summary(late) if late else None,
        "events": {k: v for k, v in events.items() if k != "killed_wall"},
        "errors": [f"student {r.index}: {e}" for r in results + late for e in r.errors],
        "per_student": [r.to_dict() for r in results + late],
    }


def print_report(rep: dict) -> None:
    s, a = rep["server"], rep["all"]
    print(
        f"students: {a['students']}  trained: {a['played']}  told the server is busy: "
        f"{a['told_busy']}  errors: {len(rep['errors'])} "
        f"(students with errors: {a['with_errors']})"
    )
    print(f"redraws/s per student: {a['redraws_per_second']}")
    print(f"steps/s per student:   {a['steps_per_second']}")
    print(f"page load seconds:     {a['load_seconds']}")
    print(
        f"page files per student: {a['page_files']['median']} "
        f"({a['page_mb']['median']} MB as sent; {a['page_files_by_proxy']} files in all "
        f"served by the proxy itself)"
    )
    print(f"Play answered after (s): {a['play_seconds']}")
    print(
        f"first redraw after Play (s): {a['first_redraw_seconds']}; plotly.js loaded in (s): "
        f"{a['plotly_seconds']}"
    )
    print(
        f"longest gap between redraws: {a['max_gap_seconds']} s from Play, "
        f"{a['max_gap_after_first_seconds']} s after the first redraw; students with a gap "
        f"over 3 s: {a['students_with_gap_over_3s']} from Play, "
        f"{a['students_with_gap_over_3s_after_first']} after the first"
    )
    print(
        f"server RSS MB: idle {s['rss_idle_mb']}, one tab {s['rss_one_tab_mb']}, "
        f"training {s['rss_training_mb']}, peak {s['rss_peak_mb']}; "
        f"per session {s['rss_per_session_mb']} MB"
    )
    print(
        f"CPU while training (100% = one core of {s['cores']}): server "
        f"{s['cpu_percent_training']}%, this load client {s['client_cpu_percent']}%, "
        f"whole machine {s['machine_cpu_percent']}%; load average {s['loadavg_at_end']}"
    )
    print(
        f"live view: acks/s per student {a['acks_per_second']['median']} median; ack answered "
        f"after (s) {a['answer_seconds']}; watchdog repeats {a['watchdog_acks']}"
    )
    print(
        f"run seconds (new_session->finished as seen by a student): {a['run_seconds']}; "
        f"runs preempted per second: {a['preempted_runs_per_second']['median']} median"
    )
    print(f"RSS after everyone left (s, MB): {s['rss_after_leaving']}")
    if len(rep["by_upstream"]) > 1 or rep["late"]:
        for name, summary in rep["by_upstream"].items():
            print(
                f"  via {name}: {summary['students']} students, "
                f"redraws/s {summary['redraws_per_second']['median']} median, "
                f"with errors {summary['with_errors']}"
            )
    if rep["events"]:
        print(f"events: {rep['events']}")
    for line in rep["errors"][:20]:
        print("  error:", line)


# --- command line -------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m tests.load.classroom",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=60.0, help="training time per student")
    ap.add_argument("--url", default="", help="the app (default: start one with --start-app)")
    ap.add_argument("--start-app", action="store_true", help="start one app process and stop it")
    ap.add_argument("--processes", type=int, default=1, help="client processes")
    ap.add_argument(
        "--ramp", type=float, default=None, help="students open the page over this many seconds"
    )
    ap.add_argument(
        "--lesson",
        action="store_true",
        help="everyone loads the page first, then all press Play together "
        "(default: each presses Play as soon as its page is usable)",
    )
    ap.add_argument(
        "--no-assets",
        action="store_true",
        help="do not fetch the page's static files (only the websocket session)",
    )
    ap.add_argument(
        "--draw-ms",
        type=float,
        default=0.0,
        help="milliseconds a tab takes to draw a live view frame before it acks (default 0)",
    )
    ap.add_argument("--app-ports", default="", help="app ports to watch, e.g. 8601,8602")
    ap.add_argument("--linger", type=float, default=5.0, help="watch memory after leaving")
    ap.add_argument("--kill-port", type=int, default=None, help="fault: kill this app ...")
    ap.add_argument("--kill-after", type=float, default=10.0, help="... after this many s")
    ap.add_argument("--late", type=int, default=0, help="students joining after the kill")
    ap.add_argument(
        "--balanced",
        action="store_true",
        help="behind the proxy: students arrive with cookies that split them evenly",
    )
    ap.add_argument("--query", default="", help='the link students open, e.g. "preset=digits"')
    ap.add_argument(
        "--poke",
        action="store_true",
        help="after --linger, one tab visits and leaves (Streamlit reaps expired "
        "sessions only when its session store is written)",
    )
    ap.add_argument(
        "--session-ttl",
        type=int,
        default=None,
        help="with --start-app: server.disconnectedSessionTTL (default 120 s)",
    )
    ap.add_argument("--json", default="", help="write the full report here")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    app = None
    url = args.url
    if args.start_app:
        port = urlsplit(url).port if url else free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(tempfile.mkdtemp(prefix="classroom-")) / "streamlit.log"
        env = {}
        if args.session_ttl is not None:
            env["STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL"] = str(args.session_ttl)
        app = S.start_app(port, log, env)
        print(f"started the app on {url} (log: {log})")
        S.wait_healthy(url, proc=app)
    if not url:
        raise SystemExit("give --url or --start-app")
    ramp = args.ramp if args.ramp is not None else min(10.0, 0.2 * args.students)
    ports = tuple(int(p) for p in args.app_ports.split(",") if p)
    plan = Plan(
        url=url,
        students=args.students,
        seconds=args.seconds,
        ramp=ramp,
        app_ports=ports,
        processes=args.processes,
        linger=args.linger,
        kill_port=args.kill_port,
        kill_after=args.kill_after,
        late=args.late,
        late_seconds=args.seconds / 2,
        query=args.query.lstrip("?"),
        poke=args.poke,
        lesson=args.lesson,
        behaviour=Behaviour(assets=not args.no_assets, draw_seconds=args.draw_ms / 1000),
    )
    if args.balanced:
        plan.routes = balanced_routes(url, processes=max(2, len(ports)))
    traceback = False
    try:
        rep = run_plan(plan)
    finally:
        if app is not None:
            S.stop(app)
            text = log.read_text(errors="replace")
            traceback = "Traceback" in text
            if traceback:
                print(f"the app logged a traceback:\n{text[-3000:]}", file=sys.stderr)
    print_report(rep)
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=1))
        print(f"report written to {args.json}")
    return 1 if traceback or (rep["errors"] and args.kill_port is None) else 0


if __name__ == "__main__":
    sys.exit(main())
