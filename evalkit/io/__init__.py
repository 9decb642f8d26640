"""Reading and writing images: the only place evalkit touches image files.

Everything inside evalkit works on ``float32`` arrays of shape ``(H, W, 3)`` with
values in ``[0, 1]``; :func:`load_image` converts once, here, at the edge.
"""

from ._image import (
    MAX_PIXELS,
    MIN_SIDE,
    check_file,
    check_finite,
    check_image,
    check_same_size,
    image_size,
    import_decoders,
    load_image,
    save_image,
    to_codes,
)
from ._raw import RAW_SUFFIXES, is_raw, load_raw

__all__ = [
    "MAX_PIXELS",
    "MIN_SIDE",
    "RAW_SUFFIXES",
    "check_file",
    "check_finite",
    "check_image",
    "check_same_size",
    "image_size",
    "import_decoders",
    "is_raw",
    "load_image",
    "load_raw",
    "save_image",
    "to_codes",
]
