"""The command line: readable output, JSON, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evalkit.cli import app
from evalkit.io import save_image

runner = CliRunner()


def _images(tmp_path, smooth_image):
    ref = save_image(tmp_path / "ref.png", smooth_image)
    out = save_image(tmp_path / "out.png", np.clip(smooth_image + 0.02, 0, 1))
    return ref, out


def test_score_prints_a_table(tmp_path, smooth_image):
    ref, out = _images(tmp_path, smooth_image)
    result = runner.invoke(app, ["score", "--ocr", "none", str(ref), str(out)])
    assert result.exit_code == 0, result.output
    assert "psnr" in result.output and "dB" in result.output and "ssim" in result.output


def test_score_json_has_the_agreed_keys(tmp_path, smooth_image, rng):
    ref, out = _images(tmp_path, smooth_image)
    noisy = np.clip(smooth_image + rng.normal(0, 0.03, smooth_image.shape), 0, 1)
    noisy_path = save_image(tmp_path / "noisy.png", noisy)
    result = runner.invoke(app, ["score", str(ref), str(out), "--noisy", str(noisy_path), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert {"metrics", "findings", "text", "alignment"} <= set(document)
    assert 30 < document["metrics"]["psnr"] < 40
    assert isinstance(document["findings"], list) and isinstance(document["text"], list)
    assert document["alignment"]["crop"] == [0, 0, 64, 48]
    assert {"ocr_cer", "text_hallucinations"} <= set(document["metrics"])


@pytest.mark.parametrize("flag", [["--align", "never"], ["--no-align"]])
def test_score_with_align_never_records_an_identity_alignment(tmp_path, smooth_image, flag):
    ref, out = _images(tmp_path, smooth_image)
    args = ["score", "--ocr", "none", str(ref), str(out), "--noisy", str(out), *flag, "--json"]
    document = json.loads(runner.invoke(app, args).output)
    alignment = document["alignment"]
    assert alignment["identity"] and alignment["mode"] == "never"
    assert [c["applied"] for c in alignment["corrections"]] == [False, False]
    assert "align never" in alignment["corrections"][0]["reason"]
    assert 30 < document["metrics"]["psnr"] < 40


def test_score_of_identical_images_gives_a_null_psnr_with_its_reason(tmp_path, smooth_image):
    ref, _ = _images(tmp_path, smooth_image)
    args = ["score", "--ocr", "none", str(ref), str(ref), "--noisy", str(ref), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["metrics"]["psnr"] is None
    assert "do not differ" in document["unavailable"]["psnr"]
    assert document["metrics"]["ssim"] == 1.0
    assert document["alignment"]["identity"]


def test_missing_file_is_one_line_and_exit_code_2(tmp_path, smooth_image):
    ref, _ = _images(tmp_path, smooth_image)
    result = runner.invoke(app, ["score", "--ocr", "none", str(ref), str(tmp_path / "gone.png")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [f"error: {tmp_path / 'gone.png'}: no such file"]


def test_size_mismatch_is_one_line_naming_the_candidate(tmp_path, smooth_image):
    ref, _ = _images(tmp_path, smooth_image)
    small = save_image(tmp_path / "small.png", smooth_image[:40])
    result = runner.invoke(app, ["score", "--ocr", "none", str(ref), str(small)])
    assert result.exit_code == 2
    assert "small.png: size 64x40 does not match" in result.output
    assert "Traceback" not in result.output


def test_unknown_metric_is_a_user_error(tmp_path, smooth_image):
    ref, out = _images(tmp_path, smooth_image)
    result = runner.invoke(app, ["score", "--ocr", "none", str(ref), str(out), "-m", "psnrr"])
    assert result.exit_code == 2
    assert "did you mean 'psnr'" in result.output


def test_run_writes_results_and_report(tiny_dataset, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        f'dataset = "{tiny_dataset}"\nocr = "none"\n'
        '[[denoiser]]\nname = "noisy"\n[[denoiser]]\nname = "tv"\n'
    )
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "results.csv").is_file()
    assert "tv" in (tmp_path / "out" / "index.html").read_text()


def test_run_with_a_failing_denoiser_finishes_and_exits_1(tiny_dataset, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        f'dataset = "{tiny_dataset}"\nocr = "none"\n[[denoiser]]\nname = "noisy"\n'
        '[[denoiser]]\nname = "command"\nparams = { argv = ["false", "{input}", "{output}"] }\n'
    )
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 1
    assert "2 item(s) failed" in result.output
    assert (tmp_path / "out" / "results.csv").is_file()


def test_bad_config_is_one_line(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text("dataset = 3 [")
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 2 and result.output.startswith("error: ")
    assert len(result.output.strip().splitlines()) == 1


def test_alpha_warning_is_one_line(tmp_path, smooth_image):
    from PIL import Image

    ref, _ = _images(tmp_path, smooth_image)
    rgba = np.dstack([np.rint(smooth_image * 255), np.full((48, 64), 255)]).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    result = runner.invoke(
        app, ["score", "--ocr", "none", str(ref), str(tmp_path / "alpha.png"), "--json"]
    )
    assert result.exit_code == 0
    assert "warning: " in result.output and "alpha channel dropped" in result.output


def test_installed_console_script_runs(tmp_path, smooth_image):
    ref, out = _images(tmp_path, smooth_image)
    script = Path(sys.executable).parent / "evalkit"
    completed = subprocess.run(
        [str(script), "score", "--ocr", "none", str(ref), str(out), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["metrics"]["ssim"] > 0.9


def test_denoisers_say_which_are_available_and_how_to_install_the_rest(monkeypatch):
    from evalkit.denoisers import DENOISERS, DenoiserSpec

    DENOISERS.names()  # plugins discovered before one is added by hand
    needs = DenoiserSpec(
        "needs_x",
        "evalkit_no_such_module:f",
        "a plugin's denoiser",
        requires=("evalkit_no_such_module",),
        install="pip install evalkit-x",
    )
    monkeypatch.setitem(DENOISERS._specs, "needs_x", needs)
    result = runner.invoke(app, ["denoisers"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert lines["gaussian"].split()[1] == "yes"
    assert lines["needs_x"].split()[1] == "no"
    assert "needs evalkit_no_such_module: pip install evalkit-x" in lines["needs_x"]


def test_denoise_then_score_is_the_one_photo_workflow(tmp_path, smooth_image, rng):
    noisy = save_image(
        tmp_path / "noisy.png",
        np.clip(smooth_image + rng.normal(0, 0.05, smooth_image.shape), 0, 1),
    )
    ref = save_image(tmp_path / "ref.png", smooth_image)
    out = tmp_path / "out.png"
    args = ["denoise", str(noisy), str(out), "-d", "gaussian", "-p", "sigma=1.5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    score = runner.invoke(app, ["score", "--ocr", "none", "--json", str(ref), str(out)])
    before = runner.invoke(app, ["score", "--ocr", "none", "--json", str(ref), str(noisy)])
    assert (
        json.loads(score.output)["metrics"]["psnr"] > json.loads(before.output)["metrics"]["psnr"]
    )


def test_denoise_with_the_ai_adapters_writes_what_score_reads(tmp_path, smooth_image, rng):
    """oidn and a checkpoint (a tiny DnCNN saved as a plain state_dict) from the shell."""
    pytest.importorskip("pyoidn")
    torch = pytest.importorskip("torch")
    from spandrel.architectures.DnCNN import DnCNN

    torch.save(DnCNN(in_nc=3, out_nc=3, nc=8, nb=8, act_mode="R").state_dict(), tmp_path / "n.pth")
    noisy = np.clip(smooth_image + rng.normal(0, 0.05, smooth_image.shape), 0, 1)
    noisy_path = save_image(tmp_path / "noisy.png", noisy)
    ref = save_image(tmp_path / "ref.png", smooth_image)
    for name, params in (
        ("oidn", ["-p", "quality='fast'"]),
        ("checkpoint", ["-p", f"path={tmp_path / 'n.pth'}"]),
    ):
        out = tmp_path / f"{name}.png"
        result = runner.invoke(app, ["denoise", str(noisy_path), str(out), "-d", name, *params])
        assert result.exit_code == 0, result.output
        score = runner.invoke(app, ["score", "--ocr", "none", "--json", str(ref), str(out)])
        assert score.exit_code == 0, score.output
        assert json.loads(score.output)["metrics"]["psnr"] > 15


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["-d", "gaussian", "-p", "sigma"], "--param expects KEY=VALUE"),
        (["-d", "gaussian", "-p", "radius=2"], "denoiser 'gaussian'"),
        (["-d", "gausian"], "did you mean 'gaussian'"),
        (["-d", "checkpoint", "-p", "path=missing.pth"], "missing.pth does not exist"),
    ],
)
def test_denoise_mistakes_are_one_line_and_exit_2(tmp_path, smooth_image, extra, words):
    noisy = save_image(tmp_path / "noisy.png", smooth_image)
    result = runner.invoke(app, ["denoise", str(noisy), str(tmp_path / "out.png"), *extra])
    assert result.exit_code == 2
    assert words in result.output and len(result.output.strip().splitlines()) == 1
