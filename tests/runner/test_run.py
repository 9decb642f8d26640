"""Runs over a dataset: the tidy table, fault isolation, and config errors."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.errors import ConfigError
from evalkit.runner import TABLE_COLUMNS, RunConfig, run


def _config(manifest, *denoisers, metrics=("psnr", "ssim")):
    return RunConfig.from_dict(
        {
            "dataset": str(manifest),
            "ocr": "none",
            "metrics": list(metrics),
            "denoiser": list(denoisers),
        }
    )


def test_run_gives_one_row_per_pair_denoiser_and_metric(tiny_dataset):
    result = run(_config(tiny_dataset, {"name": "noisy"}, {"name": "gaussian"}))
    table = result.table
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert len(table) == 2 * 2 * 2
    assert (table["status"] == "ok").all()
    assert (table["seconds"] >= 0).all()
    assert set(table["iso"]) == {800.0, 3200.0}


def test_denoising_beats_the_noisy_baseline_at_high_iso(tiny_dataset):
    table = run(_config(tiny_dataset, {"name": "noisy"}, {"name": "tv"})).table
    psnr = table[(table.metric == "psnr") & (table.pair == "a-iso3200")].set_index("denoiser")[
        "value"
    ]
    assert psnr["tv"] > psnr["noisy"]


class _Broken:
    name = "broken"

    def __init__(self, mode):
        self.mode = mode
        self.params = {"mode": mode}

    def denoise(self, noisy, *, pair=None):
        if self.mode == "raise":
            raise RuntimeError("CUDA out of memory")
        if self.mode == "nan":
            return np.full_like(noisy, np.nan)
        if self.mode == "shape":
            return noisy[:-1]
        if self.mode == "dtype":
            return (noisy * 255).astype(np.uint8)
        return noisy


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("raise", "RuntimeError: CUDA out of memory"),
        ("nan", "NaN or infinite"),
        ("shape", "returned shape"),
        ("dtype", "returned dtype uint8"),
    ],
)
def test_a_failing_denoiser_becomes_failure_rows_and_the_run_goes_on(tiny_dataset, mode, reason):
    from evalkit.denoisers import DENOISERS, DenoiserSpec

    DENOISERS.register(DenoiserSpec("broken", f"{__name__}:_Broken"), replace=True)
    result = run(
        _config(tiny_dataset, {"name": "broken", "params": {"mode": mode}}, {"name": "noisy"})
    )
    failures = result.failures
    assert len(failures) == 2 and (failures["denoiser"] == "broken").all()
    assert failures["error"].str.contains(reason).all()
    ok = result.table[result.table.denoiser == "noisy"]
    assert (ok["status"] == "ok").all() and len(ok) == 4


def test_an_unreadable_image_fails_its_pair_only(tiny_dataset):
    (tiny_dataset.parent / "iso800.png").write_bytes(b"not a png")
    result = run(_config(tiny_dataset, {"name": "noisy"}))
    assert list(result.failures["pair"]) == ["a-iso800"]
    assert "iso800.png: not an image file" in result.failures["error"][0]
    assert (result.table[result.table.pair == "a-iso3200"]["status"] == "ok").all()


def test_results_are_written_as_csv(tiny_dataset, tmp_path):
    import pandas as pd

    run(_config(tiny_dataset, {"name": "noisy"}), out=tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert len(table) == 4 and set(table["metric"]) == {"psnr", "ssim"}


@pytest.mark.parametrize(
    ("document", "match"),
    [
        ({"denoiser": [{"name": "noisy"}]}, "missing 'dataset'"),
        ({"dataset": "m.toml"}, "at least one"),
        ({"dataset": "m.toml", "denoiser": [{"label": "x"}]}, "has no 'name'"),
        (
            {"dataset": "m.toml", "denoiser": [{"name": "a"}, {"name": "a"}]},
            "labels must be unique",
        ),
        ({"dataset": "m.toml", "denoiser": [{"name": "a", "param": {}}]}, "unknown keys"),
        ({"dataset": "m.toml", "denoisers": []}, "unknown keys"),
    ],
)
def test_bad_config_is_refused_with_the_reason(document, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig.from_dict(document)


def test_unknown_metric_fails_before_any_work(tiny_dataset):
    with pytest.raises(ConfigError, match="unknown metric 'psrn'; did you mean 'psnr'"):
        run(_config(tiny_dataset, {"name": "noisy"}, metrics=["psrn"]))


def test_unknown_denoiser_fails_before_any_work(tiny_dataset):
    with pytest.raises(ConfigError, match="unknown denoiser 'gausian'"):
        run(_config(tiny_dataset, {"name": "gausian"}))
