"""The checkpoint denoiser: published weights, architecture found by spandrel."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.denoisers import make_denoiser
from evalkit.errors import DenoiserError
from evalkit.metrics import psnr

torch = pytest.importorskip("torch")
pytest.importorskip("spandrel")

from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.DnCNN import DnCNN  # noqa: E402
from spandrel.architectures.DRUNet import DRUNet  # noqa: E402

from evalkit.denoisers._checkpoint import CheckpointDenoiser  # noqa: E402


@pytest.fixture
def kair_dncnn(shared_data):
    """KAIR's DnCNN for sigma 25 (greyscale, 17 layers, MIT), beside the project."""
    path = shared_data.parent / "models" / "kair_dncnn_25.pth"
    if not path.is_file():
        pytest.skip("../shared/models/kair_dncnn_25.pth is not present")
    return path


def _kair_dncnn_by_hand(path):
    """KAIR's DnCNN written out from its paper, without spandrel: 17 convolutions
    (batch norm folded in), ReLU between them, the noise predicted and subtracted."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    convs = sorted({int(key.split(".")[1]) for key in state})
    layers = []
    for index in convs:
        weight, bias = state[f"model.{index}.weight"], state[f"model.{index}.bias"]
        conv = torch.nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1)
        conv.weight.data, conv.bias.data = weight, bias
        layers += [conv, torch.nn.ReLU()]
    body = torch.nn.Sequential(*layers[:-1]).eval()

    def denoise(image):
        planes = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)[:, None]))
        with torch.inference_mode():
            out = planes - body(planes)
        return np.clip(out[:, 0].numpy().transpose(1, 2, 0), 0, 1)

    return denoise


def _real_crop(shared_data, size=160):
    from evalkit.io import load_image

    ref = load_image(
        shared_data / "real-pairs" / "polyu" / "Canon80D_8_8_12800_printer_11_mean.JPG"
    )
    return ref[200 : 200 + size, 180 : 180 + size + 20]


def test_kair_dncnn_equals_a_direct_forward_pass_whole_and_tiled(kair_dncnn, shared_data):
    clean = _real_crop(shared_data)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape), 0, 1)
    noisy = noisy.astype(np.float32)
    expected = _kair_dncnn_by_hand(kair_dncnn)(noisy)
    whole = CheckpointDenoiser(kair_dncnn, tile=None, device="cpu").denoise(noisy)
    # The default overlap (72 >= 4 x the 17-px receptive field) makes tiles
    # blend to the whole-image output.
    tiled = CheckpointDenoiser(kair_dncnn, tile=144, device="cpu")
    np.testing.assert_allclose(whole, expected, atol=2e-5)
    np.testing.assert_allclose(tiled.denoise(noisy), expected, atol=2e-5)
    assert psnr(clean, whole) > psnr(clean, noisy) + 6


def test_kair_dncnn_is_named_with_its_architecture_and_file(kair_dncnn):
    denoiser = make_denoiser("checkpoint", path=str(kair_dncnn), device="cpu")
    assert denoiser.architecture == "DnCNN"
    assert denoiser.params["architecture"] == "DnCNN"
    assert denoiser.params["channels"] == 1
    assert denoiser.params["tags"] == ["64nc", "17nb"]
    assert denoiser.params["sha256"].startswith("0451a70de9b6")


def test_colour_safetensors_network_equals_its_module(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    module = DnCNN(in_nc=3, out_nc=3, nc=8, nb=8, act_mode="R").eval()
    path = tmp_path / "tiny.safetensors"
    save_file({key: value.contiguous() for key, value in module.state_dict().items()}, path)
    image = np.random.default_rng(1).random((40, 52, 3), dtype=np.float32)
    with torch.inference_mode():
        expected = module(torch.from_numpy(image.transpose(2, 0, 1)[None].copy()))
    expected = np.clip(expected[0].numpy().transpose(1, 2, 0), 0, 1)
    out = CheckpointDenoiser(path, tile=None, device="cpu").denoise(image)
    assert out.shape == image.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("channels", [3, 1])
def test_a_unet_with_a_noise_plane_of_its_own_runs_at_any_size(tmp_path, channels):
    """DRUNet halves its input three times (sides in multiples of 8) and takes a
    noise-level plane that spandrel adds: what the adapter must go through
    spandrel for. Odd sizes are padded; a grey one runs on each channel."""
    import spandrel

    torch.manual_seed(0)
    module = DRUNet(in_nc=channels + 1, out_nc=channels, nc=[4, 8, 8, 8], nb=2).eval()
    path = tmp_path / "drunet.pth"
    torch.save(module.state_dict(), path)
    image = np.random.default_rng(2).random((40, 48, 3), dtype=np.float32)
    denoiser = CheckpointDenoiser(path, tile=None, device="cpu")
    assert denoiser.architecture == "DRUNet" and denoiser.params["multiple"] == 8
    assert CheckpointDenoiser(path, tile=100, overlap=30, device="cpu").params["overlap"] == 32
    descriptor = spandrel.ModelLoader("cpu").load_from_file(path)
    planes = image.transpose(2, 0, 1)[None] if channels == 3 else image.transpose(2, 0, 1)[:, None]
    with torch.inference_mode():
        expected = [descriptor(torch.from_numpy(p.copy())[None]) for p in planes]
    expected = np.concatenate([e.numpy() for e in expected], axis=1)[0].transpose(1, 2, 0)
    np.testing.assert_allclose(denoiser.denoise(image), expected, atol=1e-5)
    # Odd sides are mirrored up to the multiple and cropped back.
    assert denoiser.denoise(image[:37, :45]).shape == (37, 45, 3)


def test_weights_under_a_training_key_are_found(tmp_path, kair_dncnn):
    state = torch.load(kair_dncnn, map_location="cpu", weights_only=True)
    path = tmp_path / "wrapped.pth"
    torch.save({"params_ema": state, "epoch": 12}, path)
    assert CheckpointDenoiser(path, device="cpu").architecture == "DnCNN"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x00garbage" * 100, "is not a readable checkpoint"),
        ("truncated", "is not a readable checkpoint"),
        ("foreign", "does not recognise"),
        ("super-resolution", "at scale 4"),
        ("pickle", "is not a readable checkpoint"),
    ],
)
def test_bad_checkpoints_get_one_line_naming_the_file(tmp_path, content, words):
    path = tmp_path / "model.pth"
    if content == "truncated":
        module = DnCNN(in_nc=1, out_nc=1, nc=8, nb=8, act_mode="R")
        torch.save(module.state_dict(), path)
        path.write_bytes(path.read_bytes()[:2000])
    elif content == "foreign":
        torch.save({"encoder.weight": torch.zeros(4, 4), "head.bias": torch.zeros(4)}, path)
    elif content == "super-resolution":
        torch.save(Compact(num_feat=8, num_conv=2, upscale=4).state_dict(), path)
    elif content == "pickle":
        # Arbitrary objects never unpickle: weights_only refuses them.
        torch.save({"model": Compact(num_feat=8, num_conv=2, upscale=1)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(DenoiserError) as info:
        make_denoiser("checkpoint", path=str(path), device="cpu")
    message = str(info.value)
    assert words in message and str(path) in message
    assert "\n" not in message


def test_missing_file_and_wrong_suffix_are_explained(tmp_path):
    with pytest.raises(DenoiserError, match="does not exist"):
        CheckpointDenoiser(tmp_path / "absent.pth")
    other = tmp_path / "model.onnx"
    other.write_bytes(b"onnx")
    with pytest.raises(DenoiserError, match=r"one of \.pth"):
        CheckpointDenoiser(other)


# Peaks from /proc (VmHWM): Linux keeps ru_maxrss across exec, so a child of a
# large pytest process would report the parent's peak.
WHOLE_FRAME = """
import json, re, sys
from pathlib import Path
import numpy as np
from evalkit.denoisers import make_denoiser

