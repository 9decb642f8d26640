"""Benchmark folders from the command line: PolyU's two layouts, what a folder holds,
and which pairs keep their benchmark's unaligned convention."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evalkit.cli import app
from evalkit.datasets import benchmark_layout, detect_layout, load_dataset_dir, survey
from evalkit.errors import ConfigError
from evalkit.runner import RunConfig


def _jpeg(path: Path, size=(6, 4), iso: int | None = None) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8))
    exif = Image.Exif()
    if iso is not None:
        exif.get_ifd(0x8769)[0x8827] = iso  # ISOSpeedRatings
    image.save(path, exif=exif)
    return path


@pytest.fixture
def whole_frames(tmp_path):
    root = tmp_path / "OriginalImages"
    for camera, scene, iso in (("Canon5D2", "bag", 6400), ("SonyA7II", "door", 3200)):
        _jpeg(root / f"{camera}_{scene}_Real.JPG", iso=iso)
        _jpeg(root / f"{camera}_{scene}_mean.JPG", iso=iso)
    _jpeg(root / "Nikon800_wall_Real.JPG")  # its mean is missing
    _jpeg(root / "notes" / "readme.png")
    return root


def test_polyu_whole_frames_are_found_with_iso_from_exif(whole_frames):
    assert detect_layout(whole_frames) == "polyu"
    dataset = load_dataset_dir(whole_frames)
    assert [p.id for p in dataset] == ["Canon5D2_bag", "SonyA7II_door"]
    bag = dataset["Canon5D2_bag"]
    assert bag.camera == "Canon5D2" and bag.iso == 6400
    assert bag.reference.name == "Canon5D2_bag_mean.JPG"
    assert bag.metadata["dataset_layout"] == "polyu"


def test_a_survey_lists_pairs_sizes_and_the_files_that_match_no_pair(whole_frames):
    result = survey(whole_frames)
    assert result.layout == "polyu" and result.registered
    assert result.sizes == {"Canon5D2_bag": (6, 4), "SonyA7II_door": (6, 4)}
    assert [str(p) for p in result.unmatched] == ["Nikon800_wall_Real.JPG", "notes/readme.png"]
    data = json.loads(json.dumps(result.to_dict()))
    assert data["cameras"] == {"Canon5D2": 1, "SonyA7II": 1}
    lines = result.lines()
    assert "2 pairs, layout polyu" in lines[0] and "2 image files match no pair:" in lines


def test_dataset_show_prints_the_survey_and_refuses_an_unknown_folder(whole_frames, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["dataset", "show", str(whole_frames), "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["pairs"]) == 2
    result = runner.invoke(app, ["dataset", "show", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no such manifest or dataset folder" in result.output


@pytest.mark.parametrize(
    ("reference", "noisy", "layout"),
    [
        (
            "a/Canon5D2_5_160_3200_chair_11_mean.JPG",
            "a/Canon5D2_5_160_3200_chair_11_real.JPG",
            "polyu",
        ),
        ("a/Canon5D2_bag_mean.JPG", "a/Canon5D2_bag_Real.JPG", "polyu"),
        ("a/Nikon_iso3200_1_mean.png", "a/Nikon_iso3200_1_real.png", "nam"),
        (
            "0001_001_S6_00100_00060_3200_L/0001_GT_SRGB_010.PNG",
            "0001_001_S6_00100_00060_3200_L/0001_NOISY_SRGB_010.PNG",
            "sidd",
        ),
        (
            "Mi3_Aligned/Batch_001/IMG_Reference.bmp",
            "Mi3_Aligned/Batch_001/IMG_Noisy.bmp",
            "renoir",
        ),
        ("a/Canon5D2_bag_mean.JPG", "a/Canon5D2_toy_Real.JPG", None),  # two scenes
        ("a/Canon5D2_bag_Real.JPG", "a/Canon5D2_bag_mean.JPG", None),  # swapped
        (
            "0001_001_S6_00100_00060_3200_L/0001_GT_SRGB_010.PNG",
            "0001_001_S6_00100_00060_3200_L/0001_NOISY_SRGB_011.PNG",
            None,
        ),
        ("kitchen/ref_iso100.tif", "kitchen/iso6400.jpg", None),
        ("a/desk_photo_mean.tif", "a/desk_photo_real.tif", None),  # a user's own names
    ],
)
def test_benchmark_pairs_are_recognised_by_their_names(reference, noisy, layout):
    assert benchmark_layout(reference, noisy) == layout


def test_a_run_config_takes_a_dataset_folder_or_a_layout_table(tmp_path):
    entry = [{"name": "noisy"}]
    plain = RunConfig.from_dict({"dataset": "PolyU", "denoiser": entry}, base=tmp_path)
    assert plain.dataset == (tmp_path / "PolyU").resolve() and plain.dataset_layout == "auto"
    table = {"layout": "sidd", "path": "SIDD"}
    config = RunConfig.from_dict({"dataset": table, "denoiser": entry}, base=tmp_path)
    assert config.dataset.name == "SIDD" and config.dataset_layout == "sidd"
    with pytest.raises(ConfigError, match="'dataset' table takes path and layout"):
        RunConfig.from_dict({"dataset": {"layout": "dnd", "path": "x"}, "denoiser": entry})


@pytest.mark.parametrize(
    ("value", "mode"), [(True, "auto"), (False, "never"), ("always", "always")]
)
def test_a_run_config_takes_an_align_mode(value, mode):
    config = RunConfig.from_dict(
        {"dataset": "m.toml", "align": value, "denoiser": [{"name": "noisy"}]}
    )
    assert config.align == mode
    with pytest.raises(ConfigError, match="'align' must be one of"):
        RunConfig.from_dict(
            {"dataset": "m.toml", "align": "often", "denoiser": [{"name": "noisy"}]}
        )
