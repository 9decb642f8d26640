"""EasyOCR on rendered text: the verdicts the issue asks for, end to end.

Each scene has three lines ("keyboard", "Label 8", "quick brown fox"); the
hallucinated output draws "kőłyboard", "Label B" and "quick brawn fox" at the same
places. The default run uses one style; the other fonts, sizes, colours,
backgrounds and rotations, and automatic region detection, are marked slow.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from evalkit.datasets import TextRegion
from evalkit.ocr import cache_info, check_text

from ._render import DEJAVU, Style, render

pytestmark = pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu fonts not installed")

ORIGINAL = ["keyboard", "Label 8", "quick brown fox"]
CHANGED = ["kőłyboard", "Label B", "quick brawn fox"]

BASE = Style()
STYLES = {
    "default-font": Style(font="default", size=26),
    "serif-red-on-white": Style(
        font="dejavu-serif", size=22, colour=(200, 30, 30), background=(250, 250, 250)
    ),
    "small-blue-on-green-rotated": Style(
        size=18, colour=(30, 30, 120), background=(200, 210, 190), angle=2.0
    ),
    "large-white-on-dark-rotated": Style(
        size=34, colour=(240, 240, 240), background=(40, 45, 60), angle=-1.5
    ),
}


def scene(style: Style):
    reference, boxes = render(ORIGINAL, style)
    changed, _ = render(CHANGED, style, layout=ORIGINAL)
    regions = [TextRegion(box, text) for box, text in zip(boxes, ORIGINAL, strict=True)]
    # The changed glyphs need a font that has them: Pillow's bundled font has no "ő".
    if style.font == "default":
        changed, _ = render(["kexyboard", "Label B", "quick brawn fox"], style, layout=ORIGINAL)
    return reference, changed, regions


def noisy_and_denoised(reference: np.ndarray, seed: int):
    """A lightly noisy shot (simulated camera at ISO 800) and a mild NL-means of it."""
    from skimage.restoration import denoise_nl_means, estimate_sigma

    from evalkit.datasets._camera_noise import simulate_shot, srgb_to_linear

    noisy = simulate_shot(srgb_to_linear(reference), iso=800, rng=np.random.default_rng(seed))
    sigma = float(np.mean(estimate_sigma(noisy, channel_axis=-1)))
    denoised = denoise_nl_means(
        noisy,
        h=0.8 * sigma,
        sigma=sigma,
        patch_size=5,
        patch_distance=6,
        channel_axis=-1,
        fast_mode=True,
    )
    return noisy, denoised.astype(np.float32)


def heavy_blur(image: np.ndarray) -> np.ndarray:
    return gaussian_filter(image, sigma=(3.5, 3.5, 0)).astype(np.float32)


def verdicts(result):
    return [entry["verdict"] for entry in result.entries]


def detectors(result):
    return sorted(finding.detector for finding in result.findings)


def assert_verdicts(style: Style, regions_from_annotation: bool):
    reference, changed, regions = scene(style)
    regions = regions if regions_from_annotation else None
    noisy, denoised = noisy_and_denoised(reference, seed=3)

    same = check_text(reference, reference.copy(), regions=regions)
    assert same.findings == [], same.entries
    assert verdicts(same) == ["kept"] * len(same.entries)

    mild = check_text(reference, denoised, noisy=noisy, regions=regions)
    assert [f for f in mild.findings if f.detector != "text_recovered"] == [], mild.entries

    invented = check_text(reference, changed, noisy=noisy, regions=regions)
    hallucinated = " | ".join(e["reference_text"] for e in invented.entries if e["hallucinated"])
    # The detector may split a slanted line ("quick" + "brown fox"): look for the
    # changed word of each line among the regions reported as hallucinated.
    for word in ("keyboard", "8", "brown"):
        assert word in hallucinated, invented.entries

    blurred = check_text(reference, heavy_blur(reference), noisy=noisy, regions=regions)
    assert detectors(blurred) == ["text_legibility_loss"] * len(blurred.entries), blurred.entries


def test_identical_output_gives_no_finding(easyocr_engine):
    reference, _, regions = scene(BASE)
    result = check_text(reference, reference.copy(), regions=regions)
    assert result.findings == []
    assert [e["candidate_text"] for e in result.entries] == ORIGINAL
    assert result.metrics["ocr_cer"] == 0.0


def test_changed_letters_digit_and_word_are_hallucinations(easyocr_engine):
    reference, changed, regions = scene(BASE)
    result = check_text(reference, changed, regions=regions)
    assert detectors(result) == ["text_hallucination"] * 3, result.entries
    keyboard = next(f for f in result.findings if '"keyboard"' in f.message)
    assert keyboard.message.startswith('reference reads "keyboard", output reads "k')
    assert keyboard.bbox == regions[0].bbox
    label = next(e for e in result.entries if e["true_text"] == "Label 8")
    assert label["candidate_text"] == "Label B"
    assert label["diff"] == [{"op": "substitute", "position": 6, "reference": "8", "output": "B"}]
    assert result.metrics["text_hallucinations"] == 3


def test_heavy_blur_is_a_legibility_loss(easyocr_engine):
    reference, _, regions = scene(BASE)
    result = check_text(reference, heavy_blur(reference), regions=regions)
    assert detectors(result) == ["text_legibility_loss"] * 3, result.entries


def test_mild_denoising_gives_no_finding(easyocr_engine):
    reference, _, regions = scene(BASE)
    noisy, denoised = noisy_and_denoised(reference, seed=1)
    result = check_text(reference, denoised, noisy=noisy, regions=regions)
    assert result.findings == [], result.entries
    assert result.metrics["ocr_cer"] == 0.0


def test_reference_crops_are_read_once_for_many_candidates(easyocr_engine, fresh_ocr_cache):
    reference, changed, regions = scene(BASE)
    candidates = (reference.copy(), changed, heavy_blur(reference))
    for candidate in candidates:
        check_text(reference, candidate, regions=regions, second_engine=None)
    # 3 reference crops + 3 changed + 3 blurred, and the 6 suspected changes
    # (3 hallucinations, 3 losses) each re-read on enlarged crops: the 3
    # reference crops once, the 6 candidate crops once each; the identical
    # candidate and every later reference read are cache hits.
    assert cache_info()["readings"].misses == 18
    for candidate in candidates:
        check_text(reference, candidate, regions=regions, second_engine=None)
    assert cache_info()["readings"].misses == 18


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STYLES))
def test_verdicts_hold_across_fonts_colours_and_rotation(easyocr_engine, name):
    assert_verdicts(STYLES[name], regions_from_annotation=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["base", *sorted(STYLES)])
def test_verdicts_hold_with_regions_detected_on_the_reference(easyocr_engine, name):
    style = BASE if name == "base" else STYLES[name]
    if name == "default-font":
        pytest.skip("Pillow's bundled font cannot draw the changed glyphs")
    assert_verdicts(style, regions_from_annotation=False)


def test_reading_before_any_detection_loads_no_detector_and_reads_alike(easyocr_engine):
    # Lines found earlier (the cache) are read without CRAFT, which only
    # detection loads; detection must still work afterwards.
    from evalkit.ocr._easyocr import EasyOcrEngine

    reference, _, regions = scene(BASE)
    crops = []
    for region in regions:
        x, y, w, h = region.bbox
        crops.append((np.clip(reference[y : y + h, x : x + w], 0, 1) * 255).astype(np.uint8))
    engine = EasyOcrEngine()
    readings = [engine.read(crop) for crop in crops]
    assert engine._craft_model is None
    assert readings == [easyocr_engine.read(crop) for crop in crops]
    assert [r.text for r in readings] == ORIGINAL
    found = engine.detect((reference * 255).astype(np.uint8))
    assert len(found) == len(ORIGINAL)


def assert_read_as_easyocr_reads(engine, reader, greys: list[np.ndarray]) -> None:
    """Each grey crop reads as EasyOCR's ``recognize`` reads it (the whole crop
    one line), text and confidence, bit for bit."""
    expected = []
    for grey in greys:
        ((_, text, confidence),) = reader.recognize(grey, detail=1, paragraph=False)
        expected.append((text, confidence))
    # Read side by side (read_many), each as read() reads it.
    assert engine.recogniser().read_many(greys) == expected


def test_two_callers_reading_at_once_keep_their_torch_threads(easyocr_engine, monkeypatch):
    # Torch's (OpenMP's) thread count belongs to each thread, but the count last
    # set is the one threads new to torch start with: two scores reading at once
    # must leave both callers, and threads started later, as they were.
    import threading

    import torch

    from evalkit.ocr import _crnn

    reference, _, regions = scene(BASE)
    greys = [_grey(reference, r.bbox) for r in regions]
    monkeypatch.setattr(_crnn, "thread_budget", lambda: 2)
    recogniser = easyocr_engine.recogniser()
    expected = [recogniser.read(grey) for grey in greys]
    both_reading, both_done = threading.Barrier(2), threading.Barrier(2)
    after = {}

    def caller(name):
        torch.set_num_threads(2)
        both_reading.wait()
        readings = recogniser.read_many(greys)
        both_done.wait()
        after[name] = (readings, torch.get_num_threads())

    callers = [threading.Thread(target=caller, args=(name,)) for name in "ab"]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join()
    assert after == {"a": (expected, 2), "b": (expected, 2)}
    fresh = []
    thread = threading.Thread(target=lambda: fresh.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert fresh == [2]


def _grey(image, box):
    import cv2

    x, y, w, h = box
    return cv2.cvtColor((image * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)[y : y + h, x : x + w]


def test_lines_are_read_side_by_side_by_single_threaded_readers(easyocr_engine, monkeypatch):
    import threading

    import torch

    from evalkit.ocr import _crnn

    reference, changed, regions = scene(BASE)
    greys = [_grey(image, r.bbox) for image in (reference, changed) for r in regions]
    monkeypatch.setattr(_crnn, "thread_budget", lambda: 2)  # two cores, or more
    recogniser = easyocr_engine.recogniser()
    one_by_one = [recogniser.read(grey) for grey in greys]
    seen = []
    read = type(recogniser).read

    def spy(self, grey):
        seen.append((threading.current_thread().name, torch.get_num_threads()))
        return read(self, grey)

    monkeypatch.setattr(type(recogniser), "read", spy)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert recogniser.read_many(greys) == one_by_one
        assert {name.split("_")[0] for name, _ in seen} == {"evalkit-read"}
        assert {count for _, count in seen} == {1}
        assert torch.get_num_threads() == 2
        # Torch allowed one thread: one reader, this thread.
        seen.clear()
        torch.set_num_threads(1)
        assert recogniser.read_many(greys) == one_by_one
        assert seen == [(threading.current_thread().name, 1)] * len(greys)
    finally:
        torch.set_num_threads(threads)


def test_lines_are_read_as_easyocr_reads_them(easyocr_engine, easyocr_reader):
    import cv2

    reference, changed, regions = scene(BASE)
    greys = []
    for image in (reference, changed):
        grey = cv2.cvtColor((image * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
        greys += [grey[y : y + h, x : x + w] for x, y, w, h in (r.bbox for r in regions)]
    # Faint lines, read a second time with the contrast raised (confidence under
    # 0.1), and lines taller than wide, which EasyOCR resizes another way.
    greys += [(g * 0.05 + 120).astype(np.uint8) for g in greys[:3]]
    greys += [np.ascontiguousarray(g.T) for g in greys[:2]]
    greys.append(np.random.default_rng(0).integers(0, 256, (30, 200), dtype=np.uint8))
    assert_read_as_easyocr_reads(easyocr_engine, easyocr_reader, greys)


@pytest.mark.realdata
def test_lines_of_a_photo_are_found_and_read_as_easyocr_does(
    easyocr_engine, easyocr_reader, shared_data
):
    import cv2

    from evalkit.io import load_image, to_codes

    image = to_codes(load_image(shared_data / "text-photos" / "photo_ocr_book.jpg"))
    upright, slanted = assert_same_lines_as_easyocr(
        easyocr_engine, easyocr_reader, image, canvas_size=1280
    )
    assert len(upright) >= 100 and len(slanted) >= 10
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    boxes = easyocr_engine.detect(image)
    lines = [grey[y : y + h, x : x + w] for x, y, w, h in boxes]
    assert_read_as_easyocr_reads(easyocr_engine, easyocr_reader, lines)


def test_finding_and_reading_imports_neither_easyocr_nor_torchvision(easyocr_engine):
    # The fixture exported CRAFT; a new process finds its export and loads it.
    code = (
        "import sys, numpy as np; from evalkit.ocr import get_engine; "
        "engine = get_engine('easyocr'); "
        "image = np.full((64, 256, 3), 255, np.uint8); image[20:44, 40:200] = 0; "
        "engine.detect(image); reading = engine.read(image); "
        "print(0 <= reading.confidence <= 1, 'easyocr' in sys.modules, "
        "'torchvision' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "False"]


class _CraftInTorch:
    """evalkit's CRAFT (ONNX Runtime) called as EasyOCR calls its network, so that
    EasyOCR's own steps run on the very same maps."""

    def __init__(self, craft):
        self.craft = craft

    def __call__(self, x):
        import torch

        return torch.from_numpy(self.craft(x.numpy())), None


