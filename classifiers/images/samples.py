"""Generated photograph-like images and their altered copies, for tests and the benchmark.

Not flat colours (PDQ rightly gives those a low quality): waves of colour under random
shapes, softened and with sensor-like noise, so each seed is a distinct "photograph".
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps


def photograph(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A distinct photograph-like RGB image for each seed."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.zeros((height, width, 3), np.float32)
    for channel in range(3):
        a, b, phase = rng.uniform(-1, 1, 3)
        base[..., channel] = 128 + 60 * np.sin((a * x + b * y) / rng.uniform(40, 160) + phase * 6)
    image = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(12, 25))):
        x0, y0 = int(rng.integers(-width // 4, width)), int(rng.integers(-height // 4, height))
        box = (x0, y0, x0 + int(rng.integers(width // 12, width // 2)),
               y0 + int(rng.integers(height // 12, height // 2)))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse(box, fill=colour)
        elif shape == 1:
            draw.rectangle(box, fill=colour)
        else:
            draw.polygon([(int(rng.integers(0, width)), int(rng.integers(0, height)))
                          for _ in range(3)], fill=colour)
    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(1.5))).astype(np.float32)
    pixels += rng.normal(0, 8, pixels.shape)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    """The image's bytes in ``fmt`` (JPEG, PNG or WEBP)."""
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": quality} if fmt in {"JPEG", "WEBP"} else {}))
    return out.getvalue()


def border_crop(image: Image.Image, fraction: float) -> Image.Image:
    """``fraction`` of the width and height cut off each side."""
    width, height = image.size
    dx, dy = round(width * fraction), round(height * fraction)
    return image.crop((dx, dy, width - dx, height - dy))


def caption_banner(image: Image.Image, fraction: float, top: bool = False) -> Image.Image:
    """A white caption band with dark text over ``fraction`` of the image's height."""
    out = image.copy()
    width, height = out.size
    band = round(height * fraction)
    y0 = 0 if top else height - band
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, y0, width, y0 + band), fill=(250, 250, 250))
    for i in range(6):
        draw.text((10 + i * width // 6, y0 + band // 3), "LOL wow", fill=(20, 20, 20))
    return out


def reencode(image: Image.Image, quality: int = 40) -> Image.Image:
    """A round trip through a low-quality JPEG."""
    return Image.open(io.BytesIO(encode(image, "JPEG", quality))).convert("RGB")


#: The alterations a match must survive, by name.
ALTERATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resized_50": lambda im: im.resize((im.width // 2, im.height // 2)),
    "jpeg_q40": reencode,
    "crop_5": lambda im: border_crop(im, 0.05),
    "crop_10": lambda im: border_crop(im, 0.10),
    "mirror": ImageOps.mirror,
    "rotate_90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.3),
    "greyscale": lambda im: ImageOps.grayscale(im).convert("RGB"),
    "banner_15": lambda im: caption_banner(im, 0.15),
    "banner_top_10": lambda im: caption_banner(im, 0.10, top=True),
    "crop_7_jpeg": lambda im: reencode(border_crop(im, 0.07), 60),
    "crop_left_6": lambda im: im.crop((round(im.width * 0.06), 0, im.width, im.height)),
}
