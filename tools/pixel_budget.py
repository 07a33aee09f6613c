"""Pixel budget of the slide layer: how many pixels one read may decode, checked before decoding.

Every limit is computed from the sizes a file declares (its header, its pyramid), never from
pixels, so a small file that declares a huge image is refused before any memory is taken.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import RegionError, SlideOpenError
from core.settings import Settings

__all__ = ["PixelBudget"]


@dataclass(frozen=True)
class PixelBudget:
    """Limits on the pixels the slide layer decodes.

    Attributes:
        decode_pixels: most pixels one read may decode at the level it reads from (for a
            slide without a pyramid, a thumbnail decodes all of level 0); the read is done in
            chunks of ``chunk_pixels``, so memory stays bounded whatever this is.
        image_pixels: largest plain (non-pyramidal, non-OpenSlide) image decoded into memory.
        chunk_pixels: most pixels decoded at once by a read above it (4096² ≈ 112 MB).
    """

    decode_pixels: int = 8192 * 8192
    image_pixels: int = 8192 * 8192
    chunk_pixels: int = 4096 * 4096

    @classmethod
    def from_settings(cls, settings: Settings) -> PixelBudget:
        """The budget the settings ask for (``max_decode_pixels``, ``max_image_pixels``)."""
        return cls(decode_pixels=settings.max_decode_pixels, image_pixels=settings.max_image_pixels)

    def check_decode(self, name: str, level: int, width: int, height: int) -> None:
        """Refuse a read that would decode ``width`` × ``height`` pixels of ``level``.

        Raises:
            RegionError: over ``decode_pixels``; the message names the setting that raises it.
        """
        if width * height <= self.decode_pixels:
            return
        coarsest = "the slide has no coarser pyramid level" if level == 0 else "even at level"
        where = coarsest if level == 0 else f"{coarsest} {level}"
        msg = (
            f"{name}: this read would decode {width}×{height} = {width * height} pixels "
            f"({where}), over the limit of {self.decode_pixels} "
            "(setting SMARTPATH_MAX_DECODE_PIXELS); ask for a smaller region or convert the "
            "slide to a pyramidal TIFF"
        )
        raise RegionError(msg)

    def check_image(self, name: str, width: int, height: int) -> None:
        """Refuse a plain image whose declared size is over ``image_pixels``.

        Raises:
            SlideOpenError: over the limit; the message names the setting that raises it.
        """
        if width < 1 or height < 1:
            msg = f"{name} declares an empty image ({width}×{height} pixels)"
            raise SlideOpenError(msg)
        if width * height <= self.image_pixels:
            return
        msg = (
            f"{name} is a {width}×{height} plain image, over the {self.image_pixels} pixel "
            "limit for images without a pyramid (setting SMARTPATH_MAX_IMAGE_PIXELS); convert "
            "it to a pyramidal TIFF"
        )
        raise SlideOpenError(msg)
