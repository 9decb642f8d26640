"""OCR cost: seconds per text region, and a 10-denoiser x 6-pair run with the cache.

Compared in the same run with what a user would otherwise call: EasyOCR's
``readtext`` (detector + recogniser) on each whole image. Marked slow: even one
round reads a few hundred crops on a CPU.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ocr"))
from _boxes import share_covered
from _library import easyocr_reader
from _render import DEJAVU, Style, render

from evalkit.datasets import TextRegion

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu fonts not installed"),
]

WORDS = [
    "keyboard",
    "Label 8",
    "quick brown fox",
    "Exit 12",
    "Colour Lab",
    "printer",
    "Staff Offices",
    "ISO 3200",
    "monitor",
    "Research",
    "paper tray",
    "Door 4B",
    "coffee",
    "Physical Testing",
    "lamp",
    "No entry",
    "cable 7",
    "notebook",
    "Room 205",
    "window",
    "desk A3",
    "charger",
    "speaker",
    "shelf 9",
    "mouse",
    "Warning",
    "pencil",
    "Lab 6",
    "folder",
    "Open",
    "stapler",
    "Push",
    "camera",
    "Floor 2",
    "clock",
    "Pull",
]


def dataset(n_pairs: int = 6, per_pair: int = 6):
    pairs = []
    for i in range(n_pairs):
        lines = WORDS[i * per_pair : (i + 1) * per_pair]
        reference, boxes = render(lines, Style(size=24 + 2 * (i % 3)), width=300)
        rng = np.random.default_rng(i)
        noisy = np.clip(reference + rng.normal(0, 0.06, reference.shape), 0, 1).astype(np.float32)
        regions = [TextRegion(b, t) for b, t in zip(boxes, lines, strict=True)]
        pairs.append((reference, noisy, regions))
    return pairs


def denoisers():
    import cv2

    def u8(f):
        def run(x):
            y = f((x * 255 + 0.5).astype(np.uint8))
            return y.astype(np.float32) / 255

        return run

    return {
        "identity": lambda x: x,
        "gauss0.6": lambda x: cv2.GaussianBlur(x, (0, 0), 0.6),
        "gauss1.0": lambda x: cv2.GaussianBlur(x, (0, 0), 1.0),
        "gauss1.5": lambda x: cv2.GaussianBlur(x, (0, 0), 1.5),
        "box3": lambda x: cv2.blur(x, (3, 3)),
        "median3": u8(lambda x: cv2.medianBlur(x, 3)),
        "bilateral": lambda x: cv2.bilateralFilter(x, 5, 0.1, 3),
        "nlm3": u8(lambda x: cv2.fastNlMeansDenoisingColored(x, None, 3, 3, 7, 21)),
        "nlm6": u8(lambda x: cv2.fastNlMeansDenoisingColored(x, None, 6, 6, 7, 21)),
        "nlm10": u8(lambda x: cv2.fastNlMeansDenoisingColored(x, None, 10, 10, 7, 21)),
    }


@pytest.fixture(scope="module")
def engine():
    pytest.importorskip("easyocr")
    from evalkit.ocr import get_engine

    engine = get_engine("easyocr")
    # Weights loaded outside the timings.
    engine.load()
    engine.craft()
    return engine


def test_bench_seconds_per_text_region(benchmark, engine):
    from evalkit.ocr import check_text, clear_cache

    reference, noisy, regions = dataset(1)[0]

    times = []

    def run():
        clear_cache()  # every crop read afresh: reference + candidate
        start = time.perf_counter()
        result = check_text(reference, noisy, regions=regions)
        times.append(time.perf_counter() - start)
        return result

    # Timed here too: with --benchmark-disable (make test) there are no stats.
    result = benchmark.pedantic(run, rounds=2, iterations=1)
    assert len(result.entries) == len(regions)
    # The library way: EasyOCR detector + recogniser on the whole two images.
    reader = easyocr_reader()
    start = time.perf_counter()
    for image in (reference, noisy):
        reader.readtext((image * 255).astype(np.uint8))
    library = time.perf_counter() - start
    ours = float(np.mean(times))
    benchmark.extra_info.update(
        seconds_per_region=ours / (2 * len(regions)),
        readtext_whole_images_s=library,
        ratio_vs_readtext=ours / library,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def test_bench_ten_denoisers_on_six_pairs(benchmark, engine):
    from evalkit.ocr import cache_info, check_text, clear_cache

    pairs = dataset()
    outputs = [[f(noisy) for f in denoisers().values()] for _, noisy, _ in pairs]

    def run():
        clear_cache()
        checks = []
        for (reference, noisy, regions), candidates in zip(pairs, outputs, strict=True):
            for candidate in candidates:
                checks.append(check_text(reference, candidate, noisy=noisy, regions=regions))
        return checks

    checks = benchmark.pedantic(run, rounds=1, iterations=1)
    info = cache_info()["readings"]
    n_regions = sum(len(r) for _, _, r in pairs)
    # Reference and noisy crops are read once per pair: 2 x 36 of the misses; the
    # other reads are the candidates (fewer when two outputs have equal crops).
    assert info.misses <= n_regions * (2 + len(outputs[0]))
    assert info.hits >= 2 * n_regions * (len(outputs[0]) - 1)
    assert len(checks) == len(pairs) * len(outputs[0])
    benchmark.extra_info.update(
        checks=len(checks),
        regions=n_regions,
        reads=info.misses,
        cache_hits=info.hits,
        reads_without_cache=n_regions * 3 * len(outputs[0]),
        hallucinations=sum(c.metrics["text_hallucinations"] for c in checks),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


@pytest.mark.realdata
@pytest.mark.benchmark(group="text-detection")
def test_bench_text_detection_of_a_whole_frame_in_windows_against_the_whole_frame(
    benchmark, shared_data
):
    """Lines of a real 3008 x 2000 photograph (a pub front with signs and a
    menu): in PP-OCR's windows vs CRAFT on the whole frame, as before, in one run."""
    photo = shared_data / "text-photos" / "photo_ocr_pub_example.jpg"
    pytest.importorskip("easyocr_en_models")
    import os

    from evalkit.io import load_image, to_codes
    from evalkit.ocr import _easyocr, get_engine

    image = to_codes(load_image(photo))
    engine = get_engine("easyocr")
    engine.craft()  # weights exported before timing
    start = time.perf_counter()
    whole = _whole_frame_lines(engine, image, _easyocr)
    whole_s = time.perf_counter() - start
    times = []

    def windowed_detection():
        start = time.perf_counter()
        lines = engine.detect(image)
        times.append(time.perf_counter() - start)
        return lines

    # Timed here too: with --benchmark-disable (make test) there are no stats.
    windowed = benchmark.pedantic(windowed_detection, rounds=1, iterations=1)
    found = sum(share_covered(box, windowed) >= 0.5 for box in whole)
    benchmark.extra_info.update(
        whole_frame_s=whole_s,
        windowed_s=times[0],
        speedup=whole_s / times[0],
        lines_whole_frame=len(whole),
        lines_windowed=len(windowed),
        recall=found / len(whole),
        load_average=os.getloadavg()[0],
    )
    assert found >= 0.9 * len(whole)


