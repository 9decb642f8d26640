"""Every registered metric: direction, range, identity, and worse for more noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalkit.errors import UnavailableError
from evalkit.metrics import METRICS, evaluate

# Metrics that read text say nothing about these textless images; tests/ocr covers them.
NAMES = [name for name in METRICS.names() if not METRICS.get(name).reads_text]


@pytest.fixture(scope="module")
def images():
    import cv2

    rng = np.random.default_rng(7)  # fixed: the noise levels below are far apart
    coarse = rng.random((24, 24, 3), dtype=np.float32)
    reference = cv2.resize(coarse, (192, 192), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    light = np.clip(reference + rng.normal(0, 0.02, reference.shape), 0, 1).astype(np.float32)
    heavy = np.clip(reference + rng.normal(0, 0.15, reference.shape), 0, 1).astype(np.float32)
    return reference, light, heavy


def _value(name, reference, candidate):
    try:
        return evaluate(name, reference, candidate).value
    except UnavailableError as exc:
        pytest.skip(f"{name} unavailable here: {exc}")


@pytest.mark.parametrize("name", NAMES)
def test_metric_declares_direction_and_an_ordered_range(name):
    spec = METRICS.get(name)
    assert isinstance(spec.higher_is_better, bool)
    low, high = spec.range
    assert low < high and spec.summary


@pytest.mark.parametrize("name", NAMES)
def test_identical_images_get_the_best_value_in_range(name, images):
    spec = METRICS.get(name)
    reference = images[0]
    value = _value(name, reference, reference)
    low, high = spec.range
    best = high if spec.higher_is_better else low
    if math.isinf(best):
        # PSNR reaches its bound; VIF's bound is not its identity value (1).
        assert value == best or value == pytest.approx(1.0, abs=1e-4)
    else:
        assert value == pytest.approx(best, abs=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_more_noise_scores_worse_and_stays_in_range(name, images):
    spec = METRICS.get(name)
    reference, light, heavy = images
    light_value, heavy_value = _value(name, reference, light), _value(name, reference, heavy)
    low, high = spec.range
    assert low <= heavy_value <= high and low <= light_value <= high
    assert (light_value > heavy_value) == spec.higher_is_better


def test_metrics_return_python_floats(images):
    assert type(evaluate("ssim", images[0], images[1]).value) is float
