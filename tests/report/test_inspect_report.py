"""The one-page report of a before/after inspection (no reference)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from evalkit.findings import Finding, Severity

CHROMIUM = Path("/usr/bin/chromium")
SCRIPT = "<script>alert(1)</script>"


def _images(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 96 x 128 scene with a bright bar and a grille, its noisy shot, and a blurred output."""
    import cv2

    rng = np.random.default_rng(seed)  # the noise pattern, not the assertions, depends on it
    height, width = 96, 128
    scene = np.full((height, width, 3), 0.5, np.float32)
    scene[20:40, 20:100] = 0.9
    scene[60:80, ::4] = 0.1
    scene[..., 0] += np.linspace(0, 0.3, width, dtype=np.float32)
    scene = np.clip(scene, 0, 1)
    noisy = np.clip(scene + rng.normal(0, 0.08, scene.shape), 0, 1).astype(np.float32)
    # A heavy blur takes detail with the noise and shifts the contrast: findings to show.
    candidate = cv2.GaussianBlur(noisy, (0, 0), 2.0)
    return noisy, candidate


@pytest.fixture(scope="module")
def inspected():
    from evalkit.inspection import inspect

    noisy, candidate = _images()
    return inspect(noisy, candidate, text=False), noisy, candidate


@pytest.fixture(scope="module")
def hostile(inspected):
    """The real result plus a boxed finding and text entries carrying markup."""
    result, noisy, candidate = inspected
    extra = Finding("text_hallucination", Severity.CRITICAL, 0.5, (10, 12, 30, 14), SCRIPT)
    text = [
        {
            "bbox": [10, 12, 30, 14],
            "reference_text": SCRIPT,
            "candidate_text": "keyb0ard",
            "cer": 0.4,
            "verdict": "hallucinated",
            "hallucinated": True,
        },
        {
            "bbox": [40, 60, 30, 14],
            "reference_text": "k?yb",
            "candidate_text": "kőłyboard",
            "cer": None,
            "verdict": "unverifiable",
        },
    ]
    return replace(result, findings=[*result.findings, extra], text=text), noisy, candidate


@pytest.fixture(scope="module")
def page(hostile, tmp_path_factory):
    from evalkit.report import write_inspection_report

    result, noisy, candidate = hostile
    index = write_inspection_report(result, noisy, candidate, tmp_path_factory.mktemp("inspect"))
    return index, index.read_text(encoding="utf-8"), result


def test_page_banner_says_judged_without_reference(page):
    index, html, _ = page
    assert index.name == "index.html"
    banner = html.split('id="no-reference"')[1].split("</section>")[0]
    assert "WITHOUT a reference" in banner
    assert "against the noisy shot only" in banner
    assert "What cannot be concluded" in banner
    # The banner comes before the viewer, so it is the first thing read.
    assert html.index('id="no-reference"') < html.index('id="viewer"')


def test_page_lists_every_finding_most_severe_first_with_both_crops(page):
    index, html, result = page
    assert html.count('class="finding sev-line-') == len(result.findings)
    order = [html.index(f'id="f-{n}"') for n in range(len(result.findings))]
    severities = [
        f.severity
        for _, f in sorted(zip(order, result.findings, strict=True), key=lambda pair: pair[0])
    ]
    ranks = [Severity(s).rank for s in severities]
    assert ranks == sorted(ranks, reverse=True)
    boxed = len(result.findings) - 1  # the added text finding is the last one
    for role in ("noisy", "output"):
        crop = index.parent / "crops" / f"{boxed}.{role}.png"
        assert crop.is_file()
        assert f'src="crops/{boxed}.{role}.png"' in html


