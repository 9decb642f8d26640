"""Small scenes for the detector tests: natural crops, synthetic patches, a composite desk."""

from __future__ import annotations

import numpy as np
import pytest


def to_float(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32) / 255
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image)


def natural(name: str, size: int = 192) -> np.ndarray:
    """A centred crop of a scikit-image sample photo, float32 RGB."""
    from skimage import data

    image = to_float(getattr(data, name)())
    top = (image.shape[0] - size) // 2
    left = (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size].copy()


def camera_shot(reference: np.ndarray, iso: float, seed: int = 0) -> np.ndarray:
    """The reference photographed again at ``iso`` with the project's camera-noise model.

    Falls back to Poisson-Gaussian noise of similar strength (sRGB, clipped)
    where the camera model cannot be imported.
    """
    rng = np.random.default_rng(seed)
    try:
        from evalkit.datasets._camera_noise import simulate_shot, srgb_to_linear
    except ImportError:
        scale = iso / 100.0
        photons = 40000.0 / scale  # electrons at white: sigma about 0.02 at mid-grey, ISO 3200
        shot = rng.poisson(np.clip(reference, 0, 1) * photons) / photons
        read = rng.normal(0.0, 0.002 * np.sqrt(scale), reference.shape)
        return np.clip(shot + read, 0, 1).astype(np.float32)
    return simulate_shot(srgb_to_linear(reference.astype(np.float64)), iso=iso, rng=rng)


def nlm(noisy: np.ndarray) -> np.ndarray:
    """A reasonable non-local-means denoise (evalkit's built-in, scikit-image)."""
    from evalkit.denoisers._classic import denoise_nl_means

    return denoise_nl_means(noisy)


def band_texture(shape, amplitude: float, seed: int = 0) -> np.ndarray:
    """Band-limited noise (periods of about 3-12 px) with RMS ``amplitude``."""
    import cv2

    rng = np.random.default_rng(seed)
    white = rng.normal(size=shape).astype(np.float32)
    band = cv2.GaussianBlur(white, (0, 0), 0.8) - cv2.GaussianBlur(white, (0, 0), 2.5)
    return band * (amplitude / band.std())


