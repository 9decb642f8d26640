"""Quality gates: a degraded denoiser fails, an unchanged one passes."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from typer.testing import CliRunner

from evalkit.cli import app
from evalkit.gate import assert_no_regression, compare_runs
from evalkit.runner import RunConfig, run


def _run(manifest, out, sigma):
    config = RunConfig.from_dict(
        {
            "dataset": str(manifest),
            "ocr": "none",
            "denoiser": [{"name": "gaussian", "label": "mine", "params": {"sigma": sigma}}],
        }
    )
    return run(config, out=out)


@pytest.fixture
def runs(tiny_dataset, tmp_path):
    baseline = _run(tiny_dataset, tmp_path / "baseline", 1.0)
    same = _run(tiny_dataset, tmp_path / "same", 1.0)
    worse = _run(tiny_dataset, tmp_path / "worse", 4.0)  # far too much blur
    return baseline, same, worse, tmp_path


def test_unchanged_denoiser_passes(runs):
    baseline, same, _, _ = runs
    verdict = compare_runs(same, baseline, max_drop={"psnr": 0.1, "ssim": 0.005})
    assert verdict.passed
    assert verdict.comparison["drop"].abs().max() == 0


def test_degraded_denoiser_fails_with_the_metric_named(runs):
    baseline, _, worse, _ = runs
    verdict = compare_runs(worse, baseline, max_drop={"psnr": 0.1})
    assert not verdict.passed
    assert verdict.regressions[0].startswith("mine: psnr worsened by")
    assert "❌" in verdict.markdown()


def test_ungated_metrics_are_reported_not_enforced(runs):
    baseline, _, worse, _ = runs
    verdict = compare_runs(worse, baseline, max_drop={})
    assert verdict.passed and len(verdict.comparison) == 2


def test_new_critical_findings_fail_the_gate(runs):
    baseline, same, _, _ = runs
    finding = {
        "pair": "a-iso800",
        "denoiser": "mine",
        "detector": "text_hallucination",
        "severity": "critical",
        "score": 0.25,
        "bbox": None,
        "message": "reference reads 'keyboard', output reads 'kolyboard'",
    }
    with_finding = replace(same, findings=pd.concat([same.findings, pd.DataFrame([finding])]))
    verdict = compare_runs(with_finding, baseline)
    assert verdict.regressions == ["mine: 1 critical-or-worse findings, 0 in the baseline"]
    assert compare_runs(with_finding, baseline, no_new=None).passed


def test_pytest_helper_raises_with_the_summary(runs):
    baseline, same, worse, _ = runs
    assert_no_regression(same, baseline, max_drop={"psnr": 0.1})
    with pytest.raises(AssertionError, match="quality gate: failed"):
        assert_no_regression(worse, baseline, max_drop={"psnr": 0.1})


def test_gate_command_exit_codes(runs):
    _, _, _, tmp_path = runs
    runner = CliRunner()
    base = ["--baseline", str(tmp_path / "baseline"), "--max-drop", "psnr=0.1"]
    assert runner.invoke(app, ["gate", str(tmp_path / "same"), *base]).exit_code == 0
    failed = runner.invoke(
        app, ["gate", str(tmp_path / "worse"), *base, "--summary", str(tmp_path / "s.md")]
    )
    assert failed.exit_code == 1
    assert "psnr worsened" in (tmp_path / "s.md").read_text()
    bad = runner.invoke(app, ["gate", str(tmp_path / "same"), *base, "--max-drop", "psnr"])
    assert bad.exit_code == 2 and "METRIC=AMOUNT" in bad.output
