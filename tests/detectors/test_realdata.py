"""False alarms on real camera pairs (PolyU: high-ISO shot vs mean of many shots)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import serious

from evalkit.detectors import collect_findings, run_detectors

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _pairs(shared_data):
    from evalkit.io import load_image

    folder = shared_data / "real-pairs" / "polyu"
    means = sorted(folder.glob("*_mean.JPG"))
    if not means:
        pytest.skip("no PolyU pairs in ../shared/data")
    for mean in means:
        noisy = mean.with_name(mean.name.replace("_mean", "_real"))
        yield mean.name[: -len("_mean.JPG")], load_image(mean), load_image(noisy)


def test_real_references_scored_against_themselves_raise_no_warning(shared_data):
    alarms = []
    for name, reference, noisy in _pairs(shared_data):
        findings = collect_findings(run_detectors(reference, reference, noisy=noisy))
        alarms += [(name, f.message) for f in serious(findings)]
    assert not alarms


@pytest.mark.parametrize("name", ["nlm", "opencv_nlm"])
def test_non_local_means_of_real_noisy_shots_raises_no_warning(shared_data, name):
    from evalkit.denoisers import make_denoiser

    denoiser = make_denoiser(name)
    alarms, pairs = [], 0
    for pair, reference, noisy in _pairs(shared_data):
        candidate = np.asarray(denoiser.denoise(noisy), dtype=np.float32)
        findings = collect_findings(run_detectors(reference, candidate, noisy=noisy))
        alarms += [(pair, f.message) for f in serious(findings)]
        pairs += 1
    assert pairs >= 1
    assert not alarms