def test_crops_are_full_resolution_pixels_of_the_box(page, hostile):
    from PIL import Image

    index, _, _ = page
    _, noisy, _ = hostile
    crop = np.asarray(Image.open(index.parent / "crops" / f"{len(page[2].findings) - 1}.noisy.png"))
    # Box (10, 12, 30, 14) with a 16 px margin, clipped at the image's top-left corner.
    assert crop.shape == (12 + 14 + 16, 10 + 30 + 16, 3)
    expected = (np.clip(noisy[0:42, 0:56], 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(crop, expected)


def test_markup_in_findings_and_text_renders_as_text(page):
    _, html, _ = page
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unverifiable_text_entry_is_marked_and_not_diffed(page):
    _, html, _ = page
    rows = html.split('<table class="compact text-table">')[1].split("</table>")[0]
    unverifiable = next(r for r in rows.split("<tr") if "kőłyboard" in r)
    assert 'class="unverifiable"' in unverifiable
    assert "badge unverifiable" in unverifiable
    assert "d-sub" not in unverifiable and "d-ins" not in unverifiable
    judged = next(r for r in rows.split("<tr") if "keyb0ard" in r)
    assert "d-sub" in judged  # "o" -> "0" is shown as a substitution


def test_heat_maps_of_every_result_map_are_written_at_display_size(page):
    from PIL import Image

    index, html, result = page
    for name in result.maps:
        path = index.parent / "images" / f"map-{name}.jpg"
        assert Image.open(path).size == (128, 96)
        assert f'<option value="{name}">' in html


def test_noise_section_shows_channels_and_removed_part(page):
    _, html, result = page
    section = html.split('id="noise"')[1].split("</section>")[0]
    removed = result.noise["removed"]
    assert section.count("<tr><td>") == 3
    assert f"{removed['noise_sigma'][0]:.4f}" in section
    for label in ("removed fraction", "structure correlation", "looks like noise"):
        assert label in section


def test_metrics_table_lists_every_metric(page):
    _, html, result = page
    section = html.split('id="metrics"')[1].split("</section>")[0]
    for name in result.metrics:
        assert f"<code>{name}</code>" in section


def test_refuses_a_result_scored_against_a_reference(inspected, tmp_path):
    from evalkit.report import write_inspection_report

    result, noisy, candidate = inspected
    with pytest.raises(ValueError, match="no reference"):
        write_inspection_report(replace(result, mode="reference"), noisy, candidate, tmp_path)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_page_runs_in_chromium_and_slider_moves_the_split(page, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    index, _, _ = page
    artefacts = Path(os.environ.get("EVALKIT_TEST_ARTIFACTS", tmp_path)) / "report"
    artefacts.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            tab = browser.new_page(viewport={"width": 1300, "height": 900})
            problems = []
            tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: problems.append(str(e)))
            tab.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            tab.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            tab.goto(index.as_uri())
            tab.wait_for_load_state("load")
            assert tab.locator("#no-reference").is_visible()
            after = tab.locator(".stage .pane.after")
            assert (
                tab.locator(".stage .pane.before img.layer")
                .get_attribute("src")
                .endswith("noisy.jpg")
            )
            assert after.locator("img.layer").get_attribute("src").endswith("output.jpg")
            stage = tab.locator(".stage")
            # Between 25 % and 45 % of the stage's width: left of the split at 50 %
            # (the noisy shot), right of it once the slider is at 20 % (the output).
            band = _band_roughness(stage.screenshot())
            assert "50%" in after.evaluate("e => e.style.clipPath")
            tab.locator("input.split").fill("200")
            assert "20%" in after.evaluate("e => e.style.clipPath")
            assert _band_roughness(stage.screenshot()) < 0.5 * band
            # A heat map shows over the output when chosen.
            heat = after.locator("img.heat")
            assert heat.is_hidden()
            tab.select_option(".pick-map", "detail_loss")
            assert heat.is_visible()
            assert heat.evaluate("i => i.complete && i.naturalWidth") == 128
            tab.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top
            tab.screenshot(path=artefacts / "inspect.png", full_page=True)
        finally:
            browser.close()
    assert problems == []


def _band_roughness(png: bytes) -> float:
    """Mean absolute difference of neighbouring pixels in the band 25-45 % of the width."""
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), np.float32)
    height, width = pixels.shape
    band = pixels[height // 4 : 3 * height // 4, int(0.25 * width) : int(0.45 * width)]
    return float(np.abs(np.diff(band, axis=1)).mean())
