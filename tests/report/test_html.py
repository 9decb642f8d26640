"""The report folder: pages, escaping, side files and sizes."""

from __future__ import annotations

import json

import pytest
from report_data import HOSTILE_LABEL, HOSTILE_PAIR, SCRIPT, make_results

from evalkit.report import ResultsError, load_results, write_report


def _html_files(report):
    return [report.parent / "index.html", *sorted((report.parent / "pairs").glob("*.html"))]


def test_report_has_index_pair_pages_plots_and_side_files(report):
    folder = report.parent
    for name in (
        "index.html",
        "compare.html",
        "results.csv",
        "findings.csv",
        "results.json",
        "summary.md",
        "run.json",
        "assets/report.js",
        "assets/report.css",
    ):
        assert (folder / name).is_file(), name
    assert len(list((folder / "pairs").glob("*.html"))) == 3
    plots = {p.name for p in (folder / "plots").glob("*.svg")}
    assert {
        "quality_speed.svg",
        "perception_distortion.svg",
        "quality_iso.svg",
        "distribution_psnr.svg",
        "distribution_ssim.svg",
    } <= plots
    index = report.read_text(encoding="utf-8")
    assert 'class="leaderboard sortable"' in index
    for plot in plots:
        assert f"plots/{plot}" in index


def test_ocr_reading_with_a_script_tag_renders_as_text(report):
    pages = "".join(p.read_text(encoding="utf-8") for p in _html_files(report))
    assert "<script>alert" not in pages
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages


def test_denoiser_and_pair_names_with_quotes_and_brackets_render_as_text(report):
    for page in _html_files(report):
        html = page.read_text(encoding="utf-8")
        assert HOSTILE_LABEL not in html
        assert "<b>tv" not in html and "<i>3200" not in html
    index = report.read_text(encoding="utf-8")
    assert "&lt;b&gt;tv &#34;q&#34; &#39;x&#39;&lt;/b&gt;" in index
    assert "p&#34;&lt;i&gt;3200" in index


def test_every_link_and_image_of_the_report_exists(report):
    import re

    folder = report.parent
    for page in [*_html_files(report), folder / "compare.html"]:
        html = page.read_text(encoding="utf-8")
        for target in re.findall(r'(?:src|href)="([^"#:]+)"', html):
            assert (page.parent / target).resolve().is_file(), f"{page.name}: {target}"


def test_findings_with_a_box_get_full_resolution_crops(report, results_folder):
    crops = sorted((report.parent / "crops").rglob("*.png"))
    # Two findings have a box; each is cropped from the output, reference and noisy shot.
    assert len(crops) == 6
    from PIL import Image

    with Image.open(next(c for c in crops if "gaussian-0.candidate" in c.name)) as crop:
        # Box 50x12 plus a 16 px margin, clipped to the 80x60 image.
        assert crop.size == (min(80, 10 + 50 + 16) - 0, min(60, 20 + 12 + 16) - 4)


def test_display_images_are_jpegs_and_only_crops_are_png(report):
    images = list((report.parent / "images").rglob("*"))
    assert images and all(p.suffix == ".jpg" for p in images if p.is_file())


def test_text_panel_highlights_substituted_and_inserted_characters(report):
    page = next(p for p in (report.parent / "pairs").glob("p-iso800*.html"))
    html = page.read_text(encoding="utf-8")
    assert '<mark class="d-ins" title="inserted">ő</mark>' in html
    assert '<mark class="d-sub" title="was “e”">ł</mark>' in html


def test_text_panel_shows_the_evidence_behind_a_verdict(report):
    page = next(p for p in (report.parent / "pairs").glob("p-iso800*.html"))
    html = page.read_text(encoding="utf-8")
    assert "glyphs changed 0.41</span> (evidence from 0.15: yes)" in html
    assert "tesseract:</span> “keyboard” → “keyboard”" in html
    assert "not called: tesseract reads reference and output alike" in html


