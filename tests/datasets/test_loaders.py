"""Dataset loaders on small fixture trees that mimic each public layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evalkit.datasets._loaders import (
    detect_layout,
    load_dataset_dir,
    parse_polyu_name,
    parse_sid_name,
)
from evalkit.errors import ManifestError


def _touch(path: Path, image: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if image and path.suffix.lower() in (".png", ".jpg", ".bmp"):
        from PIL import Image

        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)
    else:
        path.write_bytes(b"")
    return path


@pytest.fixture
def polyu_tree(tmp_path):
    root = tmp_path / "PolyU"
    for stem in ("Canon5D2_5_160_3200_chair_11", "Sony_4-5_125_6400_waterhouse_10"):
        _touch(root / f"{stem}_real.JPG")
        _touch(root / f"{stem}_mean.JPG")
    _touch(root / "Nikon_8_100_800_lonely_1_real.JPG")  # no mean: not a pair
    return root


@pytest.fixture
def sidd_tree(tmp_path):
    root = tmp_path / "SIDD_Small_sRGB_Only" / "Data"
    folder = root / "0001_001_S6_00100_00060_3200_L"
    for k in ("010", "011"):
        _touch(folder / f"0001_GT_SRGB_{k}.PNG")
        _touch(folder / f"0001_NOISY_SRGB_{k}.PNG")
    _touch(root / "0052_002_GP_01600_01000_5500_N" / "0052_GT_SRGB_010.PNG")
    _touch(root / "0052_002_GP_01600_01000_5500_N" / "0052_NOISY_SRGB_010.PNG")
    return root.parent


@pytest.fixture
def renoir_tree(tmp_path):
    root = tmp_path / "RENOIR"
    batch = root / "Mi3_Aligned" / "Batch_001"
    _touch(batch / "IMG_20160202_015216Reference.bmp")
    _touch(batch / "IMG_20160202_015304full.bmp")
    _touch(batch / "IMG_20160202_015247Noisy.bmp")
    _touch(batch / "IMG_20160202_015252Noisy.bmp")
    _touch(root / "T3i_Aligned" / "Batch_002" / "IMG_4000Reference.bmp")
    _touch(root / "T3i_Aligned" / "Batch_002" / "IMG_4001Noisy.bmp")
    return root


@pytest.fixture
def nam_tree(tmp_path):
    root = tmp_path / "CC"
    _touch(root / "real" / "5dmark3_iso3200_1_real.png")
    _touch(root / "mean" / "5dmark3_iso3200_1_mean.png")
    _touch(root / "real" / "d800_iso1600_2_real.png")
    _touch(root / "mean" / "d800_iso1600_2_mean.png")
    return root


@pytest.fixture
def sid_tree(tmp_path):
    root = tmp_path / "SID"
    _touch(root / "Sony" / "long" / "00001_00_10s.ARW")
    _touch(root / "Sony" / "short" / "00001_00_0.1s.ARW")
    _touch(root / "Sony" / "short" / "00001_01_0.04s.ARW")
    _touch(root / "Sony" / "short" / "00002_00_0.1s.ARW")  # no long exposure
    return root


def test_polyu_pairs_carry_camera_iso_exposure_and_aperture(polyu_tree):
    dataset = load_dataset_dir(polyu_tree)
    assert dataset.info["layout"] == "polyu"
    assert [p.id for p in dataset] == [
        "Canon5D2_5_160_3200_chair_11",
        "Sony_4-5_125_6400_waterhouse_10",
    ]
    pair = dataset["Sony_4-5_125_6400_waterhouse_10"]
    assert (pair.camera, pair.iso, pair.exposure_s) == ("Sony", 6400.0, pytest.approx(1 / 125))
    assert pair.metadata["aperture"] == 4.5
    assert pair.reference.name.endswith("_mean.JPG") and pair.noisy.name.endswith("_real.JPG")


def test_polyu_name_parser_reads_every_field():
    parsed = parse_polyu_name("NikonD800_5-6_160_6400_wall_2_real.JPG")
    assert parsed == {
        "camera": "NikonD800",
        "aperture": 5.6,
        "exposure_s": pytest.approx(1 / 160),
        "iso": 6400.0,
        "scene": "wall",
        "index": 2,
        "role": "real",
    }
    assert parse_polyu_name("holiday.jpg") is None


def test_sidd_gives_one_pair_per_numbered_file_with_phone_iso_and_shutter(sidd_tree):
    dataset = load_dataset_dir(sidd_tree)
    assert dataset.info["layout"] == "sidd"
    assert len(dataset) == 3
    pair = dataset["0001_001_S6_00100_00060_3200_L_011"]
    assert pair.camera == "Samsung Galaxy S6 Edge"
    assert pair.iso == 100.0 and pair.exposure_s == pytest.approx(1 / 60)
    assert pair.metadata["brightness"] == "low" and pair.metadata["illuminant_k"] == 3200
    assert "GT_SRGB_011" in pair.reference.name and "NOISY_SRGB_011" in pair.noisy.name


def test_renoir_gives_one_pair_per_noisy_image_and_keeps_the_second_reference(renoir_tree):
    dataset = load_dataset_dir(renoir_tree)
    assert dataset.info["layout"] == "renoir"
    assert [p.id for p in dataset] == ["Mi3_batch001_1", "Mi3_batch001_2", "T3i_batch002_1"]
    pair = dataset["Mi3_batch001_2"]
    assert pair.camera == "Mi3"
    assert pair.reference.name.endswith("Reference.bmp")
    assert pair.noisy.name == "IMG_20160202_015252Noisy.bmp"
    assert pair.metadata["second_reference"].endswith("full.bmp")


def test_nam_pairs_real_and_mean_across_folders(nam_tree):
    dataset = load_dataset_dir(nam_tree)
    assert dataset.info["layout"] == "nam"
    pair = dataset["5dmark3_iso3200_1"]
    assert (pair.camera, pair.iso) == ("5dmark3", 3200.0)
    assert pair.reference.parent.name == "mean" and pair.noisy.parent.name == "real"


def test_sid_pairs_short_with_long_exposures_and_records_the_ratio(sid_tree):
    dataset = load_dataset_dir(sid_tree)
    assert dataset.info["layout"] == "sid"
    assert [p.id for p in dataset] == ["Sony_00001_00_0.1s", "Sony_00001_01_0.04s"]
    pair = dataset["Sony_00001_01_0.04s"]
    assert pair.exposure_s == 0.04 and pair.reference_exposure_s == 10.0
    assert pair.metadata["exposure_ratio"] == 250.0


def test_sid_name_parser():
    assert parse_sid_name("00001_00_0.04s.ARW") == {"scene": "00001", "shot": 0, "seconds": 0.04}
    assert parse_sid_name("10003_05_0.1s.RAF")["seconds"] == 0.1
    assert parse_sid_name("00001_00_0.04s.png") is None


def test_auto_detection_prefers_a_manifest(tiny_dataset):
    assert detect_layout(tiny_dataset.parent) == "manifest"
    assert load_dataset_dir(tiny_dataset.parent).name == "tiny"


def test_an_explicit_layout_overrides_detection(polyu_tree):
    with pytest.raises(ManifestError, match="no sidd pairs"):
        load_dataset_dir(polyu_tree, layout="sidd")


def test_an_unknown_folder_layout_is_a_one_line_error(tmp_path):
    _touch(tmp_path / "holiday.jpg")
    with pytest.raises(ManifestError, match="no known dataset layout"):
        load_dataset_dir(tmp_path)
    with pytest.raises(ManifestError, match="no such manifest or dataset folder"):
        load_dataset_dir(tmp_path / "missing")
    with pytest.raises(ValueError, match="layout must be one of"):
        load_dataset_dir(tmp_path, layout="dnd")


def test_loaded_pairs_open_with_pair_load(tmp_path, smooth_image):
    from evalkit.io import save_image

    root = tmp_path / "mine"
    root.mkdir()
    save_image(root / "Canon5D2_5_160_3200_desk_1_mean.png", smooth_image)
    save_image(root / "Canon5D2_5_160_3200_desk_1_real.png", smooth_image * 0.9)
    reference, noisy = load_dataset_dir(root).pairs[0].load()
    assert reference.shape == noisy.shape == smooth_image.shape


@pytest.mark.realdata
def test_the_shared_polyu_pairs_load_with_iso_from_their_names(shared_data):
    dataset = load_dataset_dir(shared_data / "real-pairs" / "polyu")
    assert dataset.info["layout"] == "polyu" and len(dataset) == 13
    assert {p.iso for p in dataset} == {800.0, 1600.0, 3200.0, 4000.0, 6400.0, 12800.0}
    reference, noisy = dataset["NikonD800_8_100_6400_bulletin_5"].load()
    assert reference.shape == noisy.shape == (512, 512, 3)


def test_load_raw_reports_missing_and_unreadable_files_as_image_errors(tmp_path):
    pytest.importorskip("rawpy")
    from evalkit.errors import ImageError
    from evalkit.io import load_raw

    with pytest.raises(ImageError, match="no such file"):
        load_raw(tmp_path / "missing.dng")
    bogus = _touch(tmp_path / "bogus.dng", image=False)
    bogus.write_bytes(b"not a raw file at all")
    with pytest.raises(ImageError, match="not a RAW file"):
        load_raw(bogus)
    with pytest.raises(ValueError, match="exposure_gain"):
        load_raw(bogus, exposure_gain=0)


def test_raw_pair_brightens_the_short_exposure_by_the_sid_ratio(sid_tree, monkeypatch):
    import numpy as np

    from evalkit.datasets import _pair
    from evalkit.io import _image, is_raw

    calls = []

    def fake_raw(path, exposure_gain=1.0):
        calls.append((path.name, exposure_gain))
        return np.zeros((32, 32, 3), np.float32)

    monkeypatch.setattr(_pair, "load_raw", fake_raw)
    monkeypatch.setattr(_image, "load_raw", fake_raw)
    load_dataset_dir(sid_tree)["Sony_00001_01_0.04s"].load()
    assert calls == [("00001_00_10s.ARW", 1.0), ("00001_01_0.04s.ARW", 250.0)]
    assert is_raw("x.ARW") and not is_raw("x.png")