def high_water_kib():
    return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))

image = np.random.default_rng(0).random((3648, 5472, 3), dtype=np.float32)
denoiser = make_denoiser("checkpoint", path=sys.argv[1], device="cpu")
before = high_water_kib()
out = denoiser.denoise(image)
peak = high_water_kib()
print(json.dumps({"shape": out.shape, "growth_mb": (peak - before) / 1024}))
"""


@pytest.mark.slow
def test_a_20_megapixel_frame_runs_in_bounded_memory(tmp_path):
    """A 20 MP frame through a (small, colour) DnCNN in 512-px tiles: memory grows
    by the output and one tile's activations, not by a whole-frame pass."""
    import json
    import subprocess
    import sys

    torch.manual_seed(0)
    path = tmp_path / "small.pth"
    torch.save(DnCNN(in_nc=3, out_nc=3, nc=8, nb=8, act_mode="R").state_dict(), path)
    done = subprocess.run(
        [sys.executable, "-c", WHOLE_FRAME, str(path)], capture_output=True, text=True, check=True
    )
    measured = json.loads(done.stdout)
    image_mb = 3648 * 5472 * 3 * 4 / 2**20  # 228 MB per float32 copy
    assert measured["shape"] == [3648, 5472, 3]
    # A whole-frame pass would hold 8 feature maps of 20 MP (0.64 GB) twice at once.
    assert measured["growth_mb"] < image_mb + 300, measured
