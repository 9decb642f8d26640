"""Denoisers: a small protocol, a registry, built-ins and adapters.

Built-in names: ``noisy`` (identity baseline), ``gaussian``, ``bilateral``,
``nlm``, ``tv``, ``wavelet``, ``opencv_nlm``, ``bm3d`` (optional, slow), the
learned ``dncnn`` and ``dncnn_aggressive``, and the adapters ``command`` (any
program), ``folder`` (precomputed outputs), ``torch_model`` and ``onnx_model``
(a model file). A third-party
package adds its own through the ``evalkit.denoisers`` entry-point group, whose
value is a :class:`DenoiserSpec`.
"""

from ._base import (
    DENOISERS,
    Denoiser,
    DenoiserSpec,
    FunctionDenoiser,
    build_denoiser,
    make_denoiser,
)
from ._command import CommandDenoiser, kill_running_commands
from ._folder import FolderDenoiser

_CLASSIC = "evalkit.denoisers._classic"
for _spec in (
    DenoiserSpec("noisy", f"{_CLASSIC}:identity", "the noisy input unchanged (baseline)"),
    DenoiserSpec("gaussian", f"{_CLASSIC}:denoise_gaussian", "Gaussian blur"),
    DenoiserSpec("bilateral", f"{_CLASSIC}:denoise_bilateral", "bilateral filter (scikit-image)"),
    DenoiserSpec("nlm", f"{_CLASSIC}:denoise_nl_means", "non-local means (scikit-image)"),
    DenoiserSpec("tv", f"{_CLASSIC}:denoise_tv", "total variation, Chambolle (scikit-image)"),
    DenoiserSpec("wavelet", f"{_CLASSIC}:denoise_wavelet", "wavelet BayesShrink (scikit-image)"),
    DenoiserSpec("opencv_nlm", f"{_CLASSIC}:denoise_opencv_nlm", "fast non-local means (OpenCV)"),
    DenoiserSpec(
        "bm3d",
        f"{_CLASSIC}:denoise_bm3d",
        "BM3D (optional package)",
        slow=True,
        requires=("bm3d",),
        install="pip install 'evalkit[bm3d]'",
    ),
    DenoiserSpec(
        "dncnn", "evalkit.denoisers._learned:denoise_dncnn", "evalkit's residual CNN (learned)"
    ),
    DenoiserSpec(
        "dncnn_aggressive",
        "evalkit.denoisers._learned:denoise_dncnn_aggressive",
        "residual CNN tuned to over-sharpen (shows AI artefacts)",
    ),
    DenoiserSpec(
        "oidn",
        "evalkit.denoisers._oidn:OidnDenoiser",
        "Intel Open Image Denoise (AI, trained on renders)",
        requires=("pyoidn",),
        install="pip install 'evalkit[oidn]'",
    ),
    DenoiserSpec(
        "checkpoint",
        "evalkit.denoisers._checkpoint:CheckpointDenoiser",
        "a published network's weights (DnCNN, NAFNet, SCUNet...; spandrel)",
        requires=("spandrel",),
        install="pip install spandrel",
    ),
    DenoiserSpec(
        "torch_model",
        "evalkit.denoisers._torch:TorchModelDenoiser",
        "a PyTorch model file (TorchScript or state_dict)",
    ),
    DenoiserSpec(
        "onnx_model",
        "evalkit.denoisers._onnx:OnnxModelDenoiser",
        "an ONNX model (ONNX Runtime)",
        requires=("onnxruntime",),
        install="pip install onnxruntime",
    ),
    DenoiserSpec("command", "evalkit.denoisers._command:CommandDenoiser", "an external program"),
    DenoiserSpec("folder", "evalkit.denoisers._folder:FolderDenoiser", "precomputed outputs"),
):
    DENOISERS.register(_spec)

__all__ = [
    "DENOISERS",
    "CommandDenoiser",
    "Denoiser",
    "DenoiserSpec",
    "FolderDenoiser",
    "FunctionDenoiser",
    "build_denoiser",
    "kill_running_commands",
    "make_denoiser",
]