@pytest.mark.realdata
@pytest.mark.benchmark(group="text-detection")
def test_bench_lines_found_by_evalkit_against_easyocrs_detect(benchmark, shared_data):
    """Lines of a real photograph (stickers and labels, 2560 x 1920 seen at
    1280 x 960, the size of a large window at 20 MP): evalkit's CRAFT in ONNX
    Runtime and its steps (``evalkit.ocr._lines``) against EasyOCR's own
    ``Reader.detect`` (torch), in one run: the same lines, and the time of each."""
    pytest.importorskip("easyocr_en_models")
    import os

    from evalkit.io import load_image, to_codes
    from evalkit.ocr import get_engine
    from evalkit.ocr._lines import find_lines

    image = to_codes(load_image(shared_data / "text-photos" / "photo_ocr_stickers.jpg"))
    craft = get_engine("easyocr").craft()
    reader = easyocr_reader()
    times = []

    def find():
        start = time.perf_counter()
        lines = find_lines(craft, image, canvas_size=1280)
        times.append(time.perf_counter() - start)
        return lines

    found = benchmark.pedantic(find, rounds=2, iterations=1)
    start = time.perf_counter()
    upright, slanted = reader.detect(image, canvas_size=1280)
    easyocr_s = time.perf_counter() - start
    evalkit_s = min(times)
    benchmark.extra_info.update(
        pixels=image.shape[0] * image.shape[1],
        evalkit_s=evalkit_s,
        easyocr_s=easyocr_s,
        speedup=easyocr_s / evalkit_s,
        lines=len(found[0]) + len(found[1]),
        same_lines=found == (upright[0], slanted[0]),
        load_average=os.getloadavg()[0],
    )
    assert found == (upright[0], slanted[0])


