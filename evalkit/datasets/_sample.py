"""The synthetic sample dataset: two scenes, each shot at ISO 100 and at three high ISOs.

The scenes are drawn so that every failure typical of AI denoisers has something
to act on, in a known box: printed words to misread, blurry red handwriting to
turn into curves, a fine grille to oversharpen, blank paper and sky to texture
or flatten, fabric and foliage to smear, a near-white metal plate to blow out,
deep shadows to crush, and colour patches to shift. Each clean scene is shot with
:func:`~evalkit.datasets._camera_noise.simulate_shot`: once at ISO 100 for the
reference and at ISO 800, 3200 and 12800 for the noisy images.

Everything comes from code, the seed, Pillow's bundled font and scikit-image's
bundled photographs, so a fresh run reproduces the committed pixels: float64
arithmetic keeps platform rounding far below one 8-bit step. Only a FreeType
release that rasterises glyphs differently would move text edges.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy.ndimage import gaussian_filter

from ..io import save_image
from ._camera_noise import CameraModel, linear_to_srgb, simulate_shot, srgb_to_linear
from ._pair import BBox

__all__ = ["make_sample_dataset"]

WIDTH, HEIGHT = 640, 480
REFERENCE_ISO = 100
NOISY_ISOS = (800, 3200, 12800)
#: ISO x seconds is the same for every shot (EV 7 at f/4, a dim room), so the
#: higher the ISO, the shorter the exposure and the fewer the photons.
ISO_SECONDS = 12.8
CAMERA_NAME = "evalkit-sim"

_Colour = tuple[float, float, float] | np.ndarray

# Lens plus anti-aliasing filter, as a Gaussian point spread: it keeps the 4-px
# grille and text edges from aliasing into false colour on the Bayer mosaic.
_LENS_SIGMA_PX = 0.6
# Ink boxes are padded so that a box drawn around OCR output still overlaps them.
_TEXT_PAD_PX = 4

# ColorChecker Classic patches, 8-bit sRGB values as commonly published for the chart.
_COLOUR_PATCHES = (
    ("dark-skin", (115, 82, 68)),
    ("light-skin", (194, 150, 130)),
    ("blue-sky", (98, 122, 157)),
    ("foliage", (87, 108, 67)),
    ("orange", (214, 126, 44)),
    ("moderate-red", (193, 90, 99)),
    ("blue", (56, 61, 150)),
    ("green", (70, 148, 73)),
    ("red", (175, 54, 60)),
    ("yellow", (231, 199, 31)),
    ("magenta", (187, 86, 149)),
    ("cyan", (8, 133, 161)),
)


def make_sample_dataset(out_dir: str | os.PathLike, *, seed: int = 0) -> Path:
    """Write the sample dataset (8 PNG files and ``manifest.toml``) into a folder.

    Parameters
    ----------
    out_dir : str or path-like
        Destination folder, created if missing. The scene sub-folders ``desk/``
        and ``shop/`` and ``manifest.toml`` are overwritten; other files are left
        alone.
    seed : int, optional
        Seed of the only random generator used (fabric yarns and camera noise).

    Returns
    -------
    Path
        The written ``manifest.toml``, ready for :func:`evalkit.datasets.load_dataset`.

    Raises
    ------
    ValueError
        If ``seed`` is not a non-negative integer.

    Notes
    -----
    Two 640x480 scenes, ``desk`` and ``shop``. Each has one reference (ISO 100,
    0.128 s) and three noisy shots (ISO 800, 3200, 12800 at the same ISO x time),
    giving six pairs ``<scene>-iso<N>``. The manifest lists, for every pair, the
    true strings with their ink boxes (``[[pair.text]]``) and named regions of
    kinds ``flat``, ``periodic``, ``texture``, ``highlight``, ``shadow``,
    ``colour`` and ``text`` (``[[pair.region]]``). A given seed gives the same
    pixels on any machine: the font is Pillow's bundled Aileron and the
    photographs are scikit-image's bundled ``coffee``, ``chelsea``, ``grass`` and
    ``gravel``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    scenes = [_desk_scene(rng), _shop_scene()]
    camera = CameraModel()
    for scene in scenes:
        (out_dir / scene.name).mkdir(parents=True, exist_ok=True)
        linear = gaussian_filter(scene.linear, sigma=(_LENS_SIGMA_PX, _LENS_SIGMA_PX, 0))
        for iso in (REFERENCE_ISO, *NOISY_ISOS):
            shot = simulate_shot(linear, iso=iso, rng=rng, camera=camera)
            save_image(out_dir / _shot_path(scene.name, iso), shot)
    manifest = out_dir / "manifest.toml"
    manifest.write_text(_manifest_text(scenes, seed), encoding="utf-8")
    return manifest


