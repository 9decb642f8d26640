"""The sample dataset: deterministic, loadable, and what the committed copy holds."""

import sys
from pathlib import Path

import numpy as np
import pytest

from evalkit.datasets import load_dataset
from evalkit.datasets._sample import make_sample_dataset
from evalkit.io import load_image

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COMMITTED = Path(__file__).resolve().parents[2] / "datasets" / "sample"
GENERATED_FILES = (
    "manifest.toml",
    *(
        f"{scene}/{shot}.png"
        for scene in ("desk", "shop")
        for shot in ("reference", "iso800", "iso3200", "iso12800")
    ),
)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A dataset generated now with the default seed (about 3 s)."""
    return make_sample_dataset(tmp_path_factory.mktemp("sample"), seed=0)


@pytest.fixture(scope="module")
def dataset(fresh):
    return load_dataset(fresh)


def _plane_residual(patch):
    """What is left of a grey (H, W) patch after removing its best-fitting plane."""
    yy, xx = np.mgrid[0 : patch.shape[0], 0 : patch.shape[1]]
    design = np.column_stack([np.ones(patch.size), yy.ravel(), xx.ravel()])
    coef, *_ = np.linalg.lstsq(design, patch.ravel(), rcond=None)
    return patch.ravel() - design @ coef


def _crop(image, bbox):
    x, y, w, h = bbox
    return image[y : y + h, x : x + w]


def test_generator_returns_the_manifest_it_wrote_and_only_the_listed_files(fresh):
    assert fresh.name == "manifest.toml"
    written = sorted(
        str(p.relative_to(fresh.parent)) for p in fresh.parent.rglob("*") if p.is_file()
    )
    assert written == sorted(GENERATED_FILES)


def test_manifest_loads_with_six_pairs_at_three_isos(dataset):
    assert dataset.name == "sample"
    assert [p.id for p in dataset] == [
        f"{scene}-iso{iso}" for scene in ("desk", "shop") for iso in (800, 3200, 12800)
    ]
    for pair in dataset:
        assert pair.camera == "evalkit-sim"
        assert pair.reference_iso == 100
        # Same light for every shot: ISO x seconds is constant.
        assert pair.iso * pair.exposure_s == pytest.approx(100 * pair.reference_exposure_s)
        assert pair.metadata["scene"] == pair.id.split("-")[0]


def test_manifest_records_generator_and_seed(fresh):
    info = tomllib.loads(fresh.read_text(encoding="utf-8"))["dataset"]
    assert info["generator"] == "evalkit.datasets._sample:make_sample_dataset"
    assert info["seed"] == 0


def test_every_pair_has_existing_images_of_the_same_size(dataset):
    for pair in dataset:
        reference, noisy = pair.load()
        assert reference.shape == noisy.shape == (480, 640, 3)


def test_text_and_region_boxes_lie_inside_the_image(dataset):
    for pair in dataset:
        boxes = [t.bbox for t in pair.text_regions] + [r.bbox for r in pair.regions]
        for x, y, w, h in boxes:
            assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480, (pair.id, (x, y, w, h))


def test_desk_lists_the_strings_the_ocr_checks_rely_on(dataset):
    strings = [t.text for t in dataset["desk-iso3200"].text_regions]
    assert "keyboard" in strings
    assert any("8" in s for s in strings)
    assert "Deadline Friday" in strings  # the blurry red line
    assert len(strings) >= 5


def test_every_region_kind_is_present(dataset):
    kinds = {r.kind for pair in dataset for r in pair.regions}
    assert kinds == {"flat", "periodic", "texture", "highlight", "shadow", "colour", "text"}


def test_text_boxes_hold_ink_in_the_reference(dataset):
    reference, _ = dataset["desk-iso800"].load()
    for text in dataset["desk-iso800"].text_regions:
        patch = _crop(reference, text.bbox)
        assert patch.max() - patch.min() > 0.3, text.text


def test_flat_regions_hold_no_structure_in_the_reference(dataset):
    for pair_id in ("desk-iso800", "shop-iso800"):
        reference, _ = dataset[pair_id].load()
        for region in dataset[pair_id].regions:
            if region.kind == "flat":
                residual = _plane_residual(_crop(reference, region.bbox).mean(axis=2))
                assert residual.std() < 0.01, region.name  # ISO 100 noise only


def test_highlight_is_just_below_clipping_and_shadow_is_deep(dataset):
    reference, _ = dataset["desk-iso800"].load()
    regions = {r.kind: r for r in dataset["desk-iso800"].regions}
    highlight = _crop(reference, regions["highlight"].bbox)
    assert 0.92 < highlight.mean() < 0.97
    assert np.mean(highlight >= 1.0) < 0.01
    assert 0.02 < _crop(reference, regions["shadow"].bbox).mean() < 0.07


def test_noisy_vs_reference_psnr_falls_about_6_db_per_4x_iso(dataset):
    for scene in ("desk", "shop"):
        psnr = []
        for iso in (800, 3200, 12800):
            reference, noisy = dataset[f"{scene}-iso{iso}"].load()
            psnr.append(10 * np.log10(1 / np.mean((reference - noisy.astype(np.float64)) ** 2)))
        assert 30 < psnr[0] < 35 and 24.5 < psnr[1] < 29 and 18.5 < psnr[2] < 23, psnr


def test_same_seed_gives_identical_bytes(fresh, tmp_path):
    again = make_sample_dataset(tmp_path, seed=0)
    for name in GENERATED_FILES:
        assert (again.parent / name).read_bytes() == (fresh.parent / name).read_bytes(), name


def test_committed_sample_matches_a_fresh_regeneration(fresh):
    hint = "datasets/sample is stale: regenerate it with `make sample` and commit the result"
    assert (COMMITTED / "manifest.toml").read_text(encoding="utf-8") == fresh.read_text(
        encoding="utf-8"
    ), hint
    for name in GENERATED_FILES[1:]:
        committed, regenerated = load_image(COMMITTED / name), load_image(fresh.parent / name)
        assert np.array_equal(committed, regenerated), f"{name}: {hint}"


def test_committed_sample_is_at_most_15_mb():
    size = sum(p.stat().st_size for p in COMMITTED.rglob("*") if p.is_file())
    assert size <= 15 * 2**20


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_generator_rejects_seeds_that_are_not_non_negative_integers(seed, tmp_path):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        make_sample_dataset(tmp_path, seed=seed)
    assert not any(tmp_path.iterdir())
