"""Weights management and the LPIPS/DISTS loading paths, all offline."""

from __future__ import annotations

import hashlib

import pytest

from evalkit.errors import UnavailableError
from evalkit.metrics import KNOWN_WEIGHTS, evaluate, install_weights, list_weights, lpips_distance


@pytest.fixture(autouse=True)
def empty_weight_folders(tmp_path, monkeypatch):
    # Point both search folders at empty temporary ones: the tests never see (or
    # write into) the real caches.
    monkeypatch.setenv("EVALKIT_WEIGHTS_DIR", str(tmp_path / "evalkit-weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


@pytest.fixture(scope="module")
def features_only_alexnet(tmp_path_factory):
    """TEST FIXTURE, NOT REAL WEIGHTS: a randomly initialised AlexNet's ``features.*``
    tensors, correctly shaped, saved like torchvision's file, to exercise loading."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    state = torchvision.models.alexnet(weights=None).state_dict()
    path = tmp_path_factory.mktemp("fake-weights") / "alexnet-features-random.pth"
    torch.save({k: v for k, v in state.items() if k.startswith("features.")}, path)
    return path


def test_lpips_without_weights_is_unavailable_naming_the_file_and_the_command(pair):
    with pytest.raises(UnavailableError) as info:
        evaluate("lpips_alex", *pair)
    message = str(info.value)
    assert "alexnet-owt-7be5be79.pth" in message
    assert "evalkit weights install alexnet" in message


def test_dists_without_weights_is_unavailable_not_a_download(pair):
    with pytest.raises(UnavailableError, match="evalkit weights install"):
        evaluate("dists", *pair)


def test_weights_status_lists_every_known_file_as_missing():
    statuses = list_weights()
    assert [s.spec.name for s in statuses] == list(KNOWN_WEIGHTS)
    assert not any(s.ok for s in statuses)
    assert all("not found" in s.reason for s in statuses)


def test_install_refuses_a_file_whose_checksum_does_not_match(tmp_path):
    impostor = tmp_path / "alexnet-owt-7be5be79.pth"
    impostor.write_bytes(b"not the weights")
    with pytest.raises(UnavailableError, match="does not start with 7be5be79"):
        install_weights("alexnet", impostor)


def test_a_corrupt_file_in_the_cache_is_reported_not_loaded(tmp_path, pair):
    cache = tmp_path / "torch-home" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    (cache / "alexnet-owt-7be5be79.pth").write_bytes(b"truncated")
    with pytest.raises(UnavailableError, match="does not match its SHA-256"):
        evaluate("lpips_alex", *pair)


def test_install_copies_a_verified_file_into_the_weights_folder(tmp_path, monkeypatch):
    from evalkit.metrics import _weights

    payload = b"pretend weights"
    digest = hashlib.sha256(payload).hexdigest()
    fake = _weights.WeightsFile("fake", "fake-x.pth", digest[:8], "https://example.org", ("x",))
    monkeypatch.setitem(_weights.KNOWN_WEIGHTS, "fake", fake)
    source = tmp_path / "download.pth"
    source.write_bytes(payload)
    installed = install_weights("fake", source)
    assert installed == tmp_path / "evalkit-weights" / "fake-x.pth"
    assert _weights.find_weights("fake") == installed


def test_unknown_weights_name_lists_the_known_ones(tmp_path):
    with pytest.raises(KeyError, match="known: alexnet, dists, vgg16"):
        install_weights("resnet", tmp_path / "x")


def test_lpips_computes_with_a_correctly_shaped_weights_file(features_only_alexnet, pair):
    reference, candidate = pair
    assert lpips_distance(reference, reference, weights_path=features_only_alexnet) == 0.0
    assert lpips_distance(reference, candidate, weights_path=features_only_alexnet) > 0.0


@pytest.mark.filterwarnings("ignore:.*deprecated:UserWarning")
def test_lpips_loading_matches_the_lpips_package_with_the_same_backbone(
    features_only_alexnet, pair
):
    torch = pytest.importorskip("torch")
    lpips = pytest.importorskip("lpips")
    reference, candidate = pair
    reference_model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
    state = torch.load(features_only_alexnet, weights_only=True)
    reference_model.net.load_state_dict(
        {k: state["features." + k.split(".", 1)[1]] for k in reference_model.net.state_dict()}
    )

    def tensor(image):
        return torch.from_numpy(image.transpose(2, 0, 1).copy())[None] * 2 - 1

    expected = reference_model(tensor(reference), tensor(candidate)).item()
    value = lpips_distance(reference, candidate, weights_path=features_only_alexnet)
    assert value == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow  # builds a VGG-16 (several seconds)
def test_lpips_rejects_a_file_of_the_wrong_backbone(features_only_alexnet, pair):
    with pytest.raises(UnavailableError, match=r"lacks backbone tensor|does not fit"):
        lpips_distance(*pair, net="vgg", weights_path=features_only_alexnet)
