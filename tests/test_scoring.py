"""evalkit.score's own switches (the metrics and detectors have their own tests)."""

from __future__ import annotations

import numpy as np
import pytest

import evalkit


def test_maps_are_made_only_when_asked_for_and_change_nothing_else():
    rng = np.random.default_rng(3)
    reference = rng.uniform(0.2, 0.8, (96, 128, 3)).astype(np.float32)
    noisy = np.clip(reference + rng.normal(0, 0.05, reference.shape), 0, 1).astype(np.float32)
    candidate = (0.5 * (reference + noisy)).astype(np.float32)
    with_maps = evalkit.score(reference, candidate, noisy=noisy, ocr=None)
    without = evalkit.score(reference, candidate, noisy=noisy, ocr=None, maps=False)
    assert without.maps == {}
    assert {"abs_diff", "ssim"} <= set(with_maps.maps)
    assert without.to_dict() == with_maps.to_dict()


def test_a_missing_candidate_or_unknown_engine_fails_before_any_work(tmp_path, monkeypatch):
    # The candidate is decoded after the reference's text is found (a 20 MP
    # score's peak of memory must not hold it), so its file is checked first.
    from evalkit.errors import ImageError
    from evalkit.io import save_image

    reference = save_image(tmp_path / "reference.png", np.full((64, 64, 3), 0.5, np.float32))
    decoded = []
    monkeypatch.setattr("evalkit.scoring.load_image", lambda path: decoded.append(path))
    with pytest.raises(ImageError, match=r"gone\.png: no such file"):
        evalkit.score(reference, tmp_path / "gone.png", ocr="null")
    with pytest.raises(KeyError, match="nope"):
        evalkit.score(reference, reference, ocr="nope")
    assert decoded == []


def test_text_lines_are_found_before_the_candidate_is_decoded_and_the_reader_loads(
    tmp_path, monkeypatch
):
    # The detectors' peak of memory must hold neither the candidate (240 MB at
    # 20 MP) nor the recogniser (torch, 0.7 GB).
    from evalkit.io import save_image
    from evalkit.ocr import NullEngine, clear_cache

    order = []

    class Spy(NullEngine):
        def detect(self, image):
            order.append("detect")
            return []

        def load(self):
            order.append("load")

    rng = np.random.default_rng(4)
    reference = rng.uniform(0.2, 0.8, (64, 96, 3)).astype(np.float32)
    paths = {name: save_image(tmp_path / f"{name}.png", reference) for name in ("ref", "out")}
    load = evalkit.scoring.load_image
    monkeypatch.setattr(
        "evalkit.scoring.load_image", lambda path: order.append(path.name) or load(path)
    )
    clear_cache()
    evalkit.score(paths["ref"], paths["out"], ocr=Spy(), maps=False)
    # Once: the check reads the lines back from the cache. The recogniser loads
    # while the candidate decodes, in either order.
    assert order[:2] == ["ref.png", "detect"]
    assert sorted(order[2:]) == ["load", "out.png"]


def test_the_engine_loads_in_this_thread_while_the_files_decode_in_another(tmp_path, monkeypatch):
    # Importing torch and building the recogniser (2 s) overlaps decoding; the
    # import stays in the calling thread and only decoding runs beside it.
    import threading

    from evalkit.errors import ImageError
    from evalkit.io import save_image
    from evalkit.ocr import NullEngine
    from evalkit.scoring import as_image, decode_while_loading

    threads = {}

    class Loading(NullEngine):
        def load(self):
            threads["load"] = threading.current_thread()

    rng = np.random.default_rng(5)
    image = rng.uniform(0.2, 0.8, (48, 64, 3)).astype(np.float32)
    path = save_image(tmp_path / "ref.png", image)
    load = evalkit.scoring.load_image
    monkeypatch.setattr(
        "evalkit.scoring.load_image",
        lambda p: threads.setdefault("decode", threading.current_thread()) and load(p),
    )
    decoded = decode_while_loading({"reference": path, "noisy": None}, Loading())
    assert list(decoded) == ["reference"]
    np.testing.assert_array_equal(decoded["reference"][0], as_image(path, "reference")[0])
    assert threads["load"] is threading.current_thread()
    assert threads["decode"] is not threading.current_thread()

    # Two files decode side by side, each in a helper thread of its own.
    threads.clear()
    decoders = set()
    # Each decode waits for the other to start: one thread for both would time out.
    both = threading.Barrier(2, timeout=10)

    def decode_beside_the_other(p):
        decoders.add(threading.current_thread())
        both.wait()
        return load(p)

    monkeypatch.setattr("evalkit.scoring.load_image", decode_beside_the_other)
    other = save_image(tmp_path / "noisy.png", image)
    decoded = decode_while_loading({"reference": path, "noisy": other}, None)
    assert list(decoded) == ["reference", "noisy"]
    assert len(decoders) == 2 and threading.current_thread() not in decoders
    monkeypatch.setattr("evalkit.scoring.load_image", load)

    # A missing file fails before anything loads; a corrupt one after, as itself.
    threads.clear()
    with pytest.raises(ImageError, match="no such file"):
        decode_while_loading({"reference": path, "noisy": tmp_path / "gone.png"}, Loading())
    assert threads == {}
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ImageError, match=r"bad\.png"):
        decode_while_loading({"reference": tmp_path / "bad.png"}, Loading())
    assert "load" in threads
