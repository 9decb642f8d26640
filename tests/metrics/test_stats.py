"""Dataset statistics: bootstrap intervals and paired comparisons."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.metrics import bootstrap_mean_ci, compare_paired


def test_bootstrap_interval_contains_the_mean_and_narrows_with_more_pairs():
    rng = np.random.default_rng(3)
    few = bootstrap_mean_ci(rng.normal(30, 2, 8))
    many = bootstrap_mean_ci(rng.normal(30, 2, 200))
    assert few.low < few.mean < few.high
    assert (many.high - many.low) < (few.high - few.low)
    assert many.low < 30 < many.high


def test_bootstrap_is_reproducible_with_its_seed():
    values = [1.0, 2.0, 4.0, 8.0]
    assert bootstrap_mean_ci(values) == bootstrap_mean_ci(values)


def test_bootstrap_of_one_value_is_that_value():
    assert bootstrap_mean_ci([31.5]).low == bootstrap_mean_ci([31.5]).high == 31.5


def test_bootstrap_refuses_infinite_psnr():
    with pytest.raises(ValueError, match="inf or nan"):
        bootstrap_mean_ci([30.0, float("inf")])


def test_consistently_better_denoiser_is_significant():
    b = np.linspace(28, 34, 12)
    a = b + np.linspace(0.2, 0.6, 12)
    result = compare_paired(a, b, higher_is_better=True)
    assert result.p_value < 0.01
    assert (result.a_better, result.b_better) == (12, 0)


def test_direction_decides_who_is_better_for_lower_is_better_metrics():
    result = compare_paired([0.1, 0.2, 0.3], [0.2, 0.3, 0.4], higher_is_better=False)
    assert (result.a_better, result.b_better) == (3, 0)


def test_noise_around_zero_is_not_significant():
    b = np.random.default_rng(5).normal(30, 1, 20)
    a = b + np.tile([0.1, -0.1], 10) * np.linspace(1, 2, 20).reshape(10, 2)[:, ::-1].ravel()
    assert compare_paired(a, b, higher_is_better=True).p_value > 0.05


def test_paired_comparison_needs_the_same_pairs():
    with pytest.raises(ValueError, match="same length"):
        compare_paired([1.0, 2.0], [1.0], higher_is_better=True)
