"""Reading and clicking the real page like a user."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.server import ARTIFACTS

METRICS_JS = """() => Object.fromEntries(
  [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => [
    m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
    m.querySelector('[data-testid="stMetricValue"]').innerText.trim(),
  ]))"""


def open_app(page, url: str, query: str = "") -> None:
    page.goto(f"{url}/{query}", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=90_000)
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=30_000)
    wait_idle(page)


def wait_idle(page, timeout: float = 30.0) -> None:
    """Until the app reports no script running (the status widget disappears)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count()
        if not running:
            return
        time.sleep(0.1)


def metrics(page, timeout: float = 10.0) -> dict[str, str]:
    """The metrics as the page shows them. A full page run can take their block out of the page
    for a moment (after Reset a notice above it moves it): a read waits until they are back."""
    return wait_until(
        lambda: (shown := page.evaluate(METRICS_JS)) and "Steps" in shown and shown, timeout
    )


def steps(page) -> int:
    return int(metrics(page)["Steps"].replace(",", ""))


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%")) if text not in ("–", "") else float("nan")


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def click(page, label: str, timeout: float = 30.0) -> None:
    """Click the button `label` once the page shows exactly one (while a script run moves an
    element, Streamlit shows its stale copy beside the new one for a moment)."""
    button = page.get_by_role("button", name=label, exact=True)
    wait_until(lambda: button.count() == 1, timeout=timeout)
    button.click()


def exception_boxes(page) -> int:
    return page.locator('[data-testid="stException"]').count()


def plot_count(page) -> int:
    return page.locator(".js-plotly-plot").count()


def screenshot(page, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def open_list(select, option):
    """Open the select box's list until `option` shows (a rerun that lands just after the
    click redraws the box and closes its list); the option."""

    def shown() -> bool:
        if option.is_visible():
            return True
        select.click()
        try:
            option.wait_for(state="visible", timeout=2000)
        except PlaywrightTimeout:
            return False
        return True

    wait_until(shown, timeout=40)
    return option
