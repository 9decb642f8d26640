"""Verdicts, findings, metrics and caching of check_text, with a scripted engine.

The scripted engine "reads" a crop by looking up its top-left pixel value, so each
test decides what the reference, the candidate and the noisy shot read as without
running a recogniser.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from evalkit.datasets import TextRegion
from evalkit.findings import Severity
from evalkit.io import to_codes
from evalkit.ocr import (
    OCR_ENGINES,
    NullEngine,
    OcrEngine,
    Reading,
    cache_info,
    check_text,
    detect_text_regions,
    get_engine,
)

pytestmark = pytest.mark.usefixtures("fresh_ocr_cache")

BOX = (10, 10, 40, 20)
REF, CAND, NOISY = 0.2, 0.4, 0.6  # background values that tell the images apart


class ScriptedEngine(OcrEngine):
    can_detect = True

    def __init__(self, readings: dict[float, Reading], boxes=(BOX,), enlarged=None):
        self.name = f"scripted-{id(self)}"
        self._readings = {_code(v): r for v, r in readings.items()}
        # What the enlarged crops of the confirming second reading read as.
        self._enlarged = {_code(v): r for v, r in (enlarged or {}).items()}
        self.boxes = list(boxes)
        self.reads = 0
        self.batches = []
        self.detections = 0

    def read_many(self, crops):
        self.batches.append(len(crops))
        return super().read_many(crops)

    def read(self, crop):
        self.reads += 1
        key = int(crop[0, 0, 0])
        if crop.shape[1] > BOX[2] + 20 and key in self._enlarged:
            return self._enlarged[key]
        return self._readings[key]

    def detect(self, image):
        self.detections += 1
        return self.boxes


def _code(value: float) -> int:
    # The 8-bit code the engine sees for a float32 background of ``value``.
    return int(to_codes(np.float32(value)))


def image(value: float, *, stripes: float = 1.0, glyph: int = 0) -> np.ndarray:
    """A 40x64 image of constant ``value`` with a bar "glyph" inside BOX.

    ``glyph`` 0 puts the bar in the left part of the box, 1 in the right part: a
    changed glyph, as pixel evidence for a changed reading.
    """
    out = np.full((40, 64, 3), value, dtype=np.float32)
    x, y, w, h = BOX
    left = x + 2 + glyph * (w // 2 - 2)
    out[y + 3 : y + h - 3, left : left + w // 2 - 2] += 0.3 * stripes
    return out


def check(
    reference, candidate, noisy=None, *, truth=None, regions=True, glyph=1, second=None, **readings
):
    """check_text on scripted readings; the candidate's glyph differs unless ``glyph=0``."""
    engine = ScriptedEngine(readings_table(reference, candidate, noisy))
    ref_image = image(REF)
    cand_image = image(CAND, stripes=readings.get("stripes", 1.0), glyph=glyph)
    noisy_image = image(NOISY) if noisy is not None else None
    return check_text(
        ref_image,
        cand_image,
        noisy=noisy_image,
        regions=[TextRegion(BOX, truth)] if regions else None,
        engine=engine,
        second_engine=second,
    )


def readings_table(reference, candidate, noisy):
    table = {REF: Reading(*reference), CAND: Reading(*candidate)}
    if noisy is not None:
        table[NOISY] = Reading(*noisy)
    return table


def test_same_reading_gives_no_finding_and_zero_cer():
    result = check(("keyboard", 0.99), ("keyboard", 0.97), ("keyboard", 0.9))
    assert result.findings == []
    assert result.entries[0]["verdict"] == "kept"
    assert result.metrics["ocr_cer"] == 0.0
    assert result.metrics["text_hallucinations"] == 0


def test_confident_different_reading_is_a_critical_hallucination_quoting_both():
    result = check(("keyboard", 0.99), ("kolyboard", 0.8), ("keyboard", 0.9))
    (finding,) = result.findings
    assert finding.detector == "text_hallucination"
    assert finding.severity == Severity.CRITICAL
    assert finding.bbox == BOX
    assert finding.score == pytest.approx(0.25)
    assert finding.message.startswith(
        'reference reads "keyboard", output reads "kolyboard" (CER 0.25'
    )
    assert result.entries[0]["hallucinated"] is True
    assert result.metrics["text_hallucinations"] == 1


