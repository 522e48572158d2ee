"""The real app in headless Chromium: a student opens it, plays, pauses, steps, shares a link.

Screenshots go to artifacts/screenshots/ and are meant to be looked at.
"""

import time

import pytest

from tests.e2e.browser_helpers import (
    click,
    exception_boxes,
    metrics,
    number,
    open_app,
    plot_count,
    screenshot,
    steps,
    wait_idle,
    wait_until,
)

pytestmark = pytest.mark.e2e


def test_page_loads_with_charts_and_no_exception(page, app_url):
    open_app(page, app_url)
    wait_until(lambda: plot_count(page) >= 5, timeout=30)
    assert exception_boxes(page) == 0
    assert steps(page) == 0
    # the network diagram draws neuron heatmaps as images inside the plot
    assert page.locator(".js-plotly-plot .layer-above image, .js-plotly-plot image").count() > 0
    screenshot(page, "01_loaded")
    assert page.js_errors == []


def test_play_trains_and_pause_freezes(page, app_url):
    open_app(page, app_url)
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    wait_until(lambda: metrics(page)["Test loss"] != "–", timeout=10)
    click(page, "Reset")
    wait_until(lambda: steps(page) == 0)
    click(page, "Play")
    page.get_by_role("button", name="Pause", exact=True).wait_for(timeout=10_000)
    first = wait_until(lambda: steps(page) or None, timeout=20)
    wait_until(lambda: steps(page) > first + 200, timeout=60)
    early_loss = number(
        wait_until(lambda: metrics(page)["Test loss"] != "–" and metrics(page)["Test loss"])
    )
    time.sleep(4)
    screenshot(page, "02_playing")
    late_loss = number(metrics(page)["Test loss"])
    assert late_loss < early_loss, (early_loss, late_loss)
    click(page, "Pause")
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=10_000)
    wait_idle(page)
    frozen = steps(page)
    time.sleep(2.0)
    assert steps(page) == frozen
    assert exception_boxes(page) == 0
    screenshot(page, "03_paused")


def test_step_adds_exactly_one(page, app_url):
    open_app(page, app_url)
    before = steps(page)
    click(page, "Step")
    wait_until(lambda: steps(page) != before)
    wait_idle(page)
    time.sleep(0.5)
    assert steps(page) == before + 1


def test_preset_link_opens_with_its_settings(page, app_url):
    open_app(page, app_url, "?preset=vanishing_gradients")
    wait_until(lambda: page.get_by_text("10 hidden layers").count() == 1)
    wait_until(lambda: page.get_by_text("Vanishing gradients: a deep sigmoid net").count() >= 1)
    click(page, "Play")
    wait_until(lambda: steps(page) > 500, timeout=90)
    click(page, "Pause")
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=10_000)
    wait_idle(page)
    time.sleep(1.5)  # the slow panel redraws after the pause
    assert exception_boxes(page) == 0
    screenshot(page, "04_vanishing_gradients")
    for view in ("Activations", "Weights", "Update ratio"):
        page.locator("[data-testid=stButtonGroup] button", has_text=view).first.click()
        wait_idle(page)
        time.sleep(1.0)
        assert exception_boxes(page) == 0
        screenshot(page, f"04_vanishing_gradients_{view.lower().replace(' ', '_')}")


def test_bad_link_parameter_shows_a_notice(page, app_url):
    open_app(page, app_url, "?training.optimizer.learning_rate=banana&network.hidden=999:relu")
    wait_until(lambda: page.get_by_text("learning_rate", exact=False).count() >= 1)
    assert exception_boxes(page) == 0
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    screenshot(page, "05_bad_link")


def test_digits_preset_shows_image_charts(page, app_url):
    open_app(page, app_url, "?preset=digits")
    click(page, "Step epoch")
    wait_until(lambda: steps(page) > 0)
    wait_idle(page)
    time.sleep(1.0)
    assert exception_boxes(page) == 0
    screenshot(page, "06_digits")


def test_mnist_link_trains_on_real_images(page, app_url):
    open_app(page, app_url, "?data.dataset=mnist&data.mnist_subset=1000&network.hidden=32:relu")
    assert exception_boxes(page) == 0
    click(page, "Step epoch")
    wait_until(lambda: steps(page) > 0, timeout=30)
    wait_idle(page)
    time.sleep(1.0)
    wait_until(lambda: page.get_by_text("Sample predictions", exact=False).count() >= 1)
    screenshot(page, "07_mnist")


def _upload_csv(page, path) -> None:
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="CSV")
    uploader.locator('input[type="file"]').set_input_files(str(path))
    wait_idle(page)
    time.sleep(1.0)
    wait_idle(page)


