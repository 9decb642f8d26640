"""Hostile inputs: each gets one line naming the file and the real problem, exit 2,
no traceback, through the command line; and a clear evalkit error through the API.

Every input is generated here, small; the command line runs in-process (Typer's
runner), with one real subprocess for the stuck helper process.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time

import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

import evalkit
from evalkit.cli import app
from evalkit.errors import ConfigError, ImageError, ResultsFolderError
from evalkit.io import load_image, save_image
from evalkit.runner import RunConfig

runner = CliRunner()


def _one_line_error(result, *names):
    """Exit 2, a single ``error:`` line naming every one of ``names``, no traceback."""
    output = result.output.strip()
    assert result.exit_code == 2, output
    assert "Traceback" not in output and len(output.splitlines()) == 1, output
    assert output.startswith("error: "), output
    for name in names:
        assert str(name) in output, (name, output)
    return output


@pytest.fixture
def photo(rng):
    """A 64x80 textured image and its noisy version, as PNG files."""
    y, x = np.mgrid[0:64, 0:80].astype(np.float32)
    clean = np.stack([x / 80, y / 64, 0.5 + 0.3 * np.sin(x / 3) * np.cos(y / 4)], axis=-1)
    noisy = np.clip(clean + rng.normal(0, 0.03, clean.shape), 0, 1).astype(np.float32)
    return clean, noisy


def _float_tiff(path, image):
    tifffile.imwrite(path, image.astype(np.float32), photometric="rgb")
    return path


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("role", ["reference", "candidate", "noisy"])
def test_nan_or_inf_pixels_are_refused_with_the_file_and_the_count(tmp_path, photo, value, role):
    clean, noisy = photo
    files = {
        "reference": save_image(tmp_path / "ref.png", clean),
        "candidate": save_image(tmp_path / "out.png", noisy),
        "noisy": save_image(tmp_path / "noisy.png", noisy),
    }
    bad = clean.copy()
    bad[3:5, 7, :] = value  # two pixels
    files[role] = _float_tiff(tmp_path / f"bad-{role}.tif", bad)
    args = ["score", str(files["reference"]), str(files["candidate"]), "--ocr", "none"]
    result = runner.invoke(app, [*args, "--noisy", str(files["noisy"])])
    assert "2 of 5120 pixels are NaN or infinite" in _one_line_error(result, files[role])
    if role != "reference":
        result = runner.invoke(app, ["inspect", str(files["noisy"]), str(files["candidate"])])
        _one_line_error(result, files[role])
    if role != "candidate":
        result = runner.invoke(app, ["pair", "check", str(files["reference"]), str(files["noisy"])])
        _one_line_error(result, files[role])


def test_nan_arrays_are_refused_through_the_api(photo):
    clean, noisy = photo
    bad = clean.copy()
    bad[0, 0, 1] = np.nan
    with pytest.raises(ImageError, match=r"candidate: 1 of 5120 pixels are NaN"):
        evalkit.score(clean, bad, noisy=noisy, ocr=None)
    with pytest.raises(ImageError, match=r"noisy: 1 of 5120 pixels are NaN"):
        evalkit.inspect(bad, noisy, text=False)


def test_a_run_blames_the_input_file_not_the_denoiser(tmp_path, photo):
    clean, _ = photo
    bad = clean.copy()
    bad[10, 10] = np.nan
    _float_tiff(tmp_path / "noisy.tif", bad)
    save_image(tmp_path / "ref.png", clean)
    (tmp_path / "manifest.toml").write_text(
        '[[pair]]\nid = "p"\nreference = "ref.png"\nnoisy = "noisy.tif"\n'
    )
    config = RunConfig.from_dict(
        {
            "dataset": str(tmp_path / "manifest.toml"),
            "ocr": "none",
            "denoiser": [{"name": "noisy"}],
        }
    )
    failures = evalkit.run(config).failures
    assert len(failures) == 1
    error = failures["error"].iloc[0]
    assert "noisy.tif: 1 of 5120 pixels are NaN or infinite" in error
    assert "returned NaN" not in error


@pytest.mark.parametrize("size", [(1, 1), (1, 640), (640, 1), (2, 2), (12, 12), (10, 31)])
@pytest.mark.parametrize("command", ["score", "score-never", "inspect", "pair"])
def test_images_below_the_minimum_size_are_refused_up_front(tmp_path, rng, size, command):
    image = rng.random((*size, 3)).astype(np.float32)
    a, b = save_image(tmp_path / "a.png", image), save_image(tmp_path / "b.png", image * 0.9)
    args = {
        "score": ["score", str(a), str(b), "--noisy", str(b), "--ocr", "none"],
        "score-never": ["score", str(a), str(b), "--align", "never", "--ocr", "none"],
        "inspect": ["inspect", str(a), str(b)],
        "pair": ["pair", "check", str(a), str(b)],
    }[command]
    output = _one_line_error(runner.invoke(app, args), a)
    assert f"{size[1]}x{size[0]} px is smaller than the 32x32 px evalkit needs" in output


def test_a_tiny_array_is_refused_through_the_api(rng):
    image = rng.random((12, 12, 3)).astype(np.float32)
    with pytest.raises(ImageError, match="12x12 px is smaller than the 32x32 px"):
        evalkit.score(image, image, noisy=image, ocr=None)


@pytest.fixture
def tiny_config(tmp_path, tiny_dataset):
    config = tmp_path / "run.toml"
    config.write_text(
        f'dataset = "{tiny_dataset}"\nocr = "none"\nmetrics = ["psnr"]\n\n'
        '[[denoiser]]\nname = "noisy"\n'
    )
    return config


def test_out_naming_an_existing_file_is_refused(tmp_path, tiny_config):
    target = tmp_path / "results"
    target.write_text("not a folder")
    result = runner.invoke(app, ["run", str(tiny_config), "--out", str(target)])
    assert "exists and is not a folder" in _one_line_error(result, target)
    assert target.read_text() == "not a folder"


@pytest.mark.parametrize("kind", ["corrupt", "foreign", "folder"])
def test_a_broken_results_database_is_refused_and_left_untouched(tmp_path, tiny_config, kind):
    out = tmp_path / "results"
    out.mkdir()
    database = out / "evalkit.sqlite"
    if kind == "corrupt":
        database.write_bytes(b"this is not SQLite" * 100)
    elif kind == "foreign":
        with sqlite3.connect(database) as db:
            db.execute("CREATE TABLE photos (name TEXT)")
    else:
        database.mkdir()
    before = database.read_bytes() if database.is_file() else None
    with pytest.raises(ResultsFolderError):
        evalkit.run(tiny_config, out=out)
    _one_line_error(runner.invoke(app, ["run", str(tiny_config), "--out", str(out)]), database)
    if before is not None:
        assert database.read_bytes() == before


def test_an_existing_results_folder_opens_safely_and_is_reused(tmp_path, tiny_config):
    out = tmp_path / "results"
    first = evalkit.run(tiny_config, out=out)
    second = evalkit.run(tiny_config, out=out)
    items = first.table[["pair", "denoiser"]].drop_duplicates()
    assert second.reused == len(items) > 0


def test_a_command_that_leaves_a_child_holding_its_output_returns_at_once(tmp_path):
    # The program writes its output, exits 0, and leaves a child that holds stdout
    # and stderr open for a minute: evalkit takes the output and kills the child.
    script = tmp_path / "denoise.py"
    pid_file = tmp_path / "child.pid"
    script.write_text(
        "import shutil, subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "shutil.copy(sys.argv[1], sys.argv[2])\n"
    )
    denoiser = evalkit.denoisers.CommandDenoiser(
        argv=[sys.executable, str(script), "{input}", "{output}"], timeout=30
    )
    noisy = np.random.default_rng(0).random((40, 40, 3)).astype(np.float32)
    start = time.monotonic()
    output = denoiser.denoise(noisy)
    assert time.monotonic() - start < 10
    assert np.abs(output - noisy).max() <= 1 / 65535
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"  # a zombie is dead, only not reaped
    except FileNotFoundError:
        return False


def test_inspect_json_on_blank_images_is_strict_json(tmp_path):
    blank = save_image(tmp_path / "blank.png", np.full((48, 48, 3), 0.5, np.float32))
    result = runner.invoke(app, ["inspect", str(blank), str(blank), "--json"])
    assert result.exit_code == 0, result.output

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    json.loads(result.output, parse_constant=refuse)


def test_gate_refuses_an_unknown_metric_name_with_suggestions(tmp_path, tiny_config):
    out = tmp_path / "results"
    evalkit.run(tiny_config, out=out)
    args = ["gate", str(out), "--baseline", str(out), "--max-drop", "psnrr=0.1"]
    output = _one_line_error(runner.invoke(app, args), "psnrr")
    assert "did you mean psnr" in output
    with pytest.raises(ConfigError):
        evalkit.gate.compare_runs(out, out, max_drop={"nosuch": 0.1})


def test_a_float32_rgb_tiff_is_read(tmp_path, photo):
    clean, _ = photo
    path = _float_tiff(tmp_path / "float.tif", clean)
    assert np.array_equal(load_image(path), clean)


def test_an_unknown_denoiser_names_the_config_file(tmp_path, tiny_dataset):
    config = tmp_path / "run.toml"
    config.write_text(f'dataset = "{tiny_dataset}"\n\n[[denoiser]]\nname = "nlmm"\n')
    output = _one_line_error(runner.invoke(app, ["run", str(config)]), config)
    assert "nlm" in output


def test_a_failing_command_is_reported_under_its_label(tmp_path, tiny_dataset):
    config = RunConfig.from_dict(
        {
            "dataset": str(tiny_dataset),
            "ocr": "none",
            "denoiser": [
                {
                    "name": "command",
                    "label": "my-denoiser",
                    "params": {"argv": [sys.executable, "-c", "raise SystemExit(3)", "{output}"]},
                }
            ],
        }
    )
    errors = evalkit.run(config).failures["error"]
    assert errors.str.startswith("denoiser 'my-denoiser': command").all(), list(errors)


@pytest.mark.parametrize(("reference", "noisy"), [(0.0, 0.0), (0.0, 0.3), (0.3, 0.3)])
def test_blank_frames_leak_no_library_warning(reference, noisy):
    import warnings

    ref = np.full((64, 64, 3), reference, np.float32)
    shot = np.full((64, 64, 3), noisy, np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evalkit.score(ref, shot, noisy=shot, ocr=None)
        evalkit.align.check_pair(ref, shot)
    assert not [w for w in caught if "RMS error" in str(w.message)]


def test_a_database_with_a_foreign_runs_table_is_refused_untouched(tmp_path, tiny_config):
    out = tmp_path / "results"
    out.mkdir()
    database = out / "evalkit.sqlite"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE runs (x TEXT)")
        db.execute("CREATE TABLE photos (name TEXT)")
    before = database.read_bytes()
    _one_line_error(runner.invoke(app, ["run", str(tiny_config), "--out", str(out)]), database)
    assert database.read_bytes() == before


def test_a_database_damaged_past_its_first_page_is_refused(tmp_path, tiny_config):
    out = tmp_path / "results"
    evalkit.run(tiny_config, out=out)
    database = out / "evalkit.sqlite"
    data = bytearray(database.read_bytes())
    data[8192:] = b"\xff" * (len(data) - 8192)
    database.write_bytes(bytes(data))
    output = _one_line_error(runner.invoke(app, ["run", str(tiny_config), "--out", str(out)]))
    assert "not an evalkit results database" in output


def test_an_output_path_that_cannot_be_created_is_one_line(tiny_config):
    result = runner.invoke(app, ["run", str(tiny_config), "--out", "/dev/null/results"])
    _one_line_error(result, "/dev/null")


def test_planar_float_tiffs_are_read_and_size_checked(tmp_path, photo):
    clean, _ = photo
    planar = tmp_path / "planar.tif"
    tifffile.imwrite(planar, np.moveaxis(clean, 2, 0), photometric="rgb", planarconfig="separate")
    assert np.array_equal(load_image(planar), clean)
    with pytest.raises(ImageError, match="more than the limit"):
        load_image(planar, max_pixels=1000)
    five = tmp_path / "five.tif"
    samples = np.zeros((40, 40, 5), np.float32)
    tifffile.imwrite(five, samples, photometric="minisblack", planarconfig="contig")
    with pytest.raises(ImageError, match="5 samples per pixel"):
        load_image(five)


def test_a_compressed_grey_float_tiff_is_still_read(tmp_path, photo):
    from PIL import Image

    clean, _ = photo
    path = tmp_path / "lzw.tif"
    Image.fromarray(clean[..., 1]).save(path, compression="tiff_lzw")
    assert np.array_equal(load_image(path)[..., 0], clean[..., 1])


@pytest.mark.parametrize(
    ("max_drop", "message"),
    [
        ("ssim=0.01", "ssim: is not computed in these runs (computed: psnr"),
        ("PSNR=0.1", "did you mean psnr"),
        ("psnr=nan", "the allowance must be a number"),
    ],
)
def test_gate_refuses_metrics_not_computed_and_odd_allowances(
    tmp_path, tiny_config, max_drop, message
):
    out = tmp_path / "results"
    evalkit.run(tiny_config, out=out)
    args = ["gate", str(out), "--baseline", str(out), "--max-drop", max_drop]
    assert message in _one_line_error(runner.invoke(app, args))


def test_gate_refuses_an_empty_results_table(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "results.csv").write_text("")
    _one_line_error(runner.invoke(app, ["gate", str(folder), "--baseline", str(folder)]), folder)


def test_api_arrays_are_made_float32_and_codes_are_refused(photo):
    clean, noisy = photo
    result = evalkit.score(clean.astype(np.float16), noisy, ocr=None)
    assert result.metrics["psnr"] > 20
    with pytest.raises(ImageError, match=r"candidate: values from 0 to 2\d\d"):
        evalkit.score(clean, noisy * 255, ocr=None)


def test_a_command_killed_by_a_signal_says_so(tmp_path):
    argv = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    denoiser = evalkit.denoisers.CommandDenoiser(argv=[*argv, "{output}"], timeout=30)
    with pytest.raises(evalkit.errors.DenoiserError, match="was killed by signal 9"):
        denoiser.denoise(np.zeros((40, 40, 3), np.float32))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"timeout": "soon"}, "timeout must be seconds"),
        ({"suffix": ".jpg"}, "JPEG holds 8 bits"),
        ({"bit_depth": 12}, "bit_depth must be 8 or 16"),
    ],
)
def test_bad_command_parameters_name_the_config_and_label(tmp_path, tiny_dataset, params, message):
    config = tmp_path / "run.toml"
    argv = json.dumps([sys.executable, "-c", "pass", "{output}"])
    extra = ", ".join(f"{key} = {json.dumps(value)}" for key, value in params.items())
    config.write_text(
        f'dataset = "{tiny_dataset}"\n\n[[denoiser]]\nname = "command"\nlabel = "mine"\n'
        f"params = {{ argv = {argv}, {extra} }}\n"
    )
    output = _one_line_error(runner.invoke(app, ["run", str(config)]), config, "'mine'")
    assert message in output


def test_a_folder_given_as_the_run_config_is_named_as_such(tmp_path):
    output = _one_line_error(runner.invoke(app, ["run", str(tmp_path)]), tmp_path)
    assert "a folder, not a run config" in output