def test_hallucination_not_seen_again_on_enlarged_crops_is_only_uncertain():
    # Real case (PolyU door): the reference's "Objective" was read "Oblective" once.
    engine = ScriptedEngine(
        {REF: Reading("Fabric Oblective", 0.86), CAND: Reading("Fabric Objective", 0.92)},
        enlarged={REF: Reading("Fabric Objective", 0.9), CAND: Reading("Fabric Objective", 0.9)},
    )
    result = check_text(
        image(REF),
        image(CAND, glyph=1),
        regions=[TextRegion(BOX)],
        engine=engine,
        second_engine=None,
    )
    assert result.findings == []
    entry = result.entries[0]
    assert entry["verdict"] == "uncertain"
    assert entry["evidence"]["readings"][f"{engine.name} x1.5"]["reference"] == "Fabric Objective"
    assert "reads two ways" in entry["doubt"]


def test_reading_flip_with_unchanged_glyphs_is_ocr_noise_not_a_finding():
    # The "Inaugucation" case: the reference itself as the candidate, read once
    # differently. No pixel changed, so no reading can make it a hallucination.
    result = check(("Inaugucation Ceremony", 0.9), ("Inauguration Ceremony", 0.95), glyph=0)
    assert result.findings == []
    entry = result.entries[0]
    assert entry["verdict"] == "uncertain"
    assert entry["evidence"]["changed"] is False
    assert "glyph pixels did not change" in entry["doubt"]


def test_change_of_case_alone_is_kept():
    # Real case (PolyU door, dncnn): "DEPARTMENT OF COMPUTING" read "DEPARTMENT Of COMPUTING".
    result = check(("DEPARTMENT OF COMPUTING", 0.95), ("DEPARTMENT Of COMPUTING", 0.9))
    assert result.findings == []
    assert result.entries[0]["verdict"] == "kept"


def test_second_engine_reading_the_reference_as_the_output_reads_vetoes_a_hallucination():
    # "A change toward a reading the other engine also gives" is no evidence.
    second = ScriptedEngine({REF: Reading("kolyboard", 0.9), CAND: Reading("", 0.0)})
    second.name = "second"
    result = check(("keyboard", 0.99), ("kolyboard", 0.8), second=second)
    assert result.findings == []
    assert result.entries[0]["doubt"] == "second reads the reference as the output reads"
    assert set(result.entries[0]["evidence"]["readings"]) == {
        f"{result.engine} x1.5",
        "second",
    }


def test_second_engine_reading_reference_and_output_alike_vetoes_a_hallucination():
    # Real case (PolyU door, an honest output shifted 0.3 px): EasyOCR read
    # "Stall" and "Stalf", Tesseract "Staff Offices" in both.
    second = ScriptedEngine({REF: Reading("keyboard", 0.9), CAND: Reading("keyboard", 0.9)})
    second.name = "second"
    result = check(("keyboard", 0.99), ("kolyboard", 0.8), second=second)
    assert result.findings == []
    assert result.entries[0]["doubt"] == "second reads reference and output alike"


def test_second_engine_seeing_the_change_too_confirms_it():
    second = ScriptedEngine({REF: Reading("keyboard", 0.9), CAND: Reading("kolyboard", 0.9)})
    second.name = "second"
    result = check(("keyboard", 0.99), ("kolyboard", 0.8), second=second)
    (finding,) = result.findings
    assert finding.detector == "text_hallucination"
    assert "glyphs changed by" in finding.message
    evidence = result.entries[0]["evidence"]
    assert evidence["changed"] is True and evidence["glyph_change"] >= evidence["threshold"]


def test_digit_turned_into_letter_is_a_hallucination():
    result = check(("Label 8", 1.0), ("Label B", 0.79))
    assert [f.detector for f in result.findings] == ["text_hallucination"]
    assert result.entries[0]["diff"] == [
        {"op": "substitute", "position": 6, "reference": "8", "output": "B"}
    ]


def test_unreadable_output_is_a_legibility_loss_warning():
    result = check(("keyboard", 0.99), ("at", 0.01), ("keyboard", 0.9))
    (finding,) = result.findings
    assert finding.detector == "text_legibility_loss"
    assert finding.severity == Severity.WARNING
    assert result.entries[0]["verdict"] == "lost"


