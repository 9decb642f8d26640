"""What a results folder keeps: outputs at their own bit depth, or no outputs at all."""

from __future__ import annotations

import logging

import numpy as np

from evalkit import score
from evalkit.io import load_image
from evalkit.runner import RunConfig, run


def _config(manifest, *denoisers, metrics=("psnr", "ssim"), keep_outputs=True):
    return RunConfig.from_dict(
        {
            "dataset": str(manifest),
            "ocr": "none",
            "metrics": list(metrics),
            "keep_outputs": keep_outputs,
            "denoiser": list(denoisers),
        }
    )


def _png_bit_depth(path) -> int:
    # The IHDR chunk follows the 8-byte signature; its bit depth is byte 24.
    return path.read_bytes()[24]


def _values(table):
    return table[["pair", "denoiser", "metric", "value", "status"]].reset_index(drop=True)


def test_an_8_bit_output_is_kept_as_an_8_bit_png_and_a_float_one_as_16_bit(tiny_dataset, tmp_path):
    # The noisy shot is an 8-bit file, and so is the identity's output; the
    # Gaussian blur's output is float.
    run(_config(tiny_dataset, {"name": "noisy"}, {"name": "gaussian"}), out=tmp_path / "out")
    outputs = tmp_path / "out" / "outputs"
    assert _png_bit_depth(outputs / "noisy" / "a-iso800.png") == 8
    assert _png_bit_depth(outputs / "gaussian" / "a-iso800.png") == 16
    noisy = load_image(tiny_dataset.parent / "iso800.png")
    np.testing.assert_array_equal(load_image(outputs / "noisy" / "a-iso800.png"), noisy)


def test_an_8_bit_output_scores_exactly_as_the_image_itself(tiny_dataset, tmp_path):
    table = run(_config(tiny_dataset, {"name": "noisy"}), out=tmp_path / "out").table
    folder = tiny_dataset.parent
    direct = score(folder / "ref.png", folder / "iso800.png", noisy=folder / "iso800.png", ocr=None)
    rows = table[table["pair"] == "a-iso800"].set_index("metric")["value"]
    assert rows["psnr"] == direct.metrics["psnr"] and rows["ssim"] == direct.metrics["ssim"]


def test_a_resumed_run_reads_8_bit_outputs_back_to_the_same_scores(tiny_dataset, tmp_path):
    config = _config(tiny_dataset, {"name": "noisy"}, {"name": "gaussian"})
    first = run(config, out=tmp_path / "out")
    # New metrics are scored on the kept images, the denoisers are not run again.
    more = _config(
        tiny_dataset, {"name": "noisy"}, {"name": "gaussian"}, metrics=("psnr", "ssim", "gmsd")
    )
    second = run(more, out=tmp_path / "out")
    fresh = run(more, out=tmp_path / "fresh")
    assert second.reused == 4
    assert _values(second.table).equals(_values(fresh.table))
    kept = second.table[second.table["metric"] != "gmsd"].reset_index(drop=True)
    assert _values(kept).equals(_values(first.table))


def test_without_outputs_the_folder_keeps_scores_but_no_images(tiny_dataset, tmp_path):
    denoisers = ({"name": "noisy"}, {"name": "gaussian"})
    kept = run(_config(tiny_dataset, *denoisers), out=tmp_path / "kept")
    bare = run(_config(tiny_dataset, *denoisers, keep_outputs=False), out=tmp_path / "bare")
    assert not (tmp_path / "bare" / "outputs").exists()
    assert not (tmp_path / "bare" / "maps").exists()
    assert bare.table["output"].isna().all()
    assert _values(bare.table).equals(_values(kept.table))
    assert bare.findings.equals(kept.findings)


def test_without_outputs_a_rerun_reuses_every_item(tiny_dataset, tmp_path):
    config = _config(tiny_dataset, {"name": "gaussian"}, keep_outputs=False)
    first = run(config, out=tmp_path / "out")
    again = run(config, out=tmp_path / "out")
    assert again.reused == 2
    assert _values(again.table).equals(_values(first.table))


def test_without_outputs_a_new_metric_runs_the_denoiser_again_and_says_so(
    tiny_dataset, tmp_path, caplog
):
    run(_config(tiny_dataset, {"name": "gaussian"}, keep_outputs=False), out=tmp_path / "out")
    more = _config(
        tiny_dataset, {"name": "gaussian"}, metrics=("psnr", "ssim", "gmsd"), keep_outputs=False
    )
    with caplog.at_level(logging.WARNING, logger="evalkit.runner"):
        again = run(more, out=tmp_path / "out")
    assert again.reused == 0
    assert "2 items run their denoiser again" in caplog.text
    assert _values(again.table).equals(_values(run(more, out=tmp_path / "fresh").table))


def test_the_run_flag_overrides_the_config(tiny_dataset, tmp_path):
    run(_config(tiny_dataset, {"name": "noisy"}), out=tmp_path / "out", keep_outputs=False)
    assert not (tmp_path / "out" / "outputs").exists()