@dataclass
class _Scene:
    """A clean scene in linear light and what is where in it."""

    name: str
    linear: np.ndarray
    texts: list[tuple[BBox, str]] = field(default_factory=list)
    regions: list[tuple[str, str, BBox]] = field(default_factory=list)

    def fill(self, box: BBox, srgb: _Colour) -> None:
        """Paint a box with one sRGB colour (values in [0, 1])."""
        x, y, w, h = box
        self.linear[y : y + h, x : x + w] = srgb_to_linear(np.asarray(srgb, dtype=np.float64))

    def paste(self, box: BBox, srgb_image: np.ndarray) -> None:
        """Put an sRGB image of the box's size into the box."""
        x, y, w, h = box
        self.linear[y : y + h, x : x + w] = srgb_to_linear(srgb_image)

    def blend(self, coverage: np.ndarray, srgb: _Colour) -> None:
        """Lay paint of one colour over the scene with per-pixel coverage in [0, 1]."""
        paint = srgb_to_linear(np.asarray(srgb, dtype=np.float64))
        alpha = coverage[..., None]
        # Partly covered pixels mix reflected light, so the mix is in linear light.
        self.linear = self.linear * (1 - alpha) + paint * alpha

    def text(
        self, xy: tuple[int, int], string: str, *, size: int, ink: _Colour, blur_px: float = 0.0
    ) -> BBox:
        """Print a string (font size in px, top-left of the line at ``xy``); record its ink box."""
        coverage = _text_coverage(string, xy, size)
        if blur_px:
            coverage = gaussian_filter(coverage, blur_px)
        self.blend(coverage, ink)
        rows, cols = np.nonzero(coverage > 0.05)
        x0, y0 = cols.min() - _TEXT_PAD_PX, rows.min() - _TEXT_PAD_PX
        x1, y1 = cols.max() + _TEXT_PAD_PX + 1, rows.max() + _TEXT_PAD_PX + 1
        box = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
        self.texts.append((box, string))
        return box


def _desk_scene(rng: np.random.Generator) -> _Scene:
    """Paper with print, a grille, white metal, shadow, fabric, foliage, colour patches."""
    # Desk top: dark grey laminate lit from the left.
    ramp = np.linspace(0.36, 0.30, WIDTH)[None, :, None] * np.array([1.0, 0.97, 0.93])
    scene = _Scene("desk", srgb_to_linear(np.broadcast_to(ramp, (HEIGHT, WIDTH, 3))))

    paper, paper_colour = (12, 12, 396, 300), (0.89, 0.88, 0.85)
    scene.fill(paper, paper_colour)
    ink = (0.09, 0.09, 0.11)
    boxes = [
        scene.text((32, y), word, size=40, ink=ink)
        for y, word in ((26, "keyboard"), (82, "ROOM 18"), (138, "MONITOR"), (194, "printer"))
    ]
    scene.regions.append(("printed-words", "text", _union(boxes)))
    red = scene.text((32, 262), "Deadline Friday", size=30, ink=(0.80, 0.12, 0.14), blur_px=1.6)
    scene.regions.append(("red-handwriting", "text", red))
    scene.regions.append(("blank-paper", "flat", (252, 30, 140, 210)))

    # Grille: dark bars every 4 px in a metal-grey plate, like a speaker cover.
    plate, grille = (420, 12, 208, 110), (430, 22, 188, 90)
    scene.fill(plate, (0.58, 0.59, 0.60))
    x0, y0, w, h = grille
    bars = np.zeros((HEIGHT, WIDTH))
    bars[y0 : y0 + h, x0 : x0 + w] = _bar_coverage(w, period_px=4.0, bar_px=1.6)[None, :]
    scene.blend(bars, (0.10, 0.10, 0.11))
    scene.regions.append(("grille", "periodic", grille))

    # White metal: brushed-steel highlight from 0.92 to 0.97, a soft diagonal sheen.
    x0, y0, w, h = metal = (420, 132, 208, 72)
    yy, xx = np.mgrid[0:h, 0:w]
    sheen = np.exp(-(((xx - 0.6 * w) + 0.8 * (yy - h / 2)) ** 2) / (2 * 40.0**2))
    level = 0.92 + 0.05 * sheen
    scene.paste(metal, level[..., None] * np.array([0.995, 1.0, 1.0]))
    scene.regions.append(("white-metal", "highlight", (428, 138, 192, 60)))

    # Deep shadow under a shelf, 0.06 down to 0.02, with a cable 0.012 brighter
    # than its surroundings: the detail that crushed blacks lose first.
    x0, y0, w, h = shadow = (420, 214, 208, 98)
    yy, xx = np.mgrid[0:h, 0:w]
    level = 0.06 - 0.04 * yy / (h - 1)
    cable = np.clip(3.0 - np.abs(yy - (h / 2 + 20 * np.sin(xx / 26.0))), 0.0, 1.0)
    level = level + 0.012 * cable
    scene.paste(shadow, level[..., None] * np.array([1.0, 1.0, 1.05]))
    scene.regions.append(("deep-shadow", "shadow", (426, 220, 196, 86)))

    fabric = (12, 324, 200, 96)
    scene.paste(fabric, _twill(rng, fabric[3], fabric[2]))
    scene.regions.append(("fabric", "texture", fabric))

    foliage = (222, 324, 196, 96)
    scene.paste(foliage, _foliage(foliage[3], foliage[2]))
    scene.regions.append(("foliage", "texture", foliage))

    note = (432, 324, 196, 96)
    scene.fill(note, (0.96, 0.89, 0.45))
    scene.text((448, 352), "B8 CABLE", size=34, ink=ink)
    scene.regions.append(("sticky-note", "text", note))

    for i, (name, rgb8) in enumerate(_COLOUR_PATCHES):
        patch = (12 + 52 * i, 430, 44, 44)
        scene.fill(patch, np.array(rgb8) / 255)
        # Inset by the lens blur and the demosaic's reach, so edges stay out.
        scene.regions.append((f"patch-{name}", "colour", (patch[0] + 6, 436, 32, 32)))
    return scene


