"""Normalisation, error rates and character diffs of readings."""

from __future__ import annotations

import pytest
from rapidfuzz.distance import Levenshtein

from evalkit.ocr import character_diff, character_error_rate, normalize_text, word_error_rate
from evalkit.ocr._compare import describe_diff


def test_normalize_strips_border_punctuation_and_collapses_spaces():
    assert normalize_text("  ~quick   brown fox. ") == "quick brown fox"


def test_normalize_lowers_only_capitals_shaped_like_small_letters():
    assert normalize_text("SOX Box") == "sox Box"
    assert normalize_text("kEyboard") != normalize_text("keyboard")


def test_normalize_keeps_digits_and_diacritics_distinct():
    assert normalize_text("Label 8") != normalize_text("Label B")
    assert normalize_text("kőłyboard") == "kőłyboard"


def test_normalize_composes_combining_accents():
    assert normalize_text("ko\u030b") == "kő"


def test_cer_counts_edits_per_reference_character():
    # keyboard -> kolyboard: e substituted by o, l inserted: 2 edits over 8 characters.
    assert character_error_rate("keyboard", "kolyboard") == pytest.approx(0.25)


def test_cer_agrees_with_rapidfuzz_normalised_by_reference_length():
    pairs = [("quick brown fox", "quick brawn fox"), ("label 8", "label b"), ("abc", "")]
    for reference, hypothesis in pairs:
        expected = Levenshtein.distance(reference, hypothesis) / len(reference)
        assert character_error_rate(reference, hypothesis) == pytest.approx(expected)


def test_cer_of_empty_reference_is_zero_or_one():
    assert character_error_rate("", "") == 0.0
    assert character_error_rate("", "x") == 1.0


def test_wer_counts_one_swapped_word_in_three():
    assert word_error_rate("quick brown fox", "quick brawn fox") == pytest.approx(1 / 3)


def test_diff_lists_substitution_and_insertion_in_reading_order():
    edits = character_diff("keyboard", "kolyboard")
    assert [e["op"] for e in edits] == ["substitute", "insert"] or [e["op"] for e in edits] == [
        "insert",
        "substitute",
    ]
    assert "".join(e["reference"] for e in edits) == "e"
    assert sorted("".join(e["output"] for e in edits)) == ["l", "o"]


def test_diff_of_digit_changed_to_letter():
    assert character_diff("label 8", "label b") == [
        {"op": "substitute", "position": 6, "reference": "8", "output": "b"}
    ]


def test_diff_of_equal_strings_is_empty():
    assert character_diff("keyboard", "keyboard") == []


def test_describe_diff_names_each_edit():
    text = describe_diff(character_diff("label 8", "label b"))
    assert text == '"8" → "b"'
