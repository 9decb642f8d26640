"""EasyOCR's English recogniser, read as EasyOCR reads a line, without importing EasyOCR.

``import easyocr`` imports every part of EasyOCR, and with its detector
torchvision, whose ``ops`` import ``torch._dynamo``: 1.3 s and 225 MB more than
torch itself, in every process that reads a line, though reading needs neither.
This module builds the same network from the same checkpoint (``english_g2.pth``,
EasyOCR's "generation 2" CRNN: a VGG feature extractor, two bidirectional LSTMs,
a linear layer over 96 characters and the CTC blank), quantises it as EasyOCR
does on a CPU (``quantize_dynamic`` to 8 bits, which changes readings: the float
network reads otherwise), and reads a crop through EasyOCR's steps: the crop
resized to 64 px high, the padded input, greedy CTC decoding, EasyOCR's
confidence, and a second reading with the contrast raised when the first is
under 0.1. The readings are EasyOCR's, text and confidence, bit for bit (tested
against ``easyocr.Reader.recognize``).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._threads import thread_budget
from ..errors import UnavailableError

#: The checkpoint, and its MD5 as EasyOCR's configuration publishes it.
CHECKPOINT = "english_g2.pth"
CHECKPOINT_MD5 = "5864788e1821be9e454ec108d61b887d"
#: What the network outputs, after the CTC blank (index 0): EasyOCR's English
#: model's character list, every one of which English keeps.
CHARACTERS = (
    "0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ €"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
#: The height, in px, that a line is resized to.
HEIGHT = 64
#: A first reading under this confidence is read again with the contrast raised
#: (to :data:`CONTRAST_TARGET`), and the more confident of the two is kept.
CONTRAST_THRESHOLD = 0.1
CONTRAST_TARGET = 0.5


# Torch's thread counts are the process's: one read_many runs its readers at a time.
_ONE_READING_AT_A_TIME = threading.Lock()


class Recogniser:
    """EasyOCR's quantised English CRNN, reading each line alone (several side by
    side: :meth:`read_many`).

    Parameters
    ----------
    folder : Path
        The folder holding :data:`CHECKPOINT` (``easyocr_en_models.model_dir()``).

    Raises
    ------
    UnavailableError
        The checkpoint is missing, or is not the one EasyOCR publishes.
    """

    def __init__(self, folder: Path):
        path = Path(folder) / CHECKPOINT
        if not path.is_file():
            raise UnavailableError(f"easyocr's recogniser weights are not installed: {path}")
        if hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest() != CHECKPOINT_MD5:
            raise UnavailableError(f"{path} is not EasyOCR's {CHECKPOINT} (its MD5 differs)")
        network = _Crnn(len(CHARACTERS) + 1)
        state = torch.load(path, map_location="cpu", weights_only=True)
        # Saved from a DataParallel: every key starts with "module.".
        network.load_state_dict(
            {key.removeprefix("module."): value for key, value in state.items()}
        )
        network.eval()
        torch.ao.quantization.quantize_dynamic(network, dtype=torch.qint8, inplace=True)
        self.network = network
        self._characters = np.array(["", *CHARACTERS])

    def read(self, grey: np.ndarray) -> tuple[str, float]:
        """The text of a line filling ``grey``, and EasyOCR's confidence in it (in [0, 1]).

        Parameters
        ----------
        grey : ndarray of shape (h, w), dtype uint8
            The line, as EasyOCR's ``recognize`` takes it (OpenCV's grey), at
            least 1 px a side.
        """
        import cv2

        height, width = grey.shape
        ratio = width / height
        if ratio < 1.0:
            # Upright text: EasyOCR makes it 64 px wide and as tall as its ratio.
            ratio = 1.0 / ratio
            size = (HEIGHT, int(HEIGHT * ratio))
        else:
            size = (int(HEIGHT * ratio), HEIGHT)

        # EasyOCR passes PIL's LANCZOS code (1) as OpenCV's flag, which is bilinear.
        line = cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR)
        padded_width = math.ceil(ratio) * HEIGHT
        text, confidence = self._predict(line, padded_width)
        if confidence < CONTRAST_THRESHOLD:
            second = self._predict(_raise_contrast(line, CONTRAST_TARGET), padded_width)
            if second[1] >= confidence:
                text, confidence = second
        return text, confidence

    def read_many(self, greys: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """:meth:`read` of each line, in order, by as many readers at once as the
        calling thread has torch threads (``torch.get_num_threads()``, and at most
        :func:`evalkit._threads.thread_budget`), each reader single-threaded.

        A line is too small for torch to share out over threads: with two threads
        one reading keeps both cores busy (each waiting on the other) for the
        speed of one, while two single-threaded readings side by side read
        1.4-1.8 times as many lines a second (the 183 lines of a whole PolyU frame
        in three images on 2 cores, ``test_bench_lines_read_side_by_side_...``).
        Each line is read alone, as :meth:`read` reads it, so the readings are
        the same.

        Each reader keeps torch to one thread (``torch.set_num_threads(1)`` in
        its own thread). Torch also takes the count last set, in any thread, for
        every thread that starts using it later, and a thread that has run no
        operation of its own (the caller) may take that count when it asks for
        its own. So one call at a time runs readers: the caller's count is read
        while no reader is running, and set again after its readers end.
        """
        readers = min(thread_budget(), len(greys))
        if readers < 2:  # a run's worker, or one line
            return [self.read(grey) for grey in greys]
        with _ONE_READING_AT_A_TIME:
            threads = torch.get_num_threads()
            if threads < 2:
                return [self.read(grey) for grey in greys]
            try:
                with ThreadPoolExecutor(
                    min(readers, threads),
                    thread_name_prefix="evalkit-read",
                    initializer=torch.set_num_threads,
                    initargs=(1,),
                ) as pool:
                    return list(pool.map(self.read, greys))
            finally:
                torch.set_num_threads(threads)

    def _predict(self, line: np.ndarray, padded_width: int) -> tuple[str, float]:
        """Greedy CTC reading of ``line`` (uint8, any size), EasyOCR's way."""
        from PIL import Image

        image = Image.fromarray(line, "L")
        width = min(math.ceil(HEIGHT * image.size[0] / float(image.size[1])), padded_width)
        resized = np.asarray(image.resize((width, HEIGHT), Image.BICUBIC))
        pixels = torch.from_numpy(resized.copy()).to(torch.float32).div(255)
        pixels.sub_(0.5).div_(0.5)
        batch = torch.zeros(1, 1, HEIGHT, padded_width)
        batch[0, 0, :, :width] = pixels
        # The padding repeats the last column, as EasyOCR's NormalizePAD does.
        batch[0, 0, :, width:] = pixels[:, width - 1 :]
        with torch.no_grad():
            scores = self.network(batch)
        probability = torch.nn.functional.softmax(scores, dim=2).numpy()
        # EasyOCR renormalises after zeroing the characters a language leaves out
        # (English leaves out none): the division is kept for the same float values.
        probability = probability / np.expand_dims(probability.sum(axis=2), axis=-1)
        index = torch.from_numpy(probability).float().max(2)[1].view(-1).numpy()
        kept = np.insert(index[1:] != index[:-1], 0, True) & (index != 0)
        text = "".join(self._characters[index[kept]])
        best = probability[0].max(axis=1)[probability[0].argmax(axis=1) != 0]
        if len(best) == 0:
            best = np.array([0])
        return text, best.prod() ** (2.0 / np.sqrt(len(best)))


