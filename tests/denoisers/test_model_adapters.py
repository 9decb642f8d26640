"""TorchScript, state_dict and ONNX model adapters, and the tiling they share."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from evalkit.denoisers._tiling import run_tiled, tile_spans  # noqa: E402
from evalkit.denoisers._torch import TorchModelDenoiser  # noqa: E402
from evalkit.errors import DenoiserError  # noqa: E402


class TinyNet(torch.nn.Module):
    """Two 3x3 convolutions (receptive-field radius 2) with fixed random weights."""

    def __init__(self, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.a = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.b = torch.nn.Conv2d(4, 3, 3, padding=1)
        with torch.no_grad():
            for conv in (self.a, self.b):
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * 0.2)
                conv.bias.copy_(torch.randn(conv.bias.shape, generator=generator) * 0.05)

    def forward(self, x):
        return x + 0.1 * self.b(torch.relu(self.a(x)))


class ChannelGains(torch.nn.Module):
    """Scales the model's channels 0, 1, 2 by 1, 1/2, 1/4: shows the order and range used."""

    def forward(self, x):
        return x * torch.tensor([1.0, 0.5, 0.25]).view(1, 3, 1, 1)


@pytest.fixture
def image(rng):
    return rng.random((70, 90, 3), dtype=np.float32)


@pytest.fixture
def torchscript_file(tmp_path):
    path = tmp_path / "tiny.pt"
    torch.jit.script(TinyNet().eval()).save(str(path))
    return path


