"""Exceptions for user mistakes, each carrying the exit code the CLI returns.

A user mistake (a missing file, a bad manifest, an unknown denoiser name) is an
:class:`EvalkitError`: the CLI prints its message as one line and exits with its
``exit_code`` instead of showing a traceback. Anything else is a bug in evalkit
or in a plugin and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "AlignmentError",
    "ConfigError",
    "DenoiserError",
    "EvalkitError",
    "ImageError",
    "ManifestError",
    "UnavailableError",
]


class EvalkitError(Exception):
    """Base class for errors caused by input rather than by a bug.

    Attributes
    ----------
    exit_code : int
        Process exit status used by the CLI (2 = bad input, as argparse and Typer do).
    """

    exit_code = 2


class ImageError(EvalkitError):
    """An image file is missing, unreadable, truncated, too large or of the wrong size."""


class ManifestError(EvalkitError):
    """A dataset manifest is malformed or names files that do not exist."""


class AlignmentError(EvalkitError):
    """The reference could not be registered to the noisy shot."""


class ConfigError(EvalkitError):
    """A run configuration is malformed."""


class DenoiserError(EvalkitError):
    """A denoiser failed, timed out, or returned an unusable image."""


class UnavailableError(EvalkitError):
    """A metric or engine cannot run here (missing weights or package).

    The message says what is missing and the command that fixes it; results record
    the value as unavailable with this reason instead of a number.
    """


class ResultsFolderError(EvalkitError):
    """A results folder that cannot be written or read: a file in its place, or a
    database that is not evalkit's."""