def assert_same_lines_as_easyocr(engine, reader, image: np.ndarray, **options):
    """The lines :func:`find_lines` finds in ``image`` are EasyOCR's ``detect``'s,
    on the same maps (EasyOCR's steps, exactly) and with EasyOCR's torch network."""
    from evalkit.ocr._lines import find_lines

    options = {"canvas_size": 2560, "min_size": 20, **options}
    craft = engine.craft()
    found = find_lines(craft, image, **options)
    assert found[0] or found[1], "no line found: the comparison would be empty"
    torch_network = reader.detector
    reader.detector = _CraftInTorch(craft)
    try:
        upright, slanted = reader.detect(image, **options)
    finally:
        reader.detector = torch_network
    assert found == (upright[0], slanted[0])
    upright, slanted = reader.detect(image, **options)
    assert found == (upright[0], slanted[0])
    return found


def test_craft_built_without_its_classifier_is_easyocrs_detector(easyocr_reader):
    # evalkit builds CRAFT on the meta device and assigns the checkpoint into it
    # before exporting it: it must be the network EasyOCR's own get_detector
    # makes, bit for bit.
    import torch

    from evalkit.ocr._craft import craft_network

    theirs = easyocr_reader.detector
    ours = craft_network(Path(easyocr_reader.getDetectorPath("craft")))
    assert not any(t.is_meta for t in [*ours.parameters(), *ours.buffers()])
    state, expected = ours.state_dict(), theirs.state_dict()
    assert state.keys() == expected.keys()
    assert all(torch.equal(state[k], expected[k]) for k in state)


def test_craft_run_by_onnx_runtime_is_easyocrs_network(easyocr_engine, easyocr_reader):
    import torch

    # A size unlike the one the export was traced with, not square: the sides
    # are dynamic in the exported graph.
    x = np.random.default_rng(0).normal(size=(1, 3, 96, 160)).astype(np.float32)
    with torch.no_grad():
        expected, _ = easyocr_reader.detector(torch.from_numpy(x))
    scores = easyocr_engine.craft()(x)
    assert scores.shape == expected.shape == (1, 48, 80, 2)
    np.testing.assert_allclose(scores, expected.numpy(), atol=1e-5)
    reference, _, _ = scene(BASE)
    assert_same_lines_as_easyocr(easyocr_engine, easyocr_reader, (reference * 255).astype(np.uint8))
