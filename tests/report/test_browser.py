"""The report in a real headless Chromium: no errors, content present, slider works."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def artefacts(tmp_path):
    folder = Path(os.environ.get("EVALKIT_TEST_ARTIFACTS", tmp_path)) / "report"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def open_page(browser):
    """Open a file:// page; collect console errors, failed requests and dialogs."""
    pages = []

    def _open(path):
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
        page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        pages.append(page)
        return page, problems

    yield _open
    for page in pages:
        page.close()


def test_index_shows_leaderboard_and_plots_without_errors(report, open_page, artefacts):
    page, problems = open_page(report)
    rows = page.locator("table.leaderboard tbody tr")
    assert rows.count() == 3
    plots = page.locator("#plots img")
    assert plots.count() >= 4
    widths = plots.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert all(w > 0 for w in widths)
    page.screenshot(path=artefacts / "index.png", full_page=True)
    assert problems == []


def test_leaderboard_column_sorts_when_clicked(report, open_page):
    page, problems = open_page(report)
    names = lambda: page.locator("table.leaderboard tbody td.name").all_text_contents()  # noqa: E731
    before = names()
    page.locator("table.leaderboard th", has_text="s / MP").click()
    after = names()
    assert sorted(after) == sorted(before)
    assert after[0].strip() == "noisy"  # the identity baseline is the fastest
    assert problems == []


def test_slider_changes_what_is_shown_when_dragged(report, open_page, artefacts):
    pair_page = next((report.parent / "pairs").glob("p-iso12800*.html"))
    page, problems = open_page(pair_page)
    stage = page.locator(".stage")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.stage img.layer'))"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    box = stage.bounding_box()
    before = stage.screenshot()
    handle = page.locator(".handle").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    clip = page.locator(".pane.after").evaluate("e => e.style.clipPath")
    assert clip.startswith("inset(0px 0px 0px 1") or clip.startswith("inset(0 0 0 1")
    after = stage.screenshot()
    assert after != before
    page.screenshot(path=artefacts / "pair.png", full_page=True)
    assert problems == []


def test_zoom_buttons_and_heat_map_switch_without_errors(report, open_page):
    pair_page = next((report.parent / "pairs").glob("p-iso800*.html"))
    page, problems = open_page(pair_page)
    page.locator("[data-zoom='4']").click()
    transform = page.locator(".pane.after .canvas").evaluate("e => e.style.transform")
    assert "scale(4" in transform
    heat = page.locator(".pane.after img.heat")
    assert not heat.is_visible()
    page.select_option(".pick-map", "abs_diff")
    assert heat.is_visible()
    assert heat.evaluate("e => !e.hidden && e.src.includes('abs_diff')")
    page.locator("button.mode[data-mode='grid']").click()
    assert page.locator(".grid").is_visible()
    assert page.locator(".grid .cell").count() == 5
    assert problems == []


def test_script_in_an_ocr_reading_does_not_run(report, open_page):
    pair_page = next((report.parent / "pairs").glob("p-iso800*.html"))
    page, problems = open_page(pair_page)
    assert "<script>alert(1)</script>" in page.locator("#text").inner_text()
    assert "<b>tv" in page.locator("#scores").inner_text()
    page.locator("button.locate").first.click()
    assert problems == []
