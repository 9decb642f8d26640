"""Writing a report again: only what changed is drawn, and the report is the same."""

from __future__ import annotations

import os
import shutil

import pytest
from report_data import make_results

from evalkit.report import write_report
from evalkit.report._manifest import MANIFEST


def _drawn(folder):
    """Path → modification time of every drawn file (images, crops, plots)."""
    return {
        path.relative_to(folder): path.stat().st_mtime_ns
        for kind in ("images", "crops", "plots")
        for path in (folder / kind).rglob("*")
        if path.is_file()
    }


def _texts(folder):
    pages = [folder / "index.html", folder / "results.json", folder / "summary.md"]
    pages += sorted((folder / "pairs").glob("*.html"))
    return {path.relative_to(folder): path.read_bytes() for path in pages}


@pytest.fixture
def run_folder(tmp_path):
    out, _ = make_results(tmp_path)
    return out


def test_a_report_written_again_draws_nothing_and_reads_the_same(results_folder, tmp_path):
    index = write_report(results_folder, tmp_path / "report")
    drawn, texts = _drawn(index.parent), _texts(index.parent)
    pages = {path: path.stat().st_mtime_ns for path in (index.parent / "pairs").glob("*.html")}
    write_report(results_folder, tmp_path / "report", jobs=2)
    assert _drawn(index.parent) == drawn
    assert _texts(index.parent) == texts
    # Unchanged pages are not even written again.
    assert {path: path.stat().st_mtime_ns for path in pages} == pages


def test_a_report_from_its_manifest_is_the_report_drawn_afresh(results_folder, tmp_path):
    write_report(results_folder, tmp_path / "again")
    again = write_report(results_folder, tmp_path / "again")
    fresh = write_report(results_folder, tmp_path / "fresh")
    assert _texts(again.parent) == _texts(fresh.parent)


def test_a_changed_output_redraws_its_pair_only(run_folder, tmp_path):
    index = write_report(run_folder, tmp_path / "report")
    drawn = _drawn(index.parent)
    output = run_folder / "outputs" / "gaussian" / "p-iso800.png"
    os.utime(output, ns=(output.stat().st_atime_ns, output.stat().st_mtime_ns + 10**9))
    write_report(run_folder, tmp_path / "report")
    changed = {path for path, mtime in _drawn(index.parent).items() if drawn[path] != mtime}
    assert changed and all(path.parts[1] == "p-iso800" for path in changed)
    assert any(path.name == "out-gaussian.jpg" for path in changed)


def test_a_changed_score_redraws_the_plots(run_folder, tmp_path):
    index = write_report(run_folder, tmp_path / "report")
    drawn = _drawn(index.parent)
    table = (run_folder / "results.csv").read_text(encoding="utf-8").splitlines()
    header, first = table[0].split(","), table[1].split(",")
    first[header.index("value")] = str(float(first[header.index("value")]) + 1e-3)
    table[1] = ",".join(first)
    (run_folder / "results.csv").write_text("\n".join(table) + "\n", encoding="utf-8")
    write_report(run_folder, tmp_path / "report")
    plots = [path for path in drawn if path.parts[0] == "plots"]
    assert plots and all(_drawn(index.parent)[path] != drawn[path] for path in plots)


def test_a_deleted_drawing_is_drawn_again(run_folder, tmp_path):
    index = write_report(run_folder, tmp_path / "report")
    shutil.rmtree(index.parent / "images")
    write_report(run_folder, tmp_path / "report")
    assert list((index.parent / "images").rglob("*.jpg"))


def test_a_damaged_manifest_means_drawing_everything(run_folder, tmp_path):
    index = write_report(run_folder, tmp_path / "report")
    (index.parent / MANIFEST).write_text("{not json", encoding="utf-8")
    drawn = _drawn(index.parent)
    write_report(run_folder, tmp_path / "report")
    assert all(_drawn(index.parent)[path] != mtime for path, mtime in drawn.items())
