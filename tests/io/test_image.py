"""Loading images at the edge: formats, bit depths, orientation, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from evalkit.errors import ImageError
from evalkit.io import check_same_size, load_image, save_image


def _codes8(image):
    return np.rint(image * 255).astype(np.uint8)


def test_8bit_png_loads_as_float32_hwc_in_unit_range(tmp_path, smooth_image):
    path = tmp_path / "a.png"
    Image.fromarray(_codes8(smooth_image)).save(path)
    image = load_image(path)
    assert image.dtype == np.float32
    assert image.shape == (48, 64, 3)
    np.testing.assert_allclose(image, _codes8(smooth_image) / 255, atol=1e-7)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_colour_keeps_all_bits(tmp_path, smooth_image, suffix):
    path = save_image(tmp_path / f"a{suffix}", smooth_image, bit_depth=16)
    image = load_image(path)
    np.testing.assert_allclose(image, np.rint(smooth_image * 65535) / 65535, atol=1e-7)
    # 8 bits would leave errors up to 1/510; 16 bits must be far below that.
    assert np.abs(image - smooth_image).max() < 1e-4


def _grey16_png(path, metadata: str):
    """A 16-bit grey PNG (the marker block top left) with an orientation of 6
    in ``metadata``: "exif" (an eXIf chunk), "raw profile" (ImageMagick's EXIF
    text chunk) or "xmp"; returns its codes."""
    from PIL import PngImagePlugin

    codes = np.full((20, 30), 1000, np.uint16)
    codes[:5, :10] = 60000
    exif = Image.Exif()
    exif[0x0112] = 6
    info = PngImagePlugin.PngInfo()
    if metadata == "raw profile":
        raw = exif.tobytes()
        info.add_text("Raw profile type exif", f"\nexif\n{len(raw):8d}\n{raw.hex()}", zip=True)
    elif metadata == "xmp":
        xmp = (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF>'
            "</x:xmpmeta>"
        )
        info.add_text("XML:com.adobe.xmp", xmp)
    extra = {"exif": exif} if metadata == "exif" else {}
    Image.fromarray(codes).save(path, pnginfo=info, **extra)
    return codes


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_png_is_decoded_once_by_imagecodecs(tmp_path, smooth_image, monkeypatch, bit_depth):
    # Pillow's getexif decodes a PNG whole; one without orienting metadata goes
    # straight to imagecodecs (which, unlike Pillow, decodes without the GIL).
    import imagecodecs
    from PIL import PngImagePlugin

    path = save_image(tmp_path / "plain.png", smooth_image, bit_depth=bit_depth)
    decodes = []
    load = PngImagePlugin.PngImageFile.load
    monkeypatch.setattr(
        PngImagePlugin.PngImageFile, "load", lambda im: decodes.append(im) or load(im)
    )
    png_decode = imagecodecs.png_decode
    monkeypatch.setattr(imagecodecs, "png_decode", lambda d: decodes.append("png") or png_decode(d))
    levels = 2**bit_depth - 1
    np.testing.assert_allclose(load_image(path), np.rint(smooth_image * levels) / levels, atol=1e-7)
    assert decodes == ["png"]


@pytest.mark.parametrize(
    ("channels", "depth", "interlaced"),
    [(3, 8, False), (3, 16, False), (1, 16, False), (2, 16, False), (4, 16, False), (3, 8, True)],
    ids=["rgb8", "rgb16", "grey16", "grey16-alpha", "rgba16", "rgb8-interlaced"],
)
def test_png_decoded_as_opencv_decodes_it(tmp_path, rng, channels, depth, interlaced):
    import cv2

    dtype = np.uint16 if depth == 16 else np.uint8
    codes = rng.integers(0, 2**depth, (37, 53, channels), dtype=dtype)
    path = tmp_path / "k.png"
    path.write_bytes(_png(codes, interlaced=interlaced))
    decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # grey, or BGR(A)
    # OpenCV gives grey and alpha as BGRA.
    expected = decoded[..., None].repeat(3, 2) if decoded.ndim == 2 else decoded[..., 2::-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the alpha channel dropped
        image = load_image(path)
    np.testing.assert_array_equal(image, (expected / (2**depth - 1)).astype(np.float32))


def test_interlaced_png_is_read_without_a_word_on_stderr(tmp_path, rng):
    # imagecodecs' libpng warns about interlacing through C's buffered stderr, which
    # only the process's exit flushes: a new process shows it.
    import subprocess
    import sys

    path = tmp_path / "interlaced.png"
    path.write_bytes(_png(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8), interlaced=True))
    code = f"from evalkit.io import load_image; load_image({str(path)!r})"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert run.stderr == b""


def _png(codes: np.ndarray, *, interlaced: bool = False) -> bytes:
    """A PNG of ``codes`` (H, W, C: grey, grey and alpha, RGB or RGBA; 8 or 16 bits),
    written here: neither Pillow nor OpenCV writes an interlaced (Adam7) one."""
    import struct
    import zlib

    height, width, channels = codes.shape
    depth = 16 if codes.dtype == np.uint16 else 8
    big = codes.astype(">u2" if depth == 16 else np.uint8)
    # Adam7's seven passes (x0, y0, dx, dy); one pass of everything when not interlaced.
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2)]
    passes = [*passes, (0, 1, 1, 2)] if interlaced else [(0, 0, 1, 1)]
    raw = b"".join(
        b"\0" + row.tobytes()  # each row with filter type 0 (none)
        for x0, y0, dx, dy in passes
        for row in big[y0::dy, x0::dx]
        if row.size
    )
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlaced))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def test_complete_png_with_corrupt_pixels_is_reported(tmp_path, rng):
    codes = rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)
    path = tmp_path / "c.png"
    Image.fromarray(codes).save(path)
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 4
    data[start + 100 : start + 400] = bytes(300)  # its chunks intact, the deflate stream not
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match=r"c\.png: truncated or corrupt image \(the decoder"):
        load_image(path)


@pytest.mark.parametrize(
    "kind", ["grey", "grey and alpha", "palette", "transparent colour", "colour profile"]
)
def test_8bit_png_reads_as_pillow_reads_it(tmp_path, smooth_image, kind, capfd):
    # Whichever library decodes it. An 8-bit PNG with a colour profile stays with
    # Pillow: libpng prints its doubts about one on stderr (here a profile too
    # short to be one).
    codes = _codes8(smooth_image)
    im = {
        "grey": lambda: Image.fromarray(codes[..., 1]),
        "grey and alpha": lambda: Image.fromarray(codes[..., 1]).convert("LA"),
        "palette": lambda: Image.fromarray(codes).quantize(64),
        "transparent colour": lambda: Image.fromarray(codes),
        "colour profile": lambda: Image.fromarray(codes),
    }[kind]()
    path = tmp_path / "k.png"
    extra = {
        "transparent colour": {"transparency": tuple(int(v) for v in codes[0, 0])},
        "colour profile": {"icc_profile": b"\0" * 200},
    }.get(kind, {})
    im.save(path, **extra)
    with Image.open(path) as saved:
        expected = np.asarray(saved.convert("RGB")) / 255
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the alpha channel dropped
        np.testing.assert_allclose(load_image(path), expected, atol=1e-7)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("metadata", ["exif", "raw profile", "xmp"])
def test_16bit_png_orientation_in_its_metadata_is_applied(tmp_path, metadata):
    # Pillow's getexif reads all three; a PNG holding one must not skip it.
    path = tmp_path / "o.png"
    codes = _grey16_png(path, metadata)
    expected = np.rot90(codes / 65535, k=-1)
    np.testing.assert_allclose(load_image(path), np.repeat(expected[..., None], 3, 2), atol=1e-7)


def test_16bit_grey_png_is_repeated_into_three_channels(tmp_path, smooth_image):
    grey = np.rint(smooth_image[..., 0] * 65535).astype(np.uint16)
    path = tmp_path / "g.png"
    Image.fromarray(grey).save(path)
    image = load_image(path)
    assert image.shape == (48, 64, 3)
    np.testing.assert_allclose(image[..., 1], grey / 65535, atol=1e-7)
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_8bit_grey_jpeg_loads(tmp_path, smooth_image):
    path = tmp_path / "g.jpg"
    Image.fromarray(_codes8(smooth_image[..., 1])).save(path, quality=95)
    image = load_image(path)
    assert image.shape == (48, 64, 3)
    assert np.abs(image[..., 0] - smooth_image[..., 1]).mean() < 0.02


def test_alpha_is_dropped_with_a_warning(tmp_path, smooth_image):
    rgba = np.dstack([_codes8(smooth_image), np.full((48, 64), 128, np.uint8)])
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)
    with pytest.warns(UserWarning, match="alpha channel dropped"):
        image = load_image(path)
    np.testing.assert_allclose(image, _codes8(smooth_image) / 255, atol=1e-7)


@pytest.mark.parametrize(
    ("orientation", "expected"),
    [
        (1, lambda a: a),
        (3, lambda a: a[::-1, ::-1]),
        (6, lambda a: np.rot90(a, k=-1)),
        (8, lambda a: np.rot90(a, k=1)),
        (2, lambda a: a[:, ::-1]),
    ],
)
def test_exif_orientation_is_applied(tmp_path, orientation, expected):
    codes = np.zeros((20, 30, 3), np.uint8)
    codes[:5, :10] = 255  # a white block in the top-left corner marks orientation
    path = tmp_path / "o.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(codes).save(path, exif=exif, quality=100)
    image = load_image(path)
    np.testing.assert_allclose(image, expected(codes / 255.0), atol=0.1)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ImageError, match=r"nope\.png: no such file"):
        load_image(tmp_path / "nope.png")


def test_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(ImageError, match=r"notes\.png: not an image file"):
        load_image(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file_is_reported(tmp_path, rng, suffix):
    codes = rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)
    path = tmp_path / f"t{suffix}"
    Image.fromarray(codes).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=rf"t\{suffix}: truncated or corrupt"):
        load_image(path)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (2000, 1000)).save(path)
    with pytest.raises(ImageError, match=r"big\.png: 2000x1000 .* \(decompression-bomb"):
        load_image(path, max_pixels=1_000_000)


@pytest.mark.parametrize("reference", [np.zeros((20, 40, 3)), (20, 40)], ids=["image", "size"])
def test_size_mismatch_names_both_files(reference):
    with pytest.raises(ImageError, match=r"out\.png: size 30x20 does not match ref\.png \(40x20\)"):
        check_same_size(reference, np.zeros((20, 30, 3)), names=("ref.png", "out.png"))
    check_same_size(reference, np.zeros((20, 40, 3)))


def test_float_tiff_is_clipped_to_unit_range(tmp_path):
    import cv2

    data = np.linspace(-0.5, 1.5, 60, dtype=np.float32).reshape(6, 10)
    path = tmp_path / "f.tif"
    cv2.imwrite(str(path), data)
    image = load_image(path)
    assert image.min() == 0.0 and image.max() == 1.0
