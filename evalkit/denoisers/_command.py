"""Run any program as a denoiser: write the noisy image, run it, read its output."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DenoiserError, ImageError
from ..io import check_same_size, load_image, save_image

if TYPE_CHECKING:
    from ..datasets import Pair

# Process groups of the commands this process is running. A program runs in a
# session of its own, so it outlives a worker that is killed at its item's
# timeout (or whose run is killed) unless that worker kills these first.
_RUNNING: set[int] = set()
_STDERR_TAIL = 65536  # bytes of the program's stderr kept for the failure message


def kill_running_commands() -> None:
    """Kill every command this process has started and not yet waited for, with
    its children (``SIGKILL`` to each process group)."""
    for group in list(_RUNNING):
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.killpg(group, signal.SIGKILL)


@dataclass(frozen=True)
class CommandDenoiser:
    """An external program, called once per image with an argv template.

    Parameters
    ----------
    argv : sequence of str
        Program and arguments. ``{input}`` and ``{output}`` inside an argument are
        replaced by the paths of the input file evalkit writes and of the output
        file the program must write. No shell is involved: arguments are passed
        as they are, so spaces and quotes in paths are safe.
    timeout : float, optional
        Seconds before the program (and every process it started) is killed.
    suffix : str, optional
        Image format of both files (``".png"``, ``".tif"``).
    bit_depth : {8, 16}, optional
        Bits per channel of the input file.
    name : str, optional
        Name in results.

    Notes
    -----
    The program runs in a fresh temporary folder, its working directory, which is
    removed afterwards. A non-zero exit status, a timeout, a missing or unreadable
    output, or an output of another size raises :class:`DenoiserError`.
    """

    argv: Sequence[str]
    timeout: float = 600.0
    suffix: str = ".png"
    bit_depth: int = 16
    name: str = "command"
    params: Mapping[str, Any] = field(init=False)

    def __post_init__(self):
        if isinstance(self.argv, str) or not self.argv:
            raise DenoiserError("command denoiser: argv must be a non-empty list of arguments")
        if not any("{output}" in arg for arg in self.argv):
            raise DenoiserError("command denoiser: argv must contain {output}")
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, int | float):
            raise DenoiserError(f"command denoiser: timeout must be seconds, got {self.timeout!r}")
        if self.timeout <= 0:
            raise DenoiserError(f"command denoiser: timeout must be positive, got {self.timeout}")
        if self.bit_depth not in (8, 16):
            raise DenoiserError(
                f"command denoiser: bit_depth must be 8 or 16, got {self.bit_depth}"
            )
        if self.suffix.lower() not in (".png", ".tif", ".tiff", ".jpg", ".jpeg"):
            raise DenoiserError(
                f"command denoiser: suffix must be .png, .tif or .jpg, got {self.suffix!r}"
            )
        if self.bit_depth == 16 and self.suffix.lower() in (".jpg", ".jpeg"):
            raise DenoiserError("command denoiser: JPEG holds 8 bits; set bit_depth = 8")
        object.__setattr__(self, "argv", tuple(self.argv))
        object.__setattr__(
            self,
            "params",
            {"argv": list(self.argv), "timeout": self.timeout, "suffix": self.suffix},
        )

    def denoise(self, noisy: np.ndarray, *, pair: Pair | None = None) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="evalkit-cmd-") as tmp:
            input_path = save_image(
                Path(tmp) / f"input{self.suffix}", noisy, bit_depth=self.bit_depth
            )
            output_path = Path(tmp) / f"output{self.suffix}"
            argv = [
                arg.replace("{input}", str(input_path)).replace("{output}", str(output_path))
                for arg in self.argv
            ]
            _run_bounded(argv, cwd=tmp, timeout=self.timeout, program=self.argv[0])
            if not output_path.is_file():
                raise DenoiserError(
                    f"command {self.argv[0]!r} exited normally but wrote no output file"
                )
            try:
                output = load_image(output_path)
                check_same_size(noisy, output, names=("input", f"output of {self.argv[0]!r}"))
            except ImageError as exc:
                raise DenoiserError(
                    str(exc).replace(str(output_path), f"output of {self.argv[0]!r}")
                ) from None
            return output


def _run_bounded(argv: list[str], *, cwd: str, timeout: float, program: str) -> None:
    # The program's output goes to an unlinked temporary file, not a pipe: waiting
    # on a pipe would also wait for any child that inherited it (a daemon the
    # program left running), up to the timeout, and discard a valid output.
    with tempfile.TemporaryFile() as stderr:
        try:
            # A new session makes the program the leader of its own process group,
            # so its children can be killed with it, not just the program.
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        except OSError as exc:
            raise DenoiserError(
                f"command {program!r} could not be started: {exc.strerror}"
            ) from None
        _RUNNING.add(process.pid)
        try:
            finished = _wait_unreaped(process.pid, timeout)
        finally:
            _RUNNING.discard(process.pid)
            # Whether it finished, timed out or was interrupted (Ctrl-C), nothing it
            # started in its group outlives the call. The group is killed before the
            # program is reaped, while its pid cannot yet have been reused.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if not finished:
            raise DenoiserError(f"command {program!r} timed out after {timeout:g} s and was killed")
        stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - _STDERR_TAIL))
        lines = stderr.read().decode(errors="replace").strip().splitlines()
    if process.returncode != 0:
        detail = f": {lines[-1]}" if lines else ""
        status = (
            f"was killed by signal {-process.returncode}"
            if process.returncode < 0
            else f"failed with exit status {process.returncode}"
        )
        raise DenoiserError(f"command {program!r} {status}{detail}")


def _wait_unreaped(pid: int, timeout: float) -> bool:
    """Wait until process ``pid`` exits, at most ``timeout`` s, without reaping it
    (``waitid`` with ``WNOWAIT``); True if it exited."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)
