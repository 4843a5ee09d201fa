"""Imagen pictures through `generate_images` (Vertex AI only in google-genai 3.x)."""

from __future__ import annotations

import logging

from google.genai import types

from core.errors import ContentRejected
from core.models import Aspect, Scene, Style
from core.providers.gemini import GeminiBackend, picture_prompt

log = logging.getLogger(__name__)


class ImagenIllustrator:
    """Draws one picture per call with Imagen, people not allowed (as the cookbook does).

    Imagen takes no reference picture, so characters stay consistent through the story's
    repeated character description, which is part of every prompt.
    """

    name = "imagen"

    def __init__(self, backend: GeminiBackend, model: str) -> None:
        self.backend, self.model = backend, model

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        """One picture in the requested aspect ratio; a filtered result is `ContentRejected`."""
        config = types.GenerateImagesConfig(
            number_of_images=1,
            aspect_ratio=aspect.value,
            person_generation=types.PersonGeneration.DONT_ALLOW,
            include_rai_reason=True,
            output_mime_type="image/png",
        )
        response = await self.backend.call(
            self.model,
            lambda: self.backend.client.aio.models.generate_images(
                model=self.model, prompt=picture_prompt(scene, style), config=config
            ),
        )
        for generated in response.generated_images or []:
            data: bytes | None = generated.image.image_bytes if generated.image else None
            if data:
                return data
            if generated.rai_filtered_reason:
                log.info("Imagen filtered a picture: %s", generated.rai_filtered_reason)
        raise ContentRejected("the picture was blocked by Imagen's safety filter")
