"""The dataset manifest loader: what it reads and what it refuses."""

from __future__ import annotations

import pytest

from evalkit.datasets import TextRegion, load_dataset
from evalkit.errors import ManifestError


def test_manifest_pairs_resolve_relative_to_the_manifest(tiny_dataset):
    dataset = load_dataset(tiny_dataset)
    assert dataset.name == "tiny"
    assert [p.id for p in dataset] == ["a-iso800", "a-iso3200"]
    first = dataset["a-iso800"]
    assert first.reference == tiny_dataset.parent / "ref.png"
    assert first.iso == 800 and first.camera == "test"
    assert first.text_regions == (TextRegion(bbox=(1, 2, 30, 10), text="keyboard"),)


def test_unknown_keys_are_kept_as_metadata(tiny_dataset):
    pair = load_dataset(tiny_dataset)["a-iso3200"]
    assert pair.metadata == {"lens": "50mm"}
    assert pair.regions[0].kind == "flat"


def test_a_folder_means_its_manifest_toml(tiny_dataset):
    assert len(load_dataset(tiny_dataset.parent)) == 2


def test_pair_loads_both_images(tiny_dataset):
    reference, noisy = load_dataset(tiny_dataset)["a-iso800"].load()
    assert reference.shape == noisy.shape == (48, 64, 3)


def test_csv_manifest_reads_the_same_pairs(tiny_dataset):
    csv = tiny_dataset.parent / "pairs.csv"
    csv.write_text("id,reference,noisy,iso,camera\na,ref.png,iso800.png,800,cam\n")
    pair = load_dataset(csv)["a"]
    assert pair.iso == 800 and pair.noisy.name == "iso800.png"


def _write(tmp_path, text):
    path = tmp_path / "manifest.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[[pair]\n", "not valid TOML"),
        ("[dataset]\nname='x'\n", "lists no pairs"),
        ("[[pair]]\nid='a'\nnoisy='n.png'\n", "pair 1: missing key 'reference'"),
        (
            "[[pair]]\nid='a'\nreference='r.png'\nnoisy='n.png'\n",
            r"reference file r\.png does not exist",
        ),
    ],
)
def test_bad_manifest_gets_one_clear_line(tmp_path, text, match):
    with pytest.raises(ManifestError, match=match):
        load_dataset(_write(tmp_path, text))


def test_duplicate_ids_are_refused(tiny_dataset):
    text = tiny_dataset.read_text().replace('id = "a-iso3200"', 'id = "a-iso800"')
    tiny_dataset.write_text(text)
    with pytest.raises(ManifestError, match="duplicate id 'a-iso800'"):
        load_dataset(tiny_dataset)


def test_malformed_bbox_is_refused(tiny_dataset):
    tiny_dataset.write_text(tiny_dataset.read_text().replace("[1, 2, 30, 10]", "[1, 2, 30]"))
    with pytest.raises(ManifestError, match=r"bbox must be \[x, y, width, height\]"):
        load_dataset(tiny_dataset)


def test_non_numeric_iso_is_refused(tiny_dataset):
    tiny_dataset.write_text(tiny_dataset.read_text().replace("iso = 800", 'iso = "high"'))
    with pytest.raises(ManifestError, match="iso must be a number"):
        load_dataset(tiny_dataset)


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="no such manifest"):
        load_dataset(tmp_path / "none.toml")