def test_csv_upload_trains_and_shows_names_as_text(page, app_url, tmp_path):
    rows = ["<b>bold</b>,x2,species"]
    rows += [f"{i % 7 * 0.5},{(i * 3) % 11 * 0.25},{['a', 'b', 'c'][i % 3]}" for i in range(90)]
    good = tmp_path / "flowers.csv"
    good.write_text("\n".join(rows) + "\n")
    open_app(page, app_url)
    _upload_csv(page, good)
    assert exception_boxes(page) == 0
    wait_until(lambda: page.get_by_text("Column to predict").count() >= 1)
    # the column name is shown as text, never turned into an HTML element
    assert page.locator("b", has_text="bold").count() == 0
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    screenshot(page, "08_csv_upload")


def test_binary_junk_upload_gets_a_message_and_the_session_goes_on(page, app_url, tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    open_app(page, app_url)
    _upload_csv(page, junk)
    wait_until(lambda: _notice(page, "cannot be used").count() == 1)
    assert exception_boxes(page) == 0
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    screenshot(page, "09_junk_upload")


def _notice(page, text: str):
    return page.locator('[data-testid="stAlert"]').filter(has_text=text)


def test_a_link_notice_stays_across_a_click_until_closed(page, app_url):
    open_app(page, app_url, "?training.optimizer.learning_rate=banana")
    wait_until(lambda: _notice(page, "learning_rate").count() == 1)
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    wait_idle(page)
    time.sleep(0.5)
    assert _notice(page, "learning_rate").count() == 1  # it vanished at this click before
    screenshot(page, "10_notice_after_a_click", full_page=False)
    page.get_by_role("button", name="✕", exact=True).first.click()
    wait_until(lambda: _notice(page, "learning_rate").count() == 0)
    assert exception_boxes(page) == 0


def test_a_refused_upload_empties_the_uploader_and_says_the_old_data_stays(page, app_url, tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(201)) + "\n" + ",".join(["1"] * 201) + "\n")
    open_app(page, app_url)
    _upload_csv(page, wide)
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="CSV")
    wait_until(lambda: uploader.get_by_text("wide.csv").count() == 0)
    message = _notice(page, "cannot be used")
    wait_until(lambda: message.count() == 1)
    assert "Training goes on with the current data (circle)" in message.inner_text()
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    wait_idle(page)
    time.sleep(0.5)
    assert message.count() == 1 and uploader.get_by_text("wide.csv").count() == 0
    assert exception_boxes(page) == 0
    screenshot(page, "11_refused_upload")


OVERLAPPING_BOXES_JS = """sel => {
  const boxes = [...document.querySelectorAll(sel)].map(e => e.getBoundingClientRect())
    .filter(r => r.width > 0);
  const hit = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)
      hit.push([a.left, a.top, b.left, b.top].map(Math.round));
  }));
  return [boxes.length, hit];
}"""


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)], ids=["laptop", "phone"])
def test_a_lesson_shows_its_key_chart_without_scrolling(browser, app_url, width, height):
    """A classroom laptop (and a phone): the deep-sigmoid lesson's gradient chart starts in
    view, and the 12 column titles of its network diagram do not run into each other."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        open_app(page, app_url, "?preset=vanishing_gradients")
        click(page, "Step epoch")
        wait_until(lambda: steps(page) > 0)
        wait_idle(page)
        time.sleep(1.0)
        screenshot(page, f"12_lesson_focus_{width}x{height}", full_page=False)
        scrolled = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop")
        chart = page.locator(".st-key-gradients_chart .js-plotly-plot").bounding_box()
        assert scrolled == 0 and 0 <= chart["y"] < height - 100, chart
        if width >= 1000:  # on a laptop the whole chart is in view
            assert chart["y"] + chart["height"] <= height, chart
        count, overlaps = page.evaluate(OVERLAPPING_BOXES_JS, ".st-key-network_chart g.annotation")
        assert count >= 12 and overlaps == [], (count, overlaps)
        assert exception_boxes(page) == 0 and errors == []
    finally:
        context.close()


def test_a_typed_number_stays_in_its_box_and_in_the_link(page, app_url):
    """A number box's default follows its value (playground.controls._number_box): typing a new
    value, stepping and rerunning keep what was typed, in the box and in the link."""
    open_app(page, app_url)
    units = page.get_by_label("Layer 1 units")
    units.fill("7")
    units.press("Enter")
    link = lambda: page.evaluate("decodeURIComponent(location.search)")  # noqa: E731
    wait_until(lambda: "network.hidden=7:" in link(), timeout=20)
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    click(page, "Step")
    wait_until(lambda: steps(page) == 2)
    wait_idle(page)
    assert units.input_value() == "7"
    assert "network.hidden=7:" in link()
    assert exception_boxes(page) == 0
    assert page.js_errors == []
