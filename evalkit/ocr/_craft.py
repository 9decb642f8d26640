"""EasyOCR's CRAFT text detector, run by ONNX Runtime.

EasyOCR runs CRAFT through torch. ONNX Runtime runs the same network, on the same
weights, and its score maps differ from torch's by about 1e-7, so the same lines
are found (:mod:`evalkit.ocr._lines` finds them as EasyOCR does), 1.57x faster than
EasyOCR's ``Reader.detect`` on a 1280 x 960 photograph on 2 cores (4.3 s against
6.8 s, ``test_bench_lines_found_by_evalkit_against_easyocrs_detect``).

The network is exported once from EasyOCR's checkpoint (``craft_mlt_25k.pth``,
checked against the MD5 EasyOCR publishes) by torch's exporter, a few seconds,
and kept in evalkit's weights folder (:func:`evalkit.metrics.weights_dir`) under
a name that holds that MD5; later processes load the file, and need neither torch
nor EasyOCR to find text. Where the folder cannot be written, the exported
network serves the process that made it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import UnavailableError
from ..metrics import weights_dir

#: The checkpoint, and its MD5 as EasyOCR's configuration publishes it.
CHECKPOINT = "craft_mlt_25k.pth"
CHECKPOINT_MD5 = "2f8227d2def4037cdb3b34389dcf9ec1"
#: The ONNX operator set the network is exported to (ONNX Runtime 1.17 and later run it).
OPSET = 17
#: The side of the blank image the exporter traces the network with: its sides
#: are dynamic in the graph, so a small one only makes the export quick.
TRACE_SIDE = 64


class OnnxCraft:
    """CRAFT, computed by ONNX Runtime.

    Parameters
    ----------
    model : path or bytes
        The exported network (:func:`exported_craft`).
    """

    def __init__(self, model: Path | bytes):
        import onnxruntime as ort

        options = ort.SessionOptions()
        # Windows differ in size from call to call: memory patterns planned for
        # one size do not fit the next, and an arena would keep the largest
        # window's activations (hundreds of MB) held through the rest of the score.
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        model = str(model) if isinstance(model, Path) else model
        self.session = ort.InferenceSession(
            model, sess_options=options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """The region and affinity scores of ``images``.

        Parameters
        ----------
        images : ndarray of shape (N, 3, H, W), float32
            RGB images normalised with ImageNet's statistics, as EasyOCR does;
            ``H`` and ``W`` multiples of 32.

        Returns
        -------
        ndarray of shape (N, H/2, W/2, 2), float32
            Each pixel's score of being inside a letter, then between two letters
            of a word, in [0, 1].
        """
        (scores,) = self.session.run(["y"], {"image": images})
        return scores


def craft_model(folder: Path) -> Path | bytes:
    """CRAFT with the weights of ``folder``'s ``craft_mlt_25k.pth`` as an ONNX model
    (for :class:`OnnxCraft`), exported on first use (:func:`exported_craft`).

    Raises
    ------
    UnavailableError
        The checkpoint is missing or is not EasyOCR's, and there is no export of it.
    """
    kept = weights_dir() / export_name(CHECKPOINT_MD5)
    if kept.is_file():
        return kept
    checkpoint = Path(folder) / CHECKPOINT
    if not checkpoint.is_file():
        raise UnavailableError(f"easyocr's CRAFT weights are not installed: {checkpoint}")
    if hashlib.md5(checkpoint.read_bytes(), usedforsecurity=False).hexdigest() != CHECKPOINT_MD5:
        raise UnavailableError(f"{checkpoint} is not EasyOCR's {CHECKPOINT} (its MD5 differs)")
    return exported_craft(checkpoint, CHECKPOINT_MD5)


def export_name(md5: str) -> str:
    """The file name of the export of the checkpoint whose MD5 is ``md5``."""
    return f"easyocr-craft-{md5}-opset{OPSET}.onnx"


def exported_craft(checkpoint: Path, md5: str) -> Path | bytes:
    """CRAFT exported to ONNX from ``checkpoint``: the kept file, made first if
    there is none; the exported bytes where it cannot be written.

    Parameters
    ----------
    checkpoint : Path
        EasyOCR's ``craft_mlt_25k.pth``.
    md5 : str
        Its MD5, as EasyOCR checked it: part of the kept file's name, so a
        different checkpoint is never read as this one's export.
    """
    path = weights_dir() / export_name(md5)
    if path.is_file():
        return path
    exported = export_craft(checkpoint)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(exported)
        # Atomic: a worker exporting beside this one never loads half a file.
        os.replace(partial, path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        return exported
    return path


def export_craft(checkpoint: Path) -> bytes:
    """EasyOCR's CRAFT with the weights of ``checkpoint``, as an ONNX model whose
    input ``image`` is (N, 3, H, W) and whose output ``y`` is (N, H/2, W/2, 2)."""
    import torch

    network = craft_network(checkpoint)
    exported = io.BytesIO()
    with warnings.catch_warnings():
        # torch deprecates the TorchScript exporter in favour of one that needs
        # onnxscript; this one exports CRAFT exactly (tested) with torch alone.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.export(
            network,
            (torch.zeros(1, 3, TRACE_SIDE, TRACE_SIDE),),
            exported,
            input_names=["image"],
            output_names=["y", "feature"],
            dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}},
            opset_version=OPSET,
            dynamo=False,
        )
    return exported.getvalue()


def craft_network(checkpoint: Path):
    """EasyOCR's CRAFT (a torch module, in eval mode) with the weights of ``checkpoint``:
    the network its ``get_detector`` makes on the CPU, without building the
    classifier CRAFT never uses.

    CRAFT's backbone is cut from torchvision's whole VGG16-BN, so EasyOCR allocates
    and randomly initialises its ImageNet classifier (124 M weights, 495 MB) only to
    drop it. Built on the meta device the modules hold no memory until the
    checkpoint's tensors are assigned into them. ``get_detector`` also runs
    ``quantize_dynamic``, which converts only linear and recurrent layers; CRAFT has
    none, so the network is the same (tested against ``get_detector``).
    """
    import torch

    try:
        from easyocr.craft import CRAFT
        from easyocr.detection import copyStateDict
    except ImportError as exc:
        raise UnavailableError(f"CRAFT needs {exc.name!r}: pip install easyocr") from None
    with torch.device("meta"):
        network = CRAFT()
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    network.load_state_dict(copyStateDict(state), assign=True)
    return network.eval()
