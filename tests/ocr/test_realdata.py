"""Real photographs with text through the OCR path (../shared/data; skipped when absent).

A reference checked against itself must never report a hallucination; the noisy
shot checked as a candidate shows what the verdicts say on real camera noise.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from evalkit.io import load_image
from evalkit.ocr import check_text

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

POLYU = ["NikonD800_8_100_6400_bulletin_5", "Sony_4_200_3200_door_10"]
# name -> crop (rows, columns) that keeps the CPU time bounded; None = whole image.
TEXT_PHOTOS = {
    "skimage_page.png": None,
    "photo_ocr_book.jpg": (slice(0, 240), slice(0, 400)),  # ~50 lines of small print
    "photo_ocr_pub_example.jpg": None,
}


def shrink(image: np.ndarray, longest: int = 1024) -> np.ndarray:
    """Downscale so the longest side is at most ``longest`` px (keeps CPU time bounded)."""
    height, width = image.shape[:2]
    scale = longest / max(height, width)
    if scale >= 1:
        return image
    pil = Image.fromarray((image * 255 + 0.5).astype(np.uint8))
    pil = pil.resize((round(width * scale), round(height * scale)), Image.Resampling.LANCZOS)
    return np.asarray(pil, dtype=np.float32) / 255


@pytest.mark.parametrize("pair_id", POLYU)
def test_polyu_reference_against_itself_has_no_hallucination(shared_data, easyocr_engine, pair_id):
    folder = shared_data / "real-pairs" / "polyu"
    reference = load_image(folder / f"{pair_id}_mean.JPG")
    noisy = load_image(folder / f"{pair_id}_real.JPG")
    result = check_text(reference, reference.copy(), noisy=noisy)
    assert result.entries, "the detector found no text"
    assert result.metrics["text_hallucinations"] == 0, result.findings
    assert all(f.detector != "text_hallucination" for f in result.findings)
    # The real noisy shot as a candidate: reported, not asserted (camera noise can
    # make EasyOCR read other letters with confidence; see docs/ocr.md).
    noisy_check = check_text(reference, noisy)
    print(pair_id, noisy_check.metrics, [f.message for f in noisy_check.findings])


@pytest.mark.parametrize("name", sorted(TEXT_PHOTOS))
def test_text_photo_against_itself_has_no_hallucination(shared_data, easyocr_engine, name):
    from evalkit.datasets._camera_noise import simulate_shot, srgb_to_linear

    reference = shrink(load_image(shared_data / "text-photos" / name))
    if TEXT_PHOTOS[name] is not None:
        reference = np.ascontiguousarray(reference[TEXT_PHOTOS[name]])
    noisy = simulate_shot(srgb_to_linear(reference), iso=3200, rng=np.random.default_rng(7))
    result = check_text(reference, reference.copy(), noisy=noisy)
    assert result.entries, "the detector found no text"
    assert result.metrics["text_hallucinations"] == 0, result.findings
    noisy_check = check_text(reference, noisy)
    print(name, noisy_check.metrics, [f.message for f in noisy_check.findings])
