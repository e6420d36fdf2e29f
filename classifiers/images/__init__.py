"""Images: safe decoding, PDQ hashes that survive crops and banners, matching, nudity.

Pure functions of bytes and pixels: no Flask, no database. The intake API calls
`decode_image` to refuse bad uploads with a 422; the hashing job calls `query_hashes`,
`HashIndex.search` and `score_nudity`; banking an image stores `bank_hashes`.
"""

from classifiers.images.decode import (
    DEFAULT_MAX_PIXELS,
    FORMATS,
    DecodedImage,
    decode_image,
    display_copy,
)
from classifiers.images.errors import ImageError, ImageErrorCode
from classifiers.images.matcher import HashIndex, HashMatch
from classifiers.images.pdq import (
    MATCH_THRESHOLD,
    MIN_QUALITY,
    RegionHash,
    bank_hashes,
    hash_image,
    hex_to_bytes,
    query_hashes,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "FORMATS",
    "MATCH_THRESHOLD",
    "MIN_QUALITY",
    "DecodedImage",
    "HashIndex",
    "HashMatch",
    "ImageError",
    "ImageErrorCode",
    "RegionHash",
    "bank_hashes",
    "decode_image",
    "display_copy",
    "hash_image",
    "hex_to_bytes",
    "query_hashes",
]