def _shop_scene() -> _Scene:
    """A cafe front: sky, painted wall, a sign, two windows with photos, a price card."""
    from skimage import data

    scene = _Scene("shop", np.zeros((HEIGHT, WIDTH, 3)))
    t = np.linspace(0.0, 1.0, 90)[:, None, None]
    sky = (1 - t) * np.array([0.42, 0.60, 0.86]) + t * np.array([0.68, 0.79, 0.93])
    scene.paste((0, 0, WIDTH, 90), np.broadcast_to(sky, (90, WIDTH, 3)))
    scene.regions.append(("sky", "flat", (8, 8, 624, 74)))
    scene.fill((0, 90, WIDTH, 340), (0.80, 0.72, 0.60))
    scene.regions.append(("wall", "flat", (350, 104, 260, 96)))

    scene.fill((20, 104, 300, 64), (0.10, 0.30, 0.20))
    sign = scene.text((38, 120), "CORNER CAFE", size=36, ink=(0.97, 0.93, 0.80))
    scene.regions.append(("sign", "text", sign))
    frame = (0.24, 0.16, 0.10)

    scene.fill((14, 176, 312, 212), frame)
    coffee = data.coffee().astype(np.float64) / 255
    # 600x400 -> 300x200 by 2x2 means in linear light, which is what an optical
    # downscale does.
    coffee = linear_to_srgb(srgb_to_linear(coffee).reshape(200, 2, 300, 2, 3).mean(axis=(1, 3)))
    scene.paste((20, 182, 300, 200), coffee)
    scene.regions.append(("coffee-cup", "texture", (20, 182, 300, 200)))

    scene.fill((344, 212, 288, 194), frame)
    cat = data.chelsea()[10:192, 95:375].astype(np.float64) / 255
    scene.paste((348, 216, 280, 182), cat)
    scene.regions.append(("cat-fur", "texture", (360, 226, 90, 70)))

    scene.fill((20, 394, 300, 32), (0.95, 0.94, 0.90))
    price = scene.text((30, 398), "ESPRESSO 2.80", size=26, ink=(0.08, 0.08, 0.10))
    scene.regions.append(("price-card", "text", price))

    gravel = data.gravel()[:50].astype(np.float64) / 255
    # Mirrored, the 512-px photograph tiles the 640-px width without a seam.
    gravel = np.concatenate([gravel, gravel[:, ::-1]], axis=1)[:, :WIDTH]
    pavement = 0.25 + 0.45 * gravel[..., None] * np.array([1.0, 0.98, 0.95])
    scene.paste((0, 430, WIDTH, 50), pavement)
    scene.regions.append(("pavement", "texture", (0, 432, WIDTH, 48)))
    return scene


def _text_coverage(string: str, xy: tuple[int, int], size: int) -> np.ndarray:
    """Ink coverage in [0, 1] of a string drawn with Pillow's bundled font."""
    font = ImageFont.load_default(size=size)
    mask = Image.new("L", (WIDTH, HEIGHT), 0)
    # Anchor "lt" puts the top of the tallest glyph of the font at xy[1].
    ImageDraw.Draw(mask).text(xy, string, font=font, fill=255, anchor="lt")
    return np.asarray(mask, dtype=np.float64) / 255