def test_results_json_holds_the_leaderboard_and_findings(report):
    data = json.loads((report.parent / "results.json").read_text(encoding="utf-8"))
    assert data["primary_metric"] == "psnr"
    rows = data["leaderboard"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    psnr = [r["metrics"]["psnr"]["mean"] for r in rows]
    assert psnr == sorted(psnr, reverse=True)
    low, high = rows[0]["metrics"]["psnr"]["ci95"]
    assert low <= psnr[0] <= high
    gaussian = next(r for r in rows if r["denoiser"] == "gaussian")
    assert gaussian["findings"]["critical"] == 1
    assert len(data["findings"]) == 3
    assert data["comparison"]["old_name"] == "results"


def test_summary_markdown_escapes_names_for_ci_pages(report):
    summary = (report.parent / "summary.md").read_text(encoding="utf-8")
    assert "| # | denoiser | psnr ↑ | ssim ↑ | s/MP | critical |" in summary
    assert "<b>" not in summary and "<script>" not in summary
    assert "&lt;b&gt;tv" in summary
    assert "1 critical finding" in summary


def test_comparison_calls_a_clearly_less_noisy_run_better(report):
    html = (report.parent / "compare.html").read_text(encoding="utf-8")
    data = json.loads((report.parent / "results.json").read_text(encoding="utf-8"))
    rows = {r["denoiser"]: r for r in data["comparison"]["rows"]}
    # The baseline's noise is 1.5x stronger, so the identity "noisy" denoiser gains PSNR.
    assert rows["noisy"]["metrics"]["psnr"]["delta"] > 0
    assert rows["noisy"]["metrics"]["psnr"]["improved"]
    assert "Biggest improvements" in html


def test_report_from_a_run_result_uses_the_outputs_the_run_wrote(tmp_path):
    out, result = make_results(tmp_path, denoisers=[{"name": "noisy"}, {"name": "gaussian"}])
    index = write_report(result, out)
    assert index == out / "index.html"
    assert list((out / "images").rglob("out-gaussian*.jpg"))
    assert (out / "results.json").is_file()


def test_report_drawn_in_two_processes_is_the_serial_report(results_folder, tmp_path):
    serial = write_report(results_folder, tmp_path / "serial")
    parallel = write_report(results_folder, tmp_path / "parallel", jobs=2)
    files = sorted(p.relative_to(serial.parent) for p in serial.parent.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(parallel.parent) for p in parallel.parent.rglob("*") if p.is_file()
    )
    for page in [serial, *sorted((serial.parent / "pairs").glob("*.html"))]:
        twin = parallel.parent / page.relative_to(serial.parent)
        assert page.read_text(encoding="utf-8") == twin.read_text(encoding="utf-8")
    for crop in (serial.parent / "crops").rglob("*.png"):
        assert crop.read_bytes() == (parallel.parent / crop.relative_to(serial.parent)).read_bytes()


def test_report_of_a_run_without_its_dataset_still_renders(tmp_path):
    out, _ = make_results(tmp_path, denoisers=[{"name": "gaussian"}])
    for path in (tmp_path / "data").iterdir():
        path.unlink()
    index = write_report(out, tmp_path / "report")
    assert "could not be read" in index.read_text(encoding="utf-8")


def test_missing_results_folder_is_a_user_error(tmp_path):
    with pytest.raises(ResultsError, match="no such results folder"):
        write_report(tmp_path / "nope", tmp_path / "report")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match=r"no results\.csv"):
        load_results(tmp_path / "empty")


def test_findings_bbox_is_parsed_from_csv(results_folder):
    bundle = load_results(results_folder)
    boxes = {f.detector: f.bbox for f in bundle.findings.itertuples()}
    assert boxes["text_hallucination"] == (10, 20, 50, 12)
    assert boxes["colour_shift"] is None
    assert HOSTILE_PAIR in bundle.pairs
    assert SCRIPT in bundle.text[0]["candidate_text"]


def test_pair_pages_say_how_the_reference_was_aligned(report):
    # The tiny pairs are registered and equally exposed: nothing is corrected, and
    # the page says so, with each correction's reason.
    page = next((report.parent / "pairs").glob("p-iso800*.html")).read_text(encoding="utf-8")
    assert 'id="alignment"' in page
    assert "scored as given: no correction applied" in page
    assert "not applied:" in page