@pytest.fixture
def onnx_file(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    path = tmp_path / "tiny.onnx"
    torch.onnx.export(
        TinyNet().eval(),
        (torch.rand(1, 3, 32, 32),),
        str(path),
        input_names=["image"],
        output_names=["denoised"],
        dynamic_axes={"image": {2: "h", 3: "w"}, "denoised": {2: "h", 3: "w"}},
        dynamo=False,
    )
    return path


def _direct(image: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = TinyNet().eval()(torch.from_numpy(image.transpose(2, 0, 1)[None].copy()))
    return np.clip(out[0].numpy().transpose(1, 2, 0), 0, 1)


def test_torchscript_adapter_matches_the_module_it_was_saved_from(torchscript_file, image):
    denoiser = TorchModelDenoiser(torchscript_file, tile=None, device="cpu")
    np.testing.assert_allclose(denoiser.denoise(image), _direct(image), atol=1e-6)


def test_state_dict_with_architecture_matches_torchscript(tmp_path, torchscript_file, image):
    weights = tmp_path / "tiny_state.pt"
    torch.save(TinyNet(seed=0).state_dict(), weights)
    # TinyNet(seed=...) is replaced by the loaded state, so seed=5 must not matter.
    from_state = TorchModelDenoiser(
        weights,
        architecture=f"{__name__}:TinyNet",
        architecture_params={"seed": 5},
        tile=None,
        device="cpu",
    )
    scripted = TorchModelDenoiser(torchscript_file, tile=None, device="cpu")
    np.testing.assert_allclose(from_state.denoise(image), scripted.denoise(image), atol=1e-6)


def test_onnx_and_torchscript_adapters_agree_on_the_same_tiny_model(
    onnx_file, torchscript_file, image
):
    from evalkit.denoisers._onnx import OnnxModelDenoiser

    onnx_out = OnnxModelDenoiser(onnx_file, tile=32, overlap=8, device="cpu").denoise(image)
    torch_out = TorchModelDenoiser(torchscript_file, tile=32, overlap=8, device="cpu").denoise(
        image
    )
    assert onnx_out.shape == image.shape and onnx_out.dtype == np.float32
    np.testing.assert_allclose(onnx_out, torch_out, atol=1e-5)
    np.testing.assert_allclose(onnx_out, _direct(image), atol=1e-5)


def test_tiled_torch_output_equals_whole_image_inference(torchscript_file, image):
    whole = TorchModelDenoiser(torchscript_file, tile=None, device="cpu").denoise(image)
    # Radius 2 <= overlap // 4, so tiling is exact everywhere, borders included.
    tiled = TorchModelDenoiser(torchscript_file, tile=24, overlap=8, device="cpu").denoise(image)
    assert np.abs(tiled - whole).max() < 1e-5


def test_declared_range_and_colour_order_are_undone_on_output(tmp_path, image):
    path = tmp_path / "gains.pt"
    torch.jit.script(ChannelGains()).save(str(path))
    # Declared BGR, the model's channel 0 is blue: blue keeps its value, red is quartered.
    bgr = TorchModelDenoiser(path, input_range=255.0, colour_order="bgr", tile=None, device="cpu")
    np.testing.assert_allclose(bgr.denoise(image), image * [0.25, 0.5, 1.0], atol=1e-6)
    rgb = TorchModelDenoiser(path, tile=None, device="cpu")
    np.testing.assert_allclose(rgb.denoise(image), image * [1.0, 0.5, 0.25], atol=1e-6)
    # Declaring an output range of 255 divides the model's [0, 1] output by 255.
    wrong = TorchModelDenoiser(path, output_range=255.0, tile=None, device="cpu")
    assert wrong.denoise(image).max() < 1 / 255 + 1e-6


def test_model_needing_even_sizes_gets_padded_tiles(tmp_path):
    from evalkit.denoisers._learned import ResidualDnCNN

    model = ResidualDnCNN(features=4, depth=2).eval()
    odd = np.random.default_rng(0).random((33, 47, 3), dtype=np.float32)
    out = TorchModelDenoiser(model=model, multiple=2, tile=None, device="cpu").denoise(odd)
    assert out.shape == odd.shape


def test_state_dict_without_architecture_is_explained(tmp_path, image):
    weights = tmp_path / "state.pt"
    torch.save(TinyNet().state_dict(), weights)
    with pytest.raises(DenoiserError, match=r"not a TorchScript file.*architecture="):
        TorchModelDenoiser(weights, device="cpu")


def test_state_dict_that_does_not_fit_the_architecture_is_explained(tmp_path):
    weights = tmp_path / "state.pt"
    torch.save({"other.weight": torch.zeros(1)}, weights)
    with pytest.raises(DenoiserError, match="does not fit"):
        TorchModelDenoiser(weights, architecture=f"{__name__}:TinyNet", device="cpu")


def test_missing_model_file_is_a_denoiser_error(tmp_path):
    with pytest.raises(DenoiserError, match="does not exist"):
        TorchModelDenoiser(tmp_path / "nope.pt", device="cpu")


def test_bad_range_and_colour_order_are_rejected(torchscript_file):
    with pytest.raises(DenoiserError, match=r"input_range must be 1\.0 or 255\.0"):
        TorchModelDenoiser(torchscript_file, input_range=100.0)
    with pytest.raises(DenoiserError, match="colour_order must be 'rgb' or 'bgr'"):
        TorchModelDenoiser(torchscript_file, colour_order="rgba")


def test_tile_smaller_than_twice_the_overlap_is_rejected(torchscript_file):
    with pytest.raises(DenoiserError, match="tile must be an integer >= 2 \\* overlap"):
        TorchModelDenoiser(torchscript_file, tile=32, overlap=20)


def test_onnx_missing_file_is_a_denoiser_error(tmp_path):
    pytest.importorskip("onnxruntime")
    from evalkit.denoisers._onnx import OnnxModelDenoiser

    with pytest.raises(DenoiserError, match="does not exist"):
        OnnxModelDenoiser(tmp_path / "nope.onnx")


def test_tile_spans_cover_the_axis_with_the_stated_overlap():
    spans = tile_spans(100, tile=40, overlap=8)
    assert spans[0][0] == 0 and spans[-1][1] == 100
    for (_, stop), (start, _) in itertools.pairwise(spans):
        assert stop - start == 8
    assert all(start % 32 == 0 for start, _ in spans)


def test_tile_blend_weights_sum_to_one_everywhere(rng):
    ones = np.ones((101, 77, 3), np.float32)
    out = run_tiled(ones, lambda t: t, tile=32, overlap=12)
    np.testing.assert_allclose(out, 1.0, atol=1e-6)


def test_tiling_is_not_exact_when_the_overlap_is_too_small_for_the_model(rng):
    """The exactness claim depends on the overlap: a wide box blur shows seams."""
    from scipy.ndimage import uniform_filter

    image = rng.random((64, 64, 3), dtype=np.float32)

    def blur(t):
        return uniform_filter(t, size=(15, 15, 1), mode="constant")

    whole = blur(image)
    tiled = run_tiled(image, blur, tile=32, overlap=8)
    assert np.abs(tiled - whole).max() > 1e-3


def test_registered_adapters_are_built_by_name(torchscript_file, image):
    from evalkit.denoisers import DenoiserSpec, build_denoiser

    spec = DenoiserSpec("torch_model", "evalkit.denoisers._torch:TorchModelDenoiser")
    denoiser = build_denoiser(spec, {"path": str(torchscript_file), "device": "cpu"})
    assert denoiser.params["path"] == str(torchscript_file)
    assert denoiser.denoise(image).shape == image.shape
