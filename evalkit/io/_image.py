"""Image files in, canonical arrays out (and back)."""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ImageError
from ._raw import is_raw, load_raw

#: Smallest side, in pixels, of an image that every command, metric, detector and the
#: alignment can handle: the noise profile of before/after mode needs four 8-px
#: blocks, the detectors' tiles 16 px, SSIM's window 11 px.
MIN_SIDE = 32

#: Largest image, in pixels, that :func:`load_image` decodes (200 MP, ten times a
#: 20 MP photo). Larger files are refused before decoding, as Pillow's
#: decompression-bomb guard does, because decoding them could exhaust memory.
MAX_PIXELS = 200_000_000

#: Rows converted at a time by :func:`to_codes` (a few MB of float at 20 MP).
_CODE_ROWS = 256

_EXIF_ORIENTATION = 0x0112
#: Keywords of PNG text chunks from which Pillow's ``getexif`` reads an orientation.
_PNG_ORIENTING_TEXT = (b"Raw profile type exif", b"XML:com.adobe.xmp")
#: libpng's default limit on an image's width and height (``PNG_USER_WIDTH_MAX``).
_PNG_MAX_SIDE = 1_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Offset of the interlace method (0 none, 1 Adam7) in a PNG file: its IHDR's last byte.
_PNG_INTERLACE = 28
_TIFF_BITS_PER_SAMPLE = 258