def test_text_already_lost_in_the_noisy_shot_is_not_blamed():
    result = check(("keyboard", 0.99), ("at", 0.01), ("kcy", 0.05))
    assert result.findings == []
    assert result.entries[0]["verdict"] == "lost_in_noisy"


def test_text_recovered_from_an_unreadable_noisy_shot_is_credited():
    result = check(("keyboard", 0.99), ("keyboard", 0.95), ("kcy", 0.05))
    (finding,) = result.findings
    assert finding.detector == "text_recovered"
    assert finding.severity == Severity.INFO
    assert result.metrics["text_recovered"] == 1


def test_output_reading_as_the_noisy_shot_does_is_not_a_hallucination():
    result = check(("keyboard", 0.99), ("keyb0ard", 0.8), ("keyb0ard", 0.7))
    assert result.findings == []
    assert result.entries[0]["verdict"] == "as_noisy"


def test_deleted_letters_only_are_a_loss_not_a_hallucination():
    result = check(("keyboard", 0.97), ("eyboard", 0.95))
    assert [f.detector for f in result.findings] == ["text_legibility_loss"]


def test_blurred_output_read_as_other_letters_is_a_loss_not_a_hallucination():
    # Same confident misreading as a hallucination, but the region lost its edges.
    result = check(("keyboard", 0.97), ("teyboord", 0.9), stripes=0.1)
    assert result.entries[0]["sharpness_ratio"] < 0.6
    assert [f.detector for f in result.findings] == ["text_legibility_loss"]


def test_changed_punctuation_alone_is_not_a_finding():
    result = check(("background: These", 0.9), ("background. These", 0.9))
    assert result.findings == []
    assert result.entries[0]["verdict"] == "uncertain"


def test_letter_inserted_next_to_punctuation_is_a_hallucination():
    result = check(("Exit 12", 0.99), ("Exit 12a", 0.9))
    assert [f.detector for f in result.findings] == ["text_hallucination"]


def test_unconfident_reference_without_true_text_is_not_judged():
    result = check(("kcyboarcl", 0.2), ("keyboard", 0.9))
    assert result.findings == []
    assert result.entries[0]["verdict"] == "unjudged"
    assert result.metrics["ocr_cer"] is None


def test_true_text_is_the_yardstick_when_known():
    # The reference reads one letter wrong but the output is right: no blame,
    # and the CER is measured against the true string.
    result = check(("keyb0ard", 0.6), ("keyboard", 0.9), truth="keyboard")
    assert result.findings == []
    assert result.entries[0]["cer"] == 0.0


def test_engine_misreading_reference_and_output_alike_is_not_a_change():
    # English EasyOCR cannot output "ő": it reads the true "kőłyboard" as "kotyboard"
    # in both images, which is no change made by the denoiser.
    result = check(("kotyboard", 0.6), ("kotyboard", 0.6), truth="kőłyboard")
    assert result.findings == []
    assert result.entries[0]["verdict"] == "kept"
    assert result.entries[0]["cer"] == pytest.approx(2 / 9)


def test_entries_are_json_ready_with_the_documented_keys():
    result = check(("keyboard", 0.99), ("kolyboard", 0.8), ("keyboard", 0.9), truth="keyboard")
    entry = json.loads(json.dumps(result.entries))[0]
    assert set(entry) >= {
        "bbox",
        "reference_text",
        "candidate_text",
        "noisy_text",
        "true_text",
        "confidences",
        "cer",
        "wer",
        "diff",
        "hallucinated",
        "verdict",
    }
    assert entry["bbox"] == list(BOX)
    assert entry["true_text"] == "keyboard"


def test_reference_and_noisy_are_read_once_however_many_candidates():
    engine = ScriptedEngine(
        {REF: Reading("keyboard", 1.0), NOISY: Reading("keyboard", 0.9)}
        | {v: Reading("keyboard", 0.9) for v in (0.3, 0.35, 0.4, 0.45, 0.5)}
    )
    regions = [TextRegion(BOX, "keyboard")]
    for value in (0.3, 0.35, 0.4, 0.45, 0.5):
        check_text(image(REF), image(value), noisy=image(NOISY), regions=regions, engine=engine)
    # 1 reference + 1 noisy + 5 candidates; everything else came from the cache.
    assert engine.reads == 7
    assert cache_info()["readings"].hits == 2 * 4