def _raise_contrast(line: np.ndarray, target: float) -> np.ndarray:
    """EasyOCR's contrast stretch of a low-contrast line (``adjust_contrast_grey``):
    its 10th to 90th percentiles spread over 200 codes, from 25 up."""
    high = np.percentile(line, 90)
    low = np.percentile(line, 10)
    if (high - low) / np.maximum(10, high + low) >= target:
        return line
    stretched = (line.astype(int) - low + 25) * (200.0 / np.maximum(10, high - low))
    return np.clip(stretched, 0, 255).astype(np.uint8)


class _BidirectionalLstm(nn.Module):
    """A bidirectional LSTM and a linear layer back to ``size`` features."""

    def __init__(self, size: int):
        super().__init__()
        self.rnn = nn.LSTM(size, size, bidirectional=True, batch_first=True)
        self.linear = nn.Linear(2 * size, size)

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        return self.linear(self.rnn(sequence)[0])


class _Features(nn.Module):
    """EasyOCR's VGG feature extractor: 64 px of height down to 3, width / 4."""

    def __init__(self):
        super().__init__()

        def conv(inputs: int, outputs: int, bias: bool = True) -> nn.Conv2d:
            return nn.Conv2d(inputs, outputs, 3, 1, 1, bias=bias)

        self.ConvNet = nn.Sequential(
            conv(1, 32), nn.ReLU(True), nn.MaxPool2d(2, 2),
            conv(32, 64), nn.ReLU(True), nn.MaxPool2d(2, 2),
            conv(64, 128), nn.ReLU(True),
            conv(128, 128), nn.ReLU(True), nn.MaxPool2d((2, 1), (2, 1)),
            conv(128, 256, bias=False), nn.BatchNorm2d(256), nn.ReLU(True),
            conv(256, 256, bias=False), nn.BatchNorm2d(256), nn.ReLU(True),
            nn.MaxPool2d((2, 1), (2, 1)),
            nn.Conv2d(256, 256, 2, 1, 0), nn.ReLU(True),
        )  # fmt: skip

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.ConvNet(image)


class _Crnn(nn.Module):
    """EasyOCR's generation-2 recogniser, with its checkpoint's module names."""

    def __init__(self, classes: int):
        super().__init__()
        self.FeatureExtraction = _Features()
        self.AdaptiveAvgPool = nn.AdaptiveAvgPool2d((None, 1))
        self.SequenceModeling = nn.Sequential(_BidirectionalLstm(256), _BidirectionalLstm(256))
        self.Prediction = nn.Linear(256, classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Scores of each character class, (N, columns, classes), for (N, 1, 64, W) input."""
        features = self.AdaptiveAvgPool(self.FeatureExtraction(image).permute(0, 3, 1, 2))
        return self.Prediction(self.SequenceModeling(features.squeeze(3)).contiguous())