def _whole_frame_lines(engine, image, module):
    limit = module.WINDOWED_FROM
    module.WINDOWED_FROM = float("inf")
    try:
        return engine.detect(image)
    finally:
        module.WINDOWED_FROM = limit


@pytest.mark.realdata
@pytest.mark.benchmark(group="text-reading")
def test_bench_lines_read_side_by_side_against_one_by_one_and_easyocr(benchmark, shared_data):
    """The text lines of a whole PolyU frame (Sony A7 II, door with notices,
    3008 x 1688), in the reference, the noisy shot and OpenCV's NL-means of it:
    evalkit's ``read_many`` (single-threaded readers side by side) against the
    same lines read one by one (the code before it) and against EasyOCR's own
    ``Reader.recognize`` on each line, in one run; the readings must be equal."""
    pytest.importorskip("easyocr_en_models")
    import os

    import cv2

    from evalkit.io import load_image, to_codes
    from evalkit.ocr import detect_text_regions, get_engine

    folder = shared_data / "real-pairs" / "polyu-full"
    reference = to_codes(load_image(folder / "SonyA7II_door_mean.JPG"))
    noisy = to_codes(load_image(folder / "SonyA7II_door_Real.JPG"))
    denoised = cv2.fastNlMeansDenoisingColored(noisy, None, 4, 4, 7, 21)
    engine = get_engine("easyocr")
    recogniser = engine.recogniser()
    boxes = [region.bbox for region in detect_text_regions(reference, engine=engine)]
    greys = [
        cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[y : y + h, x : x + w]
        for image in (reference, noisy, denoised)
        for x, y, w, h in boxes
    ]
    times = []

    def read():
        start = time.perf_counter()
        readings = recogniser.read_many(greys)
        times.append(time.perf_counter() - start)
        return readings

    readings = benchmark.pedantic(read, rounds=2, iterations=1)
    start = time.perf_counter()
    one_by_one = [recogniser.read(grey) for grey in greys]
    one_by_one_s = time.perf_counter() - start
    reader = easyocr_reader()
    start = time.perf_counter()
    easyocr = [reader.recognize(grey, detail=1, paragraph=False)[0][1:] for grey in greys]
    easyocr_s = time.perf_counter() - start
    evalkit_s = min(times)
    benchmark.extra_info.update(
        lines=len(greys),
        evalkit_s=evalkit_s,
        one_by_one_s=one_by_one_s,
        easyocr_s=easyocr_s,
        speedup_vs_one_by_one=one_by_one_s / evalkit_s,
        speedup_vs_easyocr=easyocr_s / evalkit_s,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        load_average=os.getloadavg()[0],
    )
    assert readings == one_by_one == [tuple(reading) for reading in easyocr]
