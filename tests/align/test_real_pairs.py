"""Alignment on real photographs: the published PSNR of every PolyU pair by default,
whole frames found and scored from the command line, no correction invented on a
registered photo, and a moved, brightened reference scored as the unmoved one."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import evalkit
from evalkit.align import align_reference
from evalkit.cli import app
from evalkit.io import load_image
from evalkit.metrics import peak_signal_noise_ratio
from evalkit.runner import RunConfig

pytestmark = pytest.mark.realdata


def _published(shared_data):
    root = shared_data / "real-pairs" / "polyu"
    with open(root / "manifest.csv", newline="", encoding="utf-8") as handle:
        return root, list(csv.DictReader(handle))


@pytest.mark.slow
def test_every_polyu_pair_scores_its_published_psnr_by_default(shared_data):
    root, rows = _published(shared_data)
    for row in rows:
        reference, noisy = root / row["reference"], root / row["noisy"]
        result = evalkit.score(reference, noisy, noisy=noisy, ocr=None, detectors=())
        assert result.metrics["psnr"] == pytest.approx(float(row["psnr_noisy_db"]), abs=0.01)
        assert result.alignment["identity"], row["pair_id"]
        reasons = [c["reason"] for c in result.alignment["corrections"]]
        assert all("polyu benchmark pair" in reason for reason in reasons)
        # Scoring unaligned is exactly what --align never scores.
        never = evalkit.score(reference, noisy, noisy=noisy, ocr=None, detectors=(), align="never")
        assert result.metrics == never.metrics


def test_the_command_line_scores_a_polyu_pair_as_published(shared_data):
    from typer.testing import CliRunner

    root, rows = _published(shared_data)
    row = next(r for r in rows if r["pair_id"] == "NikonD800_8_100_6400_bulletin_5")
    reference, noisy = str(root / row["reference"]), str(root / row["noisy"])
    args = ["score", reference, noisy, "--noisy", noisy, "--ocr", "none", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["metrics"]["psnr"] == pytest.approx(32.746, abs=0.01)
    assert document["alignment"]["identity"]


def test_the_polyu_shift_that_pair_check_measures_is_corrected_off_the_benchmark(shared_data):
    # The PolyU noisy shot is one of the exposures averaged into the reference, and
    # sits 0.2 px from their mean: the benchmark's convention keeps it; the same
    # images without the benchmark's names (arrays here) are corrected where the
    # data show it: the shift, not the exposure.
    root, _ = _published(shared_data)
    stem = "NikonD800_8_100_6400_bulletin_5"
    reference, noisy = (load_image(root / f"{stem}_{role}.JPG") for role in ("mean", "real"))
    check = evalkit.align.check_pair(reference, noisy)
    shift = check.measurements["corrections"]["shift"]
    assert shift["applied"] and np.hypot(shift["estimate"]["dx"], shift["estimate"]["dy"]) > 0.15
    result = evalkit.score(reference, noisy, noisy=noisy, ocr=None, detectors=())
    applied = {c["name"]: c["applied"] for c in result.alignment["corrections"]}
    assert applied == {"shift": True, "exposure": False}
    assert result.metrics["psnr"] > 32.746 + 1.0


@pytest.mark.slow
def test_a_run_over_the_polyu_folder_gives_the_published_mean(shared_data, tmp_path):
    root, rows = _published(shared_data)
    config = RunConfig.from_dict(
        {
            "dataset": str(root),
            "metrics": ["psnr"],
            "ocr": "none",
            "detectors": [],
            "denoiser": [{"name": "noisy"}],
        }
    )
    result = evalkit.run(config, out=tmp_path / "polyu")
    psnr = result.table.query("metric == 'psnr' and status == 'ok'")
    assert len(psnr) == len(rows) == 13
    published = np.mean([float(r["psnr_noisy_db"]) for r in rows])
    assert psnr["value"].mean() == pytest.approx(published, abs=0.01)
    assert all(a["identity"] for a in result.alignments.values())


@pytest.mark.slow
def test_a_run_over_whole_polyu_frames_scores_every_pair(shared_data, tmp_path):
    folder = shared_data / "real-pairs" / "polyu-full"
    config = RunConfig.from_dict(
        {
            "dataset": {"layout": "polyu", "path": str(folder)},
            "metrics": ["psnr"],
            "ocr": "none",
            "detectors": [],
            "denoiser": [{"name": "noisy"}],
        }
    )
    result = evalkit.run(config, out=None)
    psnr = result.table.query("metric == 'psnr' and status == 'ok'")
    assert len(psnr) == 12
    assert set(psnr["iso"].dropna()) >= {800.0, 6400.0}  # read from EXIF
    assert all(a["identity"] for a in result.alignments.values())


@pytest.mark.slow
def test_no_correction_is_invented_on_a_registered_real_photo(shared_data):
    # Each whole-frame reference against itself with camera-like noise added: the
    # pair is registered and equally exposed by construction.
    rng = np.random.default_rng(0)
    for path in sorted((shared_data / "real-pairs" / "polyu-full").glob("*_mean.JPG"))[::3]:
        reference = load_image(path)
        sigma = np.sqrt(0.0004 * reference + 0.0001)  # shot and read noise
        noisy = np.clip(reference + sigma * rng.standard_normal(reference.shape), 0, 1)
        alignment = align_reference(reference, noisy.astype(np.float32))
        assert alignment.is_identity, (path.name, [c.reason for c in alignment.corrections])


def test_a_moved_brightened_real_reference_scores_within_0_3_db_of_the_unmoved(shared_data):
    import cv2

    # A real frame photographed twice at a fifth of its resolution: the sensor
    # integrates 5x5 pixels, moved by 7 of them (1.4 px) for the second shot.
    # Chinese calligraphy: sharp strokes, and no highlight that 8 % more would clip.
    frame = load_image(shared_data / "real-pairs" / "polyu-full" / "Nikon800_photo_mean.JPG")

    def shot(dx, dy):
        window = frame[200 + dy : 200 + dy + 2000, 300 + dx : 300 + dx + 3000]
        return cv2.resize(window, (600, 400), interpolation=cv2.INTER_AREA)

    unmoved, moved = shot(0, 0), np.clip(shot(7, 2) * np.float32(1.08), 0, 1)
    rng = np.random.default_rng(3)
    noisy = np.clip(unmoved + rng.normal(0, 0.04, unmoved.shape), 0, 1).astype(np.float32)
    candidate = cv2.GaussianBlur(noisy, (0, 0), 1.0)  # an honest, soft denoiser
    aligned = align_reference(moved, noisy)
    assert [c.applied for c in aligned.corrections] == [True, True]
    assert aligned.shift == pytest.approx((-1.4, -0.4), abs=0.05)
    moved_score = peak_signal_noise_ratio(aligned.reference, aligned.crop(candidate))
    unmoved_score = peak_signal_noise_ratio(aligned.crop(unmoved), aligned.crop(candidate))
    assert abs(moved_score - unmoved_score) <= 0.3
