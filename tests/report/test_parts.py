"""Statistics, character diffs and images of the report, on small inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.report import character_diff
from evalkit.report._images import save_crop, save_display, slug
from evalkit.report._leaderboard import _metric_statistics
from evalkit.report._text import text_rows


def _values(columns):
    return pd.DataFrame(columns, index=[f"p{i}" for i in range(len(next(iter(columns.values()))))])


def test_clearly_better_denoiser_over_ten_pairs_is_significantly_ahead():
    rng = np.random.default_rng(0)  # fixed: the test depends on the draw only weakly
    base = rng.normal(30, 2, 10)
    stats = _metric_statistics(_values({"a": base + 3, "b": base}), higher_is_better=True)
    assert stats["a"].rank == 1 and stats["b"].rank == 2
    assert stats["b"].p_value < 0.05 and not stats["b"].tied
    assert stats["a"].ci_low <= stats["a"].mean <= stats["a"].ci_high


def test_three_pairs_can_never_separate_denoisers():
    # The exact Wilcoxon test on 3 pairs has p >= 0.25, so a tie is the honest answer.
    stats = _metric_statistics(
        _values({"a": [31.0, 32, 33], "b": [20.0, 21, 22]}), higher_is_better=True
    )
    assert stats["b"].tied


def test_lower_is_better_metrics_rank_the_smallest_first():
    stats = _metric_statistics(_values({"a": [0.2, 0.3], "b": [0.1, 0.1]}), higher_is_better=False)
    assert stats["b"].rank == 1
    assert stats["b"].ci_low == stats["b"].ci_high == pytest.approx(0.1)


def test_identical_denoisers_are_tied_with_p_one():
    stats = _metric_statistics(_values({"a": [1.0, 2, 3], "b": [1.0, 2, 3]}), higher_is_better=True)
    loser = "b" if stats["a"].rank == 1 else "a"
    assert stats[loser].p_value == 1.0 and stats[loser].tied


def test_character_diff_marks_substituted_and_inserted_letters():
    segments = character_diff("keyboard", "kőłyboard")
    assert "".join(c for _, _, c in segments) == "kőłyboard"
    assert "".join(r for _, r, _ in segments) == "keyboard"
    changed = "".join(c for op, _, c in segments if op != "equal")
    assert changed == "őł"
    assert character_diff("8", "B") == [("replace", "8", "B")]


def test_text_rows_keep_a_given_diff_and_unknown_keys():
    given = [["equal", "ab", "ab"], ["replace", "c", "x"]]
    row = text_rows(
        [{"reference_text": "abc", "candidate_text": "abx", "diff": given, "engine": "e"}]
    )[0]
    assert row["diff"] == [("equal", "ab", "ab"), ("replace", "c", "x")]
    assert row["details"] == {"engine": "e"} and row["changed"]


def test_text_rows_fall_back_to_the_true_text_without_a_reference_reading():
    row = text_rows(
        [{"true_text": "ROOM 18", "candidate_text": "ROOM 1B", "diff": "unknown form"}]
    )[0]
    assert row["diff"][-1] == ("replace", "8", "B")


def test_display_copies_are_no_longer_than_1600_pixels(tmp_path):
    image = np.random.default_rng(0).random((40, 1700, 3), dtype=np.float32)
    assert save_display(image, tmp_path / "a.jpg") == (1600, 38)
    assert save_display(image[:, :100], tmp_path / "b.jpg") == (100, 40)


def test_crops_are_full_resolution_and_lossless(tmp_path):
    image = np.random.default_rng(0).random((50, 60, 3), dtype=np.float32)
    from PIL import Image

    assert save_crop(image, (5, 6, 25, 36), tmp_path / "c.png") == (20, 30, False)
    with Image.open(tmp_path / "c.png") as crop:
        pixels = np.asarray(crop)
    expected = (np.clip(image[6:36, 5:25], 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(pixels, expected)


def test_slugs_are_safe_and_distinct():
    names = ["a b", "a_b", "a/b", '<b>"x"', "..", "ok-name"]
    slugs = [slug(n) for n in names]
    assert len(set(slugs)) == len(slugs)
    assert slug("ok-name") == "ok-name"
    assert all(
        set(s) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        for s in slugs
    )
    assert not any(s.startswith(".") for s in slugs)
