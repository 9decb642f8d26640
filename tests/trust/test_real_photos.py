"""Findings users can trust on real photographs (PolyU pairs, skipped when absent).

No warning and no critical for an honest output (the reference itself, a mild
OpenCV non-local means), in ``score`` and in ``inspect``; and tiny perturbations
of an honest output (a sub-pixel shift, a 1 % gain, a JPEG re-save at quality
95), which no viewer can see, move no finding to warning or critical.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import evalkit
from evalkit.align._register import shift_image
from evalkit.datasets import load_dataset_dir
from evalkit.denoisers import make_denoiser
from evalkit.findings import boxes_overlap

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

#: Crops with legible text, read by the OCR check; the others are scored without it
#: (they have no text, and reading nothing costs a detector pass each).
TEXT_CROPS = ("bulletin_3", "door_10", "book_11")


@pytest.fixture(scope="module")
def crops():
    """(pair id, reference, noisy, mild NLM output) of every PolyU crop."""
    folder = SHARED_DATA / "real-pairs" / "polyu"
    if not folder.is_dir():
        pytest.skip("../shared/data/real-pairs/polyu is not present")
    out = []
    for pair in load_dataset_dir(folder):
        reference, noisy = pair.load()
        honest = make_denoiser("opencv_nlm", h=4.0).denoise(noisy)
        out.append((pair.id, reference, noisy, honest))
    return out


def _serious(result) -> dict[tuple[str, str], str]:
    """(detector, severity) → message of each warning and critical."""
    return {
        (f.detector, f.severity.value): f"{f.bbox}: {f.message}"
        for f in result.findings
        if f.severity.value in ("warning", "critical")
    }


def _both_modes(reference, noisy, candidate, *, text: bool) -> dict[str, dict]:
    # Arrays, not the PolyU file names: a user's own photos carry no benchmark
    # name, so the alignment decides (and here registers the PolyU shift).
    scored = evalkit.score(reference, candidate, noisy=noisy, ocr="easyocr" if text else None)
    inspected = evalkit.inspect(noisy, candidate, text=text)
    return {"score": _serious(scored), "inspect": _serious(inspected)}


def _reads_text(pair_id: str) -> bool:
    return any(name in pair_id for name in TEXT_CROPS)


def test_the_reference_itself_and_a_mild_nlm_draw_no_warning_on_any_real_pair(crops):
    pytest.importorskip("easyocr_en_models")
    alarms = {}
    for pair_id, reference, noisy, honest in crops:
        for name, candidate in (("reference", reference), ("nlm h=4", honest)):
            found = _both_modes(reference, noisy, candidate, text=_reads_text(pair_id))
            alarms.update({(pair_id, name, mode): f for mode, f in found.items() if f})
    assert alarms == {}


def _jpeg95(image: np.ndarray) -> np.ndarray:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.rint(image * 255).astype(np.uint8)).save(buffer, "JPEG", quality=95)
    return np.asarray(Image.open(buffer), dtype=np.float32) / 255


PERTURBATIONS = {
    "shift 0.3 px": lambda image: np.clip(shift_image(image, 0.3, -0.3), 0, 1),
    "gain 1 %": lambda image: np.clip(image * 1.01, 0, 1),
    "JPEG q95": _jpeg95,
}


@pytest.mark.parametrize("perturbation", list(PERTURBATIONS))
def test_an_invisible_perturbation_of_an_honest_output_moves_no_finding_up(crops, perturbation):
    pytest.importorskip("easyocr_en_models")
    perturb = PERTURBATIONS[perturbation]
    alarms = {}
    for pair_id, reference, noisy, honest in crops:
        text = _reads_text(pair_id)
        before = _both_modes(reference, noisy, honest, text=text)
        after = _both_modes(reference, noisy, perturb(honest), text=text)
        for mode in before:
            new = {key: message for key, message in after[mode].items() if key not in before[mode]}
            if new:
                alarms[(pair_id, mode)] = new
    assert alarms == {}


def test_an_invisible_perturbation_moves_no_finding_up_on_whole_frames():
    # Whole frames hold what crops do not: a bare near-white wall, which a 1 %
    # gain of an honest NLM took onto white (PolyU Canon80D_corne). Judged
    # without a reference, the mode that sees every frame of a user's own.
    folder = SHARED_DATA / "real-pairs" / "polyu-full"
    if not folder.is_dir():
        pytest.skip("../shared/data/real-pairs/polyu-full is not present")
    alarms = {}
    for pair in load_dataset_dir(folder):
        _, noisy = pair.load()
        honest = make_denoiser("opencv_nlm", h=4.0).denoise(noisy)
        before = _serious(evalkit.inspect(noisy, honest, text=False))
        for name, perturb in PERTURBATIONS.items():
            after = _serious(evalkit.inspect(noisy, perturb(honest), text=False))
            new = {key: message for key, message in after.items() if key not in before}
            if new:
                alarms[(pair.id, name)] = new
    assert alarms == {}


def _most_textured_window(image: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the ``size``-px window with the most 2-6 px luma detail."""
    import cv2

    grey = image @ np.float32([0.299, 0.587, 0.114])
    detail = (grey - cv2.GaussianBlur(grey, (0, 0), 3.0)) ** 2
    energy = cv2.blur(detail, (size, size))
    half = size // 2
    inner = energy[half:-half, half:-half]
    y, x = np.unravel_index(np.argmax(inner), inner.shape)
    return int(x), int(y), size, size


@pytest.mark.parametrize("sigma", [4.0, 8.0], ids=["blurred", "smoothed-to-nothing"])
def test_a_real_texture_smoothed_flat_is_caught_without_a_reference(crops, sigma):
    import cv2

    caught = []
    for _pair_id, _reference, noisy, honest in crops:
        x, y, w, h = box = _most_textured_window(noisy, 128)
        flattened = honest.copy()
        flattened[y : y + h, x : x + w] = cv2.GaussianBlur(honest, (0, 0), sigma)[
            y : y + h, x : x + w
        ]
        found = evalkit.inspect(noisy, flattened, text=False).findings
        caught.append(
            any(
                f.detector == "detail_loss"
                and f.severity.value != "info"
                and f.bbox
                and boxes_overlap(f.bbox, box)
                for f in found
            )
        )
    # The honest NLM of the same crops draws no warning (the tests above).
    print(f"texture blurred (sigma {sigma} px), caught without a reference:", sum(caught))
    assert sum(caught) >= 0.9 * len(caught), caught