def load_image(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file into a float32 array of shape (H, W, 3) in [0, 1].

    Parameters
    ----------
    path : str or path-like
        A PNG, TIFF or JPEG file (other formats Pillow reads also work), 8 or 16
        bits per channel, grey or RGB, with or without alpha; or a camera RAW file
        (:data:`RAW_SUFFIXES`), developed by :func:`load_raw`.
    max_pixels : int, optional
        Files with more pixels than this are refused without being decoded.

    Returns
    -------
    ndarray of shape (H, W, 3), dtype float32
        Values in [0, 1]: 8-bit codes divided by 255, 16-bit codes by 65535, float
        TIFF samples (grey or RGB, 16/32/64-bit, read by tifffile) clipped to
        [0, 1]. Grey images are repeated into three
        channels. The EXIF orientation tag is applied, so the array is upright as a
        viewer shows it. Alpha is dropped with a :class:`UserWarning`.

    Raises
    ------
    ImageError
        With a one-line message naming the file: missing, not an image, truncated
        or corrupt, larger than ``max_pixels``, or with NaN or infinite samples.
    """
    path = check_file(path)
    if is_raw(path):
        return load_raw(path)
    if _is_float_tiff(path):
        array = _decode_float_tiff(path, max_pixels)
        if array is not None:
            return _to_canonical(array, path)
    try:
        with Image.open(path) as im:
            width, height = im.size
            if width * height > max_pixels:
                raise ImageError(
                    f"{path}: {width}x{height} is {width * height / 1e6:.0f} MP, more than the "
                    f"limit of {max_pixels / 1e6:.0f} MP (decompression-bomb guard; "
                    "raise max_pixels to read it)"
                )
            data = _unoriented_png(path, im)
            if data is not None:
                orientation, array = 1, _decode_png(data)
            else:
                orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
                if _needs_opencv(path, im):
                    array = _decode_opencv(np.fromfile(path, dtype=np.uint8))
                else:
                    array = _decode_pillow(path, im)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: refused as a decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file evalkit can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: truncated or corrupt image ({exc})") from None
    return _to_canonical(_apply_orientation(array, orientation), path)


def import_decoders() -> None:
    """Import what :func:`load_image` imports on first use for PNG, JPEG and integer
    TIFF (OpenCV, imagecodecs, Pillow's format plugins), so that it then imports nothing.

    For decoding in a thread while another imports: two threads importing into one
    package tree can hand each other half-made modules.
    """
    import cv2  # noqa: F401
    import imagecodecs  # noqa: F401

    Image.init()


def check_file(path: str | os.PathLike) -> Path:
    """Raise :class:`ImageError` unless ``path`` is a file this process can read;
    return it as a :class:`~pathlib.Path`. Cheap: nothing is decoded, so work
    that will need the file can refuse a mistyped name before it starts."""
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if not path.is_file():
        raise ImageError(f"{path}: not a file")
    if not os.access(path, os.R_OK):
        raise ImageError(f"{path}: cannot be read (permission denied)")
    return path


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of an image file, read from its header without decoding.

    Raises
    ------
    ImageError
        If the file is missing or not an image.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"{path}: not an image file evalkit can read ({exc})") from None


def save_image(path: str | os.PathLike, image: np.ndarray, *, bit_depth: int = 8) -> Path:
    """Write a float image in [0, 1] as an 8- or 16-bit PNG/TIFF/JPEG.

    Parameters
    ----------
    path : str or path-like
        Destination; the suffix picks the format.
    image : ndarray of shape (H, W, 3) or (H, W)
        Float values in [0, 1]; values outside are clipped.
    bit_depth : {8, 16}
        Bits per channel. 16 is available for PNG and TIFF only.

    Returns
    -------
    Path
        The written path.
    """
    path = Path(path)
    codes = to_codes(image, bit_depth=bit_depth)
    if bit_depth == 8:
        Image.fromarray(codes).save(path)
        return path
    if path.suffix.lower() not in (".png", ".tif", ".tiff"):
        raise ValueError(f"16-bit output needs a .png or .tif path, got {path.name}")
    import cv2

    if codes.ndim == 3:
        codes = codes[..., ::-1]  # OpenCV writes BGR
    if not cv2.imwrite(str(path), codes):
        raise ImageError(f"{path}: could not be written")
    return path


def to_codes(image: np.ndarray, *, bit_depth: int = 8) -> np.ndarray:
    """Float values in [0, 1] as rounded 8- or 16-bit codes (``uint8``/``uint16``).

    Values outside [0, 1] are clipped. For writing files and for libraries that
    take 8-bit images (OCR engines, Pillow).
    """
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    peak = 255 if bit_depth == 8 else 65535
    shape = np.shape(image)
    image = np.atleast_1d(image)  # a single value is a strip of one
    codes = np.empty(image.shape, np.uint8 if bit_depth == 8 else np.uint16)
    # A strip of rows at a time through one float buffer: three float copies of
    # a 20 MP frame (clip, scale, round) would take 0.7 GB.
    for top in range(0, image.shape[0], _CODE_ROWS):
        part = np.clip(image[top : top + _CODE_ROWS], 0.0, 1.0)
        part *= peak
        codes[top : top + _CODE_ROWS] = np.rint(part, out=part)
    return codes.reshape(shape)


def check_same_size(
    reference: np.ndarray | tuple[int, int],
    candidate: np.ndarray,
    *,
    names=("reference", "candidate"),
) -> None:
    """Raise :class:`ImageError` unless two images have the same height and width.

    ``reference`` is an image or its ``(height, width)``; ``names`` are the
    labels (usually file names) quoted in the message.
    """
    size = tuple(reference) if isinstance(reference, tuple) else reference.shape[:2]
    if size != candidate.shape[:2]:
        (rh, rw), (ch, cw) = size, candidate.shape[:2]
        raise ImageError(
            f"{names[1]}: size {cw}x{ch} does not match {names[0]} ({rw}x{rh}); "
            "a denoiser output must have the size of its input"
        )


def check_finite(image: np.ndarray, name: str) -> None:
    """Raise :class:`ImageError` if ``image`` has NaN or infinite samples.

    ``name`` (a file name, or a role such as ``"candidate"``) is quoted in the
    message with the number of pixels at fault.
    """
    if not np.issubdtype(image.dtype, np.floating):
        return
    # min + max is NaN or infinite exactly when a sample is (NaN propagates, and
    # -inf + inf is NaN), without a boolean plane of the image.
    if not np.isfinite(float(image.min()) + float(image.max())):
        bad = ~np.isfinite(image)
        pixels = int(bad.any(axis=2).sum()) if bad.ndim == 3 else int(bad.sum())
        total = image.shape[0] * image.shape[1]
        raise ImageError(
            f"{name}: {pixels} of {total} pixels are NaN or infinite; evalkit needs finite "
            "values (in [0, 1])"
        )


def check_image(image: np.ndarray, name: str) -> np.ndarray:
    """Validate an image handed to evalkit as an array; return it as float32.

    Raises
    ------
    ImageError
        Naming ``name``: not a float array of shape (H, W, 3), smaller than
        :data:`MIN_SIDE` on a side, with NaN or infinite samples, or with values
        far outside [0, 1] (beyond -0.5 or 1.5: 8-bit codes, or an image shifted
        by mistake; a denoiser's small overshoot is allowed).
    """
    if not isinstance(image, np.ndarray) or not np.issubdtype(image.dtype, np.floating):
        kind = getattr(image, "dtype", type(image).__name__)
        raise ImageError(f"{name}: expected a float array in [0, 1], got {kind}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(f"{name}: expected shape (H, W, 3), got {image.shape}")
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise ImageError(
            f"{name}: {width}x{height} px is smaller than the {MIN_SIDE}x{MIN_SIDE} px "
            "evalkit needs"
        )
    image = image.astype(np.float32, copy=False)
    low, high = float(image.min()), float(image.max())
    if not np.isfinite(low + high):
        check_finite(image, name)
    if low < -0.5 or high > 1.5:
        raise ImageError(
            f"{name}: values from {low:g} to {high:g}; evalkit needs images in [0, 1] "
            "(divide 8-bit codes by 255)"
        )
    return image


def _needs_opencv(path: Path, im: Image.Image) -> bool:
    # Pillow reduces 16-bit-per-channel colour PNG and TIFF to 8 bits, so those go to
    # OpenCV, which keeps every bit. Everything else Pillow decodes, because it reports
    # truncation as an error where OpenCV silently fills the missing rows.
    if im.format == "PNG":
        with open(path, "rb") as fh:
            header = fh.read(25)
        return header[:8] == _PNG_SIGNATURE and header[24] == 16
    if im.format == "TIFF":
        bits = im.tag_v2.get(_TIFF_BITS_PER_SAMPLE, (8,))
        return max(bits if isinstance(bits, tuple) else (bits,)) > 8
    return False


def _unoriented_png(path: Path, im: Image.Image) -> np.ndarray | None:
    """The bytes of an 8- or 16-bit PNG that needs no EXIF look-up, else ``None``:
    :func:`_decode_png` decodes those.

    Pillow reduces 16-bit PNGs to 8 bits, so those must go elsewhere, to a
    decoder that keeps every bit; and Pillow's ``getexif`` decodes a PNG whole
    just to look for an orientation, for a 20 MP frame a second decode. The
    other decoder also decodes without Python's lock, so a frame decodes in a
    thread at full speed while another imports; Pillow takes the lock back after
    every chunk. A PNG skips the look-up when it is complete (else Pillow is left
    to report the truncation), holds no metadata that could orient it (an eXIf
    chunk, or text chunks with EXIF or XMP, which ``getexif`` reads), and fits
    libpng's largest side. 8-bit PNGs with a colour profile stay with Pillow.
    """
    if im.format != "PNG" or max(im.size) > _PNG_MAX_SIDE:
        return None
    with open(path, "rb") as fh:
        depth = fh.read(25)[24]
    if depth not in (8, 16):
        return None
    data = np.fromfile(path, dtype=np.uint8)
    view = memoryview(data)
    if view[:8] != _PNG_SIGNATURE:
        return None
    at = len(_PNG_SIGNATURE)
    while at + 12 <= len(view):
        length, kind = int.from_bytes(view[at : at + 4], "big"), view[at + 4 : at + 8].tobytes()
        if kind == b"eXIf" or (kind == b"iCCP" and depth == 8):
            # libpng prints its doubts about a colour profile on stderr, where
            # Pillow says nothing; only 16 bits need libpng.
            return None
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            # A keyword of at most 79 bytes, ended by NUL.
            keyword = view[at + 8 : at + 8 + min(length, 80)].tobytes().split(b"\0", 1)[0]
            if keyword in _PNG_ORIENTING_TEXT:
                return None
        if kind == b"IEND":
            return data if at + 12 == len(view) else None
        at += 12 + length
    return None


def _is_float_tiff(path: Path) -> bool:
    """True for a TIFF (or BigTIFF) whose samples are floating point (SampleFormat
    3), which Pillow reads only as one grey channel."""
    try:
        with open(path, "rb") as fh:
            if fh.read(4) not in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
                return False
        with _quiet_tifffile() as tifffile, tifffile.TiffFile(path) as tif:
            return bool(tif.pages) and tif.pages[0].sampleformat == 3
    except (OSError, ValueError, ImportError):
        return False  # Pillow will say what is wrong with it


def _decode_float_tiff(path: Path, max_pixels: int) -> np.ndarray | None:
    """The samples as (H, W) or (H, W, C), or ``None`` when tifffile lacks the
    codec of a grey file, which Pillow then reads."""
    with _quiet_tifffile() as tifffile:
        try:
            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                width, height, samples = page.imagewidth, page.imagelength, page.samplesperpixel
                if width * height > max_pixels:
                    raise ImageError(
                        f"{path}: {width}x{height} is {width * height / 1e6:.0f} MP, more than "
                        f"the limit of {max_pixels / 1e6:.0f} MP (raise max_pixels to read it)"
                    )
                if samples > 4:
                    raise ImageError(
                        f"{path}: {samples} samples per pixel; evalkit reads grey, grey with "
                        "alpha, RGB and RGBA"
                    )
                separate = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
                array = page.asarray()
        except ImageError:
            raise
        except Exception as exc:  # tifffile raises many types for one broken file
            if "imagecodecs" in str(exc):
                if samples == 1:
                    return None
                raise ImageError(
                    f"{path}: its compression needs the imagecodecs package "
                    "(pip install imagecodecs)"
                ) from None
            raise ImageError(f"{path}: truncated or corrupt image ({exc})") from None
    if separate and array.ndim == 3:
        array = np.moveaxis(array, 0, 2)  # (samples, H, W) -> (H, W, samples)
    return array


@contextlib.contextmanager
def _quiet_tifffile():
    """tifffile, with its logger's warnings (about the file, which the caller reports
    in its own one-line error) kept off the terminal."""
    import logging

    import tifffile

    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield tifffile
    finally:
        logger.setLevel(level)


def _decode_pillow(path: Path, im: Image.Image) -> np.ndarray:
    im.load()
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    elif im.mode == "PA":
        im = im.convert("RGBA")
    array = np.asarray(im)
    if im.mode in ("I", "I;16", "I;16B", "I;16L") and array.dtype != np.uint16:
        array = array.astype(np.uint16)  # 16-bit grey that Pillow holds as int32
    return array


def _decode_png(data: np.ndarray) -> np.ndarray:
    """Decode a PNG file's bytes (uint8 array) with imagecodecs, as stored: grey,
    grey and alpha, RGB or RGBA, 8 or 16 bits.

    imagecodecs' libpng inflates with zlib-ng: a 20 MP frame decodes 1.2-1.7
    times as fast as with OpenCV's libpng, with the same samples, and without
    Python's lock. An interlaced PNG goes to OpenCV: imagecodecs' libpng warns
    about it on stderr at every read.
    """
    import imagecodecs

    if data[_PNG_INTERLACE]:
        return _decode_opencv(data)
    try:
        return imagecodecs.png_decode(data)
    except imagecodecs.PngError as exc:
        raise OSError(f"the decoder could not read it ({exc})") from None


def _decode_opencv(data: np.ndarray) -> np.ndarray:
    """Decode a file's bytes (uint8 array) with OpenCV, channels as RGB(A)."""
    import cv2

    array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if array is None:
        raise OSError("the decoder could not read it")
    if array.ndim == 3 and array.shape[2] == 3:
        array = array[..., ::-1]  # BGR -> RGB as a view: _to_canonical copies once
    elif array.ndim == 3 and array.shape[2] == 4:
        array = array[..., [2, 1, 0, 3]]
    return array


def _apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip as EXIF orientation 1-8 asks, so the result is upright."""
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, k=1),
    }
    transform = transforms.get(orientation)
    return array if transform is None else transform(array)


def _to_canonical(array: np.ndarray, path: Path) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] in (2, 4):
        warnings.warn(f"{path}: alpha channel dropped", UserWarning, stacklevel=3)
        array = array[..., : array.shape[2] - 1]
    if array.ndim == 2:
        array = array[..., None]
    # The float32 image is written once, straight from the decoded samples (grey
    # broadcast to three channels): no float copy of the frame is made first.
    image = np.empty((*array.shape[:2], 3), np.float32)
    if array.dtype == np.uint8:
        np.divide(array, np.float32(255), out=image)
    elif array.dtype == np.uint16:
        np.divide(array, np.float32(65535), out=image)
    elif array.dtype == np.bool_:
        np.copyto(image, array)
    elif np.issubdtype(array.dtype, np.floating):
        check_finite(array, str(path))
        np.clip(array, 0.0, 1.0, out=image)
    else:
        raise ImageError(f"{path}: unsupported sample type {array.dtype}")
    return image
