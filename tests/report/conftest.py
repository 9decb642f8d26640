"""Fixtures for report tests: one real run and its report, built once per session."""

from __future__ import annotations

import pytest
from report_data import make_results


@pytest.fixture(scope="session")
def results_folder(tmp_path_factory):
    """A results folder from a real run: 3 pairs x 3 denoisers, findings and OCR rows."""
    out, _ = make_results(tmp_path_factory.mktemp("run"))
    return out


@pytest.fixture(scope="session")
def report(results_folder, tmp_path_factory):
    """The report of ``results_folder`` compared with a second, noisier run."""
    from evalkit.report import write_report

    baseline, _ = make_results(tmp_path_factory.mktemp("baseline"), seed=1, sigma_scale=1.5)
    return write_report(results_folder, tmp_path_factory.mktemp("report"), compare=baseline)
