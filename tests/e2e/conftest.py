"""A real app (`streamlit run` on 127.0.0.1) and a real headless Chromium driven by Playwright."""

from __future__ import annotations

import pytest

from tests.e2e.server import (
    CHROMIUM_ARGS,
    chromium_path,
    free_port,
    start_app,
    stop_app,
    wait_healthy,
)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("app") / "streamlit.log"
    proc = start_app(port, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        stop_app(proc)
        log = log_path.read_text(errors="replace")
        assert "Traceback" not in log, f"the app logged a traceback:\n{log[-4000:]}"


@pytest.fixture(scope="module")
def browser():
    """Module-scoped: Playwright's sync API runs an event loop in this thread while open."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        try:
            executable = chromium_path()
        except RuntimeError as err:
            pytest.fail(str(err))
        b = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 3000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The live view warns on the console when a chart fails to draw (which chart, and why):
    # printed, so a failing test's captured output says it.
    page.on("console", lambda msg: msg.type == "warning" and print("browser:", msg.text))
    page.js_errors = errors
    yield page
    context.close()
