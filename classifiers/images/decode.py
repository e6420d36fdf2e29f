"""Open an uploaded image safely: only JPEG, PNG and WebP, and never more pixels than allowed.

Text from platforms is hostile, and so are images: a few kilobytes of PNG can declare
gigapixels (a decompression bomb). The size is checked from the header, before any pixel
is decoded, and Pillow's own bomb warning is turned into a refusal as a second guard.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from classifiers.images.errors import ImageError, ImageErrorCode

#: Pillow's format names that are accepted, and the stored name of each.
FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}
#: Default pixel limit: 40 megapixels covers any phone camera; more is refused.
DEFAULT_MAX_PIXELS = 40_000_000

RGBArray = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class DecodedImage:
    """An image as pixels, upright (EXIF orientation applied), in RGB.

    Attributes:
        format: ``jpeg``, ``png`` or ``webp``.
        width: Width in pixels, as displayed.
        height: Height in pixels, as displayed.
        rgb: The pixels, shape (height, width, 3).
    """

    format: str
    width: int
    height: int
    rgb: RGBArray


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise ImageError(ImageErrorCode.EMPTY_FILE, "the image is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError(ImageErrorCode.TOO_MANY_PIXELS,
                         "the image declares too many pixels") from None
    except UnidentifiedImageError:
        raise ImageError(ImageErrorCode.UNSUPPORTED_FORMAT,
                         "not a JPEG, PNG or WebP image") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(ImageErrorCode.MALFORMED, f"the image header is broken: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError(ImageErrorCode.MALFORMED, "the image has no pixels")
    if width * height > max_pixels:
        raise ImageError(ImageErrorCode.TOO_MANY_PIXELS,
                         f"the image is {width}x{height} pixels; the limit is {max_pixels} pixels")
    return image


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode ``data`` to upright RGB pixels, or raise `ImageError` saying why not.

    Args:
        data: The uploaded bytes.
        max_pixels: Width times height above which the image is refused undecoded.
    """
    image = _open(data, max_pixels)
    fmt = FORMATS[str(image.format)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.seek(0)  # animated WebP or PNG: the first frame stands for the image
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = np.asarray(upright.convert("RGB"), dtype=np.uint8)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError(ImageErrorCode.TOO_MANY_PIXELS,
                         "the image decodes to too many pixels") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError(ImageErrorCode.MALFORMED, f"the image cannot be decoded: {exc}") from None
    height, width = rgb.shape[:2]
    return DecodedImage(fmt, width, height, rgb)


def display_copy(image: DecodedImage, quality: int = 88) -> bytes:
    """The image re-encoded as a JPEG with no metadata (no EXIF, GPS or comments), for display."""
    out = io.BytesIO()
    Image.fromarray(image.rgb).save(out, "JPEG", quality=quality)
    return out.getvalue()
