"""Rendered text for OCR tests: the same layout with the original or a changed string."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DEJAVU_SERIF = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")


@dataclass(frozen=True)
class Style:
    font: str = "dejavu"  # "dejavu", "dejavu-serif" or "default" (Pillow's bundled font)
    size: int = 28
    colour: tuple[int, int, int] = (20, 20, 20)
    background: tuple[int, int, int] = (235, 233, 228)
    angle: float = 0.0  # degrees, counter-clockwise


def font(style: Style) -> ImageFont.FreeTypeFont:
    if style.font == "default":
        return ImageFont.load_default(size=style.size)
    return ImageFont.truetype(
        str(DEJAVU_SERIF if style.font == "dejavu-serif" else DEJAVU), style.size
    )


def render(
    lines: list[str], style: Style = Style(), *, layout: list[str] | None = None, width: int = 320
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Draw ``lines`` one under the other; return a float32 (H, W, 3) image and the boxes.

    The boxes are those of ``layout`` (default: ``lines``), so a changed string can be
    drawn at the same place as the original and judged against the original's boxes.
    """
    layout = layout or lines
    face = font(style)
    line_height = int(style.size * 1.9)
    height = line_height * len(lines) + style.size
    image = Image.new("RGB", (width, height), style.background)
    draw = ImageDraw.Draw(image)
    boxes = []
    for i, (text, original) in enumerate(zip(lines, layout, strict=True)):
        origin = (16, style.size // 2 + i * line_height)
        draw.text(origin, text, font=face, fill=style.colour)
        x0, y0, x1, y1 = draw.textbbox(origin, original, font=face)
        boxes.append((x0, y0, x1 - x0, y1 - y0))
    if style.angle:
        image = image.rotate(
            style.angle, resample=Image.Resampling.BICUBIC, fillcolor=style.background
        )
        boxes = [_rotated_box(b, style.angle, width, height) for b in boxes]
    return np.asarray(image, dtype=np.float32) / 255.0, boxes


def _rotated_box(box, angle, width, height):
    x, y, w, h = box
    cx, cy = width / 2, height / 2
    theta = np.deg2rad(angle)
    corners = np.array([(x, y), (x + w, y), (x, y + h), (x + w, y + h)], dtype=float) - (cx, cy)
    # PIL rotates counter-clockwise on screen (y down): x' = x cos + y sin, y' = -x sin + y cos.
    rx = corners[:, 0] * np.cos(theta) + corners[:, 1] * np.sin(theta) + cx
    ry = -corners[:, 0] * np.sin(theta) + corners[:, 1] * np.cos(theta) + cy
    x0, y0 = max(0, int(np.floor(rx.min()))), max(0, int(np.floor(ry.min())))
    x1, y1 = min(width, int(np.ceil(rx.max()))), min(height, int(np.ceil(ry.max())))
    return (x0, y0, x1 - x0, y1 - y0)
