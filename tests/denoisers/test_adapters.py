"""The external-command and precomputed-folder adapters, including their failures."""

from __future__ import annotations

import signal
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from evalkit.datasets import Pair
from evalkit.denoisers import CommandDenoiser, FolderDenoiser, make_denoiser
from evalkit.errors import DenoiserError
from evalkit.io import save_image


def _script(tmp_path, body: str) -> list[str]:
    path = tmp_path / "tool.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path), "{input}", "{output}"]


INVERT = """
    import sys
    import cv2
    codes = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)
    assert codes.dtype == "uint16"  # the input keeps 16 bits by default
    cv2.imwrite(sys.argv[2], 65535 - codes)
"""


def test_command_output_is_read_back(tmp_path, smooth_image):
    denoiser = CommandDenoiser(argv=_script(tmp_path, INVERT), timeout=30)
    output = denoiser.denoise(smooth_image)
    np.testing.assert_allclose(output, 1 - smooth_image, atol=1e-4)


def test_command_paths_with_spaces_and_quotes_pass_as_one_argument(tmp_path, smooth_image):
    folder = tmp_path / "my 'odd' \"dir\""
    folder.mkdir()
    denoiser = CommandDenoiser(argv=_script(folder, INVERT), timeout=30)
    assert denoiser.denoise(smooth_image).shape == smooth_image.shape


def test_command_that_fails_reports_its_exit_status_and_last_stderr_line(tmp_path, smooth_image):
    argv = _script(tmp_path, "import sys; sys.exit('model file not found')")
    with pytest.raises(DenoiserError, match=r"exit status 1: model file not found"):
        CommandDenoiser(argv=argv).denoise(smooth_image)


def test_command_that_hangs_is_killed_at_the_timeout(tmp_path, smooth_image):
    argv = _script(tmp_path, "import time; time.sleep(60)")
    start = time.perf_counter()
    with pytest.raises(DenoiserError, match=r"timed out after 0.5 s"):
        CommandDenoiser(argv=argv, timeout=0.5).denoise(smooth_image)
    assert time.perf_counter() - start < 10


def test_command_interrupted_by_ctrl_c_is_killed(tmp_path, smooth_image):
    pid_file = tmp_path / "pid"
    body = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    argv = _script(tmp_path, body)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            CommandDenoiser(argv=argv, timeout=30).denoise(smooth_image)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and "Z" not in _state(pid):
        assert time.monotonic() < deadline, "the interrupted command is still running"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:  # gone meanwhile
        return "Z"


def test_command_that_writes_nothing_is_a_failure(tmp_path, smooth_image):
    with pytest.raises(DenoiserError, match=r"wrote no output file"):
        CommandDenoiser(argv=_script(tmp_path, "pass")).denoise(smooth_image)


def test_command_that_writes_the_wrong_size_is_a_failure(tmp_path, smooth_image):
    body = "import sys; from PIL import Image; Image.new('RGB', (5, 5)).save(sys.argv[2])"
    with pytest.raises(DenoiserError, match=r"size 5x5 does not match"):
        CommandDenoiser(argv=_script(tmp_path, body)).denoise(smooth_image)


def test_missing_program_is_a_clear_failure(smooth_image):
    with pytest.raises(DenoiserError, match=r"could not be started"):
        CommandDenoiser(argv=["/no/such/program", "{input}", "{output}"]).denoise(smooth_image)


def test_command_needs_an_output_placeholder():
    with pytest.raises(DenoiserError, match=r"\{output\}"):
        CommandDenoiser(argv=["cp", "{input}", "out.png"])


def test_command_is_buildable_by_name(tmp_path):
    denoiser = make_denoiser("command", argv=["tool", "{input}", "{output}"], timeout=5)
    assert denoiser.params["timeout"] == 5


def _pair(tmp_path, name="scene1_iso3200"):
    noisy = tmp_path / f"{name}.png"
    noisy.touch()
    return Pair(id="scene1", reference=tmp_path / "ref.png", noisy=noisy)


def test_folder_matches_outputs_by_noisy_file_name(tmp_path, smooth_image):
    outputs = tmp_path / "topaz"
    outputs.mkdir()
    save_image(outputs / "scene1_iso3200.tif", smooth_image, bit_depth=16)
    output = FolderDenoiser(outputs).denoise(smooth_image, pair=_pair(tmp_path))
    np.testing.assert_allclose(output, smooth_image, atol=1e-4)


def test_folder_matches_outputs_by_pair_id(tmp_path, smooth_image):
    outputs = tmp_path / "topaz"
    outputs.mkdir()
    save_image(outputs / "scene1.png", smooth_image)
    assert FolderDenoiser(outputs).find(_pair(tmp_path)).name == "scene1.png"


def test_folder_without_the_output_names_the_pair(tmp_path, smooth_image):
    outputs = tmp_path / "topaz"
    outputs.mkdir()
    with pytest.raises(DenoiserError, match=r"no output for pair 'scene1'"):
        FolderDenoiser(outputs).denoise(smooth_image, pair=_pair(tmp_path))


def test_folder_with_two_candidates_is_ambiguous(tmp_path, smooth_image):
    outputs = tmp_path / "topaz"
    outputs.mkdir()
    save_image(outputs / "scene1_iso3200.png", smooth_image)
    save_image(outputs / "scene1_iso3200.jpg", smooth_image)
    with pytest.raises(DenoiserError, match=r"several outputs match"):
        FolderDenoiser(outputs).denoise(smooth_image, pair=_pair(tmp_path))


def test_folder_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(DenoiserError, match=r"is not a folder"):
        FolderDenoiser(tmp_path / "missing")
