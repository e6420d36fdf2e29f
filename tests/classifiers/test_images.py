"""Images: safe decoding, and PDQ matching that survives crops, banners and turns."""

from __future__ import annotations

import io
from collections.abc import Hashable

import numpy as np
import pytest
from PIL import Image

from classifiers.images import (
    MATCH_THRESHOLD,
    HashIndex,
    ImageError,
    ImageErrorCode,
    bank_hashes,
    decode_image,
    display_copy,
    hash_image,
    hex_to_bytes,
    query_hashes,
)
from classifiers.images.samples import ALTERATIONS, encode, photograph

SEEDS = range(6)


@pytest.fixture(scope="module")
def bank() -> tuple[HashIndex, list[Image.Image]]:
    originals = [photograph(seed) for seed in SEEDS]
    index = HashIndex()
    for seed, image in zip(SEEDS, originals, strict=True):
        index.add(seed, [(h.region, h.hex) for h in bank_hashes(np.asarray(image))])
    return index, originals


def _check(index: HashIndex, data: bytes) -> list[Hashable]:
    return [m.key for m in index.search(query_hashes(decode_image(data).rgb))]


@pytest.mark.parametrize("alteration", sorted(ALTERATIONS))
def test_an_altered_copy_matches_its_banked_original_and_nothing_else(bank, alteration):
    index, originals = bank
    for seed, image in zip(SEEDS, originals, strict=True):
        altered = ALTERATIONS[alteration](image)
        assert _check(index, encode(altered, "JPEG", 85)) == [seed], (alteration, seed)


def test_unrelated_photographs_match_nothing(bank):
    index, _ = bank
    for seed in range(100, 130):
        assert _check(index, encode(photograph(seed), "PNG")) == []


def test_pdq_alone_misses_a_border_crop_that_the_crop_hashes_catch(bank):
    index, originals = bank
    cropped = ALTERATIONS["crop_10"](originals[0])
    whole = hash_image(np.asarray(originals[0]))
    alone = int(np.unpackbits(hex_to_bytes(whole.hex)
                              ^ hex_to_bytes(hash_image(np.asarray(cropped)).hex)).sum())
    assert alone > MATCH_THRESHOLD
    [match] = index.search(query_hashes(np.asarray(cropped)))
    assert match.bank_region.startswith("crop_") and match.distance <= MATCH_THRESHOLD


def test_a_quarter_turn_matches_through_its_dihedral_hash(bank):
    index, originals = bank
    turned = ALTERATIONS["rotate_90"](originals[1])
    [match] = index.search(query_hashes(np.asarray(turned)))
    assert match.key == 1 and match.query_region != "original"


def test_flat_images_are_low_quality_and_never_match():
    flat = np.full((200, 200, 3), 128, np.uint8)
    index = HashIndex()
    index.add("flat", [("original", hash_image(flat).hex)])
    assert hash_image(flat).quality < 50
    assert index.search(query_hashes(flat)) == []


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_decode_upright(fmt):
    decoded = decode_image(encode(photograph(3, (120, 80)), fmt))
    assert (decoded.width, decoded.height, decoded.rgb.shape) == (120, 80, (80, 120, 3))
    assert decoded.format == fmt.lower()


def test_exif_orientation_is_applied_and_the_display_copy_has_no_metadata():
    image = photograph(4, (120, 80))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 on display
    exif[0x010F] = "CameraMaker"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    decoded = decode_image(out.getvalue())
    assert (decoded.width, decoded.height) == (80, 120)
    shown = Image.open(io.BytesIO(display_copy(decoded)))
    assert not shown.getexif() and shown.size == (80, 120)


def _refusal(data: bytes, **kwargs) -> ImageErrorCode:
    with pytest.raises(ImageError) as caught:
        decode_image(data, **kwargs)
    return caught.value.code


def test_refusals_say_why():
    jpeg = encode(photograph(5), "JPEG")
    gif = io.BytesIO()
    photograph(5, (40, 40)).save(gif, "GIF")
    assert _refusal(b"") is ImageErrorCode.EMPTY_FILE
    assert _refusal(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is \
        ImageErrorCode.UNSUPPORTED_FORMAT
    assert _refusal(gif.getvalue()) is ImageErrorCode.UNSUPPORTED_FORMAT
    assert _refusal(jpeg[: len(jpeg) // 2]) is ImageErrorCode.MALFORMED
    assert _refusal(jpeg[:30]) in {ImageErrorCode.MALFORMED, ImageErrorCode.UNSUPPORTED_FORMAT}


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    # 20000 x 20000 one-bit pixels compress to a few kilobytes of PNG.
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")
    assert len(bomb.getvalue()) < 100_000
    assert _refusal(bomb.getvalue()) is ImageErrorCode.TOO_MANY_PIXELS
    assert _refusal(encode(photograph(1), "PNG"), max_pixels=1000) is \
        ImageErrorCode.TOO_MANY_PIXELS


def test_faiss_and_numpy_scans_find_the_same_matches(bank):
    pytest.importorskip("faiss")
    index, originals = bank
    rng = np.random.default_rng(3)
    index.add_packed([("noise", i) for i in range(5000)],
                     rng.integers(0, 256, (5000, 32), dtype=np.uint8))
    queries = [query_hashes(np.asarray(alter(image)))
               for image in originals[:3] for alter in ALTERATIONS.values()]
    # A query one bit off a random row: the faiss radius is exclusive, the threshold is not.
    near = bytearray(np.asarray(index._matrix()[-1]).astype(">u8").tobytes())
    near[0] ^= 0b1111111
    near[1] ^= 0xFF
    near[2] ^= 0xFF
    near[3] ^= 0xFF
    edge = [type(queries[0][0])("original", bytes(near).hex(), 100)]
    assert index.search(edge)[0].distance == MATCH_THRESHOLD
    for query in [*queries, edge]:
        index.use_faiss = True
        fast = index.search(query)
        index.use_faiss = False
        slow = index.search(query)
        assert fast == slow and fast
    index.use_faiss = True
