"""`check_pair` flags each injected problem and passes a clean pair."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import render, rigid

from evalkit.align import check_pair

H, W = 192, 256


def _detectors(check, severities=("warning", "critical")):
    return {f.detector for f in check.findings if f.severity.value in severities}


@pytest.fixture
def clean_pair(scene, noisy_of):
    reference = render(H, W, matrix=rigid(0.4, -0.3))
    return reference * 0.8 + 0.1, noisy_of(scene * 0.8 + 0.1, sigma=0.04)


def test_a_clean_pair_passes(clean_pair):
    check = check_pair(*clean_pair)
    assert check.verdict == "ok", check.lines()


def test_a_large_shift_is_flagged_as_misalignment(scene, noisy_of):
    reference = render(H, W, matrix=rigid(5.0, 2.0)) * 0.8 + 0.1
    check = check_pair(reference, noisy_of(scene * 0.8 + 0.1, sigma=0.04))
    assert "misalignment" in _detectors(check)


def test_a_rotation_left_after_translation_is_flagged(scene, noisy_of):
    reference = render(H, W, matrix=rigid(0, 0, 1.5)) * 0.8 + 0.1
    check = check_pair(reference, noisy_of(scene * 0.8 + 0.1, sigma=0.04))
    assert check.verdict == "bad"
    assert "misalignment" in _detectors(check, ("critical",))


def test_a_brightness_mismatch_is_flagged(clean_pair):
    reference, noisy = clean_pair
    check = check_pair(np.clip(reference * 0.85, 0, 1), noisy)
    assert "brightness" in _detectors(check)
    assert check.measurements["gain"] == pytest.approx([1 / 0.85] * 3, rel=0.02)


def test_motion_in_the_scene_is_flagged_with_its_box(clean_pair):
    reference, noisy = clean_pair
    moved = reference.copy()
    moved[40:100, 60:140] = np.roll(reference[40:100, 60:140], 9, axis=1)[:, ::-1]
    check = check_pair(moved, noisy)
    motion = [f for f in check.findings if f.detector == "motion"]
    assert motion and motion[0].severity.value in ("warning", "critical")
    x, y, w, h = motion[0].bbox
    assert 40 <= x + w / 2 <= 160 and 30 <= y + h / 2 <= 110


def test_clipping_in_the_reference_is_flagged(clean_pair):
    reference, noisy = clean_pair
    clipped = reference.copy()
    clipped[10:40, 10:60] = 1.0
    check = check_pair(clipped, noisy)
    assert "clipping" in _detectors(check)


def test_a_noisy_reference_is_flagged(clean_pair, rng):
    reference, noisy = clean_pair
    for sigma, severities in ((0.04, ("warning", "critical")), (0.1, ("critical",))):
        noisy_reference = np.clip(reference + rng.normal(0, sigma, reference.shape), 0, 1)
        check = check_pair(noisy_reference.astype(np.float32), noisy)
        assert "noisy_reference" in _detectors(check, severities), (sigma, check.lines())


def test_lines_end_with_the_verdict_and_to_dict_is_json(clean_pair):
    reference, noisy = clean_pair
    check = check_pair(np.clip(reference * 0.85, 0, 1), noisy)
    lines = check.lines()
    assert lines[-1] == f"verdict: {check.verdict}"
    assert len(lines) == len(check.findings) + len(check.alignment.corrections) + 1
    assert "alignment exposure: applied: improves the fit" in lines[-2]
    data = json.loads(json.dumps(check.to_dict()))
    assert data["verdict"] == check.verdict and data["alignment"]["method"] == "translation"
    assert data["measurements"]["corrections"]["exposure"]["applied"]


@pytest.mark.realdata
@pytest.mark.slow
def test_no_polyu_pair_is_judged_bad(shared_data):
    from evalkit.datasets._loaders import load_polyu

    for pair in load_polyu(shared_data / "real-pairs" / "polyu"):
        check = check_pair(*pair.load())
        assert check.verdict != "bad", (pair.id, check.lines())


def test_a_benchmark_convention_is_reported_with_what_was_measured(clean_pair):
    reference, noisy = clean_pair
    check = check_pair(np.clip(reference * 0.85, 0, 1), noisy, convention="not applied: why")
    corrections = check.measurements["corrections"]
    assert not corrections["shift"]["applied"] and not corrections["exposure"]["applied"]
    assert corrections["shift"]["reason"].startswith("not applied: why; measured: improves")
    assert check.alignment.is_identity
    brightness = [f for f in check.findings if f.detector == "brightness"]
    assert brightness and "scoring leaves it (not applied: why" in brightness[0].message


def test_an_uncertain_gain_is_no_brightness_finding(scene, noisy_of):
    # Grey card with a faint print: its values span a few codes, and the gain fitted
    # on a noisy shot of it is 1 +- 0.07, which does not improve the match.
    card = (0.5 + 0.02 * (scene - 0.5)).astype(np.float32)
    check = check_pair(card, noisy_of(card, sigma=0.05))
    exposure = check.alignment.correction("exposure")
    assert not exposure.supported and max(exposure.uncertainty["gain"]) > 0.03
    assert not [f for f in check.findings if f.detector == "brightness"], check.lines()