def grille(shape, period: int = 4, low: float = 0.25, high: float = 0.65) -> np.ndarray:
    """Vertical bars: a fine grille of ``period`` pixels."""
    height, width = shape
    x = np.arange(width)
    row = np.where((x % period) < period // 2, high, low).astype(np.float32)
    return np.repeat(np.tile(row, (height, 1))[..., None], 3, axis=2)


def fabric(shape) -> np.ndarray:
    """A fine weave (5-pixel period) with irregular yarn from scikit-image's brick sample."""
    from skimage import data

    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    weave = np.sin(2 * np.pi * x / 5) * np.sin(2 * np.pi * y / 5)
    brick = data.brick()[:height, :width].astype(np.float32)
    brick = (brick - brick.mean()) / brick.std()
    texture = 0.5 + 0.1 * weave + 0.05 * brick
    return np.repeat(np.clip(texture, 0, 1)[..., None], 3, axis=2)


def unsharp(image: np.ndarray, *, radius: float, amount: float) -> np.ndarray:
    """Unsharp mask ``image + amount * (image - blur)``, clipped to [0, 1].

    Written out because scikit-image 0.26's ``unsharp_mask`` returns values far
    outside [0, 1] for some float32 crops.
    """
    import cv2

    image = np.ascontiguousarray(image, dtype=np.float32)
    blurred = cv2.GaussianBlur(image, (0, 0), radius)
    return np.clip(image + amount * (image - blurred), 0, 1)


def write(image: np.ndarray, text: str, org, *, scale: float, color, thickness: int = 2):
    """Draw anti-aliased ``text`` into a float image in place (OpenCV draws on 8-bit only)."""
    import cv2

    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.putText(mask, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thickness, cv2.LINE_AA)
    alpha = (mask.astype(np.float32) / 255)[..., None]
    image[:] = (1 - alpha) * image + alpha * np.float32(color)


#: Regions of the composite desk scene, (x, y, w, h) in pixels.
DESK_REGIONS = {
    "label": (16, 16, 160, 64),
    "grille": (224, 16, 96, 96),
    "paper": (416, 16, 192, 128),
    "fabric": (16, 176, 128, 128),
    "metal": (224, 224, 128, 96),
    "red_text": (416, 288, 160, 64),
}


def desk_scene() -> np.ndarray:
    """448x640 desk: label text, grille, blank paper, fabric, white metal, blurry red text."""
    import cv2

    scene = np.full((448, 640, 3), 0.45, np.float32)
    # A gentle natural background (grass, low contrast) so the rest of the image is not empty.
    from skimage import data

    grass = np.tile(data.grass(), (1, 2))[:448, :640].astype(np.float32) / 255
    scene += (0.12 * (grass - grass.mean()))[..., None]

    def put(name, patch):
        x, y, w, h = DESK_REGIONS[name]
        scene[y : y + h, x : x + w] = patch[:h, :w]

    label = np.full((64, 160, 3), 0.9, np.float32)
    write(label, "keyboard 8", (6, 42), scale=0.75, color=(0.05, 0.05, 0.05))
    put("label", label)
    put("grille", grille((96, 96)))
    put("paper", np.full((128, 192, 3), 0.82, np.float32))
    put("fabric", fabric((128, 128)))
    _y, x = np.mgrid[0:96, 0:128]
    metal = 0.90 + 0.04 * (x / 127)[..., None] * np.ones(3, np.float32)
    put("metal", metal.astype(np.float32))
    red = np.full((64, 160, 3), 0.85, np.float32)
    write(red, "Exit 42", (10, 44), scale=1.1, color=(0.8, 0.1, 0.1), thickness=3)
    put("red_text", cv2.GaussianBlur(red, (0, 0), 2.0))
    return np.clip(scene, 0, 1)


def ai_like(candidate: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Break each desk region the way AI denoisers do (the label is left alone)."""
    out = candidate.copy()

    def region(name):
        x, y, w, h = DESK_REGIONS[name]
        return (slice(y, y + h), slice(x, x + w))

    # Grille sharpened, its noise amplified.
    g = region("grille")
    out[g] = unsharp(out[g], radius=1.0, amount=2.0)
    # Blank paper given a cloth-like texture.
    p = region("paper")
    out[p] += band_texture(out[p].shape[:2], 0.03, seed=5)[..., None]
    # Fabric flattened.
    import cv2

    f = region("fabric")
    out[f] = cv2.GaussianBlur(np.ascontiguousarray(out[f]), (0, 0), 3.0)
    # White metal brightened into clipping.
    m = region("metal")
    out[m] = out[m] * 1.12
    # Blurry red text redrawn as hard strokes.
    t = region("red_text")
    redness = reference[t][..., 0] - reference[t][..., 1]
    hard = redness > 0.3
    out[t] = np.where(hard[..., None], np.float32([0.8, 0.1, 0.1]), np.float32([0.85] * 3))
    return np.clip(out, 0, 1).astype(np.float32)


@pytest.fixture(scope="session")
def desk():
    """(reference, noisy ISO 3200, honest NLM candidate) of the composite desk scene."""
    reference = desk_scene()
    noisy = camera_shot(reference, 3200, seed=3)
    return reference, noisy, nlm(noisy)


def overlaps(bbox, region, *, min_share: float = 0.3) -> bool:
    """True when ``bbox`` covers at least ``min_share`` of ``region`` (both (x, y, w, h))."""
    if bbox is None:
        return False
    ax, ay, aw, ah = bbox
    bx, by, bw, bh = region
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    return ix * iy >= min_share * bw * bh


def serious(findings):
    return [f for f in findings if f.severity.value != "info"]
