"""Each detector flags its failure at the right place and stays quiet on honest output."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from conftest import (
    DESK_REGIONS,
    ai_like,
    band_texture,
    camera_shot,
    fabric,
    grille,
    natural,
    nlm,
    overlaps,
    serious,
    unsharp,
)

from evalkit.detectors import (
    DEFAULT_DETECTORS,
    DETECTORS,
    Detection,
    collect_findings,
    detect_color_shift,
    detect_detail_loss,
    detect_highlight_clipping,
    detect_oversharpening,
    detect_residual_noise,
    detect_shadow_clipping,
    detect_texture_hallucination,
    detect_tone_shift,
    run_detectors,
)
from evalkit.findings import Finding, Severity

ALL = [name for name in DEFAULT_DETECTORS]


def _grey(shape, value):
    return np.full((*shape, 3), value, np.float32)


# --- contract, for every registered detector -------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_detector_finds_nothing_serious_in_the_reference_itself(name):
    reference = natural("astronaut", 128)
    (detection,) = run_detectors(reference, reference, names=[name])
    assert isinstance(detection, Detection)
    assert detection.detector == name
    assert not serious(detection.findings)
    if detection.unavailable is None:
        assert np.isfinite(detection.score)
        assert detection.map is None or (
            detection.map.shape == reference.shape[:2] and detection.map.dtype == np.float32
        )


@pytest.mark.parametrize("name", ALL)
def test_detector_findings_use_its_name_and_pixel_boxes(name):
    reference = natural("coffee", 128)
    candidate = np.clip((reference - 0.5) * 1.6 + 0.55, 0, 1)
    (detection,) = run_detectors(reference, candidate, names=[name])
    for finding in detection.findings:
        assert isinstance(finding, Finding)
        assert finding.detector == name
        assert finding.message
        if finding.bbox is not None:
            x, y, w, h = finding.bbox
            assert x >= 0 and y >= 0 and w > 0 and h > 0
            assert x + w <= 128 and y + h <= 128


def test_detection_is_frozen():
    reference = natural("astronaut", 64)
    detection = detect_tone_shift(reference, reference)
    with pytest.raises(dataclasses.FrozenInstanceError):
        detection.score = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        detection.measures["slope"] = 2.0  # type: ignore[index]


def test_registry_lists_every_builtin_detector():
    assert set(DEFAULT_DETECTORS) <= set(DETECTORS.names())
    assert len(DEFAULT_DETECTORS) == 9


def test_unknown_detector_name_suggests_the_close_one():
    reference = natural("astronaut", 64)
    with pytest.raises(KeyError, match="did you mean 'oversharpening'"):
        run_detectors(reference, reference, names=["oversharpenning"])


def test_settings_for_a_detector_not_run_are_refused():
    reference = natural("astronaut", 64)
    with pytest.raises(ValueError, match="tone_shif"):
        run_detectors(reference, reference, names=["color_shift"], settings={"tone_shif": {}})


def test_settings_reach_the_detector():
    reference = natural("astronaut", 128)
    candidate = np.clip((reference - 0.5) * 1.08 + 0.5, 0, 1)
    (default,) = run_detectors(reference, candidate, names=["tone_shift"])
    (strict,) = run_detectors(
        reference, candidate, names=["tone_shift"], settings={"tone_shift": {"slope_warning": 0.02}}
    )
    assert not serious(default.findings)
    assert serious(strict.findings)


@pytest.mark.parametrize(
    ("candidate", "error", "match"),
    [
        (np.zeros((64, 64), np.float32), ValueError, r"shape \(H, W, 3\)"),
        (np.zeros((64, 64, 3), np.uint8), TypeError, "float"),
        (np.zeros((64, 32, 3), np.float32), ValueError, "shape"),
        (np.full((64, 64, 3), np.nan, np.float32), ValueError, "NaN"),
        ([[0.0]], TypeError, "numpy array"),
    ],
)
def test_unusable_candidate_is_refused_with_what_was_expected(candidate, error, match):
    reference = np.zeros((64, 64, 3), np.float32)
    with pytest.raises(error, match=match):
        run_detectors(reference, candidate)


def test_threshold_must_be_positive():
    reference = natural("astronaut", 64)
    with pytest.raises(ValueError, match="flat_std"):
        detect_texture_hallucination(reference, reference, flat_std=0)


def test_an_array_edited_in_place_is_analysed_again():
    reference = natural("astronaut", 128)
    candidate = reference.copy()
    assert detect_texture_hallucination(reference, candidate).score == 0
    candidate[:] = np.clip(candidate + band_texture((128, 128), 0.05)[..., None], 0, 1)
    assert detect_texture_hallucination(reference, candidate).score > 0


def test_collect_findings_puts_the_most_severe_first(desk):
    reference, noisy, candidate = desk
    findings = collect_findings(
        run_detectors(reference, ai_like(candidate, reference), noisy=noisy)
    )
    ranks = [Severity(f.severity).rank for f in findings]
    assert ranks == sorted(ranks, reverse=True)


# --- honest output stays below warning -------------------------------------------------


@pytest.mark.parametrize("iso", [800, 3200, 12800])
@pytest.mark.parametrize("scene", ["astronaut", "coffee", "chelsea"])
def test_non_local_means_of_a_camera_shot_raises_no_warning(scene, iso):
    reference = natural(scene, 160)
    noisy = camera_shot(reference, iso)
    findings = collect_findings(run_detectors(reference, nlm(noisy), noisy=noisy))
    assert not serious(findings), [f.message for f in serious(findings)]


def test_the_noisy_shot_itself_is_residual_noise_not_hallucination():
    reference = natural("astronaut", 160)
    noisy = camera_shot(reference, 3200)
    detections = run_detectors(reference, noisy, noisy=noisy)
    assert not serious(collect_findings(detections))
    (residual,) = [d for d in detections if d.detector == "residual_noise"]
    assert residual.score == pytest.approx(1.0)
    # What texture_hallucination notes on its blank areas is said to be the noise.
    (texture,) = [d for d in detections if d.detector == "texture_hallucination"]
    assert texture.findings
    assert all("noise left in" in f.message for f in texture.findings)


def test_a_one_pixel_shift_already_corrected_raises_no_warning():
    reference = natural("coffee", 160)
    shifted = np.roll(reference, (1, 1), axis=(0, 1))
    corrected = np.roll(shifted, (-1, -1), axis=(0, 1))
    # Registration loses the wrapped row and column; it repeats the neighbours instead.
    corrected[-1], corrected[:, -1] = corrected[-2], corrected[:, -2]
    assert not serious(collect_findings(run_detectors(reference, corrected)))


# --- each failure flagged at its place ---------------------------------------------------


def _scene_with(patch, at, size=(192, 192), background=0.45):
    scene = _grey(size, background)
    x, y = at
    scene[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    return scene


def test_unsharp_mask_on_a_grille_is_oversharpening_at_the_grille():
    reference = _scene_with(grille((64, 64)), (96, 32))
    candidate = unsharp(reference, radius=1.0, amount=1.5)
    detection = detect_oversharpening(reference, candidate)
    bad = serious(detection.findings)
    assert len(bad) == 1
    assert overlaps(bad[0].bbox, (96, 32, 64, 64), min_share=0.8)
    assert "sharpened" in bad[0].message


def test_oversharpening_calls_out_amplified_noise():
    reference = _scene_with(grille((64, 64)), (96, 32))
    noisy = camera_shot(reference, 3200)
    candidate = unsharp(noisy, radius=1.0, amount=1.5)
    bad = serious(detect_oversharpening(reference, candidate, noisy=noisy).findings)
    assert bad and "noise amplified" in bad[0].message


def test_texture_added_to_a_blank_patch_is_hallucination_there():
    reference = _grey((192, 192), 0.8)
    candidate = reference.copy()
    candidate[64:128, 32:96] += band_texture((64, 64), 0.03)[..., None]
    detection = detect_texture_hallucination(reference, candidate)
    bad = serious(detection.findings)
    assert len(bad) == 1
    assert overlaps(bad[0].bbox, (32, 64, 64, 64), min_share=0.9)
    _x, _y, w, h = bad[0].bbox
    assert w * h <= 2 * 64 * 64  # the box stays around the patch
    assert "blank area" in bad[0].message


def test_invented_texture_is_flagged_even_when_the_input_was_noisy():
    reference = _grey((192, 192), 0.6)
    noisy = camera_shot(reference, 800)
    candidate = nlm(noisy)
    candidate[64:128, 32:96] += band_texture((64, 64), 0.03)[..., None]
    bad = serious(detect_texture_hallucination(reference, candidate, noisy=noisy).findings)
    assert len(bad) == 1 and overlaps(bad[0].bbox, (32, 64, 64, 64), min_share=0.9)
    assert "gained" in bad[0].message and "noise left in" not in bad[0].message


def _clean_shot_with_amplified_noise(gain, sigma=0.5 / 255):
    """A blank wall shot at low ISO (noise ``sigma``) and an output with that noise x gain."""
    rng = np.random.default_rng(3)
    reference = _grey((192, 192), 0.5)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (192, 192, 3)).astype(np.float32), (0, 0), 0.7)
    noise *= sigma / noise.std()
    return reference, reference + noise, reference + gain * noise


def test_noise_amplified_on_a_clean_shot_is_flagged_once_it_is_visible():
    # Noise of 0.5 levels (RGB) amplified 6x: 3.3x the noise and over the
    # visibility floor in luma, though under the old floor (1.5 levels a band) it
    # read as "at most the noise". A critical needs it plain at a glance (twice
    # the floor), so this stays a warning.
    reference, noisy, candidate = _clean_shot_with_amplified_noise(6.0)
    detection = detect_texture_hallucination(reference, candidate, noisy=noisy)
    assert detection.score > detection.measures["critical"]
    assert {f.severity for f in serious(detection.findings)} == {Severity.WARNING}


def test_noise_amplified_on_a_clean_shot_below_visibility_is_info_only():
    # 8x noise of 0.3 levels: a warning's ratio to the noise, seen by nobody.
    reference, noisy, candidate = _clean_shot_with_amplified_noise(8.0, sigma=0.3 / 255)
    detection = detect_texture_hallucination(reference, candidate, noisy=noisy)
    assert detection.score > detection.measures["warning"]
    assert detection.findings and not serious(detection.findings)


def test_a_faint_texture_of_the_scene_boosted_is_no_invented_texture():
    # A 2-level texture under the blank threshold, its contrast raised 1.5x: the
    # scene's own structure, explained by the reference (a difference of the two
    # energies called its 1.1 extra levels texture not in the reference).
    rng = np.random.default_rng(1)
    texture = cv2.GaussianBlur(rng.normal(0, 1, (192, 192)).astype(np.float32), (0, 0), 2.0)
    texture *= np.float32(2 / 255) / texture.std()
    reference = np.repeat((0.5 + texture)[..., None], 3, axis=2)
    noisy = reference + rng.normal(0, 0.3 / 255, reference.shape).astype(np.float32)
    boosted = np.repeat((0.5 + 1.5 * texture)[..., None], 3, axis=2)
    detection = detect_texture_hallucination(reference, boosted, noisy=noisy)
    assert detection.measures["flat_fraction"] == 1.0
    assert detection.findings == ()


def test_gaussian_blur_of_fabric_is_detail_loss():
    reference = _scene_with(fabric((96, 96)), (48, 48))
    candidate = cv2.GaussianBlur(reference, (0, 0), 2.0)
    bad = serious(detect_detail_loss(reference, candidate).findings)
    assert len(bad) == 1
    assert overlaps(bad[0].bbox, (48, 48, 96, 96), min_share=0.6)
    assert "flattened" in bad[0].message


def test_natural_texture_blurred_is_detail_loss_but_kept_texture_is_not():
    reference = natural("chelsea", 160)
    assert serious(detect_detail_loss(reference, cv2.GaussianBlur(reference, (0, 0), 2.5)).findings)
    assert not serious(detect_detail_loss(reference, reference).findings)


def test_contrast_stretch_is_a_tone_shift_and_clips_the_bright_patch():
    reference = _scene_with(_grey((48, 64), 0.92), (112, 32))
    reference[120:170, 20:90] = np.linspace(0.2, 0.7, 70, dtype=np.float32)[None, :, None]
    candidate = np.clip((reference - 0.5) * 1.3 + 0.5, 0, 1)
    tone = detect_tone_shift(reference, candidate)
    assert tone.measures["slope"] == pytest.approx(1.3, abs=0.05)
    (overall,) = [f for f in tone.findings if f.bbox is None]
    assert overall.severity == Severity.WARNING and "contrast rose by 30%" in overall.message
    clip = serious(detect_highlight_clipping(reference, candidate).findings)
    assert len(clip) == 1
    assert overlaps(clip[0].bbox, (112, 32, 64, 48), min_share=0.9)
    assert "blown out" in clip[0].message


def test_brightening_is_reported_in_stops():
    reference = natural("coffee", 128)
    candidate = np.clip(reference * 1.25, 0, 1)
    tone = detect_tone_shift(reference, candidate)
    assert tone.measures["stops"] > 0.2
    assert serious(tone.findings)


def test_hue_rotation_is_a_colour_shift():
    from skimage.color import hsv2rgb, rgb2hsv

    reference = natural("coffee", 160)
    hsv = rgb2hsv(reference)
    hsv[..., 0] = (hsv[..., 0] + 30 / 360) % 1.0
    candidate = hsv2rgb(hsv).astype(np.float32)
    detection = detect_color_shift(reference, candidate)
    bad = serious(detection.findings)
    assert bad and "hue turned" in bad[0].message
    assert detection.measures["p95"] > 5


def test_colour_shift_is_placed_on_the_patch_that_moved():
    reference = _scene_with(np.full((64, 64, 3), [0.7, 0.3, 0.2], np.float32), (96, 96))
    candidate = reference.copy()
    candidate[96:160, 96:160] = [0.7, 0.45, 0.2]
    bad = serious(detect_color_shift(reference, candidate).findings)
    assert len(bad) == 1 and overlaps(bad[0].bbox, (96, 96, 64, 64), min_share=0.9)


def test_darkening_crush_is_shadow_clipping_at_the_shadow():
    reference = _scene_with(_grey((64, 80), 0.05), (32, 96))
    candidate = np.clip((reference - 0.08) / 0.92, 0, 1)
    bad = serious(detect_shadow_clipping(reference, candidate).findings)
    assert len(bad) == 1
    assert overlaps(bad[0].bbox, (32, 96, 80, 64), min_share=0.9)
    assert "crushed to black" in bad[0].message


def test_noise_clipping_single_pixels_is_not_blown_highlights():
    reference = _grey((128, 128), 0.95)
    noisy = camera_shot(reference, 3200)
    assert (noisy.max(axis=2) >= 254.5 / 255).any()  # the noise does touch white
    assert not detect_highlight_clipping(reference, noisy).findings


def test_a_flat_near_white_area_nudged_onto_white_is_not_a_blow_out():
    # PolyU Canon80D_corne: a bare wall at 249-251 that an honest NLM put at 252
    # and a 1 % gain took to 255; nothing a viewer sees was lost.
    reference = _scene_with(_grey((96, 96), 250 / 255), (64, 64))
    nudged = reference.copy()
    nudged[64:160, 64:160] = 1.0
    found = detect_highlight_clipping(reference, nudged).findings
    assert found and not serious(found)  # reported, as info
    # The same area from 235, or with its shading, is blown out.
    for shading in (np.float32(235 / 255), np.linspace(0.94, 0.98, 96, dtype=np.float32)):
        reference[64:160, 64:160] = shading if np.ndim(shading) == 0 else shading[None, :, None]
        assert serious(detect_highlight_clipping(reference, nudged).findings)


def test_highlights_the_noisy_shot_had_already_blown_are_not_blamed():
    # PolyU Canon5D2_fruit: the high-ISO shot blows out glints that the mean of
    # many shots keeps at 240-250. Keeping them blown is not the denoiser's doing.
    reference = _scene_with(_grey((48, 48), 0.95), (64, 64))
    noisy = reference.copy()
    noisy[64:112, 64:112] = 1.0
    assert serious(detect_highlight_clipping(reference, noisy).findings)
    assert not serious(detect_highlight_clipping(reference, noisy, noisy=noisy).findings)
    # A denoiser that blows out a highlight the input kept is still caught there.
    reference[120:168, 120:168] = 0.95
    noisy[120:168, 120:168] = 0.95
    blown = noisy.copy()
    blown[120:168, 120:168] = 1.0
    bad = serious(detect_highlight_clipping(reference, blown, noisy=noisy).findings)
    assert len(bad) == 1 and overlaps(bad[0].bbox, (120, 120, 48, 48), min_share=0.9)


def test_shadows_the_noisy_shot_had_already_crushed_are_not_blamed():
    reference = _scene_with(_grey((48, 48), 0.03), (64, 64))
    noisy = reference.copy()
    noisy[64:112, 64:112] = 0.0
    assert serious(detect_shadow_clipping(reference, noisy).findings)
    assert not serious(detect_shadow_clipping(reference, noisy, noisy=noisy).findings)


def test_a_region_too_small_to_see_on_a_whole_frame_is_at_most_info():
    # One 32 px tile of a 4000 x 3000 frame is 0.009 % of it: below VISIBLE_AREA.
    from evalkit.detectors._base import VISIBLE_AREA, regions, visible_severity

    flags = np.zeros((94, 125), bool)
    flags[10, 10] = True
    (tile,) = regions(flags, 32, (3000, 4000))
    assert tile.area_fraction < VISIBLE_AREA
    assert visible_severity(Severity.CRITICAL, tile) == Severity.INFO
    flags[20:24, 20:24] = True
    big = max(regions(flags, 32, (3000, 4000)), key=lambda r: r.area_fraction)
    assert visible_severity(Severity.CRITICAL, big) == Severity.CRITICAL


def test_blind_checks_do_not_judge_where_the_noisy_shot_is_clipped():
    # PolyU Canon80D_corne: a wall blown out in the high-ISO shot carries no
    # noise, so the reference's faint shading there once read as 236x the noise.
    from evalkit.detectors._blind import (
        detect_oversharpening_blind,
        detect_texture_hallucination_blind,
    )

    reference = natural("coffee")
    noisy = camera_shot(reference, 1600)
    noisy[:96] = 1.0
    candidate = nlm(noisy)
    # The reference's faint shading where the noisy shot is white (2/255 RMS).
    candidate[:96] = np.clip(0.99 + band_texture((96, 192), 2 / 255, seed=5), 0, 1)[..., None]
    for detect in (detect_texture_hallucination_blind, detect_oversharpening_blind):
        bad = serious(detect(noisy, candidate).findings)
        assert not any(f.bbox[1] < 96 for f in bad), bad


def test_residual_noise_is_info_and_says_how_much_noise_is_left():
    reference = _grey((128, 128), 0.5)
    noisy = camera_shot(reference, 3200)
    denoised = detect_residual_noise(reference, nlm(noisy), noisy=noisy)
    untouched = detect_residual_noise(reference, noisy, noisy=noisy)
    assert 0 <= denoised.score < 0.7 < untouched.score
    (finding,) = denoised.findings
    assert finding.severity == Severity.INFO and "noise" in finding.message


def test_findings_are_capped_and_one_per_region():
    reference = _grey((384, 384), 0.8)
    candidate = reference.copy()
    # 16 patches, each inside one tile (the band-pass spreads a few pixels),
    # two tiles apart: 16 separate regions.
    for y in range(8, 384, 96):
        for x in range(8, 384, 96):
            patch = band_texture((16, 16), 0.04, seed=x + y)
            candidate[y : y + 16, x : x + 16] += patch[..., None]
    detection = detect_texture_hallucination(reference, candidate, max_findings=5)
    assert len(detection.findings) == 5
    scores = [f.score for f in detection.findings]
    assert scores == sorted(scores, reverse=True)


def test_an_unavailable_detector_reports_why_instead_of_failing():
    reference = natural("astronaut", 64)
    (face,) = run_detectors(reference, reference, names=["face_alteration"])
    if face.unavailable is None:
        pytest.skip("this OpenCV has Haar cascades")
    assert np.isnan(face.score) and "opencv" in face.unavailable.lower()


def test_a_redrawn_face_is_face_alteration():
    reference = natural("astronaut", 512)
    (face,) = run_detectors(reference, reference, names=["face_alteration"])
    if face.unavailable is not None:
        pytest.skip(face.unavailable)
    assert face.measures["faces"] >= 1
    candidate = reference.copy()
    x, y, w, h = 160, 40, 140, 160  # the astronaut's face in the 512 crop
    candidate[y : y + h, x : x + w] = cv2.GaussianBlur(candidate[y : y + h, x : x + w], (0, 0), 6)
    (face,) = run_detectors(reference, candidate, names=["face_alteration"])
    assert serious(face.findings)


# --- the composite desk scene ----------------------------------------------------------

EXPECTED = {
    "grille": "oversharpening",
    "paper": "texture_hallucination",
    "fabric": "detail_loss",
    "metal": "highlight_clipping",
    "red_text": "oversharpening",
}


def test_honest_denoise_of_the_desk_raises_no_warning(desk):
    reference, noisy, candidate = desk
    findings = collect_findings(run_detectors(reference, candidate, noisy=noisy))
    assert not serious(findings), [f.message for f in serious(findings)]


def test_ai_like_desk_failures_are_each_reported_once_at_their_place(desk):
    reference, noisy, candidate = desk
    findings = serious(
        collect_findings(run_detectors(reference, ai_like(candidate, reference), noisy=noisy))
    )
    for region, detector in EXPECTED.items():
        here = [f for f in findings if overlaps(f.bbox, DESK_REGIONS[region])]
        assert [f.detector for f in here] == [detector], (region, [f.message for f in here])
    # Nothing else is flagged: no finding away from the broken regions, none on the label.
    assert len(findings) == len(EXPECTED)
    assert not [f for f in findings if overlaps(f.bbox, DESK_REGIONS["label"], min_share=0.1)]
