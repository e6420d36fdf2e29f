"""PDQ perceptual hashes, with the extra hashes that catch what PDQ alone misses.

PDQ (Meta's, via ``pdqhash``) survives resizing, re-encoding, brightness and greyscale,
and its eight dihedral hashes cover mirror images and quarter turns. Measured on
generated photographs, it does not survive a border crop: 2% off each side already
costs about 30 of 256 bits, 5% about 80, 10% about 130 (the match threshold is 31).
Nor does it always survive a caption banner over the bottom 15%.

So a banked image is hashed as a set of *regions*: the whole, central crops from 1% to
10% off each side (1% apart, so any crop in that range is within half a step of one),
crops of 2.5% to 10% off one side at a time, and the top and bottom 85% (what is left
when a banner hides the other end): 29 hashes. An image
being checked is hashed whole in its eight dihedral forms and as its top and bottom
85%: a banner over its own end is then cut off the same way as on the banked side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from classifiers.images.decode import RGBArray

#: Hashes this far apart or nearer (of 256 bits) are the same picture (HMA's default).
MATCH_THRESHOLD = 31
#: Below this PDQ quality a hash says little (flat or tiny images); it is not banked.
MIN_QUALITY = 50
#: Images are hashed at most this many pixels on the long side: PDQ works on a 64x64
#: downsample, so more pixels only cost time.
HASH_SIDE = 512
#: Fractions cut off each side for the banked central crops.
CROP_STEPS = tuple(round(0.01 * i, 2) for i in range(1, 11))
#: Fractions cut off one side at a time (left, right, top, bottom) for the banked side
#: crops: 2.5% apart, so a one-sided crop up to 10% is within about 1% of one of them.
SIDE_STEPS = (0.025, 0.05, 0.075, 0.1)
#: What a caption banner may cover, at the top or bottom of an image.
BANNER_FRACTION = 0.15
#: pdqhash's order of the eight dihedral hashes.
DIHEDRAL = ("original", "rotate90", "rotate180", "rotate270",
            "flip_x", "flip_y", "flip_diagonal", "flip_antidiagonal")

HashBytes = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class RegionHash:
    """One PDQ hash of one region (or dihedral form) of an image.

    Attributes:
        region: What was hashed: ``original``, a dihedral form, ``crop_0.05``,
            ``top_85`` or ``bottom_85``.
        hex: The hash as 64 hex digits, as ThreatExchange and HMA write it.
        quality: PDQ's quality score, 0 to 100.
    """

    region: str
    hex: str
    quality: int

    @property
    def bits(self) -> HashBytes:
        return hex_to_bytes(self.hex)


def hex_to_bytes(value: str) -> HashBytes:
    """A 64-hex-digit PDQ hash as 32 bytes; ValueError if it is not one."""
    text = value.strip().lower()
    if len(text) != 64:
        raise ValueError(f"a PDQ hash is 64 hex digits, got {len(text)}")
    return np.frombuffer(bytes.fromhex(text), dtype=np.uint8).copy()


def _hex(bits: npt.NDArray[np.int64]) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def _shrink(rgb: RGBArray) -> RGBArray:
    height, width = rgb.shape[:2]
    scale = HASH_SIDE / max(height, width)
    if scale >= 1:
        return rgb
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))


def _one(region: str, rgb: RGBArray) -> RegionHash:
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return RegionHash(region, _hex(bits), int(quality))


def _central(rgb: RGBArray, fraction: float) -> RGBArray:
    height, width = rgb.shape[:2]
    dy, dx = round(height * fraction), round(width * fraction)
    return rgb[dy:height - dy, dx:width - dx]


def _side_crops(rgb: RGBArray) -> list[tuple[str, RGBArray]]:
    height, width = rgb.shape[:2]
    out = []
    for step in SIDE_STEPS:
        dy, dx = round(height * step), round(width * step)
        out += [(f"left_{step:.3f}", rgb[:, dx:]), (f"right_{step:.3f}", rgb[:, :width - dx]),
                (f"top_{step:.3f}", rgb[dy:]), (f"bottom_{step:.3f}", rgb[:height - dy])]
    return out


def _banner_crops(rgb: RGBArray) -> list[tuple[str, RGBArray]]:
    height = rgb.shape[0]
    keep = round(height * (1 - BANNER_FRACTION))
    return [("top_85", rgb[:keep]), ("bottom_85", rgb[height - keep:])]


def hash_image(rgb: RGBArray) -> RegionHash:
    """The PDQ hash of the whole image."""
    return _one("original", _shrink(rgb))


def query_hashes(rgb: RGBArray) -> list[RegionHash]:
    """The hashes an image is checked with: eight dihedral forms, then its banner crops."""
    small = _shrink(rgb)
    vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(small))
    out = [RegionHash(name, _hex(bits), int(quality))
           for name, bits in zip(DIHEDRAL, vectors, strict=True)]
    out.extend(_one(name, np.ascontiguousarray(part)) for name, part in _banner_crops(small))
    return out


def bank_hashes(rgb: RGBArray) -> list[RegionHash]:
    """The hashes an image is banked with: the whole, its central, one-sided and banner crops.

    Crops are taken from the full-size image before shrinking, so a 1% step is a real
    1% even on a small upload.
    """
    out = [hash_image(rgb)]
    out.extend(_one(f"crop_{step:.2f}", _shrink(_central(rgb, step))) for step in CROP_STEPS)
    out.extend(_one(name, _shrink(np.ascontiguousarray(part)))
               for name, part in _side_crops(rgb) + _banner_crops(rgb))
    return out
