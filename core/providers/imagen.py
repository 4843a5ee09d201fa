"""Imagen pictures through `generate_images` (Vertex AI only in google-genai 3.x), and the
Gemini image model when no Imagen model is left (Google shut them down in 2026)."""

from __future__ import annotations

import logging

from google.genai import types

from core.errors import ContentRejected
from core.models import Aspect, Scene, Style
from core.providers.catalog import Role
from core.providers.gemini import GeminiIllustrator, picture_prompt
from core.providers.google_backend import GeminiBackend
from core.providers.resolver import NoModelAvailable

log = logging.getLogger(__name__)


class ImagenIllustrator:
    """Draws one picture per call with Imagen, people not allowed (as the cookbook does).

    Imagen takes no reference picture, so characters stay consistent through the story's
    repeated character description, which is part of every prompt. When no Imagen model is
    available (none listed, or the last one retired), `fallback` draws, after one warning.
    """

    name = "imagen"

    def __init__(self, backend: GeminiBackend, fallback: GeminiIllustrator) -> None:
        self.backend, self.fallback = backend, fallback
        self._warned = False

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        """One picture in the requested aspect ratio; a filtered result is `ContentRejected`."""
        if not self.backend.settings.use_vertexai:
            return await self._fallback(
                "Imagen is served only by Vertex AI", scene, style, aspect, reference
            )
        try:
            return await self._imagen(scene, style, aspect)
        except NoModelAvailable:
            return await self._fallback(
                "no Imagen model is available", scene, style, aspect, reference
            )

    async def _fallback(
        self, why: str, scene: Scene, style: Style, aspect: Aspect, reference: bytes | None
    ) -> bytes:
        if not self._warned:
            self._warned = True
            log.warning("%s; drawing with the Gemini image model instead", why)
        return await self.fallback.draw(scene, style=style, aspect=aspect, reference=reference)

    async def _imagen(self, scene: Scene, style: Style, aspect: Aspect) -> bytes:
        config = types.GenerateImagesConfig(
            number_of_images=1,
            aspect_ratio=aspect.drawn.value,
            person_generation=types.PersonGeneration.DONT_ALLOW,
            include_rai_reason=True,
            output_mime_type="image/png",
        )
        response = await self.backend.run(
            Role.IMAGEN,
            lambda model: self.backend.client.aio.models.generate_images(
                model=model, prompt=picture_prompt(scene, style), config=config
            ),
        )
        for generated in response.generated_images or []:
            data: bytes | None = generated.image.image_bytes if generated.image else None
            if data:
                return data
            if generated.rai_filtered_reason:
                log.info("Imagen filtered a picture: %s", generated.rai_filtered_reason)
        raise ContentRejected("the picture was blocked by Imagen's safety filter")