def _bar_coverage(width: int, *, period_px: float, bar_px: float) -> np.ndarray:
    """Coverage of each pixel column by vertical bars, exact to 1/16 px."""
    sub = 16
    x = (np.arange(width * sub) + 0.5) / sub
    covered = ((x % period_px) < bar_px).astype(np.float64)
    return covered.reshape(width, sub).mean(axis=1)


def _twill(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A 2/2 twill weave (denim-like) in sRGB, yarns 3 px wide, drawn at 4x and averaged."""
    sub, yarn = 4, 3
    h, w = height * sub, width * sub
    yy, xx = np.mgrid[0:h, 0:w] / (yarn * sub)
    row, col = yy.astype(int), xx.astype(int)
    # Warp (vertical yarn) is on top where the diagonal twill step says so.
    warp_on_top = (row + col) % 4 < 2
    across_warp = np.sin(np.pi * (xx % 1.0))
    across_weft = np.sin(np.pi * (yy % 1.0))
    # Yarns differ slightly in thickness and dye: the irregularity of real cloth.
    warp_tone = 0.85 + 0.15 * rng.random(col.max() + 1)
    weft_tone = 0.85 + 0.15 * rng.random(row.max() + 1)
    warp = np.array([0.17, 0.25, 0.45]) * (warp_tone[col] * (0.55 + 0.45 * across_warp))[..., None]
    weft = np.array([0.62, 0.64, 0.68]) * (weft_tone[row] * (0.55 + 0.45 * across_weft))[..., None]
    cloth = np.where(warp_on_top[..., None], warp, weft)
    linear = srgb_to_linear(cloth).reshape(height, sub, width, sub, 3).mean(axis=(1, 3))
    return linear_to_srgb(linear)


def _foliage(height: int, width: int) -> np.ndarray:
    """scikit-image's grass photograph, tinted from shadow green to sunlit leaf green."""
    from skimage import data

    grass = data.grass()[:height, :width].astype(np.float64) / 255
    dark, light = np.array([0.05, 0.14, 0.03]), np.array([0.55, 0.70, 0.25])
    return dark + (light - dark) * grass[..., None]


def _union(boxes: list[BBox]) -> BBox:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)


def _shot_path(scene: str, iso: int) -> str:
    return f"{scene}/reference.png" if iso == REFERENCE_ISO else f"{scene}/iso{iso}.png"


def _manifest_text(scenes: list[_Scene], seed: int) -> str:
    """The manifest as TOML, formatted by hand so no TOML writer is needed."""
    lines = [
        "# Written by evalkit.datasets._sample.make_sample_dataset; regenerate, do not edit.",
        "",
        "[dataset]",
        'name = "sample"',
        "description = "
        + _toml_string(
            "Two synthetic 640x480 scenes (desk, shop) shot by a simulated Bayer camera: "
            "an ISO 100 reference and ISO 800, 3200 and 12800 noisy shots of each."
        ),
        'generator = "evalkit.datasets._sample:make_sample_dataset"',
        f"seed = {int(seed)}",
    ]
    for scene in scenes:
        for iso in NOISY_ISOS:
            lines += [
                "",
                "[[pair]]",
                f"id = {_toml_string(f'{scene.name}-iso{iso}')}",
                f"reference = {_toml_string(_shot_path(scene.name, REFERENCE_ISO))}",
                f"noisy = {_toml_string(_shot_path(scene.name, iso))}",
                f"camera = {_toml_string(CAMERA_NAME)}",
                f"iso = {iso}",
                f"exposure_s = {ISO_SECONDS / iso!r}",
                f"reference_iso = {REFERENCE_ISO}",
                f"reference_exposure_s = {ISO_SECONDS / REFERENCE_ISO!r}",
                f"scene = {_toml_string(scene.name)}",
            ]
            for box, string in scene.texts:
                lines += ["", "  [[pair.text]]", f"  bbox = {_toml_box(box)}"]
                lines.append(f"  text = {_toml_string(string)}")
            for name, kind, box in scene.regions:
                lines += ["", "  [[pair.region]]", f"  name = {_toml_string(name)}"]
                lines.append(f"  kind = {_toml_string(kind)}")
                lines.append(f"  bbox = {_toml_box(box)}")
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    # A JSON string with ASCII escapes is also a valid TOML basic string.
    return json.dumps(value, ensure_ascii=True)


def _toml_box(box: BBox) -> str:
    return "[" + ", ".join(str(int(v)) for v in box) + "]"
