"""Before/after mode: findings judged from the noisy shot alone, on camera-noised scenes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evalkit.cli import app
from evalkit.datasets import load_dataset
from evalkit.denoisers import make_denoiser
from evalkit.inspection import inspect
from evalkit.io import save_image

SAMPLE_PATH = Path(__file__).resolve().parents[2] / "datasets" / "sample" / "manifest.toml"


@pytest.fixture(scope="module")
def desk():
    """The sample desk scene at ISO 3200: noisy shot, honest denoise, named regions."""
    pair = load_dataset(SAMPLE_PATH)["desk-iso3200"]
    _, noisy = pair.load()
    honest = make_denoiser("nlm").denoise(noisy)
    return noisy, honest, {region.name: region.bbox for region in pair.regions}


def _overlaps(bbox, target) -> bool:
    x, y, w, h = bbox
    tx, ty, tw, th = target
    return x < tx + tw and tx < x + w and y < ty + th and ty < y + h


def _serious(result, detector=None):
    return [
        f
        for f in result.findings
        if f.severity.value in ("warning", "critical") and detector in (None, f.detector)
    ]


def test_honest_denoise_gets_no_warning(desk):
    noisy, honest, _ = desk
    result = inspect(noisy, honest, text=False)
    assert _serious(result) == []
    assert result.mode == "no reference" and result.alignment is None


def test_every_finding_says_it_was_judged_without_a_reference(desk):
    noisy, honest, _ = desk
    pushed = np.clip((honest - 0.5) * 1.4 + 0.56, 0, 1)
    result = inspect(noisy, pushed, text=False)
    assert result.findings
    assert all("judged without a reference" in f.message for f in result.findings)
    assert not any("the reference keeps" in f.message for f in result.findings)


def test_contrast_push_is_a_tone_shift_with_highlights_clipped_at_the_white_metal(desk):
    noisy, honest, regions = desk
    pushed = np.clip((honest - 0.5) * 1.4 + 0.56, 0, 1)
    result = inspect(noisy, pushed, text=False)
    assert _serious(result, "tone_shift")
    clipped = _serious(result, "highlight_clipping")
    assert any(_overlaps(f.bbox, regions["white-metal"]) for f in clipped)


def test_texture_painted_on_blank_paper_is_flagged_there(desk):
    # A weave of RMS 0.04, 1.5x the noise there (0.027): twice the noise's energy.
    noisy, honest, regions = desk
    x, y, w, h = regions["blank-paper"]
    yy, xx = np.mgrid[0:h, 0:w]
    weave = 0.08 * np.sin(xx * 2 * np.pi / 6) * np.sin(yy * 2 * np.pi / 6)
    painted = honest.copy()
    painted[y : y + h, x : x + w] += weave[..., None].astype(np.float32)
    result = inspect(noisy, np.clip(painted, 0, 1), text=False)
    flagged = _serious(result, "texture_hallucination")
    assert flagged and all(_overlaps(f.bbox, regions["blank-paper"]) for f in flagged)


def test_noise_amplified_into_a_cloth_on_blank_paper_is_flagged_there(desk):
    # The "cloth" an AI denoiser paints on paper is the input's own noise, made
    # stronger: a linear function of the noisy shot, yet more than it holds.
    noisy, honest, regions = desk
    x, y, w, h = regions["blank-paper"]
    cloth = honest.copy()
    cloth[y : y + h, x : x + w] += 2.0 * (noisy - honest)[y : y + h, x : x + w]
    result = inspect(noisy, np.clip(cloth, 0, 1), text=False)
    flagged = _serious(result, "texture_hallucination")
    assert flagged and all(_overlaps(f.bbox, regions["blank-paper"]) for f in flagged)
    # The unchanged noisy shot, which holds the same noise unamplified, is not.
    assert _serious(inspect(noisy, noisy, text=False), "texture_hallucination") == []


def test_sharpened_grille_is_oversharpening_there(desk):
    import cv2

    noisy, honest, regions = desk
    sharpened = np.clip(honest + 2.0 * (honest - cv2.GaussianBlur(honest, (0, 0), 1.0)), 0, 1)
    flagged = _serious(inspect(noisy, sharpened, text=False), "oversharpening")
    assert any(_overlaps(f.bbox, regions["grille"]) for f in flagged)


def test_json_has_the_keys_of_score_plus_the_noise_analysis(desk, tmp_path):
    noisy, honest, _ = desk
    before = save_image(tmp_path / "before.png", noisy)
    after = save_image(tmp_path / "after.png", honest)
    output = CliRunner().invoke(app, ["inspect", str(before), str(after), "--json", "--no-text"])
    assert output.exit_code == 0, output.output
    document = json.loads(output.output)
    assert {"metrics", "findings", "text", "alignment", "noise"} <= set(document)
    assert document["mode"] == "no reference" and document["alignment"] is None
    assert 0.2 < document["metrics"]["removed_fraction"] < 2
    assert document["noise"]["removed"]["looks_like_noise"] is True


def test_a_blur_that_removes_detail_is_reported_as_detail_loss(desk):
    import cv2

    noisy, _, _ = desk
    result = inspect(noisy, cv2.GaussianBlur(noisy, (0, 0), 1.5), text=False)
    assert _serious(result, "detail_loss")
    assert result.noise["removed"]["looks_like_noise"] is False


@pytest.mark.parametrize("area", ["fabric", "grille"])
def test_a_texture_smoothed_flat_is_detail_loss_there(desk, area):
    import cv2

    noisy, honest, regions = desk
    x, y, w, h = regions[area]
    flattened = honest.copy()
    flattened[y : y + h, x : x + w] = cv2.GaussianBlur(honest, (0, 0), 4.0)[y : y + h, x : x + w]
    flagged = [f for f in _serious(inspect(noisy, flattened, text=False), "detail_loss") if f.bbox]
    assert any(_overlaps(f.bbox, regions[area]) for f in flagged)
    assert any("plain above the noise" in f.message for f in flagged)
    # The honest denoise of the same texture is not (test_honest_denoise_gets_no_warning).


@pytest.mark.realdata
@pytest.mark.slow
def test_real_noisy_shots_with_an_honest_denoise_get_no_critical_finding(shared_data):
    from evalkit.datasets import load_dataset_dir

    counts = {"info": 0, "warning": 0, "critical": 0}
    for pair in load_dataset_dir(shared_data / "real-pairs" / "polyu"):
        _, noisy = pair.load()  # the mean image (reference) is never used
        result = inspect(noisy, make_denoiser("nlm").denoise(noisy), text=False)
        for finding in result.findings:
            counts[finding.severity.value] += 1
    print("finding counts over the PolyU pairs:", counts)
    assert counts["critical"] == 0


@pytest.mark.slow
def test_a_changed_label_is_a_text_hallucination_at_its_place(desk):
    from PIL import Image, ImageDraw, ImageFont

    noisy, honest, _ = desk
    pair = load_dataset(SAMPLE_PATH)["desk-iso3200"]
    box = next(r.bbox for r in pair.text_regions if r.text == "keyboard")
    x, y, w, h = box
    canvas = Image.fromarray(np.rint(honest * 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    paper = tuple(int(v) for v in np.rint(honest[y + 2, x + w - 2] * 255))
    draw.rectangle([x, y, x + w, y + h], fill=paper)
    draw.text((x + 4, y + 2), "kolyboard", fill=(30, 30, 30), font=ImageFont.load_default(size=40))
    changed = np.asarray(canvas, np.float32) / 255
    result = inspect(noisy, changed)
    flagged = _serious(result, "text_hallucination")
    assert any(_overlaps(f.bbox, box) for f in flagged)
    assert all("noisy shot reads" in f.message for f in flagged)
    untouched = inspect(noisy, honest)
    assert _serious(untouched, "text_hallucination") == []
