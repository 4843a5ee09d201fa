"""Which models a configuration needs, resolved once at start (and by `storybot doctor`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.config import ImageBackend, NarratorChoice, Settings
from core.providers.catalog import LABEL, Role
from core.providers.resolver import Choice, ModelResolver

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RoleStatus:
    """One role of the configuration: its choice (None: no model) and whether it is needed."""

    role: Role
    choice: Choice | None
    required: bool


def needed_roles(settings: Settings) -> list[tuple[Role, bool]]:
    """The roles a configuration uses and whether each is required: text, pictures and TTS
    always; Live only with `STORYBOT_NARRATOR=live`; video (animation is opt-in) never."""
    roles = [(Role.TEXT, True), (Role.IMAGE, True), (Role.TTS, True)]
    if settings.image_backend is ImageBackend.IMAGEN and settings.use_vertexai:
        roles.insert(1, (Role.IMAGEN, False))  # without one, the Gemini image model draws
    if settings.narrator is NarratorChoice.LIVE:
        roles.append((Role.LIVE, True))
    return [*roles, (Role.VIDEO, False)]


class StartupCheck:
    """Resolves every role of the configuration in one listing."""

    def __init__(self, resolver: ModelResolver, settings: Settings) -> None:
        self.resolver, self.settings = resolver, settings

    async def statuses(self) -> list[RoleStatus]:
        """List the models once and report each needed role's choice."""
        roles = needed_roles(self.settings)
        await self.resolver.refresh()
        return [RoleStatus(role, self.resolver.choice(role), req) for role, req in roles]

    async def run(self) -> None:
        """Raise `NoModelAvailable` for the first required role without a model; warn about
        optional ones (Live falls back to TTS, animation to stills)."""
        for status in await self.statuses():
            if status.choice is not None:
                log.info("%s: %s (%s)", LABEL[status.role], status.choice.model, status.choice.why)
            elif status.role is Role.LIVE:
                log.warning("no Live model is available; narration uses the TTS model")
            elif status.required:
                raise self.resolver.missing(status.role)
            else:
                log.info("no %s is available", LABEL[status.role])
