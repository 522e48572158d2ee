"""A student's server process dies and comes back while their tab is open: the page
reconnects to a fresh session and says so (training starts over, the settings came back from
the link, a saved model can be uploaded), instead of silently showing an untrained network.

The test has its own app process (it kills it), so it does not disturb the shared one.
"""

from __future__ import annotations

import signal

import pytest

from tests.e2e.browser_helpers import (
    click,
    exception_boxes,
    open_app,
    screenshot,
    steps,
    wait_until,
)
from tests.e2e.server import free_port, start_app, stop_app, wait_healthy

pytestmark = pytest.mark.e2e

LOST = "lost its session on the server"
MAP_DRAWN_JS = """() => Boolean(
  (document.querySelector('.bp-liveview-chart[data-chart="output_chart"]') || {dataset: {}})
    .dataset.frame)"""


def test_a_tab_whose_server_restarted_is_told_that_training_starts_over(page, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first = start_app(port, tmp_path / "first.log")
    second = None
    try:
        wait_healthy(url, first)
        open_app(page, url, "?training.optimizer.learning_rate=0.05")
        click(page, "Play")
        wait_until(lambda: steps(page) > 20, timeout=60)
        assert page.get_by_text(LOST).count() == 0

        first.send_signal(signal.SIGKILL)  # the process dies without a goodbye
        first.wait(10)
        second = start_app(port, tmp_path / "second.log")
        wait_healthy(url, second)

        # The page reconnects by itself to the new process; its next ack reaches a new session,
        # which tells the student what happened, with nobody touching the page.
        wait_until(lambda: page.get_by_text(LOST).count() == 1, timeout=60)
        wait_until(lambda: steps(page) == 0)
        page.get_by_role("button", name="Play", exact=True).wait_for()  # not training
        assert "0.05" in page.url  # the settings came back from the link
        assert exception_boxes(page) == 0
        wait_until(lambda: page.evaluate(MAP_DRAWN_JS))  # the reloaded page loads plotly.js
        screenshot(page, "session_lost_notice", full_page=False)
        click(page, "Step")
        wait_until(lambda: steps(page) == 1)
        assert page.get_by_text(LOST).count() == 1  # it stays until closed
        assert page.js_errors == []
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                stop_app(proc)