def test_every_line_of_the_three_images_is_read_in_one_call():
    # One call lets an engine read lines side by side (EasyOCR: two at once on
    # two cores); each reading goes back to its own image and region.
    second = (4, 30, 40, 8)  # cropped with a margin of 2 px: from (2, 28)
    readings, images = {}, []
    for k, value in enumerate((REF, CAND, NOISY)):
        picture = image(value)
        picture[26:32, 0:8] = value + 0.05  # the corner of its crop, enlarged or not
        images.append(picture)
        readings[value] = Reading(f"line one {k}", 0.9)
        readings[value + 0.05] = Reading(f"line two {k}", 0.9)
    engine = ScriptedEngine(readings)
    regions = [TextRegion(BOX), TextRegion(second)]
    reference, candidate, noisy = images
    result = check_text(
        reference, candidate, noisy=noisy, regions=regions, engine=engine, second_engine=None
    )
    assert engine.batches[0] == 6
    texts = [(e["reference_text"], e["candidate_text"], e["noisy_text"]) for e in result.entries]
    assert texts == [
        ("line one 0", "line one 1", "line one 2"),
        ("line two 0", "line two 1", "line two 2"),
    ]
    # Identical crops are read once: the reference as its own candidate adds none.
    check_text(reference, reference.copy(), noisy=noisy, regions=regions, engine=engine)
    assert engine.batches[-1] == 0


def test_a_suspected_change_is_read_again_enlarged_in_one_call():
    engine = ScriptedEngine(
        {REF: Reading("keyboard", 0.99), CAND: Reading("kolyboard", 0.8)},
        enlarged={REF: Reading("keyboard", 0.9), CAND: Reading("kolyboard", 0.9)},
    )
    regions = [TextRegion(BOX)]
    candidate = image(CAND, glyph=1)
    result = check_text(image(REF), candidate, regions=regions, engine=engine, second_engine=None)
    assert result.entries[0]["verdict"] == "hallucinated"
    # The reference and the output, then both enlarged together.
    assert engine.batches == [2, 2]


def test_detected_regions_are_found_once_per_reference():
    engine = ScriptedEngine({REF: Reading("keyboard", 1.0), CAND: Reading("keyboard", 1.0)})
    for _ in range(3):
        result = check_text(image(REF), image(CAND), engine=engine)
    assert engine.detections == 1
    assert result.entries[0]["source"] == "detected"
    assert detect_text_regions(image(REF), engine=engine) == (TextRegion(BOX),)


def test_regions_none_detects_text_on_the_reference():
    result = check(("keyboard", 1.0), ("kolyboard", 0.9), regions=False)
    assert result.entries[0]["bbox"] == list(BOX)
    assert result.metrics["text_hallucinations"] == 1


def test_null_engine_reads_nothing_and_finds_nothing():
    result = check_text(image(REF), image(CAND), engine="null")
    assert result.entries == [] and result.findings == []
    assert result.metrics["text_regions"] == 0


def test_get_engine_returns_one_instance_per_name():
    assert get_engine("null") is get_engine("null")
    assert isinstance(get_engine("null"), NullEngine)


def test_registry_lists_builtin_engines_and_suggests_close_names():
    assert {"easyocr", "tesseract", "null"} <= set(OCR_ENGINES.names())
    with pytest.raises(KeyError, match="did you mean 'easyocr'"):
        get_engine("easyocrr")


def test_box_outside_the_image_is_refused():
    with pytest.raises(ValueError, match="not inside the 64x40 image"):
        check_text(image(REF), image(CAND), regions=[TextRegion((50, 10, 40, 20))], engine="null")


def test_images_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match="shapes differ"):
        check_text(image(REF), image(CAND)[:-1], engine="null")


def test_integer_images_are_refused():
    with pytest.raises(TypeError, match="float array"):
        check_text(image(REF), (image(CAND) * 255).astype(np.uint8), engine="null")


def test_importing_evalkit_ocr_does_not_import_easyocr():
    import subprocess
    import sys

    code = "import evalkit.ocr, sys; print('easyocr' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
