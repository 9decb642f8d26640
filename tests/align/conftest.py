"""An analytic scene that can be sampled exactly under any transform."""

from __future__ import annotations

import math

import numpy as np
import pytest


def render(height, width, *, matrix=None, seed=0):
    """Sample a fixed band-limited scene (sinusoids + soft disks) at ``matrix @ p``.

    ``matrix`` (3x3) maps output pixel coordinates to scene coordinates, so an image
    rendered with ``M`` is aligned to the unwarped one by the transform ``inv(M)``
    in evalkit's convention. Exact ground truth for sub-pixel shifts and rotations,
    with no interpolation in the test data itself.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    if matrix is not None:
        m = np.asarray(matrix, np.float64)
        d = m[2, 0] * x + m[2, 1] * y + m[2, 2]
        x, y = (m[0, 0] * x + m[0, 1] * y + m[0, 2]) / d, (m[1, 0] * x + m[1, 1] * y + m[1, 2]) / d
    out = np.zeros((height, width, 3))
    for _ in range(40):
        freq, angle, phase = rng.uniform(0.005, 0.2), rng.uniform(0, np.pi), rng.uniform(0, 6.3)
        amp = rng.uniform(0.02, 0.08) * rng.uniform(0.5, 1.0, 3)
        wave = np.sin(2 * np.pi * freq * (np.cos(angle) * x + np.sin(angle) * y) + phase)
        out += amp * wave[..., None]
    for _ in range(6):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(8, 40)
        colour = rng.uniform(-0.3, 0.3, 3)
        out += colour * (0.5 - 0.5 * np.tanh((np.hypot(x - cx, y - cy) - r) / 1.5))[..., None]
    return np.clip(0.5 + out, 0, 1).astype(np.float32)


def rigid(dx=0.0, dy=0.0, degrees=0.0, *, size=(256, 192)):
    """Rotation about the frame centre followed by a shift, as a 3x3 matrix."""
    width, height = size
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    return np.array(
        [[c, -s, cx - c * cx + s * cy + dx], [s, c, cy - s * cx - c * cy + dy], [0, 0, 1]]
    )


def corner_error(alignment, expected):
    """Largest distance (px) between where the found and the true transform send the
    corners of the valid box."""
    x, y, w, h = alignment.box
    pts = np.array([[x, y, 1], [x + w - 1, y, 1], [x, y + h - 1, 1], [x + w - 1, y + h - 1, 1]]).T
    found, true = alignment.matrix @ pts, expected @ pts
    return float(np.abs(found[:2] / found[2] - true[:2] / true[2]).max())


@pytest.fixture
def scene():
    return render(192, 256)


@pytest.fixture
def noisy_of(rng):
    def make(clean, sigma=0.05):
        return np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 1).astype(np.float32)

    return make
