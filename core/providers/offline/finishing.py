"""The finish of each style over the whole picture: softening, grain, grading, vignette."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from core.models import Style
from core.providers.offline.drawing import RGB


@functools.lru_cache(maxsize=16)
def _vignette_mask(size: tuple[int, int], strength: float) -> Image.Image:
    mask = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return mask.point(lambda v: int(max(0, v - 90) * strength * 1.6))


def _vignette(image: Image.Image, colour: RGB, strength: float) -> Image.Image:
    mask = _vignette_mask(image.size, strength)
    return Image.composite(Image.new("RGB", image.size, colour), image, mask)


def _grain(image: Image.Image, sigma: float, seed: int, coarse: int = 1) -> Image.Image:
    w, h = image.size
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, sigma, (max(1, h // coarse), max(1, w // coarse))).astype(np.float32)
    if coarse > 1:
        small = Image.fromarray(noise).resize((w, h), Image.Resampling.BICUBIC)
        noise = np.asarray(small)
    pixels = np.asarray(image, dtype=np.float32) + noise[:, :, None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def finish(image: Image.Image, style: Style, seed: int) -> Image.Image:
    """The whole-picture part of a style: softening, texture, grading, vignette."""
    if style is Style.WATERCOLOR:
        image = image.filter(ImageFilter.GaussianBlur(1.2))
        image = Image.blend(
            ImageEnhance.Color(image).enhance(0.85),
            Image.new("RGB", image.size, (250, 244, 230)),
            0.12,
        )
        return _grain(_grain(image, 3.5, seed, 5), 2, seed + 1)
    if style is Style.CARTOON_3D:
        return _vignette(ImageEnhance.Color(image).enhance(1.15), (30, 20, 50), 0.35)
    if style is Style.ANIME:
        image = Image.blend(image, Image.new("RGB", image.size, (255, 250, 255)), 0.14)
        return ImageEnhance.Sharpness(image).enhance(1.6)
    if style is Style.CLAYMATION:
        image = ImageEnhance.Color(image).enhance(1.12)
        return _vignette(_grain(image, 7, seed, 3), (40, 25, 20), 0.3)
    if style is Style.PAPER_CUTOUT:
        return _grain(ImageOps.posterize(image, 4), 3, seed)
    return _vignette(image, (70, 45, 25), 0.22)
