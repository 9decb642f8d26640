"""ΔE2000, FLIP, SSIMULACRA2 and piq's metrics against the libraries they wrap."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.metrics import delta_e2000_map, delta_e2000_p95, evaluate, flip, ssimulacra2


def test_delta_e2000_matches_skimage_ciede2000(pair):
    from skimage.color import deltaE_ciede2000, rgb2lab

    reference, candidate = pair
    expected = deltaE_ciede2000(rgb2lab(reference), rgb2lab(candidate))
    np.testing.assert_allclose(delta_e2000_map(reference, candidate), expected, atol=1e-3)
    assert delta_e2000_p95(reference, candidate) == pytest.approx(
        np.percentile(expected, 95), abs=1e-3
    )


def test_delta_e2000_on_16bit_codes_equals_the_float_image(make_pair):
    reference, candidate = make_pair((30, 40, 3), dtype=np.uint16, data_range=65535)
    as_float = evaluate("deltae2000", reference / 65535, candidate / 65535).value
    assert evaluate("deltae2000", reference, candidate, data_range=65535).value == pytest.approx(
        as_float, abs=1e-4
    )


def test_flip_matches_flip_evaluator(pair):
    flip_evaluator = pytest.importorskip("flip_evaluator")
    reference, candidate = pair
    _, expected, _ = flip_evaluator.evaluate(reference, candidate, "LDR", applyMagma=False)
    assert flip(reference, candidate) == pytest.approx(expected, abs=1e-5)


def test_ssimulacra2_matches_the_package_on_8bit_files(tmp_path, make_pair):
    package = pytest.importorskip("ssimulacra2")
    from PIL import Image

    reference, candidate = make_pair((64, 72, 3), dtype=np.uint8, data_range=255, noise=0.08)
    Image.fromarray(reference).save(tmp_path / "reference.png")
    Image.fromarray(candidate).save(tmp_path / "candidate.png")
    expected = package.compute_ssimulacra2(tmp_path / "reference.png", tmp_path / "candidate.png")
    assert ssimulacra2(reference, candidate, data_range=255) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("name", "function", "options"),
    [
        ("fsim", "fsim", {"chromatic": True}),
        ("vif", "vif_p", {}),
        ("gmsd", "gmsd", {}),
        ("haarpsi", "haarpsi", {}),
        ("mdsi", "mdsi", {}),
        ("vsi", "vsi", {}),
    ],
)
def test_piq_metric_equals_piq(name, function, options, make_pair):
    piq = pytest.importorskip("piq")
    torch = pytest.importorskip("torch")
    reference, candidate = make_pair((96, 96, 3), noise=0.06)

    def tensor(image):
        return torch.from_numpy(image.transpose(2, 0, 1).copy())[None]

    expected = getattr(piq, function)(tensor(candidate), tensor(reference), **options).item()
    assert evaluate(name, reference, candidate).value == pytest.approx(expected, abs=1e-6)
